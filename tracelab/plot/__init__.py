"""The plotting kit every lab's views share: a trace and a step in, Plotly figures out.

``common`` (the component palette and colour blending, covariance ellipses, 2-D
projections, the seeded display cap, curves with the current step marked, panel
grids), ``scatter`` (the step scatter: plane, sample, points, ellipses, means,
paths, hovers and notes) and ``stepping`` (a lab's charts over every step -> the
browser player's spec, and the player itself: ``player.js``, ``player.css``).

The kit imports plotly, numpy and the records, never a lab and never streamlit,
so each piece can be tested without a browser. Each lab's own views live in its
folder (``tracelab.labs.em.views``, ...).
"""
