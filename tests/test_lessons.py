"""The lessons' worked examples run as the lessons say."""

import numpy as np

from tracelab.data import datasets
from tracelab.labs.em import lessons
from tracelab.labs.em.engine import trace_em


def run(preset, **kw):
    data = datasets.load(preset.dataset)
    if preset.standardize:
        data = data.standardized()
    return trace_em(data, **{**preset.params, **kw})


def test_six_points_start_is_the_lesson_start():
    trace = run(lessons.SIX_POINTS, max_iter=1, tol=0)
    start = trace.steps[0]
    assert start.means.ravel().tolist() == [1.6, 4.4]
    assert start.weights.tolist() == [0.5, 0.5]
    assert start.variances.ravel().tolist() == [1.0, 1.0]


def test_six_points_converge_to_the_two_groups():
    trace = run(lessons.SIX_POINTS, tol=1e-8, max_iter=200)
    means = np.sort(trace.steps[-1].means.ravel())
    np.testing.assert_allclose(means, [np.mean([0.8, 1.1, 1.4]), np.mean([4.7, 5.1, 5.5])], atol=1e-3)


def test_bishop_figure_separates_the_two_eruption_types_by_iteration_20():
    trace = run(lessons.BISHOP_FAITHFUL, tol=0, max_iter=20)
    means = trace.steps[-1].means
    # Short eruptions with short waits, long eruptions with long waits.
    short, long_ = means[np.argsort(means[:, 0])]
    assert short[0] < -1 and short[1] < -1
    assert long_[0] > 0.5 and long_[1] > 0.5
    assert set(lessons.BISHOP_FAITHFUL.small_multiples) == {1, 2, 5, 20}


def test_the_home_hook_has_a_sure_and_an_unsure_eruption_after_convergence():
    preset = lessons.HOOK
    data = preset.data()
    assert data.columns == ("eruptions",) and data.X.shape == (272, 1)
    trace = trace_em(data, **preset.params)
    assert trace.converged
    certainty = trace.steps[-1].responsibilities.max(axis=1)
    # Between the groups (about 2.8 min) a point is split near 0.5; inside, far above 0.99.
    assert certainty.min() < 0.6 and np.sort(certainty)[len(certainty) // 2] > 0.99
    short, long_ = np.sort(trace.steps[-1].means.ravel())
    assert 1.9 < short < 2.2 and 4.1 < long_ < 4.4
