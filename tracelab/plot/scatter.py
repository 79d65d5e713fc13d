"""The step scatter every lab draws, and the small pieces its charts share.

One :class:`ScatterContext` per trace and plane (two columns, or the first two
principal components) holds what stays the same at every step: the rows drawn
(all, or a seeded sample), every row's position, fixed ranges drawn to equal
scale, and the centres of every step for labs that have them. Its
:meth:`ScatterContext.points` draws points the same way in every lab (position,
row number, hover); over them, the overlays: covariance ellipses, means, the
centres' paths, the ring around a chosen point, hard labels' colours, hover
texts and legend rows; and the text helpers every chart uses (escaped labels,
notes, subplot titles, the display cap's note). Numpy and plain Plotly dicts
only: no streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracelab.record.trace import Trace
from tracelab.plot.common import (
    PALETTE,
    UNCERTAIN_BELOW,
    axis_range,
    blend,
    component_color,
    ellipse,
    format_count,
    pca_axes,
    project_covariances,
    project_points,
    subsample,
)

#: Above this many drawn points, markers use WebGL (``Scattergl``).
GL_ABOVE = 2_000
#: Up to this many drawn points, each marker gets a hover text with its responsibilities.
HOVER_TEXT_UP_TO = 2_000
#: Mahalanobis radii of the ellipses drawn around each component.
N_STDS = (1.0, 2.0)
#: Colour of noise points (label -1) in hard labellings.
NOISE_COLOR = "#BBBBBB"
#: Axes drawn to scale span at most this ratio: a shorter range is widened up to it.
SPAN_RATIO_UP_TO = 2.0


def equal_scale(x_axis: str = "x") -> dict:
    """Layout keys that make a y-axis draw one unit as many pixels as its x-axis.

    Covariance ellipses, circles and distances only look like what they are when
    both axes share one scale: a spherical Gaussian must be drawn round. The plot
    area shrinks (``constrain="domain"``) rather than the ranges growing, so the
    data stay centred and fixed across steps.

    Parameters
    ----------
    x_axis : str, default "x"
        The x-axis the y-axis is tied to ("x", "x2", ...).

    Returns
    -------
    dict
        ``scaleanchor``, ``scaleratio`` and ``constrain`` for the y-axis; give the
        x-axis ``constrain="domain"`` too.
    """
    return {"scaleanchor": x_axis, "scaleratio": 1, "constrain": "domain"}


def scaled_axes(xr: list[float], yr: list[float], equal_aspect: bool | None = None,
              names: tuple[str, str] = ("x", "y")) -> tuple[list[float], list[float], dict, dict, str | None]:
    """Ranges and axis settings that keep one unit as long on x as on y.

    Distances, nearest-centre regions and unit balls are only seen truly when
    both axes share one scale: a circle must look round. ``scaleanchor`` ties
    the y axis to x (``scaleratio=1``) and ``constrain="domain"`` shrinks the
    plot area rather than widening a range, so the fixed ranges (and the region
    grid drawn over them) fill the plot. When the spans differ more than
    :data:`SPAN_RATIO_UP_TO`-fold the shorter range is widened (around its
    middle) to keep the plot from becoming a thin strip, and a note says how
    unequal the spans are.

    Parameters
    ----------
    xr, yr : list of float, [lo, hi]
        The ranges that cover what is drawn.
    equal_aspect : bool, optional
        ``False`` leaves the axes unscaled (no note); anything else draws to scale.
    names : (str, str)
        The axes' names, for the note.

    Returns
    -------
    xr, yr : list of float
        The ranges to draw (one may be widened).
    xaxis, yaxis : dict
        Settings to merge into the layout's axes (``yaxis["scaleanchor"]`` is
        ``"x"``; a subplot re-points it at its own x axis).
    note : str or None
    """
    xr, yr = [float(v) for v in xr], [float(v) for v in yr]
    if equal_aspect is False:
        return xr, yr, {}, {}, None
    sx, sy = xr[1] - xr[0], yr[1] - yr[0]
    note = None
    big, small = max(sx, sy), max(min(sx, sy), 1e-300)
    if big / small > SPAN_RATIO_UP_TO:
        want = big / SPAN_RATIO_UP_TO
        short, long_ = (names[0], names[1]) if sx < sy else (names[1], names[0])
        if sx < sy:
            mid = (xr[0] + xr[1]) / 2
            xr = [mid - want / 2, mid + want / 2]
        else:
            mid = (yr[0] + yr[1]) / 2
            yr = [mid - want / 2, mid + want / 2]
        note = (f"drawn to scale: {short} spreads {big / small:.3g}× less than {long_} "
                "(standardise the columns to weigh them alike)")
    return xr, yr, {"constrain": "domain"}, equal_scale("x"), note


def label_colors(labels: np.ndarray) -> list[str]:
    """The palette colour of each label (cycling), grey for -1."""
    labels = np.asarray(labels, dtype=np.int64)
    pal = np.array(PALETTE + (NOISE_COLOR,), dtype=object)
    pos = np.where(labels < 0, len(PALETTE), labels % len(PALETTE))
    return pal[pos].tolist()


def label_texts(labels: np.ndarray) -> list[str]:
    """Hover text per point: "cluster 3" (numbered from 1), or "noise" for label -1."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.char.add("cluster ", (labels + 1).astype(str)).astype(object)
    out[labels < 0] = "noise"
    return out.tolist()


def legend_rows(names: Sequence[str], width: float = 190.0, *, char: float = 6.5, swatch: float = 40.0,
                title: float = 0.0) -> int:
    """Rows a horizontal legend of these entries takes within ``width`` pixels (an estimate).

    Figures here have fixed margins, so a legend above or below the plot gets
    room for the rows it will need. An entry is about ``swatch`` pixels (marker
    and gap) plus ``char`` a character at 11-12 px. Plotly puts all entries in
    one row when they fit beside the title (``side="left"``); otherwise it lays
    them out in columns as wide as the widest entry. 190 px is the plot of a
    half-width column in a window 1024 px wide.

    Parameters
    ----------
    names : sequence of str
    width : float, default 190.0
    char, swatch, title : float
        Pixels a character, per entry, and for the legend's title.

    Returns
    -------
    int, at least 1
    """
    widths = [swatch + char * len(name) for name in names]
    room = max(width - title, 1.0)
    if not widths or sum(widths) <= room:
        return 1
    per_row = max(1, int(room // max(widths)))
    return -(-len(widths) // per_row)


def step_index(trace: Trace, step: int) -> int:
    """A step number checked against the trace, negative ones counted from the end."""
    n = len(trace.steps)
    if not isinstance(step, (int, np.integer)) or isinstance(step, bool):
        raise TypeError(f"step should be an int, but got {step!r}")
    if not -n <= step < n:
        raise IndexError(f"step should be between 0 and {n - 1}, but got {step}")
    return int(step) % n


def column_names(trace: Trace, columns: Sequence[str] | None) -> tuple[str, ...]:
    """The feature names to label axes with: ``columns``, the trace's own, else ``x1, x2, ...``."""
    d = trace.X.shape[1]
    if columns is None:
        columns = trace.params.get("columns") if isinstance(trace.params, dict) else None
        if not isinstance(columns, (list, tuple)) or len(columns) != d:
            columns = [f"x{j + 1}" for j in range(d)]
    columns = tuple(str(c) for c in columns)
    if len(columns) != d:
        raise ValueError(f"columns should name the {d} features, but {len(columns)} names were given")
    return columns


def fmt(x: float, sig: int = 4) -> str:
    """A number for hover text and titles, ``sig`` significant digits."""
    return f"{x:.{sig}g}"


def responsibility_parameters(trace: Trace, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
    """The parameters whose posterior are step ``step``'s responsibilities, and their step.

    The parameters are the snapshot's
    :attr:`~tracelab.labs.em.engine.EMSnapshot.responsibility_parameters`. The last item is
    the step they belong to when they are not the snapshot's own (an M-step's:
    the E-step before it), or None.
    """
    snap = trace.steps[step]
    means, covariances, weights = (np.asarray(a, dtype=np.float64) for a in snap.responsibility_parameters)
    source = None
    if not snap.responsibilities_from_own_parameters:
        source = next((s.index for s in reversed(trace.steps[:step]) if s.phase == "E"), step - 1)
    return means, covariances, weights, source


def snapshot_responsibilities(snap: Any) -> np.ndarray:
    """A snapshot's responsibilities as floats, shape (n_samples, n_components)."""
    return np.asarray(snap.responsibilities, dtype=np.float64)


def hover_texts(resp: np.ndarray) -> list[str]:
    """``'r = 0.98 / 0.02'`` per row, built column-wise (no per-point format calls)."""
    cols = [np.char.mod("%.3f", resp[:, j]) for j in range(resp.shape[1])]
    out = cols[0].astype(object)
    for c in cols[1:]:
        out = out + " / " + c.astype(object)
    return ("r = " + out).tolist()


def point_colors(resp: np.ndarray, color_by: str) -> list[str]:
    """Each point's colour: its responsibilities blended, or its most likely component's (``"labels"``)."""
    if color_by == "responsibilities":
        return blend(resp)
    if color_by == "labels":
        k = resp.shape[1]
        hexes = np.array([component_color(j) for j in range(k)], dtype=object)
        return hexes[np.argmax(resp, axis=1)].tolist()
    raise ValueError(f'color_by should be "responsibilities" or "labels", but got {color_by!r}')


@dataclass(frozen=True)
class Plane:
    """The 2-D drawing plane: points are ``(X - offset) @ P``."""

    offset: np.ndarray
    P: np.ndarray
    xlabel: str
    ylabel: str
    key: str


def make_plane(trace: Trace, axes: Any, columns: tuple[str, ...]) -> Plane:
    """The plane a scatter shows: two columns ``axes=(i, j)``, or ``"pca"`` (the first two components)."""
    X = trace.X
    d = X.shape[1]
    if d < 2:
        raise ValueError(f"this view draws two features, but the data has {d}")
    if isinstance(axes, str):
        if axes != "pca":
            raise ValueError(f'axes should be two column numbers or "pca", but got {axes!r}')
        mean, comps, explained = pca_axes(X)
        return Plane(
            offset=mean,
            P=comps,
            xlabel=f"PC1 ({explained[0]:.0%} of variance)",
            ylabel=f"PC2 ({explained[1]:.0%} of variance)",
            key="pca",
        )
    try:
        i, j = (int(a) for a in axes)
    except (TypeError, ValueError):
        raise ValueError(f'axes should be two column numbers or "pca", but got {axes!r}') from None
    if not (0 <= i < d and 0 <= j < d) or i == j:
        raise ValueError(f"axes should be two different column numbers in 0..{d - 1}, but got {axes!r}")
    P = np.zeros((d, 2))
    P[i, 0] = P[j, 1] = 1.0
    return Plane(offset=np.zeros(d), P=P, xlabel=columns[i], ylabel=columns[j], key=f"{i},{j}")


def check_selected(selected: Any, n: int) -> int:
    """A chosen point's row index, checked against the ``n`` rows."""
    if not isinstance(selected, (int, np.integer)) or isinstance(selected, bool) or not 0 <= selected < n:
        raise IndexError(f"selected should be a row index between 0 and {n - 1}, but got {selected!r}")
    return int(selected)


def all_means(trace: Trace) -> np.ndarray:
    """Means of every step, shape (n_steps, k, d)."""
    return np.stack([np.asarray(s.means, dtype=np.float64) for s in trace.steps])


def opacity(weights: np.ndarray) -> np.ndarray:
    """Ellipse opacity grows with the component's weight (the heaviest is opaque)."""
    w = np.asarray(weights, dtype=np.float64)
    top = w.max() if w.size and w.max() > 0 else 1.0
    return 0.25 + 0.75 * np.clip(w / top, 0.0, 1.0)


# ------------------------------------------------------------------ 2-D scatter parts


@dataclass
class ScatterContext:
    """What stays the same at every step of one trace in one plane: the one step scatter's ground.

    Every lab's step scatter is built on it: the plane, the rows drawn (all of
    them, or a seeded sample that stays the same at every step), the axis
    ranges that hold every step's points and centres, and, for labs whose
    steps move centres (EM's means, k-means' centres, k-medoids' medoids),
    those centres at every step. Its :meth:`points` draws the points (or any
    subset of them) the same way for every lab; what a lab draws over them
    (ellipses, paths, ε-balls, links) takes its positions from here.

    Attributes
    ----------
    trace : Trace
    plane : Plane
    columns : tuple of str
        The feature names, one per column of ``trace.X``.
    idx : ndarray of shape (n_drawn,)
        The rows drawn, ascending.
    XY : ndarray of shape (n_samples, 2)
        Every row's position on the plane (drawn or not).
    xrange, yrange : list of float
        ``[lo, hi]`` of each axis, the same at every step.
    gl : bool
        Whether markers use WebGL (more than :data:`GL_ABOVE` points drawn).
    n : int
        ``n_samples``.
    centers : ndarray of shape (n_steps, k, n_features), or None
        The centres of every step, if the lab's steps have centres.
    centers_2d : ndarray of shape (n_steps, k, 2), or None
        Those centres on the plane.
    dtype : numpy dtype
        What the points' positions are sent as: float32 where a lab sends
        points at many steps (a ten-millionth of the span is far below a pixel).
    """

    trace: Trace
    plane: Plane
    columns: tuple[str, ...]
    idx: np.ndarray
    XY: np.ndarray
    xrange: list[float]
    yrange: list[float]
    gl: bool
    n: int
    centers: np.ndarray | None = None
    centers_2d: np.ndarray | None = None
    dtype: Any = np.float64

    @classmethod
    def build(cls, trace: Trace, axes: Any, columns: Sequence[str] | None = None, *, max_points: int | None = None,
              seed: int = 0, centers: np.ndarray | None = None, pad: float = 0.0,
              dtype: Any = np.float64) -> ScatterContext:
        """The context of ``trace`` on the plane ``axes`` (two column numbers, or ``"pca"``).

        Parameters
        ----------
        trace : Trace
        axes : (int, int) or "pca"
        columns : sequence of str, optional
            Feature names; the trace's own, else ``x1, x2, ...``.
        max_points : int, optional
            Draw at most this many points: a seeded random sample of them
            (:func:`~tracelab.plot.common.subsample`). All of them if None.
        seed : int
            The sample's seed.
        centers : array of shape (n_steps, k, n_features), optional
            The centres of every step; the ranges hold them too.
        pad : float
            Widen both ranges by this much on each side (a radius drawn around a point).
        dtype : numpy dtype
            What the points' positions are sent as.
        """
        X = trace.X
        columns = column_names(trace, columns)
        plane = make_plane(trace, axes, columns)
        n = X.shape[0]
        idx = np.arange(n) if max_points is None else subsample(n, max_points, seed)
        XY = project_points(X, plane.offset, plane.P)
        C2 = None
        if centers is not None:
            centers = np.asarray(centers, dtype=np.float64)
            S, k, d = centers.shape
            C2 = project_points(centers.reshape(-1, d), plane.offset, plane.P).reshape(S, k, 2)
        xrange = axis_range(XY[:, 0], *(() if C2 is None else (C2[..., 0],)))
        yrange = axis_range(XY[:, 1], *(() if C2 is None else (C2[..., 1],)))
        if pad > 0:
            xrange, yrange = [xrange[0] - pad, xrange[1] + pad], [yrange[0] - pad, yrange[1] + pad]
        return cls(trace=trace, plane=plane, columns=columns, idx=idx, XY=XY, xrange=xrange, yrange=yrange,
                   gl=len(idx) > GL_ABOVE, n=n, centers=centers, centers_2d=C2, dtype=dtype)

    @property
    def names(self) -> tuple[str, str]:
        """The two axes' names, escaped for plotly text."""
        return esc(self.plane.xlabel), esc(self.plane.ylabel)

    def head(self) -> str:
        """The start of a point's hover (:func:`point_hover_head`)."""
        return point_hover_head(self.plane)

    def points(self, marker: dict, *, rows: np.ndarray | None = None, texts: Sequence[str] | None = None,
               role: str = "points", name: str = "points", showlegend: bool = False, **extra: Any) -> dict:
        """A trace of points: the drawn ones, or the rows ``rows``.

        Parameters
        ----------
        marker : dict
            Plotly's marker (colours, sizes) for these points.
        rows : array of int, optional
            Row numbers of X; the drawn rows (:attr:`idx`) if None.
        texts : sequence of str, optional
            One hover line per point, after its row and coordinates; left out
            past :data:`HOVER_TEXT_UP_TO` points.
        role, name, showlegend
            The trace's ``meta["role"]``, name and legend entry.
        **extra
            More trace keys (axes, customdata, hovertemplate, x and y already
            sent as typed arrays, ...); they win over the defaults.

        Returns
        -------
        dict
            A ``scatter`` (``scattergl`` past :data:`GL_ABOVE`) trace whose
            ``customdata`` is the row number, hovering "point #row, x = …, y = …".
        """
        rows = self.idx if rows is None else np.asarray(rows, dtype=np.int64)
        tr: dict[str, Any] = {"type": "scattergl" if self.gl else "scatter"}
        if "x" not in extra:
            xy = self.XY[rows].astype(self.dtype, copy=False)
            tr["x"], tr["y"] = xy[:, 0], xy[:, 1]
        tr.update({"mode": "markers", "name": name, "showlegend": showlegend, "customdata": rows,
                   "marker": marker, "meta": {"role": role}})
        tr.update(point_hover(self.plane, list(texts) if texts is not None and len(rows) <= HOVER_TEXT_UP_TO
                              else None))
        tr.update(extra)
        return tr


def means_context(trace: Trace, axes: Any, columns: Sequence[str] | None = None, *,
                  max_points: int | None = None, seed: int = 0) -> ScatterContext:
    """:meth:`ScatterContext.build` for a mixture's trace: its centres are every step's ``means``."""
    if trace.X.shape[1] < 2:
        raise ValueError("this view draws 2-D scatter plots; with one feature use density_1d")
    return ScatterContext.build(trace, axes, columns, max_points=max_points, seed=seed, centers=all_means(trace))


def points_trace(ctx: ScatterContext, resp: np.ndarray, color_by: str,
                 highlight_uncertain: bool, *, size: float = 7) -> dict:
    """The drawn points, coloured by ``resp`` of shape (n_samples, k)."""
    r = resp[ctx.idx]
    marker: dict[str, Any] = {"color": point_colors(r, color_by), "size": size}
    if highlight_uncertain:
        uncertain = r.max(axis=1) < UNCERTAIN_BELOW
        marker["size"] = np.where(uncertain, size + 5, size)
        marker["line"] = {"color": "black", "width": np.where(uncertain, 1.5, 0.0)}
    else:
        marker["line"] = {"width": 0}
    return ctx.points(marker, texts=hover_texts(r) if len(ctx.idx) <= HOVER_TEXT_UP_TO else None)


def point_hover_head(plane: Plane) -> str:
    """The start of a point's hover: its row, then its coordinates on the plane."""
    return f"point #%{{customdata}}<br>{esc(plane.xlabel)} = %{{x:.4g}}<br>{esc(plane.ylabel)} = %{{y:.4g}}"


def point_hover(plane: Plane, texts: list[str] | None = None) -> dict:
    """A points trace's hover keys: :func:`point_hover_head`, then each point's line of ``texts``, if any."""
    head = point_hover_head(plane)
    if texts is None:
        return {"hovertemplate": head + "<extra></extra>"}
    return {"hovertext": texts, "hovertemplate": head + "<br>%{hovertext}<extra></extra>"}


def esc(s: str) -> str:
    """Make a user's column name safe inside a plotly template string / HTML label."""
    return (
        str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("%{", "%&#123;")
    )


def ellipse_traces(ctx: ScatterContext, snap: Any, n_stds=N_STDS,
                   showlegend: bool = True) -> list[dict]:
    """One outline per component and radius in ``n_stds``: its covariance projected onto the plane."""
    means2 = project_points(snap.means, ctx.plane.offset, ctx.plane.P)
    covs2 = project_covariances(snap.covariances, ctx.plane.P)
    opac = opacity(snap.weights)
    out = []
    for k in range(means2.shape[0]):
        for s_i, n_std in enumerate(n_stds):
            xs, ys = ellipse(means2[k], covs2[k], n_std)
            out.append({
                "type": "scatter",
                "x": xs,
                "y": ys,
                "mode": "lines",
                "name": f"Gaussian {k + 1}",
                "legendgroup": f"g{k + 1}",
                "showlegend": showlegend and s_i == 0,
                "line": {"color": component_color(k), "width": 2.5 if s_i == 0 else 1.5,
                         "dash": "solid" if s_i == 0 else "dash"},
                "opacity": float(opac[k]),
                "hoverinfo": "skip",
                "meta": {"role": "ellipse", "k": k, "n_std": float(n_std)},
            })
    return out


def means_trace(ctx: ScatterContext, snap: Any) -> dict:
    """The components' means at ``snap``, as crosses in their colours."""
    means = np.asarray(snap.means, dtype=np.float64)
    means2 = project_points(means, ctx.plane.offset, ctx.plane.P)
    k = means.shape[0]
    cols = ctx.columns
    texts = []
    for j in range(k):
        coords = ", ".join(f"{esc(c)} = {fmt(v)}" for c, v in zip(cols, means[j]))
        texts.append(f"Gaussian {j + 1}<br>π = {fmt(float(snap.weights[j]), 3)}<br>μ: {coords}")
    return {
        "type": "scatter",
        "x": means2[:, 0],
        "y": means2[:, 1],
        "mode": "markers",
        "name": "means",
        "showlegend": False,
        "marker": {"symbol": "x", "size": 15, "color": [component_color(j) for j in range(k)],
                   "line": {"color": "black", "width": 1.5}},
        "hovertext": texts,
        "hovertemplate": "%{hovertext}<extra></extra>",
        "meta": {"role": "means"},
    }


def path_traces(ctx: ScatterContext, step: int, *, noun: str = "mean") -> list[dict]:
    """Each centre's path up to ``step``, as a faint line: a vertex where it started and one per move.

    Only moves make vertices (an E-step moves no centre), so a step that moves
    none leaves the paths as they were and the player has nothing to redraw.
    ``noun`` names the centres in the traces' names ("path of mean 1").
    """
    out = []
    for j in range(ctx.centers_2d.shape[1]):
        C = ctx.centers_2d[: step + 1, j]
        moved = np.concatenate([[True], np.any(C[1:] != C[:-1], axis=1)])
        out.append({
            "type": "scatter",
            "x": C[moved, 0],
            "y": C[moved, 1],
            "mode": "lines+markers",
            "name": f"path of {noun} {j + 1}",
            "legendgroup": f"g{j + 1}",
            "showlegend": False,
            "line": {"color": component_color(j), "width": 1.2},
            "marker": {"size": 4, "color": component_color(j)},
            "opacity": 0.8,
            "hoverinfo": "skip",
            "meta": {"role": "path", "k": j},
        })
    return out


def ring(x: float, y: float, selected: int) -> dict:
    """The black ring marking the selected point (role "selected")."""
    return {
        "type": "scatter",
        "x": [x],
        "y": [y],
        "mode": "markers",
        "name": f"point #{selected}",
        "showlegend": False,
        "customdata": [selected],
        "marker": {"symbol": "circle-open", "size": 20, "color": "black", "line": {"width": 3}},
        "hovertemplate": "selected point #%{customdata}<extra></extra>",
        "meta": {"role": "selected"},
    }


def selected_trace(ctx: ScatterContext, selected: int) -> dict:
    """The ring around the chosen point (row ``selected`` of X)."""
    selected = check_selected(selected, ctx.n)
    xy = project_points(ctx.trace.X[[selected]], ctx.plane.offset, ctx.plane.P)[0]
    return ring(xy[0], xy[1], selected)


def scatter_traces(ctx, step, *, color_by="responsibilities", highlight_uncertain=False,
                   show_paths=True, selected=None, n_stds=N_STDS, showlegend=True,
                   point_size=7) -> list[dict]:
    """Everything the step scatter draws at ``step``: points, ellipses, paths, means, the chosen point."""
    snap = ctx.trace.steps[step]
    traces = [points_trace(ctx, snapshot_responsibilities(snap), color_by, highlight_uncertain, size=point_size)]
    traces += ellipse_traces(ctx, snap, n_stds, showlegend=showlegend)
    if show_paths:
        traces += path_traces(ctx, step)
    traces.append(means_trace(ctx, snap))
    if selected is not None:
        traces.append(selected_trace(ctx, selected))
    return traces


def cap_note(shown: int, n: int) -> str:
    """The display cap's note: "showing 5,000 of 20,000 points"."""
    return f"showing {format_count(shown)} of {format_count(n)} points"



def note(text: str, *, x: float = 1.0, y: float = 1.0, xanchor: str = "right",
         yanchor: str = "bottom") -> dict:
    """A grey note placed on the figure (paper coordinates), not on the data."""
    return {"text": text, "xref": "paper", "yref": "paper", "x": x, "y": y, "xanchor": xanchor,
            "yanchor": yanchor, "showarrow": False, "font": {"size": 12, "color": "#555"}}


def subplot_title(text: str, x: float, y: float) -> dict:
    """A panel's title, centred at ``x`` above ``y`` (paper coordinates)."""
    return {"text": text, "xref": "paper", "yref": "paper", "x": x, "y": y, "xanchor": "center",
            "yanchor": "bottom", "showarrow": False, "font": {"size": 14}}


def on_axes(tr: dict, c: int) -> dict:
    """Put a trace on panel ``c`` (0-based) of a grid of panels."""
    if c == 0:
        return tr
    return {**tr, "xaxis": f"x{c + 1}", "yaxis": f"y{c + 1}"}
