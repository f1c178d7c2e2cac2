"""Does ``mint_ext`` expose the whole API? Every route and every response property, or a waiver.

The check (``coverage_problems``) reads the spec, lists every route (operationId) and every
property of every schema a response can contain, and names each one that ``mint_ext`` neither
exposes nor waives in ``tests/coverage_waivers.toml`` (its header says what counts as exposed).
The last test proves the promise of issue 19 end to end: in a temporary folder, a spec with a new
``Operation.progress`` property and a new ``cancelOperation`` route is generated; ``progress`` is
then a typed attribute of ``mint_ext.Operation`` with nothing else written, and the check names
the route, not the property.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "spec" / "mint.openapi.yaml"
WAIVERS_PATH = Path(__file__).with_name("coverage_waivers.toml")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load_spec() -> dict[str, Any]:
    return typing.cast(dict[str, Any], yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


def load_waivers() -> dict[str, Any]:
    return tomllib.loads(WAIVERS_PATH.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------- what the spec has


def routes(spec: Mapping[str, Any]) -> dict[str, str]:
    """operationId -> ``METHOD /path``."""
    out: dict[str, str] = {}
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, Mapping):
                out[str(op.get("operationId") or f"{method} {path}")] = f"{method.upper()} {path}"
    return out


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _schema_refs(node: object) -> Iterator[str]:
    """Names of the component schemas a schema (or any JSON below it) refers to."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield _ref_name(ref)
        for value in node.values():
            yield from _schema_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_refs(value)


def response_schemas(spec: Mapping[str, Any]) -> list[str]:
    """Every component schema a response body can contain, nested ones included, sorted."""
    components = spec.get("components", {})
    shared = components.get("responses", {})
    schemas = components.get("schemas", {})
    todo: list[str] = []
    for item in spec.get("paths", {}).values():
        for method in HTTP_METHODS:
            for response in (item.get(method) or {}).get("responses", {}).values():
                if "$ref" in response:
                    response = shared.get(_ref_name(response["$ref"]), {})
                todo.extend(_schema_refs(response.get("content", {})))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo.extend(_schema_refs(schemas[name]))
    return sorted(seen)


def response_properties(spec: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """``Schema.property`` (JSON names) -> (schema, property), for every response schema."""
    schemas = spec["components"]["schemas"]
    return {
        f"{name}.{prop}": (name, prop)
        for name in response_schemas(spec)
        for prop in schemas[name].get("properties", {})
    }


# ------------------------------------------------------------------------- what mint_ext has


def python_name(prop: str) -> str:
    """The attribute the generator makes of a property (its own naming function)."""
    from openapi_python_client.strings import PythonIdentifier

    return str(PythonIdentifier(prop, prefix="field_"))


def class_name(schema: str) -> str:
    from openapi_python_client.strings import pascal_case

    return pascal_case(schema)


def _nested_models(tp: Any) -> Iterator[type]:
    from mint_ext._models import generated_model_of

    if isinstance(tp, type) and generated_model_of(tp) is tp:
        yield tp
    for arg in typing.get_args(tp):
        yield from _nested_models(arg)


@functools.cache
def reachable_generated() -> frozenset[type]:
    """Generated classes users meet as values of public models' attributes, at any depth."""
    import mint_ext
    from mint_ext._models import _field_types, generated_model_of

    todo = [generated_model_of(getattr(mint_ext, n)) for n in mint_ext.__all__]
    seen: set[type] = set()
    while todo:
        cls = todo.pop()
        if cls is None or cls in seen:
            continue
        seen.add(cls)
        for tp in _field_types(cls).values():
            todo.extend(_nested_models(tp))
    return frozenset(seen)


def public_class_for(schema: str, models_map: Mapping[str, str]) -> type | None:
    """The class whose instances users get for ``schema``, or None (not exposed)."""
    import mint_client.models
    import mint_ext
    from mint_ext._models import public_model_of

    if schema in models_map:
        return typing.cast(type, getattr(mint_ext, models_map[schema]))
    generated = getattr(mint_client.models, class_name(schema), None)
    if generated is None:
        return None
    public = public_model_of(generated)
    if public is not None:
        return public
    return generated if generated in reachable_generated() else None


def property_problem(schema: str, prop: str, models_map: Mapping[str, str]) -> str | None:
    """Why ``schema.prop`` is not exposed, or None if it is."""
    from mint_ext._models import generated_model_of

    cls = public_class_for(schema, models_map)
    if cls is None:
        return f"no public model exposes schema {schema}"
    attr = python_name(prop)
    if not hasattr(cls, attr):
        return f"{cls.__name__} has no attribute {attr}"
    generated = generated_model_of(cls)
    if generated is not None and generated is not cls:
        # A name mint_ext defines over a generated field (a property, say) would hide it.
        for klass in cls.__mro__[: cls.__mro__.index(generated)]:
            if attr in vars(klass):
                return f"{klass.__name__}.{attr} hides the generated field"
    return None


def route_problem(path: str, clients: Sequence[object]) -> str | None:
    for client in clients:
        try:
            method = functools.reduce(getattr, path.split("."), client)
        except AttributeError:
            return f"{type(client).__name__} has no {path}"
        if not callable(method):
            return f"{type(client).__name__}.{path} is not a method"
    return None


def coverage_problems(
    spec: Mapping[str, Any], waivers: Mapping[str, Any], clients: Sequence[object]
) -> list[str]:
    """One line per route or property neither exposed nor waived, and per stale waiver entry."""
    route_map: dict[str, str] = dict(waivers.get("routes", {}))
    models_map: dict[str, str] = dict(waivers.get("models", {}))
    waived: dict[str, str] = dict(waivers.get("waived", {}))
    problems: list[str] = []
    spec_routes = routes(spec)
    props = response_properties(spec)
    for op_id, where in spec_routes.items():
        why = route_problem(route_map[op_id], clients) if op_id in route_map else "not mapped"
        if why and op_id not in waived:
            problems.append(f"route {op_id} ({where}): {why}; add a method and map it in "
                            f"[routes] of {WAIVERS_PATH.name}, or waive it there")  # fmt: skip
        elif not why and op_id in waived:
            problems.append(f"route {op_id} is exposed as {route_map[op_id]}: drop its waiver")
    for key, (schema, prop) in props.items():
        why = property_problem(schema, prop, models_map)
        if why and key not in waived:
            problems.append(f"property {key}: {why}; waive it in {WAIVERS_PATH.name} if intended")
        elif not why and key in waived:
            problems.append(f"property {key} is exposed: drop its waiver")
    for key in sorted(set(route_map) - set(spec_routes)):
        problems.append(f"[routes] {key}: no such route in the spec")
    for key in sorted(set(models_map) - set(spec["components"]["schemas"])):
        problems.append(f"[models] {key}: no such schema in the spec")
    for key in sorted(set(waived) - set(spec_routes) - set(props)):
        problems.append(f"[waived] {key}: no such route or response property in the spec")
    return problems


@pytest.fixture(scope="module")
def clients() -> Iterator[list[object]]:
    from mint_ext import AsyncMint, Mint

    sync = Mint(api_key="k", base_url="http://127.0.0.1:9")
    async_ = AsyncMint(api_key="k", base_url="http://127.0.0.1:9")
    yield [sync, async_]
    sync.close()
    asyncio.run(async_.aclose())


# ------------------------------------------------------------------------------------ tests


def test_every_route_and_response_property_is_exposed_or_waived(clients: list[object]) -> None:
    problems = coverage_problems(load_spec(), load_waivers(), clients)
    assert not problems, "\n".join(problems)


def test_the_lists_are_the_whole_api() -> None:
    """Guards the check itself: it sees every route and the nested and error schemas too."""
    spec = load_spec()
    assert len(routes(spec)) == 13 and "getOperation" in routes(spec)
    schemas = response_schemas(spec)
    for nested in ("SpzUrls", "OperationCredits", "ModelBounds", "MeOwner", "ProblemFieldError"):
        assert nested in schemas
    assert "GenerateWorldRequest" not in schemas  # request bodies are not responses
    props = response_properties(spec)
    assert {"Operation.status", "WorldAssets.spzUrls", "Usage.credits"} <= set(props)


def test_generator_naming_matches_the_generated_models() -> None:
    """``python_name`` is the generator's rule: every property is a field of its generated class."""
    import attrs

    import mint_client.models

    spec = load_spec()
    for key, (schema, prop) in response_properties(spec).items():
        fields = attrs.fields_dict(getattr(mint_client.models, class_name(schema)))
        assert python_name(prop) in fields, key
    assert python_name("type") == "type_" and python_name("credits") == "credits_"


def test_a_new_route_without_a_method_is_named(clients: list[object]) -> None:
    spec = copy.deepcopy(load_spec())
    approve = spec["paths"]["/v1/operations/{operationId}:approve"]["post"]
    spec["paths"]["/v1/operations/{operationId}:cancel"] = {
        "post": approve | {"operationId": "cancelOperation"}
    }
    problems = coverage_problems(spec, load_waivers(), clients)
    assert len(problems) == 1 and problems[0].startswith(
        "route cancelOperation (POST /v1/operations/{operationId}:cancel): not mapped"
    )
    waivers = load_waivers()
    waivers["routes"]["cancelOperation"] = "operations.cancel"  # mapped, but no such method
    assert coverage_problems(spec, waivers, clients) == [
        "route cancelOperation (POST /v1/operations/{operationId}:cancel): Mint has no "
        f"operations.cancel; add a method and map it in [routes] of {WAIVERS_PATH.name}, "
        "or waive it there"
    ]
    waivers["waived"]["cancelOperation"] = "not in the real API yet"
    assert coverage_problems(spec, waivers, clients) == []


def test_unexposed_properties_and_stale_entries_are_named(clients: list[object]) -> None:
    spec = load_spec()
    waivers = load_waivers()
    del waivers["waived"]["Problem.instance"]
    waivers["waived"]["Operation.status"] = "says nothing"
    waivers["waived"]["Operation.gone"] = "stale"
    waivers["routes"]["cancelOperation"] = "operations.cancel"
    waivers["models"]["Gone"] = "Page"
    problems = coverage_problems(spec, waivers, clients)
    assert problems == [
        "property Operation.status is exposed: drop its waiver",
        "property Problem.instance: no public model exposes schema Problem; "
        f"waive it in {WAIVERS_PATH.name} if intended",
        "[routes] cancelOperation: no such route in the spec",
        "[models] Gone: no such schema in the spec",
        "[waived] Operation.gone: no such route or response property in the spec",
    ]


def test_a_field_hidden_by_a_public_name_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from mint_ext import Operation

    monkeypatch.setattr(Operation, "prompt", property(lambda self: "x"), raising=False)
    assert (
        property_problem("Operation", "prompt", {}) == "Operation.prompt hides the generated field"
    )
    assert property_problem("Operation", "status", {}) is None


def test_nested_generated_models_count_as_exposed() -> None:
    import mint_client.models

    assert public_class_for("OperationCredits", {}) is mint_client.models.OperationCredits
    assert property_problem("OperationCredits", "availableAfterReservation", {}) is None
    assert public_class_for("Problem", {}) is None


# -------------------------------------------------------- end to end: a spec change, generated


CANCEL_ROUTE = {
    "post": {
        "tags": ["generation"],
        "operationId": "cancelOperation",
        "summary": "Cancel an operation",
        "parameters": [
            {"$ref": "#/components/parameters/OperationId"},
            {"$ref": "#/components/parameters/IdempotencyKey"},
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EmptyRequest"}}
            },
        },
        "responses": {"202": {"$ref": "#/components/responses/OperationAccepted"}},
    }
}

CHILD = """
import json, sys
from pathlib import Path

import mint_client
from mint_ext import AsyncMint, Mint, Operation
from tests import test_coverage as tc

spec = tc.yaml.safe_load(Path(sys.argv[1]).read_text())
example = spec["components"]["schemas"]["Operation"]["example"]
op = Operation.from_dict(example | {"progress": 0.5})
mint = Mint(api_key="k", base_url="http://127.0.0.1:9")
print(json.dumps({
    "generated_from": mint_client.__file__,
    "progress": op.progress,
    "round_trip": Operation.from_dict(op.to_dict()) == op,
    "problems": tc.coverage_problems(spec, tc.load_waivers(), [mint, AsyncMint(api_key="k")]),
}))
"""

TYPED = """
from mint_ext import Operation

def progress(op: Operation) -> None:
    reveal_type(op.progress)
"""


def test_a_spec_change_reaches_users_after_generate_alone(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import mintgen
    finally:
        sys.path.remove(str(ROOT / "tools"))
    spec = load_spec()
    spec["components"]["schemas"]["Operation"]["properties"]["progress"] = {
        "type": ["number", "null"],
        "description": "Fraction done, 0 to 1.",
    }
    spec["paths"]["/v1/operations/{operationId}:cancel"] = CANCEL_ROUTE
    changed = tmp_path / "mint.openapi.yaml"
    changed.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    site = tmp_path / "site"
    mintgen.generate_into(site / "mint_client", spec=changed)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(changed)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert Path(out["generated_from"]).is_relative_to(site)  # the regenerated client was used
    assert out["progress"] == 0.5 and out["round_trip"] is True
    assert [p.split(":")[0] for p in out["problems"]] == [
        "route cancelOperation (POST /v1/operations/{operationId}"
    ]
    (tmp_path / "typed.py").write_text(textwrap.dedent(TYPED), encoding="utf-8")
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         "typed.py"],
        cwd=tmp_path, env=env | {"MYPYPATH": str(site)}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    revealed = re.search(r'Revealed type is "(.*)"', mypy.stdout)
    assert revealed, mypy.stdout + mypy.stderr
    names = {n.removeprefix("builtins.") for n in re.findall(r"[\w.]+", revealed.group(1))}
    assert names - {"Union"} == {"float", "None", "mint_client.types.Unset"}, revealed.group(1)
