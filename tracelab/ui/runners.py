"""Cached runs of the algorithms.

A trace is computed once per algorithm, data digest and parameters for the
whole server (``st.cache_data``), so thirty students opening one shared link
compute it once. Each session then keeps the trace it is looking at in session
state, so stepping through it does not unpickle the cached copy on every click.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import streamlit as st

from tracelab import lessons, selection
from tracelab.data import Dataset
from tracelab.density import trace_dbscan, trace_optics
from tracelab.gmm import trace_em
from tracelab.hdbscan_trace import trace_hdbscan
from tracelab.hierarchy import trace_agnes, trace_diana
from tracelab.kmeans import trace_kmeans
from tracelab.kmedoids import trace_kmedoids
from tracelab.trace import Trace
from tracelab.views.stepping import StepSpec

__all__ = ["run", "em_trace", "lesson_trace", "elbow", "criteria", "step_spec", "trace_id", "ALGORITHMS"]

ALGORITHMS: dict[str, tuple[str, Callable[..., Trace]]] = {
    "em": ("EM", trace_em),
    "kmeans": ("k-means", trace_kmeans),
    "kmedoids": ("k-medoids", trace_kmedoids),
    "agnes": ("AGNES", trace_agnes),
    "diana": ("DIANA", trace_diana),
    "dbscan": ("DBSCAN", trace_dbscan),
    "optics": ("OPTICS", trace_optics),
    "hdbscan": ("HDBSCAN", trace_hdbscan),
}


@st.cache_data(max_entries=128, show_spinner=False)
def _run(algorithm: str, _dataset: Dataset, digest: str, params: tuple[tuple[str, Any], ...]) -> Trace:
    # The digest stands in for the data in the cache key: hashing X itself on
    # every rerun would cost more than the lookup saves.
    return ALGORITHMS[algorithm][1](_dataset.X, **dict(params))


def run(algorithm: str, dataset: Dataset, params: dict[str, Any], *, slot: str) -> Trace:
    """The trace of ``algorithm`` on ``dataset`` under ``params``.

    Parameters
    ----------
    algorithm : str
        A key of :data:`ALGORITHMS`.
    dataset : Dataset
    params : dict
        Keyword arguments of the algorithm's ``trace_*`` function, with hashable values.
    slot : str
        Which of this session's views the trace is for; each keeps its own.

    Raises
    ------
    ValueError
        What the algorithm refuses, with its message.
    """
    key = (algorithm, dataset.digest, tuple(sorted(params.items())))
    memo_key = f"_trace_memo.{slot}"
    memo = st.session_state.get(memo_key)
    if memo is not None and memo[0] == key:
        return memo[1]
    # A long run shows a spinner with the time spent so far; a server-cache hit returns at once.
    with st.spinner(
        f"Running {ALGORITHMS[algorithm][0]} on {dataset.n_samples} points…",
        show_time=True,
    ):
        trace = _run(algorithm, dataset, dataset.digest, key[2])
    st.session_state[memo_key] = (key, trace)
    return trace


def em_trace(dataset: Dataset, params: dict[str, Any], *, slot: str = "em") -> Trace:
    """The EM trace of ``dataset`` under ``params`` (keyword arguments of ``trace_em``)."""
    return run("em", dataset, params, slot=slot)


def lesson_trace() -> Trace:
    """The home page's run: EM on Old Faithful's eruption lengths (:data:`tracelab.lessons.HOOK`)."""
    preset = lessons.HOOK
    return em_trace(preset.data(), dict(preset.params), slot="lesson")


# Results of many fits (the choosing-k lab), shared by every session. Not st.cache_data:
# a progress bar cannot be updated from inside a cached function, and its updates are
# also what lets a "Stop" click end a long run. The results hold per-k numbers only,
# never data rows, and are immutable.
_RESULTS: OrderedDict[tuple, Any] = OrderedDict()
_RESULTS_LOCK = threading.Lock()
_MAX_RESULTS = 32


def _remembered(key: tuple, compute: Callable[[], Any]) -> Any:
    with _RESULTS_LOCK:
        if key in _RESULTS:
            _RESULTS.move_to_end(key)
            return _RESULTS[key]
    result = compute()
    with _RESULTS_LOCK:
        _RESULTS[key] = result
        while len(_RESULTS) > _MAX_RESULTS:
            _RESULTS.popitem(last=False)
    return result


def _with_progress(what: str, run: Callable[[Callable[[int, int], None]], Any]) -> Any:
    bar = st.progress(0.0, text=f"{what}…")

    def report(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{what}: {done} of {total} fits")

    try:
        return run(report)
    finally:
        bar.empty()


def elbow(dataset: Dataset, ks: tuple[int, ...], *, n_init: int, seed: int) -> selection.ElbowResult:
    """k-means inertia per k (best of ``n_init`` restarts), with a progress bar on a miss."""
    key = ("elbow", dataset.digest, ks, n_init, seed)
    return _remembered(key, lambda: _with_progress(
        "k-means for every k",
        lambda report: selection.elbow(dataset.X, ks, n_init=n_init, seed=seed, on_progress=report),
    ))


def criteria(dataset: Dataset, ks: tuple[int, ...], covariance_types: tuple[str, ...], *,
             seed: int) -> selection.CriteriaResult:
    """BIC and AIC of Gaussian mixtures per k and covariance type, with a progress bar on a miss."""
    key = ("criteria", dataset.digest, ks, covariance_types, seed)
    return _remembered(key, lambda: _with_progress(
        "EM for every k and covariance type",
        lambda report: selection.information_criteria(
            dataset.X, ks, covariance_types, seed=seed, on_progress=report),
    ))


def trace_id(trace: Trace) -> str:
    """A short digest naming a trace: its algorithm, data, parameters and outcome."""
    h = hashlib.sha1()
    for part in (trace.algorithm, trace.data_digest, len(trace), trace.n_iter, trace.message):
        h.update(repr(part).encode())
    h.update(pickle.dumps(trace.params, protocol=5))
    return h.hexdigest()


# The players' step charts, shared by every session: thirty students on one link
# draw its steps once. At most MAX_SPEC_BYTES each (tracelab.views.stepping).
_SPECS: OrderedDict[tuple, StepSpec] = OrderedDict()
_SPECS_LOCK = threading.Lock()
_MAX_SPECS = 16


def step_spec(trace: Trace, options: tuple, build: Callable[[], StepSpec]) -> tuple[tuple, StepSpec]:
    """The player's step charts for ``trace`` under the view ``options``, built once per server.

    Returns
    -------
    spec_id, spec
        ``spec_id`` names the spec for :func:`tracelab.ui.player.player`.
    """
    key = (trace_id(trace), options)
    with _SPECS_LOCK:
        spec = _SPECS.get(key)
        if spec is not None:
            _SPECS.move_to_end(key)
            return key, spec
    with st.spinner(f"Drawing {len(trace)} steps…", show_time=True):
        spec = build()
    with _SPECS_LOCK:
        _SPECS[key] = spec
        while len(_SPECS) > _MAX_SPECS:
            _SPECS.popitem(last=False)
    return key, spec
