"""The link is the view: every choice a student sees on a lab travels in its link.

Each lab is driven through AppTest: the view's choices are set, the link the
page writes is opened by a fresh session, and the same choices are shown there.
A choice the data or page cannot show falls back with the link's note.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.apptest import go, open_lab
from tracelab.ui import lab as ui_lab


def query_of(at) -> dict[str, str]:
    """The query string the page wrote, as one value per field."""
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def reopened(page: str, at):
    """A fresh session opening the link ``at`` wrote."""
    return open_lab(page, **query_of(at))


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def test_section_names_travel_as_slugs():
    assert ui_lab.section_slug("Share and export") == "share-and-export"
    assert ui_lab.section_slug("σ² → 0: EM hardens into k-means") == "sigma2-to-0-em-hardens-into-k-means"
    assert ui_lab.section_slug("BIC / AIC") == "bic-aic"


def test_em_view_travels():
    at = open_lab("em", data="iris", k=3)
    at.selectbox(key="em.projection").set_value("Two columns").run()
    at.selectbox(key="em.xcol").set_value("petal_length").run()
    at.selectbox(key="em.ycol").set_value("sepal_width").run()
    at.toggle(key="em.hard").set_value(True).run()
    at.toggle(key="em.uncertain").set_value(True).run()
    at.session_state["em.speed"] = 10
    go(at, 4, "em")
    at.number_input(key="em.point").set_value(17).run()
    at.segmented_control(key="em-section").set_value("Equations").run()
    q = query_of(at)
    assert q["view"] == "columns" and q["x"] == "petal_length" and q["y"] == "sepal_width"
    assert q["hard"] == "1" and q["uncertain"] == "1" and q["point"] == "17"
    assert q["section"] == "equations" and q["speed"] == "10" and q["step"] == "4"

    again = reopened("em", at)
    assert again.selectbox(key="em.projection").value == "Two columns"
    assert again.selectbox(key="em.xcol").value == "petal_length"
    assert again.selectbox(key="em.ycol").value == "sepal_width"
    assert again.toggle(key="em.hard").value is True
    assert again.toggle(key="em.uncertain").value is True
    assert again.segmented_control(key="em-section").value == "Equations"
    assert again.session_state["em.point"] == 17
    assert again.session_state["em.speed"] == 10
    assert again.session_state["em.player.mount"][4] == 10, "the player starts at the link's speed"
    assert again.session_state["em.step"] == 4
    assert not warnings(again)


def test_kmeans_toggles_travel():
    at = open_lab("kmeans", algo="kmedoids")
    at.toggle(key="km.regions").set_value(False).run()
    at.toggle(key="km.lines").set_value(False).run()
    at.toggle(key="km.ball").set_value(True).run()
    at.segmented_control(key="km-section").set_value("σ² → 0: EM hardens into k-means").run()
    q = query_of(at)
    assert (q["regions"], q["lines"], q["ball"]) == ("0", "0", "1")
    again = reopened("kmeans", at)
    assert again.toggle(key="km.regions").value is False
    assert again.toggle(key="km.lines").value is False
    assert again.toggle(key="km.ball").value is True
    assert again.segmented_control(key="km-section").value == "σ² → 0: EM hardens into k-means"


def test_hierarchy_cut_travels_by_height():
    at = open_lab("hierarchy")
    at.radio(key="hc.cut_by").set_value("height").run()
    at.slider(key="hc.cut_height").set_value(2.5).run()
    at.toggle(key="hc.use_cut").set_value(True).run()
    at.segmented_control(key="hc-section").set_value("Distance matrix").run()
    q = query_of(at)
    assert q["cutby"] == "height" and float(q["height"]) == 2.5 and q["bycut"] == "1"
    again = reopened("hierarchy", at)
    assert again.radio(key="hc.cut_by").value == "height"
    assert again.slider(key="hc.cut_height").value == pytest.approx(2.5)
    assert again.toggle(key="hc.use_cut").value is True
    assert again.segmented_control(key="hc-section").value == "Distance matrix"
    assert again.session_state["hc.cutk"] == at.session_state["hc.cutk"], "k follows the height"
    assert not [e.value for e in again.exception]


def test_density_and_selection_sections_travel():
    at = open_lab("density", algo="optics")
    at.segmented_control(key="db-section").set_value("Share and export").run()
    assert query_of(at)["section"] == "share-and-export"
    assert reopened("density", at).segmented_control(key="db-section").value == "Share and export"

    sel = open_lab("selection")
    sel.segmented_control(key="ck-section").set_value("BIC / AIC").run()
    sel.radio(key="ck.which").set_value("aic").run()
    q = query_of(sel)
    assert q["section"] == "bic-aic" and q["criterion"] == "aic"
    again = reopened("selection", sel)
    assert again.segmented_control(key="ck-section").value == "BIC / AIC"
    assert again.radio(key="ck.which").value == "aic"


@pytest.mark.parametrize("field,value,words", [
    ("x", "no_such_column", "x='no_such_column' was ignored (this data has no such column)"),
    ("section", "nowhere", "section='nowhere' was ignored (this page has no such section)"),
])
def test_a_view_the_data_or_page_cannot_show_falls_back_with_a_note(field, value, words):
    at = open_lab("em", data="iris", view="columns", **{field: value})
    assert any(words in w for w in warnings(at)), warnings(at)
    assert at.selectbox(key="em.xcol").value == "sepal_length"
    assert at.segmented_control(key="em-section").value == "Responsibilities"
    # Said once: the next run does not say it again.
    at.toggle(key="em.hard").set_value(True).run()
    assert not any(words in w for w in warnings(at))


def test_a_bad_speed_or_view_falls_back_with_the_links_note():
    at = open_lab("em", data="iris", speed="7", view="sideways")
    text = " ".join(warnings(at))
    assert "speed='7' was ignored" in text and "view='sideways' was ignored" in text
    assert at.session_state["em.speed"] == 2
    assert at.selectbox(key="em.projection").value == "PCA"


def sidebar_hidden(at) -> bool:
    return any('[data-testid="stSidebar"]' in h.proto.body for h in at.get("html"))


def test_a_lesson_link_locks_the_settings_until_a_student_explores():
    at = open_lab("em", data="iris", k=3, lock=1, sections="responsibilities,equations", section="equations")
    assert any("Settings chosen for this lesson" in m.value for m in at.markdown)
    assert sidebar_hidden(at)
    bar = at.segmented_control(key="em-section")
    assert bar.options == ["Responsibilities", "Equations"] and bar.value == "Equations"
    assert query_of(at)["lock"] == "1", "the page's own link stays a lesson link"

    at.toggle(key="em.explore").set_value(True).run()
    assert not sidebar_hidden(at)
    assert any("Exploring on your own" in m.value for m in at.markdown)
    assert "Share and export" in at.segmented_control(key="em-section").options

    # Explored in this session only: a fresh one opening the same link is locked.
    assert sidebar_hidden(reopened("em", at))


def test_the_lesson_banner_mentions_the_player_only_where_there_is_one():
    def banner(page: str) -> str:
        at = open_lab(page, lock=1)
        return next(m.value for m in at.markdown if "Settings chosen for this lesson" in m.value)

    assert "with the player" in banner("kmeans")
    assert "player" not in banner("selection"), "Choosing k has no player"
    assert "Explore on my own" in banner("selection")


def test_the_share_section_offers_a_plain_and_a_lesson_link():
    at = open_lab("em", data="iris", k=3, section="share-and-export")
    codes = [c.value for c in at.code]
    plain_link = next(c for c in codes if "k=3" in c and "lock=1" not in c)
    assert "section=share-and-export" in plain_link
    at.multiselect(key="em.lesson_sections").set_value(["Responsibilities", "Equations"]).run()
    lesson = next(c for c in (c.value for c in at.code) if "lock=1" in c)
    assert "sections=responsibilities%2Cequations" in lesson and "k=3" in lesson

    query = dict(part.split("=", 1) for part in lesson.split("?", 1)[1].split("&"))
    query["sections"] = "responsibilities,equations"
    query["section"] = "responsibilities"
    student = open_lab("em", **query)
    assert sidebar_hidden(student)
    assert student.segmented_control(key="em-section").options == ["Responsibilities", "Equations"]


def upload(at, name: str, content: bytes, prefix: str = "em"):
    at.radio(key=f"{prefix}.data.source").set_value("Upload a CSV").run()
    at.file_uploader(key=f"{prefix}.data.upload").set_value((name, content, "text/csv")).run()
    assert not at.exception
    return at


SMALL = b"x;y;id\n" + b"\n".join(f"{i % 7},5;{(i * 3) % 11},25;{i}".encode() for i in range(60))


def test_a_small_upload_travels_in_the_link_with_its_columns_and_scale():
    at = upload(open_lab("em"), "mine.csv", SMALL)
    at.toggle(key="em.data.standardize").set_value(False).run()
    shown = at.session_state["_trace_memo.em"][1]
    q = query_of(at)
    assert q["data"] == "upload" and q["csv"].startswith("1.") and q["std"] == "0"

    again = reopened("em", at)
    trace = again.session_state["_trace_memo.em"][1]
    assert trace.X.shape == (60, 2), "the id column stays left out, as chosen"
    assert (trace.X == shown.X).all()
    assert any("from the link" in c.value for c in again.sidebar.caption)
    assert not again.error


def test_a_damaged_data_link_says_so_and_keeps_the_data_on_screen():
    field = query_of(upload(open_lab("em"), "mine.csv", SMALL))["csv"]
    at = open_lab("em", data="iris", k=3)
    before = at.session_state["_trace_memo.em"][1]
    # The same session follows a link whose data was cut off when it was copied.
    at.query_params.clear()
    at.query_params.update({"data": "upload", "csv": field[: len(field) // 2], "k": "3"})
    at.run()
    assert not at.exception
    text = " ".join(e.value for e in at.error)
    assert "The link's data was not loaded" in text and "damaged" in text, text
    assert (at.session_state["_trace_memo.em"][1].X == before.X).all(), "the data on screen stays"


def test_a_large_upload_says_why_it_cannot_travel():
    rows = "\n".join(f"{i * 0.001:.3f},{(i * 7919) % 1000 * 0.0137:.4f}" for i in range(1500))
    at = upload(open_lab("em"), "big.csv", ("a,b\n" + rows).encode())
    assert "csv" not in query_of(at)
    at.segmented_control(key="em-section").set_value("Share and export").run()
    note = " ".join(i.value for i in at.info)
    assert "too large to travel in a link" in note and "3,000" in note and "trace file" in note


def test_the_longest_link_with_data_stays_under_8000_characters():
    # 2 000 numbers of two decimals, the most a link carries, on the lab with the most fields.
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.2f},{b:.2f}" for a, b in rng.normal(0, 3, (1000, 2)))
    at = upload(open_lab("kmeans"), "two thousand numbers.csv", ("alpha,beta\n" + rows).encode(), prefix="km")
    at.segmented_control(key="km-section").set_value("Share and export").run()
    links = [c.value for c in at.code if "csv=" in c.value]
    assert len(links) == 2, "the plain link and the lesson link"
    assert max(len(link) for link in links) < 8_000, [len(link) for link in links]


def test_a_rerun_carrying_an_older_query_of_this_session_undoes_nothing():
    # The browser may ask for a rerun before an earlier run's query has reached its
    # address bar: that older query is this session's own, not a new link.
    at = open_lab("em", data="iris", k=3)
    older = dict(query_of(at))
    at.toggle(key="em.hard").set_value(True).run()
    at.toggle(key="em.data.standardize").set_value(False).run()
    assert query_of(at).get("hard") == "1" and query_of(at).get("std") == "0"
    at.query_params.clear()
    at.query_params.update(older)
    at.run()
    assert at.toggle(key="em.hard").value is True, "the student's changes stay"
    assert at.toggle(key="em.data.standardize").value is False
    # A query this session never wrote is a link, and is read.
    at.query_params.clear()
    at.query_params.update({**older, "k": "2"})
    at.run()
    assert at.session_state["em.k"] == 2
