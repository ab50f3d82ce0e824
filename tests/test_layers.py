"""The layers of sqlbench, written once, and a check that every import points down.

A module may import a module of its own component, or of any layer below its own.
Components side by side in one layer are independent: neither imports the other. Every
import counts, also one inside a function (a lazy import is an arrow all the same) and
one under ``if TYPE_CHECKING:`` (a type points the same way as a call). No import cycle
may exist between modules; only type-checking imports, which never run, are left out of
that check. docs/architecture.md draws the same table.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sqlbench", "screens")

# Bottom to top. Each layer is a tuple of components; a component is a tuple of module or
# package names (a package name covers every module in it; the most specific name wins).
LAYERS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("foundation", (("sqlbench.__init__", "sqlbench.errors", "sqlbench.redact", "sqlbench.records",
                     "sqlbench.stats", "sqlbench.configfile", "sqlbench.config", "sqlbench.prompts",
                     "sqlbench.sysload", "sqlbench.devices"),)),
    ("sql judge", (("sqlbench.sqlcheck",),)),
    ("data", (("sqlbench.data",),)),
    ("run store, publishing", (("sqlbench.runs",), ("sqlbench.publish",))),
    # sqlbench.models and sqlbench.students: the old documented import paths, re-exporting inference
    ("inference", (("sqlbench.inference", "sqlbench.models", "sqlbench.students"),)),
    ("teachers, evaluation", (("sqlbench.providers",), ("sqlbench.evaluation",))),
    ("pipelines", (("sqlbench.distill",), ("sqlbench.training",))),
    ("commands", (("sqlbench.commands",),)),
    ("cli", (("sqlbench.cli", "sqlbench.__main__"),)),
    ("workbench", (("screens",),)),
)
# Third-party packages that only a layer and those above it may import: the engine never
# imports the UI toolkit.
ONLY_FROM = {"textual": "workbench"}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # a module of ours, or a third-party top-level package
    line: int
    typing_only: bool  # under `if TYPE_CHECKING:`
    missing: bool = False  # names a module of ours that does not exist (moved away?)


def module_names(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted name -> file; a package's own module is ``pkg.__init__``."""
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            out[".".join(path.relative_to(root).with_suffix("").parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name:
        if name in modules:
            return name
        if f"{name}.__init__" in modules:
            return f"{name}.__init__"
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, modules: dict[str, Path], packages: tuple[str, ...]) -> list[Import]:
    """Every import in the module, wherever it stands (top level, function, class, try)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = name.split(".")[:-1]  # the package this module is in (also for pkg.__init__)
    found: list[Import] = []

    def add(target: str, line: int, typing_only: bool) -> None:
        top = target.split(".")[0]
        if top in packages:
            resolved = _resolve(target, modules)
            if resolved not in (target, f"{target}.__init__"):
                found.append(Import(name, target, line, typing_only, missing=True))
            elif resolved != name:
                found.append(Import(name, resolved, line, typing_only))
        else:
            found.append(Import(name, top, line, typing_only))

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, typing_only)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno, typing_only)
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            for alias in node.names:  # `from pkg import module` imports the module
                full = f"{module}.{alias.name}"
                is_module = _resolve(full, modules) in (full, f"{full}.__init__")
                add(full if is_module else module, node.lineno, typing_only)
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            add(node.args[0].value, node.lineno, typing_only)
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(tree, False)
    return list(dict.fromkeys(found))  # `from m import a, b` is one arrow


def _place(module: str, layers) -> tuple[int, int] | None:
    """(layer index, component index) by the most specific name that covers the module."""
    best, where = -1, None
    for li, (_, components) in enumerate(layers):
        for ci, names in enumerate(components):
            for n in names:
                if (module == n or module.startswith(n + ".")) and len(n) > best:
                    best, where = len(n), (li, ci)
    return where


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def check(root: Path, packages: tuple[str, ...] = PACKAGES, layers=LAYERS,
          only_from: dict[str, str] = ONLY_FROM) -> list[str]:
    """One line per broken rule; empty when every arrow points down and nothing is circular."""
    modules = module_names(root, packages)
    names = [name for name, _ in layers]
    problems = []
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        place = _place(module, layers)
        if place is None:
            problems.append(f"{module} is in no layer: add it to LAYERS")
            continue
        for imp in imports_of(module, path, modules, packages):
            where = f"{module}:{imp.line}"
            if imp.missing:
                problems.append(f"{where} imports {imp.target}, which is no module")
                continue
            if imp.target not in modules:
                lowest = only_from.get(imp.target)
                if lowest is not None and place[0] < names.index(lowest):
                    problems.append(f"{where} imports {imp.target}, which only {lowest} may import")
                continue
            if not imp.typing_only:
                edges[module].add(imp.target)
            other = _place(imp.target, layers)
            if other is None:
                continue  # reported as in no layer
            if other[0] > place[0]:
                problems.append(f"{where} imports {imp.target}: layer {names[place[0]]} may not import "
                                f"layer {names[other[0]]} above it")
            elif other[0] == place[0] and other[1] != place[1]:
                problems.append(f"{where} imports {imp.target}: {names[place[0]]} components "
                                "side by side are independent")
    for cycle in _cycles(edges):
        problems.append("import cycle between " + ", ".join(cycle))
    return problems


def test_every_import_points_down_and_nothing_is_circular():
    assert check(ROOT) == []


def test_every_component_covers_modules_that_exist():
    """A renamed package would leave its component covering nothing, and the table untrue."""
    modules = module_names(ROOT, PACKAGES)
    empty = [names for _, components in LAYERS for names in components
             if not any(m == n or m.startswith(n + ".") for n in names for m in modules)]
    assert empty == []


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


TOY_LAYERS = (
    ("low", (("toy.base",),)),
    ("middle", (("toy.left",), ("toy.right",))),
    ("top", (("toy.app", "toy.__init__"),)),
)


def test_the_check_finds_an_arrow_up_a_sibling_import_a_cycle_and_the_ui(tmp_path):
    _write(tmp_path, {
        "toy/__init__.py": "",
        "toy/base.py": "def f():\n    from toy.left import g  # lazy, still an arrow up\n",
        "toy/left.py": "from toy import base\nfrom toy.right import h\n",
        "toy/right.py": "import toy.base\n",
        "toy/app.py": "from toy.left import g\nfrom toy.moved import h\n",
        "toy/ui.py": "",
    })
    got = check(tmp_path, ("toy",), TOY_LAYERS, {"textual": "top"})
    assert got == ["toy.app:2 imports toy.moved, which is no module",
                   "toy.base:2 imports toy.left: layer low may not import layer middle above it",
                   "toy.left:2 imports toy.right: middle components side by side are independent",
                   "toy.ui is in no layer: add it to LAYERS",
                   "import cycle between toy.base, toy.left, toy.right"]

    _write(tmp_path, {"toy/base.py": "import textual.app\n", "toy/left.py": "from . import base\n",
                      "toy/ui.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from toy.app import X\n",
                      "toy/app.py": "from toy import ui\nimport textual\n"})
    layers = (*TOY_LAYERS[:2], ("top", (("toy.app", "toy.ui", "toy.__init__"),)))
    # the engine importing the UI toolkit is refused; a type-only import closes no cycle
    assert check(tmp_path, ("toy",), layers, {"textual": "top"}) == [
        "toy.base:1 imports textual, which only top may import"]


def test_the_check_reads_relative_imports_and_package_modules(tmp_path):
    _write(tmp_path, {
        "toy/__init__.py": "",
        "toy/base/__init__.py": "from .inner import x\n",
        "toy/base/inner.py": "from ..app import y\n",
        "toy/app.py": "from toy.base import inner\n",
    })
    layers = (("low", (("toy.base",),)), ("top", (("toy.app", "toy.__init__"),)))
    assert check(tmp_path, ("toy",), layers, {}) == [
        "toy.base.inner:1 imports toy.app: layer low may not import layer top above it",
        "import cycle between toy.app, toy.base.inner"]


def test_documented_import_paths_still_import():
    """Paths the README documents, or documented before the move into sub-packages."""
    import importlib

    from sqlbench.inference import models, students

    for module, name, same in (("sqlbench.sqlcheck", "Validator", None), ("sqlbench.data.loader", "load_tasks", None),
                               ("sqlbench.runs", "RunDir", None),
                               ("sqlbench.models", "resolve_model_path", models.resolve_model_path),
                               ("sqlbench.students", "default_student", students.default_student)):
        value = getattr(importlib.import_module(module), name)
        assert same is None or value is same, (module, name)
