"""Check every API response of the fake against spec/mint.openapi.yaml.

``Contract`` is the ``on_response`` hook of :class:`mint_ext.testing.FakeMint`: for each
:class:`ApiExchange` it checks that the status code is documented for the route, that the media
type matches, that the JSON body validates against the documented schema (Draft 2020-12, refs
resolved through a ``referencing`` registry holding the whole spec), and that ``X-Request-Id``
and every ``required`` header (``Location`` on 202) are present. Responses shaped by an injected
fault and responses to undocumented routes (404/405) are counted but not checked.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mint_ext.testing import ApiExchange

SPEC_PATH = Path(__file__).resolve().parent.parent / "spec" / "mint.openapi.yaml"
SPEC_URI = "urn:mint-openapi"


@functools.cache
def load_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    spec = load_spec()
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_validator(schema: dict[str, Any]) -> tuple[Draft202012Validator, str]:
    """A validator for a response ``schema`` node of the spec (a ``$ref`` or inline)."""
    if "$ref" in schema and schema["$ref"].startswith("#"):
        return _validator(schema["$ref"][1:]), schema["$ref"]
    return Draft202012Validator(schema, registry=_registry()), "inline"


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _date_times(schema_path: str, data: Any, found: list[str], path: str = "") -> None:
    """Every *At field that is a string must be an RFC 3339 date-time (format checkers for
    date-time need an optional package; this keeps the check honest without it)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key.endswith("At") and isinstance(value, str) and not _DATE_TIME.match(value):
                found.append(f"{path}/{key}: {value!r} is not a date-time")
            _date_times(schema_path, value, found, f"{path}/{key}")
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _date_times(schema_path, item, found, f"{path}/{i}")


class Contract:
    """Collects spec violations of the responses it is shown (thread-safe)."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.checked = 0
        self.skipped = 0
        self._lock = threading.Lock()

    def __call__(self, exchange: ApiExchange) -> None:
        problems = self.check(exchange)
        with self._lock:
            if problems is None:
                self.skipped += 1
                return
            self.checked += 1
            self.violations += [
                f"{exchange.method} {exchange.path} -> {exchange.status}: {p}" for p in problems
            ]

    def check(self, exchange: ApiExchange) -> list[str] | None:
        """The violations of one exchange, or None when it is out of the contract's scope."""
        if exchange.fault is not None or exchange.route is None:
            return None
        method = "get" if exchange.method == "HEAD" else exchange.method.lower()
        operation = load_spec()["paths"][exchange.route][method]
        responses = operation["responses"]
        if str(exchange.status) not in responses:
            return [f"status {exchange.status} is not documented (documented: {sorted(responses)})"]
        response = _deref(responses[str(exchange.status)])
        problems: list[str] = []
        if "x-request-id" not in exchange.headers:
            problems.append("no X-Request-Id header")
        for name, header in response.get("headers", {}).items():
            header = _deref(header)
            value = exchange.headers.get(name.lower())
            if header.get("required") and value is None:
                problems.append(f"required header {name} missing")
            if name == "Location" and value is not None and not value.startswith(("/", "http")):
                problems.append(f"Location {value!r} is not a URI reference")
        content = response.get("content", {})
        if exchange.method == "HEAD":
            return problems
        if not content:
            return problems
        ctype = exchange.headers.get("content-type", "").split(";")[0].strip()
        if ctype not in content:
            return [*problems, f"content type {ctype!r} not in {sorted(content)}"]
        try:
            data = json.loads(exchange.body)
        except ValueError as exc:
            return [*problems, f"body is not JSON: {exc}"]
        validator, name = schema_validator(content[ctype]["schema"])
        for error in validator.iter_errors(data):
            problems.append(f"{name} at {error.json_path}: {error.message}")
        _date_times(name, data, problems)
        if ctype == "application/problem+json" and data.get("status") != exchange.status:
            problems.append("problem status differs from the HTTP status")
        return problems

    def assert_clean(self) -> None:
        assert not self.violations, "responses violating the spec:\n" + "\n".join(
            self.violations[:20]
        )
