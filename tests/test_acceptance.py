"""Issue 14: the SDK accepts exactly what the spec allows, through both clients, for every route.

The property test draws bodies from each route's success schema (valid ones must parse) and
mutates them (a value of another type, a key removed, NaN/Infinity): every mutant the spec's own
validator rejects must be a ``ResponseValidationError``, every mutant it accepts must parse. The
rest are the cases the fuzzing campaigns found, one test each.
"""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mint_ext import (
    ConfigurationError,
    InvalidArgumentError,
    Mint,
    MintError,
    Operation,
    ResponseValidationError,
    World,
)

from ._fake_contract import load_spec, schema_validator
from ._harness import EXAMPLES, OP, Scripted, json_response, op_json
from ._schema_data import mutants, resolve, values

OP_ID = OP["id"]
# operationId -> (method of the public API, its arguments; ID = the id the body is about)
ID = object()
CALLS: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
    "getMe": ("account.me", (), {}),
    "getUsage": ("account.usage", (), {}),
    "generateWorld": ("worlds.generate", ("A greenhouse",), {}),
    "generateModel": ("models.generate", ("A lantern",), {}),
    "optimizeModel": ("models.optimize", ("model_1",), {}),
    "getOperation": ("operations.get", (ID,), {}),
    "approveOperation": ("operations.approve", ("op_1",), {}),
    "reviseOperation": ("operations.revise", ("op_1",), {"feedback": "warmer"}),
    "resumeOperation": ("operations.resume", ("op_1",), {}),
    "listWorlds": ("worlds.list_page", (), {}),
    "getWorld": ("worlds.get", (ID,), {}),
    "listModels": ("models.list_page", (), {}),
    "getModel": ("models.get", (ID,), {}),
}


def _routes() -> dict[str, tuple[int, dict[str, Any]]]:
    """operationId -> (success status, response schema), read from the spec."""
    out = {}
    for item in load_spec()["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            (status,) = [s for s in operation["responses"] if s.startswith("2")]
            response = resolve(operation["responses"][status])
            out[operation["operationId"]] = (
                int(status),
                response["content"]["application/json"]["schema"],
            )
    return out


ROUTES = _routes()
COUNTS: dict[str, int] = {"valid": 0, "valid mutants": 0, "rejected mutants": 0}


def test_every_route_of_the_spec_is_covered() -> None:
    assert set(CALLS) == set(ROUTES)


def _has_constant(data: Any) -> bool:
    if isinstance(data, float):
        return not math.isfinite(data)
    if isinstance(data, dict):
        return any(_has_constant(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_constant(v) for v in data)
    return False


def _usable_id(value: object) -> bool:
    return isinstance(value, str) and value not in ("", ".", "..") and not set(value) & set("/\\")


@pytest.mark.parametrize("operation_id", sorted(ROUTES))
def test_valid_bodies_parse_and_invalid_ones_are_rejected(
    scripted: Scripted, operation_id: str
) -> None:
    api, wire = scripted(max_retries=0)
    status, schema = ROUTES[operation_id]
    validator, _ = schema_validator(schema)
    method, args, kwargs = CALLS[operation_id]

    def answer(body: Any) -> None:
        wire.answer(
            httpx.Response(
                status,
                content=json.dumps(body).encode(),
                headers={"content-type": "application/json"},
            )
        )

    @settings(max_examples=60, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        body = data.draw(values(schema))
        if not validator.is_valid(body):
            return  # the strategy is looser than the schema here (e.g. a "not" clause)
        ident = body.get("id") if isinstance(body, dict) else None
        if ID in args and not _usable_id(ident):
            return  # an id the SDK refuses to ask for (".", "a/b"): tested elsewhere
        call_args = tuple(ident if a is ID else a for a in args)
        answer(body)
        api(method, *call_args, **kwargs)  # a valid body never raises
        COUNTS["valid"] += 1
        _label, mutant = data.draw(mutants(body))
        answer(mutant)
        invalid = _has_constant(mutant) or not validator.is_valid(mutant)
        if invalid:
            with pytest.raises(ResponseValidationError):
                api(method, *call_args, **kwargs)
            COUNTS["rejected mutants"] += 1
        else:
            api(method, *call_args, **kwargs)
            COUNTS["valid mutants"] += 1

    before = dict(COUNTS)
    check()
    assert COUNTS["valid"] - before["valid"] >= 10  # the property ran on real bodies
    assert COUNTS["rejected mutants"] - before["rejected mutants"] >= 5
    print(f"{operation_id} [{api.mode}]:", {k: COUNTS[k] - before[k] for k in COUNTS})


# ----------------------------------------------------------- the cases the campaigns found


@pytest.mark.parametrize(
    "body",
    [
        op_json(status="failed", error="boom"),  # error as a string
        op_json(resource="world_1"),  # resource not an object
        op_json(resource={"type": "world"}),  # resource without its id
        op_json(billing=[1, 2]),  # billing as a list
        op_json(assets="https://x"),  # assets of the wrong type
        op_json(status=7),
        op_json(id=OP_ID, credits={"estimated": float("nan")}),
    ],
)
def test_wrong_successes_are_rejected(scripted: Scripted, body: dict[str, Any]) -> None:
    api, _ = scripted(
        httpx.Response(
            200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        ),
        max_retries=0,
    )
    with pytest.raises(ResponseValidationError) as raised:
        api("operations.get", OP_ID)
    assert raised.value.body and raised.value.response.status_code == 200


def test_a_world_with_a_status_that_is_not_text_is_rejected(scripted: Scripted) -> None:
    api, _ = scripted(json_response(200, dict(EXAMPLES["World"], status=5)), max_retries=0)
    with pytest.raises(ResponseValidationError):
        api("worlds.get", EXAMPLES["World"]["id"])


@pytest.mark.parametrize("status", [100, 204, 301, 304, 201])
def test_statuses_the_route_does_not_document_are_rejected(scripted: Scripted, status: int) -> None:
    api, _ = scripted(httpx.Response(status, json=OP if status != 204 else None), max_retries=0)
    with pytest.raises(ResponseValidationError, match=str(status)):
        api("operations.get", OP_ID)


def test_json_labelled_html_is_rejected(scripted: Scripted) -> None:
    html = httpx.Response(
        200, content=json.dumps(OP).encode(), headers={"content-type": "text/html"}
    )
    api, _ = scripted(html, max_retries=0)
    with pytest.raises(ResponseValidationError, match="media type"):
        api("operations.get", OP_ID)


def test_another_operation_than_the_one_asked_for_is_rejected(
    scripted: Scripted,
) -> None:
    api, _ = scripted(
        json_response(200, op_json(id="op_SOMEONE_ELSE", status="succeeded")), max_retries=0
    )
    with pytest.raises(ResponseValidationError, match="op_SOMEONE_ELSE"):
        api("operations.get", OP_ID)
    with pytest.raises(ResponseValidationError):
        api("operations.wait", OP_ID, timeout=5)
    world, _ = scripted(
        json_response(200, dict(EXAMPLES["World"], id="world_other")), max_retries=0
    )
    with pytest.raises(ResponseValidationError):
        world("worlds.get", EXAMPLES["World"]["id"])


def test_a_compression_bomb_stops_at_the_cap(scripted: Scripted) -> None:
    padding = " " * (5 * 1024 * 1024)
    bomb = gzip.compress(json.dumps(OP).encode()[:-1] + padding.encode() + b"}")
    assert len(bomb) < 64 * 1024
    response = httpx.Response(200, content=bomb,
                              headers={"content-type": "application/json",
                                       "content-encoding": "gzip"})  # fmt: skip
    api, _ = scripted(response, max_response_bytes=1024 * 1024, max_retries=0)
    with pytest.raises(ResponseValidationError, match="max_response_bytes") as raised:
        api("operations.get", OP_ID)
    assert len(raised.value.body) <= 64 * 1024
    roomy, _ = scripted(response, max_response_bytes=16 * 1024 * 1024, max_retries=0)
    assert roomy("operations.get", OP_ID).id == OP_ID  # the same body under a larger cap


def test_a_response_read_by_the_sdk_behaves_like_httpx_reads_it(
    scripted: Scripted,
) -> None:
    # Pins the one private httpx detail the size cap relies on (Response._content).
    api, _ = scripted(json_response(200, OP, **{"x-request-id": "r1"}), max_retries=0)
    raw = api("with_raw_response.operations.get", OP_ID)
    response = raw.http_response
    assert response.is_stream_consumed and response.is_closed
    assert response.json()["id"] == OP_ID and json.loads(response.text) == response.json()
    assert response.content == json.dumps(OP).encode() or response.json() == OP


def test_deep_nesting_is_a_typed_error(scripted: Scripted) -> None:
    deep = "[" * 5000 + '"x"' + "]" * 5000  # past Python's recursion limit
    body = json.dumps(op_json(extra="HOLE")).encode().replace(b'"HOLE"', deep.encode())
    api, _ = scripted(
        httpx.Response(200, content=body, headers={"content-type": "application/json"}),
        max_retries=0,
    )
    with pytest.raises(ResponseValidationError, match="nests deeper"):
        api("operations.get", OP_ID)
    nested: Any = {}
    for _ in range(100):  # parses, but deeper than any answer of the API
        nested = {"a": nested}
    api, _ = scripted(json_response(200, op_json(extra=nested)), max_retries=0)
    with pytest.raises(ResponseValidationError, match="nests deeper"):
        api("operations.get", OP_ID)
    very: Any = {}
    for _ in range(3000):
        very = {"a": very}
    with pytest.raises(ValueError, match="nests deeper"):
        Operation.from_dict(op_json(extra=very))


def test_a_listing_that_alternates_two_pages_ends(scripted: Scripted) -> None:
    world = EXAMPLES["World"]

    def page(wid: str, cursor: str) -> httpx.Response:
        return json_response(200, {"data": [dict(world, id=wid)],
                                   "pagination": {"hasMore": True, "nextCursor": cursor}})  # fmt: skip

    api, _ = scripted(
        *[page("world_a" if i % 2 else "world_b", f"c{i}") for i in range(50)], max_retries=0
    )
    with pytest.raises(MintError, match="same page"):
        api.each("worlds.list")


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-20T10:15:00z",
        "2026-11-20t10:15:00Z",
        "2016-12-31T23:59:60Z",
        "2026-11-20T10:15:00.123456789+05:30",
        "2026-11-20T10:15:00-00:00",
    ],
)
def test_every_rfc3339_date_time_parses(scripted: Scripted, stamp: str) -> None:
    api, _ = scripted(json_response(200, op_json(createdAt=stamp, updatedAt=stamp)), max_retries=0)
    op = api("operations.get", OP_ID)
    assert op.created_at.year in (2016, 2026) and op.raw["createdAt"] == stamp
    assert Operation.from_dict(op.to_dict()) == op
    world, _ = scripted(json_response(200, dict(EXAMPLES["World"], createdAt=stamp)), max_retries=0)
    assert isinstance(world("worlds.get", EXAMPLES["World"]["id"]), World)


def test_empty_ids_agree_with_the_spec(scripted: Scripted) -> None:
    # The spec says ids and statuses are non-empty (minLength: 1), and the SDK agrees.
    schemas = load_spec()["components"]["schemas"]
    assert schemas["Operation"]["properties"]["id"].get("minLength") == 1
    api, _ = scripted(json_response(200, op_json(id="")), max_retries=0)
    with pytest.raises(ResponseValidationError):
        api("operations.get", OP_ID)


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("call", "args", "kwargs"),
    [
        ("worlds.list_page", (), {"limit": True}),
        ("worlds.list_page", (), {"limit": 2.5}),
        ("models.list_page", (), {"limit": "5"}),
        ("worlds.list_page", (), {"cursor": 5}),
        ("operations.wait", (OP_ID,), {"until": 5}),
        ("operations.wait", (OP_ID,), {"until": [5]}),
        ("operations.wait", (OP_ID,), {"poll": "fast"}),
        ("operations.wait", (OP_ID,), {"on_update": 5}),
        ("operations.wait_many", ([OP_ID],), {"max_concurrency": "3"}),
        ("operations.wait_many", ([OP_ID],), {"max_rate": "fast"}),
        ("worlds.generate", ("",), {}),
        ("worlds.generate", ("x" * 4001,), {}),
        ("worlds.generate", (5,), {}),
        ("worlds.generate", ("p",), {"display_name": "x" * 121}),
        ("worlds.generate", ("p",), {"image_url": "not a url"}),
        ("worlds.generate", ("p",), {"source_images": ["https://a.example/1.png"]}),
        (
            "worlds.generate",
            ("p",),
            {"source_images": [f"https://a.example/{i}" for i in range(9)]},
        ),
        (
            "worlds.generate",
            ("p",),
            {
                "image_url": "https://a.example/1.png",
                "source_images": ["https://a.example/1", "https://a.example/2"],
            },
        ),
        ("models.generate", ("p",), {"name": ""}),
        ("operations.revise", (OP_ID,), {"feedback": "x" * 2001}),
    ],
)
def test_arguments_are_checked_before_any_request(
    scripted: Scripted, call: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    api, wire = scripted(then="fail")
    with pytest.raises(InvalidArgumentError):
        api(call, *args, **kwargs)
    assert wire.requests == []


@pytest.mark.parametrize(
    "base_url",
    ["http://" + "a" * 64 + ".example", "http://\ud800.example", "ftp://mint.example", 5],
)
def test_bad_base_urls_are_configuration_errors(base_url: Any) -> None:
    with pytest.raises(ConfigurationError):
        Mint(api_key="k", base_url=base_url)


@pytest.mark.parametrize("value", [{"api_key": 5}, {"retry": 3}, {"clock": "now"},
                                   {"max_response_bytes": 0}])  # fmt: skip
def test_bad_client_settings_are_configuration_errors(value: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Mint(**{"api_key": "k", **value})
