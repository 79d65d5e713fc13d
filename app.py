"""TraceLab: step through clustering algorithms on real data.

Run with ``streamlit run app.py``. This file only sets up the pages; each lab
lives in ``pages/`` and the algorithms in ``tracelab/``.
"""

import streamlit as st


def main() -> None:
    st.set_page_config(page_title="TraceLab", page_icon="🔬", layout="wide")
    pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/em.py", title="EM for Gaussian mixtures", icon=":material/blur_on:", url_path="em"),
        st.Page("pages/kmeans.py", title="k-means and k-medoids", icon=":material/hub:", url_path="kmeans"),
        st.Page("pages/hierarchy.py", title="Hierarchical clustering", icon=":material/account_tree:",
                url_path="hierarchy"),
        st.Page("pages/density.py", title="Density-based clustering", icon=":material/grain:", url_path="density"),
        st.Page("pages/selection.py", title="Choosing k", icon=":material/query_stats:", url_path="selection"),
        st.Page("pages/coins.py", title="EM for coins and images", icon=":material/toll:", url_path="coins"),
    ]
    st.navigation(pages).run()


# Worker processes (tracelab.ui.workers) import this file as "__mp_main__", as
# multiprocessing does with the main script; they must not set up the pages.
if __name__ == "__main__":
    main()
