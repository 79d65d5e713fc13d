"""What one Next click makes the EM and k-means labs send: numbers, not styled text.

Each click reruns only the lab's fragment, and everything it draws travels over
the WebSocket again: these tests pin the tables to plain frames (no pandas
Styler, which formats every cell in Python and sends a string per cell) and the
"Compare with EM" chart to a compact figure that is byte-identical between two
steps of the same iteration (Streamlit then sends a reference to the cached
message instead of the chart).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from apptest import go, open_lab, trace_of
from tracelab.labs.em import views as em_views
from tracelab.labs.kmeans import views as km_views


def _column_config(frame) -> dict:
    return json.loads(frame.proto.columns or "{}")


def _charts(at) -> list:
    return [e for e in at.get("plotly_chart")]


# ------------------------------------------------------------------------------ EM


@pytest.fixture(scope="module")
def em():
    return open_lab("em")


def test_the_responsibilities_grid_gets_numbers_and_formats_them_as_the_formula(em):
    go(em, 2)
    trace = trace_of(em, "em")
    (grid,) = [d for d in em.dataframe if "r(k=1)" in d.value.columns]
    frame = grid.value
    # numbers, so that sorting a column sorts by value; the point index needs no 64 bits
    assert frame["point"].dtype == np.int32 and frame["point"].tolist() == list(range(trace.X.shape[0]))
    r = trace.steps[1].responsibilities
    for j in range(r.shape[1]):
        assert frame[f"r(k={j + 1})"].dtype == np.float64
        assert np.array_equal(frame[f"r(k={j + 1})"].to_numpy(), r[:, j])
    # the browser writes each one with the format format_responsibility mirrors (the coordinates too)
    config = _column_config(grid)
    for name in ["eruptions", "waiting", *(f"r(k={j + 1})" for j in range(r.shape[1]))]:
        assert config[name]["type_config"] == {"type": "number", "format": em_views.RESPONSIBILITY_FORMAT}
    assert "point" not in config  # row numbers as integers
    assert em_views.RESPONSIBILITY_FORMAT == "%.4g"


def test_the_parameters_table_is_written_to_four_digits_with_a_dash_for_missing(em):
    trace = trace_of(em, "em")
    for step in (1, 2):
        go(em, step)
        (table,) = em.table
        shown = table.value
        numbers = em_views.parameters_table(trace, step - 1).set_index("component").T
        assert list(shown.columns) == list(numbers.columns)
        for row, values in zip(shown.itertuples(index=False), numbers.itertuples(index=False)):
            assert list(row) == ["—" if math.isnan(v) else f"{v:.4g}" for v in values]
    go(em, 1)
    assert (em.table[0].value.loc["Δ weight"] == "—").all()  # nothing before the start


# ------------------------------------------------------------------------- k-means


@pytest.fixture(scope="module")
def km():
    return open_lab("kmeans")


def test_the_clusters_table_is_written_to_four_digits_with_a_dash_for_missing(km):
    trace = trace_of(km, "km")
    for step in (1, 3):
        go(km, step, "km")
        (table,) = km.table
        numbers = km_views.centers_table(trace, step - 1).set_index("cluster").T
        expected = [["—" if math.isnan(v) else f"{v:.4g}" for v in row] for row in numbers.itertuples(index=False)]
        assert [list(row) for row in table.value.itertuples(index=False)] == expected
        assert list(table.value.columns) == ["cluster 1", "cluster 2", "cluster 3"]


def test_compare_with_em_is_sent_compact_and_again_only_when_the_iteration_changes(km):
    trace = trace_of(km, "km")
    specs = {}
    for step in range(1, 6):
        go(km, step, "km")
        (chart,) = [c for c in _charts(km) if "EM: responsibilities" in c.proto.spec]
        specs[step] = chart.proto.spec
        assert len(chart.proto.spec) < 40_000  # the heatmap of regions alone was 30 KB
    done = {step: km_views.iterations_done(trace, step - 1) for step in specs}
    assert done == {1: 0, 2: 0, 3: 1, 4: 1, 5: 2}
    # the same iteration: the same bytes, so Streamlit can send a reference to what the browser has
    assert specs[1] == specs[2] and specs[3] == specs[4]
    assert specs[2] != specs[3] and specs[4] != specs[5]
    fig = json.loads(specs[3])
    (regions,) = [t for t in fig["data"] if (t.get("meta") or {}).get("role") == "regions"]
    assert regions["type"] == "image" and regions["source"].startswith("data:image/png;base64,")
