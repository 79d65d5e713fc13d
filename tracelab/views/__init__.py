"""Views: a :class:`~tracelab.trace.Trace` and a step index in, Plotly figures out.

One module per lab (``em``, ...), plus ``common`` for what they share: the
component palette and colour blending, covariance ellipses, 2-D projections,
the seeded display cap and a curve with the current step marked.

Views import plotly, numpy, pandas and the core, never streamlit, so each one
can be tested without a browser. Submodules are not imported here: a page
imports only the views it draws (``from tracelab.views import em``).
"""
