"""The data picker every lab shares: a built-in data set, a generator, or an uploaded CSV.

A broken upload never costs the student their work: the error is shown with
its message and the last good data set stays in use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st

from tracelab import data
from tracelab.data import link as data_link
from tracelab.data import datasets
from tracelab.data import Dataset, DataError, default_features, read_csv
from tracelab.ui import url

__all__ = ["DataChoice", "UPLOAD", "url_params", "pick_dataset", "choose_builtin", "current_name", "plain"]

UPLOAD = "upload"
BUILT_IN, UPLOAD_CSV = "Built-in", "Upload a CSV"
# Feature-column lists travel in links joined by this separator.
_SEP = ","
# Widgets keep their values while hidden and across pages: a student who looks at
# the home page and comes back finds the lab as it was.
PERSIST = "session"


@dataclass(frozen=True)
class DataChoice:
    """What the picker settled on.

    Parameters
    ----------
    dataset : Dataset
        The data the lab runs on (after column choice and standardising).
    source : str
        The built-in name, or ``"upload"``.
    error : str or None
        A refused upload's message; ``dataset`` is then the last good data.
    unshareable : str or None
        Why a link cannot carry this data (an upload too large to pack), or None.
    """

    dataset: Dataset
    source: str
    error: str | None = None
    unshareable: str | None = None

    @property
    def shareable(self) -> bool:
        """Whether a link can carry this data (a built-in set, or a small upload packed into it)."""
        return self.unshareable is None


def _k(prefix: str, name: str) -> str:
    return f"{prefix}.data.{name}"


def _param_key(prefix: str, name: str, pname: str) -> str:
    # Per data set: two generators' "noise" defaults differ.
    return _k(prefix, f"p.{name}.{pname}")


def url_params(prefix: str, name: str | None) -> list[url.Param]:
    """The URL fields of the data choice; generator parameters depend on ``name``."""
    params = [
        url.Param("data", _k(prefix, "source_name"), "old_faithful", url.choice([*datasets.names(), UPLOAD]), "data set"),
        url.Param("cols", _k(prefix, "cols"), None, str, "feature columns"),
        url.Param("std", _k(prefix, "standardize"), True, url.flag, "standardise"),
        # A small upload itself, packed (tracelab.data.link); read when the link is applied.
        url.Param("csv", _k(prefix, "link_csv"), None, str, "data in the link"),
    ]
    if name in datasets.names():
        limits = datasets.parameter_limits(name)
        for pname, default in datasets.parameters(name).items():
            lo, hi = limits[pname]
            parse = url.integer(lo, hi) if _is_int(default) else url.number(lo, hi)
            params.append(url.Param(f"data_{pname}", _param_key(prefix, name, pname), default, parse, pname))
    return params


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@st.cache_data(max_entries=32, show_spinner=False)
def _load_builtin(name: str, params: tuple[tuple[str, object], ...]) -> Dataset:
    return datasets.load(name, **dict(params))


def _read_upload(prefix: str, uploaded) -> Dataset:
    """Read an upload once per file (keyed by its id), keeping the outcome for reruns."""
    cache_key = _k(prefix, "upload_cache")
    cached = st.session_state.get(cache_key)
    if cached is None or cached[0] != uploaded.file_id:
        try:
            cached = (uploaded.file_id, read_csv(uploaded, name=uploaded.name), None)
        except DataError as exc:
            cached = (uploaded.file_id, None, str(exc))
        st.session_state[cache_key] = cached
    if cached[2] is not None:
        raise DataError(cached[2])
    return cached[1]


def _default_dataset(prefix: str, default: str) -> Dataset:
    ds = _load_builtin(default, ())
    if st.session_state.get(_k(prefix, "standardize"), True):
        ds = ds.standardized()
    return ds


def pick_dataset(prefix: str, *, default: str = "old_faithful", container=None) -> DataChoice:
    """Draw the data controls and return the chosen data set.

    Parameters
    ----------
    prefix : str
        Session-state namespace of the lab (one picker per lab).
    default : str
        The built-in data set shown first.
    container : streamlit container, optional
        Where to draw (default: the sidebar).

    Returns
    -------
    DataChoice
    """
    box = container if container is not None else st.sidebar
    last_key = _k(prefix, "last_good")
    names = datasets.names()
    st.session_state.setdefault(_k(prefix, "name"), default)
    st.session_state.setdefault(_k(prefix, "standardize"), True)
    _apply_link(prefix, names)
    box.subheader("Data")
    source = box.radio("Source", [BUILT_IN, UPLOAD_CSV], key=_k(prefix, "source"), horizontal=True, persist_state=PERSIST)
    error = None
    if source == BUILT_IN:
        name = box.selectbox("Data set", names, key=_k(prefix, "name"), format_func=datasets.title, persist_state=PERSIST)
        box.caption(datasets.describe(name))
        params = {}
        limits = datasets.parameter_limits(name)
        for pname, value in datasets.parameters(name).items():
            key = _param_key(prefix, name, pname)
            st.session_state.setdefault(key, value)
            lo, hi = limits[pname]
            label = pname.replace("_", " ")
            if _is_int(value):
                params[pname] = int(box.number_input(label, int(lo), int(hi), step=1, key=key, persist_state=PERSIST))
            else:
                params[pname] = float(
                    box.number_input(label, float(lo), float(hi), step=0.01, format="%.2f", key=key, persist_state=PERSIST)
                )
        raw = _load_builtin(name, tuple(sorted(params.items())))
        source_name = name
    else:
        source_name = UPLOAD
        refused_key = _k(prefix, "refused")
        # A refused file leaves the uploader (a new key empties it), so it is never
        # listed as if loaded; what was wrong with it stays on the page until the
        # next file.
        nonce = st.session_state.get(_k(prefix, "upload_nonce"), 0)
        uploaded = box.file_uploader(
            "CSV file (comma, semicolon or tab separated)",
            type=["csv", "txt", "tsv"],
            key=_k(prefix, "upload") + (f".{nonce}" if nonce else ""),
            # the loader's limit, so that the uploader names the same one
            max_upload_size=max(1, data.MAX_BYTES // 1_000_000),
        )
        # Always said: a file over the limit is refused in the browser, where Python never sees it.
        box.caption(f"At most {data.limits()}. A larger file is refused (marked in red above) and the "
                    "data stays as it was: take a sample of its rows.")
        raw = None
        kept = st.session_state.get(_k(prefix, "upload_cache"))
        if uploaded is None and kept is not None and kept[1] is not None and refused_key not in st.session_state:
            # The uploader forgets its file when the student visits another page;
            # the file read before (or the link's data) stays until another replaces it.
            raw = kept[1]
            how = "from the link" if kept[0] == _LINK_FILE else "uploaded before"
            box.caption(f"Using {plain(raw.name)}, {how}. Choose another file to replace it.")
        if uploaded is not None:
            st.session_state.pop(refused_key, None)
            try:
                raw = _read_upload(prefix, uploaded)
            except DataError as exc:
                st.session_state[refused_key] = f"{uploaded.name} was not loaded. {exc}"
                st.session_state[_k(prefix, "upload_nonce")] = nonce + 1
                st.rerun()
        if raw is None:
            error = st.session_state.get(refused_key)
            if error is None:
                if st.session_state.get(_k(prefix, "link_had_upload")):
                    box.info(
                        "This link was made with an uploaded CSV, which a link cannot carry. "
                        "Upload the file again, or replay its trace file."
                    )
                box.info("Choose a CSV file with a header row. Until then the last data set stays.")
            st.session_state[_k(prefix, "source_name")] = UPLOAD
            st.session_state[_k(prefix, "link_csv")] = None
            last = st.session_state.get(last_key) or (_default_dataset(prefix, default), default)
            return DataChoice(last[0], last[1], error, unshareable=_NO_FILE if last[1] == UPLOAD else None)
    try:
        chosen, columns = _columns_and_scale(prefix, box, raw)
    except DataError as exc:
        # E.g. values so large that standardising overflows: keep the last good data.
        last = st.session_state.get(last_key) or (_default_dataset(prefix, default), default)
        return DataChoice(last[0], last[1], str(exc), unshareable=_NO_FILE if last[1] == UPLOAD else None)
    for note in chosen.notes:
        box.caption(plain(note))
    unshareable = None
    packed = None
    if source_name == UPLOAD:
        packed, unshareable = _packed(prefix, columns)
    st.session_state[_k(prefix, "link_csv")] = packed
    st.session_state[last_key] = (chosen, source_name)
    st.session_state[_k(prefix, "source_name")] = source_name
    return DataChoice(chosen, source_name, error, unshareable=unshareable)


# The upload cache's file id for data read from a link.
_LINK_FILE = "link"
_NO_FILE = "The data shown is an earlier upload; upload a file to share it."


def _packed(prefix: str, data: Dataset) -> tuple[str | None, str | None]:
    """The upload's chosen columns packed for a link, or why they cannot travel; once per choice."""
    memo_key = _k(prefix, "link_pack")
    memo = st.session_state.get(memo_key)
    ident = (data.digest, data.columns, data.name, data.label_name)
    if memo is None or memo[0] != ident:
        try:
            memo = (ident, data_link.pack(data), None)
        except DataError as exc:
            memo = (ident, None, f"This upload is too large to travel in a link: {exc}")
        st.session_state[memo_key] = memo
    return memo[1], memo[2]


def _columns_and_scale(prefix: str, box, raw: Dataset) -> tuple[Dataset, Dataset]:
    """The data the lab runs on, and its chosen columns as read (before standardising)."""
    chosen = raw
    cols_url_key = _k(prefix, "cols")
    if raw.n_features > 1:
        cols_key = _k(prefix, f"columns.{raw.digest}")
        pending = st.session_state.pop(_k(prefix, "pending_cols"), None)
        if pending is not None:
            wanted = [c for c in pending.split(_SEP) if c]
            if wanted and all(c in raw.columns for c in wanted):
                st.session_state[cols_key] = wanted
            else:
                box.warning(plain(f"The link's feature columns ({pending}) are not all columns of this data; "
                                  "using the default ones."))
        features, left_out = default_features(raw)
        st.session_state.setdefault(cols_key, list(features))
        columns = box.multiselect("Feature columns", list(raw.columns), key=cols_key, persist_state=PERSIST)
        # Say what the default left out for as long as it stays out, so that a
        # student who wonders where "id" went reads why and how to get it back.
        unused = {c: why for c, why in left_out.items() if c not in columns}
        if unused:
            box.info(plain(_left_out_note(unused)), icon="ℹ️")
        try:
            chosen = raw.select(columns)
        except DataError as exc:
            box.warning(plain(str(exc)) + " Using the default columns meanwhile.")
            chosen = raw.select(features)
    subset = chosen.columns != raw.columns
    st.session_state[cols_url_key] = _SEP.join(chosen.columns) if subset else None
    if box.toggle(
        "Standardise columns",
        key=_k(prefix, "standardize"),
        help="Shift each column to mean 0 and scale it to standard deviation 1, "
        "so columns measured in different units count alike.",
        persist_state=PERSIST,
    ):
        return chosen.standardized(), chosen
    return chosen, chosen


def _left_out_note(left_out: dict[str, str]) -> str:
    """One note on the columns the default features leave out: which, why, and how to add them."""
    lines = [f"{name!r} is not clustered by default: {why}." for name, why in left_out.items()]
    them = "it" if len(left_out) == 1 else "them"
    return " ".join(lines) + f" To cluster on {them} anyway, add {them} under Feature columns."


# Characters Streamlit's Markdown gives a meaning to (emphasis, links, LaTeX,
# colour and icon directives, HTML): escaped, a name from a file is shown as written.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&])")


def plain(text: str) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it as written, never as formatting.

    Notes about an upload hold its column names, which come from the student's file.
    """
    return _MARKDOWN.sub(r"\\\1", str(text))


def _apply_link(prefix: str, names: list[str]) -> None:
    # When the URL loader has just read a link (see url.load_into_state, called by
    # lab.open_lab with the flag "<prefix>.url_loaded"), turn its data choice (read
    # into "source_name" and "cols") into the widgets' state; otherwise those keys
    # only mirror the widgets.
    applied = f"{prefix}.url_loaded.applied"
    if st.session_state.get(applied, True):
        return
    st.session_state[applied] = True
    wanted = st.session_state.get(_k(prefix, "source_name"))
    packed = st.session_state.get(_k(prefix, "link_csv"))
    if wanted == UPLOAD and packed:
        # The link carries its data: read like an upload, with the same checks and
        # messages; a damaged one is refused and the data on screen stays.
        st.session_state[_k(prefix, "source")] = UPLOAD_CSV
        try:
            st.session_state[_k(prefix, "upload_cache")] = (_LINK_FILE, data_link.unpack(packed), None)
            st.session_state.pop(_k(prefix, "refused"), None)
        except DataError as exc:
            st.session_state[_k(prefix, "refused")] = f"The link's data was not loaded. {exc}"
    elif wanted == UPLOAD:
        st.session_state[_k(prefix, "source")] = UPLOAD_CSV
        st.session_state[_k(prefix, "link_had_upload")] = True
    elif wanted in names:
        st.session_state[_k(prefix, "source")] = BUILT_IN
        st.session_state[_k(prefix, "name")] = wanted
    if st.session_state.get(_k(prefix, "cols")):
        st.session_state[_k(prefix, "pending_cols")] = st.session_state[_k(prefix, "cols")]


def choose_builtin(prefix: str, name: str, standardize: bool) -> None:
    """Switch the picker to a built-in data set (for presets); call from a callback."""
    st.session_state[_k(prefix, "source")] = BUILT_IN
    st.session_state[_k(prefix, "source_name")] = name
    st.session_state[_k(prefix, "name")] = name
    st.session_state[_k(prefix, "standardize")] = standardize


def current_name(prefix: str) -> str | None:
    """The built-in data set the picker shows, or None for an upload."""
    if st.session_state.get(_k(prefix, "source"), BUILT_IN) != BUILT_IN:
        return None
    return st.session_state.get(_k(prefix, "name"))
