"""Views of hierarchical clustering traces: dendrogram, scatter, distance heatmap, heights.

Every step view takes a :class:`~tracelab.record.trace.Trace` from
:func:`tracelab.labs.hierarchy.engine.trace_agnes` (bottom-up merges; the scatter view also
takes :func:`tracelab.labs.hierarchy.engine.trace_diana`) and a step index, and returns a
plotly ``go.Figure``. As in :mod:`tracelab.labs.kmeans.views`, nothing here imports
streamlit or caches anything; figures are plain dicts
(:func:`tracelab.plot.common.figure`; the tests re-validate them).

The dendrogram is laid out here from ``Z`` (as scipy's ``dendrogram`` does, but
keeping which link is which merge): leaves in scipy's order
(``leaves_list(Z)``, the same as ``dendrogram(Z)["leaves"]``) at x = 0, 1, ...,
a cluster at the mean x of its two children and at its merge height. Each link
therefore keeps its merge number, so a link's ``customdata`` is that merge's
step index (merge m is step m): a click on a link can open that step.

Conventions
-----------
- Points are identified by their 0-based row index in ``trace.X`` (each
  marker's ``customdata``); steps are numbered from 1 on screen, so merge m is
  "step m + 1" (step 1 is the start, every point on its own).
- Clusters are coloured by size: the :data:`MAX_COLORED` largest clusters of
  two or more points get the palette's colours (largest first; ties by position
  in the dendrogram's leaf order), smaller ones are grey and singletons small
  and light grey. Dendrogram links and scatter points use the same rule, so a
  cluster has the same colour in both.
- Every trace carries ``meta={"role": ...}``: "links" (with ``meta["state"]``
  "done" / "future" / "above-cut"), "current", "cut", "leaves", "points",
  "merged", "centroids", "splinter", "moved", "distances", "heights",
  "inversions", ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from scipy.cluster.hierarchy import leaves_list, maxdists

from tracelab.record.trace import Trace
from tracelab.record.words import plural
from tracelab.plot import stepping
from tracelab.plot import scatter as kit  # the step scatter every lab shares
from tracelab.plot.common import (
    PALETTE,
    axis_range,
    current_step_shapes,
    as_figure,
    figure,
    figure_dict,
    format_count,
    panel_grid,
    subsample,
    typed_array,
)

__all__ = [
    "step_charts",
    "ACCENT",
    "LAST_MERGES",
    "LEAF_LABELS_UP_TO",
    "LOG_HEIGHTS_BELOW",
    "MAX_COLORED",
    "cluster_colors",
    "cut_for_k",
    "dendrogram",
    "dendrogram_layout",
    "distance_heatmap",
    "k_for_height",
    "linkage_comparison",
    "LINKAGE_COMPARISON_MAX_POINTS",
    "merge_heights",
    "scatter",
    "step_title",
]

#: Only this many of the largest clusters (of 2+ points) get palette colours.
MAX_COLORED = 10
#: Leaf labels (point numbers) are written under the dendrogram up to this many leaves.
LEAF_LABELS_UP_TO = 60
#: Colour of the current merge (not in :data:`PALETTE`, so it never reads as a cluster).
ACCENT = "#E8175D"
#: Links of merges not done yet.
FADED = "rgba(170,170,170,0.45)"
#: Done links that are not inside a coloured cluster (above the cut, or small clusters).
OTHER = "#7f7f7f"
#: Splinter group (DIANA) outline.
SPLINTER = "#000000"

_SMALL = "#9aa0a6"  # points of clusters beyond MAX_COLORED
_SINGLE = "#cfd3d7"  # singletons
_GL_ABOVE = kit.GL_ABOVE
_esc = kit.esc
_note = kit.note


# --------------------------------------------------------------------------- helpers


def _check(trace: Trace, algorithms: tuple[str, ...] = ("agnes",)) -> str:
    algo = getattr(trace, "algorithm", None)
    if algo not in algorithms:
        names = " or ".join(f"trace_{a}" for a in algorithms)
        raise ValueError(f"this view draws traces from {names}, but the trace's algorithm is {algo!r}")
    if trace.X is None:
        raise ValueError("the trace holds no data (X); run it again to draw it")
    return algo


def _params(trace: Trace) -> Mapping[str, Any]:
    return trace.params if isinstance(trace.params, Mapping) else {}


def _Z(trace: Trace) -> np.ndarray:
    """The scipy linkage matrix of an AGNES trace, shape (n-1, 4)."""
    Z = getattr(trace, "linkage_matrix", None)
    if Z is None:
        merges = [s for s in trace.steps if s.phase == "merge"]
        Z = [[s.a, s.b, s.height, s.size] for s in merges]
    Z = np.asarray(Z, dtype=np.float64).reshape(-1, 4)
    return Z


def _merge_number(trace: Trace, step: int) -> int:
    """How many merges are done at ``step`` (0 at the start)."""
    snap = trace.steps[step]
    if snap.phase == "init":
        return 0
    return int(getattr(snap, "iteration", step))


def _metric(trace: Trace) -> tuple[str, float]:
    params = _params(trace)
    return str(params.get("metric", "euclidean")), float(params.get("p", 2.0))


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _typed(a: Any) -> dict | list:
    """An array as plotly.js's typed-array spec (``{"dtype", "bdata"[, "shape"]}``), made here.

    The same JSON plotly writes for a numpy array (:func:`~tracelab.plot.common.typed_array`;
    an empty array as ``[]``), without the per-array conversion plotly runs on
    every figure: the step charts draw hundreds of figures.

    Parameters
    ----------
    a : array-like of numbers, 1-D or 2-D

    Returns
    -------
    dict, or an empty list
    """
    a = np.asarray(a)
    if a.size == 0:
        return []
    return typed_array(a)


def step_title(trace: Trace, step: int) -> str:
    """A short heading, e.g. ``"Step 4 · merge 3: 2 + 1 points at height 0.81"``."""
    algo = _check(trace, ("agnes", "diana"))
    step = kit.step_index(trace, step)
    snap = trace.steps[step]
    head = f"Step {step + 1}"
    if snap.phase == "init":
        return f"{head} · start"
    if algo == "agnes":
        m = _merge_number(trace, step)
        na, nb = len(np.asarray(snap.members_a)), len(np.asarray(snap.members_b))
        return f"{head} · merge {m}: {na} + {nb} points at height {_fmt(float(snap.height))}"
    if snap.phase == "splinter":
        k = len(_rows(snap.splinter, trace.X.shape[0]))
        return f"{head} · splinter group grows to {k} point{'s' if k != 1 else ''}"
    if snap.phase == "split":
        return f"{head} · split done (diameter {_fmt(float(snap.diameter))})"
    return f"{head} · {snap.phase}"


def _rows(value: Any, n: int) -> np.ndarray:
    """Row indices from an index array, a boolean mask of length n, or a single int."""
    a = np.asarray(value)
    if a.dtype == bool:
        return np.flatnonzero(a) if a.size == n else np.empty(0, dtype=np.int64)
    a = np.atleast_1d(a).astype(np.int64).ravel()
    return a[(a >= 0) & (a < n)]


def _rank_groups(sizes: np.ndarray, first_pos: np.ndarray) -> np.ndarray:
    """Colour slot of each group: 0..MAX_COLORED-1 for the largest groups of 2+, else -1.

    Largest first; ties go to the group further left in the leaf order, so the
    dendrogram and the scatter give a cluster the same colour.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    order = np.lexsort((np.asarray(first_pos), -sizes))
    slot = np.full(sizes.shape[0], -1, dtype=np.int64)
    big = order[sizes[order] >= 2][:MAX_COLORED]
    slot[big] = np.arange(big.shape[0])
    return slot


def cluster_colors(labels: np.ndarray, leaf_order: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Colour of each point under the views' rule, and a summary for the legend note.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Flat cluster labels (any integer values; -1 is noise).
    leaf_order : array-like of int, shape (n_samples,), optional
        The dendrogram's leaves; breaks ties between equal sizes (default row order).

    Returns
    -------
    colors : ndarray of str, shape (n_samples,)
    summary : dict
        ``n_clusters``, ``colored``, ``grey`` (clusters of 2+ points drawn grey),
        ``singletons``, ``single_points`` (points drawn as singletons: alone or noise)
        and ``slot`` (each point's colour slot, -1 for grey).
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = labels.shape[0]
    pos = np.arange(n)
    if leaf_order is not None:
        pos = np.empty(n, dtype=np.int64)
        pos[np.asarray(leaf_order, dtype=np.int64)] = np.arange(n)
    uniq, inv, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    first = np.full(uniq.shape[0], n, dtype=np.int64)
    np.minimum.at(first, inv, pos)
    slot_of = _rank_groups(sizes, first)
    noise = uniq < 0
    slot_of[noise] = -1
    slot = slot_of[inv]
    pal = np.array(PALETTE[:MAX_COLORED] + (_SMALL, _SINGLE), dtype=object)
    single = (sizes[inv] == 1) | noise[inv]
    colors = pal[np.where(slot >= 0, slot, np.where(single, MAX_COLORED + 1, MAX_COLORED))]
    real = ~noise
    summary = {
        "n_clusters": int(real.sum()),
        "colored": int((slot_of >= 0).sum()),
        "grey": int(((slot_of < 0) & (sizes >= 2) & real).sum()),
        "singletons": int(((sizes == 1) & real).sum()),
        "single_points": int(single.sum()),
        "slot": slot,
    }
    return colors, summary


# ------------------------------------------------------------------------ cut heights


def _effective_heights(Z: np.ndarray) -> np.ndarray:
    """Each merge's largest height in its subtree: what scipy's ``fcluster(..., "distance")`` cuts.

    Equal to ``Z[:, 2]`` for single, complete, average and Ward linkage; differs
    after an inversion (centroid or median linkage), where a merge lies below
    one of its children.
    """
    return maxdists(Z) if Z.shape[0] else np.empty(0)


def k_for_height(trace: Trace | np.ndarray, h: float) -> int:
    """The number of clusters left when the tree is cut at height ``h``.

    Counts the merges whose whole subtree lies at or below ``h`` (scipy's
    ``fcluster(Z, h, criterion="distance")``), so with inversions a merge below
    ``h`` whose child lies above it does not count.

    Parameters
    ----------
    trace : Trace or ndarray of shape (n-1, 4)
        An AGNES trace or its linkage matrix ``Z``.
    h : float

    Returns
    -------
    int, between 1 and n
    """
    Z = _Z(trace) if isinstance(trace, Trace) else np.asarray(trace, dtype=np.float64)
    n = Z.shape[0] + 1
    return int(n - np.count_nonzero(_effective_heights(Z) <= float(h)))


def cut_for_k(trace: Trace | np.ndarray, k: int) -> float:
    """A height at which the tree cut gives ``k`` clusters: midway between two merge heights.

    With the merge heights sorted (``s``, after inversions are lifted to their
    children's height, see :func:`k_for_height`), any ``h`` with
    ``s[n-k-1] <= h < s[n-k]`` leaves ``k`` clusters; the midpoint is returned.
    For ``k = n`` it is half the lowest height, for ``k = 1`` a little above the
    top. When the two heights tie, no horizontal cut gives exactly ``k`` clusters:
    the tied height is returned (``k_for_height`` then reports fewer clusters).

    Parameters
    ----------
    trace : Trace or ndarray of shape (n-1, 4)
    k : int, 1 <= k <= n

    Returns
    -------
    float
    """
    Z = _Z(trace) if isinstance(trace, Trace) else np.asarray(trace, dtype=np.float64)
    n = Z.shape[0] + 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= n:
        raise ValueError(f"k should be a whole number between 1 and the number of points ({n}), but got {k!r}")
    s = np.sort(_effective_heights(Z))
    if n == 1:
        return 0.0
    top = float(s[-1])
    if k == 1:
        return top + max(0.05 * top, 1e-12) if top > 0 else 1.0
    hi = float(s[n - k])
    lo = float(s[n - k - 1]) if k < n else 0.0
    return (lo + hi) / 2


# ------------------------------------------------------------------------- layout


def dendrogram_layout(Z: np.ndarray, truncate_above: int | None = None) -> dict[str, Any]:
    """Where every link of the dendrogram goes, keeping each link's merge number.

    Parameters
    ----------
    Z : ndarray of shape (n-1, 4)
        A scipy linkage matrix.
    truncate_above : int, optional
        With more points than this, only the last ``truncate_above - 1`` merges
        are laid out, over ``truncate_above`` leaves that stand for the clusters
        left before them (scipy's ``truncate_mode="lastp"``, ``p=truncate_above``).

    Returns
    -------
    dict
        ``leaves``: scipy's leaf order (point rows, all n); ``merges``: merge
        numbers (1-based, = step index) of the links laid out; ``x``, ``y``:
        arrays of shape (len(merges), 4), each link's U as scipy's
        ``icoord``/``dcoord`` with leaf j at x = j (scipy's x is ``5 + 10 j``);
        ``leaf_nodes``: the node id (scipy numbering) at each leaf position;
        ``leaf_sizes``: points under each leaf; ``node_x``, ``node_y``: every
        node's position (NaN when not laid out); ``truncated``: bool.
    """
    # scipy's dendrogram(Z, no_plot=True, truncate_mode="lastp") draws the same U's
    # (the tests compare them), but lists them in its traversal order without
    # saying which merge each is, and stepping needs exactly that; it also recurses
    # once per level, so a single-linkage chain of the 5 000 points AGNES takes
    # stops at Python's recursion limit, and it takes 10-20 times as long. The U's
    # are placed here from scipy's leaf order, each tagged with its merge number.
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0] + 1
    leaves = leaves_list(Z) if n > 1 else np.zeros(1, dtype=np.int64)
    ab = Z[:, :2].astype(np.int64)
    pos = np.empty(n, dtype=np.int64)
    pos[leaves] = np.arange(n)
    truncated = truncate_above is not None and n > truncate_above
    if not truncated:
        first_merge = 0
        leaf_nodes = leaves.astype(np.int64)
    else:
        p = int(truncate_above)
        first_merge = n - p  # rows [first_merge:] are drawn
        # nodes that are children of drawn merges but not drawn merges themselves
        kids = ab[first_merge:].ravel()
        leaf_nodes = kids[kids < n + first_merge]
        # a cluster occupies a contiguous run of the leaf order: sort by its first leaf
        first = np.empty(2 * n - 1, dtype=np.int64)
        first[:n] = pos
        for i in range(n - 1):
            first[n + i] = min(first[ab[i, 0]], first[ab[i, 1]])
        leaf_nodes = leaf_nodes[np.argsort(first[leaf_nodes], kind="stable")]
    node_x = np.full(2 * n - 1, np.nan)
    node_y = np.full(2 * n - 1, np.nan)
    node_x[leaf_nodes] = np.arange(leaf_nodes.shape[0])
    node_y[leaf_nodes] = 0.0
    for i in range(first_merge, n - 1):
        node_x[n + i] = 0.5 * (node_x[ab[i, 0]] + node_x[ab[i, 1]])
        node_y[n + i] = Z[i, 2]
    rows = np.arange(first_merge, n - 1)
    xa, xb = node_x[ab[rows, 0]], node_x[ab[rows, 1]]
    ya, yb = node_y[ab[rows, 0]], node_y[ab[rows, 1]]
    h = Z[rows, 2]
    sizes = np.ones(2 * n - 1, dtype=np.int64)
    sizes[n:] = Z[:, 3].astype(np.int64)
    return {
        "leaves": leaves,
        "merges": rows + 1,
        "x": np.column_stack([xa, xa, xb, xb]),
        "y": np.column_stack([ya, h, h, yb]),
        "leaf_nodes": leaf_nodes,
        "leaf_sizes": sizes[leaf_nodes],
        "node_x": node_x,
        "node_y": node_y,
        "truncated": bool(truncated),
        "n": n,
    }


def _groups(Z: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """For each merge (row of Z), the row of the top merge of its group, or -1.

    ``inside[i]`` says merge i lies within a cluster of the flat clustering (a
    done merge, or one below the cut); a group is a maximal subtree of such
    merges. ``inside`` must be closed downwards (true for a merge => true for its
    children), which both "merge number <= m" and "subtree height <= h" are.
    """
    n = Z.shape[0] + 1
    root = np.full(n - 1, -1, dtype=np.int64)
    parent = np.full(2 * n - 1, -1, dtype=np.int64)
    ab = Z[:, :2].astype(np.int64)
    parent[ab[:, 0]] = np.arange(n - 1)
    parent[ab[:, 1]] = np.arange(n - 1)
    for i in range(n - 2, -1, -1):
        if not inside[i]:
            continue
        par = parent[n + i]
        root[i] = root[par] if par >= 0 and inside[par] else i
    return root


def _segments(X4: np.ndarray, Y4: np.ndarray, merges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """U-shaped links as one NaN-separated polyline, each vertex tagged with its merge.

    Coordinates are float32 (a link's x is a leaf position or a mean of two,
    exact in float32 for any tree drawn here; a height keeps 7 significant
    digits, more than the hover's 4) and merge numbers integers (the separator
    vertex repeats its link's merge; its x and y are NaN, so it is never drawn
    nor hovered): the browser receives a third of float64's bytes.

    Returns
    -------
    x, y : ndarray of float32, shape (5 m,)
    customdata : ndarray of int16 (int32 past 32767 merges), shape (5 m,)
    """
    m = X4.shape[0]
    x = np.full((m, 5), np.nan, dtype=np.float32)
    y = np.full((m, 5), np.nan, dtype=np.float32)
    x[:, :4], y[:, :4] = X4, Y4
    merges = np.asarray(merges, dtype=np.int64)
    small = merges.size == 0 or int(merges.max()) <= np.iinfo(np.int16).max
    c = np.repeat(merges.astype(np.int16 if small else np.int32), 5)
    return x.ravel(), y.ravel(), c


def _link_trace(X4, Y4, merges, *, name, color, width, state, xaxis="x", yaxis="y",
                showlegend=False, extra_meta=None, hover=True) -> dict:
    """One polyline of U-shaped links, each vertex's merge number in ``customdata``.

    A link drawn over the stepped dendrogram's faded tree needs no hover of its
    own: the faded trace under it has every link's, with the same text. Without
    ``hover`` a link has 4 vertices and one merge number in ``customdata`` (not
    shown; the tests and clicks read it): a trace's links grow by appending, so
    a step sends only its new end.
    """
    line = {"color": color, "width": width}
    if hover:
        x, y, c = _segments(X4, Y4, merges)
    else:
        # Without hover a U needs only its left foot, its top right corner and its right
        # foot, drawn "vh" (up, then across; then down): 4 vertices a link with the gap, not 5.
        m = X4.shape[0]
        x = np.full((m, 4), np.nan, dtype=np.float32)
        y = np.full((m, 4), np.nan, dtype=np.float32)
        x[:, :3], y[:, :3] = X4[:, 1:], Y4[:, [0, 2, 3]]
        x, y = x.ravel(), y.ravel()
        merges = np.asarray(merges, dtype=np.int64)
        c = merges.astype(np.int16 if merges.size == 0 or int(merges.max()) <= np.iinfo(np.int16).max else np.int32)
        line["shape"] = "vh"
    out = {
        "type": "scatter", "x": _typed(x), "y": _typed(y), "xaxis": xaxis, "yaxis": yaxis,
        "mode": "lines", "name": name, "showlegend": showlegend, "connectgaps": False,
        "line": line,
        "meta": {"role": "links", "state": state, **(extra_meta or {})},
    }
    if hover:
        out["customdata"] = _typed(c)
        out["hovertemplate"] = "merge %{customdata}<br>height %{y:.4g}<extra></extra>"
    else:
        out["hoverinfo"] = "skip"
        out["customdata"] = _typed(c)
    return out


def _first_leaf(Z: np.ndarray, leaves: np.ndarray) -> np.ndarray:
    """Each node's first leaf position in the dendrogram's order, shape (2n-1,) (ties of equal sizes)."""
    n = Z.shape[0] + 1
    first = np.empty(2 * n - 1, dtype=np.float64)
    first[np.asarray(leaves, dtype=np.int64)] = np.arange(n)
    ab = Z[:, :2].astype(np.int64)
    for i in range(n - 1):
        first[n + i] = min(first[ab[i, 0]], first[ab[i, 1]])
    return first


def _faded_trace(lay: dict, width: float = 1.6, xaxis: str = "x", yaxis: str = "y") -> dict:
    """Every laid-out link, faded: the stepped dendrogram's bottom layer, the same at every step."""
    return _link_trace(lay["x"], lay["y"], lay["merges"], name="merges to come", color=FADED, width=width * 0.8,
                       state="faded", xaxis=xaxis, yaxis=yaxis,
                       extra_meta={"leaves": _typed(lay["leaves"]), "merges": _typed(lay["merges"])})


def _dendro_traces(Z, lay, *, done_upto: int, current: int | None, inside: np.ndarray | None = None,
                   xaxis: str = "x", yaxis: str = "y", width: float = 1.6, underlay: bool = False,
                   first: np.ndarray | None = None, faded: dict | None = None,
                   cache: dict | None = None) -> tuple[list[dict], dict]:
    """Link traces: future (faded), other done links, done per colour group, current.

    ``inside`` (per merge, closed downwards) defines the colour groups: maximal
    subtrees of such merges, i.e. the flat clusters of a cut; default the merges
    done by ``done_upto`` (the clusters at this step).

    With ``underlay`` (the stepped dendrogram), the traces are the same at
    every step, in the same order, so that a step changes only what it must:
    one faded trace holds *every* link (``meta["state"] == "faded"``, the same
    at every step) and the done links are drawn over it, wider and opaque, so
    only the links to come show faded, and hovering any link reads it; "other"
    and the :data:`MAX_COLORED` colour traces (no hover of their own, their
    merge numbers in ``customdata``, one a link) are always there
    (``meta["state"] == "unused"`` and no vertex when a colour has no cluster);
    "other" then holds every done link, the colour traces drawn over it, so only
    the links outside the coloured clusters show grey (its state names those;
    "covered" when there are none);
    "current" has no vertex at the start.
    ``first`` is :func:`_first_leaf` and ``faded`` :func:`_faded_trace`
    (made here when not given; the steps share them). ``cache``, shared by the
    steps of one dendrogram, keeps the link traces made so far: most colours'
    links are the same from one step to the next.
    """
    n = lay["n"]
    merges = lay["merges"]
    rows = merges - 1
    done = merges <= done_upto
    inside_all = np.arange(1, n) <= done_upto if inside is None else np.asarray(inside, dtype=bool)
    root = _groups(Z, inside_all)
    # colour slots of the groups, ranked like the scatter's clusters
    roots = np.unique(root[root >= 0])
    if first is None:
        first = _first_leaf(Z, lay["leaves"])
    slot_of_root = np.full(n - 1, -1, dtype=np.int64)
    if roots.size:
        slot_of_root[roots] = _rank_groups(Z[roots, 3], first[n + roots])
    r = root[rows]
    slot = np.where(r >= 0, slot_of_root[np.maximum(r, 0)], -2)
    X4, Y4 = lay["x"], lay["y"]
    traces: list[dict] = []
    fut = ~done
    if underlay:
        traces.append(faded if faded is not None else _faded_trace(lay, width, xaxis, yaxis))
    elif fut.any():
        traces.append(_link_trace(X4[fut], Y4[fut], merges[fut], name="merges to come", color=FADED,
                                  width=width * 0.8, state="future", xaxis=xaxis, yaxis=yaxis))
    other = done & (slot < 0)
    if other.any() or underlay:
        above = done & (slot == -2)
        state = "above-cut" if inside is not None and not (other & ~above).any() else "other"
        # Stepped, the grey trace holds every done link, in merge order, under the colour
        # traces (which draw the same U over it): a step then appends its one link rather
        # than resending the grey links whenever a cluster enters or leaves the coloured ten.
        grey = done if underlay else other
        traces.append(_link_trace(X4[grey], Y4[grey], merges[grey], name="other merges", color=OTHER,
                                  width=width, state=state if other.any() else "covered" if grey.any() else "unused",
                                  xaxis=xaxis, yaxis=yaxis, hover=not underlay))
    for s in range(MAX_COLORED):
        sel = done & (slot == s)
        if sel.any() or underlay:
            key = (s, width, xaxis, underlay, merges[sel].tobytes())
            tr = cache.get(key) if cache is not None else None
            if tr is None:
                tr = _link_trace(X4[sel], Y4[sel], merges[sel], name=f"cluster {s + 1}",
                                 color=PALETTE[s], width=width, state="done" if sel.any() else "unused",
                                 xaxis=xaxis, yaxis=yaxis, extra_meta={"slot": s}, hover=not underlay)
                if cache is not None:
                    cache[key] = tr
            traces.append(tr)
    info = {"n_groups": int(roots.size), "n_done": int(done.sum()), "n_future": int(fut.sum())}
    hit = merges == current if current is not None and current >= 1 else np.zeros(merges.shape[0], dtype=bool)
    if hit.any() or underlay:
        tr = _link_trace(X4[hit], Y4[hit], merges[hit], name=f"merge {current}" if hit.any() else "no merge",
                         color=ACCENT, width=width * 2.6, state="current", xaxis=xaxis, yaxis=yaxis)
        tr["meta"] = {"role": "current", "merge": int(current)} if hit.any() else {"role": "no-current"}
        traces.append(tr)
    return traces, info


def _leaf_axis(lay: dict, n_labels_up_to: int = LEAF_LABELS_UP_TO) -> dict:
    nl = lay["leaf_nodes"].shape[0]
    axis: dict[str, Any] = {"range": [-0.5 - 0.01 * nl, nl - 0.5 + 0.01 * nl], "zeroline": False,
                            "showgrid": False}
    if nl <= n_labels_up_to:
        n = lay["n"]
        nodes = lay["leaf_nodes"]
        text = np.where(nodes < n, nodes.astype(str).astype(object),
                        ("(" + lay["leaf_sizes"].astype(str).astype(object) + ")"))
        axis.update({"tickmode": "array", "tickvals": _typed(np.arange(nl)), "ticktext": text.tolist(),
                     "tickangle": -90 if nl > 20 else 0, "tickfont": {"size": 10}})
    else:
        axis.update({"showticklabels": False})
    return axis


# ---------------------------------------------------------------------------- views


def dendrogram(
    trace: Trace,
    step: int,
    *,
    cut_height: float | None = None,
    cut_k: int | None = None,
    truncate_above: int = 300,
    color_threshold: float | None = None,
    color_by_cut: bool = True,
) -> go.Figure:
    """The dendrogram with the merges done by ``step`` drawn solid and the rest faded.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.hierarchy.engine.trace_agnes`.
    step : int
        Step index; merge m is step m (step 0: no merge yet).
    cut_height : float, optional
        Draw a horizontal cut here, labelled with the clusters it leaves.
    cut_k : int, optional
        Draw the cut that leaves ``cut_k`` clusters (:func:`cut_for_k`); ignored
        when ``cut_height`` is given.
    truncate_above : int, default 300
        With more points, only the last ``truncate_above - 1`` merges are drawn
        over ``truncate_above`` leaves, each leaf labelled with its size (scipy's
        ``truncate_mode="lastp"``); a note says so.
    color_threshold : float, optional
        Colour clusters as cut at this height (scipy's ``color_threshold``).
        Default: the cut, if any (and ``color_by_cut``); else the clusters at this step.
    color_by_cut : bool, default True
        ``False`` colours the clusters at this step even when a cut is drawn,
        as the scatter beside it does unless it is coloured by the cut.

    Returns
    -------
    plotly Figure
        Link traces (``meta["role"] == "links"``; each vertex's ``customdata``
        is its merge number = step index), in the same order at every step:
        "faded" (every laid-out link in light grey, under the rest, so only the
        merges to come show so; its ``meta`` holds ``leaves``, scipy's order,
        and ``merges``, the laid-out merge numbers), "other"/"above-cut" (every
        done link, dark grey, under the colour traces: the links outside the
        coloured clusters show grey; the state says which they are, "covered"
        when none does), then one "done" trace
        per colour (``meta["slot"]``; "unused" and empty when that colour has
        no cluster), then the current merge ("current", thick,
        :data:`ACCENT`; "no-current" and empty at the start), a "cut" trace
        (horizontal line, ``meta["height"]``, ``meta["k"]``) with a "k = …"
        label, and for a truncated tree a "leaves" marker trace.
        ``layout.meta`` holds ``truncated``, ``n_done``, ``n_future`` and
        ``merge``.
    """
    _check(trace)
    if not isinstance(truncate_above, (int, np.integer)) or truncate_above < 2:
        raise ValueError(f"truncate_above should be a whole number, at least 2, but got {truncate_above!r}")
    return as_figure(_dendrogram_at(trace, step, _dendrogram_prep(trace, truncate_above), cut_height=cut_height,
                                    cut_k=cut_k, color_threshold=color_threshold, color_by_cut=color_by_cut))


def _dendrogram_prep(trace: Trace, truncate_above: int) -> dict[str, Any]:
    """What every step of a dendrogram shares: ``Z``, its layout and each node's first leaf."""
    Z = _Z(trace)
    lay = dendrogram_layout(Z, truncate_above)
    return {"Z": Z, "lay": lay, "first": _first_leaf(Z, lay["leaves"]), "truncate_above": int(truncate_above),
            "effective": _effective_heights(Z), "faded": _faded_trace(lay)}


def _dendrogram_at(trace: Trace, step: int, prep: dict[str, Any], *, cut_height: float | None,
                   cut_k: int | None, color_threshold: float | None, color_by_cut: bool) -> dict[str, Any]:
    """:func:`dendrogram` at ``step`` as a figure dict, from the steps' shared :func:`_dendrogram_prep`.

    Every array in it is already a typed-array spec (:func:`_typed`), as plotly
    would send it: the step charts use the dict as it is.
    """
    step = kit.step_index(trace, step)
    Z, lay, truncate_above = prep["Z"], prep["lay"], prep["truncate_above"]
    n = Z.shape[0] + 1
    m = _merge_number(trace, step)
    k_line = None
    merge_no = np.arange(1, n)
    inside = None
    # the cut is the same at every step: found once per prep (scipy checks Z on every call)
    cuts = prep.setdefault("cuts", {})
    if cut_height is None and cut_k is not None:
        if ("k", cut_k) not in cuts:
            cuts["k", cut_k] = cut_for_k(Z, cut_k)
        cut_height = cuts["k", cut_k]
        k_line = int(cut_k)
        # hierarchy.cut's clusters: the partition after the first n - k merges
        inside = merge_no <= n - k_line
    elif cut_height is not None:
        cut_height = float(cut_height)
        if ("h", cut_height) not in cuts:
            cuts["h", cut_height] = k_for_height(Z, cut_height)
        k_line = cuts["h", cut_height]
        inside = prep["effective"] <= cut_height
    if not color_by_cut:
        inside = None  # the clusters at this step, as the scatter colours them
    if color_threshold is not None:
        inside = prep["effective"] <= float(color_threshold)
    traces, info = _dendro_traces(Z, lay, done_upto=m, current=m if m >= 1 else None, inside=inside,
                                  underlay=True, first=prep["first"], faded=prep["faded"],
                                  cache=prep.setdefault("links", {}))
    notes: list[str] = []
    nl = lay["leaf_nodes"].shape[0]
    ymax = float(np.max(Z[:, 2])) if n > 1 else 1.0
    top = max(ymax, cut_height if cut_height is not None else 0.0) or 1.0
    yr = [0.0, top * 1.06]
    annotations: list[dict] = []
    if lay["truncated"]:
        shown = nl - 1
        notes.append(f"showing the last {format_count(shown)} merges of {format_count(n - 1)} "
                     f"(each leaf: a cluster, its size in brackets)")
        small = lay["leaf_nodes"] >= n
        lx = np.flatnonzero(small)
        hover = [f"cluster of {format_count(int(s))} points, formed by merge {int(nd) - n + 1}"
                 for nd, s in zip(lay["leaf_nodes"][small], lay["leaf_sizes"][small])]
        cur_node = n + m - 1 if m >= 1 else None
        colors = np.full(lx.shape[0], "#555555", dtype=object)
        if cur_node is not None and m <= n - truncate_above:
            # the current merge is inside one of the collapsed leaves: mark that leaf
            inside = _collapsed_leaf_of(Z, lay, cur_node)
            if inside is not None:
                colors[lx == inside] = ACCENT
                notes.append(f"merge {m} is inside the leaf marked in colour")
        traces.append({
            "type": "scatter", "x": _typed(lx.astype(float)), "y": _typed(np.zeros(lx.shape[0])), "mode": "markers",
            "name": "collapsed clusters", "showlegend": False, "hovertext": hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
            "marker": {"symbol": "triangle-up", "size": 7, "color": colors.tolist()},
            "customdata": _typed(lay["leaf_nodes"][small] - n + 1),
            "meta": {"role": "leaves"},
        })
    if cut_height is not None:
        x0, x1 = -0.5, nl - 0.5
        traces.append({
            "type": "scatter", "x": [x0, x1], "y": [cut_height, cut_height], "mode": "lines",
            "name": "cut", "showlegend": False,
            "line": {"color": "black", "width": 1.5, "dash": "dash"},
            "hovertemplate": f"cut at height {_fmt(cut_height)}: {k_line} clusters<extra></extra>",
            "meta": {"role": "cut", "height": cut_height, "k": k_line},
        })
        annotations.append({"text": f"k = {k_line}", "x": x1, "y": cut_height, "xref": "x", "yref": "y",
                            "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": 13, "color": "black"},
                            "bgcolor": "rgba(255,255,255,0.8)"})
        if ("h", cut_height) not in cuts:
            cuts["h", cut_height] = k_for_height(Z, cut_height)
        if k_line != cuts["h", cut_height]:
            notes.append(f"no single height leaves exactly {k_line} clusters (tied heights)")
    if m >= 1:
        snap = trace.steps[step]
        notes[:0] = [f"merge {m} of {n - 1}:", f"{len(np.asarray(snap.members_a))} + "
                     f"{len(np.asarray(snap.members_b))} points at height {_fmt(float(Z[m - 1, 2]))}"]
    else:
        notes[:0] = ["no merge yet:", f"{format_count(n)} points, each its own cluster"]
    linkage = _params(trace).get("linkage", "")
    # One note a line: in a half-width column one long line runs off the chart. The
    # notes are the title (top left, as a note): the cut's label, which stays, is then
    # the only annotation, and a step's patch carries the new title alone.
    title = {"text": "<br>".join(notes), "x": 0.0, "xref": "paper", "xanchor": "left",
             "y": 1.0, "yref": "paper", "yanchor": "bottom", "font": {"size": 12, "color": "#555"}}
    return figure_dict(traces, {
        "title": title,
        "xaxis": _leaf_axis(lay),
        "yaxis": {"title": {"text": f"merge height ({_esc(str(linkage))} linkage)" if linkage else "merge height"},
                  "range": yr, "zeroline": False},
        "annotations": annotations,
        "height": 420 + 16 * (len(notes) - 1),
        "margin": {"l": 60, "r": 20, "t": 24 + 16 * len(notes), "b": 60 if nl <= LEAF_LABELS_UP_TO else 20},
        "showlegend": False,
        "hovermode": "closest",
        "uirevision": "hierarchy-dendrogram",
        # what changes with the step only; the leaf order and merge numbers are the
        # faded trace's (the same at every step, so the player sends them once)
        "meta": {"truncated": lay["truncated"], "n_done": info["n_done"], "n_future": info["n_future"],
                 "merge": m},
    })


def _collapsed_leaf_of(Z: np.ndarray, lay: dict, node: int) -> int | None:
    """Leaf position of the collapsed cluster that contains ``node``, if any."""
    n = lay["n"]
    ab = Z[:, :2].astype(np.int64)
    parent = np.full(2 * n - 1, -1, dtype=np.int64)
    parent[ab[:, 0]] = np.arange(n, 2 * n - 1)
    parent[ab[:, 1]] = np.arange(n, 2 * n - 1)
    where = {int(v): j for j, v in enumerate(lay["leaf_nodes"].tolist())}
    while node >= 0:
        if node in where:
            return where[node]
        node = int(parent[node])
    return None


# ----------------------------------------------------------------------------- scatter


def _labels_at(trace: Trace, step: int, algo: str) -> np.ndarray:
    lab = getattr(trace.steps[step], "labels", None)
    n = trace.X.shape[0]
    if lab is None:
        return np.arange(n) if algo == "agnes" else np.zeros(n, dtype=np.int64)
    return np.asarray(lab, dtype=np.int64)


def _legend_traces(slot: np.ndarray) -> list[dict]:
    """Legend entries for the coloured clusters: "1", "2", ... under the legend title "cluster:".

    ``slot`` is each point's colour slot (:func:`cluster_colors`); cluster j + 1
    is slot j, the j-th largest, as coloured in the dendrogram too. The entries
    are empty traces (the points are one trace with a colour per point), all
    equally short: plotly lays a wrapped legend out in columns as wide as its
    widest entry. There are always :data:`MAX_COLORED` of them, those of no
    cluster hidden (``showlegend`` false, ``meta["role"] == "legend-unused"``):
    a step then changes entries rather than adding or removing traces.
    """
    used = int(slot.max()) + 1 if slot.size and slot.max() >= 0 else 0
    counts = np.bincount(slot[slot >= 0], minlength=MAX_COLORED) if slot.size else np.zeros(MAX_COLORED, int)
    out = []
    for j in range(MAX_COLORED):
        out.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": f"{j + 1}",
                    "showlegend": j < used, "marker": {"color": PALETTE[j], "size": 10}, "hoverinfo": "skip",
                    "meta": {"role": "legend" if j < used else "legend-unused", "what": "cluster", "cluster": j,
                             "size": int(counts[j])}})
    return out


def _grey_notes(summary: dict) -> list[str]:
    """What the grey points are (the legend lists the coloured clusters only)."""
    single = summary["single_points"]
    notes = []
    if summary["grey"]:
        g = summary["grey"]
        notes.append(f"grey: {format_count(g)} smaller cluster{'s' if g != 1 else ''}")
    if single:
        notes.append(f"small, light grey: {format_count(single)} single point{'s' if single != 1 else ''}")
    return notes


def scatter(
    trace: Trace,
    step: int,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    cut_k: int | None = None,
    max_points: int = 5_000,
    seed: int = 0,
) -> go.Figure:
    """The points coloured by their cluster at ``step``, with this step's change marked.

    Parameters
    ----------
    trace : Trace
        From ``trace_agnes`` or ``trace_diana``.
    step : int
    axes : (int, int) or "pca", default (0, 1)
    columns : sequence of str, optional
        Feature names (default the trace's, else ``x1, x2, ...``).
    cut_k : int, optional
        Colour by the tree cut into ``cut_k`` clusters (``hierarchy.cut``)
        instead of the clusters at this step (AGNES only).
    max_points, seed
        Display cap (a seeded subsample) for the points.

    Returns
    -------
    plotly Figure
        "points" (one trace; ``customdata`` = the size of each point's
        cluster, its i-th point being data row i, or rows of (row, size) when
        the points are subsampled; colours by :func:`cluster_colors`: the :data:`MAX_COLORED`
        largest clusters in palette colours, smaller grey, singletons small
        light grey, as the note says; ``marker.color`` holds each point's code
        c, drawn in ``_CODE_COLORS[c]`` through ``layout.coloraxis``, a colour scale with a
        stop at each code: c < MAX_COLORED is cluster c + 1 of the legend); for an AGNES merge
        "merged" (rings round both merged clusters, ``customdata`` their rows,
        cluster a's first, ``meta["n_a"]`` of them) and "centroids" (a line between the two clusters'
        centroids), at the start empty traces "no-merge" and "no-centroids";
        for DIANA "splinter" (rings round the splinter group) and "moved"
        (points moved this step). Then :data:`MAX_COLORED` legend entries
        ("legend", or "legend-unused" and hidden).
    """
    _check(trace, ("agnes", "diana"))
    return as_figure(_scatter_at(trace, step, _scatter_prep(trace, axes, columns, max_points, seed, cut_k)))


#: Most points :func:`linkage_comparison` clusters (a seeded sample beyond): four
#: trees of 2 000 points take about a second and 100 MB.
LINKAGE_COMPARISON_MAX_POINTS = 2_000

#: Colour of each point code: the :data:`MAX_COLORED` palette colours, then grey, then light grey.
_CODE_COLORS: tuple[str, ...] = PALETTE[:MAX_COLORED] + (_SMALL, _SINGLE)
#: Code c is drawn in ``_CODE_COLORS[c]``: one stop a code, read exactly there (``cmin`` 0, ``cmax`` the last code).
_CODE_SCALE: list[list] = [[j / (len(_CODE_COLORS) - 1), c] for j, c in enumerate(_CODE_COLORS)]


def _scatter_prep(trace: Trace, axes, columns, max_points: int, seed: int, cut_k: int | None) -> dict[str, Any]:
    """What every step of a scatter shares: its context (plane, points drawn, ranges), the axes and the cut's labels."""
    algo = _check(trace, ("agnes", "diana"))
    ctx = kit.ScatterContext.build(trace, axes, columns, max_points=max_points, seed=seed, dtype=np.float32)
    leaf_order = leaves_list(_Z(trace)) if algo == "agnes" and ctx.n > 1 else None
    cut_labels = None
    if cut_k is not None:
        if algo != "agnes":
            raise ValueError("cut_k needs an AGNES trace (a full merge tree)")
        from tracelab.labs.hierarchy import engine as _h  # the engine; imported on use

        cut_labels = np.asarray(_h.cut(trace, cut_k), dtype=np.int64)
    drawn = ctx.XY[ctx.idx].astype(ctx.dtype)
    return {"algo": algo, "ctx": ctx, "leaf_order": leaf_order, "cut_k": cut_k, "cut_labels": cut_labels,
            "axes": kit.scaled_axes(ctx.xrange, ctx.yrange, names=ctx.names),
            # typed once: every step draws the same points at the same places
            "x": _typed(drawn[:, 0]), "y": _typed(drawn[:, 1])}


def _scatter_at(trace: Trace, step: int, prep: dict[str, Any]) -> dict[str, Any]:
    """:func:`scatter` at ``step`` as a figure dict, from the steps' shared :func:`_scatter_prep` (arrays typed, as
    :func:`_dendrogram_at`'s)."""
    step = kit.step_index(trace, step)
    algo, ctx, cut_k = prep["algo"], prep["ctx"], prep["cut_k"]
    n, XY, idx = ctx.n, ctx.XY, ctx.idx
    xl, yl = ctx.names
    snap = trace.steps[step]
    labels = prep["cut_labels"] if cut_k is not None else _labels_at(trace, step, algo)
    _colors, summary = cluster_colors(labels, prep["leaf_order"])
    _, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    psize = counts[inv]
    single = psize == 1
    # as the legend names them: "cluster 1" is the largest (the colour slot, from 1)
    slot = summary["slot"]
    # Colours as small codes through a banded colour scale, and the hover's cluster
    # size as a number: the browser gets a few bytes a point where a colour name and
    # a sentence each took tens (they change at every step).
    code = np.where(slot >= 0, slot, np.where(single | (labels < 0), MAX_COLORED + 1, MAX_COLORED))
    # The colour scale sits in the layout's coloraxis (the same at every step), so a
    # step's marker carries only the codes and sizes. With every point drawn, point
    # #i is the trace's i-th (plotly's pointNumber) and customdata holds only the
    # cluster sizes, which change; with a subsample, (row, size) pairs.
    every = len(idx) == n
    head = ctx.head()
    traces: list[dict] = [ctx.points(
        {"color": _typed(code[idx]), "coloraxis": "coloraxis", "size": _typed(np.where(single[idx], 5, 8)),
         "line": {"width": 0}},
        x=prep["x"], y=prep["y"],
        customdata=_typed(psize if every else np.column_stack([idx, psize[idx]])),
        hovertemplate=(head.replace("%{customdata}", "%{pointNumber}") + "<br>in a cluster of %{customdata}"
                       if every else
                       head.replace("%{customdata}", "%{customdata[0]}") + "<br>in a cluster of %{customdata[1]}")
        + "<extra></extra>",
    )]
    notes = []
    title = step_title(trace, step)
    if cut_k is not None:
        title += f" · coloured by the cut into {cut_k} clusters"
    if algo == "agnes":
        # At the start the same two traces, empty: a step changes them rather than adds them.
        merged = snap.phase == "merge"
        a = np.asarray(snap.members_a if merged else [], dtype=np.int64)
        b = np.asarray(snap.members_b if merged else [], dtype=np.int64)
        ab = np.concatenate([a, b])
        # rings and centroids in float32: they move every step, and a ring's centre
        # a ten-millionth off its point is the same pixel
        ring_xy = XY[ab].astype(np.float32)
        traces.append({
            "type": "scatter", "x": _typed(ring_xy[:, 0]), "y": _typed(ring_xy[:, 1]), "mode": "markers",
            "name": "merged now", "showlegend": False, "customdata": _typed(ab),
            "marker": {"size": 14, "color": "rgba(0,0,0,0)",
                       "line": {"color": ACCENT, "width": 2.5}},
            "hovertemplate": "point #%{customdata}: merged at this step<extra></extra>",
            # the first n_a rings are cluster a's (customdata), the rest b's
            "meta": {"role": "merged" if merged else "no-merge", "n_a": int(a.shape[0])},
        })
        cen = np.array([XY[a].mean(axis=0), XY[b].mean(axis=0)], dtype=np.float32) if merged else np.empty((0, 2))
        traces.append({
            "type": "scatter", "x": _typed(cen[:, 0]), "y": _typed(cen[:, 1]), "mode": "lines+markers",
            "name": "centroids", "showlegend": False,
            "line": {"color": ACCENT, "width": 2, "dash": "dot"},
            "marker": {"symbol": "x", "size": 11, "color": ACCENT},
            # "the 2 points merged", "the point merged": as a student reads it
            "hovertext": [f"centroid of the {plural(len(a), 'point').removeprefix('1 ')} merged",
                          f"centroid of the other {plural(len(b), 'point').removeprefix('1 ')}"]
            if merged else [],
            "hovertemplate": "%{hovertext}<extra></extra>",
            "meta": {"role": "centroids" if merged else "no-centroids"},
        })
    elif algo == "diana" and snap.phase == "splinter":
        sp = _rows(snap.splinter, n)
        traces.append({
            "type": "scatter", "x": _typed(XY[sp, 0]), "y": _typed(XY[sp, 1]), "mode": "markers",
            "name": "splinter group", "showlegend": False, "customdata": _typed(sp),
            "marker": {"size": 14, "symbol": "diamond-open", "color": SPLINTER,
                       "line": {"color": SPLINTER, "width": 2}},
            "hovertemplate": "point #%{customdata}: in the splinter group<extra></extra>",
            "meta": {"role": "splinter", "rows": _typed(sp)},
        })
        mv = _rows(snap.moved, n) if getattr(snap, "moved", None) is not None else np.empty(0, np.int64)
        if mv.size:
            gain = getattr(snap, "gain", None)
            gtxt = f" (gain {_fmt(float(np.max(gain)))})" if gain is not None and np.size(gain) else ""
            traces.append({
                "type": "scatter", "x": _typed(XY[mv, 0]), "y": _typed(XY[mv, 1]), "mode": "markers",
                "name": "moved", "showlegend": False, "customdata": _typed(mv),
                "marker": {"size": 18, "symbol": "circle-open", "color": ACCENT,
                           "line": {"color": ACCENT, "width": 3}},
                "hovertemplate": f"point #%{{customdata}}: moved to the splinter group{gtxt}<extra></extra>",
                "meta": {"role": "moved", "rows": _typed(mv)},
            })
    if len(idx) < n:
        notes.append(kit.cap_note(len(idx), n))

    xr, yr, xa, ya, scale_note = prep["axes"]
    if scale_note:
        notes.append(scale_note)
    title_parts = title.split(" · ")
    top = 22 + 19 * len(title_parts)
    legend = _legend_traces(slot)
    traces += legend
    notes[:0] = _grey_notes(summary)
    # Below the plot. Margins are fixed, so the rows the legend wraps into are
    # counted here for a narrow chart (a half-width column on a laptop).
    plot_h = 320
    rows = kit.legend_rows([tr["name"] for tr in legend if tr["showlegend"]], title=55.0)
    legend_top = 48  # under the x axis title
    notes_top = legend_top + 20 * rows + 6
    bottom = notes_top + 17 * len(notes) + 8
    return figure_dict(traces, {
        # a line per part: a half-width column cuts one long line off
        "title": {"text": "<br>".join(_esc(part) for part in title_parts), "font": {"size": 14}},
        "xaxis": {"title": {"text": xl}, "range": xr, "zeroline": False, **xa},
        "yaxis": {"title": {"text": yl}, "range": yr, "zeroline": False, **ya},
        "annotations": [{**_note("<br>".join(notes), x=0.0, y=-notes_top / plot_h, xanchor="left",
                                 yanchor="top"), "align": "left"}] if notes else [],
        "height": top + plot_h + bottom,
        "margin": {"l": 60, "r": 20, "t": top, "b": bottom},
        "showlegend": True,
        "legend": {"orientation": "h", "traceorder": "normal", "x": 0.0, "xanchor": "left",
                   "y": -legend_top / plot_h, "yanchor": "top",
                   "title": {"text": "cluster:", "side": "left"} if summary["colored"] else None,
                   "itemclick": False, "itemdoubleclick": False,
                   "font": {"size": 11}, "bgcolor": "rgba(255,255,255,0)"},
        "hovermode": "closest",
        "coloraxis": {"colorscale": _CODE_SCALE, "cmin": 0, "cmax": len(_CODE_COLORS) - 1, "showscale": False},
        "uirevision": f"hierarchy-scatter-{ctx.plane.key}",
        "meta": {"n_clusters": summary["n_clusters"], "colored": summary["colored"]},
    })


# ------------------------------------------------------------------------- heatmap


def distance_heatmap(trace: Trace, step: int, *, max_points: int = 400, seed: int = 0) -> go.Figure:
    """The distance matrix with rows and columns in the dendrogram's leaf order.

    Parameters
    ----------
    trace : Trace
        From ``trace_agnes``; distances use its metric (``hierarchy.distance_matrix``).
    step : int
    max_points : int, default 400
        Above this many points a seeded subsample is drawn (kept in leaf order), and
        a note says so.
    seed : int, default 0

    Returns
    -------
    plotly Figure
        One "distances" heatmap (categorical axes: the row numbers in leaf order;
        ``meta["order"]`` the rows drawn, in order); at a merge, the shape named
        "merge" outlines rows(members_a) x columns(members_b) (and "merge-mirror"
        the transposed block), in positions of the drawn order;
        ``layout.meta["merge_box"]`` is ``[row0, row1, col0, col1]`` (inclusive
        positions) or None.
    """
    _check(trace)
    from tracelab.labs.hierarchy import engine as _h  # the engine; imported on use

    step = kit.step_index(trace, step)
    Z = _Z(trace)
    X = np.asarray(trace.X, dtype=np.float64)
    n = X.shape[0]
    leaves = leaves_list(Z) if n > 1 else np.zeros(1, dtype=np.int64)
    keep = np.zeros(n, dtype=bool)
    keep[subsample(n, max_points, seed)] = True
    order = leaves[keep[leaves]]
    metric, p = _metric(trace)
    D = np.asarray(_h.distance_matrix(X[order], metric, p), dtype=np.float64)
    labels = order.astype(str)
    text_lbl = labels.tolist()
    m = _merge_number(trace, step)
    shapes: list[dict] = []
    box = None
    notes: list[str] = []
    if m >= 1:
        snap = trace.steps[step]
        ra = np.flatnonzero(np.isin(order, np.asarray(snap.members_a)))
        rb = np.flatnonzero(np.isin(order, np.asarray(snap.members_b)))
        if ra.size and rb.size:
            box = [int(ra.min()), int(ra.max()), int(rb.min()), int(rb.max())]
            line = {"color": ACCENT, "width": 2.5}
            shapes.append({"type": "rect", "name": "merge", "xref": "x", "yref": "y",
                           "x0": box[2] - 0.5, "x1": box[3] + 0.5, "y0": box[0] - 0.5, "y1": box[1] + 0.5,
                           "line": line, "fillcolor": "rgba(0,0,0,0)"})
            shapes.append({"type": "rect", "name": "merge-mirror", "xref": "x", "yref": "y",
                           "x0": box[0] - 0.5, "x1": box[1] + 0.5, "y0": box[2] - 0.5, "y1": box[3] + 0.5,
                           "line": {**line, "dash": "dot", "width": 1.5}, "fillcolor": "rgba(0,0,0,0)"})
            notes.append(f"merge {m}: the outlined block is the distances<br>between the two merged clusters")
        else:
            notes.append(f"merge {m}: a merged cluster has no point in the sample drawn")
    if len(order) < n:
        notes.append(kit.cap_note(len(order), n))
    few = len(order) <= LEAF_LABELS_UP_TO
    ax = {"type": "category", "showgrid": False, "zeroline": False, "showticklabels": few,
          "tickfont": {"size": 9}, "ticks": ""}
    names = {"euclidean": "Euclidean", "manhattan": "Manhattan", "chebyshev": "Chebyshev",
             "cosine": "cosine", "minkowski": f"Minkowski (p = {p:g})"}
    metric_name = names.get(metric, _esc(metric))
    axis_title = "point (dendrogram leaf order)"
    return figure([{
        "type": "heatmap", "z": D, "x": text_lbl, "y": text_lbl,
        "colorscale": "Viridis", "reversescale": True, "zmin": 0.0,
        "colorbar": {"title": {"text": f"{metric_name}<br>distance", "side": "top"}, "thickness": 12},
        "hovertemplate": "point #%{y} ↔ point #%{x}<br>distance %{z:.4g}<extra></extra>",
        "name": "distances",
        "meta": {"role": "distances", "order": order, "metric": metric},
    }], {
        "title": {"text": f"{metric_name} distances between points,<br>in dendrogram order"},
        "xaxis": {**ax, "constrain": "domain", "title": {"text": axis_title, "standoff": 4}},
        "yaxis": {**ax, "autorange": "reversed", "scaleanchor": "x", "constrain": "domain",
                  "title": {"text": axis_title, "standoff": 4}},
        "shapes": shapes,
        "annotations": [{**_note("<br>".join(notes), x=0.0, y=-0.1 if few else -0.06, xanchor="left",
                                 yanchor="top"), "align": "left"}] if notes else [],
        "height": 520,
        # room on the right for the colour bar (margins are fixed)
        "margin": {"l": 75 if few else 45, "r": 110, "t": 60, "b": 100 if few else 80},
        "uirevision": "hierarchy-heatmap",
        "meta": {"order": order, "merge_box": box, "merge": m},
    })


# ---------------------------------------------------------------------- merge heights


#: The merge heights go on a log scale when the median merge is below this share of the top one.
LOG_HEIGHTS_BELOW = 0.1
#: This many last merges (from this many clusters down to one) are highlighted.
LAST_MERGES = 10


def merge_heights(trace: Trace, step: int, *, cut_height: float | None = None,
                  log_y: bool | None = None) -> go.Figure:
    """Each merge's height over the steps, the current step marked, inversions flagged.

    On a few hundred points most merges join near neighbours at heights close
    to 0 and only the last few climb: on a linear axis the curve is flat until
    its end. By default such heights are drawn on a log scale, the last
    :data:`LAST_MERGES` merges are highlighted, and a note says both.

    Parameters
    ----------
    trace : Trace
        From ``trace_agnes``.
    step : int
    cut_height : float, optional
        Draw the cut as a horizontal dashed line ("cut" trace).
    log_y : bool, optional
        Log scale for the heights. Default: when the median merge height is
        below :data:`LOG_HEIGHTS_BELOW` of the highest. Heights of 0 (equal
        points) are drawn at half the lowest positive height, and a note says so.

    Returns
    -------
    plotly Figure
        "heights" (x = step number from 1: merge m at x = m + 1; ``customdata``
        the true heights), "last-merges"
        (the last merges, ``customdata`` = clusters left after each),
        "inversions" (merges lower than the one before: centroid or median
        linkage; only when there are any), "cut" (when given). The current step
        (x = 1 for the start) is marked by the layout's shapes, a dotted vertical
        line and a ring (:func:`~tracelab.plot.common.current_step_shapes`). ``layout.meta`` holds ``inversions`` and ``log``.
    """
    _check(trace)
    return as_figure(_heights_at(trace, step, _heights_prep(trace, cut_height, log_y)))


def _heights_prep(trace: Trace, cut_height: float | None, log_y: bool | None, *,
                  typed: bool = False) -> dict[str, Any]:
    """:func:`merge_heights` without its current step, which only the layout's shapes show:
    computed once for all the steps of the player (``typed``: arrays as the browser gets them)."""
    Z = _Z(trace)
    n = Z.shape[0] + 1
    h = Z[:, 2]
    merges = np.arange(1, n)
    xs = merges + 1
    positive = h[h > 0]
    if log_y is None:
        log_y = bool(n > 2 and positive.size and np.median(h) < LOG_HEIGHTS_BELOW * float(h.max()))
    log_y = bool(log_y and positive.size)
    floor = float(positive.min()) / 2 if positive.size else 0.0
    # a log axis cannot show 0: equal points merge at 0 and are drawn at the floor
    y = np.where(h > 0, h, floor) if log_y else h
    traces: list[dict] = [{
        "type": "scatter", "x": xs, "y": y, "mode": "lines+markers" if n <= 500 else "lines",
        # The true heights (a log axis draws 0 at its floor) as customdata, once: the
        # chart is sent again at every step, and the merge's number is the step's label.
        "name": "merge height", "showlegend": False, "customdata": h,
        "line": {"color": PALETTE[0], "width": 1.5}, "marker": {"size": 5, "color": PALETTE[0]},
        "hovertemplate": "step %{x}: a merge at height %{customdata:.4g}<extra></extra>",
        "meta": {"role": "heights"},
    }]
    notes: list[str] = []
    last = min(LAST_MERGES, n - 1)
    if n > 2 * LAST_MERGES:
        sel = slice(n - 1 - last, n - 1)
        traces.append({
            "type": "scatter", "x": xs[sel], "y": y[sel], "mode": "markers",
            "name": f"last {last} merges", "showlegend": True, "customdata": n - merges[sel],
            "marker": {"size": 9, "color": PALETTE[1], "line": {"color": "black", "width": 1}},
            "hovertemplate": "step %{x}: %{customdata} clusters left<br>height %{y:.4g}<extra></extra>",
            "meta": {"role": "last-merges", "merges": merges[sel]},
        })
        notes.append(f"the last {last} merges ({last} clusters down to 1) highlighted")
    inv = np.flatnonzero(np.diff(h) < 0) + 1 if n > 2 else np.empty(0, dtype=np.int64)
    if inv.size:
        traces.append({
            "type": "scatter", "x": xs[inv], "y": y[inv], "mode": "markers", "name": "inversion",
            "showlegend": True, "customdata": merges[inv],
            "marker": {"size": 10, "symbol": "triangle-down", "color": PALETTE[4]},
            "hovertemplate": "merge %{customdata} is lower than the merge before<br>"
                             "height %{y:.4g}<extra></extra>",
            "meta": {"role": "inversions", "merges": merges[inv]},
        })
    if cut_height is not None:
        # a trace, not a shape: shapes on a log axis take log10 values
        cy = max(float(cut_height), floor) if log_y else float(cut_height)
        k_cut = k_for_height(Z, float(cut_height))
        # the label near the left end, clear of the axis' ticks: the last merges,
        # highlighted, sit at the right one
        traces.append({"type": "scatter", "x": [0.5, 0.5 + 0.04 * n, n + 0.5], "y": [cy, cy, cy],
                       "mode": "lines+text", "name": "cut", "showlegend": False, "hoverinfo": "skip",
                       "text": ["", f"cut: k = {k_cut}", ""], "textposition": "bottom right",
                       "line": {"color": "black", "width": 1.5, "dash": "dash"},
                       "meta": {"role": "cut", "height": float(cut_height), "k": k_cut}})
    top = max(float(h.max()) if n > 1 else 1.0, float(cut_height) if cut_height is not None else 0.0)
    if log_y:
        lo_v = min(floor, float(cut_height)) if cut_height is not None and cut_height > 0 else floor
        # one labelled tick per decade: the minor ticks' "2" and "5" read as heights
        yaxis = {"type": "log", "range": [np.log10(lo_v) - 0.15, np.log10(top) + 0.15], "dtick": 1,
                 "title": {"text": "merge height (log scale)"}, "zeroline": False}
        notes[:0] = ["log scale: the first merges join", "near neighbours at tiny heights"]
        if np.any(h == 0):
            notes.append(f"{format_count(int(np.sum(h == 0)))} merges at height 0 drawn at {_fmt(floor)}")
    else:
        lo = min(0.0, float(cut_height) if cut_height is not None else 0.0)
        yaxis = {"title": {"text": "merge height"}, "range": [lo, (top or 1.0) * 1.06], "zeroline": False}
    annotations = [{**_note("<br>".join(notes), x=0.0, y=1.0, xanchor="left"), "align": "left"}] if notes else []
    fig = figure_dict(traces, {
        "xaxis": {"title": {"text": "step"}, "range": [0.5, n + 0.5], "zeroline": False},
        "yaxis": yaxis,
        "shapes": [],
        "annotations": annotations,
        # bottom right: below the curve's steep end, clear of the cut line
        "legend": {"yanchor": "bottom", "y": 0.02, "xanchor": "right", "x": 0.99,
                   "bgcolor": "rgba(255,255,255,0.8)"},
        "showlegend": bool(inv.size) or n > 2 * LAST_MERGES,
        "height": 320 + 16 * len(notes),
        "margin": {"l": 60, "r": 20, "t": 24 + 16 * len(notes), "b": 45},
        "hovermode": "closest",
        "uirevision": "hierarchy-heights",
        "meta": {"inversions": merges[inv].tolist(), "log": log_y},
    }, typed=typed)
    return {"fig": fig, "y": y, "floor": floor, "log_y": log_y}


def _heights_at(trace: Trace, step: int, prep: dict[str, Any]) -> dict[str, Any]:
    """:func:`merge_heights` at ``step`` as a figure dict, from :func:`_heights_prep`."""
    step = kit.step_index(trace, step)
    m = _merge_number(trace, step)
    log_y = prep["log_y"]
    current_y = float(prep["y"][m - 1]) if m >= 1 else (prep["floor"] if log_y else 0.0)
    fig = prep["fig"]
    shapes = current_step_shapes(int(step + 1), current_y, color=ACCENT, log_y=log_y)
    return {"data": fig["data"], "layout": {**fig["layout"], "shapes": shapes}}


# ----------------------------------------------------------------- linkage comparison


_LINKAGE_BLURB = {
    "single": "nearest pair: chains",
    "complete": "farthest pair: compact",
    "average": "mean distance",
    "ward": "least added variance",
    "centroid": "centroid distance",
}


def _domain(span: Sequence[float]) -> list[float]:
    """A subplot domain ``[lo, hi]``, rounded and kept in [0, 1] (round-off gives -5e-17)."""
    return [min(max(round(float(v), 6), 0.0), 1.0) for v in span]


def linkage_comparison(
    X: Any,
    *,
    metric: str = "euclidean",
    p: float = 2.0,
    columns: Sequence[str] | None = None,
    linkages: Sequence[str] = ("single", "complete", "average", "ward"),
    k: int | None = 3,
    truncate_above: int = 300,
    max_points: int | None = None,
    seed: int = 0,
) -> go.Figure:
    """Small dendrograms of the same data under several linkages, side by side.

    Parameters
    ----------
    X : Dataset or array-like of shape (n_samples, n_features)
    metric, p : str, float
        The distance (``hierarchy.distance_matrix``). Ward and centroid linkage
        are defined through Euclidean geometry: with another metric their panels
        use Euclidean distances, and their titles say so.
    columns : sequence of str, optional
        Feature names for the scatter row (default the Dataset's, else ``x1, ...``).
    linkages : sequence of str
        One panel each, two to a row (four side by side leave a phone about 70 px each).
    k : int or None, default 3
        Colour each tree cut into ``k`` clusters; with 2+ features, a row of
        small scatters under the dendrograms shows those clusters (where single
        linkage's chaining shows as one big cluster and stragglers).
    truncate_above : int, default 300
    max_points : int, optional
        Cluster a seeded random sample of this many points when there are more
        (default :data:`LINKAGE_COMPARISON_MAX_POINTS`): every linkage needs all
        n(n-1)/2 distances, 400 MB and seconds per tree at 10 000 points. A
        note says so.
    seed : int
        Seed of the sample.

    Returns
    -------
    plotly Figure
        Panel c (0-based) on axes ``x{c+1}``/``y{c+1}`` (the first on ``x``/``y``),
        titled with the linkage's name (annotations; ``layout.meta["linkages"]``
        in order; ``layout.meta["rows"]`` the data rows clustered). Scatter
        panels, when drawn, follow on the next axes (``customdata`` = data rows).
    """
    from tracelab.labs.hierarchy import engine as _h

    cols0 = getattr(X, "columns", None)
    Xa = np.asarray(getattr(X, "X", X), dtype=np.float64)
    if Xa.ndim != 2 or Xa.shape[0] < 2:
        raise ValueError(f"X should have shape (n_samples, n_features) with 2+ rows, but got {Xa.shape}")
    linkages = tuple(linkages)
    if not linkages:
        raise ValueError("give at least one linkage")
    n_all = Xa.shape[0]
    rows = subsample(n_all, LINKAGE_COMPARISON_MAX_POINTS if max_points is None else max_points, seed)
    Xa = Xa[rows]
    n, d = Xa.shape
    Zs, euclid_only = zip(*_h.compare_linkages(Xa, linkages, metric=metric, p=p))
    show_points = k is not None and d >= 2
    if k is not None and not (isinstance(k, (int, np.integer)) and 1 <= k <= n):
        raise ValueError(f"k should be a whole number between 1 and the number of points ({n}), but got {k!r}")
    npan = len(linkages)
    ncols = min(2, npan)
    nrows_d = -(-npan // ncols)
    nrows = nrows_d * (2 if show_points else 1)
    # rows of 230 px with 95 px between them (tick labels, axis titles, the next titles);
    # with the points, each row of dendrograms has a row of scatters under it
    grid, plot_px = panel_grid(nrows * ncols, ncols, panel_px=230, row_gap_px=95, col_gap=0.06)
    traces: list[dict] = []
    layout: dict[str, Any] = {}
    annotations: list[dict] = []
    titles = []
    if show_points:
        if columns is None:
            columns = cols0 if isinstance(cols0, (list, tuple)) and len(cols0) == d else None
        names = [str(c) for c in columns] if columns is not None else [f"x{j + 1}" for j in range(d)]
        pxr, pyr, pxa, pya, _ = kit.scaled_axes(axis_range(Xa[:, 0]), axis_range(Xa[:, 1]))
    for c, (lk, Z) in enumerate(zip(linkages, Zs)):
        r, col = divmod(c, ncols)
        row = r * (2 if show_points else 1)
        dom_x, dom_y = map(_domain, grid[row * ncols + col])
        ax = c + 1
        sfx = "" if ax == 1 else str(ax)
        lay = dendrogram_layout(Z, truncate_above)
        inside = np.arange(1, n) <= n - k if k is not None else np.zeros(n - 1, dtype=bool)
        tr, _ = _dendro_traces(Z, lay, done_upto=n - 1, current=None, inside=inside,
                               xaxis=f"x{sfx}", yaxis=f"y{sfx}", width=1.1)
        for t in tr:
            t["meta"] = {**t["meta"], "panel": c, "linkage": lk}
        traces += tr
        xa = _leaf_axis(lay, n_labels_up_to=0)
        layout[f"xaxis{sfx}"] = {**xa, "domain": dom_x, "anchor": f"y{sfx}"}
        layout[f"yaxis{sfx}"] = {"domain": dom_y, "anchor": f"x{sfx}", "zeroline": False,
                                 "range": [0, float(Z[:, 2].max()) * 1.06 or 1.0],
                                 "title": {"text": "height"} if col == 0 else None}
        blurb = _LINKAGE_BLURB.get(lk, "")
        warn = " (Euclidean distances)" if euclid_only[c] else ""
        title = f"{lk} linkage{warn}" + (f"<br><span style='font-size:11px'>{blurb}</span>" if blurb else "")
        titles.append(lk)
        annotations.append(kit.subplot_title(title, sum(dom_x) / 2, dom_y[1]))
        if show_points:
            lab = np.asarray(_h.cut(Z, k))
            leaves = leaves_list(Z)
            colors, _summ = cluster_colors(lab, leaves)
            pax = npan + c + 1
            psfx = str(pax)
            pdom_y = _domain(grid[(row + 1) * ncols + col][1])
            traces.append({
                "type": "scattergl" if n > _GL_ABOVE else "scatter",
                "x": Xa[:, 0], "y": Xa[:, 1], "xaxis": f"x{psfx}", "yaxis": f"y{psfx}",
                "mode": "markers", "name": f"{lk}: {k} clusters", "showlegend": False,
                "customdata": rows,
                "marker": {"color": colors.tolist(), "size": 5, "line": {"width": 0}},
                "hovertemplate": "point #%{customdata}<extra></extra>",
                "meta": {"role": "points", "panel": c, "linkage": lk, "labels": lab},
            })
            layout[f"xaxis{psfx}"] = {"domain": dom_x, "anchor": f"y{psfx}", "range": pxr, "zeroline": False,
                                      "showgrid": False, "title": {"text": _esc(names[0])}, **pxa}
            layout[f"yaxis{psfx}"] = {"domain": pdom_y, "anchor": f"x{psfx}", "range": pyr, "zeroline": False,
                                      "showgrid": False, "showticklabels": col == 0,
                                      "title": {"text": _esc(names[1])} if col == 0 else None,
                                      **({**pya, "scaleanchor": f"x{psfx}"} if pya else {})}
    notes = []
    if n < n_all:
        notes.append(f"a random sample of {format_count(n)} of the {format_count(n_all)} points (seed {seed})")
    if k is not None:
        notes.append(f"coloured: each tree cut into {k} clusters")
    if n > truncate_above:
        notes.append(f"each tree shows its last {truncate_above - 1} merges of {format_count(n - 1)}")
    if notes:
        # a line each: side by side they ran past the right edge of a laptop-wide chart
        annotations.append({**_note("<br>".join(notes), x=0.0, y=-50 / plot_px, xanchor="left", yanchor="top"),
                            "align": "left"})
    layout.update({
        "annotations": annotations,
        "height": plot_px + 50 + 60 + 16 * len(notes),
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60 + 16 * len(notes)},
        "showlegend": False,
        "hovermode": "closest",
        "uirevision": "hierarchy-linkages",
        "meta": {"linkages": list(titles), "k": k, "rows": rows},
    })
    return figure(traces, layout)


# -------------------------------------------------------------------------- stepping


def step_charts(
    trace: Trace,
    *,
    axes: tuple[int, int] | str = (0, 1),
    columns: Sequence[str] | None = None,
    cut_k: int | None = None,
    cut_height: float | None = None,
    color_by_cut: bool = False,
) -> stepping.StepSpec:
    """The hierarchy lab's charts for the browser player, every step at once.

    AGNES: the scatter coloured by this step's clusters (or by the cut), the
    growing dendrogram with the cut, and the merge heights with this step's
    merge marked (a curve whose step changes only its shapes). DIANA: the scatter.

    Parameters
    ----------
    trace : Trace
        From :func:`tracelab.labs.hierarchy.engine.trace_agnes` or :func:`tracelab.labs.hierarchy.engine.trace_diana`.
    axes, columns
        As for :func:`scatter`.
    cut_k, cut_height : optional
        Where the dendrogram is cut (by height if given, else by k).
    color_by_cut : bool
        Colour the scatter (and the dendrogram's links) by the cut's clusters instead of this step's.

    Returns
    -------
    StepSpec
    """
    max_points = stepping.point_budget(trace.X.shape[0], len(trace))
    # what every step shares is computed once: the build's time bound is per run, not per step
    points = _scatter_prep(trace, axes, columns, max_points, 0, cut_k if color_by_cut else None)
    views = [lambda s: _scatter_at(trace, s, points)]
    if trace.algorithm == "agnes":
        cut = dict(cut_height=cut_height) if cut_height is not None else dict(cut_k=cut_k)
        tree = _dendrogram_prep(trace, 300)
        views.append(lambda s: _dendrogram_at(trace, s, tree, color_threshold=None, color_by_cut=color_by_cut,
                                              **{"cut_height": None, "cut_k": None, **cut}))
        # the same cut as the dendrogram's, so the two charts agree on where the tree is cut
        cut_at = cut_height if cut_height is not None else (cut_for_k(trace, cut_k) if cut_k else None)
        heights = _heights_prep(trace, cut_at, None, typed=True)
        views.append(lambda s: _heights_at(trace, s, heights))
    return stepping.build_spec(views, [snap.message for snap in trace.steps])
