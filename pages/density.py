"""Density-based clustering: DBSCAN, OPTICS and HDBSCAN grow their clusters step by step."""

import numpy as np
import streamlit as st

from tracelab.labs.density import engine as density
from tracelab.labs.density import hdbscan as hdbscan_trace
from tracelab.data import Dataset
from tracelab.ui import data_picker, entry, lab, player, runners, share, url
from tracelab.labs.density import views

entry.through_app()

P = "db"


def K(name: str) -> str:
    return f"{P}.{name}"


ALGORITHMS = {
    "dbscan": "DBSCAN (ε and MinPts)",
    "optics": "OPTICS (an ordering for every ε)",
    "hdbscan": "HDBSCAN (the most stable clusters)",
}

PARAMS = [
    url.Param("algo", K("algo"), "dbscan", url.choice(list(ALGORITHMS)), "algorithm"),
    url.Param("eps", K("eps"), 0.3, url.number(0.01, 3.0), "ε"),
    url.Param("minpts", K("minpts"), 10, url.integer(1, 100), "MinPts"),
    url.Param("metric", K("metric"), "euclidean", url.choice(density.METRICS), "metric"),
    url.Param("group", K("group"), "10 points", url.choice(density.GROUPINGS), "steps"),
    url.Param("ogroup", K("ogroup"), "10 points", url.choice(density.GROUPINGS[:2]), "OPTICS steps"),
    url.Param("cut", K("cut"), 0.3, url.number(0.01, 3.0), "ε cut"),
    url.Param("xi", K("xi"), 0.2, url.number(0.01, 0.5), "ξ"),
    url.Param("mcs", K("mcs"), 10, url.integer(2, 500), "min_cluster_size"),
    *lab.view_params(P),
    player.step_param(P),
]

lab.open_lab(P, "Density-based clustering: DBSCAN, OPTICS, HDBSCAN", PARAMS, default_data="two_moons")
PERSIST = data_picker.PERSIST

choice = lab.pick_data(P, "two_moons")
dataset = choice.dataset

with st.sidebar:
    st.subheader("Algorithm")
    algo = st.radio("Algorithm", list(ALGORITHMS), key=K("algo"), format_func=ALGORITHMS.get, persist_state=PERSIST)
    st.number_input("MinPts (min_samples)", 1, 100, step=1, key=K("minpts"), persist_state=PERSIST)
    if algo == "dbscan":
        st.slider("ε", 0.01, 3.0, step=0.01, key=K("eps"), persist_state=PERSIST)
        st.selectbox("Distance", density.METRICS, key=K("metric"), persist_state=PERSIST)
        st.radio("One step per", density.GROUPINGS, key=K("group"), horizontal=True, persist_state=PERSIST)
    elif algo == "optics":
        st.slider("ε for the cut", 0.01, 3.0, step=0.01, key=K("cut"), persist_state=PERSIST)
        st.slider("ξ (steepness for the ξ method)", 0.01, 0.5, step=0.01, key=K("xi"), persist_state=PERSIST)
        st.selectbox("Distance", density.METRICS, key=K("metric"), persist_state=PERSIST)
        st.radio("One step per", density.GROUPINGS[:2], key=K("ogroup"), horizontal=True, persist_state=PERSIST)
    else:
        st.number_input("min_cluster_size", 2, 500, step=1, key=K("mcs"), persist_state=PERSIST)

min_samples = int(st.session_state[K("minpts")])
metric = st.session_state[K("metric")]
if algo == "dbscan":
    params = dict(eps=float(st.session_state[K("eps")]), min_samples=min_samples, metric=metric,
                  group=st.session_state[K("group")])
elif algo == "optics":
    params = dict(min_samples=min_samples, metric=metric, xi=float(st.session_state[K("xi")]),
                  eps_cut=float(st.session_state[K("cut")]), group=st.session_state[K("ogroup")])
else:
    params = dict(min_cluster_size=int(st.session_state[K("mcs")]), min_samples=min_samples)

check = hdbscan_trace.check_trace if algo == "hdbscan" else density.check_trace
trace, columns, about, replay = lab.shown_trace(P, lambda: runners.run(algo, dataset, params, slot=P, stoppable=True), choice)
lab.need_two_features(trace)
lab.trace_notes(P, trace, about)
url_params = data_picker.url_params(P, data_picker.current_name(P)) + PARAMS


def side_by_side(axes, extraction: str):
    """The density-based run's clusters beside EM and k-means, each with k = the clusters it found."""
    labels, _ = views.compared_labels(trace, extraction)
    # EM and k-means need 2 to 10 clusters (the labs' range) and fewer clusters than points.
    found = int(np.unique(labels[labels >= 0]).size)
    k = max(2, min(10, found, trace.X.shape[0] - 1))
    # On the data the trace ran on: a replayed file or the last good run may differ from the picker's.
    data = Dataset(X=trace.X, columns=tuple(columns), name=about)
    em = runners.run("em", data, dict(n_components=k, seed=0), slot=f"{P}.em")
    km = runners.run("kmeans", data, dict(n_clusters=k, seed=0), slot=f"{P}.kmeans")
    return views.side_by_side_panels(trace, em, km, extraction=extraction, axes=axes, columns=columns)


def draw_step() -> None:
    axes = lab.axes_picker(P, columns)
    stepped, spec = lab.step_player(P, trace, views.step_charts, dict(axes=axes, columns=columns), widths=[3, 2])
    step = stepped.step
    with lab.at_step(P):
        st.markdown(f"**Step {step + 1}** · {trace[step].message}")
        if trace.algorithm == "dbscan":
            k = max(1, min(int(trace.params["min_samples"]) - 1, trace.X.shape[0] - 1))
            st.caption("Right: choose ε where the k-distance curve bends; move the ε slider and the line follows."
                       + (" k = MinPts − 1: a point counts itself among its MinPts."
                          if k == int(trace.params["min_samples"]) - 1 else ""))
        elif trace.algorithm == "optics":
            if trace.steps[step].phase == "xi":
                st.caption("Valleys are clusters; here the ξ method's (ξ slider), in the colours on the left.")
            else:
                st.caption("Valleys are clusters; the ε cut (slider) colours them on the left.")
        else:
            st.caption("Right: the condensed tree; the selected clusters are its most stable branches.")
        draw_sections(step, axes)
    url.write(url_params, share.url_values(url_params))


SECTIONS = ["Side by side with EM and k-means", "Share and export"]


def draw_sections(step: int, axes) -> None:
    section = lab.section_picker(P, SECTIONS)
    # The side-by-side panels do not change with the step (OPTICS's only between its
    # extractions): they are drawn once, after the fragment (draw_side_by_side), so a
    # step's rerun neither rebuilds nor resends them. What they should show is noted
    # here; when it changes (section, axes, extraction), the whole page reruns to draw it.
    want = None
    if section.startswith("Side"):
        # OPTICS has two extractions: compare the one the step above draws.
        want = ("xi" if trace.steps[step].phase == "xi" else "cut", axes)
    st.session_state[K("side.want")] = want
    if not st.session_state.get(K("side.full_run")) and st.session_state.get(K("side.drawn")) != want:
        st.rerun(scope="app")
    if want is None:
        lab.share_section(P, trace, url_params, choice=choice, replay=replay, check=check, files=[])


def draw_side_by_side() -> None:
    """The panels the step's section asked for (draw_sections), drawn on the page's full runs only."""
    want = st.session_state.get(K("side.want"))
    st.session_state[K("side.drawn")] = want
    if want is None:
        return
    extraction, axes = want
    figs = side_by_side(axes, extraction)
    st.caption(f"The same data through {figs[0].layout.meta['compares']}, EM and k-means "
               "(with as many clusters, 2 to 10): which assumptions fit?"
               + (" OPTICS is compared through the ε cut, or through the ξ method at its step."
                  if trace.algorithm == "optics" else ""))
    # Three columns, which stack on a narrow screen, rather than one figure squeezed.
    for c, (col, fig) in enumerate(zip(st.columns(3), figs)):
        with col:
            st.plotly_chart(fig, key=K(f"side{c}"), theme=None, config=lab.CHART_CONFIG)


# A full run draws the fragment and then the panels; a step's rerun is the fragment's only.
st.session_state[K("side.full_run")] = True
try:
    player.run_in_fragment(P, draw_step)
    draw_side_by_side()
finally:
    st.session_state[K("side.full_run")] = False
