"""Choosing k: ``engine`` (elbow, silhouette, BIC/AIC, contingency and the adjusted Rand
index) and ``views`` (their curves)."""
