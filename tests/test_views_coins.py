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
