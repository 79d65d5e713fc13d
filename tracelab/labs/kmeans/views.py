"""Views of k-means and k-medoids traces (hard clustering), and of k-means beside EM.

Every step view takes a :class:`~tracelab.record.trace.Trace` from
:func:`tracelab.labs.kmeans.kmeans.trace_kmeans` or :func:`tracelab.labs.kmeans.kmedoids.trace_kmedoids`
(told apart by ``trace.algorithm``) and a step index, and returns a plotly
``go.Figure`` or a pandas ``DataFrame``. As in :mod:`tracelab.labs.em.views`, nothing
here imports streamlit or caches anything: figures are assembled from plain
dicts (:func:`tracelab.plot.common.figure`; the tests re-validate them), with
one trace for all points, one for all assignment lines, one heatmap for the
regions, and per-cluster traces only for the centre paths.

Conventions
-----------
- Points are identified by their 0-based row index in ``trace.X``: it is each
  data marker's ``customdata`` (a medoid marker's too, since a medoid is a row).
- Clusters are numbered from 1 on screen ("cluster 1") and coloured by
  :data:`tracelab.plot.common.PALETTE` in order; a label of -1 is grey.
- Steps are numbered from 1 on screen ("Step 3 · E-step of iteration 1").
- Every trace carries ``meta={"role": ...}``: "regions",
  "points", "path", "centers", "unit-ball", "grid", "placed", "cost", ...
- Points of the click grid (:func:`click_grid`) carry
  ``customdata = ["grid", x, y]`` (plane coordinates); decode a click with
  :func:`click_to_center`.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tracelab.labs.em.mixture import responsibilities as _posterior
from tracelab.labs.kmeans.kmedoids import METRICS, distances
from tracelab.record.trace import Trace
from tracelab.plot import stepping
from tracelab.plot import scatter as kit  # the step scatter every lab shares
from tracelab.plot.common import (
    column_domains,
    TEMPLATE,
    phase_curve,
    axis_range,
    component_color,
    current_step_shapes,
    figure,
    format_count,
    panel_grid,
    project_points,
    subsample,
)

__all__ = [
    "step_charts",
    "ASSIGNMENT_LINES_UP_TO",
    "REGION_GRID",
    "agreement_with_kmeans",
    "centers_table",
    "click_grid",
    "cluster_names",
    "click_to_center",
    "comparison",
    "cost_curve",
    "hardening",
    "hardness",
    "iterations_done",
    "placement_figure",
    "scatter",
    "to_scale",
    "unit_ball_outline",
    "with_click_grid",
]

GL_ABOVE = kit.GL_ABOVE
HOVER_TEXT_UP_TO = kit.HOVER_TEXT_UP_TO
#: Cells per side of the grid on which the regions are coloured.
REGION_GRID = 150
#: Assignment lines are drawn only up to this many drawn points.
ASSIGNMENT_LINES_UP_TO = 2_000
#: Opacity of the region colours.
REGION_OPACITY = 0.16

_ALGORITHMS = ("kmeans", "kmedoids")
_PHASE_NAMES = {"init": "start", "E": "E-step", "M": "M-step", "swap": "swap"}
_METRIC_NAMES = {
    "euclidean": "Euclidean (L2)",
    "manhattan": "Manhattan (L1)",
    "chebyshev": "Chebyshev (L∞)",
    "cosine": "cosine",
}

_esc = kit.esc
_note = kit.note


# --------------------------------------------------------------------------- helpers


def _check_trace(trace: Trace) -> str:
    algo = getattr(trace, "algorithm", None)
    if algo not in _ALGORITHMS:
        raise ValueError(f'trace should come from trace_kmeans or trace_kmedoids, but its algorithm is {algo!r}')
    if trace.X is None:
        raise ValueError("the trace holds no data (X); run it again to draw it")
    return algo


def _centers(snap: Any) -> np.ndarray:
    """The centres (k-means) or medoids (k-medoids) of a snapshot, shape (k, d)."""
    c = getattr(snap, "centers", None)
    if c is None:
        c = snap.medoids
    return np.asarray(c, dtype=np.float64)


def _all_centers(trace: Trace) -> np.ndarray:
    """Centres of every step, shape (n_steps, k, d)."""
    return np.stack([_centers(s) for s in trace.steps])


def _labels(snap: Any) -> np.ndarray:
    return np.asarray(snap.labels, dtype=np.int64)


def _value(snap: Any) -> float:
    v = getattr(snap, "inertia", None)
    return float(snap.cost if v is None else v)


def _metric(trace: Trace) -> tuple[str, float]:
    params = trace.params if isinstance(trace.params, Mapping) else {}
    if trace.algorithm == "kmedoids":
        return str(params.get("metric", "euclidean")), float(params.get("p", 2.0))
    return "euclidean", 2.0


def step_title(trace: Trace, step: int) -> str:
    """A short heading, e.g. ``"Step 3 · E-step of iteration 1"`` or ``"Step 2 · swap 1"``."""
    snap = trace.steps[kit.step_index(trace, step)]
    if snap.phase == "init":
        return f"Step {snap.index + 1} · start"
    if snap.phase == "swap":
        return f"Step {snap.index + 1} · swap {snap.iteration}"
    return f"Step {snap.index + 1} · {_PHASE_NAMES.get(snap.phase, snap.phase)} of iteration {snap.iteration}"



def _source_X(source: Any) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Data and column names from a Trace, a Dataset or an array."""
    if isinstance(source, Trace):
        return np.asarray(source.X, dtype=np.float64), None
    cols = getattr(source, "columns", None)
    X = np.asarray(getattr(source, "X", source), dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X should have shape (n_samples, n_features), but got {X.shape}")
    return X, (tuple(cols) if isinstance(cols, (list, tuple)) else None)


def _plane_for(X: np.ndarray, axes: Any, columns: Sequence[str] | None) -> tuple[kit.Plane, tuple[str, ...]]:
    if X.shape[1] < 2:
        raise ValueError(f"this view draws two features, but the data has {X.shape[1]}")
    holder = SimpleNamespace(X=X, params={})
    cols = kit.column_names(holder, columns)
    return kit.make_plane(holder, axes, cols), cols


def to_scale(fig: go.Figure, *, equal_aspect: bool | None = None) -> go.Figure:
    """``fig`` (changed in place) with every x/y subplot drawn to one scale.

    For figures built elsewhere (the EM scatter of the σ² → 0 section) whose
    axes carry fixed ranges: each ``yaxisN`` is anchored to its own ``xaxisN``
    with :func:`tracelab.plot.scatter.scaled_axes`'s settings, and a widening note is appended to the
    annotations.

    Parameters
    ----------
    fig : plotly Figure
        With ``range`` set on each pair of axes to scale.
    equal_aspect : bool, optional
        As in :func:`scatter`.

    Returns
    -------
    plotly Figure
    """
    notes = []
    for name in list(fig.layout):
        if not name.startswith("xaxis"):
            continue
        sfx = name[len("xaxis"):]
        xa, ya = fig.layout[name], fig.layout[f"yaxis{sfx}"] if f"yaxis{sfx}" in fig.layout else None
        if ya is None or xa.range is None or ya.range is None:
            continue
        xt = xa.title.text if xa.title and xa.title.text else "x"
        yt = ya.title.text if ya.title and ya.title.text else "y"
        xr, yr, xs, ys, note = kit.scaled_axes(list(xa.range), list(ya.range), equal_aspect, (xt, yt))
        xa.update(range=xr, **xs)
        ya.update(range=yr, **({**ys, "scaleanchor": f"x{sfx}"} if ys else {}))
        if note and not notes:
            notes.append(note)
    for note in notes:
        fig.add_annotation(_note(note, x=0.0, y=-0.12, xanchor="left", yanchor="top"))
        fig.update_layout(margin={"b": max(int(fig.layout.margin.b or 55), 90)})
    return fig


def _context(trace: Trace, axes: Any, columns: Sequence[str] | None, max_points: int, seed: int) -> kit.ScatterContext:
    """The step scatter's context of a k-means or k-medoids trace: its centres are the centres or medoids."""
    _check_trace(trace)
    return kit.ScatterContext.build(trace, axes, columns, max_points=max_points, seed=seed,
                                    centers=_all_centers(trace))


# ------------------------------------------------------------------------ trace parts


def _points_trace(ctx: kit.ScatterContext, labels: np.ndarray, *, size: float = 7, xaxis: str = "x",
                  yaxis: str = "y") -> dict:
    lab = labels[ctx.idx]
    return ctx.points({"color": kit.label_colors(lab), "size": size, "line": {"width": 0}},
                      texts=kit.label_texts(lab) if len(ctx.idx) <= HOVER_TEXT_UP_TO else None,
                      xaxis=xaxis, yaxis=yaxis)


def cluster_names(k: int) -> list[str]:
    """What the lab calls each cluster, from 1 as students count: ``"cluster 1"``, ...

    The same names head the clusters table (:func:`centers_table`) and the
    charts' legends, so a colour can be looked up in the table.
    """
    return [f"cluster {j + 1}" for j in range(k)]


def _legend_traces(names: Sequence[str], *, xaxis: str = "x", yaxis: str = "y") -> list[dict]:
    """One legend entry per colour (``names[j]`` in colour j), drawing nothing.

    The points are one trace with a colour per point (fast to redraw), which
    plotly cannot list by colour; these empty traces give the legend.
    """
    return [
        {"type": "scatter", "x": [None], "y": [None], "xaxis": xaxis, "yaxis": yaxis,
         "mode": "markers", "name": _esc(name), "showlegend": True,
         "marker": {"color": component_color(j), "size": 10, "symbol": "circle"},
         "hoverinfo": "skip", "meta": {"role": "legend", "cluster": j}}
        for j, name in enumerate(names)
    ]


#: A legend in one row above the plot; its entries explain colours and cannot hide them.
_TOP_LEGEND = {"orientation": "h", "traceorder": "normal", "x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
               "itemclick": False, "itemdoubleclick": False, "bgcolor": "rgba(255,255,255,0)",
               "font": {"size": 12}}


def _discrete_colorscale(k: int) -> list[list]:
    """Colour j on ``[j/k, (j+1)/k]``: with zmin=-0.5, zmax=k-0.5, z = j gets colour j."""
    if k == 1:
        c = component_color(0)
        return [[0.0, c], [1.0, c]]
    scale = []
    for j in range(k):
        c = component_color(j)
        scale += [[j / k, c], [(j + 1) / k, c]]
    return scale


def _grid(xr: list[float], yr: list[float], g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = np.linspace(xr[0], xr[1], g)
    ys = np.linspace(yr[0], yr[1], g)
    gx, gy = np.meshgrid(xs, ys)  # row = y index, column = x index: the heatmap's z layout
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


def _nearest_sq(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Index of the nearest row of B for each row of A (Euclidean; ties to the lower index)."""
    d2 = ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d2, axis=1)


def _regions(ctx: kit.ScatterContext, step: int, *, grid: int = REGION_GRID, xaxis: str = "x",
             yaxis: str = "y") -> tuple[dict | None, str | None]:
    """The nearest-centre regions of ``step``'s centres, as a heatmap, and a note.

    With 2 features the drawing plane is the data plane turned (or not), so each
    grid cell is taken back to data space and the trace's own metric decides.
    With more, cells are coloured by the nearest projected centre (Euclidean
    only: another metric has no meaningful 2-D cut), and the note says so.
    """
    metric, p = _metric(ctx.trace)
    k = ctx.centers.shape[1]
    xs, ys, G = _grid(ctx.xrange, ctx.yrange, grid)
    d = ctx.centers.shape[2]
    note = None
    if d == 2:
        if metric == "euclidean":
            z = _nearest_sq(G, ctx.centers_2d[step])
        else:
            Gd = G @ ctx.plane.P.T + ctx.plane.offset
            if metric == "cosine":
                # the cosine distance is undefined at the origin: nudge a cell that sits on it
                zero = ~np.any(Gd != 0, axis=1)
                Gd[zero] = np.finfo(np.float64).tiny ** 0.5
            D = distances(Gd, ctx.centers[step], metric=metric, p=p)
            z = np.argmin(D, axis=1)
    elif metric == "euclidean":
        z = _nearest_sq(G, ctx.centers_2d[step])
        note = "regions: nearest centre within this 2-D projection"
    else:
        return None, f"regions drawn for 2 features only ({metric} distance)"
    label = _METRIC_NAMES.get(metric, f"Minkowski (L{p:g})" if metric == "minkowski" else metric)
    return {
        "type": "heatmap", "x": xs, "y": ys, "z": z.reshape(grid, grid),
        "xaxis": xaxis, "yaxis": yaxis,
        "zmin": -0.5, "zmax": k - 0.5, "colorscale": _discrete_colorscale(k),
        "showscale": False, "opacity": REGION_OPACITY, "zsmooth": False,
        "hoverinfo": "skip", "name": "regions",
        "meta": {"role": "regions", "metric": metric, "p": p, "label": label},
    }, note


def _assignment_shape(ctx: kit.ScatterContext, labels: np.ndarray, step: int) -> dict:
    """One line from every drawn point to its cluster's centre, as one path shape.

    A layout shape, not a trace: the lines come and go every other step, and a
    changed shape is redrawn alone where a changed trace makes Plotly recompute
    and redraw the whole chart. Coordinates to 7 significant digits (float32's).
    """
    lab = labels[ctx.idx]
    keep = lab >= 0
    P = ctx.XY[ctx.idx][keep]
    C = ctx.centers_2d[step][lab[keep]]
    path = "".join(f"M{px:.7g},{py:.7g}L{cx:.7g},{cy:.7g}" for (px, py), (cx, cy) in zip(P.tolist(), C.tolist()))
    return {
        "type": "path", "name": "assignments", "path": path, "xref": "x", "yref": "y",
        "line": {"color": "rgba(60,60,60,0.28)", "width": 1},
    }


def _center_trace(ctx: kit.ScatterContext, step: int, labels: np.ndarray, *, xaxis: str = "x",
                  yaxis: str = "y") -> dict:
    snap = ctx.trace.steps[step]
    C = ctx.centers[step]
    k = C.shape[0]
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    texts = []
    medoid = ctx.trace.algorithm == "kmedoids"
    rows = np.asarray(snap.medoid_indices) if medoid else None
    for j in range(k):
        coords = ", ".join(f"{_esc(c)} = {kit.fmt(v)}" for c, v in zip(ctx.columns, C[j]))
        head = f"medoid of cluster {j + 1}: point #{int(rows[j])}" if medoid else f"centre {j + 1}"
        texts.append(f"{head}<br>{format_count(int(sizes[j]))} points<br>{coords}")
    colors = [component_color(j) for j in range(k)]
    tr = {
        "type": "scatter", "x": ctx.centers_2d[step, :, 0], "y": ctx.centers_2d[step, :, 1],
        "xaxis": xaxis, "yaxis": yaxis,
        "mode": "markers", "name": "medoids" if medoid else "centres", "showlegend": False,
        "hovertext": texts, "hovertemplate": "%{hovertext}<extra></extra>",
        "meta": {"role": "centers"},
    }
    if medoid:
        tr["marker"] = {"symbol": "circle", "size": 17, "color": colors,
                        "line": {"color": "black", "width": 2.5}}
        tr["customdata"] = rows
    else:
        tr["marker"] = {"symbol": "x", "size": 16, "color": colors,
                        "line": {"color": "black", "width": 1.5}}
    return tr


# -------------------------------------------------------------------------- unit ball


def _parse_ball(spec: Any, trace: Trace) -> tuple[str, float]:
    if isinstance(spec, str):
        metric = spec
        p = _metric(trace)[1] if metric == "minkowski" and _metric(trace)[0] == "minkowski" else 2.0
    else:
        try:
            metric, p = spec
            p = float(p)
        except (TypeError, ValueError):
            raise ValueError(f'unit_ball should be a metric name or (metric, p), but got {spec!r}') from None
    if metric not in METRICS:
        raise ValueError(f"unit_ball should be one of {', '.join(METRICS)}, but got {metric!r}")
    if not p >= 1:
        raise ValueError(f"the Minkowski exponent p should be at least 1, but got {p}")
    return metric, p


def _norms(V: np.ndarray, metric: str, p: float) -> np.ndarray:
    """Length of each row of V under ``metric`` (not cosine), shape (m,)."""
    A = np.abs(V)
    if metric == "manhattan" or (metric == "minkowski" and p == 1):
        return A.sum(axis=1)
    if metric == "chebyshev" or (metric == "minkowski" and math.isinf(p)):
        return A.max(axis=1)
    if metric == "euclidean" or (metric == "minkowski" and p == 2):
        return np.sqrt((A**2).sum(axis=1))
    top = A.max(axis=1, keepdims=True)  # scale first: |v|^p must not overflow
    top[top == 0] = 1.0
    return top[:, 0] * ((A / top) ** p).sum(axis=1) ** (1.0 / p)


def unit_ball_outline(
    center: np.ndarray, radius: float, P: np.ndarray, metric: str, p: float = 2.0,
    n_points: int = 361,
) -> tuple[np.ndarray, np.ndarray]:
    """The ball ``{x : dist(x, center) = radius}`` cut by the drawing plane, in plane units.

    For a direction ``u(t) = P (cos t, sin t)`` in data space, the boundary lies at
    ``radius / ||u(t)||`` along it: an L1 diamond, L2 circle, L∞ square or Lp
    superellipse when the plane holds two feature axes (and their exact cut
    through the ball otherwise).

    Parameters
    ----------
    center : array-like of shape (2,)
        The centre in plane coordinates.
    radius : float
    P : array-like of shape (n_features, 2)
        Orthonormal columns spanning the plane.
    metric : {"euclidean", "manhattan", "minkowski", "chebyshev"}
    p : float, default 2.0
        Minkowski exponent.
    n_points : int, default 361
        Directions, one per degree (the corners at multiples of 45° are hit exactly);
        the last point closes the outline.

    Returns
    -------
    xs, ys : ndarray of shape (n_points,)
    """
    t = np.linspace(0.0, 2 * np.pi, n_points)
    U = np.column_stack([np.cos(t), np.sin(t)])
    scale = radius / _norms(U @ np.asarray(P, dtype=np.float64).T, metric, p)
    pts = np.asarray(center, dtype=np.float64) + U * scale[:, None]
    return pts[:, 0], pts[:, 1]


def _ball_radius(trace: Trace, m: np.ndarray, labels: np.ndarray, metric: str, p: float) -> float:
    """Median distance from the first centre to its cluster's other points (a sensible size)."""
    X = trace.X
    pts = X[labels == 0]
    for cand in (pts, X):
        if cand.shape[0]:
            D = distances(cand, m[None, :], metric=metric, p=p)[:, 0]
            D = D[D > 0]
            if D.size:
                return float(np.median(D))
    return 1.0


def _unit_ball_parts(ctx: kit.ScatterContext, step: int, labels: np.ndarray, spec: Any) -> tuple[list[dict], list[dict], str | None]:
    """(traces, annotations, note) for the unit ball around the first centre."""
    metric, p = _parse_ball(spec, ctx.trace)
    m = ctx.centers[step, 0]
    m2 = ctx.centers_2d[step, 0]
    name = _METRIC_NAMES.get(metric, f"Minkowski (L{p:g})")
    noun = "medoid 1" if ctx.trace.algorithm == "kmedoids" else "centre 1"
    try:
        r = _ball_radius(ctx.trace, m, labels, metric, p)
    except ValueError as exc:  # cosine and a row of zeros
        return [], [], f"no {name} ball: {exc}"
    meta = {"role": "unit-ball", "metric": metric, "p": p, "radius": r, "center": m2.tolist()}
    if metric == "cosine":
        if ctx.centers.shape[2] != 2:
            return [], [], "the cosine ball is drawn for 2 features only"
        # 1 - cos(angle) <= r: the wedge within arccos(1 - r) of the medoid's direction.
        alpha = float(np.arccos(np.clip(1.0 - r, -1.0, 1.0)))
        phi = float(np.arctan2(m[1], m[0]))
        L = 3.0 * float(np.abs(ctx.trace.X).max() + np.abs(m).max())
        ends = L * np.array([[np.cos(phi - alpha), np.sin(phi - alpha)],
                             [np.cos(phi + alpha), np.sin(phi + alpha)]])
        O = np.zeros((1, 2))
        pts = np.vstack([O, ends[:1], [[np.nan, np.nan]], O, ends[1:]])
        pts2 = project_points(np.nan_to_num(pts, nan=0.0), ctx.plane.offset, ctx.plane.P)
        pts2[2] = np.nan
        meta.update(angle=alpha)
        label = f"{name} ball around {noun}: points within {np.degrees(alpha):.0f}° of its direction (r = {r:.3g})"
        tr = {"type": "scatter", "x": pts2[:, 0], "y": pts2[:, 1], "mode": "lines",
              "name": label, "showlegend": False, "connectgaps": False,
              "line": {"color": "black", "width": 2, "dash": "dash"},
              "hovertemplate": f"{_esc(label)}<extra></extra>", "meta": meta}
        ann = _note(f"cosine: the ball around {noun} is the wedge between the dashed rays "
                    f"(r = {r:.3g}, ±{np.degrees(alpha):.0f}°)", x=0.0, y=0.0, xanchor="left",
                    yanchor="bottom")
        return [tr], [ann], None
    xs, ys = unit_ball_outline(m2, r, ctx.plane.P, metric, p)
    label = f"{name} ball, r = {r:.3g}"
    tr = {"type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": label,
          "showlegend": False, "line": {"color": "black", "width": 2, "dash": "dash"},
          "hovertemplate": f"{_esc(label)} around {noun}<extra></extra>", "meta": meta}
    top = int(np.argmax(ys))
    ann = {"text": _esc(label), "x": float(xs[top]), "y": float(ys[top]), "xref": "x", "yref": "y",
           "showarrow": False, "yanchor": "bottom", "font": {"size": 12, "color": "black"},
           "bgcolor": "rgba(255,255,255,0.7)"}
    return [tr], [ann], None


# ----------------------------------------------------------------------------- scatter


def scatter(
    trace: Trace,
    step: int,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    show_regions: bool = True,
    show_assignments: bool = True,
    show_paths: bool = True,
    max_points: int = 50_000,
    seed: int = 0,
    unit_ball: str | tuple[str, float] | None = None,
    equal_aspect: bool | None = None,
) -> go.Figure:
    """The points coloured by cluster, the centres (or medoids), their paths and regions.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.kmeans.kmeans.trace_kmeans` or
        :func:`tracelab.labs.kmeans.kmedoids.trace_kmedoids`, with at least 2 features.
    step : int
        Index into ``trace.steps``.
    axes : (int, int) or "pca", default (0, 1)
        Two feature columns, or the first two principal axes of ``trace.X``.
    columns : sequence of str, optional
        Feature names; default ``x1, x2, ...``.
    show_regions : bool, default True
        Shade each cell of a ``REGION_GRID`` x ``REGION_GRID`` grid over the plot
        with the colour of its nearest centre. With 2 features the distance is
        the trace's metric (a k-medoids run with the Manhattan distance shows
        Manhattan regions); with more, the nearest *projected* centre in the
        plane (Euclidean runs only), which a note says.
    show_assignments : bool, default True
        On E-steps, a line from every drawn point to its centre (one trace),
        when at most ``ASSIGNMENT_LINES_UP_TO`` points are drawn (else a note).
    show_paths : bool, default True
        Each centre's positions at steps ``0..step`` (``step + 1`` points).
    max_points : int, default 50_000
        Display cap: a seeded subsample above it, and a note.
    seed : int, default 0
    unit_ball : str or (str, float), optional
        A metric name (``"manhattan"``, ``"euclidean"``, ``"chebyshev"``,
        ``"minkowski"``, ``"cosine"``) or ``(metric, p)``: draw that metric's
        ball around the first centre/medoid, of radius the median distance
        from it to the other points of its cluster, labelled. A plain
        ``"minkowski"`` takes ``p`` from the trace's parameters (else 2).
        Cosine draws the two rays bounding the wedge (2 features only).
    equal_aspect : bool, optional
        Keep one unit equally long on both axes (circles round, regions and
        balls true to the distance): the default. When the spans differ more
        than :data:`tracelab.plot.scatter.SPAN_RATIO_UP_TO`-fold the shorter range is widened and a
        note says so. ``False`` draws each axis to its own scale.

    Returns
    -------
    plotly Figure
        Traces, in order (each with ``meta["role"]``): "regions" (heatmap,
        ``z`` = 0-based cluster of each cell, ``z[i, j]`` at ``(x[j], y[i])``),
        "points" (``customdata`` = row index), one "path" per
        cluster, "centers" (k-medoids: ``customdata`` = medoid rows),
        "unit-ball", and last one empty "legend" trace per cluster named as
        :func:`cluster_names` (the clusters table's names) in its colour. At
        E-steps the lines from each point to its centre are a path shape
        (``layout.shapes``, ``name="assignments"``). Axis
        ranges cover the data and every step's centres (drawn to scale, see
        ``equal_aspect``), and ``layout.uirevision`` depends only on ``axes``.
    """
    step = kit.step_index(trace, step)
    ctx = _context(trace, axes, columns, max_points, seed)
    # to scale before the regions: their grid spans the ranges drawn
    ctx.xrange, ctx.yrange, xa, ya, aspect_note = kit.scaled_axes(ctx.xrange, ctx.yrange, equal_aspect, ctx.names)
    labels = _labels(trace.steps[step])
    traces: list[dict] = []
    notes: list[str] = []
    annotations: list[dict] = []
    shapes: list[dict] = []
    if show_regions:
        reg, note = _regions(ctx, step)
        if reg is not None:
            traces.append(reg)
        if note:
            notes.append(note)
    if show_assignments and trace.steps[step].phase == "E":
        if len(ctx.idx) <= ASSIGNMENT_LINES_UP_TO:
            shapes.append(_assignment_shape(ctx, labels, step))
        else:
            notes.append(f"assignment lines hidden above {format_count(ASSIGNMENT_LINES_UP_TO)} points")
    traces.append(_points_trace(ctx, labels))
    if show_paths:
        traces += kit.path_traces(ctx, step, noun="medoid" if trace.algorithm == "kmedoids" else "centre")
    traces.append(_center_trace(ctx, step, labels))
    if unit_ball is not None:
        trs, anns, note = _unit_ball_parts(ctx, step, labels, unit_ball)
        traces += trs
        annotations += anns
        if note:
            notes.append(note)
    if len(ctx.idx) < ctx.n:
        notes.append(kit.cap_note(len(ctx.idx), ctx.n))
    if aspect_note:
        notes.append(aspect_note)
    if notes:
        annotations.append(_note(" · ".join(notes), x=0.0, y=-0.13, xanchor="left", yanchor="top"))
    names = cluster_names(ctx.centers.shape[1])
    traces += _legend_traces(names)
    top = 48 + 19 * kit.legend_rows(names, 250.0)  # the title, then the legend's rows
    layout = {
        # at the very top: plotly's default puts a title midway down a tall top margin,
        # into the legend's rows
        "title": {"text": step_title(trace, step), "y": 1.0, "yref": "container", "yanchor": "top",
                  "pad": {"t": 14}},
        "xaxis": {"title": {"text": _esc(ctx.plane.xlabel)}, "range": ctx.xrange,
                  "zeroline": False, "showgrid": False, **xa},
        "yaxis": {"title": {"text": _esc(ctx.plane.ylabel)}, "range": ctx.yrange,
                  "zeroline": False, "showgrid": False, **ya},
        "height": 400 + top,
        "margin": {"l": 60, "r": 20, "t": top, "b": 95 if notes else 55},
        "annotations": annotations,
        "shapes": shapes,
        "uirevision": f"{ctx.trace.algorithm}-scatter-{ctx.plane.key}",
        "hovermode": "closest",
        "showlegend": True,
        "legend": _TOP_LEGEND,
    }
    return figure(traces, layout)


# -------------------------------------------------------------------------- cost curve

def cost_curve(trace: Trace, step: int) -> go.Figure:
    """The inertia (k-means) or cost (k-medoids) at every step, and the current step.

    Parameters
    ----------
    trace : Trace
    step : int

    Returns
    -------
    plotly Figure
        A thin line through every step (x = step number from 1); markers per
        phase (``meta["role"]`` "cost", ``meta["phase"]``) whose hover is the
        step's message; the layout's shapes mark ``step + 1``, a dotted vertical
        line and a ring (:func:`~tracelab.plot.common.current_step_shapes`).
    """
    algo = _check_trace(trace)
    step = kit.step_index(trace, step)
    steps = trace.steps
    xs = np.arange(len(steps)) + 1
    ys = np.array([_value(s) for s in steps])
    phases = np.array([s.phase for s in steps])
    messages = np.array([_esc(s.message) for s in steps], dtype=object)
    if algo == "kmeans":
        what, ytitle = "inertia", "inertia (sum of squared distances)"
    else:
        metric, p = _metric(trace)
        what = "cost"
        ytitle = f"cost (sum of {_METRIC_NAMES.get(metric, f'Minkowski (L{p:g})')} distances)"
    traces = phase_curve(xs, ys, phases, messages, what=what, role="cost")
    return figure(traces, {
        "xaxis": {"title": {"text": "step"}, "range": [0.5, len(steps) + 0.5], "zeroline": False},
        "yaxis": {"title": {"text": ytitle}},
        "shapes": current_step_shapes(int(step + 1), float(ys[step])),
        "legend": {"yanchor": "top", "y": 0.98, "xanchor": "right", "x": 0.99,
                   "bgcolor": "rgba(255,255,255,0.8)"},
        "height": 380,
        "margin": {"l": 70, "r": 10, "t": 10, "b": 45},
        "uirevision": f"{algo}-cost",
        "hovermode": "closest",
    })


# ------------------------------------------------------------------ k-means beside EM


def _after_iteration(trace: Trace, t: int, *, last_step_if_short: bool) -> tuple[int, int, bool]:
    """(step index, iteration shown, clipped) for "after ``t`` iterations".

    The M-step of iteration ``t``; ``t = 0`` is the start. Past the run's last
    iteration: the trace's last step (k-means: its final assignment) or the
    last M-step.
    """
    m_steps = {s.iteration: s.index for s in trace.steps if s.phase == "M"}
    if t <= 0:
        return 0, 0, False
    if t in m_steps:
        return m_steps[t], t, False
    last = max(m_steps) if m_steps else 0
    if t > last:
        if last_step_if_short or not m_steps:
            return len(trace.steps) - 1, last, True
        return m_steps[last], last, True
    # a gap cannot happen in E/M traces; fall back to the nearest earlier M-step
    earlier = max((i for i in m_steps if i < t), default=0)
    return (m_steps[earlier] if earlier else 0), earlier, True


def _png(index: np.ndarray, palette: Sequence[str]) -> bytes:
    """A palette PNG: pixel (row, column) has colour ``palette[index[row, column]]``.

    Parameters
    ----------
    index : ndarray of int, shape (height, width)
        Values in ``[0, len(palette))``; row 0 is the image's top row.
    palette : sequence of str
        At most 256 ``"#rrggbb"`` colours.

    Returns
    -------
    bytes
    """
    h, w = index.shape
    rgb = bytes(int(c[i:i + 2], 16) for c in palette for i in (1, 3, 5))
    # each row starts with filter type 0 (none)
    raw = np.hstack([np.zeros((h, 1), np.uint8), index.astype(np.uint8)]).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", rgb) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _regions_image(heatmap: dict) -> dict:
    """:func:`_regions`' heatmap as an image trace of the same cells: a few hundred bytes, not 30 KB.

    The heatmap sends one number per cell (150 x 150); the image sends those
    cells as a palette PNG, which compresses the few large regions to almost
    nothing. The cells keep their places (centre of cell (i, j) at ``(x[j],
    y[i])``, as a heatmap puts it), colours and opacity, and an image without
    smoothing is drawn with square-edged pixels, as a heatmap without smoothing
    draws its cells: what the student sees stays the same. Kept a heatmap when
    it has too many colours for a palette or fewer than 2 cells a side.
    """
    z = np.asarray(heatmap["z"])
    xs, ys = np.asarray(heatmap["x"], dtype=np.float64), np.asarray(heatmap["y"], dtype=np.float64)
    k = int(round(heatmap["zmax"] + 0.5))
    if k > 256 or min(z.shape) < 2:
        return heatmap
    # the discrete colorscale gives value j the colour of cluster j
    png = _png(z, [component_color(j) for j in range(k)])
    return {
        "type": "image", "source": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        # row i of the image at y0 + i dy, as the heatmap's row i at y[i] (the y axis is not reversed)
        "x0": float(xs[0]), "dx": float(xs[1] - xs[0]), "y0": float(ys[0]), "dy": float(ys[1] - ys[0]),
        "xaxis": heatmap["xaxis"], "yaxis": heatmap["yaxis"], "opacity": heatmap["opacity"],
        "hoverinfo": "skip", "name": heatmap["name"], "meta": heatmap["meta"],
    }


def _float32_if_same(v: np.ndarray, sig: int = 4) -> np.ndarray:
    """``v`` as float32 (half the bytes) when every value keeps its first ``sig`` digits, else as it is.

    On screen a float32 coordinate lands within a millionth of a pixel of the
    float64 one; the hover writes it to ``sig`` significant digits, which this
    checks value by value.
    """
    v32 = v.astype(np.float32)
    fmt = f"%.{sig}g"
    same = np.array_equal(np.char.mod(fmt, v32.astype(np.float64)), np.char.mod(fmt, v))
    return v32 if same and np.all(np.isfinite(v32) == np.isfinite(v)) else v


def _hover_in_customdata(tr: dict, values: np.ndarray, line: str) -> dict:
    """``tr`` (changed in place) with its per-point ``hovertext`` written by the hovertemplate.

    A sentence per point ("cluster 2", "r = 0.980 / 0.020") costs more bytes
    than its numbers: ``values`` (one row per point) become the ``customdata``
    and ``line``, a template line reading them (``%{customdata}``,
    ``%{customdata[1]:.3f}``), replaces ``%{hovertext}``. The row index the
    hover starts with ("point #12") is plotly's own ``pointNumber`` when every
    row is drawn in order, else a first column of ``customdata`` (``line``
    then counts its columns from 1). The hover reads the same.
    """
    if "hovertext" not in tr:
        return tr
    idx = np.asarray(tr["customdata"])
    values = np.asarray(values)
    del tr["hovertext"]
    if np.array_equal(idx, np.arange(len(idx))):
        tr["customdata"] = values
        head = tr["hovertemplate"].replace("%{customdata}", "%{pointNumber}")
    else:
        line = line.replace("%{customdata}", "%{customdata[1]}")
        for j in range(values.shape[1] if values.ndim > 1 else 0, -1, -1):
            line = line.replace(f"%{{customdata[{j}]", f"%{{customdata[{j + 1}]")
        data = np.column_stack([idx, values])
        # float32 holds row indices exactly below 2**24
        tr["customdata"] = data.astype(np.float32) if data.dtype.kind == "f" and idx.max() < 2**24 else data
        head = tr["hovertemplate"].replace("%{customdata}", "%{customdata[0]}")
    tr["hovertemplate"] = head.replace("%{hovertext}", line)
    return tr


def _row_numbers(tr: dict) -> dict:
    """``tr`` (changed in place) without its ``customdata`` of row numbers 0, 1, ..., n - 1.

    When every row is drawn in order, the hover's "point #%{customdata}" is
    plotly's own ``%{pointNumber}``.
    """
    idx = np.asarray(tr.get("customdata", ()))
    if idx.ndim == 1 and np.array_equal(idx, np.arange(len(idx))):
        del tr["customdata"]
        tr["hovertemplate"] = tr["hovertemplate"].replace("%{customdata}", "%{pointNumber}")
    return tr


def _hex_colors(colors: Sequence[str]) -> list[str]:
    """``"rgb(r,g,b)"`` strings as ``"#rrggbb"``: the same colours in 7 characters, not up to 16."""
    rgb = np.array([c[4:-1].split(",") for c in colors], dtype=np.int64).reshape(-1, 3)
    return ["#%02x%02x%02x" % tuple(row) for row in rgb.tolist()]


def _palette_colors(tr: dict) -> dict:
    """``tr`` (changed in place) with its colour strings as codes into a colorscale, when that is shorter.

    Once EM settles, many points share one blended colour exactly: each
    distinct colour then is sent once, in a colorscale, and each point as its
    code. Code i sits exactly on the scale's stop i/M (``cmin`` 0, ``cmax`` M, a
    power of ten, so the stops are short decimals), where plotly draws the
    stop's own colour. Kept as strings when they are shorter.
    """
    colors = tr["marker"]["color"]
    distinct, codes = np.unique(np.asarray(colors), return_inverse=True)
    m = len(distinct)
    if m < 2:
        return tr
    M = 10 ** len(str(m - 1))
    scale = [[i / M, c] for i, c in enumerate(distinct.tolist())]
    if (m - 1) / M < 1:
        scale.append([1.0, scale[-1][1]])  # a scale ends at 1
    width = 1 if m <= 256 else 2
    coded = len(json.dumps(scale, separators=(",", ":"))) + 4 * -(-len(codes) * width // 3)
    if coded >= len(json.dumps(colors, separators=(",", ":"))):
        return tr
    tr["marker"].update(color=codes.astype(np.uint8 if width == 1 else np.uint16), colorscale=scale,
                        cmin=0, cmax=M, showscale=False)
    return tr


def _coded_colors(tr: dict, labels: np.ndarray, k: int) -> dict:
    """``tr`` (changed in place) coloured by cluster numbers through a discrete colorscale.

    Each point's colour (cluster j's, ``component_color(j)``) as the number
    j + 1, one byte, instead of a colour string: value j + 1 falls in colour j's
    band of :func:`_discrete_colorscale`, and the hover writes "cluster
    %{marker.color}" from it. Its ``hovertext`` goes. Noise (label -1) keeps
    the strings and the sentences.
    """
    labels = np.asarray(labels)
    if labels.size and labels.min() < 0:
        return tr
    # the bands' ends to 4 decimals: every value stays well inside its band
    scale = [[round(at, 4), c] for at, c in _discrete_colorscale(k)]
    tr["marker"].update(color=labels + 1, colorscale=scale, cmin=0.5, cmax=k + 0.5, showscale=False)
    if "hovertext" in tr:
        del tr["hovertext"]
        tr["hovertemplate"] = tr["hovertemplate"].replace("%{hovertext}", "cluster %{marker.color}")
    return tr


def _compact_points(tr: dict, xy: tuple[np.ndarray, np.ndarray]) -> dict:
    """``tr`` (changed in place) at the coordinates ``xy``, without settings plotly has as defaults."""
    tr["x"], tr["y"] = xy
    if tr["marker"].get("line") == {"width": 0}:  # a scatter's markers have no outline unless sized by data
        del tr["marker"]["line"]
    return tr


def iterations_done(trace: Trace, step: int) -> int:
    """How many whole iterations a k-means/k-medoids trace has done at ``step``.

    An E-step of iteration t has assigned the points but not yet moved the
    centres, so t - 1 iterations are done; an M-step (or a PAM swap) of
    iteration t completes it; the start is 0. This is the ``iteration`` to give
    :func:`comparison` so that its left panel is never ahead of the step shown.

    Parameters
    ----------
    trace : Trace
    step : int

    Returns
    -------
    int, at least 0
    """
    _check_trace(trace)
    snap = trace.steps[kit.step_index(trace, step)]
    it = int(snap.iteration)
    return max(it - 1, 0) if snap.phase == "E" else it


def check_same_data(a: Trace, b: Trace, what: str) -> None:
    """Refuse two traces that did not run on the same X (their views are compared point by point)."""
    if a.X is None or b.X is None or a.X.shape != b.X.shape or not np.array_equal(a.X, b.X):
        raise ValueError(f"{what} should run on the same data")


def comparison(
    kmeans_trace: Trace,
    em_trace: Trace,
    iteration: int,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    max_points: int = 5_000,
    seed: int = 0,
    show_regions: bool = True,
    equal_aspect: bool | None = None,
) -> go.Figure:
    """k-means' hard labels beside EM's responsibilities after the same iteration.

    Parameters
    ----------
    kmeans_trace : Trace
        From :func:`tracelab.labs.kmeans.kmeans.trace_kmeans` (a k-medoids trace also works).
    em_trace : Trace
        From :func:`tracelab.labs.em.engine.trace_em` on the same data.
    iteration : int
        Iterations done (0 = the start). Left: the k-means M-step of that
        iteration, or the trace's last step when it stopped earlier. Right: the
        EM M-step of that iteration, or its last M-step.
    axes, columns, max_points, seed
        As in :func:`scatter` (the same rows are drawn in both panels).
    show_regions : bool, default True
        Shade k-means' nearest-centre regions in the left panel.
    equal_aspect : bool, optional
        As in :func:`scatter`.

    Returns
    -------
    plotly Figure
        Left panel on ``x``/``y``: "regions", "points" (cluster colours),
        "centers". Right panel on ``x2``/``y2``: "points" (blended
        responsibilities), one 1σ "ellipse" per Gaussian, "means". Both panels
        share fixed ranges. Titles (the first two annotations) "k-means: hard
        labels<br>iteration t" and "EM: responsibilities<br>iteration t", with
        ", its last" when clipped. One empty "legend" trace per cluster, named
        "1", "2", ... under the legend title "cluster / Gaussian:" (EM starts
        from the same means, so Gaussian j grows from cluster j).
        ``layout.meta`` holds ``kmeans_step``, ``em_step``,
        ``kmeans_iteration`` and ``em_iteration``.
    """
    if not isinstance(iteration, (int, np.integer)) or isinstance(iteration, bool) or iteration < 0:
        raise ValueError(f"iteration should be a whole number, at least 0, but got {iteration!r}")
    if em_trace.algorithm != "em":
        raise ValueError(f"em_trace should come from trace_em, but its algorithm is {em_trace.algorithm!r}")
    check_same_data(kmeans_trace, em_trace, "the k-means and EM traces")
    t = int(iteration)
    ks, kt, kclip = _after_iteration(kmeans_trace, t, last_step_if_short=True)
    es, et, eclip = _after_iteration(em_trace, t, last_step_if_short=False)
    kctx = _context(kmeans_trace, axes, columns, max_points, seed)
    ectx = kit.means_context(em_trace, axes, kctx.columns, max_points=max_points, seed=seed)
    xr = axis_range(np.asarray(kctx.xrange), ectx.centers_2d[..., 0], margin=0.0)
    yr = axis_range(np.asarray(kctx.yrange), ectx.centers_2d[..., 1], margin=0.0)
    xr, yr, xa, ya, aspect_note = kit.scaled_axes(xr, yr, equal_aspect, kctx.names)
    kctx.xrange, kctx.yrange = xr, yr
    ectx.xrange, ectx.yrange = xr, yr

    labels = _labels(kmeans_trace.steps[ks])
    traces: list[dict] = []
    notes: list[str] = []
    # Each Next click that changes the iteration sends this figure again: it is sent
    # compact (regions as a PNG, coordinates as float32 where the hover reads the same,
    # hover sentences as numbers), for the same picture and hover.
    if show_regions:
        reg, note = _regions(kctx, ks)
        if reg is not None:
            traces.append(_regions_image(reg))
        if note:
            notes.append(note)
    xy = (_float32_if_same(kctx.XY[kctx.idx, 0]), _float32_if_same(kctx.XY[kctx.idx, 1]))  # both panels draw these rows
    left = _compact_points(_points_trace(kctx, labels, size=6), xy)
    traces.append(_row_numbers(_coded_colors(left, labels[kctx.idx], kctx.centers.shape[1])))
    traces.append(_center_trace(kctx, ks, labels))
    esnap = em_trace.steps[es]
    resp = kit.snapshot_responsibilities(esnap)
    points = _compact_points(kit.points_trace(ectx, resp, "responsibilities", False, size=6), xy)
    points["marker"]["color"] = _hex_colors(points["marker"]["color"])
    _palette_colors(points)
    # the 3 decimals the hover showed, kept exactly: the float32 nearest "0.980" prints as 0.980 again
    r3 = np.char.mod("%.3f", resp[ectx.idx]).astype(np.float64).astype(np.float32)
    right = [_hover_in_customdata(points, r3, "r = " + " / ".join(
        f"%{{customdata[{j}]:.3f}}" for j in range(resp.shape[1])))]
    ellipses = kit.ellipse_traces(ectx, esnap, (1.0,), showlegend=False)
    for tr in ellipses:  # outlines without hover or legend: float32 draws them the same, names show nowhere
        tr["x"], tr["y"] = np.asarray(tr["x"], np.float32), np.asarray(tr["y"], np.float32)
        del tr["name"], tr["legendgroup"]
        if tr["line"].get("dash") == "solid":  # plotly's default
            del tr["line"]["dash"]
    right += ellipses
    right.append(kit.means_trace(ectx, esnap))
    traces += [kit.on_axes(tr, 1) for tr in right]
    # EM starts from k-means' starting means, so Gaussian j grows from cluster j: one colour
    # each, and a legend "cluster / Gaussian: 1 2 3" short enough for one row on a phone
    k = kctx.centers.shape[1]
    for tr in _legend_traces([str(j + 1) for j in range(k)]):
        del tr["xaxis"], tr["yaxis"], tr["marker"]["symbol"]  # plotly's defaults: "x", "y", "circle"
        traces.append(tr)

    doms = column_domains(2, 0.06)
    if aspect_note:
        notes.append(aspect_note)
    if len(kctx.idx) < kctx.n:
        notes.append(kit.cap_note(len(kctx.idx), kctx.n) + " in each panel")
    # two lines: side by side on a phone, one-line titles run into each other
    ktitle = f"k-means: hard labels<br>iteration {kt}{', its last' if kclip else ''}"
    etitle = f"EM: responsibilities<br>iteration {et}{', its last' if eclip else ''}"
    if kmeans_trace.algorithm == "kmedoids":
        ktitle = "k-medoids" + ktitle[len("k-means"):]
    annotations = [kit.subplot_title(ktitle, sum(doms[0]) / 2, 1.0),
                   kit.subplot_title(etitle, sum(doms[1]) / 2, 1.0)]
    # the two-line panel titles, then the legend's rows (counted for a phone's width)
    top = 62 + 19 * kit.legend_rows([str(j + 1) for j in range(k)], 300.0, title=130.0)
    height, bottom = 400 + top, 90 if notes else 55
    if notes:
        annotations.append(_note(" · ".join(notes), x=0.0, y=-48 / (height - top - bottom), xanchor="left",
                                 yanchor="top"))
    layout = {
        "xaxis": {"domain": doms[0], "anchor": "y", "range": xr, "zeroline": False, "showgrid": False,
                  "title": {"text": _esc(kctx.plane.xlabel)}, **xa},
        "yaxis": {"domain": [0, 1], "anchor": "x", "range": yr, "zeroline": False, "showgrid": False,
                  "title": {"text": _esc(kctx.plane.ylabel)}, **ya},
        "xaxis2": {"domain": doms[1], "anchor": "y2", "range": xr, "zeroline": False, "showgrid": False,
                   "title": {"text": _esc(kctx.plane.xlabel)}, **xa},
        "yaxis2": {"domain": [0, 1], "anchor": "x2", "range": yr, "zeroline": False, "showgrid": False,
                   **({**ya, "scaleanchor": "x2"} if ya else {})},
        "annotations": annotations,
        "height": height,
        "margin": {"l": 60, "r": 20, "t": top, "b": bottom},
        "showlegend": True,
        # above the two-line panel titles
        "legend": {**_TOP_LEGEND, "y": 1.0 + 44 / (height - top - bottom),
                   "title": {"text": "cluster / Gaussian:", "side": "left"}},
        "uirevision": f"kmeans-vs-em-{kctx.plane.key}",
        "hovermode": "closest",
        "meta": {"kmeans_step": ks, "em_step": es, "kmeans_iteration": kt, "em_iteration": et},
    }
    # The template without what this figure never draws (grid, zero and axis lines, a layout
    # title, trace colours from the colorway): the same picture in fewer bytes.
    unused = {"colorway", "title"}
    layout["template"] = {"layout": {
        key: ({a: v for a, v in value.items() if a not in ("gridcolor", "linecolor", "zerolinecolor")}
              if key in ("xaxis", "yaxis") else value)
        for key, value in TEMPLATE["layout"].items() if key not in unused}}
    return figure(traces, layout)


# ---------------------------------------------------------------- the σ² → 0 limit


def final_responsibilities(em_trace: Trace) -> np.ndarray:
    """Responsibilities under the last step's own parameters, shape (n, k)."""
    if getattr(em_trace, "algorithm", None) != "em":
        raise ValueError(f"expected an EM trace (trace_em), but its algorithm is {getattr(em_trace, 'algorithm', None)!r}")
    last = em_trace.steps[-1]
    return np.asarray(_posterior(em_trace.X, last.means, last.covariances, last.weights))


def hardness(trace: Trace) -> float:
    """Mean over points of the largest responsibility at the end of an EM run.

    The responsibilities are the posterior under the last step's parameters
    (what one more E-step would give). 1 means every point belongs wholly to
    one Gaussian (hard, k-means-like labels); ``1/k`` means every point is
    shared equally.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.em.engine.trace_em`.

    Returns
    -------
    float in [1/k, 1]
    """
    return float(final_responsibilities(trace).max(axis=1).mean())


def agreement_with_kmeans(em_trace: Trace, kmeans_trace: Trace) -> float:
    """Share of points whose most responsible Gaussian is their final k-means cluster.

    Component j is matched with cluster j: run both from the same starting
    means (``means_init`` / ``centers_init``) so the numbering corresponds.

    Parameters
    ----------
    em_trace : Trace
        From :func:`tracelab.labs.em.engine.trace_em`.
    kmeans_trace : Trace
        From :func:`tracelab.labs.kmeans.kmeans.trace_kmeans` on the same data, same k.

    Returns
    -------
    float in [0, 1]
    """
    _check_trace(kmeans_trace)
    check_same_data(em_trace, kmeans_trace, "the EM and k-means traces")
    resp = final_responsibilities(em_trace)
    labels = _labels(kmeans_trace.steps[-1])
    if resp.shape[1] != _centers(kmeans_trace.steps[-1]).shape[0]:
        raise ValueError(f"the EM run has {resp.shape[1]} components but k-means "
                         f"{_centers(kmeans_trace.steps[-1]).shape[0]} clusters")
    return float(np.mean(np.argmax(resp, axis=1) == labels))


def hardening(
    em_traces_by_variance: Mapping[float, Trace],
    *,
    kmeans_trace: Trace | None = None,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    max_points: int = 2_000,
    seed: int = 0,
    equal_aspect: bool | None = None,
) -> go.Figure:
    """Small multiples of EM's final responsibilities as the fixed variance σ² shrinks.

    Parameters
    ----------
    em_traces_by_variance : mapping of float to Trace
        EM traces run with ``covariance_type="fixed"`` at each ``fixed_variance``
        σ² (the key), on the same data. Drawn from the largest σ² (softest) to
        the smallest.
    kmeans_trace : Trace, optional
        A k-means trace on the same data from the same starting means: each
        title then also gives :func:`agreement_with_kmeans`.
    axes, columns, max_points, seed, equal_aspect
        As in :func:`scatter`.

    Returns
    -------
    plotly Figure
        One panel per σ², two to a row (panel c on ``x{c}``/``y{c}``, the first on ``x``/``y``),
        each with "points" (blended responsibilities under the final
        parameters), one 1σ "ellipse" per Gaussian and the "means"; titled
        ``"σ² = 0.5<br>max r 0.87"`` (the mean largest responsibility; with
        ``kmeans_trace`` a third line ``"k-means 98%"``, the
        :func:`agreement_with_kmeans`). ``layout.meta`` holds
        ``variances``, ``hardness`` (and ``agreement``) in panel order.
    """
    if not em_traces_by_variance:
        raise ValueError("give at least one EM trace")
    items = sorted(((float(v), t) for v, t in em_traces_by_variance.items()), key=lambda vt: -vt[0])
    first = items[0][1]
    for _, t in items[1:]:
        check_same_data(first, t, "the EM traces")
    if kmeans_trace is not None:
        check_same_data(first, kmeans_trace, "the EM and k-means traces")
    ctxs = [kit.means_context(t, axes, columns, max_points=max_points, seed=seed) for _, t in items]
    xr = axis_range(*[np.asarray(c.xrange) for c in ctxs], margin=0.0)
    yr = axis_range(*[np.asarray(c.yrange) for c in ctxs], margin=0.0)
    xr, yr, xa, ya, aspect_note = kit.scaled_axes(xr, yr, equal_aspect,
                                            ctxs[0].names)
    # two by two: four panels side by side leave a phone about 70 px each
    ncols = 2
    n_lines = 3 if kmeans_trace is not None else 2
    grid, plot_px = panel_grid(len(items), ncols, panel_px=240, row_gap_px=50 + 16 * n_lines, col_gap=0.06)
    traces: list[dict] = []
    titles, hards, agrees = [], [], []
    for c, ((var, t), ctx) in enumerate(zip(items, ctxs)):
        ctx.xrange, ctx.yrange = xr, yr
        resp = final_responsibilities(t)
        h = float(resp.max(axis=1).mean())
        hards.append(h)
        title = f"σ² = {var:g}<br>max r {h:.2f}"
        if kmeans_trace is not None:
            a = agreement_with_kmeans(t, kmeans_trace)
            agrees.append(a)
            title += f"<br>k-means {a:.0%}"
        titles.append(title)
        last = t.steps[-1]
        panel = [kit.points_trace(ctx, resp, "responsibilities", False, size=5)]
        panel += kit.ellipse_traces(ctx, last, (1.0,), showlegend=False)
        panel.append(kit.means_trace(ctx, last))
        traces += [kit.on_axes(tr, c) for tr in panel]
    layout: dict[str, Any] = {}
    for c, (dom_x, dom_y) in enumerate(grid):
        sfx = "" if c == 0 else str(c + 1)
        first_col = c % ncols == 0
        layout[f"xaxis{sfx}"] = {"domain": dom_x, "anchor": f"y{sfx}", "range": xr, "zeroline": False,
                                 "showgrid": False, "title": {"text": _esc(ctxs[0].plane.xlabel)}, **xa}
        layout[f"yaxis{sfx}"] = {"domain": dom_y, "anchor": f"x{sfx}", "range": yr, "zeroline": False,
                                 "showgrid": False, "showticklabels": first_col,
                                 "title": {"text": _esc(ctxs[0].plane.ylabel)} if first_col else None,
                                 **({**ya, "scaleanchor": f"x{sfx}"} if ya else {})}
    annotations = [{**kit.subplot_title(tt, sum(grid[c][0]) / 2, grid[c][1][1]), "font": {"size": 12}}
                   for c, tt in enumerate(titles)]
    notes = [aspect_note] if aspect_note else []
    if len(ctxs[0].idx) < ctxs[0].n:
        notes.append(kit.cap_note(len(ctxs[0].idx), ctxs[0].n) + " in each panel")
    if notes:
        annotations.append({**_note("<br>".join(notes), x=0.0, y=-55 / plot_px, xanchor="left", yanchor="top"),
                            "align": "left"})
    meta: dict[str, Any] = {"variances": [v for v, _ in items], "hardness": hards}
    if kmeans_trace is not None:
        meta["agreement"] = agrees
    top, bottom = 18 * n_lines + 16, 55 + 16 * len(notes)
    layout.update({
        "height": plot_px + top + bottom,
        "margin": {"l": 60, "r": 20, "t": top, "b": bottom},
        "annotations": annotations,
        "showlegend": False,
        "uirevision": "em-hardening",
        "hovermode": "closest",
        "meta": meta,
    })
    return figure(traces, layout)


# ------------------------------------------------------------------------------ table


def centers_table(trace: Trace, step: int, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Each cluster at ``step``: its size, its centre (or medoid) and what changed.

    Parameters
    ----------
    trace : Trace
        A k-means or k-medoids trace.
    step : int
    columns : sequence of str, optional
        Feature names (default ``x1, x2, ...``).

    Returns
    -------
    DataFrame
        One row per cluster; columns ``cluster`` ("cluster 1", ...), ``size``,
        ``Δ size``, for k-medoids ``medoid row`` (0-based row of ``X``), then
        ``centre <col>`` (k-medoids: ``medoid <col>``) and its ``Δ`` for every
        feature, and ``moved`` (Euclidean length of the centre's move). Each Δ
        is this step's value minus the previous step's (NaN at the start).
    """
    algo = _check_trace(trace)
    step = kit.step_index(trace, step)
    cols = kit.column_names(trace, columns)
    snap = trace.steps[step]
    C = _centers(snap)
    k = C.shape[0]
    sizes = np.bincount(_labels(snap)[_labels(snap) >= 0], minlength=k)
    if step > 0:
        prev = trace.steps[step - 1]
        pl = _labels(prev)
        dsize = sizes - np.bincount(pl[pl >= 0], minlength=k)
        dC = C - _centers(prev)
    else:
        dsize = np.full(k, np.nan)
        dC = np.full(C.shape, np.nan)
    data: dict[str, Any] = {"cluster": cluster_names(k), "size": sizes,
                            "Δ size": dsize}
    noun = "centre"
    if algo == "kmedoids":
        data["medoid row"] = np.asarray(snap.medoid_indices, dtype=np.int64)
        noun = "medoid"
    for a, c in enumerate(cols):
        data[f"{noun} {c}"] = C[:, a]
        data[f"Δ {noun} {c}"] = dC[:, a]
    data["moved"] = np.sqrt((dC**2).sum(axis=1))
    return pd.DataFrame(data)


# ------------------------------------------------------------------ placing centres


def _plane_and_ranges(source: Any, axes: Any, columns: Sequence[str] | None, max_points: int = 50_000,
                      seed: int = 0) -> tuple[kit.Plane, tuple[str, ...], list[float], list[float]]:
    """The plane and the fixed ranges :func:`scatter` would use (data only for plain X)."""
    if isinstance(source, Trace) and source.algorithm in _ALGORITHMS:
        ctx = _context(source, axes, columns, max_points, seed)
        xr, yr, *_ = kit.scaled_axes(ctx.xrange, ctx.yrange)
        return ctx.plane, ctx.columns, xr, yr
    X, cols = _source_X(source)
    plane, cols = _plane_for(X, axes, columns if columns is not None else cols)
    XY = project_points(X, plane.offset, plane.P)
    xr, yr, *_ = kit.scaled_axes(axis_range(XY[:, 0]), axis_range(XY[:, 1]))
    return plane, cols, xr, yr


def _grid_trace(xr: list[float], yr: list[float], n: int, xlabel: str, ylabel: str) -> dict:
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n should be a whole number, at least 2, but got {n!r}")
    _, _, G = _grid(xr, yr, int(n))
    return {
        "type": "scattergl" if G.shape[0] > GL_ABOVE else "scatter",
        "x": G[:, 0], "y": G[:, 1], "mode": "markers", "name": "click to place a centre",
        "showlegend": False,
        "customdata": [["grid", float(x), float(y)] for x, y in G.tolist()],
        # Nearly transparent, not invisible: a hidden trace takes no clicks.
        "marker": {"size": 12, "color": "rgba(0,0,0,0.02)", "line": {"width": 0}},
        "selected": {"marker": {"color": "rgba(0,0,0,0.25)"}},
        "unselected": {"marker": {"opacity": 1}},
        "hovertemplate": f"place a centre here<br>{_esc(xlabel)} = %{{x:.3g}}<br>"
                         f"{_esc(ylabel)} = %{{y:.3g}}<extra></extra>",
        "meta": {"role": "grid"},
    }


def click_grid(
    source: Any,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    n: int = 40,
) -> dict:
    """An n x n grid of nearly transparent, clickable markers over the plot's range.

    Streamlit's ``on_select`` reports only existing points, so a click on empty
    space needs something there: each grid marker carries
    ``customdata = ["grid", x, y]`` (plane coordinates), which
    :func:`click_to_center` turns into a centre.

    Parameters
    ----------
    source : Trace, Dataset or array-like of shape (n_samples, n_features)
        With a k-means/k-medoids trace the grid spans :func:`scatter`'s ranges;
        otherwise the data's.
    axes : (int, int) or "pca", default (0, 1)
    columns : sequence of str, optional
    n : int, default 40
        Markers per side (``n * n`` in all, corners on the range's corners).

    Returns
    -------
    dict
        A scatter trace with ``meta={"role": "grid"}``; add it *before* the data
        (:func:`with_click_grid` does) so data points stay on top.
    """
    plane, _, xr, yr = _plane_and_ranges(source, axes, columns)
    return _grid_trace(xr, yr, n, plane.xlabel, plane.ylabel)


def with_click_grid(
    fig: go.Figure,
    source: Any,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    n: int = 40,
) -> go.Figure:
    """``fig`` (changed in place) with :func:`click_grid` added as its first trace."""
    fig.add_trace(click_grid(source, axes=axes, columns=columns, n=n))
    fig.data = (fig.data[-1],) + tuple(fig.data[:-1])
    return fig


def click_to_center(point: Mapping[str, Any], X: Any, *, axes: tuple[int, int] | str = (0, 1)) -> np.ndarray | None:
    """The centre a click asks for, in data space, or None.

    Parameters
    ----------
    point : mapping
        One of ``event.selection.points`` from ``st.plotly_chart(...,
        on_select="rerun")``; its ``"customdata"`` decides: ``["grid", x, y]``
        (a grid marker) gives that spot, an int (a data point's row) gives that
        row; anything else (a placed centre, no customdata) gives None.
    X : Dataset or array-like of shape (n_samples, n_features)
        The data (a trace's ``X`` works).
    axes : (int, int) or "pca", default (0, 1)
        As drawn. A grid spot fixes two coordinates; the others are set to the
        data's column means (``"pca"``: the mean plus the spot along the two
        principal axes).

    Returns
    -------
    ndarray of shape (n_features,) or None
    """
    Xa, _ = _source_X(X)
    cd = point.get("customdata") if isinstance(point, Mapping) else None
    if isinstance(cd, (list, tuple)) and len(cd) == 3 and cd[0] == "grid":
        plane, _ = _plane_for(Xa, axes, None)
        xy = np.array([float(cd[1]), float(cd[2])])
        base = Xa.mean(axis=0) if plane.key != "pca" else plane.offset
        P = plane.P
        # for feature axes P selects two columns: replace them; for PCA add along the axes
        if plane.key == "pca":
            return base + P @ xy
        out = base.copy()
        i, j = (int(np.argmax(P[:, 0])), int(np.argmax(P[:, 1])))
        out[i], out[j] = xy
        return out
    if isinstance(cd, (list, tuple)) and len(cd) == 1:
        cd = cd[0]
    if isinstance(cd, (int, np.integer)) and not isinstance(cd, bool) and 0 <= cd < Xa.shape[0]:
        return Xa[int(cd)].copy()
    if isinstance(cd, float) and cd.is_integer() and 0 <= cd < Xa.shape[0]:
        return Xa[int(cd)].copy()
    return None


def placement_figure(
    X: Any,
    placed: Any,
    *,
    columns: Sequence[str] | None = None,
    axes: tuple[int, int] | str = (0, 1),
    n: int = 40,
    max_points: int = 5_000,
    seed: int = 0,
    title: str | None = None,
    equal_aspect: bool | None = None,
) -> go.Figure:
    """The data, the centres placed so far (numbered) and a click grid, before any run.

    Parameters
    ----------
    X : Dataset or array-like of shape (n_samples, n_features)
    placed : array-like of shape (m, n_features)
        Centres placed so far, in data space (``m`` may be 0).
    columns : sequence of str, optional
        Default the Dataset's columns, else ``x1, x2, ...``.
    axes : (int, int) or "pca", default (0, 1)
    n : int, default 40
        Grid markers per side.
    max_points : int, default 5_000
        Display cap for the data.
    seed : int, default 0
    title : str, optional
        Default ``"Click to place centre m+1"``.
    equal_aspect : bool, optional
        As in :func:`scatter`.

    Returns
    -------
    plotly Figure
        Traces "grid" (first), "points" (grey, ``customdata`` = row index) and
        "placed" (``customdata = ["placed", j]``, text "1", "2", ...).
    """
    Xa, cols0 = _source_X(X)
    plane, cols = _plane_for(Xa, axes, columns if columns is not None else cols0)
    XY = project_points(Xa, plane.offset, plane.P)
    xr, yr, xa, ya, aspect_note = kit.scaled_axes(axis_range(XY[:, 0]), axis_range(XY[:, 1]), equal_aspect,
                                            (_esc(plane.xlabel), _esc(plane.ylabel)))
    Pc = np.asarray(placed, dtype=np.float64) if placed is not None else np.empty((0, Xa.shape[1]))
    if Pc.size == 0:
        Pc = np.empty((0, Xa.shape[1]))
    if Pc.ndim != 2 or Pc.shape[1] != Xa.shape[1]:
        raise ValueError(f"placed should have shape (m, {Xa.shape[1]}), but got {Pc.shape}")
    nX = Xa.shape[0]
    idx = subsample(nX, max_points, seed)
    traces = [_grid_trace(xr, yr, n, plane.xlabel, plane.ylabel)]
    xl, yl = _esc(plane.xlabel), _esc(plane.ylabel)
    traces.append({
        "type": "scattergl" if len(idx) > GL_ABOVE else "scatter",
        "x": XY[idx, 0], "y": XY[idx, 1], "mode": "markers", "name": "points", "showlegend": False,
        "customdata": idx, "marker": {"color": "#9aa0a6", "size": 6, "line": {"width": 0}},
        "hovertemplate": kit.point_hover_head(plane) + "<br>click to place a centre on it<extra></extra>",
        "meta": {"role": "points"},
    })
    m = Pc.shape[0]
    P2 = project_points(Pc, plane.offset, plane.P) if m else np.empty((0, 2))
    traces.append({
        "type": "scatter", "x": P2[:, 0], "y": P2[:, 1], "mode": "markers+text", "name": "placed",
        "showlegend": False, "text": [str(j + 1) for j in range(m)], "textposition": "top right",
        "textfont": {"size": 14, "color": "black"},
        "customdata": [["placed", j] for j in range(m)],
        "marker": {"symbol": "x", "size": 16, "color": [component_color(j) for j in range(m)],
                   "line": {"color": "black", "width": 1.5}},
        "hovertemplate": "centre %{text}<extra></extra>",
        "meta": {"role": "placed"},
    })
    notes = [n_ for n_ in (aspect_note, kit.cap_note(len(idx), nX) if len(idx) < nX else None) if n_]
    return figure(traces, {
        "title": {"text": _esc(title) if title is not None else f"Click to place centre {m + 1}"},
        "xaxis": {"title": {"text": xl}, "range": xr, "zeroline": False, **xa},
        "yaxis": {"title": {"text": yl}, "range": yr, "zeroline": False, **ya},
        "annotations": [_note(" · ".join(notes))] if notes else [],
        "margin": {"l": 60, "r": 20, "t": 60, "b": 55},
        "showlegend": False,
        "uirevision": f"kmeans-placement-{plane.key}",
        "hovermode": "closest",
        "clickmode": "event+select",
    })


# -------------------------------------------------------------------------- stepping


def step_charts(
    trace: Trace,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    show_regions: bool = True,
    show_assignments: bool = True,
    unit_ball: str | tuple[str, float] | None = None,
) -> stepping.StepSpec:
    """The k-means / k-medoids lab's charts for the browser player, every step at once.

    The points with centres, regions and assignment lines (:func:`scatter`)
    and the inertia or cost curve (:func:`cost_curve`).

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.kmeans.kmeans.trace_kmeans` or :func:`tracelab.labs.kmeans.kmedoids.trace_kmedoids`.
    axes, columns, show_regions, show_assignments, unit_ball
        As for :func:`scatter`.

    Returns
    -------
    StepSpec
    """
    max_points = stepping.point_budget(trace.X.shape[0], len(trace))

    def main(s: int) -> go.Figure:
        return scatter(trace, s, axes=axes, columns=columns, show_regions=show_regions,
                       show_assignments=show_assignments, unit_ball=unit_ball, max_points=max_points)

    return stepping.build_spec([main, lambda s: cost_curve(trace, s)], [snap.message for snap in trace.steps])
