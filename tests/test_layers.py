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
    "tracelab", "tracelab.data", "tracelab.trace", "tracelab.gmm", "tracelab.kmeans",
    "tracelab.kmedoids", "tracelab.datasets", "tracelab.lessons",
)
VIEWS = ("tracelab.views.em", "tracelab.views.common", "tracelab.views.home")


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
    assert _imported_after(("tracelab.views.em",), ("plotly", "streamlit")) == {"plotly"}
