"""The store every session shares: bounded in count and in bytes, each value computed once."""

from __future__ import annotations

import threading
import time

import numpy as np

from tracelab.data import datasets
from tracelab.labs.density import engine as density
from tracelab.labs.em import engine as gmm
from tracelab.ui.runners import TRACES_MAX_BYTES, SharedStore


def test_the_store_keeps_the_most_recently_used_within_its_count():
    store = SharedStore(2)
    for key in ("a", "b"):
        store.get((key,), lambda key=key: key.upper())
    store.get(("a",), lambda: "recomputed")  # a is used again: b is now the oldest
    store.get(("c",), lambda: "C")
    assert store.get(("a",), lambda: "recomputed") == "A"
    assert store.get(("b",), lambda: "recomputed") == "recomputed"


def test_the_store_keeps_within_its_bytes_and_always_the_newest():
    store = SharedStore(100, max_bytes=10, weigh=len)
    store.get(("a",), lambda: "xxxx")
    store.get(("b",), lambda: "yyyy")
    assert store.nbytes == 8
    store.get(("c",), lambda: "zzzz")  # 12 bytes: the oldest goes
    assert store.nbytes == 8
    assert store.get(("a",), lambda: "gone") == "gone"
    big = store.get(("big",), lambda: "w" * 50)  # heavier than the bound alone: kept, alone
    assert big == "w" * 50 and store.nbytes == 50
    assert store.get(("c",), lambda: "gone") == "gone"


def test_a_value_being_computed_is_computed_once_for_every_caller():
    store = SharedStore(4)
    calls = []
    waited = []

    def slow():
        calls.append(1)
        time.sleep(0.6)
        return "value"

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get(("k",), slow, waiting=lambda: waited.append(1))))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["value"] * 3 and len(calls) == 1
    assert waited, "a waiting caller hears that it waits (its page updates, and may end there)"


def test_a_trace_weighs_what_its_arrays_hold():
    X = datasets.load("old_faithful").standardized().X
    trace = density.trace_dbscan(X, eps=0.3, min_samples=5)
    arrays = {}
    for step in trace.steps:
        for f in step.public_fields():
            value = getattr(step, f.name)
            if isinstance(value, np.ndarray):
                base = value
                while isinstance(base.base, np.ndarray):
                    base = base.base
                arrays[id(base)] = base.nbytes
    arrays[id(trace.X)] = trace.X.nbytes
    assert trace.nbytes() >= sum(arrays.values()) + 1024 * len(trace)
    assert trace.nbytes() < 2 * (sum(arrays.values()) + 1024 * len(trace))  # lists and tuples at 32 bytes an item
    em = gmm.trace_em(X, 2, seed=0)
    assert em.nbytes() < 200_000  # EM keeps parameters; responsibilities are computed on demand
    assert TRACES_MAX_BYTES >= 100 * 1024 * 1024


def test_values_nobody_uses_are_let_go_after_their_idle_time():
    now = [0.0]
    store = SharedStore(10, max_idle_s=60, clock=lambda: now[0])
    store.get(("old",), lambda: "a")
    now[0] = 30
    store.get(("kept",), lambda: "b")
    store.sweep()
    assert len(store) == 2
    now[0] = 61  # "old" idle for 61 s, "kept" for 31
    assert store.get(("kept",), lambda: "recomputed") == "b"  # used again: its idle time starts over
    assert len(store) == 1
    assert store.get(("old",), lambda: "recomputed") == "recomputed"
    now[0] = 122
    store.sweep()
    assert len(store) == 0


def test_a_sweeper_lets_values_go_when_nobody_calls():
    store = SharedStore(10, max_idle_s=0.2)
    store.get(("a",), lambda: "a")
    deadline = time.monotonic() + 5
    while len(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(store) == 0, "the sweeper thread let the value go with no call to the store"
