"""The app in a real headless Chromium, driven as a student would drive it."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from tracelab.record.trace import Trace

pytestmark = pytest.mark.browser

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PAGES = {
    "": "TraceLab",
    "em": "EM for Gaussian mixtures",
    "kmeans": "k-means and k-medoids: hard EM",
    "hierarchy": "Hierarchical clustering: merge by merge",
    "density": "Density-based clustering: DBSCAN, OPTICS, HDBSCAN",
    "selection": "Choosing k: elbow, silhouette, BIC and AIC",
    "coins": "EM beyond Gaussians: coins and binary images",
}


def wait_idle(page, timeout=60_000):
    """Wait until the script has finished and the app is connected.

    On a timeout, the error says what the page showed instead (the script's
    state, the status widget's text, an exception), so that a failure in CI
    can be read without running it again.
    """
    try:
        page.wait_for_selector(IDLE, timeout=timeout)
        page.wait_for_function(
            """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=timeout
        )
    except Exception as exc:
        seen = page.evaluate("""() => {
            const app = document.querySelector('[data-testid="stApp"]');
            const text = (sel) => { const e = document.querySelector(sel); return e ? e.innerText.slice(0, 300) : null; };
            return {script: app && app.dataset.testScriptState, connection: app && app.dataset.testConnectionState,
                    status: text('[data-testid="stStatusWidget"]'), exception: text('[data-testid="stException"]'),
                    url: location.href};
        }""")
        raise AssertionError(f"the app did not become idle within {timeout / 1000:g} s: {seen}") from exc


def open_page(page, url):
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]')
    wait_idle(page)
    # The first paint may happen before the first run starts; let it settle.
    page.wait_for_timeout(300)
    wait_idle(page)


def label_text(page, lab: str = "em") -> str:
    """The player's "Step i/N · message" label (drawn in the browser)."""
    label = page.locator(f".st-key-{lab}-player .tl-label")
    label.wait_for()
    return label.inner_text().strip()


def button(page, name: str, lab: str = "em"):
    """A player control: first, prev, next, last, play (in the lab with prefix ``lab``)."""
    return page.locator(f".st-key-{lab}-player .tl-{name}")


def wait_python(page, lab: str = "em") -> None:
    """Until Python has drawn what depends on the player's step (its tables), and is idle."""
    page.wait_for_function(
        """(lab) => {
            const b = document.querySelector(`.st-key-${lab}-player .tl-player`);
            const py = document.querySelector(`.st-key-${lab}-at-step`);
            return b && b.dataset.drawnStep && py && py.innerText.toLowerCase().includes(`step ${b.dataset.step}`);
        }""",
        arg=lab,
    )
    wait_idle(page)


def click_and_wait_label(page, name: str, before: str, lab: str = "em") -> float:
    """Click a player control, wait for the label to change and Python to catch up; seconds."""
    start = time.perf_counter()
    button(page, name, lab).click()
    page.wait_for_function(
        """([sel, before]) => {
            const el = document.querySelector(sel);
            return el && el.innerText.trim() !== before;
        }""",
        arg=[f".st-key-{lab}-player .tl-label", before],
    )
    wait_python(page, lab)
    return time.perf_counter() - start


def point_on_chart(page, chart: int, role: str, i: int) -> tuple[float, float]:
    """Page coordinates of point ``i`` of the trace with ``meta.role == role`` in a Plotly chart."""
    # Charts are drawn after the script finishes: wait for this one and its trace.
    page.wait_for_function(
        """([chart, role]) => { const gd = document.querySelectorAll('.js-plotly-plot')[chart];
                               return gd && gd._fullData && gd._fullData.some(d => d.meta && d.meta.role === role); }""",
        arg=[chart, role],
    )
    where = """([chart, role, i]) => {
            const gd = document.querySelectorAll('.js-plotly-plot')[chart];
            gd.scrollIntoView({block: 'center'});
            const t = gd._fullData.find(d => d.meta && d.meta.role === role);
            const xa = gd._fullLayout[t.xaxis.replace('x', 'xaxis')], ya = gd._fullLayout[t.yaxis.replace('y', 'yaxis')];
            const plot = gd.getBoundingClientRect();
            return [plot.left + xa._offset + xa.d2p(t.x[i]), plot.top + ya._offset + ya.d2p(t.y[i])];
        }"""
    # On screen, and where it stays: elements above the chart may still come or go.
    xy = page.evaluate(where, [chart, role, i])
    for _ in range(20):
        page.wait_for_timeout(150)
        again = page.evaluate(where, [chart, role, i])
        if again == xy:
            break
        xy = again
    return tuple(xy)


def player_spec(html: str) -> dict:
    """The step charts a standalone player file carries."""
    start = html.index('id="tl-spec">') + len('id="tl-spec">')
    return json.loads(html[start:html.index("</script>", start)])


def assert_no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_renders_with_charts_and_no_exception(page, app_url, path):
    open_page(page, f"{app_url}/{path}")
    assert_no_exception(page)
    page.get_by_role("heading", name=PAGES[path]).first.wait_for()
    charts = page.locator(".js-plotly-plot")
    charts.first.wait_for()
    assert charts.count() >= 1
    # A drawn Plotly chart has SVG or WebGL content, not just an empty box.
    page.locator(".js-plotly-plot .main-svg").first.wait_for()


def test_a_shared_link_is_the_first_visit_to_a_fresh_server(page, fresh_app_url):
    # Streamlit's legacy pages/ discovery is active until a session has run
    # st.navigation; the first visitor must still get the app's navigation.
    open_page(page, f"{fresh_app_url}/em?step=3")
    assert label_text(page).startswith("Step 3/")
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "EM for Gaussian mixtures" in nav and "Home" in nav
    assert "app" not in nav.split()
    assert_no_exception(page)


def test_next_changes_the_label_and_the_link_reopens_the_same_step(page, app_url, browser):
    open_page(page, f"{app_url}/em")
    first = label_text(page)
    assert first.startswith("Step 1/"), first
    click_and_wait_label(page, "next", first)
    second = label_text(page)
    assert second.startswith("Step 2/") and "E-step" in second, second
    click_and_wait_label(page, "next", second)
    third = label_text(page)
    assert third.startswith("Step 3/") and "M-step" in third, third
    assert_no_exception(page)

    # The address bar now carries the whole state; a fresh browser shows the same step.
    numbers = page.locator('[data-testid="stTable"]').inner_text()
    # The share section shows the same link.
    page.locator(".st-key-em-section").get_by_text("Share and export").click()
    wait_idle(page)
    codes = page.locator('[data-testid="stCode"]')
    codes.nth(1).wait_for()
    link, lesson = (c.strip() for c in codes.all_inner_texts())
    assert link.startswith(f"{app_url}/em?") and "step=3" in link and "lock=1" not in link
    assert lesson.startswith(f"{app_url}/em?") and "step=3" in lesson and "lock=1" in lesson
    assert "weight" in numbers
    shared = page.url
    query = parse_qs(urlparse(shared).query)
    assert query["step"] == ["3"] and query["k"] == ["2"] and query["data"] == ["old_faithful"]
    other = browser.new_context().new_page()
    try:
        open_page(other, shared)
        assert label_text(other) == third
        assert other.locator('[data-testid="stTable"]').inner_text() == numbers
        assert_no_exception(other)
    finally:
        other.context.close()


def test_out_of_range_link_values_fall_back_with_a_note(page, app_url):
    open_page(page, f"{app_url}/em?k=99&cov=banana&step=5")
    alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
    text = " ".join(alerts)
    assert "k='99'" in text and "cov='banana'" in text
    assert label_text(page).startswith("Step 5/")
    assert_no_exception(page)


def test_csv_upload_through_the_file_input(page, app_url, tmp_path):
    csv = tmp_path / "mine.csv"
    rng = np.random.default_rng(1)
    rows = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(5, 1, (40, 2))])
    csv.write_text("a;b\n" + "\n".join(f"{x:.3f};{y:.3f}".replace(".", ",") for x, y in rows) + "\n")
    open_page(page, f"{app_url}/em")
    page.get_by_text("Upload a CSV").click()
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_text("mine.csv: 80 points").wait_for()
    wait_idle(page)
    assert label_text(page).startswith("Step 1/")
    assert_no_exception(page)

    # A broken file: a clear message, and the uploaded data stays.
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    page.locator('[data-testid="stAlert"]').filter(has_text="CSV").first.wait_for()
    wait_idle(page)
    page.get_by_text("mine.csv: 80 points").wait_for()
    assert_no_exception(page)


def test_downloads_are_valid(page, app_url):
    open_page(page, f"{app_url}/em?step=4")
    page.locator(".st-key-em-section").get_by_text("Share and export").click()
    wait_idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Trace (JSON)").click()
    trace = Trace.from_json(open(info.value.path(), "rb").read())
    assert trace.algorithm == "em" and len(trace) > 4
    with page.expect_download() as info:
        page.get_by_role("button", name="Responsibilities at this step (CSV)").click()
    lines = open(info.value.path()).read().splitlines()
    assert len(lines) == 272 + 1
    with page.expect_download() as info:
        page.get_by_role("button", name="Player (HTML, works offline)").click()
    spec = player_spec(open(info.value.path()).read())
    assert spec["labels"] == [s.message for s in trace.steps] and spec["start"] == 4
    assert_no_exception(page)


def test_replaying_a_trace_file_in_the_browser(page, app_url, tmp_path):
    open_page(page, f"{app_url}/em?k=3&tol=0&iter=4")
    page.locator(".st-key-em-section").get_by_text("Share and export").click()
    wait_idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Trace (JSON)").click()
    saved = tmp_path / "run.json"
    info.value.save_as(saved)
    open_page(page, f"{app_url}/em?data=iris")
    page.locator(".st-key-em-section").get_by_text("Share and export").click()
    wait_idle(page)
    page.locator('[data-testid="stMainBlockContainer"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(saved))
    page.get_by_text("Replaying an uploaded trace file").wait_for()
    wait_idle(page)
    assert label_text(page).startswith("Step 1/9")
    click_and_wait_label(page, "next", label_text(page))
    assert label_text(page).startswith("Step 2/9")
    assert_no_exception(page)


def test_clicking_a_point_shows_its_responsibility_formula(page, app_url):
    open_page(page, f"{app_url}/em?step=2")
    point_input = page.get_by_label("Point (click one on the chart, or pick its index)")
    assert point_input.input_value() == "0"
    scatter = page.locator('.st-key-em-player .tl-chart[data-chart="0"]')
    # Plotly draws the data points in row order; row 40 is the 41st marker of the points trace.
    markers = scatter.locator(".scatterlayer .trace").filter(has=page.locator("path.point")).first
    box = markers.locator("path.point").nth(40).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        """() => { const i = [...document.querySelectorAll('input')].find(e => e.getAttribute('aria-label')
                     && e.getAttribute('aria-label').startsWith('Point')); return i && i.value === '40'; }"""
    )
    wait_idle(page)
    # KaTeX keeps the LaTeX source beside what it draws.
    tex = " ".join(page.locator('annotation[encoding="application/x-tex"]').all_text_contents())
    assert "r_{40,k}" in tex
    assert_no_exception(page)


def test_kmeans_lab_steps_and_opens_the_comparison_with_em(page, app_url):
    open_page(page, f"{app_url}/kmeans")
    first = label_text(page, "km")
    assert first.startswith("Step 1/")
    click_and_wait_label(page, "next", first, "km")
    second = label_text(page, "km")
    assert second.startswith("Step 2/") and "E-step" in second
    click_and_wait_label(page, "next", second, "km")
    assert "M-step" in label_text(page, "km")
    page.locator(".st-key-km-section").get_by_text("Compare with EM").click()
    page.get_by_text("EM: responsibilities").first.wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stPlotlyChart"] .main-svg').count() >= 3
    assert_no_exception(page)


def test_placing_kmeans_centres_by_clicking_empty_space(page, app_url):
    open_page(page, f"{app_url}/kmeans?init=placed&k=2")
    page.get_by_text("place centre 1 of 2").wait_for()
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    box = chart.locator(".nsewdrag").first.bounding_box()
    # Two clicks in the plot area, away from each other: each lands on the click grid.
    page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.8)
    page.get_by_text("place centre 2 of 2").wait_for()
    wait_idle(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    box = chart.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2)
    page.locator(".st-key-km-player .tl-label").wait_for()
    wait_idle(page)
    assert label_text(page, "km").startswith("Step 1/")
    assert "centers=" in page.url
    assert_no_exception(page)


def test_hierarchy_lab_steps_merges_and_moves_the_cut(page, app_url):
    open_page(page, f"{app_url}/hierarchy?data_n_samples=40")
    first = label_text(page, "hc")
    assert first.startswith("Step 1/40")
    click_and_wait_label(page, "next", first, "hc")
    second = label_text(page, "hc")
    assert second.startswith("Step 2/40") and "Merge" in second
    dendrogram = page.locator('.st-key-hc-player .tl-chart[data-chart="1"]')
    assert "k = 3" in dendrogram.inner_text()
    cut = page.get_by_label("k at the cut")
    cut.fill("5")
    cut.press("Enter")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.st-key-hc-player .tl-chart')]
                 .some(c => c.innerText.includes('k = 5'))"""
    )
    wait_idle(page)
    assert "cutk=5" in page.url
    assert_no_exception(page)


def test_density_lab_steps_dbscan_and_moves_the_optics_cut(page, app_url):
    open_page(page, f"{app_url}/density")
    first = label_text(page, "db")
    assert first.startswith("Step 1/") and "core points" in first
    click_and_wait_label(page, "next", first, "db")
    second = label_text(page, "db")
    assert second.startswith("Step 2/")
    assert "queue:" in page.locator('.st-key-db-player .tl-chart[data-chart="0"]').inner_text()
    assert_no_exception(page)

    open_page(page, f"{app_url}/density?algo=optics&cut=0.3")
    reach = page.locator('.st-key-db-player .tl-chart[data-chart="1"]')
    before = reach.inner_text()
    cut = page.locator(".st-key-db-cut input")
    cut.focus()
    for _ in range(10):
        cut.press("ArrowRight")
    # Some key presses may land while the page reruns; any move to the right will do.
    page.wait_for_function(
        "() => parseFloat(new URLSearchParams(window.location.search).get('cut')) > 0.3"
    )
    wait_idle(page)
    page.wait_for_function(
        """(before) => { const c = document.querySelector('.st-key-db-player .tl-chart[data-chart="1"]');
                         return c && c.innerText !== before; }""", arg=before)  # the cut line moved
    assert_no_exception(page)


def test_choosing_k_follows_a_curve_point_into_the_kmeans_lab(page, app_url):
    open_page(page, f"{app_url}/selection")
    x, y = point_on_chart(page, 0, "inertia", 3)  # k = 1, 2, 3, 4: the fourth point
    page.mouse.click(x, y)
    page.get_by_text("k = 4: inertia", exact=False).first.wait_for()
    wait_idle(page)
    page.get_by_text("Step through this k = 4 run in the k-means lab").click()
    page.locator(".st-key-km-player .tl-label").wait_for()
    wait_idle(page)
    assert "/kmeans" in page.url and "k=4" in page.url and "seed=" in page.url
    assert label_text(page, "km").startswith("Step 1/")
    assert_no_exception(page)
