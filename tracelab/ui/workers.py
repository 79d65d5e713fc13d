"""Long runs in worker processes, with progress and a way to stop them.

A run holds Python's interpreter lock for most of its work. Run inside a web
server's own process, it slows every other request down with it: with one
student on the heaviest EM run, the others' page loads took 3-4 s and their
steps 1.7 s. In a worker process it takes a core of its own and leaves the
server's interpreter to the pages.

Each job holds one of the pool's slots, which is also its place in two arrays
the server and the workers share: how far the job is (written by the worker at
every step, read by the server for its progress bar) and whether it is to stop
(written by the server, read by the worker at every step). A stopped job ends
at its next step, so stopping takes one step's work; its slot is free again
once it has ended, so a stopped job never runs beside its successor.

This module never imports a web framework: the pool works as well from a
script or a test. Such a script starts its pool under ``if __name__ ==
"__main__":``, as multiprocessing asks: a worker imports the main module as
``__mp_main__`` (the app's ``app.py`` included, which therefore sets up its
pages only under that guard).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import gc
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from tracelab.labs.selection import engine as selection
from tracelab.labs.coins.engine import trace_bernoulli_em, trace_binomial_em
from tracelab.labs.density.engine import trace_dbscan, trace_optics
from tracelab.labs.em.engine import trace_em
from tracelab.labs.density.hdbscan import trace_hdbscan
from tracelab.labs.hierarchy.engine import trace_agnes, trace_diana
from tracelab.labs.kmeans.kmeans import trace_kmeans
from tracelab.labs.kmeans.kmedoids import trace_kmedoids
from tracelab.record.trace import Trace, on_each_step, stoppable

__all__ = ["TRACERS", "Pool", "Job", "Cancelled", "WorkerDied", "release_memory"]

def _binomial_em(X, **params) -> Trace:
    # the coins lab's data: one row per set of tosses, its heads and its tosses
    return trace_binomial_em(X[:, 0], X[:, 1], **params)


#: The functions that trace a run, by the name links and pages use for them.
TRACERS: dict[str, Callable[..., Trace]] = {
    "em": trace_em,
    "kmeans": trace_kmeans,
    "kmedoids": trace_kmedoids,
    "agnes": trace_agnes,
    "diana": trace_diana,
    "dbscan": trace_dbscan,
    "optics": trace_optics,
    "hdbscan": trace_hdbscan,
    "binomial_em": _binomial_em,
    "bernoulli_em": trace_bernoulli_em,
}


class Cancelled(Exception):
    """Raised in a worker at the first step after its job was cancelled."""


class WorkerDied(RuntimeError):
    """A worker process ended in the middle of a job (killed, or out of memory)."""


def release_memory() -> None:
    """Collect Python's cyclic garbage and hand the heap's free memory back to the system.

    Python frees a dropped value's memory to its own allocator, not to the system,
    so without this a process's size stays at its peak. ``malloc_trim`` is glibc's;
    elsewhere only the collection runs.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


#: Jobs longer than this hand their memory back to the system when they end.
RELEASE_AFTER_S = 0.5


# --- in the worker -------------------------------------------------------------

# The shared arrays, set once per worker by _start_worker: _PROGRESS holds (done, total, pid) per slot.
_PROGRESS = None
_CANCEL = None


def _start_worker(progress, cancel, niceness: int) -> None:
    global _PROGRESS, _CANCEL
    _PROGRESS, _CANCEL = progress, cancel
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)


def _trace(report: Callable[..., None], algorithm: str, X, params: dict[str, Any]) -> Trace:
    with on_each_step(report):
        trace = TRACERS[algorithm](X, **params)
    trace.nbytes()  # counted here, it travels with the trace: the server need not count it
    return trace


def _elbow(report: Callable[..., None], X, ks, n_init: int, seed: int) -> selection.ElbowResult:
    return selection.elbow(X, ks, n_init=n_init, seed=seed, on_progress=report)


def _criteria(report: Callable[..., None], X, ks, covariance_types, seed: int) -> selection.CriteriaResult:
    return selection.information_criteria(X, ks, covariance_types, seed=seed, on_progress=report)


def _charts(report: Callable[..., None], charts: Callable[..., Any], trace: Trace, options: dict[str, Any]) -> Any:
    # a lab view's step_charts(trace, **options); nothing else is drawn here
    module = getattr(charts, "__module__", "")
    if not (module.startswith("tracelab.labs.") and module.endswith(".views") and charts.__name__ == "step_charts"):
        raise ValueError(f"not a lab view's step charts: {charts!r}")
    return charts(trace, **options)


#: What a job may be: a name for each, so that only these functions ever run in a worker.
_TASKS: dict[str, Callable[..., Any]] = {"trace": _trace, "elbow": _elbow, "criteria": _criteria, "charts": _charts}

#: What the fork server imports once, for every worker forked from it: the algorithms
#: (with numpy and scipy) and the lab views (with plotly).
_PRELOAD = ["tracelab.ui.workers", "tracelab.labs.em.views", "tracelab.labs.kmeans.views", "tracelab.labs.hierarchy.views",
            "tracelab.labs.density.views"]


def _work(slot: int, task: str, kwargs: dict[str, Any]) -> Any:
    _PROGRESS[3 * slot + 2] = os.getpid()

    def check() -> None:
        if _CANCEL[slot]:
            raise Cancelled

    def report(done: int, total: int = 0) -> None:
        _PROGRESS[3 * slot], _PROGRESS[3 * slot + 1] = done, total
        check()

    started = time.monotonic()
    try:
        with stoppable(check):  # also between steps, where a run does long work unrecorded
            return _TASKS[task](report, **kwargs)
    finally:
        # A worker lives on between jobs: what a long job allocated goes back to the system
        # (a quick one allocated little, and would wait ~20 ms for a full collection).
        if time.monotonic() - started > RELEASE_AFTER_S:
            release_memory()


def _nothing() -> None:
    return None


# --- in the server -----------------------------------------------------------


class Job:
    """A job running (or queued) in a :class:`Pool`."""

    def __init__(self, future: concurrent.futures.Future, slot: int, pool: Pool) -> None:
        self._future, self._slot, self._pool = future, slot, pool

    def progress(self) -> tuple[int, int]:
        """``(done, total)`` as the job last reported it; total is 0 where unknown."""
        return self._pool._progress[3 * self._slot], self._pool._progress[3 * self._slot + 1]

    @property
    def pid(self) -> int | None:
        """The worker process running the job, once it has started."""
        return self._pool._progress[3 * self._slot + 2] or None

    def result(self, timeout: float | None = None) -> Any:
        """The job's result; raises what the job raised, :class:`TimeoutError` after
        ``timeout`` s, or :class:`WorkerDied` if its worker ended under it."""
        try:
            return self._future.result(timeout)
        except concurrent.futures.process.BrokenProcessPool as exc:
            self._pool._broken()
            raise WorkerDied("The run's worker process ended before the run did (most likely out of "
                             "memory); try fewer points or steps.") from exc

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> None:
        """Ask the job to stop at its next step (nothing if it has ended)."""
        if not self._future.done():
            self._pool._cancel[self._slot] = 1


class Pool:
    """A few worker processes that run jobs, one per slot, the others waiting for a slot.

    Workers start from a fork server that has imported the algorithms (where the
    platform has one; elsewhere they are spawned), never by forking the calling
    process, whose threads a fork would leave in an unknown state.

    Parameters
    ----------
    n_workers : int
        Jobs running at once; a job submitted while all run waits for a slot.
    niceness : int
        How much lower than the caller's the workers' scheduling priority is (Unix
        ``nice``): a server's pages then get the cores first, and the workers the rest.
    """

    def __init__(self, n_workers: int, niceness: int = 0) -> None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            self._context = multiprocessing.get_context("forkserver")
            self._context.set_forkserver_preload(_PRELOAD)
        else:
            self._context = multiprocessing.get_context("spawn")
        self.n_workers = n_workers
        self.niceness = niceness
        self._progress = self._context.RawArray(ctypes.c_int64, 3 * n_workers)
        self._cancel = self._context.RawArray(ctypes.c_int8, n_workers)
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(n_workers):
            self._free.put(slot)
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._jobs_since_start = 0

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ProcessPoolExecutor(
                    self.n_workers, mp_context=self._context, initializer=_start_worker,
                    initargs=(self._progress, self._cancel, self.niceness))
                self._jobs_since_start = 0
            return self._executor

    def renew(self) -> bool:
        """Replace the workers by fresh ones if no job runs or waits and some ran since they started.

        A worker's heap keeps the high-water mark of the jobs it ran, whatever
        :func:`release_memory` hands back; fresh workers start from the fork
        server's size. Returns whether the workers were replaced.
        """
        with self._lock:
            busy = self._free.qsize() < self.n_workers
            if busy or self._executor is None or not self._jobs_since_start:
                return False
            executor, self._executor = self._executor, None
        executor.shutdown(wait=False)
        self.warm()
        return True

    def _broken(self) -> None:
        # A dead worker breaks its executor for good: the next job gets a new one.
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def warm(self) -> None:
        """Start the workers now rather than at the first job (the first ones take a second or two)."""
        pool = self._pool()
        for _ in range(self.n_workers):
            pool.submit(_nothing)

    def submit(self, task: str, *, waiting: Callable[[], None] = lambda: None, wait_s: float = 0.25,
               **kwargs: Any) -> Job:
        """Run ``task`` (``"trace"``, ``"elbow"``, ``"criteria"`` or ``"charts"``) with ``kwargs`` in a worker.

        Waits for a free slot, calling ``waiting()`` every ``wait_s`` meanwhile
        (an exception it raises ends the wait, with nothing submitted).
        """
        while True:
            try:
                slot = self._free.get(timeout=wait_s)
                break
            except queue.Empty:
                waiting()
        try:
            self._cancel[slot] = 0
            self._progress[3 * slot:3 * slot + 3] = [0, 0, 0]
            self._jobs_since_start += 1
            try:
                future = self._pool().submit(_work, slot, task, kwargs)
            except concurrent.futures.process.BrokenProcessPool:
                self._broken()
                future = self._pool().submit(_work, slot, task, kwargs)
        except BaseException:
            self._free.put(slot)
            raise
        # The slot is free once the job has ended, not when its caller stops waiting.
        future.add_done_callback(lambda _: self._free.put(slot))
        return Job(future, slot, self)

    def shutdown(self) -> None:
        """End the workers (waiting for running jobs to end)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


#: At most this many workers per pool. One server's pages keep about one core busy
#: (its interpreter is one), and each worker holds ~90 MB; past a few cores, more
#: replicas serve a class better than more workers.
MAX_WORKERS = 3


def default_workers(cores: int | None = None) -> int:
    """One worker per core this process may use but one, at least one and at most
    :data:`MAX_WORKERS`: a core stays with the server's pages.

    ``cores`` defaults to the CPUs the process may run on (``sched_getaffinity``
    where there is one: a container's share, not the host's count).
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(1, min(MAX_WORKERS, cores - 1))
