"""The package layout is the architecture: rooms in the order data flows through them, no import
running back up, no import cycles. This reads the source (imports inside `if TYPE_CHECKING:`
are annotations only and do not count)."""

import ast
from pathlib import Path

import rfsearch

PACKAGE = Path(rfsearch.__file__).resolve().parent
# Lower rank = earlier in the flow spec -> layers -> arrays -> core -> results -> output. A module
# may import its own room and rooms of lower rank. (core builds result objects, so results' types
# sit below core; the rooms of rank 3+ are the users of the engine.)
RANKS = {
    "errors": 0,
    "model": 1,
    "results": 2,
    "core": 3,
    "_core": 3,
    "graph": 4,
    "search": 4,
    "importers": 5,
    "io": 5,
    "plot": 6,  # plots write files through io.output
    "cli": 9,
}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _runtime_imports(path: Path, module: str) -> set:
    """Modules of rfsearch imported by `module` at run time (lazy imports in functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("rfsearch"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("rfsearch"):
                names = [f"{target}.{a.name}" for a in node.names]
                found.update(n for n in names if _is_module(n)) or None
                found.add(target)
    return found - {module}


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").exists() or (PACKAGE / rel / "__init__.py").exists()


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        yield path, ".".join(["rfsearch", *parts])


def test_every_room_is_known():
    rooms = {_room(m) for _, m in _modules() if m.count(".") >= 1}
    rooms.discard("__main__")
    assert rooms <= set(RANKS), f"add the new room(s) {sorted(rooms - set(RANKS))} to RANKS in the flow order"


def test_no_import_runs_back_up():
    wrong = []
    for path, module in _modules():
        room = _room(module)
        if room == "":  # rfsearch/__init__.py re-exports the public API
            continue
        for target in _runtime_imports(path, module):
            other = _room(target)
            if other == "" or other == room:
                if other == "" and target != "rfsearch":
                    wrong.append(f"{module} imports {target}")
                continue
            if RANKS[other] > RANKS[room] or (RANKS[other] == RANKS[room]):
                wrong.append(f"{module} ({room}) imports {target} ({other})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = {m: {t for t in _runtime_imports(p, m) if _is_module(t)} for p, m in _modules()}
    # rfsearch/__init__ and package __init__ files re-export; cycles through them are how Python
    # packages work. Check module-to-module edges between non-package modules.
    plain = {m for p, m in _modules() if p.name != "__init__.py"}
    edges = {m: {t for t in graph[m] if t in plain} for m in plain}
    state = {}

    def visit(m, stack):
        state[m] = 1
        for t in edges[m]:
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
