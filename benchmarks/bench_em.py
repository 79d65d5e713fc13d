"""Time trace_em against scikit-learn's GaussianMixture, and measure a trace's memory.

Run by hand for the README figures:

    python benchmarks/bench_em.py

and in CI with a small size so it cannot rot:

    python benchmarks/bench_em.py --small

1. Speed: ``trace_em`` and ``GaussianMixture.fit`` run the same iterations (tol=0)
   from the same start (explicit means, weights and covariances/precisions, so no
   k-means runs on either side), interleaved, best of ``--repeats`` each; the
   script prints both times and their ratio (trace_em / scikit-learn) and checks
   that both ended at the same parameters.
2. Memory: a trace of ``--mem-n`` points, k components and ``--mem-iter``
   iterations; prints the bytes its snapshots hold (summed array sizes, the data
   excluded), what tracemalloc sees retained by the trace after the run (the data
   excluded), the peak while running, and the time to read one step's
   responsibilities (cold, i.e. recomputed).

Exits with status 1 if the parameters disagree with scikit-learn's, or with
``--check`` if a target (ratio <= 1.0, memory <= 64 MB, read <= 50 ms) is missed.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracelab.labs.em import mixture  # noqa: E402
from tracelab.labs.em.engine import trace_em  # noqa: E402

MB = 2**20


def make_data(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(k, d))
    labels = rng.integers(k, size=n)
    scales = rng.uniform(0.5, 1.5, size=(k, d))
    return centers[labels] + rng.normal(size=(n, d)) * scales[labels]


def make_start(X: np.ndarray, k: int, seed: int = 1):
    """The same start for both: k data points as means, the data's covariance, equal weights."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    means = X[rng.choice(n, size=k, replace=False)]
    cov = np.cov(X.T, bias=True).reshape(d, d) + 1e-6 * np.eye(d)
    covariances = np.repeat(cov[None], k, axis=0)
    weights = np.full(k, 1.0 / k)
    return means, weights, covariances


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def bench_speed(n: int, d: int, k: int, iters: int, repeats: int) -> tuple[float, float]:
    from sklearn.mixture import GaussianMixture

    X = make_data(n, d, k)
    means, weights, covariances = make_start(X, k)
    precisions = np.linalg.inv(covariances)

    def ours():
        return trace_em(
            X, k, covariance_type="full", means_init=means, weights_init=weights,
            covariances_init=covariances, tol=0, max_iter=iters,
        )

    def sklearn():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 never converges
            return GaussianMixture(
                k, covariance_type="full", tol=0, max_iter=iters, means_init=means,
                weights_init=weights, precisions_init=precisions,
            ).fit(X)

    ours(), sklearn()  # warm up imports, BLAS threads and caches
    t_ours = t_sk = float("inf")
    for _ in range(repeats):  # interleaved, so both see the same machine state
        t, trace = best_of(ours, 1)
        t_ours = min(t_ours, t)
        t, gm = best_of(sklearn, 1)
        t_sk = min(t_sk, t)
    last = trace.steps[-1]
    err = max(
        np.abs(last.means - gm.means_).max() / np.abs(gm.means_).max(),
        np.abs(last.weights - gm.weights_).max() / np.abs(gm.weights_).max(),
        np.abs(last.covariances - gm.covariances_).max() / np.abs(gm.covariances_).max(),
    )
    print(f"speed: n={n} d={d} k={k} full covariances, {iters} iterations from the same start, "
          f"best of {repeats}")
    print(f"  trace_em (records {len(trace.steps)} snapshots): {t_ours * 1e3:8.1f} ms")
    print(f"  sklearn GaussianMixture.fit:           {t_sk * 1e3:8.1f} ms")
    print(f"  ratio trace_em / sklearn:              {t_ours / t_sk:8.2f}   (target <= 1.0, aim 0.67)")
    print(f"  parameters agree to {err:.1e} relative")
    if not err < 1e-8:
        print("  FAIL: parameters differ from scikit-learn's", file=sys.stderr)
        sys.exit(1)
    return t_ours / t_sk, err


def held_bytes(trace) -> int:
    """Bytes of all arrays the snapshots hold (shared arrays counted once), data excluded."""
    seen: set[int] = set()
    total = 0
    for step in trace.steps:
        for value in vars(step).values():
            if isinstance(value, np.ndarray) and value is not trace.X:
                base = value if value.base is None else value.base
                if id(base) not in seen:
                    seen.add(id(base))
                    total += value.nbytes
    return total


def bench_memory(n: int, d: int, k: int, iters: int) -> tuple[float, float]:
    X = make_data(n, d, k, seed=2)
    X.flags.writeable = False
    means, weights, covariances = make_start(X, k, seed=3)
    mixture._CACHE.clear()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    trace = trace_em(
        X, k, means_init=means, weights_init=weights, covariances_init=covariances,
        tol=0, max_iter=iters,
    )
    run = time.perf_counter() - t0
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    retained -= base
    peak -= base

    # Cold reads: every read recomputes from X (both caches are emptied before each).
    reads = []
    for i in (1, len(trace.steps) // 2, len(trace.steps) - 1):
        mixture._CACHE.clear()
        mixture._PREPARED.clear()
        t0 = time.perf_counter()
        r = trace.steps[i].responsibilities
        reads.append(time.perf_counter() - t0)
        assert r.shape == (n, k) and not r.flags.writeable
    t0 = time.perf_counter()
    trace.steps[-2].responsibilities  # the E step before: same parameters, a cache hit
    warm = time.perf_counter() - t0

    held = held_bytes(trace)
    print(f"memory: n={n} d={d} k={k}, {iters} iterations ({len(trace.steps)} snapshots), "
          f"run {run:.2f} s")
    print(f"  arrays held by the snapshots (data excluded): {held / MB:8.3f} MB")
    print(f"  retained after the run (tracemalloc, data excluded): {retained / MB:8.3f} MB   (limit 64 MB)")
    print(f"  peak while running (tracemalloc, data excluded): {peak / MB:8.1f} MB")
    print(f"  one step's responsibilities, cold: {max(reads) * 1e3:6.1f} ms worst of {len(reads)} "
          f"(limit 50 ms); cached: {warm * 1e6:.0f} µs")
    print(f"  the responsibility cache holds at most {mixture._CACHE_BYTES / MB:.0f} MB "
          f"(now {mixture._CACHE.nbytes / MB:.1f} MB)")
    return retained / MB, max(reads) * 1e3


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", action="store_true", help="a few-seconds run for CI")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=2)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--iters", type=int, default=40)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--mem-n", type=int, default=200_000)
    p.add_argument("--mem-iter", type=int, default=100)
    p.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = p.parse_args(argv)
    if args.small:
        args.n, args.iters, args.mem_n, args.mem_iter = 5_000, 10, 10_000, 20
    ratio, _ = bench_speed(args.n, args.d, args.k, args.iters, args.repeats)
    mem, read_ms = bench_memory(args.mem_n, args.d, args.k, args.mem_iter)
    if args.check and not (ratio <= 1.0 and mem <= 64 and read_ms <= 50):
        print("FAIL: a target was missed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
