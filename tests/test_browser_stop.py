"""A long run in a real headless Chromium: it shows its progress, and Stop or closing the tab ends it.

The run is the longest EM run one request may ask for (tracelab.labs.em.engine.WORK_BUDGET):
20 000 points, k = 10, 1 000 iterations and tol = 0, about 5 s of one core. The
CPU time of the server and its worker processes, read from /proc, tells whether
it still computes.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import running_app
from tests.test_browser import assert_no_exception

pytestmark = pytest.mark.browser

RUNNING = "Running EM on 20,000 points"
LONG_RUN = "/em?data=blobs&data_n_samples=20000&k=10&iter=1000&tol=0"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of process ``pid`` and every process below it, in seconds."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stats[int(entry)] = f.read().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
    tree, grown = {pid}, True
    while grown:
        below = {p for p, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= below
        grown = bool(below)
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in tree if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_in(pid: int, seconds: float) -> float:
    """CPU seconds the process spends over the next ``seconds``."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - before


def computing(pid: int, timeout: float = 30.0) -> bool:
    """Whether the server's processes use over 0.3 of a core in some half second within ``timeout``.

    Runs compute in workers at a lower priority than the server: while other
    programs (the suite's other workers) keep both cores busy, a run may wait its
    turn for a while before it computes. On an idle machine the run takes about
    2 s, so the check looks at half seconds: Stop must come while it goes.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cpu_in(pid, 0.5) > 0.15:
            return True
    return False


@pytest.fixture(scope="module")
def server():
    with running_app() as (base, proc):
        yield base, proc.pid


def start_long_run(page, base: str, seed: int) -> None:
    # Each test its own data (``seed``): a run that one test let finish is kept by the
    # server, and another test asking for it would get it at once, without a run to stop.
    page.goto(f"{base}{LONG_RUN}&data_seed={seed}")  # not open_page: that waits for the run to end
    page.locator('[data-testid="stProgress"]').filter(has_text=RUNNING).wait_for(timeout=60_000)


def test_a_long_run_shows_progress_and_stop_ends_it_within_a_second(page, server):
    base, pid = server
    start_long_run(page, base, seed=1)
    bar = page.locator('[data-testid="stProgress"]').filter(has_text=RUNNING)
    assert "of at most 2,001" in bar.inner_text()
    assert computing(pid), "the run computes while its bar is shown"

    page.get_by_role("button", name="Stop").click()
    clicked = time.monotonic()
    page.get_by_text("Stopped EM on 20,000 points").wait_for()
    assert time.monotonic() - clicked < 3
    time.sleep(max(0.0, 1.0 - (time.monotonic() - clicked)))
    assert cpu_in(pid, 1.5) < 0.4, "the server stopped computing within a second of Stop"
    # it can be started again
    page.get_by_role("button", name="Run it again").wait_for()
    assert_no_exception(page)


def test_closing_the_tab_ends_a_long_run_within_a_second(browser, server):
    base, pid = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    start_long_run(page, base, seed=2)
    assert computing(pid), "the run computes while its bar is shown"
    context.close()
    closed = time.monotonic()
    time.sleep(1.0)
    assert cpu_in(pid, 1.5) < 0.4, f"the server still computed {time.monotonic() - closed:.1f} s after the tab closed"
