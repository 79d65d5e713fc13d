"""The link is the view, in a real Chromium: what a student chose comes back in a fresh browser.

On each lab the view's choices are made as a student makes them (menus,
switches, the section bar, the player's speed and step, the cut's slider), the
address bar's link is opened in a new browser context (no shared session,
cookies or storage), and the same choices are shown there.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.test_browser import open_page, wait_idle, wait_python
from tests.test_browser_player import ctl, open_lab, wait_drawn

pytestmark = pytest.mark.browser


def widget(page, key: str):
    """A widget's container by its key (Streamlit writes the key's dots as dashes in its class)."""
    return page.locator(f".st-key-{key.replace('.', '-')}")


def choose(page, key: str, label: str, option: str) -> None:
    """Pick ``option`` in the select box ``label``."""
    widget(page, key).get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def shown_choice(page, key: str) -> str:
    """The option a select box shows."""
    return widget(page, key).get_by_role("combobox").input_value().strip()


def switch(page, label: str):
    return page.get_by_role("switch", name=label)


def flip(page, label: str) -> None:
    """Click a switch as a student does, on its label."""
    from playwright.sync_api import expect

    target = page.locator("label").filter(has=switch(page, label))
    # While a rerun redraws the page, the switch's old copy may still be shown beside
    # the new one until the run ends.
    expect(target).to_have_count(1, timeout=30_000)
    target.click()
    wait_idle(page)


def section_shown(page, prefix: str) -> str:
    """The section bar's chosen button."""
    return page.locator(f".st-key-{prefix}-section button[aria-checked='true']").inner_text().strip()


@contextmanager
def in_new_browser(browser, url: str, lab: str):
    """The link opened in a fresh context (nothing shared with the page that wrote it), its player drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        fresh = context.new_page()
        open_lab(fresh, url, lab)
        yield fresh
    finally:
        context.close()


def test_the_em_view_comes_back_from_its_link(page, app_url, browser):
    open_lab(page, f"{app_url}/em?data=iris&k=3", "em")
    choose(page, "em.projection", "View", "Two columns")
    choose(page, "em.xcol", "x", "petal_length")
    choose(page, "em.ycol", "y", "sepal_width")
    for label in ("Hard labels", "Highlight uncertain points"):
        flip(page, label)
    ctl(page, "em", "speed").select_option("10")
    wait_idle(page)  # the speed reaches Python (and the link) before the steps
    for _ in range(3):
        ctl(page, "em", "next").click()
    wait_drawn(page, "em", 4)
    point = page.get_by_label("Point (click one on the chart, or pick its index)")
    point.fill("17")
    point.press("Enter")
    page.wait_for_function("() => location.search.includes('point=17')")  # Python has the point
    wait_idle(page)
    page.locator(".st-key-em-section").get_by_text("Equations").click()
    wait_idle(page)
    # The formula's point stays in the link while its section is not shown.
    page.wait_for_function("() => location.search.includes('section=equations') && location.search.includes('point=17')")
    url = page.url

    with in_new_browser(browser, url, "em") as fresh:
        wait_python(fresh, "em")
        assert shown_choice(fresh, "em.projection") == "Two columns"
        assert shown_choice(fresh, "em.xcol") == "petal_length"
        assert shown_choice(fresh, "em.ycol") == "sepal_width"
        assert switch(fresh, "Hard labels").is_checked()
        assert switch(fresh, "Highlight uncertain points").is_checked()
        assert ctl(fresh, "em", "speed").input_value() == "10"
        assert fresh.locator(".st-key-em-player .tl-player").get_attribute("data-step") == "4"
        assert section_shown(fresh, "em") == "Equations"
        # The chart is drawn on the chosen columns, and the formula's point came back.
        title = fresh.evaluate("""() => { const gd = document.querySelector('.st-key-em-player .tl-chart[data-chart="0"]');
                                          return [gd.layout.xaxis.title.text, gd.layout.yaxis.title.text]; }""")
        assert "petal_length" in title[0] and "sepal_width" in title[1], title
        fresh.locator(".st-key-em-section").get_by_text("Responsibilities").click()
        wait_idle(fresh)
        point = fresh.get_by_label("Point (click one on the chart, or pick its index)")
        point.wait_for()
        # The field may be drawn before the section's run has set it from the link.
        fresh.wait_for_function("(el) => el.value === '17'", arg=point.element_handle(), timeout=30_000)
        assert point.input_value() == "17"


def test_the_kmedoids_switches_and_section_come_back_from_the_link(page, app_url, browser):
    open_lab(page, f"{app_url}/kmeans?algo=kmedoids", "km")
    for label in ("Shade regions", "Assignment lines", "Ball around medoid 1"):
        flip(page, label)
    page.locator(".st-key-km-section").get_by_text("σ² → 0: EM hardens into k-means").click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('section=sigma2-to-0')")
    with in_new_browser(browser, page.url, "km") as fresh:
        assert not switch(fresh, "Shade regions").is_checked()
        assert not switch(fresh, "Assignment lines").is_checked()
        assert switch(fresh, "Ball around medoid 1").is_checked()
        assert section_shown(fresh, "km") == "σ² → 0: EM hardens into k-means"


def test_the_hierarchy_cut_by_height_comes_back_from_the_link(page, app_url, browser):
    open_lab(page, f"{app_url}/hierarchy", "hc")
    page.get_by_text("height", exact=True).click()
    wait_idle(page)
    thumb = widget(page, "hc.cut_height").get_by_role("slider")
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowRight")
    wait_idle(page)
    height = thumb.get_attribute("aria-valuenow")
    k = page.get_by_label("k at the cut").input_value()
    flip(page, "Colour points by the cut")
    page.locator(".st-key-hc-section").get_by_text("Distance matrix").click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('section=distance-matrix')")
    with in_new_browser(browser, page.url, "hc") as fresh:
        assert widget(fresh, "hc.cut_height").get_by_role("slider").get_attribute("aria-valuenow") == height
        assert fresh.get_by_label("k at the cut").input_value() == k
        assert switch(fresh, "Colour points by the cut").is_checked()
        assert section_shown(fresh, "hc") == "Distance matrix"


def test_the_density_and_choosing_k_sections_come_back_from_their_links(page, app_url, browser):
    open_lab(page, f"{app_url}/density?algo=optics", "db")
    page.locator(".st-key-db-section").get_by_text("Share and export").click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('section=share-and-export')")
    density_url = page.url
    open_page(page, f"{app_url}/selection")
    page.locator(".st-key-ck-section").get_by_text("BIC / AIC").click()
    wait_idle(page)
    page.get_by_text("AIC", exact=True).click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('criterion=aic')")
    with in_new_browser(browser, density_url, "db") as fresh:
        assert section_shown(fresh, "db") == "Share and export"
        open_page(fresh, page.url)
        assert section_shown(fresh, "ck") == "BIC / AIC"
        assert fresh.get_by_role("radio", name="AIC", exact=True).is_checked()


def go_to_page(page, title: str) -> None:
    """Another page through the app's navigation (the same session, as a student moves)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_idle(page)
    page.wait_for_timeout(300)
    wait_idle(page)


def test_going_to_another_page_and_back_resets_nothing(page, app_url, tmp_path):
    csv = tmp_path / "mine.csv"
    csv.write_text("a,b,c\n" + "\n".join(f"{i % 7},{(i * 3) % 11},{i % 5}" for i in range(60)) + "\n")
    open_lab(page, f"{app_url}/em", "em")
    page.get_by_text("Upload a CSV").click()
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_text("mine.csv: 60 points, 3 features").wait_for()
    wait_idle(page)
    # A column left out and no standardising: the student's own choices about the file.
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stMultiSelect"] [aria-label*="Remove c"], '
                    '[data-testid="stMultiSelect"] [title="Delete"]').last.click()
    wait_idle(page)
    page.get_by_text("mine.csv: 60 points, 2 features").wait_for()
    flip(page, "Standardise columns")
    flip(page, "Hard labels")
    page.locator(".st-key-em-section").get_by_text("Equations").click()
    wait_idle(page)
    assert not switch(page, "Standardise columns").is_checked() and switch(page, "Hard labels").is_checked()

    go_to_page(page, "k-means and k-medoids")
    go_to_page(page, "EM for Gaussian mixtures")
    page.locator(".st-key-em-player .tl-player").wait_for()
    page.get_by_text("mine.csv: 60 points, 2 features").wait_for()
    assert page.get_by_text("uploaded before").count() == 1
    assert not switch(page, "Standardise columns").is_checked(), "standardise stays off"
    assert switch(page, "Hard labels").is_checked()
    assert section_shown(page, "em") == "Equations"


def test_a_lesson_link_opens_without_the_settings_until_a_student_explores(page, app_url, browser):
    lesson = f"{app_url}/em?data=iris&k=3&lock=1&sections=responsibilities,equations&step=5"
    open_lab(page, lesson, "em")
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert not sidebar.is_visible(), "no data or parameter controls in a lesson"
    assert page.get_by_text("Settings chosen for this lesson.").is_visible()
    bar = page.locator(".st-key-em-section")
    assert bar.get_by_role("radio").all_inner_texts() == ["Responsibilities", "Equations"]
    assert page.locator(".st-key-em-player .tl-player").get_attribute("data-step") == "5"

    flip(page, "Explore on my own")
    sidebar.wait_for(state="visible")
    assert page.get_by_text("Exploring on your own.").is_visible()
    assert "Share and export" in bar.get_by_role("radio").all_inner_texts()

    # Unlocked in this browser only: another opening the same link gets the lesson.
    with in_new_browser(browser, lesson, "em") as fresh:
        assert not fresh.locator('[data-testid="stSidebar"]').is_visible()


@pytest.mark.parametrize("path,lab", [("kmeans", "km"), ("hierarchy", "hc"), ("density", "db"), ("selection", None),
                                      ("coins", "cn")])
def test_every_lab_opens_a_lesson_link_without_its_settings(page, app_url, path, lab):
    open_page(page, f"{app_url}/{path}?lock=1")
    if lab:
        page.locator(f".st-key-{lab}-player .tl-player[data-drawn-step]").wait_for(timeout=60_000)
    # The banner and the rule that hides the sidebar come with the page's first run,
    # which on a busy machine may still be under way when the page looks idle.
    page.get_by_text("Settings chosen for this lesson.").wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebar"]').wait_for(state="hidden", timeout=10_000)
    flip(page, "Explore on my own")
    page.locator('[data-testid="stSidebar"]').wait_for(state="visible")


def test_a_small_upload_travels_in_the_link_to_a_fresh_browser(page, app_url, browser, tmp_path):
    csv = tmp_path / "mine.csv"
    csv.write_text("a;b\n" + "\n".join(f"{i % 7},5;{(i * 3) % 11},25" for i in range(50)) + "\n")
    open_lab(page, f"{app_url}/kmeans", "km")
    page.get_by_text("Upload a CSV").click()
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_text("mine.csv: 50 points").wait_for()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('csv=1.')")
    with in_new_browser(browser, page.url, "km") as fresh:
        fresh.get_by_text("mine.csv: 50 points").wait_for()
        assert fresh.get_by_text("from the link").count() == 1
        assert fresh.locator(".st-key-km-player .tl-player").get_attribute("data-n-steps") == \
            page.locator(".st-key-km-player .tl-player").get_attribute("data-n-steps")
