"""How the engines' messages write numbers, counts and lists."""

from __future__ import annotations

import numpy as np

from tracelab.record import words


def test_numbers_are_short_without_exponents_below_their_digits():
    assert words.num(0) == "0"
    assert words.num(0.012345) == "0.012"
    assert words.num(81.234) == "81"
    assert words.num(12345.6) == "12346"
    assert words.num(2.5e12) == "2.5e+12"


def test_two_values_get_the_digits_that_tell_them_apart():
    assert words.pair(81.21, 81.29) == ("81.2", "81.3")
    assert words.change("inertia", 81.21, 79.9) == "inertia 81.2 → 79.9"
    assert words.change("inertia", 81.2, 81.2) == "inertia unchanged at 81.2"


def test_counts_lists_rows_and_clusters():
    assert words.plural(1, "cluster") == "1 cluster" and words.plural(3, "cluster") == "3 clusters"
    assert words.plural(2, "reachability", "reachabilities") == "2 reachabilities"
    assert words.points(1) == "1 point" and words.changed(3) == "3 points changed cluster"
    assert words.and_list(["a"]) == "a" and words.and_list(["a", "b", "c"]) == "a, b and c"
    assert words.rows([4, 17, 88]) == "#4, #17 and #88"
    assert words.rows(range(10)) == "#0, #1, #2, #3, #4, … (10 in all)"
    assert words.clusters([1, 2]) == "clusters 2 and 3"
    assert words.sizes(np.array([0, 0, 2]), 3) == "clusters of 2/0/1 points (cluster 2 is empty)"


def test_ordinals_read_as_spoken():
    from tracelab.record.words import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"]


def test_num_writes_infinity_and_nan_in_words():
    from tracelab.record.words import num

    assert (num(float("inf")), num(-np.inf), num(float("nan"))) == ("∞", "-∞", "undefined")
    assert num(0.012345, 3) == "0.0123" and num(1234.5, 3) == "1234"
