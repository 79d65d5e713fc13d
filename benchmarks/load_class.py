"""A class of students against one TraceLab server, speaking Streamlit's own WebSocket protocol.

What it simulates
-----------------
Each student is one browser tab, played without a browser: the same HTTP requests
a page load makes (the page, ``/_stcore/health`` which sets the ``_streamlit_xsrf``
cookie, ``/_stcore/host-config``), then the WebSocket ``/_stcore/stream`` carrying
the protobuf messages of the installed Streamlit (``streamlit.proto.BackMsg_pb2``
up, ``streamlit.proto.ForwardMsg_pb2`` down). The messages are the ones headless
Chromium sends for the same actions (captured with Playwright's
``page.on("websocket")`` / ``ws.on("framesent")`` and decoded with
``BackMsg.FromString``):

- **open**: a lab by link, spread over ``/em``, ``/kmeans``, ``/hierarchy`` and
  ``/density`` with query strings like the app's own links. The first
  ``rerun_script`` carries the query string, the page name and no widget state.
- **step**, every ~2 s: the step player is a Custom Components v2 component; the
  browser reports its step through the component's state, a ``rerun_script``
  whose widget states hold every widget's value (as the browser keeps them) and,
  for the player, ``json_value = {"step": {"step": s, "mount": m}}`` (``m``: the
  mount nonce Python put in the player's data), with the ``fragment_id`` of the
  player's fragment, so only that fragment reruns.
- **change**, every ~30 s: a widget change (k, the data set, the linkage, MinPts):
  a ``rerun_script`` with the new value and no fragment id (a full rerun).
- **upload**, once for some students: switching "Source" to "Upload a CSV" (a
  change), then what ``st.file_uploader`` does: a ``file_urls_request`` BackMsg,
  the ``file_urls_response`` ForwardMsg, an HTTP PUT (multipart) of the file to
  the upload URL with the XSRF cookie and its ``X-Xsrftoken`` header, then a
  ``rerun_script`` whose uploader state names the file.
- **leave**: the socket is closed.

Like the browser, each tab keeps the ForwardMsg cache (large messages such as
the player's step charts come once, then as ``ref_hash``; the tab lists what it
holds in ``cached_message_hashes``, dropping what went unused for
``max_cached_message_age`` runs) and forgets the state of widgets no longer on
the page. Static files (JavaScript, plotly.js) are not fetched: a browser has them
in its cache after the first visit.

Students arrive one by one over ``--ramp`` seconds and each stays ``--duration``
seconds; one whose action fails (counted below) leaves, as a student would
reload the page. ``--heavy`` adds one student who keeps opening the heaviest run the app
accepts (EM on 20 000 points, k = 10, 1 000 iterations, tol = 0, about 5 s of one
core; a new seed each time, so the shared run store cannot answer it) while the
others are measured.

What it prints
--------------
A plain-text report: per action (open, step, change, upload) the count and the
latency from sending the BackMsg (for an upload, the ``file_urls_request``) to the
ForwardMsg ``script_finished`` of the run it caused (of the fragment run, for a
step) as p50 / p95 / max, and the errors: an exception element in the deltas
(``Delta.new_element.exception``), a timeout, a closed socket, and a step or an
upload whose result did not come back (the step's "... step N" text, the file's
name). With ``--heavy``, the others' open and step latencies while a heavy run was
going. Then the server's memory, the proportional set size (PSS) of its process and children read from
``/proc``: before any student, at the peak, per session ((peak - before) / N),
after all have left and ``--settle`` seconds later; and the CPU the server, this
script and the whole machine used. Each figure is printed next to its target
(30 students, p95 <= 1 s for every action, no error, <= 30 MB per session, memory
back within 10 % of the start 3 minutes after the students left).

How to run
----------
``python benchmarks/load_class.py --start`` starts ``streamlit run app.py`` from the
repository root on a free loopback port (``--port`` to choose it) and stops it at
the end; ``--url http://127.0.0.1:PORT --pid PID`` attaches to a running server
instead (the pid for its memory and CPU). Loopback only. ``--students`` (default
30, at most 100), ``--duration`` (default 180 s, at most 30 min), ``--settle``
(default 180 s), ``--heavy``. Every wait has a timeout (``--timeout``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

ROOT = Path(__file__).resolve().parent.parent

MAX_STUDENTS = 100
MAX_DURATION = 30 * 60.0
MAX_SETTLE = 30 * 60.0
ACTIONS = ("open", "step", "change", "upload")

# Targets the class is measured against (printed beside the figures).
TARGET_STUDENTS = 30
TARGET_P95_S = 1.0
TARGET_MB_PER_SESSION = 30.0
TARGET_SETTLE_FRACTION = 0.10

FINISHED, EARLY_FOR_RERUN, FRAGMENT_FINISHED = (
    ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_EARLY_FOR_RERUN, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
)
# The largest run the app starts (tracelab.labs.em.engine's work budget: 20 000 points, k = 10,
# 1 000 iterations); the heavy student adds a new seed each time.
HEAVY_LINK = "/em?data=blobs&data_n_samples=20000&k=10&iter=1000&tol=0"
UPLOAD_SOURCE = "Upload a CSV"


class ActionError(Exception):
    """An action that failed; ``kind`` is how it is counted."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


# -- What students do in each lab -----------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A widget a student changes, and the values it takes in turn.

    Parameters
    ----------
    key : str
        The widget's key in the page (``em.k``); its element id ends with ``-<key>``.
    values : tuple or None
        Values to cycle through (numbers for number inputs and sliders, option
        labels as shown for select boxes and radios); None: every option in turn.
    """

    key: str
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Lab:
    """A lab page: its path, its session-state prefix, the links students open and the changes they make."""

    path: str
    prefix: str
    links: tuple[str, ...]
    changes: tuple[Change, ...]


LABS = (
    Lab("em", "em", ("data=old_faithful&k=2", "data=iris&k=3", "data=old_faithful&k=3&cov=diag"),
        (Change("em.k", (2, 3, 4)), Change("em.data.name", ("Old Faithful", "Iris")))),
    Lab("kmeans", "km", ("data=blobs&k=3", "data=blobs&k=4&init=k-means%2B%2B", "data=two_moons&k=2"),
        (Change("km.k", (2, 3, 4, 5)),)),
    Lab("hierarchy", "hc", ("data=blobs&linkage=ward", "data=blobs&linkage=average"),
        (Change("hc.linkage"),)),
    Lab("density", "db", ("data=two_moons", "data=two_moons&eps=0.25&minpts=8"),
        (Change("db.minpts", (5, 8, 10, 15)), Change("db.eps", (0.2, 0.25, 0.3)))),
)


def lab_links() -> list[tuple[Lab, str]]:
    """Every (lab, query) a student may open, interleaved over the labs so N students spread evenly."""
    out: list[tuple[Lab, str]] = []
    for i in range(max(len(lab.links) for lab in LABS)):
        out += [(lab, lab.links[i]) for lab in LABS if i < len(lab.links)]
    return out


def student_csv(seed: int, n: int = 240) -> bytes:
    """A student's own small CSV: two noisy groups in two columns (no two students send the same file)."""
    rng = random.Random(seed)
    rows = ["height,weight"]
    for i in range(n):
        cx, cy = (160.0, 55.0) if i % 2 else (178.0, 78.0)
        rows.append(f"{rng.gauss(cx, 6):.1f},{rng.gauss(cy, 7):.1f}")
    return ("\n".join(rows) + "\n").encode()


# -- HTTP (the few requests besides the WebSocket) --------------------------------------------

# Never through a proxy from the environment: the server is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
          timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    """One blocking HTTP request; (status, headers, body). Run in a thread by the tabs."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def _xsrf_from(headers: dict[str, str]) -> str | None:
    # The token looks like "2|mask|token|time"; a cookie parser may reject the "|", so read it plainly.
    for name, value in headers.items():
        if name.lower() == "set-cookie" and value.startswith("_streamlit_xsrf="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


def _multipart(filename: str, content: bytes, content_type: str = "text/csv") -> tuple[bytes, str]:
    """A multipart/form-data body with one file field, as the browser's uploader sends it."""
    boundary = "----TraceLabLoad" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# -- One browser tab ----------------------------------------------------------------------------


@dataclass
class Run:
    """One script run as the tab saw it, from its ``new_session`` to its ``script_finished``."""

    run_id: str
    fragment_ids: tuple[str, ...]
    texts: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    errors_shown: list[str] = field(default_factory=list)
    drew_charts: bool = False
    status: int | None = None


@dataclass
class _Cached:
    """A cached ForwardMsg, as the browser's ForwardMsgCache keeps it."""

    msg: ForwardMsg
    run_count: int
    fragment_id: str


@dataclass
class _Node:
    """What sits at a delta path: the run that last wrote it, its fragment and its widget id, if any."""

    run_id: str
    fragment_id: str
    widget_id: str | None


@dataclass(frozen=True)
class _Player:
    """The player's mount, read from the data Python sent it (``tracelab.ui.player``)."""

    start: int
    mount: int
    n_steps: int


# Player data seen by any tab, by message hash: students of one lab share specs,
# and parsing a spec of up to 7 MB once instead of per tab keeps this script light.
_PLAYERS: dict[str, _Player] = {}


def _parse_player(data: bytes) -> _Player:
    spec = json.loads(data)
    return _Player(start=int(spec.get("start", 1)), mount=int(spec.get("mount", 0)), n_steps=len(spec["labels"]))


def _widget_key(widget_id: str) -> str:
    """``$$ID-<hash>-em.k`` -> ``em.k`` (keys may hold dashes themselves: ``em-player``)."""
    parts = widget_id.split("-", 2)
    return parts[2] if len(parts) == 3 and widget_id.startswith("$$ID") else widget_id


def _initial_state(kind: str, proto: Any) -> WidgetState | None:
    """The value a widget reports before anyone touches it, or the value Python set (``set_value``).

    Mirrors the browser: a widget's first render stores its default (or the value
    Python set) without a rerun; buttons, charts, tables, uploaders and components
    report nothing until used.
    """
    ws = WidgetState(id=proto.id)
    use_value = bool(getattr(proto, "set_value", False))
    if kind == "checkbox":
        ws.bool_value = proto.value if use_value else proto.default
    elif kind == "number_input":
        if not use_value and not proto.HasField("default"):
            return None
        if use_value and not proto.HasField("value"):
            return None  # Python cleared it: an empty input reports nothing
        number = proto.value if use_value else proto.default
        if proto.data_type == NumberInput.INT:
            ws.int_value = int(number)
        else:
            ws.double_value = number
    elif kind in ("selectbox", "radio"):
        if use_value:
            if not proto.HasField("raw_value"):
                return None
            ws.string_value = proto.raw_value
        elif proto.HasField("default") and proto.default < len(proto.options):
            ws.string_value = proto.options[proto.default]
        else:
            return None
    elif kind == "multiselect":
        ws.string_array_value.data[:] = (list(proto.raw_values) if use_value
                                         else [proto.options[i] for i in proto.default])
    elif kind == "button_group":
        ws.string_array_value.data[:] = (list(proto.raw_values) if use_value
                                         else [proto.options[i].content for i in proto.default])
    elif kind == "slider":
        if proto.options:  # st.select_slider: the labels of the chosen options
            ws.string_array_value.data[:] = (list(proto.raw_value) if use_value
                                             else [proto.options[int(i)] for i in proto.default])
        else:
            ws.double_array_value.data[:] = list(proto.value if use_value else proto.default)
    elif kind in ("text_input", "text_area"):
        if not use_value and not proto.HasField("default"):
            return None
        ws.string_value = proto.value if use_value else proto.default
    else:
        return None
    return ws


class Tab:
    """One student's browser tab: a WebSocket session that keeps the state a browser keeps.

    Parameters
    ----------
    base : str
        The server's base URL (``http://127.0.0.1:PORT``).
    timeout : float
        Seconds any one wait may take (connect, a run, an HTTP request).
    """

    def __init__(self, base: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.ws: Any = None
        self.reader: asyncio.Task | None = None
        self.closed: str | None = None
        self.xsrf: str | None = None
        self.page = ""
        self.query = ""
        self.session_id = ""
        self.page_script_hash = ""
        self.max_age = 2
        self.widgets: dict[str, WidgetState] = {}
        self.kinds: dict[str, str] = {}
        self.protos: dict[str, Any] = {}
        self.tree: dict[tuple[int, ...], _Node] = {}
        self.cache: dict[str, _Cached] = {}
        self.run_count = 0
        self.run: Run | None = None
        self.finished: asyncio.Queue[Run] = asyncio.Queue()
        self.file_urls: dict[str, asyncio.Future] = {}
        self.player_id: str | None = None
        self.player_fragment = ""
        self.player: _Player | None = None
        self.player_hash = ""
        self.player_state: dict[str, Any] = {}
        self.shown_step = 1
        self.lab: Lab | None = None
        self.last_run: Run | None = None

    # -- connection --------------------------------------------------------------------------

    async def _get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        headers = {"Cookie": f"_streamlit_xsrf={self.xsrf}"} if self.xsrf else {}
        return await asyncio.to_thread(_http, "GET", self.base + path, headers=headers, timeout=self.timeout)

    async def connect(self, path: str, query: str) -> None:
        """Load the page as a browser does (the page, health, host config) and open the WebSocket."""
        self.page, self.query = path.strip("/"), query
        await self._get(f"/{self.page}" + (f"?{query}" if query else ""))
        status, headers, _ = await self._get("/_stcore/health")
        if status != 200:
            raise ActionError("closed", f"health answered {status}")
        self.xsrf = _xsrf_from(headers) or self.xsrf
        await self._get("/_stcore/host-config")
        ws_url = "ws" + self.base[len("http"):] + "/_stcore/stream"
        # The browser passes the XSRF token as the second WebSocket subprotocol and the cookie beside it.
        self.ws = await connect(
            ws_url,
            subprotocols=["streamlit", self.xsrf or "PLACEHOLDER_AUTH_TOKEN"],
            additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"} if self.xsrf else None,
            origin=self.base,
            proxy=None,
            open_timeout=self.timeout,
            max_size=64 * 2**20,  # a player spec is at most 7 MB
            ping_interval=None,
        )
        self.reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        """Leave: close the socket (the server keeps the session for its disconnected-session TTL)."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), self.timeout)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader
        self.closed = self.closed or "left"

    # -- receiving ---------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if isinstance(raw, bytes):
                    self._on_message(ForwardMsg.FromString(raw))
        except ConnectionClosed as exc:
            self.closed = f"socket closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a message this client cannot follow: the tab is broken
            self.closed = f"protocol: {exc!r}"
        else:
            self.closed = "socket closed"
        # Wake whoever waits: their action failed with a closed socket.
        self.finished.put_nowait(Run("", ()))
        for fut in self.file_urls.values():
            if not fut.done():
                fut.set_exception(ActionError("closed", self.closed or ""))

    def _on_message(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind != "ref_hash" and msg.metadata.cacheable and msg.hash:
            # The browser caches large messages so later runs may send only their hash.
            if msg.hash in self.cache:
                self.cache[msg.hash].run_count = self.run_count
            else:
                self.cache[msg.hash] = _Cached(msg, self.run_count, msg.delta.fragment_id)
        if kind == "ref_hash":
            entry = self.cache.get(msg.ref_hash)
            if entry is None:
                raise RuntimeError(f"cached ForwardMsg {msg.ref_hash} missing")
            entry.run_count = self.run_count
            self._on_delta(entry.msg.delta, tuple(msg.metadata.delta_path), msg.ref_hash)
        elif kind == "delta":
            self._on_delta(msg.delta, tuple(msg.metadata.delta_path), msg.hash)
        elif kind == "new_session":
            ns = msg.new_session
            self.session_id = ns.initialize.session_id or self.session_id
            self.max_age = ns.config.max_cached_message_age or self.max_age
            self.run = Run(msg.metadata.run.script_run_id, tuple(msg.metadata.run.fragment_ids))
        elif kind == "navigation":
            # The page being shown; later reruns name it by this hash.
            self.page_script_hash = msg.navigation.page_script_hash or self.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "file_urls_response":
            fut = self.file_urls.pop(msg.file_urls_response.response_id, None)
            if fut is not None and not fut.done():
                fut.set_result(msg.file_urls_response)
        elif kind == "script_finished":
            self._on_finished(msg)

    def _on_delta(self, delta: Any, path: tuple[int, ...], msg_hash: str) -> None:
        run_id = self.run.run_id if self.run else ""
        which = delta.WhichOneof("type")
        if which == "add_block":
            self.tree[path] = _Node(run_id, delta.fragment_id, None)
            return
        if which == "new_transient":
            # "Drawing N steps…" is the spinner around building the player's charts
            # (tracelab.ui.runners.step_spec): this run built them, none was shared.
            # Streamlit shows a spinner only after 0.5 s, so quicker builds go unseen.
            if self.run and any(e.WhichOneof("type") == "spinner" and e.spinner.text.startswith("Drawing")
                                for e in delta.new_transient.elements):
                self.run.drew_charts = True
            return
        if which != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        proto = getattr(element, kind) if kind else None
        widget_id = getattr(proto, "id", "") or None
        self.tree[path] = _Node(run_id, delta.fragment_id, widget_id)
        if kind == "markdown" and self.run:
            self.run.texts.append(element.markdown.body)
        elif kind == "exception" and self.run:
            self.run.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:200])
        elif kind == "alert" and self.run and element.alert.format == 1:  # st.error
            self.run.errors_shown.append(element.alert.body[:200])
        if widget_id is None:
            return
        self.kinds[widget_id], self.protos[widget_id] = kind, proto
        if kind == "bidi_component" and _widget_key(widget_id).endswith("-player"):
            self._on_player(widget_id, proto, delta.fragment_id, msg_hash)
        elif widget_id not in self.widgets or getattr(proto, "set_value", False):
            state = _initial_state(kind, proto)
            if state is not None:
                self.widgets[widget_id] = state

    def _on_player(self, widget_id: str, proto: Any, fragment_id: str, msg_hash: str) -> None:
        self.player_id, self.player_fragment = widget_id, fragment_id
        if msg_hash == self.player_hash:
            return  # the same data: the component keeps its own step
        self.player_hash = msg_hash
        player = _PLAYERS.get(msg_hash) if msg_hash else None
        if player is None:
            player = _parse_player(proto.bytes or proto.json.encode())
            if msg_hash:
                if len(_PLAYERS) > 256:
                    _PLAYERS.clear()
                _PLAYERS[msg_hash] = player
        # New data mounts the player afresh at the step Python chose.
        self.player, self.shown_step = player, player.start

    def _on_finished(self, msg: ForwardMsg) -> None:
        status = msg.script_finished
        run = self.run or Run(msg.metadata.run.script_run_id, tuple(msg.metadata.run.fragment_ids))
        run.status = status
        if status in (FINISHED, FRAGMENT_FINISHED):
            # What the browser clears: everything a full run did not write, or in a
            # fragment run what that fragment did not write; widgets gone from the
            # page are forgotten with them.
            frags = set(run.fragment_ids)
            for path in [p for p, node in self.tree.items() if node.run_id != run.run_id
                         and (status == FINISHED or node.fragment_id in frags)]:
                del self.tree[path]
            active = {node.widget_id for node in self.tree.values() if node.widget_id}
            for widget_id in [w for w in self.widgets if w not in active]:
                del self.widgets[widget_id]
        if status != EARLY_FOR_RERUN:
            # The browser ages its message cache once per finished run (a fragment
            # run ages only that fragment's messages) and drops the stale ones.
            self.run_count += 1
            for h, entry in list(self.cache.items()):
                if run.fragment_ids and entry.fragment_id not in run.fragment_ids:
                    continue
                if self.run_count - entry.run_count > self.max_age:
                    del self.cache[h]
            self.finished.put_nowait(run)
        self.run = None

    # -- sending -----------------------------------------------------------------------------

    def _context(self, msg: BackMsg) -> None:
        info = msg.rerun_script.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = f"{self.base}/{self.page}", False, "light"

    async def _send_and_wait(self, msg: BackMsg) -> Run:
        """Send ``msg`` and wait for the script_finished of the run it causes (through any st.rerun)."""
        if self.closed:
            raise ActionError("closed", self.closed)
        while not self.finished.empty():
            self.finished.get_nowait()
        await self.ws.send(msg.SerializeToString())
        return await self._wait_run()

    async def _wait_run(self) -> Run:
        try:
            run = await asyncio.wait_for(self.finished.get(), self.timeout)
        except TimeoutError:
            raise ActionError("timeout", f"no script_finished within {self.timeout:g} s") from None
        if run.status is None:
            raise ActionError("closed", self.closed or "socket closed")
        if run.exceptions:
            raise ActionError("exception", run.exceptions[0])
        if run.status not in (FINISHED, FRAGMENT_FINISHED):
            raise ActionError("exception", f"script finished with status {run.status}")
        self.last_run = run
        return run

    def _rerun(self, fragment_id: str = "") -> BackMsg:
        """A rerun_script as the browser sends it after the first: every widget's value, the cache."""
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = self.query
        rerun.page_script_hash = self.page_script_hash
        rerun.widget_states.widgets.extend(self.widgets.values())
        if fragment_id:
            rerun.fragment_id = fragment_id
        rerun.cached_message_hashes.extend(self.cache)
        self._context(msg)
        return msg

    # -- what a student does -----------------------------------------------------------------

    async def open(self, lab: Lab, query: str, *, player: bool = True) -> tuple[float, Run]:
        """Open ``lab`` by its link, as a page load does.

        Parameters
        ----------
        lab : Lab
        query : str
            The link's query string, without ``?`` (``data=iris&k=3``).
        player : bool
            Whether the page must show the step player (Choosing k has none).

        Returns
        -------
        seconds : float
            From sending the first ``rerun_script`` to the ``script_finished`` of
            its run (through an ``st.rerun``, if the page makes one).
        run : Run
            What that run drew.
        """
        self.lab = lab
        await self.connect(lab.path, query)
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = lab.path
        msg.rerun_script.widget_states.SetInParent()
        self._context(msg)
        started = time.perf_counter()
        run = await self._send_and_wait(msg)
        if player and self.player is None:
            raise ActionError("not shown", f"/{lab.path}?{query}: no step player on the page")
        return time.perf_counter() - started, run

    async def step(self) -> float:
        """Show the next step (the first after the last) and report it as the player does.

        Returns
        -------
        seconds : float
            From sending the report to the end of the fragment run it causes.

        Raises
        ------
        ActionError
            "not shown" if the lab's text does not name the new step.
        """
        if self.player is None or self.player_id is None:
            raise ActionError("not shown", "no step player")
        target = self.shown_step + 1 if self.shown_step < self.player.n_steps else 1
        self.player_state["step"] = {"step": target, "mount": self.player.mount}
        state = WidgetState(id=self.player_id, json_value=json.dumps(self.player_state, separators=(",", ":")))
        self.widgets[self.player_id] = state
        started = time.perf_counter()
        run = await self._send_and_wait(self._rerun(self.player_fragment))
        elapsed = time.perf_counter() - started
        self.shown_step = target
        # What Python draws for the step ("Parameters at step 3", "**Step 3** · ...")
        # must name it: proof that the report reached the lab.
        named = re.compile(rf"\bstep {target}\b", re.IGNORECASE)
        if not any(named.search(text) for text in run.texts):
            raise ActionError("not shown", f"step {target} not named by the lab")
        return elapsed

    def widget_by_key(self, key: str) -> str | None:
        """The id of the widget with ``key`` on the page now, if it is there."""
        for widget_id in self.kinds:
            if _widget_key(widget_id) == key and any(n.widget_id == widget_id for n in self.tree.values()):
                return widget_id
        return None

    def _set(self, widget_id: str, value: Any) -> None:
        kind, proto = self.kinds[widget_id], self.protos[widget_id]
        state = WidgetState(id=widget_id)
        if kind == "number_input":
            if proto.data_type == NumberInput.INT:
                state.int_value = int(value)
            else:
                state.double_value = float(value)
        elif kind == "slider":
            state.double_array_value.data[:] = [float(value)]
        elif kind in ("selectbox", "radio"):
            state.string_value = str(value)
        elif kind == "checkbox":
            state.bool_value = bool(value)
        elif kind == "button_group":  # st.segmented_control / st.pills with one choice
            state.string_array_value.data[:] = [str(value)]
        else:
            raise ActionError("not shown", f"cannot set a {kind}")
        self.widgets[widget_id] = state

    def _value(self, widget_id: str) -> Any:
        state = self.widgets.get(widget_id)
        which = state.WhichOneof("value") if state else None
        if which is None:
            return None
        value = getattr(state, which)
        if which in ("double_array_value", "string_array_value"):
            return list(value.data)[0] if len(value.data) == 1 else None
        return value

    async def change(self, change: Change) -> float:
        """Give the widget ``change.key`` its next value, as a click or a typed number does.

        Parameters
        ----------
        change : Change

        Returns
        -------
        seconds : float
            From sending the ``rerun_script`` to the end of the run (a full run, or
            the widget's fragment's).
        """
        started = time.perf_counter()
        await self.send_change(change)
        await self._wait_run()
        return time.perf_counter() - started

    async def send_change(self, change: Change) -> None:
        """Send :meth:`change`'s rerun without waiting for it to end (as a student who then leaves)."""
        widget_id = self.widget_by_key(change.key)
        if widget_id is None:
            raise ActionError("not shown", f"no widget {change.key}")
        current = self._value(widget_id)
        options = list(change.values) if change.values is not None else list(self.protos[widget_id].options)
        later = [v for v in options if v != current] or options
        nxt = options[(options.index(current) + 1) % len(options)] if current in options else later[0]
        self._set(widget_id, nxt)
        if self.closed:
            raise ActionError("closed", self.closed)
        while not self.finished.empty():
            self.finished.get_nowait()
        await self.ws.send(self._rerun(self.tree_fragment(widget_id)).SerializeToString())

    def tree_fragment(self, widget_id: str) -> str:
        """The fragment a widget sits in ('' outside any): a change inside one reruns only it."""
        for node in self.tree.values():
            if node.widget_id == widget_id:
                return node.fragment_id
        return ""

    async def choose_upload(self) -> float:
        """Switch the data source to "Upload a CSV" (a widget change)."""
        widget_id = self.widget_by_key(f"{self.lab.prefix}.data.source")
        if widget_id is None:
            raise ActionError("not shown", "no data source radio")
        self._set(widget_id, UPLOAD_SOURCE)
        started = time.perf_counter()
        await self._send_and_wait(self._rerun())
        return time.perf_counter() - started

    async def upload(self, filename: str, content: bytes) -> float:
        """Upload a CSV as ``st.file_uploader`` does (the data source must be "Upload a CSV").

        Parameters
        ----------
        filename : str
        content : bytes
            The file.

        Returns
        -------
        seconds : float
            From sending the ``file_urls_request`` to the end of the run the
            uploader's new state causes (the PUT included).

        Raises
        ------
        ActionError
            "not shown" if the lab does not then name the file; "exception" if
            the server refuses the file or the lab shows an error.
        """
        uploader = next((w for w, k in self.kinds.items() if k == "file_uploader"
                         and ".data.upload" in _widget_key(w) and self.widget_by_key(_widget_key(w))), None)
        if uploader is None:
            raise ActionError("not shown", "no file uploader")
        started = time.perf_counter()
        request = BackMsg()
        request.file_urls_request.request_id = str(uuid.uuid4())
        request.file_urls_request.file_names.append(filename)
        request.file_urls_request.session_id = self.session_id
        fut = asyncio.get_running_loop().create_future()
        self.file_urls[request.file_urls_request.request_id] = fut
        if self.closed:
            raise ActionError("closed", self.closed)
        await self.ws.send(request.SerializeToString())
        try:
            response = await asyncio.wait_for(fut, self.timeout)
        except TimeoutError:
            raise ActionError("timeout", "no file_urls_response") from None
        if response.error_msg or not response.file_urls:
            raise ActionError("exception", f"file URLs refused: {response.error_msg}")
        urls = response.file_urls[0]
        body, content_type = _multipart(filename, content)
        status, _, text = await asyncio.to_thread(
            _http, "PUT", self.base + urls.upload_url, body=body, timeout=self.timeout,
            headers={"Content-Type": content_type, "X-Xsrftoken": self.xsrf or "",
                     "Cookie": f"_streamlit_xsrf={self.xsrf}", "Origin": self.base},
        )
        if status not in (200, 204):
            raise ActionError("exception", f"upload PUT answered {status}: {text[:100]!r}")
        state = WidgetState(id=uploader)
        state.file_uploader_state_value.uploaded_file_info.append(UploadedFileInfo(
            name=filename, size=len(content), file_id=urls.file_id,
            file_urls=FileURLs(file_id=urls.file_id, upload_url=urls.upload_url, delete_url=urls.delete_url),
        ))
        self.widgets[uploader] = state
        run = await self._send_and_wait(self._rerun())
        elapsed = time.perf_counter() - started
        # The lab's caption names the file it now runs on (Markdown-escaped: "mine\.csv\: 240 points").
        stem = filename.rsplit(".", 1)[0]
        if not any(stem in text for text in run.texts):
            raise ActionError("not shown", f"{filename} not named after its upload")
        if run.errors_shown:
            raise ActionError("exception", f"upload refused: {run.errors_shown[0]}")
        return elapsed


# -- The class ----------------------------------------------------------------------------------


@dataclass
class Record:
    """One action: what, who, when it started and ended (monotonic seconds), its latency or its error."""

    action: str
    student: int
    lab: str
    start: float
    end: float
    latency: float | None
    error: str | None = None
    detail: str = ""
    drew_charts: bool = False


@dataclass
class Plan:
    """The class's timing, from the command line."""

    students: int
    ramp: float
    duration: float
    step_every: float
    change_every: float
    upload_share: float
    timeout: float
    seed: int


class Recorder:
    """All records, plus the heavy runs' intervals."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.heavy: list[tuple[float, float]] = []
        self.heavy_open_since: float | None = None

    async def act(self, action: str, student: int, lab: str, tab: Tab, do: Callable[[], Any]) -> Any:
        """Run ``do`` (an action of ``tab``), record its latency or its error; re-raise errors that end the tab."""
        start = time.monotonic()
        tab.last_run = None
        try:
            result = await do()
        except ActionError as exc:
            self.records.append(Record(action, student, lab, start, time.monotonic(), None, exc.kind, str(exc)))
            raise
        except TimeoutError as exc:  # an HTTP request or the WebSocket handshake
            self.records.append(Record(action, student, lab, start, time.monotonic(), None, "timeout", repr(exc)))
            raise ActionError("timeout", repr(exc)) from exc
        except (OSError, WebSocketException) as exc:
            self.records.append(Record(action, student, lab, start, time.monotonic(), None, "closed", repr(exc)))
            raise ActionError("closed", repr(exc)) from exc
        latency = result[0] if isinstance(result, tuple) else result
        drew = tab.last_run is not None and tab.last_run.drew_charts
        self.records.append(Record(action, student, lab, start, time.monotonic(), latency, drew_charts=drew))
        return result


async def student(i: int, plan: Plan, rec: Recorder, begin: float, links: Sequence[tuple[Lab, str]],
                  rng: random.Random) -> None:
    """One student: arrive, open a lab, step every ~2 s, change a setting every ~30 s, maybe upload, leave.

    Parameters
    ----------
    i : int
        The student's number: their arrival within the ramp and the link they open.
    plan : Plan
    rec : Recorder
        Where each action's latency or error goes.
    begin : float
        ``time.monotonic()`` of the class's start.
    links : sequence of (Lab, str)
        The links, in the order students are given them.
    rng : random.Random
        This student's own choices (think times, when to change and upload).
    """
    arrive = begin + plan.ramp * i / max(plan.students, 1)
    leave = arrive + plan.duration
    lab, query = links[i % len(links)]
    uploads = rng.random() < plan.upload_share
    # Spread each student's first change and upload so they do not all land at once.
    next_change = arrive + rng.uniform(0.3, 1.0) * plan.change_every
    upload_at = arrive + rng.uniform(0.3, 0.7) * plan.duration if uploads else float("inf")
    changes = 0
    stepped = False
    await asyncio.sleep(max(0.0, arrive - time.monotonic()))
    tab = Tab(BASE[0], plan.timeout)
    try:
        await rec.act("open", i, lab.path, tab, lambda: tab.open(lab, query))
        while True:
            # Think time, then the next action; a step every ~2 s is what a student reading the page does.
            await asyncio.sleep(plan.step_every * rng.uniform(0.75, 1.25))
            now = time.monotonic()
            if now >= leave:
                break
            if not stepped:
                # What a student does first on a page is step through it, however
                # long the page took: every student who stays steps at least once.
                stepped = True
                await rec.act("step", i, lab.path, tab, tab.step)
            elif now >= upload_at:
                upload_at = float("inf")
                await rec.act("change", i, lab.path, tab, tab.choose_upload)
                name = f"student{i:03d}.csv"
                await rec.act("upload", i, lab.path, tab, lambda: tab.upload(name, student_csv(plan.seed * 1000 + i)))
            elif now >= next_change:
                next_change = now + plan.change_every * rng.uniform(0.8, 1.2)
                usable = [c for c in lab.changes if tab.widget_by_key(c.key)]
                if usable:
                    change = usable[changes % len(usable)]
                    changes += 1
                    await rec.act("change", i, lab.path, tab, lambda: tab.change(change))
            else:
                await rec.act("step", i, lab.path, tab, tab.step)
    except ActionError:
        pass  # recorded; a broken tab leaves, as a student would reload
    finally:
        await tab.close()


async def heavy_student(plan: Plan, rec: Recorder, begin: float, end: float) -> None:
    """Keep opening the heaviest EM run the app starts, a new seed each time, until the class ends."""
    seed = 1000
    # From the first arrival on, so that the students' page loads meet a heavy run.
    await asyncio.sleep(max(0.0, begin - 0.2 - time.monotonic()))
    em = LABS[0]
    while time.monotonic() < end:
        seed += 1
        tab = Tab(BASE[0], max(plan.timeout, 120.0))
        started = time.monotonic()
        rec.heavy_open_since = started
        try:
            await rec.act("heavy open", -1, "em", tab, lambda: tab.open(em, HEAVY_LINK.split("?", 1)[1] + f"&seed={seed}"))
        except ActionError:
            await asyncio.sleep(1.0)
        finally:
            rec.heavy.append((started, time.monotonic()))
            rec.heavy_open_since = None
            await tab.close()


BASE = [""]  # the server's base URL, set once in main


# -- The server's memory and CPU ------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """``pid`` and every descendant, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MB (10^6 bytes).

    Each process counts its proportional share (``Pss``) of the pages it shares
    with others: the server's worker processes are forked from one that imported
    numpy, scipy and plotly, and share those pages; their RSS would count them
    once per process. Where ``smaps_rollup`` is missing, RSS.
    """
    return sum(rss_mb_one(p) for p in _children(pid))


def pss_by_process(pid: int) -> dict[str, float]:
    """What :func:`rss_mb` counts, by process: the server (``pid``), the fork server
    it starts its workers from, each worker, and multiprocessing's resource tracker."""
    out: dict[str, float] = {}
    for p in _children(pid):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
            with open(f"/proc/{p}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if p == pid:
            name = "server"
        elif "resource_tracker" in cmdline:
            name = "resource tracker"
        elif "forkserver" in cmdline and parent == pid:
            name = "fork server"
        else:
            name = f"worker {p}"
        out[name] = rss_mb_one(p)
    return out


def rss_mb_one(pid: int) -> float:
    """:func:`rss_mb` of one process, without its children."""
    for path, label in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path) as f:
                kb = next((int(line.split()[1]) for line in f if line.startswith(label)), None)
        except OSError:
            continue
        if kb is not None:
            return kb * 1024 / 1e6
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children so far."""
    total = 0
    for p in _children(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def main_thread_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid``'s main thread: the server's event loop (HTTP, WebSocket, sending messages).

    Script runs happen in other threads, which end with their run; the process's
    total less this is their share.
    """
    try:
        with open(f"/proc/{pid}/task/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


def threads_running(pid: int) -> int:
    """How many threads of ``pid`` are on a CPU (state R) right now."""
    running = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                running += f.read().rsplit(")", 1)[1].split()[0] == "R"
        except (OSError, IndexError):
            continue
    return running


class Sampler:
    """Samples the server while the class is in: memory and CPU twice a second, running threads four times.

    The count of server threads in state R hints whether the server computes on
    two cores at once (NumPy and BLAS release the GIL) or queues its sessions' runs
    on one; a thread woken to check for the GIL is briefly in state R too, so the
    CPU seconds per second are the firmer figure.
    """

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.peak = 0.0
        self.cpu: list[tuple[float, float]] = []  # (monotonic, server CPU seconds)
        self.running: list[int] = []  # threads on a CPU, per sample
        self.task: asyncio.Task | None = None

    def _sample(self, tick: int) -> None:
        self.running.append(threads_running(self.pid))
        if tick % 2 == 0:
            self.peak = max(self.peak, rss_mb(self.pid))
            self.cpu.append((time.monotonic(), cpu_s(self.pid)))

    async def _run(self) -> None:
        tick = 0
        while self.pid is not None:
            await asyncio.to_thread(self._sample, tick)
            tick += 1
            await asyncio.sleep(0.25)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def peak_cores(self, window: float = 5.0) -> float:
        """The server's busiest ``window`` seconds, in cores."""
        best = 0.0
        j = 0
        for i, (t, c) in enumerate(self.cpu):
            while self.cpu[j][0] < t - window:
                j += 1
            if t - self.cpu[j][0] >= window * 0.8:
                best = max(best, (c - self.cpu[j][1]) / (t - self.cpu[j][0]))
        return best


# -- Running it ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def started_server(port: int | None) -> Iterator[tuple[str, int]]:
    """``streamlit run app.py`` headless on loopback from the repository root (as tests/conftest.py does).

    Its output goes to a temporary file (a pipe nobody reads would fill and stall
    it); the last lines are shown if it fails to start. Stopped on exit.
    """
    port = port or _free_port()
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py",
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"streamlit exited early:\n{log.read()[-2000:]}")
            with contextlib.suppress(OSError):
                if _http("GET", f"{base}/_stcore/health", timeout=1)[0] == 200:
                    break
            time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not become healthy within 60 s")
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def require_loopback(url: str) -> str:
    """The base URL if its host is this machine's loopback; SystemExit otherwise."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parsed.scheme != "http" or not loopback or not parsed.port:
        raise SystemExit(f"refusing {url!r}: only http://127.0.0.1:PORT (or localhost, ::1) is load-tested")
    return f"http://{parsed.netloc}{parsed.path.rstrip('/')}"


async def warm_up(base: str, timeout: float) -> None:
    """Open every lab once and leave, as the teacher does before class.

    The first session of a process imports the labs (numpy, scipy, plotly, the
    pages): a one-time cost that is not any student's session.
    """
    for lab in LABS:
        tab = Tab(base, timeout)
        try:
            await tab.open(lab, lab.links[0])
        finally:
            await tab.close()


async def run_class(plan: Plan, heavy: bool, pid: int | None, settle: float, warm: bool) -> dict[str, Any]:
    """The whole test: warm-up, the class, the settle.

    Parameters
    ----------
    plan : Plan
    heavy : bool
        Add the student who keeps opening the heaviest EM run.
    pid : int or None
        The server's process, for memory and CPU (None: not measured).
    settle : float
        Seconds to wait after the last student left before the last memory reading.
    warm : bool
        Open each lab once before the class (see :func:`warm_up`).

    Returns
    -------
    dict
        What :func:`report` prints: the records, the heavy runs' spans, memory
        readings in MB and CPU in cores.
    """
    out: dict[str, Any] = {"pid": pid}
    if pid is not None:
        out["fresh"] = rss_mb(pid)
    if warm:
        await warm_up(BASE[0], plan.timeout)
        await asyncio.sleep(2.0)
    if pid is not None:
        out["before"] = rss_mb(pid)
        out["before_by_process"] = pss_by_process(pid)
        cpu0, main0 = cpu_s(pid), main_thread_cpu_s(pid)
    rec = Recorder()
    sampler = Sampler(pid)
    sampler.start()
    rng = random.Random(plan.seed)
    links = lab_links()
    busy0, total0 = machine_busy_s()
    me0 = time.process_time()
    begin = time.monotonic() + 0.5
    end = begin + plan.ramp + plan.duration
    tasks = [asyncio.create_task(student(i, plan, rec, begin, links, random.Random(rng.random())))
             for i in range(plan.students)]
    if heavy:
        tasks.append(asyncio.create_task(heavy_student(plan, rec, begin, end)))
    # Every student leaves by its own deadline; the bound here only guards against a hang.
    hard = plan.ramp + plan.duration + 3 * max(plan.timeout, 120.0) + 30
    done, pending = await asyncio.wait(tasks, timeout=hard)
    for t in pending:
        t.cancel()
    for t in done:
        if t.exception() is not None:
            raise t.exception()
    left = time.monotonic()
    busy1, total1 = machine_busy_s()
    out["records"] = rec.records
    out["heavy"] = rec.heavy
    out["begin"], out["wall"] = begin, left - begin
    out["me_cores"] = (time.process_time() - me0) / out["wall"]
    out["machine_cores"] = (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1)
    if pid is not None:
        out["server_cores"] = (cpu_s(pid) - cpu0) / out["wall"]
        out["loop_cores"] = (main_thread_cpu_s(pid) - main0) / out["wall"]
        out["server_peak_cores"] = sampler.peak_cores()
        out["running"] = list(sampler.running)
        # The peak counts until the last closes have reached the server and its
        # last runs have ended, when "after all have left" is read.
        await asyncio.sleep(2.0)
        out["left"] = rss_mb(pid)
        await sampler.stop()
        out["peak"] = max(sampler.peak, out["before"], out["left"])
        await asyncio.sleep(settle)
        out["settled"] = rss_mb(pid)
        out["settled_by_process"] = pss_by_process(pid)
    else:
        await sampler.stop()
    out["settle"] = settle
    return out


# -- The report -----------------------------------------------------------------------------------


def _pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) by nearest rank, as latency reports use."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _row(name: str, records: Sequence[Record], target: str = "") -> str:
    ok = [r.latency * 1000 for r in records if r.latency is not None]
    errors = sum(r.error is not None for r in records)
    if ok:
        figures = f"{_pct(ok, 0.5):7.0f} {_pct(ok, 0.95):7.0f} {max(ok):7.0f}"
    else:
        figures = f"{'-':>7} {'-':>7} {'-':>7}"
    verdict = ""
    if target and records:
        met = ok and _pct(ok, 0.95) <= TARGET_P95_S * 1000 and errors == 0
        verdict = "met" if met else "NOT met"
    elif target:
        verdict = "(none done)"
    return f"  {name:<28}{len(records):6d} {figures} {errors:6d}   {target:<22}{verdict}"


def _header() -> str:
    return f"  {'action':<28}{'count':>6} {'p50':>7} {'p95':>7} {'max':>7} {'errors':>6}   target"


def _covered(spans: Sequence[tuple[float, float]], a: float, b: float) -> float:
    """Seconds of [a, b] within some span (the spans follow one another, they do not overlap)."""
    return sum(max(0.0, min(e, b) - max(s, a)) for s, e in spans)


def _overlaps(r: Record, spans: Sequence[tuple[float, float]]) -> bool:
    return any(r.start < b and r.end > a for a, b in spans)


def report(out: dict[str, Any], plan: Plan, heavy: bool, started_here: bool) -> str:
    """The plain-text report of :func:`run_class`'s ``out``: tables, then memory and CPU, each beside its target."""
    records: list[Record] = out["records"]
    lines = ["TraceLab class load test (Streamlit WebSocket protocol, no browser)"]
    pid = out["pid"]
    lines.append(f"  server     {BASE[0]} (pid {pid if pid is not None else 'unknown'}"
                 f"{', started by this script' if started_here else ''})")
    uploaders = len({r.student for r in records if r.action == "upload"})
    lines.append(f"  students   {plan.students} arriving over {plan.ramp:g} s, each staying {plan.duration:g} s; "
                 f"a step every ~{plan.step_every:g} s, a change every ~{plan.change_every:g} s, "
                 f"{uploaders} uploaded a CSV; timeout {plan.timeout:g} s per wait")
    labs = ", ".join(sorted({f"/{r.lab}" for r in records if r.action == "open" and r.student >= 0}))
    lines.append(f"  labs       {labs}")
    if heavy:
        lines.append(f"  heavy      one more student reopening {HEAVY_LINK}&seed=<new>")
    lines.append("")
    lines.append("Latency in ms, BackMsg sent -> script_finished of its run (a step: of its fragment run)")
    lines.append(_header())
    class_records = [r for r in records if r.student >= 0]
    target = f"p95 <= {TARGET_P95_S * 1000:.0f}, no error"
    for action in ACTIONS:
        lines.append(_row(action, [r for r in class_records if r.action == action], target))
    lines.append(_row("all", class_records))
    lines.append("")
    lines.append("Step latency by lab (ms)")
    lines.append(_header())
    for lab in LABS:
        subset = [r for r in class_records if r.action == "step" and r.lab == lab.path]
        if subset:
            lines.append(_row(f"step /{lab.path}", subset))
    lines.append("")
    kinds: dict[str, int] = {}
    for r in class_records:
        if r.error:
            kinds[r.error] = kinds.get(r.error, 0) + 1
    n_errors = sum(kinds.values())
    lines.append(f"Errors: {n_errors} (exception {kinds.get('exception', 0)}, timeout {kinds.get('timeout', 0)}, "
                 f"closed socket {kinds.get('closed', 0)}, result not shown {kinds.get('not shown', 0)})"
                 f"   target: none   {'met' if n_errors == 0 else 'NOT met'}")
    for r in [r for r in class_records if r.error][:5]:
        lines.append(f"  student {r.student} {r.action} /{r.lab}: {r.detail[:160]}")
    # A run that draws the player's charts costs up to ~2 s of CPU; on a step it
    # means the shared store (16 specs) had dropped the charts this student was on.
    drew = []
    for action in ACTIONS:
        done = [r for r in class_records if r.action == action and r.error is None]
        drew.append(f"{action} {sum(r.drew_charts for r in done)} of {len(done)}")
    lines.append("Runs that drew the player's step charts for over 0.5 s (not in the server's shared store): "
                 + ", ".join(drew))
    if heavy:
        spans = out["heavy"]
        heavy_records = [r for r in records if r.action == "heavy open"]
        lines.append("")
        done = [r.latency for r in heavy_records if r.latency is not None]
        lines.append(f"Heavy runs: {len(heavy_records)} opened, {len(done)} finished"
                     + (f", median {statistics.median(done):.1f} s" if done else "")
                     + f"; one was going for {_covered(spans, out['begin'], out['begin'] + out['wall']):.0f} s "
                     f"of the class's {out['wall']:.0f} s")
        lines.append(_header())
        lines.append(_row("heavy open", heavy_records))
        for action in ("open", "step"):
            during = [r for r in class_records if r.action == action and _overlaps(r, spans)]
            outside = [r for r in class_records if r.action == action and not _overlaps(r, spans)]
            lines.append(_row(f"{action}, during a heavy run", during, target))
            lines.append(_row(f"{action}, otherwise", outside))
    lines.append("")
    if pid is not None:
        n = max(plan.students, 1)
        before, peak = out["before"], out["peak"]
        per = (peak - before) / n
        back = (out["settled"] - before) / before if before else 0.0
        lines.append("Server memory, proportional set size (PSS) of the server process and its children (MB)")
        lines.append(f"  fresh server, before the warm-up    {out['fresh']:8.1f}")
        lines.append(f"  before any student                  {before:8.1f}")
        lines.append(f"  peak                                {peak:8.1f}")
        lines.append(f"  per session, (peak - before) / {n:<4} {per:8.1f}   target <= {TARGET_MB_PER_SESSION:g}   "
                     f"{'met' if per <= TARGET_MB_PER_SESSION else 'NOT met'}"
                     + ("   (the heavy student's runs are in the peak)" if heavy else ""))
        lines.append(f"  after all have left                 {out['left']:8.1f}   "
                     f"({(out['left'] - before) / before * 100:+.1f} % of before)")
        if abs(back) > TARGET_SETTLE_FRACTION:
            verdict = "NOT met"
        else:
            verdict = "met" if out["settle"] >= 180 else "(settle shorter than 180 s)"
        settled_label = f"{out['settle']:.0f} s after they left"
        lines.append(f"  {settled_label:<36}{out['settled']:8.1f}   ({back * 100:+.1f} % of before)   "
                     f"target within {TARGET_SETTLE_FRACTION * 100:.0f} % after 180 s   {verdict}")
        for when in ("before", "settled"):
            parts = sorted(out[f"{when}_by_process"].items(), key=lambda item: item[0] != "server")
            lines.append(f"    by process, {'before any student' if when == 'before' else settled_label}: "
                         + ", ".join(f"{name} {mb:.0f}" for name, mb in parts))
        lines.append("")
        lines.append(f"CPU while the class was in ({out['wall']:.0f} s, {os.cpu_count()} cores): server "
                     f"{out['server_cores']:.2f} cores on average, {out['server_peak_cores']:.2f} in its busiest 5 s; "
                     f"this script {out['me_cores']:.2f}; the whole machine {out['machine_cores']:.2f}")
        running = out["running"] or [0]
        shares = [sum(r == k for r in running) / len(running) * 100 for k in (0, 1)]
        lines.append(f"  of the server's: its event loop (HTTP, WebSocket, sending) {out['loop_cores']:.2f} cores, "
                     f"the script runs' threads {out['server_cores'] - out['loop_cores']:.2f}")
        # State R is on a CPU or ready for one: a thread woken to check the GIL counts
        # too, so the cores used above are the firmer figure.
        lines.append(f"  server threads runnable (state R), {len(running)} samples: none {shares[0]:.0f} %, "
                     f"one {shares[1]:.0f} %, two or more {100 - sum(shares):.0f} %")
    else:
        lines.append("Server memory and CPU: not measured (no --pid)")
    lines.append("")
    if plan.students < TARGET_STUDENTS:
        lines.append(f"Note: {plan.students} students; the targets are set for {TARGET_STUDENTS}.")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--start", action="store_true", help="start `streamlit run app.py` on loopback and stop it after")
    where.add_argument("--url", help="a running server, http://127.0.0.1:PORT (loopback only)")
    p.add_argument("--pid", type=int, help="the running server's process id (memory and CPU), with --url")
    p.add_argument("--port", type=int, help="the port for --start (default: a free one)")
    p.add_argument("--students", type=int, default=30, help=f"students (default 30, at most {MAX_STUDENTS})")
    p.add_argument("--duration", type=float, default=180.0, help="seconds each student stays (default 180)")
    p.add_argument("--ramp", type=float, default=20.0, help="seconds over which students arrive (default 20)")
    p.add_argument("--settle", type=float, default=180.0, help="seconds to wait after they left (default 180)")
    p.add_argument("--step-every", type=float, default=2.0, help="seconds between a student's steps (default 2)")
    p.add_argument("--change-every", type=float, default=30.0, help="seconds between setting changes (default 30)")
    p.add_argument("--upload-share", type=float, default=0.3, help="share of students who upload a CSV (default 0.3)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds any one wait may take (default 60)")
    p.add_argument("--heavy", action="store_true", help="one more student keeps opening the heaviest EM run")
    p.add_argument("--no-warmup", action="store_true", help="skip opening each lab once before the class")
    p.add_argument("--seed", type=int, default=0, help="seed of the students' choices and files")
    args = p.parse_args(argv)
    if not 1 <= args.students <= MAX_STUDENTS:
        p.error(f"--students should be between 1 and {MAX_STUDENTS}")
    if not 1 <= args.duration <= MAX_DURATION:
        p.error(f"--duration should be between 1 and {MAX_DURATION:g} s")
    if not 0 <= args.ramp <= MAX_DURATION or not 0 <= args.settle <= MAX_SETTLE:
        p.error(f"--ramp and --settle should be between 0 and {MAX_SETTLE:g} s")
    if not 0.2 <= args.step_every <= 600 or not 1 <= args.change_every <= 3600 or not 1 <= args.timeout <= 600:
        p.error("--step-every 0.2-600 s, --change-every 1-3600 s, --timeout 1-600 s")
    if not 0 <= args.upload_share <= 1:
        p.error("--upload-share should be between 0 and 1")
    if args.pid is not None and args.start:
        p.error("--pid goes with --url")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(args.students, args.ramp, args.duration, args.step_every, args.change_every,
                args.upload_share, args.timeout, args.seed)
    with contextlib.ExitStack() as stack:
        if args.start:
            base, pid = stack.enter_context(started_server(args.port))
        else:
            base, pid = require_loopback(args.url), args.pid
            if _http("GET", f"{base}/_stcore/health", timeout=10)[0] != 200:
                raise SystemExit(f"{base} is not a healthy Streamlit server")
        BASE[0] = base
        out = asyncio.run(run_class(plan, args.heavy, pid, args.settle, not args.no_warmup))
    print(report(out, plan, args.heavy, args.start), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
