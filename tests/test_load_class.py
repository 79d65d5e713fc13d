"""The class load test (benchmarks/load_class.py) against a real server.

It speaks Streamlit's WebSocket protocol without a browser, so these tests check
that what it sends does what a browser's messages do: a reported step reaches
the lab (Python draws that step's text and writes ``step=`` into the link), and a
small class runs every action (open, step, change, upload) without an error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re

import pytest

from benchmarks import load_class
from tests.conftest import running_app

EM = load_class.LABS[0]


@pytest.fixture(scope="module")
def server():
    with running_app() as (base, proc):
        yield base, proc.pid


def in_own_thread(call):
    """Run ``call`` in a thread of its own: after Playwright's sync API this thread may hold a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def test_a_reported_step_reaches_the_lab_and_its_text_comes_back(server):
    base, _ = server

    async def visit():
        tab = load_class.Tab(base, timeout=60)
        try:
            await tab.open(EM, "data=old_faithful&k=2")
            opened = (tab.shown_step, tab.last_run.texts[:])
            await tab.step()
            await tab.step()
            return opened, tab.last_run, tab.query
        finally:
            await tab.close()

    (start, first_texts), run, query = in_own_thread(lambda: asyncio.run(visit()))
    assert start == 1
    assert "**Parameters at step 1**" in first_texts
    # The step Python drew in the fragment run the report caused, and the link it wrote.
    assert run.fragment_ids, "a step reruns the player's fragment only"
    assert "**Parameters at step 3**" in run.texts
    assert "step=3" in query.split("&")


def test_a_small_class_prints_every_action_without_error(server, capsys):
    base, pid = server
    in_own_thread(lambda: load_class.main([
        "--url", base, "--pid", str(pid), "--students", "3", "--duration", "20", "--ramp", "1",
        "--settle", "1", "--change-every", "5", "--upload-share", "1", "--no-warmup",
    ]))
    out = capsys.readouterr().out
    for action in load_class.ACTIONS:
        row = re.search(rf"^  {action} +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) ", out, re.MULTILINE)
        assert row, f"no latencies for {action}:\n{out}"
        count, p50, p95, most, errors = map(int, row.groups())
        assert count >= 1 and errors == 0, out
        assert 0 < p50 <= p95 <= most, out
    assert re.search(r"^Errors: 0 \(", out, re.MULTILINE), out
    assert re.search(r"per session, \(peak - before\) / 3 +\d+\.\d", out), out


@pytest.mark.parametrize("url", ["http://10.0.0.8:8501", "http://example.org:80", "https://127.0.0.1:8501"])
def test_only_loopback_servers_are_load_tested(url):
    with pytest.raises(SystemExit, match="refusing"):
        load_class.require_loopback(url)
    assert load_class.require_loopback("http://127.0.0.1:8501/") == "http://127.0.0.1:8501"
