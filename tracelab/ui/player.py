"""The step player every lab shares: First / Prev / Next / Last, a slider, Play / Pause.

Steps are shown 1-based ("Step 2/41"), as students count them; the slider's
session-state value is the single source of truth for the current step.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from tracelab.ui import url

__all__ = ["SPEEDS", "player", "step_key", "step_param", "is_playing", "play_interval", "clamp_step"]

# Seconds between frames while playing.
SPEEDS = {"slow": 1.5, "normal": 0.8, "fast": 0.4}


def step_key(prefix: str) -> str:
    """Session-state key of the current step (1-based)."""
    return f"{prefix}.step"


def step_param(prefix: str) -> url.Param:
    """The step as a URL field ("step=5", 1-based like the label); every lab's last field."""
    return url.Param("step", step_key(prefix), 1, url.integer(1, 10**6), "step")


def _playing_key(prefix: str) -> str:
    return f"{prefix}.playing"


def is_playing(prefix: str) -> bool:
    return bool(st.session_state.get(_playing_key(prefix), False))


def play_interval(prefix: str) -> float | None:
    """Seconds between frames while playing, else None (for ``st.fragment(run_every=...)``)."""
    if not is_playing(prefix):
        return None
    return SPEEDS[st.session_state.get(f"{prefix}.speed", "normal")]


def clamp_step(prefix: str, n_steps: int) -> int:
    """Keep the current step where it still exists after the trace changed."""
    key = step_key(prefix)
    step = st.session_state.get(key, 1)
    step = min(max(int(step), 1), n_steps)
    st.session_state[key] = step
    return step


def _set_step(prefix: str, step: int) -> None:
    st.session_state[step_key(prefix)] = step


def _toggle_play(prefix: str, n_steps: int) -> None:
    playing = not is_playing(prefix)
    if playing and st.session_state.get(step_key(prefix), 1) >= n_steps:
        # Play from the start when already at the end, as a video player does.
        _set_step(prefix, 1)
    st.session_state[_playing_key(prefix)] = playing


def player(prefix: str, n_steps: int, message: Callable[[int], str]) -> int:
    """Draw the player and return the current step, 0-based.

    Parameters
    ----------
    prefix : str
        The lab's session-state namespace.
    n_steps : int
        Number of steps in the trace.
    message : callable int -> str
        The message of step i (0-based), shown after "Step i/N ·".

    Returns
    -------
    int
        Index of the current step into ``trace.steps``.
    """
    key = step_key(prefix)
    step = clamp_step(prefix, n_steps)
    if is_playing(prefix):
        # A timed rerun of the playing fragment: advance one frame, stop at the end.
        if step < n_steps:
            step += 1
            st.session_state[key] = step
        if step >= n_steps:
            st.session_state[_playing_key(prefix)] = False
    cols = st.columns([1, 1, 1, 1, 1.3, 1.6], vertical_alignment="bottom")
    at_start, at_end = step <= 1, step >= n_steps
    # Keys use "-" so each button gets a plain CSS class (st-key-<prefix>-next).
    cols[0].button("First", icon=":material/first_page:", key=f"{prefix}-first", on_click=_set_step, args=(prefix, 1), disabled=at_start, width="stretch")
    cols[1].button("Prev", icon=":material/chevron_left:", key=f"{prefix}-prev", on_click=_set_step, args=(prefix, step - 1), disabled=at_start, width="stretch")
    cols[2].button("Next", icon=":material/chevron_right:", icon_position="right", key=f"{prefix}-next", on_click=_set_step, args=(prefix, step + 1), disabled=at_end, width="stretch", type="primary")
    cols[3].button("Last", icon=":material/last_page:", icon_position="right", key=f"{prefix}-last", on_click=_set_step, args=(prefix, n_steps), disabled=at_end, width="stretch")
    cols[4].button(
        "Pause" if is_playing(prefix) else "Play",
        icon=":material/pause:" if is_playing(prefix) else ":material/play_arrow:",
        key=f"{prefix}-play",
        on_click=_toggle_play,
        args=(prefix, n_steps),
        width="stretch",
    )
    st.session_state.setdefault(f"{prefix}.speed", "normal")
    cols[5].segmented_control(
        "Speed", list(SPEEDS), key=f"{prefix}.speed", required=True, label_visibility="collapsed", persist_state="session"
    )
    if n_steps > 1:
        # Kept for the session, so a student who leaves the page comes back to the same step.
        st.slider("Step", 1, n_steps, key=key, label_visibility="collapsed", persist_state="session")
    # A keyed container gives the label a stable CSS class ("st-key-<prefix>-label")
    # for the browser tests.
    with st.container(key=f"{prefix}-label"):
        st.markdown(f"**Step {step}/{n_steps}** · {message(step - 1)}")
    return step - 1


def run_in_fragment(prefix: str, body: Callable[[], None]) -> None:
    """Run ``body`` (the player and the views) as a fragment.

    Stepping then reruns only the fragment, not the data picker and the
    parameters; while playing, the fragment reruns itself every frame. A
    change of play state or speed needs the fragment redefined with the new
    interval, hence the app rerun.
    """
    interval = play_interval(prefix)

    @st.fragment(run_every=interval)
    def lab() -> None:
        body()
        if play_interval(prefix) != interval:
            st.rerun(scope="app")

    lab()
