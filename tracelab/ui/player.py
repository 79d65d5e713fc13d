"""The step player every lab shares, stepping in the browser.

The lab's step charts travel to the browser once per trace (a
:class:`tracelab.plot.stepping.StepSpec`); First / Prev / Next / Last, the
slider, Play / Pause and the keys ← → Home End and space redraw them there,
with no round trip. The browser tells Python the step it shows (throttled
while playing) so the lab can update what depends on it (tables, formulas,
the link's ``step=``) in the same fragment; chart clicks arrive the same way.

Steps are 1-based in session state, in links and on screen ("Step 2/41"), as
students count them; the views take 0-based indices.

Python moves the step rarely (a link, a preset, a run opened from Choosing k):
it writes the step key, and the next mount starts the browser there. The
spec's JSON then travels again, which is why the start is otherwise kept
fixed until the trace changes.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly
import streamlit as st

from tracelab.ui import url
from tracelab.plot.stepping import StepSpec, player_css, player_js

__all__ = [
    "SPEEDS",
    "Click",
    "Stepped",
    "step_key",
    "step_param",
    "speed_param",
    "current_step",
    "go_to",
    "player",
    "run_in_fragment",
    "plotly_js_name",
]

# Steps per second offered while playing (the browser's speed menu).
SPEEDS = (1, 2, 5, 10, 20)
_STATIC = Path(__file__).resolve().parents[2] / "static"
_OLD = 1_704_067_200.0  # 2024-01-01, for the Last-Modified of the versioned plotly.js


def plotly_js_name() -> str:
    """File name of the installed plotly.js under ``static/``, versioned so browsers may cache it."""
    return f"plotly-{plotly.offline.get_plotlyjs_version()}.min.js"


@functools.cache
def _ensure_plotly_js() -> str:
    """The URL (relative to the page) of plotly.js, served by Streamlit's static serving.

    The repository ships the file for the pinned plotly; after an upgrade the
    installed copy is placed beside it once, where the folder is writable.
    """
    name = plotly_js_name()
    target = _STATIC / name
    try:
        if not target.exists():
            _STATIC.mkdir(exist_ok=True)
            shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", target)
        # Streamlit's static route sends Last-Modified but no Cache-Control and never
        # answers 304, so browsers keep a file for a tenth of its age. A fresh clone
        # dates the file now; the name carries the version, so an old date is true
        # to its content and lets browsers keep it for weeks.
        if target.stat().st_mtime > _OLD:
            os.utime(target, (_OLD, _OLD))
    except OSError:
        pass  # a read-only app folder: the file shipped with the app is served as it is
    return f"app/static/{name}"




@functools.cache
def _component() -> Callable[..., Any]:
    # Registered once per process; ``isolate_styles=False`` because plotly.js puts
    # its own CSS into the page's head, which a shadow root would not see.
    return st.components.v2.component("tracelab.player", js=player_js(), css=player_css(), isolate_styles=False)


def step_key(prefix: str) -> str:
    """Session-state key of the current step (1-based)."""
    return f"{prefix}.step"


def step_param(prefix: str) -> url.Param:
    """The step as a URL field ("step=5", 1-based like the label); every lab's last field."""
    return url.Param("step", step_key(prefix), 1, url.integer(1, 10**6), "step")


def speed_param(prefix: str) -> url.Param:
    """The player's speed while playing, steps per second ("speed=10")."""

    def parse(text: str) -> int:
        value = url.integer(min(SPEEDS), max(SPEEDS))(text)
        if value not in SPEEDS:
            raise ValueError(f"should be one of {', '.join(map(str, SPEEDS))}")
        return value

    return url.Param("speed", f"{prefix}.speed", 2, parse, "speed")


def current_step(prefix: str, n_steps: int) -> int:
    """The step on screen, 0-based, kept within the trace (a new, shorter trace keeps what exists)."""
    key = step_key(prefix)
    step = min(max(int(st.session_state.get(key, 1)), 1), n_steps)
    st.session_state[key] = step
    return step - 1


def go_to(prefix: str, step: int) -> None:
    """Move the player to ``step`` (1-based) from Python, e.g. for a preset."""
    st.session_state[step_key(prefix)] = int(step)


@dataclass(frozen=True)
class Click:
    """A click on one of the player's charts.

    Attributes
    ----------
    chart : int
        Which chart (index into the spec's charts).
    curve : int
        The clicked trace's index in that chart's figure.
    customdata : Any
        The clicked point's ``customdata`` (a row index, or a list for special markers).
    x, y : float
        The point's coordinates.
    role : str or None
        The clicked trace's ``meta["role"]`` ("points" for the data).
    """

    chart: int
    curve: int
    customdata: Any
    x: Any
    y: Any
    role: str | None = None


def _state_key(prefix: str) -> str:
    return f"{prefix}-player"  # "-": a plain CSS class (st-key-<prefix>-player) for the browser tests


@dataclass(frozen=True)
class Stepped:
    """What the player reports to the lab on this run.

    Attributes
    ----------
    step : int
        The step on screen, 0-based (an index into the trace).
    click : Click or None
        The chart click that caused this run, if any.
    """

    step: int
    click: Click | None


def _reported(prefix: str, nonce: int) -> int | None:
    """The step the browser reported for the current mount, if it did."""
    state = st.session_state.get(_state_key(prefix))
    value = state.get("step") if isinstance(state, dict) else None
    # A report carries the mount it belongs to, so one made before Python moved
    # the step (a link, a preset) is not mistaken for a new one.
    if isinstance(value, dict) and value.get("mount") == nonce and isinstance(value.get("step"), int):
        return int(value["step"])
    return None


def _noop() -> None:
    """Reports only need to rerun the fragment; the mount reads them."""


def player(
    prefix: str,
    spec: StepSpec,
    *,
    spec_id: Any,
    clickable: Sequence[int] = (),
    widths: Sequence[float] | None = None,
    selected: int | None = None,
) -> Stepped:
    """Mount the player with the trace's step charts; return the step and a new chart click.

    Parameters
    ----------
    prefix : str
        The lab's session-state namespace.
    spec : StepSpec
        The step charts (:func:`tracelab.plot.stepping.build_spec`).
    spec_id : hashable
        Identifies ``spec`` (the trace and the view options): while it and
        the step Python knows stay the same, the browser keeps its own step.
    clickable : sequence of int
        Charts whose point clicks are reported.
    widths : sequence of float, optional
        Relative widths of the first charts, side by side (stacked on narrow screens);
        charts past them take a whole row below.
    selected : int, optional
        A data row to ring on the first chart (its "points" trace's
        ``customdata``). A click on a point rings it in the browser at once
        and is returned as the click.

    Returns
    -------
    Stepped
    """
    key, known_key, mount_key = step_key(prefix), f"{prefix}.player.known", f"{prefix}.player.mount"
    mount = st.session_state.get(mount_key)
    if mount is not None and mount[0] == spec_id:
        reported = _reported(prefix, mount[2])
        if reported is not None and reported != st.session_state.get(known_key):
            st.session_state[key] = st.session_state[known_key] = reported
    step = current_step(prefix, spec.n_steps) + 1
    ring_key = f"{prefix}.player.ring"
    # A new trace, or a step or ring set by Python since the browser last spoke:
    # start the browser there. Otherwise the data stay as they are, nothing
    # travels again and the browser keeps its own step and ring.
    if (mount is None or mount[0] != spec_id or st.session_state.get(known_key) != step
            or st.session_state.get(ring_key) != selected):
        speed = st.session_state.get(f"{prefix}.speed", 2)
        mount = (spec_id, step, 0 if mount is None else mount[2] + 1, selected, speed if speed in SPEEDS else 2)
        st.session_state[mount_key] = mount
        st.session_state[known_key] = step
        st.session_state[ring_key] = selected
    _, start, nonce, ring, speed = mount
    # The browser's speed is remembered (for the link and the next trace) but
    # not sent back: that would change the data and restart the player.
    state = st.session_state.get(_state_key(prefix))
    reported_speed = state.get("speed") if isinstance(state, dict) else None
    if reported_speed in SPEEDS:
        st.session_state[f"{prefix}.speed"] = reported_speed
    head = {
        "id": prefix,
        "start": start,
        "mount": nonce,
        "speed": speed,
        "plotly_url": _ensure_plotly_js(),
        "clickable": list(clickable),
        "widths": list(widths) if widths else None,
        "selected": ring,
    }
    result = _component()(
        key=_state_key(prefix),
        data=_with_head(head, spec.json).encode(),
        on_step_change=_noop,
        on_speed_change=_noop,
        on_click_change=_noop,
    )
    click = getattr(result, "click", None)
    if isinstance(click, dict):
        click = Click(
            chart=int(click.get("chart", 0)),
            curve=int(click.get("curve", 0)),
            customdata=click.get("customdata"),
            x=click.get("x"),
            y=click.get("y"),
            role=click.get("role"),
        )
        if click.chart == 0 and click.role == "points" and isinstance(click.customdata, int):
            # The browser has ringed it already: the lab's new selection needs no remount.
            st.session_state[ring_key] = click.customdata
    else:
        click = None
    return Stepped(step=step - 1, click=click)


def _with_head(head: dict[str, Any], spec_json: str) -> str:
    """``head``'s keys put in front of the spec's JSON object, without parsing the spec again."""
    inner = json.dumps(head, separators=(",", ":"))
    return inner[:-1] + "," + spec_json[1:]


def run_in_fragment(prefix: str, body: Callable[[], None]) -> None:
    """Run ``body`` (the player and what depends on the step) as a fragment.

    A report from the browser (a step, a click) then reruns only the fragment,
    not the data picker and the parameters.
    """

    @st.fragment
    def lab() -> None:
        body()

    lab()
