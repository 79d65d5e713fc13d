"""Views of the choosing-k lab: figures validate and hold the values the engine computed.

(With plotly 7 the re-built figure holds arrays as base64 dicts, so values are read from
the original figure; the re-build only validates.)
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from tracelab import selection as S
from tracelab.views import selection as V


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


def test_contingency_heatmap():
    t = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([1, 1, 0, -1, 0, 0, 3])
    table = S.contingency_table(t, p)
    fig = _validate(V.contingency_heatmap(*table))
    (hm,) = _role(fig, "counts")
    np.testing.assert_array_equal(hm.z, table.counts)
    assert list(hm.x) == ["noise", "cluster 0", "cluster 1", "cluster 3"]
    assert list(hm.y) == ["class 0", "class 1", "class 2"]
    with pytest.raises(ValueError, match="shape"):
        V.contingency_heatmap([0, 1], [0], np.zeros((3, 1)))
