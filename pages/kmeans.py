"""k-means and k-medoids as hard EM: step through assignments and updates, and compare with EM."""

import numpy as np
import streamlit as st

from tracelab.labs.em import engine as gmm
from tracelab.labs.kmeans import kmeans
from tracelab.labs.kmeans import kmedoids
from tracelab.data import Dataset
from tracelab.record.trace import Trace
from tracelab.ui import data_picker, entry, lab, player, runners, share, url
from tracelab.labs.em import views as em_views
from tracelab.labs.kmeans import views

entry.through_app()

P = "km"


def K(name: str) -> str:
    return f"{P}.{name}"


ALGORITHMS = {"kmeans": "k-means (centres are means)", "kmedoids": "k-medoids (centres are data points)"}
PLACED = "placed"  # k-means start: centres clicked on the chart
KMEANS_INITS = (*kmeans.INITS, PLACED)
INIT_LABELS = {
    "k-means++": "k-means++ seeding",
    "random": "random data points",
    "farthest": "farthest points",
    PLACED: "click on the chart",
    "k-medoids++": "k-medoids++ seeding",
    "build": "PAM's BUILD",
}
#: Seed of the default run (with the "random" start; see PARAMS).
DEFAULT_SEED = 199
SIGMA2 = (4.0, 2.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
LADDER = (2.0, 0.5, 0.1, 0.02)


def parse_centers(text: str) -> tuple[tuple[float, float], ...]:
    """Placed centres from a link: "x,y;x,y"."""
    try:
        centers = tuple(tuple(float(v) for v in pair.split(",")) for pair in text.split(";") if pair)
    except ValueError:
        raise ValueError("should be pairs of numbers like 0.5,-1;1,2") from None
    if not centers or any(len(c) != 2 or not all(np.isfinite(c)) for c in centers) or len(centers) > 10:
        raise ValueError("should be 1 to 10 pairs of finite numbers like 0.5,-1;1,2")
    return centers


def format_centers(centers) -> str:
    return ";".join(f"{x:.6g},{y:.6g}" for x, y in centers)


def parse_sigma2(text: str) -> float:
    value = url.number(min(SIGMA2), max(SIGMA2))(text)
    if value not in SIGMA2:
        raise ValueError(f"should be one of {', '.join(map(str, SIGMA2))}")
    return value


PARAMS = [
    url.Param("algo", K("algo"), "kmeans", url.choice(list(ALGORITHMS)), "algorithm"),
    url.Param("k", K("k"), 3, url.integer(1, 10), "number of clusters"),
    # The default run is one a student can watch: from these three random points the
    # labels change in five iterations and the inertia falls over as many steps
    # (572 -> 40.8 on the default blobs); k-means++ gets there in one.
    url.Param("init", K("init"), "random", url.choice(KMEANS_INITS), "k-means start"),
    url.Param("centers", K("centers"), None, parse_centers, "placed centres", fmt=format_centers),
    url.Param("minit", K("minit"), "k-medoids++", url.choice(kmedoids.INITS), "k-medoids start"),
    url.Param("metric", K("metric"), "euclidean", url.choice(kmedoids.METRICS), "metric"),
    url.Param("p", K("p"), 3.0, url.number(1.0, 20.0), "Minkowski p"),
    url.Param("method", K("method"), "alternate", url.choice(kmedoids.METHODS), "method"),
    url.Param("seed", K("seed"), DEFAULT_SEED, url.integer(0, 2**31 - 1), "seed"),
    url.Param("iter", K("iter"), 100, url.integer(1, 1000), "max_iter"),
    url.Param("tol", K("tol"), 1e-4, url.number(0.0, 10.0), "tol"),
    url.Param("sigma2", K("sigma2"), 0.5, parse_sigma2, "σ²"),
    *lab.view_params(P),
    url.Param("regions", K("regions"), True, url.flag, "shade regions"),
    url.Param("lines", K("lines"), True, url.flag, "assignment lines"),
    url.Param("ball", K("ball"), False, url.flag, "ball around medoid 1"),
    player.step_param(P),
]

def write_url() -> None:
    params_ = data_picker.url_params(P, data_picker.current_name(P)) + PARAMS
    url.write(params_, share.url_values(params_))


lab.open_lab(P, "k-means and k-medoids: hard EM", PARAMS, default_data="blobs")
PERSIST = data_picker.PERSIST

choice = lab.pick_data(P, "blobs")
dataset = choice.dataset
max_k = lab.clamp_k(K("k"), dataset.n_samples)

with st.sidebar:
    st.subheader("Algorithm")
    algo = st.radio("Algorithm", list(ALGORITHMS), key=K("algo"), format_func=ALGORITHMS.get, persist_state=PERSIST)
    k = st.number_input("Number of clusters k", 1, max_k, step=1, key=K("k"), persist_state=PERSIST)
    if algo == "kmeans":
        init = st.selectbox("Start", KMEANS_INITS, key=K("init"), format_func=INIT_LABELS.get, persist_state=PERSIST)
        st.number_input("tol (centre shift, scaled by the data's variance)", 0.0, 10.0, step=1e-4, format="%.1e",
                        key=K("tol"), persist_state=PERSIST)
    else:
        init = st.selectbox("Start", kmedoids.INITS, key=K("minit"), format_func=INIT_LABELS.get, persist_state=PERSIST)
        metric = st.selectbox("Distance", kmedoids.METRICS, key=K("metric"), persist_state=PERSIST)
        if metric == "minkowski":
            st.slider("p", 1.0, 20.0, step=0.5, key=K("p"), persist_state=PERSIST)
        st.radio("Method", kmedoids.METHODS, key=K("method"), horizontal=True, persist_state=PERSIST,
                 format_func={"alternate": "alternate (Voronoi iteration)", "pam": "PAM swaps"}.get)
    st.number_input("Seed", 0, 2**31 - 1, step=1, key=K("seed"), persist_state=PERSIST)
    st.number_input("max_iter", 1, 1000, step=1, key=K("iter"), persist_state=PERSIST)

columns = list(dataset.columns)
if algo == "kmeans":
    params = dict(n_clusters=int(k), seed=int(st.session_state[K("seed")]), max_iter=int(st.session_state[K("iter")]),
                  tol=float(st.session_state[K("tol")]))
    if init == PLACED:
        if dataset.n_features != 2:
            st.info("Placing centres by clicking needs data with exactly two feature columns; "
                    "choose two columns in the sidebar, or another start.", icon="🖱️")
            st.stop()
        # Placed centres belong to the data they were placed on.
        if st.session_state.get(K("centers_digest")) not in (None, dataset.digest):
            st.session_state[K("centers")] = None
        st.session_state[K("centers_digest")] = dataset.digest
        placed = list(st.session_state.get(K("centers")) or ())
        if len(placed) >= k:
            st.sidebar.button("Place the centres again", key=K("replace_placed"),
                              on_click=st.session_state.__setitem__, args=(K("centers"), None))
        clicked = lab.new_click(K("place_chart"))
        if clicked is not None and len(placed) < k:
            where = dataset.X[clicked] if isinstance(clicked, int) else clicked[1:3]
            placed.append((float(where[0]), float(where[1])))
            st.session_state[K("centers")] = tuple(placed)
        if len(placed) < k:
            st.markdown(f"**Click on the chart to place centre {len(placed) + 1} of {k}.**")
            st.plotly_chart(views.placement_figure(dataset.X, placed, columns=columns), key=K("place_chart"),
                            on_select="rerun", selection_mode="points", theme=None, config=lab.CHART_CONFIG)
            if placed:
                st.button("Start again", key=K("clear_placed"), on_click=st.session_state.__setitem__,
                          args=(K("centers"), None))
            write_url()
            st.stop()
        params.update(init="random", centers_init=tuple(placed[:k]))
    else:
        params["init"] = init
else:
    params = dict(n_clusters=int(k), init=init, metric=st.session_state[K("metric")],
                  method=st.session_state[K("method")], seed=int(st.session_state[K("seed")]),
                  max_iter=int(st.session_state[K("iter")]))
    if params["metric"] == "minkowski":
        params["p"] = float(st.session_state[K("p")])

check = kmeans.check_trace if algo == "kmeans" else kmedoids.check_trace
trace, columns, about, replay = lab.shown_trace(P, lambda: runners.run(algo, dataset, params, slot=P, stoppable=True), choice)
lab.need_two_features(trace)
lab.trace_notes(P, trace, about)
url_params = data_picker.url_params(P, data_picker.current_name(P)) + PARAMS
shown_data = Dataset(X=trace.X, columns=tuple(columns), name=about)


def start_centers() -> tuple[tuple[float, ...], ...]:
    """The centres (or medoids) the run started from: EM starts from the same means."""
    first = trace.steps[0]
    centers = first.centers if trace.algorithm == "kmeans" else first.medoids
    return tuple(tuple(float(v) for v in row) for row in centers)


EM_MAX_ITER = 100  # the sections' EM runs


def em_run(slot: str, on: Dataset, **extra) -> Trace:
    means = start_centers()
    k_ = len(means)
    params_em = dict(n_components=k_, init="random_from_data", means_init=means,
                     weights_init=tuple([1.0 / k_] * k_), max_iter=EM_MAX_ITER, tol=1e-6, seed=0, **extra)
    return runners.run("em", on, params_em, slot=slot)


def section_data(n_runs: int) -> tuple[Trace, Dataset] | None:
    """The k-means trace and the data a section's ``n_runs`` EM runs compare on.

    On the data the trace ran on (a replayed file or the last good run may differ
    from the picker's), unless EM on all of it ``n_runs`` times (and k-means once)
    would pass one request's budget: then both k-means and EM run, from the same start, on the
    largest random sample within it, and the section says so. None (and the
    section says what to lower) when even a sample would be too few points.
    """
    k_, d = len(start_centers()), shown_data.n_features
    if trace.algorithm != "kmeans" or shown_data.n_samples <= gmm.max_samples(d, k_, EM_MAX_ITER,
                                                                              gmm.WORK_BUDGET / n_runs):
        return trace, shown_data
    # on a sample, k-means runs again beside the EM runs: each run gets an equal share of the budget
    max_iter = int(trace.params["max_iter"])
    fits = min(gmm.max_samples(d, k_, EM_MAX_ITER, gmm.WORK_BUDGET / (n_runs + 1)),
               kmeans.max_samples(d, k_, max_iter, kmeans.WORK_BUDGET / (n_runs + 1)))
    if fits < 10 * k_:
        st.info(f"EM with k = {k_} on {shown_data.n_features} features would take the server too long here, even "
                "on a sample of the points: lower k or choose fewer columns.", icon=":material/timer:")
        return None
    fits = fits // 1000 * 1000 if fits >= 1000 else fits
    sample = shown_data.sample(fits, 0)
    st.caption(f"On a random sample of {fits:,} of the {shown_data.n_samples:,} points (seed 0): k-means and EM "
               "both run on it from the same start, since EM on every point would take the server too long.")
    same_start = dict(n_clusters=k_, init="random", centers_init=start_centers(),
                      max_iter=max_iter, tol=float(trace.params["tol"]))
    return runners.run("kmeans", sample, same_start, slot=f"{P}.sample.{n_runs}"), sample


def draw_step() -> None:
    axes = lab.axes_picker(P, columns)
    t1, t2, t3 = st.columns(3)
    # short labels: in a laptop window longer ones are cut off
    # Their defaults are the link's (PARAMS), set when the page opens.
    regions = t1.toggle("Shade regions", key=K("regions"), persist_state=PERSIST,
                        help="Colour the plane by the nearest centre (medoid): each one's Voronoi cell.")
    lines = t2.toggle("Assignment lines", key=K("lines"), persist_state=PERSIST,
                      help="On E-steps, a line from every point to the centre it is assigned to.")
    unit_ball = None
    if trace.algorithm == "kmedoids" and t3.toggle(
            "Ball around medoid 1", key=K("ball"), persist_state=PERSIST,
            help="The points at one distance from medoid 1 (the median distance to its cluster): "
                 "a circle for Euclidean, a diamond for Manhattan."):
        unit_ball = (trace.params.get("metric"), trace.params.get("p", 2.0))
    stepped, spec = lab.step_player(
        P, trace, views.step_charts,
        dict(axes=axes, columns=columns, show_regions=regions, show_assignments=lines, unit_ball=unit_ball),
        widths=[3, 2],
    )
    step = stepped.step
    with lab.at_step(P):
        st.markdown(f"**Clusters at step {step + 1}**")
        # Rows are the quantities, columns the clusters.
        table = views.centers_table(trace, step, columns).set_index("cluster").T
        # st.table reads headers as Markdown: names from a user's CSV must show as written
        table.index = [data_picker.plain(name) for name in table.index]
        table.columns = [data_picker.plain(name) for name in table.columns]
        # Written here, not by a pandas Styler: a Styler costs tens of ms of Python on every step.
        st.table(table.map(lambda v: "—" if v != v else f"{v:.4g}"))
        draw_sections(step, axes)
    write_url()


def draw_sections(step: int, axes) -> None:
    section = lab.section_picker(P, ["Compare with EM", "σ² → 0: EM hardens into k-means", "Share and export"])
    if section == "Compare with EM":
        st.caption("EM started from the same means, synchronised on the iteration: hard labels on the left, "
                   "responsibilities on the right.")
        runs = section_data(1)
        if runs is None:
            return
        km_trace, on = runs
        em_trace = em_run(f"{P}.compare", on)
        # whole iterations done: at an E-step the centres have not moved yet, so the panels show
        # the iteration before (never the step after the one on screen)
        iteration = views.iterations_done(trace, step)
        # One figure per iteration: a click that keeps the iteration (an E-step) reuses it, and
        # Streamlit sends the browser a reference to the chart it already has, not the chart.
        drawn = (iteration, axes, tuple(columns))
        memo = st.session_state.get(K("compare_figure"))
        if memo is None or memo[0] is not km_trace or memo[1] is not em_trace or memo[2] != drawn:
            memo = (km_trace, em_trace, drawn,
                    views.comparison(km_trace, em_trace, iteration, axes=axes, columns=columns))
            st.session_state[K("compare_figure")] = memo
        st.plotly_chart(memo[3], key=K("compare"), theme=None, config=lab.CHART_CONFIG)
    elif section.startswith("σ²"):
        st.caption("EM with every covariance fixed at σ²·I, from the same means. As σ² shrinks, each point's "
                   "responsibilities go to 0 or 1 and EM's E-step becomes k-means' assignment.")
        sigma2 = st.select_slider("σ²", SIGMA2, key=K("sigma2"), persist_state=PERSIST)
        runs = section_data(1 + len(LADDER))
        if runs is None:
            return
        km_trace, on = runs
        em_trace = em_run(f"{P}.sigma", on, covariance_type="fixed", fixed_variance=float(sigma2))
        last = len(em_trace) - 1
        c1, c2 = st.columns(2)
        c1.metric("Mean largest responsibility", f"{views.hardness(em_trace):.3f}")
        if trace.algorithm == "kmeans":
            c2.metric("Points where EM agrees with k-means", f"{views.agreement_with_kmeans(em_trace, km_trace):.1%}")
        sigma_fig = views.to_scale(em_views.scatter_2d(em_trace, last, axes=axes, columns=columns))
        # EM's own step count means nothing beside the k-means player: say which run and when
        sigma_fig.update_layout(title={"text": f"EM with σ² = {sigma2:g}: its last step "
                                               f"(iteration {em_trace[last].iteration})"})
        st.plotly_chart(sigma_fig,
                        key=K("sigma_chart"), theme=None, config=lab.CHART_CONFIG)
        ladder = {v: em_run(f"{P}.ladder.{v}", on, covariance_type="fixed", fixed_variance=v) for v in LADDER}
        # the same plane as the charts above, and each panel's agreement like the metric's
        ladder_fig = views.hardening(ladder, kmeans_trace=km_trace if trace.algorithm == "kmeans" else None,
                                     axes=axes, columns=columns)
        st.caption("As σ² shrinks: each panel gives σ², the mean largest responsibility (max r) and, "
                   "for k-means, the share of points EM labels as k-means does.")
        st.plotly_chart(ladder_fig, key=K("ladder"), theme=None, config=lab.CHART_CONFIG)
    else:
        lab.share_section(
            P, trace, url_params, choice=choice, replay=replay, check=check,
            files=[("Clusters at this step (CSV)", lambda: views.centers_table(trace, step, columns).to_csv(index=False),
                    f"tracelab-{trace.algorithm}-step{step + 1}-clusters.csv", "text/csv")],
        )


player.run_in_fragment(P, draw_step)
