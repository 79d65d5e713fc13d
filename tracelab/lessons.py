"""Worked examples from the lessons: a data set and a fixed start for EM.

Each :class:`Preset` names a built-in data set, whether it is standardised,
and the ``trace_em`` arguments (including the starting parameters) that
reproduce the example step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracelab import datasets

__all__ = ["Preset", "PRESETS", "SIX_POINTS", "BISHOP_FAITHFUL"]


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
        Built-in data set name (:func:`tracelab.datasets.load`).
    standardize : bool
        Whether the example runs on standardised columns.
    params : dict
        Keyword arguments of :func:`tracelab.gmm.trace_em`, hashable values only.
    small_multiples : tuple of int
        Iterations to show side by side, as in the textbook figure (may be empty).
    """

    key: str
    title: str
    dataset: str
    standardize: bool
    params: dict[str, Any] = field(default_factory=dict)
    small_multiples: tuple[int, ...] = ()


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

PRESETS: dict[str, Preset] = {p.key: p for p in (SIX_POINTS, BISHOP_FAITHFUL)}
