"""One function per API call, returning a flow; the sync and async resources only drive them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal, TypedDict, TypeVar

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
from mint_client.types import UNSET, Unset

from ._core import Core, InvalidArgumentError, new_idempotency_key, object_id
from ._flow import Flow
from ._models import Account, Model, Operation, Page, Usage, World

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

GenerationMode = Literal["auto", "review"]
GenerationPreset = Literal["fast", "standard", "production"]
OptimizationLevel = Literal["light", "moderate", "aggressive"]


class WorldOptions(TypedDict, total=False):
    """Optional keywords of ``worlds.generate`` (snake_case of the request body fields)."""

    derived_prompt: str
    generation_mode: GenerationMode
    generation_preset: GenerationPreset
    display_name: str
    image_url: str
    source_images: Sequence[str]
    source_url: str
    idempotency_key: str


class ModelOptions(TypedDict, total=False):
    """Optional keywords of ``models.generate``."""

    derived_prompt: str
    name: str
    generation_mode: GenerationMode
    generation_preset: GenerationPreset
    rigging_pose: Literal["t_pose", "a_pose"]
    image_url: str
    source_images: Sequence[str]
    idempotency_key: str


def _enum(cls: type[E], value: object, field: str) -> E | Unset:
    if value is None:
        return UNSET
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidArgumentError(f"{field} must be one of {allowed}; got {value!r}") from None


def _opt(value: Any) -> Any:
    return UNSET if value is None else value


def _key(options: Mapping[str, Any]) -> str:
    key = options.get("idempotency_key") or new_idempotency_key()
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise InvalidArgumentError("idempotency_key must be 1 to 255 printable ASCII characters")
    return str(key)


_WORLD_KEYS = frozenset(WorldOptions.__annotations__)
_MODEL_KEYS = frozenset(ModelOptions.__annotations__)


def _check(options: Mapping[str, Any], allowed: frozenset[str], call: str) -> None:
    unknown = set(options) - allowed
    if unknown:
        raise InvalidArgumentError(
            f"{call}() got unexpected keyword(s): {', '.join(sorted(unknown))}"
        )


def _images(value: Sequence[str] | None) -> list[str] | Unset:
    if value is None:
        return UNSET
    if isinstance(value, str):
        raise InvalidArgumentError("source_images must be a list of URLs, not one string")
    return list(value)


def generate_world_call(core: Core, prompt: str, options: WorldOptions) -> Flow[Operation]:
    _check(options, _WORLD_KEYS, "worlds.generate")
    body = gen.GenerateWorldRequest(
        prompt=prompt,
        derived_prompt=_opt(options.get("derived_prompt")),
        generation_mode=_enum(
            gen.GenerationMode, options.get("generation_mode"), "generation_mode"
        ),
        generation_preset=_enum(
            gen.GenerationPreset, options.get("generation_preset"), "generation_preset"
        ),
        display_name=_opt(options.get("display_name")),
        image_url=_opt(options.get("image_url")),
        source_images=_images(options.get("source_images")),
        source_url=_opt(options.get("source_url")),
    )
    kwargs = generate_world._get_kwargs(body=body, idempotency_key=_key(options))
    return core.call(kwargs, Operation._build)


def generate_model_call(core: Core, prompt: str, options: ModelOptions) -> Flow[Operation]:
    _check(options, _MODEL_KEYS, "models.generate")
    body = gen.GenerateModelRequest(
        prompt=prompt,
        derived_prompt=_opt(options.get("derived_prompt")),
        name=_opt(options.get("name")),
        generation_mode=_enum(
            gen.GenerationMode, options.get("generation_mode"), "generation_mode"
        ),
        generation_preset=_enum(
            gen.GenerationPreset, options.get("generation_preset"), "generation_preset"
        ),
        rigging_pose=_enum(gen.RiggingPose, options.get("rigging_pose"), "rigging_pose"),
        image_url=_opt(options.get("image_url")),
        source_images=_images(options.get("source_images")),
    )
    kwargs = generate_model._get_kwargs(body=body, idempotency_key=_key(options))
    return core.call(kwargs, Operation._build)


def optimize_model_call(
    core: Core, model: object, level: str | None, idempotency_key: str | None
) -> Flow[Operation]:
    body = gen.OptimizeModelRequest(optimization_level=_enum(gen.OptimizationLevel, level, "level"))
    kwargs = optimize_model._get_kwargs(
        object_id(model, "model"),
        body=body,
        idempotency_key=_key({"idempotency_key": idempotency_key}),
    )
    return core.call(kwargs, Operation._build)


def get_operation_call(
    core: Core, operation: object, *, deadline: float | None = None
) -> Flow[Operation]:
    return core.call(get_operation._get_kwargs(object_id(operation)), Operation._build,
                     deadline=deadline)  # fmt: skip


def action_call(
    core: Core,
    action: Literal["approve", "revise", "resume"],
    operation: object,
    idempotency_key: str | None,
    feedback: str | None = None,
) -> Flow[Operation]:
    op_id = object_id(operation)
    key = _key({"idempotency_key": idempotency_key})
    if action == "revise":
        if not feedback:
            raise InvalidArgumentError("revise needs feedback: what to change in the preview")
        kwargs = revise_operation._get_kwargs(
            op_id, body=gen.ReviseOperationRequest(feedback=feedback), idempotency_key=key
        )
    elif action == "approve":
        kwargs = approve_operation._get_kwargs(op_id, body=gen.EmptyRequest(), idempotency_key=key)
    else:
        kwargs = resume_operation._get_kwargs(op_id, body=gen.EmptyRequest(), idempotency_key=key)
    return core.call(kwargs, Operation._build)


def get_world_call(core: Core, world: object) -> Flow[World]:
    return core.call(get_world._get_kwargs(object_id(world, "world")), World._build)


def get_model_call(core: Core, model: object) -> Flow[Model]:
    return core.call(get_model._get_kwargs(object_id(model, "model")), Model._build)


def _page_parser(item: Callable[[Any], T]) -> Callable[[Any], Page[T]]:
    def parse(data: Any) -> Page[T]:
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise TypeError("a list response is an object with a `data` array")
        pagination = gen.Pagination.from_dict(data["pagination"])
        # A wrong type here would end (or loop) a listing silently: a malformed page instead.
        if not isinstance(pagination.has_more, bool | Unset):
            raise TypeError(f"pagination.hasMore must be a boolean, got {pagination.has_more!r}")
        if not isinstance(pagination.next_cursor, str | Unset | None):
            raise TypeError(
                f"pagination.nextCursor must be a string or null, got {pagination.next_cursor!r}"
            )
        return Page(
            items=[item(raw) for raw in data["data"]],
            next_cursor=_opt_str(pagination.next_cursor),
            has_more=pagination.has_more is True,
        )

    return parse


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _limit(limit: int | None) -> int | Unset:
    if limit is None:
        return UNSET
    if not 1 <= limit <= 100:
        raise InvalidArgumentError("limit must be between 1 and 100")
    return limit


def list_worlds_pages(core: Core, limit: int | None, cursor: str | None) -> Flow[None]:
    lim = _limit(limit)
    return core.pages(
        lambda c: list_worlds._get_kwargs(limit=lim, cursor=_opt(c)),
        _page_parser(World._build),
        cursor,
    )


def list_models_pages(core: Core, limit: int | None, cursor: str | None) -> Flow[None]:
    lim = _limit(limit)
    return core.pages(
        lambda c: list_models._get_kwargs(limit=lim, cursor=_opt(c)),
        _page_parser(Model._build),
        cursor,
    )


def list_worlds_page(core: Core, limit: int | None, cursor: str | None) -> Flow[Page[World]]:
    kwargs = list_worlds._get_kwargs(limit=_limit(limit), cursor=_opt(cursor))
    return core.call(kwargs, _page_parser(World._build))


def list_models_page(core: Core, limit: int | None, cursor: str | None) -> Flow[Page[Model]]:
    kwargs = list_models._get_kwargs(limit=_limit(limit), cursor=_opt(cursor))
    return core.call(kwargs, _page_parser(Model._build))


def me_call(core: Core) -> Flow[Account]:
    return core.call(get_me._get_kwargs(), Account.from_dict)


def usage_call(core: Core) -> Flow[Usage]:
    return core.call(get_usage._get_kwargs(), Usage.from_dict)
