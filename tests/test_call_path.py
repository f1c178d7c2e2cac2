"""Issue 12: per-request options, with_options, raw responses, call/request, the logging switch,
fork safety, on_retry. Every test body runs with Mint and AsyncMint (the ``mode`` fixture)."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import pkgutil
import subprocess
import sys
from typing import Any

import httpx
import pytest

import mint_client.api
from mint_client import models as gen
from mint_client.api.account import get_me, get_usage
from mint_client.api.assets import get_model, get_world, list_models, list_worlds
from mint_client.api.generation import (
    approve_operation,
    generate_model,
    generate_world,
    get_operation,
    optimize_model,
    resume_operation,
    revise_operation,
)
from mint_ext import (
    APIConnectionError,
    AsyncMint,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    Mint,
    MintError,
    NotFoundError,
    Operation,
    RateLimitError,
    RawResponse,
    ResponseValidationError,
    idempotency_key,
)
from mint_ext.testing import FakeMint, FakeServer, Fault

from ._harness import EXAMPLES, OP, Api, Scripted, json_response, problem

OP_ID = OP["id"]

# ------------------------------------------------------------------ request options


def test_each_request_option_reaches_the_wire(scripted: Scripted) -> None:
    api, wire = scripted(json_response(202, OP))
    api(
        "worlds.generate",
        prompt="A greenhouse",
        timeout=7.5,
        extra_headers={"X-Trace": "abc"},
        extra_query={"debug": "1", "n": 3},
        extra_body={"experimental": {"fog": True}},
    )
    sent = wire.last
    assert sent.headers["x-trace"] == "abc"
    assert dict(sent.url.params) == {"debug": "1", "n": "3"}
    body = json.loads(sent.content)
    assert body["prompt"] == "A greenhouse" and body["experimental"] == {"fog": True}
    assert sent.extensions["timeout"]["read"] == 7.5
    assert sent.headers["authorization"] == "Bearer test-key"  # the SDK's own headers stay


def test_max_retries_per_call(scripted: Scripted) -> None:
    api, wire = scripted(json_response(503, problem(503)), max_retries=5)
    with pytest.raises(InternalServerError):
        api("operations.get", OP_ID, max_retries=1)
    assert len(wire.requests) == 2
    with pytest.raises(InternalServerError):
        api("operations.get", OP_ID, max_retries=0)
    assert len(wire.requests) == 3
    with pytest.raises(InternalServerError):
        api("operations.get", OP_ID)  # the client's own setting again
    assert len(wire.requests) == 3 + 6


def test_request_options_on_reads_and_waits(scripted: Scripted) -> None:
    done = dict(OP, status="succeeded")
    api, wire = scripted(json_response(200, done))
    api("operations.wait", OP_ID, request_timeout=3.0, extra_headers={"X-A": "1"},
        extra_query={"q": "v"})  # fmt: skip
    assert wire.last.headers["x-a"] == "1" and wire.last.url.params["q"] == "v"
    assert wire.last.extensions["timeout"]["read"] == 3.0
    api("operations.wait", OP_ID, timeout=1.0, request_timeout=30.0)  # capped by the deadline
    assert wire.last.extensions["timeout"]["read"] <= 1.0


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("operations.get", {"extra_body": {"a": 1}}),  # a GET has no body
        ("operations.get", {"timeout": -1}),
        ("operations.get", {"timeout": float("nan")}),
        ("operations.get", {"max_retries": True}),
        ("operations.get", {"max_retries": -1}),
        ("operations.get", {"extra_headers": {"Authorization": "Bearer other"}}),
        ("operations.get", {"extra_headers": {"bad name": "x"}}),
        ("operations.get", {"extra_query": {"q": object()}}),
        ("operations.get", {"tiemout": 5}),  # a typo is not silently ignored
        ("worlds.generate", {"prompt": "x", "extra_body": {"a": float("inf")}}),
        ("operations.wait", {"timeout": 5, "extra_body": {"a": 1}}),
    ],
)
def test_bad_request_options_are_refused_before_any_request(
    scripted: Scripted, call: str, kwargs: dict[str, Any]
) -> None:
    api, wire = scripted()
    args = () if call == "worlds.generate" else (OP_ID,)
    with pytest.raises(InvalidArgumentError):
        api(call, *args, **kwargs)
    assert wire.requests == []


@pytest.mark.parametrize("bad_id", ["", ".", "..", "a/b", "op_1/../x"])
def test_ids_that_are_not_one_path_segment_are_refused(scripted: Scripted, bad_id: str) -> None:
    api, wire = scripted()
    for call in ("operations.get", "worlds.get", "models.get", "operations.approve"):
        with pytest.raises(InvalidArgumentError):
            api(call, bad_id)
    assert wire.requests == []


# --------------------------------------------------------------------- with_options


def test_with_options_shares_the_pool_and_leaves_the_original_alone(
    scripted: Scripted,
) -> None:
    api, wire = scripted(json_response(503, problem(503)), max_retries=0)
    original = api.client
    copy = original.with_options(timeout=3.0, max_retries=2, default_headers={"X-Team": "a"})
    assert type(copy) is type(original)
    assert copy._runner.pool is original._runner.pool  # one connection pool
    assert copy.operations._r.core.timeout == 3.0 and original._runner.core.timeout == 30.0
    api.client = copy
    with pytest.raises(InternalServerError):
        api("operations.get", OP_ID)
    assert len(wire.requests) == 3 and wire.last.headers["x-team"] == "a"
    api.client = original
    with pytest.raises(InternalServerError):
        api("operations.get", OP_ID)
    assert len(wire.requests) == 4 and "x-team" not in wire.last.headers
    # closing the copy leaves the pool open for the original
    api.run(copy.close() if api.mode == "sync" else copy.aclose())
    wire.answer(json_response(200, OP))
    assert api("operations.get", OP_ID).id == OP["id"]


@pytest.mark.parametrize(
    "settings",
    [
        {"timeout": 0},
        {"max_retries": "3"},
        {"retry": 5},
        {"default_headers": {"Authorization": "x"}},
        {"base_url": "http://elsewhere"},
    ],
)
def test_with_options_refuses_bad_settings(scripted: Scripted, settings: dict[str, Any]) -> None:
    api, _ = scripted()
    with pytest.raises(ConfigurationError):
        api.client.with_options(**settings)


# -------------------------------------------------------------------- raw responses


def test_raw_response_of_a_success(scripted: Scripted) -> None:
    api, _ = scripted(json_response(200, OP, **{"x-request-id": "req_42"}))
    raw = api("with_raw_response.operations.get", OP_ID)
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200 and raw.request_id == "req_42"
    assert raw.headers["content-type"] == "application/json"
    assert isinstance(raw.http_response, httpx.Response)
    plain = api("operations.get", OP_ID)
    assert raw.parse() == plain and isinstance(raw.parse(), Operation)


def test_raw_response_of_a_call_and_a_request(scripted: Scripted) -> None:
    api, _ = scripted(json_response(200, OP))
    raw = api("with_raw_response.call", get_operation, operation_id=OP_ID)
    assert isinstance(raw.parse(), gen.Operation) and raw.status_code == 200
    raw = api("with_raw_response.request", "GET", f"/v1/operations/{OP_ID}")
    assert raw.parse()["id"] == OP["id"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitError),
        (500, InternalServerError),
    ],
)
def test_raw_response_of_an_error_raises_the_same_typed_error(
    scripted: Scripted, status: int, error: type[MintError]
) -> None:
    api, _ = scripted(json_response(status, problem(status)), max_retries=0)
    with pytest.raises(error) as raised:
        api("with_raw_response.operations.get", OP_ID)
    assert raised.value.response.status_code == status  # type: ignore[attr-defined]


def test_raw_response_of_a_malformed_body_raises_on_parse(
    scripted: Scripted,
) -> None:
    api, _ = scripted(httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"}))
    raw = api("with_raw_response.account.me")
    assert raw.status_code == 200 and raw.http_response.content == b"<html>"
    with pytest.raises(ResponseValidationError):
        raw.parse()


def test_raw_responses_cover_every_single_result_method(
    scripted: Scripted,
) -> None:
    api, _ = scripted()
    raw = api.client.with_raw_response
    for resource, names in {
        "worlds": ["generate", "get", "list_page"],
        "models": ["generate", "optimize", "get", "list_page"],
        "operations": ["get", "approve", "revise", "resume", "wait"],
        "account": ["me", "usage"],
    }.items():
        for name in names:
            assert callable(getattr(getattr(raw, resource), name)), (resource, name)


# ------------------------------------------------------------- call and request


def _endpoint_modules() -> set[str]:
    return {
        name.rsplit(".", 1)[-1]
        for _, name, is_pkg in pkgutil.walk_packages(mint_client.api.__path__, "mint_client.api.")
        if not is_pkg
    }


def test_call_reaches_every_generated_endpoint(on_fake: Api, fake: FakeMint) -> None:
    api = on_fake
    world_op = api("call", generate_world, body=gen.GenerateWorldRequest(prompt="A greenhouse"))
    model_op = api("call", generate_model, body=gen.GenerateModelRequest(prompt="A lantern"))
    review = api("call", generate_world,
                 body=gen.GenerateWorldRequest(prompt="A lighthouse",
                                               generation_mode=gen.GenerationMode.REVIEW))  # fmt: skip
    review2 = api("call", generate_world,
                  body=gen.GenerateWorldRequest(prompt="A tower",
                                                generation_mode=gen.GenerationMode.REVIEW))  # fmt: skip
    fake.script("billing_required")
    billing = api("call", generate_model, body=gen.GenerateModelRequest(prompt="A mug"))
    assert all(isinstance(o, gen.Operation) for o in (world_op, model_op, review, billing))
    for op in (world_op, model_op, review, review2, billing):
        if op is not billing:
            api("operations.wait", op.id, timeout=600)
    with pytest.raises(MintError):
        api("operations.wait", billing.id, timeout=600)
    world = api("operations.get", world_op.id)
    model = api("operations.get", model_op.id)
    results = {
        "get_operation": api("call", get_operation, world_op.id),
        "approve_operation": api(
            "call", approve_operation, operation_id=review.id, body=gen.EmptyRequest()
        ),
        "revise_operation": api(
            "call", revise_operation, review2.id, body=gen.ReviseOperationRequest(feedback="warmer")
        ),
        "resume_operation": api("call", resume_operation, billing.id, body=gen.EmptyRequest()),
        "optimize_model": api(
            "call", optimize_model, model.resource_id, body=gen.OptimizeModelRequest()
        ),
        "get_world": api("call", get_world, world.resource_id),
        "get_model": api("call", get_model, model.resource_id),
        "list_worlds": api("call", list_worlds, limit=2),
        "list_models": api("call", list_models),
        "get_me": api("call", get_me),
        "get_usage": api("call", get_usage),
        "generate_world": world_op,
        "generate_model": model_op,
    }
    assert set(results) == _endpoint_modules()  # a new endpoint must be added here
    assert results["get_operation"].id == world_op.id
    assert isinstance(results["get_world"], gen.World)
    assert isinstance(results["list_worlds"], gen.WorldList)
    assert isinstance(results["get_me"], gen.Me)
    # every POST had an Idempotency-Key the SDK made
    posts = [r for r in fake.requests if r.method == "POST"]
    assert posts and all(r.headers.get("idempotency-key") for r in posts)


def test_call_keeps_one_key_across_retries(on_fake: Api, fake: FakeMint) -> None:
    before = fake.operation_count()
    fake.inject(Fault.status(503), route="POST /v1/worlds:generate", times=2)
    op = on_fake("call", generate_world, body=gen.GenerateWorldRequest(prompt="A greenhouse"))
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) == 3 and len({r.headers["idempotency-key"] for r in posts}) == 1
    assert fake.operation_count() == before + 1 and isinstance(op, gen.Operation)
    # the caller's own key is used as given, and request options work here too
    on_fake("call", generate_world, body=gen.GenerateWorldRequest(prompt="x"),
            idempotency_key="job-7", extra_headers={"X-Trace": "t"})  # fmt: skip
    assert fake.requests[-1].headers["idempotency-key"] == "job-7"
    assert fake.requests[-1].headers["x-trace"] == "t"


def test_call_errors_are_the_sdk_errors(on_fake: Api) -> None:
    with pytest.raises(NotFoundError):
        on_fake("call", get_operation, "op_missing")
    with pytest.raises(InvalidArgumentError):
        on_fake("call", get_operation)  # a missing argument
    with pytest.raises(InvalidArgumentError):
        on_fake("call", get_operation, OP_ID, colour="red")  # an unknown one
    with pytest.raises(InvalidArgumentError):
        on_fake("call", json)  # not an endpoint


def test_request_reaches_a_route(on_fake: Api, fake: FakeMint) -> None:
    me = on_fake("request", "GET", "/v1/me")
    assert me["owner"]["userId"]
    op = on_fake("request", "POST", "/v1/worlds:generate", json={"prompt": "A greenhouse"})
    assert op["id"].startswith("op_") and fake.requests[-1].headers["idempotency-key"]
    got = on_fake("request", "get", f"/v1/operations/{op['id']}", params={"x": "1"})
    assert got["id"] == op["id"] and fake.requests[-1].query == "x=1"
    with pytest.raises(NotFoundError):
        on_fake("request", "GET", "/v1/nothing-here")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "v1/me"),
        ("GET", "//evil.example/v1"),
        ("GET", "/v1/../x"),
        ("G ET", "/v1/me"),
        ("GET", "/v1/me#frag"),
        (5, "/v1/me"),
    ],
)
def test_request_refuses_bad_routes(scripted: Scripted, method: Any, path: str) -> None:
    api, wire = scripted()
    with pytest.raises(InvalidArgumentError):
        api("request", method, path)
    assert wire.requests == []


def test_request_retries_a_post_with_one_key(scripted: Scripted) -> None:
    api, wire = scripted(json_response(503, problem(503)), httpx.ConnectError("x"),
                      json_response(202, OP), max_retries=3)  # fmt: skip
    assert api("request", "POST", "/v1/worlds:generate", json={"prompt": "p"})["id"] == OP["id"]
    assert len(wire.requests) == 3
    assert len({r.headers["idempotency-key"] for r in wire.requests}) == 1


# --------------------------------------------------------------------- waiting hooks


def test_on_retry_hears_each_transient_failure(scripted: Scripted) -> None:
    heard: list[tuple[str, float]] = []
    api, _ = scripted(
        json_response(503, problem(503), **{"retry-after": "2"}),
        httpx.ConnectError("refused"),
        json_response(200, dict(OP, status="succeeded")),
        max_retries=0,
    )
    op = api("operations.wait", OP_ID, on_retry=lambda e, d: heard.append((type(e).__name__, d)))
    assert op.is_succeeded
    assert [name for name, _ in heard] == ["InternalServerError", "APIConnectionError"]
    assert heard[0][1] == 2.0  # the server's Retry-After


# ------------------------------------------------------------------------ idempotency


def test_idempotency_key_helper() -> None:
    key = idempotency_key("make_world", 42)
    assert key == idempotency_key("make_world", 42)
    assert key != idempotency_key("make_world", 43)
    assert idempotency_key("a:b", "c") != idempotency_key("a", "b:c")
    long = idempotency_key("x" * 1000, "\ud800 ünïcode \x1b")
    for k in (key, long):
        assert 1 <= len(k) <= 255 and k.isascii() and k.isprintable()
    for bad in [(), (True,), (1.5,), (None,)]:
        with pytest.raises(InvalidArgumentError):
            idempotency_key(*bad)


# --------------------------------------------------------------------------- logging


_LOG_SCRIPT = """
import json, sys
import httpx
from mint_ext import Mint
ME = json.loads(sys.argv[1])
def handler(request):
    return httpx.Response(200, json=ME, headers={"x-request-id": "req_9"})
with Mint(api_key="sk-SECRET-123", base_url="http://mint.test",
          transport=httpx.MockTransport(handler)) as mint:
    mint.request("GET", "/v1/me", params={"sig": "SIGNATURE"})
    mint.request("GET", "/v1/me")
"""


@pytest.mark.parametrize("level", ["info", "debug", None])
def test_logging_switch(level: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MINT_LOG"}
    if level:
        env["MINT_LOG"] = level
    me = json.dumps(EXAMPLES["Me"])
    done = subprocess.run([sys.executable, "-c", _LOG_SCRIPT, me], env=env, capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    if level is None:
        assert done.stderr == ""  # nothing without the switch
        return
    lines = [line for line in done.stderr.splitlines() if "GET /v1/me" in line]
    assert len(lines) == 2, done.stderr
    assert all("-> 200" in line and "attempt 1" in line and "req_9" in line for line in lines)
    assert "SECRET" not in done.stderr and "SIGNATURE" not in done.stderr


def test_a_bad_logging_switch_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINT_LOG", "loud")
    with pytest.raises(ConfigurationError):
        Mint(api_key="k")


# ------------------------------------------------------------------------------ fork


def _child(client: Mint, op_id: str, queue: Any) -> None:
    try:
        got = [client.operations.get(op_id).id for _ in range(20)]
        queue.put((op_id, got))
    except BaseException as exc:  # reported, so the parent can say what went wrong
        queue.put((op_id, repr(exc)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_client_used_before_fork_works_in_the_children(fake_server: FakeServer) -> None:
    server = fake_server
    with Mint(api_key=server.api_key, base_url=server.base_url) as client:
        ops = [client.worlds.generate(prompt=f"world {i}").id for i in range(6)]
        client.operations.get(ops[0])  # the parent's pool now holds a live connection
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        children = [ctx.Process(target=_child, args=(client, op, queue)) for op in ops]
        for child in children:
            child.start()
        results = dict(queue.get(timeout=60) for _ in children)
        for child in children:
            child.join(timeout=60)
        assert results == {op: [op] * 20 for op in ops}
        assert client.operations.get(ops[1]).id == ops[1]  # the parent is unharmed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_callers_own_http_client_is_refused_after_fork() -> None:
    with httpx.Client() as http, Mint(api_key="k", http_client=http) as client:
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_child, args=(client, OP_ID, queue))
        child.start()
        _, outcome = queue.get(timeout=60)
        child.join(timeout=60)
    assert "ConfigurationError" in outcome and "fork" in outcome


def test_no_foreign_exception_for_a_dead_connection(scripted: Scripted) -> None:
    api, _ = scripted(httpx.ReadError("reset"), max_retries=0)
    with pytest.raises(APIConnectionError):
        api("call", get_operation, OP_ID)


# ------------------------------------------------------------ idempotency by job (issue 15)


def test_every_error_of_a_keyed_call_carries_its_key(
    scripted: Scripted,
) -> None:
    api, _ = scripted(httpx.ConnectError("refused"), max_retries=1)
    with pytest.raises(APIConnectionError) as raised:
        api("worlds.generate", prompt="p", idempotency_key="job-1")
    assert raised.value.idempotency_key == "job-1"
    with pytest.raises(APIConnectionError) as raised:
        api("operations.approve", OP_ID)
    assert raised.value.idempotency_key and raised.value.idempotency_key.startswith("mint-ext-")
    with pytest.raises(APIConnectionError) as raised:
        api("operations.get", OP_ID)
    assert raised.value.idempotency_key is None  # a GET has no key
    api2, _ = scripted(json_response(202, {"not": "an operation"}))
    with pytest.raises(ResponseValidationError) as bad:
        api2("models.generate", prompt="p", idempotency_key="job-2")
    assert bad.value.idempotency_key == "job-2"


@pytest.mark.parametrize(
    ("call", "args", "kwargs"),
    [
        ("worlds.generate", ("p",), {}),
        ("models.generate", ("p",), {}),
        ("models.optimize", ("model_1",), {}),
        ("operations.approve", (OP_ID,), {}),
        ("operations.revise", (OP_ID,), {"feedback": "warmer"}),
        ("operations.resume", (OP_ID,), {}),
        ("call", (generate_world,), {"body": gen.GenerateWorldRequest(prompt="p")}),
        ("request", ("POST", "/v1/worlds:generate"), {"json": {"prompt": "p"}}),
    ],
)
def test_require_idempotency_key(
    scripted: Scripted, call: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    api, wire = scripted(require_idempotency_key=True)
    with pytest.raises(InvalidArgumentError, match="idempotency_key"):
        api(call, *args, **kwargs)
    assert wire.requests == []
    if call == "request":
        api(call, *args, headers={"Idempotency-Key": "job-3"}, **kwargs)
    else:
        api(call, *args, idempotency_key="job-3", **kwargs)
    assert wire.last.headers["idempotency-key"] == "job-3"
    api("operations.get", OP_ID)  # reads need no key


def test_the_same_job_key_gives_the_same_operation(on_fake: Api, fake: FakeMint) -> None:
    key = idempotency_key("make_world", "job-77")
    first = on_fake("worlds.generate", prompt="A greenhouse", idempotency_key=key)
    again = on_fake("worlds.generate", prompt="A greenhouse", idempotency_key=key)
    assert first.id == again.id and fake.operation_count() == 1


def test_listings_stop_when_a_page_repeats_anywhere(
    scripted: Scripted,
) -> None:
    world = EXAMPLES["World"]
    a = json_response(200, {"data": [world], "pagination": {"hasMore": True, "nextCursor": "c1"}})
    b = json_response(200, {"data": [dict(world, id="world_2")],
                            "pagination": {"hasMore": True, "nextCursor": "c2"}})  # fmt: skip
    a2 = json_response(200, {"data": [world], "pagination": {"hasMore": True, "nextCursor": "c3"}})
    api, wire = scripted(a, b, a2, b)
    with pytest.raises(MintError, match="same page"):
        api.each("worlds.list")
    assert len(wire.requests) == 3


def _async_child(client: AsyncMint, op_id: str, queue: Any) -> None:
    async def fetch() -> list[str]:
        return [(await client.operations.get(op_id)).id for _ in range(10)]

    try:
        queue.put((op_id, asyncio.run(fetch())))
    except BaseException as exc:
        queue.put((op_id, repr(exc)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_an_async_client_used_before_fork_works_in_the_children(fake_server: FakeServer) -> None:
    server = fake_server
    client = AsyncMint(api_key=server.api_key, base_url=server.base_url)

    async def start() -> list[str]:
        ops = [(await client.worlds.generate(prompt=f"w {i}")).id for i in range(4)]
        await client.operations.get(ops[0])  # a live connection in the parent's pool
        return ops

    ops = asyncio.run(start())
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    children = [ctx.Process(target=_async_child, args=(client, op, queue)) for op in ops]
    for child in children:
        child.start()
    results = dict(queue.get(timeout=60) for _ in children)
    for child in children:
        child.join(timeout=60)
    assert results == {op: [op] * 10 for op in ops}
