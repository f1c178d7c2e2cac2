"""End to end: Mint and AsyncMint against the fake Mint server on loopback (real sockets).

The client's sleep advances the fake's clock, so lifecycles and poll schedules run in simulated
time; every test body runs for both the sync and the async client.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable

import pytest

from mint_ext import (
    APIConnectionError,
    AuthenticationError,
    BillingRequiredError,
    ConflictError,
    IdempotencyConflictError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    OperationCanceledError,
    OperationFailedError,
    ResponseValidationError,
    UnprocessableEntityError,
    WaitTimeoutError,
)
from mint_ext.testing import FakeClock, FakeMint, Fault, serve_fake_mint

from ._harness import Api, Loopback


def test_review_flow_generate_wait_approve_wait(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    op = e.api(
        "worlds.generate", prompt="A greenhouse", generation_mode="review", generation_preset="fast"
    )
    assert op.status == "queued" and op.id.startswith("op_")
    seen: list[str] = []
    op = e.api("operations.wait", op, on_update=lambda o: seen.append(o.status))
    assert op.status == "preview_ready" and op.needs_action
    assert op.assets is not None and op.assets.preview_image_url
    op = e.api("operations.approve", op)
    op = e.api("operations.wait", op)
    assert op.status == "succeeded" and op.completed_at is not None
    assert op.assets is not None and set(op.assets.spz_urls) >= {"100k", "500k", "full_res"}
    assert seen[-1] == "preview_ready" and "running" in seen
    world = e.api("worlds.get", op.resource_id)
    assert world.id == op.resource_id and world.asset_stage == "final"
    assert [w.id for w in e.api.each("worlds.list")] == [world.id]


def test_revise_produces_a_new_preview(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    op = e.api("operations.wait", e.api("worlds.generate", prompt="x", generation_mode="review"))
    first = op.assets.preview_image_url
    op = e.api("operations.revise", op, feedback="warmer light")
    assert op.status == "running"
    op = e.api("operations.wait", op)
    assert op.status == "preview_ready" and op.assets.preview_image_url != first


def test_models_optimize_account(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    op = e.api("operations.wait", e.api("models.generate", prompt="lantern", name="L"))
    assert op.status == "succeeded" and op.type == "model_generation"
    model = e.api("models.get", op.resource_id)
    assert model.assets is not None and model.assets.glb_url
    opt = e.api("operations.wait", e.api("models.optimize", model, level="aggressive"))
    assert opt.type == "model_optimization" and opt.optimization_level == "aggressive"
    assert e.api("models.get", model.id).assets.optimized_glb_url
    with pytest.raises(ConflictError) as info:
        e.api("models.optimize", model)
    assert info.value.problem_slug == "model-already-optimized"
    assert e.api("account.me").user_id
    assert e.api("account.usage").credits_available >= 0


@pytest.mark.parametrize(
    ("outcome", "error"),
    [("failed", OperationFailedError), ("billing_required", BillingRequiredError)],
)
def test_scripted_outcomes_raise(
    on_loopback: Callable[..., Loopback], outcome: str, error: type[Exception]
) -> None:
    e = on_loopback()
    e.fake.script(outcome)
    op = e.api("worlds.generate", prompt="x")
    with pytest.raises(error) as info:
        e.api("operations.wait", op)
    if outcome == "billing_required":
        assert info.value.billing.required_credits > 0  # type: ignore[attr-defined]
        e.api("operations.resume", op)
        assert e.api("operations.wait", op).status == "succeeded"
    else:
        assert info.value.code  # type: ignore[attr-defined]


def test_partial_success_and_cancel_and_unknown_status(
    on_loopback: Callable[..., Loopback],
) -> None:
    e = on_loopback()
    e.fake.script("partially_succeeded")
    op = e.api("operations.wait", e.api("worlds.generate", prompt="x"))
    assert op.is_succeeded and op.is_partial
    e.fake.script("unknown_status")
    op = e.api("operations.wait", e.api("worlds.generate", prompt="y"))
    assert op.status == "succeeded"
    op = e.api("worlds.generate", prompt="z")
    e.fake.cancel(op.id)
    with pytest.raises(OperationCanceledError) as info:
        e.api("operations.wait", op)
    assert info.value.operation.canceled_at is not None


def test_errors_from_the_server_are_typed(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    with pytest.raises(NotFoundError) as nf:
        e.api("operations.get", "op_DOESNOTEXIST")
    assert nf.value.request_id
    with pytest.raises(InvalidArgumentError, match="prompt"):
        e.api("worlds.generate", prompt="x" * 4001)  # the spec's maxLength, checked locally
    with pytest.raises(UnprocessableEntityError) as bad:  # the server's own check, bypassing ours
        e.api("worlds.generate", prompt="x", extra_body={"prompt": "x" * 4001})
    assert bad.value.errors and "prompt" in str(bad.value)
    op = e.api("worlds.generate", prompt="x")
    with pytest.raises(ConflictError):
        e.api("operations.approve", op)  # not preview-ready
    e.api("worlds.generate", prompt="a", idempotency_key="k-1")
    with pytest.raises(IdempotencyConflictError):
        e.api("worlds.generate", prompt="b", idempotency_key="k-1")
    wrong = Api(e.api.mode, base_url=e.server.base_url, api_key="not-a-key")
    with pytest.raises(AuthenticationError):
        wrong("account.me")
    wrong.close()


def test_a_lost_answer_is_retried_without_a_second_operation(
    on_loopback: Callable[..., Loopback],
) -> None:
    e = on_loopback()
    e.fake.inject(Fault.drop(), route="POST /v1/worlds:generate")
    e.fake.inject(Fault.status(503, retry_after="1"), route="POST /v1/worlds:generate")
    op = e.api("worlds.generate", prompt="paid once")
    assert e.fake.operation_count() == 1
    posts = [r for r in e.fake.requests if r.method == "POST"]
    assert len(posts) == 3 and len({r.headers["idempotency-key"] for r in posts}) == 1
    assert e.fake.operation_ids() == [op.id]


def test_retry_after_seconds_and_date_on_the_wire(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    date = email.utils.formatdate(e.fake.now() + 4, usegmt=True)
    e.fake.inject(Fault.status(429, retry_after="2"), route="GET /v1/me")
    e.fake.inject(Fault.status(503, retry_after=date), route="GET /v1/me")
    assert e.api("account.me").user_id
    assert e.api.time.sleeps[0] == 2.0
    assert 1.0 <= e.api.time.sleeps[1] <= 4.0  # the HTTP-date has one-second resolution


def test_bad_answers_on_the_wire(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback(client={"max_retries": 1})
    e.fake.inject(Fault.status(520), route="GET /v1/usage", times=2)
    with pytest.raises(InternalServerError) as info:
        e.api("account.usage")
    assert info.value.status_code == 520
    e.fake.inject(Fault.html(502), route="GET /v1/usage", times=2)
    with pytest.raises(InternalServerError):
        e.api("account.usage")
    e.fake.inject(Fault.malformed_json(), route="GET /v1/usage")
    with pytest.raises(ResponseValidationError) as bad:
        e.api("account.usage")
    assert bad.value.body
    e.fake.inject(Fault.drop(), route="GET /v1/usage", times=2)
    with pytest.raises(APIConnectionError):
        e.api("account.usage")


def test_unknown_status_mid_wait_keeps_polling(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    op = e.api("worlds.generate", prompt="x")
    e.fake.inject(Fault.unknown_status("paused"), route="GET /v1/operations/{operationId}", times=2)
    statuses: list[str] = []
    assert (
        e.api("operations.wait", op, on_update=lambda o: statuses.append(o.status)).status
        == "succeeded"
    )
    assert "paused" in statuses


def test_transient_errors_mid_wait(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback(client={"max_retries": 0})
    op = e.api("worlds.generate", prompt="x")
    route = "GET /v1/operations/{operationId}"
    e.fake.inject(Fault.status(503, retry_after="1"), route=route, times=2)
    e.fake.inject(Fault.status(429, retry_after="2"), route=route)
    e.fake.inject(Fault.drop(), route=route)
    assert e.api("operations.wait", op).status == "succeeded"


def test_wait_timeout_and_resume_by_id(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    op = e.api("worlds.generate", prompt="x")
    with pytest.raises(WaitTimeoutError) as info:
        e.api("operations.wait", op, timeout=2.0)
    assert info.value.operation_id == op.id
    assert sum(e.api.time.sleeps) <= 2.0 + 1e-6
    assert e.api("operations.wait", op.id).status == "succeeded"


def test_pagination_across_pages(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    ids = e.fake.seed_worlds(45)
    e.fake.clear_requests()
    got = [w.id for w in e.api.each("worlds.list", limit=10)]
    assert sorted(got) == sorted(ids) and len(got) == 45
    assert len([r for r in e.fake.requests if r.path == "/v1/worlds"]) == 5


def test_wait_many_bounds_concurrency_at_the_server(on_loopback: Callable[..., Loopback]) -> None:
    e = on_loopback()
    ops = [e.api("models.generate", prompt=f"thing {i}") for i in range(200)]
    e.fake.script("failed")  # the next one fails; it must not hide the others
    ops.append(e.api("models.generate", prompt="doomed"))
    e.fake.reset_peak()
    results = e.api("operations.wait_many", ops, max_concurrency=8, max_rate=10_000)
    assert len(results) == 201
    assert sum(r.ok for r in results) == 200
    assert isinstance(results[-1].error, OperationFailedError)
    assert 1 <= e.fake.peak_concurrency <= 8  # the bound holds at the server


def test_leaving_as_completed_early_does_not_wait_for_a_poll_in_flight(mode: str) -> None:
    """Breaking out of the loop (or Ctrl-C) returns at once; a poll that the server is still
    answering finishes in the background instead of holding the caller."""
    import asyncio

    from mint_ext import AsyncMint, Mint

    fake = FakeMint(clock=FakeClock())
    with serve_fake_mint(fake) as server:
        kwargs = {"api_key": server.api_key, "base_url": server.base_url}
        with Mint(**kwargs) as mint:
            ids = [mint.models.generate(prompt=f"m{i}").id for i in range(2)]
        fake.advance(3600)  # both finished: the first answered poll ends the loop
        fake.inject(Fault.slow(3.0), route="GET /v1/operations/*", times=1)
        in_flight_after_break: list[int] = []
        if mode == "sync":
            with Mint(**kwargs) as mint:
                for _ in mint.operations.as_completed(ids, timeout=60):
                    break
                in_flight_after_break.append(fake.in_flight)
        else:

            async def main() -> None:
                async with AsyncMint(**kwargs) as mint:
                    results = mint.operations.as_completed(ids, timeout=60)
                    async for _ in results:
                        break
                    await results.aclose()  # type: ignore[attr-defined]
                    in_flight_after_break.append(fake.in_flight)

            asyncio.run(main())
    assert in_flight_after_break == [1]  # the slow poll was still being answered
