"""Choosing k: the elbow, silhouettes and BIC/AIC, each point linked to the run behind it."""

import numpy as np
import streamlit as st

from tracelab import data
from tracelab.labs.em import engine as gmm
from tracelab.labs.kmeans import kmeans
from tracelab.labs.selection import engine as selection
from tracelab.ui import data_picker, entry, lab, runners, share, url
from tracelab.labs.selection import views

entry.through_app()

P = "ck"


def K(name: str) -> str:
    return f"{P}.{name}"


PARAMS = [
    url.Param("kmin", K("kmin"), 1, url.integer(1, 10), "smallest k"),
    url.Param("kmax", K("kmax"), 8, url.integer(2, 10), "largest k"),
    url.Param("ninit", K("ninit"), 5, url.integer(1, 20), "restarts"),
    url.Param("seed", K("seed"), 0, url.integer(0, 2**31 - 1), "seed"),
    url.Param("k", K("k"), 3, url.integer(2, 10), "k for the silhouette"),
    url.Param("ek", K("elbow_k"), None, url.integer(1, 10), "k chosen on the elbow"),
    url.Param("criterion", K("which"), "bic", url.choice(["bic", "aic"]), "criterion"),
    *lab.view_params(P, plane=False, speed=False),
]

lab.open_lab(P, "Choosing k: elbow, silhouette, BIC and AIC", PARAMS, default_data="iris")
PERSIST = data_picker.PERSIST
choice = lab.pick_data(P, "iris")
dataset = choice.dataset

with st.sidebar:
    st.subheader("Range of k")
    st.number_input("Smallest k", 1, 10, step=1, key=K("kmin"), persist_state=PERSIST)
    # At most 10: the k-means and EM labs, which the curves link to, take k up to 10.
    st.number_input("Largest k", 2, 10, step=1, key=K("kmax"), persist_state=PERSIST)
    st.number_input("k-means restarts per k (best kept)", 1, 20, step=1, key=K("ninit"), persist_state=PERSIST)
    st.number_input("Seed", 0, 2**31 - 1, step=1, key=K("seed"), persist_state=PERSIST)
    types = st.multiselect("Covariance types for BIC/AIC", list(gmm.COVARIANCE_TYPES[:4]),
                           default=list(gmm.COVARIANCE_TYPES[:4]), key=K("types"))

kmin, kmax = int(st.session_state[K("kmin")]), int(st.session_state[K("kmax")])
kmax = min(kmax, dataset.n_samples - 1)
if kmin > kmax:
    st.warning(f"The smallest k ({kmin}) is above the largest ({kmax}); using k = 1 to {kmax}.", icon="⚠️")
    kmin = 1
ks = tuple(range(kmin, kmax + 1))
seed = int(st.session_state[K("seed")])
n_init = int(st.session_state[K("ninit")])


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


st.caption(f"{dataset.name}: {plural(dataset.n_samples, 'point')}, {plural(dataset.n_features, 'feature')}.")
# Each curve fits many models: on a large data set they use a seeded random sample,
# which keeps every request to seconds, and the page says so.
elbow_points = selection.elbow_max_points(dataset.n_features, ks, n_init)
criteria_points = selection.criteria_max_points(dataset.n_features, ks, len(types))
# Fewer points than this tell nothing about k: the page says what to lower instead.
least = 10 * max(ks)
if elbow_points < least:
    st.warning(f"k-means for every k from {ks[0]} to {ks[-1]} with {n_init} restarts on {dataset.n_features} "
               "features would take the server too long, even on a small sample: choose fewer columns, "
               "fewer restarts or a smaller largest k.", icon=":material/timer:")
    st.stop()
no_criteria = "Choose at least one covariance type in the sidebar."
if types and criteria_points < least:
    no_criteria = (f"BIC and AIC are left out: EM for every k up to {ks[-1]} on {dataset.n_features} features "
                   "would take the server too long, even on a small sample. Choose fewer columns or a smaller "
                   "largest k to see them.")
    types = []
elbow_data = dataset.sample(elbow_points, seed)
criteria_data = dataset.sample(max(1, criteria_points), seed)
sampled = [f"the elbow on {elbow_data.n_samples:,}" if elbow_data is not dataset else "",
           f"BIC and AIC on {criteria_data.n_samples:,}" if types and criteria_data is not dataset else ""]
if any(sampled):
    st.caption(f"To answer in seconds, {' and '.join(w for w in sampled if w)} of the {dataset.n_samples:,} "
               f"points, chosen at random (seed {seed}); the labs the curves link to run on all of them.")
# "Stop" ends the runs in progress (its click interrupts them at the next progress
# update) and keeps them stopped for these settings until "Run again".
run_key = (dataset.digest, ks, n_init, seed, tuple(types))
st.session_state[K("runs")] = run_key  # the settings of the runs shown (or in progress)
if st.session_state.get(K("stopped")) == run_key:
    st.info("Stopped. Change a setting, or run these again.", icon=":material/stop_circle:")
    st.button("Run again", key=K("resume"), on_click=st.session_state.pop, args=(K("stopped"), None))
    st.stop()
# The button is there only while the runs are: it is cleared as soon as they end (at
# once when their results are remembered).
stop_slot = st.empty()
stop_slot.button("Stop", key=K("stop"), on_click=st.session_state.__setitem__, args=(K("stopped"), run_key),
                 help="Stop the runs in progress.")
try:
    elbow = runners.elbow(elbow_data, ks, n_init=n_init, seed=seed)
    criteria = runners.criteria(criteria_data, ks, tuple(types), seed=seed) if types else None
except ValueError as exc:
    st.error(str(exc), icon="⚠️")
    st.stop()
finally:
    stop_slot.empty()

data_query = {p.name: p.format(v) for p in data_picker.url_params(P, data_picker.current_name(P))
              if (v := st.session_state.get(p.key)) is not None}


def kmeans_on(k: int, run_seed: int, slot: str) -> tuple[data.Dataset, np.ndarray]:
    """The points k-means clusters for a section (all of them, or the largest seeded sample
    one run may take) and its labels."""
    on = dataset.sample(kmeans.max_samples(dataset.n_features, k, 300), seed)
    if on is not dataset:
        st.caption(f"k-means runs on a random sample of {on.n_samples:,} of the {dataset.n_samples:,} points "
                   f"(seed {seed}): one run on all of them could take the server, which the class shares, too long.")
    try:
        trace = runners.run("kmeans", on, dict(n_clusters=k, init="k-means++", seed=run_seed), slot=slot)
    except runners.TooMuch:  # the page says why, with what to lower
        st.stop()
    return on, trace.steps[-1].labels


def lab_link(page: str, label: str, query: dict) -> None:
    """A link into a lab with the state of one run (a small upload travels in it; a large one cannot)."""
    if not choice.shareable:
        st.caption(f"{choice.unshareable} Open the lab and upload it there.")
        return
    st.page_link(page, label=label, icon=":material/open_in_new:", query_params={**data_query, **query})


section = lab.section_picker(P, ["Elbow", "Silhouette", "BIC / AIC"]
                             + (["Known classes"] if dataset.labels is not None else []))

if section == "Elbow":
    st.caption("k-means inertia (the sum of squared distances to the centres) for each k, best of the "
               "restarts. The suggested knee is the point farthest from the chord between the ends.")
    # Read a click before drawing: the ring marks the chosen k in the same run.
    clicked = lab.new_click(K("elbow_chart"))
    if isinstance(clicked, int) and clicked in ks:
        st.session_state[K("elbow_k")] = clicked
    k = st.session_state.get(K("elbow_k"))
    if k not in ks:
        k = elbow.knee or ks[0]
    st.plotly_chart(views.elbow_plot(elbow, selected=k), key=K("elbow_chart"), on_select="rerun",
                    selection_mode="points", theme=None, config=lab.CHART_CONFIG)
    run_seed = int(elbow.seeds[ks.index(k)])
    st.markdown(f"**k = {k}**: inertia {float(elbow.inertia[ks.index(k)]):.4g} (restart with seed {run_seed}). "
                "Click another point to choose it.")
    lab_link("pages/kmeans.py", f"Step through this k = {k} run in the k-means lab",
             {"algo": "kmeans", "k": str(k), "init": "k-means++", "seed": str(run_seed), "tol": "0.0001",
              "iter": "300"})
elif section == "Silhouette":
    k_options = [k for k in ks if k >= 2]
    if not k_options:
        st.info("The silhouette needs at least two clusters: raise the largest k.")
    else:
        if st.session_state.get(K("k")) not in k_options:
            st.session_state[K("k")] = k_options[min(1, len(k_options) - 1)]
        k = st.select_slider("k", k_options, key=K("k"), persist_state=PERSIST)
        run_seed = int(elbow.seeds[ks.index(k)])
        on, labels = kmeans_on(k, run_seed, f"{P}.silhouette")
        # exact, so O(n^2): a seeded sample of a large data set, clustered with all of it
        rows = data.sample_rows(on.n_samples, selection.SILHOUETTE_MAX_POINTS, seed)
        values = selection.silhouette_samples(on.X[rows], labels[rows])
        st.metric("Mean silhouette", f"{np.nanmean(values):.3f}")
        if rows.size < dataset.n_samples:
            found_on = "all of them" if on is dataset else f"the {on.n_samples:,} above"
            st.caption(f"The silhouette of {rows.size:,} of the {dataset.n_samples:,} points, chosen at "
                       f"random (seed {seed}): each against the others of the sample, in the clusters k-means "
                       f"found on {found_on}.")
        st.plotly_chart(views.silhouette_plot(on.X[rows], labels[rows], values=values), key=K("silhouette"),
                        theme=None, config=lab.CHART_CONFIG)
        lab_link("pages/kmeans.py", f"Step through this k = {k} run in the k-means lab",
                 {"algo": "kmeans", "k": str(k), "init": "k-means++", "seed": str(run_seed)})
elif section == "BIC / AIC":
    if criteria is None:
        st.info(no_criteria, icon=":material/info:")
    else:
        which = st.radio("Criterion", ["bic", "aic"], key=K("which"), horizontal=True,
                         format_func=str.upper, persist_state=PERSIST)
        st.caption("Lower is better. BIC penalises parameters more than AIC: "
                   "BIC = −2 log L + p log n, AIC = −2 log L + 2p.")
        clicked = lab.new_click(K("criteria_chart"))
        if isinstance(clicked, list) and len(clicked) == 2 and clicked[1] in criteria.covariance_types:
            st.session_state[K("criteria_choice")] = (int(clicked[0]), str(clicked[1]))
        k, cov = st.session_state.get(K("criteria_choice"), (None, None))
        if cov not in criteria.covariance_types or k not in ks:
            # The lowest criterion over all types.
            scores = criteria.values(which)
            row, col = np.unravel_index(np.nanargmin(scores), scores.shape)
            k, cov = int(ks[col]), criteria.covariance_types[row]
        st.plotly_chart(views.criteria_plot(criteria, which=which), key=K("criteria_chart"),
                        on_select="rerun", selection_mode="points", theme=None, config=lab.CHART_CONFIG)
        row, col = criteria.covariance_types.index(cov), ks.index(k)
        st.markdown(f"**{cov}, k = {k}**: {which.upper()} {float(criteria.values(which)[row, col]):.1f} "
                    f"with {int(criteria.n_parameters[row, col])} free parameters. Click another point to choose it.")
        lab_link("pages/em.py", f"Step through this EM run ({cov}, k = {k}) in the EM lab",
                 {"k": str(k), "cov": cov, "init": "kmeans", "seed": str(int(criteria.seeds[row, col]))})
else:
    n_classes = len(set(dataset.labels))
    k = st.select_slider("k-means clusters to compare with the classes", list(ks),
                         value=min(ks, key=lambda k: abs(k - n_classes)), key=K("classes_k"))
    run_seed = int(elbow.seeds[ks.index(k)])
    on, labels = kmeans_on(k, run_seed, f"{P}.classes")
    table = selection.contingency_table(list(on.labels), labels)
    st.metric("Adjusted Rand index", f"{selection.adjusted_rand_index(list(on.labels), labels):.3f}",
              help="1 for the same partition, about 0 for a random one.")
    st.plotly_chart(views.contingency_heatmap(*table), key=K("contingency"), theme=None, config=lab.CHART_CONFIG)

url.write(data_picker.url_params(P, data_picker.current_name(P)) + PARAMS,
          share.url_values(data_picker.url_params(P, data_picker.current_name(P)) + PARAMS))
