"""Typed access to results (issue 17): ``op.world_assets``/``op.model_assets``/``op.kind`` and the
``WaitOk``/``WaitFailed`` split of ``WaitResult`` that lets ``if r.ok:`` narrow ``operation``."""

from __future__ import annotations

import pytest

from mint_ext import (
    ModelAssets,
    Operation,
    OperationFailedError,
    WaitFailed,
    WaitOk,
    WaitResult,
    WorldAssets,
)
from mint_ext.testing import FakeMint

from ._harness import Api, model_op_json, op_json


def test_world_assets_of_a_world_operation() -> None:
    op = Operation.from_dict(op_json())
    assert op.kind == "world"
    assert isinstance(op.world_assets, WorldAssets)
    assert op.world_assets is op.assets
    with pytest.raises(AttributeError, match="produces a world, not a model"):
        op.model_assets  # noqa: B018


def test_model_assets_of_a_model_operation() -> None:
    op = Operation.from_dict(model_op_json())
    assert op.kind == "model"
    assert isinstance(op.model_assets, ModelAssets)
    assert op.model_assets is op.assets
    with pytest.raises(AttributeError, match="produces a model, not a world"):
        op.world_assets  # noqa: B018


def test_before_anything_is_produced_every_url_is_none() -> None:
    queued = Operation.from_dict(op_json(status="queued", assets=None, resource=None))
    assert queued.kind == "world"  # from type world_generation
    assets = queued.world_assets
    assert dict(assets.spz_urls) == {}
    assert (assets.rad_url, assets.collider_mesh_url, assets.pano_url, assets.preview_image_url,
            assets.thumbnail_url, assets.caption) == (None,) * 6  # fmt: skip
    model = Operation.from_dict(model_op_json(status="queued", assets=None, resource=None))
    assert model.model_assets.glb_url is None
    assert model.model_assets.optimized_glb_url is None


def test_wait_many_gives_wait_ok_and_wait_failed(on_fake: Api, fake: FakeMint) -> None:
    good = on_fake("worlds.generate", prompt="A greenhouse")
    fake.script("failed", error_code="content_policy", error_message="refused")
    bad = on_fake("worlds.generate", prompt="A garden")
    ok, failed = on_fake("operations.wait_many", [good, bad])
    assert type(ok) is WaitOk and isinstance(ok, WaitResult)
    assert ok.ok and ok.error is None and ok.operation.is_succeeded
    assert ok.result() is ok.operation
    assert type(failed) is WaitFailed and isinstance(failed, WaitResult)
    assert not failed.ok and isinstance(failed.error, OperationFailedError)
    assert failed.operation is not None and failed.operation.is_failed
    with pytest.raises(OperationFailedError):
        failed.result()


def test_as_completed_gives_the_same_classes(on_fake: Api, fake: FakeMint) -> None:
    fake.script("failed")
    ops = [on_fake("worlds.generate", prompt=p) for p in ("a", "b")]
    results = on_fake.each("operations.as_completed", ops)
    assert sorted((type(r) for r in results), key=str) == [WaitFailed, WaitOk]


def test_wait_result_is_still_constructible_as_before() -> None:
    op = Operation.from_dict(op_json())
    old = WaitResult(0, op.id, op)
    assert old.ok and old.result() is op
