"""Views of the "choosing k" lab: the elbow, silhouettes, BIC/AIC and a contingency table.

Each view takes a record from :mod:`tracelab.labs.selection.engine` (or plain arrays) and returns a
plotly ``go.Figure`` assembled from plain dicts (:func:`tracelab.plot.common.figure`; the
tests re-validate them). Nothing here imports streamlit.

Conventions
-----------
- Every trace carries ``meta={"role": ...}``: "inertia", "chord", "knee", "selected"
  (elbow); "bars", "mean" (silhouette); "criterion", "best" (criteria); "counts"
  (contingency).
- A click on a k yields it through ``customdata``: the k itself on the elbow curve,
  ``[k, covariance_type]`` on the criteria lines, the 0-based row index on a silhouette bar.
- Clusters are counted from 1 on screen, as in the k-means lab: integer label j is
  "cluster j+1" and has colour ``PALETTE[j]``; -1 is "noise". Other labels (strings)
  are named as given. ``customdata`` keeps the labels as given.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go

from tracelab.labs.selection.engine import CriteriaResult, ElbowResult, silhouette_samples
from tracelab.plot.common import PALETTE, component_color, figure, rgba

__all__ = ["elbow_plot", "silhouette_plot", "criteria_plot", "contingency_heatmap"]

_KNEE_COLOR = "#D55E00"
_TYPE_SYMBOLS = {"full": "circle", "tied": "square", "diag": "diamond", "spherical": "triangle-up",
                 "fixed": "x"}


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=False)


def _is_int(label: Any) -> bool:
    return isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_))


def _label_name(label: Any) -> str:
    """"cluster 1" for label 0 (clusters counted from 1, as the other labs do), "noise" for -1."""
    if _is_int(label):
        return "noise" if int(label) == -1 else f"cluster {int(label) + 1}"
    return f"cluster {_esc(label)}"


def elbow_plot(result: ElbowResult, *, selected: int | None = None) -> go.Figure:
    """Inertia over k, the chord from the first to the last point, and the knee.

    Parameters
    ----------
    result : ElbowResult
    selected : int, optional
        A k to ring (the one the page shows elsewhere).

    Returns
    -------
    plotly Figure
        Traces: "inertia" (lines and markers, ``customdata`` = k, hover names the seed of
        the best restart), "chord" (dashed, first to last point), "knee" (a marker at the
        knee, absent without a knee), "selected" (a ring, if ``selected`` is one of the
        ks). The knee carries the annotation "knee: farthest from the chord".
    """
    if not isinstance(result, ElbowResult):
        raise TypeError(f"elbow_plot needs an ElbowResult, not a {type(result).__name__}")
    ks, y = result.ks, result.inertia
    traces: list[dict] = [{
        "type": "scatter", "x": ks, "y": y, "mode": "lines+markers", "name": "inertia",
        "customdata": ks, "text": [f"seed {int(s)}" for s in result.seeds],
        "line": {"color": PALETTE[0]}, "marker": {"size": 8, "color": PALETTE[0]},
        "hovertemplate": "k = %{x}<br>inertia %{y:.6g}<br>best restart: %{text}<extra></extra>",
        "meta": {"role": "inertia"},
    }]
    if ks.size >= 2:
        traces.append({
            "type": "scatter", "x": [int(ks[0]), int(ks[-1])], "y": [float(y[0]), float(y[-1])],
            "mode": "lines", "name": "chord", "hoverinfo": "skip",
            "line": {"color": "rgba(0,0,0,0.45)", "width": 1.5, "dash": "dash"},
            "meta": {"role": "chord"},
        })
    annotations = []
    if result.knee is not None:
        i = int(np.flatnonzero(ks == result.knee)[0])
        kx, ky = int(ks[i]), float(y[i])
        traces.append({
            "type": "scatter", "x": [kx], "y": [ky], "mode": "markers", "name": "knee",
            "customdata": [kx],
            "marker": {"size": 15, "symbol": "star", "color": _KNEE_COLOR,
                       "line": {"color": "white", "width": 1}},
            "hovertemplate": "knee: k = %{x}<br>inertia %{y:.6g}<extra></extra>",
            "meta": {"role": "knee", "k": kx},
        })
        annotations.append({
            "x": kx, "y": ky, "xref": "x", "yref": "y", "text": "knee: farthest from the chord",
            "showarrow": True, "arrowhead": 2, "ax": 40, "ay": -40, "xanchor": "left",
            "font": {"color": _KNEE_COLOR}, "bgcolor": "rgba(255,255,255,0.8)",
        })
    if selected is not None and np.any(ks == selected):
        i = int(np.flatnonzero(ks == selected)[0])
        traces.append({
            "type": "scatter", "x": [int(ks[i])], "y": [float(y[i])], "mode": "markers",
            "name": f"k = {int(ks[i])}", "customdata": [int(ks[i])],
            "marker": {"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": "black", "width": 2.5}},
            "hovertemplate": "selected: k = %{x}<extra></extra>",
            "meta": {"role": "selected", "k": int(ks[i])},
        })
    return figure(traces, {
        "xaxis": {"title": {"text": "k (number of clusters)"}, "dtick": 1, "zeroline": False},
        "yaxis": {"title": {"text": "inertia (best of restarts)"}},
        "annotations": annotations,
        "showlegend": False,
        "height": 380,
        "margin": {"l": 70, "r": 20, "t": 20, "b": 45},
        "uirevision": "elbow",
        "hovermode": "closest",
    })


def silhouette_plot(X_or_values, labels, *, values=None, metric: str = "euclidean") -> go.Figure:
    """The classic silhouette plot: one horizontal bar per point, grouped by cluster.

    Parameters
    ----------
    X_or_values : array-like
        The data, shape (n_samples, n_features) (a single feature as shape (n, 1)), whose
        silhouettes are computed with ``metric``; or the silhouette values themselves, a
        1-D array of shape (n_samples,); or None when ``values`` is given.
    labels : array-like of shape (n_samples,)
        -1 marks noise, which is not drawn.
    values : array-like of shape (n_samples,), optional
        Precomputed silhouettes (e.g. from :func:`tracelab.labs.selection.engine.silhouette_samples`);
        they win over ``X_or_values``.
    metric : str, default="euclidean"
        Used only when the values are computed here.

    Returns
    -------
    plotly Figure
        One "bars" trace per cluster (bars sorted by value within the cluster, largest at
        the top of its block; ``customdata`` = row index, ``meta["cluster"]`` = label),
        and a dashed vertical "mean" line at the mean silhouette (the score). The clusters
        are stacked bottom to top in label order, separated by a gap.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels should be 1-D, but got shape {labels.shape}")
    if values is None:
        arr = None if X_or_values is None else np.asarray(X_or_values)
        if arr is None:
            raise ValueError("pass the data or the silhouette values")
        values = arr if arr.ndim == 1 else silhouette_samples(arr, labels, metric=metric)
    values = np.asarray(values, dtype=np.float64)
    if values.shape != labels.shape:
        raise ValueError(
            f"values should have one entry per label ({labels.shape[0]}), but got shape {values.shape}"
        )
    noise = (labels == -1) if labels.dtype.kind in "iuf" else np.zeros(labels.shape, bool)
    keep = ~noise & np.isfinite(values)
    clusters = np.unique(labels[keep])
    gap = max(2, int(round(0.02 * keep.sum())))
    traces: list[dict] = []
    ticks, ticktext = [], []
    y0 = 0
    for j, c in enumerate(clusters):
        rows = np.flatnonzero(keep & (labels == c))
        rows = rows[np.argsort(values[rows], kind="stable")]
        ys = y0 + np.arange(rows.size)
        # An integer label keeps its colour of the k-means lab (PALETTE[label]), even if a
        # cluster before it is empty.
        color = component_color(int(c) if _is_int(c) else j)
        traces.append({
            "type": "bar", "orientation": "h", "x": values[rows], "y": ys, "customdata": rows,
            "name": _label_name(c), "width": 1.0,
            "marker": {"color": rgba(color, 0.85), "line": {"width": 0}},
            "hovertemplate": f"{_label_name(c)}<br>row #%{{customdata}}<br>silhouette %{{x:.3f}}<extra></extra>",
            "meta": {"role": "bars", "cluster": c.item() if hasattr(c, "item") else c,
                     "mean": float(values[rows].mean())},
        })
        ticks.append(float(y0 + (rows.size - 1) / 2))
        ticktext.append(f"{_label_name(c)} ({rows.size})")
        y0 += rows.size + gap
    top = max(y0 - gap, 1)
    mean = float(values[keep].mean()) if keep.any() else float("nan")
    traces.append({
        "type": "scatter", "x": [mean, mean], "y": [-0.5, top - 0.5], "mode": "lines",
        "name": "mean silhouette", "line": {"color": "black", "width": 1.5, "dash": "dash"},
        "hovertemplate": f"mean silhouette {mean:.3f}<extra></extra>",
        "meta": {"role": "mean", "value": mean},
    })
    lo = min(-0.1, float(np.nanmin(values[keep])) - 0.05) if keep.any() else -0.1
    n_noise = int(noise.sum())
    title = f"mean silhouette {mean:.3f}"
    if n_noise:
        title += f" · {n_noise} noise point{'s' if n_noise != 1 else ''} left out"
    return figure(traces, {
        "title": {"text": _esc(title), "font": {"size": 13}},
        "xaxis": {"title": {"text": "silhouette"}, "range": [lo, 1.0], "zeroline": True,
                  "zerolinecolor": "#bbbbbb"},
        "yaxis": {"tickmode": "array", "tickvals": ticks, "ticktext": ticktext,
                  "range": [-0.5, top - 0.5], "showgrid": False},
        "bargap": 0,
        "barmode": "overlay",
        "showlegend": False,
        "height": 420,
        "margin": {"l": 110, "r": 20, "t": 40, "b": 45},
        "uirevision": "silhouette",
        "hovermode": "closest",
    })


def criteria_plot(result: CriteriaResult, *, which: str = "bic") -> go.Figure:
    """BIC or AIC over k, one line per covariance type, each type's minimum marked.

    Parameters
    ----------
    result : CriteriaResult
    which : {"bic", "aic"}

    Returns
    -------
    plotly Figure
        Per covariance type a "criterion" line (``customdata`` = ``[k, covariance_type]``,
        ``meta["covariance_type"]``), then per type with a finite value a "best" marker at
        its lowest k (same ``customdata``). Failed fits are gaps.
    """
    if not isinstance(result, CriteriaResult):
        raise TypeError(f"criteria_plot needs a CriteriaResult, not a {type(result).__name__}")
    table = result.values(which)
    best = result.best(which)
    name = which.upper()
    ks = result.ks
    traces: list[dict] = []
    marks: list[dict] = []
    for t, ct in enumerate(result.covariance_types):
        color = component_color(t)
        custom = [[int(k), ct] for k in ks]
        traces.append({
            "type": "scatter", "x": ks, "y": table[t], "mode": "lines+markers", "name": ct,
            "customdata": custom, "line": {"color": color},
            "marker": {"size": 7, "color": color, "symbol": _TYPE_SYMBOLS.get(ct, "circle")},
            "hovertemplate": f"{ct}<br>k = %{{x}}<br>{name} %{{y:.6g}}<extra></extra>",
            "meta": {"role": "criterion", "covariance_type": ct, "which": which},
        })
        k_best = best.get(ct)
        if k_best is not None:
            i = int(np.flatnonzero(ks == k_best)[0])
            marks.append({
                "type": "scatter", "x": [int(k_best)], "y": [float(table[t, i])], "mode": "markers",
                "name": f"lowest {name} ({ct})", "customdata": [[int(k_best), ct]],
                "showlegend": False,
                "marker": {"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": color, "width": 2.5}},
                "hovertemplate": f"lowest {name} for {ct}: k = %{{x}}<br>{name} %{{y:.6g}}<extra></extra>",
                "meta": {"role": "best", "covariance_type": ct, "k": int(k_best)},
            })
    return figure(traces + marks, {
        "xaxis": {"title": {"text": "k (number of components)"}, "dtick": 1, "zeroline": False},
        "yaxis": {"title": {"text": f"{name} (lower is better)"}},
        "legend": {"title": {"text": "covariance"}, "yanchor": "top", "y": 0.98,
                   "xanchor": "right", "x": 0.99, "bgcolor": "rgba(255,255,255,0.8)"},
        "height": 400,
        "margin": {"l": 80, "r": 20, "t": 20, "b": 45},
        "uirevision": f"criteria-{which}",
        "hovermode": "closest",
    })


def contingency_heatmap(classes, clusters, counts) -> go.Figure:
    """Counts of points per class (rows) and cluster (columns), written in the cells.

    Parameters
    ----------
    classes : array-like of shape (r,)
    clusters : array-like of shape (c,)
    counts : array-like of shape (r, c)
        E.g. the fields of :func:`tracelab.labs.selection.engine.contingency_table`.

    Returns
    -------
    plotly Figure
        One heatmap trace ("counts") with a colour bar (points per cell);
        ``customdata`` holds ``[class, cluster]`` per cell (the labels as given, as
        strings). Columns are named "cluster 1", ... (label + 1) and "noise"; rows by
        the class names. Margins grow to fit the tick labels, so the axis titles
        never cover them.
    """
    classes = np.asarray(classes)
    clusters = np.asarray(clusters)
    counts = np.asarray(counts)
    if counts.shape != (classes.size, clusters.size):
        raise ValueError(
            f"counts should have shape {(classes.size, clusters.size)} (classes, clusters), "
            f"but got {counts.shape}"
        )
    xs = [_label_name(c.item() if hasattr(c, "item") else c) for c in clusters]
    # The axis is titled "class": the rows are the class names alone (plain text).
    ys = [_esc(c) for c in classes.tolist()]
    custom = [[[str(a), str(b)] for b in clusters.tolist()] for a in classes.tolist()]
    trace = {
        "type": "heatmap", "z": counts, "x": xs, "y": ys, "customdata": custom,
        # More points, darker: plotly.js's own "Blues" runs the other way (0 darkest).
        "colorscale": [[0.0, "#F7FBFF"], [0.5, "#6BAED6"], [1.0, "#08306B"]],
        "zmin": 0, "texttemplate": "%{z}", "showscale": True,
        "colorbar": {"title": {"text": "points", "side": "right"}, "thickness": 14, "len": 0.9},
        "xgap": 1, "ygap": 1,
        "hovertemplate": "class %{y}, %{x}: %{z} points<extra></extra>",
        "meta": {"role": "counts"},
    }
    # This chart is drawn once per choice, not stepped: automatic margins cost nothing
    # here, and long class names push the axis title out instead of under it.
    fig = figure([trace], {
        "xaxis": {"title": {"text": "cluster", "standoff": 10}, "type": "category",
                  "side": "bottom", "automargin": True},
        "yaxis": {"title": {"text": "class", "standoff": 12}, "type": "category",
                  "autorange": "reversed", "automargin": True},
        "height": max(240, 80 + 36 * classes.size),
        "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
        "uirevision": "contingency",
    })
    # figure() fixes the margins; let this one grow for the tick labels and the colour bar.
    fig.update_layout(margin={"autoexpand": True})
    return fig
