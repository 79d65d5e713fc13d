"""Views of density-based clustering traces: DBSCAN, OPTICS and HDBSCAN.

Every step view takes a :class:`~tracelab.record.trace.Trace` from
:func:`tracelab.labs.density.engine.trace_dbscan`, :func:`tracelab.labs.density.engine.trace_optics` or
:func:`tracelab.labs.density.hdbscan.trace_hdbscan` (told apart by ``trace.algorithm``)
and a step index, and returns a plotly ``go.Figure`` assembled from plain dicts
(:func:`tracelab.plot.common.figure`; the tests re-validate every figure).
Nothing here imports streamlit or caches anything.

Conventions (as in :mod:`tracelab.labs.kmeans.views`)
-------------------------------------------------
- Points are identified by their 0-based row index in ``trace.X``: it is each
  data marker's (and each reachability bar's) ``customdata``.
- Clusters are numbered from 1 on screen ("cluster 1") and coloured by
  :data:`tracelab.plot.common.PALETTE` in order; a label of -1 is grey.
- Steps are numbered from 1 on screen ("Step 3 · expanding cluster 1").
- Every trace carries ``meta={"role": ...}``: "core", "border", "noise",
  "unreached", "eps-ball", "eps-neighbors", "neighbor-links", "queue",
  "current", "k-distance", "eps", "reachability", "eps-cut", "points",
  "links", "current-link", "mst", "mst-new", "mst-weights", "clusters", ...
- Axis ranges depend only on the trace (and the plane), never on the step, and
  ``layout.uirevision`` only on the trace kind and the plane, so zoom survives
  stepping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from tracelab.record.trace import Trace
from tracelab.plot import stepping
from tracelab.plot import scatter as kit  # the step scatter every lab shares
from tracelab.plot.common import (
    column_domains,
    PALETTE,
    as_figure,
    figure,
    figure_dict,
    format_count,
)
from tracelab.labs.kmeans.views import (
    check_same_data,
    final_responsibilities,
    unit_ball_outline,
)

__all__ = [
    "step_charts",
    "MAX_NEIGHBOR_BALLS",
    "dbscan_kinds",
    "dbscan_scatter",
    "hdbscan_condensed_tree",
    "hdbscan_mst",
    "k_distance_plot",
    "optics_reachability",
    "optics_scatter",
    "compared_labels",
    "side_by_side",
    "side_by_side_panels",
    "step_title",
]

GL_ABOVE = kit.GL_ABOVE
HOVER_TEXT_UP_TO = kit.HOVER_TEXT_UP_TO
#: At most this many lighter ε-balls are drawn around the current point's neighbours.
MAX_NEIGHBOR_BALLS = 200
#: Vertices of each neighbour's ε outline (the current point's has 361).
NEIGHBOR_BALL_POINTS = 41

_NOISE = kit.NOISE_COLOR  # the grey of noise in every hard labelling
_UNREACHED = "#DDDDDD"  # not reached yet / not ordered yet
_PENDING_CORE = "#666666"  # a core point no cluster has reached yet
_UNDEFINED = "#CFCFCF"  # an OPTICS reachability that is still infinite
_NEUTRAL = "#5B7A99"  # bars/points with no cluster colouring at this step

_esc = kit.esc
_note = kit.note
_METRIC_NAMES = {
    "euclidean": "Euclidean",
    "manhattan": "Manhattan",
    "chebyshev": "Chebyshev",
    "cosine": "cosine",
    "minkowski": "Minkowski",
}


# --------------------------------------------------------------------------- helpers


def _check(trace: Trace, algorithm: str, maker: str) -> None:
    algo = getattr(trace, "algorithm", None)
    if algo != algorithm:
        raise ValueError(f"trace should come from {maker}, but its algorithm is {algo!r}")
    if trace.X is None:
        raise ValueError("the trace holds no data (X); run it again to draw it")


def _params(trace: Trace) -> Mapping[str, Any]:
    return trace.params if isinstance(trace.params, Mapping) else {}


def _arr(a: Any, dtype: Any = np.float64) -> np.ndarray:
    return np.asarray(a if a is not None else [], dtype=dtype)


def _source_X(source: Any) -> np.ndarray:
    X = np.asarray(getattr(source, "X", source), dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X should have shape (n_samples, n_features), but got {X.shape}")
    return X


def step_title(trace: Trace, step: int) -> str:
    """A short heading, e.g. ``"Step 4 · expanding cluster 1"`` or ``"Step 9 · cut at ε = 0.3"``."""
    step = kit.step_index(trace, step)
    snap = trace.steps[step]
    head = f"Step {step + 1}"
    phase = snap.phase
    algo = trace.algorithm
    if algo == "dbscan":
        if phase == "core":
            return f"{head} · finding core points"
        if phase == "expand":
            c = int(getattr(snap, "cluster", -1))
            return f"{head} · expanding cluster {c + 1}" if c >= 0 else f"{head} · expanding"
        if phase == "result":
            return f"{head} · result"
    if algo == "optics":
        if phase == "order":
            return f"{head} · ordering ({len(_arr(snap.ordering, np.int64))} of {trace.X.shape[0]} points)"
        if phase == "cut":
            e = getattr(snap, "eps_cut", None)
            return f"{head} · cut at ε = {float(e):.3g}" if e is not None else f"{head} · cut"
        if phase == "xi":
            xi = _params(trace).get("xi")
            return f"{head} · ξ method (ξ = {float(xi):.3g})" if xi is not None else f"{head} · ξ method"
    if algo == "hdbscan":
        names = {"core": "core distances", "mreach": "mutual reachability",
                 "mst": "minimum spanning tree", "linkage": "single linkage",
                 "condense": "condensed tree", "stability": "cluster stability",
                 "select": "selected clusters"}
        return f"{head} · {names.get(phase, phase)}"
    return f"{head} · {phase}"


def _cluster_summary(labels: np.ndarray) -> str:
    labels = np.asarray(labels, dtype=np.int64)
    k = int(np.unique(labels[labels >= 0]).size)
    noise = int((labels < 0).sum())
    return f"{k} cluster{'s' if k != 1 else ''}, {format_count(noise)} noise point{'s' if noise != 1 else ''}"


def _wrap(text: str, width: int, *, at_dots: bool = True) -> list[str]:
    """``text`` in lines of at most ``width`` characters: at " · " (if ``at_dots``), then between words."""
    lines: list[str] = []
    for part in text.split(" · ") if at_dots else [text]:
        line = ""
        for word in part.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        if line:
            lines.append(line)
    return lines


#: Title lines a step view reserves room for (its top margin is fixed: no jump between steps).
TITLE_LINES = 4


def _title(head: str, full: str, *, width: int = 34, size: int = 16) -> dict:
    """A title in short lines: the step (``head``) first, what the chart shows below, smaller.

    Plotly does not wrap titles, and the charts sit in columns as narrow as ~280 px
    (two columns on a 1024 px screen), so the lines are cut here: ``head`` at
    ``width`` characters, the details (``full`` after ``head``, " · "-separated)
    at ``width`` + 10 in a smaller font. At most :data:`TITLE_LINES` lines.
    """
    tail = full[len(head):].removeprefix(" · ") if full.startswith(head) else full
    lines = _wrap(head, width, at_dots=False)
    small = _wrap(tail, width + 10) if tail else []
    room = max(TITLE_LINES - len(lines), 1)
    if len(small) > room:
        small = small[:room - 1] + [" ".join(small[room - 1:])]
    text = "<br>".join(lines + [f"<span style=\"font-size:{size - 4}px\">{t}</span>" for t in small])
    # plotly.js shifts a multi-line title up by about one line: the pad keeps it inside.
    return {"text": text, "y": 1, "yanchor": "top", "font": {"size": size},
            "pad": {"t": 24 if len(lines) + len(small) > 1 else 12}}


def _context(trace: Trace, axes: Any, columns: Sequence[str] | None, pad: float = 0.0) -> kit.ScatterContext:
    """The step scatter's context: every point drawn, positions sent as float32 (see :func:`_segments`)."""
    return kit.ScatterContext.build(trace, axes, columns, pad=pad, dtype=np.float32)


def _axes_layout(ctx: kit.ScatterContext, sfx: str = "") -> tuple[dict, dict]:
    """The x and y axes of one subplot (``sfx`` "", "2", ...), drawn to equal scale."""
    xa, ya = _equal_scale(sfx)
    x = {"title": {"text": _esc(ctx.plane.xlabel)}, "range": ctx.xrange, "zeroline": False,
         "showgrid": False, **xa}
    y = {"title": {"text": _esc(ctx.plane.ylabel)}, "range": ctx.yrange, "zeroline": False,
         "showgrid": False, **ya}
    return x, y


def _equal_scale(sfx: str = "") -> tuple[dict, dict]:
    """Axis settings that make one unit as long on y as on x in subplot ``x{sfx}``/``y{sfx}``.

    Every view here draws distances (ε-balls, reachability links, MST edges, the
    clusters a distance threshold made), which a stretched axis would misstate,
    so the scale is equal whatever the spread of the data. ``constrain="domain"``
    shrinks the plot area rather than widening a range, so the fixed ranges stay
    as given across steps.
    """
    return {"constrain": "domain"}, kit.equal_scale(f"x{sfx}")


def _segments(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of NaN-separated segments A[i] -> B[i] (one line trace for all), float32.

    Float32 as the points' positions (:func:`_context`): half the bytes of float64 at every
    step, and a segment's end still lands on its point's pixel.
    """
    m = A.shape[0]
    xy = np.full((m, 3, 2), np.nan, dtype=np.float32)
    xy[:, 0] = A
    xy[:, 1] = B
    xy = xy.reshape(-1, 2)
    return xy[:, 0], xy[:, 1]


def _legend_below(plot_height: float = 340.0) -> dict:
    """A horizontal legend under the x-axis title of a plot area ``plot_height`` px tall."""
    # Legend entries only explain colours and symbols: a click would hide nothing useful
    # (the "cluster j" entries draw no points), so clicks are off.
    return {"orientation": "h", "yanchor": "top", "y": -48.0 / plot_height, "xanchor": "left", "x": 0.0,
            "bgcolor": "rgba(255,255,255,0)", "itemsizing": "constant",
            "itemclick": False, "itemdoubleclick": False}


def _legend_margin(names: Sequence[str], width: float = 340.0) -> int:
    """Bottom margin (px) for the x-axis title and a legend of these entries below it.

    Margins are fixed (see :mod:`tracelab.plot.common`), so the legend's room is
    reserved here; it is computed from every entry any step of the trace can show,
    so the plot area does not jump between steps.
    """
    return 62 + 21 * kit.legend_rows(names, width)


def _key_entry(name: str, marker: dict, role: str = "legend", **meta: Any) -> dict:
    """A legend entry that draws nothing: it names a colour or a symbol used on the chart."""
    return {"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": name,
            "showlegend": True, "hoverinfo": "skip", "marker": marker,
            "meta": {"role": role, **meta}}


def _cluster_legend(labels: np.ndarray, *, noise: bool = True) -> list[dict]:
    """Legend entries "cluster 1", "cluster 2", ... in the colours the points carry, and "noise".

    The names are those of the hover texts and step messages (clusters counted
    from 1). The palette has ``len(PALETTE)`` colours; beyond that they repeat,
    and one entry says which clusters share them.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,), int
        -1 is noise.
    noise : bool, default True
        Add a "noise" entry when some label is -1.

    Returns
    -------
    list of dict
        Trace dicts with ``meta={"role": "legend", "label": j}`` (``label`` -1 for noise,
        None for the "colours repeat" entry).
    """
    labels = np.asarray(labels, dtype=np.int64)
    found = np.unique(labels[labels >= 0]).tolist()
    out = [_key_entry(f"cluster {c + 1}", {"color": kit.label_colors(np.array([c]))[0], "size": 10,
                                           "symbol": "square"}, label=int(c))
           for c in found[:len(PALETTE)]]
    if len(found) > len(PALETTE):
        out.append(_key_entry(
            f"clusters {found[len(PALETTE)] + 1}–{found[-1] + 1}: the colours repeat",
            {"color": "rgba(0,0,0,0)", "size": 1}, label=None))
    if noise and (labels < 0).any():
        out.append(_key_entry("noise", {"color": _NOISE, "size": 10, "symbol": "square"}, label=-1))
    return out


# ------------------------------------------------------------------------------ DBSCAN


def dbscan_kinds(snap: Any) -> dict[str, np.ndarray]:
    """Each point's kind at a DBSCAN step, as boolean masks that partition the points.

    - ``"core"``: a core point (``snap.core``), in a cluster or not yet reached;
    - ``"border"``: in a cluster but not core;
    - ``"noise"``: label -1 and not core, once the run is over (phase
      ``"result"``): no core point has it within ε;
    - ``"unreached"``: label -1 and not core before the end (a future border
      point or noise; the expansion has not decided yet).

    Parameters
    ----------
    snap : DBSCANSnapshot

    Returns
    -------
    dict of str to ndarray of bool, shape (n_samples,)
    """
    labels = np.asarray(snap.labels, dtype=np.int64)
    core = np.asarray(snap.core, dtype=bool)
    lone = (labels < 0) & ~core
    final = snap.phase == "result"
    return {
        "core": core,
        "border": (labels >= 0) & ~core,
        "noise": lone & final,
        "unreached": lone & (not final),
    }


def _ball(center: np.ndarray, radius: float, P: np.ndarray, metric: str, p: float,
          n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The outline of the ε-ball around ``center`` in the plane, float32 as every position drawn here."""
    xs, ys = unit_ball_outline(center, radius, P, metric, p if metric == "minkowski" else 2.0, n_points)
    return np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.float32)


def dbscan_scatter(
    trace: Trace,
    step: int,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    show_neighbor_balls: bool = True,
) -> go.Figure:
    """A DBSCAN step: core, border, noise and unreached points, the ε-ball and the queue.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.density.engine.trace_dbscan`, with at least 2 features.
    step : int
        Index into ``trace.steps``.
    axes : (int, int) or "pca", default (0, 1)
        Two feature columns, or the first two principal axes of ``trace.X``.
    columns : sequence of str, optional
        Feature names; default ``x1, x2, ...``.
    show_neighbor_balls : bool, default True
        Also draw lighter ε-balls around the current point's neighbours (at
        most :data:`MAX_NEIGHBOR_BALLS`).

    Returns
    -------
    plotly Figure
        Point traces (``customdata`` = rows; see :func:`dbscan_kinds`):
        "core" (filled, cluster colour; dark grey while unreached), "border"
        (hollow rings in the cluster colour), "noise" (grey x), "unreached"
        (light grey); then "neighbor-links" (current point to each neighbour),
        "eps-neighbors" (NaN-separated outlines), "eps-ball" (around the
        current point; ``meta`` has ``radius``, ``center``, ``metric``),
        "queue" (small black dots) and "current" (a ring). The title says
        ``"queue: 12 points"``. Axes are to scale (balls look round) and the
        ranges cover the data widened by ε.
    """
    return as_figure(_dbscan_scatter(trace, step, axes=axes, columns=columns,
                                     show_neighbor_balls=show_neighbor_balls))


def _dbscan_scatter(
    trace: Trace,
    step: int,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    show_neighbor_balls: bool = True,
    typed: bool = False,
) -> dict[str, Any]:
    """:func:`dbscan_scatter` as a figure dict (``typed``: arrays written as plotly sends them, for the step charts)."""
    _check(trace, "dbscan", "trace_dbscan")
    step = kit.step_index(trace, step)
    snap = trace.steps[step]
    params = _params(trace)
    eps = float(params.get("eps", 0.0))
    metric = str(params.get("metric", "euclidean"))
    p = float(params.get("p", 2.0) or 2.0)
    d = trace.X.shape[1]
    ctx = _context(trace, axes, columns, pad=eps if metric != "cosine" else 0.0)
    labels = np.asarray(snap.labels, dtype=np.int64)
    counts = _arr(getattr(snap, "neighbor_counts", None), np.int64)
    kinds = dbscan_kinds(snap)
    traces: list[dict] = []
    notes: list[str] = []
    annotations: list[dict] = []

    def texts(rows: np.ndarray) -> list[str]:
        return kit.label_texts(labels[rows])

    def hover(tr: dict, what: str) -> dict:
        # "what · cluster 2<br>23 neighbours within ε": the per-point part (the label's
        # name) in hovertext, the count in customdata beside the row, the rest in the
        # template: a step sends a word a point rather than a sentence.
        if "hovertext" not in tr:
            return tr
        head = ctx.head()
        tail = ""
        if counts.shape == labels.shape:
            rows = tr["customdata"]
            tr["customdata"] = np.column_stack([rows, counts[rows]])
            head = head.replace("%{customdata}", "%{customdata[0]}")
            tail = "<br>%{customdata[1]} neighbours within ε"
        tr["hovertemplate"] = f"{head}<br>{what} · %{{hovertext}}{tail}<extra></extra>"
        return tr

    rows = np.flatnonzero(kinds["unreached"])
    traces.append(hover(ctx.points(rows=rows, role="unreached", name="not reached yet", showlegend=True,
                           marker={"color": _UNREACHED, "size": 7, "line": {"width": 0}},
                           texts=texts(rows)), "not reached yet"))
    rows = np.flatnonzero(kinds["noise"])
    traces.append(hover(ctx.points(rows=rows, role="noise", name="noise", showlegend=True,
                           marker={"symbol": "x", "color": _NOISE, "size": 8,
                                   "line": {"width": 0}},
                           texts=texts(rows)), "noise"))
    rows = np.flatnonzero(kinds["border"])
    # Core and border points carry their cluster's colour; their legend entries (below)
    # name the symbol only, and the "cluster j" entries name the colours.
    traces.append(hover(ctx.points(rows=rows, role="border", name="border", showlegend=False,
                           marker={"symbol": "circle-open", "color": kit.label_colors(labels[rows]),
                                   "size": 8, "line": {"width": 2}},
                           texts=texts(rows)), "border"))
    rows = np.flatnonzero(kinds["core"])
    core_colors = np.array(kit.label_colors(labels[rows]), dtype=object)
    core_colors[labels[rows] < 0] = _PENDING_CORE
    traces.append(hover(ctx.points(rows=rows, role="core", name="core", showlegend=False,
                           marker={"color": core_colors.tolist(), "size": 9,
                                   "line": {"color": "white", "width": 0.5}},
                           texts=texts(rows)), "core"))
    pending = bool((labels[rows] < 0).any())
    traces.append(_key_entry("core point (dark grey: in no cluster yet)" if pending else "core point (filled)",
                             {"color": _PENDING_CORE, "size": 9}, kind="core"))
    traces.append(_key_entry("border point (ring)",
                             {"symbol": "circle-open", "color": _PENDING_CORE, "size": 8,
                              "line": {"width": 2}}, kind="border"))
    traces.extend(_cluster_legend(labels, noise=False))

    current = int(getattr(snap, "current", -1))
    neighbors = _arr(getattr(snap, "neighbors", None), np.int64)
    if current >= 0 and neighbors.size:
        nb = neighbors[neighbors != current]
        xs, ys = _segments(np.repeat(ctx.XY[[current]], nb.size, axis=0), ctx.XY[nb])
        traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": "neighbours",
                       "showlegend": False, "connectgaps": False, "hoverinfo": "skip",
                       "line": {"color": "rgba(0,0,0,0.25)", "width": 1},
                       "meta": {"role": "neighbor-links", "rows": nb}})
    if current >= 0 and metric != "cosine" and eps > 0:
        if show_neighbor_balls and neighbors.size:
            nb = neighbors[neighbors != current][:MAX_NEIGHBOR_BALLS]
            # Every ball is the same outline moved to its centre. 41 points: every 9°, so the
            # corners of diamonds and squares (multiples of 45°) are hit, and a circle's chords
            # stray from it by 0.3 % of ε (well under a pixel); the outlines change at every step.
            ox, oy = _ball(np.zeros(2), eps, ctx.plane.P, metric, p, NEIGHBOR_BALL_POINTS)
            ring = np.empty((nb.size, NEIGHBOR_BALL_POINTS + 1, 2), dtype=np.float32)
            ring[:, :-1, 0] = ctx.XY[nb, 0, None] + ox
            ring[:, :-1, 1] = ctx.XY[nb, 1, None] + oy
            ring[:, -1] = np.nan
            xs, ys = ring[:, :, 0].ravel(), ring[:, :, 1].ravel()
            traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines",
                           "name": "ε around neighbours", "showlegend": False, "connectgaps": False,
                           "hoverinfo": "skip",
                           "line": {"color": "rgba(0,0,0,0.16)", "width": 1},
                           "meta": {"role": "eps-neighbors", "rows": nb, "radius": eps}})
            if neighbors.size - 1 > MAX_NEIGHBOR_BALLS:
                notes.append(f"ε drawn around the first {MAX_NEIGHBOR_BALLS} neighbours only")
        xs, ys = _ball(ctx.XY[current], eps, ctx.plane.P, metric, p, 361)
        name = f"ε = {eps:.3g} ({_METRIC_NAMES.get(metric, metric)})"
        traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": name,
                       "showlegend": False, "hovertemplate": f"{_esc(name)} around point #{current}<extra></extra>",
                       "line": {"color": "black", "width": 2},
                       "meta": {"role": "eps-ball", "radius": eps, "center": ctx.XY[current].tolist(),
                                "row": current, "metric": metric}})
        if d > 2:
            if metric == "euclidean":
                notes.append("the ε-ball is drawn as its shadow on this plane")
            else:
                notes.append(f"the {_METRIC_NAMES.get(metric, metric)} ε-ball is cut by this plane "
                             "(neighbours off the plane may lie outside the outline)")
    elif current >= 0 and metric == "cosine":
        notes.append(f"cosine distance: the ε-neighbourhood is the cone within "
                     f"{np.degrees(np.arccos(np.clip(1 - eps, -1, 1))):.0f}° of a point's direction; not drawn")

    queue = _arr(getattr(snap, "queue", None), np.int64)
    traces.append(ctx.points(rows=queue, role="queue", name="queue", showlegend=True,
                           marker={"color": "black", "size": 4, "line": {"width": 0}},
                           texts=[f"in the queue (position {i + 1})" for i in range(queue.size)]))
    if current >= 0:
        traces.append(ctx.points(rows=np.array([current]), role="current", name="current point", showlegend=True,
                               marker={"color": "rgba(0,0,0,0)", "size": 17,
                                       "line": {"color": "black", "width": 2.5}},
                               texts=["being expanded"]))

    title = step_title(trace, step)
    if snap.phase == "result":
        title += f" · {_cluster_summary(labels)}"
    elif snap.phase == "core":
        nc = int(np.count_nonzero(kinds["core"]))
        title += f" · {format_count(nc)} core point{'s' if nc != 1 else ''}"
    else:
        title += f" · queue: {format_count(int(queue.size))} point{'s' if queue.size != 1 else ''}"
    xa, ya = _axes_layout(ctx)
    if notes:
        annotations.append(_note(" · ".join(notes), x=0.0, y=1.0, xanchor="left"))
    every = ["not reached yet", "noise", "queue", "current point", "core point (dark grey: in no cluster yet)",
             "border point (ring)"] + [tr["name"] for tr in _cluster_legend(trace.steps[-1].labels, noise=False)]
    bottom = _legend_margin(every)
    return figure_dict(traces, {
        "title": _title(step_title(trace, step), title),
        "xaxis": xa, "yaxis": ya,
        "height": 422 + bottom,
        "margin": {"l": 60, "r": 20, "t": 100, "b": bottom},
        "annotations": annotations,
        "legend": _legend_below(322),
        "showlegend": True,
        "uirevision": f"dbscan-scatter-{ctx.plane.key}",
        "hovermode": "closest",
        "meta": {"eps": eps, "metric": metric, "current": current, "queue": int(queue.size)},
    }, typed=typed)


def k_distance_plot(
    X: Any,
    k: int,
    *,
    eps: float | None = None,
    metric: str = "euclidean",
) -> go.Figure:
    """The sorted k-distance graph, for choosing ε: the knee is a good ε.

    Parameters
    ----------
    X : Dataset, Trace or array-like of shape (n_samples, n_features)
    k : int
        As in :func:`tracelab.labs.density.engine.k_distance` (use ``min_samples``).
    eps : float, optional
        Draw a horizontal line there and count the points above it.
    metric : str, default "euclidean"

    Returns
    -------
    plotly Figure
        "k-distance" (x = rank 1..n, y = :func:`tracelab.labs.density.engine.k_distance`,
        largest first, ``customdata`` = rank) and, with ``eps``, "eps" (a
        horizontal line at ``eps``) and a note "points above the line are noise
        candidates".
    """
    from tracelab.labs.density.engine import k_distance

    Xa = _source_X(X)
    kd = np.asarray(k_distance(Xa, k, metric=metric), dtype=np.float64)
    n = kd.size
    ranks = np.arange(1, n + 1)
    traces: list[dict] = [{
        "type": "scatter", "x": ranks, "y": kd, "mode": "lines+markers" if n <= 500 else "lines",
        "name": f"{k}-distance", "showlegend": False,
        "line": {"color": PALETTE[0], "width": 2}, "marker": {"size": 4, "color": PALETTE[0]},
        "hovertemplate": f"rank %{{x}}: distance to neighbour {k} = %{{y:.4g}}<extra></extra>",
        "meta": {"role": "k-distance", "k": int(k), "metric": metric},
    }]
    annotations: list[dict] = []
    top = float(np.nanmax(kd[np.isfinite(kd)])) if np.isfinite(kd).any() else 1.0
    if eps is not None:
        eps = float(eps)
        above = int((kd > eps).sum())
        traces.append({
            "type": "scatter", "x": [0.5, n + 0.5], "y": [eps, eps], "mode": "lines",
            "name": f"ε = {eps:.3g}", "showlegend": False,
            "line": {"color": "#D55E00", "width": 2, "dash": "dash"},
            "hovertemplate": f"ε = {eps:.4g}<extra></extra>",
            "meta": {"role": "eps", "eps": eps, "above": above},
        })
        # two short lines: in a half-width column one long line runs off the chart
        annotations.append(_note(
            f"ε = {eps:.3g}: points above the line<br>are noise candidates "
            f"({format_count(above)} of {format_count(n)})", x=1.0, y=1.0))
        top = max(top, eps)
    return figure(traces, {
        "title": {"text": f"k-distance graph<br><sup>k = {k}, {_METRIC_NAMES.get(metric, metric)}</sup>"},
        "xaxis": {"title": {"text": "points, sorted by k-distance"}, "range": [0.5, n + 0.5],
                  "zeroline": False},
        "yaxis": {"title": {"text": f"distance to neighbour {k}"}, "range": [0.0, 1.08 * top],
                  "zeroline": False},
        "annotations": annotations,
        # room above the plot for the two-line title and, below it, the two-line ε note
        "margin": {"l": 65, "r": 20, "t": 110, "b": 50},
        "showlegend": False,
        "uirevision": f"k-distance-{k}-{metric}",
        "hovermode": "closest",
    })


# ------------------------------------------------------------------------------- OPTICS


def _optics_labels(trace: Trace, snap: Any, eps_cut: float | None) -> tuple[np.ndarray | None, float | None, str]:
    """(labels or None, ε of the cut line or None, where the labels came from).

    The "xi" step draws the ξ method's clusters, always: it is what its message
    counts. The "cut" step draws its own cut, or a cut at ``eps_cut`` when one
    is given that differs from the step's. An "order" step has no clusters of its
    own; with ``eps_cut`` it shows what a cut of the ordering so far would give.
    The third element is "xi", "cut" or "none".
    """
    if snap.phase == "xi":
        return np.asarray(snap.labels, dtype=np.int64), None, "xi"
    own = getattr(snap, "eps_cut", None)
    if snap.phase == "cut" and own is not None and (eps_cut is None or float(eps_cut) == float(own)):
        return np.asarray(snap.labels, dtype=np.int64), float(own), "cut"
    if eps_cut is not None:
        from tracelab.labs.density.engine import cluster_optics_dbscan

        lab = cluster_optics_dbscan(np.asarray(snap.reachability, dtype=np.float64),
                                    np.asarray(snap.core_distances, dtype=np.float64),
                                    np.asarray(snap.ordering, dtype=np.int64), float(eps_cut))
        return np.asarray(lab, dtype=np.int64), float(eps_cut), "cut"
    return None, None, "none"


def _optics_summary(trace: Trace, snap: Any, labels: np.ndarray | None, eps_line: float | None,
                    source: str) -> str:
    """The title's tail naming which clusters the colours show, e.g. " · cut at ε = 0.3: 2 clusters, …"."""
    if source == "xi":
        # step_title already names ξ
        return f" · {_cluster_summary(labels)}"
    if source == "cut":
        if snap.phase == "cut":
            return f" · {_cluster_summary(labels)}"  # step_title already says "cut at ε = …"
        return f" · cut at ε = {eps_line:.3g}: {_cluster_summary(labels)}"
    return ""


def _optics_top(trace: Trace, eps_cut: float | None) -> float:
    """Top of the reachability axis: fixed over the run (the last step's largest finite value)."""
    vals = [np.asarray(trace.steps[-1].reachability, dtype=np.float64)]
    fin = np.concatenate([v[np.isfinite(v)] for v in vals])
    top = float(fin.max()) if fin.size else 0.0
    if top <= 0:
        cd = np.asarray(trace.steps[-1].core_distances, dtype=np.float64)
        cd = cd[np.isfinite(cd)]
        top = float(cd.max()) if cd.size else 1.0
    for e in [eps_cut] + [getattr(s, "eps_cut", None) for s in trace.steps]:
        if e is not None and np.isfinite(e):
            top = max(top, float(e))
    return 1.15 * top if top > 0 else 1.0


def optics_reachability(trace: Trace, step: int, *, eps_cut: float | None = None) -> go.Figure:
    """The reachability plot so far: one bar per ordered point, in the OPTICS order.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.density.engine.trace_optics`.
    step : int
    eps_cut : float, optional
        Colour the bars by the DBSCAN-like clusters of a cut at this ε
        (:func:`tracelab.labs.density.engine.cluster_optics_dbscan` on this step's arrays)
        and draw the cut. Default: the step's own labels and ``eps_cut``.

    Returns
    -------
    plotly Figure
        "reachability": a bar trace, x = position 1..m in the ordering so far,
        ``customdata`` = the ordered rows, y = their reachability; an undefined
        (infinite) reachability is a light grey bar up to the top of the axis
        (``meta["undefined"]`` lists those positions, 0-based). Bars are
        coloured by cluster (noise grey), the current (last ordered) bar
        outlined. "eps-cut": the horizontal cut line, when there is one. The
        x-axis spans all n points from the first step, the y-axis is fixed.
    """
    return as_figure(_optics_reachability(trace, step, eps_cut=eps_cut))


def _optics_reachability(trace: Trace, step: int, *, eps_cut: float | None = None,
                         typed: bool = False) -> dict[str, Any]:
    """:func:`optics_reachability` as a figure dict (``typed``: arrays written as plotly sends them, for the step charts)."""
    _check(trace, "optics", "trace_optics")
    step = kit.step_index(trace, step)
    snap = trace.steps[step]
    n = trace.X.shape[0]
    order = np.asarray(snap.ordering, dtype=np.int64)
    m = order.size
    reach = np.asarray(snap.reachability, dtype=np.float64)[order]
    top = _optics_top(trace, eps_cut)
    undefined = ~np.isfinite(reach)
    heights = np.where(undefined, top, reach)
    labels, eps_line, source = _optics_labels(trace, snap, eps_cut)
    if labels is not None:
        colors = np.array(kit.label_colors(labels[order]), dtype=object)
        ctext = np.array(kit.label_texts(labels[order]), dtype=object)
    else:
        colors = np.full(m, _NEUTRAL, dtype=object)
        ctext = np.full(m, "", dtype=object)
    colors[undefined] = _UNDEFINED
    rtext = np.char.mod("reachability %.4g", np.where(undefined, 0, reach)).astype(object)
    rtext[undefined] = "reachability undefined (∞): starts a new region"
    hover = (rtext + np.where(ctext != "", "<br>" + ctext, "")).tolist()
    line_w = np.zeros(m)
    if m:
        line_w[-1] = 2.0
    traces: list[dict] = [{
        "type": "bar", "x": np.arange(1, m + 1), "y": heights, "customdata": order,
        "name": "reachability", "showlegend": False,
        "marker": {"color": colors.tolist(), "line": {"color": "black", "width": line_w}},
        "hovertext": hover,
        "hovertemplate": "position %{x}: point #%{customdata}<br>%{hovertext}<extra></extra>",
        "meta": {"role": "reachability", "undefined": np.flatnonzero(undefined)},
    }]
    if eps_line is not None:
        traces.append({
            "type": "scatter", "x": [0.5, n + 0.5], "y": [eps_line, eps_line], "mode": "lines",
            "name": f"cut at ε = {eps_line:.3g}", "showlegend": False,
            "line": {"color": "black", "width": 2, "dash": "dash"},
            "hovertemplate": f"cut at ε = {eps_line:.4g}<extra></extra>",
            "meta": {"role": "eps-cut", "eps": eps_line},
        })
    title = step_title(trace, step) + _optics_summary(trace, snap, labels, eps_line, source)
    return figure_dict(traces, {
        "title": _title(step_title(trace, step), title),
        "meta": {"source": source, "eps_cut": eps_line},
        "xaxis": {"title": {"text": "points in OPTICS order"}, "range": [0.5, n + 0.5],
                  "zeroline": False},
        "yaxis": {"title": {"text": "reachability distance"}, "range": [0.0, top], "zeroline": False},
        "bargap": 0.0 if n > 200 else 0.1,
        "margin": {"l": 65, "r": 20, "t": 100, "b": 50},
        "showlegend": False,
        "uirevision": "optics-reachability",
        "hovermode": "closest",
    }, typed=typed)


def optics_scatter(
    trace: Trace,
    step: int,
    *,
    eps_cut: float | None = None,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
) -> go.Figure:
    """An OPTICS step in the data plane: ordered points coloured, the current link drawn.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.density.engine.trace_optics`, with at least 2 features.
    step : int
    eps_cut : float, optional
        Colour by the clusters of a cut at this ε (as in
        :func:`optics_reachability`); default the step's labels.
    axes, columns
        As in :func:`dbscan_scatter`.

    Returns
    -------
    plotly Figure
        "points" (all rows; ``customdata`` = row; points not ordered yet light
        grey and faint), "links" (each ordered point to its predecessor,
        faint), "current-link" (the current, last ordered, point to its
        predecessor), "current" (a ring; ``customdata`` = its row).
    """
    return as_figure(_optics_scatter(trace, step, eps_cut=eps_cut, axes=axes, columns=columns))


def _optics_scatter(
    trace: Trace,
    step: int,
    *,
    eps_cut: float | None = None,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    typed: bool = False,
) -> dict[str, Any]:
    """:func:`optics_scatter` as a figure dict (``typed``: arrays written as plotly sends them, for the step charts)."""
    _check(trace, "optics", "trace_optics")
    step = kit.step_index(trace, step)
    snap = trace.steps[step]
    ctx = _context(trace, axes, columns)
    n = ctx.n
    order = np.asarray(snap.ordering, dtype=np.int64)
    ordered = np.zeros(n, dtype=bool)
    ordered[order] = True
    labels, eps_line, source = _optics_labels(trace, snap, eps_cut)
    rows = np.arange(n)
    if labels is not None:
        colors = np.array(kit.label_colors(labels), dtype=object)
        ctext = np.array(kit.label_texts(labels), dtype=object)
    else:
        colors = np.full(n, _NEUTRAL, dtype=object)
        ctext = np.full(n, "ordered", dtype=object)
    colors[~ordered] = _UNREACHED
    ctext[~ordered] = "not ordered yet"
    pos = np.full(n, -1)
    pos[order] = np.arange(order.size)
    reach = np.asarray(snap.reachability, dtype=np.float64)
    rt = np.char.mod("%.4g", np.where(np.isfinite(reach), reach, 0)).astype(object)
    rt[~np.isfinite(reach)] = "∞"
    texts = ctext.copy()
    texts[ordered] = (ctext[ordered] + "<br>position " + (pos[ordered] + 1).astype(str).astype(object)
                      + " in the order, reachability " + rt[ordered])
    traces: list[dict] = []
    pred = np.asarray(snap.predecessor, dtype=np.int64)
    linked = np.flatnonzero(ordered & (pred >= 0))
    xs, ys = _segments(ctx.XY[linked], ctx.XY[pred[linked]])
    traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": "reached from",
                   "showlegend": False, "connectgaps": False, "hoverinfo": "skip",
                   "line": {"color": "rgba(0,0,0,0.18)", "width": 1},
                   "meta": {"role": "links", "rows": linked}})
    traces.append(ctx.points(rows=rows, role="points", name="points", showlegend=False,
                           marker={"color": colors.tolist(), "size": 8,
                                   "opacity": np.where(ordered, 1.0, 0.45),
                                   "line": {"width": 0}},
                           texts=texts.tolist()))
    title = step_title(trace, step)
    if order.size:
        cur = int(order[-1])
        pc = int(pred[cur])
        if pc >= 0:
            xs, ys = _segments(ctx.XY[[cur]], ctx.XY[[pc]])
            traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines",
                           "name": "current link", "showlegend": False, "connectgaps": False,
                           "hovertemplate": f"point #{cur} reached from #{pc}<extra></extra>",
                           "line": {"color": "black", "width": 2.5},
                           "meta": {"role": "current-link", "rows": [cur, pc]}})
        traces.append(ctx.points(rows=np.array([cur]), role="current", name="current point",
                               showlegend=False,
                               marker={"color": "rgba(0,0,0,0)", "size": 17,
                                       "line": {"color": "black", "width": 2.5}},
                               texts=["last ordered"]))
        if snap.phase == "order":
            r = reach[cur]
            title += (f" · point #{cur}" + (f" reached from #{pc} at {r:.3g}" if pc >= 0 and np.isfinite(r)
                                            else " (reachability undefined)"))
    title += _optics_summary(trace, snap, labels, eps_line, source)
    if labels is not None:
        traces.extend(_cluster_legend(labels[ordered]))
    elif ordered.any():
        traces.append(_key_entry("ordered", {"color": _NEUTRAL, "size": 10, "symbol": "square"}))
    if not ordered.all():
        traces.append(_key_entry("not ordered yet", {"color": _UNREACHED, "size": 10, "symbol": "square"}))
    xa, ya = _axes_layout(ctx)
    # Room for the largest legend any step can show: the final cut's or the ξ method's.
    every = [tr["name"] for tr in _cluster_legend(
        max((trace.steps[-1].labels, trace.steps[-2].labels if len(trace) > 1 else trace.steps[-1].labels),
            key=lambda lb: int(np.max(lb, initial=-1))))]
    bottom = _legend_margin(every)
    return figure_dict(traces, {
        "title": _title(step_title(trace, step), title),
        "meta": {"source": source, "eps_cut": eps_line},
        "xaxis": xa, "yaxis": ya,
        "height": 422 + bottom,
        "margin": {"l": 60, "r": 20, "t": 100, "b": bottom},
        "legend": _legend_below(322),
        "showlegend": True,
        "uirevision": f"optics-scatter-{ctx.plane.key}",
        "hovermode": "closest",
    }, typed=typed)


# ------------------------------------------------------------------------------ HDBSCAN


def hdbscan_mst(
    trace: Trace,
    step: int,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
) -> go.Figure:
    """An HDBSCAN step in the data plane: core distances, the MST so far, the final clusters.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.density.hdbscan.trace_hdbscan`, with at least 2 features.
    step : int
    axes, columns
        As in :func:`dbscan_scatter`.

    Returns
    -------
    plotly Figure
        "mst": one NaN-separated line trace with one segment per row of the
        step's ``mst_edges`` (``meta["edges"]``); "mst-weights": a marker at
        the middle of each edge, coloured (grey, darker = longer) by its mutual
        reachability weight, with it on hover; "mst-new": the last edge added
        (MST steps); "points" (``customdata`` = rows): before the "select"
        step coloured by core distance (colour bar; rows whose core distance is
        not known yet are in "pending"), at it by the final labels (noise grey)
        with ``marker.opacity`` = membership probability.
    """
    return as_figure(_hdbscan_mst(trace, step, axes=axes, columns=columns))


def _hdbscan_mst(
    trace: Trace,
    step: int,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    typed: bool = False,
) -> dict[str, Any]:
    """:func:`hdbscan_mst` as a figure dict (``typed``: arrays written as plotly sends them, for the step charts)."""
    _check(trace, "hdbscan", "trace_hdbscan")
    step = kit.step_index(trace, step)
    snap = trace.steps[step]
    ctx = _context(trace, axes, columns)
    n = ctx.n
    traces: list[dict] = []
    E = np.asarray(snap.mst_edges if snap.mst_edges is not None else np.empty((0, 3)), dtype=np.float64)
    E = E.reshape(-1, 3)
    ii, jj, w = E[:, 0].astype(np.int64), E[:, 1].astype(np.int64), E[:, 2]
    xs, ys = _segments(ctx.XY[ii], ctx.XY[jj])
    traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": "MST",
                   "showlegend": False, "connectgaps": False, "hoverinfo": "skip",
                   "line": {"color": "rgba(80,80,80,0.55)", "width": 1.5},
                   "meta": {"role": "mst", "edges": int(E.shape[0])}})
    W_all = np.asarray(trace.steps[-1].mst_edges if trace.steps[-1].mst_edges is not None
                       else np.empty((0, 3)), dtype=np.float64).reshape(-1, 3)[:, 2]
    W_all = W_all[np.isfinite(W_all)]
    wmax = float(W_all.max()) if W_all.size else 1.0
    mid = ((ctx.XY[ii] + ctx.XY[jj]) / 2).astype(np.float32)
    traces.append({"type": "scatter", "x": mid[:, 0], "y": mid[:, 1], "mode": "markers",
                   "name": "edge weights", "showlegend": False,
                   "customdata": np.column_stack([ii, jj]) if E.shape[0] else np.empty((0, 2)),
                   "marker": {"size": 5, "color": np.where(np.isfinite(w), w, wmax),
                              "colorscale": "Greys", "cmin": 0.0, "cmax": wmax,
                              "showscale": False, "line": {"width": 0}},
                   "hovertemplate": "edge #%{customdata[0]} – #%{customdata[1]}<br>"
                                    "mutual reachability %{marker.color:.4g}<extra></extra>",
                   "meta": {"role": "mst-weights"}})
    if snap.phase == "mst" and E.shape[0]:
        xs, ys = _segments(ctx.XY[ii[-1:]], ctx.XY[jj[-1:]])
        traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": "new edge",
                       "showlegend": False, "connectgaps": False,
                       "hovertemplate": f"new edge #{ii[-1]} – #{jj[-1]}: {w[-1]:.4g}<extra></extra>",
                       "line": {"color": "black", "width": 3},
                       "meta": {"role": "mst-new", "edge": E[-1].tolist()}})
    title = step_title(trace, step)
    if snap.phase == "select" and snap.labels is not None:
        labels = np.asarray(snap.labels, dtype=np.int64)
        prob = np.asarray(snap.probabilities, dtype=np.float64)
        prob = np.where(np.isfinite(prob), prob, 0.0)
        texts = [f"{t}<br>membership {q:.2f}" for t, q in zip(kit.label_texts(labels), prob.tolist())]
        traces.append(ctx.points(role="points", name="points", showlegend=False,
                               marker={"color": kit.label_colors(labels), "size": 8,
                                       "opacity": np.where(labels >= 0, 0.15 + 0.85 * np.clip(prob, 0, 1), 0.8),
                                       "line": {"width": 0}},
                               texts=texts))
        traces.extend(_cluster_legend(labels))
        title += f" · {_cluster_summary(labels)}"
    else:
        cd = np.asarray(snap.core_distances, dtype=np.float64) if snap.core_distances is not None \
            else np.full(n, np.nan)
        known = np.isfinite(cd)
        cd_all = np.asarray(trace.steps[-1].core_distances, dtype=np.float64)
        cd_all = cd_all[np.isfinite(cd_all)]
        cmin, cmax = (float(cd_all.min()), float(cd_all.max())) if cd_all.size else (0.0, 1.0)
        rows = np.flatnonzero(known)
        texts = np.char.mod("core distance %.4g", cd[rows]).tolist()
        traces.append(ctx.points(rows=rows, role="points", name="points", showlegend=False,
                               marker={"color": cd[rows], "colorscale": "Viridis", "reversescale": True,
                                       "cmin": cmin, "cmax": cmax if cmax > cmin else cmin + 1.0,
                                       "size": 8, "line": {"width": 0},
                                       "colorbar": {"title": {"text": "core<br>distance"},
                                                    "thickness": 12, "len": 0.8}},
                               texts=texts))
        rows = np.flatnonzero(~known)
        if rows.size:
            traces.append(ctx.points(rows=rows, role="pending", name="core distance not known yet",
                                   showlegend=False,
                                   marker={"color": _UNREACHED, "size": 7, "line": {"width": 0}},
                                   texts=["core distance not computed yet"] * rows.size))
        title += f" · {E.shape[0]} of {max(n - 1, 0)} MST edges"
    xa, ya = _axes_layout(ctx)
    # The legend (clusters of the "select" step) gets its room at every step: no jump.
    final = trace.steps[-1].labels
    bottom = _legend_margin([tr["name"] for tr in _cluster_legend(final)]) if final is not None else 55
    return figure_dict(traces, {
        "title": _title(step_title(trace, step), title),
        "xaxis": xa, "yaxis": ya,
        "height": 422 + bottom,
        "margin": {"l": 60, "r": 90, "t": 100, "b": bottom},
        "legend": _legend_below(322),
        "showlegend": snap.phase == "select",
        "uirevision": f"hdbscan-mst-{ctx.plane.key}",
        "hovermode": "closest",
    }, typed=typed)


def _condensed_layout(condensed: np.ndarray, n: int) -> dict[int, dict[str, float]]:
    """Per cluster id: size, birth and death λ, and the left edge x0 of its icicle bar.

    The root (smallest parent id) spans ``[0, n]``; a cluster's child clusters sit
    side by side (largest first), centred under it, each as wide as its size.
    """
    parent = condensed[:, 0].astype(np.int64)
    child = condensed[:, 1].astype(np.int64)
    lam = condensed[:, 2].astype(np.float64)
    size = condensed[:, 3].astype(np.float64)
    root = int(parent.min())
    is_cluster = child >= n
    info: dict[int, dict[str, float]] = {root: {"size": float(n), "birth": 0.0}}
    for c, l, s in zip(child[is_cluster].tolist(), lam[is_cluster].tolist(), size[is_cluster].tolist()):
        info[c] = {"size": s, "birth": l}
    for c in info:
        mine = parent == c
        info[c]["death"] = float(lam[mine].max()) if mine.any() else info[c]["birth"]
    kids: dict[int, list[int]] = {c: [] for c in info}
    for p_, c in zip(parent[is_cluster].tolist(), child[is_cluster].tolist()):
        kids.setdefault(p_, []).append(c)
    info[root]["x0"] = 0.0
    stack = [root]
    while stack:
        c = stack.pop()
        ch = sorted(kids.get(c, []), key=lambda q: -info[q]["size"])
        total = sum(info[q]["size"] for q in ch)
        x = info[c]["x0"] + (info[c]["size"] - total) / 2
        for q in ch:
            info[q]["x0"] = x
            x += info[q]["size"]
            stack.append(q)
    info[root]["root"] = 1.0
    return info


def hdbscan_condensed_tree(trace: Trace, step: int) -> go.Figure:
    """The condensed tree as an icicle plot; the selected clusters highlighted.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.density.hdbscan.trace_hdbscan`.
    step : int

    Returns
    -------
    plotly Figure
        Before the "condense" step: no traces, a note. From it: "clusters", one
        bar per cluster of the condensed tree (``customdata`` = cluster id),
        from its birth λ (``base``) down to its death λ, as wide as its size,
        children side by side under their parent; λ = 1 / distance grows
        downward. Once ``selected`` is known the selected bars carry their
        cluster's colour (the one :func:`hdbscan_mst` uses) and a black outline,
        the others are light grey; ``meta["selected"]`` lists the selected ids.
        Hover shows size, λ range and (when known) stability.
    """
    return as_figure(_hdbscan_condensed_tree(trace, step))


def _hdbscan_condensed_tree(trace: Trace, step: int, *, typed: bool = False) -> dict[str, Any]:
    """:func:`hdbscan_condensed_tree` as a figure dict (``typed``: arrays written as plotly sends them, for the step charts)."""
    _check(trace, "hdbscan", "trace_hdbscan")
    step = kit.step_index(trace, step)
    snap = trace.steps[step]
    n = trace.X.shape[0]
    title = step_title(trace, step)
    if snap.condensed is None:
        first = next((s.index for s in trace.steps if s.condensed is not None), None)
        # on two lines: the chart may be a narrow column beside the scatter
        text = ("the condensed tree is built<br>at the “condense” stage"
                + (f" (step {first + 1})" if first is not None else ""))
        return figure_dict([], {
            "title": _title(step_title(trace, step), title),
            "xaxis": {"visible": False, "range": [0, 1]},
            "yaxis": {"visible": False, "range": [0, 1]},
            "annotations": [_note(text, x=0.5, y=0.5, xanchor="center", yanchor="middle")],
            "margin": {"l": 60, "r": 20, "t": 100, "b": 50},
            "showlegend": False,
            "uirevision": "hdbscan-condensed",
        }, typed=typed)
    cond = np.asarray(snap.condensed, dtype=np.float64).reshape(-1, 4)
    info = _condensed_layout(cond, n)
    ids = sorted(info, key=lambda c: (info[c]["birth"], c))
    lam_fin = cond[:, 2][np.isfinite(cond[:, 2])]
    lam_top = float(lam_fin.max()) if lam_fin.size else 1.0
    lam_top = lam_top if lam_top > 0 else 1.0
    births = np.array([min(info[c]["birth"], lam_top) for c in ids])
    deaths = np.array([min(info[c]["death"], lam_top) for c in ids])
    sizes = np.array([info[c]["size"] for c in ids])
    x0 = np.array([info[c]["x0"] for c in ids])
    stab = {}
    if snap.stability is not None:
        S = np.asarray(snap.stability, dtype=np.float64).reshape(-1, 2)
        stab = {int(a): float(b) for a, b in S.tolist()}
    selected = [int(c) for c in np.asarray(snap.selected, dtype=np.int64)] if snap.selected is not None else None
    colors = np.full(len(ids), "#9DB4CC" if selected is None else "#E3E3E3", dtype=object)
    line_w = np.zeros(len(ids))
    sel_label: dict[int, int] = {}
    if selected is not None:
        # label j is selected[j] (the engine's convention), so bars match hdbscan_mst's colours
        sel_label = {c: j for j, c in enumerate(selected)}
        pos = {c: i for i, c in enumerate(ids)}
        for c in selected:
            if c in pos:
                colors[pos[c]] = PALETTE[sel_label[c] % len(PALETTE)]
                line_w[pos[c]] = 2.0
    hover = []
    for c, b, dth, s in zip(ids, births, deaths, sizes):
        t = (f"condensed cluster #{c}{' (the root)' if c == ids[0] else ''}<br>{format_count(int(s))} points"
             f"<br>λ from {b:.4g} to {dth:.4g}")
        if c in stab:
            t += f"<br>stability {stab[c]:.4g}"
        if c in sel_label:
            t += f"<br>selected: cluster {sel_label[c] + 1}"
        hover.append(t)
    traces = [{
        "type": "bar", "x": x0 + sizes / 2, "width": sizes * 0.98, "base": births,
        "y": np.maximum(deaths - births, lam_top * 0.004), "customdata": np.array(ids),
        "name": "clusters", "showlegend": False,
        "marker": {"color": colors.tolist(), "line": {"color": "black", "width": line_w}},
        "hovertext": hover, "hovertemplate": "%{hovertext}<extra></extra>",
        "meta": {"role": "clusters", "selected": selected if selected is not None else [],
                 "ids": list(ids)},
    }]
    if selected is not None:
        title += f" · {len(selected)} cluster{'s' if len(selected) != 1 else ''} selected"
    else:
        title += f" · {len(ids)} clusters"
    return figure_dict(traces, {
        "title": _title(step_title(trace, step), title),
        "xaxis": {"title": {"text": "points (bar width = cluster size)"}, "range": [0, n],
                  "showgrid": False, "zeroline": False, "showticklabels": False},
        "yaxis": {"title": {"text": "λ = 1 / distance"}, "range": [lam_top * 1.04, 0],
                  "zeroline": False},
        "bargap": 0.0,
        "margin": {"l": 65, "r": 20, "t": 100, "b": 50},
        "showlegend": False,
        "uirevision": "hdbscan-condensed",
        "hovermode": "closest",
    }, typed=typed)


# --------------------------------------------------------------------------- side by side


def compared_labels(trace: Trace, extraction: str | None = None) -> tuple[np.ndarray, str]:
    """The final clusters of a density-based run, and how to name them in a title.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.density.engine.trace_dbscan`, :func:`tracelab.labs.density.engine.trace_optics`
        or :func:`tracelab.labs.density.hdbscan.trace_hdbscan`.
    extraction : {"cut", "xi"}, optional
        For OPTICS, which extraction: the ε cut (its "cut" step, the default) or the
        ξ method (its "xi" step). Ignored for the other algorithms.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int
        -1 is noise.
    name : str
        E.g. ``"DBSCAN (ε = 0.3, min_samples = 10)"`` or ``"OPTICS, ξ method (ξ = 0.05)"``.
    """
    algo = getattr(trace, "algorithm", None)
    p = _params(trace)
    if algo == "dbscan":
        return (np.asarray(trace.steps[-1].labels, dtype=np.int64),
                f"DBSCAN (ε = {float(p.get('eps', 0)):.3g}, min_samples = {p.get('min_samples', '?')})")
    if algo == "optics":
        if extraction not in (None, "cut", "xi"):
            raise ValueError(f"extraction should be 'cut' or 'xi', but got {extraction!r}")
        if extraction == "xi":
            snap = next(s for s in reversed(trace.steps) if s.phase == "xi")
            return (np.asarray(snap.labels, dtype=np.int64),
                    f"OPTICS, ξ method (ξ = {float(p.get('xi', 0.05)):.3g})")
        snap = next(s for s in reversed(trace.steps) if s.phase == "cut")
        return (np.asarray(snap.labels, dtype=np.int64),
                f"OPTICS, cut at ε = {float(snap.eps_cut):.3g}")
    if algo == "hdbscan":
        return (np.asarray(trace.steps[-1].labels, dtype=np.int64),
                f"HDBSCAN (min_cluster_size = {p.get('min_cluster_size', '?')})")
    raise ValueError(f"trace should come from DBSCAN, OPTICS or HDBSCAN, but its algorithm is {algo!r}")


def _side_parts(density_trace: Trace, em_trace: Trace, kmeans_trace: Trace, extraction: str | None,
                axes: Any, columns: Sequence[str] | None):
    """(ctx, [labels of the three panels], [their titles], the first panel's name, the methods' names)."""
    if getattr(density_trace, "algorithm", None) not in ("dbscan", "optics", "hdbscan"):
        raise ValueError("density_trace should come from trace_dbscan, trace_optics or trace_hdbscan, "
                         f"but its algorithm is {getattr(density_trace, 'algorithm', None)!r}")
    if density_trace.X is None:
        raise ValueError("the trace holds no data (X); run it again to draw it")
    if getattr(kmeans_trace, "algorithm", None) not in ("kmeans", "kmedoids"):
        raise ValueError(f"kmeans_trace should come from trace_kmeans, but its algorithm is "
                         f"{getattr(kmeans_trace, 'algorithm', None)!r}")
    what = {"dbscan": "DBSCAN", "optics": "OPTICS", "hdbscan": "HDBSCAN"}[density_trace.algorithm]
    check_same_data(density_trace, em_trace, f"the {what} and EM traces")
    check_same_data(density_trace, kmeans_trace, f"the {what} and k-means traces")
    ctx = _context(density_trace, axes, columns)
    db, name = compared_labels(density_trace, extraction)
    found = int(np.unique(db[db >= 0]).size)
    resp = final_responsibilities(em_trace)
    em = np.argmax(resp, axis=1).astype(np.int64)
    km = np.asarray(kmeans_trace.steps[-1].labels, dtype=np.int64)
    kname = "k-medoids" if kmeans_trace.algorithm == "kmedoids" else "k-means"

    def k_text(k: int) -> str:
        if k == found:
            return f"k = {k}, as many as {what} found"
        return f"k = {k} ({what} found {found} cluster{'s' if found != 1 else ''})"

    titles = [
        f"{name}<br>{_cluster_summary(db)}",
        f"EM: most responsible Gaussian<br>{k_text(int(resp.shape[1]))}",
        f"{kname}<br>{k_text(int(np.asarray(kmeans_trace.steps[-1].centers).shape[0]))}",
    ]
    return ctx, [db, em, km], titles, name, (what, "EM", kname)


def side_by_side(
    density_trace: Trace,
    em_trace: Trace,
    kmeans_trace: Trace,
    *,
    extraction: str | None = None,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
) -> go.Figure:
    """Final density-based, EM (hard labels) and k-means results on the same data, side by side.

    Parameters
    ----------
    density_trace : Trace
        A DBSCAN, OPTICS or HDBSCAN trace; its clusters are
        :func:`compared_labels` ``(density_trace, extraction)``.
    em_trace : Trace
        From :func:`tracelab.labs.em.engine.trace_em`; each point takes its most
        responsible Gaussian under the final parameters.
    kmeans_trace : Trace
        From :func:`tracelab.labs.kmeans.kmeans.trace_kmeans` (or k-medoids).
    extraction : {"cut", "xi"}, optional
        For OPTICS: compare the ε cut's clusters (default) or the ξ method's.
    axes, columns
        As in :func:`dbscan_scatter`.

    Returns
    -------
    plotly Figure
        Three panels (on ``x``/``y``, ``x2``/``y2``, ``x3``/``y3``), each to equal
        scale, each one "points" trace (``customdata`` = rows, ``meta["panel"]``
        0..2, colours by label, noise grey) with a title annotation naming what
        it shows; EM's and k-means' titles give their k and, when it is not the
        number of clusters the first panel found, that number too. One legend
        names the colours ("cluster 1", ..., "noise"): cluster j has the same
        colour in every panel. ``layout.meta`` holds the three label arrays as
        lists under ``labels``, the ``titles`` and what the first panel
        ``compares`` (its name).
    """
    ctx, labelings, titles, name, whos = _side_parts(density_trace, em_trace, kmeans_trace, extraction,
                                                     axes, columns)
    db, em, km = labelings
    doms = column_domains(3, 0.05)
    traces, annotations = [], []
    layout: dict[str, Any] = {}
    for c, (labels, who) in enumerate(zip(labelings, whos)):
        sfx = "" if c == 0 else str(c + 1)
        tr = ctx.points(role="points", name=who, showlegend=False,
                      marker={"color": kit.label_colors(labels), "size": 6, "line": {"width": 0}},
                      texts=kit.label_texts(labels))
        tr["meta"] = {"role": "points", "panel": c}
        traces.append(kit.on_axes(tr, c))
        xa, ya = _axes_layout(ctx, sfx)
        layout[f"xaxis{sfx}"] = {**xa, "domain": doms[c], "anchor": f"y{sfx}"}
        layout[f"yaxis{sfx}"] = {**ya, "domain": [0, 1], "anchor": f"x{sfx}", "showticklabels": c == 0}
        if c:
            layout[f"yaxis{sfx}"]["title"] = {"text": ""}
        annotations.append(kit.subplot_title(titles[c], sum(doms[c]) / 2, 1.0))
    every = np.concatenate([db, em, km])
    traces.extend(_cluster_legend(every))
    bottom = _legend_margin([tr["name"] for tr in _cluster_legend(every)], width=900.0)
    layout.update({
        "height": 340 + bottom,
        "margin": {"l": 60, "r": 20, "t": 64, "b": bottom},
        "annotations": annotations,
        "legend": _legend_below(276),
        "showlegend": True,
        "uirevision": f"density-side-by-side-{ctx.plane.key}",
        "hovermode": "closest",
        "meta": {"labels": [db.tolist(), em.tolist(), km.tolist()], "titles": titles, "compares": name},
    })
    return figure(traces, layout)


def side_by_side_panels(
    density_trace: Trace,
    em_trace: Trace,
    kmeans_trace: Trace,
    *,
    extraction: str | None = None,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
) -> list[go.Figure]:
    """The three panels of :func:`side_by_side` as three figures, to lay out in columns.

    Columns that stack on a narrow screen keep each panel (and its title) readable
    where one three-panel figure would squeeze them; the arguments are those of
    :func:`side_by_side`.

    Returns
    -------
    list of 3 plotly Figures
        Each: one "points" trace (``customdata`` = rows, ``meta["panel"]`` 0..2),
        the same fixed ranges to equal scale, a two-line title (what it is; its
        clusters or its k), and a legend naming its colours. ``layout.meta`` holds
        ``panel``, ``labels`` (list), ``title`` and ``compares`` (the first
        panel's name, in every panel).
    """
    ctx, labelings, titles, name, whos = _side_parts(density_trace, em_trace, kmeans_trace, extraction,
                                                     axes, columns)
    # Every panel reserves room for the largest legend, so the three plot areas match.
    bottom = max(_legend_margin([tr["name"] for tr in _cluster_legend(lb)], width=260.0) for lb in labelings)
    figs = []
    for c, (labels, who) in enumerate(zip(labelings, whos)):
        tr = ctx.points(role="points", name=who, showlegend=False,
                      marker={"color": kit.label_colors(labels), "size": 6, "line": {"width": 0}},
                      texts=kit.label_texts(labels))
        tr["meta"] = {"role": "points", "panel": c}
        xa, ya = _axes_layout(ctx)
        head, tail = titles[c].split("<br>", 1)
        figs.append(figure([tr, *_cluster_legend(labels)], {
            "title": _title(head, f"{head} · {tail}", width=24, size=14),
            "xaxis": xa, "yaxis": ya,
            "height": 352 + bottom,
            "margin": {"l": 50, "r": 10, "t": 100, "b": bottom},
            "legend": _legend_below(252),
            "showlegend": True,
            "uirevision": f"density-side-by-side-{c}-{ctx.plane.key}",
            "hovermode": "closest",
            "meta": {"panel": c, "labels": labels.tolist(), "title": titles[c], "compares": name},
        }))
    return figs


# -------------------------------------------------------------------------- stepping


def step_charts(
    trace: Trace,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
) -> stepping.StepSpec:
    """The density lab's charts for the browser player, every step at once.

    DBSCAN: the expansion (:func:`dbscan_scatter`) and the k-distance plot
    with ε; OPTICS: the scatter and the growing reachability plot, both with
    the trace's ε cut; HDBSCAN: the minimum spanning tree and the condensed tree.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.density.engine.trace_dbscan`, :func:`~tracelab.labs.density.engine.trace_optics`
        or :func:`tracelab.labs.density.hdbscan.trace_hdbscan`.
    axes, columns
        As for the scatters.

    Returns
    -------
    StepSpec
    """
    labels = [snap.message for snap in trace.steps]
    if trace.algorithm == "dbscan":
        # The k-th nearest other point, with k = MinPts - 1 (at most n - 1).
        k = max(1, min(int(trace.params["min_samples"]) - 1, trace.X.shape[0] - 1))
        # the same at every step: converted once
        kdist = stepping.figure_json(k_distance_plot(trace.X, k, eps=float(trace.params["eps"]),
                                                     metric=trace.params["metric"]))
        views = [lambda s: _dbscan_scatter(trace, s, axes=axes, columns=columns, typed=True), lambda s: kdist]
    elif trace.algorithm == "optics":
        cut = trace.params.get("eps_cut")
        views = [lambda s: _optics_scatter(trace, s, eps_cut=cut, axes=axes, columns=columns, typed=True),
                 lambda s: _optics_reachability(trace, s, eps_cut=cut, typed=True)]
    else:
        views = [lambda s: _hdbscan_mst(trace, s, axes=axes, columns=columns, typed=True),
                 lambda s: _hdbscan_condensed_tree(trace, s, typed=True)]
    return stepping.build_spec(views, labels)
