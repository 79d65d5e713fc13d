"""Sharing and exporting a trace: the link, downloads, replaying a trace file, chart clicks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from tracelab import data
from tracelab.record.trace import Trace
from tracelab.ui import url

__all__ = ["url_values", "share_box", "downloads", "trace_uploader", "replayed_trace", "clicked_customdata"]


def url_values(params: Sequence[url.Param]) -> dict[str, Any]:
    """Current session-state values of the URL fields (None where unset)."""
    return {p.key: st.session_state.get(p.key) for p in params}


def share_box(params: Sequence[url.Param], *, unshareable: str | None = None, prefix: str = "",
              sections: Sequence[str] | None = None, slug: Callable[[str], str] = str) -> None:
    """Show the links that reopen this lab on this step, or say why there are none.

    Parameters
    ----------
    params : sequence of url.Param
        The lab's URL fields.
    unshareable : str, optional
        Why the current view cannot travel in a link (then no link is shown).
    prefix : str
        The lab's session-state namespace (for the lesson link's choice of sections).
    sections : sequence of str, optional
        The page's sections: with them, a lesson link too (``lock=1``), showing
        the sections the instructor keeps (named in the link by ``slug``).
    """
    if unshareable:
        st.info(unshareable, icon="🔗")
        return
    lesson = {"lock", "sections"}
    query = {p.name: p.format(v) for p in params
             if p.name not in lesson and (v := st.session_state.get(p.key)) is not None}
    # st.context.url is this page's address without its query string.
    here = st.context.url or ""
    st.markdown("**Link to this step** (opens the same data, parameters, view and step)")
    st.code(f"{here}?{urlencode(query)}", language=None, wrap_lines=True)
    if sections is None:
        return
    st.markdown("**Lesson link** (the same, with the settings read-only until a student chooses "
                "*Explore on my own*)")
    shown = st.multiselect("Sections the lesson shows", list(sections), default=list(sections),
                           key=f"{prefix}.lesson_sections")
    lesson_query = dict(query, lock="1")
    if shown and len(shown) < len(sections):
        lesson_query["sections"] = ",".join(slug(name) for name in shown)
    st.code(f"{here}?{urlencode(lesson_query)}", language=None, wrap_lines=True)


def downloads(prefix: str, trace: Trace, files: Sequence[tuple[str, Callable[[], str], str, str]], *,
              note: str | None = None) -> None:
    """Download buttons: the trace as JSON, then the lab's own ``files``.

    Parameters
    ----------
    prefix : str
        The lab's session-state namespace.
    trace : Trace
    files : sequence of (label, make_data, file_name, mime)
        ``make_data`` runs only when the button is clicked.
    note : str, optional
        Said under the buttons (what a file leaves out).
    """
    # A trace file is for replaying: one larger than the replay uploader takes is
    # not written (a one-step-per-point OPTICS run of 2 000 points would be 200 MB,
    # 11 s and a GB of server memory to build).
    size = trace.approx_json_bytes()
    too_big = size > data.MAX_BYTES
    if too_big:
        st.info(f"This trace would make a file of about {size / 1e6:,.0f} MB, more than the "
                f"{data.MAX_BYTES / 1e6:.0f} MB a trace file can have to be replayed: record fewer "
                "steps (fewer iterations, or one step per 10 points) or use fewer points to download it.",
                icon=":material/file_download_off:")
    cols = st.columns(1 + len(files))
    cols[0].download_button(
        "Trace (JSON)",
        data=trace.to_json if not too_big else "",
        disabled=too_big,
        file_name=f"tracelab-{trace.algorithm}.json",
        mime="application/json",
        key=f"{prefix}.dl.trace",
        on_click="ignore",
        help="The whole trace; replay it here, or load it with tracelab.record.trace.Trace.from_json.",
    )
    for i, (label, make_data, file_name, mime) in enumerate(files, start=1):
        cols[i].download_button(
            label, data=make_data, file_name=file_name, mime=mime, key=f"{prefix}.dl.{i}", on_click="ignore"
        )
    if note:
        st.caption(note)


def _upload_key(prefix: str) -> str:
    # A new key gives a fresh, empty file input once a replay is stopped.
    return f"{prefix}.trace_upload.{st.session_state.get(f'{prefix}.trace_upload_round', 0)}"


def trace_uploader(prefix: str, *, check: Callable[[Trace], None]) -> None:
    """A file input that replays a downloaded trace in the lab, or says why it cannot.

    Parameters
    ----------
    prefix : str
        The lab's session-state namespace.
    check : callable Trace -> None
        Raises ValueError, with a message for the student, for a trace this lab cannot draw.
    """
    key = _upload_key(prefix)
    st.file_uploader(
        "Replay a trace file (JSON downloaded from this lab)",
        type=["json"],
        key=key,
        # the same limit as a CSV's, in the same units (see tracelab.data.MAX_BYTES)
        max_upload_size=max(1, data.MAX_BYTES // 1_000_000),
        on_change=_load_trace,
        args=(prefix, key, check),
    )
    error = st.session_state.get(f"{prefix}.trace_upload_error")
    if error:
        st.error(error, icon="📼")
    if st.session_state.pop(f"{prefix}.replay_started", False):
        # The file input lives in the lab's fragment, but the replay replaces the
        # whole page's trace: run the page again.
        st.rerun(scope="app")


def _load_trace(prefix: str, key: str, check: Callable[[Trace], None]) -> None:
    # A callback: it runs before the widgets, so it may move the player to step 1.
    uploaded = st.session_state.get(key)
    if uploaded is None:
        return
    try:
        trace = Trace.from_json(uploaded.getvalue())
        check(trace)
    except ValueError as exc:
        st.session_state[f"{prefix}.trace_upload_error"] = str(exc)
        return
    st.session_state.pop(f"{prefix}.trace_upload_error", None)
    st.session_state[f"{prefix}.replay"] = trace
    st.session_state[f"{prefix}.step"] = 1
    st.session_state[f"{prefix}.replay_started"] = True


def replayed_trace(prefix: str) -> Trace | None:
    """The trace being replayed from a file, with a banner and a way back; None if none."""
    trace = st.session_state.get(f"{prefix}.replay")
    if trace is None:
        return None
    st.info("Replaying an uploaded trace file. The controls on the left do not change it.", icon="📼")
    st.button("Stop replaying", key=f"{prefix}.stop_replay", on_click=_stop_replay, args=(prefix,))
    return trace


def _stop_replay(prefix: str) -> None:
    st.session_state.pop(f"{prefix}.replay", None)
    st.session_state[f"{prefix}.trace_upload_round"] = st.session_state.get(f"{prefix}.trace_upload_round", 0) + 1


def clicked_customdata(event: Any) -> Any:
    """The ``customdata`` of the first clicked point in a chart's selection event, if any.

    A row index comes back as an int; anything else (e.g. ``["grid", x, y]``) as it is.
    """
    try:
        points = event.selection.points
    except AttributeError:
        try:
            points = event["selection"]["points"]
        except (KeyError, TypeError):
            return None
    for point in points or []:
        value = point.get("customdata")
        if value is None:
            continue
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        if isinstance(value, (int, float)) and float(value).is_integer():
            return int(value)
        return list(value) if isinstance(value, (list, tuple)) else value
    return None
