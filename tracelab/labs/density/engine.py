"""Density-based clustering (DBSCAN and OPTICS), recorded step by step.

DBSCAN
------
:func:`trace_dbscan` returns a :class:`~tracelab.record.trace.Trace` (``algorithm="dbscan"``) of
:class:`DBSCANSnapshot` steps:

* ``"core"`` (``steps[0]``): every point's number of points within ε (itself included, as
  in scikit-learn) and the core test ``neighbor_counts >= min_samples``; no labels yet.
* ``"expand"``: clusters grow from a queue. Clusters are seeded at the unlabelled core
  point with the lowest index; each point taken from the queue (always a core point) gives
  its unlabelled ε-neighbours its cluster; the core ones among them join the queue, the
  others are border points (labelled, never expanded). With ``group="point"`` there is one
  step per point taken from the queue, with ``"10 points"`` one per ten points of one
  cluster (fewer at a cluster's end), with ``"cluster"`` one per cluster.
* ``"result"`` (last): the final ``labels`` (-1 = noise) and ``core`` mask.

Because seeds are taken in index order and a cluster is finished before the next starts,
a border point reachable from two clusters goes to the one with the lower-index seed, as
in scikit-learn: the final labels equal ``sklearn.cluster.DBSCAN(...).labels_``.

:func:`k_distance` gives the sorted k-distance curve used to choose ε.

OPTICS
------
:func:`trace_optics` returns a trace (``algorithm="optics"``) of :class:`OPTICSSnapshot`
steps: ``"order"`` steps (one per point added to the ordering, per ten points, or per
stretch of the ordering that starts at an unreachable point with ``group="cluster"``),
then a ``"cut"`` step (labels of a DBSCAN-like cut of the reachability plot at
``eps_cut``) and an ``"xi"`` step (labels of the ξ method). The loop is scikit-learn's
``compute_optics_graph``: the next point is the unprocessed one with the smallest
reachability (lowest index on ties, ``inf`` included), and distances are rounded to 15
decimals as scikit-learn does, so core distances, reachabilities and both extractions
agree with ``sklearn.cluster.OPTICS``. The extractions are the pure functions
:func:`cluster_optics_dbscan` and :func:`cluster_optics_xi`.

Sizes
-----
At most :data:`MAX_POINTS` points; an OPTICS trace with one step per point keeps a
reachability array per point, so ``group="point"`` takes at most
:data:`MAX_POINTS_PER_POINT_OPTICS` points. Labels are stored in the smallest signed
integer type, point indices (``neighbors``, ``queue``, ``ordering``, ``predecessor``) too.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import numpy as np
from scipy.spatial.distance import cdist

from tracelab._validate import check_data as _check_data
from tracelab._validate import check_step_kind as _check_step_kind
from tracelab._validate import check_trace_data as _check_trace_data
from tracelab._validate import number as _number
from tracelab._validate import one_of as _one_of
from tracelab._validate import trace_problem as _trace_problem
from tracelab.record.arrays import label_dtype as _label_dtype
from tracelab.record.words import num as _num
from tracelab.record.words import plural as _plural
from tracelab.record.words import points as _points
from tracelab.record.words import rows as _rows
from tracelab.record.arrays import freeze
from tracelab.record.trace import Snapshot, Trace, collect
from tracelab.metrics import SCIPY_NAME

__all__ = [
    "METRICS",
    "GROUPINGS",
    "MAX_POINTS",
    "MAX_POINTS_PER_POINT_OPTICS",
    "DBSCANSnapshot",
    "OPTICSSnapshot",
    "trace_dbscan",
    "iter_dbscan",
    "trace_optics",
    "iter_optics",
    "k_distance",
    "cluster_optics_dbscan",
    "cluster_optics_xi",
    "check_trace",
]

#: Distances the labs offer (scipy/scikit-learn names; "manhattan" is "cityblock").
METRICS = ("euclidean", "manhattan", "chebyshev", "cosine")
#: How many expansion (DBSCAN) or ordering (OPTICS) steps make one snapshot.
GROUPINGS = ("point", "10 points", "cluster")
#: Largest data set traced (every step keeps arrays of n values).
MAX_POINTS = 5000
#: Largest data set for an OPTICS trace with one step per point (n steps of n floats).
MAX_POINTS_PER_POINT_OPTICS = 2000

# Rows of the distance matrix computed at once: ~8 MB of float64.
_BLOCK_ENTRIES = 1 << 20
# scikit-learn rounds OPTICS distances to float64's decimal precision (15 digits) so
# that ties are ties; doing the same keeps the ordering and the extractions equal.
_DECIMALS = np.finfo(np.float64).precision


def _index_dtype(n: int) -> np.dtype:
    """The smallest signed integer type holding 0..n-1 (and -1)."""
    return _label_dtype(max(n, 1))


# ---------------------------------------------------------------------------
# Distances
# ---------------------------------------------------------------------------


class _Metric:
    """Distances from some rows of X to all of X, exact for each metric."""

    def __init__(self, X: np.ndarray, metric: str) -> None:
        self.X = X
        self.metric = metric
        if metric == "cosine":
            norms = np.sqrt(np.einsum("ij,ij->i", X, X))
            # As scikit-learn: a zero vector stays zero (similarity 0, distance 1).
            norms[norms == 0] = 1.0
            self.unit = X / norms[:, None]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Distances, shape (stop - start, n); a point's distance to itself is 0."""
        if self.metric == "cosine":
            D = 1.0 - self.unit[start:stop] @ self.unit.T
            np.clip(D, 0.0, 2.0, out=D)
        else:
            D = cdist(self.X[start:stop], self.X, metric=SCIPY_NAME[self.metric])
        idx = np.arange(start, stop)
        D[idx - start, idx] = 0.0
        return D

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        n = self.X.shape[0]
        step = max(1, _BLOCK_ENTRIES // max(n, 1))
        for start in range(0, n, step):
            yield start, self.rows(start, min(n, start + step))


def _radius_neighbors(X: np.ndarray, eps: float, metric: str) -> list[np.ndarray]:
    """Each point's points within distance ``eps`` (boundary included, itself included)."""
    dtype = _index_dtype(X.shape[0])
    out = []
    for _, D in _Metric(X, metric).blocks():
        for row in D <= eps:
            out.append(np.flatnonzero(row).astype(dtype))
    return out


def k_distance(X, k: int, *, metric: str = "euclidean") -> np.ndarray:
    """Each point's distance to its k-th nearest other point, sorted descending.

    The point itself is not counted, so with ``k = min_samples - 1`` a point is a
    DBSCAN core point exactly when its k-distance is at most ε (scikit-learn's
    ``min_samples`` counts the point itself): the ε where the sorted curve bends
    (the "knee") separates dense points from noise.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
    k : int
        1 to n_samples - 1.
    metric : {"euclidean", "manhattan", "chebyshev", "cosine"}

    Returns
    -------
    ndarray of shape (n_samples,)
        Read-only, largest first.
    """
    X = _check_data(X, "the k-distance plot")
    metric = _check_metric(metric)
    n = X.shape[0]
    _check_size(n, "the k-distance plot")
    if n < 2:
        raise ValueError("the k-distance plot needs at least 2 points, but X has 1")
    k = _number("k", k, integer=True)
    if not 1 <= k <= n - 1:
        raise ValueError(
            f"k should be from 1 to the number of points minus one ({n - 1}), but got {k}"
        )
    out = np.empty(n)
    for start, D in _Metric(X, metric).blocks():
        idx = np.arange(start, start + D.shape[0])
        D[idx - start, idx] = np.inf  # not itself
        out[start:start + D.shape[0]] = np.partition(D, k - 1, axis=1)[:, k - 1]
    return freeze(np.sort(out)[::-1])


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _check_metric(metric: Any) -> str:
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(_one_of("metric", metric, METRICS))
    return metric


def _check_group(group: Any) -> str:
    if not isinstance(group, str) or group not in GROUPINGS:
        raise ValueError(_one_of("group", group, GROUPINGS))
    return group


def _check_size(n: int, what: str, limit: int = MAX_POINTS, hint: str = "") -> None:
    if n > limit:
        raise ValueError(
            f"X should have at most {limit} points for {what}, but got {n}; "
            f"{hint or 'take a random sample of the rows first'}"
        )


# ---------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _vector(name: str, a: Any, kinds: str, n: int | None = None) -> int:
    kind = {"iu": "whole numbers", "b": "true/false values", "f": "decimal numbers"}[kinds]
    if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind not in kinds:
        raise ValueError(f"{name} should be a 1-D array of {kind}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} should have {n} entries (one per point), but has {a.shape[0]}")
    return a.shape[0]


@dataclass(frozen=True, kw_only=True, eq=False)
class DBSCANSnapshot(Snapshot):
    """One step of DBSCAN.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,), int
        Cluster of each point, -1 for noise (or, before the result, not reached yet).
    core : ndarray of shape (n_samples,), bool
        Core points: at least ``min_samples`` points (itself included) within ε.
    neighbor_counts : ndarray of shape (n_samples,), int
        Points within ε of each point, itself included (one array shared by all steps).
    current : int
        The point expanded in this step (the last one of a grouped step), -1 if none.
    neighbors : ndarray, int
        ``current``'s ε-neighbours, itself excluded; empty if none.
    queue : ndarray, int
        Core points waiting to be expanded, in order.
    cluster : int
        The cluster growing, -1 if none.
    """

    labels: np.ndarray
    core: np.ndarray
    neighbor_counts: np.ndarray
    current: int = -1
    neighbors: np.ndarray = None  # type: ignore[assignment]
    queue: np.ndarray = None  # type: ignore[assignment]
    cluster: int = -1

    def __post_init__(self) -> None:
        empty = np.zeros(0, dtype=np.int16)
        for name in ("neighbors", "queue"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, empty)
        super().__post_init__()
        n = _vector("labels", self.labels, "iu")
        _vector("core", self.core, "b", n)
        _vector("neighbor_counts", self.neighbor_counts, "iu", n)
        _vector("neighbors", self.neighbors, "iu")
        _vector("queue", self.queue, "iu")
        for name in ("current", "cluster"):
            if not _is_int(getattr(self, name)):
                raise ValueError(f"{name} should be a whole number, but got {getattr(self, name)!r}")

    @property
    def n_clusters(self) -> int:
        """Clusters so far (all of them at the result)."""
        return int(self.labels.max()) + 1 if self.labels.size else 0

    @property
    def noise(self) -> np.ndarray:
        """Points labelled -1 (noise at the result; not reached yet before it)."""
        return self.labels == -1


@dataclass(frozen=True, kw_only=True, eq=False)
class OPTICSSnapshot(Snapshot):
    """One step of OPTICS.

    Parameters
    ----------
    ordering : ndarray, int
        The points ordered so far (all of them from the cut on).
    reachability : ndarray of shape (n_samples,), float
        Current reachability distance of each point (``inf`` = undefined).
    core_distances : ndarray of shape (n_samples,), float
        Distance to the ``min_samples``-th nearest point (itself included), ``inf``
        above ``max_eps`` (one array shared by all steps).
    predecessor : ndarray of shape (n_samples,), int
        The point each reachability comes from, -1 if none.
    labels : ndarray of shape (n_samples,), int
        -1 during the ordering; the extracted clusters (-1 = noise) at ``"cut"``/``"xi"``.
    eps_cut : float or None
        The ε of the cut (``"cut"`` step only).
    """

    ordering: np.ndarray
    reachability: np.ndarray
    core_distances: np.ndarray
    predecessor: np.ndarray
    labels: np.ndarray
    eps_cut: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        n = _vector("reachability", self.reachability, "f")
        _vector("core_distances", self.core_distances, "f", n)
        _vector("predecessor", self.predecessor, "iu", n)
        _vector("labels", self.labels, "iu", n)
        _vector("ordering", self.ordering, "iu")
        if self.eps_cut is not None and not (
            isinstance(self.eps_cut, (int, float, np.integer, np.floating))
            and not isinstance(self.eps_cut, (bool, np.bool_))
        ):
            raise ValueError(f"eps_cut should be a number or None, but got {self.eps_cut!r}")

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0

    @property
    def reachability_plot(self) -> np.ndarray:
        """Reachability of the ordered points, in order (the bars of the plot)."""
        return self.reachability[self.ordering]


# ---------------------------------------------------------------------------
# DBSCAN
# ---------------------------------------------------------------------------


class _DBSCANConfig(NamedTuple):
    X: np.ndarray
    eps: float
    min_samples: int
    metric: str
    group: str


def _validate_dbscan(X, eps, min_samples, metric, group) -> _DBSCANConfig:
    X = _check_data(X, "DBSCAN")
    _check_size(X.shape[0], "a DBSCAN trace")
    eps = _number("eps", eps, positive=True)
    min_samples = _number(
        "min_samples", min_samples, integer=True, minimum=1,
        hint=" (it counts the point itself)",
    )
    return _DBSCANConfig(X, eps, min_samples, _check_metric(metric), _check_group(group))


def _cluster_name(c: int) -> str:
    # Clusters are numbered from 1 in messages, as the views number them.
    return f"cluster {c + 1}"


def _dbscan_steps(cfg: _DBSCANConfig) -> Iterator[DBSCANSnapshot]:
    X, eps, ms = cfg.X, cfg.eps, cfg.min_samples
    n = X.shape[0]
    neighborhoods = _radius_neighbors(X, eps, cfg.metric)
    idx_dtype = _index_dtype(n)
    counts = freeze(np.fromiter((a.size for a in neighborhoods), dtype=np.int64, count=n), idx_dtype)
    core = freeze(counts >= ms)
    n_core = int(core.sum())
    # A first pass counts the clusters, so labels get the smallest type that holds them.
    n_clusters = int(_assign(neighborhoods, core).max()) + 1
    labels = np.full(n, -1, dtype=_label_dtype(max(n_clusters, 1)))
    empty = freeze(np.zeros(0, dtype=idx_dtype))

    index = 0
    yield DBSCANSnapshot(
        index=index, phase="core", iteration=0,
        message=(
            f"{n_core} core point{'s' if n_core != 1 else ''}: each has at least min_samples = {ms} "
            f"neighbours within ε = {_num(eps, 3)} (counting itself); "
            f"{n - n_core} point{'s' if n - n_core != 1 else ''} {'is' if n - n_core == 1 else 'are'} not core."
        ),
        labels=freeze(labels), core=core, neighbor_counts=counts,
        current=-1, neighbors=empty, queue=empty, cluster=-1,
    )
    index += 1

    size = {"point": 1, "10 points": 10, "cluster": n + 1}[cfg.group]
    expanded = 0
    c = -1
    for seed in np.flatnonzero(core):
        if labels[seed] != -1:
            continue
        c += 1
        labels[seed] = c
        queue = deque([int(seed)])
        group_pts: list[int] = []
        joined_core = joined_border = 0
        while queue:
            p = queue.popleft()
            expanded += 1
            nb = neighborhoods[p]
            nb = nb[nb != p]
            new = nb[labels[nb] == -1]
            labels[new] = c
            new_core = new[core[new]]
            queue.extend(int(q) for q in new_core)
            group_pts.append(p)
            joined_core += new_core.size
            joined_border += new.size - new_core.size
            if len(group_pts) < size and queue:
                continue
            message = _expand_message(
                c, group_pts, int(seed), counts[p], joined_core, joined_border, len(queue),
                cluster_done=not queue, cluster_size=int(np.count_nonzero(labels == c)),
            )
            yield DBSCANSnapshot(
                index=index, phase="expand", iteration=expanded, message=message,
                labels=freeze(labels), core=core, neighbor_counts=counts,
                current=p, neighbors=nb, queue=freeze(np.array(queue, dtype=idx_dtype)),
                cluster=c,
            )
            index += 1
            group_pts = []
            joined_core = joined_border = 0

    k = c + 1
    noise = int(np.count_nonzero(labels == -1))
    border = n - n_core - noise
    message = (
        f"DBSCAN found {_plural(k, 'cluster')}: {_plural(n_core, 'core point')}, "
        f"{_plural(border, 'border point')} and {_plural(noise, 'noise point')} (label -1)."
    )
    yield DBSCANSnapshot(
        index=index, phase="result", iteration=expanded, message=message,
        labels=freeze(labels), core=core, neighbor_counts=counts,
        current=-1, neighbors=empty, queue=empty, cluster=-1,
    )
    return True, expanded, message


def _assign(neighborhoods: list[np.ndarray], core: np.ndarray) -> np.ndarray:
    """DBSCAN's final labels from the ε-neighbourhoods and the core mask."""
    labels = np.full(core.shape[0], -1, dtype=np.intp)
    c = -1
    for seed in np.flatnonzero(core):
        if labels[seed] != -1:
            continue
        c += 1
        labels[seed] = c
        queue = deque([int(seed)])
        while queue:
            nb = neighborhoods[queue.popleft()]
            new = nb[labels[nb] == -1]
            labels[new] = c
            queue.extend(new[core[new]].tolist())
    return labels


def _expand_message(c, pts, seed, count, n_core, n_border, waiting, *, cluster_done, cluster_size) -> str:
    name = _cluster_name(c)
    joined = n_core + n_border
    if joined:
        what = f"{_plural(joined, 'neighbour')} join{'s' if joined == 1 else ''} ({n_core} core, {n_border} border)"
    else:
        what = "no new points join (its neighbours are all in a cluster already)" if len(pts) == 1 \
            else "no new points join"
    if cluster_done:
        tail = f"the queue is empty, so {name} is complete with {_points(cluster_size)}"
    else:
        tail = f"{_plural(waiting, 'core point')} wait{'s' if waiting == 1 else ''} in the queue"
    if len(pts) == 1:
        p = pts[0]
        if p == seed:
            head = (f"Core point #{p} ({int(count)} points within ε) is in no cluster yet: "
                    f"it starts {name}")
        else:
            head = f"{name[0].upper()}{name[1:]} grows from core point #{p} ({int(count)} points within ε)"
        return f"{head}; {what}; {tail}."
    started = f" (started at #{seed})" if pts[0] == seed else ""
    return (f"{name[0].upper()}{name[1:]}{started} grows from {len(pts)} core points "
            f"({_rows(pts)}); {what}; {tail}.")


def _dbscan_params(cfg: _DBSCANConfig) -> dict[str, Any]:
    return {"eps": cfg.eps, "min_samples": cfg.min_samples, "metric": cfg.metric, "group": cfg.group}


def iter_dbscan(X, eps: float, min_samples: int, *, metric: str = "euclidean",
                group: str = "point") -> Iterator[DBSCANSnapshot]:
    """DBSCAN one snapshot at a time; the arguments are those of :func:`trace_dbscan`.

    The arguments are checked before this returns; the generator's return value is
    ``(True, points_expanded, message)``.
    """
    return _dbscan_steps(_validate_dbscan(X, eps, min_samples, metric, group))


def trace_dbscan(X, eps: float, min_samples: int, *, metric: str = "euclidean",
                 group: str = "point") -> Trace:
    """Run DBSCAN and record the core test, the expansion and the result.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
        At most :data:`MAX_POINTS` points.
    eps : float
        Neighbourhood radius ε (> 0); distances equal to ε count.
    min_samples : int
        Points within ε (the point itself included) that make a core point, at least 1.
    metric : {"euclidean", "manhattan", "chebyshev", "cosine"}
    group : {"point", "10 points", "cluster"}
        One expansion step per point taken from the queue, per ten of them, or per
        cluster.

    Returns
    -------
    Trace
        ``algorithm="dbscan"``; steps ``"core"``, ``"expand"``..., ``"result"``
        (:class:`DBSCANSnapshot`). The result's labels and core mask equal
        scikit-learn's ``DBSCAN(eps, min_samples=..., metric=...)`` ``labels_`` and
        ``core_sample_indices_``. ``n_iter`` is the number of points expanded.
    """
    cfg = _validate_dbscan(X, eps, min_samples, metric, group)
    return collect(_dbscan_steps(cfg), algorithm="dbscan", params=_dbscan_params(cfg), X=cfg.X)


# ---------------------------------------------------------------------------
# OPTICS
# ---------------------------------------------------------------------------


def cluster_optics_dbscan(reachability, core_distances, ordering, eps: float) -> np.ndarray:
    """DBSCAN-like clusters from an OPTICS run, cut at ``eps`` (scikit-learn's rule).

    Walking the ordering, a point whose reachability exceeds ``eps`` starts a new
    cluster if it is core at ``eps`` (core distance at most ``eps``) and is noise
    otherwise; every other point joins the current cluster.

    Returns
    -------
    ndarray of shape (n_samples,), int
        -1 for noise.
    """
    reachability = np.asarray(reachability, dtype=np.float64)
    core_distances = np.asarray(core_distances, dtype=np.float64)
    ordering = np.asarray(ordering, dtype=np.intp)
    labels = np.zeros(core_distances.shape[0], dtype=np.intp)
    far_reach = reachability > eps
    near_core = core_distances <= eps
    labels[ordering] = np.cumsum(far_reach[ordering] & near_core[ordering]) - 1
    labels[far_reach & ~near_core] = -1
    return labels


def _extend_region(steep_point, xward_point, start: int, min_samples: int) -> int:
    """End of the steep area starting at ``start``: at most ``min_samples`` consecutive
    non-steep points in it, and none going the other way."""
    n = len(steep_point)
    non_xward = 0
    index = end = start
    while index < n:
        if steep_point[index]:
            non_xward = 0
            end = index
        elif not xward_point[index]:
            non_xward += 1
            if non_xward > min_samples:
                break
        else:
            return end
        index += 1
    return end


def _update_filter_sdas(sdas, mib, xi_complement, plot):
    if np.isinf(mib):
        return []
    kept = [d for d in sdas if mib <= plot[d["start"]] * xi_complement]
    for d in kept:
        d["mib"] = max(d["mib"], mib)
    return kept


def _correct_predecessor(plot, pred_plot, ordering, s, e):
    # Schubert & Gertz (2018), Algorithm 2: shrink the end until it hangs off the cluster.
    while s < e:
        if plot[s] > plot[e]:
            return s, e
        p_e = pred_plot[e]
        if np.any(ordering[s:e] == p_e):
            return s, e
        e -= 1
    return None, None


def _xi_clusters(plot, pred_plot, ordering, xi, min_samples, min_cluster_size):
    """(start, end) positions in the ordering of the ξ clusters, smaller ones first."""
    # An inf after the end closes clusters that run to the end of the plot.
    plot = np.hstack((plot, np.inf))
    xi_complement = 1 - xi
    sdas: list[dict[str, Any]] = []
    clusters: list[tuple[int, int]] = []
    index = 0
    mib = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = plot[:-1] / plot[1:]
        steep_up = ratio <= xi_complement
        steep_down = ratio >= 1 / xi_complement
        down = ratio > 1
        up = ratio < 1
    for steep in np.flatnonzero(steep_up | steep_down):
        if steep < index:
            continue
        mib = max(mib, np.max(plot[index:steep + 1]))
        sdas = _update_filter_sdas(sdas, mib, xi_complement, plot)
        if steep_down[steep]:
            end = _extend_region(steep_down, up, steep, min_samples)
            sdas.append({"start": steep, "end": end, "mib": 0.0})
            index = end + 1
            mib = plot[index]
            continue
        u_start = steep
        u_end = _extend_region(steep_up, down, u_start, min_samples)
        index = u_end + 1
        mib = plot[index]
        found = []
        for d in sdas:
            c_start, c_end = d["start"], u_end
            if plot[c_end + 1] * xi_complement < d["mib"]:
                continue
            d_max = plot[d["start"]]
            if d_max * xi_complement >= plot[c_end + 1]:
                while plot[c_start + 1] > plot[c_end + 1] and c_start < d["end"]:
                    c_start += 1
            elif plot[c_end + 1] * xi_complement >= d_max:
                while plot[c_end - 1] > d_max and c_end > u_start:
                    c_end -= 1
            c_start, c_end = _correct_predecessor(plot, pred_plot, ordering, c_start, c_end)
            if c_start is None:
                continue
            if c_end - c_start + 1 < min_cluster_size or c_start > d["end"] or c_end < u_start:
                continue
            found.append((int(c_start), int(c_end)))
        found.reverse()
        clusters.extend(found)
    return clusters


def cluster_optics_xi(reachability, predecessor, ordering, min_samples: int, xi: float = 0.05,
                      *, min_cluster_size: int | None = None) -> np.ndarray:
    """Clusters from an OPTICS run by the ξ method (steep areas of the reachability plot).

    A cluster starts in a steep downward area (reachability falling by a factor of at
    least 1 - ξ from one point to the next) and ends in a steep upward area; clusters
    run through the predecessor correction of Schubert & Gertz and must hold at least
    ``min_cluster_size`` points (default ``min_samples``). Each point gets the smallest
    cluster containing it; the same rules as scikit-learn's ``cluster_optics_xi``
    (``predecessor_correction=True``).

    Returns
    -------
    ndarray of shape (n_samples,), int
        -1 for noise.
    """
    reachability = np.asarray(reachability, dtype=np.float64)
    predecessor = np.asarray(predecessor, dtype=np.intp)
    ordering = np.asarray(ordering, dtype=np.intp)
    n = reachability.shape[0]
    min_samples = _number("min_samples", min_samples, integer=True, minimum=2)
    min_cluster_size = min_samples if min_cluster_size is None else _number(
        "min_cluster_size", min_cluster_size, integer=True, minimum=2)
    xi = _check_xi(xi)
    clusters = _xi_clusters(reachability[ordering], predecessor[ordering], ordering, xi,
                            min_samples, min_cluster_size)
    by_position = np.full(n, -1, dtype=np.intp)
    label = 0
    for s, e in clusters:
        if not np.any(by_position[s:e + 1] != -1):
            by_position[s:e + 1] = label
            label += 1
    labels = np.empty(n, dtype=np.intp)
    labels[ordering] = by_position
    return labels


def _check_xi(xi: Any) -> float:
    xi = _number("xi", xi)
    if not 0 < xi < 1:
        raise ValueError(f"xi should be between 0 and 1, but got {xi:g}")
    return xi


class _OPTICSConfig(NamedTuple):
    X: np.ndarray
    min_samples: int
    max_eps: float
    metric: str
    xi: float
    eps_cut: float | None
    group: str


def _validate_optics(X, min_samples, max_eps, metric, xi, eps_cut, group) -> _OPTICSConfig:
    X = _check_data(X, "OPTICS")
    n = X.shape[0]
    group = _check_group(group)
    _check_size(n, "an OPTICS trace")
    if group == "point":
        _check_size(n, "an OPTICS trace with one step per point", MAX_POINTS_PER_POINT_OPTICS,
                    "choose group='10 points' or 'cluster', or sample the rows")
    min_samples = _number("min_samples", min_samples, integer=True, minimum=2,
                          hint=" (it counts the point itself)")
    if min_samples > n:
        raise ValueError(
            f"min_samples should be at most the number of points ({n}), but got {min_samples}"
        )
    max_eps = _number("max_eps", max_eps, positive=True, allow_inf=True)
    if eps_cut is not None:
        eps_cut = _number("eps_cut", eps_cut, positive=True)
    return _OPTICSConfig(X, min_samples, max_eps, _check_metric(metric), _check_xi(xi), eps_cut, group)


def _core_distances(dist: _Metric, min_samples: int, max_eps: float) -> np.ndarray:
    n = dist.X.shape[0]
    out = np.empty(n)
    for start, D in dist.blocks():
        out[start:start + D.shape[0]] = np.partition(D, min_samples - 1, axis=1)[:, min_samples - 1]
    out[out > max_eps] = np.inf
    return np.around(out, decimals=_DECIMALS)


def _default_eps_cut(reachability: np.ndarray, core_distances: np.ndarray) -> float:
    for values in (reachability, core_distances):
        finite = values[np.isfinite(values)]
        if finite.size and np.median(finite) > 0:
            return float(np.median(finite))
    return 1.0


def _optics_steps(cfg: _OPTICSConfig) -> Iterator[OPTICSSnapshot]:
    X, ms, max_eps = cfg.X, cfg.min_samples, cfg.max_eps
    n = X.shape[0]
    dist = _Metric(X, cfg.metric)
    idx_dtype = _index_dtype(n)
    core_d = freeze(_core_distances(dist, ms, max_eps))
    reach = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=idx_dtype)
    processed = np.zeros(n, dtype=bool)
    ordering = np.zeros(n, dtype=idx_dtype)
    no_labels = freeze(np.full(n, -1, dtype=np.int8))
    shown_reach, shown_pred = freeze(reach), freeze(pred)
    size = {"point": 1, "10 points": 10, "cluster": n + 1}[cfg.group]

    index = 0
    group_pts: list[int] = []
    n_updated = 0
    for k in range(n):
        unproc = np.flatnonzero(~processed)
        p = int(unproc[np.argmin(reach[unproc])])
        processed[p] = True
        ordering[k] = p
        updated = 0
        if np.isfinite(core_d[p]):
            d = dist.rows(p, p + 1)[0]
            cand = np.flatnonzero((d <= max_eps) & ~processed)
            if cand.size:
                rd = np.around(np.maximum(d[cand], core_d[p]), decimals=_DECIMALS)
                better = rd < reach[cand]
                reach[cand[better]] = rd[better]
                pred[cand[better]] = p
                updated = int(better.sum())
        group_pts.append(p)
        n_updated += updated
        last = k == n - 1
        stretch_ends = last or not np.isfinite(reach[~processed].min())
        if not (last or len(group_pts) >= size or (cfg.group == "cluster" and stretch_ends)):
            continue
        if n_updated or shown_reach is None:
            shown_reach, shown_pred = freeze(reach), freeze(pred)
        if len(group_pts) == 1:
            message = _order_message(p, k, reach[p], pred[p], core_d[p], updated, ms)
        else:
            message = (
                f"{len(group_pts)} more points join the ordering ({_rows(group_pts)}), "
                f"now {k + 1} of {n}; {_plural(n_updated, 'reachability')} lowered"
                .replace("reachabilitys", "reachabilities")
                + ("; the next point is not reachable from these, so a new stretch starts." if not last and stretch_ends
                   else ".")
            )
        yield OPTICSSnapshot(
            index=index, phase="order", iteration=k + 1, message=message,
            ordering=freeze(ordering[:k + 1]), reachability=shown_reach, core_distances=core_d,
            predecessor=shown_pred, labels=no_labels,
        )
        index += 1
        group_pts = []
        n_updated = 0

    ordering_f = freeze(ordering)
    eps_cut = cfg.eps_cut if cfg.eps_cut is not None else _default_eps_cut(reach, core_d)
    cut = cluster_optics_dbscan(reach, core_d, ordering, eps_cut)
    k_cut = int(cut.max()) + 1
    yield OPTICSSnapshot(
        index=index, phase="cut", iteration=n,
        message=(
            f"Cut the reachability plot at ε = {_num(eps_cut, 3)}"
            f"{'' if cfg.eps_cut is not None else ' (the median finite reachability)'}: "
            f"a point above the cut starts a new cluster if its core distance is at most ε and is "
            f"noise otherwise: {_plural(k_cut, 'cluster')}, "
            f"{_plural(int(np.count_nonzero(cut == -1)), 'noise point')}."
        ),
        ordering=ordering_f, reachability=shown_reach, core_distances=core_d,
        predecessor=shown_pred, labels=freeze(cut, _label_dtype(max(k_cut, 1))), eps_cut=float(eps_cut),
    )
    index += 1
    xi_labels = cluster_optics_xi(reach, pred, ordering, ms, cfg.xi)
    k_xi = int(xi_labels.max()) + 1
    message = (
        f"ξ method (ξ = {_num(cfg.xi, 3)}): clusters start where the reachability falls "
        f"steeply (by at least {_num(100 * cfg.xi, 3)}% per point) and end where it rises "
        f"steeply: {_plural(k_xi, 'cluster')}, "
        f"{_plural(int(np.count_nonzero(xi_labels == -1)), 'noise point')}."
    )
    yield OPTICSSnapshot(
        index=index, phase="xi", iteration=n, message=message,
        ordering=ordering_f, reachability=shown_reach, core_distances=core_d,
        predecessor=shown_pred, labels=freeze(xi_labels, _label_dtype(max(k_xi, 1))),
    )
    return True, n, message


def _order_message(p, k, r, pred, core, updated, ms) -> str:
    if np.isfinite(r):
        head = (f"Point #{p} joins the ordering at position {k + 1} with reachability "
                f"{_num(r, 3)} (reached from #{int(pred)})")
    elif k == 0:
        head = f"Point #{p} starts the ordering (no reachability yet)"
    else:
        head = (f"Point #{p} joins the ordering at position {k + 1} with undefined reachability: "
                "no ordered core point reaches it, so a new stretch starts")
    if np.isfinite(core):
        tail = (f"it is a core point (core distance {_num(core, 3)}), so "
                f"{_plural(updated, 'unordered neighbour')} get{'s' if updated == 1 else ''} a lower reachability")
    else:
        tail = f"it is not a core point (fewer than {ms} points within max_eps), so no reachability changes"
    return f"{head}; {tail}."


def _optics_params(cfg: _OPTICSConfig) -> dict[str, Any]:
    return {"min_samples": cfg.min_samples, "max_eps": cfg.max_eps, "metric": cfg.metric,
            "xi": cfg.xi, "eps_cut": cfg.eps_cut, "group": cfg.group}


def iter_optics(X, min_samples: int, *, max_eps: float = np.inf, metric: str = "euclidean",
                xi: float = 0.05, eps_cut: float | None = None,
                group: str = "point") -> Iterator[OPTICSSnapshot]:
    """OPTICS one snapshot at a time; the arguments are those of :func:`trace_optics`."""
    return _optics_steps(_validate_optics(X, min_samples, max_eps, metric, xi, eps_cut, group))


def trace_optics(X, min_samples: int, *, max_eps: float = np.inf, metric: str = "euclidean",
                 xi: float = 0.05, eps_cut: float | None = None, group: str = "point") -> Trace:
    """Run OPTICS and record the growing reachability plot, then two extractions.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
        At most :data:`MAX_POINTS` points (:data:`MAX_POINTS_PER_POINT_OPTICS` with
        ``group="point"``).
    min_samples : int
        2 to n_samples; the core distance is the distance to the ``min_samples``-th
        nearest point, the point itself included (scikit-learn's convention).
    max_eps : float, default=inf
        Largest neighbourhood radius considered.
    metric : {"euclidean", "manhattan", "chebyshev", "cosine"}
    xi : float, default=0.05
        Steepness for the ξ extraction, between 0 and 1.
    eps_cut : float, optional
        ε of the DBSCAN-like cut; default the median finite reachability.
    group : {"point", "10 points", "cluster"}
        One ordering step per point, per ten points, or per stretch of the ordering
        that starts at a point with undefined reachability.

    Returns
    -------
    Trace
        ``algorithm="optics"``; ``"order"`` steps, then ``"cut"`` and ``"xi"``
        (:class:`OPTICSSnapshot`).
    """
    cfg = _validate_optics(X, min_samples, max_eps, metric, xi, eps_cut, group)
    return collect(_optics_steps(cfg), algorithm="optics", params=_optics_params(cfg), X=cfg.X)


# ---------------------------------------------------------------------------
# Checking a trace from a file
# ---------------------------------------------------------------------------


def check_trace(trace: Trace) -> None:
    """Check that a trace (e.g. loaded from a file) is a DBSCAN or OPTICS run the lab can draw.

    Beyond the shapes and types of every step, the run is checked against its data
    and parameters: the core test and final labels of DBSCAN are recomputed, and the
    OPTICS extractions are recomputed from the final reachability plot.

    Raises
    ------
    ValueError
        "This trace cannot be shown in the DBSCAN lab: ..." (or OPTICS), saying what is
        wrong and on which step (numbered from 1).
    """
    if not isinstance(trace, Trace):
        raise _trace_problem("density", f"it is a {type(trace).__name__}, not a Trace")
    if trace.algorithm == "optics":
        _check_optics_trace(trace)
    elif trace.algorithm == "dbscan":
        _check_dbscan_trace(trace)
    else:
        raise _trace_problem(
            "density", f"it is a trace of {trace.algorithm!r}, not of DBSCAN or OPTICS; "
            "open it in the lab it came from")


def _param(lab: str, trace: Trace, name: str, check) -> Any:
    if name not in trace.params:
        raise _trace_problem(lab, f"its parameters do not say {name}")
    try:
        return check(trace.params[name])
    except ValueError as exc:
        raise _trace_problem(lab, f"its parameters are wrong: {exc}") from None


def _check_array(lab, where, name, a, kinds, n=None) -> None:
    try:
        _vector(name, a, kinds, n)
    except ValueError as exc:
        raise _trace_problem(lab, f"{where}: {exc}") from None


def _check_indices(lab, where, name, a, n) -> None:
    if a.size and (a.min() < 0 or a.max() >= n):
        raise _trace_problem(lab, f"{where}: {name} should hold point numbers 0 to {n - 1}")


def _check_dbscan_trace(trace: Trace) -> None:
    lab = "DBSCAN"
    if not trace.steps:
        raise _trace_problem(lab, "it has no steps")
    X = _check_trace_data(trace, lab, "which its clusters are made of")
    n = X.shape[0]
    if n > MAX_POINTS:
        raise _trace_problem(lab, f"it has {n} points; the lab shows at most {MAX_POINTS}")
    eps = _param(lab, trace, "eps", lambda v: _number("eps", v, positive=True))
    ms = _param(lab, trace, "min_samples", lambda v: _number("min_samples", v, integer=True, minimum=1))
    metric = _param(lab, trace, "metric", _check_metric)
    steps = trace.steps
    if len(steps) < 2:
        raise _trace_problem(lab, "it should have a core step and a result step at least")
    prev = None
    for i, snap in enumerate(steps):
        where = f"step {i + 1}"
        phase = "core" if i == 0 else "result" if i == len(steps) - 1 else "expand"
        _check_step_kind(lab, where, snap, DBSCANSnapshot, (phase,))
        _check_array(lab, where, "labels", snap.labels, "iu", n)
        _check_array(lab, where, "core", snap.core, "b", n)
        _check_array(lab, where, "neighbor_counts", snap.neighbor_counts, "iu", n)
        _check_array(lab, where, "neighbors", snap.neighbors, "iu")
        _check_array(lab, where, "queue", snap.queue, "iu")
        _check_indices(lab, where, "neighbors", snap.neighbors, n)
        _check_indices(lab, where, "queue", snap.queue, n)
        if snap.labels.min() < -1:
            raise _trace_problem(lab, f"{where}: labels should be -1 (noise) or a cluster number 0 or more")
        if not -1 <= snap.current < n or not -1 <= snap.cluster < n:
            raise _trace_problem(lab, f"{where}: current and cluster should be -1 or point/cluster numbers")
        if prev is None:
            counts = np.array([a.size for a in _radius_neighbors(X, eps, metric)])
            if not np.array_equal(snap.neighbor_counts, counts):
                raise _trace_problem(lab, f"{where}: the neighbour counts do not match the data and ε")
            if not np.array_equal(snap.core, counts >= ms):
                raise _trace_problem(lab, f"{where}: the core points do not match the neighbour counts")
            if np.any(snap.labels != -1):
                raise _trace_problem(lab, f"{where}: no point should have a cluster before the expansion")
        else:
            if not np.array_equal(snap.core, prev.core) or not np.array_equal(
                    snap.neighbor_counts, prev.neighbor_counts):
                raise _trace_problem(lab, f"{where}: the core points changed; they are fixed by the first step")
            was = prev.labels >= 0
            if np.any(snap.labels[was] != prev.labels[was]):
                bad = int(np.flatnonzero(snap.labels[was] != prev.labels[was])[0])
                raise _trace_problem(lab, f"{where}: point #{int(np.flatnonzero(was)[bad])} changed cluster; "
                                     "a point keeps its cluster once it has one")
            if snap.queue.size and (np.any(~snap.core[snap.queue]) or np.any(snap.labels[snap.queue] < 0)):
                raise _trace_problem(lab, f"{where}: the queue should hold core points of the growing cluster")
        prev = snap
    final = steps[-1].labels
    expected = _dbscan_labels(X, eps, ms, metric)
    if not np.array_equal(final, expected):
        raise _trace_problem(lab, f"step {len(steps)}: the final labels are not DBSCAN's for this data and ε")


def _dbscan_labels(X, eps, ms, metric) -> np.ndarray:
    neighborhoods = _radius_neighbors(X, eps, metric)
    core = np.array([a.size for a in neighborhoods]) >= ms
    return _assign(neighborhoods, core)


def _check_optics_trace(trace: Trace) -> None:
    lab = "OPTICS"
    if not trace.steps:
        raise _trace_problem(lab, "it has no steps")
    X = _check_trace_data(trace, lab, "which its reachability plot is made of")
    n = X.shape[0]
    ms = _param(lab, trace, "min_samples", lambda v: _number("min_samples", v, integer=True, minimum=2))
    xi = _param(lab, trace, "xi", _check_xi)
    steps = trace.steps
    if len(steps) < 3:
        raise _trace_problem(lab, "it should have ordering steps, a cut step and a ξ step")
    final = steps[-1]
    prev = None
    for i, snap in enumerate(steps):
        where = f"step {i + 1}"
        phase = "xi" if i == len(steps) - 1 else "cut" if i == len(steps) - 2 else "order"
        _check_step_kind(lab, where, snap, OPTICSSnapshot, (phase,))
        _check_array(lab, where, "reachability", snap.reachability, "f", n)
        _check_array(lab, where, "core_distances", snap.core_distances, "f", n)
        _check_array(lab, where, "predecessor", snap.predecessor, "iu", n)
        _check_array(lab, where, "labels", snap.labels, "iu", n)
        _check_array(lab, where, "ordering", snap.ordering, "iu")
        _check_indices(lab, where, "ordering", snap.ordering, n)
        if np.any(np.isnan(snap.reachability)) or np.any(snap.reachability < 0) or \
                np.any(np.isnan(snap.core_distances)) or np.any(snap.core_distances < 0):
            raise _trace_problem(lab, f"{where}: distances should be 0 or more (or inf)")
        if snap.predecessor.min() < -1 or snap.predecessor.max() >= n:
            raise _trace_problem(lab, f"{where}: predecessor should be -1 or a point number")
        if phase == "order":
            if np.any(snap.labels != -1):
                raise _trace_problem(lab, f"{where}: points have no cluster while the ordering grows")
            if snap.eps_cut is not None:
                raise _trace_problem(lab, f"{where}: only the cut step has an eps_cut")
        if prev is not None:
            if not np.array_equal(snap.core_distances, prev.core_distances):
                raise _trace_problem(lab, f"{where}: the core distances changed; they are fixed from the start")
            if phase == "order" and snap.ordering.size <= prev.ordering.size:
                raise _trace_problem(lab, f"{where}: the ordering should grow at every ordering step")
            if np.any(snap.reachability > prev.reachability):
                raise _trace_problem(lab, f"{where}: a reachability grew; reachabilities only fall")
        prev = snap
    if len(np.unique(final.ordering)) != n or final.ordering.size != n:
        raise _trace_problem(lab, "the final ordering should hold every point once")
    for i, snap in enumerate(steps[:-2]):
        k = snap.ordering.size
        if not np.array_equal(snap.ordering, final.ordering[:k]):
            raise _trace_problem(lab, f"step {i + 1}: the ordering should be the start of the final ordering")
        if not np.array_equal(snap.reachability[snap.ordering], final.reachability[snap.ordering]):
            raise _trace_problem(lab, f"step {i + 1}: an ordered point's reachability changed later")
    cut_step = steps[-2]
    eps_cut = cut_step.eps_cut
    if eps_cut is None or not (isinstance(eps_cut, (int, float)) and eps_cut > 0 and not math.isnan(eps_cut)):
        raise _trace_problem(lab, f"step {len(steps) - 1}: eps_cut should be a positive number")
    r, c, o = final.reachability, final.core_distances, final.ordering
    if not np.array_equal(cut_step.labels, cluster_optics_dbscan(r, c, o, eps_cut)):
        raise _trace_problem(lab, f"step {len(steps) - 1}: the labels are not the cut at ε = {_num(eps_cut, 3)}")
    if not np.array_equal(final.labels, cluster_optics_xi(r, final.predecessor, o, ms, xi)):
        raise _trace_problem(lab, f"step {len(steps)}: the labels are not those of the ξ method")
