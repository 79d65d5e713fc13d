"""Shared runs of the algorithms, with progress and a way to stop them.

A trace is computed once per algorithm, data digest and parameters for the
whole server, so thirty students opening one shared link compute it once. Each
session then keeps the trace it is looking at in session state. A long run
shows a progress bar and ends soon after its page is rerun, left or stopped.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
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
from tracelab.trace import Trace, on_each_step
from tracelab.views.stepping import StepSpec

__all__ = ["run", "Stopped", "em_trace", "lesson_trace", "elbow", "criteria", "step_spec", "trace_id", "ALGORITHMS"]

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


class Stopped(ValueError):
    """A run the student stopped; :func:`run` has said so on the page, with a button to run it again."""


# Traces shared by every session, computed once per algorithm, data and
# parameters: thirty students opening one link compute it once. Not
# st.cache_data, for the same reason as _RESULTS below: a run reports its progress
# to its own page while it goes. Traces are immutable, so sessions share them.
_TRACES: OrderedDict[tuple, Trace] = OrderedDict()
_MAX_TRACES = 64
# One lock per run in progress: a second session asking for the same run waits
# for the first one's trace instead of computing it again.
_RUNNING: dict[tuple, threading.Lock] = {}
_TRACES_LOCK = threading.Lock()
#: Seconds between two progress updates of a running trace. Each update is also
#: where a run ends when its page is rerun, left or stopped, so this bounds how
#: long a stopped run goes on (plus one step's work).
PROGRESS_EVERY_S = 0.25


def _expected_steps(algorithm: str, n_samples: int, params: dict[str, Any]) -> int | None:
    """At most how many steps a run records, when its parameters say (for the progress bar)."""
    if algorithm in ("em", "kmeans", "kmedoids"):
        return 2 * int(params.get("max_iter", 300 if algorithm != "em" else 100)) + 1
    if algorithm == "agnes":
        return n_samples
    return None


def run(algorithm: str, dataset: Dataset, params: dict[str, Any], *, slot: str, stoppable: bool = False) -> Trace:
    """The trace of ``algorithm`` on ``dataset`` under ``params``.

    Computed once per server (shared by every session, at most
    :data:`_MAX_TRACES` kept) and once per session view (kept in session state,
    so stepping does not look it up again). A run that takes longer than
    :data:`PROGRESS_EVERY_S` shows a progress bar (with a Stop button when
    ``stoppable``) and ends within that time, plus one step's work, when its
    page is rerun (a setting changed), left or closed, or Stop is clicked.

    Parameters
    ----------
    algorithm : str
        A key of :data:`ALGORITHMS`.
    dataset : Dataset
    params : dict
        Keyword arguments of the algorithm's ``trace_*`` function, with hashable values.
    slot : str
        Which of this session's views the trace is for; each keeps its own.
    stoppable : bool
        Offer a Stop button while the run goes; a stopped run stays stopped
        (:class:`Stopped` is raised) until "Run it again" or another setting.

    Raises
    ------
    ValueError
        What the algorithm refuses, with its message; :class:`Stopped` for a stopped run.
    """
    key = (algorithm, dataset.digest, tuple(sorted(params.items())))
    memo_key = f"_trace_memo.{slot}"
    memo = st.session_state.get(memo_key)
    if memo is not None and memo[0] == key:
        return memo[1]
    name = ALGORITHMS[algorithm][0]
    what = f"{name} on {dataset.n_samples:,} points"
    stop_key = f"_stopped.{slot}"
    if stoppable and st.session_state.get(stop_key) == key:
        message = f"Stopped {what}. Change a setting, or run it again."
        st.info(message, icon=":material/stop_circle:")
        st.button("Run it again", key=f"_run_again.{slot}", on_click=st.session_state.pop, args=(stop_key, None))
        raise Stopped(message)
    progress = _Progress(what, _expected_steps(algorithm, dataset.n_samples, params),
                         (f"_stop.{slot}", stop_key, key) if stoppable else None)
    try:
        trace = _shared_trace(key, lambda: _compute(algorithm, dataset, key[2], progress), progress)
    finally:
        progress.close()
    st.session_state[memo_key] = (key, trace)
    return trace


def _compute(algorithm: str, dataset: Dataset, params: tuple[tuple[str, Any], ...], progress: _Progress) -> Trace:
    with on_each_step(progress.steps_done):
        return ALGORITHMS[algorithm][1](dataset.X, **dict(params))


def _shared_trace(key: tuple, compute: Callable[[], Trace], progress: _Progress) -> Trace:
    """The server's trace for ``key``, computed here unless another session has it or is computing it."""
    with _TRACES_LOCK:
        if key in _TRACES:
            _TRACES.move_to_end(key)
            return _TRACES[key]
        lock = _RUNNING.setdefault(key, threading.Lock())
    # Wait in slices, updating the page: that is where a wait ends if the page goes.
    while not lock.acquire(timeout=PROGRESS_EVERY_S):
        progress.waiting()
    try:
        with _TRACES_LOCK:
            if key in _TRACES:  # the session we waited for computed it
                return _TRACES[key]
        trace = compute()
        with _TRACES_LOCK:
            _TRACES[key] = trace
            while len(_TRACES) > _MAX_TRACES:
                _TRACES.popitem(last=False)
        return trace
    finally:
        with _TRACES_LOCK:
            if _RUNNING.get(key) is lock:
                del _RUNNING[key]
        lock.release()


class _Progress:
    """A run's progress bar, drawn once the run has taken :data:`PROGRESS_EVERY_S`.

    Each update is a Streamlit call, and Streamlit ends a run at its next call
    once the page is rerun or closed: the updates are what make a run stoppable.
    """

    def __init__(self, what: str, total: int | None, stop: tuple[str, str, tuple] | None) -> None:
        self.what, self.total, self.stop = what, total, stop
        self.started = self.shown_at = time.monotonic()
        self.holder = None
        self.bar = None

    def _show(self, fraction: float, text: str) -> None:
        now = time.monotonic()
        if now - self.shown_at < PROGRESS_EVERY_S:
            return
        self.shown_at = now
        text += f" ({now - self.started:.0f} s)"
        if self.holder is None:
            self.holder = st.empty()
            with self.holder.container():
                self.bar = st.progress(fraction, text=text)
                if self.stop is not None:
                    button_key, stop_key, key = self.stop
                    st.button("Stop", key=button_key, help="Stop this run; the last trace stays.",
                              on_click=st.session_state.__setitem__, args=(stop_key, key))
        else:
            self.bar.progress(fraction, text=text)

    def steps_done(self, n_steps: int) -> None:
        if self.total:
            self._show(min(n_steps / self.total, 1.0), f"Running {self.what}: step {n_steps:,} of at most {self.total:,}")
        else:
            self._show(0.0, f"Running {self.what}: {n_steps:,} steps so far")

    def waiting(self) -> None:
        self._show(0.0, f"Waiting for {self.what}, which another page is computing")

    def close(self) -> None:
        if self.holder is not None:
            self.holder.empty()


def em_trace(dataset: Dataset, params: dict[str, Any], *, slot: str = "em", stoppable: bool = False) -> Trace:
    """The EM trace of ``dataset`` under ``params`` (keyword arguments of ``trace_em``); see :func:`run`."""
    return run("em", dataset, params, slot=slot, stoppable=stoppable)


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
