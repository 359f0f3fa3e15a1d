"""Built-in models: published networks as graphs, usable wherever a graph is.

    zoo_names()                 # ['alexnet', 'alexnet_v2', 'inception_v3', ...]
    zoo_model("resnet50")       # a Graph (torchvision layout, input 224, endpoint layer4)
    compute_graph("zoo:vgg16")  # by name

torchvision's names (alexnet, vgg16, resnet18 ... resnet152) are torchvision's layouts; slim's
names (alexnet_v2, vgg_16, inception_v3, mobilenet_v1, resnet_v1_50 ...) are TF-Slim's, the
models google-research/receptive_field and the Distill article tabulate. torchvision's resnet50
and slim's resnet_v1_50 differ: torchvision strides the 3x3 conv of the *first* bottleneck of a
stage, slim the 3x3 conv of the *last* unit of a block (and pads pool1 'SAME'), so slim has
three 3x3 convs on the stride-32 grid where torchvision has two: RF 483 against 427.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from ...errors import SpecError
from ..model import Graph
from . import others, slim, torchvision

__all__ = ["ZOO", "ZOO_PREFIX", "ZooEntry", "zoo_description", "zoo_entries", "zoo_model", "zoo_names"]

#: The prefix that names a built-in model where a spec is expected: "zoo:resnet50".
ZOO_PREFIX = "zoo:"

ZOO: Dict[str, Callable[[], Graph]] = {
    "alexnet": torchvision.alexnet,
    "vgg16": torchvision.vgg16,
    **{f"resnet{d}": partial(torchvision.resnet, d) for d in (18, 34, 50, 101, 152)},
    "alexnet_v2": slim.alexnet_v2,
    "vgg_16": slim.vgg_16,
    "inception_v3": slim.inception_v3,
    "mobilenet_v1": slim.mobilenet_v1,
    **{f"resnet_v1_{d}": partial(slim.resnet_v1, d) for d in (50, 101, 152)},
    "unet": others.unet,
    "wavenet_block": others.wavenet_block,
    "tcn": others.tcn,
}

_DESCRIPTIONS = {
    "alexnet": "torchvision AlexNet (input 224; endpoint features.12)",
    "vgg16": "torchvision VGG-16 (input 224; endpoint features.30 = pool5)",
    **{f"resnet{d}": f"torchvision ResNet-{d} (input 224; endpoint layer4)" for d in (18, 34, 50, 101, 152)},
    "alexnet_v2": "TF-Slim alexnet_v2 (input 224; endpoint alexnet_v2/pool5)",
    "vgg_16": "TF-Slim vgg_16 (input 224; endpoint vgg_16/pool5)",
    "inception_v3": "TF-Slim inception_v3 (input 299; endpoint Mixed_7c)",
    "mobilenet_v1": "TF-Slim mobilenet_v1, 'SAME' padding (input 224; endpoint Conv2d_13_pointwise)",
    **{f"resnet_v1_{d}": f"TF-Slim resnet_v1_{d} (input 224; endpoint resnet_v1_{d}/block4)" for d in (50, 101, 152)},
    "unet": "U-Net, Ronneberger et al. 2015 (input 572x572, output 388x388)",
    "wavenet_block": "WaveNet dilation block 1, 2, ..., 512, kernel 2, causal (1-D)",
    "tcn": "TCN (locuslab/TCN): 8 levels, kernel 7, causal (1-D)",
}


# The published RF of each model's endpoint and where it is published (tests/test_zoo.py checks
# each against the computed value; None: not published, the listing shows the computed one).
_GR = "Distill 2019 / google-research/receptive_field"
_PUBLISHED: Dict[str, Tuple[Optional[int], str]] = {
    "alexnet": (None, "torchvision layout: alexnet_v2's 195 with conv1 padded 2"),
    "vgg16": (212, _GR + " (vgg_16: the same layers)"),
    "resnet18": (435, "computed per stage in torchvision layout (public gist samson-wang)"),
    "resnet34": (899, "computed per stage in torchvision layout (public gist samson-wang)"),
    "resnet50": (427, "torchvision layout (torchscan 0.1 says 2131: it chains the skip)"),
    "resnet101": (971, "computed per stage in torchvision layout (public gist samson-wang)"),
    "resnet152": (1451, "11 + 2(4*4 + 8*8 + 36*16 + 2*32), torchvision layout"),
    "alexnet_v2": (195, _GR),
    "vgg_16": (212, _GR),
    "inception_v3": (1311, _GR),
    "mobilenet_v1": (315, _GR),
    "resnet_v1_50": (483, _GR),
    "resnet_v1_101": (1027, _GR),
    "resnet_v1_152": (1507, _GR),
    "unet": (None, "Ronneberger et al. 2015 publish sizes (572 -> 388), not the RF"),
    "wavenet_block": (1024, "van den Oord et al. 2016, Sec. 2.1"),
    "tcn": (3061, "1 + 2(k-1)(2^L - 1), locuslab/TCN issue #44"),
}


class ZooEntry(NamedTuple):
    """A built-in model: its name, what it is, and the published RF of its endpoint (None if
    none is published) with the source of that number."""

    name: str
    description: str
    published_rf: Optional[int]
    source: str


def zoo_entries() -> List[ZooEntry]:
    """Every built-in model, sorted by name (what `rfsearch zoo` lists)."""
    return [ZooEntry(name, _DESCRIPTIONS[name], *_PUBLISHED[name]) for name in zoo_names()]


def zoo_names() -> List[str]:
    """The built-in models' names, sorted."""
    return sorted(ZOO)


def zoo_description(name: str) -> str:
    """One line saying what the model is (layout, default input size, endpoint)."""
    return _DESCRIPTIONS[name]


def zoo_model(name: str) -> Graph:
    """The built-in model `name` as a Graph (SpecError naming the known models if there is none)."""
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in ZOO:
        raise SpecError(f"no built-in model {name!r:.60} (known: {', '.join(zoo_names())})")
    return ZOO[key]()
