"""k-means (Lloyd's algorithm), recorded step by step.

:func:`trace_kmeans` runs Lloyd's algorithm and returns a :class:`~tracelab.record.trace.Trace`
whose steps are :class:`KMeansSnapshot` instances: the start (phase ``"init"``), then an
``"E"`` snapshot (assign every point to its nearest centre) and an ``"M"`` snapshot (move
every centre to the mean of its points) per iteration. The loop is scikit-learn's
``KMeans(algorithm="lloyd")``: from the same starting centres the final centres, labels,
inertia and iteration count agree with scikit-learn's.

What each snapshot holds
------------------------
Every snapshot has ``centers``, ``labels`` and the ``inertia`` of those labels under those
centres (the sum of squared distances from each point to the centre of its cluster), so
every step draws the same way and the inertia curve starts at step 0:

* ``init``: the starting centres, each point labelled with its nearest starting centre.
  The first E-step makes that same assignment again (its message gives the cluster sizes
  rather than a count of changes), just as the first E-step of EM recomputes the start's
  responsibilities.
* ``E``: the centres of the step before; each point labelled with its nearest centre
  (ties go to the lower cluster index).
* ``M``: each centre moved to the mean of its points; the labels of the E-step before,
  except that a point given to an empty cluster (below) carries its new label, so every
  centre is the mean of the points labelled with it.
* When the run stops without a repeat of the labels (the tolerance was met, or
  ``max_iter`` ran out), scikit-learn assigns the points once more so that the labels
  match the final centres; the trace records that as a last ``E`` snapshot, with
  iteration ``n_iter + 1``.

Inertia never rises: an E-step picks the nearest centre for fixed centres, an M-step the
mean for fixed labels, and the relocation of an empty cluster only takes a point out of
its cluster and puts a centre on it. (Up to rounding, which tests allow for.)

Empty clusters
--------------
As in scikit-learn, when a cluster gets no points in an E-step, the M-step gives it the
point farthest from its centre (the farthest points, farthest first, when several
clusters are empty); that point leaves its old cluster, whose mean is taken without it.
When no point lies away from its centre (fewer distinct points than clusters), or a
cluster's only point was the one given away, the cluster stays empty and keeps its
centre; scikit-learn then puts it on the biggest cluster's centre, so only in those
degenerate cases do the two differ.

Numerics
--------
All arithmetic runs on the data shifted to its column means (as scikit-learn does): k-means
is translation invariant, and the shift keeps ``|x|^2 - 2 x.c + |c|^2`` accurate for
data far from the origin (an offset of 1e7 would otherwise eat most of the digits).
Nearest centres are ranked by that expanded form, in blocks; inertias are computed from
the differences themselves.

Labels are stored in the smallest signed integer type that holds them (int8 up to 127
clusters), and snapshots share label and centre arrays wherever they are equal, so a trace
of many iterations on many points stays small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import numpy as np

from tracelab._validate import MAX_ABS as _MAX_ABS
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
from tracelab.record.arrays import freeze
from tracelab.record.words import change as _change
from tracelab.record.words import changed as _changed
from tracelab.record.words import clusters as _clusters
from tracelab.record.words import num as _num
from tracelab.record.words import points as _points
from tracelab.record.words import rows as _rows
from tracelab.record.words import sizes as _sizes
from tracelab.record.words import value as _value
from tracelab.record.arrays import label_dtype as _label_dtype
from tracelab._validate import check_labels as _check_labels
from tracelab.record.trace import Snapshot, Trace, checkpoint, collect

__all__ = [
    "INITS",
    "KMeansSnapshot",
    "trace_kmeans",
    "iter_kmeans",
    "inertia",
    "kmeans_plusplus",
    "lloyd",
    "check_trace",
    "WORK_BUDGET",
    "work",
    "max_samples",
]

#: Ways to choose the starting centres, for the lab's picker.
INITS = ("k-means++", "random", "farthest")

#: What one request may ask of k-means, in the units of :func:`work`: about 5 s of
#: one core (a Lloyd iteration costs 0.012-0.025 µs a unit, from 2 to 100 features),
#: and at most 200 MB of recorded labels (one byte a point and iteration at k <= 127).
WORK_BUDGET = 2e8


def work(n_samples: int, n_features: int, n_clusters: int, max_iter: int) -> float:
    """At most how much work ``max_iter`` Lloyd iterations do, in the units of :data:`WORK_BUDGET`.

    Points x clusters x iterations, each weighted by 1 + n_features / 6 (the
    distances grow with the features, the per-point bookkeeping does not):
    every fit counted as if it ran all its iterations, as data without clusters does.
    """
    return float(n_samples) * n_clusters * max_iter * (1.0 + n_features / 6.0)


def max_samples(n_features: int, n_clusters: int, max_iter: int, budget: float | None = None) -> int:
    """The most points :func:`trace_kmeans` may run on within ``budget`` (default :data:`WORK_BUDGET`)."""
    per_point = work(1, n_features, n_clusters, max_iter)
    return int((WORK_BUDGET if budget is None else budget) // per_point)


# Entries of the (points x centres) score block ranked at once: big enough that the
# per-block overhead does not count, small enough to stay in cache.
_BLOCK = 1 << 16


# ---------------------------------------------------------------------------
# Distances, seeding and the Lloyd steps (on centred data)
# ---------------------------------------------------------------------------


def _as_data(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X should be a non-empty 2-D array, but got shape {X.shape}")
    return X


def _check_n_clusters(n_clusters: int, n_samples: int) -> int:
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise ValueError(f"n_clusters should be a whole number, but got {n_clusters!r}")
    if not 1 <= n_clusters <= n_samples:
        raise ValueError(
            f"n_clusters should be between 1 and the number of points ({n_samples}), "
            f"but got {n_clusters}"
        )
    return int(n_clusters)


def _row_sq_norms(A: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", A, A)


def _sq_dist_to(Xc: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Squared distances from every row of ``Xc`` to one point, computed directly."""
    return _row_sq_norms(Xc - point)


def tolerance(X: np.ndarray, tol: float) -> float:
    """scikit-learn's absolute tolerance: ``tol`` times the mean variance of the features."""
    return float(np.mean(np.var(X, axis=0)) * tol) if tol else 0.0


def kmeans_plusplus_indices(Xc: np.ndarray, n_clusters: int, rng) -> np.ndarray:
    n_samples = Xc.shape[0]
    n_local_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = rng.integers(n_samples)
    closest_dist_sq = _sq_dist_to(Xc, Xc[indices[0]])
    current_pot = closest_dist_sq.sum()
    for c in range(1, n_clusters):
        rand_vals = rng.uniform(size=n_local_trials) * current_pot
        candidate_ids = np.searchsorted(np.cumsum(closest_dist_sq), rand_vals)
        # Rounding in the cumulative sum can push a draw one past the end.
        np.clip(candidate_ids, None, n_samples - 1, out=candidate_ids)
        dist = np.stack([_sq_dist_to(Xc, Xc[i]) for i in candidate_ids])
        np.minimum(closest_dist_sq, dist, out=dist)
        pots = dist.sum(axis=1)
        best = int(np.argmin(pots))
        current_pot = pots[best]
        closest_dist_sq = dist[best]
        indices[c] = candidate_ids[best]
    return indices


def kmeans_plusplus(X, n_clusters: int, rng=None) -> np.ndarray:
    """Choose initial centres with greedy k-means++ (scikit-learn's variant).

    The first centre is a uniformly random point. Each further centre is the best,
    by the resulting inertia, of ``2 + int(log(n_clusters))`` candidates drawn with
    probability proportional to the squared distance to the nearest centre so far.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_clusters : int
        Number of centres, 1 to n_samples.
    rng : numpy.random.Generator, int or None
        Randomness; an int or None is passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        Rows of ``X``. When the data have fewer distinct points than
        ``n_clusters``, some centres repeat.
    """
    X = _as_data(X)
    n_clusters = _check_n_clusters(n_clusters, X.shape[0])
    rng = np.random.default_rng(rng)
    return X[kmeans_plusplus_indices(X - X.mean(axis=0), n_clusters, rng)].copy()


def _farthest_indices(Xc: np.ndarray, n_clusters: int, rng) -> np.ndarray:
    """Farthest-point traversal: a random first point, then each time the point farthest
    from the centres chosen so far (ties to the lowest index; never a point twice)."""
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = rng.integers(Xc.shape[0])
    closest = _sq_dist_to(Xc, Xc[indices[0]])
    closest[indices[0]] = -1.0
    for c in range(1, n_clusters):
        i = int(np.argmax(closest))
        indices[c] = i
        np.minimum(closest, _sq_dist_to(Xc, Xc[i]), out=closest)
        closest[indices[: c + 1]] = -1.0
    return indices


def _assign(Xc: np.ndarray, centers_c: np.ndarray, dtype=np.intp) -> np.ndarray:
    """Index of the nearest centre for every point (ties go to the lowest index).

    ``|x - c|^2 = |x|^2 - 2 x.c + |c|^2`` and ``|x|^2`` does not depend on the
    centre, so one matrix product ranks all centres (scikit-learn's scores).
    """
    n, k = Xc.shape[0], centers_c.shape[0]
    labels = np.empty(n, dtype=dtype)
    c_sq = _row_sq_norms(centers_c)
    minus_2ct = -2.0 * centers_c.T
    step = max(256, _BLOCK // k)
    for lo in range(0, n, step):
        scores = Xc[lo:lo + step] @ minus_2ct
        scores += c_sq
        labels[lo:lo + step] = np.argmin(scores, axis=1)
    return labels


def _inertia(Xc: np.ndarray, centers_c: np.ndarray, labels: np.ndarray) -> float:
    return float(_row_sq_norms(Xc - centers_c[labels]).sum())


class _Update(NamedTuple):
    centers: np.ndarray  # (k, d) new centres, centred coordinates
    labels: np.ndarray  # (n,) labels with relocated points moved (the input if none)
    moves: tuple  # (empty cluster, point, its old cluster) per relocation
    stuck: tuple  # empty clusters no point could be given to: they keep their centres
    emptied: tuple  # clusters that gave away their only point: they keep their centres


def _update(Xc, labels, centers_c) -> _Update:
    """New centres as cluster means; empty clusters move to the farthest points.

    As in scikit-learn, each empty cluster takes one of the points farthest from
    their current centre (farthest first), and that point leaves its old cluster.
    If every point sits on its centre (more clusters than distinct points), an
    empty cluster keeps its old centre, as does a cluster that gave away its only
    point (scikit-learn moves both onto the biggest cluster's centre).
    """
    k, d = centers_c.shape
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.empty((k, d))
    for j in range(d):
        sums[:, j] = np.bincount(labels, weights=Xc[:, j], minlength=k)
    empty = np.flatnonzero(counts == 0)
    moves = []
    if empty.size:
        dist = _row_sq_norms(Xc - centers_c[labels])
        if dist.max() > 0:
            far = np.argsort(-dist, kind="stable")[: empty.size]
            for new, idx in zip(empty, far):
                old = labels[idx]
                sums[old] -= Xc[idx]
                counts[old] -= 1
                sums[new] = Xc[idx]
                counts[new] = 1
                moves.append((int(new), int(idx), int(old)))
    new_centers = centers_c.copy()
    filled = counts > 0
    new_centers[filled] = sums[filled] / counts[filled, None]
    new_labels = labels
    if moves:
        new_labels = labels.copy()
        for new, idx, _ in moves:
            new_labels[idx] = new
    left = set(np.flatnonzero(~filled).tolist())
    stuck = tuple(sorted(left & set(empty.tolist())))
    emptied = tuple(sorted(left - set(empty.tolist())))
    return _Update(new_centers, new_labels, tuple(moves), stuck, emptied)


class _Step(NamedTuple):
    phase: str  # "init", "E" or "M"
    iteration: int
    centers: np.ndarray  # (k, d), centred coordinates
    labels: np.ndarray  # (n,)
    inertia: float
    n_changed: int  # labels that differ from the previous step's
    shift: float | None  # M steps: total squared centre shift (scikit-learn's)
    update: _Update | None  # M steps: what the update did
    final: bool  # the last assignment after the loop


class _Outcome(NamedTuple):
    converged: bool
    strict: bool  # the labels repeated
    n_iter: int
    shift: float  # the last M-step's total squared shift


def lloyd_steps(Xc, centers_c, max_iter: int, tol_abs: float, dtype) -> Iterator[_Step]:
    """Lloyd's loop as scikit-learn runs it, one step at a time; returns an _Outcome.

    Strict convergence is "the E-step gave the labels of the E-step before"; otherwise
    the run stops when the total squared centre shift is at most ``tol_abs``. Unless the
    labels repeated, a last assignment makes them match the final centres.
    """
    labels = _assign(Xc, centers_c, dtype)
    loss = _inertia(Xc, centers_c, labels)
    yield _Step("init", 0, centers_c, labels, loss, 0, None, None, False)
    prev_labels = labels  # the labels of the previous snapshot
    labels_old = None  # the labels of the previous E-step (scikit-learn's labels_old)
    strict = converged = False
    shift = math.inf
    update = None
    t = 0
    for t in range(1, max_iter + 1):
        if t > 1:
            labels = _assign(Xc, centers_c, dtype)
            loss = _inertia(Xc, centers_c, labels)
        n_changed = int(np.count_nonzero(labels != prev_labels))
        yield _Step("E", t, centers_c, labels, loss, n_changed, None, None, False)

        update = _update(Xc, labels, centers_c)
        shift = float(((update.centers - centers_c) ** 2).sum())
        centers_c = update.centers
        loss = _inertia(Xc, centers_c, update.labels)
        n_changed = len(update.moves)
        yield _Step("M", t, centers_c, update.labels, loss, n_changed, shift, update, False)
        prev_labels = update.labels

        if labels_old is not None and np.array_equal(labels, labels_old):
            strict = converged = True
            break
        if shift <= tol_abs:
            converged = True
            break
        labels_old = labels
    if not strict or update.moves:
        # A relocation in the last M-step also leaves labels that are not the nearest.
        labels = _assign(Xc, centers_c, dtype)
        loss = _inertia(Xc, centers_c, labels)
        n_changed = int(np.count_nonzero(labels != prev_labels))
        yield _Step("E", t + 1, centers_c, labels, loss, n_changed, None, None, True)
    return _Outcome(converged, strict, t, shift)


def lloyd(X, centers, max_iter: int = 300, tol: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means from given centres, with scikit-learn's semantics.

    Each iteration labels every point with its nearest centre, then moves each
    centre to the mean of its points (an empty cluster is relocated to the point
    farthest from its centre). The loop stops when the labels no longer change
    ("strict convergence"), when the total squared centre shift is at most
    ``tol`` times the mean variance of the features, or after ``max_iter``
    iterations. Unless the labels stopped changing, a last labelling makes the
    labels match the returned centres. :func:`trace_kmeans` records the same run.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    centers : array-like of shape (n_clusters, n_features)
        Starting centres, e.g. from :func:`kmeans_plusplus`.
    max_iter : int, default=300
    tol : float, default=1e-4
        Relative tolerance on the centre shift (0 waits for unchanged labels).

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    labels : ndarray of shape (n_samples,), int
        Index of each point's nearest centre in ``centers``.
    """
    X = _as_data(X)
    centers = np.array(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] != X.shape[1]:
        raise ValueError(
            f"centers should have shape (n_clusters, {X.shape[1]}), but got {centers.shape}"
        )
    _check_n_clusters(centers.shape[0], X.shape[0])
    if max_iter < 1:
        raise ValueError(f"max_iter should be at least 1, but got {max_iter}")
    if not tol >= 0:
        raise ValueError(f"tol should be 0 or more, but got {tol}")
    mean = X.mean(axis=0)
    last = None
    for last in lloyd_steps(X - mean, centers - mean, max_iter, tolerance(X, tol), np.intp):
        checkpoint()  # a run that starts from this (EM's k-means start) can be stopped here
    return last.centers + mean, last.labels


def inertia(X, centers, labels) -> float:
    """Sum of squared distances from each point to the centre of its cluster.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    centers : array-like of shape (n_clusters, n_features)
    labels : array-like of shape (n_samples,), int
        Cluster of each point, 0 to n_clusters - 1.

    Returns
    -------
    float
    """
    X = _as_data(X)
    centers = np.asarray(centers, dtype=np.float64)
    labels = np.asarray(labels)
    if centers.ndim != 2 or centers.shape[1] != X.shape[1]:
        raise ValueError(
            f"centers should have shape (n_clusters, {X.shape[1]}), but got {centers.shape}"
        )
    if labels.shape != (X.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels should be {X.shape[0]} whole numbers, one per point")
    if labels.size and not 0 <= labels.min() <= labels.max() < centers.shape[0]:
        raise ValueError(f"labels should be between 0 and {centers.shape[0] - 1}")
    mean = X.mean(axis=0)
    return _inertia(X - mean, centers - mean, labels)


# ---------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class KMeansSnapshot(Snapshot):
    """One step of k-means: the centres, the clusters and their inertia.

    Parameters
    ----------
    centers : ndarray of shape (n_clusters, n_features)
    labels : ndarray of shape (n_samples,), int
        Cluster of each point (0 to n_clusters - 1; see the module docstring for
        which assignment each phase holds).
    inertia : float
        Sum of squared distances from each point to the centre of its cluster,
        under this snapshot's centres and labels.
    n_changed : int
        Points whose label differs from the previous snapshot's (on M steps, the
        points given to empty clusters; 0 on the start).
    center_shift : float or None
        M steps only: the sum over centres of the squared distance each moved,
        which scikit-learn compares with the tolerance.
    """

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_changed: int = 0
    center_shift: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.centers, np.ndarray) and self.centers.ndim == 2):
            raise ValueError("centers should be a 2-D array (n_clusters, n_features)")
        _check_labels(self.labels, self.centers.shape[0])

    @property
    def n_clusters(self) -> int:
        return self.centers.shape[0]

    @property
    def counts(self) -> np.ndarray:
        """Points per cluster, shape (n_clusters,)."""
        return np.bincount(self.labels, minlength=self.n_clusters)


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


class _Config(NamedTuple):
    X: np.ndarray
    k: int
    init: str
    centers_init: np.ndarray | None
    max_iter: int
    tol: float
    seed: int | None


def _validate(X, n_clusters, init, centers_init, max_iter, tol, seed) -> _Config:
    X = _check_data(X, "k-means")
    n, d = X.shape
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(_one_of("init", init, INITS))
    k = _check_k(n_clusters, n, "clusters")
    max_iter = _number("max_iter", max_iter, integer=True, minimum=1)
    tol = _number("tol", tol, minimum=0, hint=" (0 waits until no point changes cluster)")
    seed = _check_seed(seed)
    if centers_init is not None:
        try:
            centers_init = np.array(centers_init, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"centers_init should be an array of numbers with shape {(k, d)}"
            ) from None
        if centers_init.shape != (k, d):
            raise ValueError(
                f"centers_init should have shape {(k, d)} (n_clusters, n_features), "
                f"but got {centers_init.shape}"
            )
        if not np.all(np.isfinite(centers_init)):
            raise ValueError("centers_init holds NaN or infinite values")
        if np.abs(centers_init).max() > _MAX_ABS:
            raise ValueError("centers_init holds values too large to square; scale them with the data")
        centers_init = freeze(centers_init)
    return _Config(X, k, init, centers_init, max_iter, tol, seed)


_INIT_NAME = {"k-means++": "k-means++", "random": "random", "farthest": "farthest point"}


def _start(cfg: _Config, Xc: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """The starting centres, centred and as given or chosen, and how they were chosen.

    The second array holds the exact values the run started from (rows of ``X`` or
    ``centers_init``), so passing it to scikit-learn reproduces the run.
    """
    k = cfg.k
    if cfg.centers_init is not None:
        start = cfg.centers_init
        return start - mean, start, f"Start (given centres): {k} centre{'s' if k != 1 else ''}"
    rng = np.random.default_rng(cfg.seed)
    if cfg.init == "k-means++":
        idx = kmeans_plusplus_indices(Xc, k, rng)
        how = f"at points {_rows(idx)}, each later one drawn in proportion to its squared distance from those before" if k > 1 else f"at point {_rows(idx)}"
    elif cfg.init == "random":
        idx = rng.choice(Xc.shape[0], size=k, replace=False)
        how = f"at random points {_rows(idx)}" if k > 1 else f"at random point {_rows(idx)}"
    else:
        idx = _farthest_indices(Xc, k, rng)
        how = f"at random point {_rows(idx[:1])}"
        if k > 1:
            how += f", then each at the point farthest from those before: {_rows(idx[1:])}"
    name = _INIT_NAME[cfg.init]
    return Xc[idx], freeze(cfg.X[idx]), f"Start ({name}): {k} centre{'s' if k != 1 else ''} {how}"


def _kmeans_steps(cfg: _Config) -> Iterator[KMeansSnapshot]:
    """Yield the snapshots of one k-means run; return (converged, n_iter, message)."""
    X, k = cfg.X, cfg.k
    mean = X.mean(axis=0)
    Xc = X - mean
    centers_c, centers_start, start = _start(cfg, Xc, mean)
    tol_abs = tolerance(X, cfg.tol)
    run = lloyd_steps(Xc, centers_c, cfg.max_iter, tol_abs, _label_dtype(k))

    index = 0
    prev = None  # the previous _Step
    # (centred centres, their frozen data-space copy), shared by the steps that hold them
    shown = (centers_c, centers_start)
    seen = (None, None)  # the previous step's raw labels and their frozen copy
    while True:
        try:
            step = next(run)
        except StopIteration as stop:
            outcome = stop.value
            break
        if shown[0] is not step.centers:
            shown = (step.centers, freeze(step.centers + mean))
        labels = seen[1] if seen[0] is step.labels else freeze(step.labels)
        if step.phase == "init":
            message = (
                f"{start}; each point goes to its nearest centre, giving "
                f"{_sizes(step.labels, k)}; inertia {_value(step.inertia)}."
            )
        elif step.phase == "E":
            head = "E-step: assign each point to its nearest centre"
            if step.final:
                head += " once more, so the labels match the final centres"
            if step.iteration == 1:
                head += ", as at the start"
                tail = f"{_sizes(step.labels, k)}; inertia {_value(step.inertia)}"
            else:
                tail = f"{_changed(step.n_changed)}; {_change('inertia', prev.inertia, step.inertia)}"
                empty = np.flatnonzero(np.bincount(step.labels, minlength=k) == 0)
                if empty.size:
                    tail += f"; {_clusters(empty)} got no points"
            message = f"{head}{':' if step.iteration == 1 else ';'} {tail}."
        else:
            moved = float(np.sqrt(_row_sq_norms(step.centers - prev.centers)).max())
            parts = ["M-step: move each centre to the mean of its points"]
            parts += _update_notes(step.update)
            parts.append(f"centres moved by up to {_num(moved)}")
            parts.append(_change("inertia", prev.inertia, step.inertia))
            message = "; ".join(parts) + "."
        yield KMeansSnapshot(
            index=index, phase=step.phase, iteration=step.iteration, message=message,
            centers=shown[1], labels=labels, inertia=step.inertia,
            n_changed=step.n_changed, center_shift=step.shift,
        )
        index += 1
        seen = (step.labels, labels)
        prev = step

    n_iter = outcome.n_iter
    iters = f"{n_iter} iteration{'s' if n_iter != 1 else ''}"
    final = f"final inertia {_value(prev.inertia)}"
    if outcome.strict:
        message = f"k-means converged after {iters}: no point changed cluster in the last E-step; {final}."
    elif outcome.converged:
        message = (
            f"k-means converged after {iters}: the centres' total squared shift {_num(outcome.shift)} "
            f"is within tol × mean feature variance = {_num(tol_abs)}; {final}."
        )
    else:
        message = (
            f"k-means stopped after max_iter = {iters} without converging "
            f"(the centres' total squared shift was still {_num(outcome.shift)}); {final}."
        )
    return outcome.converged, n_iter, message


def _update_notes(update: _Update) -> list[str]:
    notes = []
    if update.moves:
        new = [m[0] for m in update.moves]
        pts = [m[1] for m in update.moves]
        if len(new) == 1:
            notes.append(
                f"{_clusters(new)} was empty: its centre moved to the farthest point ({_rows(pts)})"
            )
        else:
            notes.append(
                f"{_clusters(new)} were empty: their centres moved to the farthest points ({_rows(pts)})"
            )
    if update.stuck:
        one = len(update.stuck) == 1
        notes.append(
            f"{_clusters(update.stuck)} {'is' if one else 'are'} empty, but every point sits on "
            f"its centre, so {'its centre stays' if one else 'their centres stay'}"
        )
    if update.emptied:
        one = len(update.emptied) == 1
        notes.append(
            f"{_clusters(update.emptied)} gave away {'its' if one else 'their'} only point, "
            f"so {'its centre stays' if one else 'their centres stay'}"
        )
    return notes


def _params_dict(cfg: _Config) -> dict[str, Any]:
    return {
        "n_clusters": cfg.k,
        "init": cfg.init,
        "centers_init": cfg.centers_init,
        "max_iter": cfg.max_iter,
        "tol": cfg.tol,
        "seed": cfg.seed,
    }


def iter_kmeans(
    X,
    n_clusters: int,
    *,
    init: str = "k-means++",
    centers_init=None,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int | None = None,
) -> Iterator[KMeansSnapshot]:
    """k-means one snapshot at a time; the arguments are those of :func:`trace_kmeans`.

    The arguments are checked before this returns. The generator's return value
    (``StopIteration.value``) is ``(converged, n_iter, message)``.
    """
    return _kmeans_steps(_validate(X, n_clusters, init, centers_init, max_iter, tol, seed))


def trace_kmeans(
    X,
    n_clusters: int,
    *,
    init: str = "k-means++",
    centers_init=None,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int | None = None,
) -> Trace:
    """Run k-means (Lloyd's algorithm) and record every step.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
    n_clusters : int
        Number of clusters k, 1 to n_samples.
    init : {"k-means++", "random", "farthest"}, default="k-means++"
        ``"k-means++"``: scikit-learn's greedy k-means++ seeding
        (:func:`kmeans_plusplus`). ``"random"``: k distinct random points.
        ``"farthest"``: a random point, then each time the point farthest from the
        centres so far. Ignored when ``centers_init`` is given.
    centers_init : array-like of shape (n_clusters, n_features), optional
        The starting centres (any points, not only data points).
    max_iter : int, default=300
    tol : float, default=1e-4
        Stop when the total squared centre shift of an M-step is at most ``tol``
        times the mean variance of the features (scikit-learn's rule); the run
        stops anyway as soon as the labels repeat. With 0 it stops only then (or
        when no centre moves at all, after which the labels would repeat).
    seed : int or None
        Randomness of the start; the same seed gives the same trace.

    Returns
    -------
    Trace
        ``algorithm="kmeans"``; ``steps[0]`` is the start, then an E and an M
        snapshot per iteration, and a last E snapshot unless the labels repeated
        (:class:`KMeansSnapshot`; see the module docstring). The last snapshot's
        centres, labels and inertia are scikit-learn's ``cluster_centers_``,
        ``labels_`` and ``inertia_`` for the same start, and ``n_iter`` its
        ``n_iter_``.

    Raises
    ------
    ValueError
        For impossible requests, with a message saying what to change.
    """
    cfg = _validate(X, n_clusters, init, centers_init, max_iter, tol, seed)
    return collect(_kmeans_steps(cfg), algorithm="kmeans", params=_params_dict(cfg), X=cfg.X)


# ---------------------------------------------------------------------------
# Checking a trace from a file
# ---------------------------------------------------------------------------


# The phases of a k-means trace.
_PHASES = ("init", "E", "M")
_LAB = "k-means"


def check_trace(trace: Trace) -> None:
    """Check that a trace (e.g. loaded from a file) is a k-means trace the views can draw.

    :meth:`Trace.from_json` checks that a file is a well-formed trace; this checks
    that it is a consistent k-means run: its data and every step's centres, labels
    and inertia.

    Parameters
    ----------
    trace : Trace

    Raises
    ------
    ValueError
        Saying what is wrong (and on which step, numbered from 1 as the lab shows
        them), for anything the k-means lab could not draw.
    """
    _check_trace_header(trace, _LAB, "kmeans")
    X = _check_trace_data(trace, _LAB, "which its clusters are made of")
    n, d = X.shape
    k = None
    for i, snap in enumerate(trace.steps):
        where = f"step {i + 1}"
        _check_step_kind(_LAB, where, snap, KMeansSnapshot, _PHASES)
        if k is None:
            c = snap.centers
            k = c.shape[0] if isinstance(c, np.ndarray) and c.ndim == 2 else 0
            if k < 1:
                raise _trace_problem(_LAB, f"{where}: centers should have shape (n_clusters, {d})")
            if k > n:
                raise _trace_problem(_LAB, f"{where} has {k} centres for only {_points(n)}")
        _check_trace_points(_LAB, where, "centers", snap.centers, (k, d), "cluster")
        _check_trace_labels(_LAB, where, snap.labels, n, k)
        _check_trace_number(_LAB, where, "inertia", snap.inertia)
        _check_trace_number(_LAB, where, "n_changed", snap.n_changed, integer=True, maximum=n)
        _check_trace_number(_LAB, where, "center_shift", snap.center_shift, optional=True)
