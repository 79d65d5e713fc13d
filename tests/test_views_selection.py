"""Views of the choosing-k lab: figures validate and hold the values the engine computed.

(With plotly 7 the re-built figure holds arrays as base64 dicts, so values are read from
the original figure; the re-build only validates.)
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from tracelab.labs.selection import engine as S
from tracelab.plot import common
from tracelab.labs.selection import views as V


def _validate(fig):
    go.Figure(fig.to_dict())  # raises on any misspelt property
    return fig


def _role(fig, role):
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(5)
    centers = np.array([[0, 0], [6, 0], [0, 6]])
    y = np.repeat([0, 1, 2], 30)
    return centers[y] + rng.normal(0, 0.7, (90, 2)), y


def test_elbow_plot(blobs):
    X, _ = blobs
    res = S.elbow(X, range(1, 8), n_init=2)
    fig = _validate(V.elbow_plot(res, selected=2))
    (curve,) = _role(fig, "inertia")
    np.testing.assert_array_equal(curve.customdata, res.ks)
    np.testing.assert_allclose(curve.y, res.inertia)
    (chord,) = _role(fig, "chord")
    assert chord.line.dash == "dash"
    assert list(chord.x) == [1, 7] and list(chord.y) == pytest.approx([res.inertia[0], res.inertia[-1]])
    (knee,) = _role(fig, "knee")
    assert res.knee == 3 and list(knee.x) == [3] and list(knee.customdata) == [3]
    assert [a.text for a in fig.layout.annotations] == ["knee: farthest from the chord"]
    assert fig.layout.annotations[0].x == 3
    (sel,) = _role(fig, "selected")
    assert list(sel.customdata) == [2]
    # No knee with two ks: no knee marker, no annotation.
    fig2 = _validate(V.elbow_plot(S.elbow(X, [1, 2], n_init=1)))
    assert not _role(fig2, "knee") and not fig2.layout.annotations and not _role(fig2, "selected")


def test_silhouette_plot_bars_sorted_within_clusters(blobs):
    X, y = blobs
    labels = y.copy()
    labels[:4] = -1
    values = S.silhouette_samples(X, labels)
    fig = _validate(V.silhouette_plot(X, labels))
    bars = _role(fig, "bars")
    assert [b.meta["cluster"] for b in bars] == [0, 1, 2]
    seen = []
    last_top = -np.inf
    for b in bars:
        assert b.orientation == "h"
        x = np.asarray(b.x)
        assert np.all(np.diff(x) >= 0)  # sorted within the cluster
        rows = np.asarray(b.customdata)
        np.testing.assert_allclose(x, values[rows])
        assert np.all(labels[rows] == b.meta["cluster"])
        ys = np.asarray(b.y)
        assert ys.min() > last_top  # clusters in separate blocks
        last_top = ys.max()
        seen.extend(rows.tolist())
    assert sorted(seen) == list(range(4, 90))  # every non-noise point once, noise left out
    (mean,) = _role(fig, "mean")
    assert list(mean.x) == pytest.approx([S.silhouette_score(X, labels)] * 2)
    assert "4 noise points left out" in fig.layout.title.text
    # Values given directly (1-D first argument, or values=) draw the same bars.
    for other in (V.silhouette_plot(values, labels), V.silhouette_plot(None, labels, values=values)):
        _validate(other)
        for a, b in zip(_role(other, "bars"), bars):
            np.testing.assert_array_equal(a.customdata, b.customdata)


def test_criteria_plot(blobs):
    X, _ = blobs
    res = S.information_criteria(X, [1, 2, 3, 4], ("full", "spherical"))
    for which in ("bic", "aic"):
        fig = _validate(V.criteria_plot(res, which=which))
        lines = _role(fig, "criterion")
        assert [t.meta["covariance_type"] for t in lines] == ["full", "spherical"]
        table = res.bic if which == "bic" else res.aic
        for t, line in enumerate(lines):
            np.testing.assert_allclose(line.y, table[t])
            assert [list(c) for c in line.customdata] == [[k, line.name] for k in (1, 2, 3, 4)]
        best = _role(fig, "best")
        assert {b.meta["covariance_type"]: b.meta["k"] for b in best} == res.best(which)
        for b in best:
            k, ct = b.customdata[0]
            t = res.covariance_types.index(ct)
            assert b.y[0] == pytest.approx(np.min(table[t])) and k == res.ks[np.argmin(table[t])]
    with pytest.raises(ValueError, match="which"):
        V.criteria_plot(res, which="dic")


def test_silhouette_names_and_colours_clusters_as_the_kmeans_lab():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 0.3, (20, 2)), rng.normal(3, 0.3, (20, 2)), rng.normal(6, 0.3, (20, 2))]
    labels = np.repeat([0, 2, 3], 20)  # cluster 2 (label 1) empty, as k-means may leave it
    fig = _validate(V.silhouette_plot(X, labels))
    bars = _role(fig, "bars")
    assert [b.name for b in bars] == ["cluster 1", "cluster 3", "cluster 4"]
    assert [b.marker.color for b in bars] == [common.rgba(common.PALETTE[c], 0.85) for c in (0, 2, 3)]
    assert [t.split(" (")[0] for t in fig.layout.yaxis.ticktext] == ["cluster 1", "cluster 3", "cluster 4"]


def test_contingency_heatmap():
    t = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([1, 1, 0, -1, 0, 0, 3])
    table = S.contingency_table(t, p)
    fig = _validate(V.contingency_heatmap(*table))
    (hm,) = _role(fig, "counts")
    np.testing.assert_array_equal(hm.z, table.counts)
    # clusters counted from 1, as the k-means lab names them; the rows are the class names
    assert list(hm.x) == ["noise", "cluster 1", "cluster 2", "cluster 4"]
    assert list(hm.y) == ["0", "1", "2"]
    assert list(hm.customdata[0][1]) == ["0", "0"]  # the labels as given
    # a colour scale says what the shades mean
    assert hm.showscale is True and hm.colorbar.title.text == "points"
    # more points, darker (plotly.js's named "Blues" makes 0 the darkest)

    def luminance(hex_color):
        r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    scale = [c for _, c in hm.colorscale]
    assert luminance(scale[0]) > luminance(scale[-1]) + 100
    # the margins grow for the tick labels, so the axis titles never cover them
    assert fig.layout.yaxis.automargin is True and fig.layout.xaxis.automargin is True
    assert fig.layout.margin.autoexpand is True
    with pytest.raises(ValueError, match="shape"):
        V.contingency_heatmap([0, 1], [0], np.zeros((3, 1)))
