"""A student's own CSV in a real headless Chromium: which columns are clustered, which are the classes.

The file is the one students bring: a running ``id``, a ``name`` per row,
``height`` and ``weight`` measurements and a ``species`` with three values.
"""

from __future__ import annotations

import pytest

from tests.test_browser import assert_no_exception, open_page, wait_idle
from tracelab import data
from tests.test_columns import the_problem_file

pytestmark = pytest.mark.browser

SIDEBAR = '[data-testid="stSidebar"]'


def upload(page, path) -> None:
    page.locator(SIDEBAR).get_by_text("Upload a CSV").click()
    wait_idle(page)
    page.locator(f'{SIDEBAR} [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))


def open_with_people(page, url: str, tmp_path, shown: str) -> None:
    """Open ``url`` and upload the people file (id, name, height, weight, species); wait for ``shown``."""
    csv = tmp_path / "people.csv"
    csv.write_bytes(the_problem_file())
    open_page(page, url)
    upload(page, csv)
    page.get_by_text(shown).wait_for()
    wait_idle(page)


def test_choosing_k_clusters_the_measurements_and_compares_with_the_species(page, app_url, tmp_path):
    open_with_people(page, f"{app_url}/selection", tmp_path, "people.csv: 300 points, 2 features")
    assert_no_exception(page)

    # The chooser holds the measurements only, and a note says what was left out and how to add it.
    chooser = page.locator(SIDEBAR).locator('[data-testid="stMultiSelect"]').filter(has_text="Feature columns")
    tags = chooser.locator('[role="group"][aria-label="Selected values"] [data-tag]')
    chips = [tags.nth(i).get_attribute("aria-label") for i in range(tags.count())]
    assert chips == ["height", "weight"]
    note = page.locator(SIDEBAR).locator('[data-testid="stAlert"]').filter(has_text="is not clustered")
    text = note.inner_text()
    assert "'id' is not clustered" in text and "1 to 300" in text
    assert "add it under Feature columns" in text
    # The classes are the species, not the 300 names.
    sidebar = page.locator(SIDEBAR).inner_text()
    assert "'species' holds text with 3 values" in sidebar
    assert "'name' was left out" in sidebar

    page.locator(".st-key-ck-section").get_by_text("Known classes").click()
    wait_idle(page)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Adjusted Rand index")
    ari = float(metric.locator('[data-testid="stMetricValue"]').inner_text())
    assert ari > 0.9
    heatmap = page.locator('[data-testid="stPlotlyChart"]').last.inner_text()
    for species in ("setosa", "versicolor", "virginica"):
        assert species in heatmap
    assert_no_exception(page)


def test_em_lab_shows_the_note_with_names_as_written(page, app_url, tmp_path):
    # Column names from the file are text, never Markdown: no bold, no link.
    csv = tmp_path / "odd.csv"
    rows = the_problem_file().decode().splitlines()
    rows[0] = "**id**,name,[h](javascript:alert(1)),weight,species"
    csv.write_text("\n".join(rows) + "\n")
    open_page(page, f"{app_url}/em")
    upload(page, csv)
    page.get_by_text("odd.csv: 300 points, 2 features").wait_for()
    wait_idle(page)
    note = page.locator(SIDEBAR).locator('[data-testid="stAlert"]').filter(has_text="is not clustered")
    assert "'**id**' is not clustered" in note.inner_text()
    assert page.locator(SIDEBAR).locator("strong").filter(has_text="id").count() == 0
    assert page.locator(SIDEBAR).locator('a[href^="javascript"]').count() == 0
    assert_no_exception(page)


def test_a_file_over_the_limit_is_refused_with_the_limit_on_the_page_and_the_data_stays(page, app_url, tmp_path):
    open_with_people(page, f"{app_url}/em", tmp_path, "people.csv: 300 points")

    big = tmp_path / "big.csv"
    with open(big, "wb") as f:  # a megabyte over what the loader reads
        f.write(b"a,b\n")
        f.truncate(data.MAX_BYTES + 1_000_000)
    page.locator(f'{SIDEBAR} [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(big))
    uploader = page.locator(f'{SIDEBAR} [data-testid="stFileUploader"]')
    uploader.get_by_text("50.0MB or smaller").wait_for()
    wait_idle(page)
    # the uploader and the page name one limit, and say what to do
    assert "51.0MB" in uploader.inner_text(), "the uploader counts in decimal megabytes, as the loader"
    note = page.locator(SIDEBAR).locator('[data-testid="stCaptionContainer"]').filter(has_text="At most 50 MB")
    assert "A larger file is refused (marked in red above) and the data stays" in note.inner_text()
    # the data and its trace stay
    page.get_by_text("people.csv: 300 points").wait_for()
    assert_no_exception(page)

    # a file the loader refuses leaves the uploader, with the reason on the page
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    page.locator(f'{SIDEBAR} [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    page.locator('[data-testid="stAlert"]').filter(has_text="broken.csv was not loaded").wait_for()
    wait_idle(page)
    assert "broken.csv" not in page.locator(f'{SIDEBAR} [data-testid="stFileUploader"]').inner_text()
    page.get_by_text("people.csv: 300 points").wait_for()
    assert_no_exception(page)
