"""The contract hook itself: it really checks, and catches what it should."""

from __future__ import annotations

import json

from mint_ext.testing import ApiExchange, FakeClock, FakeMint, Fault
from tests._fake_contract import Contract
from tests._harness import RawApi


def _exchange(
    status: int, body: object, route: str = "/v1/operations/{operationId}", **headers: str
) -> ApiExchange:
    hdrs = {"content-type": "application/json", "x-request-id": "req_1", **headers}
    return ApiExchange(
        "GET", "/v1/operations/op_1", route, status, hdrs, json.dumps(body).encode(), None
    )


def test_hook_sees_every_api_response_and_skips_faults() -> None:
    contract = Contract()
    fake = FakeMint(clock=FakeClock(), on_response=contract)
    api = RawApi(fake)
    op_id = api.world()["id"]
    api.op(op_id)
    api.get("/v1/me")
    fake.inject(Fault.status(520), route="GET /v1/me")
    assert api.get("/v1/me").status_code == 520
    assert contract.checked == 3 and contract.skipped == 1
    assert contract.violations == []


def test_contract_flags_violations() -> None:
    contract = Contract()
    contract(_exchange(418, {}))
    contract(_exchange(200, {"object": "operation"}))
    contract(_exchange(200, {"nope": 1}, route="/v1/me"))
    problem = {"type": "x", "title": "t", "status": 404}
    contract(_exchange(404, problem))  # wrong media type for a problem
    contract(
        ApiExchange(
            "POST",
            "/v1/worlds:generate",
            "/v1/worlds:generate",
            202,
            {"content-type": "application/json"},
            b"{}",
            None,
        )
    )
    text = "\n".join(contract.violations)
    assert "418 is not documented" in text
    assert "'id' is a required property" in text
    assert "'authentication' is a required property" in text
    assert "content type 'application/json'" in text
    assert "required header Location missing" in text and "no X-Request-Id" in text


def test_contract_checks_date_times() -> None:
    contract = Contract()
    spec_example = {
        "object": "operation", "id": "op_1", "type": "world_generation", "generationMode": "auto",
        "status": "queued", "prompt": "p", "generationPreset": "fast", "generationModel": None,
        "resource": None, "mintUrl": None, "assets": None, "createdAt": "yesterday",
    }  # fmt: skip
    contract(_exchange(200, spec_example))
    assert any("createdAt" in v for v in contract.violations)


def test_fake_implements_exactly_the_spec_routes() -> None:
    from mint_ext.testing._fake import ROUTES
    from tests._fake_contract import load_spec

    spec_routes = {
        (method.upper(), path)
        for path, item in load_spec()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert {(r.method, r.template) for r in ROUTES} == spec_routes
