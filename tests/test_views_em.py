"""Tests for tracelab.plot.common and tracelab.labs.em.views on real EM traces.

Every figure is also re-validated through plotly (views skip validation for
speed, so a misspelt property would otherwise reach the browser silently).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from tracelab.labs.em.engine import trace_em
from tracelab.record.trace import Trace
from tracelab.plot import common
from tracelab.labs.em import views as em
from tracelab.plot import stepping

DATA = Path(__file__).resolve().parent.parent / "tracelab" / "data" / "datasets"


# ----------------------------------------------------------------------------- fixtures


def _standardize(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.fixture(scope="module")
def faithful_X() -> np.ndarray:
    return _standardize(pd.read_csv(DATA / "old_faithful.csv").to_numpy(dtype=float))


@pytest.fixture(scope="module")
def bishop(faithful_X) -> Trace:
    """Bishop Fig. 9.8: standardised Old Faithful, two round Gaussians across the diagonal."""
    return trace_em(
        faithful_X, 2,
        means_init=[[-1.0, 1.0], [1.0, -1.0]],
        weights_init=[0.5, 0.5],
        covariances_init=[np.eye(2) * 0.25, np.eye(2) * 0.25],
        tol=1e-12, max_iter=25,
    )


@pytest.fixture(scope="module")
def short(faithful_X) -> Trace:
    """Three iterations only (max_iter=3), for clipping."""
    return trace_em(
        faithful_X, 2,
        means_init=[[-1.0, 1.0], [1.0, -1.0]],
        weights_init=[0.5, 0.5],
        covariances_init=[np.eye(2) * 0.25, np.eye(2) * 0.25],
        tol=1e-12, max_iter=3,
    )


@pytest.fixture(scope="module")
def iris() -> Trace:
    X = pd.read_csv(DATA / "iris.csv").iloc[:, :4].to_numpy(dtype=float)
    return trace_em(X, 3, seed=0, max_iter=30)


@pytest.fixture(scope="module")
def eruptions(faithful_X) -> Trace:
    """One feature: Old Faithful's eruption lengths (standardised)."""
    return trace_em(faithful_X[:, :1], 2, means_init=[[-1.0], [1.0]], max_iter=30, seed=0)


@pytest.fixture(scope="module")
def six() -> Trace:
    """The lesson's six points from the lesson's start."""
    X = np.array([0.80, 1.10, 1.40, 4.70, 5.10, 5.50])[:, None]
    return trace_em(X, 2, means_init=[[1.6], [4.4]], weights_init=[0.5, 0.5],
                    covariances_init=[[[1.0]], [[1.0]]], tol=1e-6, max_iter=50)


@pytest.fixture(scope="module")
def blobs() -> Trace:
    """2 500 points: above the WebGL threshold."""
    rng = np.random.default_rng(7)
    X = np.concatenate([rng.normal(-2, 1, (1250, 2)), rng.normal(2, 0.7, (1250, 2))])
    return trace_em(X, 2, seed=0, max_iter=5)


def valid(fig: go.Figure) -> go.Figure:
    """Re-validate a figure through plotly's object model (raises on bad properties).

    Returns the figure itself: ``to_dict`` turns arrays into base64 blobs, so the
    tests read the original.
    """
    d = fig.to_dict()
    go.Figure(data=d["data"], layout=d["layout"], frames=d.get("frames"))
    return fig


def role(fig: go.Figure, name: str) -> list:
    return [t for t in fig.data if (t.meta or {}).get("role") == name]


def mahalanobis_sq(xs, ys, mean, cov) -> np.ndarray:
    D = np.stack([xs, ys], axis=1) - mean
    return np.einsum("ni,ij,nj->n", D, np.linalg.inv(cov), D)


def m_step(trace: Trace, iteration: int) -> int:
    return next(s.index for s in trace.steps if s.phase == "M" and s.iteration == iteration)


# --------------------------------------------------------------------------- common


def test_palette_has_ten_distinct_valid_colours():
    assert len(common.PALETTE) >= 10
    assert len(set(common.PALETTE)) == len(common.PALETTE)
    assert all(re.fullmatch(r"#[0-9A-Fa-f]{6}", c) for c in common.PALETTE)
    assert common.component_color(len(common.PALETTE)) == common.PALETTE[0]  # cycles


def test_blend_one_hot_rows_give_the_component_colours():
    k = 4
    colours = common.blend(np.eye(k))
    for j in range(k):
        r, g, b = (int(common.PALETTE[j][i:i + 2], 16) for i in (1, 3, 5))
        assert colours[j] == f"rgb({r},{g},{b})"


def test_blend_half_and_half_is_the_midpoint():
    a, b = common.PALETTE_RGB[0], common.PALETTE_RGB[1]
    mid = np.rint((a + b) / 2).astype(int)
    assert common.blend(np.array([[0.5, 0.5]])) == [f"rgb({mid[0]},{mid[1]},{mid[2]})"]
    # rows are normalised: weights 2/2 blend like 0.5/0.5
    assert common.blend(np.array([[2.0, 2.0]])) == common.blend(np.array([[0.5, 0.5]]))


@pytest.mark.parametrize("n_std", [1.0, 2.0, 2.5])
def test_ellipse_points_lie_on_the_mahalanobis_contour(n_std):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(2, 2))
    cov = A @ A.T + 0.1 * np.eye(2)
    mean = np.array([1.5, -0.7])
    xs, ys = common.ellipse(mean, cov, n_std, n_points=64)
    assert xs.shape == ys.shape == (64,)
    np.testing.assert_allclose(mahalanobis_sq(xs, ys, mean, cov), n_std**2, rtol=1e-9)
    assert (xs[0], ys[0]) == pytest.approx((xs[-1], ys[-1]))  # closed


def test_ellipse_semi_axes_are_n_std_times_the_standard_deviations():
    xs, ys = common.ellipse([0, 0], [[4.0, 0.0], [0.0, 1.0]], 2.0, n_points=401)
    assert xs.max() == pytest.approx(4.0) and ys.max() == pytest.approx(2.0, rel=1e-4)


def test_subsample_is_exact_seeded_and_sorted():
    idx = common.subsample(10_000, 1_000, seed=1)
    assert len(idx) == 1_000 == len(np.unique(idx))
    assert np.all(np.diff(idx) > 0) and idx.min() >= 0 and idx.max() < 10_000
    np.testing.assert_array_equal(idx, common.subsample(10_000, 1_000, seed=1))
    assert not np.array_equal(idx, common.subsample(10_000, 1_000, seed=2))
    np.testing.assert_array_equal(common.subsample(50, 1_000), np.arange(50))


def test_pca_axes_match_the_svd():
    X = pd.read_csv(DATA / "iris.csv").iloc[:, :4].to_numpy(dtype=float)
    mean, P, explained = common.pca_axes(X)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    _, s, Vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    for j in range(2):  # same axis up to sign
        assert abs(P[:, j] @ Vt[j]) == pytest.approx(1.0)
    np.testing.assert_allclose(P.T @ P, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(explained, (s**2 / (s**2).sum())[:2])


def test_project_covariances_is_pt_sigma_p():
    rng = np.random.default_rng(0)
    covs = np.stack([(lambda A: A @ A.T)(rng.normal(size=(4, 4))) for _ in range(3)])
    P = np.linalg.qr(rng.normal(size=(4, 2)))[0]
    got = common.project_covariances(covs, P)
    for k in range(3):
        np.testing.assert_allclose(got[k], P.T @ covs[k] @ P)


def test_curve_with_marker_marks_the_current_point():
    fig = valid(common.curve_with_marker([0, 1, 2, 3], [5.0, 3.0, 2.5, 2.4], 2, name="inertia"))
    vline, ring = fig.layout.shapes
    assert vline.x0 == 2 == vline.x1
    assert (ring.name, ring.xanchor, ring.yanchor) == ("current", 2, 2.5)
    assert ring.xsizemode == ring.ysizemode == "pixel"
    assert len(fig.data) == 1, "the mark is shapes: a step moves them without redrawing the curve"


# ----------------------------------------------------------------------- scatter_2d


def test_scatter_has_one_marker_per_point_with_row_indices(bishop, faithful_X):
    fig = valid(em.scatter_2d(bishop, 3))
    (pts,) = role(fig, "points")
    assert pts.type == "scatter"  # 272 points: SVG
    np.testing.assert_array_equal(pts.customdata, np.arange(len(faithful_X)))
    np.testing.assert_allclose(pts.x, faithful_X[:, 0])
    np.testing.assert_allclose(pts.y, faithful_X[:, 1])
    assert list(pts.marker.color) == common.blend(bishop.steps[3].responsibilities)


def test_scatter_draws_1_and_2_sigma_ellipses_of_this_step(bishop):
    step = m_step(bishop, 2)
    snap = bishop.steps[step]
    ells = role(valid(em.scatter_2d(bishop, step)), "ellipse")
    assert len(ells) == 2 * 2
    for t in ells:
        k, n_std = t.meta["k"], t.meta["n_std"]
        d2 = mahalanobis_sq(np.asarray(t.x), np.asarray(t.y), snap.means[k], snap.covariances[k])
        np.testing.assert_allclose(d2, n_std**2, rtol=1e-8)
    assert sorted({t.meta["n_std"] for t in ells}) == [1.0, 2.0]
    # the heavier component's ellipses are more opaque
    heavy = int(np.argmax(snap.weights))
    op = {t.meta["k"]: t.opacity for t in ells}
    assert op[heavy] > op[1 - heavy]


def test_scatter_means_and_their_paths(bishop):
    step = m_step(bishop, 3)
    fig = valid(em.scatter_2d(bishop, step))
    (means,) = role(fig, "means")
    np.testing.assert_allclose(np.c_[means.x, means.y], bishop.steps[step].means)
    paths = role(fig, "path")
    assert len(paths) == 2
    path_steps = [0] + [m_step(bishop, t) for t in (1, 2, 3)]
    for t in paths:
        k = t.meta["k"]
        expected = np.array([bishop.steps[s].means[k] for s in path_steps])
        np.testing.assert_allclose(np.c_[t.x, t.y], expected)
    assert role(valid(em.scatter_2d(bishop, step, show_paths=False)), "path") == []


def test_scatter_keeps_axes_and_uirevision_across_steps(bishop):
    a, b = em.scatter_2d(bishop, 0), em.scatter_2d(bishop, len(bishop) - 1)
    assert a.layout.uirevision == b.layout.uirevision
    assert a.layout.xaxis.range == b.layout.xaxis.range
    assert a.layout.yaxis.range == b.layout.yaxis.range
    X = bishop.X
    assert a.layout.xaxis.range[0] < X[:, 0].min() and a.layout.xaxis.range[1] > X[:, 0].max()
    assert em.scatter_2d(bishop, 0, axes="pca").layout.uirevision != a.layout.uirevision


def test_highlight_uncertain_enlarges_exactly_the_uncertain_points(bishop):
    step = m_step(bishop, 1)
    resp = bishop.steps[step].responsibilities
    uncertain = resp.max(axis=1) < 0.8
    assert 0 < uncertain.sum() < len(resp)
    (pts,) = role(valid(em.scatter_2d(bishop, step, highlight_uncertain=True)), "points")
    size = np.asarray(pts.marker.size)
    assert np.all(size[uncertain] > size[~uncertain].max())
    width = np.asarray(pts.marker.line.width)
    assert np.all(width[uncertain] > 0) and np.all(width[~uncertain] == 0)


def test_colour_by_labels_uses_the_argmax_colour(bishop):
    step = m_step(bishop, 1)
    (pts,) = role(valid(em.scatter_2d(bishop, step, color_by="labels")), "points")
    labels = np.argmax(bishop.steps[step].responsibilities, axis=1)
    assert list(pts.marker.color) == [common.PALETTE[j] for j in labels]
    with pytest.raises(ValueError, match="color_by"):
        em.scatter_2d(bishop, step, color_by="nope")


def test_selected_point_is_ringed(bishop, faithful_X):
    (ring,) = role(valid(em.scatter_2d(bishop, 2, selected=17)), "selected")
    assert list(ring.customdata) == [17]
    assert (ring.x[0], ring.y[0]) == pytest.approx(tuple(faithful_X[17]))
    assert role(em.scatter_2d(bishop, 2), "selected") == []
    with pytest.raises(IndexError):
        em.scatter_2d(bishop, 2, selected=272)


def test_scatter_above_the_cap_draws_exactly_max_points_and_says_so(blobs):
    n = blobs.X.shape[0]
    fig = valid(em.scatter_2d(blobs, 2, max_points=1_000, seed=4))
    (pts,) = role(fig, "points")
    idx = np.asarray(pts.customdata)
    assert len(idx) == len(pts.x) == 1_000 == len(np.unique(idx))
    np.testing.assert_allclose(pts.x, blobs.X[idx, 0])
    assert list(pts.marker.color) == common.blend(blobs.steps[2].responsibilities[idx])
    notes = [a.text for a in fig.layout.annotations]
    assert "showing 1 000 of 2 500 points" in notes
    # same rows at another step
    (pts2,) = role(em.scatter_2d(blobs, 4, max_points=1_000, seed=4), "points")
    np.testing.assert_array_equal(pts2.customdata, idx)
    # below the cap: everything, no note, WebGL above 2 000 points
    fig = valid(em.scatter_2d(blobs, 2))
    (pts,) = role(fig, "points")
    assert len(pts.x) == n and pts.type == "scattergl"
    assert not any("showing" in (a.text or "") for a in fig.layout.annotations)


def test_pca_projection_of_points_means_and_covariances(iris):
    step = m_step(iris, 2)
    snap = iris.steps[step]
    X = iris.X
    mu = X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X - mu, full_matrices=False)
    P = Vt[:2].T
    fig = valid(em.scatter_2d(iris, step, axes="pca"))
    (pts,) = role(fig, "points")
    got = np.c_[pts.x, pts.y]
    signs = np.sign(np.sum(got * ((X - mu) @ P), axis=0))  # PCA axes are defined up to sign
    P = P * signs
    np.testing.assert_allclose(got, (X - mu) @ P, atol=1e-9)
    (means,) = role(fig, "means")
    np.testing.assert_allclose(np.c_[means.x, means.y], (snap.means - mu) @ P, atol=1e-9)
    ells = role(fig, "ellipse")
    assert len(ells) == 2 * 3
    for t in ells:
        k = t.meta["k"]
        cov2 = P.T @ snap.covariances[k] @ P
        mean2 = (snap.means[k] - mu) @ P
        d2 = mahalanobis_sq(np.asarray(t.x), np.asarray(t.y), mean2, cov2)
        np.testing.assert_allclose(d2, t.meta["n_std"] ** 2, rtol=1e-6)
    assert fig.layout.xaxis.title.text.startswith("PC1")


def test_two_chosen_columns_use_that_block_of_the_covariance(iris):
    step = m_step(iris, 2)
    snap = iris.steps[step]
    fig = valid(em.scatter_2d(iris, step, axes=(2, 3), columns=["sl", "sw", "pl", "pw"]))
    (pts,) = role(fig, "points")
    np.testing.assert_allclose(np.c_[pts.x, pts.y], iris.X[:, [2, 3]])
    for t in role(fig, "ellipse"):
        k = t.meta["k"]
        d2 = mahalanobis_sq(np.asarray(t.x), np.asarray(t.y), snap.means[k, [2, 3]],
                            snap.covariances[k][np.ix_([2, 3], [2, 3])])
        np.testing.assert_allclose(d2, t.meta["n_std"] ** 2, rtol=1e-8)
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("pl", "pw")
    with pytest.raises(ValueError):
        em.scatter_2d(iris, step, axes=(1, 1))


def test_scatter_refuses_one_feature_and_bad_steps(eruptions, bishop):
    with pytest.raises(ValueError, match="density_1d"):
        em.scatter_2d(eruptions, 0)
    with pytest.raises(IndexError):
        em.scatter_2d(bishop, len(bishop))


# ------------------------------------------------------------------------ density_1d


def test_density_curves_integrate_to_the_weights(eruptions):
    for step in (0, 1, m_step(eruptions, 1), len(eruptions) - 1):
        snap = eruptions.steps[step]
        fig = valid(em.density_1d(eruptions, step))
        dens = sorted(role(fig, "density"), key=lambda t: t.meta["k"])
        assert len(dens) == 2
        for t in dens:
            area = np.trapezoid(np.asarray(t.y), np.asarray(t.x))
            assert area == pytest.approx(snap.weights[t.meta["k"]], rel=1e-3)
        (mix,) = role(fig, "mixture")
        assert np.trapezoid(np.asarray(mix.y), np.asarray(mix.x)) == pytest.approx(1.0, rel=1e-3)
        np.testing.assert_allclose(np.asarray(mix.y), sum(np.asarray(t.y) for t in dens), rtol=1e-9)


def test_density_curves_are_the_weighted_normal_densities(six):
    snap = six.steps[m_step(six, 1)]
    fig = em.density_1d(six, snap.index)
    for t in role(fig, "density"):
        k = t.meta["k"]
        x = np.asarray(t.x)
        var = snap.covariances[k, 0, 0]
        expected = snap.weights[k] * np.exp(-0.5 * (x - snap.means[k, 0]) ** 2 / var) / np.sqrt(2 * np.pi * var)
        np.testing.assert_allclose(np.asarray(t.y), expected, rtol=1e-9, atol=1e-300)


def test_density_rug_and_stacked_responsibility_bars(six):
    step = m_step(six, 2)
    resp = six.steps[step].responsibilities
    fig = valid(em.density_1d(six, step, selected=4))
    (rug,) = role(fig, "rug")
    np.testing.assert_array_equal(rug.customdata, np.arange(6))
    np.testing.assert_allclose(rug.y, 0)
    assert list(rug.marker.color) == common.blend(resp)
    bars = sorted(role(fig, "resp-bar"), key=lambda t: t.meta["k"])
    assert len(bars) == 2 and fig.layout.barmode == "stack"
    order = np.asarray(bars[0].customdata)
    np.testing.assert_array_equal(order, np.argsort(six.X[:, 0]))
    for t in bars:
        np.testing.assert_allclose(t.y, resp[order, t.meta["k"]])
    np.testing.assert_allclose(sum(np.asarray(t.y) for t in bars), 1.0)
    (ring,) = role(fig, "selected")
    assert list(ring.customdata) == [4] and ring.x[0] == six.X[4, 0]


def test_density_axes_stay_put_across_steps(eruptions):
    a = em.density_1d(eruptions, m_step(eruptions, 3))
    b = em.density_1d(eruptions, len(eruptions) - 1)
    assert a.layout.xaxis.range == b.layout.xaxis.range
    assert a.layout.yaxis.range == b.layout.yaxis.range
    assert a.layout.uirevision == b.layout.uirevision


def test_density_refuses_two_features(bishop):
    with pytest.raises(ValueError, match="scatter_2d"):
        em.density_1d(bishop, 0)


# -------------------------------------------------------------- log_likelihood_curve


def test_log_likelihood_curve_plots_every_step_and_marks_the_current_one(bishop):
    step = m_step(bishop, 4)
    fig = valid(em.log_likelihood_curve(bishop, step))
    ll = np.array([s.log_likelihood for s in bishop.steps])
    (line,) = role(fig, "ll-line")
    np.testing.assert_allclose(line.y, ll)
    # Steps are numbered from 1 on screen, as in the player.
    np.testing.assert_array_equal(line.x, np.arange(len(bishop)) + 1)
    by_phase = {t.meta["phase"]: t for t in role(fig, "ll")}
    assert set(by_phase) == {"init", "E", "M"}
    for phase, t in by_phase.items():
        xs = np.asarray(t.x) - 1
        assert all(bishop.steps[i].phase == phase for i in xs)
        np.testing.assert_allclose(t.y, ll[xs])
        assert list(t.hovertext) == [bishop.steps[i].message for i in xs]
    assert len(by_phase["init"].x) + len(by_phase["E"].x) + len(by_phase["M"].x) == len(bishop)
    assert not role(fig, "current")
    vline, ring = fig.layout.shapes
    assert vline.x0 == vline.x1 == step + 1
    assert ring.name == "current" and (ring.xanchor, ring.yanchor) == pytest.approx((step + 1, ll[step]))


def test_log_likelihood_curve_draws_the_lower_bound_of_m_steps(bishop):
    fig = em.log_likelihood_curve(bishop, 0)
    (lb,) = role(fig, "lower-bound")
    ms = [s for s in bishop.steps if s.phase == "M"]
    assert list(lb.x) == [s.index + 0.5 for s in ms]  # between the E and M markers
    np.testing.assert_allclose(lb.y, [s.lower_bound for s in ms])
    assert lb.line.dash == "dash"


# ------------------------------------------------------------------- small_multiples


def test_small_multiples_bishop_panels(bishop):
    fig = valid(em.small_multiples(bishop))
    titles = [a.text for a in fig.layout.annotations][:5]
    assert titles == ["start", "L = 1", "L = 2", "L = 5", "L = 20"]
    means = role(fig, "means")
    assert len(means) == 5
    for t, s in zip(means, [0] + [m_step(bishop, L) for L in (1, 2, 5, 20)]):
        np.testing.assert_allclose(np.c_[t.x, t.y], bishop.steps[s].means)
    assert [t.xaxis or "x" for t in means] == ["x", "x2", "x3", "x4", "x5"]
    assert len(role(fig, "ellipse")) == 5 * 2 * 2
    assert all(fig.layout[f"xaxis{c}"].range == fig.layout.xaxis.range for c in range(2, 6))


def test_small_multiples_clip_to_the_last_iteration_and_say_so(short):
    fig = valid(em.small_multiples(short, (1, 2, 5, 20)))
    texts = [a.text for a in fig.layout.annotations]
    assert texts[:4] == ["start", "L = 1", "L = 2", "L = 3 (last)"]
    # the note wraps to fit a phone: its lines read as one sentence
    notes = [t.replace("<br>", " ") for t in texts[4:]]
    assert any("stopped after 3 iterations" in t and "5, 20" in t for t in notes)
    assert max(len(line) for t in texts[4:] for line in t.split("<br>")) <= 45
    assert len(role(fig, "means")) == 4


def test_small_multiples_of_one_feature(eruptions):
    fig = valid(em.small_multiples(eruptions, (1, 2)))
    assert [a.text for a in fig.layout.annotations][:3] == ["start", "L = 1", "L = 2"]
    assert len(role(fig, "mixture")) == 3


# ---------------------------------------------------------------------------- tables


def test_parameters_table_holds_the_snapshot_and_its_changes(bishop):
    step = m_step(bishop, 2)
    snap, prev = bishop.steps[step], bishop.steps[step - 1]
    df = em.parameters_table(bishop, step, columns=["eruptions", "waiting"])
    assert list(df["component"]) == ["Gaussian 1", "Gaussian 2"]
    np.testing.assert_allclose(df["weight"], snap.weights)
    np.testing.assert_allclose(df["Δ weight"], snap.weights - prev.weights)
    np.testing.assert_allclose(df["mean waiting"], snap.means[:, 1])
    np.testing.assert_allclose(df["Δ mean waiting"], snap.means[:, 1] - prev.means[:, 1])
    np.testing.assert_allclose(df["var eruptions"], snap.covariances[:, 0, 0])
    np.testing.assert_allclose(df["cov eruptions, waiting"], snap.covariances[:, 0, 1])
    assert np.all(df["Δ weight"] != 0)  # an M-step moves the weights
    assert df.filter(like="Δ").notna().all().all()
    start = em.parameters_table(bishop, 0)
    assert start.filter(like="Δ").isna().all().all()


def test_parameters_table_drops_covariance_entries_above_three_features(iris):
    cols = list(em.parameters_table(iris, 1).columns)
    assert not any(c.startswith("cov") for c in cols)
    assert sum(c.startswith("mean") for c in cols) == 4


def test_responsibilities_table_is_the_lessons_form(bishop, faithful_X):
    step = m_step(bishop, 1)
    df = em.responsibilities_table(bishop, step, ["eruptions", "waiting"])
    assert list(df.columns) == ["point", "eruptions", "waiting", "r(k=1)", "r(k=2)"]
    np.testing.assert_array_equal(df["point"], np.arange(272))
    np.testing.assert_allclose(df[["eruptions", "waiting"]], faithful_X)
    np.testing.assert_allclose(df[["r(k=1)", "r(k=2)"]], bishop.steps[step].responsibilities)
    part = em.responsibilities_table(bishop, step, ["e", "w"], rows=[5, 3])
    assert list(part["point"]) == [5, 3]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["point", "waiting"], ["point", "point (x)", "waiting"]),
        (["r(k=1)", "r(k=2)"], ["point", "r(k=1) (x)", "r(k=2) (x)"]),
        (["a", "a"], ["point", "a", "a (x)"]),
        (["point (x)", "point"], ["point", "point (x)", "point (x2)"]),
    ],
)
def test_responsibilities_table_keeps_columns_named_like_its_own(bishop, faithful_X, columns, expected):
    step = m_step(bishop, 1)
    df = em.responsibilities_table(bishop, step, columns)
    assert list(df.columns) == expected + ["r(k=1)", "r(k=2)"]
    np.testing.assert_array_equal(df["point"], np.arange(272))
    np.testing.assert_allclose(df[expected[1:]].to_numpy(), faithful_X)
    np.testing.assert_allclose(df[["r(k=1)", "r(k=2)"]], bishop.steps[step].responsibilities)


# ----------------------------------------------------------------------------- LaTeX

# A number as the formulas write it: plain, "m \times 10^{e}", or a responsibility's "m\mathrm{e}{e}".
_NUM = r"(-?[0-9.]+(?: \\times 10\^\{-?\d+\}|\\mathrm\{e\}\{-?\d+\})?)"


def _num(s: str) -> float:
    m = re.fullmatch(r"(-?[0-9.]+)(?: \\times 10\^\{(-?\d+)\}|\\mathrm\{e\}\{(-?\d+)\})?", s.strip())
    assert m, s
    e = m.group(2) or m.group(3)
    return float(m.group(1)) * (10.0 ** int(e) if e else 1.0)


def _half_ulp(v: float, sig: int = 4) -> float:
    """Half a unit in the last printed place of a number shown with ``sig`` digits."""
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(v))) - (sig - 1)) if v else 0.0


def _check_latex(trace: Trace, step: int, i: int) -> None:
    tex = em.responsibility_latex(trace, step, i, columns=["eruptions", "waiting"])
    assert tex.startswith("\\begin{aligned}") and tex.rstrip().endswith("\\end{aligned}")
    resp = trace.steps[step].responsibilities[i]
    results = re.findall(r"r_\{" + str(i) + r",(\d+)\} &= \\frac\{" + _NUM + r"\}\{" + _NUM + r"\} = " + _NUM, tex)
    assert [int(k) for k, *_ in results] == [1, 2]
    for k, num, den, r in results:
        r = _num(r)
        assert abs(r - resp[int(k) - 1]) <= _half_ulp(r) * 1.001 + 1e-15
        assert _num(num) / _num(den) == pytest.approx(r, rel=2e-3)
    products = re.findall(r"&= " + _NUM + r" \\times " + _NUM + r" = " + _NUM + r" \\\\", tex)
    assert len(products) == 2
    for pi, dens, prod in products:
        assert _num(pi) * _num(dens) == pytest.approx(_num(prod), rel=2e-3)
    snap = trace.steps[step]
    weights = snap.weights if snap.phase != "M" else snap.resp_weights  # M: the E-step's
    assert [_num(p) for p, _, _ in products] == pytest.approx(list(weights), rel=1e-3)
    assert ("this M-step used" in tex) == (snap.phase == "M")


def test_responsibility_latex_numbers_agree_with_the_responsibilities(bishop):
    step = m_step(bishop, 1)
    resp = bishop.steps[step].responsibilities
    mixed = int(np.argmin(np.abs(resp[:, 0] - 0.5)))
    extreme = int(np.argmin(resp[:, 0]))  # r(k=1) tiny: scientific notation
    assert resp[extreme, 0] < 1e-3
    for i in (mixed, extreme, 0):
        _check_latex(bishop, step, i)
    _check_latex(bishop, 0, mixed)


def test_the_table_and_the_formula_write_each_responsibility_alike(bishop):
    step = m_step(bishop, 1)
    resp = bishop.steps[step].responsibilities
    extreme = int(np.argmin(resp[:, 0]))
    assert resp[extreme, 0] < 1e-3  # tiny: the old formula added "≈ 0.0003", the table all its digits
    tex = em.responsibility_latex(bishop, step, extreme)
    for k in range(2):
        text = em.format_responsibility(resp[extreme, k])
        latex = em.format_responsibility(resp[extreme, k], latex=True)
        assert latex.replace(r"\mathrm{e}{", "e").rstrip("}") == text
        assert tex.split(f"r_{{{extreme},{k + 1}}} &=")[1].split("\\\\")[0].rstrip().endswith(latex)
    assert r"\approx" not in tex
    assert em.format_responsibility(0.5) == "0.5" and em.format_responsibility(3e-20) == "3e-20"
    assert em.format_responsibility(0.001234) == "0.001234" and em.format_responsibility(1.0) == "1"
    assert em.format_responsibility(3e-20, latex=True) == r"3\mathrm{e}{-20}"


def test_the_formula_writes_a_responsibility_below_a_millionth_as_the_grid_does(faithful_X):
    # The lab's default run: at its last step point 0 is all but certainly in Gaussian 2.
    trace = trace_em(faithful_X, 2, init="random_from_data", seed=15)
    step = len(trace) - 1
    r = trace.steps[step].responsibilities[0]
    assert r[0] < 1e-6  # exponent notation in the grid (JavaScript's rule), so in the formula too
    tex = em.responsibility_latex(trace, step, 0)
    for k, shown in ((1, "3.117e-9"), (2, "1")):
        assert em.format_responsibility(r[k - 1]) == shown
        line = tex.split(f"r_{{0,{k}}} &=")[1].split("\\\\")[0].rstrip()
        assert line.endswith(" = " + em.format_responsibility(r[k - 1], latex=True)), line
    assert tex.split("r_{0,1} &=")[1].split("\\\\")[0].rstrip().endswith(r" = 3.117\mathrm{e}{-9}")


# (x, String(Number(x.toPrecision(4)))) as Chromium computes it: sprintf-js's "%.4g", the
# responsibilities grid's format. Across both ends of JavaScript's plain notation (1e-6, 1e21),
# rounding into the next power, halfway cases (0.015625 is exact: JavaScript rounds it up,
# Python's "%.4g" to even), and the ends of the float range.
GRID_WRITES = [
    (0.5, "0.5"),
    (1.0, "1"),
    (0.5476, "0.5476"),
    (0.99996, "1"),
    (0.99994, "0.9999"),
    (0.015625, "0.01563"),
    (0.001234, "0.001234"),
    (2.5e-05, "0.000025"),
    (1.626e-06, "0.000001626"),
    (1e-06, "0.000001"),
    (9.99996e-07, "0.000001"),
    (9.9994e-07, "9.999e-7"),
    (1.626e-07, "1.626e-7"),
    (1e-07, "1e-7"),
    (3e-20, "3e-20"),
    (123456.0, "123500"),
    (9.9994e20, "999900000000000000000"),
    (9.99996e20, "1e+21"),
    (1e21, "1e+21"),
    (-0.5, "-0.5"),
    (-1.626e-07, "-1.626e-7"),
    (0.0, "0"),
    (5e-324, "5e-324"),
]


@pytest.mark.parametrize(("x", "shown"), GRID_WRITES)
def test_a_responsibility_is_written_as_the_grid_writes_it(x, shown):
    assert em.format_responsibility(x) == shown
    # the formula: the same characters, the exponent's "e" upright
    latex = em.format_responsibility(x, latex=True)
    assert latex.replace(r"\mathrm{e}{", "e").rstrip("}") == shown
    assert ("e" in shown) == (r"\mathrm{e}" in latex)


def test_responsibility_latex_escapes_column_names(bishop):
    tex = em.responsibility_latex(bishop, 1, 0, columns=["a_b", "50% {x}"])
    assert r"\text{a\_b}" in tex and r"\text{50\% \{x\}}" in tex
    with pytest.raises(IndexError):
        em.responsibility_latex(bishop, 1, 272)


def test_equations_highlight_the_phase():
    e = em.equations_latex("E")
    m = em.equations_latex("M")
    assert len(e) == len(m) == 5
    assert [h for _, _, h in e] == [True, False, False, False, False]
    assert [h for _, _, h in m] == [False, True, True, True, True]
    assert not any(h for _, _, h in em.equations_latex("init"))
    assert "r_{ik}" in e[0][1] and r"\mu_k" in m[3][1]
    assert "fixed" in em.equations_latex("M", covariance_type="fixed")[4][1]
    with pytest.raises(ValueError):
        em.equations_latex("X")


# -------------------------------------------------------------------------- stepping


def test_step_charts_are_the_scatter_and_the_curve_at_every_step(bishop):
    spec = em.step_charts(bishop)
    doc = spec.spec()
    assert spec.frames == tuple(range(len(bishop))) and not spec.notes
    assert doc["labels"] == [s.message for s in bishop.steps]
    for step in (0, m_step(bishop, 2), len(bishop) - 1):
        for c, want in enumerate((em.scatter_2d(bishop, step), em.log_likelihood_curve(bishop, step))):
            chart = doc["charts"][c]
            assert stepping.figure_at(chart, step) == stepping.figure_json(want)


def test_step_charts_of_one_feature_step_the_densities(six):
    doc = em.step_charts(six).spec()
    last = len(six) - 1
    chart = doc["charts"][0]
    assert stepping.figure_at(chart, last) == stepping.figure_json(em.density_1d(six, last))


def test_step_charts_send_the_points_once_and_colours_per_step(bishop):
    doc = em.step_charts(bishop).spec()
    patches = doc["charts"][0]["patches"]
    e_step, m = m_step(bishop, 2) - 1, m_step(bishop, 2)
    assert bishop[e_step].phase == "E"
    points = patches[e_step]["data"]["0"]["set"]
    assert "x" not in points and "y" not in points  # positions are sent once, in the base
    assert "marker" in points  # an E-step recolours the points
    # an M-step moves the Gaussians only: the colours of the E-step before it stay, unsent
    assert "0" not in patches[m].get("data", {}) and patches[m]["data"]


# ------------------------------------------------------------------ round trip, speed


def test_views_work_on_a_trace_loaded_from_json(bishop):
    loaded = Trace.from_json(bishop.to_json())
    a, b = em.scatter_2d(bishop, 5), em.scatter_2d(loaded, 5)
    assert role(a, "points")[0].marker.color == role(b, "points")[0].marker.color


def test_every_step_redraws(bishop):
    """What the page rebuilds per Next click works on every step of a trace.

    How fast it is is measured by benchmarks/bench_em.py, not asserted here.
    """
    for step in range(len(bishop)):
        em.scatter_2d(bishop, step, highlight_uncertain=True, selected=3).to_json()
        em.log_likelihood_curve(bishop, step).to_json()
        em.parameters_table(bishop, step)
        em.responsibilities_table(bishop, step, ["e", "w"])
        em.responsibility_latex(bishop, step, 3)


def test_log_likelihood_curve_zooms_past_a_far_start(bishop):
    ll = np.array([s.log_likelihood for s in bishop.steps])
    assert ll[0] < ll[2:].min() - 3 * np.ptp(ll[2:])  # the start is far below the climb
    fig = valid(em.log_likelihood_curve(bishop, 6))
    lo, hi = fig.layout.yaxis.range
    assert lo < ll[2:].min() and hi > ll.max() and lo > ll[0]
    assert any("below the axis" in a.text for a in fig.layout.annotations)
    # on the start itself the whole curve stays in view, with no note
    start = valid(em.log_likelihood_curve(bishop, 0))
    lo, hi = start.layout.yaxis.range
    assert lo <= ll.min() and hi >= ll.max()
    assert not any("below the axis" in a.text for a in start.layout.annotations)


# ------------------------------------------------------- trust what you see (views)


def test_every_chart_with_ellipses_is_drawn_to_equal_scale(bishop, iris):
    for fig in (em.scatter_2d(bishop, 3), em.scatter_2d(iris, 2, axes="pca")):
        lay = valid(fig).layout
        assert lay.yaxis.scaleanchor == "x" and lay.yaxis.scaleratio == 1
        assert lay.xaxis.constrain == "domain" and lay.yaxis.constrain == "domain"
    lay = valid(em.small_multiples(bishop, (1, 2, 5, 20))).layout
    for c in ("", "2", "3", "4", "5"):
        y = lay[f"yaxis{c}"]
        assert y.scaleanchor == f"x{c}" and y.scaleratio == 1 and y.constrain == "domain"
        assert lay[f"xaxis{c}"].constrain == "domain"


def test_an_equal_scale_scatter_of_lopsided_columns_says_why_it_is_narrow(faithful_X):
    raw = faithful_X * np.array([1.14, 13.6]) + np.array([3.49, 70.9])  # minutes, as recorded
    trace = trace_em(raw, 2, seed=0, max_iter=3)
    notes = [a.text for a in valid(em.scatter_2d(trace, 0)).layout.annotations]
    assert any("equal scale" in t and "standardise" in t for t in notes)
    assert not valid(em.scatter_2d(trace_em(faithful_X, 2, seed=0, max_iter=3), 0)).layout.annotations


def test_the_scatter_legend_sits_below_the_plot_for_many_gaussians(faithful_X):
    trace = trace_em(faithful_X, 10, seed=0, max_iter=2)
    lay = valid(em.scatter_2d(trace, 0)).layout
    assert lay.legend.y < 0 and lay.legend.yanchor == "top"  # never over the title
    assert lay.margin.b >= 80 + 22 * 3


def test_the_curve_rings_the_two_steps_the_tol_test_compared(faithful_X):
    trace = trace_em(faithful_X, 2, init="random_from_data", seed=15)
    assert trace.converged
    a, b = em.tol_compared_steps(trace)
    assert trace.steps[a].phase == trace.steps[b].phase == "E"
    assert b == len(trace) - 2 and a == b - 2  # the last M-step ran after the test
    fig = valid(em.log_likelihood_curve(trace, 0))
    (marks,) = role(fig, "tol-compared")
    assert list(marks.x) == [a + 1, b + 1]
    n = faithful_X.shape[0]
    change = (trace.steps[b].log_likelihood - trace.steps[a].log_likelihood) / n
    assert abs(change) < trace.params["tol"]
    assert f"steps {a + 1} and {b + 1} of the curve" in trace.message
    not_converged = trace_em(faithful_X, 2, init="random_from_data", seed=15, tol=0, max_iter=4)
    assert em.tol_compared_steps(not_converged) is None
    assert not role(valid(em.log_likelihood_curve(not_converged, 0)), "tol-compared")


@pytest.mark.parametrize("lo, hi", [(-598.110566, -598.110565), (-475061.4, -475060.9), (-2050.0, -385.0),
                                    (-0.0012, -0.0011), (12.5, 13.0)])
def test_value_axis_ticks_are_short_whole_numbers(lo, hi):
    axis, left = common.value_axis(lo, hi, title="log-likelihood")
    r0, r1 = axis["range"]
    assert r0 <= lo and r1 >= hi
    labels = common.tick_labels(r0, r1, axis["dtick"])
    assert 2 <= len(labels) <= 11
    assert len(set(labels)) == len(labels)
    for text in labels:
        assert "k" not in text and len(text) <= 9, labels
        value = float(text.replace("−", "-").replace(",", ""))
        assert r0 - 1e-12 <= value <= r1 + 1e-12
    assert left >= 7 * max(len(t) for t in labels) + 20  # room for the labels and the title
    assert axis["exponentformat"] == "none" and axis["tickmode"] == "linear"


def test_a_fast_converging_run_keeps_readable_ticks_and_names_the_hidden_steps(bishop):
    # The log-likelihood flattens out within a fraction of a unit: the axis still spans a
    # readable width and labels every tick with few digits.
    fig = valid(em.log_likelihood_curve(bishop, len(bishop) - 1))
    lo, hi = fig.layout.yaxis.range
    labels = common.tick_labels(lo, hi, fig.layout.yaxis.dtick)
    assert all(len(t) <= 8 for t in labels), labels
    ll = np.array([s.log_likelihood for s in bishop.steps])
    hidden = np.flatnonzero(ll < lo) + 1
    assert hidden.size
    (note,) = [a.text for a in fig.layout.annotations if "below the axis" in a.text]
    assert note.startswith(f"↓ steps {hidden[0]}–{hidden[-1]} below the axis")


def test_off_axis_note_names_steps_below_and_above():
    values = np.array([-10.0, 5.0, 1.0, 1.1, 1.2])
    note = common.off_axis_note(values, [0.0, 2.0])
    assert "↓ step 1 below the axis" in note["text"] and "↑ step 2 above the axis" in note["text"]
    assert common.off_axis_note(values, [-20.0, 20.0]) is None


def test_the_home_hook_names_two_different_points_as_its_chart_labels_them():
    from tracelab.labs.em import lessons
    from tracelab.labs.em import hook as home

    preset = lessons.HOOK
    trace = trace_em(preset.data().X, **preset.params)
    step, sure, unsure = home.hook_points(trace)
    assert sure != unsure and trace.steps[step].phase in ("E", "init")
    r = trace.steps[step].responsibilities
    assert r[sure].max() >= home.SURE_FROM and r[unsure].max() <= home.UNSURE_UP_TO
    fig = valid(home.hook_figure(trace))
    labels = {a.name: a.text for a in fig.layout.annotations if a.name}
    caption = home.hook_caption(trace)
    for name, i in (("hook-sure", sure), ("hook-unsure", unsure)):
        probs = " / ".join(em.format_responsibility(v) for v in r[i])
        assert labels[name] == f"x = {trace.X[i, 0]:.2f} min: r = {probs}"
        assert f"{trace.X[i, 0]:.2f} min" in caption and probs in caption
    (ring,) = role(fig, "hook-point")
    assert list(ring.customdata) == [sure, unsure]
    assert f"step {step + 1} of {len(trace)}" in fig.layout.title.text


def test_responsibilities_rows_keep_a_table_within_its_numbers(bishop):
    n = bishop.X.shape[0]  # 272 points, 2 features, 2 components: 5 numbers a row
    np.testing.assert_array_equal(em.responsibilities_rows(bishop, 5 * n), np.arange(n))
    rows = em.responsibilities_rows(bishop, 500)
    assert len(rows) == 100 and len(np.unique(rows)) == 100 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(em.responsibilities_rows(bishop, 500), rows)  # the same rows every time
    table = em.responsibilities_table(bishop, 3, rows=rows)
    assert table.size <= 500
    np.testing.assert_allclose(table[["r(k=1)", "r(k=2)"]], bishop.steps[3].responsibilities[rows])
    assert len(em.responsibilities_rows(bishop, 1)) == 1
