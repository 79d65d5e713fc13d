"""TraceLab: clustering algorithms recorded step by step.

The core (this package, outside ``views`` and ``ui``) depends on numpy, scipy
and pandas only: an algorithm returns a :class:`Trace` of immutable snapshots.
What engines share lives in leaf modules under public names: ``arrays`` (frozen
arrays, digests, label dtypes), ``words`` (how messages write numbers and
lists) and ``_validate`` (the checks and their messages).
``tracelab.views`` turns a trace and a step into Plotly figures; ``tracelab.ui``
holds the Streamlit components the pages share.

>>> import tracelab
>>> trace = tracelab.trace_em(tracelab.datasets.load("old_faithful").X, n_components=2)
>>> trace.steps[-1].log_likelihood >= trace.steps[0].log_likelihood
True
"""

import importlib

__version__ = "0.1.0"

# The public names and the module each lives in. They are imported on first
# use, so that one algorithm's module failing to import (or being slow to)
# never stops the others, nor the loading of a trace file of another algorithm.
_PUBLIC = {
    "Trace": "tracelab.trace",
    "Snapshot": "tracelab.trace",
    "Dataset": "tracelab.data",
    "DataError": "tracelab.data",
    "read_csv": "tracelab.data",
    "datasets": "tracelab.datasets",
    "trace_em": "tracelab.gmm",
    "trace_kmeans": "tracelab.kmeans",
    "trace_kmedoids": "tracelab.kmedoids",
    "trace_agnes": "tracelab.hierarchy",
    "trace_diana": "tracelab.hierarchy",
    "trace_dbscan": "tracelab.density",
    "trace_optics": "tracelab.density",
    "trace_hdbscan": "tracelab.hdbscan_trace",
}

__all__ = list(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tracelab' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"tracelab.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
