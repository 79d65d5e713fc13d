"""Runs in worker processes: the same traces as in the caller, progress, Stop within a step, slots."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from tracelab.data import datasets
from tracelab.labs.em import engine as gmm
from tracelab.labs.selection import engine as selection
from tracelab.ui import workers


@pytest.fixture(scope="module")
def pool():
    pool = workers.Pool(1)
    yield pool
    pool.shutdown()


def long_em_params() -> dict:
    # 20 000 points, k = 10 and no tolerance: seconds of work, thousands of steps
    return dict(X=np.random.default_rng(0).normal(size=(20_000, 2)),
                params=dict(n_components=10, seed=0, max_iter=1000, tol=0.0))


def test_a_worker_records_the_trace_the_caller_would_frozen_as_ever(pool):
    X = datasets.load("old_faithful").standardized().X
    trace = pool.submit("trace", algorithm="em", X=X, params=dict(n_components=3, seed=1)).result(60)
    assert trace == gmm.trace_em(X, 3, seed=1)
    assert not trace.steps[-1].means.flags.writeable


def test_a_worker_runs_the_choosing_k_fits_as_the_caller_would(pool):
    X = datasets.load("old_faithful").standardized().X
    result = pool.submit("elbow", X=X, ks=(1, 2, 3), n_init=2, seed=0).result(60)
    np.testing.assert_array_equal(result.inertia, selection.elbow(X, (1, 2, 3), n_init=2, seed=0).inertia)


def test_what_the_algorithm_refuses_reaches_the_caller_with_its_message(pool):
    X = datasets.load("old_faithful").standardized().X
    with pytest.raises(ValueError, match="n_components"):
        pool.submit("trace", algorithm="em", X=X, params=dict(n_components=0)).result(60)


def test_a_running_job_reports_its_steps_and_a_cancelled_one_ends_at_its_next_step(pool):
    job = pool.submit("trace", algorithm="em", **long_em_params())
    deadline = time.monotonic() + 30
    while job.progress()[0] < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    first = job.progress()[0]
    time.sleep(0.3)
    assert job.progress()[0] > first >= 20, "the step count grows while the job runs"
    job.cancel()
    # Read after the cancel: once the flag is set, the worker reports at most one more step.
    at_cancel = job.progress()[0]
    with pytest.raises(workers.Cancelled):
        job.result(30)
    # Counted in steps, not seconds: the worker yields its core to other programs.
    assert job.progress()[0] - at_cancel <= 1, "the job ended at its next step"


def test_a_job_past_the_workers_waits_for_a_slot_and_says_so(pool):
    first = pool.submit("trace", algorithm="em", **long_em_params())
    waited = []

    def waiting():
        waited.append(time.monotonic())
        if len(waited) == 3:
            first.cancel()

    X = datasets.load("old_faithful").standardized().X
    second = pool.submit("trace", algorithm="em", X=X, params=dict(n_components=2, seed=0),
                         waiting=waiting, wait_s=0.1)
    assert len(waited) >= 3 and first.done(), "it was submitted only once the first job had ended"
    assert len(second.result(60)) > 1
    again = pool.submit("trace", algorithm="em", X=X, params=dict(n_components=2, seed=0),
                        waiting=lambda: waited.append("again"))
    again.result(60)
    assert waited[-1] != "again", "a free slot is taken at once"


def test_a_worker_killed_under_a_job_says_so_and_the_next_job_gets_a_new_one():
    pool = workers.Pool(1)
    try:
        job = pool.submit("trace", algorithm="em", **long_em_params())
        while job.progress()[0] < 5:
            time.sleep(0.05)
        assert job.pid not in (None, os.getpid())
        os.kill(job.pid, signal.SIGKILL)
        with pytest.raises(workers.WorkerDied, match="ended before the run did"):
            job.result(30)
        X = datasets.load("old_faithful").standardized().X
        assert len(pool.submit("trace", algorithm="em", X=X, params=dict(n_components=2, seed=0)).result(60)) > 1
    finally:
        pool.shutdown()


def test_idle_workers_are_renewed_and_busy_ones_are_not():
    pool = workers.Pool(1)
    try:
        X = datasets.load("old_faithful").standardized().X
        first = pool.submit("trace", algorithm="em", X=X, params=dict(n_components=2, seed=0))
        first.result(60)
        old_pid = first.pid
        long_job = pool.submit("trace", algorithm="em", **long_em_params())
        assert not pool.renew(), "a running job keeps its worker"
        long_job.cancel()
        with pytest.raises(workers.Cancelled):
            long_job.result(5)
        deadline = time.monotonic() + 5
        while not pool.renew():
            assert time.monotonic() < deadline, "an idle pool that ran jobs is renewed"
            time.sleep(0.05)
        assert not pool.renew(), "fresh workers that ran nothing are kept"
        job = pool.submit("trace", algorithm="em", X=X, params=dict(n_components=2, seed=0))
        assert job.result(60) == first.result() and job.pid != old_pid
    finally:
        pool.shutdown()


def test_workers_run_at_the_priority_they_were_given():
    pool = workers.Pool(1, niceness=7)
    try:
        X = datasets.load("old_faithful").standardized().X
        job = pool.submit("trace", algorithm="em", X=X, params=dict(n_components=2, seed=0))
        job.result(60)
        with open(f"/proc/{job.pid}/stat") as f:
            nice = int(f.read().rsplit(")", 1)[1].split()[16])
        assert nice == os.nice(0) + 7
    finally:
        pool.shutdown()


def test_a_core_stays_with_the_server_and_a_big_host_gets_a_few_workers():
    assert [workers.default_workers(cores) for cores in (1, 2, 3, 4, 64)] == [1, 1, 2, 3, workers.MAX_WORKERS]
    assert workers.MAX_WORKERS == 3
    assert 1 <= workers.default_workers() <= workers.MAX_WORKERS


def test_workers_importing_the_app_as_their_main_module_do_not_set_up_pages(monkeypatch):
    # multiprocessing runs the parent's main script in every new worker as "__mp_main__".
    import runpy

    import streamlit as st

    calls = []
    for name in ("set_page_config", "Page", "navigation"):
        monkeypatch.setattr(st, name, lambda *a, _name=name, **k: calls.append(_name))
    app = str(Path(__file__).resolve().parent.parent / "app.py")
    runpy.run_path(app, run_name="__mp_main__")
    assert calls == []
    with pytest.raises(AttributeError):  # the stub navigation returns None: no .run()
        runpy.run_path(app, run_name="__main__")
    assert calls[:2] == ["set_page_config", "Page"] and "navigation" in calls
