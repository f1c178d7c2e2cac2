"""The public models are the generated ones plus behaviour (mint_ext/_models.py, issue 19)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
from typing import Any

import attrs
import pytest

import mint_ext
from mint_client import models as gen
from mint_client.types import UNSET
from mint_ext import (
    Account,
    Billing,
    ErrorInfo,
    Model,
    ModelAssets,
    Operation,
    ResourceRef,
    Usage,
    World,
    WorldAssets,
)
from mint_ext._models import FreeForm, SpzUrls, generated_model_of, public_model_of

from ._harness import example, model_op_json, op_json

PUBLIC = [Operation, World, Model, Account, Usage, WorldAssets, ModelAssets, ErrorInfo, Billing,
          ResourceRef, SpzUrls, FreeForm]  # fmt: skip


# ------------------------------------------------------------------------ built on generated


@pytest.mark.parametrize("cls", PUBLIC, ids=lambda c: c.__name__)
def test_every_generated_field_is_an_attribute_of_the_public_model(cls: type) -> None:
    generated = generated_model_of(cls)
    assert generated is not None and generated is not cls and issubclass(cls, generated)
    assert public_model_of(generated) is cls
    for field in attrs.fields(generated):
        assert hasattr(cls, field.name)
        # nothing between the public class and the generated one redefines the field
        for klass in cls.__mro__[: cls.__mro__.index(generated)]:
            assert field.name not in vars(klass), f"{klass.__name__}.{field.name}"


def test_fields_have_the_generated_values_top_level_and_nested() -> None:
    op = Operation.from_dict(op_json())
    assert op.status == "succeeded" and op.status is gen.OperationStatus.SUCCEEDED
    assert op.type == "world_generation" and op.type is op.type_
    assert op.generation_preset is gen.GenerationPreset.STANDARD
    assert op.created_at == dt.datetime(2026, 11, 20, 10, 15, tzinfo=dt.UTC)
    assert op.optimization_level is None  # null in the JSON
    assert isinstance(op.credits_, gen.OperationCredits) and op.credits_.finalized == 120
    assert type(op.resource) is ResourceRef and op.resource.type == "world"
    assert type(op.assets) is WorldAssets and type(op.assets.spz_urls) is SpzUrls
    world = World.from_dict(example("World"))
    assert world.operation.workflow_stage == "completed"  # a field the old models dropped
    model = Model.from_dict(example("Model"))
    assert type(model.assets) is ModelAssets and model.prompt == "A weathered bronze lantern"


def test_fields_the_server_leaves_out_are_unset_and_null_is_none() -> None:
    data = op_json(status="running", completedAt=None)
    del data["updatedAt"], data["credits"]
    op = Operation.from_dict(data)
    assert op.updated_at is UNSET and op.credits_ is UNSET and not op.billing
    assert op.completed_at is None


def test_unknown_fields_and_values_stay_reachable() -> None:
    data = op_json(status="paused", shinyNewField=[1])
    data["assets"]["gltfUrl"] = "https://cdn.mint.gg/x.gltf"
    op = Operation.from_dict(data)
    assert op.status == "paused" and op.is_active and not op.is_terminal
    assert op.additional_properties == {"shinyNewField": [1]} and op.raw["shinyNewField"] == [1]
    assert op.assets is not None and op.assets["gltfUrl"] == "https://cdn.mint.gg/x.gltf"


# ------------------------------------------------------------------------------- behaviour


def test_status_predicates() -> None:
    assert Operation.from_dict(op_json()).is_succeeded
    partial = Operation.from_dict(op_json(status="partially_succeeded"))
    assert partial.is_succeeded and partial.is_partial and partial.is_terminal
    review = Operation.from_dict(op_json(status="preview_ready", generationMode="review"))
    assert review.is_preview_ready and review.needs_action and not review.is_terminal
    auto = Operation.from_dict(op_json(status="preview_ready", generationMode="auto"))
    assert not auto.needs_action
    failed = Operation.from_dict(
        op_json(status="failed", error={"code": "moderation_blocked", "message": "no"})
    )
    assert failed.is_failed and type(failed.error) is ErrorInfo
    assert failed.error.code == "moderation_blocked"
    assert Operation.from_dict(op_json(status="canceled")).is_canceled
    billing = Operation.from_dict(op_json(status="billing_required", billing=example("Billing")))
    assert billing.needs_action and type(billing.billing) is Billing
    assert billing.billing.required_credits == 120


def test_spz_urls_is_a_mapping_even_when_null() -> None:
    op = Operation.from_dict(op_json())
    assert op.assets is not None
    urls = op.assets.spz_urls
    assert urls.get("500k", "").endswith("splat_500k.spz") and urls.get("3m") is None
    assert set(urls) == {"100k", "500k", "full_res"} and len(urls) == 3 and "100k" in urls
    assert urls == dict(urls) == example("Operation")["assets"]["spzUrls"]
    data = op_json(status="running")
    data["assets"]["spzUrls"] = None
    empty = Operation.from_dict(data)
    assert empty.assets is not None and dict(empty.assets.spz_urls) == {}
    assert empty.to_dict()["assets"]["spzUrls"] is None  # the JSON is kept as sent
    built = WorldAssets(spz_urls=SpzUrls({"100k": "https://c/a.spz"}))
    assert dict(built.spz_urls) == {"100k": "https://c/a.spz"}


def test_model_assets_other_urls_are_every_further_url_field() -> None:
    data = model_op_json()
    data["assets"] |= {"fbxUrl": "https://c/m.fbx", "objUrl": None, "gltfUrl": "https://c/m.gltf"}
    op = Operation.from_dict(data)
    assert isinstance(op.assets, ModelAssets)
    assert op.assets.fbx_url == "https://c/m.fbx" and op.assets.obj_url is None
    assert op.assets.other_urls == {"fbxUrl": "https://c/m.fbx", "gltfUrl": "https://c/m.gltf"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (op_json(status="preview_ready", assets={"previewImageUrl": "https://c/p.png"}), WorldAssets),
        (model_op_json(status="preview_ready", assets={"thumbnailUrl": "https://c/t.png"}),
         ModelAssets),
    ],
    ids=["world", "model"],
)  # fmt: skip
def test_assets_that_match_no_variant_are_read_by_the_kind(
    data: dict[str, Any], expected: type
) -> None:
    op = Operation.from_dict(data)
    assert type(op.assets) is expected and (op.assets.preview_image_url or op.assets.thumbnail_url)
    world = World.from_dict(example("World", assets={"previewImageUrl": "https://c/p.png"}))
    assert type(world.assets) is WorldAssets and dict(world.assets.spz_urls) == {}


def test_account_and_usage_shortcuts() -> None:
    me = Account.from_dict(example("Me"))
    assert me.user_id == me.owner.user_id and me.email == "dev@example.com"
    assert me.scopes == ("mint:assets:read", "mint:assets:generate")
    bare = Account.from_dict({"authentication": {}, "owner": {"userId": "u"}})
    assert bare.scopes == () and bare.email is None
    usage = Usage.from_dict(example("Usage"))
    assert usage.credits_available == 880.0 and isinstance(usage.credits_available, float)
    assert type(usage.subscription) is FreeForm and usage.subscription["plan"] == "creator"
    assert dict(usage.subscription) == {"plan": "creator", "renewsAt": "2026-12-01T00:00:00Z"}


# ----------------------------------------------------------------- round trips, equality, ...


@pytest.mark.parametrize(
    ("cls", "data"),
    [(Operation, op_json()), (Operation, model_op_json()), (World, example("World")),
     (Model, example("Model")), (Account, example("Me")), (Usage, example("Usage"))],
    ids=["operation", "model-operation", "world", "model", "account", "usage"],
)  # fmt: skip
def test_json_pickle_and_copy_round_trips(cls: Any, data: dict[str, Any]) -> None:
    obj = cls.from_dict(data)
    assert obj.to_dict() == data  # the JSON as sent, "Z" timestamps included
    back = cls.from_dict(json.loads(json.dumps(obj.to_dict())))
    assert back == obj and type(back) is cls
    for other in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj), copy.copy(obj)):
        assert other == obj and other.to_dict() == data
    assert cls.from_dict(data | {"extra": 1}) != obj


def test_parsed_models_are_read_only_and_hashable_by_id() -> None:
    data = op_json()
    op = Operation.from_dict(data)
    data["status"] = "failed"  # the input is copied, not kept
    assert op.status == "succeeded" and op.raw["status"] == "succeeded"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        op.status = "failed"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        op.assets.rad_url = None  # type: ignore[union-attr]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del op.prompt
    same = Operation.from_dict(op_json(status="running"))
    assert hash(op) == hash(same) and len({op, Operation.from_dict(op_json())}) == 1
    assert hash(World.from_dict(example("World"))) != hash(Model.from_dict(example("Model")))


def test_unset_keeps_its_identity_through_pickle_and_copy() -> None:
    op = Operation.from_dict(op_json(status="running"))
    assert pickle.loads(pickle.dumps(op.billing)) is UNSET
    assert copy.deepcopy(op.billing) is UNSET


# ------------------------------------------------------------------------ malformed bodies


def _with(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("id", 5, "Operation.id must be str, got 5"),
        ("id", "", "Operation.id must not be empty"),
        ("status", 7, "Operation.status must be OperationStatus | str, got 7"),
        ("status", "", "Operation.status must not be empty"),
        ("prompt", ["a"], "Operation.prompt must be None | str"),
        ("assets", "garbage", "Operation.assets must be ModelAssets | None | WorldAssets"),
        ("assets.radUrl", 5, "Operation.assets.rad_url must be None | str | Unset, got 5"),
        ("assets.spzUrls.100k", 5, "Operation.assets.spz_urls.additional_properties['100k']"),
        ("resource", {"type": "world"}, "Operation.resource must be None | OperationResource"),
        ("resource.id", "", "Operation.resource.id must not be empty"),
        ("credits.reserved", "x", "Operation.credits_.reserved must be float, got 'x'"),
        ("credits.reserved", True, "Operation.credits_.reserved must be float, got True"),
        ("error", {"code": 5, "message": "m"}, "Operation.error.code must be str, got 5"),
        ("error", {"code": "c"}, "Operation.error must be None | OperationError | Unset"),
    ],
)
def test_wrong_types_anywhere_are_errors_naming_the_field(
    path: str, value: Any, message: str
) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        Operation.from_dict(_with(op_json(), path, value))
    assert str(info.value).startswith(message)


def test_wrong_types_in_other_models() -> None:
    bounds = example("ModelAssets") | {"bounds": {"min": ["a"]}}
    with pytest.raises(TypeError, match=r"Model\.assets\.bounds\.min_\[0\] must be float"):
        Model.from_dict(example("Model", assets=bounds))
    with pytest.raises(TypeError, match=r"World\.operation\.workflow_stage must be None \| str"):
        World.from_dict(example("World", operation={"workflowStage": 5}))
    with pytest.raises(ValueError):  # the generated parser's own error (not a dict)
        World.from_dict(example("World", operation="done"))
    with pytest.raises(TypeError, match=r"Account\.authentication\.scopes must be list"):
        Account.from_dict({"authentication": {"scopes": "worlds:write"}, "owner": {"userId": "u"}})
    with pytest.raises(ValueError, match=r"Account\.owner\.user_id must not be empty"):
        Account.from_dict({"authentication": {}, "owner": {"userId": ""}})
    with pytest.raises(TypeError, match="expected a JSON object"):
        Operation.from_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a World is a JSON object"):
        World._build("x")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        Operation.from_dict({"object": "operation"})


def test_public_names_are_importable_from_mint_ext() -> None:
    for cls in (Operation, World, Model, Account, Usage, WorldAssets, ModelAssets, ErrorInfo,
                Billing, ResourceRef):  # fmt: skip
        assert getattr(mint_ext, cls.__name__) is cls
