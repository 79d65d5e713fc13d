"""Views: a :class:`~tracelab.trace.Trace` and a step index in, Plotly figures out.

One module per lab (``em``, ``kmeans``, ``hierarchy``, ``density``,
``selection``), plus what they share: ``common`` (the component palette and
colour blending, covariance ellipses, 2-D projections, the seeded display cap,
curves with the current step marked, panel grids), ``scatter`` (the step
scatter: plane, sample, points, ellipses, means, paths, hovers and notes) and
``stepping`` (a lab's charts over every step -> the browser player's spec). A
lab's view imports these, the core and other labs' public names, never a
``_private`` one.

Views import plotly, numpy, pandas and the core, never streamlit, so each one
can be tested without a browser. Submodules are not imported here: a page
imports only the views it draws (``from tracelab.views import em``).
"""
