"""The one rule for what the SDK accepts from the API, and what it sends: the spec's schemas.

A success response is accepted when its status is one the spec documents for the route (any
2xx for a route the spec does not have), its media type is JSON, its body holds no NaN/Infinity,
nests no deeper than ``MAX_DEPTH``, and validates against the route's schema for that status.
Forward compatibility stays: response schemas leave unknown properties open, and response enums
are open (``anyOf: [KnownEnum, string]``). Request bodies are checked against their schemas
before anything is sent, so the documented constraints (lengths, counts, URLs, ``imageUrl`` xor
``sourceImages``) come from the spec and cannot drift from it.

The spec travels with the package (``mint_ext/_spec/mint.openapi.yaml`` in a wheel; ``spec/`` in
a checkout). It is read, and ``jsonschema`` imported, on the first check, not at import time.

Speed: every poll's answer is checked, so a response is first tried on ``jsonschema_rs`` (a
compiled Draft 2020-12 validator of the same schemas, formats unchecked as here): a body it
accepts is accepted at once (a few microseconds instead of about half a millisecond); any other
outcome, or no ``jsonschema_rs`` at all, goes to ``jsonschema``, whose verdict and message are
the rule. The fast path can only say yes where both agree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import httpx

from ._spec import MAX_DEPTH, spec, too_deep

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "MAX_DEPTH",
    "media_type_problem",
    "too_deep",
    "request_problem",
    "response_problem",
    "spec",
]


_SPEC_URI = "urn:mint-openapi"
_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json\s*(?:;.*)?$", re.IGNORECASE)


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(spec(), default_specification=DRAFT202012)
    return Registry().with_resource(_SPEC_URI, resource)


@functools.cache
def _format_checker() -> Any:
    """Formats checked the same on every machine (jsonschema's own ``uri`` needs an extra
    package): ``uri`` is an absolute http(s) URL with a host."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())

    @checker.checks("uri", raises=(httpx.InvalidURL, UnicodeError, ValueError, TypeError))
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        url = httpx.URL(value)
        return url.scheme in ("http", "https") and bool(url.host)

    return checker


@functools.cache
def _validator(pointer: str, formats: bool) -> Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        {"$ref": f"{_SPEC_URI}#{pointer}"},
        registry=_registry(),
        format_checker=_format_checker() if formats else None,
    )


@functools.cache
def _fast_check(pointer: str) -> Callable[[Any], bool] | None:
    """``is_valid`` of a compiled validator for the schema at ``pointer`` (responses: formats
    unchecked), or None when ``jsonschema_rs`` is not there or cannot compile it."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a platform without its wheel
        return None
    try:
        registry = jsonschema_rs.Registry([(_SPEC_URI, spec())])
        validator = jsonschema_rs.Draft202012Validator(
            {"$ref": f"{_SPEC_URI}#{pointer}"}, registry=registry, validate_formats=False
        )
    except Exception:  # pragma: no cover - a schema it cannot compile: the slow path decides
        return None
    return cast("Callable[[Any], bool]", validator.is_valid)


def _fast_accepts(pointer: str, data: object) -> bool:
    check = _fast_check(pointer)
    if check is None:
        return False
    try:
        return check(data)
    except Exception:  # e.g. an integer too large for it: let jsonschema decide
        return False


def _pointer(node: Mapping[str, Any], path: str) -> str:
    ref = node.get("$ref")
    return ref[1:] if isinstance(ref, str) and ref.startswith("#") else path


@functools.cache
def _routes() -> tuple[tuple[str, re.Pattern[str], str, dict[str, Any]], ...]:
    """(method, path regex, JSON pointer of the operation, operation) for every route."""
    out = []
    for template, item in spec().get("paths", {}).items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        escaped = template.replace("~", "~0").replace("/", "~1")
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                pointer = f"/paths/{escaped}/{method}"
                out.append((method.upper(), re.compile(pattern + r"\Z"), pointer, operation))
    return tuple(out)


def _route(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    method = "GET" if method == "HEAD" else method
    for verb, pattern, pointer, operation in _routes():
        if verb == method and pattern.match(path):
            return pointer, operation
    return None


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node.get("$ref"), str):
        target: Any = spec()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def media_type_problem(response: httpx.Response) -> str | None:
    ctype = response.headers.get("content-type", "")
    if not _JSON_TYPE.match(ctype.strip()):
        return f"the media type is {ctype or 'missing'}, not JSON"
    return None


def response_problem(response: httpx.Response, data: object) -> str | None:
    """Why a decoded success body is not what the spec allows for its route, or None."""
    if too_deep(data):
        return f"the JSON nests deeper than {MAX_DEPTH} levels"
    request = response.request
    found = _route(request.method, request.url.path)
    if found is None:  # a route the spec does not have yet (mint.request): JSON is all we know
        return None
    pointer, operation = found
    status = str(response.status_code)
    documented = operation["responses"]
    if status not in documented:
        ok = sorted(s for s in documented if s.startswith("2"))
        return f"status {status} is not a documented success of this route ({', '.join(ok)})"
    content = _resolve(documented[status]).get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    if not media or "schema" not in media:
        return None
    schema_pointer = _pointer(media["schema"], f"{pointer}/responses/{status}/content")
    if _fast_accepts(schema_pointer, data):
        return None
    error = next(iter(_validator(schema_pointer, False).iter_errors(cast(Any, data))), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(the body)"
    return f"{where}: {_short(error.message)}"


def request_problem(method: str, path: str, body: object) -> str | None:
    """Why a JSON request body breaks its route's documented schema, or None (also for a route
    the spec does not have)."""
    found = _route(method.upper(), path)
    if found is None:
        return None
    pointer, operation = found
    request_body = operation.get("requestBody")
    if not request_body:
        return None
    media = (_resolve(request_body).get("content") or {}).get("application/json")
    if not media or "schema" not in media:
        return None
    schema_pointer = _pointer(
        media["schema"], f"{pointer}/requestBody/content/application~1json/schema"
    )
    error = next(iter(_validator(schema_pointer, True).iter_errors(cast(Any, body))), None)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "not":  # the schema's way of saying "not both"
        return f"{where + ': ' if where else ''}{_exclusive(error.validator_value)}"
    return f"{where + ': ' if where else ''}{_short(error.message)}"


def _exclusive(schema: object) -> str:
    names = schema.get("required") if isinstance(schema, dict) else None
    if isinstance(names, list):
        return f"{' and '.join(map(str, names))} may not be given together"
    return "the body matches a combination the API forbids"


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
