"""The choosing-k lab under Streamlit's AppTest: curves, and links that reopen each run."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tracelab.data import datasets
from tracelab.labs.em import engine as gmm
from tracelab.labs.kmeans.kmeans import trace_kmeans

TIMEOUT = 60
APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_lab(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/selection.py")
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.run()
    assert not at.exception, at.exception
    return at


def link_query(at) -> tuple[str, dict]:
    (link,) = at.get("page_link")
    return link.proto.page, {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}


def test_elbow_suggests_the_knee_and_links_to_that_exact_kmeans_run():
    at = open_lab()
    page, query = link_query(at)
    assert page == "kmeans" and query["data"] == "iris" and query["k"] == "3"
    # The link's seed reproduces the best restart's inertia.
    iris = datasets.load("iris").standardized()
    trace = trace_kmeans(iris.X, 3, init="k-means++", seed=int(query["seed"]))
    shown = [m.value for m in at.markdown if m.value.startswith("**k = 3**")][0]
    assert f"{trace.steps[-1].inertia:.4g}" in shown


def test_following_the_link_opens_the_kmeans_lab_on_that_run():
    at = open_lab()
    _, query = link_query(at)
    lab = AppTest.from_file(APP, default_timeout=TIMEOUT)
    lab.switch_page("pages/kmeans.py")
    lab.query_params.update(query)
    lab.run()
    assert not lab.exception
    trace = lab.session_state["_trace_memo.km"][1]
    assert trace.params["seed"] == int(query["seed"]) and len(trace.steps[0].centers) == 3


@pytest.mark.parametrize("section", ["Silhouette", "BIC / AIC", "Known classes"])
def test_every_section_draws(section):
    at = open_lab(kmax=5)
    at.segmented_control(key="ck-section").set_value(section).run()
    assert not at.exception
    if section == "BIC / AIC":
        page, query = link_query(at)
        assert page == "em" and query["cov"] in ("full", "tied", "diag", "spherical")
        at.radio(key="ck.which").set_value("aic").run()
        assert not at.exception
    if section == "Known classes":
        assert float(at.metric[0].value) > 0.5  # iris species against k-means clusters


def test_a_range_that_is_too_large_for_the_data_is_narrowed():
    at = open_lab(data="six_points", std="0", kmax=12, kmin=10)
    assert "using k = 1 to 5" in " ".join(w.value for w in at.warning)


def test_stop_is_shown_only_while_the_runs_are():
    at = open_lab(kmax=4)
    # the runs are over when the page is drawn: no Stop button is left on it
    assert not [b for b in at.button if b.key == "ck.stop"]
    assert at.get("plotly_chart")


def test_a_dataset_with_one_feature_is_not_called_features():
    at = open_lab(data="six_points", kmax=3)
    captions = " ".join(c.value for c in at.caption)
    assert "1 feature." in captions and "1 features" not in captions


def test_stop_keeps_the_runs_stopped_until_run_again():
    at = open_lab(kmax=4)
    # a click on Stop while the runs go (the button's callback): AppTest cannot click mid-run
    at.session_state["ck.stopped"] = at.session_state["ck.runs"]
    at.run()
    assert not at.exception
    assert "Stopped" in " ".join(i.value for i in at.info)
    assert not at.get("plotly_chart")
    at.button(key="ck.resume").click().run()
    assert not at.exception
    assert at.get("plotly_chart")


def test_a_link_followed_within_the_session_opens_its_run_even_after_a_visit():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/kmeans.py")
    at.run()  # the k-means lab visited first: blobs, k = 3
    at.switch_page("pages/selection.py")
    at.query_params.clear()
    at.run()
    _, query = link_query(at)
    at.switch_page("pages/kmeans.py")
    at.query_params.clear()
    at.query_params.update(query)
    at.run()
    assert not at.exception
    trace = at.session_state["_trace_memo.km"][1]
    assert trace.X.shape == (150, 4)  # iris, as the link says
    assert trace.params["seed"] == int(query["seed"]) and trace.params["n_clusters"] == int(query["k"])


def test_known_classes_with_a_range_that_skips_the_class_count():
    at = open_lab(kmin=4, kmax=6)
    at.segmented_control(key="ck-section").set_value("Known classes").run()
    assert not at.exception
    assert at.select_slider(key="ck.classes_k").value == 4  # nearest to iris's 3 species


def test_the_sampled_curves_fit_fewer_points_for_more_restarts_or_features():
    from tracelab.labs.selection import engine as selection

    ks = range(1, 11)
    elbow = [selection.elbow_max_points(2, ks, n) for n in (1, 5, 20)]
    assert elbow == [9_090, 1_818, 454]  # 2e8 / (55 x n_init x 300 x 4/3)
    by_features = [selection.elbow_max_points(d, ks, 5) for d in (2, 20, 100, 1000)]
    assert by_features == [1_818, 559, 137, 14]
    assert selection.elbow_max_points(2, range(1, 4), 5) > 9 * elbow[1]  # k 1-3: 6 clusters a fit, not 55
    sizes = [selection.criteria_max_points(d, ks) for d in (1, 2, 4, 20, 40, 200)]
    assert sizes == sorted(sizes, reverse=True) and sizes[1] == 5_238 and sizes[3] == 56 and sizes[-2] == 0
    # one type: a quarter of the fits, so a bit more than 4 times the points (the fixed part stays)
    assert 4 * sizes[1] < selection.criteria_max_points(2, ks, n_types=1) < 5 * sizes[1]
    for d in (2, 20):  # the bound is where the fits' worst case meets the budget
        n = selection.criteria_max_points(d, ks)
        assert gmm.work(n, d, 55, 100) * 6 <= gmm.WORK_BUDGET < gmm.work(n + 1, d, 55, 100) * 6  # 4 types x 1.5


def test_on_many_points_the_curves_use_a_seeded_sample_and_say_so(monkeypatch):
    from tracelab import data
    from tracelab.labs.selection import engine as selection

    # the bounds lowered, so that a small data set is "many points"
    monkeypatch.setattr(selection, "elbow_max_points", lambda n_features, ks, n_init: 200)
    monkeypatch.setattr(selection, "criteria_max_points", lambda n_features, ks, n_types: 300)
    monkeypatch.setattr(selection, "SILHOUETTE_MAX_POINTS", 100)
    at = open_lab(data="blobs", data_n_samples=600, seed=7)
    captions = " ".join(c.value for c in at.caption)
    assert ("To answer in seconds, the elbow on 200 and BIC and AIC on 300 of the 600 points, "
            "chosen at random (seed 7)") in captions
    # the inertia shown is that of k-means on the sample's rows
    blobs = datasets.load("blobs", n_samples=600).standardized()
    sample = blobs.sample(200, 7)
    assert np.array_equal(sample.X, blobs.X[data.sample_rows(600, 200, 7)])
    shown = [m.value for m in at.markdown if m.value.startswith("**k = ")][0]
    k = int(shown.split("**k = ")[1].split("**")[0])
    seed = int(shown.split("restart with seed ")[1].split(")")[0])
    assert f"inertia {trace_kmeans(sample.X, k, init='k-means++', seed=seed).steps[-1].inertia:.4g}" in shown

    at.segmented_control(key="ck-section").set_value("Silhouette").run()
    assert not at.exception
    assert any("The silhouette of 100 of the 600 points, chosen at random (seed 7)" in c.value for c in at.caption)


def _upload(at: AppTest, n_rows: int, n_columns: int) -> AppTest:
    rng = np.random.default_rng(0)
    lines = [",".join(f"f{j}" for j in range(n_columns))]
    lines += [",".join(f"{v:.3f}" for v in row) for row in rng.normal(size=(n_rows, n_columns))]
    at.radio(key="ck.data.source").set_value("Upload a CSV").run()
    at.file_uploader(key="ck.data.upload").set_value(("wide.csv", "\n".join(lines).encode(), "text/csv")).run()
    assert not at.exception, at.exception
    return at


def test_bic_aic_too_costly_for_many_features_are_left_out_with_what_to_do():
    at = _upload(open_lab(kmax=10), 200, 30)  # 30 features, k 1-10: past EM's budget on any sample
    assert any("wide" in c.value for c in at.caption)
    assert "the elbow" not in " ".join(c.value for c in at.caption)  # the elbow fits all 200 points
    at.segmented_control(key="ck-section").set_value("BIC / AIC").run()
    said = " ".join(i.value for i in at.info)
    assert "BIC and AIC are left out" in said and "Choose fewer columns or a smaller largest k" in said
    assert "Choose at least one covariance type" not in said
    at.number_input(key="ck.kmax").set_value(2).run()  # k 1-2: 3 components a type, not 55
    assert not at.exception
    assert not at.info and at.get("plotly_chart")


def test_an_elbow_too_costly_for_its_features_says_what_to_lower_and_runs_nothing():
    at = _upload(open_lab(), 60, 600)
    said = " ".join(w.value for w in at.warning)
    assert "would take the server too long" in said and "choose fewer columns, fewer restarts" in said
    assert not at.get("plotly_chart")


def test_sections_past_one_kmeans_runs_budget_cluster_a_sample_and_say_so(monkeypatch):
    # Choosing k on data too large for one k-means run (a 200 000-row upload): the
    # silhouette and the known classes cluster the largest seeded sample one run may
    # take, instead of stopping at the run's refusal.
    from tracelab.labs.kmeans import kmeans
    from tracelab.labs.selection import engine as selection

    monkeypatch.setattr(selection, "elbow_max_points", lambda n_features, ks, n_init: 150)
    monkeypatch.setattr(selection, "criteria_max_points", lambda n_features, ks, n_types: 150)
    monkeypatch.setattr(kmeans, "WORK_BUDGET", kmeans.work(100, 4, 3, 300))
    at = open_lab(data="iris", seed=7)
    at.segmented_control(key="ck-section").set_value("Silhouette").run()
    assert not at.exception
    at.select_slider(key="ck.k").set_value(3).run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "k-means runs on a random sample of 100 of the 150 points (seed 7)" in captions
    assert "in the clusters k-means found on the 100 above" in captions
    assert len(at.metric) == 1

    at.segmented_control(key="ck-section").set_value("Known classes").run()
    assert not at.exception
    k = at.select_slider(key="ck.classes_k").value
    assert f"of {kmeans.max_samples(4, k, 300)} of the 150 points" in " ".join(c.value for c in at.caption)
    assert "Adjusted Rand index" in [m.label for m in at.metric]
