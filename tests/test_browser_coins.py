"""The coins lab in a real headless Chromium: the paper's numbers on screen, the ridge, the digits."""

from __future__ import annotations

import pytest

from tests.test_browser import assert_no_exception, wait_idle
from tests.test_browser_player import box, ctl, open_lab, wait_drawn

pytestmark = pytest.mark.browser

CURRENT = """() => { const gd = document.querySelector('.st-key-cn-player .tl-chart[data-chart="0"]');
                     const t = gd._fullData.find(d => d.meta && d.meta.role === 'current');
                     return [t.x[0], t.y[0], gd.layout.title.text]; }"""


def test_two_coins_climb_to_the_papers_answer(page, app_url):
    open_lab(page, f"{app_url}/coins", "cn")
    n = int(box(page, "cn").get_attribute("data-n-steps"))
    assert n == 21
    ctl(page, "cn", "last").click()
    wait_drawn(page, "cn", n)
    x, y, title = page.evaluate(CURRENT)
    assert (round(x, 2), round(y, 2)) == (0.80, 0.52) and title.startswith(f"Step {n} · M-step")
    assert "θ_A = 0.80, θ_B = 0.52" in box(page, "cn").locator(".tl-label").inner_text()
    # the table of the paper's figure follows the step
    table = page.locator(".st-key-cn-at-step [data-testid='stDataFrame']")
    assert table.count() == 1 and table.is_visible()
    assert_no_exception(page)


def test_single_tosses_step_and_explain_the_ridge(page, app_url):
    open_lab(page, f"{app_url}/coins?mode=single", "cn")
    n = int(box(page, "cn").get_attribute("data-n-steps"))
    ctl(page, "cn", "next").click()
    wait_drawn(page, "cn", 2)
    page.keyboard.press("End")
    wait_drawn(page, "cn", n)
    _, _, title = page.evaluate(CURRENT)
    assert title.startswith(f"Step {n} · M-step")
    note = page.locator(".st-key-cn-at-step [data-testid='stAlert']")
    assert "not identifiable from single tosses" in note.inner_text()
    assert_no_exception(page)


def test_binary_images_draw_each_component_and_its_images(page, app_url):
    open_lab(page, f"{app_url}/coins?mode=images", "cn")
    ctl(page, "cn", "next").click()
    wait_drawn(page, "cn", 2)
    kind = page.evaluate("""() => document.querySelector('.st-key-cn-player .tl-chart[data-chart="0"]')
                                   ._fullData[0].type""")
    assert kind == "heatmap"
    page.locator(".st-key-cn-section").get_by_text("Images each component takes").click()
    wait_idle(page)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.st-key-cn-at-step .js-plotly-plot')]
                   .some(g => g.innerText.includes('responsibility'))""", timeout=30_000)
    assert_no_exception(page)
