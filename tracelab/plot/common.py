"""Drawing helpers shared by every lab's views.

Colours for mixture components and their blends, covariance ellipses, 2-D
projections, the seeded display cap, stable axis ranges and a curve with the
current step marked. Everything here is plain numpy/plotly: no streamlit, and
no per-point Python objects beyond the colour strings Plotly needs.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from tracelab.data import sample_rows

__all__ = [
    "PALETTE",
    "PALETTE_RGB",
    "TEMPLATE",
    "UNCERTAIN_BELOW",
    "axis_range",
    "blend",
    "climb_range",
    "component_color",
    "component_colors",
    "curve_with_marker",
    "current_step_shapes",
    "ellipse",
    "as_figure",
    "figure",
    "figure_dict",
    "typed_array",
    "format_count",
    "nice_dtick",
    "off_axis_note",
    "panel_grid",
    "pca_axes",
    "project_covariances",
    "project_points",
    "rgba",
    "subsample",
    "tick_labels",
    "value_axis",
]

# Okabe & Ito's colour-blind-safe set (without black) first, so the first few
# components, the ones every lesson uses, are the most distinguishable; then
# Paul Tol's "muted" colours for larger k. Yellow is late: it is faint on white.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#882255",  # wine
    "#332288",  # indigo
    "#999933",  # olive
    "#44AA99",  # teal
    "#AA4499",  # purple
    "#F0E442",  # yellow
)

PALETTE_RGB: np.ndarray = np.array(
    [[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in PALETTE], dtype=np.float64
)
PALETTE_RGB.flags.writeable = False

#: A point whose largest responsibility is below this is drawn as "uncertain".
UNCERTAIN_BELOW = 0.8

_GRID = "#EBF0F8"
# Margins are fixed (no automargin, no autoexpand): an automatic margin makes
# plotly.js lay the figure out twice on every update, which is most of the
# time a step takes to draw in the browser.
_AXIS = {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "ticks": "",
         "automargin": False, "title": {"standoff": 8}}

#: A small white template (plotly_white's look, this palette as colorway), given
#: as a plain dict so figures can skip Plotly's template expansion.
TEMPLATE: dict = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "hoverlabel": {"align": "left"},
        "colorway": list(PALETTE),
        "xaxis": dict(_AXIS),
        "yaxis": dict(_AXIS),
        "title": {"x": 0.01, "xanchor": "left"},
    }
}


def typed_array(a: Any) -> Any:
    """A numpy array as plotly.js's typed-array spec (``{"dtype", "bdata"[, "shape"]}``), as plotly writes it.

    The same rule as plotly's own conversion (``Figure.to_dict``): int64 and
    uint64 narrowed to the smallest type that holds the values, an empty array
    or one of another dtype (bool, object, str) left as it is. Done once here,
    a figure needs no conversion by plotly on its way to the browser.

    Parameters
    ----------
    a : ndarray
        Numbers, any shape.

    Returns
    -------
    dict, or ``a`` itself
    """
    if a.size == 0:
        return a
    kind = a.dtype
    narrow = _NARROWER.get(kind)
    if narrow is not None:
        lo, hi = a.min(), a.max()
        for t, tlo, thi in narrow:
            if tlo <= lo and hi <= thi:
                a = a.astype(t)
                break
        else:
            return a
    short = _SHORT_TYPES.get(a.dtype)
    if short is None:
        return a
    spec = {"dtype": short, "bdata": base64.b64encode(a.tobytes() if a.flags.c_contiguous
                                                      else np.ascontiguousarray(a).tobytes()).decode("ascii")}
    if a.ndim > 1:
        spec["shape"] = str(a.shape)[1:-1]
    return spec


# Keyed by dtype, not by its name: str(dtype) costs more than the rest of a small array's conversion.
_SHORT_TYPES = {np.dtype(k): v for k, v in {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2",
                                             "int32": "i4", "uint32": "u4", "float32": "f4",
                                             "float64": "f8"}.items()}
_NARROWER = {
    np.dtype(np.int64): [(t, np.iinfo(t).min, np.iinfo(t).max) for t in (np.int8, np.int16, np.int32)],
    np.dtype(np.uint64): [(t, 0, np.iinfo(t).max) for t in (np.uint8, np.uint16, np.uint32)],
}
# plotly leaves arrays under these keys as they are (Figure.to_dict)
_UNTYPED_KEYS = frozenset({"geojson", "layer", "layers", "range"})


def _typed_copy(obj: Any) -> Any:
    """``obj`` with every numpy array in it written as :func:`typed_array`, as plotly's ``to_dict`` does.

    Dicts, lists and tuples are copied (a tuple becomes a list, as in JSON);
    the input is not changed, so the views may share parts between steps.
    """
    t = type(obj)
    if t is dict:
        out = {}
        for key, value in obj.items():
            vt = type(value)
            if vt is np.ndarray:
                out[key] = value if key in _UNTYPED_KEYS else typed_array(value)
            elif (vt is dict or vt is list or vt is tuple) and key not in _UNTYPED_KEYS and value is not TEMPLATE:
                out[key] = _typed_copy(value)
            else:
                out[key] = value
        return out
    if t is list or t is tuple:
        return [_typed_copy(v) if type(v) in _CONTAINERS else v for v in obj]
    return obj


_CONTAINERS = (dict, list, tuple)


def figure_dict(data: list[dict], layout: dict, *, typed: bool = False) -> dict[str, Any]:
    """A figure as a plain ``{"data": [...], "layout": {...}}`` dict with this module's defaults.

    The one place the defaults are applied (:func:`figure` wraps this dict in a
    ``go.Figure``): :data:`TEMPLATE` when the layout names none, and fixed
    margins (``autoexpand`` off).

    Parameters
    ----------
    data : list of dict
        Traces, each with its ``type``.
    layout : dict
        Copied at the top level.
    typed : bool, default False
        Write every numpy array as plotly would send it (:func:`typed_array`),
        in copies of the containers that hold one. Then
        ``stepping.figure_json`` gives the same JSON for this dict as for
        ``figure(data, layout)``: the step charts draw such dicts and skip
        plotly's object model (~10 ms a figure, most of a frame's cost).

    Returns
    -------
    dict
    """
    layout = dict(layout)
    layout.setdefault("template", TEMPLATE)
    layout["margin"] = {"l": 60, "r": 20, "t": 40, "b": 50, **layout.get("margin", {}), "autoexpand": False}
    if typed:
        return {"data": _typed_copy(list(data)), "layout": _typed_copy(layout)}
    return {"data": list(data), "layout": layout}


def figure(data: list[dict], layout: dict, frames: list[dict] | None = None) -> go.Figure:
    """A ``go.Figure`` from plain trace/layout dicts, without Plotly's validation.

    Validating every property costs tens of milliseconds per figure in plotly's
    Python object model (most of a redraw); the views build well-formed dicts
    instead, and the tests re-validate each figure (``go.Figure(fig.to_dict())``).
    Change such a figure with full nested dicts
    (``fig.update_layout(title={"text": ...})``), not magic underscores.

    Parameters
    ----------
    data : list of dict
        Traces, each with its ``type``.
    layout : dict
        Without a template, :data:`TEMPLATE` is used (:func:`figure_dict`).
    frames : list of dict, optional
        Animation frames.
    """
    return as_figure(figure_dict(data, layout), frames)


def as_figure(fig: dict[str, Any], frames: list[dict] | None = None) -> go.Figure:
    """The ``go.Figure`` of a :func:`figure_dict` (not validated; see :func:`figure`)."""
    return go.Figure(data=fig["data"], layout=fig["layout"], frames=frames, _validate=False)


def component_colors(k: int) -> np.ndarray:
    """RGB rows (0-255) for components ``0..k-1``, cycling through :data:`PALETTE`.

    Parameters
    ----------
    k : int

    Returns
    -------
    ndarray of shape (k, 3)
    """
    return PALETTE_RGB[np.arange(k) % len(PALETTE)]


def component_color(j: int) -> str:
    """The hex colour of component ``j`` (0-based), cycling through :data:`PALETTE`."""
    return PALETTE[j % len(PALETTE)]


def rgba(color: str, alpha: float) -> str:
    """``'rgba(r,g,b,alpha)'`` for a ``'#rrggbb'`` colour."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.3g})"


def blend(resp: np.ndarray) -> list[str]:
    """Each point's colour: its responsibilities as weights on the component colours.

    A point fully owned by component j gets exactly component j's colour; a point
    shared 50/50 gets the midpoint of the two colours in RGB.

    Parameters
    ----------
    resp : array-like of shape (n_samples, n_components)
        Rows of non-negative weights; each row is normalised to sum to 1 (rows
        that sum to 0 are drawn grey).

    Returns
    -------
    list of str, length n_samples
        ``'rgb(r,g,b)'`` strings, the form Plotly takes for per-point colours.
    """
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2:
        raise ValueError(f"resp should have shape (n_samples, n_components), but got {resp.shape}")
    total = resp.sum(axis=1, keepdims=True)
    weights = np.divide(resp, total, out=np.zeros_like(resp), where=total > 0)
    rgb = weights @ component_colors(resp.shape[1])
    rgb[total[:, 0] <= 0] = 128.0
    rgb = np.clip(np.rint(rgb), 0, 255).astype(np.int64)
    return [f"rgb({r},{g},{b})" for r, g, b in rgb.tolist()]


def ellipse(
    mean: np.ndarray, cov: np.ndarray, n_std: float, n_points: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """The closed outline ``(x-mean)^T cov^{-1} (x-mean) = n_std^2`` of a 2-D Gaussian.

    Drawn as a parametric line from the eigen-decomposition ``cov = V diag(l) V^T``:
    ``x(t) = mean + n_std * V diag(sqrt(l)) (cos t, sin t)``.

    Parameters
    ----------
    mean : array-like of shape (2,)
    cov : array-like of shape (2, 2)
        Symmetric positive (semi-)definite; tiny negative eigenvalues from
        round-off are treated as 0.
    n_std : float
        Mahalanobis radius: 1 for the "1 sigma" ellipse, 2 for "2 sigma".
    n_points : int, default 100
        Points on the outline; the last equals the first, so the line closes.

    Returns
    -------
    xs, ys : ndarray of shape (n_points,)
    """
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    radii = n_std * np.sqrt(np.clip(vals, 0.0, None))
    t = np.linspace(0.0, 2 * np.pi, n_points)
    circle = np.stack([np.cos(t), np.sin(t)])  # (2, n_points)
    pts = mean[:, None] + (vecs * radii) @ circle
    return pts[0], pts[1]


def panel_grid(n_panels: int, ncols: int, *, panel_px: int, row_gap_px: int,
               col_gap: float = 0.03) -> tuple[list[tuple[list[float], list[float]]], int]:
    """Small multiples in rows of ``ncols``, filled row by row from the top.

    Rows rather than one long row: on a phone four panels side by side leave
    about 70 px each, too narrow for their titles.

    Parameters
    ----------
    n_panels, ncols : int
    panel_px : int
        Each row's height in pixels.
    row_gap_px : int
        Pixels between rows: room for the row above's tick labels and axis
        title and the row below's panel titles.
    col_gap : float
        Fraction of the width between columns.

    Returns
    -------
    domains, plot_px
        Panel ``c``'s (x domain, y domain) in paper fractions, and the height
        in pixels of the area they fill (the figure's height less its margins).
    """
    ncols = max(1, min(ncols, n_panels))
    nrows = -(-n_panels // ncols)
    plot_px = nrows * panel_px + (nrows - 1) * row_gap_px
    columns = column_domains(ncols, col_gap)
    domains = []
    for c in range(n_panels):
        row, col = divmod(c, ncols)
        top = 1.0 - row * (panel_px + row_gap_px) / plot_px
        domains.append((columns[col], [max(0.0, top - panel_px / plot_px), top]))
    return domains, plot_px


def column_domains(ncols: int, gap: float) -> list[list[float]]:
    """The x domains (paper fractions) of ``ncols`` panels side by side, ``gap`` of the width apart.

    As ``make_subplots(cols=ncols, horizontal_spacing=gap)`` lays them out, without
    building a Figure (the charts here are plain dicts).
    """
    width = (1.0 - gap * (ncols - 1)) / ncols
    return [[c * (width + gap), 1.0 if c == ncols - 1 else c * (width + gap) + width] for c in range(ncols)]


def pca_axes(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first two principal axes of ``X``, for drawing d > 2 data in 2-D.

    Computed from the d x d covariance matrix (cheap for many rows). Each axis
    is signed so its largest-magnitude entry is positive, so the picture does
    not flip between runs.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), n_features >= 2

    Returns
    -------
    mean : ndarray of shape (n_features,)
    components : ndarray of shape (n_features, 2)
        Orthonormal columns; project with ``(X - mean) @ components``.
    explained : ndarray of shape (2,)
        Fraction of the total variance along each axis.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"PCA to 2-D needs at least 2 features, but X has shape {X.shape}")
    mean = X.mean(axis=0)
    C = np.atleast_2d(np.cov(X, rowvar=False, bias=True))
    vals, vecs = np.linalg.eigh(C)
    order = np.argsort(vals)[::-1][:2]
    comps = vecs[:, order]
    signs = np.sign(comps[np.argmax(np.abs(comps), axis=0), [0, 1]])
    comps = comps * np.where(signs == 0, 1.0, signs)
    total = float(np.clip(vals, 0, None).sum())
    explained = np.clip(vals[order], 0, None) / total if total > 0 else np.zeros(2)
    return mean, comps, explained


def project_points(X: np.ndarray, offset: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``(X - offset) @ P``: points (or means) in the 2-D drawing plane.

    Parameters
    ----------
    X : array-like of shape (n, d)
    offset : array-like of shape (d,)
    P : array-like of shape (d, 2)

    Returns
    -------
    ndarray of shape (n, 2)
    """
    return (np.asarray(X, dtype=np.float64) - offset) @ P


def project_covariances(covariances: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``P^T Sigma_k P`` for every component: covariances in the drawing plane.

    Parameters
    ----------
    covariances : array-like of shape (k, d, d)
    P : array-like of shape (d, 2)

    Returns
    -------
    ndarray of shape (k, 2, 2)
    """
    return np.einsum("ip,kij,jq->kpq", P, np.asarray(covariances, dtype=np.float64), P)


def subsample(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Row indices to draw: all of them, or a seeded random ``max_points`` of them.

    :func:`tracelab.data.sample_rows` under the views' name for a display cap:
    the same ``(n, max_points, seed)`` always gives the same rows, so a point
    stays on screen from one step to the next.
    """
    if max_points < 1:
        raise ValueError(f"max_points should be at least 1, but got {max_points}")
    return sample_rows(n, max_points, seed)


def format_count(n: int) -> str:
    """``50000 -> '50 000'``: thousands separated by a space."""
    return f"{n:,}".replace(",", " ")


def axis_range(*values: np.ndarray, margin: float = 0.05) -> list[float]:
    """``[lo, hi]`` covering every finite value given, widened by ``margin`` of the span.

    Used to fix axes across steps so the picture does not jump.
    """
    parts = [np.asarray(v, dtype=np.float64).ravel() for v in values]
    allv = np.concatenate(parts) if parts else np.empty(0)
    allv = allv[np.isfinite(allv)]
    if allv.size == 0:
        return [-1.0, 1.0]
    lo, hi = float(allv.min()), float(allv.max())
    span = hi - lo
    pad = margin * span if span > 0 else max(abs(lo) * 0.1, 0.5)
    return [lo - pad, hi + pad]


def current_step_shapes(
    x: float, y: float, *, color: str = "black", xref: str = "x", yref: str = "y", log_y: bool = False,
) -> list[dict]:
    """The "current step" mark on a curve: a dotted vertical line and a ring, both layout shapes.

    Shapes, not a trace: moving them to the next step redraws the shapes only,
    where a changed trace would make Plotly recompute and redraw the whole chart.

    Parameters
    ----------
    x, y : float
        The current step and its value.
    color : str
        Ring colour.
    xref, yref : str
        Axes of the subplot, e.g. ``"x2"``, ``"y2"``.
    log_y : bool
        The y axis is a log axis (a shape's position on it is the value's log10).

    Returns
    -------
    list of dict
        The line at ``x`` across the subplot, then the ring around ``(x, y)``
        (``name="current"``, 16 px across whatever the zoom).
    """
    vline = {
        "type": "line", "xref": xref, "yref": f"{yref} domain",
        "x0": x, "x1": x, "y0": 0, "y1": 1,
        "line": {"color": "rgba(0,0,0,0.45)", "width": 1.5, "dash": "dot"},
        "layer": "below",
    }
    ring = {
        "type": "circle", "name": "current", "xref": xref, "yref": yref,
        "xsizemode": "pixel", "ysizemode": "pixel", "xanchor": x,
        "yanchor": float(np.log10(y)) if log_y and y > 0 else y,
        "x0": -8, "x1": 8, "y0": -8, "y1": 8,
        "line": {"color": color, "width": 2.5},
    }
    return [vline, ring]


def curve_with_marker(
    x: Sequence[float],
    y: Sequence[float],
    current: int,
    *,
    name: str = "",
    hovertext: Sequence[str] | None = None,
    color: str = PALETTE[0],
    xaxis_title: str = "step",
    yaxis_title: str = "",
    title: str | None = None,
) -> go.Figure:
    """A line over steps with the current step marked (inertia, cost, log-likelihood...).

    Parameters
    ----------
    x, y : sequences of the same length
        Step numbers and values.
    current : int
        Position in ``x``/``y`` of the current step.
    name : str
        Name of the curve.
    hovertext : sequence of str, optional
        One text per point (e.g. each step's message).
    color : str
        Line colour.
    xaxis_title, yaxis_title, title : str

    Returns
    -------
    plotly Figure
        The curve is ``fig.data[0]``; the current step is marked by
        ``fig.layout.shapes`` (:func:`current_step_shapes`).
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    curve = {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "lines+markers",
        "name": name,
        "line": {"color": color},
        "marker": {"size": 6, "color": color},
        "hovertemplate": "step %{x}: %{y:.6g}<extra></extra>",
        "meta": {"role": "curve"},
    }
    if hovertext is not None:
        curve["hovertext"] = list(hovertext)
        curve["hovertemplate"] = "step %{x}: %{y:.6g}<br>%{hovertext}<extra></extra>"
    mark = current_step_shapes(x[current].item(), float(y[current]))
    # Short whole-number ticks with room for the title (value_axis), whatever the zoom.
    finite = y[np.isfinite(y)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    pad = 0.06 * (hi - lo)
    yaxis, left = value_axis(lo - pad, hi + pad, title=yaxis_title)
    return figure(
        [curve],
        {
            "title": {"text": title} if title else None,
            "xaxis": {"title": {"text": xaxis_title}},
            "yaxis": yaxis,
            "shapes": mark,
            "margin": {"l": max(60, left), "r": 20, "t": 40 if title else 20, "b": 50},
            "uirevision": f"curve-{name}",
            "showlegend": False,
        },
    )


#: Marker style of each step phase on a per-step curve (log-likelihood, inertia, cost).
PHASE_STYLE = {
    "init": {"symbol": "square", "color": "#777777", "name": "start"},
    "E": {"symbol": "circle", "color": PALETTE[0], "name": "after E-step"},
    "M": {"symbol": "diamond", "color": PALETTE[1], "name": "after M-step"},
    "swap": {"symbol": "triangle-down", "color": PALETTE[2], "name": "after a swap"},
}


def phase_curve(xs: np.ndarray, ys: np.ndarray, phases: np.ndarray, hover: Sequence[str], *,
                what: str, role: str) -> list[dict]:
    """A value at every step: a thin line through all, then one marker trace per phase.

    Parameters
    ----------
    xs, ys : ndarray of shape (n_steps,)
        Step numbers (from 1) and values.
    phases : ndarray of shape (n_steps,), str
    hover : sequence of str, length n_steps
        Each step's message, already escaped for Plotly.
    what : str
        The value's name in the hover text, e.g. "log-likelihood".
    role : str
        ``meta["role"]`` of the markers; the line gets ``role + "-line"``.

    Returns
    -------
    list of dict
        Plotly trace dicts.
    """
    hover = np.asarray(hover, dtype=object)
    traces: list[dict] = [{
        "type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": what,
        "line": {"color": "#bbbbbb", "width": 1.5}, "hoverinfo": "skip", "showlegend": False,
        "meta": {"role": f"{role}-line"},
    }]
    for phase, style in PHASE_STYLE.items():
        m = phases == phase
        if not m.any():
            continue
        traces.append({
            "type": "scatter", "x": xs[m], "y": ys[m], "mode": "markers", "name": style["name"],
            "marker": {"symbol": style["symbol"], "color": style["color"], "size": 8},
            "hovertext": hover[m].tolist(),
            "hovertemplate": f"step %{{x}}: {what} %{{y:.6g}}<br>%{{hovertext}}<extra></extra>",
            "meta": {"role": role, "phase": phase},
        })
    return traces


# ----------------------------------------------------------- value axes of step curves

#: A value axis never spans less than this fraction of its largest magnitude: a run that
#: converges fast would otherwise zoom on differences in the 8th digit, with tick labels
#: like "-598.11056605" that no margin holds.
MIN_SPAN_FRACTION = 1e-3
#: Pixels per character of a tick label (Plotly's 12 px font), and around the title.
_CHAR_PX = 7.2
_TITLE_PX = 30


def nice_dtick(span: float, n_ticks: int = 5) -> float:
    """A tick spacing of 1, 2, 2.5 or 5 times a power of ten giving about ``n_ticks`` ticks.

    Parameters
    ----------
    span : float
        Width of the range (> 0).
    n_ticks : int, default 5
    """
    raw = span / max(n_ticks, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * power >= raw:
            return m * power
    return 10.0 * power


def tick_labels(lo: float, hi: float, dtick: float) -> list[str]:
    """The labels of the ticks ``k * dtick`` inside ``[lo, hi]``, with as many decimals as ``dtick`` needs.

    Uses the typographic minus and thin-space-free thousands separators, as Plotly
    draws them with ``separatethousands``.
    """
    decimals = _decimals(dtick)
    first = math.ceil(lo / dtick - 1e-9)
    last = math.floor(hi / dtick + 1e-9)
    out = []
    for i in range(first, last + 1):
        v = i * dtick
        out.append(f"{v:,.{decimals}f}".replace("-", "−"))
    return out


def _decimals(dtick: float) -> int:
    """Decimals that write every multiple of ``dtick`` exactly (2.5 needs one more than 2 or 5)."""
    for d in range(0, 12):
        if abs(round(dtick * 10**d) - dtick * 10**d) < 1e-6 * dtick * 10**d:
            return d
    return 12


def value_axis(lo: float, hi: float, *, title: str, n_ticks: int = 5) -> tuple[dict, int]:
    """A y-axis over ``[lo, hi]`` whose ticks are short whole numbers, and the left margin it needs.

    The range is widened around its middle to at least :data:`MIN_SPAN_FRACTION` of its
    largest magnitude; ticks are spaced by :func:`nice_dtick` and written with exactly the
    decimals that spacing needs (``tickformat``), never with an SI suffix ("k") or cut
    digits; the margin holds the widest label plus the title beside it, so the title
    never covers the ticks.

    Parameters
    ----------
    lo, hi : float
        The range to show (``lo < hi`` or equal).
    title : str
        The axis title (already escaped for Plotly).
    n_ticks : int, default 5

    Returns
    -------
    axis : dict
        Plotly layout axis: ``range``, ``tickmode="linear"``, ``tick0``, ``dtick``,
        ``tickformat``, ``title``.
    margin_left : int
        Pixels the figure's left margin should have.
    """
    lo, hi = float(lo), float(hi)
    min_span = MIN_SPAN_FRACTION * max(abs(lo), abs(hi), 1e-12)
    if hi - lo < min_span:
        mid = (lo + hi) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
    dtick = nice_dtick(hi - lo, n_ticks)
    decimals = _decimals(dtick)
    labels = tick_labels(lo, hi, dtick)
    width = max((len(s) for s in labels), default=4)
    axis = {
        "range": [lo, hi],
        "tickmode": "linear",
        "tick0": 0.0,
        "dtick": dtick,
        "tickformat": f",.{decimals}f",
        "exponentformat": "none",
        "title": {"text": title, "standoff": 6},
    }
    return axis, int(math.ceil(width * _CHAR_PX + _TITLE_PX))


def climb_range(values: np.ndarray, extra: Sequence[float] = ()) -> tuple[list[float], bool]:
    """The y-range of a per-step curve: all of it, or the climb after the first steps.

    A start far below (or, for a falling cost, above) the rest squeezes the rest
    into a flat line. When the first two values lie more than 3 spans of the later
    values away from them, the range covers only the later values (and the ``extra``
    values near them, e.g. lower bounds); the caller says on the chart which steps
    are off it (:func:`off_axis_note`).

    Parameters
    ----------
    values : ndarray of shape (n_steps,)
    extra : sequence of float
        Other values drawn on the same axis, kept in view if near the later values.

    Returns
    -------
    range : list of two floats
    zoomed : bool
        Whether some values lie outside the range.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [-1.0, 1.0], False
    lo, hi = float(finite.min()), float(finite.max())
    zoomed = False
    if values.size >= 4:
        rest = values[2:]
        rlo, rhi = float(rest.min()), float(rest.max())
        span = max(rhi - rlo, 1e-9 * max(1.0, abs(rhi)))
        if lo < rlo - 3 * span or hi > rhi + 3 * span:
            near = [float(b) for b in extra if rlo - 3 * span <= b <= rhi + 3 * span]
            lo, hi = min([rlo, *near]), max([rhi, *near])
            zoomed = True
    pad = 0.08 * (hi - lo) if hi > lo else 0.5 * MIN_SPAN_FRACTION * max(abs(lo), 1e-12)
    return [lo - pad, hi + pad], zoomed


def off_axis_note(values: np.ndarray, yrange: Sequence[float], fmt=lambda v: f"{v:.6g}") -> dict | None:
    """An annotation naming the steps (from 1) whose values lie outside ``yrange``, or None.

    Parameters
    ----------
    values : ndarray of shape (n_steps,)
    yrange : [lo, hi]
    fmt : callable
        Formats the farthest value.
    """
    values = np.asarray(values, dtype=np.float64)
    lo, hi = float(yrange[0]), float(yrange[1])
    parts = []
    for side, mask, arrow, far in (("below", values < lo, "↓", np.min), ("above", values > hi, "↑", np.max)):
        if mask.any():
            idx = np.flatnonzero(mask)
            which = (f"step {idx[0] + 1}" if idx.size == 1 else
                     f"steps {idx[0] + 1}–{idx[-1] + 1}" if idx[-1] - idx[0] + 1 == idx.size else
                     f"{idx.size} steps")
            parts.append(f"{arrow} {which} {side} the axis: {fmt(float(far(values[mask])))}")
    if not parts:
        return None
    return {"text": "<br>".join(parts), "xref": "paper", "yref": "paper", "x": 0.01, "y": 0.01,
            "xanchor": "left", "yanchor": "bottom", "showarrow": False,
            "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 12, "color": "#555"},
            "name": "off-axis"}
