"""Hierarchical clustering: ``engine`` (AGNES merge by merge, DIANA split by split) and
``views`` (scatter, dendrogram, distance matrix, merge heights, linkage comparison)."""
