"""Checked by ``mypy --strict`` in ``nox -s typecheck`` (not run): typed assets and wait results.
``assert_type`` fails the check when ``if r.ok:`` stops narrowing or an accessor loses its type."""

from __future__ import annotations

from typing import assert_type

from mint_ext import (
    AsyncMint,
    Mint,
    MintError,
    ModelAssets,
    Operation,
    WaitFailed,
    WaitOk,
    WaitResult,
    WorldAssets,
)


def assets(op: Operation) -> None:
    assert_type(op.world_assets, WorldAssets)
    assert_type(op.model_assets, ModelAssets)
    assert_type(op.kind, str)


def results(mint: Mint, ops: list[Operation]) -> None:
    for r in mint.operations.wait_many(ops):
        assert_type(r, WaitOk | WaitFailed)
        if r.ok:
            assert_type(r.operation, Operation)
            assert_type(r.error, None)
        else:
            assert_type(r.operation, Operation | None)
            assert_type(r.error, MintError)
        base: WaitResult = r
        assert_type(base.result(), Operation)
    for r in mint.operations.as_completed(ops):
        if r.error is None:
            assert_type(r.operation, Operation)


async def async_results(mint: AsyncMint, ops: list[Operation]) -> None:
    for r in await mint.operations.wait_many(ops):
        if r.ok:
            assert_type(r.operation, Operation)
    async for r in mint.operations.as_completed(ops):
        if not r.ok:
            assert_type(r.error, MintError)
