"""The step player in a real headless Chromium: every stepping lab steps in the browser.

Each lab is driven as a student drives it: the buttons, the slider, the
keys, Play and Pause, bursts of clicks, a click on a point, and the link
written after stepping, opened again in a fresh browser context.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import CHROMIUM_ARGS, chromium_path as browser_path, serve_app
from tests.test_browser import assert_no_exception, open_page, wait_idle

pytestmark = pytest.mark.browser

# (path, lab prefix)
LABS = [
    ("em", "em"),
    ("kmeans", "km"),
    ("kmeans?algo=kmedoids", "km"),
    ("hierarchy", "hc"),
    ("hierarchy?algo=diana", "hc"),
    ("density", "db"),
    ("density?algo=optics", "db"),
    ("density?algo=hdbscan", "db"),
    ("coins", "cn"),
    ("coins?mode=images", "cn"),  # single tosses step in tests/test_browser_coins.py
]


def box(page, lab: str):
    return page.locator(f".st-key-{lab}-player .tl-player")


def ctl(page, lab: str, name: str):
    return page.locator(f".st-key-{lab}-player .tl-{name}")


def shown_step(page, lab: str) -> int:
    return int(box(page, lab).get_attribute("data-step"))


def wait_drawn(page, lab: str, step: int) -> None:
    """Until the first chart shows ``step`` (or the last drawn step before it) and Python has caught up."""
    page.wait_for_function(
        """([lab, step]) => {
            const b = document.querySelector(`.st-key-${lab}-player .tl-player`);
            const py = document.querySelector(`.st-key-${lab}-at-step`);
            return b && Number(b.dataset.step) === step && b.dataset.drawnStep &&
                   Number(b.dataset.drawnStep) <= step && py && py.innerText.toLowerCase().includes(`step ${step}`);
        }""",
        arg=[lab, step],
        timeout=30_000,
    )
    wait_idle(page)


def open_lab(page, url: str, lab: str) -> None:
    open_page(page, url)
    box(page, lab).wait_for()
    page.wait_for_selector(f".st-key-{lab}-player .tl-player[data-drawn-step]", timeout=60_000)
    wait_idle(page)


def chart_title(page, lab: str) -> str:
    return page.evaluate(
        """(lab) => { const gd = document.querySelector(`.st-key-${lab}-player .tl-chart[data-chart="0"]`);
                      const t = gd.layout.title; return typeof t === 'string' ? t : (t && t.text) || ''; }""",
        lab,
    )


@pytest.mark.parametrize("path,lab", [("density?algo=hdbscan", "db"), ("hierarchy", "hc")])
def test_a_steps_rerun_keeps_the_player_it_reports_from(page, app_url, path, lab):
    # The page's first run draws the step charts (a spinner then); later runs take
    # them from the session. The player must keep its place on the page either way:
    # mounted afresh, it would parse its charts again and drop keys pressed meanwhile.
    open_lab(page, f"{app_url}/{path}", lab)
    page.evaluate("(lab) => { document.querySelector(`.st-key-${lab}-player .tl-player`).__first = true; }", lab)
    for step in (2, 3, 4):
        ctl(page, lab, "next").click()
        wait_drawn(page, lab, step)
    assert page.evaluate("(lab) => !!document.querySelector(`.st-key-${lab}-player .tl-player`).__first", lab), \
        "the player was mounted afresh by a step's rerun"


@pytest.mark.parametrize("path,lab", LABS, ids=[p for p, _ in LABS])
def test_every_lab_steps_in_the_browser(page, app_url, browser, path, lab):
    sep = "&" if "?" in path else "?"
    open_lab(page, f"{app_url}/{path}{sep}step=1", lab)
    n = int(box(page, lab).get_attribute("data-n-steps"))
    assert n >= 3, f"{path}: a run to step through"
    assert shown_step(page, lab) == 1

    # Next and Prev, and the label names the step at once.
    ctl(page, lab, "next").click()
    assert shown_step(page, lab) == 2
    assert box(page, lab).locator(".tl-label").inner_text().startswith(f"Step 2/{n}")
    wait_drawn(page, lab, 2)
    ctl(page, lab, "prev").click()
    wait_drawn(page, lab, 1)

    # The keys: → ← End Home, also after clicking on text elsewhere on the page.
    page.locator('[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"]').first.click()
    assert not page.evaluate("document.activeElement.closest('.tl-player')")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_drawn(page, lab, 3)
    page.keyboard.press("End")
    wait_drawn(page, lab, n)
    assert ctl(page, lab, "next").is_disabled() and ctl(page, lab, "last").is_disabled()
    page.keyboard.press("Home")
    wait_drawn(page, lab, 1)
    assert ctl(page, lab, "prev").is_disabled() and ctl(page, lab, "first").is_disabled()

    # The slider.
    target = min(n, 3)
    ctl(page, lab, "slider").fill(str(target))
    wait_drawn(page, lab, target)

    # Ten rapid clicks (fewer on a short run) end exactly that many steps on.
    ctl(page, lab, "first").click()
    wait_drawn(page, lab, 1)
    clicks = min(10, n - 1)
    for _ in range(clicks):
        ctl(page, lab, "next").click(delay=0)
    want = 1 + clicks
    wait_drawn(page, lab, want)
    assert shown_step(page, lab) == want

    # The chart's own title names the drawn step (a thinned long run draws an earlier one).
    drawn = int(box(page, lab).get_attribute("data-drawn-step"))
    assert re.match(rf"Step {drawn}\b", chart_title(page, lab)), chart_title(page, lab)

    # Play, then Pause: the step moves in the browser, and Python hears where it stopped.
    ctl(page, lab, "first").click()
    ctl(page, lab, "speed").select_option("10")
    ctl(page, lab, "play").click()
    if n > 8:
        page.wait_for_function(
            f"() => Number(document.querySelector('.st-key-{lab}-player .tl-player').dataset.step) >= 4")
        ctl(page, lab, "play").click()
    else:  # a short run plays to its end and stops by itself
        page.wait_for_function(
            f"() => Number(document.querySelector('.st-key-{lab}-player .tl-player').dataset.step) === {n}")
    page.wait_for_function(f"() => document.querySelector('.st-key-{lab}-player .tl-play').innerText === 'Play'")
    stopped = shown_step(page, lab)
    assert stopped >= min(4, n)
    wait_drawn(page, lab, stopped)
    page.wait_for_timeout(500)
    assert shown_step(page, lab) == stopped, "Pause stops"

    # The link after stepping reopens the same step in a fresh browser.
    page.wait_for_function(f"() => new URL(location.href).searchParams.get('step') === '{stopped}'")
    link = page.url
    assert parse_qs(urlparse(link).query)["step"] == [str(stopped)]
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        open_lab(other, link, lab)
        wait_drawn(other, lab, stopped)
        assert box(other, lab).locator(".tl-label").inner_text() == box(page, lab).locator(".tl-label").inner_text()
    finally:
        other.context.close()
    assert_no_exception(page)


def test_a_point_click_selects_it_for_the_formula(page, app_url):
    open_lab(page, f"{app_url}/em?step=2", "em")
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Responsibilities", exact=True).click()
    wait_idle(page)
    xy = page.evaluate(
        """() => { const gd = document.querySelector('.st-key-em-player .tl-chart[data-chart="0"]');
                   gd.scrollIntoView({block: 'center'});
                   const i = gd._fullData.findIndex(d => d.meta && d.meta.role === 'points');
                   const t = gd._fullData[i], fl = gd._fullLayout, r = gd.getBoundingClientRect();
                   const j = Array.prototype.indexOf.call(t.customdata, 17);
                   return [r.left + fl.xaxis._offset + fl.xaxis.d2p(t.x[j]), r.top + fl.yaxis._offset + fl.yaxis.d2p(t.y[j])]; }"""
    )
    page.mouse.click(*xy)
    page.wait_for_function(
        """() => { const el = document.querySelector('.st-key-em-at-step input[type=number]');
                   return el && el.value === '17'; }""",
        timeout=20_000,
    )
    wait_idle(page)
    # The formula is worked out for that point (KaTeX keeps its TeX source).
    page.wait_for_function(
        """() => [...document.querySelectorAll('.st-key-em-at-step annotation')]
                   .some(a => a.textContent.includes('r_{17,k}'))""", timeout=20_000)
    # The ring is drawn on the chart, around that point.
    shapes = page.evaluate(
        """() => (document.querySelector('.st-key-em-player .tl-chart[data-chart="0"]').layout.shapes || [])
                  .filter(s => s.type === 'circle' && s.xsizemode === 'pixel').length"""
    )
    assert shapes == 1


def test_a_step_hands_plotly_the_same_arrays_for_what_it_leaves_alone(page, app_url):
    """Plotly.react compares arrays by identity: arrays decoded afresh each step would redraw the whole chart."""
    open_lab(page, f"{app_url}/em", "em")
    keep = """() => { const gd = document.querySelector('.st-key-em-player .tl-chart[data-chart="0"]');
                     const i = gd.data.findIndex(d => d.meta && d.meta.role === 'points');
                     window.__points = [gd.data[i].x, gd.data[i].y, gd.data[i].customdata]; }"""
    same = """() => { const gd = document.querySelector('.st-key-em-player .tl-chart[data-chart="0"]');
                     const t = gd.data.find(d => d.meta && d.meta.role === 'points');
                     return [ArrayBuffer.isView(t.x), t.x === window.__points[0], t.y === window.__points[1],
                             t.customdata === window.__points[2]]; }"""
    page.evaluate(keep)
    for step in (2, 3, 4, 3):
        if step > shown_step(page, "em"):
            ctl(page, "em", "next").click()
        else:
            ctl(page, "em", "prev").click()
        wait_drawn(page, "em", step)
        assert page.evaluate(same) == [True, True, True, True], step
    assert_no_exception(page)


def test_a_heavy_run_opens_with_a_note_and_steps(page, app_url):
    url = f"{app_url}/em?data=blobs&data_n_samples=10000&k=10&iter=1000&tol=0&step=1"
    started = time.perf_counter()
    open_page(page, url)
    page.wait_for_selector(".st-key-em-player .tl-player[data-drawn-step]", timeout=240_000)
    opened = time.perf_counter() - started
    n = int(box(page, "em").get_attribute("data-n-steps"))
    assert n == 2001
    assert int(box(page, "em").get_attribute("data-spec-bytes")) <= 8_000_000
    note = box(page, "em").locator(".tl-note").inner_text()
    assert "every" in note and "step" in note
    ctl(page, "em", "next").click()
    wait_drawn(page, "em", 2)
    page.keyboard.press("End")
    wait_drawn(page, "em", n)
    assert_no_exception(page)
    print(f"heavy run opened in {opened:.1f} s")


def test_plotly_js_is_fetched_once_and_cached_also_under_a_base_path(browser, tmp_path):
    with serve_app(base_path="course/tracelab") as base:
        # A browser profile on disk, as a student's browser has (private contexts cache in memory only).
        context = browser.browser_type.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=browser_path(), args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        page = context.pages[0] if context.pages else context.new_page()
        # The browser's own account of each response: over the network, or from its cache.
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        fetched = []
        cdp.on("Network.responseReceived", lambda e: fetched.append(e["response"]) if "plotly-" in e["response"]["url"] else None)
        try:
            for path, lab in [("em", "em"), ("kmeans", "km"), ("density", "db"), ("hierarchy", "hc")]:
                open_lab(page, f"{base}/{path}", lab)
                # Chromium writes a large entry to its disk cache after the download; a
                # student reads a page for longer than this before moving on.
                page.wait_for_timeout(1500)
        finally:
            context.close()
    # (A page that finds it in memory reports no response at all; a download always does.)
    assert fetched and all("/course/tracelab/app/static/plotly-" in r["url"] for r in fetched)
    network = [i for i, r in enumerate(fetched) if not (r.get("fromDiskCache") or r.get("fromMemoryCache"))]
    # The first visit downloads it (Chromium may complete its first, gzip-streamed
    # copy with a second request on the next page); from then on it is the browser's.
    assert network and network[0] == 0 and network[-1] <= 1, [(r["status"], r.get("fromDiskCache")) for r in fetched]


def test_the_offline_player_download_steps_like_the_app(page, app_url, tmp_path):
    open_lab(page, f"{app_url}/em?step=3", "em")
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Share and export", exact=True).click()
    wait_idle(page)
    with page.expect_download() as info:
        page.get_by_text("Player (HTML, works offline)").click()
    path = tmp_path / "player.html"
    info.value.save_as(path)
    assert path.stat().st_size < 8_000_000 + 6_000_000
    offline = page.context.browser.new_context(offline=True).new_page()
    try:
        offline.goto(path.as_uri())
        offline.wait_for_selector(".tl-player[data-drawn-step]", timeout=30_000)
        assert offline.locator(".tl-player").get_attribute("data-step") == "3"
        assert offline.locator(".tl-label").inner_text() == box(page, "em").locator(".tl-label").inner_text()
        offline.locator(".tl-next").click()
        offline.wait_for_function("document.querySelector('.tl-player').dataset.drawnStep === '4'")
        ctl(page, "em", "next").click()
        wait_drawn(page, "em", 4)
        assert offline.locator(".tl-label").inner_text() == box(page, "em").locator(".tl-label").inner_text()
    finally:
        offline.context.close()
