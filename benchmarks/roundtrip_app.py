"""The comparison for ``bench_browser.py``: stepping on the server, as the labs used to.

A Next button reruns a fragment that rebuilds the EM lab's two charts in Python
and sends them to the browser again. Not part of the app.
"""

import streamlit as st

from tracelab.data import datasets
from tracelab.labs.em.engine import trace_em
from tracelab.labs.em import views as em

st.set_page_config(layout="wide")


@st.cache_resource
def _trace():
    X = datasets.load("old_faithful").X
    X = (X - X.mean(0)) / X.std(0)
    return trace_em(X, 2, init="random_from_data", seed=3, tol=0, max_iter=60)


trace = _trace()
st.session_state.setdefault("step", 0)


def _next() -> None:
    st.session_state.step = (st.session_state.step + 1) % len(trace)


@st.fragment
def stepper() -> None:
    step = st.session_state.step
    st.button("Next", key="rt-next", on_click=_next)
    with st.container(key="rt-label"):
        st.markdown(f"Step {step + 1}/{len(trace)}")
    left, right = st.columns([3, 2])
    left.plotly_chart(em.scatter_2d(trace, step), key="rt-scatter", theme=None)
    right.plotly_chart(em.log_likelihood_curve(trace, step), key="rt-curve", theme=None)


stepper()
