"""DBSCAN and OPTICS traces: checked against scikit-learn and for invariants on every step."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN, OPTICS
from sklearn.cluster import cluster_optics_dbscan as sk_cut
from sklearn.cluster import cluster_optics_xi as sk_xi
from sklearn.datasets import make_blobs, make_moons

from tracelab.labs.density import engine as density
from tracelab.labs.density.engine import (
    GROUPINGS,
    METRICS,
    DBSCANSnapshot,
    OPTICSSnapshot,
    check_trace,
    cluster_optics_dbscan,
    cluster_optics_xi,
    k_distance,
    trace_dbscan,
    trace_optics,
)
from tracelab.record.trace import Trace


def _datasets():
    blobs, _ = make_blobs(150, centers=3, cluster_std=0.7, random_state=1)
    moons, _ = make_moons(160, noise=0.08, random_state=2)
    rng = np.random.default_rng(3)
    uniform = rng.uniform(-1, 1, size=(120, 2))
    blobs3, _ = make_blobs(130, n_features=3, centers=4, random_state=4)
    return {"blobs": blobs, "moons": moons, "uniform": uniform, "blobs3": blobs3}


DATA = _datasets()
SK_METRIC = {"euclidean": "euclidean", "manhattan": "manhattan", "chebyshev": "chebyshev", "cosine": "cosine"}


def _eps_for(X, min_samples, metric, q):
    """An ε at a quantile of the k-distance curve, nudged off any exact distance."""
    kd = k_distance(X, max(min_samples - 1, 1), metric=metric)
    return float(np.quantile(kd, q)) * (1 + 1e-7) + 1e-12


def _same_partition(a, b):
    """Equal up to relabelling (a bijection between the labels)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


# ---------------------------------------------------------------------------
# DBSCAN against scikit-learn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("min_samples,q", [(3, 0.3), (5, 0.6), (8, 0.9)])
def test_dbscan_matches_sklearn(name, metric, min_samples, q):
    X = DATA[name]
    eps = _eps_for(X, min_samples, metric, q)
    trace = trace_dbscan(X, eps, min_samples, metric=metric)
    sk = DBSCAN(eps=eps, min_samples=min_samples, metric=SK_METRIC[metric]).fit(X)
    result = trace[-1]
    assert result.phase == "result"
    np.testing.assert_array_equal(np.flatnonzero(result.core), sk.core_sample_indices_)
    np.testing.assert_array_equal(result.noise, sk.labels_ == -1)
    core = result.core
    assert _same_partition(result.labels[core], sk.labels_[core])
    # Seeds in index order and whole clusters at a time: even borders agree.
    np.testing.assert_array_equal(result.labels, sk.labels_)
    assert result.n_clusters == sk.labels_.max() + 1


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 40), st.integers(1, 6), st.floats(0.05, 1.5), st.sampled_from(METRICS),
    st.integers(0, 10_000),
)
def test_dbscan_matches_sklearn_random(n, min_samples, eps, metric, seed):
    rng = np.random.default_rng(seed)
    # Coarse grid values give duplicates and ties, the hard cases.
    X = np.round(rng.normal(size=(n, 2)), 1)
    eps = eps + 1e-9
    trace = trace_dbscan(X, eps, min_samples, metric=metric)
    sk = DBSCAN(eps=eps, min_samples=min_samples, metric=SK_METRIC[metric]).fit(X)
    if metric == "cosine":
        # Cosine distances of grid points can sit on ε up to rounding: compare away from it.
        D = 1 - (X / np.maximum(np.linalg.norm(X, axis=1), 1e-300)[:, None]) @ \
            (X / np.maximum(np.linalg.norm(X, axis=1), 1e-300)[:, None]).T
        if np.any(np.abs(D - eps) < 1e-9):
            return
    np.testing.assert_array_equal(np.flatnonzero(trace[-1].core), sk.core_sample_indices_)
    np.testing.assert_array_equal(trace[-1].labels, sk.labels_)
    check_trace(trace)


# ---------------------------------------------------------------------------
# DBSCAN: structure and invariants
# ---------------------------------------------------------------------------


def _dbscan_invariants(trace, min_samples):
    steps = trace.steps
    n = trace.X.shape[0]
    assert steps[0].phase == "core" and steps[-1].phase == "result"
    assert all(s.phase == "expand" for s in steps[1:-1])
    first = steps[0]
    assert np.all(first.labels == -1)
    assert first.message.startswith(f"{int(first.core.sum())} core point")
    np.testing.assert_array_equal(first.core, first.neighbor_counts >= min_samples)
    assert np.all(first.neighbor_counts >= 1)  # itself
    prev = None
    for s in steps:
        assert isinstance(s, DBSCANSnapshot)
        assert s.labels.shape == s.core.shape == s.neighbor_counts.shape == (n,)
        assert s.neighbor_counts is first.neighbor_counts  # stored once
        np.testing.assert_array_equal(s.core, first.core)
        assert s.message
        for a in (s.labels, s.core, s.neighbor_counts, s.neighbors, s.queue):
            assert not a.flags.writeable
        if prev is not None:
            was = prev.labels >= 0
            np.testing.assert_array_equal(s.labels[was], prev.labels[was])  # labels only grow
        if s.phase == "expand":
            assert 0 <= s.current < n and s.core[s.current]
            assert s.labels[s.current] == s.cluster
            assert s.current not in s.neighbors
            assert s.neighbors.size == s.neighbor_counts[s.current] - 1
            # Every ε-neighbour of an expanded point is in a cluster afterwards.
            assert np.all(s.labels[s.neighbors] >= 0)
            # The queue holds core points of the growing cluster, not yet expanded.
            assert np.all(s.core[s.queue]) and np.all(s.labels[s.queue] == s.cluster)
            assert len(set(s.queue.tolist())) == s.queue.size
        else:
            assert s.current == -1 and s.cluster == -1 and s.queue.size == 0 and s.neighbors.size == 0
        prev = s
    # Noise points are not core and have no core point within ε.
    result = steps[-1]
    assert not np.any(result.core & result.noise)
    assert np.all(result.labels[result.core] >= 0)


@pytest.mark.parametrize("name", ["blobs", "moons", "uniform"])
def test_dbscan_invariants_every_step(name):
    X = DATA[name]
    trace = trace_dbscan(X, _eps_for(X, 4, "euclidean", 0.7), 4)
    _dbscan_invariants(trace, 4)
    n_core = int(trace[0].core.sum())
    assert sum(s.phase == "expand" for s in trace) == n_core == trace.n_iter  # one per core point
    assert trace.algorithm == "dbscan" and trace.converged
    assert trace.params == {"eps": trace.params["eps"], "min_samples": 4, "metric": "euclidean", "group": "point"}
    check_trace(trace)


@pytest.mark.parametrize("name", ["blobs", "moons", "uniform"])
def test_groupings_same_result(name):
    X = DATA[name]
    eps = _eps_for(X, 5, "euclidean", 0.6)
    traces = {g: trace_dbscan(X, eps, 5, group=g) for g in GROUPINGS}
    for g, t in traces.items():
        _dbscan_invariants(t, 5)
        np.testing.assert_array_equal(t[-1].labels, traces["point"][-1].labels)
        np.testing.assert_array_equal(t[-1].core, traces["point"][-1].core)
        check_trace(t)
    k = traces["point"][-1].n_clusters
    n_expand = {g: sum(s.phase == "expand" for s in t) for g, t in traces.items()}
    assert n_expand["cluster"] == k
    assert k <= n_expand["10 points"] <= n_expand["point"]
    # A grouped step ends where the per-point trace has the same labels.
    per_point = {s.labels.tobytes() for s in traces["point"]}
    for s in traces["10 points"]:
        assert s.labels.tobytes() in per_point


def test_dbscan_labels_smallest_dtype_and_no_core():
    X = DATA["blobs"]
    t = trace_dbscan(X, 0.8, 5)
    assert t[-1].labels.dtype == np.int8
    assert t[0].neighbor_counts.dtype == np.int16 and t[1].queue.dtype == np.int16
    nothing = trace_dbscan(X, 1e-6, 3)
    assert [s.phase for s in nothing] == ["core", "result"]
    assert np.all(nothing[-1].noise) and nothing[-1].n_clusters == 0
    assert "0 clusters" in nothing[-1].message


def test_dbscan_single_point_and_min_samples_one():
    t = trace_dbscan([[0.0, 0.0]], 1.0, 1)
    np.testing.assert_array_equal(t[-1].labels, [0])
    t = trace_dbscan([[0.0], [5.0], [5.5]], 1.0, 1)
    np.testing.assert_array_equal(t[-1].labels, DBSCAN(eps=1.0, min_samples=1).fit([[0.0], [5.0], [5.5]]).labels_)


# ---------------------------------------------------------------------------
# k-distance
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
def test_k_distance(metric):
    X = DATA["moons"]
    kd = k_distance(X, 4, metric=metric)
    assert kd.shape == (X.shape[0],) and not kd.flags.writeable
    assert np.all(np.diff(kd) <= 0)
    eps = float(np.median(kd)) * (1 + 1e-7)
    sk = DBSCAN(eps=eps, min_samples=5, metric=metric).fit(X)
    # k = min_samples - 1 (self excluded): core exactly where the k-distance is at most ε.
    assert np.count_nonzero(kd <= eps) == sk.core_sample_indices_.size
    if metric == "euclidean":
        from sklearn.neighbors import NearestNeighbors

        d, _ = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(X)
        np.testing.assert_allclose(kd, np.sort(d[:, 4])[::-1], rtol=1e-12)


def test_k_distance_errors():
    with pytest.raises(ValueError, match=r"k should be from 1 to the number of points minus one \(2\), but got 3"):
        k_distance([[0.0], [1.0], [2.0]], 3)
    with pytest.raises(ValueError, match="k should be a whole number"):
        k_distance([[0.0], [1.0], [2.0]], 1.5)


# ---------------------------------------------------------------------------
# OPTICS against scikit-learn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("min_samples,max_eps", [(6, np.inf), (4, "q")])
def test_optics_matches_sklearn(name, metric, min_samples, max_eps):
    X = DATA[name]
    if max_eps == "q":
        max_eps = _eps_for(X, min_samples, metric, 0.8)
    trace = trace_optics(X, min_samples, max_eps=max_eps, metric=metric, group="10 points")
    # scikit-learn's metric="euclidean" path measures reachabilities with the
    # |x|^2 - 2x.y + |y|^2 trick, whose rounding breaks exact ties (a reachability equal
    # to a core distance) differently; ties decide the ordering and the ordering the
    # reachabilities. Its default minkowski p=2 measures exactly, as we do.
    sk_metric = "minkowski" if metric == "euclidean" else metric
    sk = OPTICS(min_samples=min_samples, max_eps=max_eps, metric=sk_metric).fit(X)
    last = trace[-1]
    np.testing.assert_allclose(last.core_distances, sk.core_distances_, rtol=1e-10, atol=1e-12)
    r, s = last.reachability, sk.reachability_
    np.testing.assert_array_equal(last.ordering, sk.ordering_)
    np.testing.assert_array_equal(np.isinf(np.sort(r)), np.isinf(np.sort(s)))
    np.testing.assert_allclose(np.sort(r[np.isfinite(r)]), np.sort(s[np.isfinite(s)]), rtol=1e-10, atol=1e-12)
    # ξ clusters: scikit-learn's labels_.
    assert _same_partition(last.labels, sk.labels_)
    # The cut, against scikit-learn's extraction of its own run.
    cut = trace[-2]
    assert cut.phase == "cut" and cut.eps_cut is not None
    expected = sk_cut(reachability=s, core_distances=sk.core_distances_, ordering=sk.ordering_, eps=cut.eps_cut)
    assert _same_partition(cut.labels, expected)
    check_trace(trace)


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("xi", [0.01, 0.05, 0.2])
@pytest.mark.parametrize("min_samples", [3, 6])
def test_extractions_equal_sklearn_on_same_input(name, xi, min_samples):
    X = DATA[name]
    sk = OPTICS(min_samples=min_samples, xi=xi).fit(X)
    ours = cluster_optics_xi(sk.reachability_, sk.predecessor_, sk.ordering_, min_samples, xi)
    np.testing.assert_array_equal(ours, sk.labels_)
    theirs, _ = sk_xi(reachability=sk.reachability_, predecessor=sk.predecessor_, ordering=sk.ordering_,
                      min_samples=min_samples, min_cluster_size=10, xi=xi)
    np.testing.assert_array_equal(
        cluster_optics_xi(sk.reachability_, sk.predecessor_, sk.ordering_, min_samples, xi, min_cluster_size=10),
        theirs)
    finite = sk.reachability_[np.isfinite(sk.reachability_)]
    for eps in np.quantile(finite, [0.1, 0.5, 0.9]):
        np.testing.assert_array_equal(
            cluster_optics_dbscan(sk.reachability_, sk.core_distances_, sk.ordering_, eps),
            sk_cut(reachability=sk.reachability_, core_distances=sk.core_distances_,
                   ordering=sk.ordering_, eps=eps))


def test_optics_steps_and_invariants():
    X = DATA["blobs"]
    trace = trace_optics(X, 5, eps_cut=1.0, xi=0.1)
    n = X.shape[0]
    phases = [s.phase for s in trace]
    assert phases == ["order"] * n + ["cut", "xi"]
    assert trace.algorithm == "optics"
    first = trace[0]
    prev = None
    for i, s in enumerate(trace):
        assert isinstance(s, OPTICSSnapshot)
        assert s.core_distances is first.core_distances
        if s.phase == "order":
            assert s.ordering.size == i + 1
            assert np.all(s.labels == -1) and s.eps_cut is None
        if prev is not None:
            assert np.all(s.reachability <= prev.reachability)  # reachabilities only fall
            np.testing.assert_array_equal(s.ordering[: prev.ordering.size], prev.ordering)
            # An ordered point keeps its reachability.
            np.testing.assert_array_equal(s.reachability[prev.ordering], prev.reachability[prev.ordering])
        prev = s
    assert sorted(trace[-1].ordering.tolist()) == list(range(n))
    assert trace[-2].eps_cut == 1.0 and trace[-1].eps_cut is None
    np.testing.assert_array_equal(
        trace[-2].labels, cluster_optics_dbscan(s.reachability, s.core_distances, s.ordering, 1.0))
    # With the default cut: the median finite reachability.
    t2 = trace_optics(X, 5, group="10 points")
    r = t2[-1].reachability
    assert t2[-2].eps_cut == pytest.approx(float(np.median(r[np.isfinite(r)])))
    assert sum(s.phase == "order" for s in t2) == -(-n // 10)
    # "cluster": one ordering step per stretch (one stretch without max_eps).
    t3 = trace_optics(X, 5, group="cluster")
    assert [s.phase for s in t3] == ["order", "cut", "xi"]
    sparse = trace_optics(X, 5, group="cluster", max_eps=0.5)
    n_stretches = int(np.count_nonzero(np.isinf(sparse[-1].reachability)))
    assert sum(s.phase == "order" for s in sparse) == n_stretches
    for t in (t2, t3, sparse):
        np.testing.assert_array_equal(t[-1].ordering, trace_optics(X, 5, max_eps=t.params["max_eps"])[-1].ordering)
        check_trace(t)


# ---------------------------------------------------------------------------
# Serialisation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: trace_dbscan(DATA["moons"], 0.2, 5, group="10 points"),
    lambda: trace_optics(DATA["moons"], 5, max_eps=0.4, group="10 points"),
])
def test_json_round_trip_and_pickle(make):
    trace = make()
    back = Trace.from_json(trace.to_json())
    assert back == trace
    check_trace(back)
    for s in back:
        for f in dataclasses.fields(s):
            v = getattr(s, f.name)
            if isinstance(v, np.ndarray):
                assert not v.flags.writeable
    again = pickle.loads(pickle.dumps(trace))
    assert again == trace
    for s in again:
        for f in dataclasses.fields(s):
            v = getattr(s, f.name)
            if isinstance(v, np.ndarray):
                assert not v.flags.writeable
    assert not again.X.flags.writeable


# ---------------------------------------------------------------------------
# check_trace
# ---------------------------------------------------------------------------


def _replace_step(trace, i, **changes):
    steps = list(trace.steps)
    steps[i] = dataclasses.replace(steps[i], **changes)
    return dataclasses.replace(trace, steps=tuple(steps))


def test_check_trace_refuses_corrupt_dbscan():
    trace = trace_dbscan(DATA["blobs"], 0.8, 5)
    check_trace(trace)
    mid = len(trace) // 2
    labels = trace[mid].labels.copy()
    reached = np.flatnonzero(labels >= 0)
    labels[reached[0]] = labels[reached[0]] + 1
    with pytest.raises(ValueError, match="DBSCAN lab: .*changed cluster|DBSCAN lab"):
        check_trace(_replace_step(trace, mid, labels=labels))
    core = trace[mid].core.copy()
    core[0] = not core[0]
    with pytest.raises(ValueError, match="core points changed"):
        check_trace(_replace_step(trace, mid, core=core))
    counts = trace[0].neighbor_counts.copy()
    counts[3] += 1
    with pytest.raises(ValueError, match="neighbour counts do not match"):
        check_trace(_replace_step(trace, 0, neighbor_counts=counts))
    final = trace[-1].labels.copy()
    assert np.any(final == -1)
    final[np.flatnonzero(final == -1)[0]] = 0
    with pytest.raises(ValueError, match="final labels are not DBSCAN's"):
        check_trace(_replace_step(trace, len(trace) - 1, labels=final))
    with pytest.raises(ValueError, match="step 2 has phase 'result'"):
        check_trace(_replace_step(trace, 1, phase="result"))
    with pytest.raises(ValueError, match="core should have 149 entries"):
        _replace_step(trace, 1, labels=trace[1].labels[:-1])  # a step's arrays must agree
    with pytest.raises(ValueError, match="labels should have 150 entries"):
        short = trace[1].labels[:-1]
        check_trace(_replace_step(trace, 1, labels=short, core=trace[1].core[:-1],
                                  neighbor_counts=trace[1].neighbor_counts[:-1]))
    with pytest.raises(ValueError, match="queue should hold"):
        check_trace(_replace_step(trace, 1, queue=np.array([int(np.flatnonzero(~trace[0].core)[0])])))
    with pytest.raises(ValueError, match="not of DBSCAN or OPTICS"):
        check_trace(dataclasses.replace(trace, algorithm="kmeans"))
    with pytest.raises(ValueError, match="does not hold its data"):
        check_trace(dataclasses.replace(trace, X=None))
    with pytest.raises(ValueError, match="not a Trace"):
        check_trace("trace")


def test_check_trace_refuses_corrupt_optics():
    trace = trace_optics(DATA["blobs"], 5, group="10 points")
    check_trace(trace)
    n = len(trace)
    labels = trace[-1].labels.copy()
    labels[labels == 0] = 1
    with pytest.raises(ValueError, match="not those of the ξ method"):
        check_trace(_replace_step(trace, n - 1, labels=labels))
    with pytest.raises(ValueError, match="not the cut"):
        check_trace(_replace_step(trace, n - 2, labels=np.zeros(150, dtype=np.int8)))
    cd = trace[1].core_distances.copy()
    cd[0] *= 2
    with pytest.raises(ValueError, match="core distances changed"):
        check_trace(_replace_step(trace, 1, core_distances=cd))
    reach = trace[2].reachability.copy()
    reach[trace[2].ordering[-1]] += 1
    with pytest.raises(ValueError, match="OPTICS lab: step 3: a reachability grew"):
        check_trace(_replace_step(trace, 2, reachability=reach))
    with pytest.raises(ValueError, match="ordering should grow"):
        check_trace(_replace_step(trace, 2, ordering=trace[1].ordering))
    with pytest.raises(ValueError, match="eps_cut should be a positive number"):
        check_trace(_replace_step(trace, n - 2, eps_cut=None))


# ---------------------------------------------------------------------------
# Input errors
# ---------------------------------------------------------------------------


def test_bad_parameters():
    X = DATA["blobs"]
    with pytest.raises(ValueError, match="^eps should be positive, but got -1$"):
        trace_dbscan(X, -1, 5)
    with pytest.raises(ValueError, match="eps should be a number, but got 'a'"):
        trace_dbscan(X, "a", 5)
    with pytest.raises(ValueError, match=r"min_samples should be at least 1 \(it counts the point itself\), but got 0"):
        trace_dbscan(X, 0.5, 0)
    with pytest.raises(ValueError, match="min_samples should be a whole number, but got 2.5"):
        trace_dbscan(X, 0.5, 2.5)
    with pytest.raises(ValueError, match="metric should be one of 'euclidean', 'manhattan', 'chebyshev', 'cosine', but got 'l3'"):
        trace_dbscan(X, 0.5, 5, metric="l3")
    with pytest.raises(ValueError, match="group should be one of"):
        trace_dbscan(X, 0.5, 5, group="all")
    with pytest.raises(ValueError, match="X holds NaN"):
        trace_dbscan([[0.0], [np.nan]], 0.5, 1)
    with pytest.raises(ValueError, match=r"X should have at most 5000 points for a DBSCAN trace, but got 5001"):
        trace_dbscan(np.zeros((5001, 2)), 0.5, 5)
    with pytest.raises(ValueError, match=r"min_samples should be at least 2 \(it counts the point itself\), but got 1"):
        trace_optics(X, 1)
    with pytest.raises(ValueError, match=r"min_samples should be at most the number of points \(150\), but got 151"):
        trace_optics(X, 151)
    with pytest.raises(ValueError, match="xi should be between 0 and 1, but got 1"):
        trace_optics(X, 5, xi=1)
    with pytest.raises(ValueError, match="eps_cut should be positive, but got 0"):
        trace_optics(X, 5, eps_cut=0)
    with pytest.raises(ValueError, match="max_eps should be positive, but got -2"):
        trace_optics(X, 5, max_eps=-2)
    with pytest.raises(ValueError, match="at most 2000 points for an OPTICS trace with one step per point"):
        trace_optics(np.zeros((2001, 2)), 5)
    with pytest.raises(ValueError, match="at most 5000 points for an OPTICS trace, but got 5001"):
        trace_optics(np.zeros((5001, 2)), 5, group="cluster")


def test_metric_names_and_groupings_are_the_interface():
    assert density.METRICS == ("euclidean", "manhattan", "chebyshev", "cosine")
    assert density.GROUPINGS == ("point", "10 points", "cluster")
