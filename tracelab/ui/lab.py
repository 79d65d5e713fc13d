"""The frame every lab page shares: link state in, the trace on screen, sections, sharing.

A lab page reads its widgets, calls :func:`shown_trace` with a function that
computes its trace, and draws its views inside :func:`tracelab.ui.player.run_in_fragment`;
everything around that (link notes, a refused run, a replayed file, the share
section) lives here once for every lab.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from tracelab.trace import Trace
from tracelab.ui import data_picker, player, runners, share, url
from tracelab.views.stepping import StepSpec
from tracelab.ui.data_picker import DataChoice

__all__ = ["step_player", "at_step", "open_lab", "pick_data", "need_two_features", "clamp_k", "shown_trace", "step_link_note", "section_picker", "share_section", "axes_picker", "new_click", "CHART_CONFIG"]

# Plotly's toolbar without the logo; the same for every chart of every lab.
CHART_CONFIG = {"displaylogo": False}

# Every lab's page style. A displayed formula (the r_ik formula, the equations) is
# set smaller on a phone, where KaTeX's 1.21 em ran it off a 390-px screen; a
# formula wider still scrolls inside its own box there rather than being cut off.
PAGE_CSS = """<style>
@media (max-width: 640px) {
  .katex-display { overflow-x: auto; overflow-y: hidden; }
  .katex-display > .katex { font-size: 0.8em; }
}
</style>"""


def step_player(
    prefix: str,
    trace: Trace,
    charts: Callable[..., StepSpec],
    options: dict[str, Any],
    *,
    clickable: Sequence[int] = (),
    widths: Sequence[float] | None = None,
    selected: int | None = None,
) -> tuple[player.Stepped, StepSpec]:
    """The lab's step charts in the browser player, built once per trace and view options.

    Parameters
    ----------
    prefix : str
        The lab's session-state namespace.
    trace : Trace
        The trace on screen.
    charts : callable
        The lab view's ``step_charts``, drawn as ``charts(trace, **options)`` in a worker process.
    options : dict
        Everything besides the trace that the charts depend on (axes, toggles, column names).
    clickable, widths, selected
        As for :func:`tracelab.ui.player.player`.

    Returns
    -------
    stepped, spec
    """
    spec_id, spec = runners.step_spec(trace, charts, options)
    stepped = player.player(prefix, spec, spec_id=spec_id, clickable=clickable, widths=widths, selected=selected)
    return stepped, spec


def at_step(prefix: str):
    """The container for what Python draws for the current step (tables, formulas).

    Its stable CSS class (``st-key-<prefix>-at-step``) lets the browser tests and
    the benchmark see when Python has caught up with the browser's step.
    """
    return st.container(key=f"{prefix}-at-step")


def open_lab(prefix: str, title: str, params: Sequence[url.Param], *, default_data: str = "old_faithful") -> None:
    """Read the link's state once per visit, give every parameter its default, show the title and notes.

    Parameters
    ----------
    prefix : str
        The lab's session-state namespace.
    title : str
    params : sequence of url.Param
        The lab's own URL fields (the data picker's are added here); the step last.
    default_data : str
        The built-in data set the lab opens on (whose generator parameters a link may set).
    """
    data = st.query_params.get("data", default_data)
    notes = url.load_into_state(data_picker.url_params(prefix, data) + list(params), f"{prefix}.url_loaded")
    for param in params:
        if param.key != player.step_key(prefix):
            st.session_state.setdefault(param.key, param.default)
    st.html(PAGE_CSS)
    st.title(title)
    for note in notes:
        st.warning(note, icon="🔗")


def pick_data(prefix: str, default: str) -> DataChoice:
    """The data picker in the sidebar; a refused upload's message on the page."""
    choice = data_picker.pick_dataset(prefix, default=default)
    if choice.error:
        st.error(choice.error, icon="📄")
    return choice


def clamp_k(key: str, n_samples: int, *, most: int = 10, what: str = "clusters") -> int:
    """The largest k the data allows; a larger stored k (from a link or other data) is lowered with a note."""
    max_k = min(most, n_samples)
    if st.session_state.get(key, 1) > max_k:
        st.warning(
            f"k = {st.session_state[key]} is more {what} than this data has points "
            f"({n_samples}); using k = {max_k}.",
            icon="⚠️",
        )
        st.session_state[key] = max_k
    return max_k


def shown_trace(
    prefix: str, compute: Callable[[], Trace], choice: DataChoice
) -> tuple[Trace, list[str], str, Trace | None]:
    """The trace on screen, with its column names and a line about its data.

    A replayed trace file wins; otherwise ``compute()``. If that refuses (ValueError),
    its message is shown and the last trace that ran stays, drawn with its own columns.

    Returns
    -------
    trace, columns, about, replay
        ``replay`` is the replayed trace, or None.
    """
    replay = share.replayed_trace(prefix)
    if replay is not None:
        return replay, [f"x{j + 1}" for j in range(replay.X.shape[1])], "Replayed trace file", replay
    dataset = choice.dataset
    try:
        trace = compute()
        n = trace.X.shape[0]
        points = (f"{n} point{'s' if n != 1 else ''}" if n == dataset.n_samples
                  else f"a random sample of {n:,} of its {dataset.n_samples:,} points")
        shown = (
            trace,
            list(dataset.columns),
            f"{dataset.name}: {points}, {dataset.n_features} feature{'s' if dataset.n_features != 1 else ''}",
        )
        st.session_state[f"{prefix}.shown"] = shown
    except ValueError as exc:
        if not isinstance(exc, (runners.Stopped, runners.TooMuch)):  # those have said so themselves
            st.error(str(exc), icon="⚠️")
        shown = st.session_state.get(f"{prefix}.shown")
        if shown is None:
            st.stop()
        st.caption("Showing the last trace that ran.")
    return (*shown, None)


def need_two_features(trace: Trace) -> None:
    """Stop with a note when the data has one feature: these views draw points in a plane."""
    if trace.X.shape[1] < 2:
        st.info(
            "This lab draws the points in two dimensions, but the data has one feature. "
            "Choose data with two or more numeric columns; the EM lab shows one-dimensional data.",
            icon="📐",
        )
        st.stop()


def step_link_note(prefix: str, n_steps: int) -> None:
    """Once per visit: say so when the link asked for a step past the end."""
    checked = f"{prefix}.url_step_checked"
    if st.session_state.get(checked):
        return
    st.session_state[checked] = True
    requested = st.session_state.get(player.step_key(prefix), 1)
    if requested > n_steps:
        st.warning(
            f"The link asks for step {requested}, but this trace has {n_steps} steps; showing the last one.",
            icon="🔗",
        )


def axes_picker(prefix: str, columns: Sequence[str]) -> tuple[int, int] | str:
    """Which plane a scatter shows: two columns (x differs from y), or PCA for more than two features.

    Returns
    -------
    (int, int) or "pca"
        Column indices, as the views take them.
    """
    columns = list(columns)
    c1, c2, c3 = st.columns(3)
    projection = "Two columns"
    if len(columns) > 2:
        projection = c1.selectbox("View", ["PCA", "Two columns"], key=f"{prefix}.projection", persist_state="session")
    if projection != "Two columns":
        return "pca"
    x = c2.selectbox("x", columns, key=f"{prefix}.xcol", persist_state="session")
    others = [c for c in columns if c != x]
    if st.session_state.get(f"{prefix}.ycol") not in others:
        st.session_state[f"{prefix}.ycol"] = others[0]
    y = c3.selectbox("y", others, key=f"{prefix}.ycol", persist_state="session")
    return columns.index(x), columns.index(y)


def new_click(chart_key: str) -> Any:
    """What was newly clicked on a chart, read before the chart is drawn again.

    Reading the selection from session state first lets the figure show the
    choice in the same run. A click is reported once, so choosing another point
    by other means is not undone by the chart's lingering selection.

    Returns
    -------
    int, list or None
        The clicked point's ``customdata`` (a row index, or a list for special
        markers such as a click grid), or None.
    """
    clicked = share.clicked_customdata(st.session_state.get(chart_key))
    seen_key = f"{chart_key}.seen"
    seen = st.session_state.get(seen_key)
    st.session_state[seen_key] = clicked
    return clicked if clicked is not None and clicked != seen else None


def section_picker(prefix: str, sections: Sequence[str]) -> str:
    """One section at a time: hidden tabs would still be rebuilt and redrawn on every step."""
    key = f"{prefix}-section"  # "-": a plain CSS class for the browser tests
    if st.session_state.get(key) not in sections:
        st.session_state[key] = sections[0]
    return st.segmented_control(
        "Show", list(sections), key=key, required=True, label_visibility="collapsed", persist_state="session"
    )


def share_section(
    prefix: str,
    trace: Trace,
    url_params: Sequence[url.Param],
    *,
    choice: DataChoice,
    replay: Trace | None,
    files: Sequence[tuple[str, Callable[[], Any], str, str]],
    check: Callable[[Trace], None],
    note: str | None = None,
) -> None:
    """The link to this step (or why there is none), the downloads (``note`` under them), and trace-file replay."""
    if replay is not None:
        unshareable = "A replayed trace file cannot travel in a link: share the file itself."
    elif not choice.shareable:
        unshareable = (
            "An uploaded CSV cannot travel in a link. To share this run, download the trace "
            "file below: anyone can replay it here with “Replay a trace file”."
        )
    else:
        unshareable = None
    share.share_box(url_params, unshareable=unshareable)
    share.downloads(prefix, trace, files, note=note)
    share.trace_uploader(prefix, check=check)
