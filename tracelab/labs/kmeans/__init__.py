"""k-means and k-medoids: ``kmeans`` (Lloyd's algorithm, also EM's k-means start),
``kmedoids`` (alternating and PAM, five distances) and ``views`` (their charts, σ² → 0, the
comparison with EM)."""
