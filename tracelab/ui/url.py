"""Lab state in the page URL, so a shared link opens the same step with the same numbers.

Each lab declares its URL fields as :class:`Param` records. :func:`parse_query`
turns the query string into values, falling back to the default (with a note
the page shows) for anything missing, malformed or out of range; it never
raises. :func:`load_into_state` and :func:`write` are the thin Streamlit glue.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

__all__ = ["Param", "choice", "integer", "number", "flag", "parse_query", "load_into_state", "write"]


@dataclass(frozen=True)
class Param:
    """One piece of lab state that travels in the URL.

    Parameters
    ----------
    name : str
        The query-string key, e.g. ``"k"``.
    key : str
        The session-state key of the widget holding the value.
    default : object
        Used when the URL does not say, or says something unusable.
    parse : callable str -> object
        Raises ValueError (with a short reason) on a value it cannot use.
    label : str
        How the note names this setting ("number of components").
    fmt : callable object -> str, optional
        How a value is written into the URL, for values ``str`` does not write
        in a form ``parse`` reads back.
    """

    name: str
    key: str
    default: Any
    parse: Callable[[str], Any]
    label: str = ""
    fmt: Callable[[Any], str] | None = None

    def format(self, value: Any) -> str:
        if self.fmt is not None:
            return self.fmt(value)
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, float):
            return repr(value)
        return str(value)


def choice(options: Sequence[str]) -> Callable[[str], str]:
    """A parser that accepts one of ``options``."""

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"should be one of {', '.join(options)}")
        return text

    return parse


def integer(lo: int, hi: int) -> Callable[[str], int]:
    """A parser for a whole number in ``[lo, hi]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("should be a whole number") from None
        if not lo <= value <= hi:
            raise ValueError(f"should be between {lo} and {hi}")
        return value

    return parse


def number(lo: float, hi: float) -> Callable[[str], float]:
    """A parser for a finite number in ``[lo, hi]``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError("should be a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ValueError(f"should be between {lo:g} and {hi:g}")
        return value

    return parse


def flag(text: str) -> bool:
    """A parser for 1/0 (also true/false)."""
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("should be 1 or 0")


def parse_query(params: Sequence[Param], query: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Read lab state from a query string.

    Parameters
    ----------
    params : sequence of Param
    query : mapping of str to str
        E.g. ``st.query_params.to_dict()``.

    Returns
    -------
    values : dict
        Session-state key to value, for every param the URL names and that parsed.
    notes : list of str
        One sentence per value that was refused and replaced by its default.
    """
    values: dict[str, Any] = {}
    notes: list[str] = []
    for p in params:
        if p.name not in query:
            continue
        text = str(query[p.name])
        try:
            values[p.key] = p.parse(text)
        except ValueError as exc:
            shown = text if len(text) <= 40 else text[:37] + "..."
            instead = "the default" if p.default is None else p.format(p.default)
            notes.append(
                f"The link's {p.name}={shown!r} was ignored ({p.label or p.name} {exc}); "
                f"using {instead} instead."
            )
    return values, notes


# The query strings this session wrote lately: reruns see their own writes, not new links.
_WRITTEN = "_url_written"
_WRITTEN_KEPT = 16


def load_into_state(params: Sequence[Param], flag_key: str) -> list[str]:
    """Seed widget state from the URL when the page is opened by a link.

    That is the first run of the page in a session, and any later run whose
    query string is new: a link followed from another page of the same session
    (``st.page_link`` keeps the session). A run whose query is empty (switching
    pages clears it) or is the one this session wrote keeps the state as it is.
    Sets ``st.session_state[flag_key + ".applied"]`` to False when it loaded, for
    components that turn loaded values into widget state once.

    Returns the notes of :func:`parse_query` (empty when nothing was loaded).
    """
    current = st.query_params.to_dict()
    if flag_key in st.session_state and (
        not current or current in st.session_state.get(_WRITTEN, ()) or current == st.session_state[flag_key]
    ):
        return []
    st.session_state[flag_key] = current
    st.session_state[f"{flag_key}.applied"] = False
    values, notes = parse_query(params, current)
    for key, value in values.items():
        st.session_state[key] = value
    return notes


def write(params: Sequence[Param], values: Mapping[str, Any]) -> None:
    """Mirror the current values into the URL (only the ones that differ from it).

    Parameters
    ----------
    params : sequence of Param
    values : mapping
        Session-state key to current value; a value of None removes the field.
    """
    wanted = {}
    for p in params:
        value = values.get(p.key)
        if value is not None:
            wanted[p.name] = p.format(value)
    # The last few queries written, not only the last: a rerun the browser asked for
    # before an earlier run's query reached its address bar carries that older query,
    # which must not be taken for a new link (it would undo the student's last change).
    written = [q for q in st.session_state.get(_WRITTEN, ()) if q != wanted][-(_WRITTEN_KEPT - 1):]
    st.session_state[_WRITTEN] = [*written, wanted]
    current = st.query_params.to_dict()
    if current != wanted:
        st.query_params.from_dict(wanted)
