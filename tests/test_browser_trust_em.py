"""The EM lab and the home page show what their text says, checked in a real Chromium.

What only the browser knows is read from the rendered page: Plotly's laid-out axes
(``gd._fullLayout``: pixels per unit, ranges), the tick labels it drew, the
annotations and the captions as the student sees them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from test_browser import assert_no_exception, open_page, wait_idle

pytestmark = pytest.mark.browser

CHARTS = '.js-plotly-plot'


def wait_charts(page, n: int = 1) -> None:
    page.wait_for_function(
        "([sel, n]) => { const c = document.querySelectorAll(sel);"
        " return c.length >= n && [...c].every(gd => gd._fullLayout && gd.querySelector('.main-svg'))"
        # and the step player has drawn every chart at its current step
        " && [...document.querySelectorAll('.tl-player')].every(b => b.dataset.drawnStep &&"
        "    [...b.querySelectorAll('.tl-chart')].every(d => d.dataset.drawnStep === b.dataset.drawnStep)); }",
        arg=[CHARTS, n],
    )


def chart(page, i: int) -> dict:
    """Chart ``i``'s axes (pixels per unit), annotations and traces, as Plotly laid them out."""
    return page.evaluate(
        """([sel, i]) => {
            const gd = document.querySelectorAll(sel)[i];
            const L = gd._fullLayout, axes = {};
            for (const k of Object.keys(L)) if (/^[xy]axis\\d*$/.test(k)) {
                const a = L[k];
                axes[k] = {length: a._length, range: a.range.map(Number),
                           ppu: a._length / Math.abs(a.range[1] - a.range[0])};
            }
            const traces = gd._fullData.map(t => ({role: t.meta && t.meta.role, x: t.x && Array.from(t.x),
                y: t.y && Array.from(t.y), customdata: t.customdata && Array.from(t.customdata),
                name: t.name, k: t.meta && t.meta.k}));
            return {axes, traces, annotations: (L.annotations || []).map(a => ({name: a.name, text: a.text})),
                    title: L.title && L.title.text};
        }""",
        [CHARTS, i],
    )


def roles(info: dict, role: str) -> list[dict]:
    return [t for t in info["traces"] if t["role"] == role]


def main_caption(page, contains: str) -> str:
    loc = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').filter(has_text=contains)
    loc.first.wait_for()
    return loc.first.inner_text().strip()


# ------------------------------------------------------------------------------ home


def test_the_home_caption_names_two_different_points_with_the_numbers_the_chart_draws(page, app_url):
    from tracelab.labs.em.views import format_responsibility

    open_page(page, app_url)
    wait_charts(page)
    caption = main_caption(page, "lies deep inside")
    m = re.search(
        r"At step (\d+), the eruption of ([\d.]+) min lies deep inside Gaussian (\d): its "
        r"responsibilities are (\S+ / \S+)\. The one of ([\d.]+) min lies between the two groups: (\S+ / \S+)\.",
        caption,
    )
    assert m, caption
    step, x_sure, owner, r_sure, x_unsure, r_unsure = m.groups()
    assert x_sure != x_unsure
    info = chart(page, 0)
    assert f"step {step} of" in info["title"]
    # The chart labels the same two points with the same strings.
    labels = {a["name"]: a["text"] for a in info["annotations"] if a["name"]}
    assert labels["hook-sure"] == f"x = {x_sure} min: r = {r_sure}"
    assert labels["hook-unsure"] == f"x = {x_unsure} min: r = {r_unsure}"
    # ... and the bars drawn for those points carry exactly those responsibilities.
    (rug,) = roles(info, "rug")
    bars = sorted(roles(info, "resp-bar"), key=lambda t: t["k"])
    (ring,) = roles(info, "hook-point")
    for i, x, text in zip(ring["customdata"], (x_sure, x_unsure), (r_sure, r_unsure)):
        assert f"{rug['x'][rug['customdata'].index(i)]:.2f}" == x
        r = [b["y"][b["customdata"].index(i)] for b in bars]
        assert " / ".join(format_responsibility(v) for v in r) == text
    sure = [float(v) for v in r_sure.split(" / ")]
    unsure = [float(v) for v in r_unsure.split(" / ")]
    assert max(sure) >= 0.99 and 0.3 <= max(unsure) <= 0.7  # they really differ
    assert sure[int(owner) - 1] == max(sure)
    assert_no_exception(page)


# ---------------------------------------------------------------------- equal scale


def test_the_em_scatter_is_drawn_to_equal_scale(page, app_url):
    open_page(page, f"{app_url}/em?cov=spherical")
    wait_charts(page, 2)
    axes = chart(page, 0)["axes"]
    assert axes["xaxis"]["ppu"] == pytest.approx(axes["yaxis"]["ppu"], rel=0.02), axes
    # A spherical Gaussian's 1-sigma ellipse is a circle on screen: as wide as it is tall.
    info = chart(page, 0)
    ring = next(t for t in roles(info, "ellipse"))
    width_px = np.ptp(ring["x"]) * axes["xaxis"]["ppu"]
    height_px = np.ptp(ring["y"]) * axes["yaxis"]["ppu"]
    assert width_px == pytest.approx(height_px, rel=0.03)
    assert_no_exception(page)


def test_the_textbook_small_multiples_are_drawn_to_equal_scale(page, app_url):
    open_page(page, f"{app_url}/em?preset=bishop")
    page.locator(".st-key-em-section").get_by_text("Textbook figure").click()
    wait_idle(page)
    wait_charts(page, 3)
    axes = chart(page, 2)["axes"]
    panels = sorted(k for k in axes if k.startswith("xaxis"))
    assert len(panels) == 5
    for xk in panels:
        yk = "y" + xk[1:]
        assert axes[xk]["ppu"] == pytest.approx(axes[yk]["ppu"], rel=0.02), (xk, axes)
    assert_no_exception(page)


# ----------------------------------------------------------------- why it stopped


def _num(s: str) -> float:
    return float(s.replace("−", "-").replace(",", ""))


def test_a_converged_run_names_the_two_values_compared_and_the_curve_marks_them(page, app_url):
    open_page(page, f"{app_url}/em?data=blobs&init=random&k=10")
    wait_charts(page, 2)
    caption = main_caption(page, "converged")
    m = re.search(r"(\d+) points.*went from (-[\d.]+) \(start\) to (-[\d.]+) \(after iteration 1\), marked at "
                  r"steps (\d+) and (\d+) of the curve.*a change of ([\d.e-]+), less than tol = 0.001", caption)
    assert m, caption
    n, before, after, s1, s2, change = m.groups()
    n, before, after, change = int(n), float(before), float(after), float(change)
    assert after - before == pytest.approx(change, abs=1.5e-5)
    assert "on top of each other" in caption and "tol = 0" in caption and "another start" in caption
    (marks,) = roles(chart(page, 1), "tol-compared")
    assert marks["x"] == [int(s1), int(s2)]
    assert [y / n for y in marks["y"]] == pytest.approx([before, after], abs=1e-5)
    assert_no_exception(page)


# ---------------------------------------------------------------- readable ticks


def _ticks(page, i: int) -> dict:
    return page.evaluate(
        """([sel, i]) => {
            const gd = document.querySelectorAll(sel)[i];
            const box = gd.getBoundingClientRect();
            const ticks = [...gd.querySelectorAll('.ytick text')].map(t => {
                const b = t.getBoundingClientRect(); return {text: t.textContent, left: b.left, right: b.right};
            });
            const title = gd.querySelector('.g-ytitle text').getBoundingClientRect();
            return {ticks, title: {left: title.left, right: title.right}, left: box.left,
                    range: gd._fullLayout.yaxis.range.map(Number),
                    notes: (gd._fullLayout.annotations || []).map(a => a.text)};
        }""",
        [CHARTS, i],
    )


@pytest.mark.parametrize("query", ["k=1&init=random_from_data&step=5", "init=kmeans&seed=0&step=99",
                                   "data=blobs&init=random&k=10&step=99"])
def test_log_likelihood_ticks_are_short_whole_numbers_beside_their_title(page, app_url, query):
    # Fast-converging runs. With one Gaussian every step after the first M-step has the
    # same log-likelihood to 1e-9: the axis zoomed on that and wrote "−544.99348055",
    # cut to "544.9934805" by the margin, under its title.
    open_page(page, f"{app_url}/em?{query}")
    wait_charts(page, 2)
    for step in ("last", "first"):
        got = _ticks(page, 1)
        texts = [t["text"] for t in got["ticks"]]
        assert len(texts) >= 2, got
        for text in texts:
            assert re.fullmatch(r"−?\d{1,3}(,\d{3})*(\.\d{1,4})?", text), texts  # no "k", no cut digits
            assert got["range"][0] - 1e-9 <= _num(text) <= got["range"][1] + 1e-9
        assert len(set(texts)) == len(texts)
        # Every label is inside the chart, and the title sits left of all of them.
        assert min(t["left"] for t in got["ticks"]) >= got["left"]
        assert got["title"]["right"] <= min(t["left"] for t in got["ticks"]) + 1, got
        if step == "last":
            page.locator(".st-key-em-player .tl-first").click()
            page.wait_for_function("document.querySelector('.st-key-em-player .tl-player').dataset.drawnStep === '1'")
            wait_idle(page)
            wait_charts(page, 2)
    assert_no_exception(page)


def test_a_zoomed_curve_says_which_steps_are_off_the_axis(page, app_url):
    open_page(page, f"{app_url}/em?preset=bishop&step=20")
    wait_charts(page, 2)
    got = _ticks(page, 1)
    info = chart(page, 1)
    ll = [y for t in info["traces"] if t["role"] == "ll-line" for y in t["y"]]
    below = [i + 1 for i, v in enumerate(ll) if v < got["range"][0]]
    assert below, "Bishop's start should lie far below its climb"
    which = f"step {below[0]}" if len(below) == 1 else f"steps {below[0]}–{below[-1]}"
    assert any(f"{which} below the axis" in note for note in got["notes"]), got["notes"]
    assert_no_exception(page)


# ------------------------------------------------------------- names from a file


def test_column_names_from_a_csv_are_shown_as_written(page, app_url, tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(4, 1, (30, 2))])
    names = ["**bold**", "$x^2$", "[link](javascript:alert(1))"]
    csv = tmp_path / "names.csv"
    rows = [",".join(f"{v:.3f}" for v in (*r, r[0] - r[1])) for r in X]
    csv.write_text(",".join(names) + "\n" + "\n".join(rows) + "\n")
    open_page(page, f"{app_url}/em")
    page.get_by_text("Upload a CSV").click()
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_text("names.csv: 60 points").wait_for()
    wait_idle(page)
    table = page.locator('[data-testid="stTable"]')
    text = table.inner_text()
    for name in names:
        assert f"mean {name}" in text, text
    assert table.locator("a, strong, .katex").count() == 0
    main = page.locator('[data-testid="stMain"]')
    assert main.locator('a[href^="javascript"]').count() == 0
    # The responsibility formula writes the names as text, escaped for LaTeX.
    tex = " ".join(page.locator('annotation[encoding="application/x-tex"]').all_text_contents())
    assert r"\text{**bold**}" in tex and r"\text{\$x\textasciicircum{}2\$}" in tex
    assert_no_exception(page)


# ------------------------------------------------------------------ one format


def test_the_formula_writes_a_tiny_responsibility_as_the_table_does(page, app_url):
    # The default run, recomputed here: the same numbers the page shows.
    from tracelab.data import datasets
    from tracelab.labs.em.engine import trace_em
    from tracelab.labs.em.views import format_responsibility

    data = datasets.load("old_faithful").standardized()
    trace = trace_em(data.X, 2, init="random_from_data", seed=15)
    step = len(trace) - 1
    r = trace.steps[step].responsibilities[0]
    assert r.min() < 1e-6  # tiny: exponent notation, as the grid writes it
    open_page(page, f"{app_url}/em?step={step + 1}")
    # KaTeX typesets in the browser after the script has finished: wait for the formula.
    page.wait_for_function("""() => [...document.querySelectorAll('annotation[encoding="application/x-tex"]')]
                                       .some(a => a.textContent.includes('r_{0,2}'))""")
    tex = " ".join(page.locator('annotation[encoding="application/x-tex"]').all_text_contents())
    for k in (1, 2):
        line = next(part for part in tex.split("\\\\") if part.strip().startswith(f"r_{{0,{k}}} &="))
        assert line.strip().endswith(" = " + format_responsibility(r[k - 1], latex=True)), line
    assert r"\approx" not in tex
    assert_no_exception(page)


def test_ten_gaussians_all_have_a_column_in_the_parameters_table(page, app_url):
    open_page(page, f"{app_url}/em?k=10")
    grid = page.locator('[data-testid="stDataFrame"]').filter(
        has=page.locator('[role="columnheader"]', has_text="Gaussian 10"))
    grid.wait_for()
    box = grid.bounding_box()
    main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    # Full width under the charts (not squeezed into the side column) and inside the page.
    assert box["width"] >= 0.8 * main["width"]  # the side column is under half of it
    assert box["x"] + box["width"] <= main["x"] + main["width"] + 1
    headers = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stDataFrame"] [role="columnheader"]')]
                 .map(h => h.textContent.trim())"""
    )
    assert [f"Gaussian {j}" for j in range(1, 11)] == [h for h in headers if h.startswith("Gaussian")], headers
    assert_no_exception(page)
