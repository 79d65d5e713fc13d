"""Lab state in the URL: parsing never raises, bad values fall back with a note."""

import pytest

from tracelab.ui import url

PARAMS = [
    url.Param("k", "lab.k", 2, url.integer(1, 10), "number of components"),
    url.Param("cov", "lab.cov", "full", url.choice(["full", "diag"]), "covariance type"),
    url.Param("tol", "lab.tol", 1e-3, url.number(0.0, 10.0), "tol"),
    url.Param("std", "lab.std", True, url.flag, "standardise"),
]


def test_good_values_are_read_by_session_key():
    values, notes = url.parse_query(PARAMS, {"k": "3", "cov": "diag", "tol": "0.5", "std": "0"})
    assert values == {"lab.k": 3, "lab.cov": "diag", "lab.tol": 0.5, "lab.std": False}
    assert notes == []


def test_missing_values_are_left_to_the_defaults_silently():
    assert url.parse_query(PARAMS, {}) == ({}, [])


@pytest.mark.parametrize(
    "query, words",
    [
        ({"k": "99"}, ["k='99'", "between 1 and 10", "using 2"]),
        ({"k": "two"}, ["whole number"]),
        ({"cov": "banana"}, ["one of full, diag", "using full"]),
        ({"tol": "nan"}, ["between 0 and 10"]),
        ({"tol": "-1"}, ["between 0 and 10"]),
        ({"std": "maybe"}, ["1 or 0"]),
    ],
)
def test_bad_values_fall_back_with_a_note(query, words):
    values, notes = url.parse_query(PARAMS, query)
    assert values == {}
    assert len(notes) == 1
    for word in words:
        assert word in notes[0]


def test_long_garbage_is_shortened_in_the_note():
    _, notes = url.parse_query(PARAMS, {"cov": "x" * 500})
    assert len(notes[0]) < 200


def test_format_round_trips_through_parse():
    for p, value in [(PARAMS[0], 7), (PARAMS[1], "diag"), (PARAMS[2], 1e-6), (PARAMS[3], False)]:
        assert p.parse(p.format(value)) == value
