"""Tests for tracelab.labs.kmeans.kmedoids: invariants, brute-force optima and reference loops."""

from __future__ import annotations

import itertools
import dataclasses
import json
import pickle
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from tracelab.labs.kmeans import kmedoids
from tracelab.record.arrays import digest
from tracelab.data import Dataset
from tracelab.labs.kmeans.kmedoids import (
    INITS,
    METHODS,
    METRICS,
    KMedoidsSnapshot,
    distances,
    iter_kmedoids,
    total_cost,
    trace_kmedoids,
)
from tracelab.record.trace import Trace, snapshot_types

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def blobs(n=60, d=2, k=3, seed=0, spread=5.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(k, d))
    return centers[np.arange(n) % k] + rng.normal(size=(n, d))


def cost_of(D, medoids):
    return D[:, list(medoids)].min(axis=1).sum()


def brute_force(D, k):
    """The optimal cost and medoids, trying every set of k points."""
    return min((cost_of(D, c), c) for c in itertools.combinations(range(D.shape[0]), k))


def check_invariants(trace, X, metric="euclidean", p=2.0):
    """Everything a k-medoids trace promises, on every snapshot."""
    D = distances(X, metric=metric, p=p)
    n = X.shape[0]
    steps = trace.steps
    k = steps[0].medoid_indices.shape[0]
    slack = 1e-9 * max(1.0, D.sum())
    method = trace.params["method"]
    assert steps[0].phase == "init" and steps[0].iteration == 0
    phases = [s.phase for s in steps[1:]]
    if method == "pam":
        assert phases == ["swap"] * trace.n_iter
    else:
        pairs = trace.n_iter
        assert phases[: 2 * pairs] == ["E", "M"] * pairs
        assert len(phases) == 2 * pairs + (0 if trace.converged else 1)
    for i, s in enumerate(steps):
        assert isinstance(s, KMedoidsSnapshot) and s.index == i
        idx = s.medoid_indices
        # Medoids are distinct data points.
        assert idx.shape == (k,) and len(set(idx.tolist())) == k
        assert 0 <= idx.min() and idx.max() < n
        np.testing.assert_array_equal(s.medoids, X[idx])
        assert s.labels.shape == (n,) and 0 <= s.labels.min() and s.labels.max() < k
        for a in (s.medoid_indices, s.medoids, s.labels):
            assert not a.flags.writeable
        Dm = D[:, idx]
        assert s.cost == pytest.approx(Dm[np.arange(n), s.labels].sum(), rel=1e-9, abs=slack)
        if s.phase != "M":
            assert np.all(Dm[np.arange(n), s.labels] <= Dm.min(axis=1) + 1e-12 * (1 + D.max()))
        if i:
            prev = steps[i - 1]
            assert s.cost <= prev.cost + slack  # never rises
            assert s.n_changed == int(np.count_nonzero(s.labels != prev.labels))
        if s.phase == "M":
            prev = steps[i - 1]
            assert np.array_equal(s.labels, prev.labels)
            for j in range(k):
                members = np.flatnonzero(s.labels == j)
                if members.size == 0:
                    assert idx[j] == prev.medoid_indices[j]
                    continue
                others = set(prev.medoid_indices.tolist()) - {int(prev.medoid_indices[j])}
                cands = [c for c in members if c not in others] + [int(prev.medoid_indices[j])]
                sums = D[np.ix_(members, cands)].sum(axis=0)
                # The new medoid has the least total distance to its cluster (brute force).
                mine = D[members, idx[j]].sum()
                assert mine <= sums.min() * (1 + 1e-9) + 1e-12
    last = steps[-1]
    Dm = D[:, last.medoid_indices]
    assert np.all(Dm[np.arange(n), last.labels] <= Dm.min(axis=1) + 1e-12 * (1 + D.max()))
    return D


def no_swap_improves(D, medoids, cost):
    n = D.shape[0]
    for j in range(len(medoids)):
        for c in range(n):
            if c in medoids:
                continue
            trial = list(medoids)
            trial[j] = c
            if cost_of(D, trial) < cost * (1 - 1e-9):
                return False
    return True


# ---------------------------------------------------------------------------
# Brute-force optima on tiny sets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
def test_the_optimum_is_a_fixed_point(metric):
    X = blobs(9, 2, 3, seed=1, spread=3.0) + 10.0  # away from the origin, for cosine
    D = distances(X, metric=metric, p=3.0)
    best, medoids = brute_force(D, 3)
    for method in METHODS:
        t = trace_kmedoids(X, 3, metric=metric, p=3.0, method=method, medoids_init=medoids)
        check_invariants(t, X, metric, 3.0)
        assert t.converged and t.steps[-1].cost == pytest.approx(best, rel=1e-12)
        assert t.n_iter == (0 if method == "pam" else 1)


@pytest.mark.parametrize("seed", range(4))
def test_pam_reaches_the_optimum_on_separated_tiny_sets(seed):
    X = blobs(8, 2, 2, seed=seed, spread=6.0)
    D = distances(X)
    best, _ = brute_force(D, 2)
    for init in INITS:
        t = trace_kmedoids(X, 2, method="pam", init=init, seed=seed)
        assert t.steps[-1].cost == pytest.approx(best, rel=1e-12)
        t = trace_kmedoids(X, 2, init=init, seed=seed)
        assert t.steps[-1].cost >= best * (1 - 1e-12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 9),
    d=st.integers(1, 2),
    k=st.integers(1, 3),
    metric=st.sampled_from(METRICS),
    init=st.sampled_from(INITS),
)
def test_tiny_sets_against_brute_force(seed, n, d, k, metric, init):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + 3.0
    k = min(k, n)
    D = distances(X, metric=metric, p=1.5)
    best, _ = brute_force(D, k)
    for method in METHODS:
        t = trace_kmedoids(X, k, metric=metric, p=1.5, method=method, init=init, seed=seed)
        check_invariants(t, X, metric, 1.5)
        last = t.steps[-1]
        assert last.cost >= best * (1 - 1e-12) - 1e-15
        if method == "pam":
            # PAM ends where no single swap lowers the cost.
            assert t.converged and no_swap_improves(D, last.medoid_indices.tolist(), last.cost)


# ---------------------------------------------------------------------------
# The same steps as straightforward reference loops on the full distance matrix
# ---------------------------------------------------------------------------


def reference_alternate(D, medoids, max_iter):
    medoids = list(medoids)
    seq = [tuple(medoids)]
    for _ in range(max_iter):
        labels = D[:, medoids].argmin(axis=1)
        new = list(medoids)
        for j in range(len(medoids)):
            members = np.flatnonzero(labels == j)
            sums = D[np.ix_(members, members)].sum(axis=0)
            new[j] = int(members[np.argmin(sums)])
        if new == medoids:
            break
        medoids = new
        seq.append(tuple(medoids))
    return seq


def reference_pam(D, medoids, max_iter):
    medoids = list(medoids)
    seq = [tuple(medoids)]
    cost = cost_of(D, medoids)
    for _ in range(max_iter):
        best = (cost, None)
        for j in range(len(medoids)):
            for c in range(D.shape[0]):
                if c not in medoids:
                    trial = medoids[:j] + [c] + medoids[j + 1:]
                    best = min(best, (cost_of(D, trial), tuple(trial)), key=lambda b: b[0])
        if best[1] is None or not best[0] < cost * (1 - 1e-10):
            break
        cost, medoids = best[0], list(best[1])
        seq.append(tuple(medoids))
    return seq


@pytest.mark.parametrize("metric", METRICS)
def test_steps_match_reference_loops(metric):
    X = blobs(40, 3, 4, seed=3, spread=2.0) + 5.0
    D = distances(X, metric=metric, p=1.5)
    start = [0, 1, 2, 3]
    t = trace_kmedoids(X, 4, metric=metric, p=1.5, medoids_init=start)
    ours = [tuple(t.steps[0].medoid_indices.tolist())]
    ours += [tuple(s.medoid_indices.tolist()) for s in t.steps if s.phase == "M"]
    ours = [m for i, m in enumerate(ours) if i == 0 or m != ours[i - 1]]
    assert ours == reference_alternate(D, start, 100)
    t = trace_kmedoids(X, 4, metric=metric, p=1.5, method="pam", medoids_init=start)
    ours = [tuple(s.medoid_indices.tolist()) for s in t.steps]
    assert ours == reference_pam(D, start, 100)


def test_build_is_pams_greedy_start():
    X = blobs(30, 2, 3, seed=5)
    D = distances(X)
    chosen = [int(np.argmin(D.sum(axis=0)))]
    for _ in range(2):
        costs = [cost_of(D, chosen + [c]) if c not in chosen else np.inf for c in range(30)]
        chosen.append(int(np.argmin(costs)))
    t = trace_kmedoids(X, 3, init="build")
    assert t.steps[0].medoid_indices.tolist() == chosen
    assert t.steps[0].message.startswith("Start (BUILD): 3 medoids at points ")


# ---------------------------------------------------------------------------
# Invariants on random data
# ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    d=st.integers(1, 3),
    k=st.integers(1, 5),
    metric=st.sampled_from(METRICS),
    method=st.sampled_from(METHODS),
    init=st.sampled_from(INITS),
    max_iter=st.sampled_from([1, 2, 100]),
    grid=st.booleans(),
)
def test_invariants_on_every_snapshot(seed, n, d, k, metric, method, init, max_iter, grid):
    rng = np.random.default_rng(seed)
    # Integer grids give duplicate points and exact ties (1..4: no row of zeros for cosine).
    X = rng.integers(1, 5, size=(n, d)).astype(float) if grid else rng.normal(size=(n, d)) * 10
    if metric == "cosine" and not grid:
        X[np.all(X == 0, axis=1)] = 1.0
    k = min(k, n)
    t = trace_kmedoids(X, k, metric=metric, p=3.0, method=method, init=init, seed=seed, max_iter=max_iter)
    check_invariants(t, X, metric, 3.0)
    assert t.n_iter <= max_iter


def test_ties_keep_the_current_medoid_and_the_run_ends():
    # A square: every corner has the same total distance to the others.
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    for start in range(4):
        t = trace_kmedoids(X, 1, medoids_init=[start])
        assert t.converged and t.n_iter == 1 and t.steps[-1].medoid_indices.tolist() == [start]
        t = trace_kmedoids(X, 1, medoids_init=[start], method="pam")
        assert t.converged and t.n_iter == 0
    # A grid with many ties, every metric.
    G = np.array([[x, y] for x in range(1, 5) for y in range(1, 5)], dtype=float)
    for metric in METRICS:
        for method in METHODS:
            t = trace_kmedoids(G, 3, metric=metric, method=method, seed=0)
            assert t.converged
            check_invariants(t, G, metric)


def test_duplicates_and_parallel_points_keep_medoids_distinct():
    X = np.array([[1.0, 1.0]] * 4 + [[2.0, 2.0], [3.0, 3.0], [1.0, 0.0]])
    for metric in METRICS:
        for method in METHODS:
            for init in INITS:
                t = trace_kmedoids(X, 3, metric=metric, method=method, init=init, seed=1)
                check_invariants(t, X, metric)


# ---------------------------------------------------------------------------
# Distances
# ---------------------------------------------------------------------------


def test_distances_are_scipys():
    X = blobs(20, 3, 2, seed=4)
    Y = blobs(7, 3, 2, seed=5)
    for metric, name, kw in [
        ("euclidean", "euclidean", {}),
        ("manhattan", "cityblock", {}),
        ("minkowski", "minkowski", {"p": 3.0}),
        ("chebyshev", "chebyshev", {}),
        ("cosine", "cosine", {}),
    ]:
        ours = distances(X, Y, metric=metric, p=3.0)
        np.testing.assert_allclose(ours, cdist(X, Y, name, **kw), rtol=1e-10, atol=1e-12)
    # Cosine: exactly 0 from a point to itself, never negative.
    C = distances(X, metric="cosine")
    assert np.all(np.diag(C) == 0) and C.min() >= 0
    np.testing.assert_allclose(distances(X, metric="minkowski", p=np.inf), cdist(X, X, "chebyshev"), rtol=1e-12)
    np.testing.assert_allclose(distances(X * 1e-200, metric="cosine"), C, atol=1e-12)


def test_total_cost_function():
    X = blobs(30, 2, 3, seed=6)
    t = trace_kmedoids(X, 3, metric="manhattan", seed=0)
    s = t.steps[-1]
    assert total_cost(X, s.medoid_indices, s.labels, metric="manhattan") == s.cost
    with pytest.raises(ValueError, match="labels should be between 0 and 2"):
        total_cost(X, s.medoid_indices, np.full(30, 3))


# ---------------------------------------------------------------------------
# What the snapshots and the trace hold
# ---------------------------------------------------------------------------


def test_messages_and_structure():
    X = blobs(60, 2, 3, seed=7, spread=3.0)
    t = trace_kmedoids(X, 3, seed=2)
    s0, e1, m1 = t.steps[:3]
    counts = "/".join(map(str, np.bincount(s0.labels, minlength=3)))
    assert s0.message.startswith("Start (k-medoids++): 3 medoids at points #")
    assert f"giving clusters of {counts} points; cost " in s0.message
    assert e1.labels is s0.labels and e1.cost == s0.cost and e1.n_changed == 0
    assert e1.message.startswith(f"E-step: assign each point to its nearest medoid, as at the start: clusters of {counts} points")
    assert m1.message.startswith("M-step: in each cluster, the point with the smallest total distance to the others becomes the medoid; ")
    assert m1.labels is e1.labels
    changed = np.flatnonzero(m1.medoid_indices != e1.medoid_indices)
    for j in changed:
        assert f"#{e1.medoid_indices[j]} → #{m1.medoid_indices[j]}" in m1.message
    assert "cost" in m1.message and m1.message.endswith(".")
    assert t.converged and t.message.startswith(f"k-medoids converged after {t.n_iter} iteration")
    assert "no medoid changed" in t.steps[-1].message

    short = trace_kmedoids(X, 3, init="random", seed=2, max_iter=1)
    assert not short.converged and [s.phase for s in short.steps] == ["init", "E", "M", "E"]
    assert short.message.startswith("k-medoids stopped after max_iter = 1 iteration without converging")
    assert "once more, so the labels match the final medoids" in short.steps[-1].message

    pam = trace_kmedoids(X, 3, method="pam", init="random", seed=2)
    sw = pam.steps[1]
    assert sw.phase == "swap" and sw.iteration == 1
    assert f"the best of {3 * 57} possible exchanges" in sw.message
    assert pam.message.startswith(f"PAM converged after {pam.n_iter} swap")
    short = trace_kmedoids(X, 3, method="pam", init="random", seed=2, max_iter=1)
    assert not short.converged and short.n_iter == 1 and len(short.steps) == 2
    assert short.message.startswith("PAM stopped after max_iter = 1 swap without converging")


def test_trace_fields_dataset_input_and_params():
    X = blobs(40, 2, 2, seed=8)
    ds = Dataset(X=X, columns=("a", "b"))
    t = trace_kmedoids(ds, 2, seed=3)
    assert t == trace_kmedoids(X, 2, seed=3)
    assert t.algorithm == "kmedoids" and t.data_digest == digest(X)
    np.testing.assert_array_equal(t.X, X)
    assert t.params == {"n_clusters": 2, "metric": "euclidean", "p": 2.0, "method": "alternate",
                        "init": "k-medoids++", "medoids_init": None, "max_iter": 100, "seed": 3}
    t = trace_kmedoids(X, 2, medoids_init=[5.0, 7.0])
    assert t.params["medoids_init"].tolist() == [5, 7]
    assert t.steps[0].message.startswith("Start (given medoids): 2 medoids at points #5 and #7;")


def test_json_round_trip_is_exact_and_pickle_keeps_arrays_read_only():
    X = blobs(50, 2, 3, seed=9)
    for method in METHODS:
        t = trace_kmedoids(X, 3, metric="minkowski", p=np.inf, method=method, seed=1)
        again = Trace.from_json(t.to_json())
        assert again == t and again.params["p"] == np.inf
        assert "KMedoidsSnapshot" in snapshot_types()
        p = pickle.loads(pickle.dumps(t))
        assert p == t
        for s in p.steps:
            assert not (s.labels.flags.writeable or s.medoids.flags.writeable or s.medoid_indices.flags.writeable)
        assert p.steps[1].labels is p.steps[0].labels or method == "pam"


def test_iter_kmedoids_returns_the_outcome():
    X = blobs(30, 2, 2, seed=1)
    t = trace_kmedoids(X, 2, method="pam", seed=4)
    gen = iter_kmedoids(X, 2, method="pam", seed=4)
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            outcome = stop.value
            break
    assert tuple(steps) == t.steps and outcome == (t.converged, t.n_iter, t.message)


def test_k_equal_to_n_and_one_point():
    X = blobs(5, 2, 2, seed=2)
    for method in METHODS:
        t = trace_kmedoids(X, 5, method=method, seed=0)
        assert t.steps[-1].cost == 0.0 and t.converged
        t = trace_kmedoids(X[:1], 1, method=method)
        assert t.steps[-1].cost == 0.0 and t.converged


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------


X6 = np.arange(1, 13, dtype=float).reshape(6, 2)


@pytest.mark.parametrize(
    "X, kwargs, match",
    [
        (X6, dict(n_clusters=9), r"n_clusters should be at most the number of points \(6\), but got 9"),
        (X6, dict(n_clusters=0), "n_clusters should be at least 1"),
        (X6, dict(n_clusters=2, metric="hamming"), "metric should be one of 'euclidean', 'manhattan', 'minkowski', 'cosine', 'chebyshev', but got 'hamming'"),
        (X6, dict(n_clusters=2, init="k-means++"), "init should be one of 'k-medoids\\+\\+', 'build', 'random'"),
        (X6, dict(n_clusters=2, method="clara"), "method should be one of 'alternate', 'pam'"),
        (X6, dict(n_clusters=2, metric="minkowski", p=0.5), r"p should be at least 1 \(the exponent of the Minkowski distance\), but got 0.5"),
        (X6, dict(n_clusters=2, p=np.nan), "p should be a finite number"),
        (X6, dict(n_clusters=2, max_iter=0), "max_iter should be at least 1, but got 0"),
        (X6, dict(n_clusters=2, medoids_init=[1]), r"medoids_init should hold 2 distinct row indices of X \(0 to 5\), but got shape \(1,\)"),
        (X6, dict(n_clusters=2, medoids_init=[1, 6]), "but got 6"),
        (X6, dict(n_clusters=2, medoids_init=[3, 3]), "but #3 appears more than once"),
        (X6, dict(n_clusters=2, medoids_init=[0.5, 1]), "not whole numbers"),
        (np.array([[1.0, np.nan], [1.0, 2.0]]), dict(n_clusters=1), "X holds NaN or infinite values in 1 row;"),
        (np.array([[1.0, 2.0], [0.0, 0.0]]), dict(n_clusters=1, metric="cosine"), r"the cosine distance is undefined at the origin, but row #1 is all zeros"),
    ],
)
def test_refusals(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        trace_kmedoids(X, **kwargs)


def test_size_limits_per_method(monkeypatch):
    monkeypatch.setitem(kmedoids.MAX_SAMPLES, "alternate", 10)
    monkeypatch.setitem(kmedoids.MAX_SAMPLES, "pam", 5)
    X = blobs(8, 2, 2)
    trace_kmedoids(X, 2)
    with pytest.raises(ValueError, match="PAM weighs every exchange .* at most 5 points, but X has 8; use method='alternate' or a random sample"):
        trace_kmedoids(X, 2, method="pam")
    with pytest.raises(ValueError, match="at most 10 points, but X has 12; use a random sample"):
        trace_kmedoids(blobs(12, 2, 2), 2)


# ---------------------------------------------------------------------------
# check_trace: traces from files
# ---------------------------------------------------------------------------


def _kmd_doc(**kwargs):
    return json.loads(trace_kmedoids(blobs(30, 2, 2, seed=2), 2, seed=0, **kwargs).to_json())


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
    kmedoids.check_trace(trace)
    return trace


@pytest.mark.parametrize("method", METHODS)
def test_check_trace_accepts_real_traces(method):
    trace = _load_checked(_kmd_doc(method=method, init="random"))
    assert len(trace) >= 2
    assert any(s.phase in ("M", "swap") for s in trace)
    for metric in METRICS:
        kmedoids.check_trace(trace_kmedoids(blobs(40, 3, 4, seed=1) + 1, 4, metric=metric, method=method, seed=3))
    kmedoids.check_trace(trace_kmedoids(np.zeros((3, 1)), 3, method=method, seed=0))  # duplicate points
    kmedoids.check_trace(trace_kmedoids(blobs(5, 1, 1), 1, method=method, seed=0))


_S2 = ["steps", 2, "fields"]  # an M-step


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["steps"], [], "This trace cannot be shown in the k-medoids lab: it has no steps."),
        (["algorithm"], "kmeans", "it is a trace of 'kmeans', not of k-medoids; open it in the lab it came from"),
        (["steps", 1, "fields", "phase"], "merge",
         "step 2 has phase 'merge'; k-medoids steps are 'init', 'E', 'M' or 'swap'"),
        (["X"], None, "it does not hold its data (X)"),
        (["X", "__ndarray__", "data", 3], "nan", "its data X holds NaN or infinite values"),
        (["X"], _arr(np.zeros((0, 2))), "its data X is empty (shape (0, 2))"),
        (["X"], _arr(np.ones((30, 3))), "step 1: medoids should have shape (2, 3) for 2 medoids in 3 features, but it has (2, 2)"),
        (["X"], _arr(np.ones((31, 2))), "step 1: medoids[0] (cluster 1) should be row #"),
        (_S2 + ["medoid_indices"], _arr([5, 5], "<i8"),
         "step 3: the medoids should be distinct rows, but row #5 is the medoid of more than one cluster"),
        (_S2 + ["medoid_indices"], _arr([5, 17], "<i8"),
         "step 3: medoids[1] (cluster 2) should be row #17 of X, its medoid_indices entry, but it is not"),
        (_S2 + ["medoid_indices"], _arr([5, 30], "<i8"), "medoid_indices should be rows 0 to 29"),  # refused on loading
        (_S2 + ["medoid_indices"], _arr([5, -1], "<i8"), "medoid_indices should be rows 0 to 29"),
        (_S2 + ["medoid_indices"], _arr([5.0, 16.0]), "medoid_indices should be a 1-D array of row indices"),
        (_S2 + ["medoid_indices"], _arr([5, 16, 0], "<i8"), "medoids should have shape (3, n_features)"),
        (_S2 + ["medoids", "__ndarray__", "data", 0], 123.0, "step 3: medoids[0] (cluster 1) should be row #5 of X"),
        (_S2 + ["medoids"], _arr([[0, 1], [2, 3]], "<i8"), "step 3: medoids should be an array of decimal numbers"),
        (_S2 + ["medoids", "__ndarray__", "data", 1], "nan", "step 3: medoids holds NaN or infinite values"),
        (_S2 + ["medoids"], _arr(np.zeros((2, 3))), "step 3: medoids should have shape (2, 2) for 2 medoids in 2 features, but it has (2, 3)"),
        (_S2 + ["labels"], _arr(np.zeros(31, dtype=int), "<i8"),
         "step 3: labels should have one entry per point, shape (30,), but it has (31,)"),
        (_S2 + ["labels", "__ndarray__", "data", 4], 2, "labels should be between 0 and 1"),  # refused on loading
        (_S2 + ["labels", "__ndarray__", "data", 4], -1, "labels should be between 0 and 1"),
        (_S2 + ["labels"], _arr(np.zeros(30)), "labels should be a 1-D array of whole numbers"),
        (_S2 + ["cost"], -1.0, "step 3: cost should be a finite number at least 0, but it is -1.0"),
        (_S2 + ["cost"], {"__float__": "nan"}, "step 3: cost should be a finite number at least 0, but it is nan"),
        (_S2 + ["cost"], {"__float__": "inf"}, "cost should be a finite number at least 0, but it is inf"),
        (_S2 + ["cost"], "abc", "step 3: cost should be a finite number at least 0, but it is 'abc'"),
        (_S2 + ["cost"], False, "cost should be a finite number at least 0, but it is False"),
        (_S2 + ["n_changed"], 31, "step 3: n_changed should be a whole number from 0 to 30, but it is 31"),
    ],
)
def test_check_trace_refuses_broken_kmedoids_traces(path, value, message):
    doc = _set(_kmd_doc(), path, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        _load_checked(doc)


def test_check_trace_refuses_broken_pam_steps():
    doc = _kmd_doc(method="pam", init="random")
    assert doc["steps"][1]["fields"]["phase"] == "swap"
    doc["steps"][1]["fields"]["cost"] = -3.5
    with pytest.raises(ValueError, match=re.escape("step 2: cost should be a finite number at least 0, but it is -3.5")):
        _load_checked(doc)


def test_check_trace_refuses_what_is_not_a_kmedoids_trace():
    from tracelab.labs.kmeans.kmeans import trace_kmeans

    X = blobs(20, 2, 2, seed=0)
    km = trace_kmeans(X, 2, seed=0)
    fake = Trace(algorithm="kmedoids", steps=km.steps, X=X)
    with pytest.raises(ValueError, match="step 1 is a KMeansSnapshot, not a k-medoids step"):
        kmedoids.check_trace(fake)
    with pytest.raises(ValueError, match="it is a trace of 'kmeans', not of k-medoids"):
        kmedoids.check_trace(km)
    with pytest.raises(ValueError, match="^This trace cannot be shown in the k-medoids lab: it is a list, not a Trace.$"):
        kmedoids.check_trace([])
    # k must stay the same from step to step.
    a, b = trace_kmedoids(X, 2, seed=0), trace_kmedoids(X, 3, seed=0)
    mixed = Trace(algorithm="kmedoids", steps=(a.steps[0], dataclasses.replace(b.steps[1], index=1)), X=X)
    with pytest.raises(ValueError, match=re.escape("step 2: medoid_indices should have shape (2,) for 2 medoids, as on step 1, but it has (3,)")):
        kmedoids.check_trace(mixed)
    # No medoids at all (and so no labels).
    doc = _kmd_doc()
    doc["steps"][0]["fields"].update(medoid_indices=_arr(np.zeros(0, int), "<i8"), medoids=_arr(np.zeros((0, 2))),
                                     labels=_arr(np.zeros(0, int), "|i1"))
    with pytest.raises(ValueError, match=re.escape("step 1: medoid_indices should hold at least one row number")):
        _load_checked(doc)
