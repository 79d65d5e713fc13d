"""Density-based clustering: ``engine`` (DBSCAN and OPTICS), ``hdbscan`` (HDBSCAN's stages)
and ``views`` (their charts, the k-distance graph, the side-by-side with EM and k-means)."""
