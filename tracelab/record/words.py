"""How the traces' messages write numbers, counts, lists of rows and clusters.

Shared by the engines so that every lab words a step the same way. Plain
Python and numpy only.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["and_list", "change", "changed", "clusters", "num", "ordinal", "pair", "plural", "points", "rows", "sizes", "value"]


def num(x: float, sig: int = 2) -> str:
    """A short number: ``sig`` significant digits, no exponent below 10**sig; ∞ and "undefined" for inf and nan."""
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if math.isnan(x):
        return "undefined"
    if x == 0:
        return "0"
    if abs(x) >= 10**sig:
        return f"{x:.0f}" if abs(x) < 1e9 else f"{x:.{sig}g}"
    return f"{x:.{sig}g}"


def pair(a: float, b: float) -> tuple[str, str]:
    """Two values of one quantity, with enough digits to show that they differ."""
    m = max(abs(a), abs(b))
    if m == 0 or not math.isfinite(m):
        return f"{a:g}", f"{b:g}"
    if 1e-3 <= m < 1e9:
        lead = math.floor(math.log10(m)) + 1
        base = max(0 if m >= 1e4 else 1, 2 - lead)
        for dec in range(base, base + 10):
            sa, sb = f"{a:.{dec}f}", f"{b:.{dec}f}"
            if sa != sb:
                return sa, sb
        return f"{a:.{base}f}", f"{b:.{base}f}"
    for sig in range(3, 13):
        sa, sb = f"{a:.{sig}g}", f"{b:.{sig}g}"
        if sa != sb:
            return sa, sb
    return f"{a:.3g}", f"{b:.3g}"


def value(x: float) -> str:
    """One value, with as many digits as :func:`pair` would give it."""
    return pair(x, x)[0]


def change(name: str, a: float, b: float) -> str:
    """'inertia 81.2 → 79.9' or 'inertia unchanged at 81.2'."""
    sa, sb = pair(a, b)
    return f"{name} unchanged at {sb}" if sa == sb else f"{name} {sa} → {sb}"


def points(n: int) -> str:
    """'1 point', '2 points'."""
    return f"{n} point" if n == 1 else f"{n} points"


def and_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def rows(indices, limit: int = 6) -> str:
    """'#4, #17 and #88' (row indices, as the views show them), cut short."""
    items = [f"#{int(i)}" for i in indices]
    if len(items) > limit:
        return ", ".join(items[:limit - 1]) + f", … ({len(items)} in all)"
    return and_list(items)


def clusters(js) -> str:
    """'cluster 3' / 'clusters 2 and 3', numbered from 1 as the views number them."""
    js = [int(j) + 1 for j in js]
    if len(js) == 1:
        return f"cluster {js[0]}"
    if len(js) > 6:
        return f"{len(js)} clusters ({', '.join(map(str, js[:5]))}, …)"
    return "clusters " + and_list([str(j) for j in js])


def sizes(labels: np.ndarray, k: int) -> str:
    """'clusters of 40/41/39 points', saying which clusters are empty."""
    counts = np.bincount(labels, minlength=k)
    if k == 1:
        return f"one cluster of all {points(int(counts[0]))}"
    if k <= 6:
        text = "clusters of " + "/".join(map(str, counts)) + " points"
    else:
        text = f"clusters of {counts.min()} to {counts.max()} points"
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        text += f" ({clusters(empty)} {'is' if empty.size == 1 else 'are'} empty)"
    return text


def changed(n_changed: int) -> str:
    """'3 points changed cluster'."""
    return f"{points(n_changed)} changed cluster"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 cluster', '2 clusters' (or ``many``: '2 reachabilities')."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 3 -> "3rd", 11 -> "11th", 22 -> "22nd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
