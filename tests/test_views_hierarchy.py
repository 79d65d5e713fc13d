"""Tests for tracelab.labs.hierarchy.views on real AGNES and DIANA traces.

Every figure is re-validated through plotly (the views skip validation for speed);
coordinates are read from the original figure (plotly 7 turns arrays into base64
dicts in ``to_dict``).
"""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go
import pytest
from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage

from tracelab.data import datasets
from tracelab.labs.hierarchy import engine as hierarchy
from tracelab.record.trace import Trace
from tracelab.plot import common
from tracelab.labs.hierarchy import views as hv

# The design notes' crossing example: centroid heights 2.0 then 1.8.
CROSSING = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.8]])
SIX = np.array([[0.0, 0.0], [0.3, 0.1], [4.0, 4.0], [4.2, 4.5], [9.0, 0.5], [9.5, 0.0]])


def _valid(fig: go.Figure) -> go.Figure:
    go.Figure(fig.to_dict())  # raises on any misspelt property
    return fig


def _arr(v) -> np.ndarray:
    """An array as drawn: the views write the hierarchy's per-step arrays as plotly.js typed arrays."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]).newbyteorder("<"))
        return a.reshape([int(d) for d in v["shape"].split(",")]) if "shape" in v else a
    return np.asarray(v)


def _role(fig: go.Figure, role: str, **meta) -> list:
    out = []
    for tr in fig.data:
        m = tr.meta or {}
        if m.get("role") == role and all(m.get(k) == v for k, v in meta.items()):
            out.append(tr)
    return out


def _one(fig: go.Figure, role: str, **meta):
    found = _role(fig, role, **meta)
    assert len(found) == 1, f"expected one {role!r} trace, found {len(found)}"
    return found[0]


def _merges_in(traces) -> np.ndarray:
    """Merge numbers drawn by some link traces (each link's vertices share one)."""
    if not traces:
        return np.empty(0, dtype=int)
    # the stepped dendrogram's coloured links carry theirs in meta (the faded tree under them hovers)
    c = np.concatenate([_arr(t.customdata if t.customdata is not None else t.meta["merges"]).astype(float)
                        for t in traces])
    return np.unique(c[np.isfinite(c)]).astype(int)


def _point_colors(fig) -> np.ndarray:
    """Each point's drawn colour: its ``marker.color`` code read through the layout's colour axis.

    plotly.js maps a value v to ``(v - cmin) / (cmax - cmin)`` on the scale; each
    code must fall exactly on a stop (the same float JavaScript computes), where
    the colour is that stop's, unblended.
    """
    m = _one(fig, "points").marker
    assert m.coloraxis == "coloraxis"
    ax = fig.layout.coloraxis
    assert ax.showscale is False
    t = (_arr(m.color).astype(float) - ax.cmin) / (ax.cmax - ax.cmin)
    stops = {float(p): c for p, c in ax.colorscale}
    assert all(v in stops for v in t.tolist()), "a point's colour would be a blend of two"
    return np.array([stops[v] for v in t.tolist()], dtype=object)


def _rows(pts) -> np.ndarray:
    """The data rows of a scatter's points: in order when all are drawn, else customdata's (row, size) pairs."""
    c = _arr(pts.customdata)
    return c[:, 0] if c.ndim == 2 else np.arange(c.shape[0])


def _sizes(pts) -> np.ndarray:
    """The size of each drawn point's cluster, as its hover gives it (customdata)."""
    c = _arr(pts.customdata)
    return c[:, 1] if c.ndim == 2 else c


def _notes(fig: go.Figure) -> str:
    # the dendrogram's notes are its title, set as a note at the top left
    title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else ""
    return " | ".join([title, *(a.text for a in fig.layout.annotations)])


def _same_partition(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def X40() -> np.ndarray:
    return np.asarray(datasets.load("blobs", n_samples=40).X, dtype=float)


@pytest.fixture(scope="module")
def ward(X40) -> Trace:
    return hierarchy.trace_agnes(X40, linkage="ward")


@pytest.fixture(scope="module")
def single(X40) -> Trace:
    return hierarchy.trace_agnes(X40, linkage="single")


@pytest.fixture(scope="module")
def six() -> Trace:
    return hierarchy.trace_agnes(SIX, linkage="average")


@pytest.fixture(scope="module")
def crossing() -> Trace:
    return hierarchy.trace_agnes(CROSSING, linkage="centroid")


# -------------------------------------------------------------------------- the layout


@pytest.mark.parametrize("method", ["ward", "single", "average", "centroid"])
def test_layout_matches_scipy(X40, method):
    t = hierarchy.trace_agnes(X40, linkage=method)
    Z = t.linkage_matrix
    lay = hv.dendrogram_layout(Z)
    d = scipy_dendrogram(Z, no_plot=True)
    assert lay["leaves"].tolist() == d["leaves"]
    assert lay["merges"].tolist() == list(range(1, 40))
    # each link's top is its merge's height, and its feet are its children's tops
    np.testing.assert_array_equal(lay["y"][:, 1], Z[:, 2])
    np.testing.assert_array_equal(lay["y"][:, 2], Z[:, 2])
    # the same U shapes as scipy's (x = 5 + 10 j there), whatever the order
    ours = sorted(map(tuple, np.round(np.hstack([lay["x"], lay["y"]]), 9).tolist()))
    theirs = sorted(map(tuple, np.round(np.hstack([(np.array(d["icoord"]) - 5) / 10, d["dcoord"]]), 9).tolist()))
    assert ours == theirs


def test_truncated_layout_matches_scipy_lastp(ward):
    Z = ward.linkage_matrix
    lay = hv.dendrogram_layout(Z, truncate_above=10)
    d = scipy_dendrogram(Z, no_plot=True, truncate_mode="lastp", p=10)
    assert lay["truncated"]
    assert lay["leaf_nodes"].tolist() == d["leaves"]
    assert lay["merges"].tolist() == list(range(31, 40))
    ours = sorted(map(tuple, np.round(np.hstack([lay["x"], lay["y"]]), 9).tolist()))
    theirs = sorted(map(tuple, np.round(np.hstack([(np.array(d["icoord"]) - 5) / 10, d["dcoord"]]), 9).tolist()))
    assert ours == theirs


def test_layout_takes_the_deepest_tree_agnes_allows():
    """A single-linkage chain of 5 000 points nests 4 999 merges deep (scipy's recursive
    ``dendrogram`` stops at Python's recursion limit there); the layout places every link."""
    n = 5_000
    x = np.arange(n, dtype=np.float64) ** 2  # ever wider gaps: each merge takes the next point
    Z = linkage(np.c_[x, np.zeros(n)], "single")
    assert Z[:, :2].max(axis=1)[1:].min() >= n  # every merge after the first takes the cluster before
    lay = hv.dendrogram_layout(Z)
    assert lay["merges"].tolist() == list(range(1, n))
    np.testing.assert_array_equal(lay["y"][:, 1], Z[:, 2])
    assert lay["leaves"].tolist() == leaves_list(Z).tolist()
    # each U stands on its two children (a leaf at its place in the leaf order, a merge over its children)
    ab = Z[:, :2].astype(np.int64)
    node_x = lay["node_x"]
    np.testing.assert_array_equal(node_x[lay["leaves"]], np.arange(n))
    np.testing.assert_array_equal(node_x[n:], (node_x[ab[:, 0]] + node_x[ab[:, 1]]) / 2)
    np.testing.assert_array_equal(lay["x"], node_x[ab][:, [0, 0, 1, 1]])
    np.testing.assert_array_equal(lay["y"][:, [0, 3]], lay["node_y"][ab])


# -------------------------------------------------------------------------- dendrogram


@pytest.mark.parametrize("step", [0, 1, 17, 38, 39])
def test_done_and_future_links(ward, step):
    fig = _valid(hv.dendrogram(ward, step))
    links = _role(fig, "links")
    done = [t for t in links if t.meta["state"] not in ("faded", "unused")]
    (faded,) = _role(fig, "links", state="faded")
    done_m = _merges_in(done)
    assert done_m.tolist() == list(range(1, step + 1))
    assert len(done_m) == step
    assert fig.layout.meta["n_done"] == step and fig.layout.meta["n_future"] == 39 - step
    # every link is drawn faded, first (under the rest); the done ones are drawn over it,
    # opaque and wider, so exactly the merges to come show faded
    assert faded.line.color == hv.FADED and fig.data[0] is faded
    assert _merges_in([faded]).tolist() == list(range(1, 40))
    for t in done:
        assert t.line.width > faded.line.width and not t.line.color.startswith("rgba")
    # unused colour traces draw nothing
    assert all(len(_arr(t.x)) == 0 for t in links if t.meta["state"] == "unused")


@pytest.mark.parametrize("step", [1, 12, 39])
def test_current_link_is_this_merge(ward, step):
    Z = ward.linkage_matrix
    fig = _valid(hv.dendrogram(ward, step))
    cur = _one(fig, "current")
    assert cur.line.color == hv.ACCENT
    assert cur.line.width > max(t.line.width for t in _role(fig, "links"))
    assert _merges_in([cur]).tolist() == [step]
    x = _arr(cur.x)[:4]
    y = _arr(cur.y)[:4]
    # coordinates are float32 (what the browser receives): the merge's height to 7 digits
    assert y[1] == y[2] == np.float32(Z[step - 1, 2])
    lay = hv.dendrogram_layout(Z)
    a, b = int(Z[step - 1, 0]), int(Z[step - 1, 1])
    assert (x[0], x[3]) == (np.float32(lay["node_x"][a]), np.float32(lay["node_x"][b]))
    # the children are the snapshot's members
    snap = ward.steps[step]
    pos = np.empty(40, dtype=int)
    pos[lay["leaves"]] = np.arange(40)
    pa, pb = pos[snap.members_a], pos[snap.members_b]
    assert pa.min() <= x[0] <= pa.max() and pb.min() <= x[3] <= pb.max()


def test_no_current_link_at_the_start(ward):
    fig = _valid(hv.dendrogram(ward, 0))
    assert not _role(fig, "current")
    assert "no merge yet" in _notes(fig)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 40])
def test_cut_k_line_gives_k_clusters(ward, k):
    Z = ward.linkage_matrix
    fig = _valid(hv.dendrogram(ward, 20, cut_k=k))
    cut = _one(fig, "cut")
    h = float(cut.y[0])
    assert cut.y[0] == cut.y[1] == cut.meta["height"] == hv.cut_for_k(ward, k)
    assert len(np.unique(fcluster(Z, h, criterion="distance"))) == k
    assert _same_partition(fcluster(Z, h, criterion="distance"), hierarchy.cut(ward, k))
    assert f"k = {k}" in _notes(fig)


def test_cut_height_labels_k(ward):
    Z = ward.linkage_matrix
    h = float(np.mean(Z[-3:-1, 2]))
    fig = _valid(hv.dendrogram(ward, 39, cut_height=h))
    cut = _one(fig, "cut")
    assert cut.meta["k"] == 3 == len(np.unique(fcluster(Z, h, criterion="distance")))
    assert "k = 3" in _notes(fig)
    # at the last step: one colour per cut cluster, the two merges above the cut grey
    assert len(_role(fig, "links", state="done")) == 3
    # the grey trace holds every done link under the colour traces: the two above the cut show grey
    (grey,) = _role(fig, "links", state="above-cut")
    coloured = _merges_in(_role(fig, "links", state="done"))
    assert _merges_in([grey]).tolist() == list(range(1, 40))
    assert sorted(set(_merges_in([grey]).tolist()) - set(coloured.tolist())) == [38, 39]
    assert fig.data.index(grey) < min(fig.data.index(t) for t in _role(fig, "links", state="done"))


def test_dendrogram_colours_match_scatter(ward):
    step = 30
    Z = ward.linkage_matrix
    lay = hv.dendrogram_layout(Z)
    dfig = _valid(hv.dendrogram(ward, step))
    sfig = _valid(hv.scatter(ward, step))
    pts = _one(sfig, "points")
    color_of = dict(zip(_rows(pts).tolist(), _point_colors(sfig).tolist()))
    checked = 0
    for tr in _role(dfig, "links", state="done"):
        x = _arr(tr.x).astype(float)
        y = _arr(tr.y).astype(float)
        feet = x[(y == 0) & np.isfinite(x)]
        rows = lay["leaves"][np.rint(feet).astype(int)]
        assert {color_of[r] for r in rows.tolist()} == {tr.line.color}
        checked += len(rows)
    assert checked > 0


def test_truncation_note_above_the_cap(ward):
    fig = _valid(hv.dendrogram(ward, 35, truncate_above=10))
    assert "showing the last 9 merges of 39" in _notes(fig)
    assert fig.layout.meta["truncated"]
    drawn = _merges_in(_role(fig, "links"))
    assert drawn.tolist() == list(range(31, 40))
    leaves = _one(fig, "leaves")
    assert len(_arr(leaves.x)) == int((hv.dendrogram_layout(ward.linkage_matrix, 10)["leaf_nodes"] >= 40).sum())
    # an early merge is inside a collapsed leaf: that leaf is marked, no link is
    early = _valid(hv.dendrogram(ward, 3, truncate_above=10))
    assert not _role(early, "current")
    assert hv.ACCENT in list(_one(early, "leaves").marker.color)
    # under the cap: no note, every merge drawn
    full = _valid(hv.dendrogram(ward, 35))
    assert "showing the last" not in _notes(full)
    assert len(_merges_in(_role(full, "links"))) == 39


def test_leaf_labels_only_for_few_leaves(ward):
    fig = hv.dendrogram(ward, 5)
    assert list(fig.layout.xaxis.ticktext) == [str(i) for i in hv.dendrogram_layout(ward.linkage_matrix)["leaves"]]
    big = hierarchy.trace_agnes(np.asarray(datasets.load("blobs", n_samples=80).X), linkage="ward")
    fig = _valid(hv.dendrogram(big, 5))
    assert fig.layout.xaxis.showticklabels is False and fig.layout.xaxis.ticktext is None


def test_dendrogram_refuses_other_traces():
    d = hierarchy.trace_diana(SIX, metric="euclidean")
    with pytest.raises(ValueError, match="trace_agnes"):
        hv.dendrogram(d, 0)


# ------------------------------------------------------------------------ cut helpers


@pytest.mark.parametrize("method", ["ward", "single", "complete"])
def test_cut_for_k_round_trip(X40, method):
    t = hierarchy.trace_agnes(X40, linkage=method)
    Z = t.linkage_matrix
    for k in range(1, 41):
        h = hv.cut_for_k(t, k)
        assert hv.k_for_height(t, h) == k
        assert len(np.unique(fcluster(Z, h, criterion="distance"))) == k
        if 1 < k < 40:  # between the (n-k)th and the (n-k+1)th merge heights
            assert Z[39 - k, 2] <= h < Z[40 - k, 2]
    with pytest.raises(ValueError, match="between 1 and"):
        hv.cut_for_k(t, 0)
    with pytest.raises(ValueError, match="between 1 and"):
        hv.cut_for_k(t, 41)


def test_k_for_height_counts_merges_below(six):
    Z = six.linkage_matrix
    assert hv.k_for_height(six, -1.0) == 6
    assert hv.k_for_height(six, Z[0, 2]) == 5  # a merge exactly at the height counts
    assert hv.k_for_height(six, Z[-1, 2] + 1) == 1
    assert hv.k_for_height(Z, (Z[2, 2] + Z[3, 2]) / 2) == 3  # three merges below


def test_cut_helpers_with_crossing_heights(crossing):
    Z = crossing.linkage_matrix
    assert Z[1, 2] < Z[0, 2]  # the crossing the design notes describe
    # cut below the inversion: the later, lower merge does not count
    assert hv.k_for_height(crossing, 1.9) == 3 == len(np.unique(fcluster(Z, 1.9, criterion="distance")))
    assert hv.k_for_height(crossing, 2.0) == 1


# ----------------------------------------------------------------------------- heatmap


@pytest.mark.parametrize("step", [5, 25, 39])
def test_heatmap_order_and_merge_box(ward, X40, step):
    fig = _valid(hv.distance_heatmap(ward, step))
    hm = _one(fig, "distances")
    leaves = hv.dendrogram_layout(ward.linkage_matrix)["leaves"]
    order = np.asarray(hm.meta["order"])
    assert order.tolist() == leaves.tolist()
    assert list(hm.x) == list(hm.y) == [str(i) for i in leaves]
    D = hierarchy.distance_matrix(X40, "euclidean", 2.0)
    np.testing.assert_allclose(np.asarray(hm.z), D[np.ix_(leaves, leaves)])
    snap = ward.steps[step]
    box = [s for s in fig.layout.shapes if s.name == "merge"]
    assert len(box) == 1
    box = box[0]
    rows = np.flatnonzero((np.arange(40) >= box.y0) & (np.arange(40) <= box.y1))
    cols = np.flatnonzero((np.arange(40) >= box.x0) & (np.arange(40) <= box.x1))
    assert sorted(order[rows].tolist()) == sorted(np.asarray(snap.members_a).tolist())
    assert sorted(order[cols].tolist()) == sorted(np.asarray(snap.members_b).tolist())


def test_heatmap_without_merge_and_with_subsample(ward):
    fig = _valid(hv.distance_heatmap(ward, 0))
    assert not fig.layout.shapes and fig.layout.meta["merge_box"] is None
    fig = _valid(hv.distance_heatmap(ward, 30, max_points=25))
    order = np.asarray(_one(fig, "distances").meta["order"])
    assert len(order) == 25 and "showing 25 of 40 points" in _notes(fig)
    pos = {r: j for j, r in enumerate(hv.dendrogram_layout(ward.linkage_matrix)["leaves"].tolist())}
    assert [pos[r] for r in order.tolist()] == sorted(pos[r] for r in order.tolist())
    assert np.array_equal(np.asarray(_one(hv.distance_heatmap(ward, 30, max_points=25), "distances").meta["order"]),
                          order)  # seeded: the same rows each step


def test_heatmap_uses_the_trace_metric(X40):
    t = hierarchy.trace_agnes(X40, linkage="average", metric="manhattan")
    hm = _one(_valid(hv.distance_heatmap(t, 3)), "distances")
    order = np.asarray(hm.meta["order"])
    D = np.abs(X40[order][:, None, :] - X40[order][None, :, :]).sum(axis=2)
    np.testing.assert_allclose(np.asarray(hm.z), D)


# ------------------------------------------------------------------------------ scatter


def test_scatter_colours_clusters_and_marks_the_merge(ward, X40):
    step = 37
    fig = _valid(hv.scatter(ward, step))
    snap = ward.steps[step]
    pts = _one(fig, "points")
    assert _rows(pts).tolist() == list(range(40))
    colors = _point_colors(fig)
    labels = np.asarray(snap.labels)
    for lab in np.unique(labels):
        assert len(set(colors[labels == lab])) == 1
    assert len({colors[labels == lab][0] for lab in np.unique(labels)}) == len(np.unique(labels))
    merged = _one(fig, "merged")
    a, b = np.asarray(snap.members_a), np.asarray(snap.members_b)
    assert sorted(_arr(merged.customdata).tolist()) == sorted(np.concatenate([a, b]).tolist())
    cen = _one(fig, "centroids")
    np.testing.assert_allclose([_arr(cen.x)[0], _arr(cen.y)[0]], X40[a].mean(axis=0), rtol=1e-6)  # float32
    np.testing.assert_allclose([_arr(cen.x)[1], _arr(cen.y)[1]], X40[b].mean(axis=0), rtol=1e-6)
    assert fig.layout.title.text.startswith(f"Step {step + 1}<br>merge {step}")


def test_scatter_many_clusters_only_largest_coloured(ward):
    fig = _valid(hv.scatter(ward, 15))  # 25 clusters, many of them single points
    pts = _one(fig, "points")
    colors = _point_colors(fig)
    labels = np.asarray(ward.steps[15].labels)
    sizes = np.bincount(labels)
    palette = set(hv.PALETTE[: hv.MAX_COLORED])
    used = {c for c in colors.tolist() if c in palette}
    assert len(used) == min(hv.MAX_COLORED, int((sizes >= 2).sum()))
    single = sizes[labels] == 1
    assert not set(colors[single]) & palette
    assert set(_arr(pts.marker.size)[single].tolist()) == {5}
    assert f"small, light grey: {int(single.sum())} single points" in _notes(fig)


def test_scatter_is_to_scale_with_a_legend_naming_the_colours(ward):
    step = 30  # 10 clusters
    fig = _valid(hv.scatter(ward, step))
    ya = fig.layout.yaxis
    assert ya.scaleanchor == "x" and ya.scaleratio == 1 and ya.constrain == "domain"
    pts = _one(fig, "points")
    legend = _role(fig, "legend")
    labels = np.asarray(ward.steps[step].labels)
    colors = _point_colors(fig)
    sizes = np.bincount(labels)
    named = [tr for tr in legend if tr.meta["what"] == "cluster"]
    assert [tr.name for tr in named] == [f"{j + 1}" for j in range(len(named))]
    assert fig.layout.legend.title.text == "cluster:"
    for tr in named:
        members = colors == tr.marker.color
        # the points of that colour are one cluster of m points, and say so on hover
        assert len(set(labels[members])) == 1 and sizes[labels[members][0]] == members.sum() == tr.meta["size"]
        assert set(_sizes(pts)[members].tolist()) == {members.sum()}
    # every point's hover gives its number and its cluster's size (customdata); all 40
    # are drawn, so point #i is the trace's i-th
    assert pts.hovertemplate.startswith("point #%{pointNumber}<br>")
    assert "in a cluster of %{customdata}<" in pts.hovertemplate
    np.testing.assert_array_equal(_sizes(pts), sizes[labels])
    # clusters are numbered from 1, largest first, as the dendrogram's link colours are
    assert [tr.meta["size"] for tr in named] == sorted((tr.meta["size"] for tr in named), reverse=True)
    # the dendrogram beside it, with the cut line drawn, colours the same clusters the same way
    with_cut = hv.dendrogram(ward, step, cut_k=3, color_by_cut=False)
    assert _one(with_cut, "cut").meta["k"] == 3
    for dendro in (hv.dendrogram(ward, step), with_cut):
        links = {tr.name: tr.line.color for tr in _role(dendro, "links", state="done")}
        for tr in named:
            assert links[f"cluster {tr.name}"] == tr.marker.color
    assert fig.layout.showlegend and fig.layout.legend.itemclick is False


def test_scatter_legend_lists_the_coloured_clusters_and_notes_say_what_grey_is(ward):
    fig = _valid(hv.scatter(ward, 15))
    legend = _role(fig, "legend")
    assert [tr.name for tr in legend] == [str(j + 1) for j in range(hv.MAX_COLORED)]
    labels = np.asarray(ward.steps[15].labels)
    sizes = np.bincount(labels)
    grey = int((sizes >= 2).sum()) - hv.MAX_COLORED
    assert grey == 1 and "grey: 1 smaller cluster<br>" in _notes(fig)  # one cluster, said in the singular


def test_heatmap_says_what_its_axes_and_colours_are(X40):
    t = hierarchy.trace_agnes(X40, linkage="average", metric="manhattan")
    fig = _valid(hv.distance_heatmap(t, 3))
    for ax in (fig.layout.xaxis, fig.layout.yaxis):
        assert "point" in ax.title.text and "leaf order" in ax.title.text
    hm = _one(fig, "distances")
    assert "Manhattan" in hm.colorbar.title.text and "distance" in hm.colorbar.title.text
    # the colour bar sits in the figure: fixed margins leave it room on the right
    assert fig.layout.margin.r >= 90


def test_subsampled_scatter_names_each_drawn_point_by_its_row(ward):
    """With a subsample, the i-th drawn point is not row i: customdata holds (row, cluster size) pairs."""
    fig = _valid(hv.scatter(ward, 30, max_points=15))
    pts = _one(fig, "points")
    c = _arr(pts.customdata)
    assert c.shape == (15, 2)
    rows = c[:, 0]
    assert len(set(rows.tolist())) == 15 and rows.max() < 40
    np.testing.assert_allclose(_arr(pts.x), common.project_points(ward.X, np.zeros(2), np.eye(2))[rows, 0], rtol=1e-6)
    labels = np.asarray(ward.steps[30].labels)
    np.testing.assert_array_equal(c[:, 1], np.bincount(labels)[labels[rows]])
    assert pts.hovertemplate.startswith("point #%{customdata[0]}<br>")
    assert "in a cluster of %{customdata[1]}<" in pts.hovertemplate


def test_scatter_cut_k_and_stable_ranges(ward):
    fig = _valid(hv.scatter(ward, 10, cut_k=3))
    colors = _point_colors(fig)
    assert _same_partition(colors, hierarchy.cut(ward, 3))
    other = hv.scatter(ward, 30)
    assert list(fig.layout.xaxis.range) == list(other.layout.xaxis.range)
    assert fig.layout.uirevision == other.layout.uirevision


def test_scatter_pca_axes():
    X = np.asarray(datasets.load("iris").X, dtype=float)[:50]
    t = hierarchy.trace_agnes(X, linkage="complete")
    fig = _valid(hv.scatter(t, 20, axes="pca"))
    assert "PC1" in fig.layout.xaxis.title.text


def test_scatter_diana_marks_the_splinter_group():
    t = hierarchy.trace_diana(SIX, metric="euclidean")
    phases = [s.phase for s in t.steps]
    assert "splinter" in phases and "split" in phases
    for i, snap in enumerate(t.steps):
        fig = _valid(hv.scatter(t, i))
        if snap.phase == "splinter":
            assert sorted(_arr(_one(fig, "splinter").customdata).tolist()) == sorted(snap.splinter.tolist())
            assert _arr(_one(fig, "moved").customdata).tolist() == [snap.moved]
        else:
            assert not _role(fig, "splinter") and not _role(fig, "merged")
        assert hv.step_title(t, i).startswith(f"Step {i + 1}")


# ----------------------------------------------------------------------- merge heights


def test_merge_heights(ward):
    Z = ward.linkage_matrix
    fig = _valid(hv.merge_heights(ward, 12, log_y=False))
    curve = _one(fig, "heights")
    assert np.asarray(curve.x).tolist() == list(range(2, 41))
    np.testing.assert_array_equal(np.asarray(curve.y), Z[:, 2])
    vline, ring = fig.layout.shapes
    assert ring.name == "current" and (ring.xanchor, ring.yanchor) == (13, Z[11, 2])
    assert vline.x0 == 13
    assert not _role(fig, "inversions")
    start = _valid(hv.merge_heights(ward, 0, log_y=False)).layout.shapes[1]
    assert (start.xanchor, start.yanchor) == (1, 0.0)


def _axis_share(fig: go.Figure, y: float) -> float:
    """Where height ``y`` sits on the drawn y axis, 0 at the bottom and 1 at the top."""
    ya = fig.layout.yaxis
    lo, hi = ya.range
    v = np.log10(y) if ya.type == "log" else y
    return (v - lo) / (hi - lo)


def test_merge_heights_at_300_points_show_the_early_merges_and_the_last_ones():
    X = np.asarray(datasets.load("blobs").standardized().X, dtype=float)
    t = hierarchy.trace_agnes(X, linkage="ward")
    h = t.linkage_matrix[:, 2]
    fig = _valid(hv.merge_heights(t, 5, cut_height=hv.cut_for_k(t, 3)))
    # On a linear axis the median merge sits in the bottom 1 % (a flat line); here it is readable.
    assert h.max() / np.median(h) > 100
    assert fig.layout.yaxis.type == "log" and fig.layout.meta["log"]
    assert 0.25 < _axis_share(fig, float(np.median(h))) < 0.9
    assert 0 < _axis_share(fig, float(h[h > 0].min())) < _axis_share(fig, float(h.max())) < 1
    last = _one(fig, "last-merges")
    assert np.asarray(last.customdata).tolist() == list(range(hv.LAST_MERGES, 0, -1))  # clusters left
    assert np.asarray(last.x).tolist() == list(range(300 - hv.LAST_MERGES + 1, 301))
    assert "log scale" in _notes(fig) and f"last {hv.LAST_MERGES} merges" in _notes(fig)
    assert "log scale" in fig.layout.yaxis.title.text
    np.testing.assert_array_equal(np.asarray(_one(fig, "heights").customdata), h)  # hover: the true heights
    cut = _one(fig, "cut")
    assert cut.y[0] == pytest.approx(hv.cut_for_k(t, 3))
    assert "cut: k = 3" in cut.text  # says which cut, as the dendrogram's "k = 3" does
    assert cut.textposition == "bottom right" and not cut.text[-1], "clear of the last merges on the right"
    # the start (height 0) is drawn at the floor of the log axis, not lost below it
    start = _valid(hv.merge_heights(t, 0)).layout.shapes[1]
    assert start.name == "current"
    assert 0 < _axis_share(fig, 10 ** start.yanchor) < 0.1  # a shape on a log axis takes log10


def test_merge_heights_of_equal_points_on_a_log_axis():
    X = np.vstack([np.zeros((3, 2)), np.random.default_rng(0).normal(size=(60, 2)) * [1, 1] + 50])
    t = hierarchy.trace_agnes(X, linkage="single")
    fig = _valid(hv.merge_heights(t, 2, log_y=True))
    y = np.asarray(_one(fig, "heights").y, dtype=float)
    assert np.all(y > 0)
    assert "at height 0 drawn at" in _notes(fig)


def test_merge_heights_marks_inversions(crossing):
    fig = _valid(hv.merge_heights(crossing, 2))
    inv = _one(fig, "inversions")
    assert np.asarray(inv.customdata).tolist() == [2]
    assert inv.marker.color != _one(fig, "heights").line.color


# ------------------------------------------------------------------ linkage comparison


def test_linkage_comparison(X40):
    fig = _valid(hv.linkage_comparison(X40))
    names = ("single", "complete", "average", "ward")
    assert list(fig.layout.meta["linkages"]) == list(names)
    titles = [a.text for a in fig.layout.annotations[:4]]
    for name, title in zip(names, titles):
        assert title.startswith(f"{name} linkage")
    for c, name in enumerate(names):
        panel = [t for t in _role(fig, "links") if t.meta["panel"] == c]
        ax = "x" if c == 0 else f"x{c + 1}"
        assert {t.xaxis for t in panel} == {ax}
        heights = np.concatenate([_arr(t.y).astype(float).reshape(-1, 5)[:, 1] for t in panel])
        np.testing.assert_allclose(np.sort(heights), np.sort(linkage(X40, method=name)[:, 2]))
        pts = [t for t in _role(fig, "points") if t.meta["panel"] == c]
        assert len(pts) == 1 and len(np.unique(np.asarray(pts[0].meta["labels"]))) == 3
        # the scatter under each tree is drawn to scale, as the lab's scatter is
        sfx = pts[0].yaxis[1:]
        ya = fig.layout[f"yaxis{sfx}"]
        assert ya.scaleanchor == f"x{sfx}" and ya.scaleratio == 1 and ya.constrain == "domain"
    # single linkage chains: its tree is lower and flatter than complete's
    assert linkage(X40, "single")[:, 2].max() < linkage(X40, "complete")[:, 2].max()


def test_linkage_comparison_of_many_points_clusters_a_sample_and_says_so():
    X = np.random.default_rng(1).normal(size=(130, 2))
    fig = _valid(hv.linkage_comparison(X, max_points=50, seed=4, linkages=("single", "ward")))
    rows = np.asarray(fig.layout.meta["rows"])
    assert len(rows) == len(np.unique(rows)) == 50 and rows.max() < 130
    assert np.array_equal(rows, common.subsample(130, 50, 4))
    assert "a random sample of 50 of the 130 points (seed 4)" in _notes(fig)
    for c, name in enumerate(("single", "ward")):
        panel = [t for t in _role(fig, "links") if t.meta["panel"] == c]
        heights = np.concatenate([_arr(t.y).astype(float).reshape(-1, 5)[:, 1] for t in panel])
        np.testing.assert_allclose(np.sort(heights), np.sort(linkage(X[rows], method=name)[:, 2]), rtol=1e-6)
        (pts,) = [t for t in _role(fig, "points") if t.meta["panel"] == c]
        assert np.array_equal(np.asarray(pts.customdata), rows)  # hover names the data rows
    # the default bound: 10 000 points cluster 2 000 of them
    assert hv.LINKAGE_COMPARISON_MAX_POINTS == 2_000
    assert "sample" not in _notes(hv.linkage_comparison(X, linkages=("single",)))


def test_linkage_comparison_two_by_two_without_points(X40):
    fig = _valid(hv.linkage_comparison(X40[:, :1], linkages=("single", "complete", "average", "ward", "centroid"),
                                       k=None))
    assert not _role(fig, "points")
    assert len({t.meta["panel"] for t in _role(fig, "links")}) == 5
    assert fig.layout.xaxis5.domain[0] == fig.layout.xaxis.domain[0]  # second row


def test_linkage_comparison_euclidean_only_linkages(X40):
    fig = _valid(hv.linkage_comparison(X40, metric="manhattan", linkages=("single", "ward")))
    titles = [a.text for a in fig.layout.annotations[:2]]
    assert "Euclidean" not in titles[0] and "(Euclidean distances)" in titles[1]
    ward_links = [t for t in _role(fig, "links") if t.meta["panel"] == 1]
    heights = np.concatenate([_arr(t.y).astype(float).reshape(-1, 5)[:, 1] for t in ward_links])
    np.testing.assert_allclose(np.sort(heights), np.sort(linkage(X40, method="ward")[:, 2]))
    with pytest.raises(ValueError, match="linkage should be one of"):
        hv.linkage_comparison(X40, linkages=("median",))


# ------------------------------------------------------------------------ step charts


def test_default_run_step_charts_are_lean():
    """The lab's default run (300 blobs, Ward, cut at k = 3): what each drawn step costs the browser.

    Each step's patch used to resend every point's colour name and hover sentence,
    every link's float64 coordinates and the leaf order (about 70 KB a step: 85 of
    300 steps fitted the size bound, 6.2 MB). The time bound is lifted here (it
    depends on the machine); the size bound alone decides the frames.
    """
    import functools
    import json

    from tracelab.plot import stepping

    X = np.asarray(datasets.load("blobs").standardized().X, dtype=float)
    t = hierarchy.trace_agnes(X, linkage="ward")
    build = stepping.build_spec
    try:
        hv.stepping.build_spec = functools.partial(build, max_seconds=600)
        spec = hv.step_charts(t, cut_k=3)
    finally:
        hv.stepping.build_spec = build
    doc = spec.spec()
    per_frame = [sum(len(json.dumps(ch["patches"][f], separators=(",", ":"))) for ch in doc["charts"])
                 for f in range(len(spec.frames))]
    assert spec.n_steps == 300 and spec.n_bytes <= stepping.MAX_SPEC_BYTES
    assert max(per_frame) <= 23_000 and np.mean(per_frame) <= 15_000, (max(per_frame), np.mean(per_frame))
    # every step fits the size bound: only the time bound (per machine) may thin the frames
    assert spec.frames == tuple(range(300)) and not spec.notes
    assert spec.n_bytes <= 4_600_000, spec.n_bytes
