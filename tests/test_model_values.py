"""One validation path: integers enter through as_int, layers check every field by name and axis."""

import numpy as np
import pytest

import rfsearch
from rfsearch import AvgPool, Conv, Identity, MaxPool, SpecError, receptive_field
from rfsearch.errors import describe_int, shown
from rfsearch.model.layers import MAX_NAME_LENGTH, check_field
from rfsearch.model.values import OversizedInt, as_int, int_literal, parse_ints, parse_size

HUGE = int("9" * 4000)  # int() of up to 4300 digits works; str() of it does too, but is slow


# --- as_int ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 7, 2**63 - 1, -(2**63), np.int8(-3), np.uint64(5), np.int64(2**62)])
def test_as_int_accepts_ints_and_numpy_integers(value):
    out = as_int(value, "kernel")
    assert type(out) is int and out == int(value)


@pytest.mark.parametrize(
    "value, message",
    [
        (3.0, "kernel must be an integer, got 3.0"),
        (3.5, "kernel must be an integer, got 3.5"),
        (float("nan"), "kernel must be an integer, got nan"),
        (True, "kernel must be an integer, got True"),
        (np.True_, "kernel must be an integer, got"),
        ("3", "kernel must be an integer, got '3'"),
        (None, "kernel must be an integer, got None"),
        (np.float64(2.0), "kernel must be an integer, got"),
        (2**63, "kernel is larger than the int64 range, got 9223372036854775808"),
        (-(2**63) - 1, "kernel is smaller than the int64 range, got -9223372036854775809"),
        (HUGE, "kernel is larger than the int64 range, got a number of 4000 digits"),
        (-HUGE, "kernel is smaller than the int64 range, got a negative number of 4000 digits"),
        (OversizedInt(False, 5000), "kernel is larger than the int64 range, got a number of 5000 digits"),
        ("x" * 10_000, "kernel must be an integer, got 'xxxx"),
    ],
)
def test_as_int_refuses_naming_the_field(value, message):
    with pytest.raises(SpecError) as e:
        as_int(value, "kernel")
    assert message in str(e.value) and len(str(e.value)) < 120


def test_as_int_minimum_and_maximum():
    assert as_int(1, "stride", minimum=1) == 1
    with pytest.raises(SpecError, match="stride must be >= 1, got 0"):
        as_int(0, "stride", minimum=1)
    with pytest.raises(SpecError, match="stride must be >= 1, got a negative number of 4000 digits"):
        as_int(-HUGE, "stride", minimum=1)
    with pytest.raises(SpecError, match="threads is larger than 1024, got 1025"):
        as_int(1025, "threads", maximum=1024)


def test_int_literal_never_converts_huge_text():
    assert int_literal("0042") == 42 and int_literal("-7") == -7 and int_literal("+9") == 9
    big = int_literal("9" * 5000)  # int() would raise: more than 4300 digits
    assert isinstance(big, OversizedInt) and str(big) == "a number of 5000 digits"
    assert int_literal("-" + "0" * 10 + "1" * 41) == OversizedInt(True, 41)
    assert int_literal("1" * 40) == int("1" * 40)
    with pytest.raises(ValueError):
        int_literal("")


@pytest.mark.parametrize("digits", [31, 100, 4300, 4301, 20_000])
def test_describe_int_counts_digits_exactly(digits):
    assert describe_int(10 ** (digits - 1)) == f"a number of {digits} digits"
    assert describe_int(-(10**digits - 1)) == f"a negative number of {digits} digits"


def test_shown_keeps_messages_short():
    assert shown("conv3") == "'conv3'"
    assert shown("x" * 5000).endswith("... (5000 characters)") and len(shown("x" * 5000)) < 90
    assert shown(list(range(10_000))) == "a list of 10000 items"
    assert shown(10**5000) == "a number of 5001 digits"
    assert shown([10**5000]) == "a list"  # repr would raise (more than 4300 digits)


# --- parse_ints / parse_size -----------------------------------------------------------------------


def test_parse_ints_and_sizes():
    assert parse_ints("3x4", "unit index", minimum=0) == (3, 4)
    assert parse_size("224x224") == (224, 224) and parse_size(" 32 ") == (32,)
    assert parse_size(32) == (32,) and parse_size(np.int16(32)) == (32,)
    assert parse_size((224, np.int64(7))) == (224, 7) and parse_size(np.array([5, 6])) == (5, 6)


@pytest.mark.parametrize(
    "value, message",
    [
        (3.5, "input size must be an integer, got 3.5"),
        ("3.5", "input size must look like 32 or 224x224, got '3.5'"),
        ((32, 3.5), "axis 1: input size must be an integer, got 3.5"),
        ("9" * 5000, "input size is larger than the int64 range, got a number of 5000 digits"),
        ("32x" + "9" * 5000, "axis 1: input size is larger than the int64 range, got a number of 5000 digits"),
        ("32x0", "input size must be positive integers, got 0 on axis 1"),
        ("-3", "input size must be positive integers, got -3 on axis 0"),
        ((), "input size needs at least one value"),
        (None, "input size must be an integer, got None"),
        (True, "input size must be an integer, got True"),
        ("224X224", "input size must look like 32 or 224x224"),
        ("٣", "input size must look like"),  # Arabic-Indic digit: int() would accept it
    ],
)
def test_parse_size_refuses_naming_the_axis(value, message):
    with pytest.raises(SpecError) as e:
        parse_size(value)
    assert message in str(e.value)


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_receptive_field_input_size_float_and_numpy(backend):
    with pytest.raises(SpecError, match="input size must be an integer, got 3.5"):
        receptive_field("conv3", input_size=3.5, backend=backend)
    assert receptive_field("conv3", input_size=np.int64(9), backend=backend).output_size == (7,)
    assert receptive_field("conv3", input_size=np.array([9, 5]), backend=backend).output_size == (7, 3)


# --- layers: every field through as_int -------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Conv(3.0), "kernel must be an integer, got 3.0"),
        (lambda: Conv(3, stride=1.5), "stride must be an integer, got 1.5"),
        (lambda: Conv(3, dilation="2"), "dilation must be an integer, got '2'"),
        (lambda: Conv(3, padding=0.5), "padding must be an integer, got 0.5"),
        (lambda: Conv(3, padding=((0, 1.0),)), "axis 0: padding must be an integer, got 1.0"),
        (lambda: Conv(3, padding=(1, (0, 1, 2))), "axis 1: padding must be an int or a (before, after) pair"),
        (lambda: Conv(3, padding=(1, -1)), "axis 1: padding must be >= 0, got -1"),
        (lambda: Conv(3, padding="half"), "padding must be an int, a per-axis tuple, 'same' or 'valid'"),
        (lambda: Conv((3, 0)), "axis 1: kernel must be >= 1, got 0"),
        (lambda: Conv((3, True)), "axis 1: kernel must be an integer, got True"),
        (lambda: Conv(()), "kernel must not be an empty tuple"),
        (lambda: Conv(2**63), "kernel is larger than the int64 range, got 9223372036854775808"),
        (lambda: Conv(3, stride=(1, HUGE)), "axis 1: stride is larger than the int64 range, got a number of 4000"),
        (lambda: Conv(3, padding=((0, 2**70),)), "axis 0: padding is larger than the int64 range"),
        (lambda: MaxPool(2, ceil_mode=1), "ceil_mode must be true or false, got 1"),
        (lambda: MaxPool(2, ceil_mode="yes"), "ceil_mode must be true or false, got 'yes'"),
        (lambda: Conv(3, ceil_mode=True), "ceil_mode applies to pooling layers only"),
        (lambda: Conv(3, ceil_mode="yes"), "ceil_mode must be true or false, got 'yes'"),
        (lambda: Conv((3, 3), stride=(1, 1, 1)), "per-axis values disagree on the number of axes: [2, 3]"),
        (lambda: Identity(kernel=3), "an RF-neutral layer takes no kernel"),
    ],
)
def test_layer_fields_refused_by_name(make, message):
    with pytest.raises(SpecError) as e:
        make()
    assert message in str(e.value)


def test_layer_fields_accept_numpy_integers_and_normalise_to_int():
    layer = Conv(np.int64(3), stride=np.uint8(2), padding=(np.int32(1), (0, np.int16(1))), dilation=[1, np.int8(2)])
    assert layer == Conv(3, stride=2, padding=(1, (0, 1)), dilation=(1, 2))
    assert all(type(v) is int for v in (layer.kernel, layer.stride, layer.padding[0], *layer.padding[1]))
    assert MaxPool(2, ceil_mode=np.True_).ceil_mode is True
    assert receptive_field([Conv(np.int64(3), stride=np.int32(2))], np.int64(9)).rf == (3,)
    assert AvgPool(np.int64(2)).stride == 2


@pytest.mark.parametrize("name, label", [("[/bold]", "[/bold]"), (5, "5"), (np.int64(7), "7"), ("", "conv3"),
                                         (None, "conv3"), ("日本語", "日本語"), ("x" * MAX_NAME_LENGTH, "x" * 200)])  # fmt: skip
def test_layer_names_are_text(name, label):
    assert Conv(3, name=name).label == label


@pytest.mark.parametrize(
    "name, message",
    [
        (1.5, "name must be text, got 1.5"),
        (True, "name must be text, got True"),
        (["a"], "name must be text, got ['a']"),
        ("x" * (MAX_NAME_LENGTH + 1), f"name must be at most {MAX_NAME_LENGTH} characters, got 201"),
        ("a\x1b[31mred", "name must be printable text, got 'a\\x1b[31mred' (character U+001B)"),
        ("two\nlines", "(character U+000A)"),
        ("abc\u202edcba", "(character U+202E)"),  # a bidi override reorders what a terminal shows
        ("x\ud800", "(character U+D800)"),  # a lone surrogate (JSON "\ud800"): no UTF-8 output can print it
        (2**64, "name is larger than the int64 range"),
    ],
)
def test_layer_names_refused(name, message):
    with pytest.raises(SpecError) as e:
        Conv(3, name=name)
    assert message in str(e.value)


def test_check_field_and_named_use_the_layer_checks():
    assert check_field("kernel", [3, 3]) == (3, 3) and check_field("padding", "SAME") == "same"
    with pytest.raises(SpecError, match="stride must be >= 1, got 0"):
        check_field("stride", 0)
    base = Conv(3, padding=1)
    named = base.named("stem")
    assert named == base and named.name == "stem" and base.name is None and named.label == "stem"
    with pytest.raises(SpecError, match="name must be printable"):
        base.named("a\x00b")


def test_one_value_tuples_are_the_value():
    # One value applies to every axis, written 3 or (3,) (the compact text has no other way to say it).
    assert Conv((3,), stride=[2], dilation=(1,), padding=(1,)) == Conv(3, stride=2, padding=1)
    assert Conv((3,)).ndim is None and Conv(3, padding=((0, 1),)).ndim == 1  # a pair fixes its axis


def test_identity_spec_is_always_a_token():
    assert Identity(name="relu").spec() == "relu" and Identity(name="stem act").spec() == "identity"
    assert rfsearch.parse_layers(Identity(name="stem act").spec()) == (Identity(),)
