"""Home: what TraceLab is, the lesson's hook, and a link to each lab."""

import streamlit as st

from tracelab.ui import entry
from tracelab.ui.runners import lesson_trace
from tracelab.labs.em import hook as home

entry.through_app()

st.title("TraceLab")
st.markdown(
    "**k-means makes a hard decision.** A point on the boundary between two clusters, "
    "with probabilities 0.52 / 0.48, counts exactly like one deep inside a cluster with "
    "0.99 / 0.01. **EM for Gaussian mixtures keeps that uncertainty visible**: every point "
    "belongs to every Gaussian with a responsibility, and every step of the algorithm "
    "can be watched."
)
st.markdown(
    "TraceLab runs clustering algorithms on real data and records every step, so you can "
    "step through them as on the slides, but with your own numbers: the E-step's "
    "responsibilities, the M-step's new means, covariances and weights, and the "
    "log-likelihood climbing. Upload your own CSV, or share a link that opens on the "
    "step you are talking about."
)

trace = lesson_trace()
st.plotly_chart(home.hook_figure(trace), key="home.hook", config={"displayModeBar": False})
st.caption(home.hook_caption(trace))

st.subheader("Labs")
# The lab's name as the link, what it shows beneath: a long link label is cut off, not
# wrapped, on a phone.
LABS = [
    ("pages/em.py", "EM for Gaussian mixtures", "E-steps, M-steps, ellipses and the log-likelihood",
     ":material/blur_on:"),
    ("pages/kmeans.py", "k-means and k-medoids", "hard EM: assignments, updates, and EM side by side",
     ":material/hub:"),
    ("pages/hierarchy.py", "Hierarchical clustering", "the dendrogram grows merge by merge; cut it anywhere",
     ":material/account_tree:"),
    ("pages/density.py", "DBSCAN, OPTICS and HDBSCAN",
     "clusters grown from density, where EM and k-means fail", ":material/grain:"),
    ("pages/selection.py", "Choosing k", "elbow, silhouette, BIC and AIC, each point a link to its run",
     ":material/query_stats:"),
    ("pages/coins.py", "EM for coins and binary images",
     "the two coins of Do & Batzoglou, single tosses, and handwritten digits as Bernoulli mixtures",
     ":material/toll:"),
]
for page, name, what, icon in LABS:
    st.page_link(page, label=name, icon=icon)
    st.caption(what)
