"""The model zoo reproduces published receptive fields, end-points included, through the public API.

Sources (each test names its own):
[GR]  google-research/receptive_field, receptive_field/RECEPTIVE_FIELD_TABLE.md (TF-Slim models,
      rows "resolution 224" and "321": RF, effective stride, effective padding per end-point), and its
      README table, the same numbers as the Distill article's table (Araujo, Norris and Sim,
      "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019).
[TV]  torchvision ResNet-50 (v1.5 layout): RF 427 (the value issue 8 quotes, against torchscan
      0.1's 2131); per-stage values as tabulated in the public gist samson-wang/a6073c18f2adf16e0ab5fb95b53db3e6
      "ResNet Receptive Field Size" (computed values, torchvision layout).
[WN]  van den Oord et al., "WaveNet: A Generative Model for Raw Audio" (2016), Sec. 2.1: "each
      1, 2, 4, ..., 512 block has receptive field of size 1024".
[UN]  Ronneberger, Fischer and Brox, "U-Net" (MICCAI 2015), Fig. 1: a 572x572 tile gives a
      388x388 output; the feature-map sizes printed along the U.
[TCN] Bai, Kolter and Koltun (2018): one dilated causal conv sees (k-1)d steps back; a residual
      block has two; keras-tcn reports receptive_field=7 for kernel 2, dilations (1, 2)
      (keras-tcn issue #226); locuslab/TCN issue #44: RF = 1 + 2(k-1)(2^L - 1).
"""

from dataclasses import replace

import pytest

from rfsearch import SpecError
from rfsearch.graph import compute_graph, zoo_model, zoo_names
from rfsearch.graph.zoo import zoo_description
from rfsearch.graph.zoo.others import tcn

# [GR] RECEPTIVE_FIELD_TABLE.md, resolution 224: end-point -> (RF, effective stride, effective padding).
SLIM_224 = {
    "alexnet_v2": {
        "alexnet_v2/conv1": (11, 4, 0), "alexnet_v2/pool1": (19, 8, 0), "alexnet_v2/conv2": (51, 8, 16),
        "alexnet_v2/conv3": (99, 16, 32), "alexnet_v2/conv4": (131, 16, 48), "alexnet_v2/conv5": (163, 16, 64),
        "alexnet_v2/pool5": (195, 32, 64),
    },
    "vgg_16": {
        "vgg_16/conv1/conv1_1": (3, 1, 1), "vgg_16/pool1": (6, 2, 2), "vgg_16/conv2/conv2_1": (10, 2, 4),
        "vgg_16/pool2": (16, 4, 6), "vgg_16/conv3/conv3_1": (24, 4, 10), "vgg_16/conv3/conv3_2": (32, 4, 14),
        "vgg_16/pool3": (44, 8, 18), "vgg_16/conv4/conv4_1": (60, 8, 26), "vgg_16/conv4/conv4_2": (76, 8, 34),
        "vgg_16/pool4": (100, 16, 42), "vgg_16/conv5/conv5_1": (132, 16, 58),
        "vgg_16/conv5/conv5_2": (164, 16, 74), "vgg_16/pool5": (212, 32, 90),
    },
    "inception_v3": {
        "Conv2d_1a_3x3": (3, 2, 0), "Conv2d_2a_3x3": (7, 2, 0), "Conv2d_2b_3x3": (11, 2, 2),
        "MaxPool_3a_3x3": (15, 4, 2), "Conv2d_3b_1x1": (15, 4, 2), "Conv2d_4a_3x3": (23, 4, 2),
        "MaxPool_5a_3x3": (31, 8, 2), "Mixed_5b": (63, 8, 18), "Mixed_5c": (95, 8, 34), "Mixed_5d": (127, 8, 50),
        "Mixed_6a": (159, 16, 58), "Mixed_6b": (351, 16, 154), "Mixed_6c": (543, 16, 250),
        "Mixed_6d": (735, 16, 346), "Mixed_6e": (927, 16, 442), "Mixed_7a": (1055, 32, 490),
        "Mixed_7b": (1183, 32, 554), "Mixed_7c": (1311, 32, 618),
    },
    "mobilenet_v1": {
        "Conv2d_0": (3, 2, 0), "Conv2d_1_pointwise": (7, 2, 2), "Conv2d_2_pointwise": (11, 4, 2),
        "Conv2d_3_pointwise": (19, 4, 6), "Conv2d_4_pointwise": (27, 8, 6), "Conv2d_5_pointwise": (43, 8, 14),
        "Conv2d_6_pointwise": (59, 16, 14), "Conv2d_7_pointwise": (91, 16, 30), "Conv2d_8_pointwise": (123, 16, 46),
        "Conv2d_9_pointwise": (155, 16, 62), "Conv2d_10_pointwise": (187, 16, 78),
        "Conv2d_11_pointwise": (219, 16, 94), "Conv2d_12_pointwise": (251, 32, 94),
        "Conv2d_13_pointwise": (315, 32, 126),
    },
    "resnet_v1_50": {
        "resnet_v1_50/block1": (35, 8, 15), "resnet_v1_50/block2": (99, 16, 47),
        "resnet_v1_50/block3": (291, 32, 143), "resnet_v1_50/block4": (483, 32, 239),
    },
    "resnet_v1_101": {
        "resnet_v1_101/block1": (35, 8, 15), "resnet_v1_101/block2": (99, 16, 47),
        "resnet_v1_101/block3": (835, 32, 415), "resnet_v1_101/block4": (1027, 32, 511),
    },
    "resnet_v1_152": {
        "resnet_v1_152/block1": (35, 8, 15), "resnet_v1_152/block2": (163, 16, 79),
        "resnet_v1_152/block3": (1315, 32, 655), "resnet_v1_152/block4": (1507, 32, 751),
    },
}  # fmt: skip

# [GR] README table = the Distill article's table: the networks' final end-points.
DISTILL = {
    "alexnet_v2": (195, 32, 64), "vgg_16": (212, 32, 90), "inception_v3": (1311, 32, 618),
    "mobilenet_v1": (315, 32, 126), "resnet_v1_50": (483, 32, 239), "resnet_v1_101": (1027, 32, 511),
    "resnet_v1_152": (1507, 32, 751),
}  # fmt: skip


@pytest.mark.parametrize("model", sorted(SLIM_224))
def test_slim_end_points_at_224_as_published(model):
    r = compute_graph(zoo_model(model), 224)
    for end_point, (rf, stride, padding) in SLIM_224[model].items():
        node = r.node(end_point)
        assert (node.rf, node.jump, node.effective_padding) == ((rf, rf), (stride, stride), (padding, padding)), end_point
    assert r.aligned


@pytest.mark.parametrize("model", sorted(DISTILL))
def test_endpoint_at_top_level_matches_the_distill_table(model):
    rf, stride, padding = DISTILL[model]
    r = compute_graph(f"zoo:{model}", 224)
    assert (r.rf, r.jump, r.effective_padding) == ((rf, rf), (stride, stride), (padding, padding))
    d = r.to_dict()
    assert (d["rf"], d["jump"], d["effective_padding"]) == ([rf, rf], [stride, stride], [padding, padding])


def test_slim_models_without_strided_same_padding_need_no_input_size():
    # [GR] rows "resolution None": RF and stride are defined without an input size (and padding,
    # where no strided 'SAME' layer depends on it).
    r = compute_graph(replace(zoo_model("inception_v3"), input_size=None))
    assert (r.rf, r.jump, r.effective_padding) == ((1311, 1311), (32, 32), (618, 618))
    assert r.output_size is None and r.node("Mixed_6e").rf == (927, 927)
    bare = replace(zoo_model("mobilenet_v1"), input_size=None)
    with pytest.raises(SpecError, match="node 'Conv2d_0': padding 'same' with stride 2 depends on the input size"):
        compute_graph(bare)


# [TV]: torchvision layouts, stage end-points layer1 ... layer4.
TORCHVISION = {
    "resnet18": [43, 99, 211, 435],
    "resnet34": [59, 179, 547, 899],
    "resnet50": [35, 91, 267, 427],
    "resnet101": [35, 91, 811, 971],
}


@pytest.mark.parametrize("model", sorted(TORCHVISION))
def test_torchvision_resnet_stages(model):
    r = compute_graph(zoo_model(model), 224)
    assert [r.node(f"layer{i}").rf[0] for i in range(1, 5)] == TORCHVISION[model]
    assert r.jump == (32, 32) and r.output_size == (7, 7) and r.aligned
    assert r.rf_min == (11, 11)  # the all-shortcut path: conv1 7x7/2 and maxpool 3x3/2


def test_torchvision_resnet50_is_427_not_torchscan_2131():
    r = compute_graph("zoo:resnet50")
    assert r.rf == (427, 427) and r.effective_padding == (213, 213) and r.center == (0, 0)
    # The head sees the whole input; it is not the network's RF.
    assert r.node("avgpool").rf == (224, 224) and r.node("fc").axes[0].whole_input


def test_slim_resnet_v1_50_differs_from_torchvision_resnet50_by_where_the_stride_sits():
    tv, slim = compute_graph("zoo:resnet50"), compute_graph("zoo:resnet_v1_50")
    # Both: 3x3 convs at jump 4, 8, 16, 32 (plus the stem's 11). torchvision strides the first
    # block of a stage, slim the last unit of a block: per jump, torchvision has 4, 4, 6, 2 3x3
    # convs and slim 3, 4, 6, 3 -> 11 + 2*(4*4 + 4*8 + 6*16 + 2*32) = 427, and 483 for slim.
    assert 11 + 2 * (4 * 4 + 4 * 8 + 6 * 16 + 2 * 32) == tv.rf[0] == 427
    assert 11 + 2 * (3 * 4 + 4 * 8 + 6 * 16 + 3 * 32) == slim.rf[0] == 483


def test_resnet152_and_alexnet_vgg16_torchvision():
    assert compute_graph("zoo:resnet152").rf == (1451, 1451)  # 11 + 2*(4*4 + 8*8 + 36*16 + 2*32)
    assert 11 + 2 * (4 * 4 + 8 * 8 + 36 * 16 + 2 * 32) == 1451
    vgg = compute_graph("zoo:vgg16")
    assert (vgg.rf, vgg.jump, vgg.effective_padding) == ((212, 212), (32, 32), (90, 90))  # [GR] vgg_16
    alex = compute_graph("zoo:alexnet")
    # torchvision pads conv1 by 2 (slim's alexnet_v2 does not): padding 64 + 2 = 66, RF as alexnet_v2.
    assert (alex.rf, alex.jump, alex.effective_padding, alex.output_size) == ((195, 195), (32, 32), (66, 66), (6, 6))
    assert alex.node("avgpool").output_size == (6, 6) and alex.node("avgpool").rf == (195, 195)


def test_wavenet_block_receptive_field_is_1024():
    r = compute_graph("zoo:wavenet_block")  # [WN]
    assert r.rf == (1024,) and r.jump == (1,) and r.start == (-1023,)  # causal: it ends at the unit
    assert r.blind_spots == (0,)
    assert not r.aligned  # causal residual adds are not centred; the zoo entry records it (ignore)
    assert r.node("layer9").rf == (1024,) and r.node("layer0").rf == (2,)


def test_unet_sizes_along_the_u():
    r = compute_graph("zoo:unet")  # [UN] Fig. 1
    sizes = {
        "enc1.conv1": 570, "enc1.conv2": 568, "enc1.pool": 284, "enc2.conv1": 282, "enc2.conv2": 280,
        "enc2.pool": 140, "enc3.conv1": 138, "enc3.conv2": 136, "enc3.pool": 68, "enc4.conv1": 66,
        "enc4.conv2": 64, "enc4.pool": 32, "bottom.conv1": 30, "bottom.conv2": 28, "dec4.upconv": 56,
        "dec4.conv1": 54, "dec4.conv2": 52, "dec3.upconv": 104, "dec3.conv1": 102, "dec3.conv2": 100,
        "dec2.upconv": 200, "dec2.conv1": 198, "dec2.conv2": 196, "dec1.upconv": 392, "dec1.conv1": 390,
        "dec1.conv2": 388, "output": 388,
    }  # fmt: skip
    assert {k: r.node(k).output_size[0] for k in sizes} == sizes
    assert r.aligned and r.jump == (1, 1) and r.effective_padding == (0, 0)
    # Checked unit by unit against PyTorch gradients in test_graph_torch.py.
    assert r.rf == (204, 204) and r.rf_min == (9, 9) and r.node("dec4.upconv").axes[0].period == 2


def test_tcn_receptive_field():
    assert compute_graph(tcn(levels=2, kernel=2)).rf == (7,)  # [TCN] keras-tcn's 7
    r = compute_graph("zoo:tcn")
    assert r.rf == (1 + 2 * 6 * (2**8 - 1),) == (3061,)  # [TCN] formula, kernel 7, 8 levels
    assert r.start == (-3060,) and r.blind_spots == (0,)


def test_zoo_listing_and_errors():
    names = zoo_names()
    for required in ("alexnet", "vgg16", "resnet18", "resnet50", "resnet101", "resnet152", "resnet_v1_50",
                     "inception_v3", "mobilenet_v1", "unet", "wavenet_block", "tcn"):  # fmt: skip
        assert required in names
    assert names == sorted(names) and all(zoo_description(n) for n in names)
    with pytest.raises(SpecError, match="no built-in model 'resnet5' .*resnet50"):
        zoo_model("resnet5")
    with pytest.raises(SpecError, match="no built-in model"):
        compute_graph("zoo:nope")


@pytest.mark.parametrize("name", zoo_names())
def test_every_zoo_model_computes_at_its_own_input_size(name):
    r = compute_graph(zoo_model(name))
    assert r.valid and r.rf[0] > 1 and r.table() and r.json() and r.csv()


@pytest.mark.parametrize("size", [(224, 224, 224), (224, 224, 224, 224), "64x64x64"])
def test_a_2d_model_refuses_an_input_size_of_other_axes(size):
    # A one-value size means "every axis"; 3 values for a 2-D model would silently give 3-D results.
    graph = zoo_model("resnet50")
    for engine in ("auto", "reference"):
        with pytest.raises(SpecError, match="axes but the graph's own input size 224x224 has 2"):
            compute_graph(graph, size, engine=engine)
    assert compute_graph(graph, 448).rf == compute_graph(graph, (448, 448)).rf == (427, 427)


def test_caffe_placement_stride_on_the_first_1x1_also_gives_483():
    # The README's aside: ResNet-50 with the stride on conv1 (1x1) of the first bottleneck of a
    # stage (the original Caffe model) has slim's 3, 4, 6, 3 3x3 convs per jump: RF 483.
    from rfsearch.graph import GraphBuilder

    g = GraphBuilder(input_size=(224, 224))
    x = g.maxpool(g.conv("input", 7, stride=2, padding=3, id="conv1"), 3, stride=2, padding=1, id="pool")
    for stage, count in enumerate([3, 4, 6, 3], start=1):
        for b in range(count):
            stride = 2 if stage > 1 and b == 0 else 1
            y = g.conv(g.conv(x, 1, stride=stride), 3, padding=1)
            y = g.conv(y, 1)
            x = g.add(y, g.conv(x, 1, stride=stride) if b == 0 else x)
    r = compute_graph(g.build())
    assert r.rf == (483, 483) and r.jump == (32, 32)


def test_readme_graph_example_runs(monkeypatch):
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)  # the example names files relative to the repository
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Graphs"):readme.index("## How it is built")]
    block = re.search(r"```python\n(.*?)```", section, re.S)[1]
    scope = {}
    exec(compile(block, "README.md", "exec"), scope)  # prints the table
    r = scope["r"]
    assert (r.rf, r.rf_min, r.aligned) == ((5,), (3,), False)
    assert r.misaligned[0].paths[1].center == __import__("fractions").Fraction(-1, 2)
    assert compute_graph("examples/graphs/unet_level.yaml").rf == (18,)
    assert compute_graph("zoo:resnet_v1_50").rf == (483, 483)


# [GR] RECEPTIVE_FIELD_TABLE.md, resolution 321: TF 'SAME' with stride 2 pads differently at odd
# sizes, so the effective padding moves while RF and stride stay.
SLIM_321 = {
    "mobilenet_v1": {
        "Conv2d_0": (3, 2, 1), "Conv2d_1_pointwise": (7, 2, 3), "Conv2d_2_pointwise": (11, 4, 5),
        "Conv2d_3_pointwise": (19, 4, 9), "Conv2d_4_pointwise": (27, 8, 13), "Conv2d_5_pointwise": (43, 8, 21),
        "Conv2d_6_pointwise": (59, 16, 29), "Conv2d_7_pointwise": (91, 16, 45), "Conv2d_8_pointwise": (123, 16, 61),
        "Conv2d_9_pointwise": (155, 16, 77), "Conv2d_10_pointwise": (187, 16, 93),
        "Conv2d_11_pointwise": (219, 16, 109), "Conv2d_12_pointwise": (251, 32, 125),
        "Conv2d_13_pointwise": (315, 32, 157),
    },
    "resnet_v1_50": {
        "resnet_v1_50/block1": (35, 8, 17), "resnet_v1_50/block2": (99, 16, 49),
        "resnet_v1_50/block3": (291, 32, 145), "resnet_v1_50/block4": (483, 32, 241),
    },
    "alexnet_v2": {"alexnet_v2/conv2": (51, 8, 16), "alexnet_v2/pool5": (195, 32, 64)},
    "inception_v3": {"Mixed_6a": (159, 16, 58), "Mixed_7c": (1311, 32, 618)},
}  # fmt: skip


@pytest.mark.parametrize("model", sorted(SLIM_321))
def test_slim_end_points_at_321_as_published(model):
    r = compute_graph(zoo_model(model), 321)
    for end_point, (rf, stride, padding) in SLIM_321[model].items():
        node = r.node(end_point)
        assert (node.rf, node.jump, node.effective_padding) == ((rf, rf), (stride, stride), (padding, padding)), end_point
