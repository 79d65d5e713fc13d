"""Density-based clustering: DBSCAN, OPTICS and HDBSCAN grow their clusters step by step."""

import streamlit as st

from tracelab import density, hdbscan_trace
from tracelab.data import Dataset
from tracelab.ui import data_picker, entry, lab, player, runners, share, url
from tracelab.views import density as views

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
    url.Param("minpts", K("minpts"), 5, url.integer(1, 100), "MinPts"),
    url.Param("metric", K("metric"), "euclidean", url.choice(density.METRICS), "metric"),
    url.Param("group", K("group"), "10 points", url.choice(density.GROUPINGS), "steps"),
    url.Param("ogroup", K("ogroup"), "10 points", url.choice(density.GROUPINGS[:2]), "OPTICS steps"),
    url.Param("cut", K("cut"), 0.3, url.number(0.01, 3.0), "ε cut"),
    url.Param("xi", K("xi"), 0.05, url.number(0.01, 0.5), "ξ"),
    url.Param("mcs", K("mcs"), 10, url.integer(2, 500), "min_cluster_size"),
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
trace, columns, about, replay = lab.shown_trace(P, lambda: runners.run(algo, dataset, params, slot=P), choice)
lab.need_two_features(trace)
lab.step_link_note(P, len(trace))
st.caption(f"{about}. {trace.message}")
url_params = data_picker.url_params(P, data_picker.current_name(P)) + PARAMS


def side_by_side(axes):
    """DBSCAN, EM and k-means on the same data, each with k = the clusters DBSCAN found."""
    found = int(max(2, min(10, trace.steps[-1].labels.max() + 1)))
    # On the data the trace ran on: a replayed file or the last good run may differ from the picker's.
    data = Dataset(X=trace.X, columns=tuple(columns), name=about)
    dbscan = trace if trace.algorithm == "dbscan" else runners.run(
        "dbscan", data, dict(eps=float(st.session_state[K("eps")]), min_samples=min_samples), slot=f"{P}.dbscan")
    em = runners.run("em", data, dict(n_components=found, seed=0), slot=f"{P}.em")
    km = runners.run("kmeans", data, dict(n_clusters=found, seed=0), slot=f"{P}.kmeans")
    return views.side_by_side(dbscan, em, km, axes=axes, columns=columns)


def draw_step() -> None:
    axes = lab.axes_picker(P, columns)
    captions = {
        "dbscan": "Right: choose ε where the k-distance curve bends; move the ε slider and the line follows.",
        "optics": "Right: valleys of the reachability plot are clusters; the ε cut (slider) colours them.",
        "hdbscan": "Right: the condensed tree; the selected clusters are the most stable branches.",
    }
    st.caption(captions[trace.algorithm])
    stepped, spec = lab.step_player(
        P, trace, (axes, tuple(columns)), lambda: views.step_charts(trace, axes=axes, columns=columns), widths=[3, 2]
    )
    with lab.at_step(P):
        st.markdown(f"**Step {stepped.step + 1}** · {trace[stepped.step].message}")
        draw_sections(axes)
    url.write(url_params, share.url_values(url_params))


def draw_sections(axes) -> None:
    section = lab.section_picker(P, ["Side by side with EM and k-means", "Share and export"])
    if section.startswith("Side"):
        st.caption("The same data through DBSCAN, EM and k-means: which assumptions fit?")
        st.plotly_chart(side_by_side(axes), key=K("side"), theme=None, config=lab.CHART_CONFIG)
    else:
        lab.share_section(P, trace, url_params, choice=choice, replay=replay, check=check, files=[])


player.run_in_fragment(P, draw_step)
