"""Choosing k: the elbow of k-means inertia, silhouettes, BIC/AIC of Gaussian mixtures,
and agreement with known classes.

Everything here is a pure function of the data and its parameters, returning small frozen
records whose arrays are read-only; nothing imports plotly or streamlit
(:mod:`tracelab.labs.selection.views` draws them).

The elbow
---------
:func:`elbow` runs k-means (k-means++ seeding, Lloyd) ``n_init`` times per k, with seeds
``seed, seed + 1, ..., seed + n_init - 1``, and keeps the lowest inertia. Each run is the
run :func:`tracelab.labs.kmeans.kmeans.trace_kmeans` records for ``init="k-means++"`` and that seed, so
``ElbowResult.seeds[i]`` reproduces the best run for ``ks[i]`` in the k-means lab.

The *knee* is the k whose point lies farthest from the chord joining the first and the last
points of the curve, once both axes are rescaled to [0, 1] (k by ``(k - k_min) / (k_max -
k_min)``, inertia by ``(I - I_min) / (I_max - I_min)``). Rescaling makes the answer
independent of the units of the data and of the spacing of the ks; it is the "Kneedle"
idea (Satopää et al., 2011) without its smoothing. Ties go to the smaller k. There is no
knee with fewer than three ks or when every point lies on the chord.

Silhouettes
-----------
For point i in cluster A, ``a(i)`` is its mean distance to the other points of A and
``b(i)`` the smallest mean distance to the points of another cluster;
``s(i) = (b - a) / max(a, b)``, and 0 for a point alone in its cluster. These equal
scikit-learn's ``silhouette_samples``/``silhouette_score``. Points labelled -1 (noise, as
DBSCAN and HDBSCAN label them) are left out: they are neither a cluster nor counted in the
means; their value is NaN and the score is the mean over the other points.

Information criteria
--------------------
``BIC = -2 log L + p log n`` and ``AIC = -2 log L + 2 p``, with log L the total
log-likelihood of the data under the fitted mixture and p its free parameters
(:func:`n_parameters`, scikit-learn's count); lower is better. Each fit is
:func:`tracelab.labs.em.engine.trace_em` with ``init="kmeans"`` and the given seed, so
``CriteriaResult.seeds`` reproduces it in the EM lab.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.spatial.distance import cdist

from tracelab._validate import check_data as _check_data
from tracelab._validate import check_k as _check_k
from tracelab._validate import check_seed as _check_seed
from tracelab._validate import number as _number
from tracelab._validate import one_of as _one_of
from tracelab.labs.em.engine import COVARIANCE_TYPES, WORK_BUDGET, max_samples, trace_em
from tracelab.labs.kmeans.kmeans import kmeans_plusplus_indices, lloyd_steps, tolerance
from tracelab.labs.kmeans.kmeans import max_samples as kmeans_max_samples
from tracelab.record.arrays import freeze
from tracelab.metrics import ALIASES, SCIPY_NAME

__all__ = [
    "ElbowResult",
    "CriteriaResult",
    "ContingencyTable",
    "METRICS",
    "SILHOUETTE_MAX_POINTS",
    "criteria_max_points",
    "elbow_max_points",
    "elbow",
    "knee",
    "silhouette_samples",
    "silhouette_score",
    "n_parameters",
    "information_criteria",
    "contingency_table",
    "adjusted_rand_index",
]

Progress = Callable[[int, int], Any]

#: Distances the silhouette understands (scikit-learn's names, plus "precomputed").
METRICS = ("euclidean", "sqeuclidean", "manhattan", "chebyshev", "cosine", "precomputed")

# Bounds for a page that fits many models on a student's data, each keeping its
# work to a few seconds of one core (measured on 2 features, k from 1 to 8):
#: The silhouette is exact, O(n^2) distances: 5 000 points take about 0.1 s, 200 000 would take minutes.
SILHOUETTE_MAX_POINTS = 5_000
def criteria_max_points(n_features: int, ks, n_types: int = 4, max_iter: int = 100) -> int:
    """Most points BIC and AIC are fitted on: their EM fits' worst-case work within one request's budget.

    Each fit may run all ``max_iter`` iterations (data without clusters does), so
    the bound counts :func:`tracelab.labs.em.engine.work` for every k and covariance type
    (with few features, a diagonal or spherical fit costs what a full one does).
    With k from 1 to 10 and four types: 5 238 points at 2 features (about 5 s
    of CPU when every fit runs all its iterations), 56 at 20, 3 at 30 (each
    fit's part that does not shrink with the points is then past the budget).
    """
    # Measured: with their k-means starts, the fits of k = 1..10 take about 1.5 times
    # what gmm.work counts for their EM iterations (7 s for 7 890 points, 4 types).
    return max_samples(n_features, sum(int(k) for k in ks), max_iter, WORK_BUDGET / (1.5 * max(1, n_types)))


def elbow_max_points(n_features: int, ks, n_init: int, max_iter: int = 300) -> int:
    """Most points the elbow fits ``n_init`` restarts of k-means on, within one request's budget.

    Every k and restart counted by :func:`tracelab.labs.kmeans.kmeans.work`, as if each ran
    all ``max_iter`` iterations (data without clusters in many dimensions does).
    With 2 features, k from 1 to 10 and 5 restarts: 1 818 points; 20 restarts,
    454; 20 features and 5 restarts, 559. 0 when not even one point fits.
    """
    return kmeans_max_samples(n_features, sum(int(k) for k in ks) * max(1, int(n_init)), max_iter)


# Distance entries computed at once by the silhouette: a few MB per block.
_BLOCK = 1 << 19


def _check_ks(ks, n: int, unit: str) -> np.ndarray:
    """Distinct whole numbers from 1 to n, sorted."""
    try:
        values = list(ks)
    except TypeError:
        raise ValueError(f"ks should be a list of numbers of {unit}, but got {ks!r}") from None
    if not values:
        raise ValueError(f"ks should hold at least one number of {unit}")
    out = sorted({_check_k(k, n, unit, name="each k") for k in values})
    if len(out) != len(values):
        raise ValueError(f"ks should not repeat a value, but got {values}")
    return np.array(out, dtype=np.int64)


def _report(on_progress: Progress | None, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(done, total)


# ---------------------------------------------------------------------------
# The elbow
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ElbowResult:
    """k-means inertia over k and the knee of the curve.

    Attributes
    ----------
    ks : ndarray of shape (m,), int
        Sorted ascending.
    inertia : ndarray of shape (m,)
        The lowest inertia of the restarts for each k.
    seeds : ndarray of shape (m,), int
        The seed of that restart: ``trace_kmeans(X, k, init="k-means++", seed=s)``
        reproduces it.
    restarts : ndarray of shape (m, n_init)
        The inertia of every restart (restart r used seed ``seed + r``).
    knee : int or None
        The k farthest from the chord (see the module docstring); None with fewer than
        three ks or a straight curve.
    distance : ndarray of shape (m,)
        Each point's distance from the chord on the rescaled axes (0 at both ends).
    """

    ks: np.ndarray
    inertia: np.ndarray
    seeds: np.ndarray
    restarts: np.ndarray
    knee: int | None
    distance: np.ndarray

    def __post_init__(self) -> None:
        for name in ("ks", "inertia", "seeds", "restarts", "distance"):
            object.__setattr__(self, name, freeze(getattr(self, name)))


def knee(x, y) -> tuple[int | None, np.ndarray]:
    """The point of a curve farthest from the chord between its first and last points.

    Both axes are rescaled to [0, 1] first, so the answer does not depend on units.

    Parameters
    ----------
    x : array-like of shape (m,)
        Increasing (the ks).
    y : array-like of shape (m,)

    Returns
    -------
    index : int or None
        Position of the knee in ``x`` (ties to the first); None when ``m < 3`` or every
        point lies on the chord (within rounding).
    distance : ndarray of shape (m,)
        Each point's perpendicular distance from the chord on the rescaled axes.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m = x.size
    if m < 3:
        return None, np.zeros(m)
    xspan = x.max() - x.min()
    yspan = y.max() - y.min()
    u = (x - x.min()) / xspan if xspan > 0 else np.zeros(m)
    v = (y - y.min()) / yspan if yspan > 0 else np.zeros(m)
    dx, dy = u[-1] - u[0], v[-1] - v[0]
    length = math.hypot(dx, dy)
    if length == 0:
        dist = np.hypot(u - u[0], v - v[0])
    else:
        # |cross product| / |chord|: the perpendicular distance from each point to the chord.
        dist = np.abs(dx * (v - v[0]) - dy * (u - u[0])) / length
    best = int(np.argmax(dist))
    if not dist[best] > 1e-12:
        return None, dist
    return best, dist


def elbow(X, ks, *, n_init: int = 5, seed: int = 0, max_iter: int = 300, tol: float = 1e-4,
          on_progress: Progress | None = None) -> ElbowResult:
    """k-means inertia for each k, the best of ``n_init`` seeded restarts, and the knee.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
    ks : sequence of int
        Distinct numbers of clusters, 1 to n_samples (sorted in the result).
    n_init : int, default=5
        Restarts per k, with seeds ``seed .. seed + n_init - 1``.
    seed : int, default=0
    max_iter, tol :
        As in :func:`tracelab.labs.kmeans.kmeans.trace_kmeans`.
    on_progress : callable ``(done, total)``, optional
        Called after each k-means run (``total = len(ks) * n_init``). An exception
        it raises (e.g. to stop) propagates and nothing is returned.

    Returns
    -------
    ElbowResult
    """
    X = _check_data(X, "k-means")
    n = X.shape[0]
    ks = _check_ks(ks, n, "clusters")
    n_init = _number("n_init", n_init, integer=True, minimum=1)
    seed = _check_seed(seed)
    if seed is None:
        raise ValueError("seed should be a whole number, so that each run can be reproduced")
    max_iter = _number("max_iter", max_iter, integer=True, minimum=1)
    tol = _number("tol", tol, minimum=0)
    # The same arithmetic as trace_kmeans (centred data, its seeding, its Lloyd loop), so the
    # inertia and seed found here are those of the lab's run with that seed.
    Xc = X - X.mean(axis=0)
    tol_abs = tolerance(X, tol)
    restarts = np.empty((ks.size, n_init))
    total, done = ks.size * n_init, 0
    for i, k in enumerate(ks):
        for r in range(n_init):
            rng = np.random.default_rng(seed + r)
            centers = Xc[kmeans_plusplus_indices(Xc, int(k), rng)]
            last = None
            for last in lloyd_steps(Xc, centers, max_iter, tol_abs, np.intp):
                pass
            restarts[i, r] = float(last.inertia)
            done += 1
            _report(on_progress, done, total)
    best = np.argmin(restarts, axis=1)  # ties to the first restart
    inertia = restarts[np.arange(ks.size), best]
    at, dist = knee(ks, inertia)
    return ElbowResult(
        ks=ks, inertia=inertia, seeds=(seed + best).astype(np.int64), restarts=restarts,
        knee=None if at is None else int(ks[at]), distance=dist,
    )


# ---------------------------------------------------------------------------
# Silhouettes
# ---------------------------------------------------------------------------


def _metric_name(metric: str) -> str:
    name = ALIASES.get(metric, metric) if isinstance(metric, str) else metric
    if name not in METRICS:
        raise ValueError(_one_of("metric", metric, METRICS))
    return name


def _as_labels(labels, n: int | None = None, name: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} should be 1-D (one per point), but got shape {labels.shape}")
    if n is not None and labels.shape[0] != n:
        raise ValueError(f"{name} should have one entry per point ({n}), but got {labels.shape[0]}")
    return labels


def _noise(labels: np.ndarray) -> np.ndarray:
    if labels.dtype.kind in "iuf":
        return labels == -1
    return np.zeros(labels.shape, dtype=bool)


def silhouette_samples(X, labels, metric: str = "euclidean") -> np.ndarray:
    """The silhouette of every point (scikit-learn's ``silhouette_samples``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
        Or, with ``metric="precomputed"``, a distance matrix of shape (n_samples, n_samples).
    labels : array-like of shape (n_samples,)
        Any cluster labels; -1 marks noise, which is left out.
    metric : {"euclidean", "sqeuclidean", "manhattan", "chebyshev", "cosine", "precomputed"}
        ("l2", "l1" and "cityblock" are accepted as aliases.)

    Returns
    -------
    ndarray of shape (n_samples,)
        In [-1, 1]; 0 for a point alone in its cluster; NaN for noise.

    Raises
    ------
    ValueError
        With fewer than 2 clusters besides noise, or as many clusters as (non-noise)
        points, where the silhouette is undefined (scikit-learn raises there too).
    """
    metric = _metric_name(metric)
    if metric == "precomputed":
        D = np.asarray(X, dtype=np.float64)
        if D.ndim != 2 or D.shape[0] != D.shape[1]:
            raise ValueError(f"a precomputed distance matrix should be square, but got shape {D.shape}")
        if not np.all(np.isfinite(D)) or np.any(D < 0):
            raise ValueError("a precomputed distance matrix should hold finite distances of 0 or more")
        if np.any(np.abs(np.diagonal(D)) > 0):
            raise ValueError("a precomputed distance matrix should have zeros on its diagonal")
        n = D.shape[0]
    else:
        X = _check_data(X, "the silhouette")
        n = X.shape[0]
    labels = _as_labels(labels, n)
    keep = ~_noise(labels)
    out = np.full(n, np.nan)
    idx = np.flatnonzero(keep)
    clusters, codes = np.unique(labels[keep], return_inverse=True)
    k, m = clusters.size, idx.size
    if k < 2:
        noise = " besides noise (-1), which is left out" if m < n else ""
        raise ValueError(
            f"the silhouette needs at least 2 clusters{noise}, but the labels hold {k}; "
            "choose a labelling with more clusters"
        )
    if k > m - 1:
        raise ValueError(
            f"the silhouette needs fewer clusters than points, but {m} points form {k} "
            "clusters (every point alone); choose fewer clusters"
        )
    sizes = np.bincount(codes, minlength=k).astype(np.float64)
    onehot = np.zeros((m, k))
    onehot[np.arange(m), codes] = 1.0
    s = np.empty(m)
    if metric != "precomputed":
        P = X[idx]
        P = P - P.mean(axis=0) if metric != "cosine" else P
    step = max(1, _BLOCK // m)
    for lo in range(0, m, step):
        hi = min(lo + step, m)
        if metric == "precomputed":
            D_block = D[np.ix_(idx[lo:hi], idx)]
        else:
            D_block = cdist(P[lo:hi], P, metric=SCIPY_NAME[metric])
        sums = D_block @ onehot  # (b, k): total distance to each cluster
        own = codes[lo:hi]
        rows = np.arange(hi - lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = sums[rows, own] / (sizes[own] - 1)
            means = sums / sizes
            means[rows, own] = np.inf
            b = means.min(axis=1)
            block = (b - a) / np.maximum(a, b)
        s[lo:hi] = block
    # A point alone in its cluster (a = 0/0), or with a = b = 0, gets 0, as in scikit-learn.
    s[~np.isfinite(s)] = 0.0
    s[sizes[codes] == 1] = 0.0
    out[idx] = s
    return out


def silhouette_score(X, labels, metric: str = "euclidean") -> float:
    """The mean silhouette of the points not labelled -1 (scikit-learn's ``silhouette_score``).

    Parameters and errors as :func:`silhouette_samples`.
    """
    s = silhouette_samples(X, labels, metric=metric)
    return float(np.mean(s[np.isfinite(s)]))


# ---------------------------------------------------------------------------
# Information criteria of Gaussian mixtures
# ---------------------------------------------------------------------------


def n_parameters(k: int, d: int, covariance_type: str) -> int:
    """Free parameters of a k-component mixture in d features (scikit-learn's count).

    ``k * d`` means, ``k - 1`` weights, and per covariance type: ``"full"``
    ``k d (d + 1) / 2``; ``"tied"`` ``d (d + 1) / 2``; ``"diag"`` ``k d``;
    ``"spherical"`` ``k``; ``"fixed"`` (tracelab's, not estimated) 0.
    """
    k = _number("k", k, integer=True, minimum=1)
    d = _number("d", d, integer=True, minimum=1)
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(_one_of("covariance_type", covariance_type, COVARIANCE_TYPES))
    cov = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
        "fixed": 0,
    }[covariance_type]
    return int(cov + k * d + k - 1)


@dataclass(frozen=True, eq=False)
class CriteriaResult:
    """BIC and AIC of Gaussian mixtures over k (columns) and covariance type (rows).

    Attributes
    ----------
    ks : ndarray of shape (m,), int
    covariance_types : tuple of str, length t
    bic, aic : ndarray of shape (t, m)
        NaN where the fit failed (see ``errors``).
    log_likelihood : ndarray of shape (t, m)
        Total log-likelihood of the data under the fitted mixture.
    n_parameters : ndarray of shape (t, m), int
    seeds : ndarray of shape (t, m), int
        ``trace_em(X, k, covariance_type=..., init="kmeans", seed=s, ...)`` reproduces
        the fit.
    converged : ndarray of shape (t, m), bool
    n_iter : ndarray of shape (t, m), int
    best_bic, best_aic : dict of str to int or None
        Per covariance type, the k with the lowest criterion (ties to the smaller k).
    errors : dict of (str, int) to str
        Why a fit failed, per (covariance type, k).
    n_samples : int
    """

    ks: np.ndarray
    covariance_types: tuple[str, ...]
    bic: np.ndarray
    aic: np.ndarray
    log_likelihood: np.ndarray
    n_parameters: np.ndarray
    seeds: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    best_bic: dict
    best_aic: dict
    errors: dict
    n_samples: int

    def __post_init__(self) -> None:
        for name in ("ks", "bic", "aic", "log_likelihood", "n_parameters", "seeds", "converged", "n_iter"):
            object.__setattr__(self, name, freeze(getattr(self, name)))

    def best(self, which: str = "bic") -> dict:
        """Per covariance type, the k with the lowest ``which`` ("bic" or "aic")."""
        if which not in ("bic", "aic"):
            raise ValueError(_one_of("which", which, ("bic", "aic")))
        return self.best_bic if which == "bic" else self.best_aic

    def values(self, which: str = "bic") -> np.ndarray:
        """The (t, m) table of ``which`` ("bic" or "aic")."""
        if which not in ("bic", "aic"):
            raise ValueError(_one_of("which", which, ("bic", "aic")))
        return self.bic if which == "bic" else self.aic


def _best_k(ks: np.ndarray, row: np.ndarray) -> int | None:
    if not np.any(np.isfinite(row)):
        return None
    return int(ks[int(np.nanargmin(row))])


def information_criteria(
    X,
    ks,
    covariance_types: Sequence[str] = ("full", "tied", "diag", "spherical"),
    *,
    seed: int = 0,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    tol: float = 1e-3,
    on_progress: Progress | None = None,
) -> CriteriaResult:
    """BIC and AIC of a Gaussian mixture fitted by EM for each k and covariance type.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
    ks : sequence of int
        Distinct numbers of components, 1 to n_samples (sorted in the result).
    covariance_types : sequence of str
        From :data:`tracelab.labs.em.engine.COVARIANCE_TYPES`.
    seed, reg_covar, max_iter, tol :
        Passed to :func:`tracelab.labs.em.engine.trace_em` (with ``init="kmeans"``).
    on_progress : callable ``(done, total)``, optional
        Called after each fit (``total = len(ks) * len(covariance_types)``); an
        exception it raises propagates.

    Returns
    -------
    CriteriaResult
        The criteria use the parameters of each trace's last snapshot, so they equal
        scikit-learn's ``GaussianMixture.bic``/``aic`` for those parameters. A fit that
        fails (a covariance that is not positive definite) gives NaN and an entry in
        ``errors``.
    """
    X = _check_data(X, "EM")
    n, d = X.shape
    ks = _check_ks(ks, n, "components")
    if isinstance(covariance_types, str):
        covariance_types = (covariance_types,)
    types = tuple(covariance_types)
    if not types:
        raise ValueError("covariance_types should name at least one covariance type")
    for ct in types:
        if ct not in COVARIANCE_TYPES:
            raise ValueError(_one_of("covariance_type", ct, COVARIANCE_TYPES))
    if len(set(types)) != len(types):
        raise ValueError(f"covariance_types should not repeat a type, but got {list(types)}")
    seed = _check_seed(seed)
    if seed is None:
        raise ValueError("seed should be a whole number, so that each fit can be reproduced")
    reg_covar = _number("reg_covar", reg_covar, minimum=0, hint=" (it is added to every variance)")
    tol = _number("tol", tol, minimum=0)
    max_iter = _number("max_iter", max_iter, integer=True, minimum=1)
    shape = (len(types), ks.size)
    ll = np.full(shape, np.nan)
    params = np.empty(shape, dtype=np.int64)
    converged = np.zeros(shape, dtype=bool)
    n_iter = np.zeros(shape, dtype=np.int64)
    errors: dict[tuple[str, int], str] = {}
    total, done = len(types) * ks.size, 0
    for t, ct in enumerate(types):
        for i, k in enumerate(ks):
            params[t, i] = n_parameters(int(k), d, ct)
            try:
                trace = trace_em(X, int(k), covariance_type=ct, init="kmeans", seed=seed,
                                 reg_covar=reg_covar, max_iter=max_iter, tol=tol)
            except ValueError as exc:
                # A collapsed covariance fails this fit only; anything else is a bug or a
                # bad parameter and should surface.
                if "increase reg_covar" not in str(exc):
                    raise
                errors[(ct, int(k))] = str(exc)
            else:
                ll[t, i] = float(trace.steps[-1].log_likelihood)
                converged[t, i] = trace.converged
                n_iter[t, i] = trace.n_iter
            done += 1
            _report(on_progress, done, total)
    bic = -2.0 * ll + params * math.log(n)
    aic = -2.0 * ll + 2.0 * params
    return CriteriaResult(
        ks=ks, covariance_types=types, bic=bic, aic=aic, log_likelihood=ll, n_parameters=params,
        seeds=np.full(shape, seed, dtype=np.int64), converged=converged, n_iter=n_iter,
        best_bic={ct: _best_k(ks, bic[t]) for t, ct in enumerate(types)},
        best_aic={ct: _best_k(ks, aic[t]) for t, ct in enumerate(types)},
        errors=errors, n_samples=n,
    )


# ---------------------------------------------------------------------------
# Agreement with known classes
# ---------------------------------------------------------------------------


class ContingencyTable(NamedTuple):
    """How many points of each class fall in each cluster.

    classes : ndarray of shape (r,), the sorted distinct true labels
    clusters : ndarray of shape (c,), the sorted distinct predicted labels (-1 included
        as a cluster of its own, as scikit-learn counts it)
    counts : ndarray of shape (r, c), int64; rows are classes, columns clusters
    """

    classes: np.ndarray
    clusters: np.ndarray
    counts: np.ndarray


def contingency_table(labels_true, labels_pred) -> ContingencyTable:
    """Counts of points per (class, cluster): scikit-learn's ``contingency_matrix``.

    Parameters
    ----------
    labels_true, labels_pred : array-like of shape (n_samples,)

    Returns
    -------
    ContingencyTable
        ``(classes, clusters, counts)``, read-only arrays.
    """
    labels_true = _as_labels(labels_true, name="labels_true")
    labels_pred = _as_labels(labels_pred, labels_true.shape[0], name="labels_pred")
    classes, ci = np.unique(labels_true, return_inverse=True)
    clusters, ki = np.unique(labels_pred, return_inverse=True)
    counts = np.zeros((classes.size, clusters.size), dtype=np.int64)
    np.add.at(counts, (ci.ravel(), ki.ravel()), 1)
    return ContingencyTable(freeze(classes), freeze(clusters), freeze(counts))


def adjusted_rand_index(labels_true, labels_pred) -> float:
    """The adjusted Rand index of two labellings: scikit-learn's ``adjusted_rand_score``.

    1 for identical partitions (whatever the label names), about 0 for a random one,
    and negative when the agreement is worse than chance. -1 is an ordinary label here.

    Parameters
    ----------
    labels_true, labels_pred : array-like of shape (n_samples,)

    Returns
    -------
    float
    """
    counts = contingency_table(labels_true, labels_pred).counts
    n = int(counts.sum())
    # Pair counts as Python ints: n**2 overflows float precision (and int64 for big n).
    sum_squares = int((counts.astype(object) ** 2).sum()) if n else 0
    n_c = counts.sum(axis=1).astype(object)
    n_k = counts.sum(axis=0).astype(object)
    both = sum_squares - n  # pairs together in both (times 2)
    only_pred = int((counts.astype(object) @ n_k).sum()) - sum_squares if n else 0
    only_true = int((counts.T.astype(object) @ n_c).sum()) - sum_squares if n else 0
    neither = n * n - only_pred - only_true - sum_squares
    tp, fp, fn, tn = both, only_pred, only_true, neither
    if fn == 0 and fp == 0:
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))
