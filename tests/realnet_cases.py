"""Random small graphs for the ERF and verification tests (hypothesis strategies), and a PyTorch
module that runs a Graph (used to test `verify` and the PyTorch import end to end)."""

from __future__ import annotations

from hypothesis import strategies as st

from rfsearch.graph import GraphBuilder, compute_graph
from rfsearch.graph.model import INPUT

__all__ = ["graphs", "module_of"]


@st.composite
def graphs(draw, *, ndim=None, max_nodes=6, fractional=True, merges=True, global_branch=True, max_size=24):
    """(graph, input size): a valid graph of up to max_nodes ops (every node evaluated)."""
    ndim = ndim or draw(st.integers(1, 2))
    size = tuple(draw(st.lists(st.integers(6, max_size), min_size=ndim, max_size=ndim)))
    g = GraphBuilder(input_size=size, alignment="ignore")
    x = INPUT
    kinds = ["conv", "pool", "pad", "crop"] + (["conv_t", "upsample", "adaptive"] if fractional else [])
    kinds += ["residual", "concat", "gate"] if merges else []
    kinds += ["squeeze"] if global_branch else []
    for i in range(draw(st.integers(1, max_nodes))):
        kind = draw(st.sampled_from(kinds))
        name = f"n{i}"
        if kind == "conv":
            k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
            pads = [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(ndim)]
            x = g.node("conv", x, id=name, kernel_size=k, stride=s, dilation=d, padding=pads)
        elif kind == "pool":
            k = draw(st.integers(2, 3))
            op = draw(st.sampled_from(["maxpool", "avgpool"]))
            x = g.node(op, x, id=name, kernel_size=k, stride=draw(st.integers(1, k)), padding=draw(st.integers(0, k // 2)),
                       ceil_mode=draw(st.booleans()))  # fmt: skip
        elif kind == "pad":
            x = g.pad(x, [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(ndim)], id=name)
        elif kind == "crop":
            x = g.crop(x, [[draw(st.integers(0, 1)), draw(st.integers(0, 1))] for _ in range(ndim)], id=name)
        elif kind == "conv_t":
            k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
            x = g.conv_transpose(x, k, stride=s, padding=draw(st.integers(0, d * (k - 1))),
                                 output_padding=draw(st.integers(0, max(s, d) - 1)), dilation=d, id=name)  # fmt: skip
        elif kind == "upsample":
            mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear"]))
            corners = mode == "linear" and draw(st.booleans())
            x = g.upsample(x, scale_factor=draw(st.sampled_from([1, 2, 3, "3/2"])), mode=mode, align_corners=corners,
                           id=name)  # fmt: skip
        elif kind == "adaptive":
            x = g.adaptive_pool(x, draw(st.integers(2, 6)), id=name)
        elif kind == "residual":  # x + conv(x), same size
            k = draw(st.sampled_from([1, 3, 5]))
            y = g.conv(x, k, padding=k // 2, dilation=1, id=name + "b")
            x = g.add(x, y, id=name)
        elif kind == "concat":
            y = g.conv(x, 3, padding=1, id=name + "b")
            x = g.concat(y, x, id=name)
        elif kind == "gate":  # x * conv(x)
            y = g.conv(x, 3, padding=2, dilation=2, id=name + "b")
            x = g.multiply(x, y, id=name)
        else:  # squeeze-excitation: x * global_pool(x)
            y = g.global_pool(x, id=name + "g")
            x = g.multiply(x, y, id=name)
    graph = g.build()
    result = compute_graph(graph)
    from hypothesis import assume

    assume(result.valid and all(s >= 1 for s in result.output_size))
    return graph, size


def module_of(graph, *, functional=False):
    """A torch.nn.Module computing `graph` with real layers (Conv*d, MaxPool*d, ConvTranspose*d,
    Upsample, AdaptiveAvgPool*d, F.pad, cropping by slicing, add / cat / mul, global mean),
    traceable by torch.fx; functional=True uses F.* calls instead of modules."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    from rfsearch.graph.ops import AdaptivePool, ConvTranspose, Crop, GlobalPool, Merge, Pad, Upsample, pair_on, param_on
    from rfsearch.model.layers import Layer

    ndim = len(graph.input_size)
    conv = {1: nn.Conv1d, 2: nn.Conv2d}[ndim]
    deconv = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}[ndim]
    mods = nn.ModuleDict()
    plan = []
    channels = {INPUT: 1}
    for node in graph.nodes:
        op = node.op
        key = node.id
        c_in = channels[node.inputs[0]]
        channels[key] = (sum(channels[i] for i in node.inputs) if isinstance(op, Merge) and op.kind == "concat"
                         else max(channels[i] for i in node.inputs))  # fmt: skip
        if isinstance(op, Layer):
            p = op.axis_params(ndim)
            pads = [v for a in reversed(p) for v in (a.pad_before, a.pad_after)]
            if op.kind == "conv":
                mods[key] = conv(c_in, 1, [a.kernel for a in p], [a.stride for a in p], 0, [a.dilation for a in p])
                channels[key] = 1
                plan.append((node, "pad_then", pads))
            else:
                cls = {("maxpool", 1): nn.MaxPool1d, ("maxpool", 2): nn.MaxPool2d, ("avgpool", 1): nn.AvgPool1d,
                       ("avgpool", 2): nn.AvgPool2d}[(op.kind, ndim)]  # fmt: skip
                sym = all(a.pad_before == a.pad_after for a in p)
                kw = {"dilation": [a.dilation for a in p]} if op.kind == "maxpool" else {}
                assert sym, "pools take symmetric padding"
                mods[key] = cls([a.kernel for a in p], [a.stride for a in p], [a.pad_before for a in p],
                                ceil_mode=op.ceil_mode, **kw)  # fmt: skip
                plan.append((node, "module", None))
        elif isinstance(op, ConvTranspose):
            pads = [pair_on(op.padding, a) for a in range(ndim)]
            assert all(b == e for b, e in pads)
            channels[key] = 1
            mods[key] = deconv(c_in, 1, [param_on(op.kernel, a) for a in range(ndim)],
                               [param_on(op.stride, a) for a in range(ndim)], [b for b, _ in pads],
                               [param_on(op.output_padding, a) for a in range(ndim)],
                               dilation=[param_on(op.dilation, a) for a in range(ndim)])  # fmt: skip
            plan.append((node, "module", None))
        elif isinstance(op, Upsample):
            mode = {"linear": {1: "linear", 2: "bilinear"}[ndim]}.get(op.mode, op.mode)
            factor = op.scale_factor
            factors = factor if isinstance(factor, tuple) else (factor,) * ndim
            mods[key] = nn.Upsample(scale_factor=tuple(float(f) for f in factors), mode=mode,
                                    align_corners=op.align_corners if op.linear else None)  # fmt: skip
            plan.append((node, "module", None))
        elif isinstance(op, AdaptivePool):
            mods[key] = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}[ndim](op.output_size)
            plan.append((node, "module", None))
        elif isinstance(op, Pad):
            plan.append((node, "pad", [v for a in reversed(range(ndim)) for v in pair_on(op.padding, a)]))
        elif isinstance(op, Crop):
            plan.append((node, "crop", [pair_on(op.crop, a) for a in range(ndim)]))
        elif isinstance(op, Merge):
            plan.append((node, op.kind, None))
        elif isinstance(op, GlobalPool):
            plan.append((node, "mean", None))
        else:  # pragma: no cover
            raise AssertionError(op)

    class GraphModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = mods

        def forward(self, x):
            values = {INPUT: x}
            for node, how, extra in plan:
                ins = [values[i] for i in node.inputs]
                if how == "pad_then":
                    y = self.layers[node.id](F.pad(ins[0], extra))
                elif how == "module":
                    y = self.layers[node.id](ins[0])
                elif how == "pad":
                    y = F.pad(ins[0], extra)
                elif how == "crop":
                    y = ins[0]
                    for a, (b, e) in enumerate(extra):
                        y = _crop(y, 2 + a, b, e)
                elif how == "add":
                    y = ins[0] + ins[1]
                elif how == "multiply":
                    y = ins[0] * ins[1]
                elif how == "concat":
                    y = torch.cat(ins, dim=1)
                else:
                    y = ins[0].mean(dim=tuple(range(2, 2 + ndim)), keepdim=True)
                values[node.id] = y
            return values[graph.outputs[0]]

    def _crop(y, dim, before, after):
        index = [slice(None)] * (ndim + 2)
        index[dim] = slice(before, -after if after else None)
        return y[tuple(index)]

    return GraphModule()
