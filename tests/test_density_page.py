"""The density-based lab under Streamlit's AppTest."""

from __future__ import annotations

import json

import pytest

import apptest
from tracelab import data
from apptest import go, step_of


def open_lab(**query):
    return apptest.open_lab("density", **query)


def trace_of(at):
    return apptest.trace_of(at, "db")


def test_opens_on_two_moons_with_dbscan_and_steps():
    at = open_lab()
    trace = trace_of(at)
    assert trace.algorithm == "dbscan"
    assert trace.steps[0].phase == "core" and trace.steps[-1].phase == "result"
    go(at, step_of(at, "db")[0] + 1, "db")
    assert step_of(at, "db")[0] == 2
    at.slider(key="db.eps").set_value(0.5).run()
    assert trace_of(at).params["eps"] == 0.5
    for group in ("point", "cluster"):
        at.radio(key="db.group").set_value(group).run()
        assert not at.exception, group


@pytest.mark.parametrize("algo", ["optics", "hdbscan"])
def test_optics_and_hdbscan_run_and_step(algo):
    at = open_lab(algo=algo)
    assert trace_of(at).algorithm == algo
    go(at, step_of(at, "db")[1], "db")
    assert not at.exception
    assert step_of(at, "db")[0] == step_of(at, "db")[1]
    if algo == "optics":
        at.slider(key="db.cut").set_value(0.4).run()
        assert trace_of(at).params["eps_cut"] == 0.4
    else:
        at.number_input(key="db.mcs").set_value(15).run()
        assert trace_of(at).params["min_cluster_size"] == 15


@pytest.mark.parametrize("section", ["Side by side with EM and k-means", "Share and export"])
def test_every_section_draws(section):
    at = open_lab(step=3)
    at.segmented_control(key="db-section").set_value(section).run()
    assert not at.exception


def test_link_values_beyond_the_sliders_fall_back_with_a_note():
    at = open_lab(algo="optics", eps=5, cut=4, xi=0.001)
    notes = " ".join(w.value for w in at.warning)
    for word in ("eps='5'", "cut='4'", "xi='0.001'"):
        assert word in notes


def _side_meta(at) -> dict:
    """What the three side-by-side panels show: ``labels`` and ``titles`` per panel, ``compares``."""
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    metas = sorted((f["layout"]["meta"] for f in figs if "compares" in (f.get("layout", {}).get("meta") or {})),
                   key=lambda m: m["panel"])
    assert [m["panel"] for m in metas] == [0, 1, 2]
    return {"labels": [m["labels"] for m in metas], "titles": [m["title"] for m in metas],
            "compares": metas[0]["compares"]}


def test_the_default_runs_show_every_kind_of_point_and_agreeing_extractions():
    at = open_lab()
    trace = trace_of(at)
    final = trace.steps[-1]
    n_border = int(((final.labels >= 0) & ~final.core).sum())
    # a run a student can watch: many steps, two moons, border points as rings and some noise
    assert len(trace) >= 20
    assert final.n_clusters == 2 and n_border >= 10 and final.noise.sum() >= 1
    at = open_lab(algo="optics")
    trace = trace_of(at)
    assert len(trace) >= 20
    cut, xi = trace.steps[-2], trace.steps[-1]
    # the ξ method at its default finds the two moons, as the default cut does
    assert cut.n_clusters == xi.n_clusters == 2


@pytest.mark.parametrize("algo", ["optics", "hdbscan"])
def test_side_by_side_compares_the_run_shown_not_another_dbscan(algo):
    at = open_lab(algo=algo, xi=0.05)
    go(at, step_of(at, "db")[1], "db")
    at.segmented_control(key="db-section").set_value("Side by side with EM and k-means").run()
    assert not at.exception
    trace = trace_of(at)
    meta = _side_meta(at)
    assert meta["labels"][0] == trace.steps[-1].labels.astype(int).tolist()
    found = trace.steps[-1].n_clusters
    name = "OPTICS, ξ method (ξ = 0.05)" if algo == "optics" else "HDBSCAN"
    assert name in meta["compares"]
    k = max(2, min(10, found))
    for title in meta["titles"][1:]:
        assert f"k = {k}" in title
    captions = " ".join(c.value for c in at.caption)
    assert meta["compares"] in captions
    if algo == "optics":
        # one step back (the ε cut), the panel compares the cut
        go(at, step_of(at, "db")[0] - 1, "db")
        meta = _side_meta(at)
        assert meta["compares"].startswith("OPTICS, cut at ε")
        assert meta["labels"][0] == trace.steps[-2].labels.astype(int).tolist()


def test_a_trace_too_large_to_replay_is_not_offered_as_a_file():
    # one step per point on 1 000 points: about 50 MB of JSON, more than a replayed file may have
    at = open_lab(algo="optics", ogroup="point", data_n_samples=1000)
    trace = trace_of(at)
    assert trace.approx_json_bytes() > data.MAX_BYTES
    at.segmented_control(key="db-section").set_value("Share and export").run()
    assert not at.exception
    note = " ".join(i.value for i in at.info)
    assert "would make a file of about 53 MB, more than the 50 MB a trace file can have" in note
    (button,) = [b for b in at.get("download_button") if b.proto.label == "Trace (JSON)"]
    assert button.proto.disabled
    # a smaller run of the same kind is offered
    at = open_lab(algo="optics", ogroup="point", data_n_samples=300)
    at.segmented_control(key="db-section").set_value("Share and export").run()
    (button,) = [b for b in at.get("download_button") if b.proto.label == "Trace (JSON)"]
    assert not button.proto.disabled and not any("would make a file" in i.value for i in at.info)
