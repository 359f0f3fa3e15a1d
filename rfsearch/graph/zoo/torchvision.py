"""torchvision's layouts (torchvision.models, v0.15+): AlexNet, VGG-16 and ResNet-18/34/50/101/152.

Node ids are torchvision's module paths (conv1, layer1.0.conv2, layer1.0.downsample.0, ...);
the add of a residual block is named after the block (layer1.0), and identity nodes name the
stage outputs (layer1 ... layer4). RF-neutral layers (BatchNorm, ReLU, Dropout) are left out.
ResNet's Bottleneck is torchvision's "v1.5": the stride is on the 3x3 conv (conv2) of the first
block of a stage.
"""

from __future__ import annotations

from ..model import Graph, GraphBuilder

__all__ = ["alexnet", "resnet", "vgg16"]


def alexnet() -> Graph:
    """torchvision.models.alexnet: features, avgpool (adaptive 6x6), classifier."""
    g = GraphBuilder(input_size=(224, 224))
    x = g.conv(g.input, 11, stride=4, padding=2, id="features.0")
    x = g.maxpool(x, 3, stride=2, id="features.2")
    x = g.conv(x, 5, padding=2, id="features.3")
    x = g.maxpool(x, 3, stride=2, id="features.5")
    x = g.conv(x, 3, padding=1, id="features.6")
    x = g.conv(x, 3, padding=1, id="features.8")
    x = g.conv(x, 3, padding=1, id="features.10")
    x = g.maxpool(x, 3, stride=2, id="features.12")
    x = g.adaptive_pool(x, 6, id="avgpool")
    x = g.flatten(x, id="flatten")
    x = g.linear(x, id="classifier.1")
    x = g.linear(x, id="classifier.4")
    g.linear(x, id="classifier.6")
    return g.build(output="features.12")


def vgg16() -> Graph:
    """torchvision.models.vgg16 (no batch norm): features.0 ... features.30 (pool5), avgpool, classifier."""
    g = GraphBuilder(input_size=(224, 224))
    x, index = g.input, 0
    for block in ([64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3):
        for _ in block:
            x = g.conv(x, 3, padding=1, id=f"features.{index}")
            index += 2  # conv, relu
        x = g.maxpool(x, 2, stride=2, id=f"features.{index}")
        index += 1
    x = g.adaptive_pool(x, 7, id="avgpool")
    x = g.flatten(x, id="flatten")
    for i in (0, 3, 6):
        x = g.linear(x, id=f"classifier.{i}")
    return g.build(output="features.30")


def resnet(depth: int) -> Graph:
    """torchvision.models.resnet18/34/50/101/152; the endpoint is layer4 (before avgpool)."""
    blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}[depth]
    bottleneck = depth >= 50
    g = GraphBuilder(input_size=(224, 224))
    x = g.conv(g.input, 7, stride=2, padding=3, id="conv1")
    x = g.maxpool(x, 3, stride=2, padding=1, id="maxpool")
    channels = 64
    for stage, count in enumerate(blocks, start=1):
        width = 64 * 2 ** (stage - 1)
        out_channels = width * (4 if bottleneck else 1)
        for b in range(count):
            name = f"layer{stage}.{b}"
            stride = 2 if stage > 1 and b == 0 else 1
            if bottleneck:
                y = g.conv(x, 1, id=f"{name}.conv1")
                y = g.conv(y, 3, stride=stride, padding=1, id=f"{name}.conv2")
                y = g.conv(y, 1, id=f"{name}.conv3")
            else:
                y = g.conv(x, 3, stride=stride, padding=1, id=f"{name}.conv1")
                y = g.conv(y, 3, padding=1, id=f"{name}.conv2")
            shortcut = x
            if stride != 1 or channels != out_channels:
                shortcut = g.conv(x, 1, stride=stride, id=f"{name}.downsample.0")
            x = g.add(y, shortcut, id=name)
            channels = out_channels
        x = g.identity(x, id=f"layer{stage}")
    y = g.adaptive_pool(x, 1, id="avgpool")  # AdaptiveAvgPool2d((1, 1)): global
    y = g.flatten(y, id="flatten")
    g.linear(y, id="fc")
    return g.build(output="layer4")

