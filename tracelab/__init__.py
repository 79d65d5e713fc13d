"""TraceLab: clustering algorithms recorded step by step.

The core (this package, outside ``views`` and ``ui``) depends on numpy, scipy
and pandas only: an algorithm returns a :class:`tracelab.trace.Trace` of
immutable snapshots. ``tracelab.views`` turns a trace and a step into Plotly
figures; ``tracelab.ui`` holds the Streamlit components the pages share.
"""

__version__ = "0.1.0"
