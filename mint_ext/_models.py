"""The SDK's own result types, built from what the generated models parsed.

Each class keeps the JSON it came from in ``raw`` (``to_dict()`` returns a copy), so an operation
round-trips through a plain JSON-able dict: ``Operation.from_dict(op.to_dict()) == op``.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, Self, TypeVar

import attrs

from mint_client import models as gen
from mint_client.types import Unset

from . import status as _status

__all__ = [
    "Account",
    "Billing",
    "ErrorInfo",
    "Model",
    "ModelAssets",
    "Operation",
    "Page",
    "ResourceRef",
    "Usage",
    "World",
    "WorldAssets",
]

T = TypeVar("T")


def _must_str(value: object, what: str, *, empty: bool = True) -> str:
    """A field the API always sends as a string: anything else is a malformed response
    (``TypeError`` here; ``ResponseValidationError`` for the caller)."""
    if not isinstance(value, str) or (not empty and not value):
        raise TypeError(f"{what} must be a {'' if empty else 'non-empty '}string, got {value!r}")
    return str(value)


def _str(value: object) -> str | None:
    """The value if it is a real string (generated unions may hand back raw JSON or UNSET)."""
    return str(value) if isinstance(value, str) else None


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _time(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _url_map(value: object) -> dict[str, str]:
    if isinstance(value, gen.SpzUrls):
        value = value.additional_properties
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str) and v}


@attrs.frozen
class WorldAssets:
    """Files of a world. URLs are None until produced; ``spz_urls`` maps tier -> URL.

    Example:
        >>> assets = op.assets                                   # doctest: +SKIP
        >>> assets.spz_urls.get("500k"), assets.rad_url         # doctest: +SKIP
    """

    spz_urls: Mapping[str, str] = attrs.field(factory=dict)
    rad_url: str | None = None
    collider_mesh_url: str | None = None
    pano_url: str | None = None
    preview_image_url: str | None = None
    thumbnail_url: str | None = None
    caption: str | None = None

    @classmethod
    def _from_raw(cls, data: Mapping[str, Any]) -> WorldAssets:
        return cls(
            spz_urls=_url_map(data.get("spzUrls")),
            rad_url=_str(data.get("radUrl")),
            collider_mesh_url=_str(data.get("colliderMeshUrl")),
            pano_url=_str(data.get("panoUrl")),
            preview_image_url=_str(data.get("previewImageUrl")),
            thumbnail_url=_str(data.get("thumbnailUrl")),
            caption=_str(data.get("caption")),
        )

    @classmethod
    def _from_generated(cls, a: gen.WorldAssets) -> WorldAssets:
        return cls(
            spz_urls=_url_map(a.spz_urls),
            rad_url=_str(a.rad_url),
            collider_mesh_url=_str(a.collider_mesh_url),
            pano_url=_str(a.pano_url),
            preview_image_url=_str(a.preview_image_url),
            thumbnail_url=_str(a.thumbnail_url),
            caption=_str(a.caption),
        )


_MODEL_URL_KEYS = {
    "glbUrl",
    "optimizedGlbUrl",
    "previewImageUrl",
    "thumbnailUrl",
}


@attrs.frozen
class ModelAssets:
    """Files of a 3D model. ``other_urls`` holds any further ``*Url`` field (fbx, obj, usdz...).

    Example:
        >>> mint.models.get("model_123").assets.glb_url          # doctest: +SKIP
    """

    glb_url: str | None = None
    optimized_glb_url: str | None = None
    preview_image_url: str | None = None
    thumbnail_url: str | None = None
    glb_size_bytes: int | None = None
    optimized_glb_size_bytes: int | None = None
    other_urls: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def _from_raw(cls, data: Mapping[str, Any]) -> ModelAssets:
        def size(key: str) -> int | None:
            v = data.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        others = {
            k: v
            for k, v in data.items()
            if k.endswith("Url") and k not in _MODEL_URL_KEYS and isinstance(v, str) and v
        }
        return cls(
            glb_url=_str(data.get("glbUrl")),
            optimized_glb_url=_str(data.get("optimizedGlbUrl")),
            preview_image_url=_str(data.get("previewImageUrl")),
            thumbnail_url=_str(data.get("thumbnailUrl")),
            glb_size_bytes=size("glbSizeBytes"),
            optimized_glb_size_bytes=size("optimizedGlbSizeBytes"),
            other_urls=others,
        )


def _assets(value: object, raw: object, kind: str | None) -> WorldAssets | ModelAssets | None:
    if isinstance(value, gen.WorldAssets):
        return WorldAssets._from_generated(value)
    if isinstance(value, gen.ModelAssets) and isinstance(raw, Mapping):
        return ModelAssets._from_raw(raw)
    if not isinstance(raw, Mapping):
        return None
    # Neither generated variant parsed (e.g. a preview with only image URLs): decide by kind.
    if kind == "world" or "spzUrls" in raw or "radUrl" in raw:
        return WorldAssets._from_raw(raw)
    return ModelAssets._from_raw(raw)


class _RawBacked:
    """Equality, hashing and ``to_dict`` from the JSON an object was parsed from."""

    id: str
    raw: Mapping[str, Any]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def to_dict(self) -> dict[str, Any]:
        """The object as plain JSON-able data (what the API sent), for saving and resuming."""
        return copy.deepcopy(dict(self.raw))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Parse the API's JSON (or a dict from :meth:`to_dict`); the input is copied, not kept.

        Raises ``ValueError``/``KeyError``/``TypeError`` when it does not match the spec.

        Example:
            >>> import json; saved = json.dumps(op.to_dict())        # doctest: +SKIP
            >>> Operation.from_dict(json.loads(saved)) == op         # doctest: +SKIP
            True
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a JSON object, not {type(data).__name__}")
        return cls._build(copy.deepcopy(dict(data)))

    @classmethod
    def _build(cls, raw: dict[str, Any]) -> Self:
        """Parse JSON that nobody else holds (fresh from the wire): no defensive copy."""
        raise NotImplementedError


@attrs.frozen
class ErrorInfo:
    """Why an operation failed: a snake_case ``code`` and a human ``message``.

    Example:
        >>> if op.is_failed: print(op.error.code, op.error.message)   # doctest: +SKIP
    """

    code: str
    message: str


@attrs.frozen
class Billing:
    """What a ``billing_required`` operation needs before ``operations.resume``.

    Example:
        >>> try:                                                  # doctest: +SKIP
        ...     mint.operations.wait(op)
        ... except BillingRequiredError as exc:
        ...     print(exc.billing.required_credits, exc.billing.action_url)
    """

    reason: str | None
    required_credits: float
    available_credits: float | None
    action_url: str | None
    stage: str | None = None
    resource: str | None = None
    cta_kind: str | None = None


@attrs.frozen
class ResourceRef:
    """The world or model an operation produces.

    Example:
        >>> op.resource.type, op.resource.id                      # doctest: +SKIP
        ('world', 'world_123')
    """

    type: str | None
    id: str


@attrs.frozen(eq=False)
class Operation(_RawBacked):
    """A long-running Mint operation, as last seen.

    Example:
        >>> op = mint.worlds.generate(prompt="A quiet greenhouse")  # doctest: +SKIP
        >>> op.status, op.is_active                                   # doctest: +SKIP
        ('queued', True)
    """

    id: str
    status: str
    type: str
    generation_mode: str
    generation_preset: str | None = None
    prompt: str | None = None
    generation_model: str | None = None
    optimization_level: str | None = None
    resource: ResourceRef | None = None
    mint_url: str | None = None
    assets: WorldAssets | ModelAssets | None = None
    error: ErrorInfo | None = None
    billing: Billing | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    canceled_at: dt.datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def _build(cls, raw: dict[str, Any]) -> Operation:
        if not isinstance(raw, dict):
            raise TypeError(f"an operation is a JSON object, not {type(raw).__name__}")
        g = gen.Operation.from_dict(raw)
        resource = None
        if isinstance(g.resource, gen.OperationResource):
            resource = ResourceRef(
                type=_str(g.resource.type_), id=_must_str(g.resource.id, "resource.id", empty=False)
            )
        error = None
        if isinstance(g.error, gen.OperationError):
            error = ErrorInfo(
                code=_must_str(g.error.code, "error.code"),
                message=_must_str(g.error.message, "error.message"),
            )
        billing = None
        if isinstance(g.billing, gen.Billing):
            b = g.billing
            billing = Billing(
                reason=_str(b.reason),
                required_credits=float(b.required_credits),
                available_credits=_num(b.available_credits),
                action_url=_str(b.action_url),
                stage=_str(b.stage),
                resource=_str(b.resource),
                cta_kind=_str(b.cta_kind),
            )
        type_ = _must_str(g.type_, "type")
        kind = resource.type if resource and resource.type else type_.split("_", 1)[0]
        return cls(
            id=_must_str(g.id, "id", empty=False),
            status=_must_str(g.status, "status", empty=False),
            type=type_,
            generation_mode=_must_str(g.generation_mode, "generationMode"),
            generation_preset=_str(g.generation_preset),
            prompt=_str(g.prompt),
            generation_model=_str(g.generation_model),
            optimization_level=_str(g.optimization_level),
            resource=resource,
            mint_url=_str(g.mint_url),
            assets=_assets(g.assets, raw.get("assets"), kind),
            error=error,
            billing=billing,
            created_at=_time(g.created_at),
            updated_at=_time(g.updated_at),
            completed_at=_time(g.completed_at),
            canceled_at=_time(g.canceled_at),
            raw=raw,
        )

    # -- status predicates (see mint_ext.status) --
    @property
    def is_terminal(self) -> bool:
        return _status.is_terminal(self.status)

    @property
    def is_active(self) -> bool:
        return _status.is_active(self.status)

    @property
    def is_preview_ready(self) -> bool:
        return _status.is_preview_ready(self.status)

    @property
    def needs_action(self) -> bool:
        return _status.needs_action(self.status, self.generation_mode)

    @property
    def is_succeeded(self) -> bool:
        return _status.is_succeeded(self.status)

    @property
    def is_partial(self) -> bool:
        return _status.is_partial(self.status)

    @property
    def is_failed(self) -> bool:
        return _status.is_failed(self.status)

    @property
    def is_canceled(self) -> bool:
        return _status.is_canceled(self.status)

    @property
    def resource_id(self) -> str | None:
        return self.resource.id if self.resource else None


@attrs.frozen(eq=False)
class World(_RawBacked):
    """A generated world (``GET /v1/worlds/{id}``).

    Example:
        >>> world = mint.worlds.get("world_123")                  # doctest: +SKIP
        >>> world.asset_stage, world.assets.rad_url               # doctest: +SKIP
    """

    id: str
    name: str | None
    status: str | None
    asset_stage: str | None
    mint_url: str | None
    assets: WorldAssets | None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def _build(cls, raw: dict[str, Any]) -> World:
        fields, assets = _resource_fields(gen.World, raw, "world")
        return cls(**fields, assets=assets if isinstance(assets, WorldAssets) else None)


@attrs.frozen(eq=False)
class Model(_RawBacked):
    """A generated 3D model (``GET /v1/models/{id}``).

    Example:
        >>> model = mint.models.get("model_123")                  # doctest: +SKIP
        >>> model.assets.optimized_glb_url                        # doctest: +SKIP
    """

    id: str
    name: str | None
    status: str | None
    asset_stage: str | None
    mint_url: str | None
    assets: ModelAssets | None
    prompt: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def _build(cls, raw: dict[str, Any]) -> Model:
        fields, assets = _resource_fields(gen.Model, raw, "model")
        return cls(**fields, prompt=_str(raw.get("prompt")),
                   assets=assets if isinstance(assets, ModelAssets) else None)  # fmt: skip


def _resource_fields(
    parser: type[gen.World] | type[gen.Model], raw: dict[str, Any], kind: str
) -> tuple[dict[str, Any], WorldAssets | ModelAssets | None]:
    """The fields World and Model share, parsed by the generated model."""
    if not isinstance(raw, dict):
        raise TypeError(f"a {kind} is a JSON object, not {type(raw).__name__}")
    g = parser.from_dict(raw)
    fields = {
        "id": _must_str(g.id, "id", empty=False),
        "name": _str(g.name),
        "status": _str(g.status),
        "asset_stage": _str(g.asset_stage),
        "mint_url": _str(g.mint_url),
        "created_at": _time(g.created_at),
        "updated_at": _time(g.updated_at),
        "raw": raw,
    }
    return fields, _assets(g.assets, raw.get("assets"), kind)


@attrs.frozen
class Account:
    """Who the API key belongs to (``GET /v1/me``).

    Example:
        >>> mint.account.me().user_id                             # doctest: +SKIP
    """

    user_id: str
    email: str | None
    scopes: Sequence[str]
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Account:
        g = gen.Me.from_dict(dict(data))
        scopes = g.authentication.scopes
        if not isinstance(scopes, Unset | list):
            raise TypeError(f"authentication.scopes must be a list, got {scopes!r}")
        return cls(
            user_id=_must_str(g.owner.user_id, "owner.userId", empty=False),
            email=_str(g.owner.email),
            scopes=tuple(s for s in scopes if isinstance(s, str))
            if not isinstance(scopes, Unset)
            else (),
            raw=copy.deepcopy(dict(data)),
        )


@attrs.frozen
class Usage:
    """Available Credits and usage (``GET /v1/usage``).

    Example:
        >>> mint.account.usage().credits_available                # doctest: +SKIP
    """

    credits_available: float
    subscription: Mapping[str, Any] | None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        g = gen.Usage.from_dict(dict(data))
        sub = g.subscription
        return cls(
            credits_available=float(g.credits_.total_available),
            subscription=dict(sub.additional_properties) if isinstance(sub, gen.FreeForm) else None,
            raw=copy.deepcopy(dict(data)),
        )


@attrs.frozen
class Page(Generic[T]):
    """One page of a listing: ``items`` and the cursor of the next page (None at the end).

    Example:
        >>> page = mint.worlds.list_page(limit=50)                # doctest: +SKIP
        >>> while page.next_cursor:                               # doctest: +SKIP
        ...     page = mint.worlds.list_page(limit=50, cursor=page.next_cursor)
    """

    items: Sequence[T]
    next_cursor: str | None
    has_more: bool

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
