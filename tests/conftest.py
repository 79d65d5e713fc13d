"""Shared fixtures: a real Streamlit server and a real headless Chromium.

The browser tests run the app as a student would: ``streamlit run app.py`` on
a free local port, opened in Debian's Chromium driven by Playwright. Under
CI (``CI=true``) a missing Chromium or Playwright is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _require(reason: str) -> None:
    """Skip locally, but fail in CI, where the browser tests must run."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run the browser tests, but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The output of each running app server, by base URL: a failed browser test shows its end.
_SERVER_LOGS: dict[str, Any] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the shared app server gets the end of the server's output in its report."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    page = item.funcargs.get("page") if "page" in item.fixturenames else None
    if page is not None:
        # A Streamlit dialog (a lost connection, or "Bad message format" when the page
        # could not apply a message) and the page's errors say why a page stopped.
        try:
            dialog = page.evaluate(
                """() => Array.from(document.querySelectorAll('[data-testid="stDialog"]'))
                              .map((d) => d.innerText.slice(0, 1500)).join(' --- ')""")
        except Exception as exc:  # the page may have gone
            dialog = f"(could not read the page: {exc})"
        errors = "\n".join(getattr(page, "console_errors", [])[-30:])
        report.sections.append(("the page's dialogs and errors", f"dialog: {dialog or '(none)'}\n{errors or '(no errors logged)'}"))
    if "app_url" not in item.fixturenames:
        return
    base = item.funcargs.get("app_url")
    log = _SERVER_LOGS.get(base)
    if log is None:
        return
    # pread: the server writes through the same file offset, which a seek would move
    size = os.fstat(log.fileno()).st_size
    tail = os.pread(log.fileno(), min(size, 6000), max(0, size - 6000)).decode("utf-8", "replace")
    report.sections.append(("server output (its end)", tail or "(nothing)"))


@contextlib.contextmanager
def running_app(base_path: str = ""):
    """Run ``streamlit run app.py`` headless on a free port (under ``base_path``); yield its base URL and process."""
    port = _free_port()
    extra = ["--server.baseUrlPath", base_path] if base_path else []
    # The server's output goes to a file: a pipe nobody reads fills up after 64 kB,
    # and then the server (and its workers) would block on their next log line.
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.port", str(port),
            "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
            *extra,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}" + (f"/{base_path}" if base_path else "")
    _SERVER_LOGS[base] = log
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"streamlit exited early:\n{log.read()}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not become healthy within 60 s")
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        _SERVER_LOGS.pop(base, None)
        log.close()


@contextlib.contextmanager
def serve_app(base_path: str = ""):
    """:func:`running_app`'s base URL."""
    with running_app(base_path) as (base, _):
        yield base


@pytest.fixture(scope="session")
def app_url():
    """One app server for the browser tests."""
    with serve_app() as base:
        yield base


@pytest.fixture
def fresh_app_url():
    """A server no session has visited yet."""
    with serve_app() as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("Playwright for Python is not installed (pip install -r requirements-dev.txt)")
    path = chromium_path()
    if path is None:
        _require("no system Chromium was found (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    # What the page logged as an error, for a failed test's report (pytest_runtest_makereport).
    pg.console_errors = []
    pg.on("console", lambda msg: pg.console_errors.append(msg.text[:1000]) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: pg.console_errors.append(f"uncaught: {str(exc)[:1000]}"))
    yield pg
    context.close()
