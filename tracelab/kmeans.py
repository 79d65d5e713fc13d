"""k-means: k-means++ seeding and Lloyd's algorithm.

For now this module holds what EM's ``init="kmeans"`` needs: :func:`kmeans_plusplus`
(seeding) and :func:`lloyd` (the plain Lloyd loop), both with scikit-learn's
semantics. A later ``trace_kmeans`` will reuse them.

Both work on the data shifted to its column means: k-means is translation invariant,
and the shift keeps squared distances accurate for data far from the origin (an offset
of 1e7 would otherwise eat most of the digits of ``|x|^2 - 2 x.c + |c|^2``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["kmeans_plusplus", "lloyd"]


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


def _sq_dist_to(Xc: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Squared distances from every row of ``Xc`` to one point, computed directly."""
    diff = Xc - point
    return np.einsum("ij,ij->i", diff, diff)


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
    n_samples = X.shape[0]
    n_clusters = _check_n_clusters(n_clusters, n_samples)
    rng = np.random.default_rng(rng)
    Xc = X - X.mean(axis=0)
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
    return X[indices].copy()


def _assign(Xc: np.ndarray, centers_c: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for every point (ties go to the lowest index).

    ``|x - c|^2 = |x|^2 - 2 x.c + |c|^2`` and ``|x|^2`` does not depend on the
    centre, so one matrix product ranks all centres.
    """
    scores = Xc @ (-2.0 * centers_c.T)
    scores += np.einsum("ij,ij->i", centers_c, centers_c)
    return np.argmin(scores, axis=1)


def _update(Xc, labels, centers_c):
    """New centres as cluster means; empty clusters move to the farthest points.

    As in scikit-learn, each empty cluster takes one of the points farthest from
    their current centre (farthest first), and that point leaves its old cluster.
    If every point sits on its centre (more clusters than distinct points), an
    empty cluster keeps its old centre.
    """
    k, d = centers_c.shape
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.empty((k, d))
    for j in range(d):
        sums[:, j] = np.bincount(labels, weights=Xc[:, j], minlength=k)
    empty = np.flatnonzero(counts == 0)
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
    new_centers = centers_c.copy()
    filled = counts > 0
    new_centers[filled] = sums[filled] / counts[filled, None]
    return new_centers


def _row_sq_norms(A: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", A, A)


def lloyd(X, centers, max_iter: int = 300, tol: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means from given centres, with scikit-learn's semantics.

    Each iteration labels every point with its nearest centre, then moves each
    centre to the mean of its points (an empty cluster is relocated to the point
    farthest from its centre). The loop stops when the labels no longer change
    ("strict convergence"), when the total squared centre shift is at most
    ``tol`` times the mean variance of the features, or after ``max_iter``
    iterations. Unless the labels stopped changing, a last labelling makes the
    labels match the returned centres.

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
    Xc = X - mean
    centers_c = centers - mean
    tol_abs = float(np.mean(np.var(X, axis=0)) * tol) if tol else 0.0

    labels_old = np.full(X.shape[0], -1, dtype=np.intp)
    strict = False
    for _ in range(max_iter):
        labels = _assign(Xc, centers_c)
        new_centers = _update(Xc, labels, centers_c)
        shift = float(((new_centers - centers_c) ** 2).sum())
        centers_c = new_centers
        if np.array_equal(labels, labels_old):
            strict = True
            break
        if shift <= tol_abs:
            break
        labels_old = labels
    if not strict:
        labels = _assign(Xc, centers_c)
    return centers_c + mean, labels
