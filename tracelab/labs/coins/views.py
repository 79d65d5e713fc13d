"""Views of EM for two coins: the paper's table of expected heads, and EM climbing the likelihood.

:func:`sets_table` is Do & Batzoglou's figure as a table: per set of tosses,
P(coin A) and P(coin B), and the heads and tails each coin is expected to have
made. :func:`likelihood_surface` draws the log-likelihood over every pair
(θ_A, θ_B) in the unit square, with EM's path up to a step: the hill it climbs,
and the second, mirrored hill where the coins' names are swapped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.special import gammaln

from tracelab.labs.em.views import equal_scale
from tracelab.plot import scatter as kit
from tracelab.plot.common import component_color, figure
from tracelab.record.trace import Trace

__all__ = ["likelihood_surface", "sets_table"]

# The surface's colours span this many units of log-likelihood below its top.
_SPAN = 20.0


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
    heads, trials = trace.X[:, 0], trace.X[:, 1]
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
    _check(trace)
    if trace.params["n_components"] != 2:
        raise ValueError("the likelihood surface is drawn for two coins")
    s = kit.step_index(trace, step)
    snap = trace.steps[s]
    heads, trials = trace.X[:, 0], trace.X[:, 1]
    theta = np.linspace(0.0, 1.0, grid + 2)[1:-1]
    weights = np.asarray(snap.weights, dtype=np.float64)
    # the binomial coefficients shift every value alike; added so the values read as the trace's
    log_choose = float(np.sum(gammaln(trials + 1) - gammaln(heads + 1) - gammaln(trials - heads + 1)))
    z = _surface(heads, trials, weights, theta) + log_choose
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
        "title": {"text": f"Log-likelihood over (θ_A, θ_B)<br><sup>weights {held} {w}</sup>"},
        "xaxis": {"title": {"text": "θ_A"}, "range": [0, 1], "constrain": "domain", "zeroline": False},
        "yaxis": {"title": {"text": "θ_B"}, "range": [0, 1], "zeroline": False, **equal_scale("x")},
        # room on the right for the colour bar and below for the legend (margins do not grow)
        "height": 580, "margin": {"l": 60, "r": 110, "t": 70, "b": 140},
        "legend": {"orientation": "h", "x": 0, "y": -0.16, "yanchor": "top"},
        "uirevision": "coins-surface",
    }
    return figure(traces, layout)
