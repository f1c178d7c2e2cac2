"""Stricter checks of the OpenAPI document than the validator makes; ``nox -s lint`` runs it.

    python tools/speclint.py [SPEC ...]        # default: spec/mint.openapi.yaml

Each problem is printed as ``FILE:LINE: #/json/pointer: message`` and makes the exit code 1:

- a keyword no schema vocabulary knows (JSON Schema 2020-12 plus OpenAPI's ``discriminator``,
  ``xml``, ``externalDocs``, ``example``; ``x-`` extensions are allowed). OpenAPI 3.0's
  ``nullable`` is one: an OpenAPI 3.1 document ignores it;
- a description cut short by YAML syntax: a comma inside a flow mapping
  (``{type: string, description: Big, small.}`` ends the description at the comma and makes a key
  ``small.`` with no value) or `` #`` in a plain scalar (the rest of the line is a comment);
- a ``$ref`` that resolves to nothing;
- an ``example`` (or an entry of ``examples``) that does not validate against its own schema
  (parameters, headers and media types are checked against their ``schema`` too). The formats the
  spec uses (``date-time``, ``uri``, ``uri-reference``) are checked by small checkers of our own,
  so the result does not depend on which optional format libraries are installed.

Needs PyYAML and jsonschema (both installed by the lint session).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "spec" / "mint.openapi.yaml"
BASE_URI = "urn:mint-speclint:spec"

_VOCABULARIES = {
    "core": "$schema $id $ref $anchor $dynamicRef $dynamicAnchor $vocabulary $comment $defs",
    "applicator": "allOf anyOf oneOf not if then else dependentSchemas prefixItems items contains "
    "properties patternProperties additionalProperties propertyNames",
    "unevaluated": "unevaluatedItems unevaluatedProperties",
    "validation": "type const enum multipleOf maximum exclusiveMaximum minimum exclusiveMinimum "
    "maxLength minLength pattern maxItems minItems uniqueItems maxContains minContains "
    "maxProperties minProperties required dependentRequired",
    "meta-data": "title description default deprecated readOnly writeOnly examples",
    "format and content": "format contentEncoding contentMediaType contentSchema",
    "OpenAPI 3.1 schema object": "discriminator xml externalDocs example",
}
SCHEMA_KEYWORDS = frozenset(word for words in _VOCABULARIES.values() for word in words.split())
# Keywords whose value is one schema, a list of schemas, or a name -> schema mapping.
ONE_SCHEMA = ("not", "if", "then", "else", "items", "contains", "propertyNames",
              "unevaluatedItems", "unevaluatedProperties", "additionalProperties",
              "contentSchema")  # fmt: skip
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339: a date, ``T``, a time and an offset (``Z`` or ``+hh:mm``)."""
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", value):
        return False
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # a real date and time
    return True


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    """An absolute URI: a scheme, then something, and no whitespace."""
    if not isinstance(value, str):
        return True
    parts = urllib.parse.urlsplit(value)
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme)) and bool(
        (parts.netloc or parts.path) and not re.search(r"\s", value)
    )


@FORMATS.checks("uri-reference")
def _uri_reference(value: object) -> bool:
    return not isinstance(value, str) or not re.search(r"\s", value)


@dataclass(frozen=True, order=True)
class Problem:
    """One finding: the line in the file, the JSON pointer of the place, and what is wrong."""

    line: int
    pointer: str
    message: str

    def render(self, file: str) -> str:
        return f"{file}:{self.line}: {self.pointer}: {self.message}"


def _escape(part: object) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _child(pointer: str, part: object) -> str:
    return f"{pointer}/{_escape(part)}"


class _Lines:
    """JSON pointer -> line number (1-based), from the composed YAML node tree."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.lines: dict[str, int] = {}
        if node is not None:
            self._walk(node, "#")

    def _walk(self, node: yaml.Node, pointer: str) -> None:
        self.lines[pointer] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = _child(pointer, key.value)
                self._walk(value, child)
                self.lines[child + "#key"] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                self._walk(value, _child(pointer, index))

    def __call__(self, pointer: str, key: bool = False) -> int:
        while pointer:
            if key and pointer + "#key" in self.lines:
                return self.lines[pointer + "#key"]
            if pointer in self.lines:
                return self.lines[pointer]
            pointer = pointer.rpartition("/")[0]
        return 1


def _cut_descriptions(node: yaml.Node | None, text: str) -> Iterator[Problem]:
    """Descriptions that YAML syntax ended early (a flow-mapping comma, a `` #`` comment)."""
    if node is None:
        return
    lines = text.splitlines()
    stack: list[tuple[yaml.Node, str]] = [(node, "#")]
    while stack:
        current, pointer = stack.pop()
        if isinstance(current, yaml.SequenceNode):
            stack.extend((v, _child(pointer, i)) for i, v in enumerate(current.value))
            continue
        if not isinstance(current, yaml.MappingNode):
            continue
        pairs = current.value
        for index, (key, value) in enumerate(pairs):
            here = _child(pointer, key.value)
            stack.append((value, here))
            if key.value != "description" or not isinstance(value, yaml.ScalarNode):
                continue
            if value.style is not None:  # quoted or block scalars cannot be cut this way
                continue
            line = value.end_mark.line
            rest = lines[line][value.end_mark.column :] if line < len(lines) else ""
            if re.match(r"\s+#", rest):
                yield Problem(
                    value.start_mark.line + 1,
                    here,
                    "description cut by a ` #` (YAML starts a comment there): quote the text",
                )
            if current.flow_style and index + 1 < len(pairs):
                nxt_key, nxt_value = pairs[index + 1]
                if _is_null(nxt_value) and isinstance(nxt_key, yaml.ScalarNode):
                    yield Problem(
                        value.start_mark.line + 1,
                        here,
                        f"description cut by a comma in a YAML flow mapping (the rest became "
                        f"the key {nxt_key.value!r} with no value): quote the text",
                    )


def _is_null(node: yaml.Node) -> bool:
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:null"
        and node.value in ("", "~", "null")
    )


def _resolve(doc: Any, ref: str) -> tuple[bool, Any]:
    if not ref.startswith("#"):
        return False, None
    node = doc
    for part in ref[2:].split("/") if ref not in ("#", "#/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


class _Linter:
    def __init__(self, doc: dict[str, Any], lines: _Lines) -> None:
        self.doc = doc
        self.line = lines
        self.problems: list[Problem] = []
        resource = referencing.Resource.from_contents(
            doc, default_specification=referencing.jsonschema.DRAFT202012
        )
        self.registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            BASE_URI, resource
        )

    def report(self, pointer: str, message: str, key: bool = False) -> None:
        self.problems.append(Problem(self.line(pointer, key), pointer, message))

    # ---------------------------------------------------------------- walking
    def run(self) -> list[Problem]:
        self.refs(self.doc, "#")
        comps = self.doc.get("components") or {}
        for name, schema in (comps.get("schemas") or {}).items():
            self.schema(schema, f"#/components/schemas/{_escape(name)}")
        for section in ("parameters", "headers"):
            for name, obj in (comps.get(section) or {}).items():
                self.holder(obj, f"#/components/{section}/{_escape(name)}")
        for name, resp in (comps.get("responses") or {}).items():
            self.response(resp, f"#/components/responses/{_escape(name)}")
        for name, body in (comps.get("requestBodies") or {}).items():
            self.content(body, f"#/components/requestBodies/{_escape(name)}")
        for path, item in (self.doc.get("paths") or {}).items():
            base = f"#/paths/{_escape(path)}"
            if not isinstance(item, dict):
                continue
            for i, param in enumerate(item.get("parameters") or []):
                self.holder(param, f"{base}/parameters/{i}")
            for method in METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                where = f"{base}/{method}"
                for i, param in enumerate(op.get("parameters") or []):
                    self.holder(param, f"{where}/parameters/{i}")
                if isinstance(op.get("requestBody"), dict):
                    self.content(op["requestBody"], f"{where}/requestBody")
                for status, resp in (op.get("responses") or {}).items():
                    self.response(resp, f"{where}/responses/{_escape(status)}")
        return self.problems

    def refs(self, node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not _resolve(self.doc, ref)[0]:
                self.report(_child(pointer, "$ref"), f"$ref {ref!r} resolves to nothing")
            for key, value in node.items():
                self.refs(value, _child(pointer, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self.refs(value, _child(pointer, index))

    def response(self, resp: Any, pointer: str) -> None:
        if not isinstance(resp, dict) or "$ref" in resp:
            return
        for name, header in (resp.get("headers") or {}).items():
            self.holder(header, f"{pointer}/headers/{_escape(name)}")
        self.content(resp, pointer)

    def content(self, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict):
            return
        for media, value in (obj.get("content") or {}).items():
            self.holder(value, f"{pointer}/content/{_escape(media)}")

    def holder(self, obj: Any, pointer: str) -> None:
        """A parameter, header or media type: its schema, and its example against that schema."""
        if not isinstance(obj, dict) or "$ref" in obj:
            return
        schema = obj.get("schema")
        if schema is None:
            return
        self.schema(schema, _child(pointer, "schema"))
        if "example" in obj:
            self.example(obj["example"], _child(pointer, "schema"), _child(pointer, "example"))
        for name, entry in (obj.get("examples") or {}).items():
            if isinstance(entry, dict) and "value" in entry:
                where = f"{pointer}/examples/{_escape(name)}/value"
                self.example(entry["value"], _child(pointer, "schema"), where)

    def schema(self, schema: Any, pointer: str) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, dict):
            self.report(pointer, f"a schema must be an object or a boolean, not {schema!r}")
            return
        for key, value in schema.items():
            key = str(key)
            if key in SCHEMA_KEYWORDS or key.startswith("x-"):
                continue
            hint = " (OpenAPI 3.0 only: write type: [..., 'null'])" if key == "nullable" else ""
            shown = f"{key!r} with no value" if value is None else repr(key)
            self.report(_child(pointer, key), f"unknown schema keyword {shown}{hint}", key=True)
        for key in ONE_SCHEMA:
            if isinstance(schema.get(key), dict):
                self.schema(schema[key], _child(pointer, key))
        for key in SCHEMA_LISTS:
            if isinstance(schema.get(key), list):
                for i, sub in enumerate(schema[key]):
                    self.schema(sub, f"{pointer}/{key}/{i}")
        for key in SCHEMA_MAPS:
            if isinstance(schema.get(key), dict):
                for name, sub in schema[key].items():
                    self.schema(sub, f"{pointer}/{key}/{_escape(name)}")
        if "example" in schema:
            self.example(schema["example"], pointer, _child(pointer, "example"))
        if isinstance(schema.get("examples"), list):
            for i, value in enumerate(schema["examples"]):
                self.example(value, pointer, f"{pointer}/examples/{i}")

    def example(self, value: Any, schema_pointer: str, pointer: str) -> None:
        wrapper = {"$ref": f"{BASE_URI}{schema_pointer}"}
        validator = jsonschema.Draft202012Validator(
            wrapper, registry=self.registry, format_checker=FORMATS
        )
        try:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        except referencing.exceptions.Unresolvable:
            return  # a $ref in the schema resolves to nothing: reported once, by refs()
        except jsonschema.exceptions.SchemaError as exc:
            self.report(pointer, f"example cannot be checked, its schema is invalid: {exc.message}")
            return
        for error in errors[:5]:
            at = "/".join(str(p) for p in error.absolute_path) or "(the example itself)"
            self.report(
                pointer, f"example does not validate against its schema at {at}: {error.message}"
            )


def lint_text(text: str) -> list[Problem]:
    """Every problem of one OpenAPI document given as YAML (or JSON) text."""
    try:
        node = yaml.compose(text)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [Problem((mark.line + 1) if mark else 1, "#", f"not valid YAML: {exc}")]
    if not isinstance(doc, dict):
        return [Problem(1, "#", "not an OpenAPI document (not a mapping)")]
    problems = _Linter(doc, _Lines(node)).run()
    problems += list(_cut_descriptions(node, text))
    return sorted(set(problems))


def lint(path: Path) -> list[Problem]:
    """Every problem of the OpenAPI document at ``path``."""
    return lint_text(Path(path).read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", type=Path, default=[DEFAULT_SPEC])
    args = parser.parse_args(argv)
    failed = False
    for path in args.specs:
        try:
            problems = lint(path)
        except OSError as exc:
            print(f"{path}: cannot read: {exc}", file=sys.stderr)
            failed = True
            continue
        full = path.resolve()
        shown = full.relative_to(ROOT) if full.is_relative_to(ROOT) else path
        for problem in problems:
            print(problem.render(str(shown)), file=sys.stderr)
        if problems:
            failed = True
            print(f"{shown}: {len(problems)} problem(s)", file=sys.stderr)
        else:
            print(f"{shown}: no problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
