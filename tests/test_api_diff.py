"""tools/apidiff.py: the structural API diff that `nox -s generate` and `nox -s api_diff` print."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import apidiff  # noqa: E402

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "spec" / "mint.openapi.yaml").read_text())


def _spec() -> dict[str, Any]:
    return copy.deepcopy(SPEC)


def _lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [" ".join(str(c).split()) for c in apidiff.diff(old, new)]


def _schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = doc["components"]["schemas"][name]
    return schema


CANCEL_ROUTE = {
    "post": {
        "operationId": "cancelOperation",
        "tags": ["Generation"],
        "security": [{"bearerApiKey": []}],
        "parameters": [
            {"$ref": "#/components/parameters/OperationId"},
            {"$ref": "#/components/parameters/IdempotencyKey"},
        ],
        "responses": {"202": {"$ref": "#/components/responses/OperationAccepted"}},
    }
}


def test_identical_documents_have_no_changes() -> None:
    assert apidiff.diff(_spec(), _spec()) == []
    assert "no API changes" in apidiff.report([], "a", "b")


def test_added_route_and_optional_response_property_are_not_breaking() -> None:
    new = _spec()
    new["paths"]["/v1/operations/{operationId}:cancel"] = CANCEL_ROUTE
    _schema(new, "Operation")["properties"]["progress"] = {"type": "number"}
    assert _lines(_spec(), new) == [
        "added property Operation.progress: number, optional",
        "added route POST /v1/operations/{operationId}:cancel (cancelOperation)",
    ]


def test_a_named_schema_is_reported_once_however_many_routes_use_it() -> None:
    new = _spec()
    del _schema(new, "Operation")["properties"]["credits"]
    changes = apidiff.diff(_spec(), new)
    assert [str(c).split() for c in changes] == [
        ["BREAKING", "removed", "property", "Operation.credits"]
    ]


def test_removed_route_property_and_enum_value_are_breaking() -> None:
    new = _spec()
    del new["paths"]["/v1/usage"]
    del _schema(new, "WorldAssets")["properties"]["radUrl"]
    _schema(new, "OperationStatus")["enum"].remove("billing_required")
    _schema(new, "OperationStatus")["enum"].append("paused")
    assert _lines(_spec(), new) == [
        "BREAKING removed route GET /v1/usage (getUsage)",
        "BREAKING removed enum value OperationStatus.billing_required",
        "BREAKING removed property WorldAssets.radUrl",
        "added enum value OperationStatus.paused",
    ]


def test_new_required_request_property_is_breaking_a_new_required_response_one_is_not() -> None:
    new = _spec()
    revise = _schema(new, "ReviseOperationRequest")
    revise["properties"]["reason"] = {"type": "string"}
    revise["required"].append("reason")
    op = _schema(new, "Operation")
    op["properties"]["region"] = {"type": "string"}
    op["required"].append("region")
    assert _lines(_spec(), new) == [
        "BREAKING added property ReviseOperationRequest.reason: string, required",
        "added property Operation.region: string, required",
    ]


def test_optional_request_property_that_becomes_required_is_breaking() -> None:
    new = _spec()
    _schema(new, "GenerateWorldRequest")["required"].append("displayName")
    assert _lines(_spec(), new) == [
        "BREAKING changed property GenerateWorldRequest.displayName: optional -> required"
    ]


def test_response_property_no_longer_required_is_breaking() -> None:
    new = _spec()
    _schema(new, "Operation")["required"].remove("mintUrl")
    assert _lines(_spec(), new) == [
        "BREAKING changed property Operation.mintUrl: required -> optional"
    ]


def test_narrowed_types_are_breaking_widened_response_types_too() -> None:
    new = _spec()
    # The open enum `anyOf: [OperationStatus, string]` loses its string variant: narrowed.
    _schema(new, "Operation")["properties"]["status"] = {
        "$ref": "#/components/schemas/OperationStatus"
    }
    # A response property that may now be null: widened, which breaks code that relied on it.
    _schema(new, "OperationError")["properties"]["message"] = {"type": ["string", "null"]}
    # A request property widened: fine for clients.
    _schema(new, "ReviseOperationRequest")["properties"]["feedback"]["type"] = ["string", "null"]
    assert _lines(_spec(), new) == [
        "BREAKING changed narrowed type of Operation.status: OperationStatus|string -> OperationStatus",
        "BREAKING changed widened type of OperationError.message: string -> null|string",
        "changed widened type of ReviseOperationRequest.feedback: string -> null|string",
    ]


def test_request_constraints_tightened_are_breaking_loosened_are_not() -> None:
    new = _spec()
    _schema(new, "ReviseOperationRequest")["properties"]["feedback"]["maxLength"] = 500
    _schema(new, "GenerateWorldRequest")["properties"]["prompt"]["maxLength"] = 8000
    assert _lines(_spec(), new) == [
        "BREAKING changed maxLength of ReviseOperationRequest.feedback: 2000 -> 500",
        "changed maxLength of GenerateWorldRequest.prompt: 4000 -> 8000",
    ]


def test_parameters_and_operation_ids() -> None:
    new = _spec()
    listing = new["paths"]["/v1/worlds"]["get"]
    listing["parameters"].append(
        {"name": "tag", "in": "query", "required": True, "schema": {"type": "string"}}
    )
    listing["parameters"].append({"name": "q", "in": "query", "schema": {"type": "string"}})
    listing["operationId"] = "listAllWorlds"
    del new["paths"]["/v1/models"]["get"]["parameters"][1]  # cursor
    new["components"]["parameters"]["Limit"]["schema"]["maximum"] = 50
    assert _lines(_spec(), new) == [
        # A lower maximum on a request parameter is a tightened constraint.
        "BREAKING removed parameter GET /v1/models query cursor",
        "BREAKING changed maximum of GET /v1/models query limit: 100 -> 50",
        "BREAKING changed operationId of GET /v1/worlds: listWorlds -> listAllWorlds",
        "BREAKING changed maximum of GET /v1/worlds query limit: 100 -> 50",
        "BREAKING added parameter GET /v1/worlds query tag: string, required",
        "added parameter GET /v1/worlds query q: string, optional",
    ]


def test_responses_media_types_and_headers() -> None:
    new = _spec()
    me = new["paths"]["/v1/me"]["get"]["responses"]
    del me["403"]
    me["200"] = copy.deepcopy(me["200"])
    del me["200"]["headers"]["X-Request-Id"]
    new["paths"]["/v1/usage"]["get"]["responses"]["418"] = {"description": "teapot"}
    assert _lines(_spec(), new) == [
        "BREAKING removed header GET /v1/me response 200 X-Request-Id",
        "removed response GET /v1/me 403",
        "added response GET /v1/usage 418",
    ]


def test_schema_renamed_is_a_different_model_class() -> None:
    new = _spec()
    schemas = new["components"]["schemas"]
    schemas["OperationFailure"] = schemas.pop("OperationError")
    error = _schema(new, "Operation")["properties"]["error"]["anyOf"][0]
    error["$ref"] = "#/components/schemas/OperationFailure"
    assert _lines(_spec(), new) == [
        "BREAKING changed type of Operation.error: OperationError|null -> OperationFailure|null",
        "BREAKING removed schema OperationError",
        "added schema OperationFailure",
    ]


def test_request_body_changes() -> None:
    new = _spec()
    optimize = new["paths"]["/v1/models/{modelId}:optimize"]["post"]
    optimize["requestBody"]["required"] = True
    del new["paths"]["/v1/operations/{operationId}:approve"]["post"]["requestBody"]
    assert _lines(_spec(), new) == [
        "BREAKING changed request body of POST /v1/models/{modelId}:optimize: optional -> required",
        "BREAKING removed request body of POST /v1/operations/{operationId}:approve",
    ]


def test_dangling_ref_is_a_spec_error() -> None:
    new = _spec()
    _schema(new, "Operation")["properties"]["error"] = {"$ref": "#/components/schemas/Nope"}
    with pytest.raises(apidiff.SpecError, match="resolves to nothing"):
        apidiff.diff(_spec(), new)


def _wrong_shapes() -> list[dict[str, Any]]:
    paths = _spec()
    paths["paths"] = ["not", "a", "mapping"]
    content = _spec()
    content["paths"]["/v1/me"]["get"]["responses"]["200"]["content"] = ["application/json"]
    props = _spec()
    _schema(props, "Operation")["properties"] = ["id", "status"]
    return [paths, content, props]


@pytest.mark.parametrize("broken", _wrong_shapes(), ids=["paths", "content", "properties"])
def test_a_document_of_the_wrong_shape_is_a_spec_error(broken: dict[str, Any]) -> None:
    with pytest.raises(apidiff.SpecError, match="not a valid OpenAPI document"):
        apidiff.diff(_spec(), broken)


def test_command_line_compares_two_files_and_can_fail_on_breaking(tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(yaml.safe_dump(SPEC))
    changed = _spec()
    del changed["paths"]["/v1/me"]
    new.write_text(yaml.safe_dump(changed))
    tool = [sys.executable, str(ROOT / "tools" / "apidiff.py")]
    run = subprocess.run([*tool, str(old), str(new)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "1 change(s), 1 breaking" in run.stdout
    assert "BREAKING removed  route GET /v1/me (getMe)" in run.stdout
    strict = subprocess.run(
        [*tool, str(old), str(new), "--fail-on-breaking"], capture_output=True, timeout=60
    )
    assert strict.returncode == 1
    missing = subprocess.run(
        [*tool, str(old), str(tmp_path / "absent.yaml")], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr


# ------------------------------------------- the scenario: generate names what was added

CANCEL_YAML = """  /v1/operations/{operationId}:cancel:
    post:
      operationId: cancelOperation
      summary: Cancel an operation
      tags: [Generation]
      security: [{bearerApiKey: []}]
      parameters:
        - $ref: "#/components/parameters/OperationId"
        - $ref: "#/components/parameters/IdempotencyKey"
      responses:
        "202": {$ref: "#/components/responses/OperationAccepted"}
        "404": {$ref: "#/components/responses/NotFound"}

"""


def _scratch_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "scratch"
    for part in ("spec", "generated", "tools"):
        shutil.copytree(ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _generate(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project / "tools" / "mintgen.py"), "generate"],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=120,
    )


def test_generate_prints_the_progress_property_and_cancel_route_as_added(tmp_path: Path) -> None:
    project = _scratch_copy(tmp_path)
    spec = project / "spec" / "mint.openapi.yaml"
    text = spec.read_text()
    anchor = "        credits:\n          description: Undocumented credit accounting"
    assert text.count(anchor) == 1 and text.count("  /v1/worlds:\n") == 1
    text = text.replace(anchor, "        progress: {type: number, description: 0 to 1.}\n" + anchor)
    spec.write_text(text.replace("  /v1/worlds:\n", CANCEL_YAML + "  /v1/worlds:\n"))
    run = _generate(project)
    assert run.returncode == 0, run.stderr
    lines = [" ".join(line.split()) for line in run.stdout.splitlines()]
    assert lines[1].endswith("2 change(s), 0 breaking"), run.stdout
    assert lines[2:] == [
        "added property Operation.progress: number, optional",
        "added route POST /v1/operations/{operationId}:cancel (cancelOperation)",
    ]
    package = project / "generated" / "mint_client"
    assert (package / "api" / "generation" / "cancel_operation.py").is_file()
    assert "progress: float | Unset" in (package / "models" / "operation.py").read_text()
    # The snapshot now follows the spec: a second run reports nothing new.
    assert (project / "spec" / ".generated-from.yaml").read_bytes() == spec.read_bytes()
    again = _generate(project)
    assert again.returncode == 0 and again.stdout.splitlines()[1].endswith("no API changes")


def test_generate_without_a_matching_snapshot_says_it_cannot_diff(tmp_path: Path) -> None:
    project = _scratch_copy(tmp_path)
    snapshot = project / "spec" / ".generated-from.yaml"
    snapshot.write_text(snapshot.read_text() + "# edited by hand\n")
    run = _generate(project)
    assert run.returncode == 0, run.stderr
    assert "API diff: skipped, the previous .generated-from.yaml was not the spec it records" in (
        run.stdout
    )
    snapshot.unlink()
    check = subprocess.run(
        [sys.executable, str(project / "tools" / "mintgen.py"), "check"],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=120,
    )
    assert check.returncode == 1 and "missing: spec/.generated-from.yaml" in check.stderr
