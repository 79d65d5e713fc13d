"""Home: what TraceLab is, the lesson's hook, and a link to each lab."""

import streamlit as st

from tracelab.ui import entry
from tracelab.ui.runners import lesson_trace
from tracelab.views import home

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
st.page_link(
    "pages/em.py",
    label="EM for Gaussian mixtures: E-steps, M-steps, ellipses and the log-likelihood",
    icon=":material/blur_on:",
)
st.page_link(
    "pages/kmeans.py",
    label="k-means and k-medoids as hard EM: assignments, updates, and EM side by side",
    icon=":material/hub:",
)
st.page_link(
    "pages/hierarchy.py",
    label="Hierarchical clustering: the dendrogram grows merge by merge; cut it anywhere",
    icon=":material/account_tree:",
)
st.page_link(
    "pages/density.py",
    label="DBSCAN, OPTICS and HDBSCAN: clusters grown from density, where EM and k-means fail",
    icon=":material/grain:",
)
st.page_link(
    "pages/selection.py",
    label="Choosing k: elbow, silhouette, BIC and AIC, each point a link to its run",
    icon=":material/query_stats:",
)
