"""Per-request options: what a caller may change for one call, checked once, applied to a ``Core``.

Every public method that talks to the API takes ``**options: Unpack[RequestOptions]`` (or, for the
waiting methods, :class:`WaitOptions`, whose per-request timeout is ``request_timeout`` because
``timeout`` there is the whole wait's deadline). ``Mint.with_options`` applies the client-wide
subset. All of it ends in :func:`apply`, which returns a new, frozen ``Core``: the request path has
one place where options live.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, TypedDict

import attrs

from ._core import Core, InvalidArgumentError, check_header_items
from ._retry import RetryPolicy, is_seconds

__all__ = ["RequestOptions", "WaitOptions", "apply", "split_options"]

QueryValue = str | int | float | bool


class RequestOptions(TypedDict, total=False):
    """Options of one call (every key optional; absent means "as the client is configured").

    - ``timeout``: seconds for each HTTP attempt of this call (``None``: no per-attempt limit).
    - ``max_retries``: retries of this call on transient failures (0 disables them).
    - ``extra_headers``: headers added to (or replacing) the SDK's; ``Authorization`` is refused.
    - ``extra_query``: query parameters added to the request URL.
    - ``extra_body``: JSON object fields merged into the body of a POST (refused on a GET).
    """

    timeout: float | None
    max_retries: int
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, QueryValue]
    extra_body: Mapping[str, Any]


class WaitOptions(TypedDict, total=False):
    """Per-request options of the waiting methods (each poll is a GET: no ``extra_body``).

    ``request_timeout`` bounds each poll; the wait's own ``timeout`` (its deadline) still bounds
    the whole wait, and no poll runs past it.
    """

    request_timeout: float | None
    max_retries: int
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, QueryValue]


_REQUEST_KEYS = frozenset(RequestOptions.__annotations__)
_WAIT_KEYS = frozenset(WaitOptions.__annotations__)


def split_options(
    kwargs: Mapping[str, Any], taken: frozenset[str] = frozenset()
) -> tuple[RequestOptions, dict[str, Any]]:
    """Separate request options from other keywords (names in ``taken`` are never options)."""
    options: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for name, value in kwargs.items():
        (options if name in _REQUEST_KEYS and name not in taken else rest)[name] = value
    return options, rest  # type: ignore[return-value]


def apply(core: Core, options: Mapping[str, Any], *, wait: bool = False) -> Core:
    """``core`` with ``options`` applied (validated; ``InvalidArgumentError`` on a bad one)."""
    if not options:
        return core
    allowed = _WAIT_KEYS if wait else _REQUEST_KEYS
    unknown = set(options) - allowed
    if unknown:
        raise InvalidArgumentError(
            f"unexpected keyword(s): {', '.join(sorted(unknown))} "
            f"(request options are {', '.join(sorted(allowed))})"
        )
    changes: dict[str, Any] = {}
    timeout_key = "request_timeout" if wait else "timeout"
    if timeout_key in options:
        timeout = options[timeout_key]
        if timeout is not None and not is_seconds(timeout, positive=True):
            raise InvalidArgumentError(
                f"{timeout_key} must be a positive number of seconds or None, got {timeout!r}"
            )
        changes["timeout"] = timeout
    if "max_retries" in options:
        changes["retry"] = with_max_retries(
            core.retry, options["max_retries"], InvalidArgumentError
        )
    if "extra_headers" in options:
        extra = check_header_items(options["extra_headers"], "extra_headers", InvalidArgumentError)
        changes["extra_headers"] = {**core.extra_headers, **extra}
    if "extra_query" in options:
        changes["extra_query"] = {**core.extra_query, **_query(options["extra_query"])}
    if "extra_body" in options:
        changes["extra_body"] = {**(core.extra_body or {}), **_body(options["extra_body"])}
    return attrs.evolve(core, **changes)


def with_max_retries(
    policy: RetryPolicy, max_retries: object, error: type[Exception]
) -> RetryPolicy:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise error(f"max_retries must be an int >= 0, got {max_retries!r}")
    return attrs.evolve(policy, max_retries=max_retries)


def _query(value: object) -> dict[str, QueryValue]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"extra_query must be a mapping, got {type(value).__name__}")
    out: dict[str, QueryValue] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"extra_query names must be non-empty text, got {name!r}")
        if not isinstance(item, str | int | float | bool) or (
            isinstance(item, float) and not math.isfinite(item)
        ):
            raise InvalidArgumentError(
                f"extra_query[{name!r}] must be text, a number or a bool, got {item!r}"
            )
        out[name] = item
    return out


def _body(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidArgumentError("extra_body must be a mapping of field names to JSON values")
    try:  # JSON-serialisable, finite: what the API can receive
        json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidArgumentError(f"extra_body is not a JSON object: {exc}") from None
    return dict(value)
