"""k-medoids, recorded step by step: the alternating algorithm and PAM.

:func:`trace_kmedoids` returns a :class:`~tracelab.record.trace.Trace` whose steps are
:class:`KMedoidsSnapshot` instances. A medoid is always a data point: the point of its
cluster with the smallest total distance to the others. Any of :data:`METRICS` can
measure distance, not only the Euclidean one k-means is tied to.

Two methods
-----------
``"alternate"`` (Voronoi iteration, k-means' scheme with medoids): after the start
(``"init"``), each iteration has an ``"E"`` step (every point joins its nearest medoid)
and an ``"M"`` step (in every cluster, the point with the smallest total distance to the
cluster's points becomes its medoid). It stops when an M-step changes no medoid. If
``max_iter`` runs out first, a last ``"E"`` step (iteration ``n_iter + 1``) makes the
labels match the final medoids.

``"pam"`` (Partitioning Around Medoids, its SWAP phase): after the start, each ``"swap"``
step makes the single exchange of a medoid for a non-medoid point that lowers the cost
most, then reassigns every point to its nearest medoid. It stops when no exchange lowers
the cost. Its classic start is ``init="build"`` (PAM's BUILD phase). Each step weighs all
``k (n - k)`` exchanges at once in ``O(n^2)`` (the nearest/second-nearest trick of
FastPAM1), so it finds the same swaps as the textbook loop, faster.

What each snapshot holds
------------------------
``medoid_indices`` (rows of ``X``), ``medoids`` (those rows), ``labels`` and ``cost``,
the sum of the distances from each point to the medoid of its cluster under that
snapshot's medoids and labels. As in :mod:`tracelab.labs.kmeans.kmeans`, the start labels each point
with its nearest medoid (so the cost curve starts at step 0) and the first E-step repeats
that assignment. An M step keeps the labels of the E step before it.

The cost never rises: an E-step picks the nearest medoid for fixed medoids; an M-step
keeps a cluster's medoid unless a point of the cluster has a smaller total distance to
it; a swap is made only if it lowers the cost. A change must win by more than rounding
(a relative 1e-10), so ties, as on symmetric data, keep the current medoid and the run
always ends. Ties between new candidates go to the lowest row index, ties between
medoids in an assignment to the lowest cluster index. Medoids stay distinct rows: an
M-step never takes another cluster's medoid.

Distances
---------
scipy's :func:`~scipy.spatial.distance.cdist`, one block of rows at a time. The cosine
distance ``1 - cos`` is computed as half the squared Euclidean distance between the
rows scaled to unit length, which is the same number but exactly 0 from a point to
itself (scipy's own formula leaves about 1e-16), so a medoid is always at distance 0
from itself. The cosine distance is undefined at the origin, so X may then not hold a
row of zeros. k-medoids compares every pair of points within a cluster, which grows as
``n^2``: :data:`MAX_SAMPLES` caps the data, per method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import numpy as np
from scipy.spatial.distance import cdist

from tracelab._validate import check_data as _check_data
from tracelab._validate import check_k as _check_k
from tracelab._validate import check_step_kind as _check_step_kind
from tracelab._validate import check_trace_data as _check_trace_data
from tracelab._validate import check_trace_header as _check_trace_header
from tracelab._validate import check_trace_labels as _check_trace_labels
from tracelab._validate import check_trace_number as _check_trace_number
from tracelab._validate import check_trace_points as _check_trace_points
from tracelab._validate import trace_problem as _trace_problem
from tracelab._validate import check_seed as _check_seed
from tracelab._validate import number as _number
from tracelab._validate import one_of as _one_of
from tracelab._validate import check_labels as _check_labels
from tracelab.record.arrays import label_dtype as _label_dtype
from tracelab.record.words import and_list as _and
from tracelab.record.words import change as _change
from tracelab.record.words import changed as _changed
from tracelab.record.words import clusters as _clusters
from tracelab.record.words import rows as _rows
from tracelab.record.words import sizes as _sizes
from tracelab.record.words import value as _value
from tracelab.record.arrays import freeze
from tracelab.record.trace import Snapshot, Trace, collect
from tracelab.metrics import SCIPY_NAME

__all__ = [
    "METRICS",
    "INITS",
    "METHODS",
    "MAX_SAMPLES",
    "KMedoidsSnapshot",
    "trace_kmedoids",
    "iter_kmedoids",
    "distances",
    "total_cost",
    "check_trace",
]

#: Distances k-medoids can use, for the lab's picker.
METRICS = ("euclidean", "manhattan", "minkowski", "cosine", "chebyshev")
#: Ways to choose the starting medoids.
INITS = ("k-medoids++", "build", "random")
#: The alternating (Voronoi iteration) algorithm and PAM's swap phase.
METHODS = ("alternate", "pam")
#: Most points each method runs on. Both compare up to all n^2 pairs of points per
#: step; PAM does so for every swap (about 0.3 s per swap at 5,000 points), the
#: alternating method only within clusters.
MAX_SAMPLES = {"alternate": 5000, "pam": 2000}

# Entries of a distance block computed at once (8 MB of float64).
_BLOCK = 1 << 20
# A medoid changes only when the cost falls by more than this fraction: less is
# rounding (sums of the same distances in another order), and would let ties flip.
_RTOL = 1e-10


# ---------------------------------------------------------------------------
# Distances
# ---------------------------------------------------------------------------


class _Metric(NamedTuple):
    """The data as the distance wants them, and the scipy metric to call."""

    Z: np.ndarray  # (n, d): X, or for cosine the rows scaled to unit length
    name: str  # scipy's name
    kwargs: dict
    scale: float  # cosine: half the squared distance of unit vectors

    def between(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        D = cdist(A, B, self.name, **self.kwargs)
        if self.scale != 1.0:
            D *= self.scale
        return D

    def rows(self, i, j) -> np.ndarray:
        """Distances between rows ``i`` and rows ``j`` of the data (indices or slices)."""
        return self.between(self.Z[i], self.Z[j])


def _unit_rows(X: np.ndarray) -> np.ndarray:
    # Scale by the largest entry first, so tiny or huge rows neither underflow nor
    # overflow when squared.
    big = np.abs(X).max(axis=1, keepdims=True)
    V = X / big
    return V / np.sqrt(np.einsum("ij,ij->i", V, V))[:, None]


def _metric(X: np.ndarray, metric: str, p: float) -> _Metric:
    if metric == "cosine":
        return _Metric(_unit_rows(X), "sqeuclidean", {}, 0.5)
    if metric == "minkowski":
        return _Metric(X, "minkowski", {"p": p}, 1.0)
    return _Metric(X, SCIPY_NAME[metric], {}, 1.0)


def _check_cosine(X: np.ndarray) -> None:
    zero = np.flatnonzero(~np.any(X != 0, axis=1))
    if zero.size:
        raise ValueError(
            f"the cosine distance is undefined at the origin, but row {_rows(zero)} "
            f"{'is' if zero.size == 1 else 'are'} all zeros; drop {'it' if zero.size == 1 else 'them'} "
            "or choose another metric"
        )


def distances(X, Y=None, *, metric: str = "euclidean", p: float = 2.0) -> np.ndarray:
    """Distances between the rows of ``X`` and those of ``Y``, as k-medoids measures them.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features), optional
        Defaults to ``X``.
    metric : {"euclidean", "manhattan", "minkowski", "cosine", "chebyshev"}
    p : float, default=2.0
        The exponent of the Minkowski distance, at least 1.

    Returns
    -------
    ndarray of shape (n_samples_X, n_samples_Y)
    """
    X = _check_data(X, "the distance")
    Y = X if Y is None else _check_data(Y, "the distance")
    if Y.shape[1] != X.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but Y has {Y.shape[1]}")
    metric, p = _check_metric(metric, p)
    if metric == "cosine":
        _check_cosine(X)
        _check_cosine(Y)
        return _metric(Y, metric, p).between(_unit_rows(X), _unit_rows(Y))
    return _metric(Y, metric, p).between(X, Y)


def _check_metric(metric, p) -> tuple[str, float]:
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(_one_of("metric", metric, METRICS))
    p = _number("p", p, minimum=1, allow_inf=True, hint=" (the exponent of the Minkowski distance)")
    return metric, p


def _to_medoids(m: _Metric, medoids: np.ndarray) -> np.ndarray:
    """Distances from every point to every medoid, shape (n, k)."""
    return m.between(m.Z, m.Z[medoids])


def _assign(D: np.ndarray, dtype) -> np.ndarray:
    return np.argmin(D, axis=1).astype(dtype, copy=False)


def _cost(D: np.ndarray, labels: np.ndarray) -> float:
    """The cost of ``labels`` given the distances ``D`` to the medoids: one fixed sum."""
    return float(D[np.arange(D.shape[0]), labels].sum())


def total_cost(X, medoid_indices, labels, *, metric: str = "euclidean", p: float = 2.0) -> float:
    """Sum of the distances from each point to the medoid of its cluster.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    medoid_indices : array-like of shape (n_clusters,), int
        Rows of ``X``.
    labels : array-like of shape (n_samples,), int
        Cluster of each point, 0 to n_clusters - 1.
    metric, p
        As for :func:`trace_kmedoids`.

    Returns
    -------
    float
        The ``cost`` a snapshot with these medoids and labels holds.
    """
    X = _check_data(X, "k-medoids")
    metric, p = _check_metric(metric, p)
    medoids = np.asarray(medoid_indices)
    labels = np.asarray(labels)
    if medoids.ndim != 1 or medoids.dtype.kind not in "iu":
        raise ValueError("medoid_indices should be a 1-D array of row indices")
    if medoids.size and not 0 <= medoids.min() <= medoids.max() < X.shape[0]:
        raise ValueError(f"medoid_indices should be rows of X, 0 to {X.shape[0] - 1}")
    _check_labels(labels, medoids.size)
    if labels.shape[0] != X.shape[0]:
        raise ValueError(f"labels should have one entry per point ({X.shape[0]})")
    if metric == "cosine":
        _check_cosine(X)
    return _cost(_to_medoids(_metric(X, metric, p), medoids), labels)


def _column_sums(m: _Metric, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``sum_i d(rows[i], cols[j])`` for every j, a block of columns at a time."""
    out = np.empty(len(cols))
    n_rows = m.Z.shape[0] if isinstance(rows, slice) else len(rows)
    step = max(1, _BLOCK // max(1, n_rows))
    for lo in range(0, len(cols), step):
        out[lo:lo + step] = m.rows(rows, cols[lo:lo + step]).sum(axis=0)
    return out


# ---------------------------------------------------------------------------
# Starts
# ---------------------------------------------------------------------------


def _kmedoids_plusplus(m: _Metric, k: int, rng) -> np.ndarray:
    """Greedy k-medoids++: k-means++ with the metric's distance in place of its square.

    Each further medoid is the best, by the resulting cost, of ``2 + int(log k)``
    points drawn with probability proportional to their distance from the nearest
    medoid so far; a chosen point (at distance 0) is never drawn again.
    """
    n = m.Z.shape[0]
    trials = 2 + int(np.log(k))
    chosen = np.empty(k, dtype=np.intp)
    chosen[0] = rng.integers(n)
    near = m.rows(slice(None), chosen[:1])[:, 0]
    for c in range(1, k):
        pot = near.sum()
        if not pot > 0:
            # Every point sits on a medoid (duplicates): any unchosen point will do.
            free = np.setdiff1d(np.arange(n), chosen[:c])
            chosen[c] = rng.choice(free)
            continue
        draws = rng.uniform(size=trials) * pot
        cand = np.searchsorted(np.cumsum(near), draws, side="right")
        # Rounding can push a draw past the last point with weight: take that point.
        last = int(np.flatnonzero(near > 0)[-1])
        cand = np.where((cand >= n) | (near[np.minimum(cand, n - 1)] == 0), last, cand)
        new_near = np.minimum(near[:, None], m.rows(slice(None), cand))
        best = int(np.argmin(new_near.sum(axis=0)))
        chosen[c] = cand[best]
        near = new_near[:, best]
    return chosen


def _build(m: _Metric, k: int) -> np.ndarray:
    """PAM's BUILD: the point of least total distance, then each time the point whose
    addition lowers the cost most (ties to the lowest index)."""
    n = m.Z.shape[0]
    everyone = slice(None)
    chosen = np.empty(k, dtype=np.intp)
    chosen[0] = int(np.argmin(_column_sums(m, everyone, np.arange(n))))
    near = m.rows(everyone, chosen[:1])[:, 0]
    step = max(1, _BLOCK // n)
    for c in range(1, k):
        gain = np.empty(n)
        for lo in range(0, n, step):
            D = m.rows(everyone, slice(lo, lo + step))
            gain[lo:lo + step] = np.maximum(near[:, None] - D, 0.0).sum(axis=0)
        gain[chosen[:c]] = -1.0
        chosen[c] = int(np.argmax(gain))
        np.minimum(near, m.rows(everyone, chosen[c:c + 1])[:, 0], out=near)
    return chosen


# ---------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class KMedoidsSnapshot(Snapshot):
    """One step of k-medoids: the medoids, the clusters and their cost.

    Parameters
    ----------
    medoid_indices : ndarray of shape (n_clusters,), int
        Row of ``X`` that is the medoid of each cluster.
    medoids : ndarray of shape (n_clusters, n_features)
        Those rows, ``X[medoid_indices]``.
    labels : ndarray of shape (n_samples,), int
        Cluster of each point, 0 to n_clusters - 1.
    cost : float
        Sum of the distances from each point to the medoid of its cluster, under
        this snapshot's medoids and labels.
    n_changed : int
        Points whose label differs from the previous snapshot's (0 on the start
        and on M steps).
    """

    medoid_indices: np.ndarray
    medoids: np.ndarray
    labels: np.ndarray
    cost: float
    n_changed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        idx = self.medoid_indices
        if not isinstance(idx, np.ndarray) or idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise ValueError("medoid_indices should be a 1-D array of row indices")
        if not (isinstance(self.medoids, np.ndarray) and self.medoids.ndim == 2
                and self.medoids.shape[0] == idx.shape[0]):
            raise ValueError(f"medoids should have shape ({idx.shape[0]}, n_features)")
        _check_labels(self.labels, idx.shape[0])
        if idx.size and not 0 <= idx.min() <= idx.max() < self.labels.shape[0]:
            raise ValueError(f"medoid_indices should be rows 0 to {self.labels.shape[0] - 1}")

    @property
    def n_clusters(self) -> int:
        return self.medoid_indices.shape[0]

    @property
    def counts(self) -> np.ndarray:
        """Points per cluster, shape (n_clusters,)."""
        return np.bincount(self.labels, minlength=self.n_clusters)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


class _Config(NamedTuple):
    X: np.ndarray
    k: int
    metric: str
    p: float
    method: str
    init: str
    medoids_init: np.ndarray | None
    max_iter: int
    seed: int | None


def _validate(X, n_clusters, metric, p, method, init, medoids_init, max_iter, seed) -> _Config:
    X = _check_data(X, "k-medoids")
    n = X.shape[0]
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(_one_of("method", method, METHODS))
    if n > MAX_SAMPLES[method]:
        if method == "pam":
            why, fix = "PAM weighs every exchange of a medoid for another point", "method='alternate' or "
        else:
            why, fix = "k-medoids compares every pair of points in a cluster", ""
        raise ValueError(
            f"{why}, so it runs on at most {MAX_SAMPLES[method]:,} points, but X has {n:,}; "
            f"use {fix}a random sample of the rows"
        )
    metric, p = _check_metric(metric, p)
    if metric == "cosine":
        _check_cosine(X)
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(_one_of("init", init, INITS))
    k = _check_k(n_clusters, n, "clusters")
    max_iter = _number("max_iter", max_iter, integer=True, minimum=1)
    seed = _check_seed(seed)
    if medoids_init is not None:
        medoids_init = _check_medoids_init(medoids_init, k, n)
    return _Config(X, k, metric, p, method, init, medoids_init, max_iter, seed)


def _check_medoids_init(value, k: int, n: int) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = None
    what = f"medoids_init should hold {k} distinct row indices of X (0 to {n - 1})"
    if arr is None or arr.ndim != 1 or arr.shape[0] != k:
        shape = "something else" if arr is None else f"shape {arr.shape}"
        raise ValueError(f"{what}, but got {shape}")
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{what}, but got values that are not whole numbers")
    arr = arr.astype(np.int64)
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        raise ValueError(f"{what}, but got {int(bad[0])}")
    values, counts = np.unique(arr, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"{what}, but #{int(values[counts > 1][0])} appears more than once")
    return freeze(arr)


# ---------------------------------------------------------------------------
# The runs
# ---------------------------------------------------------------------------


_INIT_TEXT = {
    "k-medoids++": "each later one drawn in proportion to its distance from those before",
    "build": "chosen by PAM's BUILD: first the most central point, then each time the one that lowers the cost most",
    "random": "chosen at random",
}


def _start(cfg: _Config, m: _Metric) -> tuple[np.ndarray, str]:
    k = cfg.k
    noun = f"{k} medoid{'s' if k != 1 else ''}"
    if cfg.medoids_init is not None:
        idx = np.array(cfg.medoids_init, dtype=np.intp)
        return idx, f"Start (given medoids): {noun} at {'points' if k != 1 else 'point'} {_rows(idx)}"
    rng = np.random.default_rng(cfg.seed)
    if cfg.init == "k-medoids++":
        idx = _kmedoids_plusplus(m, k, rng)
    elif cfg.init == "build":
        idx = _build(m, k)
    else:
        idx = rng.choice(m.Z.shape[0], size=k, replace=False).astype(np.intp)
    how = f" ({_INIT_TEXT[cfg.init]})" if k > 1 else ""
    name = "BUILD" if cfg.init == "build" else cfg.init
    return idx, f"Start ({name}): {noun} at {'points' if k != 1 else 'point'} {_rows(idx)}{how}"


class _State(NamedTuple):
    medoids: np.ndarray  # (k,) row indices
    D: np.ndarray  # (n, k) distances to the medoids
    labels: np.ndarray  # (n,)
    cost: float


def _kmedoids_steps(cfg: _Config) -> Iterator[KMedoidsSnapshot]:
    """Yield the snapshots of one run; return (converged, n_iter, message)."""
    X, k = cfg.X, cfg.k
    m = _metric(X, cfg.metric, cfg.p)
    dtype = _label_dtype(k)
    medoids, start = _start(cfg, m)
    D = _to_medoids(m, medoids)
    labels = _assign(D, dtype)
    state = _State(medoids, D, labels, _cost(D, labels))
    index = 0
    # The raw and frozen arrays of the previous step: equal steps share one frozen
    # copy. The raw arrays stay referenced here, so identity tells them apart.
    shared: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def share(name, raw, make_frozen):
        got = shared.get(name)
        if got is None or got[0] is not raw:
            got = (raw, make_frozen())
        shared[name] = got
        return got[1]

    def make(phase, t, message, st, n_changed=0):
        nonlocal index
        snap = KMedoidsSnapshot(
            index=index, phase=phase, iteration=t, message=message,
            medoid_indices=share("medoids", st.medoids, lambda: freeze(st.medoids, dtype=np.int64)),
            medoids=share("coords", st.medoids, lambda: freeze(X[st.medoids])),
            labels=share("labels", st.labels, lambda: freeze(st.labels)),
            cost=st.cost, n_changed=n_changed,
        )
        index += 1
        return snap

    yield make(
        "init", 0,
        f"{start}; each point goes to its nearest medoid, giving {_sizes(labels, k)}; "
        f"cost {_value(state.cost)}.",
        state,
    )
    if cfg.method == "pam":
        outcome = yield from _pam(cfg, m, state, make, dtype)
    else:
        outcome = yield from _alternate(cfg, m, state, make, dtype)
    return outcome


def _alternate(cfg, m, state, make, dtype):
    k = cfg.k
    prev = state
    last = state
    converged = False
    changed_medoids: list[int] = []
    t = 0
    for t in range(1, cfg.max_iter + 1):
        if t == 1:
            e = state
            message = (
                "E-step: assign each point to its nearest medoid, as at the start: "
                f"{_sizes(e.labels, k)}; cost {_value(e.cost)}."
            )
            n_changed = 0
        else:
            labels = _assign(prev.D, dtype)
            e = _State(prev.medoids, prev.D, labels, _cost(prev.D, labels))
            n_changed = int(np.count_nonzero(labels != prev.labels))
            message = (
                f"E-step: assign each point to its nearest medoid; {_changed(n_changed)}; "
                f"{_change('cost', prev.cost, e.cost)}."
            )
        yield make("E", t, message, e, n_changed)

        new_medoids, changed_medoids, empty = _medoid_update(m, e.medoids, e.labels)
        if changed_medoids:
            D = _to_medoids(m, new_medoids)
            after = _State(new_medoids, D, e.labels, _cost(D, e.labels))
        else:
            after = e
        parts = ["M-step: in each cluster, the point with the smallest total distance to the others becomes the medoid"]
        if changed_medoids:
            moves = [f"#{e.medoids[j]} → #{new_medoids[j]}" for j in changed_medoids]
            noun = "medoid" if len(changed_medoids) == 1 else "medoids"
            parts.append(f"the {noun} of {_clusters(changed_medoids)} changed ({_and(moves)})")
        else:
            parts.append("no medoid changed")
        if empty:
            verb = "has" if len(empty) == 1 else "have"
            parts.append(f"{_clusters(empty)} {verb} no points and {'keeps its medoid' if len(empty) == 1 else 'keep their medoids'}")
        parts.append(_change("cost", e.cost, after.cost))
        yield make("M", t, "; ".join(parts) + ".", after)
        prev = last = after
        if not changed_medoids:
            converged = True
            break
    if not converged:
        labels = _assign(last.D, dtype)
        final = _State(last.medoids, last.D, labels, _cost(last.D, labels))
        n_changed = int(np.count_nonzero(labels != last.labels))
        yield make(
            "E", t + 1,
            "E-step: assign each point to its nearest medoid once more, so the labels match "
            f"the final medoids; {_changed(n_changed)}; {_change('cost', last.cost, final.cost)}.",
            final, n_changed,
        )
        last = final
    iters = f"{t} iteration{'s' if t != 1 else ''}"
    if converged:
        message = (
            f"k-medoids converged after {iters}: the last M-step changed no medoid; "
            f"final cost {_value(last.cost)}."
        )
    else:
        message = (
            f"k-medoids stopped after max_iter = {iters} without converging (the last M-step "
            f"still changed {len(changed_medoids)} medoid{'s' if len(changed_medoids) != 1 else ''}); "
            f"final cost {_value(last.cost)}."
        )
    return converged, t, message


def _medoid_update(m: _Metric, medoids: np.ndarray, labels: np.ndarray):
    """The M-step: per cluster, the candidate of least total distance to the members.

    Candidates are the cluster's points (never another cluster's medoid) and its own
    medoid, which is kept unless beaten by more than rounding.
    """
    k = medoids.shape[0]
    new = medoids.copy()
    changed, empty = [], []
    others = np.zeros(labels.shape[0], dtype=bool)
    for j in range(k):
        members = np.flatnonzero(labels == j)
        if members.size == 0:
            empty.append(j)
            continue
        others[:] = False
        others[medoids] = True
        others[medoids[j]] = False
        cand = members[~others[members]]
        cand = cand[cand != medoids[j]]
        if cand.size == 0:
            continue
        sums = _column_sums(m, members, np.concatenate(([medoids[j]], cand)))
        current, rest = sums[0], sums[1:]
        best = rest.min()
        if best < current * (1.0 - _RTOL):
            # Among candidates equal to the best up to rounding, the lowest row index.
            pick = cand[rest <= best + _RTOL * current].min()
            new[j] = pick
            changed.append(j)
    return new, changed, empty


def _best_swap(m: _Metric, state: _State):
    """The exchange (cluster j, point c) that lowers the cost most, and by how much.

    With ``near``/``second`` the distances to the nearest and second-nearest medoid,
    replacing medoid j by c changes point i's distance by ``min(d_ic, near_i) - near_i``
    if i is outside cluster j and by ``min(d_ic, second_i) - near_i`` if inside, so

        delta(j, c) = sum_i min(d_ic, near_i) - sum_i near_i
                      + sum_{i in j} [min(d_ic, second_i) - min(d_ic, near_i)],

    and one block of ``d(., c)`` columns serves every j (FastPAM1's trick).
    """
    D, labels = state.D, state.labels
    n, k = D.shape
    near = D[np.arange(n), labels]
    second = np.partition(D, 1, axis=1)[:, 1:2] if k > 1 else np.full((n, 1), np.inf)
    near_col = near[:, None]
    near_sum = near.sum()
    onehot = np.zeros((k, n))
    onehot[labels, np.arange(n)] = 1.0
    is_medoid = np.zeros(n, dtype=bool)
    is_medoid[state.medoids] = True
    cands = np.flatnonzero(~is_medoid)
    best = (math.inf, -1, -1)
    step = max(1, _BLOCK // n)
    for lo in range(0, cands.size, step):
        c = cands[lo:lo + step]
        Dc = m.rows(slice(None), c)
        to_near = np.minimum(Dc, near_col)
        inside = np.minimum(Dc, second, out=Dc)
        inside -= to_near
        delta = onehot @ inside
        delta += to_near.sum(axis=0) - near_sum
        flat = int(np.argmin(delta))
        j, col = divmod(flat, c.size)
        if delta[j, col] < best[0]:
            best = (float(delta[j, col]), j, int(c[col]))
    return best, k * cands.size


def _pam(cfg, m, state, make, dtype):
    last = state
    converged = False
    n_swaps = 0
    for t in range(1, cfg.max_iter + 2):
        (delta, j, c), n_options = _best_swap(m, last)
        if not delta < -_RTOL * last.cost:
            converged = True
            break
        medoids = last.medoids.copy()
        medoids[j] = c
        D = last.D.copy()
        D[:, j] = m.rows(slice(None), [c])[:, 0]
        labels = _assign(D, dtype)
        new = _State(medoids, D, labels, _cost(D, labels))
        if not new.cost < last.cost:
            # The gain was rounding after all.
            converged = True
            break
        if t > cfg.max_iter:
            break  # a swap would still lower the cost, but max_iter swaps were made
        n_changed = int(np.count_nonzero(labels != last.labels))
        yield make(
            "swap", t,
            f"Swap: the medoid of {_clusters([j])} moves from #{last.medoids[j]} to #{c}, the best "
            f"of {n_options} possible exchanges; {_changed(n_changed)}; "
            f"{_change('cost', last.cost, new.cost)}.",
            new, n_changed,
        )
        last = new
        n_swaps = t
    swaps = f"{n_swaps} swap{'s' if n_swaps != 1 else ''}"
    if converged:
        message = (
            f"PAM converged after {swaps}: no exchange of a medoid for another point "
            f"lowers the cost; final cost {_value(last.cost)}."
        )
    else:
        message = (
            f"PAM stopped after max_iter = {swaps} without converging (another swap would "
            f"still lower the cost); final cost {_value(last.cost)}."
        )
    return converged, n_swaps, message


def _params_dict(cfg: _Config) -> dict[str, Any]:
    return {
        "n_clusters": cfg.k,
        "metric": cfg.metric,
        "p": cfg.p,
        "method": cfg.method,
        "init": cfg.init,
        "medoids_init": cfg.medoids_init,
        "max_iter": cfg.max_iter,
        "seed": cfg.seed,
    }


def iter_kmedoids(
    X,
    n_clusters: int,
    *,
    metric: str = "euclidean",
    p: float = 2.0,
    method: str = "alternate",
    init: str = "k-medoids++",
    medoids_init=None,
    max_iter: int = 100,
    seed: int | None = None,
) -> Iterator[KMedoidsSnapshot]:
    """k-medoids one snapshot at a time; the arguments are those of :func:`trace_kmedoids`.

    The arguments are checked before this returns. The generator's return value
    (``StopIteration.value``) is ``(converged, n_iter, message)``.
    """
    cfg = _validate(X, n_clusters, metric, p, method, init, medoids_init, max_iter, seed)
    return _kmedoids_steps(cfg)


def trace_kmedoids(
    X,
    n_clusters: int,
    *,
    metric: str = "euclidean",
    p: float = 2.0,
    method: str = "alternate",
    init: str = "k-medoids++",
    medoids_init=None,
    max_iter: int = 100,
    seed: int | None = None,
) -> Trace:
    """Run k-medoids and record every step.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
        At most ``MAX_SAMPLES[method]`` points (5,000; 2,000 for PAM).
    n_clusters : int
        Number of clusters k, 1 to n_samples.
    metric : {"euclidean", "manhattan", "minkowski", "cosine", "chebyshev"}, default="euclidean"
        ``"cosine"`` is ``1 - cos(angle)``, for data without a row of zeros.
    p : float, default=2.0
        The exponent of the Minkowski distance, at least 1 (``inf`` is Chebyshev).
        Used with ``metric="minkowski"`` only, but checked always.
    method : {"alternate", "pam"}, default="alternate"
        ``"alternate"``: E- and M-steps (Voronoi iteration). ``"pam"``: PAM's swap
        phase, one best swap per step.
    init : {"k-medoids++", "build", "random"}, default="k-medoids++"
        ``"k-medoids++"``: greedy k-means++ seeding with the metric's distance.
        ``"build"``: PAM's BUILD (deterministic). ``"random"``: k distinct random
        points. Ignored when ``medoids_init`` is given.
    medoids_init : array-like of shape (n_clusters,), int, optional
        Distinct row indices of ``X`` to start from.
    max_iter : int, default=100
        Most iterations (``"alternate"``) or swaps (``"pam"``).
    seed : int or None
        Randomness of the start; the same seed gives the same trace.

    Returns
    -------
    Trace
        ``algorithm="kmedoids"``; ``steps[0]`` is the start, then an E and an M
        snapshot per iteration (``"alternate"``) or one ``"swap"`` snapshot per swap
        (``"pam"``); see the module docstring. ``n_iter`` counts iterations or swaps.

    Raises
    ------
    ValueError
        For impossible requests, with a message saying what to change.
    """
    cfg = _validate(X, n_clusters, metric, p, method, init, medoids_init, max_iter, seed)
    return collect(_kmedoids_steps(cfg), algorithm="kmedoids", params=_params_dict(cfg), X=cfg.X)


# ---------------------------------------------------------------------------
# Checking a trace from a file
# ---------------------------------------------------------------------------


# The phases of a k-medoids trace: the alternating method's, then PAM's swaps.
_PHASES = ("init", "E", "M", "swap")
_LAB = "k-medoids"


def _check_medoid_indices(where: str, idx, n: int, k: int | None) -> int:
    """Distinct row indices of the data, k of them (or any number from 1 if k is None)."""
    if not isinstance(idx, np.ndarray) or idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise _trace_problem(_LAB, f"{where}: medoid_indices should be a 1-D array of row numbers of X")
    if k is None:
        k = idx.shape[0]
        if k < 1:
            raise _trace_problem(_LAB, f"{where}: medoid_indices should hold at least one row number")
    if idx.shape != (k,):
        raise _trace_problem(
            _LAB, f"{where}: medoid_indices should have shape ({k},) for {k} medoid{'s' if k != 1 else ''}, "
            f"as on step 1, but it has {idx.shape}"
        )
    bad = np.flatnonzero((idx < 0) | (idx >= n))
    if bad.size:
        j = int(bad[0])
        raise _trace_problem(
            _LAB, f"{where}: medoid_indices should be rows of X, 0 to {n - 1}, "
            f"but medoid_indices[{j}] is {int(idx[j])}"
        )
    values, counts = np.unique(idx, return_counts=True)
    if np.any(counts > 1):
        raise _trace_problem(
            _LAB, f"{where}: the medoids should be distinct rows, but row #{int(values[counts > 1][0])} "
            "is the medoid of more than one cluster"
        )
    return k


def check_trace(trace: Trace) -> None:
    """Check that a trace (e.g. loaded from a file) is a k-medoids trace the views can draw.

    :meth:`Trace.from_json` checks that a file is a well-formed trace; this checks
    that it is a consistent k-medoids run: its data and every step's medoids (distinct
    rows of the data), labels and cost.

    Parameters
    ----------
    trace : Trace

    Raises
    ------
    ValueError
        Saying what is wrong (and on which step, numbered from 1 as the lab shows
        them), for anything the k-medoids lab could not draw.
    """
    _check_trace_header(trace, _LAB, "kmedoids")
    X = _check_trace_data(trace, _LAB, "whose rows the medoids are")
    n, d = X.shape
    k = None
    for i, snap in enumerate(trace.steps):
        where = f"step {i + 1}"
        _check_step_kind(_LAB, where, snap, KMedoidsSnapshot, _PHASES)
        idx = snap.medoid_indices
        k = _check_medoid_indices(where, idx, n, k)
        _check_trace_points(_LAB, where, "medoids", snap.medoids, (k, d), "medoid")
        rows = ~np.all(snap.medoids == X[idx], axis=1)
        if np.any(rows):
            j = int(np.flatnonzero(rows)[0])
            raise _trace_problem(
                _LAB, f"{where}: medoids[{j}] (cluster {j + 1}) should be row #{int(idx[j])} of X, "
                "its medoid_indices entry, but it is not"
            )
        _check_trace_labels(_LAB, where, snap.labels, n, k)
        _check_trace_number(_LAB, where, "cost", snap.cost)
        _check_trace_number(_LAB, where, "n_changed", snap.n_changed, integer=True, maximum=n)
