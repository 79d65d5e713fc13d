"""Which columns of a student's CSV are clustered and which one holds the known classes.

Files as students have them: a running id first or last, pandas' saved index,
a name per row next to the species, measurements that differ in every row,
no class column at all. Each test reads the file with :func:`read_csv` and
asks :func:`default_features` what the lab clusters by default.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.apptest import open_lab
from tracelab.data import Dataset, class_column, default_features, read_csv

SPECIES = ("setosa", "versicolor", "virginica")
# Height and weight centres per species: three groups a clustering can find.
CENTRES = {"setosa": (150.0, 50.0), "versicolor": (170.0, 70.0), "virginica": (190.0, 90.0)}


def people(n: int = 300, seed: int = 0) -> dict[str, list]:
    """Columns of the problem file: id 1..n, a unique name, height, weight (floats), species."""
    rng = np.random.default_rng(seed)
    species = [SPECIES[i % 3] for i in rng.permutation(n)]
    height = [round(CENTRES[s][0] + rng.normal(0, 4), 1) for s in species]
    weight = [round(CENTRES[s][1] + rng.normal(0, 4), 1) for s in species]
    return {
        "id": list(range(1, n + 1)),
        "name": [f"person {i:03d}" for i in rng.permutation(n)],
        "height": height,
        "weight": weight,
        "species": species,
    }


def csv(columns: dict[str, list], sep: str = ",") -> bytes:
    names = list(columns)
    lines = [sep.join(names)]
    for row in zip(*columns.values()):
        lines.append(sep.join(str(v) for v in row))
    return ("\n".join(lines) + "\n").encode()


def the_problem_file() -> bytes:
    return csv(people())


# ---------------------------------------------------------------------------
# Six and more files


def test_id_first_name_unique_species_three_values():
    ds = read_csv(the_problem_file())
    assert ds.columns == ("id", "height", "weight")  # every numeric column stays choosable
    features, left_out = default_features(ds)
    assert features == ("height", "weight")
    assert list(left_out) == ["id"]
    assert "1 to 300" in left_out["id"] and "row numbers" in left_out["id"]
    # The species are the known classes, not the unique names.
    assert ds.label_name == "species"
    assert set(ds.labels) == set(SPECIES)
    assert any("'name' was left out: it has a different value in every row" in n for n in ds.notes)
    assert any("'species' holds text with 3 values" in n for n in ds.notes)


def test_id_last_shuffled_and_in_capitals():
    cols = people(120, seed=1)
    order = np.random.default_rng(2).permutation(120)
    shuffled = {k: [cols[k][i] for i in order] for k in ("species", "height", "weight", "name")}
    shuffled["ID"] = [cols["id"][i] for i in order]  # row numbers, but the rows were shuffled
    ds = read_csv(csv(shuffled, sep=";"))
    features, left_out = default_features(ds)
    assert features == ("height", "weight")
    assert list(left_out) == ["ID"]
    assert ds.label_name == "species"


@pytest.mark.parametrize("header", ["", "Unnamed: 0"])
def test_pandas_saved_index_from_zero_is_left_out(header):
    # DataFrame.to_csv() writes the index as a first column with an empty name;
    # reading that back with pandas and saving again names it "Unnamed: 0".
    cols = people(50, seed=3)
    file = {header: list(range(50)), "height": cols["height"], "weight": cols["weight"],
            "species": cols["species"]}
    ds = read_csv(csv(file))
    features, left_out = default_features(ds)
    assert features == ("height", "weight")
    (index,) = left_out
    assert "0 to 49" in left_out[index]


def test_unique_float_measurements_are_kept():
    cols = people(200, seed=4)
    # Heights in cm with one decimal, and a made-up reading with many digits:
    # every row has its own value, as measurements often do.
    reading = np.random.default_rng(5).normal(0, 1, 200).round(6).tolist()
    assert len(set(reading)) == 200
    file = {"height": cols["height"], "reading": reading, "body mass index": cols["weight"],
            "species": cols["species"]}
    ds = read_csv(csv(file))
    assert default_features(ds) == (("height", "reading", "body mass index"), {})


def test_unique_whole_number_measurements_that_do_not_run_are_kept():
    # City populations: whole numbers, one per row, but nothing like row numbers.
    rng = np.random.default_rng(6)
    population = rng.choice(np.arange(10_000, 5_000_000), 60, replace=False).tolist()
    area = rng.uniform(10, 900, 60).round(1).tolist()
    # An integer measurement with repeats (waiting minutes, as in Old Faithful).
    waiting = rng.integers(40, 100, 60).tolist()
    ds = read_csv(csv({"population": population, "area": area, "waiting": waiting}))
    assert default_features(ds) == (("population", "area", "waiting"), {})


def test_a_name_unique_per_row_is_never_the_classes_even_alone():
    cols = people(80, seed=7)
    ds = read_csv(csv({"name": cols["name"], "height": cols["height"], "weight": cols["weight"]}))
    assert ds.labels is None and ds.label_name is None
    assert any("'name' was left out" in n and "different value in every row" in n for n in ds.notes)
    assert default_features(ds) == (("height", "weight"), {})


@pytest.mark.parametrize("order", [("name", "species"), ("species", "name")])
def test_species_is_chosen_whichever_text_column_comes_first(order):
    cols = people(90, seed=8)
    file = {order[0]: cols[order[0]], "height": cols["height"], order[1]: cols[order[1]]}
    ds = read_csv(csv(file))
    assert ds.label_name == "species"
    assert ds.columns == ("height",)


def test_no_class_column_at_all():
    cols = people(100, seed=9)
    ds = read_csv(csv({"id": cols["id"], "height": cols["height"], "weight": cols["weight"]}))
    assert ds.labels is None and ds.label_name is None
    assert default_features(ds) == (("height", "weight"),
                                    {"id": "it holds the whole numbers 1 to 100, one per row, like row numbers"})


def test_ids_with_gaps_and_ids_named_so_are_left_out():
    cols = people(100, seed=10)
    kept = [i for i in range(100) if i % 7 != 3]  # some rows deleted: the ids have gaps
    n = len(kept)
    rng = np.random.default_rng(11)
    file = {
        "row": [cols["id"][i] for i in kept],
        "studentId": rng.choice(np.arange(10**6, 10**7), n, replace=False).tolist(),
        "height": [cols["height"][i] for i in kept],
        "weight": [cols["weight"][i] for i in kept],
    }
    ds = read_csv(csv(file))
    features, left_out = default_features(ds)
    assert features == ("height", "weight")
    assert list(left_out) == ["row", "studentId"]
    assert "go up row by row (1, 2, 3, ...)" in left_out["row"]
    assert "name" in left_out["studentId"]


def test_a_grid_coordinate_named_row_with_repeats_is_kept():
    rows = [r for r in range(6) for _ in range(5)]
    cols = [c for _ in range(6) for c in range(5)]
    value = np.random.default_rng(12).normal(0, 1, 30).round(3).tolist()
    ds = read_csv(csv({"row": rows, "col": cols, "value": value}))
    assert default_features(ds) == (("row", "col", "value"), {})


def test_numeric_class_codes_named_target_are_the_classes():
    # scikit-learn's frames save the classes as codes 0, 1, 2 in "target".
    cols = people(60, seed=13)
    target = [SPECIES.index(s) for s in cols["species"]]
    ds = read_csv(csv({"height": cols["height"], "weight": cols["weight"], "target": target}))
    assert ds.label_name == "target"
    assert set(ds.labels) == {"0", "1", "2"}
    features, left_out = default_features(ds)
    assert features == ("height", "weight")
    assert "known classes" in left_out["target"]
    # Still a column a student can choose.
    assert ds.select(["height", "target"]).n_features == 2


def test_whole_number_measurements_named_with_a_class_word_are_features():
    # "group size" counts people: a measurement, though "group" names classes elsewhere.
    rng = np.random.default_rng(17)
    file = {"group size": rng.integers(2, 6, 80).tolist(), "cost": rng.uniform(5, 50, 80).round(2).tolist()}
    ds = read_csv(csv(file))
    assert ds.labels is None
    assert default_features(ds) == (("group size", "cost"), {})


def test_a_text_column_with_many_values_is_not_the_classes():
    rng = np.random.default_rng(14)
    city = [f"city {int(c)}" for c in rng.integers(0, 40, 200)]
    ds = read_csv(csv({"x": rng.normal(0, 1, 200).round(3).tolist(), "city": city}))
    assert ds.labels is None
    assert any("'city' was left out" in n and "too many for known classes" in n for n in ds.notes)


def test_tiny_files_keep_every_column():
    # Two or three rows say nothing about row numbers; and a file of row
    # numbers only still has something to cluster.
    for data in (b"a,b\n0,0\n1,1\n", b"a,b\n1,5\n2,7\n3,4\n", b"id\n1\n2\n3\n4\n5\n6\n"):
        ds = read_csv(data)
        assert default_features(ds) == (ds.columns, {}), data


# ---------------------------------------------------------------------------
# The rule itself


def test_class_column_prefers_a_class_name_then_fewest_values():
    n = 60
    two = ["a", "b"] * (n // 2)
    three = ["p", "q", "r"] * (n // 3)
    four = ["w", "x", "y", "z"] * (n // 4)
    assert class_column({"colour": three, "site": two})[0] == "site"
    assert class_column({"colour": two, "Species": four})[0] == "Species"
    assert class_column({"y": three, "site": two})[0] == "y"
    name, rejected = class_column({"name": [f"n{i}" for i in range(n)], "one": ["a"] * n})
    assert name is None and set(rejected) == {"name", "one"}


def test_default_features_of_a_dataset_keeps_the_column_order():
    X = np.column_stack([np.random.default_rng(15).normal(size=30), np.arange(30), np.ones(30)])
    ds = Dataset(X=X, columns=("x", "index", "const"))
    assert default_features(ds)[0] == ("x", "const")


# ---------------------------------------------------------------------------
# In the Choosing k lab


def test_choosing_k_lab_clusters_height_and_weight_and_compares_with_species():
    at = open_lab("selection")
    at.radio(key="ck.data.source").set_value("Upload a CSV").run()
    at.file_uploader(key="ck.data.upload").set_value(("people.csv", the_problem_file(), "text/csv")).run()
    assert not at.exception
    (chooser,) = [m for m in at.sidebar.multiselect if m.label == "Feature columns"]
    assert chooser.value == ["height", "weight"]
    assert chooser.options == ["id", "height", "weight"]
    note = " ".join(i.value for i in at.sidebar.info)
    assert "'id' is not clustered" in note and "1 to 300" in note and "Feature columns" in note

    at.segmented_control(key="ck-section").set_value("Known classes").run()
    assert not at.exception
    ari = float(at.metric[0].value)
    assert ari > 0.9  # species, not 300 names (which gave 0.000)

    # Adding "id" back: it is clustered, and the note about it goes away.
    chooser.set_value(["id", "height", "weight"]).run()
    assert not at.exception
    assert "'id' is not clustered" not in " ".join(i.value for i in at.sidebar.info)


def test_notes_show_column_names_as_written():
    # A name from a file is never Markdown: no bold, no formula, no link.
    cols = people(40, seed=16)
    file = {"**id**": cols["id"], "$h^2$": cols["height"], "[w](javascript:alert(1))": cols["weight"]}
    at = open_lab("em")
    at.radio(key="em.data.source").set_value("Upload a CSV").run()
    at.file_uploader(key="em.data.upload").set_value(("odd.csv", csv(file), "text/csv")).run()
    assert not at.exception
    note = " ".join(i.value for i in at.sidebar.info)
    assert r"\*\*id\*\*" in note
