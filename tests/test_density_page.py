"""The density-based lab under Streamlit's AppTest."""

from __future__ import annotations

import pytest

import apptest
from apptest import step_of


def open_lab(**query):
    return apptest.open_lab("density", **query)


def trace_of(at):
    return apptest.trace_of(at, "db")


def test_opens_on_two_moons_with_dbscan_and_steps():
    at = open_lab()
    trace = trace_of(at)
    assert trace.algorithm == "dbscan"
    assert trace.steps[0].phase == "core" and trace.steps[-1].phase == "result"
    at.button(key="db-next").click().run()
    assert step_of(at)[0] == 2
    at.slider(key="db.eps").set_value(0.5).run()
    assert trace_of(at).params["eps"] == 0.5
    for group in ("point", "cluster"):
        at.radio(key="db.group").set_value(group).run()
        assert not at.exception, group


@pytest.mark.parametrize("algo", ["optics", "hdbscan"])
def test_optics_and_hdbscan_run_and_step(algo):
    at = open_lab(algo=algo)
    assert trace_of(at).algorithm == algo
    at.button(key="db-last").click().run()
    assert not at.exception
    assert step_of(at)[0] == step_of(at)[1]
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
