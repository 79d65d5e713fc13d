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
    # the typeset lines' width (.katex itself is a block as wide as the column)
    widths = formula.evaluate(
        "e => [e.querySelector('.katex-html .mtable').getBoundingClientRect().width,"
        " e.closest('[data-testid=stMarkdownContainer]').getBoundingClientRect().width]")
    assert 0 < widths[0] <= widths[1], f"the formula ({widths[0]:.0f} px) is wider than its column ({widths[1]:.0f} px)"
    assert "r_{0,k}" in (formula.locator("annotation").first.text_content() or "")
    assert_no_exception(phone)
