"""Tests for tracelab.labs.density.hdbscan: HDBSCAN traces against scikit-learn and scipy."""

from __future__ import annotations

import dataclasses
import pickle
import re

import numpy as np
import pytest
from scipy.cluster.hierarchy import is_valid_linkage
from scipy.sparse.csgraph import minimum_spanning_tree as scipy_mst
from scipy.spatial.distance import cdist
from sklearn.cluster import HDBSCAN
from sklearn.datasets import make_blobs, make_moons

from tracelab.labs.density import hdbscan as hd
from tracelab.labs.density.hdbscan import (
    MAX_MST_STEPS,
    MAX_POINTS,
    PHASES,
    HDBSCANSnapshot,
    check_trace,
    iter_hdbscan,
    trace_hdbscan,
)
from tracelab.record.trace import Trace, snapshot_types

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def blobs_with_noise(seed=0):
    rng = np.random.default_rng(seed)
    X, _ = make_blobs(180, centers=3, cluster_std=0.8, random_state=seed)
    return np.vstack([X, rng.uniform(-12, 12, size=(30, 2))])


def moons(seed=1):
    return make_moons(200, noise=0.08, random_state=seed)[0]


def random_2d(seed=2):
    return np.random.default_rng(seed).normal(size=(150, 2))


def random_3d(seed=3):
    return np.random.default_rng(seed).uniform(size=(120, 3))


def rounded(seed=4):
    # Rounded coordinates: many equal distances, so many tied MST edges.
    return np.round(np.random.default_rng(seed).normal(size=(140, 2)), 1)


DATA = {"blobs": blobs_with_noise, "moons": moons, "random2d": random_2d,
        "random3d": random_3d, "ties": rounded}
PARAMS = [(5, None), (10, None), (5, 1), (5, 3), (15, 5), (2, None), (8, 12)]

_CACHE: dict = {}


def run(name, mcs, ms):
    key = (name, mcs, ms)
    if key not in _CACHE:
        _CACHE[key] = trace_hdbscan(DATA[name](), mcs, min_samples=ms)
    return _CACHE[key]


def sklearn_fit(X, mcs, ms):
    return HDBSCAN(min_cluster_size=mcs, min_samples=ms, copy=True).fit(X)


def same_partition(a, b):
    """Labels equal up to renumbering the clusters; noise (-1) must match exactly."""
    a, b = np.asarray(a), np.asarray(b)
    if not np.array_equal(a < 0, b < 0):
        return False
    pairs = set(zip(a[a >= 0].tolist(), b[b >= 0].tolist()))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


def mreach_matrix(X, core):
    D = cdist(X, X)
    return np.maximum(np.maximum(D, core[:, None]), core[None, :])


# ---------------------------------------------------------------------------
# Against scikit-learn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("mcs,ms", PARAMS)
def test_labels_and_probabilities_match_sklearn(name, mcs, ms):
    X = DATA[name]()
    trace = run(name, mcs, ms)
    sk = sklearn_fit(X, mcs, ms)
    last = trace.steps[-1]
    assert same_partition(last.labels, sk.labels_)
    # The tree is built as scikit-learn builds it, so even the numbering agrees.
    assert np.array_equal(last.labels, sk.labels_)
    np.testing.assert_allclose(last.probabilities, sk.probabilities_, rtol=0, atol=1e-6)


def test_blobs_find_the_three_blobs_and_some_noise():
    last = run("blobs", 10, None).steps[-1]
    assert last.n_clusters == 3
    assert 20 <= np.count_nonzero(last.labels == -1) < 110  # 30 uniform noise points, blob fringes


def test_same_partition_helper():
    assert same_partition([0, 0, 1, -1], [1, 1, 0, -1])
    assert not same_partition([0, 0, 1, -1], [1, 1, 0, 0])
    assert not same_partition([0, 0, 1, 1], [0, 0, 0, 1])


def test_core_distance_convention_counts_the_point_itself():
    X = random_2d()
    D = cdist(X, X)
    for ms in (1, 2, 7):
        core = trace_hdbscan(X, 5, min_samples=ms).steps[0].core_distances
        expected = np.sort(D, axis=1)[:, ms - 1]
        np.testing.assert_array_equal(core, expected)
    assert np.all(trace_hdbscan(X, 5, min_samples=1).steps[0].core_distances == 0)


def test_min_samples_defaults_to_min_cluster_size():
    X = moons()
    a = trace_hdbscan(X, 7)
    b = trace_hdbscan(X, 7, min_samples=7)
    assert a.params == {"min_cluster_size": 7, "min_samples": 7}
    assert a == b


# ---------------------------------------------------------------------------
# Stage invariants
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["blobs", "moons", "random3d"])
@pytest.mark.parametrize("mcs,ms", [(5, None), (5, 1), (15, 5)])
def test_mst_total_weight_equals_scipys(name, mcs, ms):
    X = DATA[name]()
    trace = run(name, mcs, ms)
    core = trace.steps[0].core_distances
    M = mreach_matrix(X, core)
    assert np.all(M[~np.eye(len(X), dtype=bool)] > 0)  # scipy reads 0 as "no edge"
    edges = trace.steps[-1].mst_edges
    assert edges.shape == (len(X) - 1, 3)
    assert edges[:, 2].sum() == pytest.approx(scipy_mst(M).sum(), rel=1e-12)
    i, j = edges[:, 0].astype(int), edges[:, 1].astype(int)
    np.testing.assert_array_equal(M[i, j], edges[:, 2])  # each weight is d_mreach(i, j)
    # A spanning tree: n - 1 edges joining every point.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    g = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(X), len(X)))
    assert connected_components(g, directed=False)[0] == 1


@pytest.mark.parametrize("name", sorted(DATA))
def test_mst_steps_grow_in_order_of_weight(name):
    trace = run(name, 5, None)
    n = len(trace.X)
    mst_steps = [s for s in trace.steps if s.phase == "mst"]
    assert 1 <= len(mst_steps) <= MAX_MST_STEPS
    full = trace.steps[-1].mst_edges
    assert np.all(np.diff(full[:, 2]) >= 0)
    sizes = [s.mst_edges.shape[0] for s in mst_steps]
    assert sizes == sorted(set(sizes)) and sizes[-1] == n - 1
    for s in mst_steps:
        np.testing.assert_array_equal(s.mst_edges, full[: s.mst_edges.shape[0]])
        assert f"{n - s.mst_edges.shape[0]} connected component" in s.message


@pytest.mark.parametrize("name", sorted(DATA))
def test_linkage_heights_are_the_sorted_mst_weights(name):
    trace = run(name, 5, None)
    Z = trace.steps[-1].linkage
    n = len(trace.X)
    assert is_valid_linkage(Z)
    np.testing.assert_array_equal(Z[:, 2], np.sort(trace.steps[-1].mst_edges[:, 2]))
    assert Z[-1, 3] == n


def _condensed_maps(cond, n):
    parent = {int(c): int(p) for p, c in cond[:, :2]}
    lam = {int(c): float(v) for c, v in zip(cond[:, 1], cond[:, 2])}
    return parent, lam


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("mcs,ms", [(5, None), (10, None), (5, 1), (2, None)])
def test_condensed_tree(name, mcs, ms):
    trace = run(name, mcs, ms)
    n = len(trace.X)
    last = trace.steps[-1]
    cond, Z = last.condensed, last.linkage
    leaves = cond[cond[:, 1] < n, 1].astype(int)
    assert np.array_equal(np.sort(leaves), np.arange(n))  # each point once, as a leaf
    assert np.all(cond[cond[:, 1] < n, 3] == 1)
    clusters = cond[cond[:, 1] >= n]
    assert np.all(clusters[:, 3] >= mcs)
    # lambdas are 1 / (a merge height of the single-linkage tree)
    heights = set(Z[:, 2].tolist())
    assert all(1.0 / v in heights or np.isclose(1.0 / v, list(heights)).any() for v in cond[:, 2])
    # Each cluster's size is the number of points below it; children are born later
    # (larger lambda) than their parents.
    parent, lam = _condensed_maps(cond, n)
    below = {}
    for p in range(n):
        c = parent[p]
        while True:
            below[c] = below.get(c, 0) + 1
            if c == n:
                break
            c = parent[c]
    for p, c, v, size in clusters:
        assert below[int(c)] == size
        if int(p) != n:
            assert v >= lam[int(p)]
    assert below[n] == n


def _independent_stability(cond, n):
    """Sum over each cluster's points of (lambda_p - lambda_birth)."""
    parent, lam = _condensed_maps(cond, n)
    birth = {c: lam.get(c, 0.0) for c in set(parent.values())}
    total = {c: 0.0 for c in birth}
    for p in range(n):
        # Walk up from the point: at each ancestor cluster C, the point leaves C at the
        # lambda of the row of C's child on the path (the point itself or a sub-cluster).
        node = p
        while node != n:
            c = parent[node]
            total[c] += lam[node] - birth[c]
            node = c
    return total


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("mcs,ms", [(5, None), (10, None), (15, 5)])
def test_stability_is_the_sum_over_points_of_lambda_minus_birth(name, mcs, ms):
    trace = run(name, mcs, ms)
    n = len(trace.X)
    st = trace.steps[-1].stability
    expected = _independent_stability(trace.steps[-1].condensed, n)
    assert sorted(expected) == st[:, 0].astype(int).tolist()
    for c, s in st:
        assert s == pytest.approx(expected[int(c)], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", sorted(DATA))
def test_selected_clusters_are_an_antichain_and_labels_follow_them(name):
    trace = run(name, 5, None)
    n = len(trace.X)
    last = trace.steps[-1]
    parent, _ = _condensed_maps(last.condensed, n)
    sel = [int(c) for c in last.selected]
    assert n not in sel
    for c in sel:
        a = c
        while a != n:
            a = parent[a]
            assert a not in sel
    for p in range(n):
        a, owner = parent[p], -1
        while True:
            if a in sel:
                owner = sel.index(a)
                break
            if a == n:
                break
            a = parent[a]
        assert last.labels[p] == owner
    assert np.all(last.probabilities[last.labels < 0] == 0)
    assert np.all((last.probabilities >= 0) & (last.probabilities <= 1))


# ---------------------------------------------------------------------------
# The trace's shape and messages
# ---------------------------------------------------------------------------


def test_phases_and_fields_per_stage():
    trace = run("blobs", 5, None)
    n = len(trace.X)
    phases = [s.phase for s in trace.steps]
    assert phases[:2] == ["core", "mreach"]
    assert phases[-4:] == ["linkage", "condense", "stability", "select"]
    assert set(phases[2:-4]) == {"mst"} and len(phases[2:-4]) == MAX_MST_STEPS
    assert [s.index for s in trace.steps] == list(range(len(trace.steps)))
    assert trace.algorithm == "hdbscan" and trace.converged
    assert trace.n_iter == len(phases[2:-4])
    order = ["mst_edges", "linkage", "condensed", "stability", "selected"]
    starts = {"mst": 1, "linkage": 2, "condense": 3, "stability": 4, "select": 5}
    for s in trace.steps:
        k = starts.get(s.phase, 0)
        for i, name in enumerate(order):
            assert (getattr(s, name) is not None) == (i < k), (s.phase, name)
        assert s.core_distances.shape == (n,)
        if s.phase != "select":
            assert np.all(s.labels == -1) and np.all(s.probabilities == 0)
            assert s.n_clusters == 0
    assert trace.steps[-1].labels.max() >= 0
    assert PHASES == ("core", "mreach", "mst", "linkage", "condense", "stability", "select")


def test_few_points_give_one_mst_step_per_edge():
    X = random_2d()[:12]
    trace = trace_hdbscan(X, 3)
    mst = [s for s in trace.steps if s.phase == "mst"]
    assert len(mst) == 11
    assert [s.mst_edges.shape[0] for s in mst] == list(range(1, 12))


def test_messages_are_one_sentence_with_numbers():
    trace = run("moons", 5, None)
    for s in trace.steps:
        assert s.message.endswith(".")
        assert s.message.count(". ") == 0, s.message
        assert re.search(r"\d", s.message), s.message
    mreach = trace.steps[1].message
    assert "max(core(a), core(b), d(a, b))" in mreach
    assert "min_samples = 5" in trace.steps[0].message


def test_iter_hdbscan_yields_the_trace_steps():
    X = moons()
    gen = iter_hdbscan(X, 5)
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            converged, n_iter, message = stop.value
            break
    trace = trace_hdbscan(X, 5)
    assert tuple(steps) == trace.steps
    assert (converged, n_iter, message) == (trace.converged, trace.n_iter, trace.message)


def test_duplicate_points_give_infinite_lambdas_and_still_match_sklearn():
    X = np.repeat(random_2d()[:30], 3, axis=0)
    trace = trace_hdbscan(X, 3, min_samples=2)
    check_trace(trace)
    assert np.isinf(trace.steps[-1].condensed[:, 2]).any()
    sk = sklearn_fit(X, 3, 2)
    assert same_partition(trace.steps[-1].labels, sk.labels_)
    assert Trace.from_json(trace.to_json()) == trace


def test_everything_noise_when_no_cluster_splits():
    X = random_2d()[:20]
    trace = trace_hdbscan(X, 20)
    last = trace.steps[-1]
    assert last.selected.size == 0 and np.all(last.labels == -1)
    assert np.array_equal(last.labels, sklearn_fit(X, 20, None).labels_)
    check_trace(trace)


# ---------------------------------------------------------------------------
# Serialisation
# ---------------------------------------------------------------------------


def test_json_round_trip_is_exact():
    trace = run("ties", 5, 3)
    back = Trace.from_json(trace.to_json())
    assert back == trace
    for a, b in zip(back.steps, trace.steps):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(y, np.ndarray):
                assert x.dtype.kind == y.dtype.kind and np.array_equal(x, y)
                assert not x.flags.writeable
    check_trace(back)
    assert "HDBSCANSnapshot" in snapshot_types()


def test_pickling_keeps_arrays_read_only():
    trace = run("blobs", 5, None)
    back = pickle.loads(pickle.dumps(trace))
    assert back == trace
    for s in back.steps:
        for f in dataclasses.fields(s):
            v = getattr(s, f.name)
            if isinstance(v, np.ndarray):
                assert not v.flags.writeable, f.name
    with pytest.raises(ValueError):
        back.steps[-1].labels[0] = 3


def test_snapshot_arrays_are_read_only_and_fields_frozen():
    s = run("moons", 5, None).steps[-1]
    with pytest.raises(ValueError):
        s.core_distances[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.labels = None


# ---------------------------------------------------------------------------
# check_trace
# ---------------------------------------------------------------------------


def _replace_step(trace, i, **changes):
    steps = list(trace.steps)
    steps[i] = dataclasses.replace(steps[i], **changes)
    return dataclasses.replace(trace, steps=tuple(steps))


def test_check_trace_accepts_real_traces():
    for name in DATA:
        check_trace(run(name, 5, None))


def _with_steps(trace, steps):
    steps = tuple(dataclasses.replace(s, index=i) for i, s in enumerate(steps))
    return dataclasses.replace(trace, steps=steps)


def _corruptions(trace):
    n = len(trace.X)
    last = len(trace.steps) - 1
    s = trace.steps[last]
    yield "not a Trace", "not a Trace"
    yield dataclasses.replace(trace, algorithm="kmeans"), "not of HDBSCAN"
    yield dataclasses.replace(trace, steps=()), "no steps"
    yield dataclasses.replace(trace, X=None), "does not hold its data"
    yield _with_steps(trace, trace.steps[:-1]), "steps should run"
    yield _with_steps(trace, trace.steps[::-1]), "steps should run"
    yield _with_steps(trace, trace.steps[:2] + trace.steps[-4:]), "steps should run"
    yield _with_steps(trace, trace.steps[1:]), "steps should run"
    yield _replace_step(trace, 0, core_distances=np.full(n, np.nan)), "core_distances"
    yield _replace_step(trace, 0, core_distances=-np.ones(n)), "at least 0"
    lab = s.labels.copy(); lab[0] = 99
    yield _replace_step(trace, last, labels=lab), "labels should be -1"
    lab = np.full(n, -1); lab[0] = 0
    yield _replace_step(trace, 0, labels=lab), "labels should be -1"
    pr = s.probabilities.copy(); pr[0] = 1.5
    yield _replace_step(trace, last, probabilities=pr), "probabilities"
    noise = int(np.flatnonzero(s.labels < 0)[0])
    pr = s.probabilities.copy(); pr[noise] = 0.5
    yield _replace_step(trace, last, probabilities=pr), "noise points"
    e = s.mst_edges.copy(); e[[0, -1], 2] = e[[-1, 0], 2]
    yield _replace_step(trace, last, mst_edges=e), "sorted by weight"
    e = s.mst_edges.copy(); e[0, 0] = n + 5
    yield _replace_step(trace, last, mst_edges=e), "join points"
    yield _replace_step(trace, 2, mst_edges=None), "should have mst_edges"
    yield _replace_step(trace, 0, linkage=s.linkage), "should not have linkage"
    Z = s.linkage.copy(); Z[3, 2] += 1.0
    yield _replace_step(trace, last, linkage=Z), "linkage heights"
    c = s.condensed.copy(); c[c[:, 1] < n, 1] = 0
    yield _replace_step(trace, last, condensed=c), "every point as a leaf"
    yield _replace_step(trace, last, stability=s.stability[1:]), "stability should list"
    yield _replace_step(trace, last, selected=np.array([n], dtype=np.intp)), "selected should be"
    yield _replace_step(trace, 3, mst_edges=trace.steps[2].mst_edges), "gain edges"


def test_check_trace_refuses_corrupted_traces():
    trace = run("blobs", 5, None)
    check_trace(trace)
    for bad, words in _corruptions(trace):
        with pytest.raises(ValueError, match="cannot be shown in the HDBSCAN lab") as info:
            check_trace(bad)
        assert words in str(info.value), (words, str(info.value))


def test_check_trace_refuses_another_labs_step():
    from tracelab.labs.kmeans.kmeans import trace_kmeans
    trace = run("moons", 5, None)
    km = trace_kmeans(trace.X, 2, seed=0)
    bad = dataclasses.replace(trace, steps=(km.steps[0],) + trace.steps[1:])
    with pytest.raises(ValueError, match="KMeansSnapshot, not a.? HDBSCAN step"):
        check_trace(bad)


# ---------------------------------------------------------------------------
# Bad parameters
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(min_cluster_size=1), "min_cluster_size should be at least 2"),
        (dict(min_cluster_size=0), "min_cluster_size should be at least 2"),
        (dict(min_cluster_size=2.5), "min_cluster_size should be a whole number"),
        (dict(min_cluster_size="5"), "min_cluster_size should be a whole number"),
        (dict(min_cluster_size=True), "min_cluster_size should be a whole number"),
        (dict(min_cluster_size=31), r"at most the number of points \(30\), but got 31"),
        (dict(min_cluster_size=5, min_samples=0), "min_samples should be at least 1"),
        (dict(min_cluster_size=5, min_samples=31), r"min_samples should be at most the number of points \(30\)"),
        (dict(min_cluster_size=5, min_samples=1.5), "min_samples should be a whole number"),
    ],
)
def test_bad_parameters(kwargs, match):
    X = random_2d()[:30]
    with pytest.raises(ValueError, match=match):
        trace_hdbscan(X, **kwargs)
    with pytest.raises(ValueError, match=match):
        iter_hdbscan(X, **kwargs)  # checked before the first step


def test_bad_data():
    with pytest.raises(ValueError, match=f"at most {MAX_POINTS} points"):
        trace_hdbscan(np.zeros((MAX_POINTS + 1, 2)), 5)
    with pytest.raises(ValueError, match="at least 2 points"):
        trace_hdbscan(np.zeros((1, 2)), 2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        trace_hdbscan(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]), 2)
    with pytest.raises(ValueError, match="X has no points"):
        trace_hdbscan(np.zeros((0, 2)), 2)


def test_float_whole_numbers_are_accepted():
    X = moons()
    assert trace_hdbscan(X, 5.0, min_samples=3.0) == trace_hdbscan(X, 5, min_samples=3)


def test_snapshot_refuses_bad_shapes():
    s = run("moons", 5, None).steps[0]
    with pytest.raises(ValueError, match="labels"):
        dataclasses.replace(s, labels=np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="mst_edges"):
        dataclasses.replace(s, mst_edges=np.zeros((3, 2)))
    assert isinstance(s, HDBSCANSnapshot)
    assert hd.__all__


def test_selection_message_names_clusters_as_the_scatter_does():
    """"cluster j" in the message is label j - 1 (the scatter's and legend's "cluster j"),
    with its condensed-tree id (the icicle's) and its size."""
    trace = run("blobs", 10, 5)
    snap = trace.steps[-1]
    sizes = np.bincount(snap.labels[snap.labels >= 0])
    assert 2 <= snap.selected.size <= 6
    for j, c in enumerate(snap.selected.tolist()):
        assert f"cluster {j + 1} (condensed #{int(c)}, {sizes[j]} points)" in snap.message
    n_noise = int((snap.labels < 0).sum())
    assert f"{n_noise} noise point" in snap.message
    assert "condensed ids" not in snap.message
