"""TraceLab: step through clustering algorithms on real data.

Run with ``streamlit run app.py``. This file only sets up the pages; each lab
lives in ``pages/`` and the algorithms in ``tracelab/``.
"""

import streamlit as st

st.set_page_config(page_title="TraceLab", page_icon="🔬", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/em.py", title="EM for Gaussian mixtures", icon="🎯", url_path="em"),
]

st.navigation(PAGES).run()
