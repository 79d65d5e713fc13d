"""Immutable traces: every step of an algorithm recorded as a frozen snapshot.

A :class:`Trace` is what every lab replays. Its ``steps`` are :class:`Snapshot`
instances, one per recorded step, each holding the algorithm's state at that
step in named fields (``means``, ``labels``, ...). Arrays are read-only, and stay
read-only after pickling (``st.cache_data`` pickles what it caches).

Traces travel as JSON: :meth:`Trace.to_json` and :meth:`Trace.from_json` round
trip exactly, arrays included. Loading never executes anything: snapshot
classes are looked up by name in a registry that only subclasses of
:class:`Snapshot` join, and every value is rebuilt from plain JSON types.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import importlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Generator

import numpy as np

from tracelab.record.arrays import digest, freeze, freeze_in_place

__all__ = ["Snapshot", "Trace", "checkpoint", "collect", "on_each_step", "stoppable", "snapshot_types", "register_snapshot_modules", "FORMAT", "VERSION"]

FORMAT = "tracelab.trace"
VERSION = 1

# Snapshot classes by name, filled by Snapshot.__init_subclass__: the only
# classes Trace.from_json will ever construct.
_SNAPSHOT_TYPES: dict[str, type[Snapshot]] = {}

# Modules that define snapshot classes, imported on demand when a trace file
# names a type not registered yet. The records know no lab: the package's table
# of labs fills this (tracelab/__init__.py). A fixed list: a file never chooses
# what runs.
_SNAPSHOT_MODULES: list[str] = []


def register_snapshot_modules(*modules: str) -> None:
    """Name the modules whose snapshot classes a trace file may ask for (each once, in order)."""
    _SNAPSHOT_MODULES.extend(m for m in modules if m not in _SNAPSHOT_MODULES)

# Array kinds a trace may hold: booleans, integers and floats. Object arrays
# are refused both ways, so JSON can never smuggle in arbitrary objects.
_ARRAY_KINDS = frozenset("biuf")


def snapshot_types() -> dict[str, type[Snapshot]]:
    """The snapshot classes a trace file may name, by name (a copy)."""
    for module in _SNAPSHOT_MODULES:
        importlib.import_module(module)
    return dict(_SNAPSHOT_TYPES)


def _snapshot_type(name: Any) -> type[Snapshot] | None:
    """The snapshot class called ``name``, importing the snapshot modules one by one.

    Only as many modules are imported as it takes to find the class, and one that
    fails to import is skipped: a broken k-medoids module does not stop an EM trace
    from loading. If the class is not found and a module failed, that failure is
    the likely reason, so it is raised rather than reported as an unknown type.
    """
    if not isinstance(name, str):
        return None
    failure: ImportError | None = None
    for module in _SNAPSHOT_MODULES:
        if name in _SNAPSHOT_TYPES:
            break
        try:
            importlib.import_module(module)
        except ImportError as exc:
            failure = failure or exc
    kind = _SNAPSHOT_TYPES.get(name)
    if kind is None and failure is not None:
        raise failure
    return kind


# Each snapshot class's fields, found once per class (dataclasses.fields is slow next to
# the thousands of steps a long trace has).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_PUBLIC_FIELDS: dict[type, tuple[dataclasses.Field, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    found = _FIELD_NAMES.get(cls)
    if found is None:
        found = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return found


# Who hears of each step recorded in this thread (or task): see on_each_step.
_ON_STEP: contextvars.ContextVar[Callable[[int], Any] | None] = contextvars.ContextVar("on_step", default=None)
# What checkpoint() calls: set by stoppable().
_CHECK: contextvars.ContextVar[Callable[[], Any] | None] = contextvars.ContextVar("check", default=None)


@contextlib.contextmanager
def on_each_step(callback: Callable[[int], Any]) -> Iterator[None]:
    """Call ``callback(n_steps)`` after every step that a trace records in this context.

    Every ``trace_*`` function records through :func:`collect`, so this is the
    one place a long run reports its progress and the one place it can be
    stopped: an exception the callback raises ends the run there, propagates
    out of the ``trace_*`` call, and nothing is returned. The callback is
    context-local (a :mod:`contextvars` variable): runs in other threads are
    not affected.

    Parameters
    ----------
    callback : callable int -> Any
        Called with the number of steps recorded so far (1 after the start).
    """
    token = _ON_STEP.set(callback)
    try:
        yield
    finally:
        _ON_STEP.reset(token)


@contextlib.contextmanager
def stoppable(check: Callable[[], Any]) -> Iterator[None]:
    """Call ``check()`` at every :func:`checkpoint` in this context; what it raises ends the work there.

    For long work between two recorded steps, which :func:`on_each_step` does not
    hear (EM's k-means start on many points takes seconds). Context-local, as
    :func:`on_each_step`.
    """
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


def checkpoint() -> None:
    """A place where long work between recorded steps may be stopped (see :func:`stoppable`)."""
    check = _CHECK.get()
    if check is not None:
        check()


def collect(
    steps: Generator[Snapshot, Any, tuple[bool, int, str]],
    *,
    algorithm: str,
    params: dict[str, Any],
    X: np.ndarray,
) -> Trace:
    """Run a snapshot generator to the end and record it as a :class:`Trace`.

    Parameters
    ----------
    steps : generator of Snapshot
        E.g. ``iter_em(...)``; its return value (``StopIteration.value``) is
        ``(converged, n_iter, message)``.
    algorithm : str
    params : dict
        The run's (validated) parameters.
    X : ndarray of shape (n_samples, n_features)
        The (validated) data the generator runs on; the trace keeps it and its digest.

    Returns
    -------
    Trace

    See Also
    --------
    on_each_step : hear of every step while it is recorded (progress, stopping).
    """

    hear = _ON_STEP.get()
    recorded: list[Snapshot] = []
    while True:
        try:
            recorded.append(next(steps))
        except StopIteration as stop:
            converged, n_iter, message = stop.value
            break
        if hear is not None:
            hear(len(recorded))
    return Trace(
        algorithm=algorithm,
        steps=tuple(recorded),
        params=params,
        data_digest=digest(X),
        converged=converged,
        n_iter=n_iter,
        message=message,
        X=X,
    )


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(
            _values_equal(x, y) for x, y in zip(a, b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_values_equal(a[k], b[k]) for k in a)
    return bool(a == b)


@dataclass(frozen=True, kw_only=True, eq=False)
class Snapshot:
    """One recorded step of an algorithm.

    Subclasses add the algorithm's state as further fields; ndarray fields are
    made read-only on construction. Fields whose names start with ``_`` are
    private (caches, references to shared data) and are not serialised.

    Parameters
    ----------
    index : int
        Position of this snapshot in its trace.
    phase : str
        What kind of step this is, e.g. ``"init"``, ``"E"``, ``"M"``, ``"merge"``.
    iteration : int
        The iteration the step belongs to (0 for the start).
    message : str
        One sentence saying what this step did, with its numbers.
    """

    index: int
    phase: str
    iteration: int
    message: str

    # What a trace of these steps offers besides its fields, name -> function of the
    # trace (AGNES's linkage matrix): each lab adds its own, the records know none.
    trace_properties: ClassVar[dict[str, Callable[[Trace], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _SNAPSHOT_TYPES[cls.__name__] = cls

    def __post_init__(self) -> None:
        for name, kind in (("index", "a whole number"), ("phase", "a string"),
                           ("iteration", "a whole number"), ("message", "a string")):
            value = getattr(self, name)
            ok = (isinstance(value, str) if kind == "a string"
                  else isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)))
            if not ok:
                raise ValueError(f"a step's {name} should be {kind}, but got {value!r}")
        self._freeze_arrays()

    def _freeze_arrays(self) -> None:
        for name in _field_names(type(self)):
            value = getattr(self, name, None)
            if isinstance(value, np.ndarray) and value.flags.writeable:
                object.__setattr__(self, name, freeze(value))

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Unpickling hands back writeable arrays: freeze them again, in place (no copy:
        # they are this trace's own, shared only with the steps pickled beside them),
        # fields and private attributes alike (an EM step's data X). Every snapshot
        # class inherits this; none needs its own.
        freeze_in_place(state)
        self.__dict__.update(state)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            _values_equal(getattr(self, f.name), getattr(other, f.name))
            for f in self.public_fields()
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays: not hashable

    @classmethod
    def public_fields(cls) -> tuple[dataclasses.Field, ...]:
        """The fields that make up the snapshot's state (serialised, compared)."""
        found = _PUBLIC_FIELDS.get(cls)
        if found is None:  # once per class: a long trace asks for them thousands of times
            found = _PUBLIC_FIELDS[cls] = tuple(f for f in fields(cls) if f.init and not f.name.startswith("_"))
        return found

    def to_dict(self) -> dict[str, Any]:
        """The snapshot's public fields as plain, JSON-ready values."""
        return {f.name: _encode(getattr(self, f.name)) for f in self.public_fields()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, X: np.ndarray | None = None) -> Snapshot:
        """Rebuild a snapshot from :meth:`to_dict` output.

        Parameters
        ----------
        data : dict
            Field names to encoded values.
        X : ndarray of shape (n_samples, n_features), optional
            The trace's data, for subclasses whose derived state needs it.

        Raises
        ------
        ValueError
            If fields are missing or unknown.
        """
        names = {f.name for f in cls.public_fields()}
        required = {
            f.name
            for f in cls.public_fields()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        unknown = set(data) - names
        missing = required - set(data)
        if unknown or missing:
            parts = []
            if missing:
                parts.append(f"missing {sorted(missing)}")
            if unknown:
                parts.append(f"unknown {sorted(unknown)}")
            raise ValueError(f"a {cls.__name__} step has the wrong fields: {'; '.join(parts)}")
        values = {k: _decode(v) for k, v in data.items()}
        try:
            return cls(**values)
        except (TypeError, AttributeError, IndexError) as exc:
            # A field of the wrong type (a list where an array belongs, ...) trips up
            # the subclass's own checks: report it as a malformed step.
            raise ValueError(f"a {cls.__name__} step has a field of the wrong type ({exc})") from None


@dataclass(frozen=True, eq=False)
class Trace:
    """The whole run of an algorithm: its snapshots and how it ended.

    Parameters
    ----------
    algorithm : str
        E.g. ``"em"``, ``"kmeans"``.
    steps : tuple of Snapshot
        In order; ``steps[i].index == i``.
    params : dict
        The parameters of the run, as plain values (str, int, float, bool,
        None, lists, dicts, arrays).
    data_digest : str
        Digest of the data the trace ran on (:func:`tracelab.record.arrays.digest`).
    converged : bool
        Whether the algorithm met its stopping rule (rather than ``max_iter``).
    n_iter : int
        Iterations run.
    message : str
        One sentence on how the run ended.
    X : ndarray of shape (n_samples, n_features) or None
        The data the trace ran on, kept so a trace can be replayed (and
        derived per-step state recomputed) without the original file.
    """

    algorithm: str
    steps: tuple[Snapshot, ...]
    params: dict[str, Any] = field(default_factory=dict)
    data_digest: str = ""
    converged: bool = False
    n_iter: int = 0
    message: str = ""
    X: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "params", _freeze_nested(dict(self.params)))
        if self.X is not None:
            object.__setattr__(self, "X", freeze(self.X, dtype=np.float64))
        for i, step in enumerate(self.steps):
            if not isinstance(step, Snapshot):
                raise ValueError(f"step {i} is a {type(step).__name__}, not a Snapshot")
            if step.index != i:
                raise ValueError(f"step {i} says it is step {step.index}")

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Unpickling (st.cache_data) hands back writeable arrays: freeze again, in place.
        self.__dict__.update(state)
        if self.X is not None:
            self.X.flags.writeable = False
        _freeze_nested(self.params, in_place=True)

    def __getattr__(self, name: str) -> Any:
        # Called only for a name the class lacks: a property its steps' lab offers
        # (Snapshot.trace_properties), such as an AGNES trace's ``linkage_matrix``.
        steps = self.__dict__.get("steps")
        prop = type(steps[-1]).trace_properties.get(name) if steps and not name.startswith("__") else None
        if prop is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return prop(self)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> Snapshot:
        return self.steps[i]

    def __iter__(self):
        return iter(self.steps)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return all(
            _values_equal(getattr(self, f.name), getattr(other, f.name))
            for f in fields(self)
        )

    __hash__ = None  # type: ignore[assignment]

    def nbytes(self) -> int:
        """About how many bytes of memory the trace holds.

        Its arrays, each counted once (steps may share an array they did not
        change, and a view shares its base's memory), list and tuple fields at 32
        bytes an item, and 1 KB a step for the snapshot and its scalars. Counted
        once and kept (pickled with the trace: a worker process that records a
        trace counts it, not the server that receives it).
        """
        known = self.__dict__.get("_nbytes")
        if known is not None:
            return known
        seen: set[int] = set()
        total = 1024 * len(self.steps)

        def count(value: Any) -> None:
            nonlocal total
            if isinstance(value, np.ndarray):
                base = value
                while isinstance(base.base, np.ndarray):
                    base = base.base
                if id(base) not in seen:
                    seen.add(id(base))
                    total += base.nbytes
            elif isinstance(value, (list, tuple)):
                total += 32 * len(value)
                for item in value:
                    if isinstance(item, (np.ndarray, list, tuple)):
                        count(item)

        count(self.X)
        for step in self.steps:
            for f in step.public_fields():
                count(getattr(step, f.name))
        self.__dict__["_nbytes"] = total  # immutable: the count holds for good
        return total

    def approx_json_bytes(self) -> int:
        """About how many bytes :meth:`to_json` writes, without writing it.

        A float takes about 20 characters (its shortest repr and a separator), an
        integer or a boolean about 5, and a step up to 800 more for its message
        and scalar fields. Measured against the real files it errs on the large
        side, by a few percent on large traces and up to about 2.5 times on small
        ones: enough to refuse a file too large to replay before building it.
        """
        floats = ints = 0

        def count(value: Any) -> None:
            nonlocal floats, ints
            if isinstance(value, (np.ndarray, list, tuple)):
                a = np.asarray(value, dtype=object if isinstance(value, (list, tuple)) else None)
                if a.dtype.kind == "f":
                    floats += a.size
                elif a.dtype.kind in "iub":
                    ints += a.size
                else:
                    floats += a.size  # mixed values: counted as the longer kind

        count(self.X)
        for step in self.steps:
            for f in step.public_fields():
                count(getattr(step, f.name))
        return 20 * floats + 5 * ints + 800 * len(self.steps)

    def to_json(self, indent: int | None = None) -> str:
        """Serialise the trace; :meth:`from_json` gives back an equal trace.

        Floats are written with Python's shortest round-trip repr, so every
        value comes back bit for bit. Non-finite floats are written as the
        strings ``"nan"``, ``"inf"`` and ``"-inf"`` so the file is strict JSON.
        """
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "algorithm": self.algorithm,
            "params": _encode(self.params),
            "data_digest": self.data_digest,
            "converged": self.converged,
            "n_iter": self.n_iter,
            "message": self.message,
            "X": _encode(self.X),
            "steps": [
                {"type": type(s).__name__, "fields": s.to_dict()} for s in self.steps
            ],
        }
        return json.dumps(doc, indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        """Load a trace written by :meth:`to_json`.

        Raises
        ------
        ValueError
            With a message saying what is wrong, for anything that is not a
            well-formed TraceLab trace.
        """
        try:
            doc = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"This is not a TraceLab trace: it is not valid JSON ({exc}).") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(
                "This is not a TraceLab trace: the file does not say "
                f'"format": "{FORMAT}". Download a trace from a lab and load that.'
            )
        if doc.get("version") != VERSION:
            raise ValueError(
                f"This trace has format version {doc.get('version')!r}; this TraceLab reads version {VERSION}."
            )
        try:
            X = _decode(doc["X"])
            if X is not None and (not isinstance(X, np.ndarray) or X.ndim != 2):
                raise ValueError("X should be a 2-D array")
            raw_steps = doc["steps"]
            if not isinstance(raw_steps, list):
                raise ValueError("steps should be a list")
            steps = []
            for i, raw in enumerate(raw_steps):
                if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict):
                    raise ValueError(f"step {i} is not an object with fields")
                kind = _snapshot_type(raw.get("type"))
                if kind is None:
                    raise ValueError(f"step {i} has an unknown type {raw.get('type')!r}")
                try:
                    steps.append(kind.from_dict(raw["fields"], X=X))
                except _MALFORMED as exc:
                    raise ValueError(f"step {i}: {_reason(exc)}") from None
            params = _decode(doc["params"])
            if not isinstance(params, dict):
                raise ValueError("params should be an object")
            trace = cls(
                algorithm=_expect(doc["algorithm"], str, "algorithm"),
                steps=tuple(steps),
                params=params,
                data_digest=_expect(doc["data_digest"], str, "data_digest"),
                converged=_expect(doc["converged"], bool, "converged"),
                n_iter=_expect(doc["n_iter"], int, "n_iter"),
                message=_expect(doc["message"], str, "message"),
                X=X,
            )
        except KeyError as exc:
            raise ValueError(f"This TraceLab trace is incomplete: {exc.args[0]!r} is missing.") from None
        except _MALFORMED as exc:
            raise ValueError(f"This TraceLab trace is malformed: {_reason(exc)}.") from None
        return trace


# What building a trace from a malformed file can raise: wrong types in the wrong
# places (TypeError, AttributeError), bad indices and keys, numbers out of range,
# values nested too deeply to rebuild (RecursionError), and bad values.
_MALFORMED = (
    TypeError, AttributeError, LookupError, ArithmeticError, RecursionError, ValueError,
)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "values are nested too deeply"
    text = str(exc).rstrip(".")
    return text or type(exc).__name__


def _freeze_nested(value: Any, in_place: bool = False) -> Any:
    """Make every array inside dicts, lists and tuples read-only."""
    if isinstance(value, np.ndarray):
        if in_place:
            value.flags.writeable = False
            return value
        return freeze(value)
    if isinstance(value, dict):
        for k, v in value.items():
            value[k] = _freeze_nested(v, in_place)
        return value
    if isinstance(value, list):
        for i, v in enumerate(value):
            value[i] = _freeze_nested(v, in_place)
        return value
    if isinstance(value, tuple):
        return tuple(_freeze_nested(v, in_place) for v in value)
    return value


def _expect(value: Any, kind: type, name: str) -> Any:
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{name} should be a {kind.__name__}, but got {value!r}")
    return value


def _encode_float(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _encode(value: Any) -> Any:
    """Turn a value into plain JSON types, tagging what JSON cannot say."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else {"__float__": _encode_float(x)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"cannot serialise an array of dtype {value.dtype}")
        flat = value.ravel().tolist()
        if value.dtype.kind == "f":
            flat = [_encode_float(x) for x in flat]
        return {"__ndarray__": {"dtype": value.dtype.str, "shape": list(value.shape), "data": flat}}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only dicts with string keys can be serialised")
        if any(k.startswith("__") and k.endswith("__") for k in value):
            raise TypeError("dict keys of the form __name__ are reserved")
        return {k: _encode(v) for k, v in value.items()}
    raise TypeError(f"cannot serialise a value of type {type(value).__name__}")


_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _decode(value: Any) -> Any:
    """Inverse of :func:`_encode`; raises ValueError on anything malformed."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        raise ValueError(f"unexpected value {value!r}")
    if "__ndarray__" in value:
        spec = value["__ndarray__"]
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
            raise ValueError("an array needs exactly dtype, shape and data")
        try:
            dtype = np.dtype(spec["dtype"])
        except TypeError:
            raise ValueError(f"unknown array dtype {spec['dtype']!r}") from None
        if dtype.kind not in _ARRAY_KINDS:
            raise ValueError(f"arrays of dtype {dtype} are not allowed")
        shape = spec["shape"]
        if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
        ):
            raise ValueError(f"bad array shape {shape!r}")
        data = spec["data"]
        if not isinstance(data, list) or len(data) != math.prod(shape):
            raise ValueError(f"an array of shape {tuple(shape)} needs {math.prod(shape)} values")
        if dtype.kind == "f":
            data = [_NONFINITE[x] if isinstance(x, str) and x in _NONFINITE else x for x in data]
        if not all(isinstance(x, (int, float)) for x in data):
            raise ValueError("array data should be numbers")
        if dtype.kind == "b" and not all(isinstance(x, bool) for x in data):
            raise ValueError("a boolean array should hold true/false")
        if dtype.kind in "iu" and not all(isinstance(x, int) for x in data):
            raise ValueError("an integer array should hold integers")
        try:
            arr = np.array(data, dtype=dtype).reshape(shape)
        except OverflowError:
            raise ValueError(f"array values out of range for dtype {dtype}") from None
        arr.flags.writeable = False
        return arr
    if "__tuple__" in value:
        items = value["__tuple__"]
        if len(value) != 1 or not isinstance(items, list):
            raise ValueError("a tuple should be a list")
        return tuple(_decode(v) for v in items)
    if "__float__" in value:
        x = value["__float__"]
        if len(value) != 1 or x not in _NONFINITE:
            raise ValueError(f"bad float {x!r}")
        return _NONFINITE[x]
    return {k: _decode(v) for k, v in value.items()}
