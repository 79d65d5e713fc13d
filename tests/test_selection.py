"""Choosing k (tracelab.labs.selection.engine), checked against scikit-learn on the same inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracelab.labs.selection import engine as S
from tracelab.labs.em.engine import precision_cholesky, trace_em
from tracelab.labs.kmeans.kmeans import trace_kmeans

sk_metrics = pytest.importorskip("sklearn.metrics")
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.metrics.cluster import contingency_matrix  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=150, centers=[[0, 0], [8, 0], [0, 8]], cluster_std=0.8, random_state=3)
    return X, y


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(7)
    return np.vstack([rng.normal(0, 1, (25, 3)), rng.normal(4, 1.5, (25, 3))])


# ---------------------------------------------------------------------------- elbow / knee


def test_knee_on_a_curve_with_a_known_elbow():
    ks = np.arange(1, 11)
    y = np.array([100.0, 40, 12, 10, 9, 8, 7, 6, 5, 4])
    at, dist = S.knee(ks, y)
    assert ks[at] == 3
    assert dist[0] == pytest.approx(0) and dist[-1] == pytest.approx(0)
    # Units do not matter: both axes are rescaled.
    assert S.knee(ks * 10, y * 1e6)[0] == at
    # A hand check of the rescaled distance at k = 3: u = 2/9, v = 8/96, chord v = 1 - u.
    u, v = 2 / 9, (12 - 4) / 96
    assert dist[2] == pytest.approx(abs(u + v - 1) / math.sqrt(2))


def test_knee_moves_with_the_elbow():
    ks = np.arange(1, 9)
    y = np.array([50.0, 45, 40, 35, 5, 4, 3, 2])
    assert ks[S.knee(ks, y)[0]] == 5


def test_no_knee_on_a_line_or_with_two_points():
    assert S.knee([1, 2, 3, 4], [8.0, 6, 4, 2])[0] is None
    assert S.knee([1, 2], [8.0, 2])[0] is None


def test_elbow_is_the_best_of_seeded_restarts(blobs):
    X, _ = blobs
    calls = []
    res = S.elbow(X, [4, 1, 2, 3, 5, 6], n_init=3, seed=10, on_progress=lambda d, t: calls.append((d, t)))
    assert res.ks.tolist() == [1, 2, 3, 4, 5, 6]
    assert calls == [(i, 18) for i in range(1, 19)]
    assert res.restarts.shape == (6, 3)
    for i, k in enumerate(res.ks):
        runs = [trace_kmeans(X, int(k), seed=10 + r).steps[-1].inertia for r in range(3)]
        np.testing.assert_allclose(res.restarts[i], runs, rtol=1e-12)
        assert res.inertia[i] == pytest.approx(min(runs), rel=1e-12)
        # The seed reproduces the best run in the k-means lab.
        again = trace_kmeans(X, int(k), init="k-means++", seed=int(res.seeds[i]))
        assert again.steps[-1].inertia == pytest.approx(res.inertia[i], rel=1e-12)
    # On clear blobs the best inertia falls with k and the knee is the number of blobs.
    assert np.all(np.diff(res.inertia) <= 1e-9 * res.inertia[0])
    assert res.knee == 3
    assert not res.inertia.flags.writeable and not res.seeds.flags.writeable


def test_elbow_validates_and_progress_can_stop(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="at most the number of points"):
        S.elbow(X[:5], [2, 9])
    with pytest.raises(ValueError, match="repeat"):
        S.elbow(X, [2, 2])

    class Stop(Exception):
        pass

    def stop(done, total):
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        S.elbow(X, [1, 2, 3], n_init=2, on_progress=stop)


# ---------------------------------------------------------------------------- silhouette


def _labellings(X, y):
    rng = np.random.default_rng(0)
    n = len(X)
    noisy = y.copy()
    noisy[rng.choice(n, 12, replace=False)] = -1
    singletons = y.copy()
    singletons[[0, 5]] = [7, 8]  # two clusters of one point
    return {
        "true": y,
        "random4": rng.integers(0, 4, n),
        "two": (X[:, 0] > X[:, 0].mean()).astype(int),
        "noise": noisy,
        "singletons": singletons,
        "singletons+noise": np.where(noisy == -1, -1, singletons),
        "strided labels": y * 10 + 3,
    }


@pytest.mark.parametrize("name", ["true", "random4", "two", "noise", "singletons",
                                  "singletons+noise", "strided labels"])
def test_silhouette_equals_sklearn(blobs, name):
    X, y = blobs
    labels = _labellings(X, y)[name]
    keep = labels != -1
    ours = S.silhouette_samples(X, labels)
    ref = sk_metrics.silhouette_samples(X[keep], labels[keep])
    np.testing.assert_allclose(ours[keep], ref, rtol=1e-9, atol=1e-9)
    assert np.all(np.isnan(ours[~keep]))
    assert S.silhouette_score(X, labels) == pytest.approx(sk_metrics.silhouette_score(X[keep], labels[keep]), abs=1e-10)
    if "singletons" in name:
        alone = [i for i in (0, 5) if keep[i]]
        assert alone and np.all(ours[alone] == 0.0)


@pytest.mark.parametrize("metric", ["manhattan", "cosine", "chebyshev", "sqeuclidean"])
def test_silhouette_other_metrics_equal_sklearn(small, metric):
    labels = np.repeat([0, 1, 2, 1, 0], 10)
    ref = sk_metrics.silhouette_samples(small, labels, metric=metric)
    np.testing.assert_allclose(S.silhouette_samples(small, labels, metric=metric), ref, rtol=1e-9, atol=1e-9)


def test_silhouette_precomputed(small):
    from scipy.spatial.distance import cdist

    D = cdist(small, small)
    labels = np.repeat([0, 1], 25)
    labels[3] = -1
    keep = labels != -1
    ref = sk_metrics.silhouette_samples(D[np.ix_(keep, keep)], labels[keep], metric="precomputed")
    np.testing.assert_allclose(S.silhouette_samples(D, labels, metric="precomputed")[keep], ref, rtol=1e-12)


def test_silhouette_needs_two_clusters(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="at least 2 clusters"):
        S.silhouette_score(X, np.zeros(len(X), int))
    with pytest.raises(ValueError, match="besides noise"):
        S.silhouette_samples(X, np.where(y == 0, 0, -1))
    with pytest.raises(ValueError, match="fewer clusters than points"):
        S.silhouette_samples(X[:4], [0, 1, 2, 3])
    with pytest.raises(ValueError, match="metric"):
        S.silhouette_samples(X, y, metric="hamming-ish")


# ---------------------------------------------------------------------------- BIC / AIC


def _sklearn_mixture(snap, covariance_type):
    k, d = snap.means.shape
    cov = np.asarray(snap.covariances)
    gm = GaussianMixture(n_components=k, covariance_type=covariance_type)
    gm.weights_ = np.asarray(snap.weights).copy()
    gm.means_ = np.asarray(snap.means).copy()
    if covariance_type == "full":
        gm.covariances_ = cov.copy()
        gm.precisions_cholesky_ = precision_cholesky(cov)
    elif covariance_type == "tied":
        gm.covariances_ = cov[0].copy()
        gm.precisions_cholesky_ = precision_cholesky(cov[:1])[0]
    elif covariance_type == "diag":
        var = np.diagonal(cov, axis1=1, axis2=2).copy()
        gm.covariances_ = var
        gm.precisions_cholesky_ = 1.0 / np.sqrt(var)
    else:
        var = cov[:, 0, 0].copy()
        gm.covariances_ = var
        gm.precisions_cholesky_ = 1.0 / np.sqrt(var)
    return gm


def test_bic_aic_equal_sklearn(small):
    X = small
    types = ("full", "tied", "diag", "spherical")
    calls = []
    res = S.information_criteria(X, [3, 1, 2], types, seed=4, on_progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, 12) for i in range(1, 13)]
    assert res.ks.tolist() == [1, 2, 3] and res.covariance_types == types
    assert res.bic.shape == res.aic.shape == res.n_parameters.shape == (4, 3)
    assert not res.errors and np.all(res.seeds == 4)
    for t, ct in enumerate(types):
        for i, k in enumerate(res.ks):
            trace = trace_em(X, int(k), covariance_type=ct, init="kmeans", seed=int(res.seeds[t, i]))
            gm = _sklearn_mixture(trace.steps[-1], ct)
            assert res.bic[t, i] == pytest.approx(gm.bic(X), rel=1e-8)
            assert res.aic[t, i] == pytest.approx(gm.aic(X), rel=1e-8)
            assert res.n_parameters[t, i] == gm._n_parameters()
        assert res.best_bic[ct] == int(res.ks[np.argmin(res.bic[t])])
        assert res.best("aic")[ct] == int(res.ks[np.argmin(res.aic[t])])
    # Two well separated groups: BIC of full covariances picks k = 2.
    assert res.best_bic["full"] == 2


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("k,d", [(1, 1), (3, 2), (5, 4)])
def test_n_parameters_equals_sklearn(ct, k, d):
    gm = GaussianMixture(n_components=k, covariance_type=ct)
    gm.means_ = np.zeros((k, d))
    assert S.n_parameters(k, d, ct) == gm._n_parameters()


def test_n_parameters_fixed_and_errors():
    assert S.n_parameters(3, 2, "fixed") == 3 * 2 + 2
    with pytest.raises(ValueError, match="covariance_type"):
        S.n_parameters(2, 2, "banana")
    with pytest.raises(ValueError, match="covariance_type"):
        S.information_criteria(np.zeros((5, 2)) + np.arange(5)[:, None], [1], ["nope"])


def test_failed_fit_is_nan_with_a_reason():
    # Three distinct points, k = 3, no regularisation: the covariances collapse.
    X = np.array([[0.0, 0], [0, 0], [1, 1], [1, 1], [2, 0], [2, 0]])
    res = S.information_criteria(X, [1, 3], ("full",), reg_covar=0.0)
    assert math.isfinite(res.bic[0, 0])
    assert math.isnan(res.bic[0, 1]) and ("full", 3) in res.errors
    assert res.best_bic["full"] == 1


# ---------------------------------------------------------------------------- ARI / contingency


def _pairs():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, 60)
    b = rng.integers(-1, 4, 60)
    return [
        (a, b),
        (a, a),
        (a, (a + 1) % 3 * 5),  # the same partition under other names
        (a, np.zeros(60, int)),
        (np.zeros(60, int), np.zeros(60, int)),
        (np.arange(60), np.arange(60)),
        (a, np.arange(60)),
        (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])),
    ]


@pytest.mark.parametrize("i", range(8))
def test_ari_and_contingency_equal_sklearn(i):
    t, p = _pairs()[i]
    assert S.adjusted_rand_index(t, p) == pytest.approx(sk_metrics.adjusted_rand_score(t, p), abs=1e-12)
    classes, clusters, counts = S.contingency_table(t, p)
    np.testing.assert_array_equal(counts, contingency_matrix(t, p))
    np.testing.assert_array_equal(classes, np.unique(t))
    np.testing.assert_array_equal(clusters, np.unique(p))
    assert counts.sum() == len(t) and not counts.flags.writeable


def test_ari_is_one_for_renamed_partitions():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert S.adjusted_rand_index(a, 2 - a) == 1.0
    with pytest.raises(ValueError, match="one entry per point"):
        S.contingency_table(a, a[:3])
