"""The hierarchical clustering lab under Streamlit's AppTest."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage

import apptest
from apptest import go, step_of
from tracelab.labs.hierarchy import engine as hierarchy
from tracelab.ui import lab


def open_lab(**query):
    return apptest.open_lab("hierarchy", **query)


def trace_of(at):
    return apptest.trace_of(at, "hc")


def test_opens_on_blobs_with_ward_and_matches_scipy():
    at = open_lab(data_n_samples=60)
    trace = trace_of(at)
    assert trace.algorithm == "agnes" and len(trace) == 60
    np.testing.assert_allclose(trace.linkage_matrix[:, 2], linkage(trace.X, "ward")[:, 2], rtol=1e-10)
    go(at, step_of(at, "hc")[0] + 1, "hc")
    assert step_of(at, "hc")[0] == 2
    assert "Merge" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("link", hierarchy.LINKAGES)
def test_every_linkage_runs(link):
    at = open_lab(data_n_samples=40, linkage=link)
    assert trace_of(at).params["linkage"] == link


def test_every_metric_with_average_linkage_and_a_refused_combination():
    at = open_lab(data_n_samples=40, linkage="average")
    for metric in hierarchy.METRICS:
        at.selectbox(key="hc.metric").set_value(metric).run()
        assert not at.exception, metric
        assert trace_of(at).params["metric"] == metric
    at.selectbox(key="hc.linkage").set_value("ward").run()  # ward needs euclidean: refused
    assert not at.exception
    assert "euclidean" in " ".join(e.value for e in at.error)


def test_the_cut_and_diana():
    at = open_lab(data_n_samples=40, step=10)
    at.toggle(key="hc.use_cut").set_value(True).run()
    at.number_input(key="hc.cutk").set_value(4).run()
    assert not at.exception
    assert at.query_params["cutk"] in ("4", ["4"])
    at.radio(key="hc.algo").set_value("diana").run()
    assert not at.exception
    assert trace_of(at).algorithm == "diana"


@pytest.mark.parametrize("section", ["Distance matrix", "Linkage comparison", "Share and export"])
def test_every_section_draws(section):
    at = open_lab(data_n_samples=40, step=5)
    at.segmented_control(key="hc-section").set_value(section).run()
    assert not at.exception
    assert at.query_params["section"] in (lab.section_slug(section), [lab.section_slug(section)])


def test_no_section_is_open_at_first_so_a_step_redraws_only_the_player():
    at = open_lab(data_n_samples=40, step=5)
    assert at.segmented_control(key="hc-section").value is None
    assert not at.get("plotly_chart")
    go(at, 8, "hc")
    assert not at.exception and not at.get("plotly_chart")
    assert "Merge 7 of 39" in " ".join(m.value for m in at.markdown)


def test_an_old_link_to_the_merge_heights_section_opens_none_and_says_so():
    at = open_lab(data_n_samples=40, section="merge-heights")
    assert not at.exception
    assert at.segmented_control(key="hc-section").value is None
    (warning,) = at.warning
    assert "section='merge-heights' was ignored (this page has no such section)" in warning.value
    assert "no section" in warning.value


def test_cutting_by_height_sets_k_from_the_tree():
    at = open_lab(data_n_samples=40)
    at.radio(key="hc.cut_by").set_value("height").run()
    assert not at.exception
    Z = trace_of(at).linkage_matrix
    h = float((Z[-2, 2] + Z[-3, 2]) / 2)  # between the last merges: 3 clusters
    at.slider(key="hc.cut_height").set_value(h).run()
    assert not at.exception
    assert at.session_state["hc.cutk"] == 3


def test_a_low_cut_height_keeps_k_within_its_input():
    at = open_lab(data_n_samples=80)
    at.radio(key="hc.cut_by").set_value("height").run()
    at.slider(key="hc.cut_height").set_value(0.0).run()
    assert not at.exception
    assert at.session_state["hc.cutk"] == 50


def test_merge_heights_on_300_points_are_the_players_third_chart_on_a_log_scale_with_the_cut():
    import json

    at = open_lab(step=20, cutk=3)
    assert not at.exception
    (player,) = [e for e in at.get("bidi_component") if e.proto.component_name == "tracelab.player"]
    doc = json.loads(player.proto.bytes)
    assert len(doc["charts"]) == 3 and doc["widths"] == [1, 1]  # the third takes a row of its own
    heights = doc["charts"][2]["base"]
    assert heights["layout"]["yaxis"]["type"] == "log"
    (cut,) = [t for t in heights["data"] if t.get("meta", {}).get("role") == "cut"]
    from tracelab.labs.hierarchy import views as hv

    assert cut["y"][0] == pytest.approx(hv.cut_for_k(trace_of(at), 3))


def test_a_file_name_from_an_upload_is_shown_as_written():
    at = open_lab()
    at.radio(key="hc.data.source").set_value("Upload a CSV").run()
    rows = "\n".join(f"{i % 5},{(i * 7) % 11}" for i in range(30))
    at.file_uploader(key="hc.data.upload").set_value(("[x](javascript:alert(1)).csv", f"a,b\n{rows}\n".encode(),
                                                      "text/csv")).run()
    assert not at.exception
    caption = " ".join(c.value for c in at.caption)
    assert "\\[x\\]\\(javascript\\:alert\\(1\\)\\)" in caption and "[x](" not in caption


def test_more_points_than_agnes_takes_say_so_and_keep_the_last_trace():
    at = open_lab(data_n_samples=60)
    before = at.session_state["hc.shown"][0]
    at.number_input(key="hc.data.p.blobs.n_samples").set_value(6000).run()
    assert not at.exception
    assert any("at most 5,000 points for AGNES" in e.value and "choose fewer points" in e.value for e in at.error)
    assert at.session_state["hc.shown"][0] is before


def test_more_points_than_agnes_takes_offer_its_largest_sample_and_run_on_it():
    at = open_lab(data_n_samples=60)
    at.number_input(key="hc.data.p.blobs.n_samples").set_value(6000).run()
    assert any("at most 5,000 points for AGNES" in e.value for e in at.error)
    at.button(key="_take_sample.hc").click().run()
    assert not at.exception and not at.error
    assert any("AGNES runs on a random sample of 5,000 of the 6,000 points (seed 0), as chosen" in i.value
               for i in at.info)
    trace = at.session_state["hc.shown"][0]
    assert trace.X.shape[0] == 5_000 and len(trace) == 5_000
