"""Shared runs of the algorithms, with progress and a way to stop them.

A trace is computed once per algorithm, data digest and parameters for the
whole server, so thirty students opening one shared link compute it once. Each
session then keeps the trace it is looking at in session state. Runs compute
in worker processes (:mod:`tracelab.ui.workers`), so that the server's interpreter
stays with the pages; a long run shows a progress bar and ends soon after its
page is rerun, left or stopped.
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

from tracelab.labs.density import engine as density
from tracelab.labs.density import hdbscan
from tracelab.labs.em import engine as gmm
from tracelab.labs.hierarchy import engine as hierarchy
from tracelab.labs.kmeans import kmeans, kmedoids
from tracelab.labs.em import lessons
from tracelab.labs.selection import engine as selection
from tracelab.ui import workers
from tracelab.data import Dataset
from tracelab.record.trace import Trace
from tracelab.plot.stepping import StepSpec
from tracelab.ui.workers import release_memory

__all__ = ["run", "Stopped", "TooMuch", "SharedStore", "TRACES_MAX_BYTES", "SPECS_MAX_BYTES", "MAX_IDLE_S",
           "MAX_CONCURRENT_RUNS", "release_memory",
           "em_trace", "lesson_trace", "elbow", "criteria", "step_spec", "trace_id", "ALGORITHMS"]

#: The algorithms a lab runs, by the name links use, with the name the page says and their trace function.
ALGORITHMS: dict[str, tuple[str, Callable[..., Trace]]] = {
    key: (name, workers.TRACERS[key]) for key, name in (
        ("em", "EM"), ("kmeans", "k-means"), ("kmedoids", "k-medoids"), ("agnes", "AGNES"), ("diana", "DIANA"),
        ("dbscan", "DBSCAN"), ("optics", "OPTICS"), ("hdbscan", "HDBSCAN"),
        ("binomial_em", "EM for coins"), ("bernoulli_em", "EM for binary images"))
}


class Stopped(ValueError):
    """A run the student stopped; :func:`run` has said so on the page, with a button to run it again."""


class SharedStore:
    """Values shared by every session: the ``size`` most recently used, each computed once.

    Not st.cache_data: a long computation reports its progress to its own page
    while it goes, and those updates are also where it ends when the page is
    rerun or left. The values are immutable, so sessions share them. A second
    caller asking for a value being computed waits for it instead of computing
    it again; if that computation ends without a value, the next caller computes.

    A session keeps what it shows in its own state; the store is for sharing and
    reuse, so a value nobody has asked for in ``max_idle_s`` is let go (checked
    on every call and every ``max_idle_s / 4`` by a sweeper thread), and the
    server's memory goes back down once a class has left.
    """

    def __init__(self, size: int, max_bytes: int | None = None, weigh: Callable[[Any], int] | None = None,
                 max_idle_s: float | None = None, clock: Callable[[], float] = time.monotonic,
                 release: Callable[[], None] = release_memory) -> None:
        self._size = size
        self._release = release
        self._clock = clock
        # with max_bytes, the values kept weigh at most that together (the newest is always kept)
        self._max_bytes = max_bytes
        self._weigh = weigh
        self._max_idle_s = max_idle_s
        self._values: OrderedDict[tuple, Any] = OrderedDict()  # least recently used first
        self._bytes: dict[tuple, int] = {}
        self._used: dict[tuple, float] = {}
        self._running: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    @property
    def nbytes(self) -> int:
        """What the values kept weigh together (0 without ``weigh``)."""
        with self._lock:
            return sum(self._bytes.values())

    def _drop_oldest(self) -> None:
        old, _ = self._values.popitem(last=False)
        del self._bytes[old], self._used[old]

    def sweep(self) -> int:
        """Let go of the values unused for ``max_idle_s``; how many went."""
        if self._max_idle_s is None:
            return 0
        now, dropped = self._clock(), 0
        with self._lock:
            while self._values and now - self._used[next(iter(self._values))] > self._max_idle_s:
                self._drop_oldest()
                dropped += 1
        return dropped

    def _sweep_forever(self) -> None:
        # Memory is handed back after a sweep that let values go, and after the next few:
        # the sessions that showed them close on their own clock (Streamlit's), about then.
        after = 0
        while True:
            time.sleep(self._max_idle_s / 4)
            after = 4 if self.sweep() else max(0, after - 1)
            if after:
                self._release()

    def get(self, key: tuple, compute: Callable[[], Any], *, waiting: Callable[[], None] = lambda: None) -> Any:
        """The value for ``key``; ``waiting()`` is called every :data:`PROGRESS_EVERY_S` while another computes it."""
        self.sweep()
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self._used[key] = self._clock()
                return self._values[key]
            running = self._running.setdefault(key, threading.Lock())
        # Wait in slices, updating the page: that is where a wait ends if the page goes.
        while not running.acquire(timeout=PROGRESS_EVERY_S):
            waiting()
        try:
            with self._lock:
                if key in self._values:  # the caller we waited for computed it
                    self._used[key] = self._clock()
                    return self._values[key]
            value = compute()
            weight = self._weigh(value) if self._weigh is not None else 0
            with self._lock:
                self._values[key] = value
                self._bytes[key] = weight
                self._used[key] = self._clock()
                total = sum(self._bytes.values())
                while len(self._values) > 1 and (len(self._values) > self._size or (
                        self._max_bytes is not None and total > self._max_bytes)):
                    total -= self._bytes[next(iter(self._values))]
                    self._drop_oldest()
                if self._max_idle_s is not None and self._sweeper is None:
                    self._sweeper = threading.Thread(target=self._sweep_forever, daemon=True,
                                                     name="tracelab-store-sweeper")
                    self._sweeper.start()
            return value
        finally:
            with self._lock:
                if self._running.get(key) is running:
                    del self._running[key]
            running.release()


#: Seconds a shared value (a trace, a result, step charts) stays once nobody uses it. The
#: sessions showing a value keep it in their own state meanwhile (Streamlit keeps a closed
#: tab's session two minutes, in case it comes back), so within about 2.5 minutes of a
#: class leaving, nothing is held here.
MAX_IDLE_S = 120.0

#: What the shared traces may hold together: a one-step-per-point DBSCAN run of
#: 5 000 points holds about 135 MB, an EM run of 20 000 points well under 1 MB.
TRACES_MAX_BYTES = 500_000_000
def _release_all() -> None:
    # The server's freed memory, and the workers' (fresh ones, if they are idle).
    release_memory()
    for pool in (_RUNS, _QUICK_RUNS, _CHARTS):
        pool.renew()


#: Traces by algorithm, data and parameters: thirty students opening one link compute it once.
_TRACES = SharedStore(64, TRACES_MAX_BYTES, Trace.nbytes, MAX_IDLE_S, release=_release_all)
#: Seconds between two progress updates of a running trace. Each update is also
#: where a run ends when its page is rerun, left or stopped, so this bounds how
#: long a stopped run goes on (plus one step's work).
PROGRESS_EVERY_S = 0.25


def _expected_steps(algorithm: str, n_samples: int, params: dict[str, Any]) -> int | None:
    """At most how many steps a run records, when its parameters say (for the progress bar)."""
    if algorithm in ("em", "kmeans", "kmedoids", "binomial_em", "bernoulli_em"):
        return 2 * int(params.get("max_iter", 300 if algorithm in ("kmeans", "kmedoids") else 100)) + 1
    if algorithm == "agnes":
        return n_samples
    return None


def run(algorithm: str, dataset: Dataset, params: dict[str, Any], *, slot: str, stoppable: bool = False) -> Trace:
    """The trace of ``algorithm`` on ``dataset`` under ``params``.

    Computed once per server (shared by every session, the 64 most recently
    used kept) and once per session view (kept in session state,
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
        What the algorithm refuses, with its message; :class:`Stopped` for a
        stopped run; :class:`TooMuch` for a run past its work budget (the page
        then offers a sample).
    """
    key = (algorithm, dataset.digest, tuple(sorted(params.items())))
    dataset, key = _within_budget(algorithm, dataset, params, key, slot)
    # Past the most points an O(n²) algorithm takes, its engine refuses; the page then
    # offers the largest sample it takes, as for a run past its work budget.
    cap = _MAX_POINTS[algorithm](params) if algorithm in _MAX_POINTS else None
    over = cap is not None and dataset.n_samples > cap
    sample_key = f"_sample.{slot}"
    if over and st.session_state.get(sample_key) == key:
        dataset, key = _sampled(algorithm, dataset, cap, key, "the whole data set is more than it takes")
        over = False
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
        trace = _TRACES.get(key, lambda: _compute(algorithm, dataset, key[2], progress), waiting=progress.waiting)
    except ValueError as exc:
        if not over or isinstance(exc, Stopped):
            raise
        st.error(str(exc), icon="⚠️")
        st.button(f"Run on a random sample of {cap:,} points", key=f"_take_sample.{slot}",
                  on_click=st.session_state.__setitem__, args=(sample_key, key))
        raise TooMuch(str(exc)) from None
    finally:
        progress.close()
    st.session_state[memo_key] = (key, trace)
    return trace


class TooMuch(ValueError):
    """A run past what one request may ask of the server; :func:`run` has offered a sample."""


#: The most points each algorithm whose work grows as n² takes, by its parameters.
_MAX_POINTS: dict[str, Callable[[dict[str, Any]], int]] = {
    "agnes": lambda params: hierarchy.MAX_AGNES_POINTS,
    "diana": lambda params: hierarchy.MAX_DIANA_POINTS,
    "kmedoids": lambda params: kmedoids.MAX_SAMPLES.get(params.get("method", "alternate"), min(kmedoids.MAX_SAMPLES.values())),
    "dbscan": lambda params: density.MAX_POINTS,
    "optics": lambda params: density.MAX_POINTS,
    "hdbscan": lambda params: hdbscan.MAX_POINTS,
}


def _sampled(algorithm: str, dataset: Dataset, n: int, key: tuple, why: str) -> tuple[Dataset, tuple]:
    """The seeded sample of ``n`` rows the student chose to run on, said on the page, and its run's key."""
    sample = dataset.sample(n, 0)
    st.info(f"{ALGORITHMS[algorithm][0]} runs on a random sample of {sample.n_samples:,} of the "
            f"{dataset.n_samples:,} points (seed 0), as chosen: {why}.", icon=":material/filter_alt:")
    return sample, (key[0], sample.digest, key[2])


#: Runs whose work is budgeted before they start: (module with ``work``,
#: ``max_samples`` and ``WORK_BUDGET``, the parameter naming k, the default max_iter).
_BUDGETED = {"em": (gmm, "n_components", 100), "kmeans": (kmeans, "n_clusters", 300)}


def _within_budget(algorithm: str, dataset: Dataset, params: dict[str, Any], key: tuple,
                   slot: str) -> tuple[Dataset, tuple]:
    """The data to run on (all of it, or the sample the student chose) and the run's key.

    An EM or k-means run past its module's ``WORK_BUDGET`` is not started: the
    page says why and offers the largest random sample within it (or what to lower).
    """
    if algorithm not in _BUDGETED:
        return dataset, key
    module, k_name, default_iter = _BUDGETED[algorithm]
    name = ALGORITHMS[algorithm][0]
    k, max_iter = int(params[k_name]), int(params.get("max_iter", default_iter))
    cost = module.work(dataset.n_samples, dataset.n_features, k, max_iter)
    if cost <= module.WORK_BUDGET:
        return dataset, key
    sample_key = f"_sample.{slot}"
    # the largest sample within the budget, rounded down to two significant figures
    fits = module.max_samples(dataset.n_features, k, max_iter)
    if fits >= 10:
        scale = 10 ** (len(str(fits)) - 2)
        fits = fits // scale * scale
    if st.session_state.get(sample_key) == key and fits >= 10 * k:
        return _sampled(algorithm, dataset, fits, key, "the whole data set would take too long")
    seconds = 5 * cost / module.WORK_BUDGET
    message = (f"{name} on {dataset.n_samples:,} points with {dataset.n_features} features, k = {k} and up to "
               f"{max_iter:,} iterations could take about {seconds:,.0f} s of the server, which the class "
               f"shares; one run may take about 5 s.")
    if fits >= 10 * k:
        st.warning(message + f" Run it on a random sample of {fits:,} points, or lower max_iter, k or the "
                   "number of columns.", icon=":material/timer:")
        st.button(f"Run on a random sample of {fits:,} points", key=f"_take_sample.{slot}",
                  on_click=st.session_state.__setitem__, args=(sample_key, key))
    else:
        st.warning(message + " Lower max_iter, k or the number of columns.", icon=":material/timer:")
    raise TooMuch(message)


#: Long runs computed at once, each in a worker process of its own (:mod:`tracelab.ui.workers`);
#: the others wait their turn. A core is left for the server's pages (steps, tables,
#: page loads), which stay quick while runs go.
MAX_CONCURRENT_RUNS = workers.default_workers()
#: Quick runs (most of a class's: the built-in data, a setting changed) have a worker
#: of their own, so that they never wait behind a student's 5-s run; so have the
#: step charts (at most ~2 s a build). Workers run at a lower priority than the
#: server, whose pages (a step is a ~50 ms rerun) get the cores first; long runs
#: lowest, so that a student's 5-s run gives way to the class's quick ones.
_RUNS = workers.Pool(MAX_CONCURRENT_RUNS, niceness=10)
_QUICK_RUNS = workers.Pool(1, niceness=5)
_CHARTS = workers.Pool(MAX_CONCURRENT_RUNS, niceness=5)
_RUNS.warm()
_QUICK_RUNS.warm()
_CHARTS.warm()

#: A run is quick if its counted work is at most this share of its module's budget
#: (about half a second), or, for the algorithms not budgeted, if it has at most
#: :data:`QUICK_MAX_POINTS` points (a default run takes 5-60 ms on 272 points).
QUICK_SHARE = 0.1
QUICK_MAX_POINTS = 2_000


#: Step charts of a trace with at most this many points times steps are quick to draw
#: (a default run's: 300 points, 300 steps, 0.2-1.5 s); larger ones take the ~2 s
#: their bound allows, and are drawn by the long runs' workers, so that the class's
#: charts never wait behind them.
QUICK_CHART_CELLS = 2_000 * 1_000


def _charts_are_quick(trace: Trace) -> bool:
    return trace.X is None or trace.X.shape[0] * len(trace) <= QUICK_CHART_CELLS


def _is_quick(algorithm: str, dataset: Dataset, params: dict[str, Any]) -> bool:
    if algorithm not in _BUDGETED:
        return dataset.n_samples <= QUICK_MAX_POINTS
    module, k_name, default_iter = _BUDGETED[algorithm]
    cost = module.work(dataset.n_samples, dataset.n_features, int(params[k_name]),
                       int(params.get("max_iter", default_iter)))
    return cost <= QUICK_SHARE * module.WORK_BUDGET


def in_worker(task: str, *, on_progress: Callable[[int, int], None], waiting: Callable[[], None],
              pool: workers.Pool | None = None, **kwargs: Any) -> Any:
    """Run ``task`` in a worker process (see :meth:`tracelab.ui.workers.Pool.submit`) and wait for it.

    ``waiting()`` is called every :data:`PROGRESS_EVERY_S` until a worker is
    free, then ``on_progress(done, total)`` as the job goes. Those calls are
    where Streamlit ends a script whose page was rerun, left or stopped; the job
    is then cancelled and ends at its next step.
    """
    job = (pool or _RUNS).submit(task, waiting=waiting, wait_s=PROGRESS_EVERY_S, **kwargs)
    try:
        while True:
            try:
                return job.result(PROGRESS_EVERY_S)
            except TimeoutError:
                on_progress(*job.progress())
    finally:
        job.cancel()


def _compute(algorithm: str, dataset: Dataset, params: tuple[tuple[str, Any], ...], progress: _Progress) -> Trace:
    params = dict(params)
    pool = _QUICK_RUNS if _is_quick(algorithm, dataset, params) else _RUNS
    try:
        return in_worker("trace", pool=pool, algorithm=algorithm, X=dataset.X, params=params,
                         on_progress=lambda done, total: progress.steps_done(done), waiting=progress.queued)
    except workers.WorkerDied as exc:
        raise ValueError(str(exc)) from exc


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

    def queued(self) -> None:
        self._show(0.0, f"Waiting for the server to finish other runs before {self.what}")

    def close(self) -> None:
        if self.holder is not None:
            self.holder.empty()


def em_trace(dataset: Dataset, params: dict[str, Any], *, slot: str = "em", stoppable: bool = False) -> Trace:
    """The EM trace of ``dataset`` under ``params`` (keyword arguments of ``trace_em``); see :func:`run`."""
    return run("em", dataset, params, slot=slot, stoppable=stoppable)


def lesson_trace() -> Trace:
    """The home page's run: EM on Old Faithful's eruption lengths (:data:`tracelab.labs.em.lessons.HOOK`)."""
    preset = lessons.HOOK
    return em_trace(preset.data(), dict(preset.params), slot="lesson")


#: Results of many fits (the choosing-k lab): per-k numbers only, never data rows.
_RESULTS = SharedStore(32, max_idle_s=MAX_IDLE_S)


def _with_progress(what: str, run: Callable[[Callable[[int, int], None], Callable[[], None]], Any]) -> Any:
    bar = st.progress(0.0, text=f"{what}…")

    def report(done: int, total: int) -> None:
        if total:
            bar.progress(done / total, text=f"{what}: {done} of {total} fits")

    try:
        return run(report, lambda: bar.progress(0.0, text=f"{what}: waiting for the server to finish other runs"))
    except workers.WorkerDied as exc:
        raise ValueError(str(exc)) from exc
    finally:
        bar.empty()


def elbow(dataset: Dataset, ks: tuple[int, ...], *, n_init: int, seed: int) -> selection.ElbowResult:
    """k-means inertia per k (best of ``n_init`` restarts), with a progress bar on a miss."""
    key = ("elbow", dataset.digest, ks, n_init, seed)
    return _RESULTS.get(key, lambda: _with_progress(
        "k-means for every k",
        lambda report, waiting: in_worker("elbow", X=dataset.X, ks=ks, n_init=n_init, seed=seed,
                                          on_progress=report, waiting=waiting),
    ))


def criteria(dataset: Dataset, ks: tuple[int, ...], covariance_types: tuple[str, ...], *,
             seed: int) -> selection.CriteriaResult:
    """BIC and AIC of Gaussian mixtures per k and covariance type, with a progress bar on a miss."""
    key = ("criteria", dataset.digest, ks, covariance_types, seed)
    return _RESULTS.get(key, lambda: _with_progress(
        "EM for every k and covariance type",
        lambda report, waiting: in_worker("criteria", X=dataset.X, ks=ks, covariance_types=covariance_types,
                                          seed=seed, on_progress=report, waiting=waiting),
    ))


def trace_id(trace: Trace) -> str:
    """A short digest naming a trace: its algorithm, data, parameters and outcome."""
    h = hashlib.sha1()
    for part in (trace.algorithm, trace.data_digest, len(trace), trace.n_iter, trace.message):
        h.update(repr(part).encode())
    h.update(pickle.dumps(trace.params, protocol=5))
    return h.hexdigest()


#: The players' step charts, shared by every session: thirty students on one link
#: draw its steps once. At most MAX_SPEC_BYTES each (tracelab.plot.stepping).
#: What the shared step charts may hold together: a default run's are 0.2-1.4 MB, the
#: largest 7 MB; a class on four labs changing their settings uses dozens at once.
SPECS_MAX_BYTES = 300_000_000
_SPECS = SharedStore(256, SPECS_MAX_BYTES, lambda spec: len(spec.json), MAX_IDLE_S)


def step_spec(trace: Trace, charts: Callable[..., StepSpec], options: dict[str, Any]) -> tuple[tuple, StepSpec]:
    """The player's step charts ``charts(trace, **options)``, built once per server, in a worker.

    Parameters
    ----------
    trace : Trace
    charts : callable
        A lab view's ``step_charts`` (a module-level function, which a worker process can import).
    options : dict
        Its keyword arguments besides the trace (axes, toggles, column names).

    Returns
    -------
    spec_id, spec
        ``spec_id`` names the spec for :func:`tracelab.ui.player.player`.
    """
    key = (trace_id(trace), charts.__module__,
           tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items())))
    # One place on the page in every run, drawn or not: what follows (the player) keeps
    # its place, so the browser never mounts it afresh because charts were drawn before it.
    slot = st.empty()
    # The session keeps the charts it shows (the last two: a lab and one it came from),
    # so a step never draws them again, whatever the shared store has let go.
    memo = st.session_state.setdefault("_spec_memo", OrderedDict())
    if key in memo:
        memo.move_to_end(key)
        return key, memo[key]

    def drawn() -> StepSpec:
        # A build is bounded by its ~2 s of CPU (tracelab.plot.stepping). Clearing an empty
        # placeholder while it goes changes nothing on the page, but it is a Streamlit call:
        # where Streamlit ends the script of a page that has gone or been rerun, and then
        # the build ends at its next frame.
        with slot.container():
            beat = st.empty()
            with st.spinner(f"Drawing {len(trace)} steps…", show_time=True):
                try:
                    return in_worker("charts", pool=_CHARTS if _charts_are_quick(trace) else _RUNS, charts=charts,
                                     trace=trace, options=options,
                                     on_progress=lambda done, total: beat.empty(), waiting=beat.empty)
                except workers.WorkerDied as exc:
                    raise ValueError(str(exc)) from exc

    memo[key] = _SPECS.get(key, drawn)
    while len(memo) > 2:
        memo.popitem(last=False)
    return key, memo[key]
