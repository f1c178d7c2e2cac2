"""Shared, I/O-free client core: configuration, request building and response parsing.

``Core.call(...)`` turns a generated endpoint's ``_get_kwargs`` into a flow (see ``_flow``): build
the request once (so a retried POST keeps its Idempotency-Key), send it through the retry flow,
then parse the body with the generated model. ``Mint`` and ``AsyncMint`` only drive these flows.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import httpx

from ._errors import ConfigurationError, MintError, ResponseValidationError
from ._flow import Emit, Flow
from ._models import Page
from ._retry import Clock, RetryPolicy, request_flow
from ._version import __version__

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.mint.gg"
DEFAULT_TIMEOUT = 30.0
MAX_EMPTY_PAGES = 50  # in a row, each promising more: the server is looping
USER_AGENT = f"mint-ext/{__version__}"


class InvalidArgumentError(MintError, ValueError):
    """An argument was rejected before any request was sent."""


def new_idempotency_key() -> str:
    """A fresh key for one logical POST; reused on every retry of that call."""
    return f"mint-ext-{uuid.uuid4()}"


def resolve_api_key(api_key: str | None) -> str:
    key = api_key if api_key is not None else os.environ.get("MINT_API_KEY")
    key = (key or "").strip()  # keys read from files often end in a newline
    if not key:
        raise ConfigurationError(
            "no Mint API key: pass api_key=... or set the MINT_API_KEY environment variable"
        )
    if not _is_header_safe(key):
        # Never echo the key: it would end up in logs and tracebacks.
        raise ConfigurationError(
            "the Mint API key contains spaces, control or non-ASCII characters"
        )
    return key


def _is_header_safe(value: str) -> bool:
    """Printable ASCII (spaces allowed inside) only: what an HTTP/1.1 header value can carry."""
    return value.isascii() and all(32 <= ord(c) < 127 for c in value)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_SDK_HEADERS = {
    "authorization": "the API key is sent by the SDK: pass api_key= (or set MINT_API_KEY)",
    "idempotency-key": "the SDK sends a fresh Idempotency-Key with every POST",
}


def check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Validate user-supplied default headers once, at client construction."""
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not (isinstance(name, str) and _TOKEN.fullmatch(name)):
            raise ConfigurationError(f"invalid header name {name!r} (an HTTP token: no spaces)")
        if name.lower() in _SDK_HEADERS:
            raise ConfigurationError(
                f"default_headers may not set {name}: {_SDK_HEADERS[name.lower()]}"
            )
        if any(other.lower() == name.lower() for other in out):
            raise ConfigurationError(f"header {name!r} is given twice (names ignore case)")
        if not isinstance(value, str) or not _is_header_safe(value):
            raise ConfigurationError(f"header {name!r} must be printable ASCII text")
        out[name] = value
    return out


HttpClientT = TypeVar("HttpClientT", httpx.Client, httpx.AsyncClient)


def make_http_client(cls: type[HttpClientT], **kwargs: Any) -> HttpClientT:
    """``cls(**kwargs)``, with httpx's complaints about the environment as ConfigurationError.

    httpx reads proxy variables when it builds a client: ``ALL_PROXY=socks5://...`` without the
    ``socksio`` package raises ImportError, a proxy URL with an unknown scheme ValueError.
    """
    try:
        return cls(**kwargs)
    except (ImportError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot set up the HTTP client from the environment (proxy variables?): {exc}"
        ) from exc


def resolve_base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get("MINT_BASE_URL") or DEFAULT_BASE_URL
    url = url.rstrip("/")
    if url.endswith("/v1"):  # the docs give the base URL as https://api.mint.gg/v1
        url = url[: -len("/v1")]
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url must be an http(s) URL, got {url!r}")
    return url


def object_id(value: object, what: str = "operation") -> str:
    """Accept an object with an ``id`` or the id itself."""
    ident = value if isinstance(value, str) else getattr(value, "id", None)
    if not isinstance(ident, str) or not ident:
        raise InvalidArgumentError(f"expected a {what} or its id, got {value!r}")
    return ident


@attrs.frozen
class Core:
    """Everything a request needs except the HTTP client. The API key is never in ``repr``."""

    api_key: str = attrs.field(repr=False)
    base_url: str
    timeout: float | None
    retry: RetryPolicy
    clock: Clock
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    def build(self, kwargs: Mapping[str, Any]) -> httpx.Request:
        try:
            # httpx.Headers: a later name replaces an earlier one whatever its case ("user-agent"
            # from default_headers replaces ours; no request carries a header twice).
            headers = httpx.Headers(
                {"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json"}
            )
            headers.update(self.headers)
            headers.update({k: str(v) for k, v in (kwargs.get("headers") or {}).items()})
            headers["Authorization"] = f"Bearer {self.api_key}"
            return httpx.Request(
                kwargs["method"].upper(),
                self.base_url + kwargs["url"],
                params=kwargs.get("params"),
                json=kwargs.get("json"),
                headers=headers,
            )
        except (httpx.InvalidURL, UnicodeError, ValueError, TypeError) as exc:
            raise InvalidArgumentError(
                f"the request could not be built: {type(exc).__name__}"
            ) from None

    def call(
        self,
        kwargs: Mapping[str, Any],
        parse: Callable[[Any], T],
        *,
        deadline: float | None = None,
    ) -> Flow[T]:
        result, _ = yield from self.call_with_response(kwargs, parse, deadline=deadline)
        return result

    def call_with_response(
        self,
        kwargs: Mapping[str, Any],
        parse: Callable[[Any], T],
        *,
        deadline: float | None = None,
    ) -> Flow[tuple[T, httpx.Response]]:
        request = self.build(kwargs)
        response = yield from request_flow(
            request, self.retry, self.clock, timeout=self.timeout, deadline=deadline
        )
        return parse_body(response, parse), response

    def pages(
        self,
        kwargs_for: Callable[[str | None], Mapping[str, Any]],
        parse: Callable[[Any], Page[T]],
        cursor: str | None,
    ) -> Flow[None]:
        """Emit pages, following ``nextCursor`` until the last page.

        A server that loops is stopped with a ``MintError``: a cursor seen before, the same page
        twice in a row, or more than ``MAX_EMPTY_PAGES`` empty pages in a row that promise more.
        """
        seen: set[str] = set()
        empty = 0
        previous: tuple[object, ...] = ()
        while True:
            page = yield from self.call(kwargs_for(cursor), parse)
            ids = tuple(getattr(item, "id", None) for item in page.items)
            if ids and ids == previous:  # the same page again under a new cursor
                raise MintError("the API sent the same page twice under different cursors")
            previous = ids
            yield Emit(page)
            if not page.has_more or not page.next_cursor:
                return None
            if page.next_cursor in seen:
                raise MintError(f"the API repeated pagination cursor {page.next_cursor!r}")
            empty = 0 if page.items else empty + 1
            if empty > MAX_EMPTY_PAGES:
                raise MintError(
                    f"the API sent {empty} empty pages in a row, each with a new cursor; stopped"
                )
            seen.add(page.next_cursor)
            cursor = page.next_cursor


def parse_body(response: httpx.Response, parse: Callable[[Any], T]) -> T:
    """Decode JSON and parse it; anything unexpected becomes ``ResponseValidationError``."""
    body = response.content
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: deep nesting
        ctype = response.headers.get("content-type", "?")
        raise ResponseValidationError(
            f"{response.request.method} {response.request.url.path} -> {response.status_code}: "
            f"body is not JSON ({ctype}, {len(body)} bytes): {exc}",
            response=response,
            body=body,
        ) from None
    try:
        return parse(data)
    except Exception as exc:  # the generated parsers raise KeyError/ValueError/TypeError/...
        raise ResponseValidationError(
            f"{response.request.method} {response.request.url.path} -> {response.status_code}: "
            f"body does not match the spec: {type(exc).__name__}: {exc}",
            response=response,
            body=body,
        ) from exc
