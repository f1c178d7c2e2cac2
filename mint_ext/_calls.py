"""One function per API call, returning a flow; the sync and async resources only drive them.

Also the two open doors: :func:`endpoint_call` runs any generated endpoint module with the SDK's
retries, idempotency and errors, and :func:`request_call` any route the spec does not have yet.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal, Protocol, TypeVar

import httpx

from mint_client import client as gen_client
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

from ._core import (
    Core,
    InvalidArgumentError,
    check_header_items,
    check_idempotency_key,
    new_idempotency_key,
    object_id,
    parse_body,
)
from ._flow import Flow
from ._models import Account, Model, Operation, Page, Usage, World

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

GenerationMode = Literal["auto", "review"]
GenerationPreset = Literal["fast", "standard", "production"]
OptimizationLevel = Literal["light", "moderate", "aggressive"]


#: Body fields of ``worlds.generate`` besides ``prompt`` (snake_case of the spec's names).
WORLD_FIELDS = frozenset(
    {"derived_prompt", "generation_mode", "generation_preset", "display_name", "image_url",
     "source_images", "source_url", "idempotency_key"}
)  # fmt: skip
#: Body fields of ``models.generate`` besides ``prompt``.
MODEL_FIELDS = frozenset(
    {"derived_prompt", "name", "generation_mode", "generation_preset", "rigging_pose",
     "image_url", "source_images", "idempotency_key"}
)  # fmt: skip


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


def _key(core: Core, key: object, call: str) -> str:
    """The caller's key (checked), or a fresh one unless the client requires the caller's."""
    if key is not None:
        return check_idempotency_key(key)
    if core.require_idempotency_key:
        raise InvalidArgumentError(
            f"{call} needs idempotency_key=... (this client was made with "
            "require_idempotency_key=True); derive one from your job: "
            "mint_ext.idempotency_key('job-name', job_id)"
        )
    return new_idempotency_key()


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


def generate_world_call(core: Core, prompt: str, options: Mapping[str, Any]) -> Flow[Operation]:
    _check(options, WORLD_FIELDS, "worlds.generate")
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
    key = _key(core, options.get("idempotency_key"), "worlds.generate")
    kwargs = generate_world._get_kwargs(body=body, idempotency_key=key)
    return core.call(kwargs, Operation._build)


def generate_model_call(core: Core, prompt: str, options: Mapping[str, Any]) -> Flow[Operation]:
    _check(options, MODEL_FIELDS, "models.generate")
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
    key = _key(core, options.get("idempotency_key"), "models.generate")
    kwargs = generate_model._get_kwargs(body=body, idempotency_key=key)
    return core.call(kwargs, Operation._build)


def optimize_model_call(
    core: Core, model: object, level: str | None, idempotency_key: str | None
) -> Flow[Operation]:
    body = gen.OptimizeModelRequest(optimization_level=_enum(gen.OptimizationLevel, level, "level"))
    kwargs = optimize_model._get_kwargs(
        object_id(model, "model"),
        body=body,
        idempotency_key=_key(core, idempotency_key, "models.optimize"),
    )
    return core.call(kwargs, Operation._build)


def get_operation_call(
    core: Core, operation: object, *, deadline: float | None = None
) -> Flow[Operation]:
    op_id = object_id(operation)
    return core.call(get_operation._get_kwargs(op_id), Operation._build, deadline=deadline,
                     expect_id=op_id)  # fmt: skip


def action_call(
    core: Core,
    action: Literal["approve", "revise", "resume"],
    operation: object,
    idempotency_key: str | None,
    feedback: str | None = None,
) -> Flow[Operation]:
    op_id = object_id(operation)
    key = _key(core, idempotency_key, f"operations.{action}")
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
    world_id = object_id(world, "world")
    return core.call(get_world._get_kwargs(world_id), World._build, expect_id=world_id)


def get_model_call(core: Core, model: object) -> Flow[Model]:
    model_id = object_id(model, "model")
    return core.call(get_model._get_kwargs(model_id), Model._build, expect_id=model_id)


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


def check_limit(limit: object) -> int | Unset:
    """A page size: an int from 1 to 100 (not a bool, not a float), or None for the default."""
    if limit is None:
        return UNSET
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise InvalidArgumentError(f"limit must be an int between 1 and 100, got {limit!r}")
    return limit


def check_cursor(cursor: object) -> str | Unset:
    """A cursor the API gave (``page.next_cursor``): non-empty text, or None for the first page."""
    if cursor is None:
        return UNSET
    if not isinstance(cursor, str) or not cursor:
        raise InvalidArgumentError(f"cursor must be a page's next_cursor (text), got {cursor!r}")
    return cursor


def list_worlds_pages(core: Core, limit: int | None, cursor: str | None) -> Flow[None]:
    lim = check_limit(limit)
    return core.pages(
        lambda c: list_worlds._get_kwargs(limit=lim, cursor=_opt(c)),
        _page_parser(World._build),
        cursor,
    )


def list_models_pages(core: Core, limit: int | None, cursor: str | None) -> Flow[None]:
    lim = check_limit(limit)
    return core.pages(
        lambda c: list_models._get_kwargs(limit=lim, cursor=_opt(c)),
        _page_parser(Model._build),
        cursor,
    )


def list_worlds_page(core: Core, limit: int | None, cursor: str | None) -> Flow[Page[World]]:
    kwargs = list_worlds._get_kwargs(limit=check_limit(limit), cursor=check_cursor(cursor))
    return core.call(kwargs, _page_parser(World._build))


def list_models_page(core: Core, limit: int | None, cursor: str | None) -> Flow[Page[Model]]:
    kwargs = list_models._get_kwargs(limit=check_limit(limit), cursor=check_cursor(cursor))
    return core.call(kwargs, _page_parser(Model._build))


def me_call(core: Core) -> Flow[Account]:
    return core.call(get_me._get_kwargs(), Account.from_dict)


def usage_call(core: Core) -> Flow[Usage]:
    return core.call(get_usage._get_kwargs(), Usage.from_dict)


# ------------------------------------------------------------------- any endpoint, any route

R_co = TypeVar("R_co", covariant=True)


class Endpoint(Protocol[R_co]):
    """A generated endpoint module (``mint_client.api.<tag>.<operation>``), as ``call`` uses it.

    ``_parse_response`` is typed ``R | Problem | None``: ``call`` returns ``R``, the model the
    endpoint gives for a success (an error status raises instead; no model is a malformed answer).
    """

    def _get_kwargs(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...

    def _parse_response(
        self,
        *,
        client: gen_client.AuthenticatedClient | gen_client.Client,
        response: httpx.Response,
    ) -> R_co | gen.Problem | None: ...


# Only read by the generated parsers (``raise_on_unexpected_status``); never sends anything.
_PARSING_CLIENT = gen_client.Client(
    base_url="http://parse.invalid", raise_on_unexpected_status=True
)


def endpoint_parameters(endpoint: object) -> frozenset[str]:
    """The keyword names an endpoint's ``_get_kwargs`` takes (empty if it is no endpoint)."""
    get_kwargs = getattr(endpoint, "_get_kwargs", None)
    if not callable(get_kwargs) or not callable(getattr(endpoint, "_parse_response", None)):
        raise InvalidArgumentError(
            f"call() needs a generated endpoint module such as "
            f"mint_client.api.generation.get_operation, got {endpoint!r}"
        )
    return frozenset(inspect.signature(get_kwargs).parameters)


def endpoint_call(
    core: Core, endpoint: Endpoint[T], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Flow[T]:
    """``endpoint`` with the SDK's machinery: retries, errors, and an Idempotency-Key made once
    (kept on every retry) when the endpoint takes one and the caller gave none."""
    names = endpoint_parameters(endpoint)
    arguments = dict(kwargs)
    if "idempotency_key" in names:
        arguments["idempotency_key"] = _key(
            core, arguments.get("idempotency_key"), _endpoint_name(endpoint)
        )
    try:
        inspect.signature(endpoint._get_kwargs).bind(*args, **arguments)
    except TypeError as exc:
        raise InvalidArgumentError(f"{_endpoint_name(endpoint)}: {exc}") from None
    try:
        request_kwargs = endpoint._get_kwargs(*args, **arguments)
    except (AttributeError, TypeError, ValueError) as exc:  # e.g. a dict where a model goes
        raise InvalidArgumentError(
            f"{_endpoint_name(endpoint)}: {type(exc).__name__}: {exc}"
        ) from None
    # A read names the object it reads: the answer must be about that one.
    expect = None
    if request_kwargs.get("method", "").lower() == "get":
        bound = inspect.signature(endpoint._get_kwargs).bind(*args, **arguments).arguments
        ids = [v for k, v in bound.items() if k.endswith("_id") and isinstance(v, str)]
        expect = ids[0] if len(ids) == 1 else None
    response = yield from core.send(request_kwargs)
    return parse_generated(endpoint, response, expect_id=expect)


def _endpoint_name(endpoint: object) -> str:
    return str(getattr(endpoint, "__name__", type(endpoint).__name__)).rsplit(".", 1)[-1]


def parse_generated(
    endpoint: Endpoint[T], response: httpx.Response, *, expect_id: str | None = None
) -> T:
    """The generated parser's model for a success response, or ``ResponseValidationError``."""

    def parse(_: Any) -> T:
        parsed = endpoint._parse_response(client=_PARSING_CLIENT, response=response)
        if parsed is None or isinstance(parsed, gen.Problem):
            raise TypeError(f"{response.status_code} is not a success status of this endpoint")
        return parsed

    return parse_body(response, parse, expect_id=expect_id)


_METHOD = re.compile(r"[A-Z]+")


def request_call(
    core: Core,
    method: str,
    path: str,
    *,
    json: object = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Flow[Any]:
    """A route the spec does not have yet: decoded JSON back (None for an empty body)."""
    verb = method.upper() if isinstance(method, str) else ""
    if not _METHOD.fullmatch(verb):
        raise InvalidArgumentError(f"method must be an HTTP method such as 'GET', got {method!r}")
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise InvalidArgumentError(
            f"path must start with one '/' (relative to base_url), got {path!r}"
        )
    segments = path.split("?", 1)[0].split("/")
    if any(segment in (".", "..") for segment in segments) or "#" in path:
        raise InvalidArgumentError(f"path may not contain '.', '..' segments or '#': {path!r}")
    extra = check_header_items(headers or {}, "headers", InvalidArgumentError)
    if verb == "POST" and not any(name.lower() == "idempotency-key" for name in extra):
        extra["Idempotency-Key"] = _key(core, None, f"request({verb!r}, {path!r})")
    kwargs: dict[str, Any] = {"method": verb, "url": path, "headers": extra}
    if params:
        kwargs["params"] = dict(params)
    if json is not None:
        kwargs["json"] = json
    elif verb == "POST" and core.extra_body is None:
        kwargs["json"] = {}
    response = yield from core.send(kwargs)
    if not response.content:
        return None
    return parse_body(response, lambda data: data)
