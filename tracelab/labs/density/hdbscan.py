"""HDBSCAN, recorded stage by stage.

:func:`trace_hdbscan` runs HDBSCAN (Campello, Moulavi and Sander 2013, as implemented by
scikit-learn's ``HDBSCAN`` with its defaults: Euclidean distance, excess-of-mass selection,
``allow_single_cluster=False``, ``cluster_selection_epsilon=0``) and returns a
:class:`~tracelab.record.trace.Trace` of :class:`HDBSCANSnapshot` steps, one per stage:

* ``"core"`` (1 step): the core distance of every point, the distance to its
  ``min_samples``-th nearest neighbour counting the point itself (scikit-learn's
  convention; the ``hdbscan`` library does not count the point, so its ``min_samples=k``
  is scikit-learn's ``k + 1``).
* ``"mreach"`` (1 step): mutual reachability ``d_mreach(a, b) = max(core(a), core(b),
  d(a, b))``; the (n, n) matrix is not stored, views rebuild it from ``X`` and the core
  distances.
* ``"mst"`` (at most 40 steps): the minimum spanning tree of the mutual-reachability
  graph, its ``n - 1`` edges added in order of weight (as Kruskal adds them), a group of
  edges per step; ``mst_edges`` holds the edges added so far.
* ``"linkage"``: the single-linkage tree (scipy's linkage matrix) made from the sorted edges.
* ``"condense"``: the condensed tree for ``min_cluster_size`` (rows ``[parent, child,
  lambda_val, child_size]`` with ``lambda = 1 / distance``, as in the ``hdbscan`` library).
* ``"stability"``: each condensed cluster's stability, the sum over its points of
  ``lambda_p - lambda_birth`` (``lambda_p`` is when point p leaves the cluster, on its own
  or in a child cluster).
* ``"select"`` (last): the clusters chosen by excess of mass, with ``labels`` and
  ``probabilities``.

Agreement with scikit-learn
---------------------------
The tree is built as scikit-learn builds it for Euclidean data (Prim's algorithm from
point 0 with the same tie-breaking, then ``np.argsort`` of the edge weights), so even when
edges tie (mutual reachability makes ties common) the single-linkage tree, the condensed
tree, the labels and the probabilities are scikit-learn's: labels agree exactly (the same
cluster numbers), probabilities to rounding. The probability of a clustered point is
``min(lambda_p, lambda_max) / lambda_max``, where ``lambda_p`` is the lambda at which the
point left the condensed tree and ``lambda_max`` the largest lambda of any row whose parent
is the point's selected cluster (1 if that is 0 or ``lambda_p`` is infinite). scikit-learn
takes ``lambda_max`` from the last block of rows of that parent, which, rows being in
breadth-first order with lambdas growing with depth, is the same number.

Only numpy and scipy are used; ``n`` is capped at :data:`MAX_POINTS` because the distance
matrix is held in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Iterator, NamedTuple

import numpy as np
from scipy.spatial.distance import cdist

from tracelab._validate import check_data as _check_data
from tracelab._validate import check_trace_data as _check_trace_data
from tracelab._validate import check_trace_header as _check_trace_header
from tracelab._validate import check_step_kind as _check_step_kind
from tracelab._validate import number as _number
from tracelab._validate import trace_problem as _trace_problem
from tracelab.record.arrays import freeze
from tracelab.record.words import num
from tracelab.record.words import plural as _plural
from tracelab.record.trace import Snapshot, Trace, collect

# λ and distances in the messages with three significant digits
_num = partial(num, sig=3)

__all__ = [
    "MAX_POINTS",
    "MAX_MST_STEPS",
    "PHASES",
    "HDBSCANSnapshot",
    "iter_hdbscan",
    "trace_hdbscan",
    "core_distances",
    "mutual_reachability",
    "minimum_spanning_tree",
    "single_linkage",
    "condense_tree",
    "compute_stability",
    "select_clusters",
    "check_trace",
]

#: The most points a trace may have: the (n, n) distance matrix is held in memory.
MAX_POINTS = 3000
#: The most "mst" steps a trace has: edges are added in groups beyond that.
MAX_MST_STEPS = 40
#: The phases of an HDBSCAN trace, in order.
PHASES = ("core", "mreach", "mst", "linkage", "condense", "stability", "select")


# ---------------------------------------------------------------------------
# The stages as pure functions
# ---------------------------------------------------------------------------


def _distances(X: np.ndarray) -> np.ndarray:
    return cdist(X, X)


def core_distances(D: np.ndarray, min_samples: int) -> np.ndarray:
    """Distance from each point to its ``min_samples``-th nearest neighbour, itself included.

    Parameters
    ----------
    D : ndarray of shape (n_samples, n_samples)
        Pairwise distances (zero diagonal).
    min_samples : int
        1 to n_samples; 1 gives core distance 0 (the point itself).

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    return np.partition(D, min_samples - 1, axis=1)[:, min_samples - 1].copy()


def mutual_reachability(D: np.ndarray, core: np.ndarray) -> np.ndarray:
    """``max(core[i], core[j], D[i, j])`` for every pair, shape (n_samples, n_samples)."""
    return np.maximum(np.maximum(D, core[:, None]), core[None, :])


def minimum_spanning_tree(D: np.ndarray, core: np.ndarray) -> np.ndarray:
    """The minimum spanning tree of the mutual-reachability graph, edges sorted by weight.

    Prim's algorithm from point 0 on the dense graph, breaking ties as scikit-learn's
    ``mst_from_data_matrix`` does (the first point in index order), then the edges in
    the order of ``np.argsort`` of their weights, as scikit-learn orders them.

    Returns
    -------
    ndarray of shape (n_samples - 1, 3)
        Rows ``[i, j, weight]``: i was in the tree when the edge to j was added.
    """
    n = D.shape[0]
    in_tree = np.zeros(n, dtype=bool)
    min_reach = np.full(n, np.inf)
    sources = np.zeros(n, dtype=np.intp)
    edges = np.empty((n - 1, 3))
    current = 0
    for i in range(n - 1):
        in_tree[current] = True
        mrd = np.maximum(np.maximum(D[current], core), core[current])
        better = (mrd < min_reach) & ~in_tree
        min_reach[better] = mrd[better]
        sources[better] = current
        candidates = np.where(in_tree, np.inf, min_reach)
        new = int(np.argmin(candidates))
        edges[i] = (sources[new], new, min_reach[new])
        current = new
    return edges[np.argsort(edges[:, 2])]


def single_linkage(mst: np.ndarray) -> np.ndarray:
    """scipy's linkage matrix from the sorted MST edges, shape (n_samples - 1, 4).

    Merge ``k`` joins the clusters holding the two ends of edge ``k`` (left: the cluster
    of ``i``, right: that of ``j``) into cluster ``n_samples + k``.
    """
    m = mst.shape[0]
    n = m + 1
    parent = np.arange(2 * n - 1)
    size = np.ones(2 * n - 1, dtype=np.intp)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    Z = np.empty((m, 4))
    for k in range(m):
        a, b = find(int(mst[k, 0])), find(int(mst[k, 1]))
        new = n + k
        parent[a] = parent[b] = new
        size[new] = size[a] + size[b]
        Z[k] = (a, b, mst[k, 2], size[new])
    return Z


def _bfs(Z: np.ndarray, root: int, n: int) -> list[int]:
    """Nodes below ``root`` (itself included) in breadth-first order."""
    result, queue = [], [root]
    while queue:
        result.extend(queue)
        nxt = []
        for x in queue:
            if x >= n:
                nxt.extend((int(Z[x - n, 0]), int(Z[x - n, 1])))
        queue = nxt
    return result


def condense_tree(Z: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """The condensed tree: clusters of at least ``min_cluster_size`` points.

    Walks the single-linkage tree from the top (breadth first, as scikit-learn and the
    ``hdbscan`` library do); where a split leaves a side smaller than
    ``min_cluster_size``, its points fall out of the cluster, which carries on; where
    both sides are big enough, two new clusters are born. Points are 0..n-1, the root
    cluster is n and new clusters are numbered on from n + 1 in the order they are born.

    Returns
    -------
    ndarray of shape (n_rows, 4)
        Rows ``[parent, child, lambda_val, child_size]`` with ``lambda_val = 1 / distance``
        (inf for distance 0); every point is the child of exactly one row.
    """
    m = Z.shape[0]
    n = m + 1
    root = 2 * m
    relabel = np.empty(root + 1, dtype=np.intp)
    relabel[root] = n
    next_label = n + 1
    ignore = np.zeros(root + 1, dtype=bool)
    rows: list[tuple[float, float, float, float]] = []

    def size_of(node: int) -> int:
        return int(Z[node - n, 3]) if node >= n else 1

    def fall_out(parent: int, node: int, lam: float) -> None:
        for sub in _bfs(Z, node, n):
            if sub < n:
                rows.append((parent, sub, lam, 1))
            ignore[sub] = True

    for node in _bfs(Z, root, n):
        if ignore[node] or node < n:
            continue
        left, right, dist = int(Z[node - n, 0]), int(Z[node - n, 1]), float(Z[node - n, 2])
        lam = 1.0 / dist if dist > 0.0 else math.inf
        nl, nr = size_of(left), size_of(right)
        here = int(relabel[node])
        if nl >= min_cluster_size and nr >= min_cluster_size:
            relabel[left] = next_label
            rows.append((here, next_label, lam, nl))
            relabel[right] = next_label + 1
            rows.append((here, next_label + 1, lam, nr))
            next_label += 2
        elif nl < min_cluster_size and nr < min_cluster_size:
            fall_out(here, left, lam)
            fall_out(here, right, lam)
        elif nl < min_cluster_size:
            relabel[right] = here
            fall_out(here, left, lam)
        else:
            relabel[left] = here
            fall_out(here, right, lam)
    return np.array(rows, dtype=np.float64).reshape(len(rows), 4)


def compute_stability(condensed: np.ndarray) -> np.ndarray:
    """Stability of every cluster of a condensed tree, shape (n_clusters, 2).

    Rows ``[cluster_id, stability]`` in increasing id (the root first): the sum over the
    rows under the cluster of ``(lambda_val - lambda_birth) * child_size``, i.e. over its
    points of ``lambda_p - lambda_birth`` (the root is born at lambda 0).
    """
    parents = condensed[:, 0].astype(np.intp)
    children = condensed[:, 1].astype(np.intp)
    root = int(parents.min())
    ids = np.arange(root, int(parents.max()) + 1)
    births = np.zeros(ids.size)
    is_cluster = children >= root
    births[children[is_cluster] - root] = condensed[is_cluster, 2]
    with np.errstate(invalid="ignore"):
        terms = (condensed[:, 2] - births[parents - root]) * condensed[:, 3]
    stability = np.bincount(parents - root, weights=terms, minlength=ids.size)
    return np.column_stack([ids.astype(np.float64), stability])


class _Selection(NamedTuple):
    selected: np.ndarray  # (k,) selected cluster ids, increasing
    labels: np.ndarray  # (n,) cluster number (index into selected), -1 noise
    probabilities: np.ndarray  # (n,)


def select_clusters(condensed: np.ndarray, stability: np.ndarray) -> _Selection:
    """Excess-of-mass selection (never the root) with scikit-learn's labels and probabilities.

    From the youngest cluster up, a cluster is kept when its stability is at least the
    sum of its child clusters' (propagated) stabilities, and then none below it is; else
    its children's sum replaces its stability. Label ``k`` is the ``k``-th selected id.
    """
    parents = condensed[:, 0].astype(np.intp)
    children = condensed[:, 1].astype(np.intp)
    lambdas = condensed[:, 2]
    root = int(parents.min())
    n = root
    stab = {int(c): float(s) for c, s in stability}
    kids: dict[int, list[int]] = {c: [] for c in stab}
    for p, c in zip(parents, children):
        if c >= root:
            kids[int(p)].append(int(c))
    chosen = {c: True for c in stab if c != root}
    for node in sorted(chosen, reverse=True):
        below = float(np.sum([stab[c] for c in kids[node]]))
        if below > stab[node]:
            chosen[node] = False
            stab[node] = below
        else:
            stack = list(kids[node])
            while stack:
                c = stack.pop()
                chosen[c] = False
                stack.extend(kids[c])
    selected = np.array(sorted(c for c, keep in chosen.items() if keep), dtype=np.intp)
    number = {int(c): k for k, c in enumerate(selected)}
    # Ids grow down the tree, so every parent is labelled before its children.
    owner = {root: -1}
    for p, c in sorted(zip(parents.tolist(), children.tolist()), key=lambda pc: pc[1]):
        if c >= root:
            owner[c] = number.get(c, owner[p])
    labels = np.full(n, -1, dtype=np.intp)
    probabilities = np.zeros(n)
    deaths = {c: -math.inf for c in stab}
    for p, lam in zip(parents, lambdas):
        deaths[int(p)] = max(deaths[int(p)], lam)
    point_rows = children < root
    for p, c, lam in zip(parents[point_rows], children[point_rows], lambdas[point_rows]):
        k = owner[int(p)]
        labels[c] = k
        if k < 0:
            continue
        death = deaths[int(selected[k])]
        if death == 0.0 or math.isinf(lam):
            probabilities[c] = 1.0
        else:
            probabilities[c] = min(lam, death) / death
    return _Selection(selected, labels, probabilities)


# ---------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------


def _check_table(name: str, a: Any, cols: int) -> None:
    if a is not None and not (isinstance(a, np.ndarray) and a.ndim == 2 and a.shape[1] == cols):
        raise ValueError(f"{name} should be None or a 2-D array with {cols} columns")


@dataclass(frozen=True, kw_only=True, eq=False)
class HDBSCANSnapshot(Snapshot):
    """One stage of HDBSCAN; fields not computed yet at this stage are None.

    Parameters
    ----------
    core_distances : ndarray of shape (n_samples,), float
    mst_edges : ndarray of shape (m, 3), float, or None
        ``[i, j, weight]`` of the MST edges added so far, by increasing weight.
    linkage : ndarray of shape (n_samples - 1, 4), float, or None
        The single-linkage tree as scipy's linkage matrix.
    condensed : ndarray of shape (c, 4), float, or None
        ``[parent, child, lambda_val, child_size]`` rows of the condensed tree.
    stability : ndarray of shape (q, 2), float, or None
        ``[cluster_id, stability]`` of every condensed cluster, the root included.
    selected : ndarray of int, or None
        Ids of the selected clusters, increasing; label ``k`` is ``selected[k]``.
    labels : ndarray of shape (n_samples,), int
        -1 (noise) everywhere until the last stage.
    probabilities : ndarray of shape (n_samples,), float
        0 until the last stage.
    """

    core_distances: np.ndarray
    mst_edges: np.ndarray | None = None
    linkage: np.ndarray | None = None
    condensed: np.ndarray | None = None
    stability: np.ndarray | None = None
    selected: np.ndarray | None = None
    labels: np.ndarray
    probabilities: np.ndarray

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.core_distances, np.ndarray) and self.core_distances.ndim == 1):
            raise ValueError("core_distances should be a 1-D array, one entry per point")
        n = self.core_distances.shape[0]
        for name in ("labels", "probabilities"):
            a = getattr(self, name)
            if not (isinstance(a, np.ndarray) and a.shape == (n,)):
                raise ValueError(f"{name} should be a 1-D array of {n} entries, one per point")
        if self.labels.dtype.kind not in "iu":
            raise ValueError("labels should be whole numbers")
        _check_table("mst_edges", self.mst_edges, 3)
        _check_table("linkage", self.linkage, 4)
        _check_table("condensed", self.condensed, 4)
        _check_table("stability", self.stability, 2)
        if self.selected is not None and not (
            isinstance(self.selected, np.ndarray) and self.selected.ndim == 1
            and self.selected.dtype.kind in "iu"
        ):
            raise ValueError("selected should be None or a 1-D array of cluster ids")

    @property
    def n_clusters(self) -> int:
        """Clusters found (0 before the last stage)."""
        return 0 if self.selected is None else int(self.selected.size)


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


class _Config(NamedTuple):
    X: np.ndarray
    min_cluster_size: int
    min_samples: int


def _validate(X, min_cluster_size, min_samples) -> _Config:
    X = _check_data(X, "HDBSCAN")
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X should have at least 2 points for HDBSCAN, but got {n}")
    if n > MAX_POINTS:
        raise ValueError(
            f"X should have at most {MAX_POINTS} points for the HDBSCAN trace, which holds "
            f"all pairwise distances in memory, but got {n}; use a sample of the data"
        )
    mcs = _number("min_cluster_size", min_cluster_size, integer=True, minimum=2,
                  hint=" (a cluster of one point is noise)")
    if mcs > n:
        raise ValueError(
            f"min_cluster_size should be at most the number of points ({n}), but got {mcs}"
        )
    if min_samples is None:
        ms = mcs
    else:
        ms = _number("min_samples", min_samples, integer=True, minimum=1,
                     hint=" (it counts the point itself)")
    if ms > n:
        raise ValueError(
            f"min_samples should be at most the number of points ({n}), but got {ms}"
            + (" (it defaults to min_cluster_size)" if min_samples is None else "")
        )
    return _Config(X, mcs, ms)


def _ids(ids) -> str:
    items = [str(int(i)) for i in ids]
    if len(items) > 8:
        return ", ".join(items[:7]) + f", … ({len(items)} in all)"
    return ", ".join(items)


def _hdbscan_steps(cfg: _Config) -> Iterator[HDBSCANSnapshot]:
    """Yield the snapshots of one HDBSCAN run; return (converged, n_iter, message)."""
    X, mcs, ms = cfg
    n = X.shape[0]
    D = _distances(X)
    core = freeze(core_distances(D, ms))
    noise = freeze(np.full(n, -1, dtype=np.intp))
    zeros = freeze(np.zeros(n))
    index = 0

    def snap(phase: str, iteration: int, message: str, **fields: Any) -> HDBSCANSnapshot:
        return HDBSCANSnapshot(index=index, phase=phase, iteration=iteration, message=message,
                               core_distances=core, labels=fields.pop("labels", noise),
                               probabilities=fields.pop("probabilities", zeros), **fields)

    nth = {1: "1st", 2: "2nd", 3: "3rd"}.get(ms, f"{ms}th")
    yield snap("core", 0, (
        f"Core distances: each point's distance to its {nth} nearest neighbour (counting "
        f"itself, min_samples = {ms}) ranges from {_num(core.min())} to {_num(core.max())} "
        f"with median {_num(np.median(core))}."
    ))
    index += 1

    raised = np.maximum.outer(core, core) > D
    np.fill_diagonal(raised, False)
    mreach_raised = int(np.count_nonzero(raised)) // 2
    del raised
    pairs = n * (n - 1) // 2
    yield snap("mreach", 0, (
        f"Mutual reachability d_mreach(a, b) = max(core(a), core(b), d(a, b)) pushes sparse "
        f"points away from the rest: {mreach_raised} of the {pairs} pairs get a distance "
        f"larger than their plain distance (raised to a core distance)."
    ))
    index += 1

    mst = freeze(minimum_spanning_tree(D, core))
    m = n - 1
    # min(m, MAX_MST_STEPS) groups of as equal sizes as can be.
    bounds = np.linspace(0, m, min(m, MAX_MST_STEPS) + 1).round().astype(int).tolist()
    groups = list(zip(bounds[:-1], bounds[1:]))
    for g, (lo, hi) in enumerate(groups, start=1):
        edges = "edge" if hi - lo == 1 else "edges"
        span = (f"weight {_num(mst[lo, 2])}" if hi - lo == 1
                else f"weights {_num(mst[lo, 2])} to {_num(mst[hi - 1, 2])}")
        yield snap("mst", g, (
            f"Minimum spanning tree (Kruskal order): added {edges} {lo + 1}"
            f"{'' if hi - lo == 1 else f'–{hi}'} of {m} ({span}), leaving "
            f"{_plural(n - hi, 'connected component')}."
        ), mst_edges=mst[:hi])
        index += 1
    n_groups = len(groups)

    Z = freeze(single_linkage(mst))
    yield snap("linkage", n_groups, (
        f"Single-linkage tree: the {m} MST edges, in order of weight, merge the {n} points "
        f"into one cluster in {m} merges at heights {_num(Z[0, 2])} to {_num(Z[-1, 2])}."
    ), mst_edges=mst, linkage=Z)
    index += 1

    condensed = freeze(condense_tree(Z, mcs))
    is_cluster = condensed[:, 3] > 1
    n_clusters = int(np.count_nonzero(is_cluster)) + 1
    point_lams = condensed[~is_cluster, 2]
    yield snap("condense", n_groups, (
        f"Condensed tree (min_cluster_size = {mcs}): splits that leave fewer than {mcs} points "
        f"on a side only shed points, leaving {_plural(n_clusters, 'cluster')} (the root "
        f"included) from which the {n} points fall out at λ = 1/distance between "
        f"{_num(point_lams.min())} and {_num(point_lams.max())}."
    ), mst_edges=mst, linkage=Z, condensed=condensed)
    index += 1

    stability = freeze(compute_stability(condensed))
    best = int(np.argmax(np.where(np.isnan(stability[1:, 1]), -np.inf, stability[1:, 1]))) + 1 \
        if stability.shape[0] > 1 else 0
    tail = (f"; the most stable below the root is condensed cluster #{int(stability[best, 0])} with "
            f"{_num(stability[best, 1])}" if stability.shape[0] > 1
            else "; no split leaves two clusters, so only the root exists")
    yield snap("stability", n_groups, (
        f"Stability of each of the {_plural(stability.shape[0], 'condensed cluster')}, the sum "
        f"over its points of (λ_p − λ_birth), with the root's at {_num(stability[0, 1])}{tail}."
    ), mst_edges=mst, linkage=Z, condensed=condensed, stability=stability)
    index += 1

    sel = select_clusters(condensed, stability)
    selected = freeze(sel.selected)
    labels = freeze(sel.labels)
    n_noise = int(np.count_nonzero(labels < 0))
    k = int(selected.size)
    if k:
        sizes = np.bincount(labels[labels >= 0], minlength=k)
        # Named as the scatter, its legend and the tables name them (cluster 1, 2, ... =
        # labels 0, 1, ...), with the condensed tree's ids for the icicle plot beside.
        if k <= 6:
            which = ", ".join(f"cluster {j + 1} (condensed #{int(c)}, {_plural(int(sizes[j]), 'point')})"
                              for j, c in enumerate(selected))
        else:
            which = (f"clusters 1 to {k} (condensed {_ids(selected)}) of {sizes.min()} to "
                     f"{sizes.max()} points")
        found = (f"excess of mass selects {_plural(k, 'cluster')}: {which}; "
                 f"{_plural(n_noise, 'noise point')} left")
    else:
        found = f"excess of mass selects no cluster (the root is never chosen), so all {n} points are noise"
    yield snap("select", n_groups, f"Selection: {found}.", mst_edges=mst, linkage=Z,
               condensed=condensed, stability=stability, selected=selected, labels=labels,
               probabilities=freeze(sel.probabilities))
    message = (f"HDBSCAN (min_cluster_size = {mcs}, min_samples = {ms}) found "
               f"{_plural(k, 'cluster')} and {_plural(n_noise, 'noise point')}.")
    return True, n_groups, message


def iter_hdbscan(X, min_cluster_size: int, *, min_samples: int | None = None) -> Iterator[HDBSCANSnapshot]:
    """HDBSCAN one snapshot at a time; the arguments are those of :func:`trace_hdbscan`.

    The arguments are checked before this returns; the generator's return value is
    ``(converged, n_iter, message)`` with ``n_iter`` the number of "mst" steps.
    """
    return _hdbscan_steps(_validate(X, min_cluster_size, min_samples))


def trace_hdbscan(X, min_cluster_size: int, *, min_samples: int | None = None) -> Trace:
    """Run HDBSCAN and record every stage.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
        2 to :data:`MAX_POINTS` points.
    min_cluster_size : int
        Smallest cluster, at least 2 and at most n_samples.
    min_samples : int or None
        Neighbours (counting the point itself) whose distance is a point's core
        distance, 1 to n_samples; None means ``min_cluster_size`` (scikit-learn's default).

    Returns
    -------
    Trace
        ``algorithm="hdbscan"``, ``params={"min_cluster_size", "min_samples"}`` (the
        latter resolved), steps as in the module docstring (:class:`HDBSCANSnapshot`);
        the last step's labels are ``HDBSCAN(min_cluster_size, min_samples=...)
        .fit(X).labels_``. ``converged`` is True and ``n_iter`` the number of MST steps.

    Raises
    ------
    ValueError
        For bad data or parameters, with a message saying what to change.
    """
    cfg = _validate(X, min_cluster_size, min_samples)
    params = {"min_cluster_size": cfg.min_cluster_size, "min_samples": cfg.min_samples}
    return collect(_hdbscan_steps(cfg), algorithm="hdbscan", params=params, X=cfg.X)


# ---------------------------------------------------------------------------
# Checking a trace from a file
# ---------------------------------------------------------------------------

_LAB = "HDBSCAN"
# Which optional fields each phase must have (the rest must be None).
_HAS = {
    "core": (), "mreach": (), "mst": ("mst_edges",),
    "linkage": ("mst_edges", "linkage"),
    "condense": ("mst_edges", "linkage", "condensed"),
    "stability": ("mst_edges", "linkage", "condensed", "stability"),
    "select": ("mst_edges", "linkage", "condensed", "stability", "selected"),
}
_OPTIONAL = ("mst_edges", "linkage", "condensed", "stability", "selected")


def _float_table(where: str, name: str, a: Any, cols: int, *, finite_cols=None) -> None:
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f" or a.ndim != 2 or a.shape[1] != cols:
        raise _trace_problem(_LAB, f"{where}: {name} should be a table of decimal numbers with {cols} columns")
    cols_ = range(cols) if finite_cols is None else finite_cols
    if a.size and not np.all(np.isfinite(a[:, list(cols_)])):
        raise _trace_problem(_LAB, f"{where}: {name} holds NaN or infinite values")


def check_trace(trace: Trace) -> None:
    """Check that a trace (e.g. loaded from a file) is an HDBSCAN trace the lab can draw.

    Checks the data, the order of the phases (core, mreach, one or more mst, linkage,
    condense, stability, select) and every step's arrays: shapes, types, which fields are
    present at each stage, the MST edges (valid point indices, weights sorted, growing
    step by step), the linkage heights (the sorted MST weights), the condensed tree
    (every point a leaf once), the labels (-1 to the number of selected clusters - 1) and
    the probabilities (0 to 1).

    Raises
    ------
    ValueError
        "This trace cannot be shown in the HDBSCAN lab: ...", naming the step (from 1).
    """
    _check_trace_header(trace, _LAB, "hdbscan")
    X = _check_trace_data(trace, _LAB, "which its clusters are made of")
    n = X.shape[0]
    if n < 2:
        raise _trace_problem(_LAB, f"its data has {n} point; HDBSCAN needs at least 2")
    phases = [getattr(s, "phase", None) for s in trace.steps]
    for i, snap in enumerate(trace.steps):
        _check_step_kind(_LAB, f"step {i + 1}", snap, HDBSCANSnapshot, PHASES)
    n_mst = phases.count("mst")
    expected = ["core", "mreach"] + ["mst"] * n_mst + ["linkage", "condense", "stability", "select"]
    if n_mst == 0 or phases != expected:
        raise _trace_problem(
            _LAB, "its steps should run core, mreach, one or more mst, linkage, condense, "
            f"stability, select, but they run {', '.join(map(str, phases))}")
    prev_edges = 0
    final_mst = None
    for i, snap in enumerate(trace.steps):
        where = f"step {i + 1}"
        c = snap.core_distances
        if not isinstance(c, np.ndarray) or c.dtype.kind != "f" or c.shape != (n,):
            raise _trace_problem(_LAB, f"{where}: core_distances should be {n} decimal numbers, one per point")
        if not np.all(np.isfinite(c)) or np.any(c < 0):
            raise _trace_problem(_LAB, f"{where}: core_distances should be finite and at least 0")
        for name in _OPTIONAL:
            present = getattr(snap, name) is not None
            if present != (name in _HAS[snap.phase]):
                raise _trace_problem(
                    _LAB, f"{where}: a {snap.phase!r} step should {'have' if not present else 'not have'} {name}")
        edges = snap.mst_edges
        if edges is not None:
            _float_table(where, "mst_edges", edges, 3)
            m = edges.shape[0]
            if not 1 <= m <= n - 1:
                raise _trace_problem(_LAB, f"{where}: mst_edges should have 1 to {n - 1} rows, but it has {m}")
            ends = edges[:, :2]
            if np.any(ends != np.round(ends)) or np.any(ends < 0) or np.any(ends >= n):
                raise _trace_problem(_LAB, f"{where}: mst_edges should join points 0 to {n - 1}")
            if np.any(np.diff(edges[:, 2]) < 0) or np.any(edges[:, 2] < 0):
                raise _trace_problem(_LAB, f"{where}: mst_edges should be sorted by weight, at least 0")
            if m < prev_edges or (snap.phase != "mst" and m != n - 1) or (
                    snap.phase == "mst" and m == prev_edges):
                raise _trace_problem(_LAB, f"{where}: the MST should gain edges at every mst step and have all {n - 1} after")
            prev_edges = m
            if snap.phase == "mst" and phases[i + 1] != "mst":
                if m != n - 1:
                    raise _trace_problem(_LAB, f"{where}: the last mst step should hold all {n - 1} edges, but it has {m}")
                final_mst = edges
            elif final_mst is not None and not np.array_equal(edges, final_mst):
                raise _trace_problem(_LAB, f"{where}: mst_edges differ from the finished tree's")
        Z = snap.linkage
        if Z is not None:
            _float_table(where, "linkage", Z, 4)
            if Z.shape[0] != n - 1:
                raise _trace_problem(_LAB, f"{where}: linkage should have {n - 1} rows, but it has {Z.shape[0]}")
            if not np.array_equal(Z[:, 2], final_mst[:, 2]):
                raise _trace_problem(_LAB, f"{where}: the linkage heights should be the sorted MST weights")
            if Z[-1, 3] != n:
                raise _trace_problem(_LAB, f"{where}: the last merge should hold all {n} points")
        cond = snap.condensed
        if cond is not None:
            _float_table(where, "condensed", cond, 4, finite_cols=(0, 1, 3))
            leaves = cond[cond[:, 1] < n, 1]
            if cond.shape[0] == 0 or not np.array_equal(np.sort(leaves), np.arange(n)) \
                    or np.any(cond[:, 2] < 0) or np.any(np.isnan(cond[:, 2])):
                raise _trace_problem(_LAB, f"{where}: the condensed tree should have every point as a leaf exactly once")
            if np.any(cond[:, 0] < n):
                raise _trace_problem(_LAB, f"{where}: the condensed tree's parents should be clusters (ids from {n})")
        st = snap.stability
        if st is not None:
            ids = np.unique(cond[:, 0])
            if not isinstance(st, np.ndarray) or st.dtype.kind != "f" or st.shape != (ids.size, 2) \
                    or not np.array_equal(st[:, 0], ids):
                raise _trace_problem(_LAB, f"{where}: stability should list the {ids.size} condensed clusters with a value each")
        sel = snap.selected
        k = 0
        if sel is not None:
            if not isinstance(sel, np.ndarray) or sel.dtype.kind not in "iu" or sel.ndim != 1 \
                    or not np.all(np.isin(sel, st[1:, 0])):
                raise _trace_problem(_LAB, f"{where}: selected should be ids of condensed clusters other than the root")
            k = sel.size
        lab = snap.labels
        if not isinstance(lab, np.ndarray) or lab.dtype.kind not in "iu" or lab.shape != (n,):
            raise _trace_problem(_LAB, f"{where}: labels should be {n} whole numbers, one per point")
        if np.any(lab < -1) or np.any(lab >= k):
            raise _trace_problem(_LAB, f"{where}: labels should be -1 (noise) to {k - 1}")
        pr = snap.probabilities
        if not isinstance(pr, np.ndarray) or pr.dtype.kind != "f" or pr.shape != (n,) \
                or not np.all((pr >= 0) & (pr <= 1)):
            raise _trace_problem(_LAB, f"{where}: probabilities should be {n} numbers from 0 to 1")
        if np.any(pr[lab < 0] != 0):
            raise _trace_problem(_LAB, f"{where}: noise points should have probability 0")
