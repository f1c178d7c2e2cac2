"""Checked by ``mypy --strict`` in ``nox -s typecheck`` (not run): what the type checker sees of
options, raw responses and ``call``. ``assert_type`` fails the check when a type is wrong."""

from __future__ import annotations

from typing import Any, assert_type

from mint_client import models as gen
from mint_client.api.account import get_me
from mint_client.api.generation import get_operation
from mint_ext import AsyncMint, Mint, Operation, Page, RawResponse, World


def sync_client(mint: Mint) -> None:
    op = mint.operations.get("op_1", timeout=5.0, max_retries=1, extra_headers={"X": "1"})
    assert_type(op, Operation)
    raw = mint.with_raw_response.operations.get("op_1", extra_query={"q": 1})
    assert_type(raw, RawResponse[Operation])
    assert_type(raw.parse(), Operation)
    assert_type(mint.with_raw_response.worlds.list_page(limit=5).parse(), Page[World])
    assert_type(mint.call(get_operation, operation_id="op_1"), gen.Operation)
    assert_type(mint.call(get_me), gen.Me)
    assert_type(mint.request("GET", "/v1/me"), Any)
    assert_type(mint.with_options(timeout=3.0), Mint)
    mint.operations.wait(op, timeout=60, request_timeout=5.0, on_retry=lambda e, s: None)
    mint.worlds.generate("p", idempotency_key="k", extra_body={"x": 1})


async def async_client(mint: AsyncMint) -> None:
    assert_type(await mint.operations.get("op_1", timeout=5.0), Operation)
    raw = await mint.with_raw_response.operations.wait("op_1", timeout=60)
    assert_type(raw.parse(), Operation)
    assert_type(await mint.call(get_operation, "op_1"), gen.Operation)
    assert_type(mint.with_options(max_retries=0), AsyncMint)
