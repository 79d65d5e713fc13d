"""TraceLab: clustering algorithms recorded step by step.

``record`` (frozen arrays, snapshots, traces, the words of their messages) and
``data`` (data sets, the CSV reader, built-in data) are the base; ``labs`` holds
one folder per lab, its engine(s) beside its views; ``plot`` is the plotting kit
the views share; ``ui`` holds the Streamlit components the pages share. Engines
and records depend on numpy, scipy and pandas only (with ``_validate``, the
checks and their messages, and ``metrics``, the distances' names); an algorithm
returns a :class:`Trace` of immutable snapshots. Only ``ui`` imports streamlit.

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
    "Trace": "tracelab.record.trace",
    "Snapshot": "tracelab.record.trace",
    "Dataset": "tracelab.data",
    "DataError": "tracelab.data",
    "read_csv": "tracelab.data",
    "datasets": "tracelab.data.datasets",
    "trace_em": "tracelab.labs.em.engine",
    "trace_kmeans": "tracelab.labs.kmeans.kmeans",
    "trace_kmedoids": "tracelab.labs.kmeans.kmedoids",
    "trace_agnes": "tracelab.labs.hierarchy.engine",
    "trace_diana": "tracelab.labs.hierarchy.engine",
    "trace_dbscan": "tracelab.labs.density.engine",
    "trace_optics": "tracelab.labs.density.engine",
    "trace_hdbscan": "tracelab.labs.density.hdbscan",
    "trace_binomial_em": "tracelab.labs.coins.engine",
    "trace_bernoulli_em": "tracelab.labs.coins.engine",
}

__all__ = list(_PUBLIC)

# Where each lab's snapshot classes live: a trace file naming one imports only
# these, one by one, until the class is found.
_SNAPSHOT_MODULES = (
    "tracelab.labs.em.engine",
    "tracelab.labs.kmeans.kmeans",
    "tracelab.labs.kmeans.kmedoids",
    "tracelab.labs.hierarchy.engine",
    "tracelab.labs.density.engine",
    "tracelab.labs.density.hdbscan",
    "tracelab.labs.coins.engine",
)
importlib.import_module("tracelab.record.trace").register_snapshot_modules(*_SNAPSHOT_MODULES)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tracelab' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module.endswith(f".{name}") else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
