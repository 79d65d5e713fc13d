"""The pages under Streamlit's AppTest: every control, driven for real (no mocks of Streamlit)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tracelab import data
from tracelab.data import datasets
from tracelab.record.trace import Trace
import apptest
from apptest import go, step_of

TIMEOUT = 60
APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def em():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.run()
    assert not at.exception, at.exception
    return at


def alerts(at) -> str:
    return " ".join(e.value for e in [*at.warning, *at.error, *at.info])


def test_app_opens_on_home_with_the_hook_and_a_link_to_each_lab():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "TraceLab"
    text = " ".join(m.value for m in at.markdown)
    assert "0.52 / 0.48" in text and "0.99 / 0.01" in text
    assert [link.proto.page for link in at.get("page_link")] == ["em", "kmeans", "hierarchy", "density", "selection", "coins"]


def test_em_page_opens_on_old_faithful_at_step_one(em):
    assert step_of(em)[0] == 1
    assert "Old Faithful" in " ".join(c.value for c in em.caption)
    assert em.session_state["em.data.standardize"] is True


def test_the_default_em_run_is_one_a_student_can_watch(em):
    trace = em.session_state["_trace_memo.em"][1]
    assert trace.params["init"] == "random_from_data" and trace.params["seed"] == 15
    assert 10 <= trace.n_iter <= 30 and trace.converged
    ll = [s.log_likelihood for s in trace.steps if s.phase == "M"]
    assert sum(b - a > 1.0 for a, b in zip(ll, ll[1:])) >= 8  # the climb spans many steps
    moved = np.linalg.norm(trace.steps[-1].means - trace.steps[0].means, axis=1)
    assert moved.max() > 1.0  # a mean travels across the data (standardised units)
    covs = [s.covariances for s in trace.steps if s.phase == "M"]
    assert np.abs(covs[-1] - covs[0]).max() > 0.3  # and the Gaussians reshape
    assert step_of(em) == (1, len(trace))


def test_the_parameters_table_shows_every_gaussian_and_data_names_as_written():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.query_params.update({"k": "10"})
    at.run()
    assert not at.exception
    (grid,) = [d for d in at.dataframe if "Gaussian 10" in list(d.value.columns)]
    assert list(grid.value.columns) == [f"Gaussian {j}" for j in range(1, 11)]
    assert not at.table  # not squeezed into the side column
    # Names from a file in the side table are escaped for its Markdown.
    at.number_input(key="em.k").set_value(2).run()
    at.radio(key="em.data.source").set_value("Upload a CSV").run()
    rows = "\n".join(f"{i % 7}.5,{(i * 3) % 11}.25" for i in range(40))
    at.file_uploader(key="em.data.upload").set_value(
        ("names.csv", f"**bold**,[link](javascript:alert(1))\n{rows}\n".encode(), "text/csv")).run()
    assert not at.exception
    (table,) = at.table
    labels = list(table.value.index)
    assert r"mean \*\*bold\*\*" in labels
    assert r"mean \[link\]\(javascript\:alert\(1\)\)" in labels


def test_one_feature_is_counted_as_one_feature():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.query_params.update({"data": "six_points", "std": "0"})
    at.run()
    assert not at.exception
    assert any("6 points, 1 feature." in c.value for c in at.caption)


def test_the_browsers_step_reaches_python_and_the_steps_tables(em):
    trace = em.session_state["_trace_memo.em"][1]
    _, n = step_of(em)
    go(em, 2)
    assert step_of(em) == (2, n) and trace[1].phase == "E"
    assert any(m.value == "**Parameters at step 2**" for m in em.markdown)
    go(em, 3)
    assert step_of(em)[0] == 3 and trace[2].phase == "M"
    go(em, n)
    assert step_of(em)[0] == n and em.query_params["step"] in (str(n), [str(n)])
    go(em, 1)
    assert step_of(em)[0] == 1
    assert not em.exception


def test_a_stale_report_from_before_python_moved_the_step_is_ignored(em):
    go(em, 4)
    mount = em.session_state["em.player.mount"]
    # Python moves the step (a preset, a link): the browser starts over from there.
    em.session_state["em.step"] = 2
    em.run()
    assert step_of(em)[0] == 2
    assert em.session_state["em.player.mount"][2] == mount[2] + 1
    # The component still holds its old report (step 4, the old mount): not taken again.
    em.run()
    assert step_of(em)[0] == 2


def test_the_player_is_sent_the_trace_once_with_every_steps_label(em):
    import json

    (player,) = [e for e in em.get("bidi_component") if e.proto.component_name == "tracelab.player"]
    spec = json.loads(player.proto.bytes)
    trace = em.session_state["_trace_memo.em"][1]
    assert spec["labels"] == [s.message for s in trace.steps]
    assert spec["start"] == 1 and len(spec["charts"]) == 2
    assert spec["plotly_url"].startswith("app/static/plotly-")
    before = player.proto.bytes
    go(em, 3)
    (player,) = [e for e in em.get("bidi_component") if e.proto.component_name == "tracelab.player"]
    assert player.proto.bytes == before, "stepping in the browser sends nothing new"


def test_parameter_changes_recompute_and_keep_the_step(em):
    go(em, 5)
    em.number_input(key="em.k").set_value(3).run()
    assert not em.exception
    assert step_of(em)[0] == 5
    assert len(em.session_state["_trace_memo.em"][1].steps[0].means) == 3
    for cov in ("tied", "diag", "spherical", "fixed"):
        em.selectbox(key="em.cov").set_value(cov).run()
        assert not em.exception, cov
    em.slider(key="em.var").set_value(0.05).run()
    assert em.session_state["_trace_memo.em"][1].params["fixed_variance"] == 0.05
    for init in ("k-means++", "random_from_data", "random"):
        em.selectbox(key="em.init").set_value(init).run()
        assert not em.exception, init
    em.number_input(key="em.iter").set_value(1).run()
    assert step_of(em) == (3, 3)  # step 5 no longer exists: the last one is shown


def test_switching_to_smaller_data_clamps_k_with_a_note(em):
    em.number_input(key="em.k").set_value(7).run()
    em.selectbox(key="em.data.name").set_value("six_points").run()
    assert not em.exception
    assert "more Gaussians than this data has points (6); using k = 6" in alerts(em)
    assert em.session_state["em.k"] == 6
    assert em.session_state["_trace_memo.em"][1].X.shape == (6, 1)


def test_a_link_asking_for_more_gaussians_than_points_falls_back(em):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.query_params.update({"data": "six_points", "std": "0", "k": "7"})
    at.run()
    assert not at.exception
    assert "using k = 6" in alerts(at)
    assert step_of(at)[0] == 1


def test_x_and_y_cannot_be_the_same_column():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.query_params.update({"data": "iris", "k": "3"})
    at.run()
    at.selectbox(key="em.projection").set_value("Two columns").run()
    at.selectbox(key="em.xcol").set_value("sepal_width").run()
    assert not at.exception
    assert at.selectbox(key="em.ycol").value != "sepal_width"
    at.selectbox(key="em.ycol").set_value("petal_width").run()
    at.selectbox(key="em.xcol").set_value("petal_width").run()
    assert not at.exception
    assert at.selectbox(key="em.ycol").value != "petal_width"


def test_feature_columns_travel_in_the_link():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.query_params.update({"data": "iris", "k": "3"})
    at.run()
    (columns,) = at.sidebar.multiselect
    columns.set_value(["petal_length", "petal_width"]).run()
    assert not at.exception
    cols = at.query_params["cols"]
    assert cols in ("petal_length,petal_width", ["petal_length,petal_width"])
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.switch_page("pages/em.py")
    again.query_params.update({"data": "iris", "k": "3", "cols": "petal_length,petal_width"})
    again.run()
    assert not again.exception
    assert again.session_state["_trace_memo.em"][1].X.shape == (150, 2)


def test_lesson_preset_runs_the_six_points_from_the_lesson_start(em):
    em.selectbox(key="em.preset").set_value("six").run()
    assert not em.exception
    trace = em.session_state["_trace_memo.em"][1]
    assert trace.X.shape == (6, 1)
    assert trace.steps[0].means.ravel().tolist() == [1.6, 4.4]
    assert trace.steps[0].weights.tolist() == [0.5, 0.5]
    assert em.session_state["em.data.standardize"] is False


def test_bishop_preset_shows_the_textbook_small_multiples(em):
    em.selectbox(key="em.preset").set_value("bishop").run()
    assert not em.exception
    trace = em.session_state["_trace_memo.em"][1]
    assert trace.steps[0].means.tolist() == [[-1.5, 1.0], [1.0, -1.0]]
    em.segmented_control(key="em-section").set_value("Textbook figure").run()
    assert not em.exception
    assert any(c.proto.spec and "L = 20" in c.proto.spec for c in em.get("plotly_chart"))


def test_url_parameters_in_and_state_out():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.query_params.update({"data": "iris", "k": "3", "cov": "diag", "seed": "4", "step": "6"})
    at.run()
    assert not at.exception
    assert step_of(at)[0] == 6
    assert at.session_state["em.k"] == 3 and at.session_state["em.cov"] == "diag"
    assert at.session_state["em.data.name"] == "iris"
    assert at.session_state["_trace_memo.em"][1].X.shape == (150, 4)
    go(at, 7)
    assert at.query_params["step"] == ["7"] or at.query_params["step"] == "7"


def test_out_of_range_url_values_fall_back_with_a_visible_note():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.query_params.update({"k": "0", "cov": "banana", "tol": "-3", "data": "nope", "step": "99999"})
    at.run()
    assert not at.exception
    notes = alerts(at)
    for word in ("k='0'", "cov='banana'", "tol='-3'", "data='nope'", "step 99999"):
        assert word in notes, word
    assert at.session_state["em.k"] == 2
    assert step_of(at)[0] == step_of(at)[1]


def test_csv_upload_and_a_bad_csv_keeps_the_data_and_trace(em):
    em.radio(key="em.data.source").set_value("Upload a CSV").run()
    good = b"x;y\n" + b"\n".join(f"{i % 7},5;{(i * 3) % 11},25".encode() for i in range(40))
    em.file_uploader(key="em.data.upload").set_value(("mine.csv", good, "text/csv")).run()
    assert not em.exception
    trace = em.session_state["_trace_memo.em"][1]
    assert trace.X.shape == (40, 2)
    assert any("mine" in c.value for c in em.caption)

    em.file_uploader(key="em.data.upload").set_value(("broken.csv", b"a,b\n1,2\n3\n", "text/csv")).run()
    assert not em.exception
    assert "broken.csv was not loaded" in alerts(em) and "line" in alerts(em)
    # the refused file is not left listed as if loaded: the uploader is a new, empty one
    assert em.file_uploader(key="em.data.upload.1").value is None
    em.run()
    assert "broken.csv was not loaded" in alerts(em), "the message stays until the next file"
    assert em.session_state["_trace_memo.em"][1] is trace or em.session_state["_trace_memo.em"][1] == trace
    assert any("mine" in c.value for c in em.caption)
    # The data shown is the earlier upload, whose file the refused one replaced: no link carries it.
    em.segmented_control(key="em-section").set_value("Share and export").run()
    assert "earlier upload; upload a file to share it" in alerts(em)
    assert em.query_params["data"] in ("upload", ["upload"])


def test_the_uploader_names_the_loaders_limit(em):
    em.radio(key="em.data.source").set_value("Upload a CSV").run()
    assert em.file_uploader(key="em.data.upload").proto.max_upload_size_mb * 1_000_000 == data.MAX_BYTES == 50_000_000
    assert data.limits() == "50 MB and 200,000 rows"
    assert any(f"At most {data.limits()}. A larger file is refused" in c.value for c in em.sidebar.caption)


def test_a_link_made_from_an_upload_says_the_file_cannot_travel():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.query_params["data"] = "upload"
    at.run()
    assert not at.exception
    assert "cannot carry" in alerts(at)
    assert at.radio(key="em.data.source").value == "Upload a CSV"
    assert step_of(at)[0] == 1  # the built-in default runs meanwhile


def test_choosing_a_point_shows_its_responsibility_formula(em):
    go(em, 2)
    em.number_input(key="em.point").set_value(17).run()
    assert not em.exception
    trace = em.session_state["_trace_memo.em"][1]
    r = trace.steps[1].responsibilities[17]
    latex = " ".join(x.value for x in em.latex)
    assert f"{r[0]:.3f}" in latex or f"{r[0]:.4f}" in latex


def test_trace_file_replay_and_a_broken_trace_file(em):
    trace = em.session_state["_trace_memo.em"][1]
    em.segmented_control(key="em-section").set_value("Share and export").run()
    em.file_uploader(key="em.trace_upload.0").set_value(("t.json", trace.to_json().encode(), "application/json")).run()
    assert not em.exception
    assert "Replaying an uploaded trace" in alerts(em)
    assert isinstance(em.session_state["em.replay"], Trace)
    em.button(key="em.stop_replay").click().run()
    assert "em.replay" not in em.session_state
    em.file_uploader(key="em.trace_upload.1").set_value(("t.json", b"{not json", "application/json")).run()
    assert not em.exception
    assert "not a TraceLab trace" in alerts(em)


@pytest.mark.parametrize("section", ["Responsibilities", "Equations", "Share and export"])
def test_every_section_draws(em, section):
    em.segmented_control(key="em-section").set_value(section).run()
    assert not em.exception
    if section == "Equations":
        assert not any("← this step" in m.value for m in em.markdown)  # step 1 is the start
        go(em, 2)
        assert any("← this step" in m.value for m in em.markdown)


def test_every_generator_runs_in_the_lab():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/em.py")
    at.run()
    for name in datasets.names():
        at.selectbox(key="em.data.name").set_value(name).run()
        assert not at.exception, name
        assert step_of(at)[0] >= 1


def test_leaving_for_home_and_coming_back_keeps_the_lab_as_it_was(em):
    em.number_input(key="em.k").set_value(3).run()
    em.selectbox(key="em.cov").set_value("diag").run()
    go(em, 4)
    em.switch_page("pages/home.py").run()
    assert not em.exception
    em.switch_page("pages/em.py").run()
    assert not em.exception
    assert em.session_state["em.k"] == 3 and em.session_state["em.cov"] == "diag"
    assert step_of(em)[0] == 4


def test_the_remaining_controls_change_what_is_run_or_shown(em):
    em.toggle(key="em.hard").set_value(True).run()
    em.toggle(key="em.uncertain").set_value(True).run()
    assert not em.exception
    em.number_input(key="em.seed").set_value(7).run()
    em.number_input(key="em.reg").set_value(1e-3).run()
    em.number_input(key="em.tol").set_value(1e-5).run()
    params = em.session_state["_trace_memo.em"][1].params
    assert params["seed"] == 7 and params["reg_covar"] == 1e-3 and params["tol"] == 1e-5
    assert em.query_params["seed"] in ("7", ["7"])
    em.selectbox(key="em.data.name").set_value("two_moons").run()
    em.number_input(key="em.data.p.two_moons.n_samples").set_value(120).run()
    em.number_input(key="em.data.p.two_moons.noise").set_value(0.2).run()
    assert not em.exception
    trace = em.session_state["_trace_memo.em"][1]
    assert trace.X.shape == (120, 2)
    assert em.query_params["data_noise"] in ("0.2", ["0.2"])


@pytest.mark.parametrize("page", ["kmeans", "hierarchy", "density"])
def test_one_feature_data_gets_a_note_in_the_two_dimensional_labs(page):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(f"pages/{page}.py")
    at.query_params.update({"data": "six_points", "std": "0"})
    at.run()
    assert not at.exception
    assert "has one feature" in alerts(at)


TINY_FILES = {
    "two points": b"a,b\n0,0\n1,1\n",
    "three points": b"a,b\n0,0\n1,1\n5,5\n",
    "repeated points": b"a,b\n1,1\n1,1\n1,1\n1,1\n2,2\n",
}


@pytest.mark.parametrize("page, prefix", [("em", "em"), ("kmeans", "km"), ("hierarchy", "hc"),
                                          ("density", "db"), ("selection", "ck")])
def test_tiny_uploads_never_raise_on_any_page_or_section(page, prefix):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(f"pages/{page}.py")
    at.run()
    at.radio(key=f"{prefix}.data.source").set_value("Upload a CSV").run()
    for name, content in TINY_FILES.items():
        at.file_uploader(key=f"{prefix}.data.upload").set_value((f"{name}.csv", content, "text/csv")).run()
        assert not at.exception, name
        for section in at.segmented_control(key=f"{prefix}-section").options:
            at.segmented_control(key=f"{prefix}-section").set_value(section).run()
            assert not at.exception, (name, section)
        if page != "selection" and step_of(at, prefix)[1] > 1:
            go(at, step_of(at, prefix)[1], prefix)
            assert not at.exception, name


def test_an_em_run_past_its_work_budget_offers_a_sample_and_runs_on_it(monkeypatch):
    from tracelab.labs.em import engine as gmm

    # a lower budget, so that Old Faithful's 272 points are past it:
    # 3 x 1000 x (272 x 2 + 2 401 per iteration) = 8.8e6, 1.1 budgets; 132 points fit
    monkeypatch.setattr(gmm, "WORK_BUDGET", 8e6)
    at = apptest.open_lab("em", k=3, iter=1000, tol=0)
    said = alerts(at)
    assert "EM on 272 points with 2 features, k = 3 and up to 1,000 iterations could take about 6 s" in said
    assert "Run it on a random sample of 130 points" in said
    assert "_trace_memo.em" not in at.session_state  # nothing ran
    at.button(key="_take_sample.em").click().run()
    assert not at.exception
    trace = at.session_state["_trace_memo.em"][1]
    assert trace.X.shape[0] == 130 and trace.params["max_iter"] == 1000
    assert "EM runs on a random sample of 130 of the 272 points (seed 0), as chosen" in alerts(at)
    assert any("a random sample of 130 of its 272 points" in c.value for c in at.caption)
    # within the budget, the whole data set runs as before
    at.number_input(key="em.iter").set_value(100).run()
    assert at.session_state["_trace_memo.em"][1].X.shape[0] == 272
    assert "random sample" not in alerts(at)


def test_responsibilities_grid_and_file_say_when_they_hold_a_sample(em, monkeypatch):
    from tracelab.labs.em import views as em_views

    monkeypatch.setattr(em_views, "RESPONSIBILITIES_GRID_MAX_VALUES", 500)
    monkeypatch.setattr(em_views, "RESPONSIBILITIES_CSV_MAX_VALUES", 1_000)
    em.run()
    (grid,) = [d.value for d in em.dataframe]
    assert len(grid) == 100  # 5 numbers a row: the point, 2 coordinates, 2 responsibilities
    assert any("random sample of 100 of the 272 points (seed 0)" in c.value for c in em.caption)
    em.segmented_control(key="em-section").set_value("Share and export").run()
    assert not em.exception
    assert any("holds a random sample of 200 of the 272 points" in c.value for c in em.caption)

    monkeypatch.undo()
    em.run()
    assert not any("random sample" in c.value for c in em.caption), "every point fits: nothing to say"
