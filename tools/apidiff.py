"""What changed in the API between two OpenAPI 3.1 documents, breaking changes marked.

    python tools/apidiff.py OLD.yaml NEW.yaml [--fail-on-breaking]

A small structural diff of the two documents with every ``$ref`` followed. It compares routes
(method and path, ``operationId``), parameters, request bodies, response statuses and headers, and
every schema reachable from them: properties, ``required``, types, enum values, formats and
constraints. A named schema (``#/components/schemas/X``) is compared once and reported under its
name (``Operation.progress``), however many routes use it; the routes that reach it decide whether
it is a request schema, a response schema or both.

Breaking (marked ``BREAKING``), for a client built from the old document:
- a removed route, parameter, property, schema, enum value or success response;
- a changed ``operationId`` (the generated function is renamed);
- a new required parameter or request property, an optional one that became required, a request
  body that became required;
- a narrowed type (a type removed from a property's union, a string that became an enum, a
  tightened request constraint, ``additionalProperties: false`` on a request);
- in a response: a widened type (e.g. a property that can now be null) or a property that is no
  longer required.

Open enums (``anyOf: [KnownEnum, {type: string}]``) need no special case: the enum's values are
compared under the enum's name, and dropping the ``string`` variant is a narrowed type.
Descriptions, summaries, examples and tags are not part of the API and are ignored.

Needs only the standard library and PyYAML.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REQUEST, RESPONSE = "request", "response"
SCHEMA_PREFIX = "#/components/schemas/"
# keyword -> True when a larger value is a tighter constraint (minimums), False for maximums.
CONSTRAINTS = {
    "minLength": True,
    "minimum": True,
    "exclusiveMinimum": True,
    "minItems": True,
    "minProperties": True,
    "maxLength": False,
    "maximum": False,
    "exclusiveMaximum": False,
    "maxItems": False,
    "maxProperties": False,
}


class SpecError(ValueError):
    """A document that cannot be compared (unreadable, not a mapping, a dangling ``$ref``)."""


@dataclass(frozen=True, order=True)
class Change:
    """One difference: ``kind`` is added, removed or changed; ``where`` names the place."""

    what: str
    where: str
    kind: str
    detail: str = ""
    breaking: bool = False

    def __str__(self) -> str:
        mark = "BREAKING " if self.breaking else "         "
        text = f"{mark}{self.kind:<8} {self.what} {self.where}"
        return f"{text}: {self.detail}" if self.detail else text


def load(path: Path) -> dict[str, Any]:
    """Read an OpenAPI document (YAML or JSON)."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise SpecError(f"{path} is not an OpenAPI document (not a mapping)")
    return doc


class _Doc:
    """One document, with ``$ref`` resolution and the direction each named schema is used in."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        schemas = (doc.get("components") or {}).get("schemas") or {}
        self.schemas: dict[str, Any] = schemas if isinstance(schemas, dict) else {}
        self.usage: dict[str, set[str]] = {}
        for route in self.routes().values():
            for param in route["parameters"].values():
                self._mark(param.get("schema"), REQUEST)
            body = route["body"]
            for media in (body or {}).get("content", {}).values():
                self._mark(self.deref(media)[0].get("schema"), REQUEST)
            for response in route["responses"].values():
                for media in (response.get("content") or {}).values():
                    self._mark(self.deref(media)[0].get("schema"), RESPONSE)
                for header in (response.get("headers") or {}).values():
                    self._mark(self.deref(header)[0].get("schema"), RESPONSE)

    def deref(self, node: Any) -> tuple[Any, str | None]:
        """Follow ``$ref`` chains; also return the schema name when one was crossed."""
        name = None
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise SpecError(f"$ref cycle at {ref}")
            seen.add(ref)
            if ref.startswith(SCHEMA_PREFIX) and name is None:
                name = ref.removeprefix(SCHEMA_PREFIX)
            node = self.pointer(ref)
        return node, name

    def pointer(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise SpecError(f"only local $refs are supported: {ref}")
        node: Any = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SpecError(f"$ref resolves to nothing: {ref}")
        return node

    def _mark(self, schema: Any, direction: str, seen: set[str] | None = None) -> None:
        seen = set() if seen is None else seen
        for name in _refs(schema):
            key = name.removeprefix(SCHEMA_PREFIX)
            if not name.startswith(SCHEMA_PREFIX) or key in seen:
                continue
            seen.add(key)
            self.usage.setdefault(key, set()).add(direction)
            self._mark(self.schemas.get(key), direction, seen)

    def routes(self) -> dict[str, dict[str, Any]]:
        """``"POST /v1/x"`` -> operation id, parameters by (in, name), body and responses."""
        out: dict[str, dict[str, Any]] = {}
        for path, item in (self.doc.get("paths") or {}).items():
            item = self.deref(item)[0] or {}
            shared = item.get("parameters") or []
            for method in METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                params: dict[str, Any] = {}
                for raw in [*shared, *(op.get("parameters") or [])]:
                    param = self.deref(raw)[0]
                    params[f"{param.get('in')} {param.get('name')}"] = param
                responses = {
                    str(status): self.deref(resp)[0] or {}
                    for status, resp in (op.get("responses") or {}).items()
                }
                out[f"{method.upper()} {path}"] = {
                    "operationId": op.get("operationId"),
                    "parameters": params,
                    "body": self.deref(op.get("requestBody"))[0],
                    "responses": responses,
                }
        return out


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _label(schema: Any) -> str:
    return "|".join(sorted(_types(schema))) or "any"


def _types(schema: Any) -> set[str]:
    """The type labels a schema admits: JSON types, schema names, ``const`` values."""
    if not isinstance(schema, dict):
        return {"any"} if schema is True or schema is None else set()
    if isinstance(schema.get("$ref"), str):
        return {schema["$ref"].rsplit("/", 1)[-1]}
    out: set[str] = set()
    if "const" in schema:
        out.add(f"const {schema['const']!r}")
    kind = schema.get("type")
    if isinstance(kind, str):
        out.add(kind)
    elif isinstance(kind, list):
        out.update(str(k) for k in kind)
    for key in ("anyOf", "oneOf"):
        for variant in schema.get(key) or []:
            out |= _types(variant)
    if not out and "enum" in schema:
        out.add("enum")
    if not out and schema.get("allOf"):
        out.add("allOf")
    return out or {"any"}


@dataclass
class _Differ:
    old: _Doc
    new: _Doc
    changes: list[Change] = field(default_factory=list)
    done: set[str] = field(default_factory=set)

    def add(
        self, kind: str, what: str, where: str, detail: str = "", breaking: bool = False
    ) -> None:
        self.changes.append(Change(what, where, kind, detail, breaking))

    def run(self) -> list[Change]:
        old_routes, new_routes = self.old.routes(), self.new.routes()
        for key in sorted(old_routes.keys() - new_routes.keys()):
            self.add("removed", "route", _route(key, old_routes[key]), breaking=True)
        for key in sorted(new_routes.keys() - old_routes.keys()):
            self.add("added", "route", _route(key, new_routes[key]))
        for key in sorted(old_routes.keys() & new_routes.keys()):
            self.route(key, old_routes[key], new_routes[key])
        old_names, new_names = set(self.old.schemas), set(self.new.schemas)
        for name in sorted(old_names - new_names):
            self.add("removed", "schema", name, breaking=True)
        for name in sorted(new_names - old_names):
            self.add("added", "schema", name)
        for name in sorted(old_names & new_names):
            self.named(name)
        return self.changes

    # ------------------------------------------------------------------ routes
    def route(self, key: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old["operationId"] != new["operationId"]:
            detail = f"{old['operationId']} -> {new['operationId']}"
            self.add("changed", "operationId of", key, detail, breaking=True)
        self.parameters(key, old["parameters"], new["parameters"])
        self.body(key, old["body"], new["body"])
        self.responses(key, old["responses"], new["responses"])

    def parameters(self, key: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for name in sorted(old.keys() - new.keys()):
            self.add("removed", "parameter", f"{key} {name}", breaking=True)
        for name in sorted(new.keys() - old.keys()):
            required = bool(new[name].get("required"))
            detail = f"{_label(new[name].get('schema'))}, {_req(required)}"
            self.add("added", "parameter", f"{key} {name}", detail, breaking=required)
        for name in sorted(old.keys() & new.keys()):
            where = f"{key} {name}"
            was, now = bool(old[name].get("required")), bool(new[name].get("required"))
            if was != now:
                self.add("changed", "parameter", where, f"{_req(was)} -> {_req(now)}", now)
            self.schema(old[name].get("schema"), new[name].get("schema"), where, {REQUEST})

    def body(self, key: str, old: Any, new: Any) -> None:
        where = f"{key} request body"
        if old is None and new is None:
            return
        if old is None or new is None:
            gone = new is None
            required = bool((new or {}).get("required"))
            self.add("removed" if gone else "added", "request body of", key, "", gone or required)
            return
        was, now = bool(old.get("required")), bool(new.get("required"))
        if was != now:
            self.add("changed", "request body of", key, f"{_req(was)} -> {_req(now)}", now)
        self.content(where, old.get("content") or {}, new.get("content") or {}, REQUEST)

    def responses(self, key: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for status in sorted(old.keys() - new.keys()):
            success = status.startswith("2") or status == "default"
            self.add("removed", "response", f"{key} {status}", breaking=success)
        for status in sorted(new.keys() - old.keys()):
            self.add("added", "response", f"{key} {status}")
        for status in sorted(old.keys() & new.keys()):
            where = f"{key} response {status}"
            old_h = old[status].get("headers") or {}
            new_h = new[status].get("headers") or {}
            for name in sorted(old_h.keys() - new_h.keys()):
                self.add("removed", "header", f"{where} {name}", breaking=True)
            for name in sorted(new_h.keys() - old_h.keys()):
                self.add("added", "header", f"{where} {name}")
            for name in sorted(old_h.keys() & new_h.keys()):
                old_s = self.old.deref(old_h[name])[0].get("schema")
                new_s = self.new.deref(new_h[name])[0].get("schema")
                self.schema(old_s, new_s, f"{where} header {name}", {RESPONSE})
            old_c, new_c = old[status].get("content") or {}, new[status].get("content") or {}
            self.content(where, old_c, new_c, RESPONSE)

    def content(self, where: str, old: dict[str, Any], new: dict[str, Any], direction: str) -> None:
        for media in sorted(old.keys() - new.keys()):
            self.add("removed", "media type", f"{where} {media}", breaking=True)
        for media in sorted(new.keys() - old.keys()):
            self.add("added", "media type", f"{where} {media}", breaking=direction == REQUEST)
        for media in sorted(old.keys() & new.keys()):
            old_s = self.old.deref(old[media])[0].get("schema")
            new_s = self.new.deref(new[media])[0].get("schema")
            self.schema(old_s, new_s, where, {direction})

    # ----------------------------------------------------------------- schemas
    def named(self, name: str) -> None:
        if name in self.done:
            return
        self.done.add(name)
        dirs = self.old.usage.get(name, set()) | self.new.usage.get(name, set())
        self.compare(
            self.old.schemas[name], self.new.schemas[name], name, dirs or {REQUEST, RESPONSE}
        )

    def schema(self, old: Any, new: Any, where: str, dirs: set[str]) -> None:
        """Compare two schemas found at ``where``; named ones are compared under their name."""
        old_node, old_name = self.old.deref(old)
        new_node, new_name = self.new.deref(new)
        if old_name is not None and old_name == new_name:
            if old_name in self.old.schemas and old_name in self.new.schemas:
                self.named(old_name)
            return
        if old_name != new_name:
            # One named schema replaced by another (or by an inline one): a different model class.
            self.typechange(where, old, new, dirs)
            return
        self.compare(old_node, new_node, where, dirs)

    def typechange(self, where: str, old: Any, new: Any, dirs: set[str]) -> bool:
        was, now = _types(old), _types(new)
        if was == now:
            return False
        narrowed, widened = bool(was - now), bool(now - was)
        breaking = narrowed or (widened and RESPONSE in dirs)
        detail = f"{_label(old)} -> {_label(new)}"
        what = (
            "type of"
            if narrowed == widened
            else ("narrowed type of" if narrowed else "widened type of")
        )
        self.add("changed", what, where, detail, breaking)
        return True

    def compare(self, old: Any, new: Any, where: str, dirs: set[str]) -> None:
        if not isinstance(old, dict) or not isinstance(new, dict):
            if old != new:
                self.add("changed", "schema", where, f"{old!r} -> {new!r}", breaking=True)
            return
        self.typechange(where, old, new, dirs)
        self.enum(old, new, where, dirs)
        self.keywords(old, new, where, dirs)
        self.properties(old, new, where, dirs)
        if "items" in old and "items" in new:
            self.schema(old["items"], new["items"], f"{where}[]", dirs)
        self.additional(old, new, where, dirs)
        for key in ("anyOf", "oneOf"):
            self.variants(old.get(key) or [], new.get(key) or [], where, dirs)
        old_all, new_all = old.get("allOf") or [], new.get("allOf") or []
        if len(old_all) == len(new_all):
            for a, b in zip(old_all, new_all, strict=True):
                self.schema(a, b, where, dirs)
        else:
            self.add("changed", "allOf of", where, f"{len(old_all)} -> {len(new_all)} parts", True)

    def enum(self, old: dict[str, Any], new: dict[str, Any], where: str, dirs: set[str]) -> None:
        if "enum" not in old and "enum" not in new:
            return
        if "enum" not in old:
            self.add("changed", "narrowed type of", where, "now an enum", REQUEST in dirs)
            return
        if "enum" not in new:
            self.add("changed", "widened type of", where, "no longer an enum", RESPONSE in dirs)
            return
        was, now = list(old["enum"] or []), list(new["enum"] or [])
        for value in was:
            if value not in now:
                self.add("removed", "enum value", f"{where}.{value}", breaking=True)
        for value in now:
            if value not in was:
                self.add("added", "enum value", f"{where}.{value}")

    def keywords(
        self, old: dict[str, Any], new: dict[str, Any], where: str, dirs: set[str]
    ) -> None:
        if old.get("format") != new.get("format"):
            detail = f"format {old.get('format')} -> {new.get('format')}"
            self.add("changed", "format of", where, detail, REQUEST in dirs and "format" in new)
        for key, larger_is_tighter in CONSTRAINTS.items():
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            tighter = _tighter(a, b, larger_is_tighter)
            self.add("changed", f"{key} of", where, f"{a} -> {b}", tighter and REQUEST in dirs)
        for key in ("pattern", "const"):
            if old.get(key) != new.get(key):
                detail = f"{key} {old.get(key)!r} -> {new.get(key)!r}"
                self.add("changed", f"{key} of", where, detail, key in new)

    def properties(
        self, old: dict[str, Any], new: dict[str, Any], where: str, dirs: set[str]
    ) -> None:
        old_p, new_p = old.get("properties") or {}, new.get("properties") or {}
        old_r, new_r = set(old.get("required") or []), set(new.get("required") or [])
        for name in sorted(old_p.keys() - new_p.keys()):
            self.add("removed", "property", f"{where}.{name}", breaking=True)
        for name in sorted(new_p.keys() - old_p.keys()):
            required = name in new_r
            detail = f"{_label(new_p[name])}, {_req(required)}"
            breaking = required and REQUEST in dirs
            self.add("added", "property", f"{where}.{name}", detail, breaking)
        for name in sorted(old_p.keys() & new_p.keys()):
            path = f"{where}.{name}"
            was, now = name in old_r, name in new_r
            if was != now:
                breaking = (now and REQUEST in dirs) or (was and RESPONSE in dirs)
                self.add("changed", "property", path, f"{_req(was)} -> {_req(now)}", breaking)
            self.schema(old_p[name], new_p[name], path, dirs)

    def additional(
        self, old: dict[str, Any], new: dict[str, Any], where: str, dirs: set[str]
    ) -> None:
        a, b = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if isinstance(a, dict) and isinstance(b, dict):
            self.schema(a, b, f"{where}{{}}", dirs)
        elif a != b:
            closed = b is False
            detail = f"additionalProperties {_short(a)} -> {_short(b)}"
            self.add(
                "changed", "additionalProperties of", where, detail, closed and REQUEST in dirs
            )

    def variants(self, old: list[Any], new: list[Any], where: str, dirs: set[str]) -> None:
        """Pair the variants of a union by type label (added/removed ones are type changes)."""
        old_by = {_label(v): v for v in old}
        new_by = {_label(v): v for v in new}
        for label in sorted(old_by.keys() & new_by.keys()):
            self.schema(old_by[label], new_by[label], where, dirs)


def _tighter(old: Any, new: Any, larger_is_tighter: bool) -> bool:
    """Whether a constraint changed from ``old`` to ``new`` (None: absent) admits fewer values."""
    if old is None or new is None:
        return old is None
    return bool(new > old) if larger_is_tighter else bool(new < old)


def _route(key: str, route: dict[str, Any]) -> str:
    return f"{key} ({route['operationId']})" if route.get("operationId") else key


def _req(required: bool) -> str:
    return "required" if required else "optional"


def _short(value: Any) -> str:
    return "schema" if isinstance(value, dict) else str(value).lower()


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every API difference from ``old`` to ``new`` (two parsed OpenAPI documents).

    Raises:
        SpecError: a ``$ref`` resolves to nothing, or a part of a document has the wrong shape
            (run ``openapi-spec-validator`` on it).
    """
    try:
        found = _Differ(_Doc(old), _Doc(new)).run()
    except (AttributeError, TypeError) as exc:  # e.g. a list where the spec needs a mapping
        raise SpecError(f"not a valid OpenAPI document ({type(exc).__name__}: {exc})") from exc
    return sorted(set(found), key=lambda c: (not c.breaking, c.where, c.what, c.kind, c.detail))


def report(changes: Iterable[Change], old_name: str, new_name: str) -> str:
    """The text ``nox -s generate`` and ``nox -s api_diff`` print."""
    changes = list(changes)
    if not changes:
        return f"API diff {old_name} -> {new_name}: no API changes"
    breaking = sum(c.breaking for c in changes)
    head = f"API diff {old_name} -> {new_name}: {len(changes)} change(s), {breaking} breaking"
    return "\n".join([head, *(f"  {c}" for c in changes)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the older OpenAPI document")
    parser.add_argument("new", type=Path, help="the newer OpenAPI document")
    parser.add_argument(
        "--fail-on-breaking", action="store_true", help="exit 1 when a change is breaking"
    )
    args = parser.parse_args(argv)
    try:
        changes = diff(load(args.old), load(args.new))
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(changes, str(args.old), str(args.new)))
    return 1 if args.fail_on_breaking and any(c.breaking for c in changes) else 0


if __name__ == "__main__":
    sys.exit(main())
