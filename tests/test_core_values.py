"""Known values: the seed tutorial's example, published networks, and the Distill conventions."""

import pytest

import rfsearch
from rfsearch import AvgPool, Conv, Identity, MaxPool, receptive_field

SEED = "conv3s1p1,maxpool2s2,conv3s1p1,maxpool2s2"
BACKENDS = ["cpp", "python"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_seed_example_per_layer(backend):
    # The seed tutorial: R = 3, 4, 8, 10 and J = 1, 2, 2, 4; output 32 -> 32, 16, 16, 8.
    r = receptive_field(SEED, (32, 32), backend=backend)
    assert [row.rf for row in r.layers] == [(3, 3), (4, 4), (8, 8), (10, 10)]
    assert [row.jump for row in r.layers] == [(1, 1), (2, 2), (2, 2), (4, 4)]
    assert [row.output_size for row in r.layers] == [(32, 32), (16, 16), (16, 16), (8, 8)]
    # Effective padding P = sum p_l * prod_{i<l} s_i = 1 + 0 + 1*2 + 0 = 3.
    assert r.effective_padding == (3, 3)
    assert r.rf == (10, 10) and r.jump == (4, 4) and r.output_size == (8, 8)
    assert r.valid and r.collapsed_at is None and r.rf_exceeds_input == (False, False)


def test_seed_example_as_objects_and_seed_file_format():
    objects = [Conv(3, stride=1, padding=1), MaxPool(2, stride=2), Conv(3, padding=1), MaxPool(2)]
    seed_format = rfsearch.parse_spec(
        "[{'type': 'conv', 'kernel_size': 3, 'stride': 1, 'padding': 1},"
        " {'type': 'maxpool', 'kernel_size': 2, 'stride': 2},"
        " {'type': 'conv', 'kernel_size': 3, 'stride': 1, 'padding': 1},"
        " {'type': 'maxpool', 'kernel_size': 2, 'stride': 2}]"
    )
    assert tuple(objects) == rfsearch.parse_layers(SEED) == seed_format.layers
    assert receptive_field(objects, 32).to_dict() == receptive_field(SEED, 32).to_dict()


def test_seed_calculator_format_without_padding():
    # The seed's own calculator input (no padding keys) gives its printed output: R 10, J 4.
    spec = rfsearch.parse_spec(
        "[{'type': 'conv', 'kernel_size': 3, 'stride': 1}, {'type': 'maxpool', 'kernel_size': 2, 'stride': 2},"
        " {'type': 'conv', 'kernel_size': 3, 'stride': 1}, {'type': 'maxpool', 'kernel_size': 2, 'stride': 2}]"
    )
    r = receptive_field(spec)
    assert [row.rf[0] for row in r.layers] == [3, 4, 8, 10]
    assert [row.jump[0] for row in r.layers] == [1, 2, 2, 4]
    assert r.output_size is None


VGG16 = ",".join(
    ["conv3p1"] * 2 + ["maxpool2"] + ["conv3p1"] * 2 + ["maxpool2"] + (["conv3p1"] * 3 + ["maxpool2"]) * 3
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_vgg16_pool5_published_values(backend):
    # Published (Araujo et al., Distill 2019, table): VGG-16 pool5 RF 212, stride 32, padding 90.
    r = receptive_field(VGG16, 224, backend=backend)
    assert (r.rf, r.jump, r.effective_padding, r.output_size) == ((212,), (32,), (90,), (7,))


def test_alexnet_tf_slim_rf():
    # alexnet_v2 (TF-slim): conv11 s4 valid, pool3 s2, conv5 same, pool3 s2, 3x conv3 same, pool3 s2.
    spec = "conv11s4,maxpool3s2,conv5psame,maxpool3s2,conv3psame,conv3psame,conv3psame,maxpool3s2"
    r = receptive_field(spec, 224)
    assert (r.rf, r.jump) == ((195,), (32,))
    assert r.effective_padding == (2 * 8 + 3 * 16,)  # 'same' pads k//2 at stride 1


def test_unit_interval_follows_distill_convention():
    r = receptive_field(SEED, 32)
    # Unit u spans [u*S - P, u*S - P + r - 1]: u=2 -> [8-3, 8-3+9].
    u = r.unit(2)
    assert u.interval == ((5, 14),) and u.clipped == ((5, 14),)
    first, last = r.unit(0), r.unit(7)
    assert first.interval == ((-3, 6),) and first.clipped == ((0, 6),)
    assert last.interval == ((25, 34),) and last.clipped == ((25, 31),)
    assert r.center == (1.5,) and r.start == (-3,)
    with pytest.raises(rfsearch.SpecError, match="must be >= 0 < 8, got 8"):
        r.unit(8)


def test_right_padding_changes_only_output_size():
    left = receptive_field([Conv(3, padding=((1, 0),))], 10)
    right = receptive_field([Conv(3, padding=((0, 1),))], 10)
    assert left.rf == right.rf and left.output_size == right.output_size == (9,)
    assert left.effective_padding == (1,) and right.effective_padding == (0,)


def test_dilation_effective_kernel():
    r = receptive_field("conv3d2,conv3d4", 64)
    assert r.rf == (1 + 4 + 8,) and r.output_size == (64 - 4 - 8,)


def test_wavenet_dilated_1d_stack():
    # WaveNet-style causal stack: kernel 2, dilations 1, 2, ..., 512: RF 1024.
    layers = [Conv(2, dilation=2**i) for i in range(10)]
    assert receptive_field(layers).rf == (1024,)


def test_ceil_mode_pytorch_rule():
    # PyTorch: MaxPool2d(2, 2, ceil_mode=True) on 5 -> 3; on 4 -> 2.
    assert receptive_field("maxpool2c", 5).output_size == (3,)
    assert receptive_field("maxpool2c", 4).output_size == (2,)
    assert receptive_field("maxpool2", 5).output_size == (2,)
    # The last window must start inside the input or the left padding: k2 s2 p1 on 3 gives
    # ceil((3+2-2)/2)+1 = 3 windows starting at -1, 1, 3; the one at 3 starts in the right padding.
    assert receptive_field("maxpool2p1c", 3).output_size == (2,)
    assert receptive_field("maxpool3s2p1c", 6).output_size == (4,)


def test_tf_same_padding_depends_on_input_size():
    # TF 'SAME', k3 s2: n=224 -> out 112, total pad 1 (0 before, 1 after); n=225 -> out 113, total 2.
    assert receptive_field("conv3s2psame", 224).effective_padding == (0,)
    assert receptive_field("conv3s2psame", 225).effective_padding == (1,)
    assert receptive_field("conv3s2psame", 224).output_size == (112,)
    with pytest.raises(rfsearch.SpecError, match="layer 1: conv3s2psame: padding 'same' with stride 2"):
        receptive_field("conv3psame,conv3s2psame")
    # Stride 1 'same' needs no input size: pad k_eff // 2 before.
    assert receptive_field("conv5psame").effective_padding == (2,)


def test_collapse_is_flagged_and_later_layers_not_reached():
    r = receptive_field("conv3,conv3,conv3", 4)
    assert not r.valid and r.collapsed_at == 1
    assert r.output_size == (0,) and r.rf == (5,)
    assert r.layers[2].rf is None and r.layers[2].output_size is None
    assert r.rf_exceeds_input == (True,)


def test_anisotropic_and_3d():
    r = receptive_field("conv1x7p0x3,conv7x1p3x0", "17x17")
    assert r.rf == (7, 7) and r.output_size == (17, 17) and r.effective_padding == (3, 3)
    r3 = receptive_field([Conv((3, 3, 3), padding=1), MaxPool((1, 2, 2))], (8, 32, 32))
    assert r3.rf == (3, 4, 4) and r3.jump == (1, 2, 2) and r3.output_size == (8, 16, 16)


def test_identity_layers_are_neutral():
    plain = rfsearch.parse_layers(SEED)
    interleaved = [x for layer in plain for x in (layer, Identity(name="relu"))]
    assert receptive_field(interleaved, 32).rf == receptive_field(plain, 32).rf
    r = receptive_field("conv3p1,relu,bn,maxpool2", 32)
    assert [row.rf for row in r.layers] == [(3,), (3,), (3,), (4,)]


def test_avgpool_and_pool_stride_default():
    assert AvgPool(3).stride == 3 and MaxPool(2).stride == 2 and Conv(3).stride == 1
    assert receptive_field([AvgPool(3)], 9).output_size == (3,)


def test_overflow_raises_in_single_network_api():
    with pytest.raises(OverflowError, match="layer 62"):
        receptive_field([Conv(3, stride=2)] * 70)


def test_backends_agree_on_result_dicts():
    spec = "conv7s2p3,maxpool3s2p1c,conv3p1x2,avgpool2p0:1x1:0c,conv3d2psame,relu"
    for size in (7, 64, "65x33"):
        a = receptive_field(spec, size, backend="cpp").to_dict(unit=0)
        b = receptive_field(spec, size, backend="python").to_dict(unit=0)
        assert a == b


def test_result_repr_and_table():
    r = receptive_field(SEED, 32)
    assert repr(r) == "<RFResult 4 layers, valid: rf=(10,), jump=(4,), effective_padding=(3,), output_size=(8,)>"
    assert "collapsed at layer 1" in repr(receptive_field("conv3,conv3", 4))
    text = str(r)
    assert text == r.table() and "maxpool2" in text and "RF 10, jump 4, effective padding 3, output 8" in text
