"""Tests for tracelab.labs.kmeans.views on real k-means, k-medoids and EM traces.

Every figure is re-validated through plotly (the views skip validation for speed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy.spatial.distance import cdist

from tracelab.data import datasets
from tracelab.labs.em.engine import trace_em
from tracelab.labs.kmeans.kmeans import trace_kmeans
from tracelab.plot.scatter import SPAN_RATIO_UP_TO
from tracelab.labs.kmeans.kmedoids import trace_kmedoids
from tracelab.record.trace import Trace
from tracelab.plot import common
from tracelab.labs.kmeans import views as kv

DATA = Path(__file__).resolve().parent.parent / "tracelab" / "data" / "datasets"


def _valid(fig: go.Figure) -> go.Figure:
    """``fig`` itself, after checking that plotly accepts every property of it.

    (The re-built figure holds arrays as base64 dicts, so tests read the original.)
    """
    go.Figure(fig.to_dict())  # raises on any misspelt property
    return fig


def _role(fig: go.Figure, role: str) -> list:
    return [tr for tr in fig.data if (tr.meta or {}).get("role") == role]


def _one(fig: go.Figure, role: str):
    found = _role(fig, role)
    assert len(found) == 1, f"expected one {role!r} trace, found {len(found)}"
    return found[0]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    return np.asarray(datasets.load("blobs").X, dtype=float)


@pytest.fixture(scope="module")
def km(blobs) -> Trace:
    """Random start, several iterations (a path worth drawing)."""
    t = trace_kmeans(blobs, 3, init="random", seed=5)
    assert len(t) >= 7
    return t


@pytest.fixture(scope="module")
def kmed_l1(blobs) -> Trace:
    return trace_kmedoids(blobs, 3, metric="manhattan", seed=0)


@pytest.fixture(scope="module")
def pam(blobs) -> Trace:
    return trace_kmedoids(blobs, 3, method="pam", seed=0)


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    X = pd.read_csv(DATA / "old_faithful.csv").to_numpy(dtype=float)
    return (X - X.mean(axis=0)) / X.std(axis=0)


START = [[-1.0, 1.0], [1.0, -1.0]]


@pytest.fixture(scope="module")
def km_faithful(faithful) -> Trace:
    return trace_kmeans(faithful, 2, centers_init=START, tol=0)


@pytest.fixture(scope="module")
def em_faithful(faithful) -> Trace:
    return trace_em(faithful, 2, means_init=START, weights_init=[0.5, 0.5],
                    covariances_init=[np.eye(2) * 0.25] * 2, tol=1e-10, max_iter=30)


VARIANCES = (2.0, 0.5, 0.1, 0.02, 0.002)


@pytest.fixture(scope="module")
def fixed_runs(faithful) -> dict[float, Trace]:
    return {v: trace_em(faithful, 2, covariance_type="fixed", fixed_variance=v, means_init=START,
                        weights_init=[0.5, 0.5], tol=1e-10, max_iter=200)
            for v in VARIANCES}


@pytest.fixture(scope="module")
def iris_km() -> Trace:
    X = pd.read_csv(DATA / "iris.csv").iloc[:, :4].to_numpy(dtype=float)
    return trace_kmeans(X, 3, seed=0)


# ------------------------------------------------------------------------------ scatter


def _nearest(G: np.ndarray, C: np.ndarray, metric: str = "euclidean", **kw) -> np.ndarray:
    return np.argmin(cdist(G, C, metric, **kw), axis=1)


def _cells(reg) -> np.ndarray:
    gx, gy = np.meshgrid(np.asarray(reg.x), np.asarray(reg.y))
    return np.column_stack([gx.ravel(), gy.ravel()])


@pytest.mark.parametrize("step", [0, 1, 2, -1])
def test_voronoi_cells_are_the_nearest_centre(km, step):
    fig = _valid(kv.scatter(km, step))
    reg = _one(fig, "regions")
    z = np.asarray(reg.z)
    assert z.shape == (kv.REGION_GRID, kv.REGION_GRID)
    C = np.asarray(km.steps[step].centers)
    assert np.array_equal(z.ravel(), _nearest(_cells(reg), C))
    assert len(np.unique(z)) > 1
    # a colour per cluster: z = j maps to palette colour j
    k = C.shape[0]
    assert reg.zmin == -0.5 and reg.zmax == k - 0.5
    scale = [tuple(s) for s in reg.colorscale]
    for j in range(k):
        mid = (j + 0.5) / k
        left = [s for s in scale if s[0] <= mid][-1]  # the scale is in order
        assert left[1] == common.component_color(j)


def test_manhattan_regions_use_the_metric_even_on_swapped_axes(kmed_l1):
    step = len(kmed_l1) - 1
    M = np.asarray(kmed_l1.steps[step].medoids)
    for axes in [(0, 1), (1, 0)]:
        reg = _one(_valid(kv.scatter(kmed_l1, step, axes=axes)), "regions")
        G = _cells(reg)
        Gd = G if axes == (0, 1) else G[:, ::-1]
        z = np.asarray(reg.z).ravel()
        assert np.array_equal(z, _nearest(Gd, M, "cityblock"))
        assert reg.meta["metric"] == "manhattan"
    # the lesson: somewhere Manhattan and Euclidean disagree about the nearest medoid
    assert np.any(z != _nearest(Gd, M))


def test_pca_regions_on_four_features_are_the_projection(iris_km):
    fig = _valid(kv.scatter(iris_km, 2, axes="pca"))
    reg = _one(fig, "regions")
    mean, P, _ = common.pca_axes(iris_km.X)
    C2 = (np.asarray(iris_km.steps[2].centers) - mean) @ P
    assert np.array_equal(np.asarray(reg.z).ravel(), _nearest(_cells(reg), C2))
    assert any("projection" in a.text for a in fig.layout.annotations)


def test_non_euclidean_regions_need_two_features():
    X = pd.read_csv(DATA / "iris.csv").iloc[:, :4].to_numpy(dtype=float)
    t = trace_kmedoids(X, 3, metric="manhattan", seed=0)
    fig = _valid(kv.scatter(t, 1))
    assert not _role(fig, "regions")
    assert any("2 features only" in a.text for a in fig.layout.annotations)


def test_points_coloured_by_label_with_row_index(km):
    step = 3
    pts = _one(_valid(kv.scatter(km, step)), "points")
    labels = np.asarray(km.steps[step].labels)
    assert np.array_equal(np.asarray(pts.customdata), np.arange(km.X.shape[0]))
    assert list(pts.marker.color) == [common.component_color(j) for j in labels]
    assert np.allclose(pts.x, km.X[:, 0]) and np.allclose(pts.y, km.X[:, 1])


def _segments(fig: go.Figure) -> np.ndarray | None:
    """The assignment lines' segments, shape (m, 2, 2): (point, centre) each; None if not drawn."""
    shapes = [s for s in fig.layout.shapes if s.name == "assignments"]
    if not shapes:
        return None
    (shape,) = shapes
    parts = shape.path.split("M")[1:]
    return np.array([[xy.split(",") for xy in part.split("L")] for part in parts], dtype=float)


def test_assignment_lines_connect_points_to_their_centre_on_e_steps_only(km):
    for s, snap in enumerate(km.steps):
        fig = _valid(kv.scatter(km, s))
        assert not _role(fig, "assignments"), "a shape: moving it does not redraw the traces"
        seg = _segments(fig)
        if snap.phase != "E":
            assert seg is None
            continue
        assert seg.shape == (km.X.shape[0], 2, 2)
        np.testing.assert_allclose(seg[:, 0], km.X, rtol=1e-6)
        np.testing.assert_allclose(seg[:, 1], np.asarray(snap.centers)[np.asarray(snap.labels)], rtol=1e-6)
    assert _segments(kv.scatter(km, 1, show_assignments=False)) is None


def test_assignment_lines_hidden_above_the_cap():
    X = np.asarray(datasets.load("blobs", n_samples=2500).X)
    t = trace_kmeans(X, 3, seed=0)
    fig = _valid(kv.scatter(t, 1))
    assert _segments(fig) is None
    assert any("assignment lines hidden" in a.text for a in fig.layout.annotations)
    assert _one(fig, "points").type == "scattergl"
    # with the display cap below the limit they come back, for the drawn rows only
    fig = _valid(kv.scatter(t, 1, max_points=500))
    pts = _one(fig, "points")
    seg = _segments(fig)
    assert seg.shape == (500, 2, 2)
    np.testing.assert_allclose(seg[:, 0], X[np.asarray(pts.customdata)], rtol=1e-6)
    assert any("showing 500 of 2 500" in a.text for a in fig.layout.annotations)


@pytest.mark.parametrize("step", [0, 3, -1])
def test_paths_have_a_vertex_where_they_start_and_one_per_move(km, step):
    s = step % len(km)
    paths = sorted(_role(_valid(kv.scatter(km, s)), "path"), key=lambda tr: tr.meta["k"])
    assert len(paths) == 3
    C = np.stack([np.asarray(km.steps[i].centers) for i in range(s + 1)])
    for j, tr in enumerate(paths):
        # where the centre started, then one vertex per move (an E-step moves none)
        moves = [0] + [i for i in range(1, s + 1) if not np.array_equal(C[i, j], C[i - 1, j])]
        assert 0 < len(tr.x) <= s // 2 + 1
        assert np.allclose(np.column_stack([tr.x, tr.y]), C[moves, j])
    assert not _role(kv.scatter(km, s, show_paths=False), "path")


@pytest.mark.parametrize("fixture", ["kmed_l1", "pam"])
def test_medoids_are_data_rows(fixture, request):
    t = request.getfixturevalue(fixture)
    for s in range(len(t)):
        cen = _one(_valid(kv.scatter(t, s)), "centers")
        rows = np.asarray(cen.customdata)
        assert np.array_equal(rows, np.asarray(t.steps[s].medoid_indices))
        assert np.allclose(np.column_stack([cen.x, cen.y]), t.X[rows])


def test_kmeans_centres_are_the_snapshot(km):
    cen = _one(kv.scatter(km, 4), "centers")
    assert np.allclose(np.column_stack([cen.x, cen.y]), km.steps[4].centers)


def test_axes_and_uirevision_are_stable_over_steps(km):
    figs = [kv.scatter(km, s) for s in range(len(km))]
    assert len({f.layout.uirevision for f in figs}) == 1
    assert len({tuple(f.layout.xaxis.range) for f in figs}) == 1
    assert len({tuple(f.layout.yaxis.range) for f in figs}) == 1
    assert figs[0].layout.yaxis.scaleanchor == "x"  # blobs: spans alike, kept to scale
    assert kv.scatter(km, 0, axes=(1, 0)).layout.uirevision != figs[0].layout.uirevision


def _scale_ratio(layout, sfx: str = "") -> float:
    """Units per plot-domain share on y over x: 1 means one unit is as long on both axes
    once plotly shrinks the constrained domain (scaleanchor/scaleratio say it must)."""
    xa, ya = layout[f"xaxis{sfx}"], layout[f"yaxis{sfx}"]
    assert ya.scaleanchor == f"x{sfx}" and ya.scaleratio == 1
    assert xa.constrain == "domain" and ya.constrain == "domain"
    return (ya.range[1] - ya.range[0]) / (xa.range[1] - xa.range[0])


def test_unequal_spans_are_drawn_to_scale_with_a_widened_range():
    X = pd.read_csv(DATA / "old_faithful.csv").to_numpy(dtype=float)  # raw: minutes vs minutes
    t = trace_kmeans(X, 2, seed=0)
    fig = _valid(kv.scatter(t, 0))
    # one unit as long on both axes, and no thin strip: the short range is widened to half the long one
    assert _scale_ratio(fig.layout) == pytest.approx(SPAN_RATIO_UP_TO)
    assert fig.layout.xaxis.range[0] <= X[:, 0].min() and fig.layout.xaxis.range[1] >= X[:, 0].max()
    assert any("drawn to scale" in a.text and "15" in a.text for a in fig.layout.annotations)
    # the region grid spans the widened range: every cell of the plot is shaded
    reg = _one(fig, "regions")
    assert reg.x[0] == pytest.approx(fig.layout.xaxis.range[0]) and reg.x[-1] == pytest.approx(fig.layout.xaxis.range[1])
    assert _valid(kv.scatter(t, 0, equal_aspect=False)).layout.yaxis.scaleanchor is None


def test_side_by_side_and_hardening_panels_are_each_to_scale(km_faithful, em_faithful, fixed_runs):
    X = pd.read_csv(DATA / "old_faithful.csv").to_numpy(dtype=float)
    t = trace_kmeans(X, 2, seed=0)
    e = trace_em(X, n_components=2, init="random_from_data", means_init=t.steps[0].centers, seed=0)
    fig = _valid(kv.comparison(t, e, 1))
    assert _scale_ratio(fig.layout) == pytest.approx(_scale_ratio(fig.layout, "2"))
    for sfx in ("", "2", "3", "4"):
        _scale_ratio(_valid(kv.hardening(fixed_runs, kmeans_trace=km_faithful)).layout, sfx)


def test_to_scale_puts_an_em_scatter_to_scale(em_faithful):
    from tracelab.labs.em import views as ev

    fig = _valid(kv.to_scale(ev.scatter_2d(em_faithful, 3)))
    assert _scale_ratio(fig.layout) <= SPAN_RATIO_UP_TO + 1e-9


def test_legend_names_the_colours_as_the_table_does(km, pam):
    for trace in (km, pam):
        fig = _valid(kv.scatter(trace, 3))
        legend = _role(fig, "legend")
        table = kv.centers_table(trace, 3)
        assert [tr.name for tr in legend] == table["cluster"].tolist() == ["cluster 1", "cluster 2", "cluster 3"]
        assert all(tr.showlegend for tr in legend) and fig.layout.showlegend
        points = _one(fig, "points")
        labels = np.asarray(trace.steps[3].labels)
        # a point of cluster j + 1 has the colour of the legend's entry j
        for j, tr in enumerate(legend):
            assert {c for c, lab in zip(points.marker.color, labels) if lab == j} <= {tr.marker.color}
            assert f"cluster {j + 1}" in points.hovertext[int(np.flatnonzero(labels == j)[0])]


def test_comparison_legend_pairs_cluster_j_with_gaussian_j(km_faithful, em_faithful):
    fig = _valid(kv.comparison(km_faithful, em_faithful, 2))
    legend = _role(fig, "legend")
    assert [tr.name for tr in legend] == ["1", "2"]
    assert fig.layout.legend.title.text == "cluster / Gaussian:"
    # Gaussian j's ellipse and cluster j's points have the legend's colour j
    for j, tr in enumerate(legend):
        assert _role(fig, "ellipse")[j].line.color == tr.marker.color == common.component_color(j)


def test_iterations_done_never_runs_ahead_of_the_step(km):
    for step, snap in enumerate(km.steps):
        done = kv.iterations_done(km, step)
        ks = kv.comparison(km, trace_em(km.X, 3, means_init=km.steps[0].centers, max_iter=3), done).layout.meta[
            "kmeans_step"] if step in (0, 1, 2, 3) else None
        if snap.phase == "E":
            assert done == snap.iteration - 1
        else:
            assert done == snap.iteration
        if ks is not None:
            assert ks <= step  # the left panel shows this step or an earlier one, never a later one


@pytest.mark.parametrize("spec,order", [
    ("manhattan", 1), ("euclidean", 2), ("chebyshev", np.inf), (("minkowski", 3), 3),
    (("minkowski", 1.5), 1.5),
])
def test_unit_ball_points_lie_on_the_sphere(kmed_l1, spec, order):
    step = len(kmed_l1) - 1
    fig = _valid(kv.scatter(kmed_l1, step, unit_ball=spec))
    ball = _one(fig, "unit-ball")
    snap = kmed_l1.steps[step]
    m = np.asarray(snap.medoids)[0]
    V = np.column_stack([ball.x, ball.y]) - m
    r = ball.meta["radius"]
    if order in (1, 2, np.inf):
        norms = np.linalg.norm(V, ord=order, axis=1)
    else:
        norms = (np.abs(V) ** order).sum(axis=1) ** (1 / order)
    assert np.allclose(norms, r, rtol=1e-9)
    # the radius: the median distance from the medoid to its cluster's other points
    metric = {1: "cityblock", 2: "euclidean", np.inf: "chebyshev"}.get(order, "minkowski")
    kw = {"p": order} if metric == "minkowski" else {}
    pts = kmed_l1.X[np.asarray(snap.labels) == 0]
    D = cdist(pts, m[None], metric, **kw)[:, 0]
    assert r == pytest.approx(np.median(D[D > 0]))
    assert any("ball, r = " in a.text for a in fig.layout.annotations)


def test_unit_ball_shapes(kmed_l1):
    """L1 is a diamond (corners on the axes), L∞ a square (corners on the diagonals)."""
    f1 = kv.scatter(kmed_l1, 0, unit_ball="manhattan")
    b = _one(f1, "unit-ball")
    m, r = np.asarray(b.meta["center"]), b.meta["radius"]
    V = np.column_stack([b.x, b.y]) - m
    assert np.isclose(np.abs(V).max(axis=0), r).all()  # reaches r on each axis
    finf = kv.scatter(kmed_l1, 0, unit_ball="chebyshev")
    b = _one(finf, "unit-ball")
    V = np.column_stack([b.x, b.y]) - np.asarray(b.meta["center"])
    assert np.isclose(np.abs(V).sum(axis=1).max(), 2 * b.meta["radius"])  # a corner (r, r)


def test_cosine_ball_is_a_wedge(blobs):
    t = trace_kmedoids(blobs, 3, metric="cosine", seed=0)
    fig = _valid(kv.scatter(t, 0, unit_ball="cosine"))
    b = _one(fig, "unit-ball")
    xy = np.column_stack([b.x, b.y])
    assert np.allclose(xy[0], 0) and np.allclose(xy[3], 0) and np.isnan(xy[2]).all()
    m = np.asarray(t.steps[0].medoids)[0]
    cos = [np.dot(v, m) / np.linalg.norm(v) / np.linalg.norm(m) for v in (xy[1], xy[4])]
    assert np.allclose(1 - np.array(cos), b.meta["radius"])
    assert _role(fig, "regions")[0].meta["metric"] == "cosine"


def test_bad_inputs(em_faithful, km):
    with pytest.raises(ValueError, match="trace_kmeans or trace_kmedoids"):
        kv.scatter(em_faithful, 0)
    with pytest.raises(ValueError, match="unit_ball"):
        kv.scatter(km, 0, unit_ball="hamming")
    one = trace_kmeans(np.arange(10.0)[:, None], 2, seed=0)
    with pytest.raises(ValueError, match="two features"):
        kv.scatter(one, 0)
    with pytest.raises(IndexError):
        kv.scatter(km, len(km))


# --------------------------------------------------------------------------- cost curve


@pytest.mark.parametrize("fixture", ["km", "kmed_l1", "pam"])
def test_cost_curve_marks_the_step(fixture, request):
    t = request.getfixturevalue(fixture)
    step = len(t) // 2
    fig = _valid(kv.cost_curve(t, step))
    values = [s.inertia if t.algorithm == "kmeans" else s.cost for s in t.steps]
    vline, ring = fig.layout.shapes
    assert ring.name == "current" and ring.xanchor == step + 1 and ring.yanchor == pytest.approx(values[step])
    assert vline.x0 == step + 1
    marks = _role(fig, "cost")
    xs = np.concatenate([tr.x for tr in marks])
    ys = np.concatenate([tr.y for tr in marks])
    assert sorted(xs) == list(range(1, len(t) + 1))
    assert np.allclose(ys[np.argsort(xs)], values)
    for tr in marks:
        assert all(t.steps[x - 1].phase == tr.meta["phase"] for x in tr.x)
        assert list(tr.hovertext) == [t.steps[x - 1].message for x in tr.x]
    assert not _role(fig, "current")


# --------------------------------------------------------------------------- comparison


def _rgb(colors) -> list[tuple[int, int, int]]:
    """``"#rrggbb"`` or ``"rgb(r,g,b)"`` colours as (r, g, b)."""
    out = []
    for c in colors:
        if c.startswith("#"):
            out.append(tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)))
        else:
            out.append(tuple(int(v) for v in c[c.index("(") + 1:-1].split(",")))
    return out


def _shown_colors(tr) -> list[tuple[int, int, int]]:
    """The colour plotly draws each marker in: a colour string, or a number's band of a discrete colorscale."""
    colors = list(tr.marker.color)
    if not isinstance(colors[0], str):
        lo, hi = tr.marker.cmin, tr.marker.cmax
        scale = [(float(at), c) for at, c in tr.marker.colorscale]
        picked = []
        for v in colors:
            t = (float(v) - lo) / (hi - lo)
            # on a stop: that stop's colour; else inside a band whose two ends share one colour
            (c,) = ({c0 for a, c0 in scale if abs(a - t) < 1e-12}
                    or {c0 for (a, c0), (b, c1) in zip(scale, scale[1:]) if a < t < b and c0 == c1})
            picked.append(c)
        colors = picked
    return _rgb(colors)


def test_comparison_picks_the_m_steps(km_faithful, em_faithful):
    for t in (1, 2):
        fig = _valid(kv.comparison(km_faithful, em_faithful, t))
        meta = fig.layout.meta
        ks, es = meta["kmeans_step"], meta["em_step"]
        assert km_faithful.steps[ks].phase == "M" and km_faithful.steps[ks].iteration == t
        assert em_faithful.steps[es].phase == "M" and em_faithful.steps[es].iteration == t
        titles = [a.text for a in fig.layout.annotations[:2]]
        assert titles == [f"k-means: hard labels<br>iteration {t}", f"EM: responsibilities<br>iteration {t}"]
        left = [tr for tr in _role(fig, "points") if tr.xaxis in (None, "x")]
        right = [tr for tr in _role(fig, "points") if tr.xaxis == "x2"]
        assert len(left) == len(right) == 1
        labels = np.asarray(km_faithful.steps[ks].labels)
        assert _shown_colors(left[0]) == _rgb([common.component_color(j) for j in labels])
        assert _shown_colors(right[0]) == _rgb(common.blend(em_faithful.steps[es].responsibilities))
        ell = _role(fig, "ellipse")
        assert len(ell) == 2 and all(tr.xaxis == "x2" for tr in ell)
        cen = _one(fig, "centers")
        assert np.allclose(np.column_stack([cen.x, cen.y]), km_faithful.steps[ks].centers)
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range


def test_comparison_clips_and_starts(km_faithful, em_faithful):
    fig = kv.comparison(km_faithful, em_faithful, 1000)
    meta = fig.layout.meta
    assert meta["kmeans_step"] == len(km_faithful) - 1
    last_m = max(s.index for s in em_faithful.steps if s.phase == "M")
    assert meta["em_step"] == last_m
    assert meta["kmeans_iteration"] == km_faithful.n_iter
    assert "its last" in fig.layout.annotations[0].text
    assert "its last" in fig.layout.annotations[1].text
    start = kv.comparison(km_faithful, em_faithful, 0).layout.meta
    assert start["kmeans_step"] == 0 and start["em_step"] == 0
    with pytest.raises(ValueError, match="same data"):
        kv.comparison(trace_kmeans(km_faithful.X[:-1], 2, seed=0), em_faithful, 1)


def _png_pixels(source: str) -> tuple[np.ndarray, list[str]]:
    """(palette index of every pixel, top row first; the palette as "#rrggbb") of a data-URI palette PNG."""
    import base64
    import struct
    import zlib

    png = base64.b64decode(source.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        (n,), kind = struct.unpack(">I", png[pos:pos + 4]), png[pos + 4:pos + 8]
        chunks[kind] = chunks.get(kind, b"") + png[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + png[pos + 8:pos + 8 + n]) == struct.unpack(">I", png[pos + 8 + n:pos + 12 + n])[0]
        pos += 12 + n
    w, h, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 3)  # 8-bit palette
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, w + 1)
    assert not rows[:, 0].any()  # no row filters
    plte = chunks[b"PLTE"]
    palette = ["#" + plte[i:i + 3].hex().upper() for i in range(0, len(plte), 3)]
    return rows[:, 1:], palette


def _hover(tr) -> list[str]:
    """Each point's hover as plotly.js writes it from the template, for the fields the comparison uses."""
    import re

    n = len(np.asarray(tr.x))
    cd = None if tr.customdata is None else np.asarray(tr.customdata)
    color = np.asarray(tr.marker.color)

    def fields(i):
        def field(m):
            name, j, fmt = m.group(1), m.group(2), m.group(3)
            if name in ("x", "y"):
                v = float(np.asarray(getattr(tr, name))[i])
            elif name == "pointNumber":
                v = i
            elif name == "marker.color":
                v = color[i]
            else:
                v = cd[i] if j is None else cd[i][int(j)]
            return format(float(v), fmt[1:]) if fmt else str(int(v))
        return field

    pattern = r"%\{(x|y|pointNumber|marker\.color|customdata)(?:\[(\d+)\])?(:\.3f|:\.4g)?\}"
    return [re.sub(pattern, fields(i), tr.hovertemplate).replace("<extra></extra>", "") for i in range(n)]


def test_comparison_is_sent_compact_with_the_same_picture_and_hover(blobs):
    """The figure travels again on every click that changes the iteration: it must stay small."""
    t = trace_kmeans(blobs, 3, init="random", seed=199)
    e = trace_em(blobs, 3, init="random_from_data", means_init=t.steps[0].centers, weights_init=[1 / 3] * 3,
                 max_iter=100, tol=1e-6, seed=0)
    # iteration 1: every blended colour differs (sent as strings); later ones repeat (sent as codes)
    encodings = [_check_compact_comparison(t, e, it, X=np.asarray(blobs)) for it in (1, 2, 5)]
    assert encodings[0] == "strings" and "codes" in encodings[1:]


def _check_compact_comparison(t: Trace, e: Trace, iteration: int, X: np.ndarray) -> str:
    """Check the figure at ``iteration``; return how the right panel's colours were sent."""
    from tracelab.labs.em import views as ev

    fig = _valid(kv.comparison(t, e, iteration))
    assert len(fig.to_json()) < 30_000  # 90 KB with the regions as a heatmap and a sentence per point
    meta = fig.layout.meta
    ks, es = meta["kmeans_step"], meta["em_step"]
    # regions: an image of exactly the cells the heatmap had, at the same places, same colours
    heat, _ = kv._regions(kv._context(t, (0, 1), None, 5_000, 0), ks)
    reg = _one(fig, "regions")
    assert reg.type == "image" and reg.opacity == heat["opacity"] == kv.REGION_OPACITY
    pixels, palette = _png_pixels(reg.source)
    assert np.array_equal(pixels, heat["z"])  # row i is drawn at y0 + i dy, as the heatmap's row i at y[i]
    assert palette == [common.component_color(j) for j in range(3)]
    assert reg.x0 == pytest.approx(heat["x"][0]) and reg.dx == pytest.approx(heat["x"][1] - heat["x"][0])
    assert reg.y0 == pytest.approx(heat["y"][0]) and reg.dy == pytest.approx(heat["y"][1] - heat["y"][0])
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range
    # colours: each point's as before (cluster colour; blended responsibilities)
    left, right = _role(fig, "points")
    labels = np.asarray(t.steps[ks].labels)
    assert _shown_colors(left) == _rgb([common.component_color(j) for j in labels])
    assert _shown_colors(right) == _rgb(common.blend(e.steps[es].responsibilities))
    # hover: the same lines as the sentences it replaces
    for tr, last in ((left, [f"cluster {j + 1}" for j in labels]),
                     (right, ev._hover_texts(np.asarray(e.steps[es].responsibilities)))):
        want = [f"point #{i}<br>x1 = {X[i, 0]:.4g}<br>x2 = {X[i, 1]:.4g}<br>{line}" for i, line in enumerate(last)]
        assert _hover(tr) == want
        assert tr.hovertext is None
    assert np.allclose(np.asarray(left.x, dtype=float), X[:, 0], rtol=1e-6)
    return "strings" if isinstance(right.marker.color[0], str) else "codes"


def test_comparison_is_the_same_figure_for_the_same_iteration(km_faithful, em_faithful):
    # Streamlit sends a reference instead of a message the browser already has, byte for byte
    assert kv.comparison(km_faithful, em_faithful, 2).to_json() == kv.comparison(km_faithful, em_faithful, 2).to_json()


# ------------------------------------------------------------------------ the σ² limit


def test_hardness_rises_as_the_variance_shrinks(fixed_runs):
    h = [kv.hardness(fixed_runs[v]) for v in VARIANCES]
    assert all(0.5 <= x <= 1.0 for x in h)
    assert all(a < b for a, b in zip(h, h[1:])), h
    assert h[0] < 0.9 and h[-1] > 0.999


def test_agreement_with_kmeans_tends_to_one(fixed_runs, km_faithful):
    a = {v: kv.agreement_with_kmeans(fixed_runs[v], km_faithful) for v in VARIANCES}
    assert a[VARIANCES[-1]] == 1.0
    assert a[VARIANCES[0]] < 1.0
    # the same number, computed by hand
    last = fixed_runs[VARIANCES[0]].steps[-1]
    from tracelab.labs.em.engine import responsibilities
    r = responsibilities(km_faithful.X, last.means, last.covariances, last.weights)
    assert a[VARIANCES[0]] == pytest.approx(np.mean(r.argmax(1) == km_faithful.steps[-1].labels))


def test_hardening_small_multiples(fixed_runs, km_faithful):
    runs = {v: fixed_runs[v] for v in (0.02, 2.0, 0.5)}  # unordered on purpose
    fig = _valid(kv.hardening(runs, kmeans_trace=km_faithful))
    meta = fig.layout.meta
    assert meta["variances"] == [2.0, 0.5, 0.02]
    assert meta["hardness"] == pytest.approx([kv.hardness(fixed_runs[v]) for v in (2.0, 0.5, 0.02)])
    titles = [a.text for a in fig.layout.annotations[:3]]
    assert titles[0].startswith("σ² = 2<br>max r ")
    assert f"{meta['hardness'][2]:.2f}" in titles[2] and f"k-means {meta['agreement'][2]:.0%}" in titles[2]
    assert len(_role(fig, "points")) == 3 and len(_role(fig, "ellipse")) == 6
    pts = [tr for tr in _role(fig, "points") if tr.xaxis == "x3"][0]
    last = fixed_runs[0.02].steps[-1]
    from tracelab.labs.em.engine import responsibilities
    assert list(pts.marker.color) == common.blend(
        responsibilities(km_faithful.X, last.means, last.covariances, last.weights))


# ------------------------------------------------------------------------------- table


@pytest.mark.parametrize("step", [0, 2, -1])
def test_centers_table_is_the_snapshot(km, step):
    df = kv.centers_table(km, step)
    snap = km.steps[step]
    assert list(df["cluster"]) == ["cluster 1", "cluster 2", "cluster 3"]
    assert np.array_equal(df["size"], np.bincount(snap.labels, minlength=3))
    assert np.allclose(df[["centre x1", "centre x2"]], snap.centers)
    s = step % len(km)
    if s == 0:
        assert df["Δ centre x1"].isna().all() and df["Δ size"].isna().all()
    else:
        prev = km.steps[s - 1]
        assert np.allclose(df[["Δ centre x1", "Δ centre x2"]], np.asarray(snap.centers) - prev.centers)
        assert np.allclose(df["moved"], np.linalg.norm(np.asarray(snap.centers) - prev.centers, axis=1))


def test_centers_table_medoid_rows(pam):
    df = kv.centers_table(pam, 2, columns=["a", "b"])
    snap = pam.steps[2]
    assert np.array_equal(df["medoid row"], snap.medoid_indices)
    assert np.allclose(df[["medoid a", "medoid b"]], pam.X[snap.medoid_indices])
    assert (df["moved"] > 0).sum() == 1  # a swap moves one medoid


# -------------------------------------------------------------------- placing centres


def test_click_grid_decodes_to_coordinates_in_range(km, blobs):
    fig = kv.scatter(km, 0)
    grid = go.Scatter(kv.click_grid(km, n=12))
    assert grid.meta["role"] == "grid" and len(grid.x) == 144
    xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
    for cd, x, y in zip(grid.customdata, grid.x, grid.y):
        assert cd[0] == "grid" and cd[1] == x and cd[2] == y
        assert xr[0] <= x <= xr[1] and yr[0] <= y <= yr[1]
    assert {round(v, 9) for v in grid.x} >= {round(xr[0], 9), round(xr[1], 9)}
    # a click on the grid gives that spot; on a data point, the point itself
    c = kv.click_to_center({"customdata": list(grid.customdata[5])}, blobs)
    assert np.allclose(c, grid.customdata[5][1:])
    assert np.allclose(kv.click_to_center({"customdata": 17}, blobs), blobs[17])
    assert kv.click_to_center({"customdata": ["placed", 0]}, blobs) is None
    assert kv.click_to_center({"x": 1.0}, blobs) is None


def test_click_to_center_on_more_features(iris_km):
    X = iris_km.X
    c = kv.click_to_center({"customdata": ["grid", 5.0, 1.5]}, X, axes=(0, 3))
    assert c[0] == 5.0 and c[3] == 1.5 and np.allclose(c[1:3], X.mean(axis=0)[1:3])
    mean, P, _ = common.pca_axes(X)
    c = kv.click_to_center({"customdata": ["grid", 0.3, -0.2]}, X, axes="pca")
    assert np.allclose((c - mean) @ P, [0.3, -0.2])


def test_with_click_grid_puts_the_grid_first(km):
    fig = _valid(kv.with_click_grid(kv.scatter(km, 0), km, n=5))
    assert fig.data[0].meta["role"] == "grid"
    drawn = [tr for tr in fig.data if tr.meta["role"] != "legend"]  # legend entries draw nothing
    assert drawn[-1].meta["role"] == "centers"


def test_placement_figure_with_data_only(blobs):
    ds = datasets.load("blobs")
    fig = _valid(kv.placement_figure(ds, [], n=10))
    assert [tr.meta["role"] for tr in fig.data] == ["grid", "points", "placed"]
    assert np.asarray(fig.data[2].x).size == 0 and "centre 1" in fig.layout.title.text
    placed = np.array([[0.0, 1.0], [2.0, -3.0]])
    fig = _valid(kv.placement_figure(blobs, placed, columns=["u", "v"], n=10))
    pl = _one(fig, "placed")
    assert list(pl.text) == ["1", "2"] and np.allclose(np.column_stack([pl.x, pl.y]), placed)
    assert fig.layout.xaxis.title.text == "u" and "centre 3" in fig.layout.title.text
    pts = _one(fig, "points")
    assert np.array_equal(pts.customdata, np.arange(len(blobs)))
    # the placed centres start a run whose first centres are exactly them
    t = trace_kmeans(blobs, 2, centers_init=placed)
    assert np.allclose(t.steps[0].centers, placed)
    with pytest.raises(ValueError, match="placed"):
        kv.placement_figure(blobs, [[1.0, 2.0, 3.0]])
