"""The spec and the generated low-level client (issue: spec, generation, packaging)."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import mint_client
from mint_client import models

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "spec" / "mint.openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
KNOWN_STATUSES = SCHEMAS["OperationStatus"]["enum"]


def _normalise(value: Any) -> Any:
    """Make datetimes comparable whatever their spelling (``Z`` vs ``+00:00``)."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and "T" in value:
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def test_spec_is_valid_openapi_31() -> None:
    from openapi_spec_validator import validate

    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1")


EXPECTED_ROUTES = {
    ("get", "/v1/me"): "Account",
    ("get", "/v1/usage"): "Account",
    ("post", "/v1/worlds:generate"): "Generation",
    ("post", "/v1/models:generate"): "Generation",
    ("post", "/v1/models/{modelId}:optimize"): "Generation",
    ("get", "/v1/operations/{operationId}"): "Generation",
    ("post", "/v1/operations/{operationId}:approve"): "Generation",
    ("post", "/v1/operations/{operationId}:revise"): "Generation",
    ("post", "/v1/operations/{operationId}:resume"): "Generation",
    ("get", "/v1/worlds"): "Assets",
    ("get", "/v1/worlds/{worldId}"): "Assets",
    ("get", "/v1/models"): "Assets",
    ("get", "/v1/models/{modelId}"): "Assets",
}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_spec_covers_every_route_with_operation_id_tag_and_security() -> None:
    seen = {(m, p): op for m, p, op in _operations()}
    assert set(seen) == set(EXPECTED_ROUTES)
    for key, tag in EXPECTED_ROUTES.items():
        op = seen[key]
        assert op["tags"] == [tag], key
        assert op["operationId"][0].islower() and "_" not in op["operationId"], key
        assert op["security"] == [{"bearerApiKey": []}], key


def test_every_post_requires_an_idempotency_key_and_answers_202_with_location() -> None:
    params = SPEC["components"]["parameters"]
    for method, path, op in _operations():
        if method != "post":
            continue
        refs = [p["$ref"].rsplit("/", 1)[-1] for p in op["parameters"] if "$ref" in p]
        assert "IdempotencyKey" in refs, path
        schema = params["IdempotencyKey"]["schema"]
        assert (schema["minLength"], schema["maxLength"]) == (1, 255)
        assert op["responses"]["202"]["$ref"].endswith("/OperationAccepted"), path
    accepted = SPEC["components"]["responses"]["OperationAccepted"]
    assert "Location" in accepted["headers"] and "X-Request-Id" in accepted["headers"]
    for name in ("TooManyRequests", "ServiceUnavailable"):
        assert "Retry-After" in SPEC["components"]["responses"][name]["headers"]
    poll = SPEC["paths"]["/v1/operations/{operationId}"]["get"]["responses"]["200"]
    assert "Retry-After" in poll["headers"]


def test_error_responses_are_problem_json() -> None:
    for name, response in SPEC["components"]["responses"].items():
        if name == "OperationAccepted":
            continue
        assert list(response["content"]) == ["application/problem+json"], name


def test_info_description_states_the_boundary() -> None:
    text = SPEC["info"]["description"]
    for word in ("conversion", "pricing", "reference-images", "asset packs", "audio", ":cancel"):
        assert word in text


def _example_cases() -> list[tuple[str, Any]]:
    return [(name, schema["example"]) for name, schema in SCHEMAS.items() if "example" in schema]


@pytest.mark.parametrize(("name", "example"), _example_cases(), ids=lambda v: str(v)[:30])
def test_every_schema_example_parses_and_round_trips(name: str, example: Any) -> None:
    cls = getattr(models, name)
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        assert cls(example).value == example
        return
    parsed = cls.from_dict(example)
    assert _normalise(parsed.to_dict()) == _normalise(example)
    # A second trip through from_dict is stable too.
    assert cls.from_dict(parsed.to_dict()).to_dict() == parsed.to_dict()


def test_every_schema_has_an_example() -> None:
    missing = [
        name for name, schema in SCHEMAS.items() if "example" not in schema and "enum" not in schema
    ]
    assert missing == []


def _operation(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(SCHEMAS["Operation"]["example"]))
    data.update(changes)
    return data


@pytest.mark.parametrize("status", KNOWN_STATUSES)
def test_each_known_status_parses_to_the_enum(status: str) -> None:
    op = models.Operation.from_dict(_operation(status=status))
    assert isinstance(op.status, models.OperationStatus)
    assert op.status == status


def test_unknown_status_and_enum_values_survive() -> None:
    op = models.Operation.from_dict(
        _operation(
            status="paused",
            type="world_remix",
            generationMode="supervised",
            generationPreset="ultra",
            optimizationLevel="extreme",
        )
    )
    assert op.status == "paused" and not isinstance(op.status, models.OperationStatus)
    assert op.type_ == "world_remix"
    assert op.generation_preset == "ultra"
    assert op.to_dict()["status"] == "paused"


def test_unknown_fields_and_null_assets() -> None:
    raw = _operation(assets=None, futureField={"nested": [1, 2]}, status="running")
    op = models.Operation.from_dict(raw)
    assert op.assets is None
    assert op.additional_properties["futureField"] == {"nested": [1, 2]}
    assert op.to_dict()["futureField"] == {"nested": [1, 2]}


def test_world_and_model_assets_cannot_be_confused() -> None:
    world = models.Operation.from_dict(_operation())
    assert isinstance(world.assets, models.WorldAssets)
    model_assets = SCHEMAS["ModelAssets"]["example"]
    model = models.Operation.from_dict(_operation(type="model_generation", assets=model_assets))
    assert isinstance(model.assets, models.ModelAssets)
    # A model payload never parses as world assets (it lacks the required spzUrls key) ...
    with pytest.raises(KeyError):
        models.WorldAssets.from_dict(model_assets)
    # ... and a world payload never parses as model assets.
    with pytest.raises(KeyError):
        models.ModelAssets.from_dict(SCHEMAS["WorldAssets"]["example"])


def test_generated_package_is_marked_typed_and_headed() -> None:
    pkg = Path(mint_client.__file__).parent
    assert (pkg / "py.typed").is_file()
    for py in pkg.rglob("*.py"):
        assert py.read_text().startswith("# Generated by openapi-python-client"), py


# ---------------------------------------------------------------- drift check and vendoring

MINTGEN = ROOT / "tools" / "mintgen.py"


def _copy_project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    for part in ("spec", "generated", "tools"):
        shutil.copytree(
            ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache")
        )
    (dest / "mint_ext").mkdir()
    for name in ("LICENSE", "mint_ext/_version.py"):
        shutil.copyfile(ROOT / name, dest / name)
    return dest


def _mintgen(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project / "tools" / "mintgen.py"), *args],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=120,
    )


def test_check_generated_passes_on_a_clean_tree(tmp_path: Path) -> None:
    result = _mintgen(_copy_project(tmp_path), "check")
    assert result.returncode == 0, result.stderr


def test_check_generated_fails_naming_files_after_a_spec_change(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    spec = project / "spec" / "mint.openapi.yaml"
    spec.write_text(
        spec.read_text().replace(
            "    ReviseOperationRequest:\n",
            "    Tombstone:\n      type: object\n      properties:\n        x: {type: string}\n"
            "      example: {x: y}\n    ReviseOperationRequest:\n",
        )
    )
    (project / "generated" / "mint_client" / "models" / "stale_module.py").write_text("x = 1\n")
    result = _mintgen(project, "check")
    assert result.returncode == 1
    assert "differs: __init__.py" in result.stderr  # spec sha256 changed
    assert "extra (stale): models/stale_module.py" in result.stderr
    # Regenerating repairs the tree and removes the stale module.
    assert _mintgen(project, "generate").returncode == 0
    assert not (project / "generated" / "mint_client" / "models" / "stale_module.py").exists()
    assert _mintgen(project, "check").returncode == 0


def test_check_generated_reports_a_missing_file(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    (project / "generated" / "mint_client" / "py.typed").unlink()
    result = _mintgen(project, "check")
    assert result.returncode == 1
    assert "missing: py.typed" in result.stderr


def test_vendored_copy_imports_and_parses_under_another_name(tmp_path: Path) -> None:
    dest = tmp_path / "other_repo"
    result = _mintgen(ROOT, "vendor", str(dest), "--package", "acme_mint")
    assert result.returncode == 0, result.stderr
    stamp = json.loads((dest / "acme_mint" / "VENDORED.json").read_text())
    assert stamp["generator"] == "openapi-python-client==0.29.1"
    assert len(stamp["spec_sha256"]) == 64 and stamp["date"]
    script = (
        "import json, sys\n"
        "from acme_mint.models import Operation, WorldAssets\n"
        "op = Operation.from_dict(json.loads(sys.stdin.read()))\n"
        "assert isinstance(op.assets, WorldAssets)\n"
        "assert 'mint_client' not in sys.modules and 'mint_ext' not in sys.modules\n"
        "print(op.id, op.status)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(_operation(status="paused")),
        capture_output=True,
        text=True,
        cwd=dest,
        env={"PYTHONPATH": str(dest), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [SCHEMAS["Operation"]["example"]["id"], "paused"]
    # A second vendor run replaces its own folder; a foreign folder is never overwritten.
    assert _mintgen(ROOT, "vendor", str(dest), "--package", "acme_mint").returncode == 0
    (dest / "foreign").mkdir()
    refused = _mintgen(ROOT, "vendor", str(dest), "--package", "foreign")
    assert refused.returncode == 2 and "refusing" in refused.stderr


def test_vendor_refuses_a_generated_tree_older_than_the_spec(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    spec = project / "spec" / "mint.openapi.yaml"
    spec.write_text(spec.read_text() + "\n# an edit nobody regenerated\n")
    refused = _mintgen(project, "vendor", str(tmp_path / "other"), "--package", "acme_mint")
    assert refused.returncode == 2 and "nox -s generate" in refused.stderr
    assert not (tmp_path / "other" / "acme_mint").exists()
    assert _mintgen(project, "generate").returncode == 0
    done = _mintgen(project, "vendor", str(tmp_path / "other"), "--package", "acme_mint")
    assert done.returncode == 0, done.stderr
    stamp = json.loads((tmp_path / "other" / "acme_mint" / "VENDORED.json").read_text())
    assert stamp["spec_sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()
