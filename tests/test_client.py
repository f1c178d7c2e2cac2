"""mint_ext client core, against an in-process transport; every test runs sync and async."""

from __future__ import annotations

import copy
import email.utils
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import mint_ext
from mint_ext import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    IdempotencyConflictError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidArgumentError,
    MintError,
    NotFoundError,
    Operation,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    UnprocessableEntityError,
    World,
    WorldAssets,
)
from mint_ext._retry import parse_retry_after

from ._harness import EXAMPLES, OP, Api, FakeTime, Scripted, Wire, json_response, op_json, problem

SECRET = "sk-live-VERY-SECRET-123"


# ------------------------------------------------------------------------------- resources


def test_every_resource_call_sends_the_right_request(scripted: Scripted) -> None:
    world = EXAMPLES["World"]
    model = EXAMPLES["Model"]

    def handler(request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if method == "POST":
            return json_response(202, op_json(status="queued"), Location="/v1/operations/op_1")
        if path == "/v1/me":
            return json_response(200, EXAMPLES["Me"])
        if path == "/v1/usage":
            return json_response(200, EXAMPLES["Usage"])
        ident = path.rsplit("/", 1)[-1]  # a read answers about the object it names
        if path.startswith("/v1/operations/"):
            return json_response(200, op_json(id=ident))
        if path.startswith("/v1/worlds/"):
            return json_response(200, dict(world, id=ident))
        if path.startswith("/v1/models/"):
            return json_response(200, dict(model, id=ident))
        if path == "/v1/worlds":
            return json_response(
                200, {"data": [world], "pagination": {"nextCursor": None, "hasMore": False}}
            )
        if path == "/v1/models":
            return json_response(
                200, {"data": [model], "pagination": {"nextCursor": None, "hasMore": False}}
            )
        return json_response(404, problem(404, "not-found"))

    api, wire = scripted(handler=handler)
    op = api(
        "worlds.generate",
        prompt="A greenhouse",
        generation_mode="review",
        generation_preset="fast",
        display_name="GH",
        source_images=["https://a/1.png", "https://a/2.png"],
    )
    assert isinstance(op, Operation) and op.status == "queued"
    api("models.generate", prompt="A lantern", name="L", rigging_pose="t_pose")
    api("models.optimize", "model_1", level="aggressive")
    api("operations.get", "op_1")
    api("operations.approve", op)
    api("operations.revise", "op_1", feedback="warmer")
    api("operations.resume", "op_1")
    assert api("worlds.get", "world_1").id == "world_1"
    assert api("models.get", "model_1").id == "model_1"
    assert [w.id for w in api.each("worlds.list")] == [world["id"]]
    assert [m.id for m in api.each("models.list", limit=5)] == [model["id"]]
    me = api("account.me")
    assert me.user_id == EXAMPLES["Me"]["owner"]["userId"]
    assert api("account.usage").credits_available == 880

    sent = [(r.method, r.url.path, r.url.query.decode()) for r in wire.requests]
    assert sent == [
        ("POST", "/v1/worlds:generate", ""),
        ("POST", "/v1/models:generate", ""),
        ("POST", "/v1/models/model_1:optimize", ""),
        ("GET", "/v1/operations/op_1", ""),
        ("POST", f"/v1/operations/{OP['id']}:approve", ""),
        ("POST", "/v1/operations/op_1:revise", ""),
        ("POST", "/v1/operations/op_1:resume", ""),
        ("GET", "/v1/worlds/world_1", ""),
        ("GET", "/v1/models/model_1", ""),
        ("GET", "/v1/worlds", ""),
        ("GET", "/v1/models", "limit=5"),
        ("GET", "/v1/me", ""),
        ("GET", "/v1/usage", ""),
    ]
    import json

    bodies = [json.loads(r.content) if r.content else None for r in wire.requests]
    assert bodies[0] == {
        "prompt": "A greenhouse",
        "generationMode": "review",
        "generationPreset": "fast",
        "displayName": "GH",
        "sourceImages": ["https://a/1.png", "https://a/2.png"],
    }
    assert bodies[1] == {"prompt": "A lantern", "name": "L", "riggingPose": "t_pose"}
    assert bodies[2] == {"optimizationLevel": "aggressive"}
    assert bodies[4] == {} and bodies[6] == {}
    assert bodies[5] == {"feedback": "warmer"}
    for r in wire.requests:
        assert r.headers["authorization"] == "Bearer test-key"
        assert r.headers["user-agent"] == f"mint-ext/{mint_ext.__version__}"
        if r.method == "POST":
            assert 1 <= len(r.headers["idempotency-key"]) <= 255
        assert r.extensions["timeout"]["read"] == 30.0  # a finite default timeout
    keys = [r.headers["idempotency-key"] for r in wire.requests if r.method == "POST"]
    assert len(set(keys)) == len(keys)  # one key per logical call


def test_bad_arguments_raise_before_any_request(scripted: Scripted) -> None:
    api, wire = scripted(then="fail")  # a request is a failure, whatever the SDK makes of it
    with pytest.raises(InvalidArgumentError, match="generation_preset"):
        api("worlds.generate", prompt="x", generation_preset="ultra")
    with pytest.raises(InvalidArgumentError, match="unexpected keyword"):
        api("worlds.generate", prompt="x", displayName="camelCase")
    with pytest.raises(InvalidArgumentError):
        api("operations.revise", "op_1", feedback="")
    with pytest.raises(InvalidArgumentError):
        api("operations.get", "")
    with pytest.raises(InvalidArgumentError):
        api("worlds.list_page", limit=500)
    assert wire.requests == []
    assert issubclass(InvalidArgumentError, ValueError) and issubclass(
        InvalidArgumentError, MintError
    )


def test_configuration_from_environment(
    monkeypatch: pytest.MonkeyPatch, mode: str, scripted: Scripted
) -> None:
    monkeypatch.delenv("MINT_API_KEY", raising=False)
    monkeypatch.delenv("MINT_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="MINT_API_KEY"):
        Api(mode, api_key=None)
    monkeypatch.setenv("MINT_API_KEY", "env-key")
    monkeypatch.setenv("MINT_BASE_URL", "http://127.0.0.1:9/v1/")
    api, wire = scripted(json_response(200, EXAMPLES["Me"]), api_key=None, base_url=None)
    api("account.me")
    assert str(wire.requests[0].url) == "http://127.0.0.1:9/v1/me"
    assert wire.requests[0].headers["authorization"] == "Bearer env-key"
    monkeypatch.delenv("MINT_BASE_URL")
    default = Api(mode, api_key="k", base_url=None)
    assert default.client.base_url == "https://api.mint.gg"
    default.close()
    with pytest.raises(ConfigurationError):
        Api(mode, base_url="ftp://nope")


# ------------------------------------------------------------------------------- errors

ERROR_CASES = [
    (400, "bad-request", UnprocessableEntityError),
    (401, "unauthorized", AuthenticationError),
    (402, "insufficient-credits", InsufficientCreditsError),
    (403, "forbidden", PermissionDeniedError),
    (404, "not-found", NotFoundError),
    (409, "operation-not-awaiting-review", ConflictError),
    (409, "idempotency-conflict", IdempotencyConflictError),
    (422, "validation-failed", UnprocessableEntityError),
    (418, "teapot", APIStatusError),
]


@pytest.mark.parametrize(("status", "slug", "cls"), ERROR_CASES)
def test_each_error_status_maps_to_its_class(
    scripted: Scripted, status: int, slug: str, cls: type[APIStatusError]
) -> None:
    body = problem(
        status,
        slug,
        detail="what went wrong",
        errors=[{"path": "/prompt", "code": "too_long", "message": "too long"}],
    )
    api, _ = scripted(json_response(status, body, **{"X-Request-Id": "req_42"}))
    with pytest.raises(cls) as info:
        api("operations.get", OP["id"])
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert (
        err.type == body["type"] and err.title == body["title"] and err.detail == "what went wrong"
    )
    assert err.errors[0]["code"] == "too_long"
    assert err.request_id == "req_42" and "req_42" in str(err)
    assert err.response.status_code == status
    assert err.problem_slug == slug


@pytest.mark.parametrize("status", [500, 502, 503, 520])
def test_5xx_including_520_is_internal_server_error_after_retries(
    scripted: Scripted, status: int
) -> None:
    api, wire = scripted(
        httpx.Response(
            status,
            text="<html><body>Cloudflare</body></html>",
            headers={"content-type": "text/html"},
        ),
        max_retries=3,
    )
    with pytest.raises(InternalServerError) as info:
        api("operations.get", OP["id"])
    assert info.value.status_code == status and info.value.type is None
    assert len(wire.requests) == 4  # 1 + 3 retries


def test_html_or_malformed_body_on_success_is_response_validation_error(
    scripted: Scripted,
) -> None:
    html = httpx.Response(
        200, text="<!doctype html><p>maintenance</p>", headers={"content-type": "text/html"}
    )
    api, _ = scripted(
        html,
        httpx.Response(200, text='{"object": "operation", "id": '),
        json_response(200, {"object": "operation"}),
        json_response(200, [1, 2]),
    )
    for _ in range(4):
        with pytest.raises(ResponseValidationError) as info:
            api("operations.get", OP["id"])
        assert info.value.response.status_code == 200
        assert info.value.body == info.value.response.content


def test_unknown_status_and_extra_fields_parse(scripted: Scripted) -> None:
    api, _ = scripted(json_response(200, op_json(status="paused", shinyNewField=[1])))
    op = api("operations.get", OP["id"])
    assert op.status == "paused"
    assert op.is_active and not op.is_terminal and not op.needs_action
    assert op.to_dict()["shinyNewField"] == [1]


def test_world_assets_and_model_assets(scripted: Scripted) -> None:
    model_op = op_json(
        type="model_generation",
        resource={"type": "model", "id": "model_1"},
        assets=EXAMPLES["ModelAssets"] | {"fbxUrl": "https://cdn.mint.gg/x.fbx"},
    )
    # A preview's world assets: only the image yet (spzUrls is required by the spec, null here).
    preview_only = op_json(
        status="preview_ready",
        assets={"previewImageUrl": "https://cdn.mint.gg/p.png", "spzUrls": None},
    )
    api, _ = scripted(
        json_response(200, op_json()),
        json_response(200, model_op),
        json_response(200, preview_only),
    )
    world = api("operations.get", OP["id"])
    assert isinstance(world.assets, WorldAssets)
    assert set(world.assets.spz_urls) == {"100k", "500k", "full_res"}
    model = api("operations.get", OP["id"])
    assert isinstance(model.assets, mint_ext.ModelAssets)
    assert model.assets.glb_url and model.assets.other_urls == {
        "fbxUrl": "https://cdn.mint.gg/x.fbx"
    }
    preview = api("operations.get", OP["id"])  # neither generated variant parses: decided by type
    assert isinstance(preview.assets, WorldAssets)
    assert preview.assets.preview_image_url == "https://cdn.mint.gg/p.png"


# ------------------------------------------------------------------------------- retries


def test_retry_after_seconds_and_http_date_are_honoured(scripted: Scripted) -> None:
    time = FakeTime()
    date = email.utils.formatdate(time.now + 3 + 7, usegmt=True)  # 7 s after the first sleep
    api, _ = scripted(
        json_response(429, problem(429, "rate-limited"), **{"Retry-After": "3"}),
        json_response(503, problem(503, "unavailable"), **{"Retry-After": date}),
        json_response(200, op_json()),
        time=time,
        max_retries=2,
    )
    assert api("operations.get", OP["id"]).id == OP["id"]
    assert time.sleeps == [3.0, 7.0]


def test_retry_after_is_clamped(scripted: Scripted) -> None:
    time = FakeTime()
    api, _ = scripted(
        json_response(503, problem(503), **{"Retry-After": "86400"}),
        json_response(200, op_json()),
        time=time,
        retry=RetryPolicy(max_retries=1, max_retry_after=20.0),
    )
    api("operations.get", OP["id"])
    assert time.sleeps == [20.0]


def test_backoff_is_exponential_with_full_jitter(scripted: Scripted) -> None:
    time = FakeTime()
    api, _ = scripted(
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("x"),
        json_response(200, op_json()),
        time=time,
        rng=lambda: 1.0,
        retry=RetryPolicy(max_retries=3, initial_delay=0.5, max_delay=1.5),
    )
    api("operations.get", OP["id"])
    assert time.sleeps == [0.5, 1.0, 1.5]
    time2 = FakeTime()
    api2, _ = scripted(
        httpx.ConnectError("x"), json_response(200, op_json()), time=time2, rng=lambda: 0.25
    )
    api2("operations.get", OP["id"])
    assert time2.sleeps == [0.125]


def test_rate_limit_error_carries_retry_after_when_retries_run_out(
    scripted: Scripted,
) -> None:
    api, _ = scripted(json_response(429, problem(429), **{"Retry-After": "12"}), max_retries=0)
    with pytest.raises(RateLimitError) as info:
        api("operations.get", OP["id"])
    assert info.value.retry_after == 12.0


def test_non_transient_errors_are_not_retried(scripted: Scripted) -> None:
    api, wire = scripted(json_response(422, problem(422)), max_retries=5)
    with pytest.raises(UnprocessableEntityError):
        api("worlds.generate", prompt="x")
    assert len(wire.requests) == 1


def test_connection_errors_and_timeouts_are_typed(scripted: Scripted) -> None:
    api, _ = scripted(httpx.ConnectError("refused"), max_retries=1)
    with pytest.raises(APIConnectionError) as info:
        api("operations.get", OP["id"])
    assert not isinstance(info.value, APITimeoutError)
    api2, _ = scripted(httpx.ReadTimeout("slow"), max_retries=0)
    with pytest.raises(APITimeoutError):
        api2("operations.get", OP["id"])
    api3, _ = scripted(httpx.RemoteProtocolError("peer closed"), max_retries=0)
    with pytest.raises(APIConnectionError):
        api3("operations.get", "op_1")


def test_a_retried_post_reuses_its_idempotency_key(scripted: Scripted) -> None:
    api, wire = scripted(
        httpx.ReadTimeout("lost answer"),
        json_response(502, problem(502)),
        json_response(202, op_json(status="queued")),
        max_retries=3,
    )
    api("worlds.generate", prompt="x")
    keys = {r.headers["idempotency-key"] for r in wire.requests}
    assert len(wire.requests) == 3 and len(keys) == 1
    # A caller-chosen key is sent as given, on every attempt.
    api2, wire2 = scripted(
        json_response(503, problem(503)), json_response(202, op_json()), max_retries=1
    )
    api2("models.generate", prompt="x", idempotency_key="order-77")
    assert [r.headers["idempotency-key"] for r in wire2.requests] == ["order-77", "order-77"]


# ------------------------------------------------------------------------------- pagination


def _pages(n_pages: int, per_page: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        index = int(cursor.removeprefix("c")) if cursor else 0
        items = []
        for i in range(per_page):
            w = copy.deepcopy(EXAMPLES["World"])
            w["id"] = f"world_{index}_{i}"
            items.append(w)
        last = index == n_pages - 1
        return json_response(
            200,
            {
                "data": items,
                "pagination": {
                    "nextCursor": None if last else f"c{index + 1}",
                    "hasMore": not last,
                },
            },
        )

    return handler


def test_pagination_follows_cursors_lazily(scripted: Scripted) -> None:
    api, wire = scripted(handler=_pages(4, 3))
    worlds = api.each("worlds.list", limit=3)
    assert [w.id for w in worlds] == [f"world_{p}_{i}" for p in range(4) for i in range(3)]
    assert all(isinstance(w, World) for w in worlds)
    assert [r.url.params.get("cursor") for r in wire.requests] == [None, "c1", "c2", "c3"]
    assert all(r.url.params["limit"] == "3" for r in wire.requests)
    # The page-level API.
    page = api("worlds.list_page", limit=3, cursor="c2")
    assert page.next_cursor == "c3" and page.has_more and len(page) == 3
    pages = api.collect(api.call_only("worlds.list", limit=2).pages())
    assert [len(p) for p in pages] == [3, 3, 3, 3]
    assert pages[-1].next_cursor is None and not pages[-1].has_more


def test_pagination_is_lazy(scripted: Scripted) -> None:
    api, wire = scripted(handler=_pages(50, 2))
    pager = api.call_only("worlds.list")
    assert wire.requests == []
    if api.mode == "sync":
        first = [next(pager) for _ in range(3)]
    else:
        first = [api.run(pager.__anext__()) for _ in range(3)]
    assert len(first) == 3 and len(wire.requests) == 2


def test_a_repeated_cursor_is_an_error_not_a_loop(scripted: Scripted) -> None:
    page = {"data": [], "pagination": {"nextCursor": "same", "hasMore": True}}
    api, _ = scripted(json_response(200, page))
    with pytest.raises(MintError, match="repeated"):
        api.each("models.list")


def test_endless_empty_pages_with_new_cursors_are_an_error_not_a_loop(
    scripted: Scripted,
) -> None:
    from mint_ext._core import MAX_EMPTY_PAGES

    counter = iter(range(10_000))

    def empty_page(request: httpx.Request) -> httpx.Response:
        cursor = f"c{next(counter)}"
        return json_response(
            200, {"data": [], "pagination": {"nextCursor": cursor, "hasMore": True}}
        )

    api, wire = scripted(handler=empty_page)
    with pytest.raises(MintError, match="empty pages in a row"):
        api.each("models.list")
    assert len(wire.requests) == MAX_EMPTY_PAGES + 1


@pytest.mark.parametrize(
    "pagination", [{"hasMore": "yes", "nextCursor": "c1"}, {"hasMore": True, "nextCursor": 5}]
)
def test_pagination_fields_of_the_wrong_type_are_a_malformed_page(
    scripted: Scripted, pagination: dict[str, Any]
) -> None:
    """``"hasMore": "yes"`` used to end the listing silently after one page."""
    model = EXAMPLES["Model"]
    api, _ = scripted(json_response(200, {"data": [model], "pagination": pagination}))
    with pytest.raises(ResponseValidationError, match="pagination"):
        api.each("models.list")


def test_the_same_page_under_a_new_cursor_is_an_error_not_a_loop(
    scripted: Scripted,
) -> None:
    model = EXAMPLES["Model"]
    counter = iter(range(10_000))

    def same_page(request: httpx.Request) -> httpx.Response:
        pagination = {"nextCursor": f"c{next(counter)}", "hasMore": True}
        return json_response(200, {"data": [model], "pagination": pagination})

    api, wire = scripted(handler=same_page)
    with pytest.raises(MintError, match="same page twice"):
        api.each("models.list")
    assert len(wire.requests) == 2


def test_empty_pages_between_full_ones_are_followed(scripted: Scripted) -> None:
    """Only a long run of empty pages is suspicious: a few in between are a normal listing."""
    model = EXAMPLES["Model"]
    answers = []
    for i in range(3):
        answers += [json_response(200, {"data": [], "pagination": {"nextCursor": f"e{i}{j}",
                                                                   "hasMore": True}})
                    for j in range(30)]  # fmt: skip
        answers.append(json_response(200, {"data": [dict(model, id=f"model_{i}")],
                                           "pagination": {"nextCursor": f"f{i}", "hasMore": i < 2}}))  # fmt: skip
    api, _ = scripted(*answers)
    assert [m.id for m in api.each("models.list")] == ["model_0", "model_1", "model_2"]


# ------------------------------------------------------------------------------- secrets


def test_api_key_never_leaks(scripted: Scripted, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mint_ext")
    api, _ = scripted(
        json_response(401, problem(401, "unauthorized", detail="bad key")),
        httpx.ConnectError("refused"),
        api_key=SECRET,
        max_retries=0,
    )
    with pytest.raises(AuthenticationError) as e1:
        api("account.me")
    with pytest.raises(APIConnectionError) as e2:
        api("account.me")
    texts = [
        repr(api.client),
        str(api.client),
        str(e1.value),
        repr(e1.value),
        str(e2.value),
        repr(e2.value),
        repr(api.client._runner),
        caplog.text,
    ]
    for text in texts:
        assert SECRET not in text
    assert "GET /v1/me -> 401" in caplog.text  # one debug line per request, without secrets
    assert "attempt 1" in caplog.text


def test_user_supplied_http_client_is_used_and_not_closed(mode: str) -> None:
    wire = Wire(json_response(200, EXAMPLES["Me"]))
    if mode == "sync":
        http = httpx.Client(transport=wire.transport())
        with mint_ext.Mint(api_key="k", base_url="http://x", http_client=http) as mint:
            mint.account.me()
        assert not http.is_closed
        http.close()
    else:
        import asyncio

        async def go() -> None:
            http = httpx.AsyncClient(transport=wire.transport())
            async with mint_ext.AsyncMint(
                api_key="k", base_url="http://x", http_client=http
            ) as mint:
                await mint.account.me()
            assert not http.is_closed
            await http.aclose()

        asyncio.run(go())
    assert len(wire.requests) == 1


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-3") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 + 5) == 0.0


PUBLIC_NAMES = [
    "APIConnectionError", "APIStatusError", "APITimeoutError", "Account", "AssetReport",
    "AssetVerificationError", "AsyncMint", "AsyncPager", "AuthenticationError", "Billing",
    "BillingRequiredError", "ClientOptions", "Clock", "ConfigurationError", "ConflictError", "DownloadError",
    "DownloadInProgressError",
    "DownloadProgress", "DownloadReport", "ErrorInfo", "IdempotencyConflictError",
    "InsufficientCreditsError", "InternalServerError", "InvalidArgumentError", "Mint", "MintError",
    "Model", "ModelAssets", "NotFoundError", "Operation", "OperationCanceledError",
    "OperationError", "OperationFailedError", "Page", "Pager", "PermissionDeniedError",
    "PollPolicy", "RateLimitError", "RawResponse", "RequestOptions", "ResourceRef", "ResponseValidationError", "RetryPolicy",
    "UnprocessableEntityError", "UnsafePathError", "UnsafeRedirectError", "Usage", "WaitFailed",
    "WaitOk", "WaitOptions", "WaitResult", "WaitTimeoutError", "World", "WorldAssets", "__version__", "idempotency_key",
    "status",
]  # fmt: skip


def test_public_names_are_pinned() -> None:
    # Changing the public surface is a decision: update this list in the same commit.
    assert mint_ext.__all__ == PUBLIC_NAMES
    for name in mint_ext.__all__:
        assert hasattr(mint_ext, name), name
    assert "mint_client" not in dir(mint_ext)
    errors = [getattr(mint_ext, n) for n in PUBLIC_NAMES if n.endswith("Error")]
    assert all(issubclass(e, mint_ext.MintError) for e in errors)  # one error tree


def test_status_module_predicates() -> None:
    from mint_ext import status

    assert status.is_terminal("succeeded") and status.is_terminal("canceled")
    assert not status.is_terminal("paused") and status.is_active("paused")
    assert status.is_succeeded("partially_succeeded") and status.is_partial("partially_succeeded")
    assert status.needs_action("billing_required")
    assert status.needs_action("preview_ready", "review")
    assert not status.needs_action("preview_ready", "auto")
    assert not status.is_active("preview_ready") and not status.is_active("billing_required")
