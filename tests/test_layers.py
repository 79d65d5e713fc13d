"""The layers import one way: the core never pulls in plotly or streamlit, views never streamlit.

Each check runs in a fresh interpreter, so modules imported by other tests do not count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CORE = (
    "tracelab", "tracelab.data", "tracelab.record.trace", "tracelab.labs.em.engine", "tracelab.labs.kmeans.kmeans",
    "tracelab.labs.kmeans.kmedoids", "tracelab.data.datasets", "tracelab.labs.em.lessons",
)
VIEWS = ("tracelab.labs.em.views", "tracelab.plot.common", "tracelab.plot.scatter", "tracelab.labs.em.hook")


def _imported_after(modules: tuple[str, ...], watched: tuple[str, ...]) -> set[str]:
    """Which of ``watched`` (top-level packages) are in sys.modules after importing ``modules``."""
    code = (
        "import sys\n"
        f"import {', '.join(modules)}\n"
        f"print(','.join(m for m in {watched!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    return {m for m in out.stdout.strip().split(",") if m}


def test_the_core_imports_neither_plotly_nor_streamlit():
    assert _imported_after(CORE, ("streamlit", "plotly")) == set()


@pytest.mark.parametrize("module", VIEWS)
def test_views_do_not_import_streamlit(module):
    assert _imported_after((module,), ("streamlit",)) == set()


def test_views_import_streamlit_free_all_together():
    assert _imported_after(VIEWS, ("streamlit",)) == set()


def test_the_check_sees_an_import():
    # Guards the tests above against passing vacuously: views do import plotly.
    assert _imported_after(("tracelab.labs.em.views",), ("plotly", "streamlit")) == {"plotly"}


def _tracelab_imports(path: Path) -> set[str]:
    """The tracelab modules a source file imports, wherever in the file (functions included)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tracelab"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("tracelab"))
    return names


def test_records_and_data_do_not_import_each_other():
    # Both build on tracelab.record.arrays (frozen arrays and digests), a leaf.
    assert "tracelab.data" not in _tracelab_imports(ROOT / "tracelab" / "record" / "trace.py")
    assert "tracelab.record.trace" not in _tracelab_imports(ROOT / "tracelab" / "data" / "__init__.py")
    assert _tracelab_imports(ROOT / "tracelab" / "record" / "arrays.py") == set()
    # The records know no lab: the package's table of labs fills the snapshot registry.
    for path in (ROOT / "tracelab" / "record").glob("*.py"):
        assert "tracelab.labs" not in path.read_text(encoding="utf-8"), path


def test_the_public_api_is_at_the_top_of_the_package():
    import tracelab

    for name in ("Trace", "read_csv", "datasets", "trace_em", "trace_kmeans", "trace_kmedoids",
                 "trace_agnes", "trace_diana", "trace_dbscan", "trace_optics", "trace_hdbscan",
                 "trace_binomial_em", "trace_bernoulli_em"):
        assert name in tracelab.__all__ and getattr(tracelab, name) is not None, name
    X = tracelab.datasets.load("old_faithful").X
    trace = tracelab.trace_kmeans(X, n_clusters=2, seed=0)
    assert isinstance(trace, tracelab.Trace) and trace.steps[-1].inertia <= trace.steps[0].inertia


def _private_reaches(source: str) -> set[str]:
    """Another tracelab module's private names a source uses: ``from m import _x`` or ``m._x``."""
    import ast

    tree = ast.parse(source)
    modules, reached = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tracelab"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    reached.add(f"{node.module}.{alias.name}")
                elif alias.name[:1].islower():
                    modules.add(alias.asname or alias.name)  # possibly a module: from tracelab import kmeans
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name.startswith("tracelab"))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            reached.add(f"{node.value.id}.{node.attr}")
    return reached


def test_the_check_sees_a_private_reach():
    assert _private_reaches("from tracelab.labs.kmeans.kmeans import _rows, lloyd\n") == {"tracelab.labs.kmeans.kmeans._rows"}
    assert _private_reaches("from tracelab import kmeans as km\nkm._rows([1])\n") == {"km._rows"}
    assert _private_reaches("from tracelab.record.words import rows as _rows\n_rows([1])\n") == set()


SOURCES = sorted((ROOT / "tracelab").rglob("*.py")) + sorted((ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_reaches_into_another_modules_private_names(path):
    # What modules share lives in shared modules under public names (tracelab.record.words,
    # tracelab.record.arrays, tracelab.plot.scatter, ...), not in one lab's private helpers.
    assert _private_reaches(path.read_text(encoding="utf-8")) == set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path) -> set[str]:
    """The tracelab modules a file imports when it is loaded (not inside functions)."""
    import ast

    deps = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tracelab"):
            deps.add(node.module)
            deps.update(f"{node.module}.{a.name}" for a in node.names)  # from tracelab.labs.em import views
        elif isinstance(node, ast.Import):
            deps.update(a.name for a in node.names if a.name.startswith("tracelab"))
    return deps


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    found: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module] & graph.keys()):
            if state.get(dep) == 1:
                found.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    return found


def test_the_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    files = sorted((ROOT / "tracelab").rglob("*.py"))
    graph = {_module_name(p): _top_level_imports(p) - {_module_name(p)} for p in files}
    assert _cycles(graph) == []


@pytest.mark.parametrize("path", sorted((ROOT / "tracelab").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_streamlit_is_imported_only_by_the_ui(path):
    import ast

    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    if "streamlit" in imported:
        assert path.relative_to(ROOT).parts[:2] == ("tracelab", "ui"), path
