"""Time trace_agnes against scipy's linkage, and measure an AGNES trace's memory.

Run by hand for the README figures:

    python benchmarks/bench_hierarchy.py

and in CI with a small size so it cannot rot:

    python benchmarks/bench_hierarchy.py --small

1. Speed: ``trace_agnes`` and ``scipy.cluster.hierarchy.linkage`` on the same
   ``--n`` points (ward and average linkage, euclidean), interleaved, best of
   ``--repeats`` each; prints both times and their ratio (trace / scipy) and checks
   that the linkage matrices agree. The target is a ratio of at most 2: the trace
   stores one merge per step (the labels of a step are derived on demand), so
   recording costs little beyond scipy's own work.
2. Memory: what tracemalloc sees retained by the trace (the data excluded) and the
   peak while recording, next to what storing n labels per step (int32) would take.
3. Reading: the time to get the labels of a random step, cold (the first read
   lays out the tree, O(n)) and warm (each further step: one pass over n points).

Exits with status 1 if the linkage matrices disagree, or with ``--check`` if a
target (ratio <= 2.0, a random step's labels <= 50 ms cold) is missed.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import linkage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracelab.labs.hierarchy.engine import trace_agnes  # noqa: E402

MB = 2**20


def make_data(n: int, d: int = 2, k: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(k, d))
    return centers[rng.integers(k, size=n)] + rng.normal(size=(n, d))


def _best(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_speed(X: np.ndarray, method: str, repeats: int) -> tuple[float, bool]:
    t_ours = t_sp = np.inf
    trace = Z = None
    for _ in range(repeats):  # interleaved, so drift hits both alike
        t, trace = _best(lambda: trace_agnes(X, linkage=method), 1)
        t_ours = min(t_ours, t)
        t, Z = _best(lambda: linkage(X, method), 1)
        t_sp = min(t_sp, t)
    ok = bool(np.array_equal(trace.linkage_matrix, Z))
    ratio = t_ours / t_sp
    print(f"speed: n={len(X)} {method} linkage, best of {repeats}")
    print(f"  trace_agnes ({len(trace.steps)} snapshots): {t_ours * 1e3:8.1f} ms")
    print(f"  scipy linkage:                  {t_sp * 1e3:8.1f} ms")
    print(f"  ratio trace / scipy:            {ratio:8.2f}   (target <= 2.0 at n = 2000)")
    print(f"  linkage matrices {'identical' if ok else 'DIFFER'}")
    return ratio, ok


def bench_memory(X: np.ndarray, method: str) -> float:
    n = len(X)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    trace = trace_agnes(X, linkage=method)
    retained = tracemalloc.get_traced_memory()[0] - base - trace.X.nbytes
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    table = n * n * 4
    print(f"memory: n={n} {method} linkage ({len(trace.steps)} snapshots)")
    print(f"  retained by the trace (tracemalloc, data excluded): {retained / MB:8.2f} MB")
    print(f"  peak while recording (scipy's distances included):  {peak / MB:8.2f} MB")
    print(f"  for comparison, n labels per step as int32:         {table / MB:8.2f} MB")

    rng = np.random.default_rng(1)
    steps = rng.integers(0, n, size=20)
    t = time.perf_counter()
    trace.steps[int(steps[0])].labels
    cold = time.perf_counter() - t
    warm = []
    for k in steps[1:]:
        t = time.perf_counter()
        trace.steps[int(k)].labels
        warm.append(time.perf_counter() - t)
    t = time.perf_counter()
    trace.steps[int(steps[1])].members_a
    members = time.perf_counter() - t
    print(f"  labels of a random step: {cold * 1e3:6.2f} ms cold (lays out the tree), "
          f"{np.median(warm) * 1e3:6.3f} ms warm (median of {len(warm)})")
    print(f"  members of a merged cluster: {members * 1e3:6.3f} ms")
    return cold


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", action="store_true", help="a few-seconds run for CI")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = p.parse_args(argv)
    if args.small:
        args.n, args.repeats = 300, 2
    X = make_data(args.n)
    ratios, agree = [], True
    for method in ("ward", "average"):
        ratio, ok = bench_speed(X, method, args.repeats)
        ratios.append(ratio)
        agree &= ok
    cold = bench_memory(X, "ward")
    if not agree:
        print("FAIL: the linkage matrices differ from scipy's", file=sys.stderr)
        sys.exit(1)
    if args.check and (max(ratios) > 2.0 or cold > 0.05):
        print("FAIL: a target was missed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
