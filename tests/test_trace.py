"""Tests for tracelab.record.trace: frozen snapshots, traces and their exact JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import re
import struct
import subprocess
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tracelab.record.arrays import freeze
from tracelab.record.trace import FORMAT, VERSION, Snapshot, Trace, snapshot_types


# A name no other test module uses: snapshot classes are registered by name.
@dataclass(frozen=True, kw_only=True, eq=False)
class _TraceTestStep(Snapshot):
    values: np.ndarray
    note: str | None = None
    extra: Any = None


@dataclass(frozen=True, kw_only=True, eq=False)
class _TraceTestCachedStep(Snapshot):
    values: np.ndarray
    _cache: Any = field(default=None, repr=False)


def _step(i: int = 0, **kw: Any) -> _TraceTestStep:
    kw.setdefault("values", np.array([1.0, 2.0]))
    return _TraceTestStep(index=i, phase="E", iteration=i, message=f"step {i}", **kw)


def _trace(**kw: Any) -> Trace:
    steps = kw.pop("steps", (_step(0), _step(1, note="second"), _step(2, extra={"k": 3})))
    kw.setdefault("X", np.array([[0.8], [1.1], [1.4]]))
    return Trace(
        algorithm="em",
        steps=steps,
        params={"n_components": 2, "tol": 1e-3},
        data_digest="abc",
        converged=True,
        n_iter=1,
        message="done",
        **kw,
    )


def _doc() -> dict[str, Any]:
    return json.loads(_trace().to_json())


def _load(doc: Any) -> Trace:
    return Trace.from_json(json.dumps(doc))


# ---------------------------------------------------------------------------
# Read-only arrays


def test_snapshot_arrays_are_read_only_copies():
    values = np.array([1.0, 2.0])
    s = _step(values=values)
    assert not s.values.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        s.values[0] = 5.0
    values[0] = 99.0  # the caller's array is copied, not frozen or shared
    assert values.flags.writeable
    assert s.values[0] == 1.0


def test_snapshot_fields_cannot_be_reassigned():
    s = _step()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.values = np.zeros(2)  # type: ignore[misc]


def test_snapshot_arrays_stay_read_only_after_pickling():
    s = _step(values=np.arange(6.0).reshape(2, 3))
    back = pickle.loads(pickle.dumps(s))
    assert back == s
    assert not back.values.flags.writeable
    with pytest.raises(ValueError):
        back.values[0, 0] = 1.0


def test_trace_X_and_steps_stay_read_only_after_pickling():
    back = pickle.loads(pickle.dumps(_trace()))
    assert back == _trace()
    assert not back.X.flags.writeable
    assert all(not s.values.flags.writeable for s in back.steps)


def test_trace_X_is_a_read_only_float_copy():
    X = np.array([[1], [2]])
    t = _trace(X=X, steps=())
    assert t.X.dtype == np.float64 and not t.X.flags.writeable
    X[0, 0] = 7
    assert t.X[0, 0] == 1.0


def test_freeze_returns_a_read_only_array_as_it_is_and_copies_others():
    a = np.arange(3.0)
    frozen = freeze(a)
    assert frozen is not a and a.flags.writeable and not frozen.flags.writeable
    assert freeze(frozen) is frozen
    as_int = freeze(frozen, dtype=np.int64)
    assert as_int.dtype == np.int64 and not as_int.flags.writeable
    assert freeze([1, 2]).tolist() == [1, 2]


def test_snapshots_and_traces_are_not_hashable():
    with pytest.raises(TypeError):
        hash(_step())
    with pytest.raises(TypeError):
        hash(_trace())


def test_equality_is_sensitive_to_one_bit():
    values = np.array([1.0, 2.0])
    nudged = values.copy()
    nudged[1] = np.nextafter(nudged[1], 3.0)
    assert _step(values=values) == _step(values=values.copy())
    assert _step(values=values) != _step(values=nudged)
    assert _step(values=values) != _step(values=values, note="x")
    assert _trace() != _trace(X=np.array([[0.8], [1.1], [1.5]]))


# ---------------------------------------------------------------------------
# Trace checks on construction


def test_trace_checks_step_indices():
    with pytest.raises(ValueError, match="step 1 says it is step 2"):
        _trace(steps=(_step(0), _step(2)))


def test_trace_refuses_what_is_not_a_snapshot():
    with pytest.raises(ValueError, match="step 0 is a dict, not a Snapshot"):
        _trace(steps=({"index": 0},))


def test_trace_is_a_sequence_of_steps():
    t = _trace()
    assert len(t) == 3
    assert t[1].note == "second"
    assert [s.index for s in t] == [0, 1, 2]


def test_subclasses_are_registered_by_name():
    types = snapshot_types()
    assert types["_TraceTestStep"] is _TraceTestStep
    types["_TraceTestStep"] = dict  # a copy: the registry is unchanged
    assert snapshot_types()["_TraceTestStep"] is _TraceTestStep
    assert "Snapshot" not in snapshot_types()


# ---------------------------------------------------------------------------
# Exact JSON round trip


def _same_bits(a: Any, b: Any) -> bool:
    """Equal to the bit: same types, float bit patterns (NaNs: any payload)."""
    if isinstance(a, np.ndarray):
        if not isinstance(b, np.ndarray) or a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind == "f":
            nan_a, nan_b = np.isnan(a), np.isnan(b)
            return bool(np.array_equal(nan_a, nan_b)) and a[~nan_a].tobytes() == b[~nan_b].tobytes()
        return a.tobytes() == b.tobytes()
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_bits(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_bits(a[k], b[k]) for k in a)
    return a == b


HARD_FLOATS = [0.1, 1 / 3, -0.0, 0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
               math.pi, -1e-300, 123456789.123456789, math.nan, math.inf, -math.inf]


def test_round_trip_is_exact_for_every_kind_of_value():
    params = {
        "floats": HARD_FLOATS,
        "ints": [0, -1, 2**62, -(2**63), 2**100],
        "bools": [True, False],
        "none": None,
        "text": "naïve ☃ \"quoted\" \n",
        "tuple": (1, (2.5, "x"), [None, (True,)]),
        "nested": {"a": {"b": [1, {"c": (math.nan,)}]}, "": 0},
        "array": np.array([[1.5, math.nan], [math.inf, -0.0]]),
    }
    arrays = {
        "f8": np.array(HARD_FLOATS),
        "f4": np.array([0.1, -0.0, np.inf, 3.4e38], dtype=np.float32),
        "f2": np.array([0.1, 65504.0], dtype=np.float16),
        "i8": np.array([-(2**63), 2**63 - 1]),
        "u8": np.array([0, 2**64 - 1], dtype=np.uint64),
        "i1": np.array([[-128, 127]], dtype=np.int8),
        "b": np.array([[True], [False]]),
        "empty": np.zeros((0, 3)),
        "scalar": np.array(2.5),
        "big_endian": np.array([1.0, 2.0], dtype=">f8"),
    }
    steps = (
        _step(0, values=np.array(HARD_FLOATS), extra=arrays),
        _step(1, values=np.array([], dtype=np.int32), note=None, extra=(1, 2.0, "3")),
        _step(2, values=np.array([[True, False]]), note="", extra=[math.inf, {"k": None}]),
    )
    t = Trace(algorithm="em", steps=steps, params=params, data_digest="d", converged=False,
              n_iter=7, message="m", X=np.array([[5e-324, -0.0], [1 / 3, 1e300]]))
    back = Trace.from_json(t.to_json())
    assert back == t
    for f in dataclasses.fields(Trace):
        if f.name != "steps":
            assert _same_bits(getattr(back, f.name), getattr(t, f.name)), f.name
    for s, b in zip(t.steps, back.steps):
        assert type(b) is _TraceTestStep
        for f in _TraceTestStep.public_fields():
            assert _same_bits(getattr(b, f.name), getattr(s, f.name)), f.name
    # Arrays anywhere in a loaded trace are read-only.
    assert not back.steps[0].extra["f8"].flags.writeable
    assert not back.params["array"].flags.writeable


def test_round_trip_with_indent_and_from_bytes():
    t = _trace()
    assert Trace.from_json(t.to_json(indent=2)) == t
    assert Trace.from_json(t.to_json().encode("utf-8")) == t


def test_json_is_strict():
    t = _trace(steps=(_step(0, values=np.array([math.nan, math.inf]), extra=-math.inf),))
    text = t.to_json()

    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    json.loads(text, parse_constant=refuse)
    doc = json.loads(text)
    assert doc["format"] == FORMAT and doc["version"] == VERSION
    assert doc["steps"][0]["type"] == "_TraceTestStep"


def test_private_fields_are_not_written():
    s = _TraceTestCachedStep(index=0, phase="M", iteration=0, message="m",
                             values=np.ones(2), _cache="derived")
    text = Trace(algorithm="em", steps=(s,)).to_json()
    assert "_cache" not in text and "derived" not in text
    back = Trace.from_json(text)
    assert back.steps[0]._cache is None
    assert back.steps[0] == s  # private fields are not part of the state


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array(["a"]), "dtype <U1"),
        (np.array([object()]), "dtype object"),
        ({1: 2}, "string keys"),
        ({"__tuple__": 1}, "reserved"),
        ({1, 2}, "type set"),
        (1 + 2j, "type complex"),
    ],
)
def test_unserialisable_values_are_refused_when_writing(value, message):
    with pytest.raises(TypeError, match=message):
        _trace(steps=(_step(0, extra=value),)).to_json()


_keys = st.text(max_size=4).filter(lambda k: not (k.startswith("__") and k.endswith("__")))
_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.uint16, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
)
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() | st.text(max_size=6) | _arrays,
    lambda inner: st.lists(inner, max_size=3)
    | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=_values, params=st.dictionaries(_keys, _values, max_size=3))
def test_any_value_round_trips_exactly(extra, params):
    t = Trace(algorithm="x", steps=(_step(0, extra=extra),), params=params)
    back = Trace.from_json(t.to_json())
    assert back == t
    assert _same_bits(back.steps[0].extra, extra)
    assert _same_bits(back.params, params)


# ---------------------------------------------------------------------------
# Loading refuses anything malformed, with a clear ValueError


def _with(path: list, value: Any) -> dict[str, Any]:
    """A valid trace document with the value at ``path`` replaced (or removed)."""
    doc = _doc()
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is _REMOVE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_REMOVE = object()
_VALUES = ["steps", 0, "fields", "values"]


def _array(dtype: Any = "<f8", shape: Any = (2,), data: Any = (1.0, 2.0)) -> dict[str, Any]:
    return {"__ndarray__": {"dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape,
                            "data": list(data) if isinstance(data, tuple) else data}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not a TraceLab trace: it is not valid JSON"),
        (b"\xff\xfe\x00", "not a TraceLab trace: it is not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", 'does not say "format": "tracelab.trace"'),
        ("null", 'does not say "format"'),
        ('{"format": "other"}', 'does not say "format": "tracelab.trace"'),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ],
)
def test_not_a_trace_is_refused(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Trace.from_json(text)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["version"], 2, "format version 2; this TraceLab reads version 1"),
        (["version"], "1", "format version '1'"),
        (["version"], _REMOVE, "format version None"),
        (["steps", 0, "type"], "Unknown", "step 0 has an unknown type 'Unknown'"),
        (["steps", 0, "type"], None, "step 0 has an unknown type None"),
        (["steps", 0, "type"], ["_TraceTestStep"], "malformed"),
        (["steps", 0, "fields", "message"], _REMOVE, "wrong fields: missing ['message']"),
        (["steps", 0, "fields", "surprise"], 1, "wrong fields: unknown ['surprise']"),
        (["steps", 0, "fields", "__class__"], "os.system", "unknown ['__class__']"),
        (["steps", 0, "fields"], [], "step 0 is not an object with fields"),
        (["steps", 0], "step", "step 0 is not an object with fields"),
        (["steps"], {}, "steps should be a list"),
        (["steps"], _REMOVE, "incomplete: 'steps' is missing"),
        (["X"], _REMOVE, "incomplete: 'X' is missing"),
        (["message"], _REMOVE, "incomplete: 'message' is missing"),
        (["steps", 1, "fields", "index"], 5, "step 1 says it is step 5"),
        (["X"], _array(shape=(2,)), "X should be a 2-D array"),
        (["X"], [[1.0]], "X should be a 2-D array"),
        (["params"], [], "params should be an object"),
        (["algorithm"], 3, "algorithm should be a str, but got 3"),
        (["n_iter"], True, "n_iter should be a int, but got True"),
        (["converged"], "yes", "converged should be a bool"),
        (_VALUES, _array(shape=(3,)), "an array of shape (3,) needs 3 values"),
        (_VALUES, _array(shape=(-2,), data=()), "bad array shape [-2]"),
        (_VALUES, _array(shape=(2.0,)), "bad array shape [2.0]"),
        (_VALUES, _array(shape="2"), "bad array shape '2'"),
        (_VALUES, _array(data="12"), "needs 2 values"),
        (_VALUES, _array(dtype="O"), "arrays of dtype object are not allowed"),
        (_VALUES, _array(dtype="|O"), "arrays of dtype object are not allowed"),
        (_VALUES, _array(dtype="<U3", data=("a", "b")), "arrays of dtype <U3 are not allowed"),
        (_VALUES, _array(dtype="<M8[s]"), "datetime64[s] are not allowed"),
        (_VALUES, _array(dtype="<c16"), "complex128 are not allowed"),
        (_VALUES, _array(dtype="V8"), "are not allowed"),
        (_VALUES, _array(dtype="nonsense"), "unknown array dtype 'nonsense'"),
        (_VALUES, _array(data=("a", 1.0)), "array data should be numbers"),
        (_VALUES, _array(data=(None, 1.0)), "array data should be numbers"),
        (_VALUES, _array(dtype="<i8", data=(1.5, 2)), "an integer array should hold integers"),
        (_VALUES, _array(dtype="|b1", data=(1, 0)), "a boolean array should hold true/false"),
        (_VALUES, _array(dtype="<i8", data=(2**70, 1)), "out of range for dtype int64"),
        (_VALUES, _array(dtype="|u1", data=(-1, 1)), "out of range for dtype uint8"),
        (_VALUES, _array(data=(10**400, 1)), "out of range for dtype float64"),
        (_VALUES, {"__ndarray__": {"dtype": "<f8", "shape": [2]}}, "exactly dtype, shape and data"),
        (_VALUES, {"__ndarray__": [1.0, 2.0]}, "exactly dtype, shape and data"),
        (_VALUES, {"__tuple__": "ab"}, "a tuple should be a list"),
        (_VALUES, {"__tuple__": [1], "more": 2}, "a tuple should be a list"),
        (_VALUES, {"__float__": "NaN"}, "bad float 'NaN'"),
        (_VALUES, {"__float__": 1.0}, "bad float 1.0"),
    ],
)
def test_malformed_trace_is_refused(path, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _load(_with(path, value))


def test_deeply_nested_values_are_refused():
    # Valid JSON, but deeper than the decoder can rebuild without recursing too far.
    nested: Any = 1.0
    for _ in range(900):
        nested = [nested]
    with pytest.raises(ValueError, match="malformed"):
        _load(_with(["params", "deep"], nested))


def test_a_step_index_that_is_not_its_position_is_refused():
    doc = _doc()
    doc["steps"].reverse()
    with pytest.raises(ValueError, match="step 0 says it is step 2"):
        _load(doc)


def test_valid_document_loads():
    # The mutations above start from a document that loads.
    assert _load(_doc()) == _trace()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["__ndarray__", "__tuple__", "__float__", "dtype", "shape", "data", "a"]),
                      inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


_DOC_PATHS = _paths(_doc())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_DOC_PATHS), value=_json)
def test_any_corruption_gives_a_trace_or_a_value_error(path, value):
    doc = _with(list(path), value)
    try:
        t = _load(doc)
    except ValueError as exc:
        assert str(exc)
    else:
        assert isinstance(t, Trace)


# ---------------------------------------------------------------------------
# Loading never executes anything


@pytest.fixture
def no_execution(monkeypatch):
    calls = []

    def record(*args, **kwargs):
        calls.append(args)
        raise AssertionError("loading a trace ran a command")

    monkeypatch.setattr(os, "system", record)
    monkeypatch.setattr(subprocess, "Popen", record)
    yield calls
    assert calls == []


@pytest.mark.parametrize(
    "type_name",
    [
        "os.system",
        "posix.system",
        "builtins.eval",
        "subprocess.Popen",
        "__main__._TraceTestStep",
        "tests.test_trace._TraceTestStep",
        f"{__name__}._TraceTestStep",
        "Snapshot",
        "Trace",
        "__class__",
        "__import__",
        "",
    ],
)
def test_step_types_are_only_registered_class_names(no_execution, type_name):
    doc = _with(["steps", 0, "type"], type_name)
    with pytest.raises(ValueError, match=re.escape(f"step 0 has an unknown type {type_name!r}")):
        _load(doc)


def test_values_that_look_like_pickles_stay_plain_data(no_execution):
    payload = {"__reduce__": ["os.system", ["echo owned"]], "py/object": "os.system", "!!python": "x"}
    t = _load(_with(["steps", 0, "fields", "extra"], payload))
    assert t.steps[0].extra == payload
    assert type(t.steps[0].extra) is dict


def test_loaded_step_fields_are_only_plain_values_and_arrays():
    t = Trace.from_json(_trace(steps=(_step(0, extra=[(1, "a"), {"b": np.arange(2)}]),)).to_json())

    def plain(v: Any) -> bool:
        if isinstance(v, (list, tuple)):
            return all(plain(x) for x in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        if isinstance(v, np.ndarray):
            return v.dtype.kind in "biuf"
        return v is None or type(v) in (bool, int, float, str)

    assert all(plain(getattr(t.steps[0], f.name)) for f in _TraceTestStep.public_fields())


def test_arrays_in_params_are_read_only_also_after_pickling():
    import pickle

    trace = Trace("x", (), {"means_init": np.zeros((2, 2)), "nested": {"a": [np.ones(3)]}})
    assert not trace.params["means_init"].flags.writeable
    assert not trace.params["nested"]["a"][0].flags.writeable
    again = pickle.loads(pickle.dumps(trace))
    assert not again.params["means_init"].flags.writeable
    assert not again.params["nested"]["a"][0].flags.writeable


# ---------------------------------------------------------------------------
# Whatever a snapshot raises while a file is loaded becomes a ValueError


@dataclass(frozen=True, kw_only=True, eq=False)
class _TraceTestFussyStep(Snapshot):
    """Raises the exception named by ``fails`` on construction (e.g. a check tripping over a bad type)."""

    fails: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fails == "RecursionError":
            def deeper(n):
                return deeper(n + 1) + 1
            deeper(0)
        if self.fails:
            kind = {e.__name__: e for e in (TypeError, AttributeError, IndexError, KeyError,
                                             OverflowError, ValueError, ZeroDivisionError)}
            raise kind[self.fails]("'list' object has no attribute 'shape'")


@pytest.mark.parametrize(
    "fails",
    ["TypeError", "AttributeError", "IndexError", "KeyError", "OverflowError", "RecursionError",
     "ValueError", "ZeroDivisionError"],
)
def test_any_error_while_building_a_step_is_a_value_error(fails):
    step = _TraceTestFussyStep(index=0, phase="E", iteration=0, message="ok")
    doc = json.loads(_trace(steps=(step,)).to_json())
    doc["steps"][0]["fields"]["fails"] = fails
    with pytest.raises(ValueError, match=r"This TraceLab trace is malformed: step 0: ") as info:
        _load(doc)
    assert info.type is ValueError


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("index", "0", "a step's index should be a whole number, but got '0'"),
        ("iteration", None, "a step's iteration should be a whole number, but got None"),
        ("iteration", 1.5, "a step's iteration should be a whole number"),
        ("phase", 3, "a step's phase should be a string, but got 3"),
        ("message", ["m"], "a step's message should be a string"),
    ],
)
def test_step_bookkeeping_fields_have_their_types(name, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _load(_with(["steps", 0, "fields", name], value))


# ---------------------------------------------------------------------------
# collect: a snapshot generator run to the end


def test_collect_records_every_step_and_the_outcome():
    from tracelab.record.arrays import digest
    from tracelab.record.trace import collect

    X = np.array([[0.0, 1.0], [2.0, 3.0]])

    def steps():
        yield _step(0)
        yield _step(1, note="second")
        return True, 1, "done in one"

    t = collect(steps(), algorithm="test", params={"k": 2}, X=X)
    assert t.steps == (_step(0), _step(1, note="second"))
    assert (t.algorithm, t.converged, t.n_iter, t.message) == ("test", True, 1, "done in one")
    assert t.params == {"k": 2} and t.data_digest == digest(X)
    assert np.array_equal(t.X, X) and not t.X.flags.writeable


# ---------------------------------------------------------------------------
# A snapshot module that fails to import only matters for its own traces


_BROKEN_IMPORT = r"""
import json, sys
sys.modules[{blocked!r}] = None  # importing it now raises ImportError
from tracelab.record.trace import Trace
text = open({path!r}).read()
try:
    trace = Trace.from_json(text)
except ImportError as exc:
    print("ImportError", exc)
else:
    print("loaded", type(trace.steps[0]).__name__)
"""


@pytest.mark.parametrize(
    ("make", "blocked", "expected"),
    [
        ("kmeans", "tracelab.labs.kmeans.kmedoids", "loaded KMeansSnapshot"),
        ("kmeans", "tracelab.labs.em.engine", "loaded KMeansSnapshot"),
        ("kmedoids", "tracelab.labs.em.engine", "loaded KMedoidsSnapshot"),
        ("em", "tracelab.labs.kmeans.kmedoids", "loaded EMSnapshot"),
        ("kmedoids", "tracelab.labs.kmeans.kmedoids", "ImportError"),
    ],
)
def test_a_broken_snapshot_module_does_not_stop_other_traces_loading(tmp_path, make, blocked, expected):
    import sys

    from tracelab.labs.em.engine import trace_em
    from tracelab.labs.kmeans.kmeans import trace_kmeans
    from tracelab.labs.kmeans.kmedoids import trace_kmedoids

    X = np.array([[0.0, 0.0], [0.1, 0.2], [5.0, 5.0], [5.2, 4.9]])
    run = {"em": trace_em, "kmeans": trace_kmeans, "kmedoids": trace_kmedoids}[make]
    path = tmp_path / "trace.json"
    path.write_text(run(X, 2, seed=0).to_json())
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-c", _BROKEN_IMPORT.format(blocked=blocked, path=str(path))],
        capture_output=True, text=True, cwd=root, timeout=120,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(expected), out.stdout


def test_on_each_step_hears_every_step_and_can_stop_a_run():
    from tracelab.data import datasets
    from tracelab.labs.em import engine as gmm
    from tracelab.record.trace import on_each_step

    X = datasets.load("old_faithful").X
    heard: list[int] = []
    with on_each_step(heard.append):
        t = gmm.trace_em(X, 2, seed=0, max_iter=5, tol=0)
    assert heard == list(range(1, len(t) + 1))

    class Halt(Exception):
        pass

    def halt(n_steps: int) -> None:
        if n_steps == 3:
            raise Halt

    with pytest.raises(Halt), on_each_step(halt):
        gmm.trace_em(X, 2, seed=0, max_iter=5, tol=0)
    # outside the block, and in another thread meanwhile, nothing is heard
    assert len(gmm.trace_em(X, 2, seed=0, max_iter=5, tol=0)) == len(t)
    import threading

    other: list[int] = []
    with on_each_step(heard.append):
        worker = threading.Thread(target=lambda: other.append(len(gmm.trace_em(X, 2, seed=0, max_iter=5, tol=0))))
        worker.start()
        worker.join()
    assert other == [len(t)] and len(heard) == len(t), "the other thread's steps were not heard here"


def test_approx_json_bytes_errs_a_little_on_the_large_side():
    from tracelab.data import datasets
    from tracelab.labs.density import engine as density
    from tracelab.labs.em import engine as gmm
    from tracelab.labs.density import hdbscan as hdbscan_trace
    from tracelab.labs.hierarchy import engine as hierarchy
    from tracelab.labs.kmeans import kmeans

    X = datasets.load("two_moons", n_samples=300).X
    for t in (gmm.trace_em(X, 3, seed=0), kmeans.trace_kmeans(X, 3, seed=0), hierarchy.trace_agnes(X[:100]),
              density.trace_dbscan(X, 0.3, 10, group="point"), density.trace_optics(X, 10, group="point"),
              hdbscan_trace.trace_hdbscan(X, 10)):
        ratio = t.approx_json_bytes() / len(t.to_json())
        assert 1.0 <= ratio < (1.2 if len(t.to_json()) > 1e6 else 3.0), (t.algorithm, ratio)


def test_every_snapshot_kind_comes_back_from_pickle_read_only_without_copies():
    import pickle

    import tracelab

    X = tracelab.datasets.load("old_faithful").standardized().X[:60]
    traces = [tracelab.trace_em(X, n_components=2, max_iter=3), tracelab.trace_kmeans(X, n_clusters=2),
              tracelab.trace_kmedoids(X, n_clusters=2), tracelab.trace_agnes(X), tracelab.trace_diana(X),
              tracelab.trace_dbscan(X, eps=0.5, min_samples=4), tracelab.trace_optics(X, min_samples=4),
              tracelab.trace_hdbscan(X, min_cluster_size=5)]
    for trace in traces:
        again = pickle.loads(pickle.dumps(trace))
        arrays = [(type(s).__name__, name, v) for s in again.steps for name, v in vars(s).items()
                  if isinstance(v, np.ndarray)]
        # (AGNES and DIANA steps hold their merges in a structure the steps share, not arrays)
        assert arrays or trace.algorithm in ("agnes", "diana"), trace.algorithm
        for kind, name, value in arrays:
            assert not value.flags.writeable, f"{kind}.{name} came back writeable"
        # Arrays the steps shared before pickling are still shared (frozen in place, not copied).
        shared = {id(v) for _, _, v in arrays}
        assert len(shared) < len(arrays) or len(arrays) <= 1, trace.algorithm


def test_a_trace_offers_what_its_steps_lab_adds_and_nothing_else():
    from tracelab import trace_agnes, trace_kmeans

    X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    assert trace_agnes(X).linkage_matrix.shape == (2, 4)  # the hierarchy lab's
    kmeans = trace_kmeans(X, 2, seed=0)
    with pytest.raises(AttributeError, match="no attribute 'linkage_matrix'"):
        kmeans.linkage_matrix
    with pytest.raises(AttributeError, match="no attribute 'centers'"):
        kmeans.centers  # a step's field is not the trace's
