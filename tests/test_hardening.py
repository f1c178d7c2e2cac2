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

from ._harness import Api, FakeTime, json_response
from .test_waiting import Script, op_json

SECRET = "sk-SECRET-123"


def test_a_key_read_from_a_file_is_stripped_and_never_echoed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return json_response(200, {"authentication": {}, "owner": {"userId": "0xabc"}})

    with Mint(
        api_key=SECRET + "\n", base_url="http://x", transport=httpx.MockTransport(handler)
    ) as m:
        m.account.me()
    assert seen == [f"Bearer {SECRET}"]
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
    transport = httpx.MockTransport(lambda r: json_response(202, op_json()))
    with Mint(api_key="k", base_url="http://x", transport=transport) as m, \
            pytest.raises(InvalidArgumentError):  # fmt: skip
        m.worlds.generate(prompt="x", idempotency_key="caf\u00e9")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_wait_many_rejects_bad_limits_instead_of_hanging(mode: str) -> None:
    api = Api(mode, transport=httpx.MockTransport(lambda r: json_response(200, op_json())))
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
    api.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_wait_many_sends_nothing_after_its_deadline(mode: str) -> None:
    time_ = FakeTime()
    ids = [f"op_{i}" for i in range(10)]
    script = Script(time_, {i: [(0, "running")] for i in ids})
    api = Api(mode, transport=httpx.MockTransport(script), time=time_, rng=lambda: 0.5)
    results = api("operations.wait_many", ids, timeout=2.0, max_concurrency=1, max_rate=1.0)
    assert all(isinstance(r.error, WaitTimeoutError) for r in results)
    assert max(at for at, _, _ in script.requests) < 2.0
    api.close()


def test_async_wait_many_delivers_unexpected_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("op_bad"):
            raise RuntimeError("a broken transport")
        return json_response(200, op_json("op_ok", status="succeeded"))

    async def main() -> list[Any]:
        async with AsyncMint(api_key="k", base_url="http://x",
                             transport=httpx.MockTransport(handler)) as mint:  # fmt: skip
            return await asyncio.wait_for(mint.operations.wait_many(["op_ok", "op_bad"]), 10)

    ok, bad = asyncio.run(main())
    assert ok.ok and isinstance(bad.error, MintError) and not bad.ok


def test_sync_as_completed_stops_polling_when_the_caller_breaks() -> None:
    count = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        op_id = request.url.path.rsplit("/", 1)[-1]
        count["n"] += 1
        return json_response(
            200, op_json(op_id, status="succeeded" if op_id == "op_done" else "running")
        )

    with Mint(api_key="k", base_url="http://x", transport=httpx.MockTransport(handler)) as mint:
        for _ in mint.operations.as_completed(["op_done", "op_slow"], poll=PollPolicy.fixed(0.05),
                                              timeout=30):  # fmt: skip
            break
        time.sleep(0.1)  # lets a request that was already on the wire at the break finish
        before = count["n"]
        time.sleep(0.4)  # 8 poll intervals: any poller still alive would have polled again
        assert count["n"] == before


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_until_adds_to_the_default_stops(mode: str) -> None:
    time_ = FakeTime()
    script = Script(time_, {"op_1": [(0, "running"), (5, "preview_ready")]}, mode="review")
    api = Api(mode, transport=httpx.MockTransport(script), time=time_, rng=lambda: 0.5)
    op = api("operations.wait", "op_1", until={"succeeded"}, timeout=600)
    assert op.status == "preview_ready" and sum(time_.sleeps) < 60
    api.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_malformed_asset_url_fails_that_asset_only(mode: str, tmp_path: Path) -> None:
    raw = op_json("op_1", status="succeeded")
    raw["assets"] = {**raw["assets"], "thumbnailUrl": "https://cdn.example.com/thumb\x01.png"}
    op = Operation.from_dict(raw)
    api = Api(mode, transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    report = api(
        "assets.download", op, tmp_path, include=["thumbnail", "caption"], allow_partial=True
    )
    thumb, caption = report.assets
    assert isinstance(thumb.error, AssetVerificationError) and "\x01" not in (thumb.url or "")
    assert caption.status == "downloaded"
    api.close()


def test_tiers_differing_only_in_case_never_share_a_part_file() -> None:
    from mint_ext import WorldAssets
    from mint_ext._download_core import plan_assets

    plan = plan_assets(WorldAssets(spz_urls={"100k": "https://c/a.spz", "100K": "https://c/b.spz"}))
    assert len({p.part_name.lower() for p in plan}) == 2
    assert len({p.name().lower() for p in plan}) == 2


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("operations.get", op_json(op_id=5)),  # type: ignore[arg-type]
        ("operations.get", op_json(status=7)),
        ("operations.get", op_json(status="")),
        ("operations.get", op_json(status="failed", error={"code": 5, "message": "m"})),
        ("account.me", {"authentication": {"scopes": "worlds:write"}, "owner": {"userId": "u"}}),
        ("account.me", {"authentication": {}, "owner": {"userId": 42}}),
    ],
    ids=["op-id-int", "status-int", "status-empty", "error-code-int", "scopes-str", "user-int"],
)
def test_fields_of_the_wrong_type_are_a_malformed_response(mode: str, path: str, body: Any) -> None:
    """A number where the API sends a string is not quietly turned into text (a status of 7
    would count as still running and be polled until the deadline)."""
    from mint_ext import ResponseValidationError

    api = Api(mode, transport=httpx.MockTransport(lambda r: json_response(200, body)))
    try:
        with pytest.raises(ResponseValidationError):
            api(path, *(["op_1"] if path == "operations.get" else []))
    finally:
        api.close()
