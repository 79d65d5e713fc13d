"""On a phone (390 x 844): the r_ik formula fits the screen, in real headless Chromium."""

from __future__ import annotations

import pytest

from tests.test_browser import assert_no_exception, open_page

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def test_the_responsibility_formula_fits_a_phone(phone, app_url):
    open_page(phone, app_url + "/em")
    formula = phone.locator(".katex-display").first
    formula.scroll_into_view_if_needed()
    # Measured once KaTeX has typeset it in its own fonts: until they load, a
    # fallback font sets the same formula wider.
    phone.wait_for_function("""() => {
        const k = document.querySelector('.katex-display > .katex');
        // the page's phone rule has reached the formula: it is set smaller than its box's text
        return document.fonts.status === 'loaded' && k && k.querySelector('.katex-html .mtable') &&
               parseFloat(getComputedStyle(k).fontSize) < parseFloat(getComputedStyle(k.parentElement).fontSize);
    }""", timeout=20_000)
    phone.evaluate("document.fonts.ready.then(() => true)")
    phone.wait_for_timeout(200)
    # the typeset lines' width (.katex itself is a block as wide as the column)
    widths = formula.evaluate(
        "e => [e.querySelector('.katex-html .mtable').getBoundingClientRect().width,"
        " e.closest('[data-testid=stMarkdownContainer]').getBoundingClientRect().width]")
    assert 0 < widths[0] <= widths[1], f"the formula ({widths[0]:.0f} px) is wider than its column ({widths[1]:.0f} px)"
    assert "r_{0,k}" in (formula.locator("annotation").first.text_content() or "")
    assert_no_exception(phone)


# Text that is cut (an ellipsis, or clipped by overflow) is wider than its box.
CUT_TEXT = """() => {
    const cut = [];
    // On screen: a closed sidebar's controls sit left of it, squeezed to nothing.
    const seen = (el) => { const r = el.getBoundingClientRect();
                           return r.width > 0 && r.height > 0 && r.right > 0 && r.left < innerWidth; };
    const sel = 'button, [data-testid="stWidgetLabel"], [data-testid="stWidgetLabel"] p, label p, ' +
                '[data-testid="stSidebarNavLink"] span, .tl-label, [data-baseweb="select"] div, h1, h2, h3';
    for (const el of document.querySelectorAll(sel)) {
        if (!seen(el) || !el.innerText || !el.innerText.trim()) continue;
        if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'auto'
            && getComputedStyle(el).overflowX !== 'scroll') cut.push(el.innerText.trim().slice(0, 50));
    }
    // A chart title must lie within its chart.
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        if (!seen(gd)) continue;
        const box = gd.getBoundingClientRect();
        for (const t of gd.querySelectorAll('.gtitle, .annotation-text')) {
            const r = t.getBoundingClientRect();
            if (r.width && (r.left < box.left - 1 || r.right > box.right + 1)) cut.push('chart: ' + t.textContent.slice(0, 50));
        }
    }
    return cut;
}"""

LABS = [("em", "em"), ("kmeans", "km"), ("hierarchy", "hc"), ("density", "db"), ("selection", None), ("coins", "cn"),
        ("coins?mode=images", "cn")]


@pytest.mark.parametrize("path,lab", LABS, ids=[p for p, _ in LABS])
def test_nothing_is_cut_on_a_laptop_with_the_sidebar_open(browser, app_url, path, lab):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        open_page(page, f"{app_url}/{path}")
        if lab:
            page.locator(f".st-key-{lab}-player .tl-player[data-drawn-step]").wait_for(timeout=60_000)
        assert page.locator('[data-testid="stSidebar"]').is_visible(), "the sidebar is open"
        cut = page.evaluate(CUT_TEXT)
        assert not cut, f"cut at 1024 x 768 on /{path}: {cut}"
        assert_no_exception(page)
    finally:
        context.close()


CHART_HEIGHTS = """(lab) => [...document.querySelectorAll(`.st-key-${lab}-player .tl-chart`)].map(
    (gd) => [Math.round(gd.getBoundingClientRect().height), gd._fullLayout ? Math.round(gd._fullLayout.height) : 0])"""


@pytest.mark.parametrize("path,lab", [p for p in LABS if p[1]], ids=[p for p, lab in LABS if lab])
def test_on_a_phone_the_player_and_its_chart_are_on_screen_together(phone, app_url, path, lab):
    open_page(phone, f"{app_url}/{path}")
    player = phone.locator(f".st-key-{lab}-player .tl-player[data-drawn-step]")
    player.wait_for(timeout=60_000)
    bar = phone.locator(f".st-key-{lab}-player .tl-next")
    bar.scroll_into_view_if_needed()
    layout = phone.evaluate(
        """(lab) => {
            const q = (s) => document.querySelector(`.st-key-${lab}-player ${s}`).getBoundingClientRect();
            const chart = q('.tl-chart[data-chart="0"]');
            return {controls: [q('.tl-first').top, q('.tl-play').bottom, q('.tl-last').right],
                    chart: [chart.top, chart.bottom, chart.right], height: innerHeight, width: innerWidth};
        }""",
        lab,
    )
    (c_top, _, c_right), (_, g_bottom, g_right) = layout["controls"], layout["chart"]
    assert c_right <= layout["width"] and g_right <= layout["width"] + 1, layout
    # Scrolled so that the controls' top is at the top of the screen, the chart fits below them.
    assert g_bottom - c_top <= layout["height"], f"controls and chart take {g_bottom - c_top:.0f} px: {layout}"
    cut = phone.evaluate(CUT_TEXT)
    assert not cut, f"cut at 390 x 844 on /{path}: {cut}"
    # Stepping, then turning the phone, keeps every chart as tall as its figure: Plotly's
    # resize deletes the layout's height, and a chart in an auto-height box collapsed.
    for turn in ({"width": 844, "height": 390}, {"width": 390, "height": 844}):
        for _ in range(2):
            phone.locator(f".st-key-{lab}-player .tl-next").click()
            phone.wait_for_timeout(500)
        heights = phone.evaluate(CHART_HEIGHTS, lab)
        assert heights and all(box >= 200 and abs(box - plot) <= 2 for box, plot in heights), (turn, heights)
        phone.set_viewport_size(turn)
        phone.wait_for_timeout(500)
    heights = phone.evaluate(CHART_HEIGHTS, lab)
    assert all(box >= 200 and abs(box - plot) <= 2 for box, plot in heights), heights


# A chart's title, its subplot titles and its notes (annotations placed on the
# paper, not on data) must not lie on one another.
OVERLAPS = """() => {
    const clash = [];
    const seen = (r) => r.width > 0 && r.height > 0;
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        const notes = (gd.layout.annotations || []);
        const boxes = [];
        for (const t of gd.querySelectorAll('.gtitle')) boxes.push([t.textContent, t.getBoundingClientRect()]);
        for (const a of gd.querySelectorAll('.annotation')) {
            const note = notes[+a.getAttribute('data-index')];
            if (!note || note.xref !== 'paper' || note.yref !== 'paper') continue;
            const t = a.querySelector('.annotation-text');
            if (t) boxes.push([t.textContent, t.getBoundingClientRect()]);
        }
        for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const [s, a] = boxes[i], [u, b] = boxes[j];
            if (!seen(a) || !seen(b)) continue;
            const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
            const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
            if (w > 1 && h > 1) clash.push(`${s.slice(0, 40)} | ${u.slice(0, 40)}`);
        }
    }
    return clash;
}"""

# Pages whose charts hold several panels, and how many charts each draws.
PANELS = {
    "em?preset=bishop&section=textbook-figure": 3,
    "kmeans?section=compare-with-em": 3,
    "kmeans?section=sigma2-to-0-em-hardens-into-k-means": 4,
    "hierarchy?section=linkage-comparison": 3,
    "density?section=side-by-side-with-em-and-k-means": 5,
    "density?algo=optics": 5,
    "selection?section=bic-aic": 1,
}


@pytest.mark.parametrize("path", PANELS)
def test_on_a_phone_subplot_titles_do_not_overlap(phone, app_url, path):
    open_page(phone, f"{app_url}/{path}")
    # Every chart drawn (the player's in the browser, the section's by Streamlit).
    phone.wait_for_function("""(least) => {
        const charts = [...document.querySelectorAll('.js-plotly-plot')];
        return charts.length >= least && charts.every(gd => gd._fullLayout && gd.querySelector('.main-svg'));
    }""", arg=PANELS[path], timeout=60_000)
    phone.wait_for_timeout(500)
    clash = phone.evaluate(OVERLAPS)
    assert not clash, f"overlapping titles at 390 x 844 on /{path}: {clash}"
    cut = phone.evaluate(CUT_TEXT)
    assert not cut, f"cut at 390 x 844 on /{path}: {cut}"
    assert_no_exception(phone)
