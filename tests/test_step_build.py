"""The hierarchy and density labs' step charts: drawn as plain dicts, exactly the public views, and light.

``step_charts`` draws every step through the views' dict-returning halves
(no ``go.Figure`` a step); the player must still show, at every step, exactly
the figure the public view (``scatter``, ``dendrogram``, ``dbscan_scatter``, ...)
returns for that step.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tracelab.data import datasets
from tracelab.labs.density.engine import trace_dbscan, trace_optics
from tracelab.labs.density.hdbscan import trace_hdbscan
from tracelab.labs.hierarchy.engine import trace_agnes, trace_diana
from tracelab.plot import common
from tracelab.labs.density import views as dv
from tracelab.labs.hierarchy import views as hv
from tracelab.plot import stepping


@pytest.fixture
def untimed(monkeypatch):
    """build_spec without its time bound: the test machine's load must not thin the frames."""
    monkeypatch.setattr(stepping, "build_spec", functools.partial(stepping.build_spec, max_seconds=600))


@pytest.fixture
def unbounded(monkeypatch):
    """build_spec without its bounds: every step drawn, to compare each with the public view."""
    monkeypatch.setattr(stepping, "build_spec",
                        functools.partial(stepping.build_spec, max_seconds=600, max_bytes=10**9))


def _moons(n: int = 120) -> np.ndarray:
    return datasets.load("two_moons", n_samples=n, seed=1).X


def _blobs(n: int) -> np.ndarray:
    return datasets.load("blobs").X[:n]


def _exact(spec: stepping.StepSpec, views, steps=None) -> None:
    doc = spec.spec()
    assert spec.frames == tuple(range(spec.n_steps)), "every step is drawn"
    for f in steps if steps is not None else range(len(spec.frames)):
        for c, view in enumerate(views):
            assert stepping.figure_at(doc["charts"][c], f) == stepping.figure_json(view(spec.frames[f])), (
                f"chart {c} differs from the public view at step {spec.frames[f]}"
            )


def test_agnes_step_charts_are_the_public_views_at_every_step(unbounded):
    t = trace_agnes(_blobs(45), linkage="ward")
    spec = hv.step_charts(t, cut_k=3)
    budget = stepping.point_budget(45, len(t))
    _exact(spec, [lambda s: hv.scatter(t, s, max_points=budget),
                  lambda s: hv.dendrogram(t, s, cut_k=3, color_by_cut=False),
                  lambda s: hv.merge_heights(t, s, cut_height=hv.cut_for_k(t, 3))])


def test_agnes_coloured_by_a_cut_height_is_the_public_views(unbounded):
    t = trace_agnes(_blobs(40), linkage="average")
    h = float(np.mean(t.linkage_matrix[-4:-2, 2]))
    k = hv.k_for_height(t, h)
    spec = hv.step_charts(t, cut_k=k, cut_height=h, color_by_cut=True)
    _exact(spec, [lambda s: hv.scatter(t, s, cut_k=k),
                  lambda s: hv.dendrogram(t, s, cut_height=h, color_by_cut=True),
                  lambda s: hv.merge_heights(t, s, cut_height=h)])


def test_agnes_with_a_truncated_tree_is_the_public_views(unbounded):
    # Past 300 points the dendrogram collapses its first merges into leaves (a "leaves" trace).
    X = np.vstack([_blobs(300), _blobs(300)[:20] + 0.01])
    t = trace_agnes(X, linkage="ward")
    spec = hv.step_charts(t, cut_k=4)
    budget = stepping.point_budget(X.shape[0], len(t))
    views = [lambda s: hv.scatter(t, s, max_points=budget), lambda s: hv.dendrogram(t, s, cut_k=4, color_by_cut=False),
             lambda s: hv.merge_heights(t, s, cut_height=hv.cut_for_k(t, 4))]
    _exact(spec, views, steps=[0, 1, 19, 20, 21, 150, 318, 319])


def test_diana_step_charts_are_the_public_view_at_every_step(unbounded):
    t = trace_diana(_blobs(30))
    _exact(hv.step_charts(t), [lambda s: hv.scatter(t, s)])


@pytest.mark.parametrize("algo", ["dbscan", "optics", "hdbscan"])
def test_density_step_charts_are_the_public_views_at_every_step(unbounded, algo):
    X = _moons()
    if algo == "dbscan":
        t = trace_dbscan(X, eps=0.25, min_samples=5, group="10 points")
        k = int(t.params["min_samples"]) - 1
        views = [lambda s: dv.dbscan_scatter(t, s), lambda s: dv.k_distance_plot(X, k, eps=0.25)]
    elif algo == "optics":
        t = trace_optics(X, min_samples=5, eps_cut=0.3, group="10 points")
        views = [lambda s: dv.optics_scatter(t, s, eps_cut=0.3), lambda s: dv.optics_reachability(t, s, eps_cut=0.3)]
    else:
        t = trace_hdbscan(X, min_cluster_size=8)
        views = [lambda s: dv.hdbscan_mst(t, s), lambda s: dv.hdbscan_condensed_tree(t, s)]
    _exact(dv.step_charts(t), views)


def test_step_charts_build_no_plotly_figure_a_step(monkeypatch):
    """Plotly's object model costs ~10 ms a figure: the steps are drawn as dicts (one constant
    chart, the k-distance graph, is made once)."""
    made = []
    real = common.go.Figure

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(common.go, "Figure", counting)
    t = trace_agnes(_blobs(40), linkage="ward")
    hv.step_charts(t, cut_k=3)
    assert made == []
    d = trace_dbscan(_moons(), eps=0.25, min_samples=5, group="10 points")
    dv.step_charts(d)
    assert len(made) <= 1
    made.clear()
    dv.step_charts(trace_optics(_moons(), min_samples=5, group="10 points"))
    dv.step_charts(trace_hdbscan(_moons(), min_cluster_size=8))
    assert made == []


def test_figure_dict_typed_is_what_plotly_sends():
    """``figure_dict(typed=True)`` writes numpy arrays as plotly's own conversion does (narrowed
    integers, float32 kept, object and bool arrays and axis ranges left alone), without
    changing its input."""
    rng = np.random.default_rng(0)
    rows = np.arange(5)
    data = [{"type": "scatter", "x": rng.normal(size=5), "y": rows.astype(np.float32), "customdata":
             np.column_stack([rows, rows * 1000]), "marker": {"color": np.array(list("abcde"), dtype=object),
                                                             "size": np.arange(1, 6, dtype=np.uint64),
                                                             "opacity": rows > 2},
             "meta": {"rows": rows, "big": np.array([2**40])}, "text": ["a", 1.5], "ids": np.empty(0)}]
    layout = {"xaxis": {"range": np.array([0.0, 1.0]), "tickvals": rows}, "title": {"text": "t"}}
    typed = common.figure_dict(data, layout, typed=True)
    assert stepping.figure_json(typed) == stepping.figure_json(common.figure(data, layout))
    assert typed["data"][0]["customdata"]["dtype"] == "i2" and typed["data"][0]["y"]["dtype"] == "f4"
    assert isinstance(data[0]["x"], np.ndarray), "the input is not changed"


def _default_hierarchy():
    # as the lab opens: blobs, standardised
    return trace_agnes(datasets.load("blobs").standardized().X, linkage="ward")


def test_default_hierarchy_run_fits_every_step_in_the_size_target(untimed):
    """The hierarchy lab's default run (blobs, 300 points, Ward: 300 steps, three charts) draws
    every step within 1.5 MB."""
    t = _default_hierarchy()
    assert len(t) == 300
    spec = hv.step_charts(t, cut_k=3)
    assert len(spec.frames) == 300 and not spec.notes
    assert spec.n_bytes <= 1_500_000


@pytest.mark.parametrize("algo", ["dbscan", "optics", "hdbscan"])
def test_default_density_runs_fit_every_step_in_the_size_target(untimed, algo):
    X = datasets.load("two_moons").X
    if algo == "dbscan":
        t = trace_dbscan(X, eps=0.3, min_samples=10, group="10 points")
    elif algo == "optics":
        t = trace_optics(X, min_samples=10, xi=0.2, eps_cut=0.3, group="10 points")
    else:
        t = trace_hdbscan(X, min_cluster_size=10, min_samples=10)
    spec = dv.step_charts(t)
    assert len(spec.frames) == len(t) and not spec.notes
    assert spec.n_bytes <= 1_500_000
