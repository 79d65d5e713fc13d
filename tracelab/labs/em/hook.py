"""The home page's picture: EM's soft assignments on Old Faithful's eruption lengths.

The hook shows what the home page says: a point deep inside a cluster belongs to
its Gaussian with a responsibility near 1, while a point between the clusters is
split near 0.5 / 0.5. Which step and which two points are shown is computed from
the trace (:func:`hook_points`), and the chart's labels and the caption are built
from the same strings, so they cannot disagree.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from tracelab.record.trace import Trace
from tracelab.labs.em import views as em

__all__ = ["HookPoints", "hook_points", "hook_figure", "hook_caption", "SURE_FROM", "UNSURE_UP_TO"]

#: A point "deep inside" a cluster is at least this sure of its Gaussian.
SURE_FROM = 0.99
#: A point "between the clusters" is at most this sure of any Gaussian.
UNSURE_UP_TO = 0.7
#: The hook's axis title.
X_TITLE = "eruption length (minutes)"


class HookPoints(NamedTuple):
    """What the hook shows: a step and two row indices of ``trace.X``."""

    step: int
    sure: int
    unsure: int


def hook_points(trace: Trace) -> HookPoints:
    """The step and the two points the hook shows, found by computation.

    The latest E-step (or the start) at which some point is at most
    :data:`UNSURE_UP_TO` sure of any Gaussian (``unsure``: the least sure one)
    while another is at least :data:`SURE_FROM` sure; ``sure`` is, among the
    sure points, the one nearest the mean of its Gaussian (deep inside it). An
    E-step is used because there the densities drawn and the responsibilities
    come from the same parameters. Without such a step: the last step, the most
    and the least sure points.

    Parameters
    ----------
    trace : Trace
        An EM trace on one-dimensional data with at least two components.

    Returns
    -------
    HookPoints
    """
    x = trace.X[:, 0]
    for snap in reversed(trace.steps):
        if snap.phase not in ("E", "init"):
            continue
        r = np.asarray(snap.responsibilities, dtype=np.float64)
        certainty = r.max(axis=1)
        unsure = int(np.argmin(certainty))
        if certainty[unsure] > UNSURE_UP_TO:
            continue
        owner = np.argmax(r, axis=1)
        means = np.asarray(snap.means, dtype=np.float64)[:, 0]
        depth = np.abs(x - means[owner])
        depth[certainty < SURE_FROM] = np.inf
        sure = int(np.argmin(depth))
        if np.isfinite(depth[sure]) and sure != unsure:
            return HookPoints(snap.index, sure, unsure)
    r = np.asarray(trace.steps[-1].responsibilities, dtype=np.float64)
    certainty = r.max(axis=1)
    return HookPoints(len(trace) - 1, int(np.argmax(certainty)), int(np.argmin(certainty)))


def _probs(trace: Trace, step: int, i: int) -> str:
    """Point ``i``'s responsibilities at ``step``, as the lab writes them ("0.5476 / 0.4524")."""
    r = np.asarray(trace.steps[step].responsibilities, dtype=np.float64)[i]
    return " / ".join(em.format_responsibility(v) for v in r)


def _point_text(trace: Trace, step: int, i: int) -> str:
    return f"x = {trace.X[i, 0]:.2f} min: r = {_probs(trace, step, i)}"


def hook_figure(trace: Trace) -> go.Figure:
    """The mixture at :func:`hook_points`' step, with the two points labelled on the rug.

    Parameters
    ----------
    trace : Trace
        An EM trace on one-dimensional data.

    Returns
    -------
    plotly Figure
        :func:`tracelab.labs.em.views.density_1d` at the hook's step, plus one annotation per
        point (``name`` "hook-sure" and "hook-unsure", text as in :func:`hook_caption`)
        and a ring on each (traces with ``meta["role"]`` "hook-point", ``customdata``
        the row index).
    """
    step, sure, unsure = hook_points(trace)
    fig = em.density_1d(trace, step, columns=[X_TITLE])
    x = trace.X[:, 0]
    rings = {
        "type": "scatter", "x": [x[sure], x[unsure]], "y": [0.0, 0.0], "mode": "markers",
        "customdata": [sure, unsure], "showlegend": False, "name": "the two points",
        "marker": {"symbol": "circle-open", "size": 18, "color": "black", "line": {"width": 2.5}},
        "hovertemplate": "point #%{customdata}<extra></extra>",
        "meta": {"role": "hook-point"},
    }
    fig.add_trace(rings)
    # Labels above the rug; each box extends towards the middle of the axis, so a narrow
    # screen does not cut it off, and the point farther out gets the higher label, so
    # its box passes above the other's arrow.
    middle = sum(fig.layout.xaxis.range) / 2
    outer = max((sure, unsure), key=lambda i: abs(x[i] - middle))
    for name, i in (("hook-sure", sure), ("hook-unsure", unsure)):
        ay = -125 if i == outer else -70
        fig.add_annotation({
            "name": name, "x": float(x[i]), "y": 0.0, "xref": "x", "yref": "y",
            "text": _point_text(trace, step, i), "showarrow": True, "arrowhead": 2,
            "ax": 0, "ay": ay, "xanchor": "left" if x[i] < middle else "right",
            "bgcolor": "rgba(255,255,255,0.9)", "bordercolor": "#444",
            "font": {"size": 13, "color": "#111"},
        })
    snap = trace.steps[step]
    when = "start" if snap.phase == "init" else f"E-step of iteration {snap.iteration}"
    fig.update_layout(
        height=480,
        # Two short lines above the legend: one long line ran under it on a phone.
        title={"text": f"EM on Old Faithful's eruption lengths<br>step {step + 1} of {len(trace)} ({when})",
               "y": 0.96, "yanchor": "top"},
        margin={"t": 130},
    )
    return fig


def hook_caption(trace: Trace) -> str:
    """The sentence under the hook: the two points of :func:`hook_figure`, with its numbers.

    Plain text (no Markdown): the numbers are written exactly as the chart's labels.
    """
    step, sure, unsure = hook_points(trace)
    r = np.asarray(trace.steps[step].responsibilities, dtype=np.float64)
    owner = int(np.argmax(r[sure])) + 1
    return (
        f"At step {step + 1}, the eruption of {trace.X[sure, 0]:.2f} min lies deep inside "
        f"Gaussian {owner}: its responsibilities are {_probs(trace, step, sure)}. The one of "
        f"{trace.X[unsure, 0]:.2f} min lies between the two groups: {_probs(trace, step, unsure)}. "
        "k-means would give both a hard label, as if they were equally sure; EM tells them apart."
    )
