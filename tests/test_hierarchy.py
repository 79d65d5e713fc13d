"""Tests for tracelab.labs.hierarchy.engine: AGNES against scipy and a brute-force reference, DIANA
against a brute-force reading of its splinter rule, labels, JSON, pickles, check_trace."""

from __future__ import annotations

import dataclasses
import itertools
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import cdist, pdist

from tracelab.labs.hierarchy.engine import (
    LINKAGES,
    MAX_AGNES_POINTS,
    METRICS,
    DianaSnapshot,
    MergeSnapshot,
    check_trace,
    compare_linkages,
    cut,
    distance_matrix,
    trace_agnes,
    trace_diana,
)
from tracelab.record.trace import Trace

VALID = [
    (linkage_, metric)
    for linkage_ in LINKAGES
    for metric in METRICS
    if linkage_ not in ("ward", "centroid") or metric == "euclidean"
]
SCIPY_METRIC = {"manhattan": "cityblock"}


def _data(n=14, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def _pdist(X, metric, p=3.0):
    if metric == "minkowski":
        return pdist(X, "minkowski", p=p)
    return pdist(X, SCIPY_METRIC.get(metric, metric))


def _canon(labels) -> tuple:
    """A partition as a canonical tuple: clusters numbered by first appearance."""
    seen: dict = {}
    return tuple(seen.setdefault(int(x), len(seen)) for x in labels)


def _replay(Z, n, k):
    """Partition after the first n - k merges of Z, by union-find."""
    parent = list(range(2 * n - 1))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for i in range(n - k):
        a, b = int(Z[i, 0]), int(Z[i, 1])
        parent[a] = parent[b] = n + i
    return _canon([find(i) for i in range(n)])


# ---------------------------------------------------------------------------
# An independent brute-force AGNES: the linkage of two clusters from its definition
# ---------------------------------------------------------------------------


def _brute_agnes(X, method, metric, p=3.0):
    """Merge, n - 1 times, the pair of active clusters with the smallest linkage.

    Returns the merge heights in order and the clusters formed (frozensets of points).
    """
    if metric == "minkowski":
        D = cdist(X, X, "minkowski", p=p)
    else:
        D = cdist(X, X, SCIPY_METRIC.get(metric, metric))
    clusters = [[i] for i in range(len(X))]
    heights, formed = [], []

    def link(u, v):
        block = D[np.ix_(u, v)]
        if method == "single":
            return block.min()
        if method == "complete":
            return block.max()
        if method == "average":
            return block.mean()
        cu, cv = X[u].mean(axis=0), X[v].mean(axis=0)
        dist = np.sqrt(((cu - cv) ** 2).sum())
        if method == "centroid":
            return dist
        # Ward: sqrt(2 * increase of the within-cluster sum of squares).
        return np.sqrt(2.0 * len(u) * len(v) / (len(u) + len(v))) * dist

    while len(clusters) > 1:
        best = min(
            ((link(clusters[i], clusters[j]), i, j)
             for i, j in itertools.combinations(range(len(clusters)), 2)),
        )
        h, i, j = best
        merged = clusters[i] + clusters[j]
        clusters = [c for t, c in enumerate(clusters) if t not in (i, j)] + [merged]
        heights.append(h)
        formed.append(frozenset(merged))
    return np.array(heights), formed


def _formed(trace):
    return [frozenset(s.members.tolist()) for s in trace.steps[1:]]


@pytest.mark.parametrize("method,metric", VALID)
def test_agnes_matches_brute_force(method, metric):
    X = _data(9, 3, seed=1)
    p = 3.0 if metric == "minkowski" else 2.0
    trace = trace_agnes(X, linkage=method, metric=metric, p=p)
    heights = trace.linkage_matrix[:, 2]
    ref_h, ref_sets = _brute_agnes(X, method, metric, p=3.0)
    if method == "centroid":
        # Not monotone: the order is the order of the global closest pairs.
        np.testing.assert_allclose(heights, ref_h, rtol=1e-10)
        assert _formed(trace) == ref_sets
    else:
        np.testing.assert_allclose(heights, np.sort(ref_h), rtol=1e-10)
        assert set(_formed(trace)) == set(ref_sets)


@pytest.mark.parametrize("method,metric", VALID)
def test_agnes_matches_scipy(method, metric):
    X = _data(30, 3, seed=2)
    p = 1.5 if metric == "minkowski" else 2.0
    trace = trace_agnes(X, linkage=method, metric=metric, p=p)
    n = len(X)
    Z = trace.linkage_matrix
    if method in ("ward", "centroid"):
        ref = linkage(X, method)
    else:
        ref = linkage(_pdist(X, metric, p=1.5), method)
    assert Z.shape == (n - 1, 4)
    np.testing.assert_allclose(Z[:, 2], ref[:, 2], rtol=1e-10, atol=0)
    np.testing.assert_array_equal(Z[:, [0, 1, 3]], ref[:, [0, 1, 3]])
    monotone = bool(np.all(np.diff(ref[:, 2]) >= 0))
    for k in range(1, n + 1):
        ours = _canon(cut(trace, k))
        assert ours == _canon(trace.steps[n - k].labels)
        assert ours == _replay(ref, n, k)
        if monotone:
            assert ours == _canon(fcluster(ref, k, criterion="maxclust"))


def test_trace_shape_and_fields():
    X = _data(10, 2)
    trace = trace_agnes(X, linkage="average", metric="cityblock")
    assert trace.algorithm == "agnes"
    assert trace.params == {"linkage": "average", "metric": "manhattan", "p": 2.0}
    assert trace.converged is True and trace.n_iter == 9 and len(trace) == 10
    assert isinstance(trace.X, np.ndarray) and not trace.X.flags.writeable
    start = trace.steps[0]
    assert isinstance(start, MergeSnapshot) and start.phase == "init" and start.iteration == 0
    assert (start.a, start.b, start.new_id, start.height, start.size) == (-1, -1, -1, 0.0, 1)
    assert "every point is its own cluster" in start.message
    np.testing.assert_array_equal(start.labels, np.arange(10))
    assert start.members_a.size == 0 and start.members_b.size == 0
    for i, s in enumerate(trace.steps[1:], start=1):
        assert s.phase == "merge" and s.iteration == i and s.index == i and s.new_id == 10 + i - 1
    assert trace.linkage_matrix.dtype == np.float64 and not trace.linkage_matrix.flags.writeable


def test_labels_and_members_consistent_on_every_step():
    X = _data(25, 2, seed=3)
    trace = trace_agnes(X, linkage="single")
    n = len(X)
    prev = trace.steps[0].labels
    for s in trace.steps[1:]:
        labels = s.labels
        assert labels.shape == (n,) and not labels.flags.writeable
        assert labels.max() + 1 == n - s.iteration == s.n_clusters
        # Numbered by smallest point: first appearances come in order 0, 1, 2, ...
        _, first = np.unique(labels, return_index=True)
        assert np.all(np.diff(first) > 0)
        ma, mb = s.members_a, s.members_b
        assert ma.size + mb.size == s.size
        np.testing.assert_array_equal(s.members, np.union1d(ma, mb))
        assert np.intersect1d(ma, mb).size == 0
        # Before the merge a and b are two whole clusters; after it, one.
        assert np.unique(prev[ma]).size == 1 and np.unique(prev[mb]).size == 1
        assert prev[ma[0]] != prev[mb[0]]
        assert np.sum(prev == prev[ma[0]]) == ma.size and np.sum(prev == prev[mb[0]]) == mb.size
        assert np.unique(labels[s.members]).size == 1
        assert np.sum(labels == labels[ma[0]]) == s.size
        # Every other cluster is unchanged.
        assert _canon(labels) == _canon(np.where(np.isin(np.arange(n), mb), prev[ma[0]], prev))
        prev = labels
    assert np.all(prev == 0)


def test_labels_can_be_read_in_any_order():
    trace = trace_agnes(_data(40, 2, seed=4), linkage="complete")
    Z = trace.linkage_matrix
    for k in np.random.default_rng(0).permutation(40):
        assert _canon(trace.steps[k].labels) == _replay(Z, 40, 40 - k)


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method,meaning", [
    ("single", "the closest pair"),
    ("complete", "the farthest pair"),
    ("average", "the mean of all pairs"),
    ("centroid", "the distance between centroids"),
    ("ward", "the smallest increase in within-cluster variance"),
])
def test_messages_say_what_the_linkage_means(method, meaning):
    trace = trace_agnes(_data(8, 2, seed=5), linkage=method)
    for s in trace.steps[1:]:
        assert f"({method} linkage: {meaning})" in s.message
        assert s.message.lower().startswith("merge {")
    assert "one cluster left" in trace.steps[-1].message
    assert "8 points" in trace.message and "7 merges" in trace.message


def test_merge_message_names_the_points():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 0.0], [5.3, 0.0], [20.0, 0.0]])
    trace = trace_agnes(X, linkage="complete")
    assert trace.steps[1].message.startswith("Merge {0} and {1} at height 0.1 (complete linkage: the farthest pair)")
    assert trace.steps[3].message.startswith("Merge {0, 1} and {2, 3} at height 5.3")


def test_big_clusters_are_cut_short_in_messages():
    trace = trace_agnes(_data(30, 2, seed=6))
    last = trace.steps[-1].message
    assert "… (" in last and "points)}" in last
    assert len(last) < 250


def test_centroid_inversion_is_announced():
    # The design note's example: heights 2.0, then 1.8.
    trace = trace_agnes(np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.8]]), linkage="centroid")
    np.testing.assert_allclose(trace.linkage_matrix[:, 2], [2.0, 1.8])
    msg = trace.steps[2].message
    assert "lower than the previous merge" in msg and "centroid linkage can cross" in msg
    assert "1.8" in msg
    assert "lower" not in trace.steps[1].message
    check_trace(trace)


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ward", "centroid"])
@pytest.mark.parametrize("metric", ["manhattan", "cosine", "chebyshev", "minkowski", "cityblock"])
def test_euclidean_only_linkages_refuse_other_metrics(method, metric):
    with pytest.raises(ValueError, match=rf"{method} linkage needs metric='euclidean'.*but got metric="):
        trace_agnes(_data(5), linkage=method, metric=metric)


@pytest.mark.parametrize("kwargs,match", [
    ({"linkage": "median"}, r"linkage should be one of 'single', .*'ward', but got 'median'"),
    ({"metric": "hamming", "linkage": "average"}, r"metric should be one of 'euclidean'.*but got 'hamming'"),
    ({"metric": "minkowski", "linkage": "average", "p": 0.5}, r"p should be at least 1 .*but got 0.5"),
    ({"p": "two"}, r"p should be a number"),
    ({"p": float("nan")}, r"p should be a finite number"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        trace_agnes(_data(5), **kwargs)


def test_bad_data():
    with pytest.raises(ValueError, match="NaN or infinite"):
        trace_agnes([[0.0, 1.0], [np.nan, 2.0]])
    with pytest.raises(ValueError, match="no points"):
        trace_agnes(np.empty((0, 2)))
    X = _data(4)
    X[2] = 0.0
    with pytest.raises(ValueError, match="cosine distance is undefined .* row 2 is all zeros"):
        trace_agnes(X, linkage="average", metric="cosine")
    with pytest.raises(ValueError, match="at most 500 points"):
        trace_diana(np.zeros((501, 1)))
    with pytest.raises(ValueError, match=r"max_splits should be at most .* \(3\), but got 4"):
        trace_diana(_data(4), max_splits=4)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "minkowski"])
def test_compare_linkages_gives_each_trees_merges(metric):
    X = _data(30)
    names = ("single", "complete", "average", "centroid", "ward")
    got = compare_linkages(X, names, metric=metric, p=3.0)
    assert len(got) == len(names)
    for name, (Z, euclidean) in zip(names, got):
        # ward and centroid are Euclidean by definition: another metric is replaced, and said so
        assert euclidean == (name in ("centroid", "ward") and metric != "euclidean")
        y = pdist(X, "euclidean") if euclidean or metric == "euclidean" else (
            pdist(X, "minkowski", p=3.0) if metric == "minkowski" else pdist(X, "cityblock"))
        np.testing.assert_allclose(Z, linkage(y, method=name))
        if not euclidean:  # the very merges trace_agnes records
            t = trace_agnes(X, linkage=name, metric=metric, p=3.0)
            np.testing.assert_allclose(Z, t.linkage_matrix)
    with pytest.raises(ValueError, match=r"linkage should be one of .*but got 'median'"):
        compare_linkages(X, ("single", "median"))
    with pytest.raises(ValueError, match="at least 2 rows"):
        compare_linkages(X[:1])
    with pytest.raises(ValueError, match=f"at most {MAX_AGNES_POINTS:,} points"):
        compare_linkages(np.zeros((MAX_AGNES_POINTS + 1, 1)))


def test_tiny_inputs():
    one = trace_agnes([[1.0, 2.0]])
    assert len(one) == 1 and one.n_iter == 0 and one.linkage_matrix.shape == (0, 4)
    np.testing.assert_array_equal(cut(one, 1), [0])
    check_trace(one)
    two = trace_agnes([[0.0], [3.0]], linkage="single")
    np.testing.assert_array_equal(two.linkage_matrix, [[0, 1, 3.0, 2]])
    check_trace(Trace.from_json(two.to_json()))
    d1 = trace_diana([[1.0]])
    assert len(d1) == 1 and d1.converged and d1.n_iter == 0
    check_trace(d1)


def test_cut_and_distance_matrix():
    X = _data(12, 2)
    trace = trace_agnes(X, linkage="average")
    Z = trace.linkage_matrix
    for k in (1, 3, 12):
        np.testing.assert_array_equal(cut(trace, k), cut(Z, k))
        assert cut(trace, k).max() + 1 == k
    with pytest.raises(ValueError, match=r"k should be a whole number from 1 to the number of points \(12\), but got 13"):
        cut(trace, 13)
    bad = Z.copy()
    bad[3, 0] = bad[3, 1]
    with pytest.raises(ValueError, match="not a valid linkage matrix"):
        cut(bad, 2)
    with pytest.raises(ValueError, match="cut needs an AGNES trace"):
        cut(trace_diana(X[:4]), 2)
    D = distance_matrix(X, "minkowski", 3)
    np.testing.assert_allclose(D, cdist(X, X, "minkowski", p=3))
    assert not D.flags.writeable
    np.testing.assert_allclose(distance_matrix(X, "cityblock"), cdist(X, X, "cityblock"))


# ---------------------------------------------------------------------------
# JSON, pickles, linkage_matrix on other traces
# ---------------------------------------------------------------------------


def test_json_round_trip_is_exact():
    trace = trace_agnes(_data(20, 3, seed=7), linkage="centroid")
    text = trace.to_json()
    back = Trace.from_json(text)
    assert back == trace
    assert back.to_json() == text
    np.testing.assert_array_equal(back.linkage_matrix, trace.linkage_matrix)
    for s, t in zip(trace.steps, back.steps):
        assert type(t) is MergeSnapshot and s.message == t.message
        np.testing.assert_array_equal(s.labels, t.labels)
        np.testing.assert_array_equal(s.members_a, t.members_a)
    # Two traces loaded one after the other keep their own merges.
    other = trace_agnes(_data(20, 3, seed=8), linkage="single")
    back2 = Trace.from_json(other.to_json())
    assert _canon(back.steps[10].labels) == _canon(trace.steps[10].labels)
    assert _canon(back2.steps[10].labels) == _canon(other.steps[10].labels)
    check_trace(back)


def test_diana_json_round_trip():
    trace = trace_diana(_data(9, 2, seed=9), metric="chebyshev")
    text = trace.to_json()
    back = Trace.from_json(text)
    assert back == trace and back.to_json() == text
    assert all(type(s) is DianaSnapshot for s in back.steps)
    check_trace(back)


def test_pickle_keeps_arrays_read_only():
    trace = trace_agnes(_data(15, 2), linkage="ward")
    trace.steps[5].labels  # fill the caches: they are not pickled
    back = pickle.loads(pickle.dumps(trace))
    assert back == trace
    assert not back.X.flags.writeable
    for s, t in zip(trace.steps, back.steps):
        assert not t.labels.flags.writeable
        np.testing.assert_array_equal(s.labels, t.labels)
    # The steps still share one merge log.
    assert len({id(s._log) for s in back.steps}) == 1
    d = pickle.loads(pickle.dumps(trace_diana(_data(6, 2))))
    for s in d.steps:
        for name in ("labels", "cluster", "splinter"):
            assert not getattr(s, name).flags.writeable


def test_linkage_matrix_only_for_agnes():
    diana = trace_diana(_data(5, 2))
    with pytest.raises(ValueError, match="only agnes traces have a linkage matrix"):
        diana.linkage_matrix
    assert not hasattr(diana, "linkage_matrix")


def test_detached_snapshot_explains():
    snap = MergeSnapshot(index=1, phase="merge", iteration=1, message="m", a=0, b=1, height=1.0, size=2, new_id=3)
    with pytest.raises(ValueError, match="not attached to its trace's merges"):
        snap.labels


# ---------------------------------------------------------------------------
# check_trace
# ---------------------------------------------------------------------------


def _replace_step(trace, i, **changes):
    steps = list(trace.steps)
    steps[i] = dataclasses.replace(steps[i], **changes)
    return dataclasses.replace(trace, steps=tuple(steps))


def test_check_trace_accepts_real_traces():
    for method, metric in VALID:
        check_trace(trace_agnes(_data(8), linkage=method, metric=metric))
    check_trace(trace_diana(_data(8), metric="cosine"))
    check_trace(trace_diana(_data(8), max_splits=2))


@pytest.mark.parametrize("i,changes,match", [
    (3, {"a": 3, "b": 3}, "merges cluster 3 with itself"),
    (3, {"size": 7}, "size says 7"),
    (3, {"height": -1.0}, "height should be a finite number at least 0"),
    (3, {"height": float("nan")}, "height should be a finite number"),
    (3, {"new_id": 99}, "new_id should be 12"),
    (3, {"a": 40}, "a should be a cluster id from 0 to 11"),
    (3, {"iteration": 4}, "says it is merge 4"),
    (3, {"phase": "split"}, "has phase 'split'"),
])
def test_check_trace_refuses_corrupted_agnes(i, changes, match):
    trace = trace_agnes(_data(10, 2, seed=11), linkage="average")
    with pytest.raises(ValueError, match=f"This trace cannot be shown in the AGNES lab: .*{match}"):
        check_trace(_replace_step(trace, i, **changes))


def test_check_trace_refuses_reused_cluster_and_wrong_shapes():
    trace = trace_agnes(_data(10, 2, seed=11), linkage="average")
    first = trace.steps[1]
    with pytest.raises(ValueError, match="already merged"):
        check_trace(_replace_step(trace, 2, a=first.a, size=trace.steps[2].size))
    with pytest.raises(ValueError, match="it has 9 steps"):
        check_trace(dataclasses.replace(trace, steps=trace.steps[:-1]))
    with pytest.raises(ValueError, match="not of AGNES"):
        check_trace(dataclasses.replace(trace, algorithm="kmeans"))
    with pytest.raises(ValueError, match="does not hold its data"):
        check_trace(dataclasses.replace(trace, X=None))


def test_check_trace_refuses_corrupted_diana():
    trace = trace_diana(_data(7, 2, seed=12))
    i = next(j for j, s in enumerate(trace.steps) if s.phase == "splinter")
    k = next(j for j, s in enumerate(trace.steps) if s.phase == "split")
    with pytest.raises(ValueError, match="DIANA lab: .*moved should be the last point"):
        snap = trace.steps[i]
        other = int(next(p for p in snap.cluster if p != snap.moved))
        check_trace(_replace_step(trace, i, moved=other))
    with pytest.raises(ValueError, match="DIANA lab: .*splinter group should be part of the cluster"):
        check_trace(_replace_step(trace, i, splinter=np.arange(7)))
    with pytest.raises(ValueError, match="DIANA lab: .*expected"):
        check_trace(_replace_step(trace, k, labels=trace.steps[0].labels))
    with pytest.raises(ValueError, match="DIANA lab: .*labels should have one entry per point"):
        check_trace(_replace_step(trace, k, labels=np.zeros(3, dtype=np.int16)))


# ---------------------------------------------------------------------------
# DIANA against a brute-force reading of its rule
# ---------------------------------------------------------------------------


def _brute_diana(X, metric):
    """DIANA written out with plain loops; returns [(cluster, [(moved, gain)], labels)]."""
    n = len(X)
    D = cdist(X, X, SCIPY_METRIC.get(metric, metric)).tolist()
    clusters = [list(range(n))]
    history = []

    def avg(i, group):
        others = [j for j in group if j != i]
        return sum(D[i][j] for j in others) / len(others)

    while any(len(c) > 1 for c in clusters):
        clusters.sort(key=min)
        diam = [max(D[i][j] for i in c for j in c) if len(c) > 1 else -1 for c in clusters]
        c = clusters[diam.index(max(diam))]  # first (smallest point) among ties
        old = sorted(c)
        # The first point: the largest average dissimilarity (lowest index on ties).
        first = max(old, key=lambda i: (avg(i, old), -i))
        moves = [(first, avg(first, old))]
        old.remove(first)
        splinter = [first]
        while len(old) > 1:
            gains = {i: avg(i, old) - sum(D[i][j] for j in splinter) / len(splinter) for i in old}
            best = max(old, key=lambda i: (gains[i], -i))
            if not gains[best] > 0:
                break
            moves.append((best, gains[best]))
            old.remove(best)
            splinter.append(best)
        clusters.remove(c)
        clusters += [sorted(splinter), old]
        clusters.sort(key=min)
        labels = [0] * n
        for j, g in enumerate(clusters):
            for i in g:
                labels[i] = j
        history.append((sorted(c), moves, labels))
    return history


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev"])
def test_diana_matches_brute_force(seed, metric):
    rng = np.random.default_rng(seed)
    n = 2 + seed % 6  # 2 to 7 points
    X = rng.normal(size=(n, 2))
    trace = trace_diana(X, metric=metric)
    ref = _brute_diana(X, metric)
    splits = [s for s in trace.steps if s.phase == "split"]
    assert len(splits) == len(ref) == n - 1 == trace.n_iter and trace.converged
    np.testing.assert_array_equal(trace.steps[-1].labels, np.arange(n))
    for split, (cluster, moves, labels) in zip(splits, ref):
        moved = [s for s in trace.steps if s.phase == "splinter" and s.iteration == split.iteration]
        np.testing.assert_array_equal(split.cluster, cluster)
        assert [s.moved for s in moved] == [m for m, _ in moves]
        np.testing.assert_allclose([s.gain for s in moved], [g for _, g in moves], rtol=1e-10)
        np.testing.assert_array_equal(split.labels, labels)
        np.testing.assert_array_equal(split.splinter, [m for m, _ in moves])
        D = cdist(X[cluster], X[cluster], SCIPY_METRIC.get(metric, metric))
        assert split.diameter == pytest.approx(D.max())
        for t, s in enumerate(moved):
            np.testing.assert_array_equal(s.splinter, [m for m, _ in moves[: t + 1]])
            np.testing.assert_array_equal(s.cluster, cluster)
    check_trace(trace)


def test_diana_steps_and_max_splits():
    X = _data(12, 2, seed=13)
    trace = trace_diana(X, max_splits=3)
    assert trace.algorithm == "diana" and trace.n_iter == 3 and trace.converged is False
    assert "max_splits = 3" in trace.message
    assert trace.params == {"metric": "euclidean", "p": 2.0, "max_splits": 3}
    start = trace.steps[0]
    assert start.phase == "init" and "one cluster" in start.message
    np.testing.assert_array_equal(start.labels, np.zeros(12))
    prev = start.labels
    for s in trace.steps[1:]:
        assert s.phase in ("splinter", "split")
        if s.phase == "splinter":
            np.testing.assert_array_equal(s.labels, prev)  # the split is not done yet
            assert s.moved == s.splinter[-1] and s.gain > 0 or s.splinter.size == 1
            assert f"point {s.moved} moves to the splinter group" in s.message
        else:
            assert s.labels.max() == prev.max() + 1
            # Only the split cluster changed: its points now carry two labels.
            outside = np.setdiff1d(np.arange(12), s.cluster)
            assert _canon(s.labels[outside]) == _canon(prev[outside])
            assert np.unique(s.labels[s.splinter]).size == 1
            assert np.unique(s.labels[s.cluster]).size == 2
            prev = s.labels
    assert trace.steps[-1].n_clusters == 4
    full = trace_diana(X)
    assert full.converged and full.n_iter == 11


def test_diana_duplicates_split_one_point_at_a_time():
    X = np.zeros((4, 2))
    trace = trace_diana(X)
    assert trace.converged and trace.n_iter == 3
    for s in trace.steps:
        if s.phase == "split":
            assert s.splinter.size == 1 and s.diameter == 0.0
    check_trace(trace)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 12),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(LINKAGES),
    grid=st.booleans(),
)
def test_any_run_is_a_valid_tree(n, seed, method, grid):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, 2)).astype(float) if grid else rng.normal(size=(n, 2))
    trace = trace_agnes(X, linkage=method)
    check_trace(trace)
    Z = trace.linkage_matrix
    np.testing.assert_allclose(Z[:, 2], linkage(X, method)[:, 2], rtol=1e-10, atol=1e-12)
    for k in range(1, n + 1):
        assert _canon(cut(trace, k)) == _replay(Z, n, k)
        assert _canon(cut(Z, k)) == _replay(Z, n, k)


def test_agnes_refuses_more_points_than_its_memory_bound_and_says_what_to_do():
    assert MAX_AGNES_POINTS == 5_000
    X = np.random.default_rng(0).normal(size=(MAX_AGNES_POINTS + 1, 2))
    with pytest.raises(ValueError, match=r"at most 5,000 points for AGNES .* but got 5,001: choose fewer points"):
        trace_agnes(X)
