"""The k-means / k-medoids lab under Streamlit's AppTest."""

from __future__ import annotations

import numpy as np
import pytest

import apptest
from apptest import go, step_of
from tracelab.labs.kmeans import kmedoids
from tracelab.ui import data_picker


def open_lab(**query):
    return apptest.open_lab("kmeans", **query)


def trace_of(at):
    return apptest.trace_of(at, "km")


def test_opens_on_blobs_and_steps_through_assign_and_update():
    at = open_lab()
    trace = trace_of(at)
    assert trace.algorithm == "kmeans" and len(trace.steps[0].centers) == 3
    assert step_of(at, "km")[0] == 1
    go(at, step_of(at, "km")[0] + 1, "km")
    assert trace[1].phase == "E" and "**Clusters at step 2**" in [m.value for m in at.markdown]
    go(at, step_of(at, "km")[0] + 1, "km")
    assert trace[2].phase == "M" and "**Clusters at step 3**" in [m.value for m in at.markdown]
    go(at, step_of(at, "km")[1], "km")
    assert step_of(at, "km")[0] == step_of(at, "km")[1]
    assert not at.exception


def test_kmedoids_with_every_metric_and_both_methods():
    at = open_lab()
    at.radio(key="km.algo").set_value("kmedoids").run()
    assert trace_of(at).algorithm == "kmedoids"
    for metric in kmedoids.METRICS:
        at.selectbox(key="km.metric").set_value(metric).run()
        assert not at.exception, metric
        assert trace_of(at).params["metric"] == metric
    at.selectbox(key="km.metric").set_value("minkowski").run()
    at.slider(key="km.p").set_value(1.5).run()
    assert trace_of(at).params["p"] == 1.5
    at.radio(key="km.method").set_value("pam").run()
    assert not at.exception
    assert {s.phase for s in trace_of(at).steps[1:]} <= {"swap"}
    at.toggle(key="km.ball").set_value(True).run()
    assert not at.exception


@pytest.mark.parametrize("section", ["Compare with EM", "σ² → 0: EM hardens into k-means", "Share and export"])
def test_every_section_draws(section):
    at = open_lab(step=3)
    at.segmented_control(key="km-section").set_value(section).run()
    assert not at.exception
    if section == "Compare with EM":
        em = at.session_state["_trace_memo.km.compare"][1]
        np.testing.assert_array_equal(em.steps[0].means, trace_of(at).steps[0].centers)
    if section.startswith("σ²"):
        at.select_slider(key="km.sigma2").set_value(0.01).run()
        assert not at.exception
        em = at.session_state["_trace_memo.km.sigma"][1]
        assert em.params["covariance_type"] == "fixed" and em.params["fixed_variance"] == 0.01
        assert any("agrees with k-means" in m.label for m in at.metric)


def test_centres_placed_by_clicking_travel_in_the_link():
    at = open_lab(init="placed", k=2, centers="-1,0;1,0.5")
    assert not at.exception
    np.testing.assert_allclose(trace_of(at).steps[0].centers, [[-1, 0], [1, 0.5]])
    assert at.query_params["centers"] in ("-1,0;1,0.5", ["-1,0;1,0.5"])


def test_placing_centres_shows_the_placement_chart_until_k_are_placed():
    at = open_lab(init="placed", k=3, centers="0,0")
    assert not at.exception
    assert any("place centre 2 of 3" in m.value for m in at.markdown)
    assert "_trace_memo.km" not in at.session_state
    at.button(key="km.clear_placed").click().run()
    assert any("place centre 1 of 3" in m.value for m in at.markdown)


def test_bad_link_values_fall_back_with_notes():
    at = open_lab(algo="kmeanz", centers="x;y", metric="hamming", sigma2="3")
    notes = " ".join(w.value for w in at.warning)
    for word in ("algo='kmeanz'", "metric='hamming'", "sigma2='3'"):
        assert word in notes
    assert step_of(at, "km")[0] == 1


def test_the_default_run_can_be_watched_over_several_iterations():
    at = open_lab()
    trace = trace_of(at)
    assert trace.params["init"] == "random" and trace.params["seed"] == 199
    steps = trace.steps
    # Each E-step after the first (which repeats the start's assignment) moves points
    # between clusters, in at least four iterations...
    moved = [int(np.sum(np.asarray(s.labels) != np.asarray(steps[s.index - 1].labels)))
             for s in steps if s.phase == "E" and s.iteration >= 2]
    assert sum(m > 0 for m in moved) >= 4, moved
    # ...and the inertia falls visibly at four M-steps or more, not all at once.
    drops = [steps[s.index - 1].inertia - s.inertia for s in steps if s.phase == "M"]
    total = steps[0].inertia - steps[-1].inertia
    assert sum(d > 0.02 * total for d in drops) >= 4, drops
    assert max(drops) < 0.6 * total
    # It ends on the three blobs (no local minimum as a first lesson).
    assert sorted(np.bincount(np.asarray(steps[-1].labels)).tolist()) == [100, 100, 100]


NASTY = ("**bold**", "$x^2$", "[link](javascript:alert(1))")


def nasty_csv() -> bytes:
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (20, 3)), rng.normal(4, 1, (20, 3))])
    return (";".join(NASTY) + "\n" + "\n".join(";".join(f"{v:.3f}" for v in row) for row in X)).encode()


def test_column_and_file_names_from_a_csv_are_shown_as_written():
    at = open_lab()
    at.radio(key="km.data.source").set_value("Upload a CSV").run()
    at.file_uploader(key="km.data.upload").set_value(("**my**_data.csv", nasty_csv(), "text/csv")).run()
    assert not at.exception
    assert trace_of(at).X.shape[1] == 3
    (table,) = at.table
    rows = [str(r) for r in table.value.index]
    # st.table reads headers as Markdown: every character of a user's name is escaped
    for name in NASTY:
        assert f"centre {data_picker.plain(name)}" in rows, rows
    assert not any("**bold**" in r or "$x^2$" in r or "](" in r for r in rows)
    caption = " ".join(c.value for c in at.caption)
    assert data_picker.plain("**my**_data.csv") in caption and "**my**" not in caption


def test_sections_past_ems_budget_compare_on_a_sample_or_say_what_to_lower(monkeypatch):
    from tracelab.labs.em import engine as gmm

    at = open_lab(step=3, data="blobs", data_n_samples=6000)
    trace = trace_of(at)
    n, k = trace.X.shape[0], len(trace.steps[0].centers)
    # a budget one EM run on every point just passes: (100 iterations x k Gaussians x (2 n + 2 401))
    monkeypatch.setattr(gmm, "WORK_BUDGET", 100 * k * (2 * n + 2_401) - 1)
    share = gmm.max_samples(2, k, 100, gmm.WORK_BUDGET / 2)  # EM's half, k-means the other
    half = share // 1000 * 1000
    assert n // 2 - 1000 <= half < n
    at.segmented_control(key="km-section").set_value("Compare with EM").run()
    assert not at.exception
    assert any(f"On a random sample of {half:,} of the {n:,} points (seed 0): k-means and EM both run on it"
               in c.value for c in at.caption)
    em = at.session_state["_trace_memo.km.compare"][1]
    km = at.session_state["_trace_memo.km.sample.1"][1]
    assert em.X.shape[0] == km.X.shape[0] == half and np.array_equal(em.X, km.X)
    np.testing.assert_array_equal(em.steps[0].means, trace.steps[0].centers)  # the same start
    np.testing.assert_array_equal(km.steps[0].centers, trace.steps[0].centers)
    assert trace_of(at) is trace, "the lab's own run stays on every point"

    at.segmented_control(key="km-section").set_value("σ² → 0: EM hardens into k-means").run()
    assert not at.exception
    # five EM runs and k-means share the budget: 1/6 of it is less than one run's part for its iterations
    assert any("would take the server too long here, even on a sample" in i.value and "lower k" in i.value
               for i in at.info)
    assert "_trace_memo.km.sigma" not in at.session_state and not at.metric

    monkeypatch.undo()
    at.run()
    assert not at.exception and at.session_state["_trace_memo.km.sigma"][1].X.shape[0] == n
    assert not any("random sample" in c.value for c in at.caption)


def test_a_kmeans_run_past_its_work_budget_offers_a_sample_and_runs_on_it(monkeypatch):
    from tracelab.labs.kmeans import kmeans

    n = trace_of(open_lab()).X.shape[0]
    # a budget for about half the points at k = 3 and 1 000 iterations (2 features: 4/3 a point, cluster, iteration)
    monkeypatch.setattr(kmeans, "WORK_BUDGET", n // 2 * 3 * 1000 * 4 / 3)
    fits = kmeans.max_samples(2, 3, 1000)
    shown = fits // 10 ** (len(str(fits)) - 2) * 10 ** (len(str(fits)) - 2)
    at = open_lab(k=3, iter=1000)
    said = " ".join(w.value for w in at.warning)
    assert f"k-means on {n:,} points with 2 features, k = 3 and up to 1,000 iterations could take about" in said
    assert f"Run it on a random sample of {shown:,} points" in said
    at.button(key="_take_sample.km").click().run()
    assert not at.exception
    trace = trace_of(at)
    assert trace.X.shape[0] == shown and trace.params["max_iter"] == 1000
    assert any(f"k-means runs on a random sample of {shown:,} of the {n:,} points (seed 0)" in i.value for i in at.info)
    at.number_input(key="km.iter").set_value(100).run()  # within the budget: every point again
    assert trace_of(at).X.shape[0] == n
