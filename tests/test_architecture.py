"""The shape of the code, checked with `ast` over the source files (no services, no imports of
the product except in the last test): no import cycles, small modules, imports at module level,
packages entered through their __init__, bench independent of the tests, and importing the
Celery side writes nothing into the working folder."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRODUCT = ("shared", "tasks", "workers", "beat", "bench")
IMPORTERS = ("shared", "tasks", "workers", "beat")  # the import-cycle check
FIRST_PARTY = frozenset({*PRODUCT, "tests"})
MAX_SHARED_MODULES = 8
MAX_LINES = 400

# -- analysis ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    path: Path  # the importing file
    line: int
    source: str  # the importing module
    target: str  # the module imported; `from pkg import name` is pkg.name when that is a module
    in_function: bool

    @property
    def top(self) -> str:
        return self.target.partition(".")[0]

    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def module_of(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    base = REPO.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (REPO / folder).rglob("*.py")
                  if "__pycache__" not in path.parts)


class _ImportVisitor(ast.NodeVisitor):
    """Every import of one file, at any depth (functions, `if TYPE_CHECKING:`, try blocks)."""

    def __init__(self, path: Path) -> None:
        self.path, self.module = path, module_of(path)
        is_package = path.name == "__init__.py"
        self.package = self.module if is_package else self.module.rpartition(".")[0]
        self.functions = 0
        self.found: list[Import] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: level 1 is this package, 2 its parent, ...
            parts = self.package.split(".")
            anchor = ".".join(parts[: len(parts) - node.level + 1])
            base = f"{anchor}.{base}" if base else anchor
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(node, candidate if is_module(candidate) else base)

    def _add(self, node: ast.stmt, target: str) -> None:
        self.found.append(Import(self.path, node.lineno, self.module, target, self.functions > 0))


def imports_in(*folders: str) -> list[Import]:
    found: list[Import] = []
    for path in python_files(*folders):
        visitor = _ImportVisitor(path)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found += visitor.found
    return found


def import_graph(*folders: str) -> tuple[dict[str, set[str]], dict[tuple[str, str], Import]]:
    """Module -> the modules of these folders it imports; and the first import of each edge."""
    graph: dict[str, set[str]] = {module_of(path): set() for path in python_files(*folders)}
    edges: dict[tuple[str, str], Import] = {}
    for imp in imports_in(*folders):
        if imp.target in graph and imp.target != imp.source:
            graph[imp.source].add(imp.target)
            edges.setdefault((imp.source, imp.target), imp)
    return graph, edges


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components of more than one module (each one is a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = stack[stack.index(node):]
            del stack[stack.index(node):]
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def a_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself (breadth first)."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def describe(graph: dict[str, set[str]], edges: dict[tuple[str, str], Import],
             component: list[str]) -> str:
    cycle = a_cycle(graph, component)
    steps = [f"  {a} -> {b}  ({edges[a, b].where()})" for a, b in pairwise(cycle)]
    return f"cycle among {len(component)} modules {component}:\n" + "\n".join(steps)


# -- the rules -----------------------------------------------------------------------------------


def test_no_import_cycles_among_product_modules() -> None:
    # Given the import graph of shared/, tasks/, workers/ and beat/, counting imports inside
    # functions and under TYPE_CHECKING
    graph, edges = import_graph(*IMPORTERS)
    # When its strongly connected components are found
    components = strongly_connected(graph)
    # Then there is none: no module reaches itself through its imports
    assert not components, "\n".join(describe(graph, edges, c) for c in components)


def test_shared_holds_few_modules_of_its_own() -> None:
    # Given the top-level modules of shared/ (its subpackages do not count)
    own = sorted(p.name for p in (REPO / "shared").glob("*.py") if p.name != "__init__.py")
    # Then there are at most MAX_SHARED_MODULES: the rest belongs in a subpackage
    assert len(own) <= MAX_SHARED_MODULES, f"{len(own)} modules in shared/: {own}"


def test_no_product_module_is_long() -> None:
    # Given every product module, When its lines are counted
    lengths = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in python_files(*PRODUCT)}
    # Then none is over MAX_LINES
    long = [f"{p.relative_to(REPO)}: {n} lines" for p, n in lengths.items() if n > MAX_LINES]
    assert not long, f"over {MAX_LINES} lines:\n" + "\n".join(long)


def test_first_party_imports_are_at_module_level() -> None:
    # Given the imports of product code
    imports = imports_in(*PRODUCT)
    # Then none of our own modules is imported inside a function
    inside = [f"{i.where()}: {i.target}" for i in imports if i.in_function and i.top in FIRST_PARTY]
    assert not inside, "first-party import inside a function:\n" + "\n".join(inside)


def test_shared_subpackages_are_entered_through_their_package() -> None:
    # Given the imports of product code of a module shared.X.module, from outside shared/X/
    def outside(imp: Import) -> bool:
        parts = imp.target.split(".")
        if parts[0] != "shared" or len(parts) < 3 or not (REPO / "shared" / parts[1]).is_dir():
            return False
        package = ".".join(parts[:2])
        return imp.source != package and not imp.source.startswith(package + ".")

    reaching_in = [f"{i.where()}: {i.target}" for i in imports_in(*PRODUCT) if outside(i)]
    # Then there is none: other code imports `shared.X`, which exports what it may use
    assert not reaching_in, "imports a module inside a shared package:\n" + "\n".join(reaching_in)


def test_bench_does_not_import_the_tests() -> None:
    # Given the imports of bench/
    from_tests = [f"{i.where()}: {i.target}" for i in imports_in("bench") if i.top == "tests"]
    # Then none comes from tests/: the benchmark runs without the test suite
    assert not from_tests, "bench/ imports from tests/:\n" + "\n".join(from_tests)


def listing(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize("module", ["tasks", "tasks.ingest", "workers.cli"])
def test_importing_writes_nothing_into_the_working_folder(tmp_path: Path, module: str) -> None:
    # Given an empty working folder, and the repository on PYTHONPATH only
    before = listing(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
    env["PYTHONPATH"] = str(REPO)
    # When a fresh interpreter imports the module there
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    # Then the import succeeds and the folder holds what it held before
    assert done.returncode == 0, done.stderr[-3000:]
    assert listing(tmp_path) == before
