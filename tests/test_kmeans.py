"""Tests for tracelab.labs.kmeans.kmeans: k-means traces against scikit-learn, and their invariants."""

from __future__ import annotations

import dataclasses
import json
import pickle
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans

from tracelab.labs.kmeans import kmeans
from tracelab.record.arrays import digest, label_dtype
from tracelab.data import Dataset
from tracelab.labs.kmeans.kmeans import (
    INITS,
    KMeansSnapshot,
    inertia,
    iter_kmeans,
    kmeans_plusplus,
    lloyd,
    trace_kmeans,
)
from tracelab.record.trace import Trace, snapshot_types

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def blobs(n=120, d=2, k=3, seed=0, spread=4.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(k, d))
    labels = np.arange(n) % k
    return centers[labels] + rng.normal(size=(n, d))


def sq_dists(X, centers):
    return ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


def sklearn_fit(X, start, tol=1e-4, max_iter=300):
    return KMeans(
        start.shape[0], init=start, n_init=1, algorithm="lloyd", tol=tol, max_iter=max_iter
    ).fit(X)


def assert_matches_sklearn(trace, X, tol=1e-4, max_iter=300):
    km = sklearn_fit(X, np.array(trace.steps[0].centers), tol=tol, max_iter=max_iter)
    last = trace.steps[-1]
    assert np.array_equal(last.labels, km.labels_)
    np.testing.assert_allclose(last.centers, km.cluster_centers_, rtol=1e-10, atol=1e-12)
    assert last.inertia == pytest.approx(km.inertia_, rel=1e-8, abs=1e-12)
    assert trace.n_iter == km.n_iter_


def check_invariants(trace, X):
    """Everything a k-means trace promises, on every snapshot."""
    steps = trace.steps
    n = X.shape[0]
    k = steps[0].centers.shape[0]
    scale = max(1.0, float(((X - X.mean(axis=0)) ** 2).sum()))
    slack = 1e-9 * scale
    assert steps[0].phase == "init" and steps[0].iteration == 0
    phases = [s.phase for s in steps[1:]]
    pairs = len(phases) // 2
    assert phases[: 2 * pairs] == ["E", "M"] * pairs
    assert pairs == trace.n_iter
    assert len(phases) in (2 * pairs, 2 * pairs + 1)
    if len(phases) == 2 * pairs + 1:
        assert phases[-1] == "E" and steps[-1].iteration == trace.n_iter + 1
    for i, s in enumerate(steps):
        assert isinstance(s, KMeansSnapshot) and s.index == i
        assert s.centers.shape == (k, X.shape[1]) and s.labels.shape == (n,)
        assert not s.centers.flags.writeable and not s.labels.flags.writeable
        assert 0 <= s.labels.min() and s.labels.max() < k
        d2 = sq_dists(X, s.centers)
        # The inertia is that of this snapshot's own centres and labels.
        assert s.inertia == pytest.approx(d2[np.arange(n), s.labels].sum(), rel=1e-9, abs=slack)
        if s.phase in ("init", "E"):
            # Nearest centre (ties within rounding).
            assert np.all(d2[np.arange(n), s.labels] <= d2.min(axis=1) + 1e-9 * (1 + d2.max()))
        if s.phase == "M":
            for j in range(k):
                members = X[s.labels == j]
                if len(members):
                    np.testing.assert_allclose(s.centers[j], members.mean(axis=0), rtol=1e-9, atol=1e-9 * (1 + np.abs(X).max()))
            prev = steps[i - 1]
            assert s.center_shift == pytest.approx(((s.centers - prev.centers) ** 2).sum(), rel=1e-9, abs=1e-12)
        else:
            assert s.center_shift is None
        if i:
            prev = steps[i - 1]
            # Inertia never rises, within and between iterations.
            assert s.inertia <= prev.inertia + slack
            assert s.n_changed == int(np.count_nonzero(s.labels != prev.labels))
            if s.phase == "E":
                assert np.array_equal(s.centers, prev.centers)
    # The final labels are the nearest centres' (up to ties).
    last = steps[-1]
    d2 = sq_dists(X, last.centers)
    assert np.all(d2[np.arange(n), last.labels] <= d2.min(axis=1) + 1e-9 * (1 + d2.max()))


# ---------------------------------------------------------------------------
# Agreement with scikit-learn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, d, k, seed, tol, max_iter",
    [
        (300, 2, 4, 1, 1e-4, 300),
        (200, 3, 5, 2, 0.0, 300),
        (150, 1, 3, 3, 1e-2, 300),
        (250, 4, 6, 4, 1e-4, 2),
        (120, 2, 8, 5, 0.0, 1),
    ],
)
def test_matches_sklearn_from_the_same_start(n, d, k, seed, tol, max_iter):
    X = blobs(n, d, k, seed=seed, spread=2.0)
    start = X[np.random.default_rng(seed).choice(n, size=k, replace=False)] + 0.1
    trace = trace_kmeans(X, k, centers_init=start, tol=tol, max_iter=max_iter)
    assert np.array_equal(trace.steps[0].centers, start)
    assert_matches_sklearn(trace, X, tol=tol, max_iter=max_iter)
    check_invariants(trace, X)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 60),
    d=st.integers(1, 3),
    k=st.integers(1, 6),
    init=st.sampled_from(INITS),
    tol=st.sampled_from([0.0, 1e-4, 1e-1]),
    max_iter=st.sampled_from([1, 2, 5, 300]),
)
def test_matches_sklearn_on_random_data(seed, n, d, k, init, tol, max_iter):
    k = min(k, n)
    X = np.random.default_rng(seed).normal(size=(n, d))
    trace = trace_kmeans(X, k, init=init, seed=seed, tol=tol, max_iter=max_iter)
    assert_matches_sklearn(trace, X, tol=tol, max_iter=max_iter)


def test_empty_cluster_is_relocated_to_the_farthest_point_as_sklearn_does():
    X = blobs(100, 2, 2, seed=16)
    start = np.array([X[0], X[1], [1e4, 1e4]])
    trace = trace_kmeans(X, 3, centers_init=start, tol=0)
    assert_matches_sklearn(trace, X, tol=0)
    check_invariants(trace, X)
    e1, m1 = trace.steps[1], trace.steps[2]
    assert np.bincount(e1.labels, minlength=3)[2] == 0
    far = int(np.argmax(((X - e1.centers[e1.labels]) ** 2).sum(axis=1)))
    assert "cluster 3 was empty: its centre moved to the farthest point (#%d)" % far in m1.message
    # The point given to the empty cluster carries its new label in the M snapshot.
    assert m1.labels[far] == 2 and m1.n_changed == 1
    np.testing.assert_array_equal(m1.centers[2], X[far])
    assert "cluster 3 is empty" in e1.message


def test_seeded_inits():
    X = blobs(80, 2, 4, seed=7)
    t = trace_kmeans(X, 4, seed=11)
    np.testing.assert_array_equal(t.steps[0].centers, kmeans_plusplus(X, 4, np.random.default_rng(11)))
    assert trace_kmeans(X, 4, seed=11) == t
    assert trace_kmeans(X, 4, seed=12) != t
    # lloyd (EM's init) runs the same loop.
    centers, labels = lloyd(X, t.steps[0].centers)
    np.testing.assert_array_equal(centers, t.steps[-1].centers)
    np.testing.assert_array_equal(labels, t.steps[-1].labels)

    for init in INITS:
        s0 = trace_kmeans(X, 4, init=init, seed=3).steps[0]
        rows = [int(np.flatnonzero((X == c).all(axis=1))[0]) for c in s0.centers]
        assert len(set(rows)) == 4
        assert all(f"#{r}" in s0.message for r in rows)

    # Farthest point: each centre is the point farthest from the ones before it.
    s0 = trace_kmeans(X, 4, init="farthest", seed=5).steps[0]
    for c in range(1, 4):
        d2 = sq_dists(X, s0.centers[:c]).min(axis=1)
        row = int(np.flatnonzero((X == s0.centers[c]).all(axis=1))[0])
        assert d2[row] == d2.max()
    assert s0.message.startswith("Start (farthest point): 4 centres at random point #")


def test_farthest_init_never_repeats_a_point_with_duplicates():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    for seed in range(5):
        trace = trace_kmeans(X, 3, init="farthest", seed=seed)
        rows = {tuple(c) for c in trace.steps[0].centers}
        assert len(trace.steps[0].centers) == 3 and rows == {(0.0, 0.0), (1.0, 0.0)}
        check_invariants(trace, X)


# ---------------------------------------------------------------------------
# What the snapshots hold
# ---------------------------------------------------------------------------


def test_init_holds_the_nearest_assignment_and_the_first_e_step_repeats_it():
    X = blobs(90, 2, 3, seed=2)
    t = trace_kmeans(X, 3, seed=0)
    s0, e1, m1 = t.steps[:3]
    np.testing.assert_array_equal(s0.labels, sq_dists(X, s0.centers).argmin(axis=1))
    assert e1.labels is s0.labels and e1.centers is s0.centers and e1.inertia == s0.inertia
    assert e1.n_changed == 0
    counts = "/".join(map(str, np.bincount(s0.labels, minlength=3)))
    assert f"clusters of {counts} points" in s0.message
    assert e1.message.startswith(f"E-step: assign each point to its nearest centre, as at the start: clusters of {counts} points; inertia ")
    assert m1.message.startswith("M-step: move each centre to the mean of its points; centres moved by up to ")
    assert "→" in m1.message
    # M steps without a relocation share the E step's labels.
    assert m1.labels is e1.labels
    check_invariants(t, X)


def test_messages_and_outcomes():
    X = blobs(200, 2, 4, seed=9, spread=1.5)
    strict = trace_kmeans(X, 4, seed=1, tol=0)
    assert strict.converged
    assert strict.message.startswith(f"k-means converged after {strict.n_iter} iterations: no point changed cluster")
    # Strict convergence: the last E-step repeated the labels of the one before; no last E.
    assert strict.steps[-1].phase == "M"
    assert np.array_equal(strict.steps[-2].labels, strict.steps[-4].labels)
    e2 = strict.steps[3]
    assert e2.message.startswith(f"E-step: assign each point to its nearest centre; {e2.n_changed} point")
    assert "inertia" in e2.message and e2.message.endswith(".")

    loose = trace_kmeans(X, 4, seed=1, tol=0.5)
    assert loose.converged and "within tol × mean feature variance" in loose.message
    assert loose.steps[-1].phase == "E" and loose.steps[-1].iteration == loose.n_iter + 1
    assert "once more, so the labels match the final centres" in loose.steps[-1].message

    short = trace_kmeans(X, 4, seed=1, tol=0, max_iter=1)
    assert not short.converged and short.n_iter == 1
    assert short.message.startswith("k-means stopped after max_iter = 1 iteration without converging")
    assert [s.phase for s in short.steps] == ["init", "E", "M", "E"]
    check_invariants(short, X)
    for s in strict.steps:
        assert s.message.count(".") >= 1 and s.message.endswith(".")


def test_one_cluster_and_as_many_clusters_as_points():
    X = blobs(12, 2, 2, seed=3)
    t = trace_kmeans(X, 1, seed=0)
    np.testing.assert_allclose(t.steps[-1].centers[0], X.mean(axis=0), rtol=1e-12)
    assert "one cluster of all 12 points" in t.steps[0].message
    t = trace_kmeans(X, 12, seed=0)
    assert t.steps[-1].inertia == pytest.approx(0.0, abs=1e-20)
    check_invariants(t, X)


def test_duplicate_points_with_more_clusters_than_distinct_points():
    X = np.array([[0.0], [0.0], [0.0], [5.0], [5.0]])
    t = trace_kmeans(X, 3, centers_init=[[0.0], [5.0], [9.0]])
    check_invariants(t, X)
    assert t.converged
    # Cluster 3 is empty, and no point can be given to it: every point sits on its centre.
    assert "cluster 3 is empty, but every point sits on its centre, so its centre stays" in t.steps[2].message
    np.testing.assert_array_equal(t.steps[-1].centers, [[0.0], [5.0], [9.0]])


def test_a_cluster_that_gives_away_its_only_point_keeps_its_centre():
    # Cluster 2's only point (#3, at 10, 4 from its centre) is farther from its centre
    # than any other point is from theirs, so it goes to the empty cluster 3.
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    t = trace_kmeans(X, 3, centers_init=[[1.0], [14.0], [100.0]], tol=0, max_iter=1)
    m1 = t.steps[2]
    assert "cluster 3 was empty: its centre moved to the farthest point (#3)" in m1.message
    assert "cluster 2 gave away its only point, so its centre stays" in m1.message
    np.testing.assert_array_equal(m1.centers, [[1.0], [14.0], [10.0]])
    assert list(m1.labels) == [0, 0, 0, 2]
    check_invariants(t, X)


def test_far_from_the_origin():
    X = blobs(150, 2, 3, seed=4)
    start = X[:3]
    t = trace_kmeans(X, 3, centers_init=start)
    t2 = trace_kmeans(X + 1e7, 3, centers_init=start + 1e7)
    assert np.array_equal(t2.steps[-1].labels, t.steps[-1].labels)
    np.testing.assert_allclose(t2.steps[-1].centers - 1e7, t.steps[-1].centers, atol=1e-6)
    assert t2.steps[-1].inertia == pytest.approx(t.steps[-1].inertia, rel=1e-6)


# ---------------------------------------------------------------------------
# Invariants on random data
# ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    d=st.integers(1, 3),
    k=st.integers(1, 7),
    init=st.sampled_from(INITS),
    tol=st.sampled_from([0.0, 1e-4, 1e-1]),
    max_iter=st.sampled_from([1, 3, 300]),
    grid=st.booleans(),
)
def test_invariants_on_every_snapshot(seed, n, d, k, init, tol, max_iter, grid):
    rng = np.random.default_rng(seed)
    # Integer grids give duplicate points and exact ties.
    X = rng.integers(0, 4, size=(n, d)).astype(float) if grid else rng.normal(size=(n, d)) * 10
    k = min(k, n)
    trace = trace_kmeans(X, k, init=init, seed=seed, tol=tol, max_iter=max_iter)
    check_invariants(trace, X)
    assert trace.n_iter <= max_iter


# ---------------------------------------------------------------------------
# The trace as a record
# ---------------------------------------------------------------------------


def test_trace_fields_and_dataset_input():
    X = blobs(60, 3, 3, seed=5)
    ds = Dataset(X=X, columns=("a", "b", "c"))
    t = trace_kmeans(ds, 3, seed=2)
    assert t == trace_kmeans(X, 3, seed=2)
    assert t.algorithm == "kmeans" and t.data_digest == digest(X) == ds.digest
    np.testing.assert_array_equal(t.X, X)
    assert t.params == {"n_clusters": 3, "init": "k-means++", "centers_init": None,
                        "max_iter": 300, "tol": 1e-4, "seed": 2}
    t = trace_kmeans(X.tolist(), 3.0, centers_init=X[:3].tolist(), max_iter=50)
    assert isinstance(t.params["centers_init"], np.ndarray) and t.params["n_clusters"] == 3
    assert t.steps[0].message.startswith("Start (given centres): 3 centres;")


def test_json_round_trip_is_exact_and_pickle_keeps_arrays_read_only():
    X = blobs(80, 2, 3, seed=6)
    start = np.array([X[0], X[1], [50.0, 50.0]])  # with a relocation
    t = trace_kmeans(X, 3, centers_init=start, tol=0)
    again = Trace.from_json(t.to_json())
    assert again == t
    for a, b in zip(again.steps, t.steps):
        assert a.labels.dtype == b.labels.dtype and a.inertia == b.inertia and a.message == b.message
    assert "KMeansSnapshot" in snapshot_types()
    p = pickle.loads(pickle.dumps(t))
    assert p == t
    for s in p.steps:
        assert not s.centers.flags.writeable and not s.labels.flags.writeable
    # Steps that share labels still share them after unpickling (no copy per step).
    assert p.steps[1].labels is p.steps[0].labels
    with pytest.raises(ValueError):
        p.steps[0].labels[0] = 1


def test_labels_are_compact():
    X = blobs(300, 2, 3, seed=8)
    assert trace_kmeans(X, 3, seed=0).steps[0].labels.dtype == np.int8
    assert trace_kmeans(X, 200, seed=0, max_iter=1).steps[0].labels.dtype == np.int16
    assert label_dtype(127) == np.int8 and label_dtype(129) == np.int16


def test_iter_kmeans_yields_the_trace_steps_and_returns_the_outcome():
    X = blobs(50, 2, 2, seed=1)
    t = trace_kmeans(X, 2, seed=4)
    gen = iter_kmeans(X, 2, seed=4)
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            outcome = stop.value
            break
    assert tuple(steps) == t.steps
    assert outcome == (t.converged, t.n_iter, t.message)
    with pytest.raises(ValueError):
        iter_kmeans(X, 0)  # checked before the first step


def test_inertia_function():
    X = blobs(40, 2, 2, seed=2)
    t = trace_kmeans(X, 2, seed=1)
    s = t.steps[-1]
    assert inertia(X, s.centers, s.labels) == pytest.approx(s.inertia, rel=1e-12)
    with pytest.raises(ValueError, match="labels should be between 0 and 1"):
        inertia(X, s.centers, np.full(40, 2))


def test_snapshot_checks_its_fields():
    with pytest.raises(ValueError, match="centers should be a 2-D array"):
        KMeansSnapshot(index=0, phase="init", iteration=0, message="", centers=np.zeros(3),
                       labels=np.zeros(2, dtype=int), inertia=0.0)
    with pytest.raises(ValueError, match="labels should be between 0 and 1"):
        KMeansSnapshot(index=0, phase="init", iteration=0, message="", centers=np.zeros((2, 1)),
                       labels=np.array([0, 2]), inertia=0.0)


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------


X6 = np.arange(12, dtype=float).reshape(6, 2)


@pytest.mark.parametrize(
    "X, kwargs, match",
    [
        (X6, dict(n_clusters=9), r"n_clusters should be at most the number of points \(6\), but got 9"),
        (X6, dict(n_clusters=0), "n_clusters should be at least 1, but got 0"),
        (X6, dict(n_clusters=2.5), "n_clusters should be a whole number, but got 2.5"),
        (X6, dict(n_clusters=2, init="kmeans"), "init should be one of 'k-means\\+\\+', 'random', 'farthest', but got 'kmeans'"),
        (X6, dict(n_clusters=2, centers_init=np.zeros((3, 2))), r"centers_init should have shape \(2, 2\) \(n_clusters, n_features\), but got \(3, 2\)"),
        (X6, dict(n_clusters=2, centers_init=[[0, np.nan], [1, 1]]), "centers_init holds NaN"),
        (np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, np.inf]]), dict(n_clusters=2), "X holds NaN or infinite values in 2 rows"),
        (X6, dict(n_clusters=2, max_iter=0), "max_iter should be at least 1, but got 0"),
        (X6, dict(n_clusters=2, tol=-1e-3), "tol should be at least 0"),
        (X6, dict(n_clusters=2, seed=-1), "seed should be at least 0"),
        (np.zeros((0, 2)), dict(n_clusters=1), "X has no points"),
        (np.zeros((3, 0)), dict(n_clusters=1), "X has no feature columns"),
        (np.array([[1e200, 0.0], [0.0, 0.0]]), dict(n_clusters=1), "scale the data"),
        ("abc", dict(n_clusters=1), "X should be a table of numbers"),
    ],
)
def test_refusals(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        trace_kmeans(X, **kwargs)


def test_lloyd_and_kmeans_plusplus_keep_their_contracts():
    X = blobs(300, 2, 4, seed=15, spread=3.0)
    start = X[[0, 1, 2, 3]]
    centers, labels = lloyd(X, start)
    assert labels.dtype == np.intp
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km = sklearn_fit(X, start)
    assert np.array_equal(labels, km.labels_)
    np.testing.assert_allclose(centers, km.cluster_centers_, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="between 1 and the number of points"):
        kmeans_plusplus(X, 301, 0)


# ---------------------------------------------------------------------------
# check_trace: traces from files
# ---------------------------------------------------------------------------


def _km_doc():
    return json.loads(trace_kmeans(blobs(30, 2, 2, seed=2), 2, seed=0, tol=0).to_json())


def _arr(data, dtype="<f8"):
    a = np.asarray(data)
    return {"__ndarray__": {"dtype": dtype, "shape": list(a.shape), "data": a.ravel().tolist()}}


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def _load_checked(doc):
    trace = Trace.from_json(json.dumps(doc))
    kmeans.check_trace(trace)
    return trace


def test_check_trace_accepts_real_traces():
    trace = _load_checked(_km_doc())
    assert len(trace) >= 3
    for init in INITS:
        kmeans.check_trace(trace_kmeans(blobs(40, 3, 4, seed=1), 4, init=init, seed=3, max_iter=2))
    kmeans.check_trace(trace_kmeans(np.zeros((3, 1)), 3, seed=0))  # empty clusters
    kmeans.check_trace(trace_kmeans(blobs(5, 1, 1), 1, seed=0))


_S2 = ["steps", 2, "fields"]  # an M-step


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["steps"], [], "This trace cannot be shown in the k-means lab: it has no steps."),
        (["algorithm"], "em", "it is a trace of 'em', not of k-means; open it in the lab it came from"),
        (["steps", 1, "fields", "phase"], "swap", "step 2 has phase 'swap'; k-means steps are 'init', 'E' or 'M'"),
        (["X"], None, "it does not hold its data (X)"),
        (["X", "__ndarray__", "data", 3], "nan", "its data X holds NaN or infinite values"),
        (["X", "__ndarray__", "data", 0], "-inf", "its data X holds NaN or infinite values"),
        (["X"], _arr(np.zeros((0, 2))), "its data X is empty (shape (0, 2))"),
        (["X"], _arr(np.ones((30, 3))), "step 1: centers should have shape (2, 3) for 2 clusters in 3 features, but it has (2, 2)"),
        (["X"], _arr(np.ones((31, 2))), "step 1: labels should have one entry per point, shape (31,), but it has (30,)"),
        (["X"], _arr(np.ones((1, 2))), "step 1 has 2 centres for only 1 point"),
        (_S2 + ["centers"], _arr(np.zeros((3, 2))), "step 3: centers should have shape (2, 2) for 2 clusters in 2 features, but it has (3, 2)"),
        (_S2 + ["centers"], _arr(np.zeros((2, 1))), "step 3: centers should have shape (2, 2)"),
        (_S2 + ["centers"], _arr([[0, 1], [2, 3]], "<i8"), "step 3: centers should be an array of decimal numbers"),
        (_S2 + ["centers", "__ndarray__", "data", 1], "nan", "step 3: centers holds NaN or infinite values"),
        (_S2 + ["centers", "__ndarray__", "data", 1], "inf", "step 3: centers holds NaN or infinite values"),
        (_S2 + ["labels"], _arr(np.zeros(29, dtype=int), "<i8"), "step 3: labels should have one entry per point, shape (30,), but it has (29,)"),
        (_S2 + ["labels", "__ndarray__", "data", 4], 2, "labels should be between 0 and 1"),  # refused on loading
        (_S2 + ["labels", "__ndarray__", "data", 4], -1, "labels should be between 0 and 1"),
        (_S2 + ["labels"], _arr(np.zeros(30)), "labels should be a 1-D array of whole numbers"),
        (_S2 + ["labels"], [0] * 30, "labels should be a 1-D array of whole numbers"),
        (_S2 + ["inertia"], -1.0, "step 3: inertia should be a finite number at least 0, but it is -1.0"),
        (_S2 + ["inertia"], {"__float__": "nan"}, "step 3: inertia should be a finite number at least 0, but it is nan"),
        (_S2 + ["inertia"], {"__float__": "inf"}, "inertia should be a finite number at least 0, but it is inf"),
        (_S2 + ["inertia"], "abc", "step 3: inertia should be a finite number at least 0, but it is 'abc'"),
        (_S2 + ["inertia"], True, "inertia should be a finite number at least 0, but it is True"),
        (_S2 + ["inertia"], None, "inertia should be a finite number at least 0, but it is None"),
        (_S2 + ["n_changed"], -2, "step 3: n_changed should be a whole number from 0 to 30, but it is -2"),
        (_S2 + ["n_changed"], 1.5, "n_changed should be a whole number from 0 to 30, but it is 1.5"),
        (_S2 + ["center_shift"], -0.5, "step 3: center_shift should be empty or a finite number at least 0, but it is -0.5"),
        (_S2 + ["center_shift"], [1.0], "center_shift should be empty or a finite number at least 0"),
    ],
)
def test_check_trace_refuses_broken_kmeans_traces(path, value, message):
    doc = _set(_km_doc(), path, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        _load_checked(doc)


def test_check_trace_refuses_what_is_not_a_kmeans_trace():
    from tracelab.labs.em.engine import trace_em
    from tracelab.labs.kmeans.kmedoids import trace_kmedoids

    X = blobs(20, 2, 2, seed=0)
    kmd = trace_kmedoids(X, 2, seed=0)
    fake = Trace(algorithm="kmeans", steps=kmd.steps, X=X)
    with pytest.raises(ValueError, match="step 1 is a KMedoidsSnapshot, not a k-means step"):
        kmeans.check_trace(fake)
    with pytest.raises(ValueError, match="it is a trace of 'em', not of k-means"):
        kmeans.check_trace(trace_em(X, 2, seed=0, max_iter=2))
    with pytest.raises(ValueError, match="^This trace cannot be shown in the k-means lab: it is a dict, not a Trace.$"):
        kmeans.check_trace({})
    # k must stay the same from step to step.
    a, b = trace_kmeans(X, 2, seed=0), trace_kmeans(X, 3, seed=0)
    mixed = Trace(algorithm="kmeans", steps=(a.steps[0], dataclasses.replace(b.steps[1], index=1)), X=X)
    with pytest.raises(ValueError, match=re.escape("step 2: centers should have shape (2, 2) for 2 clusters")):
        kmeans.check_trace(mixed)
    # No centres at all (and so no labels).
    doc = _km_doc()
    doc["steps"][0]["fields"].update(centers=_arr(np.zeros((0, 2))), labels=_arr(np.zeros(0, int), "|i1"))
    with pytest.raises(ValueError, match=re.escape("step 1: centers should have shape (n_clusters, 2)")):
        _load_checked(doc)
