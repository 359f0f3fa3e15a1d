"""The _core.pyi stub must describe the compiled module: same names, same parameters."""

import ast
import re
from pathlib import Path

import rfsearch
from rfsearch import _core

STUB = Path(rfsearch.__file__).with_name("_core.pyi")


def stub_signatures():
    tree = ast.parse(STUB.read_text())
    funcs = {n.name: [a.arg for a in n.args.args] for n in tree.body if isinstance(n, ast.FunctionDef)}
    attrs = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    return funcs, attrs


def test_stub_matches_module():
    funcs, attrs = stub_signatures()
    public = {name for name in dir(_core) if not name.startswith("_")}
    assert public == set(funcs) | attrs
    for name, params in funcs.items():
        first_line = getattr(_core, name).__doc__.splitlines()[0]
        assert first_line.startswith(name + "(")
        actual = re.findall(r"(\w+): ", first_line[len(name) + 1 : first_line.rindex(")")])
        assert actual == params, name


def test_package_is_typed():
    assert STUB.with_name("py.typed").exists()
