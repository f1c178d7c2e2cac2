"""tools/speclint.py: the stricter spec lint of `nox -s lint`, fed broken specs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import speclint  # noqa: E402

SPEC_PATH = ROOT / "spec" / "mint.openapi.yaml"
SPEC_TEXT = SPEC_PATH.read_text()
OPTIMIZED = '        optimizedGlbUrl: {type: [string, "null"], format: uri, description: "Draco-compressed GLB, after optimization."}\n'
ASSETS = "#/components/schemas/ModelAssets/properties/optimizedGlbUrl"


def _broken(old: str, new: str) -> str:
    assert SPEC_TEXT.count(old) == 1, old
    return SPEC_TEXT.replace(old, new)


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _found(text: str) -> list[tuple[int, str, str]]:
    return [(p.line, p.pointer, p.message) for p in speclint.lint_text(text)]


def test_the_committed_spec_has_no_problems() -> None:
    assert speclint.lint(SPEC_PATH) == []


def test_description_cut_by_a_comma_in_a_flow_mapping() -> None:
    # The spec as it was: the comma ends the description and makes a key with no value.
    text = _broken(OPTIMIZED, OPTIMIZED.replace('"Draco', "Draco").replace('zation."', "zation."))
    line = _line_of(text, "        optimizedGlbUrl:")
    assert _found(text) == [
        (
            line,
            f"{ASSETS}/after optimization.",
            "unknown schema keyword 'after optimization.' with no value",
        ),
        (
            line,
            f"{ASSETS}/description",
            "description cut by a comma in a YAML flow mapping (the rest became the key "
            "'after optimization.' with no value): quote the text",
        ),
    ]


def test_description_cut_by_a_comment() -> None:
    old = "        message: {type: string}\n      example: {code: moderation_blocked"
    new = (
        "        message:\n          type: string\n          description: Shown to users #1 reason\n"
        "      example: {code: moderation_blocked"
    )
    text = _broken(old, new)
    pointer = "#/components/schemas/OperationError/properties/message/description"
    assert _found(text) == [
        (
            _line_of(text, "description: Shown to users"),
            pointer,
            "description cut by a ` #` (YAML starts a comment there): quote the text",
        )
    ]


def test_a_quoted_description_with_commas_and_hashes_is_fine() -> None:
    text = _broken(OPTIMIZED, OPTIMIZED.replace("GLB, after", "GLB #2, after"))
    assert _found(text) == []


def test_unknown_keywords_are_named_x_extensions_are_allowed() -> None:
    old = "        reason: {type: string}\n        resource: {type: string}\n"
    new = (
        "        reason: {tpye: string}\n"
        "        resource: {type: string, nullable: true, x-internal: true}\n"
    )
    text = _broken(old, new)
    billing = "#/components/schemas/Billing/properties"
    assert _found(text) == [
        (
            _line_of(text, "reason: {tpye"),
            f"{billing}/reason/tpye",
            "unknown schema keyword 'tpye'",
        ),
        (
            _line_of(text, "resource: {type: string, nullable"),
            f"{billing}/resource/nullable",
            "unknown schema keyword 'nullable' (OpenAPI 3.0 only: write type: [..., 'null'])",
        ),
    ]


def test_unknown_keywords_in_parameter_schemas_and_nested_items() -> None:
    text = _broken(
        "      schema: {type: string, minLength: 1, maxLength: 255}\n",
        "      schema: {type: string, minLength: 1, maxLenght: 255}\n",
    )
    text = text.replace(
        "        min: {type: array, items: {type: number}}\n",
        "        min: {type: array, items: {type: number, minimun: 0}}\n",
    )
    pointers = [pointer for _, pointer, _ in _found(text)]
    assert pointers == [
        "#/components/parameters/IdempotencyKey/schema/maxLenght",
        "#/components/schemas/ModelBounds/properties/min/items/minimun",
    ]


def test_refs_that_resolve_to_nothing() -> None:
    text = _broken(
        '            - {$ref: "#/components/schemas/OperationError"}\n',
        '            - {$ref: "#/components/schemas/OperationErorr"}\n',
    )
    text = text.replace(
        '        "404": {$ref: "#/components/responses/NotFound"}\n',
        '        "404": {$ref: "#/components/responses/NotFund"}\n',
        1,
    )
    found = _found(text)
    assert [(p, m) for _, p, m in found] == [
        (
            "#/paths/~1v1~1models~1{modelId}:optimize/post/responses/404/$ref",
            "$ref '#/components/responses/NotFund' resolves to nothing",
        ),
        (
            "#/components/schemas/Operation/properties/error/anyOf/0/$ref",
            "$ref '#/components/schemas/OperationErorr' resolves to nothing",
        ),
    ]
    assert found[0][0] == _line_of(text, "NotFund")
    assert found[1][0] == _line_of(text, "OperationErorr")


def test_examples_that_do_not_validate_against_their_schema() -> None:
    text = _broken(
        "      example: {code: moderation_blocked, message: The prompt was blocked by content moderation.}\n",
        "      example: {code: moderation_blocked}\n",
    )
    text = text.replace(
        "      example: {totalAvailable: 880}\n", "      example: {totalAvailable: lots}\n"
    )
    found = _found(text)
    assert [(p, m) for _, p, m in found] == [
        (
            "#/components/schemas/OperationError/example",
            "example does not validate against its schema at (the example itself): "
            "'message' is a required property",
        ),
        (
            "#/components/schemas/UsageCredits/example",
            "example does not validate against its schema at totalAvailable: "
            "'lots' is not of type 'number'",
        ),
    ]
    assert found[0][0] == _line_of(text, "      example: {code: moderation_blocked}")


def test_examples_are_checked_through_refs_of_nested_schemas() -> None:
    # The Operation example's error object is checked against OperationError via anyOf + $ref.
    text = _broken(
        "        credits: {estimated: 120, reserved: 0,",
        "        credits: {estimated: 120, reserved: lots,",
    )
    assert [(p, m) for _, p, m in _found(text)] == [
        (
            "#/components/schemas/Operation/example",
            "example does not validate against its schema at credits: "
            "{'estimated': 120, 'reserved': 'lots', 'finalized': 120, 'availableAfterReservation': 880} "
            "is not valid under any of the given schemas",
        )
    ]


def test_example_formats_are_checked() -> None:
    text = _broken(
        '        createdAt: "2026-11-20T11:02:10Z"\n', '        createdAt: "2026-11-20 late"\n'
    )
    text = text.replace(
        "        mintUrl: https://mint.gg/0x9f2c4a1b7e3d5f6a8c0b2d4e6f8a0c2e4b6d8f0a/model_",
        "        mintUrl: mint.gg/0x9f2c4a1b7e3d5f6a8c0b2d4e6f8a0c2e4b6d8f0a/model_",
    )
    text = text.replace(
        "      example: {type: world, id: world_01JD7Z8Q9YV3H2M4K6P8R0T2W4}\n",
        "      example: {type: world, id: world_01JD7Z8Q9YV3H2M4K6P8R0T2W4}\n"
        '    Stamp:\n      type: string\n      format: date-time\n      example: "2026-02-30T10:00:00Z"\n',
    )
    assert [(p, m.split(": ", 1)[1]) for _, p, m in _found(text)] == [
        ("#/components/schemas/Stamp/example", "'2026-02-30T10:00:00Z' is not a 'date-time'"),
        # anyOf [date-time, null]: neither variant accepts it.
        (
            "#/components/schemas/Model/example",
            "'2026-11-20 late' is not valid under any of the given schemas",
        ),
        (
            "#/components/schemas/Model/example",
            "'mint.gg/0x9f2c4a1b7e3d5f6a8c0b2d4e6f8a0c2e4b6d8f0a/model_01JD80A1B2C3D4E5F6G7H8J9K0' "
            "is not a 'uri'",
        ),
    ]


def test_parameter_examples_are_checked() -> None:
    text = _broken(
        "      description: Maximum number of resources to return (server default 20).\n",
        "      description: Maximum number of resources to return (server default 20).\n"
        "      example: 500\n",
    )
    assert [(p, m) for _, p, m in _found(text)] == [
        (
            "#/components/parameters/Limit/example",
            "example does not validate against its schema at (the example itself): "
            "500 is greater than the maximum of 100",
        )
    ]


def test_invalid_yaml_is_one_problem() -> None:
    (problem,) = speclint.lint_text("openapi: 3.1.0\ninfo: {title: [unclosed\n")
    assert problem.message.startswith("not valid YAML")


def test_command_line_names_file_line_and_place_and_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        _broken(OPTIMIZED, OPTIMIZED.replace('"Draco', "Draco").replace('zation."', "zation."))
    )
    tool = [sys.executable, str(ROOT / "tools" / "speclint.py")]
    bad = subprocess.run([*tool, str(broken)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    line = _line_of(broken.read_text(), "        optimizedGlbUrl:")
    assert f"{broken}:{line}: {ASSETS}/description: description cut by a comma" in bad.stderr
    assert "2 problem(s)" in bad.stderr
    for args, cwd in (([], tmp_path), (["spec/mint.openapi.yaml"], ROOT)):  # as nox -s lint runs it
        good = subprocess.run([*tool, *args], capture_output=True, text=True, timeout=60, cwd=cwd)
        assert good.returncode == 0, good.stderr
        assert good.stdout.strip() == "spec/mint.openapi.yaml: no problems"
