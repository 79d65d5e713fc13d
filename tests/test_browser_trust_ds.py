"""The density-based and choosing-k labs in a real Chromium: what is drawn agrees with what is said.

Read from the drawn Plotly charts (``gd._fullLayout``, ``gd.layout``, ``gd.data``), as a
student sees them: the OPTICS ξ step draws ξ's clusters, every chart with distances is
to equal scale, legends and colour bars name the colours, and the Stop button of the
choosing-k lab is there only while something runs.
"""

from __future__ import annotations

import random
import re

import pytest

from test_browser import assert_no_exception, button, label_text, open_page, wait_idle, wait_python

pytestmark = pytest.mark.browser

CHART = '.js-plotly-plot'


def go_last(page, lab: str = "db") -> str:
    """Click Last and wait for its label; the label text."""
    before = label_text(page, lab)
    if button(page, "last", lab).is_disabled():
        return before
    button(page, "last", lab).click()
    page.wait_for_function(
        """([sel, before]) => { const el = document.querySelector(sel);
                                return el && el.innerText.trim() !== before; }""",
        arg=[f".st-key-{lab}-player .tl-label", before],
    )
    wait_python(page, lab)
    return label_text(page, lab)


# The step player's charts: the scatter first, the reachability plot / condensed tree /
# k-distance plot beside it.
PLAYER_CHARTS = {"db-chart": 0, "db-reach": 1, "db-icicle": 1, "db-kdist": 1}


def chart(page, key: str) -> dict:
    """Title, colours and trace roles of a chart: the player's by its old key, else under ``.st-key-<key>``."""
    sel = (f'.st-key-db-player .tl-chart[data-chart="{PLAYER_CHARTS[key]}"]' if key in PLAYER_CHARTS
           else f".st-key-{key} .js-plotly-plot")
    return page.evaluate(
        """(sel) => {
            const gd = document.querySelector(sel);
            const colors = gd.data.filter(t => t.meta && ['points', 'reachability'].includes(t.meta.role))
                                  .map(t => Array.from(t.marker.color));
            const legend = Array.from(gd.querySelectorAll('.legend .legendtext')).map(e => e.textContent);
            // the title as read: line breaks and font spans gone
            const title = ((gd.layout.title || {}).text || '').replace(/<br>|<[^>]+>/g, ' ').replace(/\\s+/g, ' ').trim();
            return {title: title, colors: colors,
                    roles: gd.data.map(t => (t.meta || {}).role), legend: legend};
        }""",
        sel,
    )


def px_per_unit(page) -> list[dict]:
    """For every drawn chart with an equal-scale subplot: x and y pixels per data unit."""
    return page.evaluate(
        """() => {
            const out = [];
            document.querySelectorAll('.js-plotly-plot').forEach((gd, c) => {
                const fl = gd._fullLayout;
                Object.keys(fl).filter(k => /^yaxis\\d*$/.test(k)).forEach(yk => {
                    const ya = fl[yk];
                    if (!ya.scaleanchor) return;
                    const xa = fl['xaxis' + yk.slice(5)];
                    out.push({chart: c, axis: yk, title: (gd.layout.title || {}).text || '',
                              x: xa._length / (xa.range[1] - xa.range[0]),
                              y: ya._length / Math.abs(ya.range[1] - ya.range[0])});
                });
            });
            return out;
        }"""
    )


def side_titles(page) -> list[str]:
    """The titles of the three side-by-side panels, as their figures give them."""
    page.locator(".st-key-db-side2 .js-plotly-plot").wait_for()
    return page.evaluate(
        """() => [0, 1, 2].map(c => document.querySelector(`.st-key-db-side${c} .js-plotly-plot`).layout.meta.title)""")


def counts_of(label: str) -> str:
    """'2 clusters, 0 noise points' from a step label."""
    return re.search(r"(\d+ clusters?, \d+ noise points?)\.?$", label).group(1)


# ------------------------------------------------------------------------------ OPTICS ξ


def test_optics_xi_step_draws_xi_clusters_and_the_titles_agree_with_the_label(page, app_url):
    seen = {}
    for xi in ("0.05", "0.3"):
        open_page(page, f"{app_url}/density?algo=optics&xi={xi}")
        label = go_last(page)
        assert f"ξ method (ξ = {xi})" in label
        scatter, reach = chart(page, "db-chart"), chart(page, "db-reach")
        for fig in (scatter, reach):
            # the titles say what the label says: ξ's clusters, not the ε cut's
            assert f"ξ method (ξ = {xi})" in fig["title"] and counts_of(label) in fig["title"]
            assert "cut" not in fig["title"]
        assert "eps-cut" not in reach["roles"]
        seen[xi] = (scatter["colors"], reach["colors"], counts_of(label))
        assert_no_exception(page)
    assert seen["0.05"][2] != seen["0.3"][2]
    assert seen["0.05"][0] != seen["0.3"][0]  # the scatter changed
    assert seen["0.05"][1] != seen["0.3"][1]  # and the reachability plot


def test_optics_cut_step_draws_the_cut_and_side_by_side_says_what_it_compares(page, app_url):
    open_page(page, f"{app_url}/density?algo=optics&xi=0.05")
    go_last(page)
    titles = side_titles(page)
    label = label_text(page, "db")
    assert titles[0].startswith("OPTICS, ξ method (ξ = 0.05)") and counts_of(label) in titles[0]
    found = int(counts_of(label).split()[0])
    k = max(2, min(10, found))
    for t in titles[1:]:
        assert f"k = {k}" in t
        assert ("as many as OPTICS found" if k == found else f"OPTICS found {found} clusters") in t
    # one step back: the ε cut, in the charts and in the comparison
    before = label
    button(page, "prev", "db").click()
    page.wait_for_function(
        """([sel, before]) => document.querySelector(sel).innerText.trim() !== before""",
        arg=[".st-key-db-player .tl-label", before],
    )
    wait_python(page, "db")
    label = label_text(page, "db")
    assert "Cut the reachability plot at ε = 0.3" in label
    for key in ("db-chart", "db-reach"):
        fig = chart(page, key)
        assert "cut at ε = 0.3" in fig["title"] and counts_of(label) in fig["title"] and "ξ" not in fig["title"]
    titles = side_titles(page)
    assert titles[0].startswith("OPTICS, cut at ε = 0.3") and counts_of(label) in titles[0]
    assert_no_exception(page)


# --------------------------------------------------------------------------- equal scale


@pytest.mark.parametrize("width", [1440, 390])
@pytest.mark.parametrize("query", ["algo=dbscan&step=3", "algo=optics&step=5", "algo=hdbscan&step=1000"])
def test_density_charts_are_drawn_to_equal_scale(browser, app_url, width, query):
    context = browser.new_context(viewport={"width": width, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, f"{app_url}/density?{query}")
        page.locator(".st-key-db-side2 .js-plotly-plot").wait_for()
        # the step's chart and the panels may still be drawing on a busy machine
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
                          .filter(gd => gd._fullLayout && gd._fullLayout.yaxis && gd._fullLayout.yaxis.scaleanchor)
                          .length >= 4""")
        wait_idle(page)
        found = px_per_unit(page)
        # the step's scatter and the three side-by-side panels
        assert len(found) >= 4, found
        for f in found:
            assert f["x"] > 0 and abs(f["y"] / f["x"] - 1) < 0.02, f
        assert_no_exception(page)
    finally:
        context.close()


# --------------------------------------------------------------------------------- legends


@pytest.mark.parametrize("algo", ["dbscan", "optics", "hdbscan"])
def test_density_scatters_name_their_colours_in_a_legend(page, app_url, algo):
    open_page(page, f"{app_url}/density?algo={algo}&xi=0.05")
    label = go_last(page)
    fig = chart(page, "db-chart")
    n, noise = map(int, re.search(r"(\d+) clusters?, (\d+) noise", fig["title"]).groups())
    # the counts the title gives are those of the step's text
    assert re.search(rf"\b{n} clusters?\b", label) and re.search(rf"\b{noise} noise points?\b", label)
    for c in range(1, min(n, 12) + 1):
        assert f"cluster {c}" in fig["legend"], fig["legend"]
    assert f"cluster {n + 1}" not in fig["legend"]
    assert ("noise" in fig["legend"]) == (noise > 0)


def test_known_classes_has_a_colour_bar_and_readable_axes(page, app_url):
    open_page(page, f"{app_url}/selection")
    page.locator(".st-key-ck-section").get_by_text("Known classes", exact=True).click()
    page.locator(".st-key-ck-contingency .js-plotly-plot").wait_for()
    wait_idle(page)
    got = page.evaluate(
        """() => {
            const gd = document.querySelector('.st-key-ck-contingency .js-plotly-plot');
            const box = e => e.getBoundingClientRect();
            const ticks = Array.from(gd.querySelectorAll('.yaxislayer-above .ytick text, .ytick text')).map(box);
            const xticks = Array.from(gd.querySelectorAll('.xtick text')).map(e => [box(e), e.textContent]);
            return {colorbar: gd.querySelectorAll('.colorbar').length,
                    ytitle: box(gd.querySelector('.g-ytitle text')),
                    xtitle: box(gd.querySelector('.g-xtitle text')),
                    yticks: ticks, xticks: xticks.map(t => t[0]), xnames: xticks.map(t => t[1])};
        }"""
    )
    assert got["colorbar"] == 1
    # the axis titles sit beside the tick labels, never over them
    assert got["ytitle"]["right"] <= min(t["left"] for t in got["yticks"]) + 1
    assert got["xtitle"]["top"] >= max(t["bottom"] for t in got["xticks"]) - 1
    # clusters counted from 1, as in the k-means lab
    assert "cluster 1" in got["xnames"] and "cluster 0" not in got["xnames"]
    assert_no_exception(page)


# ---------------------------------------------------------------------------- Stop button


def test_choosing_k_shows_stop_only_while_the_runs_go(page, app_url):
    # settings no run has used yet, and runs long enough to be seen (a few seconds)
    seed = random.randrange(10**6, 10**9)
    open_page(page, f"{app_url}/selection?data=blobs&data_n_samples=10000&kmax=8&ninit=20&seed={seed}")
    page.locator('.js-plotly-plot').first.wait_for()
    wait_idle(page, timeout=120_000)
    no_stop = "() => !document.querySelector('.st-key-ck-stop button')"
    page.wait_for_function(no_stop, timeout=5_000)  # the runs are over: no Stop left
    # change the seed: new runs start, and Stop shows while they go
    seed_input = page.locator(".st-key-ck-seed input")
    seed_input.fill(str(seed + 1))
    seed_input.press("Enter")
    page.locator(".st-key-ck-stop button").first.wait_for(state="visible", timeout=30_000)
    page.locator(".st-key-ck-stop button").first.click()
    page.get_by_text("Stopped. Change a setting, or run these again.").wait_for()
    wait_idle(page)
    page.wait_for_function(no_stop, timeout=5_000)
    page.locator(".st-key-ck-resume button").click()
    page.locator(".st-key-ck-stop button").first.wait_for(state="visible", timeout=30_000)
    wait_idle(page, timeout=120_000)
    page.locator('.js-plotly-plot').first.wait_for()
    page.wait_for_function(no_stop, timeout=5_000)
    assert_no_exception(page)
