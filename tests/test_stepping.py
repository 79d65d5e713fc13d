"""The player's step charts: base + patch reproduces every view at every drawn step, within bounds."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from tracelab.data import datasets
from tracelab.labs.density.engine import trace_dbscan, trace_optics
from tracelab.labs.em.engine import trace_em
from tracelab.labs.density.hdbscan import trace_hdbscan
from tracelab.labs.hierarchy.engine import trace_agnes, trace_diana
from tracelab.labs.kmeans.kmeans import trace_kmeans
from tracelab.labs.kmeans.kmedoids import trace_kmedoids
from tracelab.labs.density import views as dv
from tracelab.labs.em import views as ev
from tracelab.labs.hierarchy import views as hv
from tracelab.labs.kmeans import views as kv
from tracelab.plot import stepping
from tracelab.record.words import ordinal


def _faithful() -> np.ndarray:
    X = datasets.load("old_faithful").X
    return (X - X.mean(0)) / X.std(0)


def _moons() -> np.ndarray:
    return datasets.load("two_moons", n_samples=120, seed=1).X


def _labels(trace) -> list[str]:
    return [trace[i].message for i in range(len(trace))]


def _cases():
    X = _faithful()
    em = trace_em(X, 3, init="random_from_data", seed=3, tol=0, max_iter=12)
    yield "em", em, [lambda s: ev.scatter_2d(em, s), lambda s: ev.log_likelihood_curve(em, s)]
    em1 = trace_em(X[:, :1], 2, init="random_from_data", seed=1, max_iter=8)
    yield "em-1d", em1, [lambda s: ev.density_1d(em1, s), lambda s: ev.log_likelihood_curve(em1, s)]
    km = trace_kmeans(X, 3, init="random", seed=2)
    yield "kmeans", km, [lambda s: kv.scatter(km, s), lambda s: kv.cost_curve(km, s)]
    kmed = trace_kmedoids(X[:60], 3, seed=0)
    yield "kmedoids", kmed, [lambda s: kv.scatter(kmed, s), lambda s: kv.cost_curve(kmed, s)]
    ag = trace_agnes(X[:40], linkage="average")
    yield "agnes", ag, [lambda s: hv.scatter(ag, s), lambda s: hv.dendrogram(ag, s)]
    di = trace_diana(X[:25])
    yield "diana", di, [lambda s: hv.scatter(di, s)]
    M = _moons()
    db = trace_dbscan(M, eps=0.25, min_samples=5)
    yield "dbscan", db, [lambda s: dv.dbscan_scatter(db, s)]
    op = trace_optics(M, min_samples=5)
    yield "optics", op, [lambda s: dv.optics_scatter(op, s), lambda s: dv.optics_reachability(op, s)]
    hd = trace_hdbscan(M, min_cluster_size=8)
    yield "hdbscan", hd, [lambda s: dv.hdbscan_mst(hd, s), lambda s: dv.hdbscan_condensed_tree(hd, s)]


CASES = list(_cases())


@pytest.mark.parametrize("name,trace,views", CASES, ids=[c[0] for c in CASES])
def test_base_plus_patch_is_the_view_at_every_step(name, trace, views):
    spec = stepping.build_spec(views, _labels(trace), max_seconds=60)
    assert spec.frames == tuple(range(len(trace))), "a short run draws every step"
    doc = spec.spec()
    assert doc["labels"] == _labels(trace)
    for f, step in enumerate(spec.frames):
        for c, view in enumerate(views):
            chart = doc["charts"][c]
            assert stepping.figure_at(chart, f) == stepping.figure_json(view(step)), (
                f"{name}: chart {c} differs at step {step}"
            )


def test_patches_carry_only_what_changes():
    name, trace, views = CASES[0]
    doc = stepping.build_spec(views, _labels(trace)).spec()
    base = doc["charts"][0]["base"]
    patch = doc["charts"][0]["patches"][3]
    # The points' coordinates never change in the EM scatter; their colours do.
    points = patch["data"]["0"]["set"]
    assert "x" not in points and "y" not in points
    assert "marker" in points
    assert set(patch.get("layout", {}).get("set", {})) <= {"title", "annotations"}, "axes stay as they are"
    assert "customdata" in base["data"][0]


def test_patch_handles_added_and_removed_traces_and_keys():
    base = {"data": [{"type": "scatter", "x": [1], "name": "a"}, {"type": "scatter", "x": [2]}], "layout": {"title": "t", "shapes": []}}
    fig = {"data": [{"type": "scatter", "x": [1]}], "layout": {"title": "u"}}
    patch = stepping.make_patch(base, fig)
    assert stepping.apply_patch(base, patch) == fig
    more = {"data": [*base["data"], {"type": "bar", "y": [3]}], "layout": base["layout"]}
    assert stepping.apply_patch(base, stepping.make_patch(base, more)) == more
    assert base["data"][0]["name"] == "a", "the base is never changed"


def test_an_array_that_only_grows_sends_its_new_end():
    typed = lambda a: {"dtype": "f4", "bdata": base64.b64encode(np.asarray(a, np.float32).tobytes()).decode()}
    prev = {"data": [{"x": [1, 2], "y": typed([1, 2]), "z": typed([1, 2])}], "layout": {"shapes": [{"a": 1}]}}
    fig = {"data": [{"x": [1, 2, 3], "y": typed([1, 2, 3, 4]), "z": typed([2, 2, 3])}],
           "layout": {"shapes": [{"a": 1}, {"b": 2}]}}
    patch = stepping.make_patch(prev, fig)
    assert patch["data"]["0"]["append"] == {"x": [3], "y": typed([3, 4])}
    assert patch["data"]["0"]["set"] == {"z": typed([2, 2, 3])}, "a changed start is sent whole"
    assert patch["layout"] == {"append": {"shapes": [{"b": 2}]}}
    assert stepping.apply_patch(prev, patch) == fig
    # an empty array, or another dtype, is replaced, not appended to
    again = stepping.make_patch({"data": [{"x": [], "y": typed([1])}], "layout": {}},
                                {"data": [{"x": [1], "y": {"dtype": "f8", "bdata": "AAAAAAAA8D8="}}], "layout": {}})
    assert set(again["data"]["0"]["set"]) == {"x", "y"} and "append" not in again["data"]["0"]


COMPOSED = [c for c in CASES if c[0] in ("em", "kmeans", "agnes", "hdbscan")]


@pytest.mark.parametrize("name,trace,views", COMPOSED, ids=[c[0] for c in COMPOSED])
def test_composed_patches_do_what_the_patches_do_in_turn(name, trace, views):
    doc = stepping.build_spec(views, _labels(trace), max_seconds=60).spec()
    for chart in doc["charts"]:
        patches = chart["patches"]
        composed = patches[1]
        for f in range(2, len(patches)):
            composed = stepping.compose_patches(composed, patches[f])
            if f % 3 == 0 or f == len(patches) - 1:
                assert stepping.apply_patch(chart["base"], composed) == stepping.figure_at(chart, f), (name, f)
        assert json.loads(json.dumps(composed)) == composed
        at = stepping.figure_at(chart, 1)
        assert stepping.apply_patch(at, stepping.compose_patches(patches[2], patches[3])) == stepping.figure_at(chart, 3)


def test_a_spec_thinned_after_drawing_is_still_exact():
    """The size estimate falls short on purpose: the bound then thins frames by merging their patches."""
    X = _faithful()
    trace = trace_em(X, 3, init="random_from_data", seed=3, tol=0, max_iter=40)
    views = [lambda s: ev.scatter_2d(trace, s), lambda s: ev.log_likelihood_curve(trace, s)]
    whole = stepping.build_spec(views, _labels(trace), max_seconds=60)
    spec = stepping.build_spec(views, _labels(trace), max_seconds=60, max_bytes=whole.n_bytes * 2 // 3)
    assert spec.n_bytes <= whole.n_bytes * 2 // 3 and len(spec.frames) < len(trace)
    doc = spec.spec()
    for f, step in enumerate(spec.frames):
        for c, view in enumerate(views):
            assert stepping.figure_at(doc["charts"][c], f) == stepping.figure_json(view(step)), (c, step)


def test_frame_of_is_the_last_drawn_step_at_or_before():
    frames = [0, 5, 10, 12]
    assert [stepping.frame_of(frames, s) for s in range(13)] == [0] * 5 + [1] * 5 + [2, 2, 3]


def test_a_long_run_draws_every_mth_step_then_the_last_ones_within_the_size_bound():
    X = _faithful()
    trace = trace_em(X, 2, init="random_from_data", seed=3, tol=0, max_iter=60)
    views = [lambda s: ev.scatter_2d(trace, s), lambda s: ev.log_likelihood_curve(trace, s)]
    spec = stepping.build_spec(views, _labels(trace), max_bytes=600_000, max_seconds=60)
    assert spec.n_bytes <= 600_000
    frames = spec.frames
    assert frames[0] == 0 and frames[-1] == len(trace) - 1 and len(frames) < len(trace)
    gaps = [b - a for a, b in zip(frames, frames[1:])]
    tail = len(gaps) - next(i for i in range(len(gaps) - 1, -1, -1) if gaps[i] != 1) - 1
    head = set(gaps[: len(gaps) - tail - 1])
    assert len(head) == 1 and tail >= 1, gaps  # every m-th step, then every one of the last
    (m,) = head
    assert re.search(rf"every ({ordinal(m)} step|other step) up to step {frames[-tail - 1] + 1} and each of the last "
                     rf"{tail + 1} of {len(trace)} steps", spec.notes[0]), spec.notes
    assert len(spec.spec()["labels"]) == len(trace), "labels reach every step"
    doc = spec.spec()
    for f in (1, len(frames) // 2, len(frames) - 1):  # still exact after thinning
        chart = doc["charts"][0]
        assert stepping.figure_at(chart, f) == stepping.figure_json(views[0](frames[f]))


def test_the_time_bound_thins_frames_too():
    X = _faithful()
    trace = trace_em(X, 2, init="random_from_data", seed=3, tol=0, max_iter=30)
    ticks = iter(range(10**6))
    # A fake clock that advances a "second" per reading: ten seconds allow few frames.
    spec = stepping.build_spec([lambda s: ev.log_likelihood_curve(trace, s)], _labels(trace),
                               max_seconds=10, clock=lambda: float(next(ticks)))
    assert 2 <= len(spec.frames) <= 40 < len(trace)
    assert spec.frames[0] == 0 and spec.frames[-1] == len(trace) - 1


def test_frames_thin_the_beginning_and_keep_the_end():
    frames = stepping._frames(300, 90)
    assert len(frames) <= 90 and frames[0] == 0 and frames[-30:] == list(range(270, 300))
    thinner = stepping._thinned(frames, 300)
    assert set(thinner) <= set(frames) and len(thinner) < len(frames)
    assert thinner[0] == 0 and thinner[-30:] == list(range(270, 300))
    assert stepping._thinned([0, 1, 2, 3, 4], 5) == [0, 2, 4]


def test_point_budget_keeps_enough_frames_in_the_bound():
    assert stepping.point_budget(272, 40) == 272
    big = stepping.point_budget(10_000, 2001)
    assert 100 <= big <= 2_000
    assert big * 60 * 2 * stepping.MIN_FRAMES <= stepping.MAX_SPEC_BYTES


def test_refuses_an_empty_trace_or_no_chart():
    with pytest.raises(ValueError, match="at least one step"):
        stepping.build_spec([lambda s: None], [])
    with pytest.raises(ValueError, match="at least one chart"):
        stepping.build_spec([], ["a"])


def test_standalone_html_inlines_everything_and_escapes_script_ends():
    X = _faithful()
    trace = trace_em(X, 2, init="random_from_data", seed=3, max_iter=3)
    labels = _labels(trace)
    labels[0] = "a </script><b>label</b>"
    spec = stepping.build_spec([lambda s: ev.log_likelihood_curve(trace, s)], labels)
    page = stepping.standalone_html(spec, title="EM <run>", about="on </script>", start=2)
    assert page.count("</script>") == page.count("<script")  # no early end of any script element
    assert "EM &lt;run&gt;" in page
    assert "export default function" in page and "Plotly" in page
    spec_text = page.split('id="tl-spec">', 1)[1].split("</script>", 1)[0]
    doc = json.loads(spec_text)
    assert doc["start"] == 2 and doc["labels"][0] == "a </script><b>label</b>"


def test_a_build_ends_at_its_next_frame_once_its_page_has_gone():
    # The server's worker stops a build whose page was closed or rerun through
    # tracelab.record.trace.stoppable: the build must look at it frame by frame.
    from tracelab.record.trace import stoppable

    drawn = []

    def view(step):
        drawn.append(step)
        return {"data": [{"type": "scatter", "x": [step], "y": [step]}], "layout": {}}

    def gone():
        if len(drawn) > 5:
            raise RuntimeError("the page has gone")

    with stoppable(gone), pytest.raises(RuntimeError, match="the page has gone"):
        stepping.build_spec([view], [f"step {i}" for i in range(200)])
    assert len(drawn) <= 7
    assert stepping.build_spec([view], ["a", "b"]).n_steps == 2  # outside, nothing stops it
