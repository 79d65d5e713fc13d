"""Tests for tracelab.labs.density.views on real DBSCAN, OPTICS, HDBSCAN, EM and k-means traces.

Every figure is re-validated through plotly (the views skip validation for speed);
with plotly 7 ``to_dict`` turns arrays into base64, so values are read from the
original figure.
"""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest
from scipy.spatial.distance import cdist

from tracelab.data import datasets
from tracelab.labs.density.engine import cluster_optics_dbscan, trace_dbscan, trace_optics
from tracelab.labs.em.engine import trace_em
from tracelab.labs.density.hdbscan import trace_hdbscan
from tracelab.labs.kmeans.kmeans import trace_kmeans
from tracelab.plot import common
from tracelab.labs.density import views as dv

EPS = 0.4
MIN_SAMPLES = 5


def _plain(title: str) -> str:
    """A title as read: line breaks and font spans gone, one space between words."""
    return " ".join(re.sub(r"<br>|<[^>]+>", " ", title or "").split())


def _valid(fig: go.Figure) -> go.Figure:
    go.Figure(fig.to_dict())  # raises on any misspelt property
    return fig


def _role(fig: go.Figure, role: str) -> list:
    return [tr for tr in fig.data if (tr.meta or {}).get("role") == role]


def _one(fig: go.Figure, role: str):
    found = _role(fig, role)
    assert len(found) == 1, f"expected one {role!r} trace, found {len(found)}"
    return found[0]


def _color(label: int) -> str:
    return common.PALETTE[label % len(common.PALETTE)] if label >= 0 else "#BBBBBB"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.asarray(datasets.load("two_moons", n_samples=120).standardized().X, dtype=float)


@pytest.fixture(scope="module")
def db(X):
    return trace_dbscan(X, EPS, MIN_SAMPLES)


@pytest.fixture(scope="module")
def db_manhattan(X):
    return trace_dbscan(X, EPS, MIN_SAMPLES, metric="manhattan", group="cluster")


@pytest.fixture(scope="module")
def op(X):
    return trace_optics(X, MIN_SAMPLES, group="10 points")


@pytest.fixture(scope="module")
def hd(X):
    return trace_hdbscan(X, 8)


def _expand_step(trace, *, with_queue: bool = True) -> int:
    for s in trace.steps:
        if s.phase == "expand" and s.current >= 0 and s.neighbors.size and (s.queue.size or not with_queue):
            return s.index
    raise AssertionError("no expand step with neighbours and a queue")


# ------------------------------------------------------------------------------- DBSCAN


def test_eps_circle_has_radius_eps_around_current_point(db, X):
    i = _expand_step(db)
    snap = db.steps[i]
    fig = _valid(dv.dbscan_scatter(db, i))
    ball = _one(fig, "eps-ball")
    c = X[snap.current]
    xs, ys = np.asarray(ball.x), np.asarray(ball.y)
    r = np.hypot(xs - c[0], ys - c[1])
    # positions are float32, as the browser draws them: 7 digits, far below a pixel
    assert xs.dtype == np.float32
    np.testing.assert_allclose(r, EPS, rtol=1e-6)
    np.testing.assert_allclose(ball.meta["center"], c)
    assert list(_one(fig, "current").customdata) == [snap.current]
    # lighter balls around the neighbours, one closed outline each
    nb = _one(fig, "eps-neighbors")
    expected = snap.neighbors[snap.neighbors != snap.current]
    assert np.isnan(np.asarray(nb.x, dtype=float)).sum() == expected.size
    # equal aspect, so the circle is round on screen
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1


def test_queue_marked_and_counted_in_title(db):
    i = _expand_step(db)
    snap = db.steps[i]
    fig = _valid(dv.dbscan_scatter(db, i))
    q = _one(fig, "queue")
    assert list(q.customdata) == snap.queue.tolist()
    n = snap.queue.size
    assert f"queue: {n} point{'s' if n != 1 else ''}" in _plain(fig.layout.title.text)
    assert _plain(fig.layout.title.text).startswith(f"Step {i + 1} · ")


def test_point_kinds_and_colours_match_snapshot(db):
    for i in (0, _expand_step(db), len(db) - 1):
        snap = db.steps[i]
        fig = _valid(dv.dbscan_scatter(db, i))
        labels = snap.labels.astype(int)
        core = snap.core.astype(bool)
        final = snap.phase == "result"
        expect = {
            "core": np.flatnonzero(core),
            "border": np.flatnonzero((labels >= 0) & ~core),
            "noise": np.flatnonzero((labels < 0) & ~core) if final else np.empty(0, int),
            "unreached": np.empty(0, int) if final else np.flatnonzero((labels < 0) & ~core),
        }
        seen = []
        for role, rows in expect.items():
            tr = _one(fig, role)
            assert _kind_rows(tr).tolist() == rows.tolist(), (i, role)
            seen += _kind_rows(tr).tolist()
        assert sorted(seen) == list(range(len(labels)))  # a partition
        core_tr = _one(fig, "core")
        want = [_color(lb) if lb >= 0 else "#666666" for lb in labels[expect["core"]]]
        assert list(core_tr.marker.color) == want
        border = _one(fig, "border")
        assert list(border.marker.color) == [_color(lb) for lb in labels[expect["border"]]]
        assert border.marker.symbol == "circle-open"
        assert _one(fig, "noise").marker.color == "#BBBBBB"
        assert _one(fig, "noise").marker.symbol == "x"
    # at the result some points are noise and the title gives the summary
    last = db.steps[-1]
    fig = dv.dbscan_scatter(db, len(db) - 1)
    assert len(_kind_rows(_one(fig, "noise"))) == int((last.labels < 0).sum()) > 0
    assert "noise point" in _plain(fig.layout.title.text)
    assert not _role(fig, "eps-ball")


def _kind_rows(tr) -> np.ndarray:
    """The rows of a DBSCAN kind trace: ``customdata`` holds (row, neighbours within ε) pairs."""
    c = np.asarray(tr.customdata, dtype=int)
    return c[:, 0] if c.ndim == 2 else c.reshape(-1)


def test_dbscan_hover_gives_kind_cluster_and_neighbour_count(db):
    """Each point's hover reads "core · cluster 2<br>23 neighbours within ε": the label's name per point
    (hovertext), the count beside the row in customdata, the rest in the template."""
    i = _expand_step(db)
    snap = db.steps[i]
    fig = _valid(dv.dbscan_scatter(db, i))
    for role, what in (("core", "core"), ("border", "border"), ("unreached", "not reached yet")):
        tr = _one(fig, role)
        c = np.asarray(tr.customdata, dtype=int)
        assert c.shape[1] == 2
        np.testing.assert_array_equal(c[:, 1], snap.neighbor_counts[c[:, 0]])
        want = ["noise" if lb < 0 else f"cluster {lb + 1}" for lb in snap.labels[c[:, 0]]]
        assert list(tr.hovertext) == want
        assert tr.hovertemplate.startswith("point #%{customdata[0]}<br>")
        assert f"<br>{what} · %{{hovertext}}<br>%{{customdata[1]}} neighbours within ε" in tr.hovertemplate


def test_neighbour_balls_are_one_outline_moved_to_each_neighbour(db, X):
    i = _expand_step(db)
    snap = db.steps[i]
    nb = _one(_valid(dv.dbscan_scatter(db, i)), "eps-neighbors")
    rows = snap.neighbors[snap.neighbors != snap.current]
    xs = np.asarray(nb.x, dtype=float).reshape(rows.size, dv.NEIGHBOR_BALL_POINTS + 1)
    ys = np.asarray(nb.y, dtype=float).reshape(rows.size, dv.NEIGHBOR_BALL_POINTS + 1)
    assert np.isnan(xs[:, -1]).all()
    r = np.hypot(xs[:, :-1] - X[rows, 0, None], ys[:, :-1] - X[rows, 1, None])
    np.testing.assert_allclose(r, EPS, rtol=1e-6)


def test_manhattan_ball_is_a_diamond(db_manhattan, X):
    i = _expand_step(db_manhattan, with_queue=False)
    snap = db_manhattan.steps[i]
    fig = _valid(dv.dbscan_scatter(db_manhattan, i))
    ball = _one(fig, "eps-ball")
    c = X[snap.current]
    l1 = np.abs(np.asarray(ball.x) - c[0]) + np.abs(np.asarray(ball.y) - c[1])
    np.testing.assert_allclose(l1, EPS, rtol=1e-6)  # float32 positions
    assert ball.meta["metric"] == "manhattan"


def test_cosine_gets_a_note_not_a_ball(X):
    t = trace_dbscan(X + 3.0, 0.01, 4, metric="cosine", group="cluster")
    i = next(s.index for s in t.steps if s.current >= 0)
    fig = _valid(dv.dbscan_scatter(t, i))
    assert not _role(fig, "eps-ball")
    assert any("cosine" in a.text for a in fig.layout.annotations)


def test_axes_stable_across_steps(db):
    a = dv.dbscan_scatter(db, 0)
    b = dv.dbscan_scatter(db, len(db) - 1)
    assert list(a.layout.xaxis.range) == list(b.layout.xaxis.range)
    assert list(a.layout.yaxis.range) == list(b.layout.yaxis.range)
    assert a.layout.uirevision == b.layout.uirevision
    # the padding leaves room for a ball around an edge point
    assert a.layout.xaxis.range[1] >= db.X[:, 0].max() + EPS


def test_pca_axes_and_wrong_trace(db, op):
    _valid(dv.dbscan_scatter(db, _expand_step(db), axes="pca"))
    with pytest.raises(ValueError, match="trace_dbscan"):
        dv.dbscan_scatter(op, 0)


def test_k_distance_matches_independent_computation(X):
    k = MIN_SAMPLES - 1
    fig = _valid(dv.k_distance_plot(X, k, eps=EPS))
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    expected = np.sort(np.sort(D, axis=1)[:, k - 1])[::-1]
    curve = _one(fig, "k-distance")
    np.testing.assert_allclose(np.asarray(curve.y), expected, rtol=1e-12)
    assert list(curve.x) == list(range(1, len(X) + 1))
    line = _one(fig, "eps")
    assert list(line.y) == [EPS, EPS]
    assert line.x[0] <= 1 and line.x[1] >= len(X)
    above = int((expected > EPS).sum())
    assert line.meta["above"] == above
    assert any("noise candidates" in a.text and f"{above} of {len(X)}" in a.text
               for a in fig.layout.annotations)
    # without eps: no line
    assert not _role(_valid(dv.k_distance_plot(X, k)), "eps")


# ------------------------------------------------------------------------------- OPTICS


def test_reachability_bars_follow_ordering(op):
    i = len(op) // 3
    snap = op.steps[i]
    assert snap.phase == "order"
    fig = _valid(dv.optics_reachability(op, i))
    bars = _one(fig, "reachability")
    order = snap.ordering.astype(int)
    assert list(bars.customdata) == order.tolist()
    assert list(bars.x) == list(range(1, order.size + 1))
    reach = snap.reachability[order]
    y = np.asarray(bars.y, dtype=float)
    fin = np.isfinite(reach)
    np.testing.assert_array_equal(y[fin], reach[fin])
    assert (~fin).any()  # the first point has no reachability
    top = fig.layout.yaxis.range[1]
    assert np.all(y[~fin] == top) and top > np.nanmax(np.where(fin, reach, np.nan))
    assert list(bars.meta["undefined"]) == np.flatnonzero(~fin).tolist()
    assert all(bars.marker.color[j] == "#CFCFCF" for j in np.flatnonzero(~fin))
    # fixed axes while the ordering grows
    last = dv.optics_reachability(op, len(op) - 1)
    assert list(last.layout.yaxis.range) == list(fig.layout.yaxis.range)
    assert list(last.layout.xaxis.range) == list(fig.layout.xaxis.range) == [0.5, len(op.X) + 0.5]


def test_cut_colouring_equals_cluster_optics_dbscan(op):
    eps = 0.35
    # an ordering step and the "cut" step (moved to another ε); the "xi" step draws ξ's own clusters
    for i in (len(op) // 2, len(op) - 2):
        snap = op.steps[i]
        fig = _valid(dv.optics_reachability(op, i, eps_cut=eps))
        labels = cluster_optics_dbscan(snap.reachability, snap.core_distances, snap.ordering, eps)
        order = snap.ordering.astype(int)
        bars = _one(fig, "reachability")
        fin = np.isfinite(snap.reachability[order])
        want = np.array([_color(int(lb)) for lb in labels[order]], dtype=object)
        want[~fin] = "#CFCFCF"
        assert list(bars.marker.color) == want.tolist()
        cut = _one(fig, "eps-cut")
        assert list(cut.y) == [eps, eps]
        sc = _valid(dv.optics_scatter(op, i, eps_cut=eps))
        pts = _one(sc, "points")
        ordered = np.zeros(len(op.X), bool)
        ordered[order] = True
        colors = np.asarray(pts.marker.color, dtype=object)
        assert colors[ordered].tolist() == [_color(int(lb)) for lb in labels[ordered]]
        assert set(colors[~ordered].tolist()) <= {"#DDDDDD"}


def test_cut_step_uses_its_own_labels_and_line(op):
    i = next(s.index for s in op.steps if s.phase == "cut")
    snap = op.steps[i]
    fig = _valid(dv.optics_reachability(op, i))
    assert list(_one(fig, "eps-cut").y) == [snap.eps_cut, snap.eps_cut]
    bars = _one(fig, "reachability")
    order = snap.ordering.astype(int)
    fin = np.isfinite(snap.reachability[order])
    want = np.array([_color(int(lb)) for lb in snap.labels[order]], dtype=object)
    want[~fin] = "#CFCFCF"
    assert list(bars.marker.color) == want.tolist()


def test_optics_scatter_links_current_to_predecessor(op, X):
    i = next(s.index for s in op.steps
             if s.phase == "order" and s.predecessor[s.ordering[-1]] >= 0)
    snap = op.steps[i]
    fig = _valid(dv.optics_scatter(op, i))
    cur = int(snap.ordering[-1])
    pred = int(snap.predecessor[cur])
    link = _one(fig, "current-link")
    assert link.meta["rows"] == [cur, pred]
    np.testing.assert_allclose([link.x[0], link.y[0]], X[cur])
    np.testing.assert_allclose([link.x[1], link.y[1]], X[pred])
    assert list(_one(fig, "current").customdata) == [cur]
    pts = _one(fig, "points")
    op_ = np.asarray(pts.marker.opacity)
    ordered = np.zeros(len(X), bool)
    ordered[snap.ordering.astype(int)] = True
    assert np.all(op_[ordered] == 1.0) and np.all(op_[~ordered] < 1.0)


# ------------------------------------------------------------------------------ HDBSCAN


def test_mst_segments_equal_edges_so_far(hd):
    mst_steps = [s.index for s in hd.steps if s.phase == "mst"]
    for i in (mst_steps[0], mst_steps[len(mst_steps) // 2], len(hd) - 1):
        snap = hd.steps[i]
        fig = _valid(dv.hdbscan_mst(hd, i))
        line = _one(fig, "mst")
        x = np.asarray(line.x, dtype=float)
        m = snap.mst_edges.shape[0]
        assert line.meta["edges"] == m
        assert np.isnan(x).sum() == m and x.size == 3 * m
        ends = np.column_stack([x[0::3], x[1::3]])
        np.testing.assert_allclose(ends, hd.X[snap.mst_edges[:, :2].astype(int), 0])
        assert len(_one(fig, "mst-weights").x) == m
    assert _one(_valid(dv.hdbscan_mst(hd, 0)), "mst").meta["edges"] == 0


def test_mst_points_by_core_distance_then_labels(hd):
    fig = _valid(dv.hdbscan_mst(hd, 0))
    pts = _one(fig, "points")
    np.testing.assert_allclose(np.asarray(pts.marker.color), hd.steps[0].core_distances)
    last = hd.steps[-1]
    fig = _valid(dv.hdbscan_mst(hd, len(hd) - 1))
    pts = _one(fig, "points")
    assert list(pts.marker.color) == [_color(int(lb)) for lb in last.labels]
    op_ = np.asarray(pts.marker.opacity)
    inc = last.labels >= 0
    np.testing.assert_allclose(op_[inc], 0.15 + 0.85 * last.probabilities[inc])


def test_icicle_one_bar_per_condensed_cluster(hd):
    before = next(s.index for s in hd.steps if s.phase == "linkage")
    fig = _valid(dv.hdbscan_condensed_tree(hd, before))
    assert len(fig.data) == 0 and "condense" in fig.layout.annotations[0].text
    i = next(s.index for s in hd.steps if s.phase == "condense")
    snap = hd.steps[i]
    fig = _valid(dv.hdbscan_condensed_tree(hd, i))
    bars = _one(fig, "clusters")
    cond = snap.condensed
    n = len(hd.X)
    clusters = {n} | set(cond[cond[:, 3] > 1, 1].astype(int).tolist())
    assert sorted(bars.customdata) == sorted(clusters)
    # width ∝ size, bars go from birth to death λ, the y axis grows downward
    sizes = {n: n, **{int(c): s for c, s in cond[cond[:, 3] > 1][:, [1, 3]].tolist()}}
    for c, w in zip(bars.customdata, bars.width):
        assert w == pytest.approx(0.98 * sizes[int(c)])
    births = {n: 0.0, **{int(c): l for c, l in cond[cond[:, 3] > 1][:, [1, 2]].tolist()}}
    for c, b in zip(bars.customdata, bars.base):
        assert b == pytest.approx(births[int(c)])
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]
    assert bars.meta["selected"] == []


def test_icicle_selected_highlighted(hd):
    snap = hd.steps[-1]
    fig = _valid(dv.hdbscan_condensed_tree(hd, len(hd) - 1))
    bars = _one(fig, "clusters")
    sel = snap.selected.astype(int).tolist()
    assert len(sel) >= 2
    assert bars.meta["selected"] == sel
    ids = list(bars.customdata)
    widths = list(bars.marker.line.width)
    for j, c in enumerate(ids):
        if c in sel:
            assert bars.marker.color[j] == _color(sel.index(c))
            assert widths[j] == 2.0
        else:
            assert bars.marker.color[j] == "#E3E3E3" and widths[j] == 0.0
    # the selected bar's colour is that of its points in hdbscan_mst
    mst = _one(dv.hdbscan_mst(hd, len(hd) - 1), "points")
    j0 = ids.index(sel[0])
    assert bars.marker.color[j0] in set(np.asarray(mst.marker.color)[snap.labels == 0].tolist())


# ------------------------------------------------------------------------- side by side


def test_side_by_side_three_panels(db, X):
    em = trace_em(X, 2, seed=0)
    km = trace_kmeans(X, 2, seed=0)
    fig = _valid(dv.side_by_side(db, em, km))
    pts = _role(fig, "points")
    assert len(pts) == 3
    assert [tr.meta["panel"] for tr in pts] == [0, 1, 2]
    assert [tr.xaxis or "x" for tr in pts] == ["x", "x2", "x3"]
    dbl = db.steps[-1].labels.astype(int)
    assert list(pts[0].marker.color) == [_color(lb) for lb in dbl]
    assert list(pts[2].marker.color) == [_color(int(lb)) for lb in km.steps[-1].labels]
    assert fig.layout.meta["labels"][0] == dbl.tolist()
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("DBSCAN") and titles[1].startswith("EM") and titles[2].startswith("k-means")
    with pytest.raises(ValueError, match="same data"):
        dv.side_by_side(db, trace_em(X[:60], 2, seed=0), km)


# ------------------------------------------------------------ what the titles say is drawn


def _legend(fig) -> dict[str, str]:
    """Legend-only entries naming colours: name -> marker colour."""
    return {tr.name: tr.marker.color for tr in _role(fig, "legend") if tr.showlegend}


def _counts(message: str) -> str:
    """'24 clusters, 71 noise points' from an OPTICS step message."""
    return message.rsplit(": ", 1)[1].rstrip(".")


@pytest.mark.parametrize("eps_cut", [None, 0.3])
def test_xi_step_draws_the_xi_clusters_not_the_cut(X, eps_cut):
    op = trace_optics(X, MIN_SAMPLES, xi=0.05, eps_cut=0.3, group="10 points")
    i = len(op) - 1
    snap = op.steps[i]
    assert snap.phase == "xi"
    cut = op.steps[-2].labels
    assert (np.unique(snap.labels).size != np.unique(cut).size)  # the two extractions differ here
    order = snap.ordering.astype(int)
    reach = _valid(dv.optics_reachability(op, i, eps_cut=eps_cut))
    bars = _one(reach, "reachability")
    fin = np.isfinite(snap.reachability[order])
    want = np.array([_color(int(lb)) for lb in snap.labels[order]], dtype=object)
    want[~fin] = "#CFCFCF"
    assert list(bars.marker.color) == want.tolist()
    assert not _role(reach, "eps-cut")  # no cut line on the ξ step
    sc = _valid(dv.optics_scatter(op, i, eps_cut=eps_cut))
    assert list(_one(sc, "points").marker.color) == [_color(int(lb)) for lb in snap.labels]
    # both titles say what the step's message says: ξ and its counts, no cut
    for fig in (reach, sc):
        title = _plain(fig.layout.title.text)
        assert "ξ method (ξ = 0.05)" in title and _counts(snap.message) in title
        assert "cut" not in title


def test_xi_charts_change_with_xi(X):
    a = trace_optics(X, MIN_SAMPLES, xi=0.05, eps_cut=0.3, group="10 points")
    b = trace_optics(X, MIN_SAMPLES, xi=0.3, eps_cut=0.3, group="10 points")
    assert not np.array_equal(a.steps[-1].labels, b.steps[-1].labels)
    for view in (dv.optics_reachability, dv.optics_scatter):
        fa, fb = view(a, len(a) - 1, eps_cut=0.3), view(b, len(b) - 1, eps_cut=0.3)
        role = "reachability" if view is dv.optics_reachability else "points"
        assert list(_one(fa, role).marker.color) != list(_one(fb, role).marker.color)
        assert _plain(fa.layout.title.text) != _plain(fb.layout.title.text)


def test_cut_step_titles_name_the_cut_and_its_counts(op):
    i = len(op) - 2
    snap = op.steps[i]
    for fig in (dv.optics_reachability(op, i, eps_cut=snap.eps_cut), dv.optics_scatter(op, i, eps_cut=snap.eps_cut)):
        title = _plain(fig.layout.title.text)
        assert f"cut at ε = {snap.eps_cut:.3g}" in title and _counts(snap.message) in title
        assert "ξ" not in title


def _stretched(X):
    # one feature ten times the other's spread: the old views gave up equal scale here
    return np.column_stack([X[:, 0], 10 * X[:, 1]])


@pytest.mark.parametrize("stretch", [False, True])
def test_every_plane_view_is_drawn_to_equal_scale(X, stretch):
    Xs = _stretched(X) if stretch else X
    eps = 0.4 * (10 if stretch else 1)
    db_ = trace_dbscan(Xs, eps, MIN_SAMPLES)
    op_ = trace_optics(Xs, MIN_SAMPLES, group="10 points")
    hd_ = trace_hdbscan(Xs, 8)
    em = trace_em(Xs, 2, seed=0)
    km = trace_kmeans(Xs, 2, seed=0)
    figs = [dv.dbscan_scatter(db_, 1), dv.dbscan_scatter(db_, len(db_) - 1),
            dv.optics_scatter(op_, 2), dv.optics_scatter(op_, len(op_) - 1),
            dv.hdbscan_mst(hd_, 2), dv.hdbscan_mst(hd_, len(hd_) - 1)]
    for tr in (db_, op_, hd_):
        figs.append(dv.side_by_side(tr, em, km))
        figs.extend(dv.side_by_side_panels(tr, em, km))
    for fig in figs:
        _valid(fig)
        lay = fig.layout.to_plotly_json()
        xs = sorted(k for k in lay if k.startswith("xaxis"))
        assert xs
        for xk in xs:
            sfx = xk[len("xaxis"):]
            ya, xa = lay[f"yaxis{sfx}"], lay[xk]
            assert ya.get("scaleanchor") == f"x{sfx}" and ya.get("scaleratio") == 1, (xk, _plain(fig.layout.title.text))
            assert ya.get("constrain") == "domain" and xa.get("constrain") == "domain"
        assert not any("not to scale" in (a.text or "") for a in fig.layout.annotations)


def _check_cluster_legend(fig, labels):
    legend = _legend(fig)
    labels = np.asarray(labels, dtype=int)
    for c in np.unique(labels[labels >= 0])[: len(common.PALETTE)]:
        assert legend[f"cluster {c + 1}"] == _color(int(c))
    # noise named in the legend (DBSCAN's noise points are a trace of their own, named "noise")
    named = {tr.name for tr in fig.data if tr.showlegend and tr.x is not None and len(tr.x) > 0} | set(legend)
    assert ("noise" in named) == bool((labels < 0).any())
    # every name in the legend is one the hover texts use
    hover = " ".join(str(t) for tr in fig.data for t in (tr.hovertext or []) if isinstance(tr.hovertext, tuple))
    for name in legend:
        if name.startswith("cluster "):
            assert name in hover


def test_scatters_have_a_legend_naming_the_cluster_colours(db, op, hd):
    fig = _valid(dv.dbscan_scatter(db, len(db) - 1))
    _check_cluster_legend(fig, db.steps[-1].labels)
    assert fig.layout.legend.itemclick is False
    for i in (len(op) - 2, len(op) - 1):
        fig = _valid(dv.optics_scatter(op, i))
        _check_cluster_legend(fig, op.steps[i].labels)
        assert fig.layout.showlegend
    fig = _valid(dv.hdbscan_mst(hd, len(hd) - 1))
    _check_cluster_legend(fig, hd.steps[-1].labels)
    assert fig.layout.showlegend
    assert not _valid(dv.hdbscan_mst(hd, 0)).layout.showlegend  # the colour bar explains the colours


def test_cluster_legend_with_more_clusters_than_colours():
    labels = np.r_[np.arange(15), -1]
    entries = dv._cluster_legend(labels)
    names = [e["name"] for e in entries]
    assert names[:12] == [f"cluster {c}" for c in range(1, 13)]
    assert "clusters 13–15: the colours repeat" in names and names[-1] == "noise"


def test_side_by_side_compares_one_labelling_and_says_which(X):
    op_ = trace_optics(X, MIN_SAMPLES, xi=0.05, eps_cut=0.3, group="10 points")
    km = trace_kmeans(X, 2, seed=0)
    em = trace_em(X, 2, seed=0)
    for extraction, snap in (("cut", op_.steps[-2]), ("xi", op_.steps[-1])):
        fig = _valid(dv.side_by_side(op_, em, km, extraction=extraction))
        assert fig.layout.meta["labels"][0] == snap.labels.astype(int).tolist()
        titles = fig.layout.meta["titles"]
        found = int(np.unique(snap.labels[snap.labels >= 0]).size)
        assert ("ξ method (ξ = 0.05)" if extraction == "xi" else "cut at ε = 0.3") in titles[0]
        assert fig.layout.meta["compares"] in titles[0]
        assert f"{found} cluster" in titles[0]
        # EM's and k-means' k stated with the number the first panel found
        for t in titles[1:]:
            assert "k = 2" in t
            assert ("as many as OPTICS found" in t) == (found == 2)
            if found != 2:
                assert f"OPTICS found {found} clusters" in t
    hd_ = trace_hdbscan(X, 8)
    fig = _valid(dv.side_by_side(hd_, em, km))
    assert fig.layout.meta["titles"][0].startswith("HDBSCAN")
    assert fig.layout.meta["labels"][0] == hd_.steps[-1].labels.astype(int).tolist()


def test_side_by_side_panels_are_the_three_panels_of_side_by_side(db, X):
    em = trace_em(X, 2, seed=0)
    km = trace_kmeans(X, 3, seed=0)
    one = dv.side_by_side(db, em, km)
    panels = [_valid(f) for f in dv.side_by_side_panels(db, em, km)]
    assert [f.layout.meta["panel"] for f in panels] == [0, 1, 2]
    for c, f in enumerate(panels):
        assert f.layout.meta["labels"] == one.layout.meta["labels"][c]
        assert f.layout.meta["title"] == one.layout.meta["titles"][c]
        head, tail = one.layout.meta["titles"][c].split("<br>")
        assert head in _plain(f.layout.title.text) and tail in _plain(f.layout.title.text)
        pts = _one(f, "points")
        assert list(pts.marker.color) == [_color(int(lb)) for lb in one.layout.meta["labels"][c]]
        labels = np.asarray(one.layout.meta["labels"][c])
        _check_cluster_legend(f, labels)
    assert "k = 3 (DBSCAN found 2 clusters)" in _plain(panels[2].layout.title.text)


def test_dbscan_legend_names_dark_grey_cores_only_while_there_are_some(db):
    first = _valid(dv.dbscan_scatter(db, 0))  # the core points are found, no cluster yet
    last = _valid(dv.dbscan_scatter(db, len(db) - 1))
    assert "core point (dark grey: in no cluster yet)" in _legend(first)
    assert "core point (filled)" in _legend(last) and not any("dark grey" in n for n in _legend(last))
    # the legend's room is the same at every step: the plot area does not jump
    assert first.layout.margin.b == last.layout.margin.b and first.layout.height == last.layout.height


def test_titles_come_in_lines_short_enough_for_a_narrow_column(op):
    for i in (4, len(op) - 2, len(op) - 1):
        for fig in (dv.optics_scatter(op, i, eps_cut=0.3), dv.optics_reachability(op, i, eps_cut=0.3)):
            lines = [re.sub(r"<[^>]+>", "", t) for t in fig.layout.title.text.split("<br>")]
            assert 1 <= len(lines) <= dv.TITLE_LINES
            assert all(len(t) <= 44 for t in lines), lines
            assert lines[0].startswith(f"Step {i + 1} · ")
