"""Models named on the command line (FILE.py:NAME, package.module:NAME, FILE.onnx) and `inspect`.

What MODEL means is decided by its text alone:

- `FILE.onnx` (any case): an ONNX file.
- `FILE.py:NAME`: the Python file is run as a module (its directory first on sys.path, so it can
  import its neighbours), then NAME (a dotted attribute path) is taken from it: an nn.Module, or
  a function or class called without arguments that returns one. This runs the file's code:
  inspect only files you trust, as you would run them with python.
- `package.module:NAME`: the same, from an importable module (`torchvision.models:resnet50`).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

from ..errors import SpecError
from ..graph import Graph, compute_graph
from ..results.graph import GraphRF
from .common import shown_path

__all__ = ["MODEL_HELP", "erf", "inspect", "load_model", "to_graph"]

MODEL_HELP = """\
MODEL (decided by its text alone):
  FILE.onnx              an ONNX model
  FILE.py:NAME           runs FILE.py (its directory first on sys.path) and takes NAME from it:
                         an nn.Module, or a function or class called without arguments that
                         returns one (e.g. examples/torchvision_models.py:resnet50).
                         This runs the file's code: inspect only files you trust.
  package.module:NAME    the same from an importable module (torchvision.models:resnet50)
"""

_DOTTED = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*")


def _user_error(what: str, e: BaseException) -> SpecError:
    """An exception raised by the user's code, as one line with where it happened."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "rfsearch" not in Path(f.filename).parts]
    at = f" (at {shown_path(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return SpecError(f"{what} failed: {type(e).__name__}{': ' + text if text else ''}{at}")


def _run_file(path: str) -> Any:
    file = Path(path)
    if not file.exists():
        raise SpecError(f"no such file: {path}")
    if not file.is_file():
        raise SpecError(f"not a regular file: {path}")
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
    name = f"_rfsearch_model_{digest}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise SpecError(f"{path}: not a Python file Python can load")
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # the user's code: anything can happen
        sys.modules.pop(name, None)
        raise _user_error(f"{path}: running the file", e) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name or (e.name and name.startswith(e.name + ".")):
            raise SpecError(f"no module named {name!r} (a file is written FILE.py:NAME)") from None
        raise _user_error(f"importing {name}", e) from None
    except (Exception, SystemExit) as e:
        raise _user_error(f"importing {name}", e) from None


def load_model(target: str) -> Any:
    """The model MODEL names (see the module docstring): an onnx.ModelProto for FILE.onnx, else
    the nn.Module NAME is or returns. SpecError naming what is wrong (missing file, no such name,
    the file or the factory raising, not a module)."""
    if not isinstance(target, str) or not target.strip():
        raise SpecError("MODEL must be FILE.onnx, FILE.py:NAME or package.module:NAME")
    if target.startswith(("zoo:", "file:")):
        raise SpecError(f"{target!r:.60} is a graph, not a model: use rfsearch compute (or rfsearch plot)")
    if target.lower().endswith(".onnx"):
        from .onnx import _load, _onnx

        return _load(_onnx(), target)[0]
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise SpecError(f"MODEL must be FILE.onnx, FILE.py:NAME or package.module:NAME, got {target!r:.80}")
    if not _DOTTED.fullmatch(attr):
        raise SpecError(f"NAME must be a Python name (or a dotted path), got {attr!r:.60}")
    if where.lower().endswith(".py"):
        module = _run_file(where)
    elif _DOTTED.fullmatch(where):
        module = _import(where)
    else:
        raise SpecError(f"MODEL must be FILE.onnx, FILE.py:NAME or package.module:NAME, got {target!r:.80}")
    obj: Any = module
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            shown = ".".join(attr.split(".")[:i + 1])
            raise SpecError(f"{where} has no {shown!r}{hint}")
        obj = getattr(obj, part)
    return _instantiate(obj, attr)


def _instantiate(obj: Any, name: str) -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise SpecError("a Python model needs PyTorch: pip install 'rfsearch[torch]'") from None
    if isinstance(obj, torch.nn.Module):
        return obj
    if not callable(obj):
        raise SpecError(f"{name} is a {type(obj).__name__}, not an nn.Module or a function returning one")
    try:
        model = obj()
    except (Exception, SystemExit) as e:
        raise _user_error(f"calling {name}()", e) from None
    if not isinstance(model, torch.nn.Module):
        raise SpecError(f"{name}() returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def _is_model_text(text: str) -> bool:
    return not text.startswith(("zoo:", "file:")) and (
        text.lower().endswith(".onnx") or ".py:" in text or bool(re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", text)))


def to_graph(
    model: Any,
    input_shape: Union[None, int, str, Sequence[int]] = None,
    *,
    neutral_ops: Iterable[str] = (),
    output: Optional[str] = None,
    alignment: Optional[str] = None,
) -> Graph:
    """A Graph from a model: an nn.Module, an onnx.ModelProto, a MODEL string (FILE.onnx,
    FILE.py:NAME, package.module:NAME) or a Graph (returned as it is)."""
    if isinstance(model, Graph):
        return model
    if isinstance(model, (str, os.PathLike)):
        model = load_model(os.fspath(model))
    if isinstance(model, (list, tuple)):
        return Graph.from_layers(model)
    kwargs = dict(neutral_ops=neutral_ops, output=output, alignment=alignment)
    if type(model).__name__ == "ModelProto":
        from .onnx import from_onnx

        return from_onnx(model, input_shape, **kwargs)  # type: ignore[arg-type]
    from .torch_fx import from_torch

    return from_torch(model, input_shape, **kwargs)  # type: ignore[arg-type]


def inspect(
    model: Any,
    input_shape: Union[None, int, str, Sequence[int]] = None,
    *,
    neutral_ops: Iterable[str] = (),
    output: Optional[str] = None,
    alignment: Optional[str] = "ignore",
) -> GraphRF:
    """Receptive fields of every node of a model: `compute_graph(to_graph(model, ...))`.

    model: an nn.Module (traced with torch.fx), an onnx.ModelProto, a MODEL string or a Graph.
    alignment: "ignore" by default (real models often merge paths half a pixel apart; the result
    still lists them: `aligned`, `misaligned`), "warn" or "error".
    """
    graph = to_graph(model, input_shape, neutral_ops=neutral_ops, output=output, alignment=alignment)
    size = input_shape if isinstance(model, Graph) else None  # an imported graph carries its input size
    return compute_graph(graph, size, alignment=alignment)


def erf(
    model: Any,
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    unit: Union[None, int, Sequence[int]] = None,
    node: Optional[str] = None,
    borders: bool = False,
    neutral_ops: Iterable[str] = (),
) -> Any:
    """The exact uniform-weight ERF of one unit (`rfsearch.graph.erf.graph_erf`) of anything with
    layers: compact text ("conv3p1,maxpool2"), a spec or graph file, "zoo:NAME", a list of layers,
    a Graph, or a model (an nn.Module, an onnx.ModelProto, FILE.onnx, FILE.py:NAME), imported first.
    Returns an ERF (path counts per input position; summaries: width, radius, std)."""
    from ..graph.erf import as_graph, graph_erf

    if isinstance(model, (str, os.PathLike)) and not _is_model_text(os.fspath(model)):
        return graph_erf(as_graph(os.fspath(model)), input_size, unit=unit, node=node, borders=borders)
    if isinstance(model, (Graph, list, tuple)):
        return graph_erf(model, input_size, unit=unit, node=node, borders=borders)
    graph = to_graph(model, input_size, neutral_ops=neutral_ops)
    return graph_erf(graph, unit=unit, node=node, borders=borders)
