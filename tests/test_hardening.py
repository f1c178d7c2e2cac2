"""Regression tests for defects found in review: secrets in errors, hangs, deadlines, bad input."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mint_ext import (
    APIConnectionError,
    AssetVerificationError,
    AsyncMint,
    ConfigurationError,
    InvalidArgumentError,
    Mint,
    MintError,
    Operation,
    PollPolicy,
    WaitTimeoutError,
)
from mint_ext._retry import to_error

from ._harness import EXAMPLES, Scripted, Wire, json_response, op_json
from .test_waiting import polls, timed

SECRET = "sk-SECRET-123"


def test_a_key_read_from_a_file_is_stripped_and_never_echoed(scripted: Scripted) -> None:
    api, wire = scripted(json_response(200, EXAMPLES["Me"]), api_key=SECRET + "\n")
    api("account.me")
    assert [r.headers["authorization"] for r in wire.requests] == [f"Bearer {SECRET}"]
    with pytest.raises(ConfigurationError) as info:
        Mint(api_key=SECRET + "\x00tail", base_url="http://x")
    assert SECRET not in str(info.value)


def test_local_protocol_errors_are_redacted() -> None:
    request = httpx.Request("GET", "http://x/v1/me")
    exc = httpx.LocalProtocolError(f"Illegal header value b'Bearer {SECRET}\\n'", request=request)
    error = to_error(exc, 0.0)
    assert isinstance(error, APIConnectionError) and SECRET not in str(error)


def test_bad_default_headers_and_idempotency_keys_are_typed_errors() -> None:
    with pytest.raises(ConfigurationError):
        Mint(api_key="k", base_url="http://x", default_headers={"X-Team": "caf\u00e9"})
    with pytest.raises(ConfigurationError):
        AsyncMint(api_key="k", base_url="http://x", default_headers={"X-Team": "a\nb"})
    wire = Wire(then="fail")
    with Mint(api_key="k", base_url="http://x", transport=wire.transport()) as m, \
            pytest.raises(InvalidArgumentError):  # fmt: skip
        m.worlds.generate(prompt="x", idempotency_key="caf\u00e9")
    assert wire.requests == [] and wire.unscripted == []


def test_wait_many_rejects_bad_limits_instead_of_hanging(scripted: Scripted) -> None:
    api, wire = scripted(then="fail")
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            api("operations.wait_many", ["op_1"], max_concurrency=0)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and isinstance(outcome[0], InvalidArgumentError)
    assert wire.requests == []


def test_wait_many_sends_nothing_after_its_deadline(scripted: Scripted) -> None:
    ids = [f"op_{i}" for i in range(10)]
    api, wire = timed(scripted, {i: [(0, "running")] for i in ids})
    results = api("operations.wait_many", ids, timeout=2.0, max_concurrency=1, max_rate=1.0)
    assert all(isinstance(r.error, WaitTimeoutError) for r in results)
    assert max(at for at, _, _ in polls(wire)) < 2.0


def test_async_wait_many_delivers_unexpected_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("op_bad"):
            raise RuntimeError("a broken transport")
        return json_response(200, op_json("op_ok", status="succeeded"))

    transport = Wire(handler=handler).transport()

    async def main() -> list[Any]:
        async with AsyncMint(api_key="k", base_url="http://x", transport=transport) as mint:
            return await asyncio.wait_for(mint.operations.wait_many(["op_ok", "op_bad"]), 10)

    ok, bad = asyncio.run(main())
    assert ok.ok and isinstance(bad.error, MintError) and not bad.ok


def test_sync_as_completed_stops_polling_when_the_caller_breaks() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        op_id = request.url.path.rsplit("/", 1)[-1]
        return json_response(
            200, op_json(op_id, status="succeeded" if op_id == "op_done" else "running")
        )

    wire = Wire(handler=handler)
    already = set(threading.enumerate())
    started = time.monotonic()
    with Mint(api_key="k", base_url="http://x", transport=wire.transport()) as mint:
        for _ in mint.operations.as_completed(["op_done", "op_slow"], poll=PollPolicy.fixed(0.05),
                                              timeout=30):  # fmt: skip
            pollers = [t for t in threading.enumerate() if t not in already]
            break
        assert pollers  # the sync fan-out polls from helper threads
        # Every thread that polls ends (a request already on the wire at the break may finish
        # first), long before the 30 s deadline a poller left running would poll until: no
        # fixed sleep that hopes to see a late poll.
        give_up = started + 10  # one bound for the break and all of them, well under the 30 s
        for thread in pollers:
            thread.join(timeout=max(0.0, give_up - time.monotonic()))
        assert [t.name for t in pollers if t.is_alive()] == []
        assert time.monotonic() < give_up  # the break itself did not wait for the deadline
        assert wire.in_flight == 0
        polled = wire.count
    assert polled == wire.count >= 1


def test_until_adds_to_the_default_stops(scripted: Scripted) -> None:
    api, _ = timed(scripted, {"op_1": [(0, "running"), (5, "preview_ready")]}, gen_mode="review")
    op = api("operations.wait", "op_1", until={"succeeded"}, timeout=600)
    assert op.status == "preview_ready" and sum(api.time.sleeps) < 60


def test_a_malformed_asset_url_fails_that_asset_only(scripted: Scripted, tmp_path: Path) -> None:
    raw = op_json("op_1", status="succeeded")
    raw["assets"] = {**raw["assets"], "thumbnailUrl": "https://cdn.example.com/thumb\x01.png"}
    op = Operation.from_dict(raw)
    api, _ = scripted(httpx.Response(404))
    report = api(
        "assets.download", op, tmp_path, include=["thumbnail", "caption"], allow_partial=True
    )
    thumb, caption = report.assets
    assert isinstance(thumb.error, AssetVerificationError) and "\x01" not in (thumb.url or "")
    assert caption.status == "downloaded"


def test_tiers_differing_only_in_case_never_share_a_part_file() -> None:
    from mint_ext import WorldAssets
    from mint_ext._download_core import plan_assets

    plan = plan_assets(WorldAssets(spz_urls={"100k": "https://c/a.spz", "100K": "https://c/b.spz"}))
    assert len({p.part_name.lower() for p in plan}) == 2
    assert len({p.name().lower() for p in plan}) == 2


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("operations.get", op_json(5)),  # type: ignore[arg-type]
        ("operations.get", op_json("op_1", status=7)),
        ("operations.get", op_json("op_1", status="")),
        ("operations.get", op_json("op_1", status="failed", error={"code": 5, "message": "m"})),
        ("account.me", {"authentication": {"scopes": "worlds:write"}, "owner": {"userId": "u"}}),
        ("account.me", {"authentication": {}, "owner": {"userId": 42}}),
    ],
    ids=["op-id-int", "status-int", "status-empty", "error-code-int", "scopes-str", "user-int"],
)
def test_fields_of_the_wrong_type_are_a_malformed_response(
    scripted: Scripted, path: str, body: Any
) -> None:
    """A number where the API sends a string is not quietly turned into text (a status of 7
    would count as still running and be polled until the deadline)."""
    from mint_ext import ResponseValidationError

    api, _ = scripted(json_response(200, body))
    with pytest.raises(ResponseValidationError):
        api(path, *(["op_1"] if path == "operations.get" else []))
