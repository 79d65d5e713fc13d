"""Tests for tracelab.labs.em.engine (EM traces) and the k-means pieces EM's init uses."""

from __future__ import annotations

import json
import math
import pickle
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from tracelab.labs.em import engine as gmm
from tracelab.labs.em import mixture
from tracelab.record.arrays import digest
from tracelab.data import Dataset
from tracelab.labs.em.engine import (
    COVARIANCE_TYPES,
    INITS,
    EMSnapshot,
    effective_reg_covar,
    estimate_parameters,
    evidence_lower_bound,
    iter_em,
    log_likelihood,
    responsibilities,
    trace_em,
    weighted_log_prob,
)
from tracelab.labs.kmeans.kmeans import kmeans_plusplus, lloyd
from tracelab.record.trace import Trace

SK_TYPES = ("full", "tied", "diag", "spherical")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def blobs(n=120, d=2, k=3, seed=0, spread=4.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(k, d))
    labels = np.arange(n) % k
    scales = rng.uniform(0.5, 1.5, size=(k, d))
    return centers[labels] + rng.normal(size=(n, d)) * scales[labels]


def random_start(rng, X, k, ctype):
    """A start with the structure of ``ctype``: our full matrices and sklearn's precisions."""
    n, d = X.shape
    means = X[rng.choice(n, size=k, replace=False)] + rng.normal(scale=0.1, size=(k, d))
    weights = rng.dirichlet(np.full(k, 3.0))
    if ctype == "full":
        B = rng.normal(size=(k, d, d))
        covs = B @ B.transpose(0, 2, 1) + np.eye(d)
        prec = np.linalg.inv(covs)
    elif ctype == "tied":
        B = rng.normal(size=(d, d))
        C = B @ B.T + np.eye(d)
        covs = np.repeat(C[None], k, axis=0)
        prec = np.linalg.inv(C)
    elif ctype == "diag":
        v = rng.uniform(0.5, 3.0, size=(k, d))
        covs = v[:, :, None] * np.eye(d)
        prec = 1.0 / v
    else:
        v = rng.uniform(0.5, 3.0, size=k)
        covs = v[:, None, None] * np.eye(d)
        prec = 1.0 / v
    return means, weights, covs, prec


def sk_full(cov, ctype, k, d):
    if ctype == "full":
        return cov
    if ctype == "tied":
        return np.repeat(cov[None], k, axis=0)
    if ctype == "diag":
        return cov[:, :, None] * np.eye(d)
    return cov[:, None, None] * np.eye(d)


def assert_rel(actual, expected, rtol):
    """Elementwise relative agreement, with the array's scale as the floor."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def slack(value, n, cond=1.0):
    """Rounding allowance for a sum of n per-point log-densities.

    Rounding in a covariance with condition number ``cond`` moves every log-density by
    about ``cond * eps``: collapsed components (variance down at reg_covar next to
    variances of hundreds) make that the larger term.
    """
    return 1e-9 * (abs(value) + n) + 1e-15 * n * cond


def reg_cost(step, n, ctype, reg_covar):
    """How much adding ``reg_covar`` to the M-step's covariances can cost in Q.

    EM guarantees ``ll(new) - ll(old) >= Q(new) - Q(old)``, and the unregularised
    maximiser of Q beats the old parameters; with Sigma = S + eps I instead of S, each
    eigenvalue lambda of S loses ``nk/2 * (log(1 + u) - u/(1 + u))``, u = eps/lambda.
    So with reg_covar > 0 (scikit-learn's regularisation) the log-likelihood may fall,
    by at most this. It is 0 without regularisation, negligible while variances are
    far above reg_covar, and unbounded (inf) once a component has collapsed onto
    points whose scatter is 0 in some direction.
    """
    if ctype == "fixed" or reg_covar == 0:
        return 0.0
    nk = step.weights * n
    cov = step.covariances
    d = cov.shape[1]
    if ctype == "full":
        lam, mult = np.linalg.eigvalsh(cov) - reg_covar, nk[:, None]
    elif ctype == "tied":
        lam, mult = np.linalg.eigvalsh(cov[:1]) - reg_covar, np.full((1, 1), float(n))
    elif ctype == "diag":
        lam, mult = np.diagonal(cov, axis1=1, axis2=2) - reg_covar, nk[:, None]
    else:
        lam, mult = cov[:, :1, 0] - reg_covar, d * nk[:, None]
    noise = 1e3 * np.finfo(float).eps * np.abs(cov).max()
    if np.any(lam <= noise):
        return math.inf
    u = reg_covar / lam
    return float((mult / 2 * (np.log1p(u) - u / (1 + u))).sum())


def check_trace(trace, X, *, ctype=None, reg_covar=1e-6, fixed_variance=1.0, deep=True):
    """Every invariant, on every snapshot of a trace.

    Returns (M-steps, M-steps whose "the log-likelihood never falls" check had a finite
    allowance): with reg_covar > 0 a collapsed component makes the allowance infinite,
    and the check vacuous.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    n, d = X.shape
    steps = trace.steps
    assert trace.algorithm == "em"
    assert trace.X.dtype == np.float64 and not trace.X.flags.writeable
    assert np.array_equal(trace.X, X)
    assert trace.data_digest == digest(trace.X)
    ctype = ctype or trace.params["covariance_type"]
    k = trace.params["n_components"]
    reg_eff = effective_reg_covar(X, reg_covar)
    assert len(steps) == 1 + 2 * trace.n_iter
    assert trace.n_iter <= trace.params["max_iter"]
    if trace.params["tol"] == 0:
        assert trace.n_iter == trace.params["max_iter"] and not trace.converged
    assert isinstance(trace.message, str) and trace.message
    cond = max(float(np.linalg.cond(s.covariances).max()) for s in steps) * d

    def slack_(value):
        return slack(value, n, cond)

    prev_m = None
    m_steps = real_checks = 0
    for i, s in enumerate(steps):
        assert isinstance(s, EMSnapshot)
        assert s.index == i
        phase = "init" if i == 0 else ("E" if i % 2 else "M")
        assert s.phase == phase
        assert s.iteration == (i + 1) // 2
        assert s.message and s.message.endswith(".")
        assert s.means.shape == (k, d) and s.covariances.shape == (k, d, d) and s.weights.shape == (k,)
        assert s.n_components == k
        for a in (s.means, s.covariances, s.weights):
            assert not a.flags.writeable
            assert np.all(np.isfinite(a))
        assert np.all(s.weights > 0)
        assert abs(s.weights.sum() - 1) < 1e-12
        assert np.array_equal(s.covariances, s.covariances.transpose(0, 2, 1))
        assert np.all(np.linalg.eigvalsh(s.covariances) > 0)
        np.linalg.cholesky(s.covariances)
        assert np.array_equal(s.variances, np.diagonal(s.covariances, axis1=1, axis2=2))
        assert isinstance(s.log_likelihood, float) and math.isfinite(s.log_likelihood)
        if ctype == "fixed":
            assert np.array_equal(s.covariances, fixed_variance * np.broadcast_to(np.eye(d), (k, d, d)))
        elif i > 0:
            if ctype == "tied":
                assert all(np.array_equal(c, s.covariances[0]) for c in s.covariances)
            if ctype in ("diag", "spherical"):
                off = s.covariances * (1 - np.eye(d))
                assert not off.any()
            if ctype == "spherical":
                v = s.variances
                assert np.array_equal(v, np.repeat(v[:, :1], d, axis=1))
        if deep or i in (0, 1, 2, len(steps) - 1):
            r = s.responsibilities
            assert r.shape == (n, k) and not r.flags.writeable
            assert np.all(np.isfinite(r)) and np.all(r >= 0) and np.all(r <= 1)
            np.testing.assert_allclose(r.sum(axis=1), 1.0, atol=1e-12)
            # The stored log-likelihood is the data's under the snapshot's own parameters.
            assert s.log_likelihood == log_likelihood(X, s.means, s.covariances, s.weights)
        if phase == "init":
            assert s.lower_bound is None and s.resp_means is None
            prev_m = s
        elif phase == "E":
            assert s.lower_bound is None and s.resp_means is None
            prev = steps[i - 1]
            assert np.array_equal(s.means, prev.means)
            assert np.array_equal(s.covariances, prev.covariances)
            assert np.array_equal(s.weights, prev.weights)
            assert s.log_likelihood == prev.log_likelihood
            if deep:
                # After the E-step the bound touches the log-likelihood.
                gap = evidence_lower_bound(X, s.responsibilities, s.means, s.covariances, s.weights)
                assert abs(gap - s.log_likelihood) <= slack_(s.log_likelihood)
        else:
            e = steps[i - 1]
            assert isinstance(s.lower_bound, float) and math.isfinite(s.lower_bound)
            assert np.array_equal(s.resp_means, e.means)
            assert np.array_equal(s.resp_covariances, e.covariances)
            assert np.array_equal(s.resp_weights, e.weights)
            # M-step: the bound rises from the old log-likelihood (up to what reg_covar
            # costs) and stays below the new one (Jensen, no exceptions).
            cost = reg_cost(s, n, ctype, reg_eff)
            m_steps += 1
            real_checks += math.isfinite(cost)
            assert s.lower_bound <= s.log_likelihood + slack_(s.log_likelihood)
            assert s.lower_bound >= e.log_likelihood - slack_(e.log_likelihood) - cost
            # The log-likelihood never falls from one M-step to the next (same caveat).
            assert s.log_likelihood >= prev_m.log_likelihood - slack_(prev_m.log_likelihood) - cost
            prev_m = s
            if deep or i == len(steps) - 1:
                assert np.array_equal(s.responsibilities, e.responsibilities)
                # The M snapshot carries exactly the responsibilities it was computed from.
                w, mu, cov = estimate_parameters(
                    X, s.responsibilities, ctype, reg_covar, fixed_variance
                )
                assert np.array_equal(w, s.weights)
                assert np.array_equal(mu, s.means)
                assert np.array_equal(cov, s.covariances)
                bound = evidence_lower_bound(X, s.responsibilities, s.means, s.covariances, s.weights)
                assert abs(bound - s.lower_bound) <= slack_(bound)
    return m_steps, real_checks


# ---------------------------------------------------------------------------
# Parity with scikit-learn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", SK_TYPES)
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 6])
def test_parameters_match_sklearn(ctype, d):
    rng = np.random.default_rng(100 + d)
    k = 3
    X = blobs(150, d, k, seed=d)
    means, weights, covs, prec = random_start(rng, X, k, ctype)
    for m in (1, 4, 15):
        trace = trace_em(
            X, k, covariance_type=ctype, means_init=means, weights_init=weights,
            covariances_init=covs, tol=0, max_iter=m,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm = GaussianMixture(
                k, covariance_type=ctype, tol=0, max_iter=m, means_init=means,
                weights_init=weights, precisions_init=prec,
            ).fit(X)
        last = trace.steps[-1]
        assert trace.n_iter == gm.n_iter_ == m
        assert_rel(last.means, gm.means_, 1e-8)
        assert_rel(last.weights, gm.weights_, 1e-8)
        assert_rel(last.covariances, sk_full(gm.covariances_, ctype, k, d), 1e-8)
        # sklearn's lower_bounds_ are the mean log-likelihoods its E-steps computed.
        e_ll = [s.log_likelihood / len(X) for s in trace.steps if s.phase == "E"]
        np.testing.assert_allclose(e_ll, gm.lower_bounds_, rtol=1e-10)


@pytest.mark.parametrize("ctype", SK_TYPES)
def test_convergence_rule_matches_sklearn(ctype):
    rng = np.random.default_rng(7)
    X = blobs(200, 2, 3, seed=3, spread=2.0)
    means, weights, covs, prec = random_start(rng, X, 3, ctype)
    trace = trace_em(
        X, 3, covariance_type=ctype, means_init=means, weights_init=weights,
        covariances_init=covs, tol=1e-3, max_iter=200,
    )
    gm = GaussianMixture(
        3, covariance_type=ctype, tol=1e-3, max_iter=200, means_init=means,
        weights_init=weights, precisions_init=prec,
    ).fit(X)
    assert trace.converged and gm.converged_
    assert trace.n_iter == gm.n_iter_
    assert 1 < trace.n_iter < 200
    assert "converged" in trace.message
    assert_rel(trace.steps[-1].means, gm.means_, 1e-8)


# ---------------------------------------------------------------------------
# Invariants on every snapshot
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", COVARIANCE_TYPES)
@pytest.mark.parametrize("init", INITS)
def test_invariants_on_every_snapshot(ctype, init):
    X = blobs(90, 2, 3, seed=11, spread=2.5)
    trace = trace_em(X, 3, covariance_type=ctype, init=init, seed=5, tol=0, max_iter=12)
    check_trace(trace, X)


@pytest.mark.parametrize("ctype", SK_TYPES)
def test_without_regularisation_the_log_likelihood_strictly_never_falls(ctype):
    X = blobs(200, 2, 3, seed=31, spread=2.0)
    trace = trace_em(X, 3, covariance_type=ctype, init="random_from_data", seed=1, reg_covar=0.0, tol=0, max_iter=30)
    check_trace(trace, X, reg_covar=0.0)  # reg_cost is 0: only rounding slack is allowed
    m = [s.log_likelihood for s in trace.steps if s.phase != "E"]
    assert all(b >= a - 1e-9 * abs(a) for a, b in zip(m, m[1:]))
    assert m[-1] > m[0] + 1.0


def test_log_likelihood_never_falls_property():
    """Every invariant on random data; the monotonicity check must not be vacuous.

    With reg_covar > 0 a collapsed component makes the allowed fall (reg_cost)
    infinite, so count how many M-steps were checked against a finite allowance.
    The data are deliberately awkward (duplicates, k = n, one point), so many
    components collapse: about 20-60% of M-steps get a real check, depending on
    the draw. The examples are derandomised so that share is the same every run,
    but Hypothesis also draws from literals it finds in the project's source, so an
    edit anywhere in the package moves it (43% before, 20% after the convergence
    messages grew); 15% still means dozens of real checks. Strict monotonicity on
    data where nothing collapses is
    test_without_regularisation_the_log_likelihood_never_falls_property.
    """
    counts = []

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              derandomize=True)
    @given(data=st.data())
    def run(data):
        counts.append(_never_falls_example(data))

    run()
    m_steps = sum(c[0] for c in counts)
    real = sum(c[1] for c in counts)
    assert m_steps > 0 and real >= 0.15 * m_steps, (real, m_steps)


def _never_falls_example(data):
    n = data.draw(st.integers(1, 25), label="n")
    d = data.draw(st.integers(1, 3), label="d")
    k = data.draw(st.integers(1, min(n, 4)), label="k")
    X = data.draw(
        arrays(
            np.float64, (n, d),
            elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False, allow_subnormal=False),
        ),
        label="X",
    )
    ctype = data.draw(st.sampled_from(COVARIANCE_TYPES), label="covariance_type")
    init = data.draw(st.sampled_from(INITS), label="init")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    fixed_variance = data.draw(st.sampled_from([0.01, 1.0, 25.0]), label="fixed_variance")
    trace = trace_em(
        X, k, covariance_type=ctype, init=init, seed=seed, tol=0, max_iter=10,
        fixed_variance=fixed_variance,
    )
    return check_trace(trace, X, fixed_variance=fixed_variance, deep=n <= 12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_without_regularisation_the_log_likelihood_never_falls_property(data):
    """reg_covar = 0: EM's guarantee is exact, so only rounding may lower the log-likelihood."""
    d = data.draw(st.integers(1, 3), label="d")
    k = data.draw(st.integers(1, 4), label="k")
    # Enough points in general position that no component collapses (which, without
    # regularisation, is a ValueError rather than a step).
    n = data.draw(st.integers(max(8, 4 * k * (d + 1)), 80), label="n")
    X = blobs(n, d, k, seed=data.draw(st.integers(0, 2**16), label="data_seed"),
              spread=data.draw(st.sampled_from([0.5, 2.0, 6.0]), label="spread"))
    ctype = data.draw(st.sampled_from(COVARIANCE_TYPES), label="covariance_type")
    init = data.draw(st.sampled_from(INITS), label="init")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    try:
        trace = trace_em(X, k, covariance_type=ctype, init=init, seed=seed, reg_covar=0.0,
                         tol=0, max_iter=15)
    except ValueError as exc:
        assert "increase reg_covar" in str(exc)
        assume(False)
    # A component that collapses onto one point has an unbounded likelihood; without
    # regularisation its variance sinks towards 1e-29 and rounding rules. Only runs
    # where no component collapsed make EM's guarantee a property of the arithmetic.
    assume(min(float(s.variances.min()) for s in trace.steps) > 1e-10 * float(X.var()))
    m_steps, real = check_trace(trace, X, reg_covar=0.0, deep=False)
    assert real == m_steps  # reg_cost is 0: every check is strict
    lls = [s.log_likelihood for s in trace.steps if s.phase != "E"]
    for a, b in zip(lls, lls[1:]):
        assert b >= a - 1e-9 * abs(a), (a, b)


# ---------------------------------------------------------------------------
# Awkward data
# ---------------------------------------------------------------------------


def _awkward():
    rng = np.random.default_rng(3)
    base = blobs(40, 2, 2, seed=4)
    line_x = rng.normal(size=30)
    plane = rng.normal(size=(30, 2)) @ np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 3.0]])
    distinct = rng.normal(size=(8, 2))
    return {
        "duplicated": (np.repeat(rng.normal(size=(5, 2)), 6, axis=0), 3),
        "all_identical": (np.ones((10, 2)) * 3.3, 2),
        "collinear": (np.column_stack([line_x, 2 * line_x + 1]), 2),
        "coplanar_3d": (plane, 3),
        "constant_column": (np.column_stack([base[:, 0], np.full(40, 5.0)]), 2),
        "offset_1e7": (base + 1e7, 2),
        "scale_1e-7": (base * 1e-7, 2),
        "scale_1e7": (base * 1e7, 2),
        "k_equals_n": (distinct, 8),
        "k_equals_n_duplicates": (np.repeat(distinct[:3], 2, axis=0), 6),
        "one_point": (np.array([[1.0, 2.0]]), 1),
        "one_feature": (rng.normal(size=(25, 1)), 2),
    }


AWKWARD = _awkward()


def test_large_scale_collinear_duplicates_get_a_floor_on_reg_covar():
    # Prices in the hundreds of thousands, on a line, with repeats: reg_covar = 1e-6
    # is far below the rounding of covariance entries ~1e10, so it is raised.
    x = np.repeat(np.array([120_000.0, 185_000.0, 250_000.0, 410_000.0]), 3)
    X = np.column_stack([x, 0.8 * x + 5_000.0])
    assert effective_reg_covar(X) == pytest.approx(1e-12 * X.var(axis=0).max())
    assert effective_reg_covar(np.eye(3)) == 1e-6
    assert effective_reg_covar(X, 0.0) == 0.0
    for ctype in COVARIANCE_TYPES:
        trace = trace_em(X, 2, covariance_type=ctype, seed=0, tol=0, max_iter=6)
        check_trace(trace, X)
        if ctype != "fixed":
            assert "reg_covar raised from 1e-06 to" in trace.steps[0].message


@pytest.mark.parametrize("name", sorted(AWKWARD))
@pytest.mark.parametrize("ctype", COVARIANCE_TYPES)
def test_awkward_data_stays_finite_and_positive_definite(name, ctype):
    X, k = AWKWARD[name]
    for init in ("kmeans", "random"):
        trace = trace_em(X, k, covariance_type=ctype, init=init, seed=1, tol=0, max_iter=8)
        check_trace(trace, X)


@pytest.mark.parametrize("name", ["duplicated", "all_identical", "k_equals_n", "k_equals_n_duplicates"])
def test_collapsing_components_are_named(name):
    X, k = AWKWARD[name]
    trace = trace_em(X, k, seed=0, tol=0, max_iter=3)
    assert any("collapsing" in s.message for s in trace.steps if s.phase == "M")
    assert "component" in trace.steps[-1].message


def test_collapse_to_a_few_duplicates_is_named_with_reg_covar():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40, 2)), np.full((3, 2), 25.0)])
    means = np.array([[0.0, 0.0], [25.0, 25.0]])
    trace = trace_em(X, 2, init="random_from_data", means_init=means, seed=0, tol=0, max_iter=5)
    msg = trace.steps[-1].message
    assert "component 2 is collapsing" in msg and "reg_covar" in msg
    assert "component 1" not in msg


def test_collapse_by_weight_is_named():
    X = blobs(60, 2, 1, seed=2)
    means = np.array([X.mean(axis=0), X.mean(axis=0) + 1e3])
    trace = trace_em(X, 2, covariance_type="fixed", means_init=means, tol=0, max_iter=2)
    m1 = trace.steps[2].message
    assert "component 2 is collapsing (weight" in m1 and "less than one point" in m1


def test_healthy_fit_names_no_collapse():
    X = blobs(150, 2, 3, seed=9, spread=6.0)
    trace = trace_em(X, 3, seed=0)
    assert not any("collapsing" in s.message for s in trace.steps)


# ---------------------------------------------------------------------------
# Impossible requests
# ---------------------------------------------------------------------------

X6 = np.arange(12, dtype=float).reshape(6, 2) ** 1.5

BAD = [
    (dict(X=X6, n_components=0), r"n_components should be at least 1, but got 0"),
    (dict(X=X6, n_components=9), r"at most the number of points \(6\), but got 9"),
    (dict(X=X6, n_components=2.5), r"n_components should be a whole number"),
    (dict(X=X6, n_components=True), r"n_components should be a whole number"),
    (dict(X=np.where(X6 > 10, np.nan, X6), n_components=2), r"NaN or infinite values in 4 rows"),
    (dict(X=np.where(X6 > 20, np.inf, X6), n_components=2), r"NaN or infinite"),
    (dict(X=np.zeros((0, 2)), n_components=1), r"X has no points"),
    (dict(X=X6 * 1e200, n_components=2), r"X holds values as large as .*scale the data"),
    (dict(X=np.zeros((3, 2, 2)), n_components=1), r"X should be 2-D"),
    (dict(X=[["a", "b"]], n_components=1), r"X should be a table of numbers"),
    (dict(covariance_type="ful"), r"covariance_type should be one of 'full', 'tied', 'diag', 'spherical', 'fixed', but got 'ful'"),
    (dict(init="kmeans++"), r"init should be one of 'kmeans', 'k-means\+\+', 'random_from_data', 'random'"),
    (dict(reg_covar=-1e-6), r"reg_covar should be at least 0"),
    (dict(reg_covar=float("nan")), r"reg_covar should be a finite number"),
    (dict(tol=-0.1), r"tol should be at least 0 \(0 runs exactly max_iter"),
    (dict(max_iter=0), r"max_iter should be at least 1, but got 0"),
    (dict(max_iter=2.5), r"max_iter should be a whole number"),
    (dict(fixed_variance=0.0, covariance_type="fixed"), r"fixed_variance should be positive"),
    (dict(seed="abc"), r"seed should be a whole number"),
    (dict(seed=-1), r"seed should be at least 0"),
    (dict(means_init=np.zeros((3, 2))), r"means_init should have shape \(2, 2\)"),
    (dict(means_init=[[0, np.nan], [1, 1]]), r"means_init holds NaN"),
    (dict(weights_init=[1.0]), r"weights_init should have shape \(2,\)"),
    (dict(weights_init=[1.2, -0.2]), r"weights_init should all be positive, but component 2"),
    (dict(weights_init=[0.3, 0.3]), r"weights_init should sum to 1, but they sum to 0.6"),
    (dict(covariances_init=np.ones((2, 2))), r"covariances_init should have shape \(2, 2, 2\)"),
    (dict(covariances_init=np.stack([np.eye(2), np.ones((2, 2))])), r"covariances_init\[1\] should be positive definite"),
    (dict(covariances_init=np.stack([np.eye(2), -np.eye(2)])), r"covariances_init\[1\] should be positive definite"),
    (dict(covariances_init=np.stack([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])), r"covariances_init\[1\] should be symmetric"),
    (dict(covariance_type="fixed", covariances_init=np.stack([np.eye(2)] * 2)), r"set fixed_variance instead"),
]


@pytest.mark.parametrize("kwargs, pattern", BAD)
def test_impossible_requests_raise_value_error(kwargs, pattern):
    kwargs = dict(kwargs)
    X = kwargs.pop("X", X6)
    k = kwargs.pop("n_components", 2)
    with pytest.raises(ValueError, match=pattern) as info:
        trace_em(X, k, **kwargs)
    assert type(info.value) is ValueError  # not np.linalg.LinAlgError, a ValueError subclass


def test_iter_em_validates_before_the_first_step():
    with pytest.raises(ValueError, match="n_components"):
        iter_em(X6, 0)


@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
def test_collapse_without_reg_covar_is_a_value_error_not_linalg_error(ctype):
    identical = np.full((6, 2), 3.0)
    duplicated = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 1.0]]), 4, axis=0)
    # Rounding can leave a diagonal variance a hair above 0 (a valid, if extreme, fit);
    # a full matrix of duplicates is singular for sure.
    cases = [identical, duplicated] if ctype == "full" else [identical]
    for X in cases:
        with pytest.raises(ValueError, match=r"increase reg_covar \(now 0\)") as info:
            trace_em(X, 3, covariance_type=ctype, reg_covar=0.0, seed=0)
        assert type(info.value) is ValueError


def test_non_positive_definite_start_from_data_is_a_value_error():
    X = np.column_stack([np.arange(10.0), np.full(10, 2.0)])
    with pytest.raises(ValueError, match="increase reg_covar") as info:
        trace_em(X, 2, init="random_from_data", reg_covar=0.0, seed=0)
    assert type(info.value) is ValueError


# ---------------------------------------------------------------------------
# Determinism, fixed covariances, init modes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("init", INITS)
def test_same_seed_same_trace(init):
    X = blobs(80, 2, 3, seed=1)
    a = trace_em(X, 3, init=init, seed=42, max_iter=10)
    b = trace_em(X, 3, init=init, seed=42, max_iter=10)
    assert a == b
    assert all(s.message == t.message for s, t in zip(a.steps, b.steps))
    c = trace_em(X, 3, init=init, seed=43, max_iter=10)
    assert not np.array_equal(a.steps[0].means, c.steps[0].means)


def test_fixed_covariance_never_moves_and_means_weights_do():
    X = blobs(100, 2, 2, seed=5)
    trace = trace_em(X, 2, covariance_type="fixed", fixed_variance=2.5, seed=0, tol=0, max_iter=6)
    for s in trace.steps:
        assert np.array_equal(s.covariances, np.stack([2.5 * np.eye(2)] * 2))
    assert not np.array_equal(trace.steps[0].means, trace.steps[-1].means)
    assert not np.array_equal(trace.steps[0].weights, trace.steps[-1].weights)
    assert "fixed at 2.5·I" in trace.steps[0].message


def test_small_fixed_variance_gives_hard_nearest_mean_assignment():
    X = blobs(150, 2, 3, seed=6, spread=5.0)
    start = X[[0, 1, 2]]
    trace = trace_em(
        X, 3, covariance_type="fixed", fixed_variance=1e-6, means_init=start, tol=0, max_iter=4
    )
    for s in trace.steps:
        if s.phase != "E":
            continue
        r = s.responsibilities
        dist = ((X[:, None, :] - s.means[None]) ** 2).sum(axis=2)
        nearest = dist.argmin(axis=1)
        srt = np.sort(dist, axis=1)
        clear = srt[:, 1] - srt[:, 0] > 1e-3
        assert clear.mean() > 0.95
        assert np.array_equal(r.argmax(axis=1)[clear], nearest[clear])
        assert np.all(r.max(axis=1)[clear] > 1 - 1e-9)
    # With hard assignments the M-step is Lloyd's update of the means.
    centers, _ = lloyd(X, start, max_iter=1)
    np.testing.assert_allclose(trace.steps[2].means, centers, rtol=1e-9, atol=1e-9)


def test_init_random_from_data_and_kmeanspp_start_at_data_points():
    X = blobs(60, 3, 3, seed=8)
    cov = np.cov(X.T, bias=True) + 1e-6 * np.eye(3)
    for init in ("random_from_data", "k-means++"):
        s0 = trace_em(X, 3, init=init, seed=3, max_iter=1).steps[0]
        assert all((X == m).all(axis=1).any() for m in s0.means)
        assert np.array_equal(s0.weights, np.full(3, 1 / 3))
        for c in s0.covariances:
            np.testing.assert_allclose(c, cov, rtol=1e-12)
    s0 = trace_em(X, 3, init="random_from_data", covariance_type="spherical", seed=3, max_iter=1).steps[0]
    np.testing.assert_allclose(s0.covariances[0], np.diag(cov).mean() * np.eye(3), rtol=1e-12)
    s0 = trace_em(X, 3, init="k-means++", covariance_type="diag", seed=3, max_iter=1).steps[0]
    np.testing.assert_allclose(s0.covariances[1], np.diag(np.diag(cov)), rtol=1e-12)


def test_init_kmeans_uses_kmeans_clusters():
    X = blobs(90, 2, 3, seed=12, spread=6.0)
    s0 = trace_em(X, 3, init="kmeans", seed=4, max_iter=1).steps[0]
    centers, labels = lloyd(X, kmeans_plusplus(X, 3, np.random.default_rng(4)))
    expected = np.stack([X[labels == j].mean(axis=0) for j in range(3)])
    np.testing.assert_allclose(s0.means, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s0.weights, np.bincount(labels) / 90, rtol=1e-12)
    assert s0.message.startswith("Start (k-means): 3 Gaussians with means from k-means' clusters; log-likelihood -")


def test_init_random_is_an_m_step_of_random_responsibilities():
    X = blobs(50, 2, 2, seed=2)
    s0 = trace_em(X, 2, init="random", seed=9, max_iter=1).steps[0]
    rng = np.random.default_rng(9)
    resp = rng.uniform(size=(50, 2))
    resp /= resp.sum(axis=1, keepdims=True)
    w, mu, cov = estimate_parameters(X, resp, "full", 1e-6)
    np.testing.assert_allclose(s0.means, mu, rtol=1e-12)
    np.testing.assert_allclose(s0.weights, w, rtol=1e-12)
    np.testing.assert_allclose(s0.covariances, cov, rtol=1e-12)


def test_given_arrays_override_the_start():
    X = blobs(60, 2, 2, seed=3)
    means = np.array([[0.0, 0.0], [1.0, 1.0]])
    weights = np.array([0.25, 0.75])
    covs = np.stack([np.eye(2), 2 * np.eye(2)])
    s0 = trace_em(X, 2, means_init=means, seed=0, max_iter=1).steps[0]
    assert np.array_equal(s0.means, means)
    assert "means given" in s0.message
    s0 = trace_em(X, 2, weights_init=weights, covariances_init=covs, seed=0, max_iter=1).steps[0]
    assert np.array_equal(s0.weights, weights) and np.array_equal(s0.covariances, covs)
    s0 = trace_em(X, 2, means_init=means, weights_init=weights, covariances_init=covs, max_iter=1).steps[0]
    assert s0.message.startswith("Start (given parameters)")


# ---------------------------------------------------------------------------
# Trace, messages, serialisation
# ---------------------------------------------------------------------------


def test_trace_metadata_and_dataset_input():
    X = blobs(40, 2, 2, seed=0)
    ds = Dataset(X, columns=("a", "b"))
    t1 = trace_em(ds, 2, seed=1, max_iter=5)
    t2 = trace_em(X.tolist(), 2, seed=1, max_iter=5)
    assert t1 == t2
    assert t1.data_digest == ds.digest
    assert set(t1.params) == {
        "n_components", "covariance_type", "init", "means_init", "weights_init",
        "covariances_init", "fixed_variance", "reg_covar", "tol", "max_iter", "seed",
    }
    assert t1.params["n_components"] == 2 and t1.params["seed"] == 1 and t1.params["max_iter"] == 5


def test_messages_say_what_each_step_did():
    X = blobs(120, 2, 3, seed=13, spread=3.0)
    trace = trace_em(X, 3, init="random", seed=2, tol=0, max_iter=5)
    s = trace.steps
    assert s[0].message.startswith("Start (random): 3 Gaussians with parameters from random responsibilities; log-likelihood -")
    assert s[1].message.startswith("E-step: compute how much each Gaussian explains every point; each Gaussian is the most likely for ")
    assert "changed their most likely Gaussian" in s[3].message or "changed its most likely" in s[3].message
    assert s[2].message.startswith("M-step: means moved by up to ")
    assert "weights " in s[2].message and " → " in s[2].message
    before, after = s[2].message.split("log-likelihood ")[1].rstrip(".").split(" → ")
    assert float(before) == pytest.approx(s[1].log_likelihood, abs=0.06)
    assert float(after) == pytest.approx(s[2].log_likelihood, abs=0.06)
    changed = int(s[3].message.split("; ")[1].split(" ")[0])
    prev, now = s[1].responsibilities.argmax(axis=1), s[3].responsibilities.argmax(axis=1)
    assert changed == np.count_nonzero(prev != now)
    assert trace.message.startswith("EM ran all 5 iterations (tol = 0)")


def test_json_round_trip_is_exact_including_responsibilities():
    X = blobs(70, 3, 3, seed=21)
    for ctype in COVARIANCE_TYPES:
        trace = trace_em(X, 3, covariance_type=ctype, seed=3, max_iter=6, means_init=X[:3])
        back = Trace.from_json(trace.to_json())
        assert back == trace
        for a, b in zip(trace.steps, back.steps):
            assert b._X is back.X  # one shared copy of the data
            assert np.array_equal(a.responsibilities, b.responsibilities)
            assert np.array_equal(a.log_resp, b.log_resp)
            assert not b.responsibilities.flags.writeable
            assert a.message == b.message and a.lower_bound == b.lower_bound


def test_pickle_keeps_arrays_read_only_and_shared():
    X = blobs(50, 2, 2, seed=22)
    trace = trace_em(X, 2, seed=3, max_iter=4)
    back = pickle.loads(pickle.dumps(trace))
    assert back == trace
    assert not back.X.flags.writeable
    for a, b in zip(trace.steps, back.steps):
        assert b._X is back.X
        for name in ("means", "covariances", "weights", "resp_means", "resp_covariances", "resp_weights"):
            v = getattr(b, name)
            assert v is None or not v.flags.writeable
        assert not b.responsibilities.flags.writeable
        assert np.array_equal(a.responsibilities, b.responsibilities)
    with pytest.raises(ValueError):
        back.steps[1].means[0, 0] = 1.0


def test_snapshot_without_data_explains_itself():
    trace = trace_em(blobs(30, 2, 2), 2, seed=0, max_iter=2)
    alone = EMSnapshot.from_dict(trace.steps[2].to_dict())
    assert alone == trace.steps[2]
    with pytest.raises(ValueError, match="no data attached"):
        alone.responsibilities
    attached = EMSnapshot.from_dict(trace.steps[2].to_dict(), X=trace.X)
    assert np.array_equal(attached.responsibilities, trace.steps[2].responsibilities)
    with pytest.raises(ValueError, match="features"):
        EMSnapshot.from_dict(trace.steps[2].to_dict(), X=np.zeros((5, 3)))


def test_responsibilities_are_lazy_and_the_cache_is_bounded():
    n = 20_000
    X = blobs(n, 2, 4, seed=30)
    trace = trace_em(X, 4, seed=0, tol=0, max_iter=30)
    for s in trace.steps:  # no per-step (n, k) arrays: only small parameter arrays
        held = [v for name, v in vars(s).items() if isinstance(v, np.ndarray) and name != "_X"]
        assert sum(v.nbytes for v in held) < 2_000
    mixture._CACHE.clear()
    for s in trace.steps:
        s.responsibilities
        s.log_resp
    assert mixture._CACHE.nbytes <= mixture._CACHE_BYTES
    assert len(mixture._CACHE) >= 2
    # E_t and M_t share one cache entry; the log responsibilities match.
    e, m = trace.steps[-2], trace.steps[-1]
    assert m.responsibilities is e.responsibilities
    # Many blocks of points, the last one partial: still bit for bit what the run used.
    w, mu, cov = estimate_parameters(X, m.responsibilities, "full", 1e-6)
    assert np.array_equal(w, m.weights) and np.array_equal(mu, m.means) and np.array_equal(cov, m.covariances)
    assert m.log_likelihood == log_likelihood(X, m.means, m.covariances, m.weights)
    np.testing.assert_allclose(np.exp(e.log_resp), e.responsibilities, rtol=1e-12, atol=1e-300)


def test_cache_never_answers_for_other_data():
    X1 = blobs(40, 2, 2, seed=1)
    t1 = trace_em(X1, 2, seed=0, max_iter=2)
    r1 = t1.steps[1].responsibilities.copy()
    X2 = X1 + 1.0
    s = EMSnapshot.from_dict(t1.steps[1].to_dict(), X=X2)
    assert not np.array_equal(s.responsibilities, r1)
    assert np.array_equal(s.responsibilities, responsibilities(X2, s.means, s.covariances, s.weights))


# ---------------------------------------------------------------------------
# Public math
# ---------------------------------------------------------------------------


def test_public_math_matches_scipy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) + 1e3
    means = rng.normal(size=(2, 3)) + 1e3
    B = rng.normal(size=(2, 3, 3))
    covs = B @ B.transpose(0, 2, 1) + 0.5 * np.eye(3)
    w = np.array([0.3, 0.7])
    expected = np.column_stack(
        [multivariate_normal(means[j], covs[j]).logpdf(X) + np.log(w[j]) for j in range(2)]
    )
    np.testing.assert_allclose(weighted_log_prob(X, means, covs, w), expected, rtol=1e-10)
    r = responsibilities(X, means, covs, w)
    np.testing.assert_allclose(r, np.exp(expected - logsumexp(expected, axis=1, keepdims=True)), rtol=1e-9)
    assert log_likelihood(X, means, covs, w) == pytest.approx(logsumexp(expected, axis=1).sum(), rel=1e-12)
    grid = np.stack(np.meshgrid(np.linspace(998, 1002, 7), [1e3], [1e3]), -1).reshape(-1, 3)
    assert weighted_log_prob(grid, means, covs, w).shape == (7, 2)
    assert evidence_lower_bound(X, r, means, covs, w) == pytest.approx(log_likelihood(X, means, covs, w), rel=1e-12)
    worse = np.full_like(r, 0.5)
    assert evidence_lower_bound(X, worse, means, covs, w) < log_likelihood(X, means, covs, w)
    with pytest.raises(ValueError, match="not positive definite"):
        weighted_log_prob(X, means, -covs, w)


def test_stable_far_from_origin_and_tiny_scales():
    X = blobs(80, 2, 2, seed=14)
    t = trace_em(X, 2, seed=0, tol=0, max_iter=10)
    for shift, scale in ((1e7, 1.0), (0.0, 1e-3)):
        t2 = trace_em(X * scale + shift, 2, seed=0, tol=0, max_iter=10, reg_covar=1e-6 * scale**2)
        np.testing.assert_allclose((t2.steps[-1].means - shift) / scale, t.steps[-1].means, rtol=1e-6, atol=1e-6)
        expected_ll = t.steps[-1].log_likelihood - 80 * 2 * np.log(scale)
        assert t2.steps[-1].log_likelihood == pytest.approx(expected_ll, rel=1e-7)


# ---------------------------------------------------------------------------
# k-means pieces
# ---------------------------------------------------------------------------


def test_lloyd_matches_sklearn():
    X = blobs(300, 2, 4, seed=15, spread=3.0)
    start = X[[0, 1, 2, 3]]
    centers, labels = lloyd(X, start)
    km = KMeans(4, init=start, n_init=1, algorithm="lloyd").fit(X)
    assert np.array_equal(labels, km.labels_)
    np.testing.assert_allclose(centers, km.cluster_centers_, rtol=1e-10, atol=1e-12)


def test_lloyd_labels_match_centres_and_empty_clusters_are_relocated():
    X = blobs(100, 2, 2, seed=16)
    start = np.array([X[0], X[1], [1e4, 1e4]])
    centers, labels = lloyd(X, start, max_iter=5, tol=0.0)
    assert set(labels) == {0, 1, 2}
    dist = ((X[:, None] - centers[None]) ** 2).sum(axis=2)
    assert np.array_equal(labels, dist.argmin(axis=1))
    with pytest.raises(ValueError, match="centers should have shape"):
        lloyd(X, np.zeros((2, 3)))


def test_kmeans_plusplus_picks_distinct_data_points_deterministically():
    X = blobs(50, 2, 5, seed=17)
    a = kmeans_plusplus(X, 5, np.random.default_rng(1))
    b = kmeans_plusplus(X, 5, np.random.default_rng(1))
    assert np.array_equal(a, b)
    idx = [int(np.flatnonzero((X == c).all(axis=1))[0]) for c in a]
    assert len(set(idx)) == 5
    with pytest.raises(ValueError, match="between 1 and the number of points"):
        kmeans_plusplus(X, 51, 0)


# ---------------------------------------------------------------------------
# iter_em / trace_em agree; responsibility parameters; checking loaded traces
# ---------------------------------------------------------------------------


def test_trace_em_and_iter_em_take_the_same_arguments_and_give_the_same_steps():
    import inspect

    assert inspect.signature(trace_em).parameters == inspect.signature(iter_em).parameters
    X = blobs(50, 2, 2, seed=8)
    trace = trace_em(X, 2, seed=4, max_iter=6)
    gen = iter_em(X, 2, seed=4, max_iter=6)
    steps = []
    with pytest.raises(StopIteration) as stop:
        while True:
            steps.append(next(gen))
    assert tuple(steps) == trace.steps
    assert stop.value.value == (trace.converged, trace.n_iter, trace.message)


def test_responsibility_parameters_say_which_step_the_responsibilities_come_from():
    X = blobs(60, 2, 2, seed=6)
    trace = trace_em(X, 2, seed=1, tol=0, max_iter=3)
    for i, s in enumerate(trace.steps):
        params = s.responsibility_parameters
        if s.phase == "M":
            e = trace.steps[i - 1]
            assert not s.responsibilities_from_own_parameters
            assert all(np.array_equal(a, b) for a, b in zip(params, (e.means, e.covariances, e.weights)))
        else:
            assert s.responsibilities_from_own_parameters
            assert all(a is b for a, b in zip(params, (s.means, s.covariances, s.weights)))
        np.testing.assert_array_equal(s.responsibilities, responsibilities(X, *params))
    # Needs no data: a step loaded on its own still knows.
    m = EMSnapshot.from_dict(trace.steps[2].to_dict())
    assert np.array_equal(m.responsibility_parameters[0], trace.steps[1].means)


def _em_doc(ctype="full"):
    X = blobs(30, 2, 2, seed=2)
    return json.loads(trace_em(X, 2, covariance_type=ctype, seed=0, tol=0, max_iter=3).to_json())


def _arr(data, dtype="<f8"):
    a = np.asarray(data)
    return {"__ndarray__": {"dtype": dtype, "shape": list(a.shape), "data": a.ravel().tolist()}}


def _load_checked(doc):
    trace = Trace.from_json(json.dumps(doc))
    gmm.check_trace(trace)
    return trace


@pytest.mark.parametrize("ctype", COVARIANCE_TYPES)
def test_check_trace_accepts_real_traces(ctype):
    trace = _load_checked(_em_doc(ctype))
    gmm.check_trace(trace_em(blobs(30, 1, 2, seed=1), 2, covariance_type=ctype, seed=0, max_iter=3))
    assert len(trace) == 7


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()
_S2 = ["steps", 2, "fields"]  # an M-step


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["steps"], [], "it has no steps"),
        (["algorithm"], "kmeans", "it is a trace of 'kmeans', not of EM"),
        (["steps", 1, "fields", "phase"], "swap", "step 2 has phase 'swap'; EM steps are 'init', 'E' or 'M'"),
        (["X"], None, "it does not hold its data (X)"),
        (["X", "__ndarray__", "data", 3], "nan", "its data X holds NaN or infinite values"),
        (["X"], _arr(np.ones((30, 3))), "the step has 2 features but the data have shape (30, 3)"),
        (["X"], _arr(np.zeros((0, 2))), "its data X is empty (shape (0, 2))"),
        (_S2 + ["means"], _arr(np.zeros((3, 2))), "covariances should have shape (3, 2, 2)"),
        (_S2 + ["means"], _arr([[0, 1], [2, 3]], "<i8"), "step 3: means should be an array of decimal numbers"),
        (_S2 + ["means", "__ndarray__", "data", 0], "inf", "step 3: means holds NaN or infinite values"),
        (_S2 + ["weights"], _arr([0.7, 0.7]), "step 3: weights should sum to 1, but they sum to 1.4"),
        (_S2 + ["weights"], _arr([1.2, -0.2]), "weights[1] (Gaussian 2) is -0.2"),
        (_S2 + ["weights"], _arr([1.0, 0.0]), "every weight should be positive"),
        (_S2 + ["covariances"], _arr([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]]),
         "step 3: covariances — the covariance of component 2 is not positive definite"),
        (_S2 + ["covariances"], _arr([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]]), "covariances[1] (Gaussian 2) is not symmetric"),
        (_S2 + ["covariances"], _arr([np.eye(2), [[np.nan, 0.0], [0.0, 1.0]]]), "covariances holds NaN"),
        (_S2 + ["log_likelihood"], "abc", "step 3: log_likelihood should be a finite number, but it is 'abc'"),
        (_S2 + ["log_likelihood"], {"__float__": "nan"}, "log_likelihood should be a finite number, but it is nan"),
        (_S2 + ["log_likelihood"], True, "log_likelihood should be a finite number, but it is True"),
        (_S2 + ["lower_bound"], {"__float__": "-inf"}, "lower_bound should be empty or a finite number"),
        (_S2 + ["lower_bound"], [1.0], "lower_bound should be empty or a finite number"),
        (_S2 + ["resp_means"], [[0.0, 1.0], [2.0, 3.0]], "resp_means, resp_covariances and resp_weights should be arrays"),
        (_S2 + ["resp_means"], None, "resp_means, resp_covariances and resp_weights go together"),
        (_S2 + ["resp_weights"], _arr([1.0]), "resp_means, resp_covariances and resp_weights have the wrong shapes"),
        (_S2 + ["resp_weights"], _arr([0.2, 0.2]), "step 3: resp_weights should sum to 1"),
        (_S2 + ["resp_covariances"], _arr([np.eye(2), -np.eye(2)]), "step 3: resp_covariances — "),
        (["steps", 1, "fields", "resp_means"], _arr(np.zeros((2, 2))), "go together"),
        (["params", "covariance_type"], _DELETE, "its parameters do not say which covariance_type"),
        (["params", "covariance_type"], "round", "its covariance_type should be one of 'full'"),
        (["params"], {}, "its parameters do not say which covariance_type"),
    ],
)
def test_check_trace_refuses_broken_em_traces(path, value, message):
    doc = _set(_em_doc(), path, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        _load_checked(doc)


def test_check_trace_refuses_steps_that_are_not_em_steps():
    from tracelab.labs.kmeans.kmeans import trace_kmeans

    X = blobs(20, 2, 2, seed=0)
    km = trace_kmeans(X, 2, seed=0)
    fake = Trace(algorithm="em", steps=km.steps, params={"covariance_type": "full"}, X=X)
    with pytest.raises(ValueError, match="step 1 is a KMeansSnapshot, not an EM step"):
        gmm.check_trace(fake)
    with pytest.raises(ValueError, match="not of EM"):
        gmm.check_trace(km)
    with pytest.raises(ValueError, match="it is a dict, not a Trace"):
        gmm.check_trace({})
    # A step detached from the trace's data cannot compute its responsibilities.
    em_trace = trace_em(X, 2, seed=0, max_iter=2)
    loose = Trace(algorithm="em", steps=tuple(EMSnapshot.from_dict(s.to_dict()) for s in em_trace),
                  params=em_trace.params, X=X)
    with pytest.raises(ValueError, match="step 1 is not attached to the trace's data"):
        gmm.check_trace(loose)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("resp_means", [[0.0, 1.0], [2.0, 3.0]]),
        ("resp_covariances", "abc"),
        ("means", [[0.0, 1.0], [2.0, 3.0]]),
        ("covariances", 3.0),
        ("weights", {"a": 1}),
        ("iteration", None),
    ],
)
def test_from_dict_turns_wrong_typed_fields_into_value_errors(field, value):
    doc = _em_doc()
    fields = doc["steps"][2]["fields"]
    fields[field] = value
    with pytest.raises(ValueError):
        EMSnapshot.from_dict(fields)
    with pytest.raises(ValueError, match="malformed|step 2"):
        Trace.from_json(json.dumps(doc))


# ---------------------------------------------------------------- why EM stopped


def _blob_data():
    """The EM lab's /em?data=blobs (standardised), where k = 10 from random responsibilities stops at once."""
    from tracelab.data import datasets

    return datasets.load("blobs").standardized().X


def test_the_converged_message_names_the_two_values_the_tol_test_compared():
    X = _blob_data()
    trace = trace_em(X, 10, init="random", seed=0)
    assert trace.converged and trace.n_iter <= 4  # stops while the curve still climbs
    n = X.shape[0]
    e_steps = [s for s in trace.steps if s.phase == "E"]
    before, after = e_steps[-2].log_likelihood / n, e_steps[-1].log_likelihood / n
    m = re.search(r"went from (-[\d.]+) \((start|after iteration \d+)\) to (-[\d.]+) \(after iteration (\d+)\), "
                  r"marked at steps (\d+) and (\d+) of the curve .*: a change of ([\d.e-]+), less than tol = 0.001; "
                  r"the last M-step then brought it to (-[\d.]+)", trace.message)
    assert m, trace.message
    a, _, b, it, s1, s2, change, final = m.groups()
    assert float(a) == pytest.approx(before, abs=1e-5) and float(b) == pytest.approx(after, abs=1e-5)
    assert float(b) - float(a) == pytest.approx(float(change), rel=0.05)  # readable off the printed values
    assert int(it) == trace.n_iter - 1
    assert (int(s1), int(s2)) == (e_steps[-2].index + 1, e_steps[-1].index + 1)
    assert float(final) == pytest.approx(trace.steps[-1].log_likelihood / n, abs=1e-5)
    # The last M-step's climb is not what was compared: its label reads another change.
    assert trace.steps[-1].log_likelihood / n - after > abs(float(change))


def test_a_run_that_stops_with_every_mean_on_top_of_the_others_says_so():
    X = _blob_data()
    trace = trace_em(X, 10, init="random", seed=0)
    means = trace.steps[-1].means
    spread = np.sqrt(X.var(axis=0).sum())
    assert np.ptp(means, axis=0).max() < gmm.STACKED_BELOW * spread
    assert "All 10 Gaussians are still on top of each other" in trace.message
    assert "Try tol = 0" in trace.message and "another start" in trace.message
    # Run on, they separate: no such note.
    longer = trace_em(X, 10, init="random", seed=0, tol=0, max_iter=300)
    assert "on top of each other" not in longer.message
    assert "on top of each other" not in trace_em(X, 3, seed=0).message
    assert "on top of each other" not in trace_em(X, 1, seed=0).message


def test_a_run_can_be_stopped_in_its_kmeans_start():
    # EM's k-means start records no step, and on 20 000 points takes seconds: a
    # stopped or abandoned run must end there, not once the start is done.
    from tracelab.record.trace import on_each_step, stoppable

    heard, checked = [], []

    def stop():
        checked.append(len(heard))
        raise RuntimeError("stopped")

    X = np.random.default_rng(0).normal(size=(300, 2))
    with on_each_step(heard.append), stoppable(stop), pytest.raises(RuntimeError, match="stopped"):
        trace_em(X, 3, init="kmeans", seed=0)
    assert checked == [0] and heard == [], "stopped in the k-means start, before the first recorded step"
    with stoppable(stop):  # a start from given means has no k-means to stop in
        trace_em(X, 3, init="random_from_data", seed=0)
