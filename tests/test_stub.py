"""The _core.pyi stub must describe the compiled module: same names, same parameters."""

import ast
import re
from pathlib import Path

import rfsearch
from rfsearch import _core

STUB = Path(rfsearch.__file__).with_name("_core.pyi")


def stub_signatures():
    tree = ast.parse(STUB.read_text())
    funcs = {
        n.name: [a.arg for a in n.args.args + n.args.kwonlyargs] for n in tree.body if isinstance(n, ast.FunctionDef)
    }
    attrs = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    # Classes of the module (not the stub's private TypedDicts): their methods, like functions,
    # and their read-only attributes.
    classes = {
        n.name: {m.name: [a.arg for a in m.args.args + m.args.kwonlyargs] for m in n.body if isinstance(m, ast.FunctionDef)}
        for n in tree.body
        if isinstance(n, ast.ClassDef) and not n.name.startswith("_")
    }
    class_attrs = {
        n.name: {m.target.id for m in n.body if isinstance(m, ast.AnnAssign)}
        for n in tree.body
        if isinstance(n, ast.ClassDef) and not n.name.startswith("_")
    }
    return funcs, attrs, classes, class_attrs


def _parameters(doc, name):
    first_line = doc.splitlines()[0]
    assert first_line.startswith(name + "(")
    return re.findall(r"(\w+): ", first_line[len(name) + 1 : first_line.rindex(")")])


def test_stub_matches_module():
    funcs, attrs, classes, class_attrs = stub_signatures()
    names = {name for name in dir(_core) if not name.startswith("__")}  # private helpers (_set_simd_path) too
    assert names == set(funcs) | attrs | set(classes)
    for name, params in funcs.items():
        assert _parameters(getattr(_core, name).__doc__, name) == params, name
    for cls, methods in classes.items():
        public = {m for m in dir(getattr(_core, cls)) if not m.startswith("_")}
        assert public == set(methods) - {"__init__"} | class_attrs[cls], cls
        for name, params in methods.items():
            assert _parameters(getattr(getattr(_core, cls), name).__doc__, name) == params, f"{cls}.{name}"


def test_batch_functions_take_keywords_only():
    # The public order is (kernel, stride, padding, dilation); _core takes names only, so no caller
    # can pass them in another order by position.
    tree = ast.parse(STUB.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and "kernel" in [a.arg for a in node.args.kwonlyargs]:
            assert node.args.args == [], node.name
    first_line = _core.batch_receptive_fields.__doc__.splitlines()[0]
    assert first_line.startswith("batch_receptive_fields(*, kernel")


def test_package_is_typed():
    assert STUB.with_name("py.typed").exists()
