"""Views of EM for two coins: the paper's table of expected heads, and EM climbing the likelihood.

:func:`sets_table` is Do & Batzoglou's figure as a table: per set of tosses,
P(coin A) and P(coin B), and the heads and tails each coin is expected to have
made. :func:`likelihood_surface` draws the log-likelihood over every pair
(θ_A, θ_B) in the unit square, with EM's path up to a step: the hill it climbs,
and the second, mirrored hill where the coins' names are swapped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.special import gammaln

from tracelab.labs.coins.engine import e_step
from tracelab.labs.em.views import log_likelihood_curve
from tracelab.plot import scatter as kit
from tracelab.plot import stepping
from tracelab.plot.common import as_figure, component_color, figure, figure_dict
from tracelab.record.trace import Trace

__all__ = ["image_responsibilities", "image_shape", "likelihood_surface", "means_images", "sets_table",
           "step_charts", "top_images"]

# The surface's colours span this many units of log-likelihood below its top.
_SPAN = 20.0
# A step's phase as its chart's title says it.
_PHASES = {"init": "start", "E": "E-step", "M": "M-step"}


def _check(trace: Trace) -> None:
    if trace.algorithm != "binomial_em":
        raise ValueError(f"these views draw a binomial EM trace, but got a {trace.algorithm!r} trace")


def _letter(j: int) -> str:
    return chr(ord("A") + j) if j < 26 else str(j + 1)


def sets_table(trace: Trace, step: int) -> pd.DataFrame:
    """Each set of tosses at ``step``: its heads and tails, P(coin) and each coin's expected share.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.coins.engine.trace_binomial_em`.
    step : int

    Returns
    -------
    DataFrame
        One row per set, then a "total" row; columns ``set`` (from 1), ``heads``,
        ``tails``, then for each coin X: ``P(coin X)``, ``X heads`` and ``X tails``
        (the set's heads and tails times P(coin X)). Expected heads over expected
        tosses in the total row are the next M-step's θ.
    """
    _check(trace)
    snap = trace.steps[kit.step_index(trace, step)]
    # whole numbers (the engine checked them), shown as such
    heads, trials = trace.X[:, 0].astype(np.int64), trace.X[:, 1].astype(np.int64)
    tails = trials - heads
    r = np.asarray(snap.responsibilities, dtype=np.float64)
    data: dict[str, object] = {"set": [str(i + 1) for i in range(len(heads))] + ["total"],
                               "heads": np.append(heads, heads.sum()), "tails": np.append(tails, tails.sum())}
    for j in range(r.shape[1]):
        c = _letter(j)
        data[f"P(coin {c})"] = np.append(r[:, j], np.nan)
        data[f"{c} heads"] = np.append(r[:, j] * heads, (r[:, j] * heads).sum())
        data[f"{c} tails"] = np.append(r[:, j] * tails, (r[:, j] * tails).sum())
    return pd.DataFrame(data)


def _surface(heads: np.ndarray, trials: np.ndarray, weights: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """log-likelihood (up to the binomial coefficients) at every (θ_A, θ_B) of ``grid``, shape (g, g)."""
    logp, log1mp = np.log(grid), np.log1p(-grid)
    per_coin = heads[:, None] * logp + (trials - heads)[:, None] * log1mp  # (n, g)
    a = np.log(weights[0]) + per_coin[:, None, :]  # coin A along x (last axis)
    b = np.log(weights[1]) + per_coin[:, :, None]  # coin B along y
    return np.logaddexp(a, b).sum(axis=0)


def likelihood_surface(trace: Trace, step: int, *, grid: int = 99) -> go.Figure:
    """The log-likelihood over (θ_A, θ_B) with EM's path up to ``step``, to equal scale.

    Parameters
    ----------
    trace : Trace
        A two-coin :func:`~tracelab.labs.coins.engine.trace_binomial_em` trace.
    step : int
    grid : int, default 99
        Values of each θ, evenly spaced inside (0, 1).

    Returns
    -------
    plotly Figure
        Traces (``meta["role"]``): "surface" (contour of the log-likelihood under
        the step's weights, binomial coefficients included), "path" (θ after
        the start and every M-step up to ``step``), "current", and "mirror"
        (the same point with the coins' names swapped: equally likely when the
        weights are equal, the second hill). The title says which weights the surface holds.
    """
    return as_figure(_surface_at(trace, step, _surface_prep(trace, grid)))


def _surface_prep(trace: Trace, grid: int) -> dict[str, Any]:
    """What every step's surface shares: the grid, and each set of weights' surface once."""
    _check(trace)
    if trace.params["n_components"] != 2:
        raise ValueError("the likelihood surface is drawn for two coins")
    heads, trials = trace.X[:, 0], trace.X[:, 1]
    # the binomial coefficients shift every value alike; added so the values read as the trace's
    log_choose = float(np.sum(gammaln(trials + 1) - gammaln(heads + 1) - gammaln(trials - heads + 1)))
    return {"theta": np.linspace(0.0, 1.0, grid + 2)[1:-1], "log_choose": log_choose, "z": {}}


def _surface_at(trace: Trace, step: int, prep: dict[str, Any], *, typed: bool = False) -> dict[str, Any]:
    """:func:`likelihood_surface` at ``step`` as a figure dict (``typed``: arrays as the browser gets them)."""
    s = kit.step_index(trace, step)
    snap = trace.steps[s]
    theta = prep["theta"]
    weights = np.asarray(snap.weights, dtype=np.float64)
    # with the weights held (as in the paper) one surface serves every step
    z = prep["z"].get(weights.tobytes())
    if z is None:
        z = _surface(trace.X[:, 0], trace.X[:, 1], weights, theta) + prep["log_choose"]
        prep["z"][weights.tobytes()] = z
    top = float(np.ceil(z.max()))
    shown = [t for t in range(s + 1) if trace.steps[t].phase in ("init", "M")]
    path = np.array([np.asarray(trace.steps[t].means, dtype=np.float64) for t in shown])
    here = np.asarray(snap.means, dtype=np.float64)
    fixed = trace.params.get("fixed_weights")
    held = "held" if fixed else "at this step"
    traces = [
        # coloured over the top 20 units only: far from the hills the log-likelihood plunges
        # (to about -200 near a corner) and would leave every hill the same colour
        {"type": "contour", "x": theta, "y": theta, "z": z, "colorscale": "Greys", "zauto": False,
         "zmin": top - _SPAN, "zmax": top,
         "contours": {"coloring": "heatmap", "showlines": True, "start": top - _SPAN, "end": top, "size": 1.0},
         "colorbar": {"title": {"text": "log-likelihood", "side": "right"}, "thickness": 12},
         "hovertemplate": "θ_A = %{x:.2f}<br>θ_B = %{y:.2f}<br>log-likelihood %{z:.4g}<extra></extra>",
         "meta": {"role": "surface"}, "name": "log-likelihood"},
        {"type": "scatter", "x": path[:, 0], "y": path[:, 1], "mode": "lines+markers", "name": "EM's path",
         "line": {"color": component_color(0), "width": 2}, "marker": {"size": 6},
         "customdata": [t + 1 for t in shown],
         "hovertemplate": "step %{customdata}<br>θ_A = %{x:.3f}, θ_B = %{y:.3f}<extra></extra>",
         "meta": {"role": "path"}},
        {"type": "scatter", "x": [here[0]], "y": [here[1]], "mode": "markers", "name": f"step {s + 1}",
         "marker": {"size": 13, "symbol": "x", "color": component_color(1), "line": {"width": 1, "color": "black"}},
         "hovertemplate": "this step: θ_A = %{x:.3f}, θ_B = %{y:.3f}<extra></extra>", "meta": {"role": "current"}},
        {"type": "scatter", "x": [here[1]], "y": [here[0]], "mode": "markers", "name": "the same fit, coins swapped",
         "marker": {"size": 11, "symbol": "circle-open", "color": component_color(1), "line": {"width": 2}},
         "hovertemplate": "the same fit, coins swapped: θ_A = %{x:.3f}, θ_B = %{y:.3f}<extra></extra>",
         "meta": {"role": "mirror"}},
    ]
    w = " / ".join(f"{v:.2f}" for v in weights)
    layout = {
        "title": {"text": f"Step {s + 1} · {_PHASES.get(snap.phase, snap.phase)}: the log-likelihood over "
                          f"(θ_A, θ_B)<br><sup>weights {held} {w}</sup>", "font": {"size": 14}},
        "xaxis": {"title": {"text": "θ_A"}, "range": [0, 1], "constrain": "domain", "zeroline": False},
        "yaxis": {"title": {"text": "θ_B"}, "range": [0, 1], "zeroline": False, **kit.equal_scale("x")},
        # room on the right for the colour bar and below for the legend (margins do not grow)
        "height": 580, "margin": {"l": 60, "r": 110, "t": 70, "b": 140},
        "legend": {"orientation": "h", "x": 0, "y": -0.16, "yanchor": "top"},
        "uirevision": "coins-surface",
    }
    return figure_dict(traces, layout, typed=typed)


def image_shape(n_features: int) -> tuple[int, int]:
    """How a vector of ``n_features`` pixels is drawn: a square when it is one (64 -> 8 × 8), else one row."""
    side = int(round(math.sqrt(n_features)))
    return (side, side) if side * side == n_features else (1, n_features)


def _image_panels(images: np.ndarray, titles: list[str], *, ncols: int,
                  gap: int = 3) -> tuple[list[dict], dict[str, Any]]:
    """Binary-image small multiples as one heatmap, white 0 to black 1, to equal scale.

    One heatmap on one pair of axes, the images in rows of ``ncols`` with ``gap``
    blank pixels between them (room above each for its title): the equal scale
    then holds however wide the chart is drawn, and each title, placed in the
    data's own coordinates, stays on its image.

    Returns
    -------
    traces, layout
        The heatmap, and the layout's axes and annotations.
    """
    h, w = image_shape(images.shape[1])
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    z = np.full((nrows * (h + gap), ncols * (w + 1) - 1), np.nan)
    notes = []
    for c, img in enumerate(images):
        row, col = divmod(c, ncols)
        top, left = row * (h + gap) + gap, col * (w + 1)
        z[top:top + h, left:left + w] = np.asarray(img, dtype=np.float64).reshape(h, w)
        notes.append({"text": titles[c], "x": left + (w - 1) / 2, "y": top - 0.6, "xref": "x", "yref": "y",
                      "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 12}})
    trace = {"type": "heatmap", "z": z, "zmin": 0.0, "zmax": 1.0, "colorscale": [[0.0, "white"], [1.0, "black"]],
             "showscale": False, "hoverongaps": False,
             "hovertemplate": "pixel probability %{z:.2f}<extra></extra>"}
    layout = {
        "xaxis": {"visible": False, "constrain": "domain", "range": [-0.5, z.shape[1] - 0.5]},
        # row 0 at the top, as an image is written; pixels square
        "yaxis": {"visible": False, "range": [z.shape[0] - 0.5, -0.5], "scaleanchor": "x", "scaleratio": 1,
                  "constrain": "domain"},
        "annotations": notes,
    }
    return [trace], layout


def means_images(trace: Trace, step: int) -> go.Figure:
    """Each component's pixel probabilities at ``step``, drawn as an image (white 0, black 1).

    Parameters
    ----------
    trace : Trace
        From :func:`~tracelab.labs.coins.engine.trace_bernoulli_em`.
    step : int

    Returns
    -------
    plotly Figure
        One heatmap per component (``z`` the means, shape of :func:`image_shape`),
        titled with its weight; to equal scale, rows of at most five.
    """
    return as_figure(_means_at(trace, step))


def _means_at(trace: Trace, step: int, *, typed: bool = False) -> dict[str, Any]:
    if trace.algorithm != "bernoulli_em":
        raise ValueError(f"these images draw a Bernoulli EM trace, but got a {trace.algorithm!r} trace")
    s = kit.step_index(trace, step)
    snap = trace.steps[s]
    means = np.asarray(snap.means, dtype=np.float64)
    weights = np.asarray(snap.weights, dtype=np.float64)
    titles = [f"{j + 1} · α {weights[j]:.2f}" for j in range(means.shape[0])]
    traces, layout = _image_panels(means, titles, ncols=5)
    title = f"Step {s + 1} · {_PHASES.get(snap.phase, snap.phase)}<br><sup>each component's pixel probabilities</sup>"
    # as tall as the curve beside it: the two share a row in the player
    return figure_dict(traces, {**layout, "title": {"text": title, "font": {"size": 14}},
                                "height": 480, "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
                                "uirevision": "coins-means"}, typed=typed)



def top_images(trace: Trace, step: int, *, per_component: int = 6, labels: Sequence[str] | None = None) -> go.Figure:
    """For each component, the images it takes the most responsibility for at ``step``.

    Parameters
    ----------
    trace : Trace
        From :func:`~tracelab.labs.coins.engine.trace_bernoulli_em`.
    step : int
    per_component : int
        Images per component (one row each).
    labels : sequence of str, optional
        What each image shows (e.g. the digit), named in its title; never seen by EM.

    Returns
    -------
    plotly Figure
        Row j: component j's images, highest r_ij first, each titled with its row
        (from 1), its label if given and its r_ij; the first also names the component.
    """
    if trace.algorithm != "bernoulli_em":
        raise ValueError(f"these images draw a Bernoulli EM trace, but got a {trace.algorithm!r} trace")
    snap = trace.steps[kit.step_index(trace, step)]
    r = np.asarray(snap.responsibilities, dtype=np.float64)
    k, m = r.shape[1], min(per_component, r.shape[0])
    rows = np.argsort(-r, axis=0, kind="stable")[:m].T  # (k, m)
    # the row's component named on its first image
    titles = [(f"<b>{j + 1}</b>: " if c == 0 else "") + f"#{i + 1}" + (f" {labels[i]}" if labels is not None else "")
              + f"<br>r {r[i, j]:.2f}" for j in range(k) for c, i in enumerate(rows[j])]
    traces, layout = _image_panels(trace.X[rows.ravel()], titles, ncols=m, gap=4)
    return figure(traces, {**layout, "height": 60 + 150 * k, "margin": {"l": 30, "r": 10, "t": 50, "b": 10},
                           "title": {"text": "The images each component takes most responsibility for "
                                             "(one row per component)", "font": {"size": 14}}})


def image_responsibilities(trace: Trace, step: int, row: int) -> pd.DataFrame:
    """One image's r_ij under ``step``'s parameters, beside each component's weight.

    Under this step's μ and α: at an E-step, the step's own responsibilities; at
    an M-step, those the next E-step will compute from the new parameters.

    Returns
    -------
    DataFrame
        Columns ``component`` (from 1), ``weight`` (α_j) and ``r`` (this image's responsibility).
    """
    snap = trace.steps[kit.step_index(trace, step)]
    weights = np.asarray(snap.weights, dtype=np.float64)
    means = np.asarray(snap.means, dtype=np.float64).reshape(weights.shape[0], -1)
    x = np.asarray(trace.X[int(row)], dtype=np.float64)[None, :]
    r, _ = e_step(x, np.ones_like(x), means, weights)
    return pd.DataFrame({"component": np.arange(1, weights.shape[0] + 1), "weight": weights, "r": r[0]})


def step_charts(trace: Trace, *, grid: int = 99) -> stepping.StepSpec:
    """The coins lab's charts for the browser player, every step at once.

    Two coins: the likelihood surface with EM's path, and the log-likelihood
    curve. More coins: the curve. Binary images: each component's mean as an
    image, and the curve.

    Parameters
    ----------
    trace : Trace
        From :func:`~tracelab.labs.coins.engine.trace_binomial_em` or
        :func:`~tracelab.labs.coins.engine.trace_bernoulli_em`.
    grid : int
        As for :func:`likelihood_surface`.

    Returns
    -------
    StepSpec
    """
    curve = lambda s: log_likelihood_curve(trace, s)  # noqa: E731
    if trace.algorithm == "bernoulli_em":
        views = [lambda s: _means_at(trace, s, typed=True), curve]
    elif trace.params["n_components"] == 2:
        prep = _surface_prep(trace, grid)
        views = [lambda s: _surface_at(trace, s, prep, typed=True), curve]
    else:
        views = [curve]
    return stepping.build_spec(views, [snap.message for snap in trace.steps])
