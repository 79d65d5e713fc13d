"""The home page's picture: EM's soft assignments on the lesson's six points."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from tracelab.trace import Trace
from tracelab.views import em

__all__ = ["hook_figure", "hook_caption"]


def hook_figure(trace: Trace) -> go.Figure:
    """The converged mixture on 1-D data: densities, points and responsibilities.

    Parameters
    ----------
    trace : Trace
        An EM trace on one-dimensional data.
    """
    fig = em.density_1d(trace, len(trace) - 1)
    fig.update_layout(height=380, title=f"EM on the lesson's six points, after {trace.n_iter} iterations")
    return fig


def hook_caption(trace: Trace) -> str:
    """One sentence on the most and least certain point at the trace's last step."""
    last = trace.steps[-1]
    resp = last.responsibilities
    certainty = resp.max(axis=1)
    sure, unsure = int(np.argmax(certainty)), int(np.argmin(certainty))
    x = trace.X[:, 0]

    def probs(i: int) -> str:
        return " / ".join(f"{r:.2f}" for r in resp[i])

    return (
        f"At the last step the point x = {x[sure]:.2f} belongs to the Gaussians with "
        f"responsibilities {probs(sure)}, and x = {x[unsure]:.2f} with {probs(unsure)}: "
        "EM tells them apart, k-means would not."
    )
