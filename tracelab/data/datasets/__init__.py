"""Built-in data sets: the lesson's six points, Old Faithful, iris and generators.

Every data set is loaded by name::

    from tracelab import datasets
    datasets.names()                      # what the data set picker lists
    datasets.title("two_moons")           # "Two moons", for the picker
    datasets.describe("two_moons")        # one line for the UI
    datasets.parameters("two_moons")      # {"n_samples": 300, "noise": 0.08, "seed": 0}
    datasets.parameter_limits("two_moons")  # {"n_samples": (2, 10000), ...}
    datasets.load("two_moons", noise=0.1)   # a Dataset

The generators use numpy only and are seeded: the same parameters give the same
data. They keep each point's true component in ``labels`` (as strings "0",
"1", ...) so clusters can be compared with the truth. Their rows are shuffled,
so no algorithm can profit from the order in which components were drawn.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from tracelab.data import Dataset, read_csv

__all__ = [
    "names",
    "load",
    "title",
    "describe",
    "parameters",
    "parameter_limits",
    "PARAMS",
    "SIX_POINTS",
    "SIX_POINTS_MEANS",
    "SIX_POINTS_WEIGHTS",
    "SIX_POINTS_VARIANCES",
]

#: The lesson's 1-D example, column "x".
SIX_POINTS = (0.80, 1.10, 1.40, 4.70, 5.10, 5.50)
#: The lesson's suggested start for EM with two components on SIX_POINTS.
SIX_POINTS_MEANS = (1.60, 4.40)
SIX_POINTS_WEIGHTS = (0.5, 0.5)
SIX_POINTS_VARIANCES = (1.0, 1.0)

# Bounds on generator parameters. n_samples stays small enough for every lab to
# keep per-point state at every step; 2 points is the least anything clusters.
_N_SAMPLES = (2, 20_000)
_SEED = (0, 2**32 - 1)


@dataclass(frozen=True)
class _Param:
    default: Any
    low: Any
    high: Any


@dataclass(frozen=True)
class _Entry:
    title: str
    description: str
    make: Callable[..., Dataset]
    params: Mapping[str, _Param]


# ---------------------------------------------------------------------------
# Fixed data sets


def _six_points() -> Dataset:
    return Dataset(X=np.array(SIX_POINTS)[:, None], columns=("x",), name="six points")


@lru_cache(maxsize=None)
def _packaged(file_name: str, name: str) -> Dataset:
    # Datasets are immutable, so one copy can serve every caller.
    data = resources.files(__name__).joinpath(file_name).read_bytes()
    return read_csv(data, name=name)


def _old_faithful() -> Dataset:
    return _packaged("old_faithful.csv", "Old Faithful")


def _iris() -> Dataset:
    return _packaged("iris.csv", "iris")


# ---------------------------------------------------------------------------
# Generators: each takes validated parameters and returns (X, component).


def _split(n_samples: int, n_parts: int) -> np.ndarray:
    """How many of ``n_samples`` points each of ``n_parts`` components gets (as even as can be)."""
    return np.full(n_parts, n_samples // n_parts) + (np.arange(n_parts) < n_samples % n_parts)


def _gaussians(
    rng: np.random.Generator, n_samples: int, means: np.ndarray, stds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian components.

    Parameters
    ----------
    means : ndarray of shape (n_components, 2)
    stds : ndarray of shape (n_components,)

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    component : ndarray of shape (n_samples,)
    """
    counts = _split(n_samples, len(means))
    component = np.repeat(np.arange(len(means)), counts)
    X = means[component] + stds[component, None] * rng.standard_normal((n_samples, 2))
    return X, component


# Fixed centres, far apart for cluster_std=1, so seeds change only the sampling.
_BLOB_CENTRES = np.array(
    [
        [-6.0, -2.0], [0.0, 5.0], [6.0, -1.0], [-1.0, -7.0], [-8.0, 6.0],
        [8.0, 7.0], [10.0, -7.0], [-11.0, -8.0], [-2.0, 13.0], [14.0, 1.0],
    ]
)


def _blobs(rng, n_samples, n_components, cluster_std):
    stds = np.full(n_components, cluster_std)
    return _gaussians(rng, n_samples, _BLOB_CENTRES[:n_components], stds)


def _anisotropic_blobs(rng, n_samples):
    # scikit-learn's k-means assumptions example: blobs sheared by one linear
    # map, so every component is an elongated, tilted ellipse with the same
    # covariance. k-means cuts them wrongly; EM with full covariances does not.
    X, component = _gaussians(rng, n_samples, _BLOB_CENTRES[:3], np.ones(3))
    return X @ np.array([[0.6, -0.6], [-0.4, 0.8]]), component


def _unequal_variances(rng, n_samples):
    # Spreads 1.0, 2.5 and 0.5 as in scikit-learn's example, with the wide
    # component close to the others: k-means, which splits space halfway
    # between centres, gives the wide one's outskirts to its neighbours; EM
    # gives each component its own variance.
    means = np.array([[-4.5, 0.0], [2.0, 2.0], [5.0, -1.5]])
    return _gaussians(rng, n_samples, means, np.array([1.0, 2.5, 0.5]))


def _overlapping(rng, n_samples, separation):
    # Two unit-variance components whose means are `separation` standard
    # deviations apart: below about 2 the mixture has a single mode, and soft
    # responsibilities matter most.
    means = np.array([[0.0, 0.0], [separation, 0.0]]) @ _rotation(np.pi / 6)
    return _gaussians(rng, n_samples, means, np.ones(2))


def _rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s], [-s, c]])


def _two_moons(rng, n_samples, noise):
    # As scikit-learn's make_moons: evenly spaced points on two interleaved
    # half circles, then Gaussian noise.
    n_out, n_in = n_samples // 2, n_samples - n_samples // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            np.column_stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)]),
        ]
    )
    component = np.repeat([0, 1], [n_out, n_in])
    return X + noise * rng.standard_normal(X.shape), component


def _concentric_circles(rng, n_samples, noise, factor):
    # As scikit-learn's make_circles: an outer unit circle and an inner one of
    # radius `factor`; endpoint=False so no point is drawn twice.
    n_out, n_in = n_samples // 2, n_samples - n_samples // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            factor * np.column_stack([np.cos(t_in), np.sin(t_in)]),
        ]
    )
    component = np.repeat([0, 1], [n_out, n_in])
    return X + noise * rng.standard_normal(X.shape), component


def _generator(title: str, draw: Callable[..., tuple[np.ndarray, np.ndarray]]):
    """Wrap ``draw`` into a loader that seeds, shuffles and names the data set."""

    def make(n_samples: int, seed: int, **params: Any) -> Dataset:
        rng = np.random.default_rng(seed)
        X, component = draw(rng, n_samples, **params)
        # Shuffle so that "the first k points" (a common start) are not all
        # from one component, and the row order says nothing about the truth.
        order = rng.permutation(n_samples)
        shown = ", ".join(f"{k}={_format(v)}" for k, v in params.items())
        return Dataset(
            X=X[order],
            columns=("x1", "x2"),
            name=f"{title} (n={n_samples}, {shown + ', ' if shown else ''}seed={seed})",
            labels=tuple(str(c) for c in component[order]),
            label_name="component",
        )

    return make


def _format(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _n_and_seed(**extra: _Param) -> dict[str, _Param]:
    return {"n_samples": _Param(300, *_N_SAMPLES), **extra, "seed": _Param(0, *_SEED)}


_REGISTRY: dict[str, _Entry] = {
    "six_points": _Entry(
        "Six points (lesson)",
        "The lesson's six points on a line (0.8 to 5.5): two groups of three, "
        "for tracing EM by hand.",
        _six_points,
        {},
    ),
    "old_faithful": _Entry(
        "Old Faithful",
        "Old Faithful geyser: 272 eruptions, length and waiting time (minutes); "
        "two clear groups, the classic EM example.",
        _old_faithful,
        {},
    ),
    "iris": _Entry(
        "Iris",
        "Fisher's iris: 150 flowers, 4 measurements (cm) and the species, "
        "two of which overlap.",
        _iris,
        {},
    ),
    "blobs": _Entry(
        "Blobs",
        "Round, well-separated Gaussian blobs of equal spread: the easy case.",
        _generator("blobs", _blobs),
        _n_and_seed(
            n_components=_Param(3, 1, len(_BLOB_CENTRES)), cluster_std=_Param(1.0, 0.1, 5.0)
        ),
    ),
    "anisotropic_blobs": _Entry(
        "Anisotropic blobs",
        "Three stretched, tilted blobs: k-means cuts them wrongly, EM with full "
        "covariances does not.",
        _generator("anisotropic blobs", _anisotropic_blobs),
        _n_and_seed(),
    ),
    "unequal_variances": _Entry(
        "Unequal variances",
        "Three blobs with spreads 1, 2.5 and 0.5: k-means misplaces the boundaries, "
        "EM gives each its own variance.",
        _generator("unequal variances", _unequal_variances),
        _n_and_seed(),
    ),
    "overlapping": _Entry(
        "Overlapping Gaussians",
        "Two Gaussians whose means are `separation` standard deviations apart: "
        "soft assignments matter.",
        _generator("overlapping", _overlapping),
        _n_and_seed(separation=_Param(2.0, 0.0, 10.0)),
    ),
    "two_moons": _Entry(
        "Two moons",
        "Two interleaved half circles: not Gaussian, so density-based methods "
        "find them and k-means and EM do not.",
        _generator("two moons", _two_moons),
        _n_and_seed(noise=_Param(0.08, 0.0, 1.0)),
    ),
    "concentric_circles": _Entry(
        "Concentric circles",
        "A ring around a smaller ring: one cluster inside another, which no "
        "centre-based method can separate.",
        _generator("concentric circles", _concentric_circles),
        _n_and_seed(noise=_Param(0.05, 0.0, 1.0), factor=_Param(0.5, 0.1, 0.9)),
    ),
}

#: Each data set's parameters and their defaults (read-only); empty for fixed data.
PARAMS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        key: MappingProxyType({p: spec.default for p, spec in entry.params.items()})
        for key, entry in _REGISTRY.items()
    }
)


def names() -> list[str]:
    """Names of the built-in data sets, in the order a picker should list them."""
    return list(_REGISTRY)


def title(name: str) -> str:
    """The data set's name as the UI shows it, e.g. "Two moons" for ``two_moons``.

    Raises
    ------
    ValueError
        If ``name`` is not a built-in data set.
    """
    return _entry(name).title


def describe(name: str) -> str:
    """One sentence on the data set ``name`` for the UI.

    Raises
    ------
    ValueError
        If ``name`` is not a built-in data set.
    """
    return _entry(name).description


def parameters(name: str) -> dict[str, Any]:
    """The parameters ``load(name, ...)`` takes, with their defaults.

    The type of a default says the input to show: int (``n_samples``,
    ``seed``, ``n_components``) or float (``noise``, ``cluster_std``, ...).
    Fixed data sets take none.

    Raises
    ------
    ValueError
        If ``name`` is not a built-in data set.
    """
    return {p: spec.default for p, spec in _entry(name).params.items()}


def parameter_limits(name: str) -> dict[str, tuple[Any, Any]]:
    """The smallest and largest value of each parameter of ``name``, both allowed."""
    return {p: (spec.low, spec.high) for p, spec in _entry(name).params.items()}


def load(name: str, **params: Any) -> Dataset:
    """Load the built-in data set ``name``.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    **params
        For generators, any of :func:`parameters` (the rest keep their
        defaults): ``n_samples`` (int), ``seed`` (int) and e.g. ``noise``.

    Returns
    -------
    Dataset
        Generated data has shape (n_samples, 2), columns ``x1``, ``x2``, the
        true components as ``labels`` and a name that states the parameters,
        e.g. "two moons (n=300, noise=0.08, seed=0)".

    Raises
    ------
    ValueError
        For an unknown name, an unknown parameter, or a value of the wrong
        type or out of range; the message lists what is allowed.
    """
    entry = _entry(name)
    unknown = sorted(set(params) - set(entry.params))
    if unknown:
        takes = (
            f"takes {', '.join(entry.params)}" if entry.params else "takes no parameters"
        )
        raise ValueError(
            f"{name} {takes}, but got {', '.join(map(repr, unknown))}."
        )
    values = {p: _check(p, params.get(p, spec.default), spec) for p, spec in entry.params.items()}
    return entry.make(**values)


def _entry(name: str) -> _Entry:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"There is no built-in data set {name!r}; the data sets are {', '.join(_REGISTRY)}."
        ) from None


def _check(param: str, value: Any, spec: _Param) -> Any:
    """``value`` as the type of the default, or ValueError saying what is allowed."""
    given = value
    if isinstance(spec.default, int):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{param} should be a whole number, but got {given!r}.")
        value = int(value)
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{param} should be a number, but got {given!r}.")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{param} should be a finite number, but got {given!r}.")
    if value < spec.low:
        raise ValueError(f"{param} should be at least {spec.low}, but got {given!r}.")
    if value > spec.high:
        raise ValueError(f"{param} should be at most {spec.high}, but got {given!r}.")
    return value


# ---------------------------------------------------------------------------
# Coins and binary images, for EM beyond Gaussians (not in the picker above:
# they are sets of tosses and 0/1 pixels, not points in a plane).

#: Do & Batzoglou's five sets of ten tosses ("What is the expectation maximization
#: algorithm?", Nature Biotechnology 26, 2008, Fig. 1): heads per set.
PAPER_HEADS = (5, 9, 8, 4, 7)
PAPER_TOSSES = 10
#: The paper's start: θ_A = 0.6, θ_B = 0.5.
PAPER_START = (0.6, 0.5)


def coin_sets(n_sets: int, tosses: int, theta_a: float, theta_b: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sets of tosses, each set from one of two coins chosen at random (equally likely).

    Parameters
    ----------
    n_sets : int
        At least 1.
    tosses : int
        Tosses per set, at least 1.
    theta_a, theta_b : float
        Each coin's heads probability, in [0, 1].
    seed : int

    Returns
    -------
    heads : ndarray of shape (n_sets,)
        Heads in each set (int).
    coins : ndarray of shape (n_sets,)
        Which coin made each set (0 for A, 1 for B): the truth EM never sees.
    """
    if int(n_sets) < 1 or int(tosses) < 1:
        raise ValueError("a set needs at least one toss, and there must be at least one set")
    for name, p in (("θ_A", theta_a), ("θ_B", theta_b)):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{name} is a probability, between 0 and 1 (got {p})")
    rng = np.random.default_rng(int(seed))
    coins = rng.integers(0, 2, size=int(n_sets))
    heads = rng.binomial(int(tosses), np.where(coins == 0, float(theta_a), float(theta_b)))
    return heads.astype(np.int64), coins


def binary_digits() -> Dataset:
    """300 handwritten digits 2, 3 and 4 as 8 × 8 binary images (100 each; see README.md).

    Returns
    -------
    Dataset
        ``X`` of shape (300, 64), 0/1 pixels row by row (columns ``r0c0`` … ``r7c7``);
        ``labels`` the digit written ("two", "three", "four"), never given to EM.
    """
    return _packaged("digits_234.csv", "handwritten digits 2, 3, 4")
