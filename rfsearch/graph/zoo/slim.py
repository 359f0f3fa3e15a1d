"""TF-Slim's layouts (tensorflow/models research/slim/nets): alexnet_v2, vgg_16, inception_v3,
mobilenet_v1 and resnet_v1_50/101/152, the models google-research/receptive_field tabulates.

Node ids are slim's scopes and end-point names (alexnet_v2/pool5, Mixed_6e,
Conv2d_13_pointwise, resnet_v1_50/block3, ...). 'SAME' padding is TensorFlow's rule (it depends
on the input size when the stride is > 1: those models need an input size); 'VALID' is no
padding. RF-neutral ops (batch norm, ReLU, dropout) are left out.
"""

from __future__ import annotations

from typing import Sequence, Tuple, Union

from ...model.layers import AvgPool, Conv, Layer, MaxPool
from ..model import Graph, GraphBuilder

__all__ = ["alexnet_v2", "inception_v3", "mobilenet_v1", "resnet_v1", "vgg_16"]

SAME, VALID = "same", 0


def alexnet_v2() -> Graph:
    """slim nets/alexnet.py alexnet_v2 (conv 'SAME', pooling 'VALID'; fc6-8 as convolutions)."""
    g = GraphBuilder(input_size=(224, 224))
    s = "alexnet_v2/"
    x = g.conv(g.input, 11, stride=4, padding=VALID, id=s + "conv1")
    x = g.maxpool(x, 3, stride=2, id=s + "pool1")
    x = g.conv(x, 5, padding=SAME, id=s + "conv2")
    x = g.maxpool(x, 3, stride=2, id=s + "pool2")
    for name in ("conv3", "conv4", "conv5"):
        x = g.conv(x, 3, padding=SAME, id=s + name)
    x = g.maxpool(x, 3, stride=2, id=s + "pool5")
    x = g.conv(x, 5, padding=VALID, id=s + "fc6")
    x = g.conv(x, 1, id=s + "fc7")
    g.conv(x, 1, id=s + "fc8")
    return g.build(output=s + "pool5")


def vgg_16() -> Graph:
    """slim nets/vgg.py vgg_16 (3x3 convs 'SAME', 2x2 max pooling; fc6-8 as convolutions)."""
    g = GraphBuilder(input_size=(224, 224))
    x = g.input
    for block, repeat in enumerate((2, 2, 3, 3, 3), start=1):
        for i in range(1, repeat + 1):
            x = g.conv(x, 3, padding=SAME, id=f"vgg_16/conv{block}/conv{block}_{i}")
        x = g.maxpool(x, 2, stride=2, id=f"vgg_16/pool{block}")
    x = g.conv(x, 7, padding=VALID, id="vgg_16/fc6")
    x = g.conv(x, 1, id="vgg_16/fc7")
    g.conv(x, 1, id="vgg_16/fc8")
    return g.build(output="vgg_16/pool5")


Step = Tuple[str, Layer]


def _c(name: str, kernel: Union[int, Tuple[int, int]], stride: int = 1, padding: object = SAME) -> Step:
    return name, Conv(kernel, stride, padding)  # type: ignore[arg-type]


def _branches(g: GraphBuilder, x: str, scope: str, branches: Sequence[Sequence[Union[Step, Tuple[Step, Step]]]]) -> str:
    """Inception branches from `x`, concatenated as `scope`. A pair of steps is a nested concat."""
    outs = []
    for b, steps in enumerate(branches):
        y = x
        prefix = f"{scope}/Branch_{b}/"
        for step in steps:
            if isinstance(step[0], tuple):  # (1x3, 3x1) applied to y and concatenated
                parts = [g.layer(layer, y, id=prefix + name) for name, layer in step]
                y = g.concat(*parts, id=prefix + "concat")
            else:
                name, layer = step
                y = g.layer(layer, y, id=prefix + name)
        outs.append(y)
    return g.concat(*outs, id=scope)


def inception_v3() -> Graph:
    """slim nets/inception_v3.py inception_v3_base (Conv2d_1a_3x3 ... Mixed_7c), then the logits."""
    g = GraphBuilder(input_size=(299, 299))
    x = g.conv(g.input, 3, stride=2, padding=VALID, id="Conv2d_1a_3x3")
    x = g.conv(x, 3, padding=VALID, id="Conv2d_2a_3x3")
    x = g.conv(x, 3, padding=SAME, id="Conv2d_2b_3x3")
    x = g.maxpool(x, 3, stride=2, id="MaxPool_3a_3x3")
    x = g.conv(x, 1, padding=VALID, id="Conv2d_3b_1x1")
    x = g.conv(x, 3, padding=VALID, id="Conv2d_4a_3x3")
    x = g.maxpool(x, 3, stride=2, id="MaxPool_5a_3x3")
    pool3: Step = ("AvgPool_0a_3x3", AvgPool(3, 1, SAME))
    for scope in ("Mixed_5b", "Mixed_5c", "Mixed_5d"):
        x = _branches(g, x, scope, [
            [_c("Conv2d_0a_1x1", 1)],
            [_c("Conv2d_0a_1x1", 1), _c("Conv2d_0b_5x5", 5)],
            [_c("Conv2d_0a_1x1", 1), _c("Conv2d_0b_3x3", 3), _c("Conv2d_0c_3x3", 3)],
            [pool3, _c("Conv2d_0b_1x1", 1)],
        ])  # fmt: skip
    x = _branches(g, x, "Mixed_6a", [
        [_c("Conv2d_1a_1x1", 3, 2, VALID)],
        [_c("Conv2d_0a_1x1", 1), _c("Conv2d_0b_3x3", 3), _c("Conv2d_1a_1x1", 3, 2, VALID)],
        [("MaxPool_1a_3x3", MaxPool(3, 2, VALID))],
    ])  # fmt: skip
    for scope in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
        x = _branches(g, x, scope, [
            [_c("Conv2d_0a_1x1", 1)],
            [_c("Conv2d_0a_1x1", 1), _c("Conv2d_0b_1x7", (1, 7)), _c("Conv2d_0c_7x1", (7, 1))],
            [_c("Conv2d_0a_1x1", 1), _c("Conv2d_0b_7x1", (7, 1)), _c("Conv2d_0c_1x7", (1, 7)),
             _c("Conv2d_0d_7x1", (7, 1)), _c("Conv2d_0e_1x7", (1, 7))],
            [pool3, _c("Conv2d_0b_1x1", 1)],
        ])  # fmt: skip
    x = _branches(g, x, "Mixed_7a", [
        [_c("Conv2d_0a_1x1", 1), _c("Conv2d_1a_3x3", 3, 2, VALID)],
        [_c("Conv2d_0a_1x1", 1), _c("Conv2d_0b_1x7", (1, 7)), _c("Conv2d_0c_7x1", (7, 1)),
         _c("Conv2d_1a_3x3", 3, 2, VALID)],
        [("MaxPool_1a_3x3", MaxPool(3, 2, VALID))],
    ])  # fmt: skip
    for scope in ("Mixed_7b", "Mixed_7c"):
        x = _branches(g, x, scope, [
            [_c("Conv2d_0a_1x1", 1)],
            [_c("Conv2d_0a_1x1", 1), (_c("Conv2d_0b_1x3", (1, 3)), _c("Conv2d_0c_3x1", (3, 1)))],
            [_c("Conv2d_0a_1x1", 1), _c("Conv2d_0b_3x3", 3),
             (_c("Conv2d_0c_1x3", (1, 3)), _c("Conv2d_0d_3x1", (3, 1)))],
            [pool3, _c("Conv2d_0b_1x1", 1)],
        ])  # fmt: skip
    # Logits: an average pool over the whole 8x8 map (slim shrinks the kernel for small inputs).
    y = g.global_pool(x, id="Logits/AvgPool_1a_8x8")
    g.conv(y, 1, id="Logits/Conv2d_1c_1x1")
    return g.build(output="Mixed_7c")


def mobilenet_v1() -> Graph:
    """slim nets/mobilenet_v1.py (padding 'SAME', no explicit padding): Conv2d_0, 13 separable
    blocks Conv2d_i_depthwise (3x3) + Conv2d_i_pointwise (1x1), then the logits."""
    g = GraphBuilder(input_size=(224, 224))
    x = g.conv(g.input, 3, stride=2, padding=SAME, id="Conv2d_0")
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    for i, stride in enumerate(strides, start=1):
        x = g.conv(x, 3, stride=stride, padding=SAME, id=f"Conv2d_{i}_depthwise")
        x = g.conv(x, 1, id=f"Conv2d_{i}_pointwise")
    y = g.global_pool(x, id="Logits/AvgPool_1a")
    g.conv(y, 1, id="Logits/Conv2d_1c_1x1")
    return g.build(output="Conv2d_13_pointwise")


def resnet_v1(depth: int) -> Graph:
    """slim nets/resnet_v1.py resnet_v1_50/101/152: conv1 (conv2d_same 7x7/2), pool1 (3x3/2
    'SAME'), four blocks of bottleneck units with the stride in the 3x3 conv (conv2d_same) of
    the *last* unit of blocks 1-3 (slim subsamples at the end of a block), block4 unstrided."""
    units = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}[depth]
    s = f"resnet_v1_{depth}"
    g = GraphBuilder(input_size=(224, 224))
    x = g.conv(g.input, 7, stride=2, padding=3, id=f"{s}/conv1")  # conv2d_same: explicit pad 3, 3
    x = g.maxpool(x, 3, stride=2, padding=SAME, id=f"{s}/pool1")
    channels = 64
    for block, count in enumerate(units, start=1):
        depth_out = 256 * 2 ** (block - 1)
        for u in range(1, count + 1):
            stride = 2 if block < 4 and u == count else 1
            unit = f"{s}/block{block}/unit_{u}/bottleneck_v1"
            if channels == depth_out:
                shortcut = x if stride == 1 else g.maxpool(x, 1, stride=stride, padding=SAME, id=f"{unit}/shortcut")
            else:
                shortcut = g.conv(x, 1, stride=stride, id=f"{unit}/shortcut")
            y = g.conv(x, 1, id=f"{unit}/conv1")
            # conv2d_same: 'SAME' when stride 1, else explicit (1, 1) padding and 'VALID'.
            y = g.conv(y, 3, stride=stride, padding=SAME if stride == 1 else 1, id=f"{unit}/conv2")
            y = g.conv(y, 1, id=f"{unit}/conv3")
            x = g.add(shortcut, y, id=unit)
            channels = depth_out
        x = g.identity(x, id=f"{s}/block{block}")
    y = g.global_pool(x, id=f"{s}/pool5")
    g.conv(y, 1, id=f"{s}/logits")
    return g.build(output=f"{s}/block4")

