"""Hypothesis strategies for JSON that a schema of ``spec/mint.openapi.yaml`` allows, and mutations
that break it. (hypothesis-jsonschema does not run on the hypothesis this suite uses.)

Covers the vocabulary the spec uses: ``$ref``, ``anyOf``/``oneOf``, ``type`` (one or a list),
``enum``, ``const``, ``properties``/``required``/``additionalProperties``, ``items`` with
``minItems``/``maxItems``, ``minLength``/``maxLength``, ``minimum``/``maximum``, and the formats
``date-time`` (every RFC 3339 spelling: ``t``/``z`` in lower case, leap seconds, offsets,
fractions) and ``uri``. Optional properties are left out or sent; unknown properties are added
where the schema leaves objects open (forward compatibility).
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import strategies as st

from tests._fake_contract import load_spec

Json = Any

_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzXYZ", min_size=3, max_size=10)
_SCALARS = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=20)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=6,
)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = load_spec()
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
    return schema


@st.composite
def _date_time(draw: st.DrawFn) -> str:
    year = draw(st.integers(1970, 2099))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    leap = draw(st.booleans()) and hour == 23 and minute == 59
    second = 60 if leap and draw(st.booleans()) else draw(st.integers(0, 59))
    fraction = draw(st.sampled_from(["", ".1", ".123", ".123456", ".123456789"]))
    t = draw(st.sampled_from("Tt"))
    offset = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-08:00"]))
    return f"{year:04}-{month:02}-{day:02}{t}{hour:02}:{minute:02}:{second:02}{fraction}{offset}"


_URI = st.builds(
    lambda host, path: f"https://{host}.example/{path}",
    st.text(alphabet="abcdefghijklmnop", min_size=1, max_size=8),
    st.text(alphabet="abcdefghijklmnop0123456789/._-", max_size=20),
)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date-time":
        return _date_time()
    if fmt == "uri":
        return _URI
    lo = schema.get("minLength", 0)
    hi = schema.get("maxLength", max(lo, 24))
    return st.text(min_size=lo, max_size=min(hi, lo + 24))


def _number(schema: dict[str, Any], integer: bool) -> st.SearchStrategy[Json]:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if integer:
        return st.integers(min_value=lo if lo is not None else -(10**9),
                           max_value=hi if hi is not None else 10**9)  # fmt: skip
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False) | (
        st.integers(
            min_value=int(lo) if lo is not None else -(10**6),
            max_value=int(hi) if hi is not None else 10**6,
        )
    )


def values(schema: dict[str, Any]) -> st.SearchStrategy[Json]:
    """JSON the schema allows."""
    schema = resolve(schema)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([values(variant) for variant in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([values({**schema, "type": k}) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "string":
        return _string(schema)
    if kind == "array":
        lo = schema.get("minItems", 0)
        hi = schema.get("maxItems", lo + 3)
        return st.lists(values(schema.get("items", {})), min_size=lo, max_size=min(hi, lo + 3))
    if kind == "object" or "properties" in schema:
        return _object(schema)
    return _JSON


@st.composite
def _object(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Json]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    out: dict[str, Json] = {}
    for name, sub in properties.items():
        if name in required or draw(st.booleans()):
            out[name] = draw(values(sub))
    extra = schema.get("additionalProperties", True)
    if extra is not False:
        extra_values = _JSON if extra is True or extra == {} else values(extra)
        for key in draw(st.lists(_KEYS, max_size=2, unique=True)):
            if key not in properties:
                out["x" + key] = draw(extra_values)
    return out


def _paths(data: Json, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*path, i))
    return found


def _set(data: Json, path: tuple[Any, ...], value: Json) -> Json:
    if not path:
        return value
    out = copy.deepcopy(data)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def _delete(data: Json, path: tuple[Any, ...]) -> Json:
    out = copy.deepcopy(data)
    node = out
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return out


@st.composite
def mutants(draw: st.DrawFn, data: Json) -> tuple[str, Json]:
    """A change to ``data``: a value of another type somewhere, a key removed, or NaN/Infinity.
    The caller keeps only mutants the spec's validator rejects (or that hold NaN/Infinity)."""
    paths = _paths(data)
    path = draw(st.sampled_from(paths))
    how = draw(st.sampled_from(["type", "type", "delete", "nan"]))
    if how == "delete" and path and isinstance(path[-1], str):
        return f"delete {path}", _delete(data, path)
    if how == "nan":
        return f"nan at {path}", _set(data, path, draw(st.sampled_from([math.nan, math.inf])))
    replacement = draw(
        st.sampled_from([7, 2.5, True, "text", [1], {"k": 1}, None]).filter(
            lambda v: type(v) is not type(_get(data, path))
        )
    )
    return f"{replacement!r} at {path}", _set(data, path, replacement)


def _get(data: Json, path: tuple[Any, ...]) -> Json:
    for part in path:
        data = data[part]
    return data
