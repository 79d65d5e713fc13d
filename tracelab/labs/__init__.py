"""One folder per lab: its engine(s), its views and anything else only it uses.

``em`` (EM for Gaussian mixtures, the lessons' presets, the home page's
picture), ``kmeans`` (k-means and k-medoids), ``hierarchy`` (AGNES and DIANA),
``density`` (DBSCAN, OPTICS, HDBSCAN) and ``selection`` (choosing k). An
engine imports the records, the data and the shared checks, words and metrics;
a lab's views import the plotting kit (``tracelab.plot``), their engine and
other labs' public names, never a ``_private`` one, and never streamlit.
"""
