"""Hierarchical clustering, recorded merge by merge (AGNES) and split by split (DIANA).

AGNES (agglomerative nesting)
-----------------------------
:func:`trace_agnes` starts with every point in a cluster of its own and merges, at each
step, the two clusters that are closest under the chosen linkage, until one cluster is
left. The merges are scipy's: the run computes ``Z = scipy.cluster.hierarchy.linkage``
with the same method and metric and records it, so heights, merge order and any cut of
the tree agree with scipy exactly. The trace is what this module adds: one
:class:`MergeSnapshot` per merge, with a message saying what the linkage measures.

* ``steps[0]``, phase ``"init"``: a :class:`MergeSnapshot` with ``a = b = new_id = -1``,
  ``height = 0.0`` and ``size = 1`` (every point is its own cluster). One class for every
  step keeps views and checks simple; tell the start apart by ``phase``.
* ``steps[i]``, phase ``"merge"``, ``iteration = i`` (1 to n - 1): row ``i - 1`` of ``Z``:
  clusters ``a`` and ``b`` (scipy's ids: below n a point, ``n + j`` the cluster made by
  merge ``j + 1``) merged at ``height`` into cluster ``new_id = n + i - 1`` of ``size``
  points. :func:`linkage_matrix` (``trace.linkage_matrix``) gives ``Z`` back.

Labels without an n x n table
-----------------------------
A snapshot stores only its merge. Its ``labels`` (the flat clusters after the merge,
numbered 0, 1, ... in the order of their smallest point index) and ``members_a`` /
``members_b`` are computed on demand from the merges, which every snapshot of a trace
shares through a private reference (``_log``), as EM snapshots share ``_X``. In the
dendrogram's leaf order every cluster of every step is a contiguous run of points, and
the boundary between two neighbouring leaves disappears at the merge that joins them;
so the log keeps the leaf order and one merge number per boundary (O(n) in all) and
the labels of any step come from one comparison and a cumulative sum.
:meth:`MergeSnapshot.from_dict` re-attaches the steps of a trace being loaded to one
shared log (they arrive in order, the start first), so JSON and pickles round trip.

Linkages and metrics
--------------------
single (the closest pair), complete (the farthest pair), average (the mean of all
pairs), centroid (the distance between centroids) and ward (the smallest increase in
within-cluster variance), on euclidean, manhattan (alias cityblock), cosine, chebyshev
or minkowski (with ``p``) distances. Centroid and ward are defined through Euclidean
geometry and are refused with any other metric. Centroid heights can go down (the
branches of the dendrogram cross); the message of such a merge says so.

DIANA (divisive analysis)
-------------------------
:func:`trace_diana` starts with one cluster and splits, at each step, the cluster with
the largest diameter (largest dissimilarity between two of its points; ties to the
cluster with the smallest point index). The split (Kaufman & Rousseeuw) starts a
splinter group with the point of largest average dissimilarity to the rest of the
cluster, then repeatedly moves the point whose average dissimilarity to the rest of
the old group minus its average dissimilarity to the splinter group is largest, while
that gain is positive and the old group keeps at least one point (ties to the lowest
point index). Each move is a ``"splinter"`` snapshot, each finished split a ``"split"``
snapshot (:class:`DianaSnapshot`).
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple

import numpy as np
from scipy.cluster.hierarchy import linkage as _scipy_linkage
from scipy.spatial.distance import pdist, squareform

from tracelab._validate import check_data as _check_data
from tracelab._validate import check_step_kind as _check_step_kind
from tracelab._validate import check_trace_data as _check_trace_data
from tracelab._validate import check_trace_header as _check_trace_header
from tracelab._validate import check_trace_labels as _check_trace_labels
from tracelab._validate import check_trace_number as _check_trace_number
from tracelab._validate import is_real as _is_real
from tracelab._validate import number as _number
from tracelab._validate import one_of as _one_of
from tracelab._validate import trace_problem as _trace_problem
from tracelab.record.words import num as _num
from tracelab.record.arrays import freeze
from tracelab.record.trace import Snapshot, Trace, collect
from tracelab.metrics import ALIASES, SCIPY_NAME

__all__ = [
    "LINKAGES",
    "METRICS",
    "MergeSnapshot",
    "DianaSnapshot",
    "trace_agnes",
    "iter_agnes",
    "trace_diana",
    "iter_diana",
    "cut",
    "linkage_matrix",
    "compare_linkages",
    "NotAgnesError",
    "distance_matrix",
    "check_trace",
    "MAX_AGNES_POINTS",
    "MAX_DIANA_POINTS",
]

#: Linkages for the lab's picker.
LINKAGES = ("single", "complete", "average", "centroid", "ward")
#: Metrics for the lab's picker ("cityblock" is accepted as another name for "manhattan").
METRICS = ("euclidean", "manhattan", "cosine", "chebyshev", "minkowski")

# Every pairwise distance is kept, n(n-1)/2 float64: 5 000 points take 100 MB and
# a run peaks at about 200 MB (10 000 points: 400 MB and 760 MB).
MAX_AGNES_POINTS = 5_000
# DIANA stores the labels of every step (n per split, up to n - 1 splits).
MAX_DIANA_POINTS = 500

_EUCLIDEAN_ONLY = ("centroid", "ward")
_MEANING = {
    "single": "the closest pair",
    "complete": "the farthest pair",
    "average": "the mean of all pairs",
    "centroid": "the distance between centroids",
    "ward": "the smallest increase in within-cluster variance",
}
# Smallest members kept per cluster for the messages.
_SHOWN = 5


# ---------------------------------------------------------------------------
# Small formatting helpers
# ---------------------------------------------------------------------------


def _pair(a: float, b: float) -> tuple[str, str]:
    """Two heights with enough digits to tell them apart (up to 12)."""
    for sig in range(2, 13):
        sa, sb = _num(a, sig), _num(b, sig)
        if sa != sb:
            return sa, sb
    return _num(a), _num(b)


def _points(n: int) -> str:
    return f"{n} point" if n == 1 else f"{n} points"


def _set(smallest: list[int], size: int) -> str:
    """'{3, 7}', or '{3, 7, 12, 15, 20, … (40 points)}' for a big cluster."""
    if size <= _SHOWN:
        return "{" + ", ".join(map(str, smallest)) + "}"
    return "{" + ", ".join(map(str, smallest[:_SHOWN])) + f", … ({size} points)}}"


def _clusters_left(k: int) -> str:
    return "one cluster left" if k == 1 else f"{k} clusters left"


# ---------------------------------------------------------------------------
# Distances
# ---------------------------------------------------------------------------


def _check_metric(metric: Any) -> str:
    if isinstance(metric, str):
        metric = ALIASES.get(metric, metric)
    if metric not in METRICS:
        raise ValueError(_one_of("metric", metric, METRICS))
    return metric


def _check_p(p: Any) -> float:
    return _number("p", p, minimum=1, hint=" (below 1 the Minkowski 'distance' breaks the triangle inequality)")


def _condensed(X: np.ndarray, metric: str, p: float) -> np.ndarray:
    """The n(n-1)/2 pairwise distances in scipy's condensed order."""
    if metric == "cosine":
        norms = np.sqrt(np.einsum("ij,ij->i", X, X))
        zero = np.flatnonzero(norms == 0)
        if zero.size:
            raise ValueError(
                f"cosine distance is undefined for a point at the origin, but row {int(zero[0])} "
                f"is all zeros ({zero.size} such row{'s' if zero.size != 1 else ''}); "
                "drop those rows or choose another metric"
            )
    if metric == "minkowski":
        return pdist(X, "minkowski", p=p)
    return pdist(X, SCIPY_NAME[metric])


def distance_matrix(X, metric: str = "euclidean", p: float = 2.0) -> np.ndarray:
    """Pairwise distances between the rows of ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
    metric : {"euclidean", "manhattan", "cosine", "chebyshev", "minkowski"}
        ``"cityblock"`` is another name for ``"manhattan"``.
    p : float, default=2.0
        The Minkowski exponent (at least 1); used only by ``"minkowski"``.

    Returns
    -------
    ndarray of shape (n_samples, n_samples)
        Symmetric, zero on the diagonal, read-only.
    """
    X = _check_data(X, "the distance matrix")
    metric = _check_metric(metric)
    p = _check_p(p)
    if X.shape[0] == 1:
        return freeze(np.zeros((1, 1)))
    return freeze(squareform(_condensed(X, metric, p)))


# ---------------------------------------------------------------------------
# The merge log: labels and members of any step in O(n) memory
# ---------------------------------------------------------------------------


class _Tree(NamedTuple):
    """The forest made by the first ``n_merges`` merges, laid out in leaf order."""

    n_merges: int
    order: np.ndarray  # (n,) points in leaf order: every cluster is a contiguous run
    gap: np.ndarray  # (n - 1,) merge number joining order[j] and order[j + 1] (n_merges + 1: never)
    start: np.ndarray  # (n + n_merges,) first position of each cluster id in `order`
    size: np.ndarray  # (n + n_merges,) points in each cluster id


class _MergeLog:
    """The merges of one AGNES trace, shared by all its snapshots.

    ``a`` and ``b`` hold scipy's cluster ids of the merges known so far (all of them
    for a run; they grow while a trace is loaded step by step).
    """

    def __init__(self, n: int | None, a=(), b=()):
        self.n = n
        self.a = list(a)
        self.b = list(b)
        self._tree: _Tree | None = None
        self._labels: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Caches are rebuilt on demand; they need not travel through pickles.
        return {"n": self.n, "a": self.a, "b": self.b}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["n"], state["a"], state["b"])

    def __len__(self) -> int:
        return len(self.a)

    def append(self, a: int, b: int) -> None:
        self.a.append(a)
        self.b.append(b)

    def tree(self) -> _Tree:
        with self._lock:
            tree = self._tree
            if tree is not None and tree.n_merges == len(self.a):
                return tree
            tree = _build_tree(self.n, self.a, self.b)
            self._tree = tree
            self._labels = {}
            return tree

    def labels(self, k: int) -> np.ndarray:
        """Flat labels after the first ``k`` merges (read-only, cached for a few steps)."""
        tree = self.tree()
        if not 0 <= k <= tree.n_merges:
            raise ValueError(f"the trace holds {tree.n_merges} merges, so step {k} has no labels")
        cached = self._labels.get(k)
        if cached is None:
            cached = freeze(_labels_from_tree(tree, k))
            if len(self._labels) >= 8:
                self._labels.pop(next(iter(self._labels)))
            self._labels[k] = cached
        return cached

    def members(self, cluster: int) -> np.ndarray:
        tree = self.tree()
        if not 0 <= cluster < tree.start.size:
            raise ValueError(f"cluster id {cluster} is not in the first {tree.n_merges} merges")
        lo = int(tree.start[cluster])
        out = np.sort(tree.order[lo:lo + int(tree.size[cluster])])
        out.flags.writeable = False
        return out


def _build_tree(n: int, a_ids, b_ids) -> _Tree:
    m = len(a_ids)
    a_arr = np.asarray(a_ids, dtype=np.intp).reshape(m)
    b_arr = np.asarray(b_ids, dtype=np.intp).reshape(m)
    size = np.ones(n + m, dtype=np.intp)
    has_parent = np.zeros(n + m, dtype=bool)
    has_parent[a_arr] = True
    has_parent[b_arr] = True
    a_list, b_list = a_arr.tolist(), b_arr.tolist()
    size_l = size.tolist()
    for i in range(m):
        size_l[n + i] = size_l[a_list[i]] + size_l[b_list[i]]
    start_l = [0] * (n + m)
    gap = np.full(max(n - 1, 0), m + 1, dtype=np.intp)
    gap_l = gap.tolist()
    offset = 0
    roots = has_parent.tolist()
    # Parents have higher ids than their children: going down the ids places every
    # cluster before its parts; clusters without a parent take the next free run.
    for node in range(n + m - 1, -1, -1):
        if not roots[node]:
            start_l[node] = offset
            offset += size_l[node]
        if node >= n:
            i = node - n
            left, right = a_list[i], b_list[i]
            s = start_l[node]
            start_l[left] = s
            start_l[right] = s + size_l[left]
            gap_l[s + size_l[left] - 1] = i + 1
    start = np.array(start_l, dtype=np.intp)
    order = np.empty(n, dtype=np.intp)
    order[start[:n]] = np.arange(n)
    gap = np.array(gap_l, dtype=np.intp)
    for arr in (order, gap, start):
        arr.flags.writeable = False
    return _Tree(m, order, gap, start, np.array(size_l, dtype=np.intp))


def _labels_from_tree(tree: _Tree, k: int) -> np.ndarray:
    n = tree.order.size
    cut_here = tree.gap > k  # boundaries still open after k merges
    seg = np.zeros(n, dtype=np.intp)
    np.cumsum(cut_here, out=seg[1:])
    # Number the clusters by their smallest point index.
    firsts = np.concatenate(([0], np.flatnonzero(cut_here) + 1))
    smallest = np.minimum.reduceat(tree.order, firsts)
    rank = np.empty(firsts.size, dtype=np.int32)
    rank[np.argsort(smallest, kind="stable")] = np.arange(firsts.size, dtype=np.int32)
    labels = np.empty(n, dtype=np.int32)
    labels[tree.order] = rank[seg]
    return labels


# Loading a trace builds its steps one by one, in order, in one thread: the start
# opens a log, and each merge that follows joins it. Held weakly: the log lives as
# long as the steps that share it.
_loading = threading.local()


def _attach_loaded(snap: MergeSnapshot, X: np.ndarray | None) -> None:
    if snap.phase == "init":
        log = _MergeLog(X.shape[0] if X is not None else None)
        _loading.log = weakref.ref(log)
        object.__setattr__(snap, "_log", log)
        return
    ref = getattr(_loading, "log", None)
    log = ref() if ref is not None else None
    n = snap.new_id - snap.iteration + 1
    if log is None or len(log) != snap.iteration - 1:
        return  # not part of a trace loaded in order: labels are unavailable
    if log.n is None:
        log.n = n
    if log.n != n or not (0 <= snap.a < n + len(log) and 0 <= snap.b < n + len(log)):
        _loading.log = None
        return
    log.append(snap.a, snap.b)
    object.__setattr__(snap, "_log", log)


# ---------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


@dataclass(frozen=True, kw_only=True, eq=False)
class MergeSnapshot(Snapshot):
    """One step of AGNES: the start, or one merge (a row of scipy's linkage matrix).

    Parameters
    ----------
    a, b : int
        The clusters merged, as scipy numbers them: below n a single point, ``n + j``
        the cluster made by merge ``j + 1``. -1 on the start.
    height : float
        The linkage distance between ``a`` and ``b`` (0.0 on the start).
    size : int
        Points in the new cluster (1 on the start: every cluster is one point).
    new_id : int
        The new cluster's id, ``n + iteration - 1`` (-1 on the start).

    Notes
    -----
    ``labels``, ``members_a``, ``members_b`` and ``members`` are computed from the
    trace's merges (see the module docstring); a snapshot built on its own, outside
    a trace, raises ValueError when asked for them.
    """

    a: int = -1
    b: int = -1
    height: float = 0.0
    size: int = 1
    new_id: int = -1
    _log: _MergeLog | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if type(self.a) is type(self.b) is type(self.size) is type(self.new_id) is int and type(self.height) is float:
            return  # the common case, checked cheaply: a run records n - 1 of these
        for name in ("a", "b", "size", "new_id"):
            if not _is_int(getattr(self, name)):
                raise ValueError(f"a merge's {name} should be a whole number, but got {getattr(self, name)!r}")
        if not _is_real(self.height):
            raise ValueError(f"a merge's height should be a number, but got {self.height!r}")

    def _freeze_arrays(self) -> None:
        # No field holds an array (labels and members are derived and come back
        # read-only), so there is nothing to freeze; skipping the scan over the
        # fields matters when a run records thousands of merges.
        pass

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, X: np.ndarray | None = None) -> MergeSnapshot:
        """Rebuild a snapshot from :meth:`to_dict` output.

        Steps rebuilt in order, the start first (as :meth:`Trace.from_json` does),
        share one merge log again, so their ``labels`` and members work.
        """
        snap = super().from_dict(data)
        _attach_loaded(snap, X)
        return snap

    def _merges(self) -> _MergeLog:
        if self._log is None or self._log.n is None:
            raise ValueError(
                "This step is not attached to its trace's merges, so its labels cannot be "
                "computed; load it as part of its trace (Trace.from_json)."
            )
        return self._log

    @property
    def n_clusters(self) -> int:
        """Clusters after this step."""
        return self._merges().n - self.iteration

    @property
    def labels(self) -> np.ndarray:
        """Flat cluster of every point after this step, shape (n,), read-only.

        Clusters are numbered 0 to n - iteration - 1 in the order of their smallest
        point index.
        """
        return self._merges().labels(self.iteration)

    def _members(self, cluster: int) -> np.ndarray:
        if cluster < 0:
            return freeze(np.empty(0, dtype=np.intp))
        return self._merges().members(cluster)

    @property
    def members_a(self) -> np.ndarray:
        """Points of cluster ``a``, ascending (empty on the start)."""
        return self._members(self.a)

    @property
    def members_b(self) -> np.ndarray:
        """Points of cluster ``b``, ascending (empty on the start)."""
        return self._members(self.b)

    @property
    def members(self) -> np.ndarray:
        """Points of the new cluster, ascending (empty on the start)."""
        return self._members(self.new_id)


@dataclass(frozen=True, kw_only=True, eq=False)
class DianaSnapshot(Snapshot):
    """One step of DIANA.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,), int
        The flat clusters, numbered by smallest point index. On ``"splinter"`` steps
        the clusters before the split (the split is not finished; ``splinter`` shows
        the group moving out); on ``"split"`` steps, after it.
    cluster : ndarray of int
        The points of the cluster being split (all points on the start).
    splinter : ndarray of int
        The splinter group so far, in the order the points moved (empty on the start).
    moved : int
        ``"splinter"`` steps: the point just moved; -1 otherwise.
    gain : float or None
        ``"splinter"`` steps: its average dissimilarity to the rest of the old group
        minus its average dissimilarity to the splinter group (for the first point, its
        average dissimilarity to the rest of the cluster).
    diameter : float or None
        ``"splinter"`` and ``"split"`` steps: the diameter of the cluster being split.
    """

    labels: np.ndarray
    cluster: np.ndarray
    splinter: np.ndarray
    moved: int = -1
    gain: float | None = None
    diameter: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("labels", "cluster", "splinter"):
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.ndim != 1 or (value.size and value.dtype.kind not in "iu"):
                raise ValueError(f"a DIANA step's {name} should be a 1-D array of whole numbers")
        if not _is_int(self.moved):
            raise ValueError(f"a DIANA step's moved should be a whole number, but got {self.moved!r}")
        for name in ("gain", "diameter"):
            value = getattr(self, name)
            if value is not None and not _is_real(value):
                raise ValueError(f"a DIANA step's {name} should be a number, but got {value!r}")

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0


# ---------------------------------------------------------------------------
# AGNES
# ---------------------------------------------------------------------------


class _AgnesConfig(NamedTuple):
    X: np.ndarray
    linkage: str
    metric: str
    p: float


def _validate_agnes(X, linkage, metric, p) -> _AgnesConfig:
    if linkage not in LINKAGES:
        raise ValueError(_one_of("linkage", linkage, LINKAGES))
    metric = _check_metric(metric)
    p = _check_p(p)
    if linkage in _EUCLIDEAN_ONLY and metric != "euclidean":
        what = "centroids" if linkage == "centroid" else "within-cluster variance"
        raise ValueError(
            f"{linkage} linkage needs metric='euclidean' (it is defined through {what}, "
            f"which only Euclidean distance gives), but got metric={metric!r}; choose "
            "euclidean, or single, complete or average linkage"
        )
    X = _check_data(X, "AGNES")
    if X.shape[0] > MAX_AGNES_POINTS:
        raise ValueError(
            f"X should have at most {MAX_AGNES_POINTS:,} points for AGNES (it keeps every "
            f"pairwise distance), but got {X.shape[0]:,}: choose fewer points, or a sample of the rows"
        )
    return _AgnesConfig(X, linkage, metric, p)


def _linkage_matrix(cfg: _AgnesConfig) -> np.ndarray:
    n = cfg.X.shape[0]
    if n < 2:
        return np.zeros((0, 4))
    # scipy computes the Euclidean distances itself for centroid and ward from the
    # same pdist call; passing them condensed keeps one code path for every metric.
    return _scipy_linkage(_condensed(cfg.X, cfg.metric, cfg.p), method=cfg.linkage)


def compare_linkages(X, linkages=("single", "complete", "average", "ward"), *, metric: str = "euclidean",
                     p: float = 2.0) -> list[tuple[np.ndarray, bool]]:
    """The merge tree of the same points under each linkage, to draw them side by side.

    The distances are computed once for all of them. Centroid and ward linkage are
    defined through Euclidean geometry, so where :func:`trace_agnes` refuses them
    with another metric, here they use Euclidean distances, and say so.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
        At least 2 rows, at most :data:`MAX_AGNES_POINTS`.
    linkages : sequence of str
        Names from :data:`LINKAGES`.
    metric, p
        As in :func:`distance_matrix`.

    Returns
    -------
    list of (Z, euclidean), one per linkage
        ``Z`` of shape (n_samples - 1, 4), scipy's linkage matrix (the merges
        :func:`trace_agnes` records), and whether Euclidean distances stood in
        for ``metric``.
    """
    for linkage in linkages:
        if linkage not in LINKAGES:
            raise ValueError(_one_of("linkage", linkage, LINKAGES))
    metric, p = _check_metric(metric), _check_p(p)
    X = _check_data(X, "AGNES")
    if X.shape[0] < 2:
        raise ValueError(f"X should have at least 2 rows to merge, but got {X.shape[0]}")
    if X.shape[0] > MAX_AGNES_POINTS:
        raise ValueError(f"X should have at most {MAX_AGNES_POINTS:,} points to compare linkages (every tree "
                         f"keeps every pairwise distance), but got {X.shape[0]:,}: take a sample of the rows")
    distances = {metric: _condensed(X, metric, p)}
    out = []
    for linkage in linkages:
        euclidean = linkage in _EUCLIDEAN_ONLY and metric != "euclidean"
        if euclidean and "euclidean" not in distances:
            distances["euclidean"] = _condensed(X, "euclidean", 2.0)
        out.append((_scipy_linkage(distances["euclidean" if euclidean else metric], method=linkage), euclidean))
    return out


def _metric_name(cfg) -> str:
    if cfg.metric == "minkowski":
        return f"minkowski (p = {_num(cfg.p, 3)}) distance"
    return f"{cfg.metric} distance"


def _agnes_steps(cfg: _AgnesConfig) -> Iterator[MergeSnapshot]:
    """Yield the snapshots of one AGNES run; return (converged, n_iter, message)."""
    n = cfg.X.shape[0]
    Z = _linkage_matrix(cfg)
    a_ids = Z[:, 0].astype(np.intp).tolist()
    b_ids = Z[:, 1].astype(np.intp).tolist()
    heights = Z[:, 2].tolist()
    sizes = Z[:, 3].astype(np.intp).tolist()
    log = _MergeLog(n, a_ids, b_ids)
    how = f"({cfg.linkage} linkage: {_MEANING[cfg.linkage]})"

    yield MergeSnapshot(
        index=0, phase="init", iteration=0, _log=log,
        message=(
            f"Start: every point is its own cluster ({_points(n)}, {n} cluster{'s' if n != 1 else ''}); "
            f"AGNES will merge the two closest clusters by {cfg.linkage} linkage on "
            f"{_metric_name(cfg)}, {_MEANING[cfg.linkage]}, until one is left."
        ),
    )
    # The few smallest points of every cluster id, for the messages.
    smallest: list[list[int]] = [[i] for i in range(n)]
    prev = None
    for i in range(n - 1):
        a, b, h, size = a_ids[i], b_ids[i], heights[i], sizes[i]
        sa, sb = smallest[a], smallest[b]
        smallest.append(sorted(sa + sb)[:_SHOWN])
        text = f"Merge {_set(sa, sizes[a - n] if a >= n else 1)} and {_set(sb, sizes[b - n] if b >= n else 1)}"
        if prev is not None and h < prev:
            hs, ps = _pair(h, prev)
            text += (
                f" at height {hs} {how}, lower than the previous merge ({ps}): "
                f"{cfg.linkage} linkage can cross"
            )
        else:
            text += f" at height {_num(h)} {how}"
        yield MergeSnapshot(
            index=i + 1, phase="merge", iteration=i + 1,
            message=f"{text}; {_clusters_left(n - i - 1)}.",
            a=a, b=b, height=h, size=size, new_id=n + i, _log=log,
        )
        prev = h

    if n == 1:
        message = "AGNES had nothing to merge: the data hold one point."
    else:
        message = (
            f"AGNES merged {_points(n)} into one cluster in {n - 1} merge{'s' if n != 2 else ''} "
            f"({cfg.linkage} linkage, {_metric_name(cfg)}); the last at height {_num(heights[-1])}."
        )
    return True, n - 1, message


def iter_agnes(X, *, linkage: str = "ward", metric: str = "euclidean", p: float = 2.0) -> Iterator[MergeSnapshot]:
    """AGNES one snapshot at a time; the arguments are those of :func:`trace_agnes`.

    The arguments are checked (and the merges computed) before the first snapshot.
    The generator's return value is ``(converged, n_iter, message)``.
    """
    return _agnes_steps(_validate_agnes(X, linkage, metric, p))


def trace_agnes(X, *, linkage: str = "ward", metric: str = "euclidean", p: float = 2.0) -> Trace:
    """Run agglomerative hierarchical clustering (AGNES) and record every merge.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
        At most :data:`MAX_AGNES_POINTS` points.
    linkage : {"single", "complete", "average", "centroid", "ward"}, default="ward"
    metric : {"euclidean", "manhattan", "cosine", "chebyshev", "minkowski"}, default="euclidean"
        ``"cityblock"`` is another name for ``"manhattan"``. Centroid and ward linkage
        need ``"euclidean"``; cosine needs points away from the origin.
    p : float, default=2.0
        The Minkowski exponent, at least 1 (used only by ``"minkowski"``).

    Returns
    -------
    Trace
        ``algorithm="agnes"``; ``steps[0]`` the start, then one ``"merge"``
        :class:`MergeSnapshot` per merge (n - 1 of them); ``converged`` True,
        ``n_iter`` n - 1. ``trace.linkage_matrix`` equals
        ``scipy.cluster.hierarchy.linkage`` with the same method and metric.

    Raises
    ------
    ValueError
        For impossible requests, with a message saying what to change.
    """
    cfg = _validate_agnes(X, linkage, metric, p)
    params = {"linkage": cfg.linkage, "metric": cfg.metric, "p": cfg.p}
    return collect(_agnes_steps(cfg), algorithm="agnes", params=params, X=cfg.X)


class NotAgnesError(ValueError, AttributeError):
    """Asked for the linkage matrix of a trace that is not AGNES's."""


def linkage_matrix(trace: Trace) -> np.ndarray:
    """The merges of an AGNES trace as scipy's linkage matrix ``Z``; also ``trace.linkage_matrix``.

    Parameters
    ----------
    trace : Trace
        From :func:`trace_agnes`.

    Returns
    -------
    ndarray of shape (n_samples - 1, 4), float, read-only
        Row ``i`` is merge ``i + 1``: the two cluster ids merged, the height and
        the size of the new cluster.

    Raises
    ------
    NotAgnesError
        For another algorithm's trace: a ValueError that ``hasattr`` also understands.
    """
    if trace.algorithm != "agnes":
        raise NotAgnesError("only agnes traces have a linkage matrix")
    rows = [(s.a, s.b, s.height, s.size) for s in trace.steps if s.phase == "merge"]
    return freeze(np.array(rows, dtype=np.float64).reshape(len(rows), 4))


# A trace of either algorithm answers ``trace.linkage_matrix``: DIANA's with the error.
MergeSnapshot.trace_properties = {"linkage_matrix": linkage_matrix}
DianaSnapshot.trace_properties = {"linkage_matrix": linkage_matrix}


def _log_of(trace_or_Z) -> _MergeLog:
    if isinstance(trace_or_Z, Trace):
        trace = trace_or_Z
        if trace.algorithm != "agnes":
            raise ValueError(f"cut needs an AGNES trace or a linkage matrix, but got a trace of {trace.algorithm!r}")
        last = trace.steps[-1] if trace.steps else None
        log = getattr(last, "_log", None)
        if isinstance(log, _MergeLog) and len(log) == len(trace.steps) - 1:
            return log
        Z = trace.linkage_matrix
        n = trace.X.shape[0] if trace.X is not None else Z.shape[0] + 1
    else:
        Z = np.asarray(trace_or_Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != 4:
            raise ValueError(f"Z should be a linkage matrix of shape (n - 1, 4), but got shape {Z.shape}")
        n = Z.shape[0] + 1
    ids = Z[:, :2]
    ok = np.all(np.isfinite(ids)) and np.all(ids == np.round(ids))
    if ok and Z.shape[0]:
        lim = n + np.arange(Z.shape[0])
        ok = bool(np.all((ids >= 0) & (ids < lim[:, None])))
        used = ids.ravel().astype(np.intp)
        ok = ok and np.unique(used).size == used.size and not np.any(ids[:, 0] == ids[:, 1])
    if not ok:
        raise ValueError("Z is not a valid linkage matrix: each row should merge two earlier, unmerged clusters")
    return _MergeLog(n, Z[:, 0].astype(np.intp).tolist(), Z[:, 1].astype(np.intp).tolist())


def cut(trace_or_Z, k: int) -> np.ndarray:
    """The flat clusters when the tree is cut into ``k`` clusters.

    That is the partition after the first n - k merges (also when centroid heights
    cross), numbered 0 to k - 1 by smallest point index.

    Parameters
    ----------
    trace_or_Z : Trace or array-like of shape (n - 1, 4)
        An AGNES trace or a linkage matrix in scipy's format.
    k : int
        Number of clusters, 1 to n.

    Returns
    -------
    labels : ndarray of shape (n,), int, read-only
    """
    log = _log_of(trace_or_Z)
    n = log.n
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k should be a whole number from 1 to the number of points ({n}), but got {k!r}")
    return log.labels(n - int(k))


# ---------------------------------------------------------------------------
# DIANA
# ---------------------------------------------------------------------------


class _DianaConfig(NamedTuple):
    X: np.ndarray
    metric: str
    p: float
    max_splits: int


def _validate_diana(X, metric, p, max_splits) -> _DianaConfig:
    metric = _check_metric(metric)
    p = _check_p(p)
    X = _check_data(X, "DIANA")
    n = X.shape[0]
    if n > MAX_DIANA_POINTS:
        raise ValueError(
            f"X should have at most {MAX_DIANA_POINTS} points for DIANA (the trace keeps the "
            f"labels of every step), but got {n}; take a sample first"
        )
    if max_splits is None:
        max_splits = n - 1
    max_splits = _number("max_splits", max_splits, integer=True, minimum=0)
    if max_splits > n - 1:
        raise ValueError(
            f"max_splits should be at most the number of points minus one ({n - 1}), but got {max_splits}"
        )
    return _DianaConfig(X, metric, p, max_splits)


def _canonical(groups: list[np.ndarray], n: int) -> np.ndarray:
    """Labels numbering the groups (arrays of points) by their smallest point."""
    labels = np.empty(n, dtype=np.int16)
    for j, g in enumerate(sorted(groups, key=lambda g: int(g.min()))):
        labels[g] = j
    labels.flags.writeable = False
    return labels


def _diana_steps(cfg: _DianaConfig) -> Iterator[DianaSnapshot]:
    """Yield the snapshots of one DIANA run; return (converged, n_iter, message)."""
    X = cfg.X
    n = X.shape[0]
    D = squareform(_condensed(X, cfg.metric, cfg.p)) if n > 1 else np.zeros((1, 1))
    empty = freeze(np.empty(0, dtype=np.intp))
    groups = [np.arange(n)]
    labels = _canonical(groups, n)
    index = 0
    yield DianaSnapshot(
        index=0, phase="init", iteration=0, labels=labels, cluster=freeze(np.arange(n)), splinter=empty,
        message=(
            f"Start: all {_points(n)} in one cluster; DIANA will split the cluster with the largest "
            f"diameter ({_metric_name(cfg)}) until every point stands alone."
            if n > 1 else "Start: one point, one cluster; DIANA has nothing to split."
        ),
    )
    index += 1
    split = 0
    while split < cfg.max_splits:
        # The cluster with the largest diameter (ties: smallest point index).
        best, best_diam = None, -1.0
        for g in sorted(groups, key=lambda g: int(g.min())):
            if g.size < 2:
                continue
            diam = float(D[np.ix_(g, g)].max())
            if diam > best_diam:
                best, best_diam = g, diam
        if best is None:
            break
        split += 1
        cluster = freeze(np.sort(best))
        sub = D[np.ix_(cluster, cluster)]
        m = cluster.size
        in_old = np.ones(m, dtype=bool)
        sum_old = sub.sum(axis=1)  # to the old group, self included (d = 0)
        sum_spl = np.zeros(m)
        order = np.empty(m, dtype=np.intp)
        n_spl = 0
        gains = []
        while True:
            n_old = m - n_spl
            if n_old < 2:
                break
            avg_old = sum_old / (n_old - 1)
            gain = avg_old - (sum_spl / n_spl if n_spl else 0.0)
            gain = np.where(in_old, gain, -np.inf)
            j = int(np.argmax(gain))
            g = float(gain[j])
            if n_spl and not g > 0:
                break
            in_old[j] = False
            sum_old -= sub[:, j]
            sum_spl += sub[:, j]
            order[n_spl] = cluster[j]
            n_spl += 1
            gains.append(g)
        order = order[:n_spl]
        order.flags.writeable = False
        head = f"Split {split}: cluster {_set(cluster[:_SHOWN].tolist(), m)} has the largest diameter, {_num(best_diam)}"
        for t in range(n_spl):
            point, g = int(order[t]), gains[t]
            if t == 0:
                why = f"its average dissimilarity to the rest is the largest, {_num(g)}"
            else:
                why = (f"it is farther, on average, from the rest of the old group than from the "
                       f"splinter group by {_num(g)}")
            yield DianaSnapshot(
                index=index, phase="splinter", iteration=split, labels=labels, cluster=cluster,
                splinter=order[:t + 1], moved=point, gain=g, diameter=best_diam,
                message=f"{head}; point {point} moves to the splinter group: {why}.",
            )
            index += 1
        spl = np.sort(order)
        rest = np.setdiff1d(cluster, spl)
        groups = [g for g in groups if g is not best] + [spl, rest]
        labels = _canonical(groups, n)
        if rest.size > 1:
            stop = "no point left in the old group is closer, on average, to the splinter group"
        else:
            stop = "the old group is down to one point"
        yield DianaSnapshot(
            index=index, phase="split", iteration=split, labels=labels, cluster=cluster,
            splinter=order, diameter=best_diam,
            message=(
                f"Split {split} done ({stop}): {_set(spl[:_SHOWN].tolist(), spl.size)} and "
                f"{_set(rest[:_SHOWN].tolist(), rest.size)}; {len(groups)} clusters."
            ),
        )
        index += 1
    done = all(g.size == 1 for g in groups)
    if n == 1:
        message = "DIANA had nothing to split: the data hold one point."
    elif done:
        message = f"DIANA split {_points(n)} into singletons in {split} split{'s' if split != 1 else ''}."
    else:
        message = (
            f"DIANA stopped after max_splits = {split} split{'s' if split != 1 else ''}, "
            f"with {len(groups)} clusters."
        )
    return done, split, message


def iter_diana(X, *, metric: str = "euclidean", p: float = 2.0, max_splits: int | None = None) -> Iterator[DianaSnapshot]:
    """DIANA one snapshot at a time; the arguments are those of :func:`trace_diana`."""
    return _diana_steps(_validate_diana(X, metric, p, max_splits))


def trace_diana(X, *, metric: str = "euclidean", p: float = 2.0, max_splits: int | None = None) -> Trace:
    """Run divisive analysis (DIANA) and record every move and split.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
        At most :data:`MAX_DIANA_POINTS` points.
    metric : {"euclidean", "manhattan", "cosine", "chebyshev", "minkowski"}, default="euclidean"
    p : float, default=2.0
        The Minkowski exponent, at least 1 (used only by ``"minkowski"``).
    max_splits : int, optional
        Stop after this many splits (0 to n - 1; default n - 1, i.e. until every
        point is its own cluster).

    Returns
    -------
    Trace
        ``algorithm="diana"``; ``steps[0]`` the start, then per split one
        ``"splinter"`` :class:`DianaSnapshot` per point moved and a ``"split"`` one;
        ``n_iter`` the number of splits; ``converged`` True when every point ended
        in a cluster of its own, False when ``max_splits`` stopped the run first.
    """
    cfg = _validate_diana(X, metric, p, max_splits)
    params = {"metric": cfg.metric, "p": cfg.p, "max_splits": cfg.max_splits}
    return collect(_diana_steps(cfg), algorithm="diana", params=params, X=cfg.X)


# ---------------------------------------------------------------------------
# Checking a trace from a file
# ---------------------------------------------------------------------------


def check_trace(trace: Trace) -> None:
    """Check that a trace (e.g. loaded from a file) is an AGNES or DIANA trace the views can draw.

    Raises
    ------
    ValueError
        Saying what is wrong (and on which step, numbered from 1).
    """
    if isinstance(trace, Trace) and trace.algorithm == "diana":
        _check_diana(trace)
    else:
        _check_agnes(trace)


def _check_agnes(trace: Trace) -> None:
    lab = "AGNES"
    _check_trace_header(trace, lab, "agnes")
    X = _check_trace_data(trace, lab, "which its clusters are made of")
    n = X.shape[0]
    if len(trace.steps) != n:
        raise _trace_problem(lab, f"it has {len(trace.steps)} steps, but {_points(n)} need a start and {n - 1} merges")
    sizes = [1] * n
    merged = [False] * n
    for i, snap in enumerate(trace.steps):
        where = f"step {i + 1}"
        _check_step_kind(lab, where, snap, MergeSnapshot, ("init",) if i == 0 else ("merge",))
        if snap.iteration != i:
            raise _trace_problem(lab, f"{where} says it is merge {snap.iteration}, not {i}")
        if i == 0:
            continue
        if snap.a == snap.b:
            raise _trace_problem(lab, f"{where} merges cluster {snap.a} with itself")
        for name in ("a", "b"):
            c = getattr(snap, name)
            if not (_is_int(c) and 0 <= c < n + i - 1):
                raise _trace_problem(lab, f"{where}: {name} should be a cluster id from 0 to {n + i - 2}, but it is {c!r}")
            if merged[c]:
                raise _trace_problem(lab, f"{where}: cluster {c} was already merged into another")
        if snap.new_id != n + i - 1:
            raise _trace_problem(lab, f"{where}: new_id should be {n + i - 1}, but it is {snap.new_id!r}")
        size = sizes[snap.a] + sizes[snap.b]
        if snap.size != size:
            raise _trace_problem(lab, f"{where}: the new cluster has {size} points, but size says {snap.size!r}")
        _check_trace_number(lab, where, "height", snap.height)
        merged[snap.a] = merged[snap.b] = True
        merged.append(False)
        sizes.append(size)


def _check_diana(trace: Trace) -> None:
    lab = "DIANA"
    _check_trace_header(trace, lab, "diana")
    X = _check_trace_data(trace, lab, "which its clusters are made of")
    n = X.shape[0]
    phases = ("init", "splinter", "split")
    k = 1
    for i, snap in enumerate(trace.steps):
        where = f"step {i + 1}"
        _check_step_kind(lab, where, snap, DianaSnapshot, ("init",) if i == 0 else phases[1:])
        _check_trace_labels(lab, where, snap.labels, n, n)
        found = int(snap.labels.max()) + 1
        if np.unique(snap.labels).size != found:
            raise _trace_problem(lab, f"{where}: labels skip a cluster number")
        expected = k + 1 if snap.phase == "split" else k
        if found != expected:
            raise _trace_problem(lab, f"{where} has {found} clusters, but {expected} are expected")
        k = found
        for name in ("cluster", "splinter"):
            a = getattr(snap, name)
            if a.size and (a.min() < 0 or a.max() >= n):
                raise _trace_problem(lab, f"{where}: {name} should hold point indices 0 to {n - 1}")
        if i == 0:
            continue
        if not np.all(np.isin(snap.splinter, snap.cluster)) or snap.splinter.size >= snap.cluster.size:
            raise _trace_problem(lab, f"{where}: the splinter group should be part of the cluster being split")
        if snap.splinter.size == 0:
            raise _trace_problem(lab, f"{where}: the splinter group is empty")
        _check_trace_number(lab, where, "diameter", snap.diameter)
        if snap.phase == "splinter":
            if snap.moved != int(snap.splinter[-1]):
                raise _trace_problem(lab, f"{where}: moved should be the last point of the splinter group")
            if not (_is_real(snap.gain) and math.isfinite(snap.gain)):
                raise _trace_problem(lab, f"{where}: gain should be a finite number, but it is {snap.gain!r}")
