"""Hierarchical clustering: watch the dendrogram grow merge by merge, and cut it."""

import streamlit as st

from tracelab.labs.hierarchy import engine as hierarchy
from tracelab.ui import data_picker, entry, lab, player, runners, share, url
from tracelab.labs.hierarchy import views

entry.through_app()

P = "hc"


def K(name: str) -> str:
    return f"{P}.{name}"


ALGORITHMS = {"agnes": "AGNES (agglomerative: merge)", "diana": "DIANA (divisive: split)"}
LINKAGE_LABELS = {
    "single": "single (closest pair)",
    "complete": "complete (farthest pair)",
    "average": "average (mean of all pairs)",
    "centroid": "centroid (distance of centroids)",
    "ward": "Ward (least added variance)",
}

PARAMS = [
    url.Param("algo", K("algo"), "agnes", url.choice(list(ALGORITHMS)), "algorithm"),
    url.Param("linkage", K("linkage"), "ward", url.choice(hierarchy.LINKAGES), "linkage"),
    url.Param("metric", K("metric"), "euclidean", url.choice(hierarchy.METRICS), "metric"),
    url.Param("p", K("p"), 3.0, url.number(1.0, 20.0), "Minkowski p"),
    url.Param("cutk", K("cutk"), 3, url.integer(1, 50), "clusters at the cut"),
    url.Param("cutby", K("cut_by"), "k", url.choice(["k", "height"]), "cut by"),
    url.Param("height", K("cut_height"), None, url.number(0.0, 1e12), "cut height"),
    url.Param("bycut", K("use_cut"), False, url.flag, "colour points by the cut"),
    *lab.view_params(P),
    player.step_param(P),
]

lab.open_lab(P, "Hierarchical clustering: merge by merge", PARAMS, default_data="blobs")
PERSIST = data_picker.PERSIST

choice = lab.pick_data(P, "blobs")
dataset = choice.dataset

with st.sidebar:
    st.subheader("Clustering")
    algo = st.radio("Algorithm", list(ALGORITHMS), key=K("algo"), format_func=ALGORITHMS.get, persist_state=PERSIST)
    if algo == "agnes":
        st.selectbox("Linkage", hierarchy.LINKAGES, key=K("linkage"), format_func=LINKAGE_LABELS.get,
                     persist_state=PERSIST)
    metric = st.selectbox("Distance", hierarchy.METRICS, key=K("metric"), persist_state=PERSIST)
    if metric == "minkowski":
        st.slider("p", 1.0, 20.0, step=0.5, key=K("p"), persist_state=PERSIST)

params = dict(metric=metric)
if metric == "minkowski":
    params["p"] = float(st.session_state[K("p")])
if algo == "agnes":
    params["linkage"] = st.session_state[K("linkage")]

check = hierarchy.check_trace
trace, columns, about, replay = lab.shown_trace(
    P, lambda: runners.run(algo, dataset, params, slot=P, stoppable=True), choice
)
lab.need_two_features(trace)
lab.trace_notes(P, trace, about)
url_params = data_picker.url_params(P, data_picker.current_name(P)) + PARAMS
n = trace.X.shape[0]


@st.cache_data(max_entries=16, show_spinner=False)
def _linkage_comparison(_X, digest: str, metric: str, p: float, columns: tuple[str, ...]):
    return views.linkage_comparison(_X, metric=metric, p=p, columns=list(columns), k=min(3, len(_X)))


def linkage_comparison(trace, columns):
    """Four linkages on the trace's data; computed once per data and distance, not on every step."""
    metric = trace.params.get("metric", "euclidean")
    p = float(trace.params.get("p", 2.0))
    return _linkage_comparison(trace.X, trace.data_digest, metric, p, tuple(columns))


def cut_controls() -> tuple[bool, int | None, float | None]:
    """Colour by the cut?, its k, and its height when set by height (AGNES only)."""
    if trace.algorithm != "agnes":  # a cut needs the whole merge tree
        return False, None, None
    c1, c2, c3 = st.columns([1.2, 1, 1.3])
    by = c1.radio("Cut the tree by", ["k", "height"], key=K("cut_by"), horizontal=True, persist_state=PERSIST)
    if st.session_state[K("cutk")] > n:
        st.session_state[K("cutk")] = n
    height = None
    if by == "height" and n > 1:
        # The slider moves the cut line; k follows from where it crosses the tree.
        top = float(trace.linkage_matrix[:, 2].max()) * 1.05
        # The height a link asked for, else where the cut at k lies; kept within the tree.
        asked = st.session_state.get(K("cut_height"))
        start = asked if asked is not None else views.cut_for_k(trace, int(st.session_state[K("cutk")]))
        st.session_state[K("cut_height")] = min(max(float(start), 0.0), top)
        height = c3.slider("Cut height", 0.0, top, key=K("cut_height"), persist_state=PERSIST)
        st.session_state[K("cutk")] = min(max(1, views.k_for_height(trace, height)), min(50, n))
    cut_k = int(c2.number_input("k at the cut", 1, max(1, min(50, n)), step=1, key=K("cutk"),
                                persist_state=PERSIST, disabled=height is not None))
    use_cut = st.toggle("Colour points by the cut", key=K("use_cut"),
                        help="Colour the scatter by the clusters of the cut instead of the clusters at this step.",
                        persist_state=PERSIST)
    return use_cut, cut_k, height


def draw_step() -> None:
    axes = lab.axes_picker(P, columns)
    use_cut, cut_k, height = cut_controls()
    if trace.algorithm != "agnes":
        # no dendrogram is drawn here: say why rather than name one that is not there
        st.info("DIANA splits top-down: the scatter shows the splinter group growing. The dendrogram, "
                "distance matrix and merge heights record AGNES's bottom-up merges: switch the algorithm "
                "to see them.", icon="✂️")
    stepped, spec = lab.step_player(
        P, trace, views.step_charts,
        dict(axes=axes, columns=columns, cut_k=cut_k, cut_height=height, color_by_cut=use_cut),
        widths=[1, 1],
    )
    step = stepped.step
    with lab.at_step(P):
        st.markdown(f"**Merge {step} of {len(trace) - 1}** (step {step + 1})" if trace.algorithm == "agnes"
                    else f"**Split at step {step + 1}**")
        draw_sections(step)
    url.write(url_params, share.url_values(url_params))


def draw_sections(step: int) -> None:
    # None open at first: the merge heights are in the player, and the distance
    # matrix, a large heatmap redrawn at every step, only when asked for
    sections = ["Distance matrix", "Linkage comparison", "Share and export"]
    section = lab.section_picker(P, sections, optional=True)
    if section is None:
        return
    if section == "Distance matrix" and trace.algorithm != "agnes":
        st.caption("This view belongs to AGNES's merges; switch the algorithm to see it.")
    elif section == "Distance matrix":
        st.plotly_chart(views.distance_heatmap(trace, step), key=K("heatmap"), theme=None, config=lab.CHART_CONFIG)
    elif section == "Linkage comparison":
        st.caption("The same data under four linkages: single linkage chains points into long clusters, "
                   "complete and Ward make compact ones.")
        st.plotly_chart(linkage_comparison(trace, columns), key=K("compare"), theme=None, config=lab.CHART_CONFIG)
    else:
        lab.share_section(P, trace, url_params, choice=choice, replay=replay, check=check, files=[])


player.run_in_fragment(P, draw_step)
