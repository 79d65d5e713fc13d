"""The coins lab under Streamlit's AppTest: two coins, single tosses and binary images."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import apptest
from apptest import go, step_of


def open_lab(**query):
    return apptest.open_lab("coins", **query)


def trace_of(at):
    return apptest.trace_of(at, "cn")


def player_doc(at) -> dict:
    (player,) = [e for e in at.get("bidi_component") if e.proto.component_name == "tracelab.player"]
    return json.loads(player.proto.bytes)


def text(at) -> str:
    """The page's Markdown and captions as shown (Markdown's escapes of file names undone)."""
    raw = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    return re.sub(r"\\(.)", r"\1", raw)


def test_opens_on_the_papers_coins_and_reaches_its_numbers():
    at = open_lab()
    trace = trace_of(at)
    assert trace.algorithm == "binomial_em" and trace.X[:, 0].tolist() == [5, 9, 8, 4, 7]
    assert len(trace) == 21  # ten iterations, as in the paper
    assert np.round(trace.steps[2].means, 2).tolist() == [0.71, 0.58]
    assert np.round(trace.steps[-1].means, 2).tolist() == [0.80, 0.52]
    doc = player_doc(at)
    assert len(doc["charts"]) == 2 and doc["labels"] == [s.message for s in trace.steps]
    # the paper's figure at the first E-step: P(coin A) per set
    go(at, 2, "cn")
    (table,) = at.dataframe
    assert table.value["P(coin A)"].tolist() == ["0.45", "0.80", "0.73", "0.35", "0.65", ""]
    assert table.value["heads"].tolist() == [5, 9, 8, 4, 7, 33]
    assert table.value.iloc[-1][["A heads", "A tails", "B heads", "B tails"]].tolist() == ["21.30", "8.57", "11.70", "8.43"]
    assert "**Step 2** · E-step" in text(at)


def test_the_equations_mark_the_current_step_and_work_out_the_chosen_set():
    at = open_lab(step=2)  # an E-step
    marks = [m.value for m in at.markdown if m.value.startswith("**E-step**") or m.value.startswith("**M-step**")]
    assert marks == ["**E-step** · this step", "**M-step**"]
    at.number_input(key="cn.row").set_value(2).run()
    latex = " ".join(x.value for x in at.latex)
    # set 2 (9 heads) under θ = (0.6, 0.5): 0.8049, the paper's 0.80
    assert r"r_{2A}" in latex and r"0.600^{9}(1-0.600)^{1}" in latex and "= 0.805" in latex
    assert at.query_params["row"] in ("2", ["2"])
    go(at, 3, "cn")  # the M-step
    marks = [m.value for m in at.markdown if m.value.startswith("**E-step**") or m.value.startswith("**M-step**")]
    assert marks == ["**E-step**", "**M-step** · this step"]


def test_generated_sets_follow_their_settings_and_travel_in_the_link():
    at = open_lab(sets="generated", nsets=30, tosses=15, ta=0.9, tb=0.3, gseed=4)
    trace = trace_of(at)
    assert trace.X.shape == (30, 2) and set(trace.X[:, 1]) == {15.0}
    assert "30 sets of 15 tosses" in text(at)
    at.slider(key="cn.ta").set_value(0.85).run()
    assert not at.exception
    assert at.query_params["ta"] in ("0.85", ["0.85"]) and at.query_params["sets"] in ("generated", ["generated"])
    again = open_lab(**{k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()})
    np.testing.assert_array_equal(trace_of(again).X, trace_of(at).X)


def test_single_tosses_say_why_em_stops_on_a_ridge():
    at = open_lab(mode="single", n1=200, p1=0.7, gseed=1)
    trace = trace_of(at)
    assert set(trace.X[:, 1]) == {1.0}
    (note,) = at.info
    rate = trace.X[:, 0].mean()
    assert f"({rate:.3f})" in note.value and "not identifiable" in note.value
    last = trace.steps[-1]
    assert float(np.dot(last.weights, last.means)) == pytest.approx(rate)


def test_binary_images_show_each_component_and_the_images_it_takes():
    at = open_lab(mode="images")
    trace = trace_of(at)
    assert trace.algorithm == "bernoulli_em" and trace.X.shape == (300, 64) and trace.params["n_components"] == 3
    doc = player_doc(at)
    assert doc["charts"][0]["base"]["data"][0]["type"] == "heatmap"
    at.segmented_control(key="cn-section").set_value("Images each component takes").run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
    at.segmented_control(key="cn-section").set_value("Equations").run()
    at.number_input(key="cn.row").set_value(10).run()
    (table,) = at.dataframe
    assert table.value["r"].sum() == pytest.approx(1.0)
    at.number_input(key="cn.k").set_value(2).run()
    assert trace_of(at).params["n_components"] == 2


def test_an_upload_that_is_not_binary_is_refused_and_the_images_stay():
    at = open_lab(mode="images")
    before = trace_of(at)
    at.radio(key="cn.images").set_value("upload").run()
    at.file_uploader(key="cn.upload").set_value(("grey.csv", b"a,b,c\n0,0.5,1\n1,1,0\n0,1,1\n", "text/csv")).run()
    assert not at.exception
    assert any("binarise it first" in e.value for e in at.error)
    assert trace_of(at) is before or np.array_equal(trace_of(at).X, before.X)
    rows = "\n".join(",".join(str((i >> b) & 1) for b in range(4)) for i in range(16))
    at.file_uploader(key="cn.upload").set_value(("bits.csv", f"a,b,c,d\n{rows}\n".encode(), "text/csv")).run()
    assert not at.exception and not at.error
    assert trace_of(at).X.shape == (16, 4)
    assert "bits.csv: 16 rows of 4 binary values" in text(at)


def test_a_step_in_the_link_opens_there_and_a_bad_mode_says_so():
    at = open_lab(step=5)
    assert step_of(at, "cn")[0] == 5
    at = open_lab(mode="dice")
    assert any("mode" in w.value for w in at.warning)
    assert trace_of(at).algorithm == "binomial_em"


def test_the_share_section_links_this_step_and_offers_the_trace_file():
    at = open_lab(step=4)
    at.segmented_control(key="cn-section").set_value("Share and export").run()
    assert not at.exception
    links = [c.value for c in at.code]
    assert links and "step=4" in links[0] and "mode=two-coins" in links[0] and "sets=paper" in links[0]
    assert any("lock=1" in link for link in links[1:])  # the lesson link
    assert at.get("download_button"), "the trace file"


def test_an_uploaded_image_set_cannot_travel_in_a_link_and_says_so():
    at = open_lab(mode="images")
    at.radio(key="cn.images").set_value("upload").run()
    rows = "\n".join(",".join(str((i >> b) & 1) for b in range(4)) for i in range(16))
    at.file_uploader(key="cn.upload").set_value(("bits.csv", f"a,b,c,d\n{rows}\n".encode(), "text/csv")).run()
    at.segmented_control(key="cn-section").set_value("Share and export").run()
    assert not at.exception
    assert any("An uploaded file does not travel in a link." in i.value for i in at.info)
