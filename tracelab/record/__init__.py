"""Records: frozen arrays and their digests, snapshots and traces, and how messages are worded.

``arrays`` (read-only arrays, digests, label dtypes) is a leaf; ``trace``
(:class:`Snapshot`, :class:`Trace`, the exact JSON round trip) builds on it;
``words`` writes the numbers, counts and lists in every step's message. They
import numpy only, never a lab, the data, plotly or streamlit; labs fill the
snapshot registry by subclassing :class:`Snapshot`.
"""
