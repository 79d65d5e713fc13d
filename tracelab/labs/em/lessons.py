"""Worked examples from the lessons: a data set and a fixed start for EM.

Each :class:`Preset` names a built-in data set, whether it is standardised,
and the ``trace_em`` arguments (including the starting parameters) that
reproduce the example step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracelab.data import datasets
from tracelab.data import Dataset

__all__ = ["Preset", "PRESETS", "SIX_POINTS", "BISHOP_FAITHFUL", "HOOK"]


@dataclass(frozen=True)
class Preset:
    """A lesson's worked example.

    Parameters
    ----------
    key : str
        Short name used in links.
    title : str
        What the lab shows.
    dataset : str
        Built-in data set name (:func:`tracelab.data.datasets.load`).
    standardize : bool
        Whether the example runs on standardised columns.
    params : dict
        Keyword arguments of :func:`tracelab.labs.em.engine.trace_em`, hashable values only.
    small_multiples : tuple of int
        Iterations to show side by side, as in the textbook figure (may be empty).
    columns : tuple of str
        The data set's feature columns to use, in order (empty: all of them).
    """

    key: str
    title: str
    dataset: str
    standardize: bool
    params: dict[str, Any] = field(default_factory=dict)
    small_multiples: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()

    def data(self) -> Dataset:
        """The example's data: the built-in set, its chosen columns, standardised if asked."""
        data = datasets.load(self.dataset)
        if self.columns:
            data = data.select(list(self.columns))
        return data.standardized() if self.standardize else data


SIX_POINTS = Preset(
    key="six",
    title="Lesson: six points",
    dataset="six_points",
    standardize=False,
    params=dict(
        n_components=2,
        covariance_type="full",
        means_init=tuple((m,) for m in datasets.SIX_POINTS_MEANS),
        weights_init=tuple(datasets.SIX_POINTS_WEIGHTS),
        covariances_init=tuple(((v,),) for v in datasets.SIX_POINTS_VARIANCES),
    ),
)

# Bishop, Pattern Recognition and Machine Learning, Fig. 9.8: EM on the
# standardised Old Faithful data from two round Gaussians placed across the
# data's diagonal. The start is slightly asymmetric on purpose: from exactly
# (-1, 1) and (1, -1) the two means' bisector is the line y = x, which cuts
# both clusters in half, and EM needs about a hundred iterations to break
# that tie; from here it has separated them by L = 20, as in the figure.
BISHOP_FAITHFUL = Preset(
    key="bishop",
    title="Bishop Fig. 9.8: Old Faithful",
    dataset="old_faithful",
    standardize=True,
    params=dict(
        n_components=2,
        covariance_type="full",
        means_init=((-1.5, 1.0), (1.0, -1.0)),
        weights_init=(0.5, 0.5),
        covariances_init=(((0.5, 0.0), (0.0, 0.5)), ((0.5, 0.0), (0.0, 0.5))),
    ),
    small_multiples=(1, 2, 5, 20),
)

# The home page's picture: Old Faithful's eruption lengths (minutes) on their own. Two
# groups, short (about 2 min) and long (about 4.3 min), with a few eruptions in between:
# after EM converges a 2-minute eruption belongs to the short Gaussian with
# responsibility above 0.999 while one of 2.8 minutes is split about 0.55 / 0.45,
# which is the whole point of soft assignments (the six lesson points are too far
# apart for any of them to be uncertain). Not a lab preset: the lab has no column
# choice in its presets.
HOOK = Preset(
    key="hook",
    title="Old Faithful: eruption lengths",
    dataset="old_faithful",
    standardize=False,
    params=dict(n_components=2, covariance_type="full", init="kmeans", seed=0, tol=1e-6, max_iter=200),
    columns=("eruptions",),
)

PRESETS: dict[str, Preset] = {p.key: p for p in (SIX_POINTS, BISHOP_FAITHFUL)}
