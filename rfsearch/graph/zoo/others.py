"""U-Net (Ronneberger et al. 2015), a WaveNet residual block stack (van den Oord et al. 2016) and
a TCN (Bai, Kolter and Koltun 2018, as locuslab/TCN builds it)."""

from __future__ import annotations

from typing import Sequence

from ..model import Graph, GraphBuilder

__all__ = ["tcn", "unet", "wavenet_block"]


def unet() -> Graph:
    """The original U-Net: unpadded 3x3 convs, 2x2 max pooling, 2x2 up-convolutions (transposed,
    stride 2), skip connections centre-cropped to the decoder's size and concatenated; a 1x1 conv
    at the end. 572x572 input tiles give 388x388 outputs (the paper's Fig. 1)."""
    g = GraphBuilder(input_size=(572, 572))
    x = g.input
    skips = []
    for level in range(1, 5):
        x = g.conv(x, 3, id=f"enc{level}.conv1")
        x = g.conv(x, 3, id=f"enc{level}.conv2")
        skips.append(x)
        x = g.maxpool(x, 2, id=f"enc{level}.pool")
    x = g.conv(x, 3, id="bottom.conv1")
    x = g.conv(x, 3, id="bottom.conv2")
    for level in range(4, 0, -1):
        up = g.conv_transpose(x, 2, stride=2, id=f"dec{level}.upconv")
        skip = g.crop(skips[level - 1], like=up, id=f"dec{level}.crop")
        x = g.concat(skip, up, id=f"dec{level}.concat")
        x = g.conv(x, 3, id=f"dec{level}.conv1")
        x = g.conv(x, 3, id=f"dec{level}.conv2")
    g.conv(x, 1, id="output")
    return g.build()


def wavenet_block(dilations: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512), kernel: int = 2) -> Graph:
    """One WaveNet dilation block (1-D): per layer a gated unit tanh(W_f * x) * sigmoid(W_g * x) of
    two dilated causal convs (kernel 2, left padding (k-1)*d), a 1x1 conv back to the residual
    add, and a 1x1 skip output; the skips are summed. Causal: its merges are not centred, so
    the graph reports (and ignores) misalignment."""
    g = GraphBuilder(alignment="ignore")
    x = g.input
    skips = []
    for i, d in enumerate(dilations):
        pad = [[(kernel - 1) * d, 0]]
        f = g.node("conv", x, id=f"layer{i}.filter", kernel_size=kernel, dilation=d, padding=pad)
        gate = g.node("conv", x, id=f"layer{i}.gate", kernel_size=kernel, dilation=d, padding=pad)
        z = g.multiply(f, gate, id=f"layer{i}.gated")
        skips.append(g.conv(z, 1, id=f"layer{i}.skip"))
        x = g.add(x, g.conv(z, 1, id=f"layer{i}.residual"), id=f"layer{i}")
    total = g.add(*skips, id="skips") if len(skips) > 1 else skips[0]
    y = g.conv(total, 1, id="postprocess.conv1")
    g.conv(y, 1, id="postprocess.conv2")
    return g.build(output="skips")


def tcn(levels: int = 8, kernel: int = 7) -> Graph:
    """A TCN as locuslab/TCN builds it: `levels` TemporalBlocks with dilation 2^i, each two
    dilated convs padded (k-1)*d on both sides then chomped by (k-1)*d at the end (causal), and
    a residual add (a 1x1 conv on the first block, where the channels change). Defaults: the
    sequential-MNIST setting of the paper's code (kernel 7, 8 levels)."""
    g = GraphBuilder(alignment="ignore")
    x = g.input
    for i in range(levels):
        d = 2**i
        pad = (kernel - 1) * d
        y = x
        for j in (1, 2):
            y = g.conv(y, kernel, padding=pad, dilation=d, id=f"network.{i}.conv{j}")
            y = g.crop(y, [[0, pad]], id=f"network.{i}.chomp{j}")
        residual = g.conv(x, 1, id=f"network.{i}.downsample") if i == 0 else x
        x = g.add(y, residual, id=f"network.{i}")
    return g.build()
