"""The compiled fast path of the acceptance rule says yes only where jsonschema says yes.

Every schema of the spec that has an example is checked on the example and on mutations of it
(each property replaced by values of every JSON type, each required property dropped): the
fast verdict must equal jsonschema's, so the fast path can never accept what the rule rejects.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mint_ext import _acceptance
from mint_ext._acceptance import _fast_accepts, _fast_check, _validator, spec

WRONG: list[Any] = [None, 7, -1, 2.5, True, "x", "", [], ["x"], {}, {"x": 1}]


def _examples() -> list[tuple[str, Any]]:
    out = []
    for name, schema in spec()["components"]["schemas"].items():
        if isinstance(schema, dict) and "example" in schema:
            out.append((f"/components/schemas/{name}", schema["example"]))
    return out


def _mutations(example: Any) -> list[Any]:
    out = [example]
    if isinstance(example, dict):
        for key in example:
            for value in WRONG:
                out.append({**example, key: value})
            out.append({k: v for k, v in example.items() if k != key})
            inner = example[key]
            if isinstance(inner, dict):
                for sub in inner:
                    for value in WRONG:
                        changed = copy.deepcopy(example)
                        changed[key][sub] = value
                        out.append(changed)
    return out


EXAMPLES = _examples()
OPEN = {"EmptyRequest", "FreeForm"}  # schemas that accept any object


def test_the_spec_has_examples_to_check() -> None:
    assert len(EXAMPLES) >= 5
    assert any(p.endswith("/Operation") for p, _ in EXAMPLES)


@pytest.mark.parametrize(("pointer", "example"), EXAMPLES, ids=[p for p, _ in EXAMPLES])
def test_fast_verdict_equals_jsonschema(pointer: str, example: Any) -> None:
    assert _fast_check(pointer) is not None  # jsonschema-rs is a dependency: the path is taken
    slow = _validator(pointer, False)
    verdicts = [(_fast_accepts(pointer, body), slow.is_valid(body)) for body in _mutations(example)]
    assert all(fast == rule for fast, rule in verdicts), [
        body for body, (f, r) in zip(_mutations(example), verdicts, strict=True) if f != r
    ]
    if pointer.rsplit("/", 1)[-1] not in OPEN:  # the mutations do reach rejections
        assert any(not rule for _, rule in verdicts)


def test_a_rejection_keeps_jsonschemas_message() -> None:
    import httpx

    request = httpx.Request("GET", "https://api.mint.gg/v1/operations/op_1")
    example = dict(next(e for p, e in EXAMPLES if p.endswith("/Operation")), status=7)
    response = httpx.Response(200, json=example, request=request)
    problem = _acceptance.response_problem(response, example)
    assert problem is not None and problem.startswith("status: ")


def test_an_integer_too_large_for_the_fast_path_goes_to_jsonschema() -> None:
    pointer, example = next((p, e) for p, e in EXAMPLES if p.endswith("/Operation"))
    body = {**example, "unknownCounter": 10**400}  # open object: jsonschema accepts it
    assert _validator(pointer, False).is_valid(body)
    _fast_accepts(pointer, body)  # whatever it says, it must not raise
