"""Tests for tracelab.data.datasets: built-in data and seeded generators."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tracelab.data import datasets
from tracelab.data import Dataset, default_features

GENERATORS = [
    "blobs",
    "anisotropic_blobs",
    "unequal_variances",
    "overlapping",
    "two_moons",
    "concentric_circles",
]
FIXED = ["six_points", "old_faithful", "iris"]


def test_names_lists_fixed_data_then_generators():
    assert datasets.names() == FIXED + GENERATORS


@pytest.mark.parametrize("name", FIXED + GENERATORS)
def test_every_name_loads_a_read_only_dataset(name):
    ds = datasets.load(name)
    assert isinstance(ds, Dataset)
    assert ds.n_samples >= 6 and ds.n_features >= 1
    assert np.isfinite(ds.X).all()
    assert not ds.X.flags.writeable
    with pytest.raises(ValueError):
        ds.X[0, 0] = 1.0


@pytest.mark.parametrize("name", FIXED + GENERATORS)
def test_every_name_is_described_in_one_line(name):
    text = datasets.describe(name)
    assert isinstance(text, str) and len(text) > 20
    assert "\n" not in text


def test_titles_for_the_picker():
    titles = [datasets.title(name) for name in datasets.names()]
    assert titles[:3] == ["Six points (lesson)", "Old Faithful", "Iris"]
    assert datasets.title("two_moons") == "Two moons"
    assert len(set(titles)) == len(titles)
    assert all(t[0].isupper() for t in titles)


def test_six_points():
    ds = datasets.load("six_points")
    assert ds.columns == ("x",)
    assert ds.X.shape == (6, 1)
    assert ds.X[:, 0].tolist() == [0.80, 1.10, 1.40, 4.70, 5.10, 5.50]
    assert datasets.SIX_POINTS == (0.80, 1.10, 1.40, 4.70, 5.10, 5.50)
    assert datasets.SIX_POINTS_MEANS == (1.60, 4.40)
    assert datasets.SIX_POINTS_WEIGHTS == (0.5, 0.5)
    assert datasets.SIX_POINTS_VARIANCES == (1.0, 1.0)
    assert ds.labels is None


def test_old_faithful():
    ds = datasets.load("old_faithful")
    assert ds.X.shape == (272, 2)
    assert ds.columns == ("eruptions", "waiting")
    np.testing.assert_allclose(ds.X.mean(axis=0), [3.487783, 70.897059], atol=5e-7)
    assert ds.name == "Old Faithful"


def test_iris():
    ds = datasets.load("iris")
    assert ds.X.shape == (150, 4)
    assert ds.columns == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert ds.label_name == "species"
    assert Counter(ds.labels) == {"setosa": 50, "versicolor": 50, "virginica": 50}
    # Fisher's data: the means every textbook quotes.
    np.testing.assert_allclose(ds.X.mean(axis=0), [5.843333, 3.057333, 3.758, 1.199333], atol=5e-7)


@pytest.mark.parametrize("name", FIXED + GENERATORS)
def test_every_built_in_column_is_a_default_feature(name):
    # The rule that leaves row numbers out of a student's CSV finds none here:
    # Old Faithful's waiting minutes are whole numbers, but repeat.
    ds = datasets.load(name)
    assert default_features(ds) == (ds.columns, {})


@pytest.mark.parametrize("file_name", ["old_faithful.csv", "iris.csv"])
def test_data_files_ship_inside_the_package(file_name):
    assert resources.files("tracelab.data.datasets").joinpath(file_name).is_file()


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_default_shape_labels_and_name(name):
    ds = datasets.load(name)
    assert ds.X.shape == (300, 2)
    assert ds.columns == ("x1", "x2")
    assert ds.label_name == "component"
    assert all(isinstance(v, str) for v in ds.labels)
    counts = Counter(ds.labels)
    assert sorted(counts) == [str(k) for k in range(len(counts))]
    assert max(counts.values()) - min(counts.values()) <= 1  # components split evenly
    assert "n=300" in ds.name and "seed=0" in ds.name


def test_generator_name_states_the_parameters():
    assert datasets.load("two_moons").name == "two moons (n=300, noise=0.08, seed=0)"
    assert datasets.load("blobs", n_samples=50, seed=3).name == (
        "blobs (n=50, n_components=3, cluster_std=1, seed=3)"
    )
    assert datasets.load("anisotropic_blobs").name == "anisotropic blobs (n=300, seed=0)"


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(name):
    a, b = datasets.load(name, seed=7), datasets.load(name, seed=7)
    assert a == b
    assert a.X.tobytes() == b.X.tobytes() and a.labels == b.labels
    assert datasets.load(name, seed=8).X.tobytes() != a.X.tobytes()


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("n", [2, 7, 1001])
def test_generators_make_n_samples_rows(name, n):
    ds = datasets.load(name, n_samples=n)
    assert ds.X.shape == (n, 2)
    assert len(ds.labels) == n


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_rows_are_shuffled(name):
    labels = datasets.load(name).labels
    # Unshuffled, the labels would come in one run per component.
    runs = 1 + sum(a != b for a, b in zip(labels, labels[1:]))
    assert runs > 20


def test_blobs_n_components():
    for k in (1, 5, 10):
        ds = datasets.load("blobs", n_components=k)
        assert len(set(ds.labels)) == k


def test_blobs_cluster_std():
    ds = datasets.load("blobs", n_samples=3000, cluster_std=2.0)
    labels = np.array(ds.labels)
    for k in "012":
        np.testing.assert_allclose(ds.X[labels == k].std(axis=0), 2.0, rtol=0.1)


def test_anisotropic_blobs_are_tilted_ellipses():
    ds = datasets.load("anisotropic_blobs", n_samples=3000)
    labels = np.array(ds.labels)
    for k in "012":
        corr = np.corrcoef(ds.X[labels == k].T)[0, 1]
        assert corr < -0.8  # the shear [[0.6, -0.6], [-0.4, 0.8]] makes x1 and x2 strongly anti-correlated


@pytest.mark.parametrize("name", ["anisotropic_blobs", "unequal_variances"])
def test_examples_show_what_they_claim_k_means_fails_and_em_does_not(name):
    # The descriptions promise this; scikit-learn is the oracle.
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    ds = datasets.load(name)
    k_means = KMeans(3, n_init=10, random_state=0).fit_predict(ds.X)
    em = GaussianMixture(3, n_init=5, random_state=0).fit_predict(ds.X)
    assert adjusted_rand_score(ds.labels, em) > 0.85
    assert adjusted_rand_score(ds.labels, k_means) < adjusted_rand_score(ds.labels, em) - 0.1


def test_unequal_variances_have_spreads_1_2_5_and_0_5():
    ds = datasets.load("unequal_variances", n_samples=3000)
    labels = np.array(ds.labels)
    stds = [ds.X[labels == k].std(axis=0) for k in "012"]
    np.testing.assert_allclose(stds, [[1.0, 1.0], [2.5, 2.5], [0.5, 0.5]], rtol=0.1)


@pytest.mark.parametrize("separation", [0.0, 1.0, 3.5])
def test_overlapping_means_are_separation_apart(separation):
    ds = datasets.load("overlapping", n_samples=4000, separation=separation)
    labels = np.array(ds.labels)
    gap = np.linalg.norm(ds.X[labels == "0"].mean(axis=0) - ds.X[labels == "1"].mean(axis=0))
    assert abs(gap - separation) < 0.15


def _sorted_rows(X: np.ndarray) -> np.ndarray:
    return X[np.lexsort(X.T[::-1])]


@pytest.mark.parametrize("n", [10, 301])
def test_two_moons_without_noise_match_scikit_learn(n):
    from sklearn.datasets import make_moons

    expected, _ = make_moons(n_samples=n, noise=None, shuffle=False)
    ds = datasets.load("two_moons", n_samples=n, noise=0.0)
    np.testing.assert_allclose(_sorted_rows(ds.X), _sorted_rows(expected), atol=1e-12)


@pytest.mark.parametrize("n", [10, 301])
def test_concentric_circles_without_noise_match_scikit_learn(n):
    from sklearn.datasets import make_circles

    expected, _ = make_circles(n_samples=n, noise=None, factor=0.3, shuffle=False)
    ds = datasets.load("concentric_circles", n_samples=n, noise=0.0, factor=0.3)
    np.testing.assert_allclose(_sorted_rows(ds.X), _sorted_rows(expected), atol=1e-12)
    radius = np.linalg.norm(ds.X, axis=1)
    labels = np.array(ds.labels)
    np.testing.assert_allclose(radius[labels == "0"], 1.0)
    np.testing.assert_allclose(radius[labels == "1"], 0.3)


def test_noise_spreads_the_moons():
    clean = datasets.load("two_moons", noise=0.0)
    noisy = datasets.load("two_moons", noise=0.3)
    # Same labels in the same order (same seed and shuffle), so the rows pair up.
    assert clean.labels == noisy.labels
    assert 0.2 < np.std(noisy.X - clean.X) < 0.4


def test_parameters():
    assert datasets.parameters("two_moons") == {"n_samples": 300, "noise": 0.08, "seed": 0}
    assert datasets.parameters("concentric_circles") == {
        "n_samples": 300,
        "noise": 0.05,
        "factor": 0.5,
        "seed": 0,
    }
    assert datasets.parameters("anisotropic_blobs") == {"n_samples": 300, "seed": 0}
    for name in FIXED:
        assert datasets.parameters(name) == {}
    for name in GENERATORS:
        assert {"n_samples", "seed"} <= set(datasets.parameters(name))
        assert datasets.PARAMS[name] == datasets.parameters(name)


def test_parameters_is_a_copy_and_PARAMS_is_read_only():
    datasets.parameters("two_moons")["noise"] = 9.0
    assert datasets.parameters("two_moons")["noise"] == 0.08
    with pytest.raises(TypeError):
        datasets.PARAMS["two_moons"]["noise"] = 9.0  # type: ignore[index]
    with pytest.raises(TypeError):
        datasets.PARAMS["mine"] = {}  # type: ignore[index]


@pytest.mark.parametrize("name", GENERATORS)
def test_every_limit_is_allowed_and_holds_the_default(name):
    limits = datasets.parameter_limits(name)
    defaults = datasets.parameters(name)
    assert limits.keys() == defaults.keys()
    for param, (low, high) in limits.items():
        assert low <= defaults[param] <= high
        assert type(low) is type(defaults[param]) is type(high)
        for value in (low, high):
            ds = datasets.load(name, **{param: value})
            assert ds.n_samples == (value if param == "n_samples" else 300)


def test_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match=r"no built-in data set 'moons'.*six_points, old_faithful, iris, blobs"):
        datasets.load("moons")
    for call in (datasets.title, datasets.describe, datasets.parameters, datasets.parameter_limits):
        with pytest.raises(ValueError, match="two_moons"):
            call("moons")
    with pytest.raises(ValueError, match="no built-in data set"):
        datasets.load(["iris"])  # type: ignore[arg-type]


def test_unknown_parameter_lists_the_parameters():
    with pytest.raises(ValueError, match=r"two_moons takes n_samples, noise, seed, but got 'nosie'"):
        datasets.load("two_moons", nosie=0.1)


def test_fixed_data_takes_no_parameters():
    with pytest.raises(ValueError, match=r"iris takes no parameters, but got 'seed'"):
        datasets.load("iris", seed=1)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("blobs", {"n_samples": 2.5}, "n_samples should be a whole number, but got 2.5"),
        ("blobs", {"n_samples": "300"}, "n_samples should be a whole number, but got '300'"),
        ("blobs", {"seed": True}, "seed should be a whole number, but got True"),
        ("blobs", {"n_samples": 1}, "n_samples should be at least 2, but got 1"),
        ("blobs", {"n_samples": 20_001}, "n_samples should be at most 20000, but got 20001"),
        ("blobs", {"seed": -1}, "seed should be at least 0, but got -1"),
        ("blobs", {"n_components": 11}, "n_components should be at most 10, but got 11"),
        ("two_moons", {"noise": -0.1}, "noise should be at least 0.0, but got -0.1"),
        ("two_moons", {"noise": float("nan")}, "noise should be a finite number, but got nan"),
        ("two_moons", {"noise": "0.1"}, "noise should be a number, but got '0.1'"),
        ("concentric_circles", {"factor": 1.0}, "factor should be at most 0.9, but got 1.0"),
    ],
)
def test_bad_values_are_refused(name, params, message):
    with pytest.raises(ValueError, match=message):
        datasets.load(name, **params)


def test_numpy_numbers_are_accepted():
    ds = datasets.load("two_moons", n_samples=np.int64(40), noise=np.float32(0.1), seed=np.uint8(3))
    assert ds.name == "two moons (n=40, noise=0.1, seed=3)"
    assert ds == datasets.load("two_moons", n_samples=40, noise=float(np.float32(0.1)), seed=3)


def test_integer_noise_is_accepted_as_float():
    assert datasets.load("two_moons", noise=0).name == "two moons (n=300, noise=0, seed=0)"


def test_loading_needs_no_scikit_learn():
    code = (
        "import sys\n"
        "from tracelab import datasets\n"
        "for name in datasets.names(): datasets.load(name)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'streamlit', 'plotly')]\n"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
