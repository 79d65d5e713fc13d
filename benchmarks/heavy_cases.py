"""The heaviest things one student can ask of a shared server, each measured on a real one.

Starts ``streamlit run app.py`` on loopback and, speaking Streamlit's own
WebSocket protocol (the tabs of ``benchmarks/load_class.py``), asks for each in
turn, as a student's link or click would:

1. ``/em`` on 10 000 generated points, k = 10, 1 000 iterations, tol = 0: the
   longest EM run a link may ask for below the work budget, stepped in the
   browser's player (the player is the whole run's animation);
2. meanwhile, a second student opening ``/em`` as it comes;
3. that run's offline player (the HTML download), built here in this process
   exactly as the server builds it when the button is clicked;
4. Choosing k on a 200 000-row upload (the largest file the loader takes),
   then its Silhouette and BIC / AIC sections;
5. leaving the page while its curves compute, and during the longest run a
   link may start: the server's CPU from 1 s to 2.5 s after the tab closed;
6. ``/hierarchy`` asked for 10 000 points, then at its largest (5 000) with its
   Linkage comparison.

For each it prints the seconds from the request to the end of the run it
caused and the peak memory of the server and its worker processes (proportional
set size, sampled every 0.2 s) above what they held before it. Run it on a
quiet machine: ``python benchmarks/heavy_cases.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import load_class as lc  # noqa: E402  (the class load test's tabs and server)
from tracelab.labs.hierarchy.engine import MAX_AGNES_POINTS  # noqa: E402

EM = lc.Lab("em", "em", (), ())
HIERARCHY = lc.Lab("hierarchy", "hc", (), ())
CHOOSING_K = lc.Lab("selection", "ck", (), ())
HEAVY_EM = "data=blobs&data_n_samples=10000&k=10&iter=1000&tol=0"


class PeakMemory:
    """The server's and its workers' PSS, sampled every 0.2 s in a thread while a case runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = lc.pss_by_process(pid)
        self.start = self.peak = sum(self.before.values())
        self.at_peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            by_process = lc.pss_by_process(self.pid)
            total = sum(by_process.values())
            if total > self.peak:
                self.peak, self.at_peak = total, by_process

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def above(self) -> float:
        return self.peak - self.start

    def grew(self) -> str:
        """Which processes grew most by the peak ("server +120, worker +80")."""
        grown = {name: mb - self.before.get(name, 0.0) for name, mb in self.at_peak.items()}
        return ", ".join(f"{'a new ' if name not in self.before else ''}{name.split(' ')[0]} {mb:+.0f}"
                         for name, mb in sorted(grown.items(), key=lambda kv: -kv[1]) if abs(mb) >= 10)


def upload_csv(n_rows: int, seed: int = 0) -> bytes:
    """Two numeric columns of three loose clusters, as a student's large export might be."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 1.0], [1.5, 4.0]])
    X = centres[rng.integers(0, 3, n_rows)] + rng.normal(size=(n_rows, 2))
    return ("x,y\n" + "\n".join(f"{a:.3f},{b:.3f}" for a, b in X) + "\n").encode()


async def cpu_after_closing(tab: lc.Tab, pid: int) -> str:
    """Close ``tab``; the server's CPU (cores) in the half second before and from 1 s to 2.5 s after."""
    before = lc.cpu_s(pid)
    await asyncio.sleep(0.5)
    busy = (lc.cpu_s(pid) - before) / 0.5
    await tab.close()
    await asyncio.sleep(1.0)
    start = lc.cpu_s(pid)
    await asyncio.sleep(1.5)
    return f"{busy:.2f} cores just before, {(lc.cpu_s(pid) - start) / 1.5:.2f} cores 1–2.5 s after closing"


async def run_cases(base: str, pid: int, timeout: float, rows: int) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    # As a teacher does before class: each lab opened once, so the worker processes
    # are up and what follows measures the requests, not the server's start.
    await lc.warm_up(base, timeout)
    print(f"  warmed up: server and workers at {lc.rss_mb(pid):.0f} MB", flush=True)

    def row(case: str, seconds: float | str, mem: PeakMemory | None, note: str = "") -> None:
        took = seconds if isinstance(seconds, str) else f"{seconds:.2f} s"
        grew = mem.grew() if mem is not None else ""
        held = (f"+{mem.above:.0f} MB" + (f" ({grew})" if grew else "")) if mem is not None else "-"
        out.append((case, took, held + (f"; {note}" if note else "")))
        print(f"  {case}: {took}, {held}{'; ' + note if note else ''}", flush=True)

    # 1 and 2: the heavy EM link, and another student opening /em meanwhile.
    heavy, other = lc.Tab(base, timeout), lc.Tab(base, timeout)
    with PeakMemory(pid) as mem:
        first = asyncio.create_task(heavy.open(EM, HEAVY_EM))
        await asyncio.sleep(1.0)  # the run is under way
        other_s, _ = await other.open(EM, "")
        heavy_s, _ = await first
    row("EM, 10 000 points, k = 10, 1 000 iterations, tol = 0 (opened by link, player drawn)", heavy_s, mem,
        f"{heavy.player.n_steps} steps in the player")
    row("another student opening /em meanwhile", other_s, None)
    await other.close()
    await heavy.close()

    # 3: the offline player of that run, built as the download button builds it.
    from tracelab import datasets, trace_em
    from tracelab.labs.em import views
    from tracelab.plot.stepping import standalone_html

    data = datasets.load("blobs", n_samples=10_000)
    trace = trace_em(data.X, 10, max_iter=1000, tol=0, seed=0)
    started = time.perf_counter()
    html = standalone_html(views.step_charts(trace), title="EM")
    row("its offline player (HTML download), built in one process", time.perf_counter() - started, None,
        f"{len(html) / 1e6:.1f} MB file")

    # 4 and 5: Choosing k on the largest upload, its sections, then leaving mid-run.
    tab = lc.Tab(base, timeout)
    content = upload_csv(rows)
    await tab.open(CHOOSING_K, "", player=False)
    await tab.choose_upload()
    with PeakMemory(pid) as mem:
        seconds = await tab.upload("large.csv", content)
    row(f"Choosing k: upload {rows:,} rows ({len(content) / 1e6:.1f} MB), elbow drawn", seconds, mem)
    for section in ("Silhouette", "BIC / AIC"):
        with PeakMemory(pid) as mem:
            seconds = await tab.change(lc.Change("ck-section", (section,)))
        row(f"Choosing k on those rows: {section}", seconds, mem)
    # Leaving while the curves compute (a new seed: every fit again, about a second of work here).
    await tab.change(lc.Change("ck-section", ("Elbow",)))
    await tab.send_change(lc.Change("ck.seed", (1, 2)))
    await asyncio.sleep(0.3)
    row("Choosing k: the tab closed 0.3 s into its curves", await cpu_after_closing(tab, pid), None)

    # Leaving during the longest run a link may start (EM on 20 000 points, about 5 s of work).
    tab = lc.Tab(base, timeout)
    opening = asyncio.create_task(tab.open(EM, lc.HEAVY_LINK.split("?", 1)[1] + "&seed=11"))
    await asyncio.sleep(1.5)
    row("EM on 20 000 points, k = 10, 1 000 iterations: the tab closed 1.5 s into the run",
        await cpu_after_closing(tab, pid), None)
    with contextlib.suppress(lc.ActionError):
        await opening

    # 6: the hierarchy asked for more than it takes, then at its largest with the linkage comparison.
    tab = lc.Tab(base, timeout)
    seconds, run = await tab.open(HIERARCHY, "data=blobs&data_n_samples=10000", player=False)
    said = next((t for t in run.errors_shown + run.texts if "at most" in t), "no refusal shown")
    row("hierarchy asked for 10 000 points", seconds, None, f"the page says: {said[:170]}")
    await tab.close()
    tab = lc.Tab(base, timeout)
    with PeakMemory(pid) as mem:
        seconds, run = await tab.open(HIERARCHY, f"data=blobs&data_n_samples={MAX_AGNES_POINTS}")
    row(f"hierarchy at its largest, {MAX_AGNES_POINTS:,} points", seconds, mem,
        f"{tab.player.n_steps} steps in the player")
    with PeakMemory(pid) as mem:
        seconds = await tab.change(lc.Change("hc-section", ("Linkage comparison",)))
    row("then its Linkage comparison", seconds, mem)
    await tab.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the uploaded CSV (default 200 000)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds any one wait may take")
    parser.add_argument("--url", help="a running server on loopback instead of a new one (with --pid)")
    parser.add_argument("--pid", type=int, help="the running server's process id, with --url")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.url:
            if args.pid is None:
                parser.error("--url needs --pid (the server's memory is read from /proc)")
            base, pid = lc.require_loopback(args.url), args.pid
        else:
            base, pid = stack.enter_context(lc.started_server(None))
        lc.BASE[0] = base
        print(f"TraceLab's heaviest requests, one at a time, on {base} (pid {pid}); "
              f"server and workers at {lc.rss_mb(pid):.0f} MB before", flush=True)
        rows = asyncio.run(run_cases(base, pid, args.timeout, args.rows))
    print("\n| what one student did | time | memory above the server's before |\n|---|---|---|")
    for case, took, held in rows:
        print(f"| {case} | {took} | {held} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
