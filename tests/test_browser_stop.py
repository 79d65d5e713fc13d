"""A long run in a real headless Chromium: it shows its progress, and Stop or closing the tab ends it.

The run is EM on a 200 000-row upload with 1 000 iterations and tol = 0 (about
40 s of one core): what a student can start with the widgets. The server's own
CPU time, read from /proc, tells whether it still computes.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tests.conftest import running_app
from tests.test_browser import assert_no_exception, open_page, wait_idle

pytestmark = pytest.mark.browser

SIDEBAR = '[data-testid="stSidebar"]'
RUNNING = "Running EM on 200,000 points"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_in(pid: int, seconds: float) -> float:
    """CPU seconds the process spends over the next ``seconds``."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - before


@pytest.fixture(scope="module")
def server():
    with running_app() as (base, proc):
        yield base, proc.pid


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.csv"
    X = np.random.default_rng(0).normal(size=(200_000, 2)) + np.repeat([[0, 0], [4, 4]], 100_000, axis=0)
    np.savetxt(path, X, fmt="%.4f", delimiter=",", header="a,b", comments="")
    return path


def start_long_run(page, base: str, big_csv) -> None:
    open_page(page, f"{base}/em?k=10&iter=1000&tol=0")
    page.locator(SIDEBAR).get_by_text("Upload a CSV").click()
    wait_idle(page)
    page.locator(f'{SIDEBAR} [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(big_csv))
    page.locator('[data-testid="stProgress"]').filter(has_text=RUNNING).wait_for(timeout=60_000)


def test_a_long_run_shows_progress_and_stop_ends_it_within_a_second(page, server, big_csv):
    base, pid = server
    start_long_run(page, base, big_csv)
    bar = page.locator('[data-testid="stProgress"]').filter(has_text=RUNNING)
    assert "of at most 2,001" in bar.inner_text()
    assert cpu_in(pid, 1.0) > 0.3, "the run computes while its bar is shown"

    page.get_by_role("button", name="Stop").click()
    clicked = time.monotonic()
    page.get_by_text("Stopped EM on 200,000 points").wait_for()
    assert time.monotonic() - clicked < 3
    time.sleep(max(0.0, 1.0 - (time.monotonic() - clicked)))
    assert cpu_in(pid, 1.5) < 0.4, "the server stopped computing within a second of Stop"
    # the last trace stays on screen, and the run can be started again
    page.get_by_text("Showing the last trace that ran.").wait_for()
    assert page.locator(".st-key-em-player .tl-player").count() == 1
    page.get_by_role("button", name="Run it again").wait_for()
    assert_no_exception(page)


def test_closing_the_tab_ends_a_long_run_within_a_second(browser, server, big_csv):
    base, pid = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    start_long_run(page, base, big_csv)
    assert cpu_in(pid, 1.0) > 0.3
    context.close()
    closed = time.monotonic()
    time.sleep(1.0)
    assert cpu_in(pid, 1.5) < 0.4, f"the server still computed {time.monotonic() - closed:.1f} s after the tab closed"
