"""The SDK's public models: the generated models themselves, plus behaviour.

Every public model subclasses the generated model of the same schema (``Operation`` subclasses
``mint_client.models.Operation``), so every property of the spec is an attribute with the
generated type, at the top level and inside nested objects, without a line here per field: a
property added to the spec is a typed attribute after ``nox -s generate`` and nothing else. What
this module adds is behaviour: status predicates, asset helpers, a few friendlier names
(``op.type`` for ``type_``), ``raw``/``to_dict``/``from_dict``, immutability and hashing.

Parsing (one entry point per model, ``Model._build``, used by ``from_dict``) runs the generated
``from_dict`` and then checks every value against the generated type annotation: the generated
parsers return the raw JSON value when no variant of a union parses (a ``7`` for a status, a
string for ``assets``), and a wrong type is a malformed response (``TypeError``/``ValueError``
here, ``ResponseValidationError`` for the caller). The same walk swaps nested generated objects
for their public subclasses (``op.assets`` is a :class:`WorldAssets` with its helpers).

Optional fields the server leaves out are ``mint_client.types.UNSET`` (falsy), as in the
generated layer; ``null`` is ``None``. Fields the spec does not know stay reachable in
``additional_properties`` (and in ``raw``). Top-level models keep the JSON they came from in
``raw``; ``to_dict()`` returns a copy, so ``Operation.from_dict(op.to_dict()) == op``.
"""

from __future__ import annotations

import copy
import copyreg
import functools
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar, cast

import attrs

from mint_client import models as gen
from mint_client.types import Unset

from . import status as _status

__all__ = [
    "Account",
    "Billing",
    "ErrorInfo",
    "FreeForm",
    "Model",
    "ModelAssets",
    "Operation",
    "Page",
    "ResourceRef",
    "SpzUrls",
    "Usage",
    "World",
    "WorldAssets",
    "generated_model_of",
    "public_model_of",
]

T = TypeVar("T")

_GEN_PREFIX = gen.__name__ + "."
# Names the generated modules import only under TYPE_CHECKING (their annotations are strings).
_GEN_NAMESPACE: dict[str, Any] = {name: getattr(gen, name) for name in gen.__all__}
# Strings the API always sends non-empty (an empty id cannot be polled; an empty status would
# count as "still running" until the deadline). Keyed by generated class, nested ones included.
_NON_EMPTY: dict[type, frozenset[str]] = {
    gen.Operation: frozenset({"id", "status"}),
    gen.OperationResource: frozenset({"id"}),
    gen.World: frozenset({"id"}),
    gen.Model: frozenset({"id"}),
    gen.MeOwner: frozenset({"user_id"}),
}
_PUBLIC: dict[type, type[_Public]] = {}

# ``UNSET`` is compared by identity (``x is UNSET``) but pickles and deep-copies into a new
# ``Unset`` by default: keep the singleton (an error carrying ``op.billing`` is pickled whole).
copyreg.pickle(Unset, lambda _: "UNSET")


def _is_generated_model(tp: object) -> bool:
    return isinstance(tp, type) and attrs.has(tp) and tp.__module__.startswith(_GEN_PREFIX)


def generated_model_of(cls: object) -> type | None:
    """The generated model class ``cls`` is (or subclasses), or None (also for a non-class).

    Example:
        >>> from mint_ext import Operation
        >>> generated_model_of(Operation).__module__
        'mint_client.models.operation'
    """
    if not isinstance(cls, type):
        return None
    return next((c for c in cls.__mro__ if _is_generated_model(c)), None)


def public_model_of(generated: type) -> type | None:
    """The public ``mint_ext`` subclass of a generated model class, or None if it has none
    (then the generated class itself is what users get, e.g. ``op.credits_``).

    Example:
        >>> from mint_client import models
        >>> public_model_of(models.WorldAssets).__name__
        'WorldAssets'
    """
    return _PUBLIC.get(generated)


@functools.cache
def _field_types(generated: type) -> dict[str, Any]:
    """The generated annotations, evaluated (``from __future__ import annotations`` made them
    strings; the nested model names are imported only under TYPE_CHECKING)."""
    module = sys.modules[generated.__module__]
    return typing.get_type_hints(generated, vars(module), _GEN_NAMESPACE)


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " | ".join(_describe(member) for member in typing.get_args(tp))
    if tp is type(None):
        return "None"
    return tp.__name__ if isinstance(tp, type) else str(tp)


class _Mismatch(Exception):
    """A value that does not have its generated type; ``path`` grows while it unwinds."""

    def __init__(self, expected: str, value: object, *, empty: bool = False) -> None:
        super().__init__(expected)
        self.expected, self.value, self.empty = expected, value, empty
        self.path: list[str] = []

    def error(self, root: str) -> TypeError | ValueError:
        where = root + "".join(self.path)
        if self.empty:
            return ValueError(f"{where} must not be empty")
        shown = repr(self.value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return TypeError(f"{where} must be {self.expected}, got {shown}")


_Check = Callable[[object], object]


def _matcher(tp: Any) -> Callable[[object], bool]:
    """Does a value have type ``tp`` (one member of a union), shallowly?"""
    origin = typing.get_origin(tp)
    if tp is Any:
        return lambda v: True
    if tp is type(None):
        return lambda v: v is None
    if origin is Literal:
        allowed = typing.get_args(tp)
        return lambda v: v in allowed
    if origin is list or origin is dict:
        return lambda v: type(v) is origin
    if tp is float:  # a JSON number; never a bool
        return lambda v: type(v) is float or type(v) is int
    if tp is int:
        return lambda v: type(v) is int
    if isinstance(tp, type):
        return lambda v: isinstance(v, tp)
    raise TypeError(f"cannot check values against {tp!r}")  # a generator change: fail loudly


def _items(check: _Check) -> _Check:
    def each(value: object) -> object:
        items, out = cast(list[object], value), None
        for i, item in enumerate(items):
            try:
                checked = check(item)
            except _Mismatch as exc:
                exc.path.insert(0, f"[{i}]")
                raise
            if checked is not item:
                out = out if out is not None else list(items)
                out[i] = checked
        return items if out is None else out

    return each


def _values(check: _Check) -> _Check:
    def each(value: object) -> object:
        entries, out = cast(dict[str, object], value), None
        for key, item in entries.items():
            try:
                checked = check(item)
            except _Mismatch as exc:
                exc.path.insert(0, f"[{key!r}]")
                raise
            if checked is not item:
                out = out if out is not None else dict(entries)
                out[key] = checked
        return entries if out is None else out

    return each


def _converter(tp: Any) -> _Check | None:
    """What to do with a value that matched ``tp``: check its items, adopt a model, or nothing."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return _items(_checker(args[0]))
    if origin is dict:
        return None if args[1] is Any else _values(_checker(args[1]))
    if _is_generated_model(tp):
        return _adopt
    return None


@functools.cache
def _checker(tp: Any) -> _Check:
    """A function that returns a value of the generated type ``tp`` (nested models adopted) or
    raises ``_Mismatch``; made once per type."""
    is_union = typing.get_origin(tp) in (typing.Union, types.UnionType)
    members = typing.get_args(tp) if is_union else (tp,)
    parts = tuple((_matcher(m), _converter(m)) for m in members)
    expected = _describe(tp)

    def check(value: object) -> object:
        for matches, convert in parts:
            if matches(value):
                return value if convert is None else convert(value)
        raise _Mismatch(expected, value)

    return check


@functools.cache
def _plan(generated: type) -> tuple[tuple[str, _Check, bool], ...]:
    """Per field of a generated model: its name, its checker, whether it must be non-empty."""
    hints = _field_types(generated)
    non_empty = _NON_EMPTY.get(generated, frozenset())
    return tuple((f.name, _checker(hints[f.name]), f.name in non_empty)
                 for f in attrs.fields(generated))  # fmt: skip


_TARGETS: dict[type, tuple[type, type[_Public] | None]] = {}


def _target(cls: type) -> tuple[type, type[_Public] | None]:
    """The generated class of a parsed value's class, and the public class to turn it into."""
    target = _TARGETS.get(cls)
    if target is None:
        generated = generated_model_of(cls)
        assert generated is not None
        target = _TARGETS[cls] = (generated, _PUBLIC.get(generated))
    return target


def _adopt(value: object) -> object:
    """Check every field of a parsed generated model and swap it for its public subclass."""
    generated, public = _target(type(value))
    if public is not None and not isinstance(value, public):
        twin = object.__new__(public)
        for f in attrs.fields(generated):
            object.__setattr__(twin, f.name, getattr(value, f.name))
        value = twin
    repaired = public._repaired if public is not None else frozenset()
    for name, check, non_empty in _plan(generated):
        current = getattr(value, name)
        if name in repaired:
            current = cast(_Public, value)._repair(name, current)
        try:
            checked = check(current)
            if non_empty and checked == "":
                raise _Mismatch("", checked, empty=True)
        except _Mismatch as exc:
            exc.path.insert(0, f".{name}")
            raise
        if checked is not current or name in repaired:
            object.__setattr__(value, name, checked)
    if public is not None:
        object.__setattr__(value, "_sealed", True)
    return value


def _rebuild(cls: type[_TopLevel], data: dict[str, Any]) -> _TopLevel:
    """Unpickling and deep copies parse the saved JSON again (see ``_TopLevel.__reduce__``)."""
    return cls._build(data)


class _Public:
    """Behaviour shared by every public subclass of a generated model.

    Registers the subclass (so nested values are adopted), parses through ``_build`` and makes
    the parsed object read-only: ``to_dict()`` and ``raw`` could otherwise disagree with it.
    """

    _sealed: bool
    _repaired: ClassVar[frozenset[str]] = frozenset()  # the fields `_repair` looks at

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        generated = generated_model_of(cls)
        if generated is not None:  # None: one of the mixins below
            if generated in _PUBLIC:
                raise TypeError(f"{generated.__name__} has two public models")
            _PUBLIC[generated] = cls

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_sealed", False):
            raise attrs.exceptions.FrozenInstanceError()
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if getattr(self, "_sealed", False):
            raise attrs.exceptions.FrozenInstanceError()
        super().__delattr__(name)

    def _repair(self, name: str, value: object) -> object:
        """Turn a value the generated parser left raw into one that checks (default: as is)."""
        return value

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Parse the API's JSON (or a dict from ``to_dict()``); the input is copied, not kept.

        Raises ``ValueError``/``KeyError``/``TypeError`` when it does not match the spec.

        Example:
            >>> import json
            >>> saved = json.dumps(op.to_dict())
            >>> Operation.from_dict(json.loads(saved)) == op
            True
        """
        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, not {type(src_dict).__name__}")
        from ._spec import MAX_DEPTH, too_deep

        if too_deep(src_dict):  # never a RecursionError from the copy or the parsers
            raise ValueError(f"the data nests deeper than {MAX_DEPTH} levels")
        return cls._build(copy.deepcopy(dict(src_dict)))

    @classmethod
    def _build(cls, raw: dict[str, Any]) -> Self:
        """THE parse entry point: JSON that nobody else holds (fresh from the wire, no copy)."""
        if not isinstance(raw, dict):
            raise TypeError(f"a {cls.__name__} is a JSON object, not {type(raw).__name__}")
        generated = generated_model_of(cls)
        assert generated is not None
        parsed = cast(Any, generated).from_dict.__func__(cls, _rfc3339_times(raw))  # a `cls`
        if isinstance(parsed, _TopLevel):
            object.__setattr__(parsed, "_raw", raw)
        try:
            return cast(Self, _adopt(parsed))
        except _Mismatch as exc:
            raise exc.error(cls.__name__) from None


_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z"
)


@functools.cache
def _time_keys() -> frozenset[str]:
    """JSON names of every ``format: date-time`` property in the spec."""
    from ._spec import spec

    found: set[str] = set()
    stack: list[object] = [spec().get("components", {})]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                variants = [prop, *(prop.get("anyOf") or []), *(prop.get("oneOf") or [])]
                if any(isinstance(v, dict) and v.get("format") == "date-time" for v in variants):
                    found.add(name)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(found)


def _rfc3339(value: str) -> str:
    """An RFC 3339 date-time in the form ``datetime.fromisoformat`` reads: ``T`` and ``Z`` in
    upper case, and a leap second (``23:59:60``) as the last instant before it."""
    match = _RFC3339.match(value)
    if match is None:
        return value
    date, hours_minutes, second, fraction, offset = match.groups()
    if second == "60":
        second, fraction = "59", ".999999"
    return f"{date}T{hours_minutes}:{second}{fraction or ''}{'Z' if offset in 'Zz' else offset}"


def _rfc3339_times(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every date-time the spec allows readable by the generated parsers (the
    original JSON stays in ``raw``); the same object when nothing needs it."""
    keys = _time_keys()

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            changed = {
                k: (_rfc3339(v) if k in keys and isinstance(v, str) else walk(v))
                for k, v in node.items()
            }
            return node if all(changed[k] is node[k] for k in node) else changed
        if isinstance(node, list):
            items = [walk(v) for v in node]
            return node if all(a is b for a, b in zip(items, node, strict=True)) else items
        return node

    return cast(dict[str, Any], walk(data))


class _TopLevel(_Public):
    """A model an endpoint returns: keeps its JSON in ``raw``, ``to_dict()`` returns a copy."""

    _raw: dict[str, Any]

    @property
    def raw(self) -> Mapping[str, Any]:
        """The JSON the API sent (read it, do not change it; ``to_dict()`` gives a copy)."""
        raw = self.__dict__.get("_raw")
        if raw is None:  # made with the constructor, not parsed
            raw = cast(Any, generated_model_of(type(self))).to_dict(self)
        return cast(Mapping[str, Any], raw)

    def to_dict(self) -> dict[str, Any]:
        """The object as plain JSON-able data (what the API sent), for saving and resuming."""
        return copy.deepcopy(dict(self.raw))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.to_dict()))


class _Identified(_TopLevel):
    """Hashable by kind and id, as before the models came from the generated ones: the generated
    classes are unhashable (mutable attrs classes with ``eq``), a parsed model is read-only.
    mypy sees the generated ``__hash__ = None``, hence the ignores on the subclasses."""

    id: str

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))


class _MappingModel(_Public, Mapping[str, T]):
    """A generated ``additionalProperties`` object, readable as a plain mapping."""

    additional_properties: dict[str, T]

    def __init__(self, items: Mapping[str, T] | None = None, /) -> None:
        super().__init__()
        self.additional_properties = dict(items or {})

    def __getitem__(self, key: str) -> T:
        return self.additional_properties[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.additional_properties)

    def __len__(self) -> int:
        return len(self.additional_properties)

    def __contains__(self, key: object) -> bool:
        return key in self.additional_properties

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.additional_properties) == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable mapping content

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.additional_properties!r})"


class SpzUrls(_MappingModel[str], gen.SpzUrls):
    """Splat resolution tier -> ``.spz`` URL, as a read-only mapping (``urls.get("500k")``)."""


class FreeForm(_MappingModel[Any], gen.FreeForm):
    """An object whose shape the spec does not document (``usage.subscription``), as a mapping."""


class WorldAssets(_Public, gen.WorldAssets):
    """Files of a world: every ``WorldAssets`` field of the spec; a URL not produced yet is None.

    ``spz_urls`` is always a mapping (empty when the API sends null).

    Example:
        >>> assets = op.world_assets
        >>> sorted(assets.spz_urls)
        ['100k', '500k', 'full_res']
        >>> print(assets.rad_url.startswith("http"))
        True
    """

    spz_urls: SpzUrls
    _repaired = frozenset({"spz_urls"})

    def _repair(self, name: str, value: object) -> object:
        return gen.SpzUrls() if name == "spz_urls" and value is None else value


_MODEL_URL_KEYS = frozenset({"glbUrl", "optimizedGlbUrl", "previewImageUrl", "thumbnailUrl"})
_MODEL_ASSET_KEYS = ("glbUrl", "optimizedGlbUrl", "previewImageUrl", "thumbnailUrl")
_WORLD_ASSET_KEYS = ("spzUrls", "radUrl", "colliderMeshUrl", "panoUrl", "previewImageUrl",
                     "thumbnailUrl", "caption")  # fmt: skip


class ModelAssets(_Public, gen.ModelAssets):
    """Files of a 3D model: every ``ModelAssets`` field of the spec.

    Example:
        >>> model = mint.models.get(model_op.resource_id)
        >>> print(model.assets.glb_url.endswith(".glb"))
        True
    """

    @property
    def other_urls(self) -> dict[str, str]:
        """Every further ``*Url`` field by its JSON name (``fbxUrl``, ``usdzUrl``, and any the spec
        does not know yet) that has a URL: the extra formats a download can fetch."""
        data = gen.ModelAssets.to_dict(self)
        return {
            k: v
            for k, v in data.items()
            if k.endswith("Url") and k not in _MODEL_URL_KEYS and isinstance(v, str) and v
        }


def _repair_assets(value: object, kind: str) -> object:
    """Assets where neither generated variant parsed (a preview with only image URLs lacks the
    key the variant requires): parsed as the kind's variant, the missing key null."""
    if not isinstance(value, dict):
        return value
    if kind == "world" or "spzUrls" in value or "radUrl" in value:
        return gen.WorldAssets.from_dict({"spzUrls": None} | value)
    return gen.ModelAssets.from_dict({"glbUrl": None} | value)


class ErrorInfo(_Public, gen.OperationError):
    """Why an operation failed: a snake_case ``code`` and a human ``message``.

    Example:
        >>> from mint_ext import OperationFailedError
        >>> try:
        ...     mint.operations.wait(failed_op)
        ... except OperationFailedError as exc:
        ...     print(exc.operation.error.code, exc.operation.error.message)
        content_policy The prompt was refused.
    """


class Billing(_Public, gen.Billing):
    """What a ``billing_required`` operation needs before ``operations.resume``.

    Example:
        >>> from mint_ext import BillingRequiredError
        >>> try:
        ...     mint.operations.wait(billing_op)
        ... except BillingRequiredError as exc:
        ...     print(exc.billing.required_credits, exc.billing.action_url)
        120 https://mint.gg/settings/billing
    """


class ResourceRef(_Public, gen.OperationResource):
    """The world or model an operation produces.

    Example:
        >>> print(op.resource.type, op.resource.id.startswith("world_"))
        world True
    """

    @property
    def type(self) -> gen.ResourceType | str | Unset:
        """``type_`` of the generated model (``world`` or ``model``)."""
        return self.type_


class Operation(_Identified, gen.Operation):  # type: ignore[misc]  # see _Identified
    """A long-running Mint operation, as last seen.

    Example:
        >>> op = mint.worlds.generate(prompt="A quiet greenhouse")
        >>> print(op.status, op.is_active)
        queued True
        >>> op = mint.operations.wait(op)
        >>> print(op.status, op.is_terminal, op.world_assets.pano_url is not None)
        succeeded True True
    """

    resource: ResourceRef | None
    assets: WorldAssets | ModelAssets | None
    error: ErrorInfo | Unset | None
    billing: Billing | Unset | None
    _repaired = frozenset({"assets"})

    def _repair(self, name: str, value: object) -> object:
        if name != "assets":
            return value
        kind = getattr(self.resource, "type_", None)
        if not isinstance(kind, str) or not kind:
            kind = str(self.type_).split("_", 1)[0]
        return _repair_assets(value, kind)

    @property
    def type(self) -> gen.OperationType | str:
        """``type_`` of the generated model (``world_generation``, ``model_optimization``...)."""
        return self.type_

    # -- status predicates (see mint_ext.status) --
    @property
    def is_terminal(self) -> bool:
        """succeeded, partially_succeeded, failed or canceled: nothing more will happen."""
        return _status.is_terminal(self.status)

    @property
    def is_active(self) -> bool:
        """queued or running, or a status this SDK does not know."""
        return _status.is_active(self.status)

    @property
    def is_preview_ready(self) -> bool:
        """``preview_ready``."""
        return _status.is_preview_ready(self.status)

    @property
    def needs_action(self) -> bool:
        """A preview in review mode (approve or revise), or ``billing_required``."""
        return _status.needs_action(self.status, self.generation_mode)

    @property
    def is_succeeded(self) -> bool:
        """succeeded, including partially_succeeded."""
        return _status.is_succeeded(self.status)

    @property
    def is_partial(self) -> bool:
        """partially_succeeded."""
        return _status.is_partial(self.status)

    @property
    def is_failed(self) -> bool:
        """failed (``error`` says why)."""
        return _status.is_failed(self.status)

    @property
    def is_canceled(self) -> bool:
        """canceled."""
        return _status.is_canceled(self.status)

    @property
    def resource_id(self) -> str | None:
        """The id of the world or model, once there is one."""
        return self.resource.id if self.resource else None

    @property
    def kind(self) -> str:
        """What the operation produces: ``"world"`` or ``"model"`` (from ``resource.type``, else
        from ``type``: ``world_generation`` -> ``world``)."""
        kind = getattr(self.resource, "type_", None)
        if isinstance(kind, str) and kind:
            return str(kind)
        return str(self.type_).split("_", 1)[0]

    @property
    def world_assets(self) -> WorldAssets:
        """``assets`` typed as :class:`WorldAssets`, for an operation that produces a world.

        Before anything is produced every URL is None (and ``spz_urls`` empty), as in the API.
        Raises ``AttributeError`` for an operation that produces a model (see ``model_assets``).

        Example:
            >>> print(op.world_assets.rad_url is not None, review_op.kind)
            True world
        """
        if isinstance(self.assets, WorldAssets):
            return self.assets
        if self.assets is None and self.kind == "world":
            return WorldAssets.from_dict(dict.fromkeys(_WORLD_ASSET_KEYS))
        raise AttributeError(f"operation {self.id} produces a {self.kind}, not a world")

    @property
    def model_assets(self) -> ModelAssets:
        """``assets`` typed as :class:`ModelAssets`, for an operation that produces a model.

        Before anything is produced every URL is None, as in the API. Raises ``AttributeError``
        for an operation that produces a world (see ``world_assets``).

        Example:
            >>> print(model_op.model_assets.glb_url is not None, model_op.kind)
            True model
        """
        if isinstance(self.assets, ModelAssets):
            return self.assets
        if self.assets is None and self.kind == "model":
            return ModelAssets.from_dict(dict.fromkeys(_MODEL_ASSET_KEYS))
        raise AttributeError(f"operation {self.id} produces a {self.kind}, not a model")


class World(_Identified, gen.World):  # type: ignore[misc]  # see _Identified
    """A generated world (``GET /v1/worlds/{id}``).

    Example:
        >>> world = mint.worlds.get(op.resource_id)
        >>> print(world.asset_stage, world.assets.rad_url.endswith(".rad"))
        final True
    """

    assets: WorldAssets | None
    _repaired = frozenset({"assets"})

    def _repair(self, name: str, value: object) -> object:
        return _repair_assets(value, "world") if name == "assets" else value


class Model(_Identified, gen.Model):  # type: ignore[misc]  # see _Identified
    """A generated 3D model (``GET /v1/models/{id}``).

    Example:
        >>> model = mint.models.get(model_op.resource_id)
        >>> print(model.asset_stage, model.assets.glb_url.endswith(".glb"))
        final True
    """

    assets: ModelAssets | None
    _repaired = frozenset({"assets"})

    def _repair(self, name: str, value: object) -> object:
        return _repair_assets(value, "model") if name == "assets" else value


class Account(_TopLevel, gen.Me):
    """Who the API key belongs to (``GET /v1/me``): ``owner`` and ``authentication`` as in the
    spec, and the shortcuts ``user_id``, ``email`` and ``scopes``.

    Example:
        >>> me = mint.account.me()
        >>> print(me.user_id.startswith("0x"), me.scopes)
        True ('mint:assets:read', 'mint:assets:generate')
    """

    @property
    def user_id(self) -> str:
        """``owner.user_id``: the owner's wallet address."""
        return self.owner.user_id

    @property
    def email(self) -> str | None:
        """``owner.email``, None when not sent."""
        email = self.owner.email
        return email if isinstance(email, str) else None

    @property
    def scopes(self) -> tuple[str, ...]:
        """``authentication.scopes``, empty when not sent."""
        scopes = self.authentication.scopes
        return tuple(scopes) if isinstance(scopes, list) else ()


class Usage(_TopLevel, gen.Usage):
    """Available Credits and usage (``GET /v1/usage``).

    Example:
        >>> usage = mint.account.usage()
        >>> print(type(usage.credits_available).__name__, usage.credits_available > 0)
        float True
    """

    subscription: FreeForm | Unset | None
    summary: FreeForm | Unset | None

    @property
    def credits_available(self) -> float:
        """``credits_.total_available``."""
        return float(self.credits_.total_available)


@attrs.frozen
class Page(Generic[T]):
    """One page of a listing: ``items`` and the cursor of the next page (None at the end).

    Example:
        >>> page = mint.worlds.list_page(limit=2)
        >>> ids = [w.id for w in page.items]
        >>> while page.next_cursor:
        ...     page = mint.worlds.list_page(limit=2, cursor=page.next_cursor)
        ...     ids += [w.id for w in page.items]
        >>> len(ids) == len(set(ids)) >= 3
        True
    """

    items: Sequence[T]
    next_cursor: str | None
    has_more: bool

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
