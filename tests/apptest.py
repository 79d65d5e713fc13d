"""Helpers for driving the lab pages with Streamlit's AppTest."""

from __future__ import annotations

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


def step_of(at: AppTest, prefix: str = "em", slot: str | None = None) -> tuple[int, int]:
    """(i, N): the step the lab shows (1-based, as in its label and link) and the trace's length."""
    return int(at.session_state[f"{prefix}.step"]), len(trace_of(at, slot or prefix))


def go(at: AppTest, step: int, prefix: str = "em") -> AppTest:
    """Step the player as the browser does: it reports the step in the component's state."""
    mount = at.session_state[f"{prefix}.player.mount"]
    at.session_state[f"{prefix}-player"] = {"step": {"step": int(step), "mount": mount[2]}}
    at.run()
    assert not at.exception, at.exception
    return at


def trace_of(at: AppTest, slot: str):
    """The trace a lab is showing (its session memo)."""
    return at.session_state[f"_trace_memo.{slot}"][1]
