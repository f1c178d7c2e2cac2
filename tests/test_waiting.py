"""Waiting on operations: stop states, the poll schedule, the deadline, many at once.

Time is a FakeTime shared by the client (sleep, monotonic, wall) and the scripted server, so every
schedule is exact and no test waits for real.
"""

from __future__ import annotations

import email.utils
import functools
import inspect
import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mint_ext import (
    BillingRequiredError,
    Operation,
    OperationCanceledError,
    OperationFailedError,
    PollPolicy,
    WaitTimeoutError,
)
from mint_ext._waiting import TokenBucket

from ._harness import EXAMPLES, Api, FakeTime, Scripted, Wire, json_response, op_json

BILLING = EXAMPLES["Billing"]


class Timeline:
    """A handler for the shared ``Wire``: answers GET /v1/operations/{id} from a timeline,
    ``{op_id: [(seconds since start, answer), ...]}``.

    An answer is a status string, a dict of operation fields (``_headers``: response headers),
    or an httpx.Response / exception, served once when due (before the state of that time).
    """

    def __init__(
        self, time: FakeTime, timelines: dict[str, list[tuple[float, Any]]], mode: str = "review"
    ):
        self.time = time
        self.start = time.now
        self.timelines = timelines
        self.mode = mode
        self.lock = threading.Lock()  # the sync wait_many polls from several threads

    def __call__(self, request: httpx.Request) -> httpx.Response:
        op_id = request.url.path.rsplit("/", 1)[-1]
        with self.lock:
            timeline = self.timelines[op_id]
            elapsed = self.time.now - self.start
            # one-shot answers (a response or an exception) due by now are served first, in order
            for index, (at, value) in enumerate(timeline):
                if at <= elapsed and isinstance(value, (httpx.Response, Exception)):
                    del timeline[index]
                    if isinstance(value, Exception):
                        raise value
                    return value
            answer = timeline[0][1]
            for at, value in timeline:
                if elapsed >= at:
                    answer = value
        answer = {"status": answer} if isinstance(answer, str) else dict(answer)
        headers = answer.pop("_headers", {})
        body = op_json(op_id, generationMode=self.mode, **answer)
        return json_response(200, body, **headers)


def polls(wire: Wire) -> list[tuple[float, str, Any]]:
    """Each request a Timeline answered: (seconds since its start, operation id, timeouts)."""
    timeline = wire.handler
    assert isinstance(timeline, Timeline), timeline
    return [
        (at - timeline.start, r.url.path.rsplit("/", 1)[-1], r.extensions.get("timeout"))
        for at, r in zip(wire.times, wire.requests, strict=True)
    ]


def timed(
    scripted: Scripted,
    timelines: dict[str, list[tuple[float, Any]]],
    *,
    gen_mode: str = "review",
    rng: Callable[[], float] = lambda: 0.5,
    overlap: int = 0,
    **client_kwargs: Any,
) -> tuple[Api, Wire]:
    """An Api on a Wire answered by a Timeline, sharing one FakeTime (rng 0.5: no jitter)."""
    time = FakeTime()
    return scripted(
        handler=Timeline(time, timelines, gen_mode),
        overlap=overlap,
        time=time,
        rng=rng,
        **client_kwargs,
    )


@pytest.fixture
def make(scripted: Scripted) -> Callable[..., tuple[Api, Wire]]:
    """``make(timelines, gen_mode=, rng=, **client_kwargs) -> (api, wire)``: see ``timed``."""
    return functools.partial(timed, scripted)


# ------------------------------------------------------------------------------- stop states


@pytest.mark.parametrize("final", ["succeeded", "partially_succeeded"])
def test_success_returns_the_operation(make: Callable[..., tuple[Api, Wire]], final: str) -> None:
    api, _ = make({"op_1": [(0, "queued"), (2, "running"), (5, final)]})
    op = api("operations.wait", "op_1")
    assert (
        op.status == final and op.is_succeeded and op.is_partial == (final == "partially_succeeded")
    )


def test_failed_raises_with_code_message_and_operation(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    error = {"code": "moderation_blocked", "message": "blocked"}
    api, _ = make({"op_1": [(0, "running"), (3, {"status": "failed", "error": error})]})
    with pytest.raises(OperationFailedError) as info:
        api("operations.wait", "op_1")
    assert info.value.code == "moderation_blocked" and info.value.error_message == "blocked"
    assert info.value.operation.status == "failed" and info.value.operation_id == "op_1"


def test_canceled_raises(make: Callable[..., tuple[Api, Wire]]) -> None:
    api, _ = make(
        {
            "op_1": [
                (0, "running"),
                (2, {"status": "canceled", "canceledAt": "2026-11-20T10:20:00Z"}),
            ]
        }
    )
    with pytest.raises(OperationCanceledError) as info:
        api("operations.wait", "op_1")
    assert info.value.operation.canceled_at is not None


def test_billing_required_raises_then_waiting_again_after_resume_continues(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    api, _ = make(
        {
            "op_1": [
                (0, "running"),
                (2, {"status": "billing_required", "billing": BILLING}),
                (30, "running"),
                (40, "succeeded"),
            ]
        }
    )
    with pytest.raises(BillingRequiredError) as info:
        api("operations.wait", "op_1")
    assert info.value.billing is not None and info.value.billing.required_credits == 120
    assert info.value.billing.action_url == BILLING["actionUrl"]
    api.time.advance(30)  # the user tops up and resumes; waiting again continues
    assert api("operations.wait", "op_1").status == "succeeded"


def test_review_mode_stops_at_preview_then_continues(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    api, _ = make(
        {"op_1": [(0, "running"), (4, "preview_ready"), (60, "running"), (70, "succeeded")]}
    )
    op = api("operations.wait", "op_1")
    assert op.status == "preview_ready" and op.needs_action
    api.time.advance(60)
    assert api("operations.wait", op).status == "succeeded"


def test_auto_mode_passes_through_preview(make: Callable[..., tuple[Api, Wire]]) -> None:
    api, _ = make(
        {"op_1": [(0, "running"), (2, "preview_ready"), (6, "succeeded")]}, gen_mode="auto"
    )
    seen: list[str] = []
    op = api("operations.wait", "op_1", on_update=lambda o: seen.append(o.status))
    assert op.status == "succeeded"
    assert seen == ["running", "preview_ready", "succeeded"]


def test_until_names_other_stop_states(make: Callable[..., tuple[Api, Wire]]) -> None:
    api, _ = make({"op_1": [(0, "queued"), (3, "running"), (9, "preview_ready")]}, gen_mode="auto")
    assert api("operations.wait", "op_1", until={"preview_ready"}).status == "preview_ready"
    assert api("operations.wait", "op_1", until="preview_ready").status == "preview_ready"


def test_unknown_status_keeps_polling(make: Callable[..., tuple[Api, Wire]]) -> None:
    api, wire = make({"op_1": [(0, "paused"), (20, "succeeded")]})
    assert api("operations.wait", "op_1").status == "succeeded"
    assert len(polls(wire)) > 3


# ------------------------------------------------------------------------------- schedule


def _gaps(wire: Wire) -> list[float]:
    times = [t for t, _, _ in polls(wire)]
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


GEOMETRIC = PollPolicy(initial=1.0, multiplier=1.5, max_delay=15.0, fraction=0.0)


def test_default_schedule_is_relative_to_the_time_waited(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    """2 s plus 8 % of the seconds already waited, capped at 20 s (rng 0.5: no jitter)."""
    api, wire = make({"op_1": [(0, "running"), (400, "succeeded")]})
    api("operations.wait", "op_1")
    expected = [2.0, 2.16, 2.3328, 2.519424, 2.72097792, 2.9386561536]
    assert _gaps(wire)[: len(expected)] == pytest.approx(expected)
    waited = 0.0
    for slept in api.time.sleeps:  # each gap is 2 + 0.08 * (time waited), up to 20 s
        assert slept == pytest.approx(min(20.0, 2.0 + 0.08 * waited))
        waited += slept
    assert api.time.sleeps[-5:] == [20.0] * 5
    assert len(polls(wire)) == 40  # fixed 5 s polling makes 81 for these 400 s


def test_geometric_schedule_grows_to_the_cap(make: Callable[..., tuple[Api, Wire]]) -> None:
    api, wire = make({"op_1": [(0, "running"), (100, "succeeded")]})  # rng 0.5: no jitter
    api("operations.wait", "op_1", poll=GEOMETRIC)
    gaps = _gaps(wire)
    expected = [1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 11.390625, 15.0, 15.0, 15.0, 15.0, 15.0]
    assert gaps[: len(expected)] == expected
    assert api.time.sleeps[: len(expected)] == expected
    plugin = PollPolicy.geometric()  # Mint's own plugin: 2 s x1.6 up to 15 s
    assert [plugin.base_delay(n) for n in range(6)] == pytest.approx(
        [2.0, 3.2, 5.12, 8.192, 13.1072, 15.0]
    )


@pytest.mark.parametrize(("rng", "factor"), [(0.0, 0.8), (1.0, 1.2)])
def test_jitter_bounds(make: Callable[..., tuple[Api, Wire]], rng: float, factor: float) -> None:
    api, _ = make({"op_1": [(0, "running"), (30, "succeeded")]}, rng=lambda: rng)
    api("operations.wait", "op_1", poll=GEOMETRIC)
    base = [1.0, 1.5, 2.25, 3.375]
    assert api.time.sleeps[:4] == pytest.approx([b * factor for b in base])


def test_jitter_stays_within_bounds_for_random_draws(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    import random

    api, _ = make({"op_1": [(0, "running"), (400, "succeeded")]}, rng=random.Random(3).random)
    api("operations.wait", "op_1")
    policy = PollPolicy()
    waited = 0.0
    for step, slept in enumerate(api.time.sleeps):
        base = policy.base_delay(step, waited)
        assert base * 0.8 - 1e-9 <= slept <= min(base * 1.2, 24.0) + 1e-9
        waited += slept
    assert max(api.time.sleeps) > 20.0  # the draws reach above the cap's base


def test_status_change_restarts_the_schedule(make: Callable[..., tuple[Api, Wire]]) -> None:
    api, _ = make({"op_1": [(0, "queued"), (5, "running"), (60, "succeeded")]})
    api("operations.wait", "op_1")
    # queued: 2, 2.16, 2.3328 (t=6.4928 sees running) -> back to 2 s and no time waited.
    assert api.time.sleeps[:5] == pytest.approx([2.0, 2.16, 2.3328, 2.0, 2.16])
    api, _ = make({"op_1": [(0, "queued"), (5, "running"), (60, "succeeded")]})
    api("operations.wait", "op_1", poll=GEOMETRIC)
    # queued: 1, 1.5, 2.25 (t=4.75), then t=8.125 sees running -> back to 1.
    assert api.time.sleeps[:6] == [1.0, 1.5, 2.25, 3.375, 1.0, 1.5]


def test_retry_after_hint_sets_the_next_delay_clamped(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    time_hint = email.utils.formatdate(1_800_000_000.0 + 14, usegmt=True)  # 9.5 s after t=4.5
    api, _ = make(
        {
            "op_1": [
                (0, {"status": "running", "_headers": {"Retry-After": "4"}}),
                (4, {"status": "running", "_headers": {"Retry-After": "0"}}),  # below the floor
                (
                    4.5,
                    {"status": "running", "_headers": {"Retry-After": time_hint}},
                ),  # an HTTP-date
                (
                    14,
                    {"status": "running", "_headers": {"Retry-After": "600"}},
                ),  # above the ceiling
                (70, "succeeded"),
            ]
        }
    )
    api("operations.wait", "op_1")
    assert api.time.sleeps[:4] == [4.0, 0.5, 9.5, 60.0]


def test_retry_after_on_a_429_while_polling(make: Callable[..., tuple[Api, Wire]]) -> None:
    limited = json_response(
        429, {"type": "rate", "title": "slow down", "status": 429}, **{"Retry-After": "7"}
    )
    api, _ = make(
        {"op_1": [(0, "running"), (1, limited), (1, "running"), (20, "succeeded")]}, max_retries=0
    )
    assert api("operations.wait", "op_1").status == "succeeded"
    assert api.time.sleeps[:2] == [2.0, 7.0]


@pytest.mark.parametrize("status", [503, 502])
def test_retry_after_on_a_5xx_while_polling(
    make: Callable[..., tuple[Api, Wire]], status: int
) -> None:
    """Once the call's own retries are spent, the wait still paces itself by the server's hint
    (as for a 429), not by its own schedule."""
    busy = json_response(
        status, {"type": "busy", "title": "busy", "status": status}, **{"Retry-After": "7"}
    )
    api, _ = make(
        {"op_1": [(0, "running"), (1, busy), (1, "running"), (20, "succeeded")]}, max_retries=0
    )
    assert api("operations.wait", "op_1").status == "succeeded"
    assert api.time.sleeps[:2] == [2.0, 7.0]


def test_one_malformed_answer_is_polled_again(make: Callable[..., tuple[Api, Wire]]) -> None:
    html = httpx.Response(200, content=b"<html>proxy</html>", headers={"Content-Type": "text/html"})
    api, _ = make({"op_1": [(0, "running"), (1, html), (5, "succeeded")]}, max_retries=0)
    assert api("operations.wait", "op_1").status == "succeeded"


def test_an_answer_that_stays_malformed_ends_the_wait(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    """Three malformed answers in a row are not a glitch: the wait stops with the parse error
    instead of polling until its deadline."""
    from mint_ext import ResponseValidationError
    from mint_ext._waiting import MAX_BAD_BODIES

    api, wire = make({"op_1": [(0, "running"), (2, {"status": 7})]})
    with pytest.raises(ResponseValidationError, match="status"):
        api("operations.wait", "op_1", timeout=3600)
    assert sum(api.time.sleeps) < 60
    assert len([r for r in polls(wire) if r[0] >= 2]) == MAX_BAD_BODIES


# ------------------------------------------------------------------------------- deadline


def test_deadline_is_never_overshot(make: Callable[..., tuple[Api, Wire]]) -> None:
    api, wire = make({"op_1": [(0, "running")]})
    with pytest.raises(WaitTimeoutError) as info:
        api("operations.wait", "op_1", timeout=10)
    assert sum(api.time.sleeps) == pytest.approx(10.0)
    assert all(t < 10.0 for t, _, _ in polls(wire))  # no request starts at or after it
    for t, _, timeout in polls(wire):  # each request's timeout is capped to the time left
        assert timeout["read"] <= 10.0 - t + 1e-9
    err = info.value
    assert err.operation_id == "op_1" and err.last_operation is not None
    assert err.last_operation.status == "running"


def test_default_timeout_is_finite_and_none_must_be_explicit() -> None:
    from mint_ext._resources.operations import AsyncOperations, Operations

    for cls in (Operations, AsyncOperations):
        for name in ("wait", "poll", "wait_many", "as_completed"):
            default = inspect.signature(getattr(cls, name)).parameters["timeout"].default
            assert default == 1800.0, (cls, name)


def test_transient_errors_mid_wait_are_retried_inside_the_deadline(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    unavailable = json_response(503, {"type": "unavailable", "title": "busy", "status": 503})
    api, _ = make(
        {
            "op_1": [
                (0, "running"),
                (1, unavailable),
                (1, httpx.ConnectError("refused")),
                (1, httpx.ReadTimeout("slow")),
                (1, "running"),
                (30, "succeeded"),
            ]
        },
        max_retries=0,
    )
    assert api("operations.wait", "op_1").status == "succeeded"


def test_transient_errors_past_the_deadline_become_a_timeout(
    make: Callable[..., tuple[Api, Wire]],
) -> None:
    api, _ = make(
        {"op_1": [(0, "running"), *[(0.5, httpx.ConnectError("down")) for _ in range(50)]]},
        max_retries=0,
    )
    with pytest.raises(WaitTimeoutError):
        api("operations.wait", "op_1", timeout=20)
    assert sum(api.time.sleeps) <= 20.0 + 1e-9


# ------------------------------------------------------------------------------- poll / updates


def test_poll_yields_one_snapshot_per_change(make: Callable[..., tuple[Api, Wire]]) -> None:
    preview = {
        "status": "preview_ready",
        "assets": {"spzUrls": None, "previewImageUrl": "https://cdn.mint.gg/p.png"},
    }
    api, wire = make(
        {
            "op_1": [
                (0, "queued"),
                (2, "running"),
                (6, {"status": "running", "assets": preview["assets"]}),
                (12, "succeeded"),
            ]
        },
        gen_mode="auto",
    )
    snapshots = api.each("operations.poll", "op_1")
    assert [s.status for s in snapshots] == ["queued", "running", "running", "succeeded"]
    assert len(polls(wire)) > len(snapshots)  # unchanged polls are not repeated
    updates: list[str] = []
    api2, _ = make({"op_1": [(0, "queued"), (2, "running"), (12, "succeeded")]})
    api2("operations.wait", "op_1", on_update=lambda op: updates.append(op.status))
    assert updates == ["queued", "running", "succeeded"]


def test_resume_from_an_id_or_a_saved_dict(make: Callable[..., tuple[Api, Wire]]) -> None:
    api, _ = make({"op_1": [(0, "running"), (5, "succeeded")]})
    first = api("operations.get", "op_1")
    saved = json.dumps(first.to_dict())  # e.g. written to disk by another process
    restored = Operation.from_dict(json.loads(saved))
    assert restored == first and restored.status == "running"
    assert api("operations.wait", restored).status == "succeeded"
    assert api("operations.wait", "op_1").status == "succeeded"


# ------------------------------------------------------------------------------- many


def test_wait_many_delivers_every_result_and_error(make: Callable[..., tuple[Api, Wire]]) -> None:
    timelines: dict[str, list[tuple[float, Any]]] = {
        f"op_{i}": [(0, "running"), (5 + i % 7, "succeeded")] for i in range(40)
    }
    timelines["op_3"] = [
        (0, "running"),
        (4, {"status": "failed", "error": {"code": "generation_failed", "message": "x"}}),
    ]
    timelines["op_5"] = [(0, "running"), (4, "canceled")]
    api, wire = make(timelines, overlap=5)  # requests held until 5 overlap: a bound of 4 holds
    results = api("operations.wait_many", list(timelines), max_concurrency=4, max_rate=1000)
    assert [r.operation_id for r in results] == list(timelines)
    by_id = {r.operation_id: r for r in results}
    assert isinstance(by_id["op_3"].error, OperationFailedError)
    assert isinstance(by_id["op_5"].error, OperationCanceledError)
    assert by_id["op_3"].operation is not None and by_id["op_3"].operation.status == "failed"
    assert sum(r.ok for r in results) == 38
    assert all(r.result().status == "succeeded" for r in results if r.ok)
    assert 2 <= wire.peak <= 4  # they did overlap, and no more than 4


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=2.0, burst=2.0)
    assert [bucket.reserve(0.0) for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    assert bucket.reserve(10.0) == 0.0
    assert TokenBucket(rate=float("inf")).reserve(0.0) == 0.0
