"""Stepping in a real browser: how fast the chart and Python's text follow a click, and what travels.

Starts the app (``streamlit run app.py``) and, for comparison, a lean page that
steps on the server the way the labs used to (``benchmarks/roundtrip_app.py``:
a Next button and the same two EM charts rebuilt in Python on every click).
Drives Debian's headless Chromium through Playwright and prints, per lab:

- Next → chart: median ms from the click until the player's first chart has
  the next step's data drawn and a frame painted;
- Next → Python: median ms until the lab's step-dependent text (its tables'
  heading, rendered by Python) names the new step;
- Play: steps drawn per second at the fastest speed, over ~3 s (or to the end);
- bytes received over the WebSocket per click, and the spec's size;
- then another student's k-means page, idle and while a page opened just before
  runs the heaviest EM run one request may ask for: the server's side of its
  load and its median Next → Python.

Run: ``python benchmarks/bench_browser.py`` (``--clicks 12``; ``--small`` for a
quick check with fewer clicks and labs; ``--only k-means`` for some runs). Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

# (name, lab prefix, path and query)
RUNS = [
    ("EM, default", "em", "/em"),
    ("EM, 121 steps", "em", "/em?init=random_from_data&seed=3&tol=0&iter=60"),
    ("k-means, default", "km", "/kmeans"),
    ("hierarchy, default", "hc", "/hierarchy"),
    ("DBSCAN, default", "db", "/density"),
    ("OPTICS", "db", "/density?algo=optics"),
    ("HDBSCAN", "db", "/density?algo=hdbscan"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(script: str):
    """``streamlit run script`` on a free loopback port; yields the base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"{script} did not start within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


class Bytes:
    """Counts bytes received over the page's WebSockets."""

    def __init__(self, page):
        self.n = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload) -> None:
        self.n += len(payload)


def _wait_idle(page, timeout=60_000) -> None:
    page.wait_for_selector("[data-test-script-state=notRunning]", timeout=timeout, state="attached")
    page.wait_for_timeout(300)


_CLICK_AND_TIME = """([lab, step]) => new Promise((resolve) => {
  const root = document.querySelector(`.st-key-${lab}-player .tl-player`);
  const t0 = performance.now();
  let chart = null, text = null;
  const done = () => { if (chart !== null && text !== null) { obs.disconnect(); resolve([chart, text]); } };
  root.addEventListener("tracelab:drawn", () => requestAnimationFrame(() => {
      chart = performance.now() - t0; done(); }), { once: true });
  const want = `step ${step}`;
  const check = () => {
    const el = document.querySelector(`.st-key-${lab}-at-step`);
    if (text === null && el && el.textContent.toLowerCase().includes(want)) { text = performance.now() - t0; done(); }
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, { subtree: true, childList: true, characterData: true });
  root.querySelector(".tl-next").click();
  setTimeout(() => { obs.disconnect(); resolve([chart, text]); }, 10000);
})"""


_PLAY = """(lab) => new Promise((resolve) => {
  const root = document.querySelector(`.st-key-${lab}-player .tl-player`);
  const start = Number(root.dataset.step);
  const n = Number(root.dataset.nSteps);
  let t0 = null, last = null, steps = 0;
  const drawn = () => {
    const s = Number(root.querySelector('.tl-chart[data-chart="0"]').dataset.drawnStep);
    if (s > start) { steps = s - start; last = performance.now(); }
    if (s >= n) finish();
  };
  const finish = () => { root.removeEventListener("tracelab:drawn", drawn); resolve([steps, (last - t0) / 1000]); };
  root.addEventListener("tracelab:drawn", drawn);
  t0 = performance.now();
  root.querySelector(".tl-play").click();
  setTimeout(finish, 3000);
})"""


def _first(page, lab: str) -> None:
    first = page.locator(f".st-key-{lab}-player .tl-first")
    if not first.is_disabled():
        first.click()


def measure_lab(page, base: str, lab: str, path: str, clicks: int) -> dict:
    counter = Bytes(page)
    page.goto(base + path)
    _wait_idle(page)
    page.wait_for_selector(f".st-key-{lab}-player .tl-player[data-drawn-step]", timeout=60_000)
    box = page.locator(f".st-key-{lab}-player .tl-player")
    spec_bytes = int(box.get_attribute("data-spec-bytes") or 0)
    n_steps = int(box.get_attribute("data-n-steps") or 0)
    _first(page, lab)
    _wait_idle(page)
    charts, texts, sent = [], [], []
    for _ in range(min(clicks, max(n_steps - 1, 0))):
        step = int(box.get_attribute("data-step")) + 1
        before = counter.n
        chart, text = page.evaluate(_CLICK_AND_TIME, [lab, step])
        _wait_idle(page)
        if chart is not None:
            charts.append(chart)
        if text is not None:
            texts.append(text)
        sent.append(counter.n - before)
    # Play at the fastest speed for ~3 s from the start (or to the end of a short run):
    # steps whose first chart was drawn, per second.
    _first(page, lab)
    _wait_idle(page)
    page.locator(f".st-key-{lab}-player .tl-speed").select_option("20")
    played, elapsed = page.evaluate(_PLAY, lab)
    if page.locator(f".st-key-{lab}-player .tl-play").inner_text() == "Pause":
        page.locator(f".st-key-{lab}-player .tl-play").click()
    return {
        "chart_ms": statistics.median(charts) if charts else float("nan"),
        "text_ms": statistics.median(texts) if texts else float("nan"),
        "play": played / elapsed if played else float("nan"),
        "bytes_per_click": statistics.median(sent) if sent else float("nan"),
        "spec_bytes": spec_bytes,
        "n_steps": n_steps,
    }


def measure_round_trip(page, base: str, clicks: int) -> float:
    """Median ms from a Next click until the server-drawn chart shows the next step."""
    page.goto(base)
    _wait_idle(page)
    times = []
    for _ in range(clicks):
        before = page.locator(".st-key-rt-label").inner_text()
        t0 = time.perf_counter()
        page.locator(".st-key-rt-next button").click()
        page.wait_for_function(
            """(before) => { const el = document.querySelector('.st-key-rt-label');
               const gd = document.querySelector('.js-plotly-plot');
               if (!el || el.innerText === before || !gd || !gd.layout || !gd.layout.title) return false;
               const n = el.innerText.split(' ')[1].split('/')[0];
               return String(gd.layout.title.text || '').startsWith('Step ' + n + ' '); }""",
            arg=before, timeout=10_000,
        )
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        times.append((time.perf_counter() - t0) * 1000)
        _wait_idle(page)
    return statistics.median(times)


#: The longest run one request may ask for (tracelab.labs.em.engine.WORK_BUDGET); a new seed each time, so it is computed.
HEAVY = "/em?data=blobs&data_n_samples=20000&k=10&iter=1000&tol=0&seed={seed}"


def measure_neighbour(browser, base: str, clicks: int, seed: int) -> tuple[float, float]:
    """Another student's k-means page: server-side load (s) and median Next → Python (ms).

    The load is timed on the WebSocket, from the page's first message to the
    server's last before the page is idle (what the server adds, not the
    browser's own parsing). With ``seed``, a page opened just before runs the
    heaviest EM run meanwhile.
    """
    heavy = None
    if seed:
        heavy = browser.new_page(viewport={"width": 1024, "height": 800})
        heavy.goto(base + HEAVY.format(seed=seed))
        heavy.wait_for_selector("[data-testid=stProgress]", timeout=60_000)  # the run is going
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    cdp = page.context.new_cdp_session(page)
    frames: list[tuple[str, float]] = []
    cdp.on("Network.webSocketFrameSent", lambda e: frames.append(("sent", e["timestamp"])))
    cdp.on("Network.webSocketFrameReceived", lambda e: frames.append(("received", e["timestamp"])))
    cdp.send("Network.enable")
    page.goto(base + "/kmeans")
    page.wait_for_selector(".st-key-km-player .tl-player[data-drawn-step]", timeout=60_000)
    _wait_idle(page)
    sent = [t for kind, t in frames if kind == "sent"]
    received = [t for kind, t in frames if kind == "received"]
    load = received[-1] - sent[0]
    box = page.locator(".st-key-km-player .tl-player")
    texts = []
    for _ in range(clicks):
        step = int(box.get_attribute("data-step")) + 1
        _chart, text = page.evaluate(_CLICK_AND_TIME, ["km", step])
        _wait_idle(page)
        if text is not None:
            texts.append(text)
    still_running = heavy is not None and heavy.locator("[data-testid=stProgress]").count() > 0
    page.close()
    if heavy is not None:
        heavy.close()
    if heavy is not None and not still_running:
        print("  (the heavy run ended before the last click)")
    return load, statistics.median(texts) if texts else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clicks", type=int, default=12)
    ap.add_argument("--small", action="store_true", help="fewer clicks and only the EM lab")
    ap.add_argument("--only", default="", help="only the runs whose name contains this, e.g. 'hierarchy'")
    args = ap.parse_args()
    clicks = 4 if args.small else args.clicks
    runs = [r for r in (RUNS[:1] if args.small else RUNS) if args.only in r[0]]

    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        with serve("benchmarks/roundtrip_app.py") as base:
            round_trip = measure_round_trip(page, base, clicks)
        print(f"server round trip (Next button + the two EM charts rebuilt in Python): median {round_trip:.0f} ms")
        print()
        header = f"{'run':<20} {'steps':>5} {'Next→chart':>11} {'ratio':>6} {'Next→Python':>12} {'Play':>9} {'KB/click':>9} {'spec':>9}"
        print(header)
        print("-" * len(header))
        with serve("app.py") as base:
            for name, lab, path in runs:
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                r = measure_lab(page, base, lab, path, clicks)
                page.close()
                print(
                    f"{name:<20} {r['n_steps']:>5} {r['chart_ms']:>8.0f} ms {r['chart_ms'] / round_trip:>6.2f} "
                    f"{r['text_ms']:>9.0f} ms {r['play']:>5.1f} st/s {r['bytes_per_click'] / 1024:>6.1f} KB "
                    f"{r['spec_bytes'] / 1e6:>6.2f} MB"
                )
            if not args.small and not args.only:
                print()
                for label, seed in (("idle server", 0), ("while another page runs the heaviest EM run", 1)):
                    load, text = measure_neighbour(browser, base, min(clicks, 6), seed)
                    print(f"k-means page, {label}: server-side load {load:.2f} s, Next→Python {text:.0f} ms median")
        browser.close()
    print("\ntargets: Next→chart ≤ 80 ms median (EM); Next→Python ≤ 200 ms; Play ≥ 8 steps/s; ≤ 20 KB per click;")
    print("while the heaviest run goes, another page loads in ≤ 3 s and its step-dependent text follows in ≤ 500 ms")


if __name__ == "__main__":
    main()
