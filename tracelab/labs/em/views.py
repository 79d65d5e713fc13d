"""Views of an EM trace (Gaussian mixtures): figures, tables and formulas for one step.

Every function takes a :class:`~tracelab.record.trace.Trace` from
:func:`tracelab.labs.em.engine.trace_em` and a step index and returns a plotly
``go.Figure``, a pandas ``DataFrame`` or a LaTeX string. Nothing here imports
streamlit; nothing is cached between calls, so each view is cheap to rebuild on
every step: colours are vectorised, there is one trace for all points and
per-component traces only for ellipses, mean paths, curves and bars, and the
figures are assembled from plain dicts without plotly's per-property
validation (:func:`tracelab.plot.common.figure`; the tests re-validate them).
On Old Faithful a scatter or density view builds in about 5 ms.

Conventions
-----------
- Points are identified by their 0-based row index in ``trace.X``; it is each
  marker's ``customdata``, so a click selection gives the row back.
- Components are numbered from 1 in labels ("Gaussian 1", "r(k=1)") and
  coloured by :data:`tracelab.plot.common.PALETTE` in order.
- Every trace carries ``meta={"role": ...}`` ("points", "ellipse", "means",
  "path", "selected", "density", "mixture", "rug", "resp-bar", ...), so tests
  and callers can find traces without relying on their order.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.special import logsumexp

from tracelab.data import sample_rows
from tracelab.labs.em.mixture import weighted_log_prob
from tracelab.record.trace import Trace
from tracelab.plot import stepping
from tracelab.plot.scatter import GL_ABOVE, HOVER_TEXT_UP_TO, equal_scale
from tracelab.plot.scatter import ScatterContext as _ScatterContext
from tracelab.plot.scatter import means_context as _means_context
from tracelab.plot.scatter import all_means as _all_means
from tracelab.plot.scatter import cap_note as _cap_note
from tracelab.plot.scatter import check_selected as _check_selected
from tracelab.plot.scatter import column_names as _columns
from tracelab.plot.scatter import esc as _esc
from tracelab.plot.scatter import fmt as _fmt
from tracelab.plot.scatter import hover_texts as _hover_texts
from tracelab.plot.scatter import note as _note
from tracelab.plot.scatter import on_axes as _on_axes
from tracelab.plot.scatter import snapshot_responsibilities as _resp
from tracelab.plot.scatter import responsibility_parameters as _resp_params
from tracelab.plot.scatter import ring as _ring
from tracelab.plot.scatter import scatter_traces as _scatter_traces
from tracelab.plot.scatter import step_index as _step_index
from tracelab.plot.scatter import subplot_title as _subplot_title
from tracelab.plot.common import (
    climb_range,
    off_axis_note,
    phase_curve,
    value_axis,
    PALETTE,
    axis_range,
    blend,
    component_color,
    current_step_shapes,
    figure,
    panel_grid,
    rgba,
    subsample,
)

__all__ = [
    "GL_ABOVE",
    "step_charts",
    "density_1d",
    "equations_latex",
    "format_responsibility",
    "log_likelihood_curve",
    "parameters_table",
    "responsibilities_rows",
    "responsibilities_table",
    "responsibility_latex",
    "scatter_2d",
    "small_multiples",
    "step_title",
]

#: The responsibilities grid shows at most this many numbers (rows x columns): it is sent
#: again at every step, ~8 bytes a number.
RESPONSIBILITIES_GRID_MAX_VALUES = 50_000
#: The responsibilities CSV holds at most this many numbers: pandas writes about
#: 400 000 a second (shortest round-trip floats), so a file takes at most ~3 s and ~20 MB.
RESPONSIBILITIES_CSV_MAX_VALUES = 1_000_000
_PHASE_NAMES = {"init": "start", "E": "E-step", "M": "M-step"}


# --------------------------------------------------------------------------- helpers


def step_title(trace: Trace, step: int) -> str:
    """A short heading for a step, e.g. ``"Step 3 · E-step of iteration 2"``."""
    snap = trace.steps[_step_index(trace, step)]
    if snap.phase == "init":
        return f"Step {snap.index + 1} · start"
    name = _PHASE_NAMES.get(snap.phase, snap.phase)
    return f"Step {snap.index + 1} · {name} of iteration {snap.iteration}"


def scatter_2d(
    trace: Trace,
    step: int,
    *,
    axes: tuple[int, int] | str = (0, 1),
    color_by: str = "responsibilities",
    highlight_uncertain: bool = False,
    show_paths: bool = True,
    max_points: int = 50_000,
    seed: int = 0,
    selected: int | None = None,
    columns: Sequence[str] | None = None,
) -> go.Figure:
    """The data coloured by responsibilities, with each Gaussian's ellipses and mean.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.em.engine.trace_em`, with at least 2 features.
    step : int
        Index into ``trace.steps``.
    axes : (int, int) or "pca", default (0, 1)
        Two feature columns to draw, or ``"pca"`` for the first two principal
        axes of ``trace.X`` (means are projected, covariances become
        ``P^T Sigma P``).
    color_by : {"responsibilities", "labels"}
        Blend the component colours by each point's responsibilities, or use
        the colour of its most responsible component.
    highlight_uncertain : bool, default False
        Draw points whose largest responsibility is below 0.8 bigger, with a
        black outline.
    show_paths : bool, default True
        Draw each mean's path over the start and the M-steps up to ``step``.
    max_points : int, default 50_000
        Display cap: above it a seeded random subsample of exactly
        ``max_points`` rows is drawn, and a note says so.
    seed : int, default 0
        Seed of that subsample (the same rows at every step).
    selected : int, optional
        Row index of a point to ring.
    columns : sequence of str, optional
        Feature names for axis titles and hover; default
        ``trace.params["columns"]`` if present, else ``x1, x2, ...``.

    Returns
    -------
    plotly Figure
        Traces, in order: the points (one trace, ``customdata`` = row index),
        two ellipses (1 and 2 sigma) per component, one mean path per
        component (if ``show_paths``), the means, and the ring around
        ``selected``. Each has ``meta["role"]``. Axis ranges are fixed from the
        data and every step's means, and ``layout.uirevision`` depends only on
        ``axes``, so zoom survives a step.

    Notes
    -----
    On an M-step the points keep the colours of the responsibilities the M-step
    used (the E-step's before it, as ``snapshot.responsibilities`` gives them)
    while the ellipses and means show the new parameters: the picture shows the
    Gaussians moving to fit the colours.

    Cost grows with the drawn points (colour strings, and hover texts up to
    2 000 points); WebGL markers are used above 2 000 points.
    """
    step = _step_index(trace, step)
    ctx = _means_context(trace, axes, columns, max_points=max_points, seed=seed)
    traces = _scatter_traces(
        ctx, step, color_by=color_by, highlight_uncertain=highlight_uncertain,
        show_paths=show_paths, selected=selected,
    )
    return figure(traces, _scatter_layout(ctx, title=step_title(trace, step)))


#: Height (px) of the scatter: its plot area is about as tall as the lab's column is wide.
SCATTER_HEIGHT = 560
#: Above this ratio of the two axes' spans, an equal-scale chart says why it is so narrow.
LOPSIDED_ABOVE = 4.0


def _lopsided_note(xrange: Sequence[float], yrange: Sequence[float]) -> str | None:
    """A note when equal scale makes the plot a thin strip, or None."""
    sx, sy = xrange[1] - xrange[0], yrange[1] - yrange[0]
    if min(sx, sy) <= 0 or max(sx, sy) / min(sx, sy) <= LOPSIDED_ABOVE:
        return None
    return ("drawn to equal scale (one unit is as long on both axes); "
            "standardise the columns to compare them at one size")


def _legend_rows(ctx: _ScatterContext) -> int:
    """Rows of the horizontal legend under the scatter (four Gaussians a row)."""
    k = len(ctx.trace.steps[0].weights)
    return -(-k // 4)


def _scatter_layout(ctx: _ScatterContext, *, title: str | None) -> dict:
    annotations = []
    notes = [n for n in (_cap_note(len(ctx.idx), ctx.n) if len(ctx.idx) < ctx.n else None,
                         _lopsided_note(ctx.xrange, ctx.yrange)) if n]
    if notes:
        annotations.append(_note("; ".join(notes), x=1, y=1.0, xanchor="right", yanchor="bottom"))
    return {
        "title": {"text": title} if title else None,
        "xaxis": {"title": {"text": _esc(ctx.plane.xlabel)}, "range": ctx.xrange, "zeroline": False,
                  "constrain": "domain"},
        "yaxis": {"title": {"text": _esc(ctx.plane.ylabel)}, "range": ctx.yrange, "zeroline": False,
                  **equal_scale("x")},
        # Below the plot: with many Gaussians the rows of the legend would cover the title.
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 80 + 22 * _legend_rows(ctx)},
        # Tall enough that, drawn to equal scale, a square cloud fills the column's width.
        "height": SCATTER_HEIGHT,
        "annotations": annotations,
        "uirevision": f"em-scatter-{ctx.plane.key}",
        "hovermode": "closest",
    }


# -------------------------------------------------------------------------------- 1-D


def _grid_1d(x: np.ndarray, means: np.ndarray, sds: np.ndarray, n: int = 400) -> np.ndarray:
    """A grid wide enough to hold every component's mass, dense around each mean.

    Evenly spaced over the data (with margin) and mean +/- 6 sd, plus 121 points
    within +/- 6 sd of each mean, so a narrow component is still resolved and
    its curve integrates to its weight.
    """
    lo = min(float(x.min()), float(np.min(means - 6 * sds)))
    hi = max(float(x.max()), float(np.max(means + 6 * sds)))
    span = hi - lo if hi > lo else 1.0
    parts = [np.linspace(lo - 0.05 * span, hi + 0.05 * span, n)]
    local = np.linspace(-6.0, 6.0, 121)
    parts += [m + s * local for m, s in zip(means, sds)]
    return np.unique(np.concatenate(parts))


def _densities_1d(snap: Any, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Component curves pi_k N(x|mu_k, sigma_k^2), shape (G, k), and the mixture (G,)."""
    lwp = weighted_log_prob(grid[:, None], snap.means, snap.covariances, snap.weights)
    return np.exp(lwp), np.exp(logsumexp(lwp, axis=1))


def _sds_1d(snap: Any) -> np.ndarray:
    return np.sqrt(np.asarray(snap.covariances, dtype=np.float64)[:, 0, 0])


def _density_ymax(trace: Trace, x: np.ndarray, step: int) -> float:
    """A y-range top that stays put across steps, yet shows the current peak.

    Mixture peaks of every step, evaluated (vectorised) at the data grid and
    each step's means; the top is the largest of them, unless one step's spike
    (a collapsing component) would flatten every other step, in which case it
    is capped at 3 x the median peak and only that step's axis grows.
    """
    W = np.stack([np.asarray(s.weights, dtype=np.float64) for s in trace.steps])  # (S,k)
    Mu = np.stack([np.asarray(s.means, dtype=np.float64)[:, 0] for s in trace.steps])
    Sd = np.stack([_sds_1d(s) for s in trace.steps])
    lo, hi = float(x.min()), float(x.max())
    grid = np.linspace(lo, hi, 200)
    pts = np.concatenate([np.broadcast_to(grid, (len(W), grid.size)), Mu], axis=1)  # (S,G)
    z = (pts[:, :, None] - Mu[:, None, :]) / Sd[:, None, :]
    dens = (W[:, None, :] / (np.sqrt(2 * np.pi) * Sd[:, None, :]) * np.exp(-0.5 * z**2)).sum(-1)
    peaks = dens.max(axis=1)
    top = min(float(peaks.max()), 3.0 * float(np.median(peaks)))
    return 1.08 * max(top, float(peaks[step]))


def _density_traces(trace: Trace, snap: Any, grid: np.ndarray, idx: np.ndarray, *,
                    showlegend: bool = True) -> list[dict]:
    x = trace.X[:, 0]
    comps, mix = _densities_1d(snap, grid)
    k = comps.shape[1]
    out = []
    for j in range(k):
        c = component_color(j)
        out.append({
            "type": "scatter", "x": grid, "y": comps[:, j], "mode": "lines",
            "name": f"Gaussian {j + 1}", "legendgroup": f"g{j + 1}", "showlegend": showlegend,
            "line": {"color": c, "width": 2}, "fill": "tozeroy", "fillcolor": rgba(c, 0.12),
            "hovertemplate": f"π{j + 1}·N(x) = %{{y:.4g}} at x = %{{x:.4g}}<extra></extra>",
            "meta": {"role": "density", "k": j},
        })
    out.append({
        "type": "scatter", "x": grid, "y": mix, "mode": "lines", "name": "mixture",
        "showlegend": showlegend, "line": {"color": "black", "width": 2.5, "dash": "dot"},
        "hovertemplate": "p(x) = %{y:.4g} at x = %{x:.4g}<extra></extra>",
        "meta": {"role": "mixture"},
    })
    r = _resp(snap)[idx]
    rug = {
        "type": "scattergl" if len(idx) > GL_ABOVE else "scatter",
        "x": x[idx], "y": np.zeros(len(idx)), "mode": "markers", "name": "points",
        "showlegend": False, "customdata": idx,
        # an open symbol is stroked in marker.color: one colour list is enough
        "marker": {"symbol": "line-ns-open", "size": 16, "color": blend(r), "line": {"width": 2}},
        "meta": {"role": "rug"},
    }
    if len(idx) <= HOVER_TEXT_UP_TO:
        rug["hovertext"] = _hover_texts(r)
        rug["hovertemplate"] = "point #%{customdata}<br>x = %{x:.4g}<br>%{hovertext}<extra></extra>"
    else:
        rug["hovertemplate"] = "point #%{customdata}<br>x = %{x:.4g}<extra></extra>"
    out.append(rug)
    return out


def _bar_traces(trace: Trace, snap: Any, order: np.ndarray, selected: int | None) -> list[dict]:
    x = trace.X[:, 0]
    r = _resp(snap)[order]
    cats = [f"#{i}" for i in order.tolist()]
    width = None
    if selected is not None:
        width = np.where(order == selected, 2.5, 0.0)
    out = []
    for j in range(r.shape[1]):
        out.append({
            "type": "bar", "x": cats, "y": r[:, j], "name": f"r(k={j + 1})",
            "legendgroup": f"g{j + 1}", "showlegend": False, "customdata": order,
            "marker": {"color": component_color(j),
                       "line": {"color": "black", "width": 0 if width is None else width}},
            "hovertext": np.char.mod("%.4g", x[order]).tolist(),
            "hovertemplate": f"point #%{{customdata}} (x = %{{hovertext}})<br>r(k={j + 1}) = %{{y:.3f}}<extra></extra>",
            "xaxis": "x2", "yaxis": "y2",
            "meta": {"role": "resp-bar", "k": j},
        })
    return out


def _density_layout(cols: tuple[str, ...], xr: list[float], ymax: float,
                    n_bars: int, notes: list[str], title: str, uirevision: str) -> dict:
    annotations = [
        _subplot_title("densities π·N(x) and the mixture p(x)", 0.5, 1.0),
        _subplot_title("responsibilities of each point, ordered by value", 0.5, 0.30),
    ]
    if notes:
        annotations.append(_note("; ".join(notes), y=1.06))
    return {
        "title": {"text": title},
        "xaxis": {"domain": [0, 1], "anchor": "y", "range": xr, "zeroline": False,
                  "title": {"text": _esc(cols[0])}},
        "yaxis": {"domain": [0.55, 1.0], "anchor": "x", "range": [-0.04 * ymax, ymax],
                  "title": {"text": "density"}},
        "xaxis2": {"domain": [0, 1], "anchor": "y2", "type": "category",
                   "showticklabels": n_bars <= 40, "title": {"text": "points"}},
        "yaxis2": {"domain": [0.0, 0.29], "anchor": "x2", "range": [0, 1],
                   "title": {"text": "r"}},
        "barmode": "stack",
        "bargap": 0.15 if n_bars <= 40 else 0.0,
        "margin": {"l": 60, "r": 20, "t": 90, "b": 50},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.07, "xanchor": "right", "x": 1},
        "annotations": annotations,
        "uirevision": uirevision,
        "hovermode": "closest",
    }


def density_1d(
    trace: Trace,
    step: int,
    *,
    selected: int | None = None,
    max_points: int = 50_000,
    max_bars: int = 2_000,
    seed: int = 0,
    columns: Sequence[str] | None = None,
) -> go.Figure:
    """One feature: the weighted component densities, the mixture, and responsibilities.

    Top panel: each ``pi_k N(x | mu_k, sigma_k^2)`` and the mixture density
    ``sum_k pi_k N(...)`` on a grid (from :func:`tracelab.labs.em.engine.weighted_log_prob`),
    with the points as a rug at ``y = 0`` coloured by their blended
    responsibilities. Bottom panel: each point's responsibilities as a stacked
    bar, points ordered by value.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.em.engine.trace_em` on one feature.
    step : int
    selected : int, optional
        Row index of a point to mark (ring on the rug, outlined bar).
    max_points : int, default 50_000
        Display cap for the rug; ``max_bars`` (default 2 000) for the bars.
        Above a cap a seeded subsample is drawn and a note says so.
    max_bars : int, default 2_000
    seed : int, default 0
    columns : sequence of str, optional
        The feature's name, for the axis title.

    Returns
    -------
    plotly Figure
        Traces with ``meta["role"]`` "density" (one per component), "mixture",
        "rug", "resp-bar" (one per component, stacked, on ``x2``/``y2``) and
        "selected". The top panel's x-range, and its y-range unless one step
        spikes, stay fixed across steps.
    """
    step = _step_index(trace, step)
    if trace.X.shape[1] != 1:
        raise ValueError(f"density_1d draws one feature, but the data has {trace.X.shape[1]}; use scatter_2d")
    cols = _columns(trace, columns)
    snap = trace.steps[step]
    x = trace.X[:, 0]
    n = x.size
    idx = subsample(n, max_points, seed)
    bar_rows = subsample(n, max_bars, seed)
    order = bar_rows[np.argsort(x[bar_rows], kind="stable")]
    grid = _grid_1d(x, np.asarray(snap.means, dtype=np.float64)[:, 0], _sds_1d(snap))
    xr = axis_range(x, _all_means(trace)[:, :, 0])
    ymax = _density_ymax(trace, x, step)
    if selected is not None:
        selected = _check_selected(selected, n)
    traces = _density_traces(trace, snap, grid, idx) + _bar_traces(trace, snap, order, selected)
    if selected is not None:
        traces.append(_ring(x[selected], 0, selected))
    notes = []
    if len(idx) < n:
        notes.append(_cap_note(len(idx), n))
    if len(bar_rows) < n:
        notes.append(f"bars: {_cap_note(len(bar_rows), n)}")
    layout = _density_layout(cols, xr, ymax, len(order), notes,
                             step_title(trace, step), "em-density-1d")
    return figure(traces, layout)


# ---------------------------------------------------------------- log-likelihood curve

def log_likelihood_curve(trace: Trace, step: int) -> go.Figure:
    """The log-likelihood at every step, the EM lower bound, and the current step.

    Parameters
    ----------
    trace : Trace
    step : int

    Returns
    -------
    plotly Figure
        A thin line through every step's ``log_likelihood``; markers per phase
        (start: grey square, E: blue circle, M: orange diamond; ``meta["role"]``
        "ll") whose hover is the step's message; the lower bound of each M-step
        as a dashed line at x = (M-step index - 0.5), between that iteration's
        E and M markers ("lower-bound"); the layout's shapes mark the current
        step, a dotted vertical line and a ring (:func:`~tracelab.plot.common.current_step_shapes`). On a converged run, rings ("tol-compared") mark the two E-steps
        whose mean log-likelihoods the tol test compared. When the start lies far
        below the rest of the climb, the y-axis zooms on the later steps and a
        note ("off-axis") names the steps left below (unless the current step is
        one of those). Ticks are short whole numbers (:func:`value_axis`).
    """
    step = _step_index(trace, step)
    steps = trace.steps
    # Steps are numbered from 1 on screen, as in the player ("Step 2/41").
    xs = np.arange(len(steps)) + 1
    ll = np.array([float(s.log_likelihood) for s in steps])
    phases = np.array([s.phase for s in steps])
    messages = np.array([_esc(s.message) for s in steps], dtype=object)
    traces = phase_curve(xs, ll, phases, messages, what="log-likelihood", role="ll")
    # The bound of M-step t sits between the log-likelihoods of E-step t (where the
    # E-step made it tight) and M-step t (which it never exceeds): drawn half a step
    # before its M-step, so it shows between the two markers.
    lb = [(s.index + 0.5, float(s.lower_bound), s.iteration) for s in steps
          if s.phase == "M" and getattr(s, "lower_bound", None) is not None]
    if lb:
        lx, ly, lt = (list(v) for v in zip(*lb))
        traces.append({
            "type": "scatter", "x": lx, "y": ly, "mode": "lines+markers",
            "name": "EM lower bound 𝓛(q, θ)",
            "line": {"color": PALETTE[2], "dash": "dash", "width": 1.5},
            "marker": {"symbol": "diamond-open", "size": 8, "color": PALETTE[2]},
            "customdata": lt,
            "hovertemplate": "lower bound after the M-step of iteration %{customdata}: "
                             "%{y:.6g}<extra></extra>",
            "meta": {"role": "lower-bound"},
        })
    traces += _tol_compared_traces(trace, ll)
    yrange, zoomed = climb_range(ll, [y for _, y, _ in lb])
    if zoomed and ll[step] < yrange[0]:
        # The current step is one of those the zoom would hide: show the whole curve.
        yrange = _full_range(ll, [y for _, y, _ in lb])
    yaxis, left = value_axis(yrange[0], yrange[1], title="log-likelihood")
    annotations = []
    note = off_axis_note(ll, yaxis["range"], fmt=lambda v: _fmt(v, 6))
    if note is not None:
        annotations.append(note)
    return figure(traces, {
        # Room on the right for the rings of the last steps.
        "xaxis": {"title": {"text": "step"}, "range": [0.5, len(steps) + 0.9], "zeroline": False},
        "yaxis": yaxis,
        "annotations": annotations,
        "shapes": current_step_shapes(step + 1, float(ll[step])),
        # Under the plot: inside it, in the narrow side column, it covered the climb.
        # One entry a row: the side column can be 200 px narrow.
        "legend": {"orientation": "v", "yanchor": "top", "y": -0.14, "xanchor": "left", "x": 0,
                   "font": {"size": 11}, "tracegroupgap": 0},
        "height": 480,
        "margin": {"l": left, "r": 14, "t": 10, "b": 150},
        "uirevision": "em-loglik",
        "hovermode": "closest",
    })


def _full_range(ll: np.ndarray, bounds: list[float]) -> list[float]:
    allv = np.concatenate([ll, np.asarray(bounds, dtype=np.float64)])
    lo, hi = float(allv.min()), float(allv.max())
    pad = 0.06 * (hi - lo)
    return [lo - pad, hi + pad]


def tol_compared_steps(trace: Trace) -> tuple[int, int] | None:
    """The two steps whose log-likelihoods the convergence test compared, or None.

    scikit-learn's rule compares the mean log-likelihood scored by the last two
    E-steps (each scores the parameters of the M-step before it); the run's last
    M-step comes after the test. None when the run did not converge or has fewer
    than two E-steps.

    Returns
    -------
    (int, int) or None
        Step indices (0-based) of the earlier and the later E-step.
    """
    if not trace.converged:
        return None
    e_steps = [s.index for s in trace.steps if s.phase == "E"]
    if len(e_steps) < 2:
        return None
    return e_steps[-2], e_steps[-1]


def _tol_compared_traces(trace: Trace, ll: np.ndarray) -> list[dict]:
    """Rings on the two E-steps the convergence test compared (role "tol-compared")."""
    pair = tol_compared_steps(trace)
    if pair is None:
        return []
    n = trace.X.shape[0]
    a, b = pair
    text = [f"compared with tol = {trace.params.get('tol', '?')}: mean log-likelihood per point "
            f"{ll[i] / n:.6g}" for i in pair]
    return [{
        "type": "scatter", "x": [a + 1, b + 1], "y": [float(ll[a]), float(ll[b])],
        "mode": "markers", "name": "compared for tol",
        "marker": {"symbol": "circle-open", "size": 20, "color": "#C0392B", "line": {"width": 2}},
        "hovertext": text, "hovertemplate": "step %{x}: %{hovertext}<extra></extra>",
        "meta": {"role": "tol-compared", "steps": [a, b]},
    }]


# ----------------------------------------------------------------------- small multiples


def _small_multiple_panels(trace: Trace, iterations: Sequence[int]) -> tuple[list[tuple[int, str]], str | None]:
    """(step index, title) per panel, and a note if some iterations were clipped."""
    m_steps = {s.iteration: s.index for s in trace.steps if s.phase == "M"}
    last = max(m_steps) if m_steps else 0
    chosen: list[int] = []
    clipped: list[int] = []
    for L in iterations:
        L = int(L)
        if L < 1:
            raise ValueError(f"iterations should be at least 1, but got {L}")
        use = min(L, last)
        if use != L:
            clipped.append(L)
        if use >= 1 and use not in chosen:
            chosen.append(use)
    note = None
    if clipped:
        asked = ", ".join(str(c) for c in clipped)
        its = "iteration" if last == 1 else "iterations"
        verb = "shows" if len(clipped) == 1 else "show"
        note = (f"The run stopped after {last} {its}, so L = {asked} {verb} its last iteration."
                if last else f"The run has no iterations, so L = {asked} cannot be shown.")
    panels = [(0, "start")]
    for use in chosen:
        suffix = " (last)" if use == last and clipped else ""
        panels.append((m_steps[use], f"L = {use}{suffix}"))
    return panels, note


def small_multiples(
    trace: Trace,
    iterations: Sequence[int] = (1, 2, 5, 20),
    *,
    axes: tuple[int, int] | str = (0, 1),
    max_points: int = 5_000,
    seed: int = 0,
    columns: Sequence[str] | None = None,
) -> go.Figure:
    """Bishop's Fig. 9.8: the fit at the start and after the M-step of chosen iterations.

    Parameters
    ----------
    trace : Trace
    iterations : sequence of int, default (1, 2, 5, 20)
        Iteration numbers L (from 1). One past the run's last iteration shows
        the last one instead, titled "L = n (last)", with a note saying so;
        repeats after clipping are drawn once.
    axes : (int, int) or "pca", default (0, 1)
        As in :func:`scatter_2d` (ignored for one feature, where each panel
        shows the densities and the rug).
    max_points : int, default 5_000
        Display cap per panel (a seeded subsample, the same rows in every panel).
    seed : int, default 0
    columns : sequence of str, optional

    Returns
    -------
    plotly Figure
        Rows of panels (three to a row; four as two by two), the first titled "start", then "L = 1", ... (the
        titles are the first annotations, in panel order); every panel has the
        same axis ranges. Panel ``c`` (from 1) draws on axes ``x{c}``/``y{c}``
        (``x``/``y`` for the first).
    """
    panels, note = _small_multiple_panels(trace, iterations)
    # rows of three (Bishop's figure is two rows of three), four as two by two
    ncols = 2 if len(panels) == 4 else 3
    domains, plot_px = panel_grid(len(panels), ncols, panel_px=220, row_gap_px=75, col_gap=0.04)
    ncols = min(ncols, len(panels))
    n = trace.X.shape[0]
    traces: list[dict] = []
    if trace.X.shape[1] == 1:
        cols = _columns(trace, columns)
        x = trace.X[:, 0]
        idx = subsample(n, max_points, seed)
        xr = axis_range(x, _all_means(trace)[:, :, 0])
        ymax = max(_density_ymax(trace, x, s) for s, _ in panels)
        yr = [-0.04 * ymax, ymax]
        xlabel, ylabel = cols[0], "density"
        for c, (s, _) in enumerate(panels):
            snap = trace.steps[s]
            grid = _grid_1d(x, np.asarray(snap.means, dtype=np.float64)[:, 0], _sds_1d(snap))
            for tr in _density_traces(trace, snap, grid, idx, showlegend=c == 0):
                traces.append(_on_axes(tr, c))
    else:
        ctx = _means_context(trace, axes, columns, max_points=max_points, seed=seed)
        idx, xr, yr = ctx.idx, ctx.xrange, ctx.yrange
        xlabel, ylabel = ctx.plane.xlabel, ctx.plane.ylabel
        for c, (s, _) in enumerate(panels):
            for tr in _scatter_traces(ctx, s, show_paths=False, showlegend=c == 0, point_size=5):
                traces.append(_on_axes(tr, c))
    layout: dict[str, Any] = {}
    for c, (dom_x, dom_y) in enumerate(domains):
        sfx = "" if c == 0 else str(c + 1)
        first_col = c % ncols == 0
        layout[f"xaxis{sfx}"] = {"domain": dom_x, "anchor": f"y{sfx}", "range": xr,
                                 "zeroline": False, "title": {"text": _esc(xlabel)}}
        layout[f"yaxis{sfx}"] = {"domain": dom_y, "anchor": f"x{sfx}", "range": yr,
                                 "zeroline": False, "showticklabels": first_col,
                                 "title": {"text": _esc(ylabel)} if first_col else None}
        if trace.X.shape[1] > 1:
            # Ellipses: one unit as long on x as on y in every panel.
            layout[f"xaxis{sfx}"]["constrain"] = "domain"
            layout[f"yaxis{sfx}"].update(equal_scale(f"x{sfx}"))
        if c > 0:
            layout[f"yaxis{sfx}"]["matches"] = "y"
            layout[f"xaxis{sfx}"]["matches"] = "x"
    annotations = [{**_subplot_title(t, sum(domains[c][0]) / 2, domains[c][1][1]), "font": {"size": 13}}
                   for c, (_, t) in enumerate(panels)]
    notes = [note] if note else []
    if len(idx) < n:
        notes.append(_cap_note(len(idx), n) + " in each panel")
    if notes:
        # a line each, wrapped: a phone-wide chart holds about 45 characters
        # (no break inside "L = 20")
        lines = [textwrap.fill(text.replace(" = ", "\u00a0=\u00a0"), 45).replace("\n", "<br>").replace("\u00a0", " ")
                 for text in notes]
        annotations.append({**_note("<br>".join(lines), x=0, y=-60 / plot_px, xanchor="left", yanchor="top"),
                            "align": "left"})
    n_lines = sum(line.count("<br>") + 1 for line in lines) if notes else 0
    layout.update({
        "height": plot_px + 70 + 60 + 16 * n_lines + (10 if notes else 0),
        "margin": {"l": 60, "r": 20, "t": 70, "b": 60 + 16 * n_lines + (10 if notes else 0)},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1 + 38 / plot_px, "xanchor": "right", "x": 1},
        "annotations": annotations,
        "uirevision": "em-small-multiples",
        "hovermode": "closest",
    })
    return figure(traces, layout)


# -------------------------------------------------------------------------------- tables


def _component_names(k: int) -> list[str]:
    return [f"Gaussian {j + 1}" for j in range(k)]


def _parameter_columns(snap: Any, cols: tuple[str, ...]) -> dict[str, np.ndarray]:
    w = np.asarray(snap.weights, dtype=np.float64)
    mu = np.asarray(snap.means, dtype=np.float64)
    cov = np.asarray(snap.covariances, dtype=np.float64)
    d = mu.shape[1]
    out: dict[str, np.ndarray] = {"weight": w}
    for a in range(d):
        out[f"mean {cols[a]}"] = mu[:, a]
    for a in range(d):
        out[f"var {cols[a]}"] = cov[:, a, a]
    if d <= 3:
        for a in range(d):
            for b in range(a + 1, d):
                out[f"cov {cols[a]}, {cols[b]}"] = cov[:, a, b]
    return out


def parameters_table(trace: Trace, step: int, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Each Gaussian's parameters at ``step`` and how much they changed since the step before.

    Parameters
    ----------
    trace : Trace
    step : int
    columns : sequence of str, optional
        Feature names (default as in :func:`scatter_2d`).

    Returns
    -------
    DataFrame
        One row per component; columns ``component`` ("Gaussian 1", ...),
        ``weight, Δ weight, mean <col>, Δ mean <col>, ..., var <col>, Δ var <col>,
        ...`` and, for at most 3 features, ``cov <a>, <b>`` with its ``Δ``.
        Each ``Δ`` is this step's value minus the previous step's (NaN at the
        start; 0 after an E-step, which leaves the parameters alone).
    """
    step = _step_index(trace, step)
    cols = _columns(trace, columns)
    snap = trace.steps[step]
    now = _parameter_columns(snap, cols)
    before = _parameter_columns(trace.steps[step - 1], cols) if step > 0 else None
    data: dict[str, np.ndarray] = {}
    for name, v in now.items():
        data[name] = v
        data[f"Δ {name}"] = v - before[name] if before is not None else np.full(v.shape, np.nan)
    return pd.DataFrame({"component": _component_names(len(now["weight"])), **data})


def responsibilities_table(
    trace: Trace,
    step: int,
    columns: Sequence[str] | None = None,
    *,
    rows: Sequence[int] | np.ndarray | None = None,
) -> pd.DataFrame:
    """The lesson's table: each point, its coordinates and its responsibilities.

    Parameters
    ----------
    trace : Trace
    step : int
    columns : sequence of str, optional
        Feature names for the coordinate columns.
    rows : sequence of int, optional
        Row indices to include (default: all).

    Returns
    -------
    DataFrame
        Columns ``point`` (0-based row index), one per feature, then
        ``r(k=1)``, ..., ``r(k=K)``. A feature whose name is already taken
        (``"point"``, ``"r(k=1)"``, an earlier feature) is shown as ``"name (x)"``.
    """
    step = _step_index(trace, step)
    cols = _columns(trace, columns)
    resp = _resp(trace.steps[step])
    rows_arr = np.arange(trace.X.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    resp_names = [f"r(k={j + 1})" for j in range(resp.shape[1])]
    data: dict[str, Any] = {"point": rows_arr}
    for a, name in enumerate(_feature_names(cols, {"point", *resp_names})):
        data[name] = trace.X[rows_arr, a]
    for j, name in enumerate(resp_names):
        data[name] = resp[rows_arr, j]
    return pd.DataFrame(data)


def responsibilities_rows(trace: Trace, max_values: int, seed: int = 0) -> np.ndarray:
    """The rows a table of :func:`responsibilities_table` keeps within ``max_values`` numbers.

    Parameters
    ----------
    trace : Trace
        An EM trace.
    max_values : int
        At most this many numbers in the table: rows x (1 + n_features + n_components).
    seed : int, default 0

    Returns
    -------
    ndarray of int, sorted
        Every row, or the same seeded random sample of them (:func:`tracelab.data.sample_rows`).
    """
    n, d = trace.X.shape
    per_row = 1 + d + int(trace.steps[0].n_components)
    return sample_rows(n, max(1, int(max_values) // per_row), seed)


def _feature_names(cols: Sequence[str], reserved: set[str]) -> list[str]:
    """Distinct column names for the features, none of them in ``reserved``.

    A feature named like a column the table adds ("point", "r(k=1)") or like an
    earlier feature gets " (x)" appended, then a number, until it is free.
    """
    taken = set(reserved)
    names = []
    for c in cols:
        name = c
        if name in taken:
            name = f"{c} (x)"
            extra = 2
            while name in taken:
                name = f"{c} (x{extra})"
                extra += 1
        taken.add(name)
        names.append(name)
    return names


# ------------------------------------------------------------------------------- LaTeX


def _tex_text(s: str) -> str:
    """A user string (e.g. a CSV column name) made safe inside ``\\text{...}``."""
    repl = {
        "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
        "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    }
    return "".join(repl.get(ch, ch) for ch in str(s))


def _tex_log(logv: float, sig: int = 4) -> str:
    """A positive number given by its natural log, in LaTeX, ``sig`` significant digits.

    Plain form between 1e-3 and 1e5, else ``m \\times 10^{e}``; working from the
    log keeps densities far below the smallest float (exp(-800)) printable.
    """
    if logv == -math.inf:
        return "0"
    l10 = logv / math.log(10.0)
    e = math.floor(l10)
    m = 10.0 ** (l10 - e)
    m_str = f"{m:.{sig - 1}f}"
    if float(m_str) >= 10.0:  # rounding carried into the next power
        e += 1
        m_str = f"{m / 10:.{sig - 1}f}"
    if -3 <= e < 5:
        # "#" keeps trailing zeros (0.1600, not 0.16): every number shows `sig` digits.
        return f"{float(m_str) * 10.0 ** e:#.{sig}g}".rstrip(".")
    return rf"{m_str} \times 10^{{{e}}}"


#: JavaScript writes a number in exponent notation below this magnitude ("1.626e-7") ...
SCIENTIFIC_BELOW = 1e-6
#: ... and from this one on ("1e+21"); between them it writes every digit ("0.000001626").
SCIENTIFIC_FROM = 1e21
#: Significant digits of every responsibility the lab writes (the grid's ``"%.4g"``).
RESPONSIBILITY_DIGITS = 4
#: The responsibilities grid's number format: :func:`format_responsibility` writes the same.
RESPONSIBILITY_FORMAT = f"%.{RESPONSIBILITY_DIGITS}g"


def format_responsibility(r: float, *, latex: bool = False) -> str:
    """A responsibility as every table and formula of the lab writes it: 4 significant digits.

    Exactly what the responsibilities grid shows for :data:`RESPONSIBILITY_FORMAT`
    (``"%.4g"``): Streamlit formats it with sprintf-js, whose ``%g`` is JavaScript's
    ``String(Number(r.toPrecision(4)))``. So trailing zeros go and JavaScript's
    notation rules apply: ``0.5 -> "0.5"``, ``1 -> "1"``, ``0.5476 -> "0.5476"``,
    ``1.626e-6 -> "0.000001626"``, ``1.626e-7 -> "1.626e-7"`` (exponent notation
    below :data:`SCIENTIFIC_BELOW` and from :data:`SCIENTIFIC_FROM` on, exponents
    unpadded, ``"e+21"`` above), ``3e-20 -> "3e-20"``, ``0 -> "0"``. Rounding is
    ``toPrecision``'s: of the exact binary value, halfway cases away from zero
    (``0.015625 -> "0.01563"``, where Python's ``"%.4g"`` gives ``"0.01562"``).
    One function, so the grid, the r_ik formula and the home page's caption show
    the same characters.

    Parameters
    ----------
    r : float
        In [0, 1].
    latex : bool, default False
        For ``st.latex``: the same characters, the exponent set upright
        (``1.626\\mathrm{e}{-7}``).

    Returns
    -------
    str
    """
    r = float(r)
    if not math.isfinite(r):
        return "NaN" if r != r else ("Infinity" if r > 0 else "-Infinity")
    if r == 0:
        return "0"  # JavaScript writes -0 as "0" too
    sign = "-" if r < 0 else ""
    exact = Decimal(abs(r))  # the double's exact value: toPrecision rounds that, not a repr
    # toPrecision(4): the exact value rounded to 4 significant digits, halfway away from zero
    last_digit = Decimal(1).scaleb(exact.adjusted() + 1 - RESPONSIBILITY_DIGITS)
    rounded = exact.quantize(last_digit, rounding=ROUND_HALF_UP)
    # Number() then String(): the double nearest the rounded digits, written with the
    # shortest digits that read back as it (Python's repr finds the same ones). Only
    # at the ends of the float range do they differ from the rounded digits.
    value = float(rounded)
    if math.isinf(value):
        return sign + "Infinity"
    shortest = Decimal(repr(value)).normalize()
    digits = "".join(map(str, shortest.as_tuple().digits))
    e = shortest.adjusted()
    if Decimal(str(SCIENTIFIC_BELOW)) <= Decimal(1).scaleb(e) < Decimal(str(SCIENTIFIC_FROM)):
        if e < 0:
            body = "0." + "0" * (-e - 1) + digits
        elif len(digits) <= e + 1:
            body = digits + "0" * (e + 1 - len(digits))
        else:
            body = digits[: e + 1] + "." + digits[e + 1:]
        return sign + body
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exponent = f"{'+' if e > 0 else '-'}{abs(e)}"
    if latex:
        return rf"{sign}{head}\mathrm{{e}}{{{exponent}}}"
    return f"{sign}{head}e{exponent}"


def responsibility_latex(
    trace: Trace,
    step: int,
    i: int,
    columns: Sequence[str] | None = None,
    *,
    digits: int = 4,
) -> str:
    """Bayes' rule for point ``i`` with this step's numbers filled in, for ``st.latex``.

    For every component k: the numerator ``pi_k N(x_i | mu_k, Sigma_k)`` as
    ``pi_k x N = value``, then the denominator (their sum), then
    ``r_ik = numerator / denominator``. Densities come from
    :func:`tracelab.labs.em.engine.weighted_log_prob`, so the results are the snapshot's
    ``responsibilities``. On an M-step those are the responsibilities the
    M-step was computed from, i.e. with the parameters of the E-step before it
    (``resp_means`` ...), and a last line says so.

    Parameters
    ----------
    trace : Trace
    step : int
    i : int
        Row index of the point (0-based, as in the tables and ``customdata``).
    columns : sequence of str, optional
        Feature names, to label the point's coordinates.
    digits : int, default 4
        Significant digits of every printed number.

    Returns
    -------
    str
        A ``\\begin{aligned} ... \\end{aligned}`` block.
    """
    step = _step_index(trace, step)
    n = trace.X.shape[0]
    if not isinstance(i, (int, np.integer)) or isinstance(i, bool) or not 0 <= i < n:
        raise IndexError(f"i should be a row index between 0 and {n - 1}, but got {i!r}")
    i = int(i)
    cols = _columns(trace, columns)
    x = trace.X[i]
    means, covariances, weights, source = _resp_params(trace, step)
    lwp = weighted_log_prob(x[None, :], means, covariances, weights)[0]  # (k,)
    lden = float(logsumexp(lwp))
    log_r = lwp - lden
    k = lwp.size
    with np.errstate(divide="ignore"):
        log_pdf = lwp - np.log(weights)
    sub = f"{i}"
    # Coordinates and weights as the grid and the parameters table beside the formula write them.
    coords = r",\ ".join(rf"\text{{{_tex_text(c)}}} = {format_responsibility(float(v), latex=True)}"
                         for c, v in zip(cols, x))
    lines = [
        rf"r_{{{sub},k}} &= \frac{{\pi_k\,\mathcal{{N}}(x_{{{sub}}} \mid \mu_k, \Sigma_k)}}"
        rf"{{\sum_{{j=1}}^{{{k}}} \pi_j\,\mathcal{{N}}(x_{{{sub}}} \mid \mu_j, \Sigma_j)}}",
        # On its own line: beside the fraction it ran off narrow screens.
        rf"x_{{{sub}}} &= ({coords})",
    ]
    for j in range(k):
        lines.append(
            rf"\pi_{{{j + 1}}}\,\mathcal{{N}}(x_{{{sub}}} \mid \mu_{{{j + 1}}}, \Sigma_{{{j + 1}}}) &= "
            rf"{format_responsibility(float(weights[j]), latex=True)} \times {_tex_log(float(log_pdf[j]), digits)}"
            rf" = {_tex_log(float(lwp[j]), digits)}"
        )
    terms = " + ".join(_tex_log(float(v), digits) for v in lwp)
    lines.append(
        rf"\textstyle\sum_j \pi_j\,\mathcal{{N}}(x_{{{sub}}} \mid \mu_j, \Sigma_j) &= {terms}"
        rf" = {_tex_log(lden, digits)}"
    )
    for j in range(k):
        # Written exactly as the responsibilities table writes it (format_responsibility).
        r_j = math.exp(float(log_r[j]))
        lines.append(
            rf"r_{{{sub},{j + 1}}} &= \frac{{{_tex_log(float(lwp[j]), digits)}}}{{{_tex_log(lden, digits)}}}"
            rf" = {format_responsibility(r_j, latex=True)}"
        )
    if source is not None:
        lines.append(rf"&\text{{(this M-step used the responsibilities of step {source + 1}, "
                     rf"computed with that step's parameters)}}")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def equations_latex(phase: str, covariance_type: str = "full") -> list[tuple[str, str, bool]]:
    """The E-step and M-step equations, with the ones behind ``phase`` highlighted.

    Parameters
    ----------
    phase : {"init", "E", "M"}
        The step's phase: "E" highlights the responsibilities, "M" the four
        M-step updates, "init" none.
    covariance_type : str, default "full"
        Picks the covariance update shown: "full", "diag", "spherical", "tied",
        or "fixed" (variances held at a given value, not updated).

    Returns
    -------
    list of (title, latex, highlighted)
        Five entries: responsibilities r_ik, N_k, pi_k, mu_k, Sigma_k.
    """
    if phase not in ("init", "E", "M"):
        raise ValueError(f'phase should be "init", "E" or "M", but got {phase!r}')
    sigma = {
        "full": r"\Sigma_k = \frac{1}{N_k} \sum_{i=1}^{n} r_{ik}\,(x_i - \mu_k)(x_i - \mu_k)^\top",
        "diag": r"\sigma_{kd}^2 = \frac{1}{N_k} \sum_{i=1}^{n} r_{ik}\,(x_{id} - \mu_{kd})^2,"
                r"\quad \Sigma_k = \operatorname{diag}(\sigma_{k1}^2, \dots, \sigma_{kD}^2)",
        "spherical": r"\sigma_k^2 = \frac{1}{D\,N_k} \sum_{i=1}^{n} r_{ik}\,\lVert x_i - \mu_k \rVert^2,"
                     r"\quad \Sigma_k = \sigma_k^2 I",
        "tied": r"\Sigma = \frac{1}{n} \sum_{k=1}^{K} \sum_{i=1}^{n} r_{ik}\,(x_i - \mu_k)(x_i - \mu_k)^\top",
        "fixed": r"\Sigma_k = \sigma^2 I \quad \text{(fixed, not updated)}",
    }
    if covariance_type not in sigma:
        raise ValueError(f"covariance_type should be one of {', '.join(sigma)}, but got {covariance_type!r}")
    e, m = phase == "E", phase == "M"
    return [
        ("E-step: responsibilities",
         r"r_{ik} = \frac{\pi_k\,\mathcal{N}(x_i \mid \mu_k, \Sigma_k)}"
         r"{\sum_{j=1}^{K} \pi_j\,\mathcal{N}(x_i \mid \mu_j, \Sigma_j)}", e),
        ("M-step: effective number of points", r"N_k = \sum_{i=1}^{n} r_{ik}", m),
        ("M-step: mixing weights", r"\pi_k = \frac{N_k}{n}", m),
        ("M-step: means", r"\mu_k = \frac{1}{N_k} \sum_{i=1}^{n} r_{ik}\, x_i", m),
        ("M-step: covariances", sigma[covariance_type], m),
    ]


# -------------------------------------------------------------------------- stepping


def step_charts(
    trace: Trace,
    *,
    axes: tuple[int, int] | str = (0, 1),
    color_by: str = "responsibilities",
    highlight_uncertain: bool = False,
    columns: Sequence[str] | None = None,
) -> stepping.StepSpec:
    """The EM lab's charts for the browser player, every step at once.

    The scatter with ellipses (or, for one feature, the densities and the
    responsibilities' bars) and the log-likelihood curve, as in
    :func:`scatter_2d` / :func:`density_1d` and :func:`log_likelihood_curve`.
    The selected point's ring is drawn by the player, so choosing a point
    does not redraw every step.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.em.engine.trace_em`.
    axes, color_by, highlight_uncertain, columns
        As for :func:`scatter_2d` (ignored for one feature but ``columns``).

    Returns
    -------
    StepSpec
        Within :data:`tracelab.plot.stepping.MAX_SPEC_BYTES`: a large data set
        draws a seeded random sample of points (the same on every step), a long
        run every m-th step; notes say so.
    """
    n, d = trace.X.shape
    max_points = stepping.point_budget(n, len(trace))
    if d == 1:
        def main(s: int) -> go.Figure:
            return density_1d(trace, s, columns=columns, max_points=max_points, max_bars=max_points)
    else:
        def main(s: int) -> go.Figure:
            return scatter_2d(trace, s, axes=axes, color_by=color_by, highlight_uncertain=highlight_uncertain,
                              max_points=max_points, columns=columns)
    return stepping.build_spec(
        [main, lambda s: log_likelihood_curve(trace, s)], [snap.message for snap in trace.steps]
    )
