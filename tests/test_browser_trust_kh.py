"""The k-means and hierarchy labs in a real Chromium: what the student sees agrees with itself.

Equal scale, legends, axis labels and a colour bar, plain-text names from a user's CSV and
the merge heights' scale are read from the page as drawn (plotly's laid-out axes, the DOM).
"""

from __future__ import annotations

import numpy as np
import pytest

from test_browser import assert_no_exception, click_and_wait_label, open_page, wait_idle

pytestmark = pytest.mark.browser

CHARTS = '.js-plotly-plot'

#: x pixels per unit over y pixels per unit, for every x/y pair of linear axes of chart i.
SCALE = """([sel, i]) => {
    const gd = document.querySelectorAll(sel)[i];
    const L = gd._fullLayout, out = {};
    for (const k of Object.keys(L)) {
        const m = k.match(/^xaxis(\\d*)$/);
        if (!m || !L['yaxis' + m[1]]) continue;
        const xa = L[k], ya = L['yaxis' + m[1]];
        if (xa.type !== 'linear' || ya.type !== 'linear') continue;
        const px = xa._length / Math.abs(xa.range[1] - xa.range[0]);
        const py = ya._length / Math.abs(ya.range[1] - ya.range[0]);
        out[k] = px / py;
    }
    return out;
}"""


def chart_with(page, text: str) -> int:
    """Index of the first Plotly chart whose text contains ``text``."""
    page.wait_for_function(
        """([sel, text]) => [...document.querySelectorAll(sel)].some(g => g.innerText.includes(text))""",
        arg=[CHARTS, text],
    )
    return page.evaluate(
        """([sel, text]) => [...document.querySelectorAll(sel)].findIndex(g => g.innerText.includes(text))""",
        [CHARTS, text],
    )


def scale_ratios(page, chart: int) -> dict[str, float]:
    page.wait_for_timeout(300)  # let plotly finish laying out after the script is idle
    return page.evaluate(SCALE, [CHARTS, chart])


def show_section(page, prefix: str, name: str) -> None:
    page.locator(f".st-key-{prefix}-section").get_by_text(name).click()
    wait_idle(page)


def assert_to_scale(ratios: dict[str, float], expected_axes: int) -> None:
    assert len(ratios) == expected_axes, ratios
    for axis, r in ratios.items():
        assert r == pytest.approx(1.0, rel=0.02), (axis, ratios)


@pytest.mark.parametrize("width", [1400, 390])
def test_kmeans_charts_and_side_by_side_panels_are_drawn_to_scale(page, app_url, width):
    # Raw Old Faithful: eruption minutes span 15 times less than waiting minutes.
    page.set_viewport_size({"width": width, "height": 1000})
    open_page(page, f"{app_url}/kmeans?data=old_faithful&std=0&step=3")
    assert_to_scale(scale_ratios(page, chart_with(page, "Step 3")), 1)
    show_section(page, "km", "Compare with EM")
    assert_to_scale(scale_ratios(page, chart_with(page, "EM: responsibilities")), 2)
    assert_no_exception(page)


def test_kmeans_sigma_section_and_its_panels_are_drawn_to_scale(page, app_url):
    open_page(page, f"{app_url}/kmeans")
    show_section(page, "km", "σ² → 0")
    # fixed σ²·I: the EM ellipses must look round
    assert_to_scale(scale_ratios(page, chart_with(page, "its last step")), 1)
    assert_to_scale(scale_ratios(page, chart_with(page, "max r ")), 4)
    assert_no_exception(page)


def test_hierarchy_scatter_is_drawn_to_scale(page, app_url):
    open_page(page, f"{app_url}/hierarchy?step=280")
    assert_to_scale(scale_ratios(page, chart_with(page, "Step 280")), 1)
    assert_no_exception(page)


def test_kmeans_legend_names_the_table_columns(page, app_url):
    open_page(page, f"{app_url}/kmeans?step=4")
    chart = page.locator(CHARTS).nth(chart_with(page, "Step 4"))
    legend = [t.strip() for t in chart.locator(".legendtext").all_text_contents()]
    # all_inner_texts does not wait: the table is Python's, drawn after the chart
    page.locator('[data-testid="stTable"] thead th').last.wait_for()
    headers = [t.strip() for t in page.locator('[data-testid="stTable"] thead th').all_inner_texts() if t.strip()]
    assert legend == headers == ["cluster 1", "cluster 2", "cluster 3"]
    # each legend swatch has the colour of that cluster's points (the table's sizes count them)
    colours = page.evaluate(
        """([sel, i]) => {
            const gd = document.querySelectorAll(sel)[i];
            const pts = gd._fullData.find(d => d.meta && d.meta.role === 'points');
            const leg = gd._fullData.filter(d => d.meta && d.meta.role === 'legend');
            return leg.map(l => pts.marker.color.filter(c => c === l.marker.color).length);
        }""",
        [CHARTS, chart_with(page, "Step 4")],
    )
    sizes = page.locator('[data-testid="stTable"] tbody tr').first.locator("td").all_inner_texts()
    assert colours == [int(s) for s in sizes]
    assert_no_exception(page)


def test_hierarchy_scatter_legend_and_heatmap_labels(page, app_url):
    open_page(page, f"{app_url}/hierarchy?step=290")
    chart = page.locator(CHARTS).nth(chart_with(page, "Step 290"))
    legend = chart.locator(".legendtext").all_text_contents()
    assert legend[:2] == ["1", "2"]
    assert chart.locator(".legendtitletext").text_content().strip() == "cluster:"
    # the dendrogram beside it (cut line at k = 3 drawn) colours the clusters of this step alike
    colours = page.evaluate(
        """([sel, i, j]) => {
            const [sc, dg] = [document.querySelectorAll(sel)[i], document.querySelectorAll(sel)[j]];
            const leg = sc._fullData.filter(d => d.meta && d.meta.role === 'legend');
            const links = dg._fullData.filter(d => d.meta && d.meta.role === 'links' && d.meta.state === 'done');
            return leg.map(l => [l.marker.color, (links.find(d => d.name === 'cluster ' + l.name) || {line: {}}).line.color]);
        }""",
        [CHARTS, chart_with(page, "Step 290"), chart_with(page, "k = 3")],
    )
    assert len(colours) == 10 and all(a == b for a, b in colours), colours
    show_section(page, "hc", "Distance matrix")
    i = chart_with(page, "distances between points")
    heat = page.locator(CHARTS).nth(i)
    text = heat.inner_text()
    assert text.count("point (dendrogram leaf order)") == 2
    # the colour bar is drawn inside the chart, titled with the metric
    bar = heat.locator(".colorbar").first
    box, outer = bar.bounding_box(), heat.bounding_box()
    assert box["x"] + box["width"] <= outer["x"] + outer["width"] + 1
    assert "Euclidean" in bar.text_content() and "distance" in bar.text_content()
    assert_no_exception(page)


def test_merge_heights_at_300_points_are_on_a_log_scale_in_a_row_of_the_player_below(page, app_url):
    open_page(page, f"{app_url}/hierarchy?step=40")
    i = chart_with(page, "log scale")
    # the player's third chart, a whole row under the scatter and the dendrogram
    row = page.locator(".st-key-hc-player .tl-chart")
    assert row.count() == 3 and "log scale" in row.nth(2).inner_text()
    boxes = [row.nth(c).bounding_box() for c in range(3)]
    assert boxes[2]["y"] >= max(boxes[0]["y"] + boxes[0]["height"], boxes[1]["y"] + boxes[1]["height"]) - 1
    assert boxes[2]["width"] >= boxes[0]["width"] + boxes[1]["width"]
    info = page.evaluate(
        """([sel, i]) => {
            const gd = document.querySelectorAll(sel)[i];
            const ya = gd._fullLayout.yaxis;
            const h = gd._fullData.find(d => d.meta && d.meta.role === 'heights');
            const ys = [...h.y].sort((a, b) => a - b);
            const med = ys[Math.floor(ys.length / 2)];
            return {type: ya.type, share: 1 - ya.l2p(Math.log10(med)) / ya._length};
        }""",
        [CHARTS, i],
    )
    # the median merge is drawn well off the floor (on a linear axis: under 1 % of the height)
    assert info["type"] == "log" and info["share"] > 0.25, info
    assert "last 10 merges" in page.locator(CHARTS).nth(i).inner_text()
    assert_no_exception(page)


NASTY = ("**bold**", "$x^2$", "[link](javascript:alert(1))")


def test_csv_column_names_show_as_plain_text_in_the_kmeans_table(page, app_url, tmp_path):
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (20, 3)), rng.normal(4, 1, (20, 3))])
    csv = tmp_path / "names.csv"
    csv.write_text(";".join(NASTY) + "\n" + "\n".join(";".join(f"{v:.3f}" for v in row) for row in X) + "\n")
    open_page(page, f"{app_url}/kmeans")
    page.get_by_text("Upload a CSV").click()
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_text("names.csv: 40 points").wait_for()
    wait_idle(page)
    table = page.locator('[data-testid="stTable"]')
    text = table.inner_text()
    for name in NASTY:
        assert f"centre {name}" in text, text
    # no bold, no maths, no live link made from a user's column name
    assert table.locator("strong, b, a, .katex, .stMarkdown a").count() == 0
    assert page.locator('[data-testid="stMain"] a[href^="javascript"]').count() == 0
    assert_no_exception(page)


def test_the_default_kmeans_run_moves_points_over_several_steps(page, app_url):
    # Step 4 is the E-step of iteration 2: the first one that can move points (the E-step of
    # iteration 1 repeats the start's assignment). On the default run it does, and more follow.
    open_page(page, f"{app_url}/kmeans?step=4")
    import re

    moved = []
    for i in range(3):  # steps 4, 6 and 8: the E-steps of iterations 2, 3 and 4
        label = page.locator(".st-key-km-player .tl-label").inner_text()
        assert label.startswith(f"Step {4 + 2 * i}/") and "E-step" in label, label
        moved.append(int(re.search(r"(\d+) points? changed cluster", label).group(1)))
        click_and_wait_label(page, "next", label, "km")
        click_and_wait_label(page, "next", page.locator(".st-key-km-player .tl-label").inner_text(), "km")
    assert all(m > 0 for m in moved), moved
    assert_no_exception(page)
