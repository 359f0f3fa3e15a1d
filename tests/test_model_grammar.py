"""The compact grammar is strict: every token parses as documented or is refused, never by accident."""

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rfsearch import AvgPool, Conv, Identity, MaxPool, SpecError, parse_layers
from rfsearch.model.grammar import parse_token, split_tokens
from rfsearch.model.layers import NEUTRAL_NAMES, Layer


@pytest.mark.parametrize(
    "token, layer",
    [
        ("conv3", Conv(3)),
        ("conv3s2p1", Conv(3, stride=2, padding=1)),
        ("conv3p1s2", Conv(3, stride=2, padding=1)),  # options in any order
        ("conv3d2", Conv(3, dilation=2)),
        ("conv2d3", Conv(2, dilation=3)),  # lowercase: kernel 2, dilation 3, as documented
        ("conv1x7p0x3", Conv((1, 7), padding=(0, 3))),
        ("conv3p0:1", Conv(3, padding=((0, 1),))),
        ("conv3s2p0:1x1:0", Conv(3, stride=2, padding=((0, 1), (1, 0)))),
        ("conv3psame", Conv(3, padding="same")),
        ("conv3pvalid", Conv(3, padding="valid")),
        ("conv3p0", Conv(3)),
        ("maxpool2", MaxPool(2, stride=2)),
        ("maxpool3s2p1c", MaxPool(3, stride=2, padding=1, ceil_mode=True)),
        ("avgpool2x2s1", AvgPool((2, 2), stride=1)),
        ("  conv3  ", Conv(3)),  # white space around a token is ignored
        ("relu", Identity()),
        ("conv0", None),  # parses, then the layer refuses kernel 0
    ],
)
def test_tokens_parse_as_documented(token, layer):
    if layer is None:
        with pytest.raises(SpecError, match="kernel must be >= 1, got 0"):
            parse_token(token)
    else:
        assert parse_token(token) == layer


@pytest.mark.parametrize(
    "token, message",
    [
        ("Conv2d3", "'Conv2d' reads like a PyTorch layer name"),  # was kernel 2, dilation 3: RF 6
        ("Conv2d", "write conv3 for kernel 3"),
        ("conv2d", "'conv2d' reads like a PyTorch layer name"),
        ("MaxPool2d2", "write maxpool3 for kernel 3"),
        ("ReLU", "compact tokens are lowercase (write 'relu')"),
        ("CONV3S2", "compact tokens are lowercase (write 'conv3s2')"),
        ("Relu6x", "compact tokens are lowercase; expected"),
        ("conv3x", "cannot parse 'x' in 'conv3x'"),
        ("conv3s", "cannot parse 's' in 'conv3s'"),
        ("conv3q1", "cannot parse 'q1' in 'conv3q1'"),
        ("conv3pfull", "cannot parse 'pfull'"),
        ("conv3p1:", "cannot parse ':'"),
        ("conv3p:1", "cannot parse 'p:1'"),
        ("conv3s2s2", "stride given twice"),
        ("maxpool2cc", "ceil_mode given twice"),
        ("conv3c", "ceil_mode applies to pooling layers only"),
        ("conv03", "numbers have no leading zeros, got '03'"),
        ("conv3s00", "numbers have no leading zeros, got '00'"),
        ("conv3 s2", "white space inside a token (separate layers with commas)"),
        ("conv3\ts2", "white space inside a token"),
        ("conv\u0663", "cannot parse"),  # an Arabic-Indic 3: int() would read it
        ("conv\uff13", "cannot parse"),  # a fullwidth 3
        ("conv-3", "cannot parse"),
        ("conv+3", "cannot parse"),
        ("conv3.0", "cannot parse"),
        ("conv", "cannot parse 'conv'"),
        ("pool2", "cannot parse 'pool2'"),
        ("relu3", "cannot parse 'relu3'"),
        ("conv3\x00", "in 'conv3\\x00'"),
        ("", "empty token"),
        ("conv" + "9" * 5000, "kernel is larger than the int64 range, got a number of 5000 digits"),
        ("conv99999999999999999999", "kernel is larger than the int64 range, got 99999999999999999999"),
        ("conv3s9223372036854775808", "stride is larger than the int64 range, got 9223372036854775808"),
        ("conv3p1x" + "9" * 5000, "axis 1: padding is larger than the int64 range, got a number of 5000 digits"),
        ("conv3p0:" + "9" * 50, "axis 0: padding is larger than the int64 range, got a number of 50 digits"),
        ("conv3" + "x" * 100_000, "cannot parse"),
    ],
)
def test_tokens_refused_with_the_reason(token, message):
    with pytest.raises(SpecError) as e:
        parse_token(token)
    text = str(e.value)
    assert message in text and "\n" not in text and len(text) < 400


@pytest.mark.parametrize(
    "text, message",
    [
        ("conv3,,conv3", "layer 1: empty token (two commas in a row"),
        ("conv3,", "layer 1: empty token"),
        (",conv3", "layer 0: empty token"),
        ("conv3 maxpool2", "layer 0: 'conv3 maxpool2': white space inside a token"),
        ("", "empty spec: give at least one layer"),
        ("  \n ", "empty spec"),
        ("conv3,relu,Conv2d3", "layer 2: cannot parse 'Conv2d3'"),
    ],
)
def test_stacks_refused_naming_the_layer(text, message):
    with pytest.raises(SpecError) as e:
        parse_layers(text)
    assert message in str(e.value)


def test_split_tokens():
    assert split_tokens(" conv3 , relu,\nmaxpool2 ") == ["conv3", "relu", "maxpool2"]
    assert split_tokens("  ") == []


def test_a_forty_layer_spec_is_text():
    assert len(parse_layers(",".join(["conv3p1", "relu"] * 20))) == 40


# --- properties ---------------------------------------------------------------------------------------

PIECES = ["conv", "maxpool", "avgpool", "relu", "bn", "identity", "Conv2d", "s", "p", "d", "c", "x", ":", "same",
          "valid", "0", "1", "2", "3", "7", "07", "99999999999999999999", "9" * 50, ",", " ", "\n", "-", ".", "S",
          "\u0663", "\x00", "e", "[", "]"]  # fmt: skip


def budget(n):
    """At most n examples (CI's profile asks 10,000 of every test; these are not cheap differential
    tests), and never more than the profile's own count (300 locally)."""
    return settings(max_examples=min(n, settings().max_examples))


def _result_or_spec_error(text):
    try:
        layers = parse_layers(text)
    except SpecError as e:
        message = str(e)
        assert message and "\n" not in message and len(message) < 1000
        return None
    assert layers and all(isinstance(layer, Layer) for layer in layers)
    return layers


@budget(10_000)
@given(st.text())
def test_random_text_gives_layers_or_spec_error(text):
    _result_or_spec_error(text)


# The documented grammar (README, grammar.py), written out independently of the parser.
_INT = r"(?:0|[1-9][0-9]*)"
_VALUES = rf"{_INT}(?:x{_INT})*"
_PAD = rf"(?:same|valid|{_INT}(?::{_INT})?(?:x{_INT}(?::{_INT})?)*)"
DOCUMENTED = re.compile(rf"(?:conv|maxpool|avgpool){_VALUES}(?:s{_VALUES}|p{_PAD}|d{_VALUES}|c)*|"
                        + "|".join(sorted(NEUTRAL_NAMES)))  # fmt: skip


@budget(5_000)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_grammar_shaped_text_gives_layers_or_spec_error(text):
    layers = _result_or_spec_error(text)
    if layers is not None:  # nothing parses by accident: every token is in the documented grammar
        for token, layer in zip(split_tokens(text), layers):
            assert DOCUMENTED.fullmatch(token), token
            assert parse_token(layer.spec()) == layer


INTS = st.integers(1, 9) | st.integers(10, 2**63 - 1)
PADS = st.integers(0, 9) | st.integers(10, 2**63 - 1)


@st.composite
def layers(draw):
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "neutral"]))
    if kind == "neutral":
        return Identity(name=draw(st.sampled_from(sorted(NEUTRAL_NAMES))))
    ndim = draw(st.integers(1, 3))

    def param(values):
        if draw(st.booleans()):
            return draw(values)
        return tuple(draw(values) for _ in range(ndim))

    kwargs = {"kernel": param(INTS), "dilation": param(INTS)}
    if draw(st.booleans()):
        kwargs["stride"] = param(INTS)
    padding = draw(st.sampled_from(["int", "axes", "pairs", "same", "valid"]))
    if padding in ("same", "valid"):
        kwargs["padding"] = padding
    elif padding == "int":
        kwargs["padding"] = draw(PADS)
    else:
        kwargs["padding"] = tuple(
            (draw(PADS), draw(PADS)) if padding == "pairs" and draw(st.booleans()) else draw(PADS) for _ in range(ndim)
        )
    if kind != "conv":
        kwargs["ceil_mode"] = draw(st.booleans())
    cls = {"conv": Conv, "maxpool": MaxPool, "avgpool": AvgPool}[kind]
    try:
        return cls(**kwargs)
    except SpecError:  # per-axis values of different lengths: not a layer
        assume(False)


@budget(3_000)
@given(layers())
def test_every_layer_round_trips_through_its_token(layer):
    token = layer.spec()
    again = parse_token(token)
    assert again == layer and type(again) is type(layer) and again.spec() == token


@budget(1_000)
@given(st.lists(layers(), min_size=1, max_size=6))
def test_every_stack_round_trips_through_compact_text(stack):
    assert parse_layers(",".join(layer.spec() for layer in stack)) == tuple(stack)
