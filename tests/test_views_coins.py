"""Views of EM for two coins: the paper's table and the likelihood surface EM climbs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from tracelab.labs.coins import views
from tracelab.labs.coins.engine import trace_bernoulli_em, trace_binomial_em

PAPER = dict(heads=[5, 9, 8, 4, 7], trials=10, n_components=2, means_init=[0.6, 0.5], weights_init=[0.5, 0.5],
             fixed_weights=True, tol=0.0, max_iter=10)


@pytest.fixture(scope="module")
def paper():
    return trace_binomial_em(**PAPER)


def role(fig, name):
    return [t for t in fig.data if (t.meta or {}).get("role") == name]


def test_the_table_of_the_papers_figure(paper):
    table = views.sets_table(paper, 1)  # the first E-step
    assert table["set"].tolist() == ["1", "2", "3", "4", "5", "total"]
    assert np.round(table["P(coin A)"][:5], 2).tolist() == [0.45, 0.80, 0.73, 0.35, 0.65]
    total = table.iloc[-1]
    # the paper's totals: coin A ≈ 21.3 H, 8.6 T; coin B ≈ 11.7 H, 8.4 T
    assert [round(total[c], 1) for c in ("A heads", "A tails", "B heads", "B tails")] == [21.3, 8.6, 11.7, 8.4]
    # expected heads over expected tosses is the next M-step's θ_A
    assert total["A heads"] / (total["A heads"] + total["A tails"]) == pytest.approx(paper.steps[2].means[0])
    assert (table["A heads"] + table["B heads"])[:5].tolist() == pytest.approx(PAPER["heads"])


def test_the_surface_holds_the_traces_log_likelihood_and_its_mirror(paper):
    fig = views.likelihood_surface(paper, len(paper) - 1, grid=199)
    go.Figure(fig.to_dict())  # a valid figure
    (surface,) = role(fig, "surface")
    z, theta = np.asarray(surface.z), np.asarray(surface.x)
    assert np.allclose(z, z.T), "equal weights: swapping the coins' names changes nothing"
    iy, ix = np.unravel_index(np.argmax(z), z.shape)
    best = sorted([theta[ix], theta[iy]])
    assert best == pytest.approx([0.52, 0.80], abs=0.01)
    last = paper.steps[-1]
    assert z.max() >= last.log_likelihood - 1e-3  # EM's point is (close to) the top of its hill
    (path,) = role(fig, "path")
    assert (path.x[-1], path.y[-1]) == pytest.approx(tuple(last.means))
    assert len(path.x) == 11, "the start and ten M-steps"
    (mirror,) = role(fig, "mirror")
    assert (mirror.x[0], mirror.y[0]) == pytest.approx(tuple(last.means[::-1]))
    assert fig.layout.yaxis.scaleanchor == "x", "θ_A and θ_B drawn to one scale"
    assert "held 0.50 / 0.50" in fig.layout.title.text


def test_the_surface_at_the_start_shows_only_the_start(paper):
    fig = views.likelihood_surface(paper, 1)
    (path,) = role(fig, "path")
    assert list(path.x) == [0.6] and list(path.y) == [0.5]


def test_other_traces_are_refused_with_a_message():
    with pytest.raises(ValueError, match="binomial EM trace"):
        views.sets_table(trace_bernoulli_em(np.eye(3), 2), 0)
    with pytest.raises(ValueError, match="two coins"):
        views.likelihood_surface(trace_binomial_em([1, 2, 3], 4, 3), 0)


def _digits(k=3, max_iter=4):
    from tracelab.data import datasets

    data = datasets.binary_digits()
    return data, trace_bernoulli_em(data.X, k, max_iter=max_iter, tol=0.0, seed=0)


def _exact(spec, charts):
    from tracelab.plot import stepping

    doc = spec.spec()
    assert spec.frames == tuple(range(spec.n_steps)), "every step is drawn"
    for f, step in enumerate(spec.frames):
        for c, view in enumerate(charts):
            assert stepping.figure_at(doc["charts"][c], f) == stepping.figure_json(view(step)), (c, step)


def test_step_charts_are_the_surface_and_the_curve_at_every_step(paper):
    from tracelab.labs.em.views import log_likelihood_curve

    spec = views.step_charts(paper)
    _exact(spec, [lambda s: views.likelihood_surface(paper, s), lambda s: log_likelihood_curve(paper, s)])
    assert spec.spec()["labels"] == [s.message for s in paper.steps]
    # the weights are held: one surface serves every step, sent once
    assert all("z" not in (p.get("data", {}).get("0", {}).get("set", {})) for p in spec.spec()["charts"][0]["patches"])


def test_step_charts_of_three_coins_and_of_free_weights():
    from tracelab.labs.em.views import log_likelihood_curve

    three = trace_binomial_em([5, 9, 8, 4, 7, 1], 10, 3, max_iter=5, tol=0.0)
    _exact(views.step_charts(three), [lambda s: log_likelihood_curve(three, s)])
    free = trace_binomial_em(**{**PAPER, "fixed_weights": False, "max_iter": 4})
    _exact(views.step_charts(free), [lambda s: views.likelihood_surface(free, s),
                                     lambda s: log_likelihood_curve(free, s)])


def test_step_charts_of_images_are_the_means_and_the_curve_at_every_step():
    from tracelab.labs.em.views import log_likelihood_curve

    _, t = _digits()
    _exact(views.step_charts(t), [lambda s: views.means_images(t, s), lambda s: log_likelihood_curve(t, s)])


def test_means_images_draw_each_components_pixels_to_equal_scale_with_its_weight():
    _, t = _digits()
    step = 5
    fig = views.means_images(t, step)
    go.Figure(fig.to_dict())
    (heat,) = fig.data
    z = np.asarray(heat.z, dtype=float)
    means, weights = np.asarray(t.steps[step].means), np.asarray(t.steps[step].weights)
    for j in range(3):  # image j: rows 3..10, columns 9j..9j+7 (one blank column between images)
        np.testing.assert_array_equal(z[3:11, 9 * j:9 * j + 8], means[j].reshape(8, 8))
        assert fig.layout.annotations[j].text == f"{j + 1} · α {weights[j]:.2f}"
        assert fig.layout.annotations[j].x == 9 * j + 3.5
    assert np.isnan(z[:3]).all() and np.isnan(z[:, 8]).all()  # the gaps are blank
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert list(fig.layout.yaxis.range) == [10.5, -0.5]  # row 0 at the top
    assert heat.zmin == 0 and heat.zmax == 1


def test_top_images_are_the_rows_each_component_takes_most_responsibility_for():
    data, t = _digits()
    step = len(t) - 1
    fig = views.top_images(t, step, per_component=4, labels=data.labels)
    go.Figure(fig.to_dict())
    z = np.asarray(fig.data[0].z, dtype=float)
    r = np.asarray(t.steps[step].responsibilities)
    for j in range(3):
        best = np.argsort(-r[:, j], kind="stable")[:4]
        for c, i in enumerate(best):
            top = j * 12 + 4
            np.testing.assert_array_equal(z[top:top + 8, 9 * c:9 * c + 8], data.X[i].reshape(8, 8))
            text = fig.layout.annotations[4 * j + c].text
            assert f"#{i + 1} {data.labels[i]}<br>r {r[i, j]:.2f}" in text
            assert text.startswith(f"<b>{j + 1}</b>: ") == (c == 0)


def test_an_images_responsibilities_are_under_the_steps_parameters():
    _, t = _digits()
    e, m = 3, 4  # an E-step: its own r; an M-step: the next E-step's
    assert (t.steps[e].phase, t.steps[m].phase, t.steps[m + 1].phase) == ("E", "M", "E")
    table = views.image_responsibilities(t, e, 17)
    assert table["component"].tolist() == [1, 2, 3]
    assert table["r"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(table["r"], t.steps[e].responsibilities[17])
    np.testing.assert_allclose(table["weight"], t.steps[e].weights)
    np.testing.assert_allclose(views.image_responsibilities(t, m, 17)["r"], t.steps[m + 1].responsibilities[17])


@pytest.mark.parametrize("d,shape", [(64, (8, 8)), (784, (28, 28)), (1, (1, 1)), (10, (1, 10)), (63, (1, 63))])
def test_image_shape(d, shape):
    assert views.image_shape(d) == shape
