"""Step charts for the browser player: one base figure per chart plus compact per-frame patches.

A lab's views draw one figure per step. The player in the browser needs the
whole run at once, but sending every figure whole would repeat what does not
change (axes, titles, the points' coordinates). :func:`build_spec` calls the
views on every drawn step and keeps, for each chart, the first figure (the
*base*) and, for every later frame, only the top-level trace and layout keys
whose values differ from the frame before (the *patch*); an array that only
grows (a dendrogram's links so far) sends its new end. :func:`apply_patch` is
the one reading of a patch, mirrored line for line by the player's JavaScript
(``tracelab/plot/player.js``); :func:`figure_at` replays a chart's patches,
and the tests check that it reproduces the view's own figure at every step.

Bounds: a spec never exceeds :data:`MAX_SPEC_BYTES` nor takes much more than
:data:`MAX_BUILD_SECONDS` to build. Past either, fewer frames are drawn (every
m-th step, the last always included) and the player says so; the labels (and
so the slider, the label and Python's tables) still reach every step. Points
are thinned by the views themselves (their ``max_points``), chosen by the lab
with :func:`point_budget`.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.io as pio
import plotly.offline

from tracelab.record.trace import checkpoint
from tracelab.record.words import ordinal

__all__ = [
    "MAX_SPEC_BYTES",
    "MAX_BUILD_SECONDS",
    "StepSpec",
    "build_spec",
    "apply_patch",
    "compose_patches",
    "figure_at",
    "figure_json",
    "frame_of",
    "point_budget",
    "player_js",
    "player_css",
    "standalone_html",
]

# What one trace may ship to a browser, and how long building it may take on one core.
MAX_SPEC_BYTES = 7_000_000
MAX_BUILD_SECONDS = 2.0
# Frames below which thinning points is preferred to thinning steps further.
MIN_FRAMES = 40


@dataclass(frozen=True)
class StepSpec:
    """What the player receives once per trace.

    Attributes
    ----------
    json : str
        The spec as compact JSON: ``{"charts": [{"base": figure, "patches":
        [patch, ...]}, ...], "frames": [step, ...], "labels": [str, ...],
        "notes": [str, ...]}``. ``patches[f]`` turns the figure of frame
        ``f - 1`` into that of step ``frames[f]`` (``patches[0]`` is empty:
        the base is frame 0); see :func:`figure_at`.
    frames : tuple of int
        The 0-based steps that are drawn, increasing, first and last included.
    n_steps : int
        Steps in the trace (``len(labels)``).
    notes : tuple of str
        What was left out to keep the spec within its bounds.
    """

    json: str
    frames: tuple[int, ...]
    n_steps: int
    notes: tuple[str, ...]

    @property
    def n_bytes(self) -> int:
        return len(self.json.encode())

    def spec(self) -> dict[str, Any]:
        """The spec as Python objects (for tests and the standalone file)."""
        return json.loads(self.json)


def _plain_json(fig: dict[str, Any]) -> dict[str, Any] | None:
    """A step chart's dict through a plain JSON round trip, or None if it needs plotly's encoder.

    The step charts' dicts are JSON already (arrays as typed-array specs): a plain
    round trip is what plotly's encoder would write, at a tenth of its cost, which
    the build's time bound counts hundreds of times. Anything else (a numpy value,
    NaN) makes it return None.
    """
    try:
        out = json.loads(json.dumps(fig, allow_nan=False))
    except (TypeError, ValueError):
        return None
    return {"data": out.get("data", []), "layout": out.get("layout", {})}


def figure_json(fig: Any) -> dict[str, Any]:
    """A figure as the JSON the browser receives (arrays as typed-array ``bdata``).

    Parameters
    ----------
    fig : plotly Figure or dict

    Returns
    -------
    dict
        ``{"data": [...], "layout": {...}}``.
    """
    if isinstance(fig, dict):
        plain = _plain_json(fig)
        if plain is not None:
            return plain
    out = json.loads(pio.to_json(fig, validate=False))
    return {"data": out.get("data", []), "layout": out.get("layout", {})}


def _diff(prev: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys of ``new`` that differ from ``prev``, those ``new`` lacks, and grown arrays' ends."""
    patch: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    grown: dict[str, Any] = {}
    for k, v in new.items():
        old = prev.get(k, _MISSING)
        if old == v:
            continue
        tail = _tail(old, v)
        if tail is None:
            changed[k] = v
        else:
            grown[k] = tail
    if changed:
        patch["set"] = changed
    removed = [k for k in prev if k not in new]
    if removed:
        patch["unset"] = removed
    if grown:
        patch["append"] = grown
    return patch


def _typed_bytes(v: Any) -> bytes | None:
    """The raw bytes of a 1-D typed-array spec (``{"dtype", "bdata"}``), else None."""
    if isinstance(v, dict) and set(v) == {"dtype", "bdata"}:
        return base64.b64decode(v["bdata"])
    return None


def _tail(old: Any, new: Any) -> Any:
    """What was appended to ``old`` to make ``new`` (same kind of array, ``old`` a proper prefix), else None."""
    if isinstance(old, list) and isinstance(new, list):
        if 0 < len(old) < len(new) and new[: len(old)] == old:
            return new[len(old):]
        return None
    a, b = _typed_bytes(old), _typed_bytes(new)
    if a and b is not None and old["dtype"] == new["dtype"] and len(a) < len(b) and b.startswith(a):
        return {"dtype": new["dtype"], "bdata": base64.b64encode(b[len(a):]).decode("ascii")}
    return None


def _concat(a: Any, b: Any) -> Any:
    """``a`` with ``b`` appended: two lists, or two typed-array specs of one dtype."""
    if isinstance(a, list):
        return a + b
    return {"dtype": a["dtype"], "bdata": base64.b64encode(_typed_bytes(a) + _typed_bytes(b)).decode("ascii")}


_MISSING = object()


def make_patch(prev: dict[str, Any], fig: dict[str, Any]) -> dict[str, Any]:
    """The patch that turns ``prev`` into ``fig`` (both from :func:`figure_json`).

    Traces are compared by position; when the number of traces differs, the
    patch carries the list's length and the traces past ``prev``'s whole.

    Returns
    -------
    dict
        ``{"data": {"<i>": {"set": {...}, "unset": [...], "append": {...}}},
        "n_data": int, "layout": {"set": ..., "unset": ..., "append": ...}}``,
        with empty parts left out; a new trace is ``{"whole": true, "set": trace}``.
    """
    patch: dict[str, Any] = {}
    prev_data, data = prev["data"], fig["data"]
    traces: dict[str, Any] = {}
    for i, tr in enumerate(data):
        if i < len(prev_data):
            d = _diff(prev_data[i], tr)
            if d:
                traces[str(i)] = d
        else:
            traces[str(i)] = {"whole": True, "set": tr}
    if traces:
        patch["data"] = traces
    if len(data) != len(prev_data):
        patch["n_data"] = len(data)
    layout = _diff(prev["layout"], fig["layout"])
    if layout:
        patch["layout"] = layout
    return patch


def _apply(obj: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    out.update(part.get("set", {}))
    for k in part.get("unset", ()):
        out.pop(k, None)
    for k, tail in part.get("append", {}).items():
        out[k] = _concat(out[k], tail)
    return out


def apply_patch(prev: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The figure a patch describes: ``prev`` with the patch's keys set, unset and appended to.

    The player's JavaScript does exactly this before ``Plotly.react``.

    Parameters
    ----------
    prev, patch : dict
        A chart's figure at one frame and the next frame's patch, as in :class:`StepSpec`.

    Returns
    -------
    dict
        ``{"data": [...], "layout": {...}}``; ``prev`` is not changed.
    """
    n = patch.get("n_data", len(prev["data"]))
    data = []
    traces = patch.get("data", {})
    for i in range(n):
        part = traces.get(str(i))
        if part is not None and part.get("whole"):
            data.append(dict(part["set"]))
        elif part is not None:
            data.append(_apply(prev["data"][i], part))
        else:
            data.append(prev["data"][i])
    return {"data": data, "layout": _apply(prev["layout"], patch.get("layout", {}))}


def figure_at(chart: dict[str, Any], frame: int) -> dict[str, Any]:
    """A chart's figure at ``frame``: its base with patches ``1..frame`` applied in turn.

    Parameters
    ----------
    chart : dict
        One of a spec's charts, ``{"base": figure, "patches": [patch, ...]}``.
    frame : int
        Index into the spec's frames.

    Returns
    -------
    dict
    """
    fig = chart["base"]
    for patch in chart["patches"][1 : frame + 1]:
        fig = apply_patch(fig, patch)
    return fig


def _compose_part(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """One trace's (or the layout's) change ``a`` followed by ``b``, as one change."""
    sets, unset, appended = dict(a.get("set", {})), list(a.get("unset", [])), dict(a.get("append", {}))
    for k, v in b.get("set", {}).items():
        sets[k] = v
        appended.pop(k, None)
        if k in unset:
            unset.remove(k)
    for k in b.get("unset", ()):
        sets.pop(k, None)
        appended.pop(k, None)
        if k not in unset:
            unset.append(k)
    for k, tail in b.get("append", {}).items():
        if k in sets:
            sets[k] = _concat(sets[k], tail)
        elif k in appended:
            appended[k] = _concat(appended[k], tail)
        else:
            appended[k] = tail
    out: dict[str, Any] = {}
    if sets:
        out["set"] = sets
    if unset:
        out["unset"] = unset
    if appended:
        out["append"] = appended
    return out


def compose_patches(first: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """One patch doing ``first`` then ``then``: ``apply_patch(apply_patch(f, first), then)``.

    Lets a frame be dropped (the spec thinned) without drawing its neighbours again.

    Parameters
    ----------
    first, then : dict
        Consecutive patches of one chart.

    Returns
    -------
    dict
    """
    n = then.get("n_data", first.get("n_data"))
    out: dict[str, Any] = {}
    if n is not None:
        out["n_data"] = n
    a, b = first.get("data", {}), then.get("data", {})
    traces: dict[str, Any] = {}
    for i in sorted({*a, *b}, key=int):
        if n is not None and int(i) >= n:
            continue
        pa, pb = a.get(i), b.get(i)
        if pb is None:
            traces[i] = pa
        elif pb.get("whole") or pa is None:
            traces[i] = pb
        elif pa.get("whole"):
            traces[i] = {"whole": True, "set": _apply(pa["set"], pb)}
        else:
            part = _compose_part(pa, pb)
            if part:
                traces[i] = part
    if traces:
        out["data"] = traces
    layout = _compose_part(first.get("layout", {}), then.get("layout", {}))
    if layout:
        out["layout"] = layout
    return out


def frame_of(frames: Sequence[int], step: int) -> int:
    """Index of the frame shown at ``step``: the last drawn step at or before it."""
    lo, hi = 0, len(frames) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if frames[mid] <= step:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _frames(n_steps: int, most: int) -> list[int]:
    """At most ``most`` steps to draw: every step of the last third, every m-th before.

    The end of a long run is drawn whole (the last merges of a hierarchy, the
    last moves of EM), the beginning thinned evenly from step 0.
    """
    if n_steps <= most:
        return list(range(n_steps))
    tail = min(n_steps, max(1, most // 3))
    head_steps, head_room = n_steps - tail, max(most - tail, 1)
    m = math.ceil(head_steps / head_room)
    return list(range(0, head_steps, m)) + list(range(head_steps, n_steps))


def _thinned(frames: list[int], n_steps: int) -> list[int]:
    """A subset of ``frames`` with fewer frames, the first and the last kept.

    Every other frame of the thinned beginning goes; once that is spent, every
    other frame of all.
    """
    tail_start = len(frames) - 1
    while tail_start > 0 and frames[tail_start] - frames[tail_start - 1] == 1:
        tail_start -= 1
    head = frames[:tail_start]
    if len(head) > 2:
        return head[::2] + frames[tail_start:]
    out = frames[::2]
    return out if out[-1] == frames[-1] else [*out, frames[-1]]


def _note(frames: Sequence[int], n_steps: int) -> str | None:
    """What the chart leaves out, in words."""
    if len(frames) == n_steps:
        return None
    gaps = [b - a for a, b in zip(frames, frames[1:])]
    tail = 0
    while tail < len(gaps) and gaps[len(gaps) - 1 - tail] == 1:
        tail += 1
    m = max(gaps)
    every = "every other step" if m == 2 else f"every {ordinal(m)} step"
    if tail:
        return (f"To keep this long run light in the browser, the chart draws {every} up to step "
                f"{frames[len(frames) - 1 - tail] + 1} and each of the last {tail + 1} of {n_steps} steps; "
                f"the label and the tables show every step.")
    return (f"To keep this long run light in the browser, the chart draws {every} of {n_steps} (and the last); "
            f"the label and the tables show every step.")


def point_budget(n_points: int, n_steps: int, *, bytes_per_point: int = 60, charts: int = 1,
                 most: int = 2_000) -> int:
    """How many points a stepped scatter may draw so that enough frames fit the size bound.

    Each drawn point costs about ``bytes_per_point`` in every frame's patch
    (its colour and hover text change with the step). The budget keeps at
    least ``min(n_steps, MIN_FRAMES * 2)`` frames within :data:`MAX_SPEC_BYTES`
    and never more than ``most`` points.

    Parameters
    ----------
    n_points : int
        Points in the data.
    n_steps : int
        Steps in the trace.

    Returns
    -------
    int
        At most ``n_points``.
    """
    frames = min(n_steps, 2 * MIN_FRAMES)
    fit = MAX_SPEC_BYTES // max(frames * bytes_per_point * charts, 1)
    return int(max(1, min(n_points, most, fit)))


def build_spec(
    views: Sequence[Callable[[int], Any]],
    labels: Sequence[str],
    *,
    max_bytes: int = MAX_SPEC_BYTES,
    max_seconds: float = MAX_BUILD_SECONDS,
    clock: Callable[[], float] = time.thread_time,
) -> StepSpec:
    """Draw every step's charts once and keep a base and compact patches.

    Parameters
    ----------
    views : sequence of callable int -> plotly Figure
        One per chart: the lab's view of step ``s`` (0-based).
    labels : sequence of str
        Each step's label ("Step i/N · message"), one per step of the trace.
    max_bytes : int
        Bound on the spec's JSON size; past it fewer frames are drawn.
    max_seconds : float
        Bound on the time spent drawing; past it fewer frames are drawn.
    clock : callable
        Seconds, for the time bound (tests pass a fake one). By default the
        thread's CPU time: the bound is on the work done, so what a run draws
        does not depend on how busy the server is.

    Returns
    -------
    StepSpec
    """
    n_steps = len(labels)
    if n_steps == 0:
        raise ValueError("a trace needs at least one step to be played")
    if not views:
        raise ValueError("the player needs at least one chart")

    started = clock()
    bases = [figure_json(view(0)) for view in views]
    # A few steps size and price a frame: the last (often the most changed), one in
    # the middle and the first after the base, each with the step before it; the
    # largest patch sets the size. What is drawn here is used again below.
    drawn: dict[int, list[dict[str, Any]]] = {0: bases}

    def draw(step: int) -> list[dict[str, Any]]:
        if step not in drawn:
            drawn[step] = [figure_json(view(step)) for view in views]
        return drawn[step]

    probe_started = clock()
    sampled = {step: [make_patch(a, b) for a, b in zip(draw(step - 1), draw(step))]
               for step in sorted({n_steps - 1, n_steps // 2, min(1, n_steps - 1)} - {0})}
    per_frame_seconds = (clock() - probe_started) / max(len(drawn) - 1, 1)
    spent = clock() - started

    def size(patches: list[dict[str, Any]]) -> int:
        return sum(len(json.dumps(p, separators=(",", ":"))) for p in patches) + 16

    base_bytes = sum(len(json.dumps(b, separators=(",", ":"))) for b in bases)
    label_bytes = sum(len(json.dumps(s_)) + 1 for s_ in labels)
    per_frame_bytes = max((size(p) for p in sampled.values()), default=16)
    room = max(max_bytes - base_bytes - label_bytes - 4_096, per_frame_bytes)
    by_size = room // per_frame_bytes
    by_time = (max_seconds - spent) / per_frame_seconds if per_frame_seconds > 0 else n_steps
    frames = _frames(n_steps, int(max(2, min(n_steps, by_size, by_time + len(drawn)))))

    # Each frame's patch against the frame before it; a figure is dropped once diffed.
    patches: dict[int, list[dict[str, Any]]] = {0: [{} for _ in views]}
    prev = bases
    for step in frames[1:]:
        checkpoint()  # a build for a page that has gone (or moved on) ends here
        figs = draw(step)
        patches[step] = [make_patch(a, b) for a, b in zip(prev, figs)]
        prev = figs
        for done in [k for k in drawn if k <= step]:
            del drawn[done]
    # The estimate may fall short (a patch across skipped steps carries more than one
    # step's change): thin until within the bound, merging a dropped frame's patch
    # into the next kept one.
    total = base_bytes + label_bytes + sum(size(patches[f]) for f in frames)
    while total > max_bytes - 4_096 and len(frames) > 2:
        kept = set(_thinned(frames, n_steps))
        pending: list[dict[str, Any]] | None = None
        for f in frames[1:]:
            if pending is not None:
                patches[f] = [compose_patches(a, b) for a, b in zip(pending, patches[f])]
                pending = None
            if f not in kept:
                pending = patches.pop(f)
        frames = [f for f in frames if f in kept]
        total = base_bytes + label_bytes + sum(size(patches[f]) for f in frames)

    note = _note(frames, n_steps)
    notes = [note] if note else []
    spec = {
        "charts": [{"base": b, "patches": [patches[f][c] for f in frames]} for c, b in enumerate(bases)],
        "frames": frames,
        "labels": list(labels),
        "notes": notes,
    }
    return StepSpec(
        json=json.dumps(spec, separators=(",", ":"), allow_nan=False),
        frames=tuple(frames),
        n_steps=n_steps,
        notes=tuple(notes),
    )


@functools.cache
def player_js() -> str:
    """The player's JavaScript module: the app's component and the standalone file run the same code."""
    return (Path(__file__).parent / "player.js").read_text(encoding="utf-8")


@functools.cache
def player_css() -> str:
    """The player's style sheet."""
    return (Path(__file__).parent / "player.css").read_text(encoding="utf-8")


def standalone_html(spec: StepSpec, *, title: str, about: str = "", start: int = 1) -> str:
    """One HTML file that steps through the run offline, exactly as the app's player does.

    plotly.js, the player's script and the spec are inlined; the file needs no
    server and no network. Its size is the spec's (bounded by
    :data:`MAX_SPEC_BYTES`) plus plotly.js (about 4.8 MB).

    Parameters
    ----------
    spec : StepSpec
    title : str
        The page's heading (plain text).
    about : str
        A line under the heading (plain text).
    start : int
        The step it opens on, 1-based.

    Returns
    -------
    str
    """
    head = json.dumps({"start": int(start), "nonce": 0, "clickable": []}, separators=(",", ":"))
    # "</" cannot end a <script> element when written as "<\/", which JSON reads as "/".
    data = (head[:-1] + "," + spec.json[1:]).replace("</", "<\\/")
    js = player_js()
    if "</script" in js.lower():
        raise ValueError("the player's script cannot be inlined: it contains </script")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2rem; color: #31333f; }}
{player_css()}</style>
<script>{plotly.offline.get_plotlyjs()}</script>
</head><body>
<h1 style="font-size:1.4rem">{html.escape(title)}</h1>
<p>{html.escape(about)}</p>
<div id="tl-root"></div>
<script type="application/json" id="tl-spec">{data}</script>
<script type="text/plain" id="tl-js">{js}</script>
<script type="module">
const src = document.getElementById("tl-js").textContent;
const url = URL.createObjectURL(new Blob([src], {{ type: "text/javascript" }}));
const player = (await import(url)).default;
player({{
  data: document.getElementById("tl-spec").textContent,
  parentElement: document.getElementById("tl-root"),
  setStateValue: () => {{}},
  setTriggerValue: null,
}});
</script>
</body></html>
"""
