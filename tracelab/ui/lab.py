"""The frame every lab page shares: link state in, the trace on screen, sections, sharing.

A lab page reads its widgets, calls :func:`shown_trace` with a function that
computes its trace, and draws its views inside :func:`tracelab.ui.player.run_in_fragment`;
everything around that (link notes, a refused run, a replayed file, the share
section) lives here once for every lab.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from tracelab.record.trace import Trace
from tracelab.ui import data_picker, player, runners, share, url
from tracelab.plot.stepping import StepSpec
from tracelab.ui.data_picker import DataChoice

__all__ = ["step_player", "at_step", "open_lab", "pick_data", "need_two_features", "clamp_k", "shown_trace", "step_link_note", "section_picker", "share_section", "axes_picker", "new_click", "view_params", "lesson_params",
           "locked", "section_slug", "CHART_CONFIG"]

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
    if st.session_state.get(f"{prefix}.lock"):
        lesson_banner(prefix, stepping=any(param.key == player.step_key(prefix) for param in params))


# In a lesson the sidebar (the data and the parameters) is not there to open.
LOCKED_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] {
  display: none !important;
}
</style>"""


def lesson_banner(prefix: str, *, stepping: bool = True) -> None:
    """A lesson link's banner, with the switch that unlocks the settings in this browser only.

    ``stepping`` says whether the page has a player to step through the lesson with.
    """
    with st.container(border=True, key=f"{prefix}-lesson"):
        text, switch = st.columns([3, 1], vertical_alignment="center")
        explore = switch.toggle("Explore on my own", key=f"{prefix}.explore", persist_state="session",
                                help="Unlock the data and the parameters here; the lesson's link stays as it was.")
        if explore:
            text.markdown("**Exploring on your own.** The data and parameters are in the sidebar; "
                          "the lesson's link still opens the settings chosen for it.")
        else:
            how = "Step through them with the player; switch" if stepping else "Switch"
            text.markdown(f"**Settings chosen for this lesson.** {how} on *Explore on my own* to change them.")
            st.html(LOCKED_CSS)


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


def trace_notes(prefix: str, trace: Trace, about: str) -> None:
    """Under the title: a link's step past the end (once per visit), then the data and how the run ended."""
    step_link_note(prefix, len(trace))
    # The data's name can be an uploaded file's name: shown as written, never as Markdown.
    st.caption(f"{data_picker.plain(about)}. {data_picker.plain(trace.message)}")


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


PROJECTIONS = {"pca": "PCA", "columns": "Two columns"}


# The symbols in section names, spelled out for a link.
_SPELLED = str.maketrans({"σ": "sigma", "²": "2", "→": " to ", "ξ": "xi", "ε": "eps", "/": " "})


def section_slug(label: str) -> str:
    """A section's name as a link writes it: "Share and export" -> "share-and-export"."""
    text = unicodedata.normalize("NFKD", label.translate(_SPELLED)).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", text))


def _slugs(text: str) -> tuple[str, ...]:
    """A link's list of sections: "responsibilities,equations"."""
    slugs = tuple(part for part in (section_slug(p) for p in text.split(",")) if part)
    if not slugs:
        raise ValueError("should name sections, separated by commas")
    return slugs


def lesson_params(prefix: str) -> list[url.Param]:
    """A lesson link's fields: ``lock=1`` (the settings as chosen) and the ``sections`` it shows."""
    return [
        url.Param("lock", f"{prefix}.lock", False, url.flag, "lesson mode"),
        url.Param("sections", f"{prefix}.sections", None, _slugs, "sections", fmt=",".join),
    ]


def locked(prefix: str) -> bool:
    """Whether the page shows a lesson's settings read-only (a ``lock=1`` link, not unlocked here)."""
    return bool(st.session_state.get(f"{prefix}.lock")) and not st.session_state.get(f"{prefix}.explore")


def view_params(prefix: str, *, plane: bool = True, speed: bool = True) -> list[url.Param]:
    """The view's choices that travel in a link: the plane drawn, the section shown, the player's speed.

    Column names and sections are checked where they are drawn (:func:`axes_picker`,
    :func:`section_picker`), against the data and the sections the page has.
    """
    params = []
    if plane:
        params += [
            url.Param("view", f"{prefix}.projection", "PCA",
                      lambda text: PROJECTIONS[url.choice(list(PROJECTIONS))(text)], "view",
                      fmt=lambda value: "pca" if value == "PCA" else "columns"),
            url.Param("x", f"{prefix}.xcol", None, str, "x column"),
            url.Param("y", f"{prefix}.ycol", None, str, "y column"),
        ]
    params.append(url.Param("section", f"{prefix}-section", None, str, "section", fmt=section_slug))
    if speed:
        params.append(player.speed_param(prefix))
    return params + lesson_params(prefix)


def _from_link(prefix: str, name: str, value: Any) -> bool:
    """Whether ``value`` is what this visit's link asked for in its field ``name``."""
    asked = st.session_state.get(f"{prefix}.url_loaded") or {}
    return value is not None and str(asked.get(name)) in (str(value), section_slug(str(value)))


def _unusable(prefix: str, name: str, value: Any, why: str, instead: str) -> None:
    """The link's note (once) for a view choice this data or page cannot show, and ``why``."""
    noted = st.session_state.setdefault(f"{prefix}.url_noted", set())
    if _from_link(prefix, name, value) and (name, str(value)) not in noted:
        noted.add((name, str(value)))
        st.warning(f"The link's {name}={value!r} was ignored ({why}); "
                   f"showing {instead} instead.", icon="🔗")


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
        projection = c1.selectbox("View", list(PROJECTIONS.values()), key=f"{prefix}.projection",
                                  persist_state="session")
    if projection != "Two columns":
        return "pca"
    xkey, ykey = f"{prefix}.xcol", f"{prefix}.ycol"
    if st.session_state.get(xkey) not in columns:
        _unusable(prefix, "x", st.session_state.get(xkey), "this data has no such column", repr(columns[0]))
        st.session_state[xkey] = columns[0]
    x = c2.selectbox("x", columns, key=xkey, persist_state="session")
    others = [c for c in columns if c != x]
    if st.session_state.get(ykey) not in others:
        if st.session_state.get(ykey) != x:
            _unusable(prefix, "y", st.session_state.get(ykey), "this data has no such column", repr(others[0]))
        st.session_state[ykey] = others[0]
    y = c3.selectbox("y", others, key=ykey, persist_state="session")
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


def section_picker(prefix: str, sections: Sequence[str], *, optional: bool = False) -> str | None:
    """One section at a time: hidden tabs would still be rebuilt and redrawn on every step.

    With ``optional``, none is open until the student picks one (``None``): for a
    page whose step views all live in the player, so that stepping redraws no
    section the student did not ask for.
    """
    key = f"{prefix}-section"  # "-": a plain CSS class for the browser tests
    st.session_state[f"{prefix}.all_sections"] = list(sections)
    # A lesson link may show only some sections (those it names that this page has).
    wanted = st.session_state.get(f"{prefix}.sections")
    if wanted and locked(prefix):
        sections = [name for name in sections if section_slug(name) in wanted] or list(sections)
    chosen = st.session_state.get(key)
    if chosen not in sections and not (optional and chosen is None):
        # A link names a section by its slug; one this page does not have falls back
        # to the first (or to none, where none is open at first).
        by_slug = {section_slug(name): name for name in sections}
        instead = None if optional else sections[0]
        if chosen is not None and chosen not in by_slug:
            _unusable(prefix, "section", chosen, "this page has no such section",
                      "no section" if instead is None else f"“{instead}”")
        st.session_state[key] = by_slug.get(chosen, instead)
    return st.segmented_control(
        "Show", list(sections), key=key, required=not optional, label_visibility="collapsed",
        persist_state="session",
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
            f"{choice.unshareable} To share this run, download the trace file below: anyone can "
            "replay it here with “Replay a trace file”."
        )
    else:
        unshareable = None
    share.share_box(url_params, unshareable=unshareable, prefix=prefix,
                    sections=st.session_state.get(f"{prefix}.all_sections"), slug=section_slug)
    share.downloads(prefix, trace, files, note=note)
    share.trace_uploader(prefix, check=check)
