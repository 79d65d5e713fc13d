"""Helpers for driving the lab pages with Streamlit's AppTest."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

TIMEOUT = 60
APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_lab(page: str, **query) -> AppTest:
    """Run app.py on ``pages/<page>.py`` with the given link state; no exception allowed."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(f"pages/{page}.py")
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.run()
    assert not at.exception, at.exception
    return at


def step_of(at: AppTest) -> tuple[int, int]:
    """(i, N) from the player's "Step i/N" label."""
    (label,) = [m.value for m in at.markdown if m.value.startswith("**Step ")]
    m = re.match(r"\*\*Step (\d+)/(\d+)\*\*", label)
    return int(m.group(1)), int(m.group(2))


def trace_of(at: AppTest, slot: str):
    """The trace a lab is showing (its session memo)."""
    return at.session_state[f"_trace_memo.{slot}"][1]
