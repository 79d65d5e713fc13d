"""The distances the labs offer, by the names the lessons use, and scipy's names for them.

One table for every engine that measures distances (k-medoids, hierarchy,
density, the silhouette); each engine still says which of them it offers.
"""

from __future__ import annotations

__all__ = ["ALIASES", "SCIPY_NAME"]

#: A distance's name in the labs -> its name for ``scipy.spatial.distance.cdist`` / ``pdist``.
SCIPY_NAME = {
    "euclidean": "euclidean",
    "sqeuclidean": "sqeuclidean",
    "manhattan": "cityblock",
    "chebyshev": "chebyshev",
    "cosine": "cosine",
    "minkowski": "minkowski",
}

#: Other names for the same distances (scipy's and scikit-learn's), accepted as they are.
ALIASES = {"l2": "euclidean", "l1": "manhattan", "cityblock": "manhattan"}
