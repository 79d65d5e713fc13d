"""EM for mixtures of coins against Do & Batzoglou's worked example and against algebra."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

import tracelab
from tracelab.labs.coins import engine
from tracelab.labs.coins.engine import CLIP, m_step, trace_bernoulli_em, trace_binomial_em
from tracelab.record.trace import Trace, snapshot_types

# Do & Batzoglou, Nature Biotechnology 26 (2008), Fig. 1b: five sets of ten tosses.
PAPER = dict(heads=[5, 9, 8, 4, 7], trials=10, n_components=2, means_init=[0.6, 0.5], weights_init=[0.5, 0.5],
             fixed_weights=True, tol=0.0, max_iter=10)


def lls(trace: Trace) -> np.ndarray:
    return np.array([s.log_likelihood for s in trace.steps])


def test_the_two_coins_of_the_paper():
    trace = trace_binomial_em(**PAPER)
    first_e, first_m, last = trace.steps[1], trace.steps[2], trace.steps[-1]
    assert (first_e.phase, first_m.phase, last.phase, last.iteration) == ("E", "M", "M", 10)
    # the first E-step's P(coin A) per set, as the paper's figure gives them
    assert np.round(first_e.responsibilities[:, 0], 2).tolist() == [0.45, 0.80, 0.73, 0.35, 0.65]
    assert np.round(first_m.means, 2).tolist() == [0.71, 0.58]
    assert np.round(last.means, 2).tolist() == [0.80, 0.52]
    assert last.weights.tolist() == [0.5, 0.5], "held fixed, as in the paper"
    # the paper's table of expected heads and tails for coin A: 2.2 H 2.2 T for the first set
    r = first_e.responsibilities[:, 0]
    assert np.round(r * 5, 1)[0] == 2.2 and np.round(r * 9, 1)[1] == 7.2
    assert "0.45, 0.80, 0.73, 0.35, 0.65" in first_e.message
    assert "θ_A = 0.71, θ_B = 0.58" in first_m.message


def test_the_log_likelihood_is_the_mixture_of_binomials():
    trace = trace_binomial_em(**PAPER)
    h, t = np.array(PAPER["heads"]), PAPER["trials"]
    for snap in trace.steps:
        p = np.atleast_1d(snap.means)
        direct = np.log(sum(w * binom.pmf(h, t, pj) for w, pj in zip(snap.weights, p))).sum()
        assert snap.log_likelihood == pytest.approx(direct, rel=1e-12)


def test_free_weights_and_the_top_level_api():
    trace = tracelab.trace_binomial_em([5, 9, 8, 4, 7], 10, 2, means_init=[0.6, 0.5])
    assert trace.algorithm == "binomial_em" and trace.converged
    assert trace.steps[-1].weights.sum() == pytest.approx(1.0)
    assert Trace.from_json(trace.to_json()) == trace
    assert trace.X.tolist()[0] == [5.0, 10.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=2, max_size=12), st.integers(1, 3), st.integers(0, 10_000),
       st.booleans())
def test_the_log_likelihood_never_falls(heads, k, seed, fixed):
    k = min(k, len(heads))
    trace = trace_binomial_em(heads, 12, k, seed=seed, fixed_weights=fixed, tol=0, max_iter=15)
    assert np.all(np.diff(lls(trace)) >= -1e-9 * np.abs(lls(trace)[:-1]).clip(1))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 30), st.integers(1, 8), st.integers(1, 3), st.integers(0, 10_000))
def test_the_log_likelihood_never_falls_for_binary_vectors(n, d, k, seed):
    X = np.random.default_rng(seed).random((n, d)) < 0.3
    trace = trace_bernoulli_em(X.astype(float), min(k, n), seed=seed, tol=0, max_iter=15)
    assert np.all(np.diff(lls(trace)) >= -1e-9 * np.abs(lls(trace)[:-1]).clip(1))
    for snap in trace.steps:
        assert np.all((snap.means >= CLIP) & (snap.means <= 1 - CLIP))
        assert snap.responsibilities.sum(axis=1) == pytest.approx(np.ones(n))


def test_identical_components_stay_put():
    trace = trace_binomial_em([5, 9, 8, 4, 7], 10, 2, means_init=[0.6, 0.6], tol=0, max_iter=5)
    for snap in trace.steps[1:]:
        assert snap.means[0] == pytest.approx(snap.means[1]) and snap.weights[0] == pytest.approx(0.5)
    # the one coin they share is the pooled heads rate after the first M-step, and stays there
    assert trace.steps[-1].means[0] == pytest.approx(33 / 50)


def test_hard_assignments_make_the_m_step_counting():
    heads = np.array([[5.0], [9.0], [8.0], [4.0], [7.0]])
    trials = np.full_like(heads, 10.0)
    hard = np.array([[0, 1], [1, 0], [1, 0], [0, 1], [1, 0]], dtype=float)
    means, weights = m_step(heads, trials, hard)
    assert means[:, 0].tolist() == [24 / 30, 9 / 20]  # coin A made sets 2, 3, 5; coin B sets 1, 4
    assert weights.tolist() == [3 / 5, 2 / 5]
    X = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 1]], dtype=float)
    means, _ = m_step(X, np.ones_like(X), np.array([[1, 0], [1, 0], [0, 1]], dtype=float))
    assert means.tolist() == [[1.0, 0.5, 1.0], [0.0, 0.0, 1.0]]  # each pixel's share of 1s per cluster


def test_a_constant_pixel_is_held_off_0_and_1_and_the_message_says_so():
    X = np.array([[1, 0], [1, 1], [1, 0], [1, 1]], dtype=float)
    trace = trace_bernoulli_em(X, 2, tol=0, max_iter=3)
    m = trace.steps[2]
    assert m.n_clipped >= 2 and "held at 1e-06 or 1 − 1e-06" in m.message
    assert np.all(m.means[:, 0] == 1 - CLIP)
    assert np.isfinite(trace.steps[-1].log_likelihood)


@pytest.mark.parametrize("call,words", [
    (lambda: trace_bernoulli_em([[0, 1], [0.5, 1]], 1), "only 0s and 1s"),
    (lambda: trace_binomial_em([5, 11], 10, 1), "set 2 has 11 heads in 10 tosses"),
    (lambda: trace_binomial_em([5, 3], 10, 3), "at most the number of points (2)"),
    (lambda: trace_binomial_em([5, 3], 0, 1), "trials should be at least 1"),
    (lambda: trace_binomial_em([5.5, 3], 10, 1), "heads should be whole numbers"),
    (lambda: trace_binomial_em([5, 3], 10, 2, means_init=[0.6, 1.0]), "strictly between 0 and 1"),
    (lambda: trace_binomial_em([5, 3], 10, 2, weights_init=[0.6, 0.6]), "should sum to 1"),
    (lambda: trace_binomial_em([5, 3], 10, 2, means_init=[0.6]), "shape (2,)"),
    (lambda: trace_binomial_em([], 10, 1), "heads is empty"),
    (lambda: trace_binomial_em([5, 3], 10, 1, fixed_weights="yes"), "fixed_weights should be True or False"),
])
def test_bad_input_is_refused_with_a_message(call, words):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert words in str(info.value)


def test_the_snapshot_class_is_found_by_a_trace_file():
    assert snapshot_types()["CoinsSnapshot"] is engine.CoinsSnapshot
    trace = trace_bernoulli_em(np.eye(3), 2, seed=1)
    again = Trace.from_json(trace.to_json())
    assert type(again.steps[0]) is engine.CoinsSnapshot and again == trace


def test_single_tosses_cannot_tell_the_coins_apart():
    # One toss per set: the likelihood depends on the coins only through the mixture's
    # heads rate, so EM stops on a flat ridge where that rate is the data's, and where
    # on the ridge depends only on the start.
    tosses = [1, 0, 1, 1, 0, 1, 1, 0, 1, 1]
    ends = []
    for start in ([0.6, 0.5], [0.9, 0.2], [0.3, 0.4]):
        trace = trace_binomial_em(tosses, 1, 2, means_init=start)
        last = trace.steps[-1]
        assert trace.converged and trace.n_iter <= 2
        assert float(last.weights @ last.means) == pytest.approx(0.7)
        ends.append(tuple(np.round(last.means, 3)))
    assert len(set(ends)) == 3, "three starts, three different pairs of coins, one likelihood"


def test_tol_0_runs_every_iteration_even_on_a_flat_ridge():
    # On the single tosses' ridge the log-likelihood's change is rounding noise; with
    # tol = 0 that must not read as convergence.
    trace = trace_binomial_em([1, 0, 1, 1, 0, 1, 1, 0, 1, 1], 1, 2, means_init=[0.6, 0.5], tol=0, max_iter=6)
    assert not trace.converged and trace.n_iter == 6
    assert "without converging" in trace.message


def test_the_lab_checks_a_trace_file_it_is_given():
    import dataclasses

    from tracelab.data import datasets
    from tracelab.labs.kmeans.kmeans import trace_kmeans

    paper = trace_binomial_em([5, 9, 8, 4, 7], 10, 2, means_init=[0.6, 0.5], fixed_weights=True, max_iter=3)
    images = trace_bernoulli_em(datasets.binary_digits().X[:40], 2, max_iter=3)
    for trace in (paper, images, Trace.from_json(paper.to_json())):
        engine.check_trace(trace)
    with pytest.raises(ValueError, match="not of EM for coins or binary images; open it in the lab it came from"):
        engine.check_trace(trace_kmeans(np.random.default_rng(0).normal(size=(20, 2)), 2))
    # a step whose log-likelihood falls is not EM's
    steps = list(paper.steps)
    steps[3] = dataclasses.replace(steps[3], log_likelihood=steps[2].log_likelihood - 1.0)
    with pytest.raises(ValueError, match=r"coins lab: the log-likelihood falls at step 4"):
        engine.check_trace(dataclasses.replace(paper, steps=tuple(steps)))
    steps = list(paper.steps)
    steps[1] = dataclasses.replace(steps[1], responsibilities=np.full((5, 2), 0.7))
    with pytest.raises(ValueError, match="step 2 has probabilities outside"):
        engine.check_trace(dataclasses.replace(paper, steps=tuple(steps)))


def test_the_work_of_a_run_is_bounded_before_it_starts():
    # the lab's largest built-in runs are far inside the budget; a large upload is not
    assert engine.work(1_000, 1, 2, 500) < engine.WORK_BUDGET
    assert engine.work(300, 64, 10, 500) < engine.WORK_BUDGET
    assert engine.work(200_000, 784, 10, 100) > engine.WORK_BUDGET


def test_generated_coin_sets_are_seeded_and_keep_the_truth():
    from tracelab.data import datasets

    heads, coins = datasets.coin_sets(400, 20, 0.9, 0.2, seed=3)
    again, _ = datasets.coin_sets(400, 20, 0.9, 0.2, seed=3)
    np.testing.assert_array_equal(heads, again)
    assert heads.min() >= 0 and heads.max() <= 20 and set(coins) == {0, 1}
    assert heads[coins == 0].mean() / 20 == pytest.approx(0.9, abs=0.02)
    assert heads[coins == 1].mean() / 20 == pytest.approx(0.2, abs=0.02)
    with pytest.raises(ValueError, match="probability, between 0 and 1"):
        datasets.coin_sets(5, 10, 1.2, 0.5, seed=0)


def test_the_packaged_digits_are_binary_8_by_8_images_of_2_3_and_4():
    from tracelab.data import datasets

    data = datasets.binary_digits()
    assert data.X.shape == (300, 64) and set(np.unique(data.X)) == {0.0, 1.0}
    assert data.label_name == "digit" and sorted(set(data.labels)) == ["four", "three", "two"]
    assert all(data.labels.count(d) == 100 for d in ("two", "three", "four"))
    assert data.X.mean() == pytest.approx(0.318, abs=0.001)  # as the data README says


def test_em_on_the_digits_finds_one_component_per_digit_from_some_start():
    """Bishop's §9.3.3: a Bernoulli mixture of binarised digits, one component per digit."""
    from tracelab.data import datasets

    data = datasets.binary_digits()
    labels = np.array(data.labels)
    best = 0.0
    for seed in range(4):
        t = trace_bernoulli_em(data.X, 3, max_iter=100, tol=1e-4, seed=seed)
        r = np.asarray(t.steps[-1].responsibilities)
        hard = r.argmax(axis=1)
        # the share of images whose component is their digit's majority component
        agree = sum(np.bincount(hard[labels == d], minlength=3).max() for d in ("two", "three", "four")) / 300
        if len(set(np.bincount(hard[labels == d], minlength=3).argmax() for d in ("two", "three", "four"))) == 3:
            best = max(best, agree)
    assert best > 0.85
