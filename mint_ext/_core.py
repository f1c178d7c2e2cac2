"""Shared, I/O-free client core: configuration, request building and response parsing.

``Core.call(...)`` turns a generated endpoint's ``_get_kwargs`` into a flow (see ``_flow``): build
the request once (so a retried POST keeps its Idempotency-Key), send it through the retry flow,
then parse the body with the generated model. ``Mint`` and ``AsyncMint`` only drive these flows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
import httpx

from . import _acceptance
from ._errors import ConfigurationError, MintError, ResponseValidationError
from ._flow import Emit, Flow
from ._models import Page
from ._retry import Clock, RetryPolicy, request_flow
from ._urls import url_problem
from ._version import __version__

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.mint.gg"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_EMPTY_PAGES = 50  # in a row, each promising more: the server is looping
USER_AGENT = f"mint-ext/{__version__}"


class InvalidArgumentError(MintError, ValueError):
    """An argument was rejected before any request was sent."""


def new_idempotency_key() -> str:
    """A fresh key for one logical POST; reused on every retry of that call."""
    return f"mint-ext-{uuid.uuid4()}"


_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def idempotency_key(*parts: str | int | uuid.UUID) -> str:
    """A deterministic ``Idempotency-Key`` from your own identity of one piece of paid work.

    The same parts always give the same key, different parts different keys (a sha256 of the
    parts, after a readable prefix), always within the API's rule (1 to 255 printable ASCII
    characters). Use it when a job can run twice (a task queue redelivering it): the second run
    gets the operation the first one started instead of paying again.

    Example:
        >>> from mint_ext import idempotency_key
        >>> key = idempotency_key("make_world", 1234)
        >>> key == idempotency_key("make_world", 1234), key == idempotency_key("make_world", 1235)
        (True, False)
        >>> key[:16]
        'make_world-1234-'
    """
    if not parts:
        raise InvalidArgumentError("idempotency_key() needs at least one part (e.g. your job id)")
    texts: list[str] = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, str | int | uuid.UUID):
            raise InvalidArgumentError(
                f"idempotency_key() parts must be text, ints or UUIDs, got {type(part).__name__}"
            )
        texts.append(str(part))
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:40]
    readable = _UNSAFE_KEY_CHARS.sub("-", "-".join(texts)).strip("-")[:100]
    return f"{readable}-{digest}" if readable else digest


def check_idempotency_key(key: object) -> str:
    """The spec's rule for ``Idempotency-Key``: 1 to 255 printable ASCII characters."""
    if not isinstance(key, str) or not 1 <= len(key) <= 255 or not _is_header_safe(key):
        raise InvalidArgumentError("idempotency_key must be 1 to 255 printable ASCII characters")
    return key


def resolve_api_key(api_key: str | None) -> str:
    if api_key is not None and not isinstance(api_key, str):
        raise ConfigurationError(f"api_key must be text, got {type(api_key).__name__}")
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
    "idempotency-key": (
        "a client-wide key would make every POST the same request; pass idempotency_key= to "
        "each call that starts or advances work (see mint_ext.idempotency_key)"
    ),
}


def check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Validate user-supplied default headers once, at client construction."""
    return check_header_items(headers or {}, "default_headers", ConfigurationError, _SDK_HEADERS)


def check_header_items(
    headers: object,
    what: str,
    error: type[Exception],
    reserved: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Header names that are HTTP tokens, given once, with printable ASCII values.

    ``reserved`` names (any case) are refused with the reason given; ``Authorization`` always is.
    """
    if not isinstance(headers, Mapping):
        raise error(f"{what} must be a mapping of header names to values")
    refused = {"authorization": _SDK_HEADERS["authorization"], **(reserved or {})}
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not (isinstance(name, str) and _TOKEN.fullmatch(name)):
            raise error(f"invalid header name {name!r} (an HTTP token: no spaces)")
        if name.lower() in refused:
            raise error(f"{what} may not set {name}: {refused[name.lower()]}")
        if any(other.lower() == name.lower() for other in out):
            raise error(f"header {name!r} is given twice (names ignore case)")
        if not isinstance(value, str) or not _is_header_safe(value):
            raise error(f"header {name!r} must be printable ASCII text")
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
    if base_url is not None and not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be text, got {type(base_url).__name__}")
    url = base_url or os.environ.get("MINT_BASE_URL") or DEFAULT_BASE_URL
    url = url.rstrip("/")
    if url.endswith("/v1"):  # the docs give the base URL as https://api.mint.gg/v1
        url = url[: -len("/v1")]
    problem = url_problem(url)
    if problem is not None:
        raise ConfigurationError(f"base_url must be an http(s) URL ({problem}), got {url!r}")
    return url


def object_id(value: object, what: str = "operation") -> str:
    """Accept an object with an ``id`` or the id itself; refuse ids that are not one path segment.

    ``""``, ``"."``, ``".."`` and anything with ``/`` would name another route once in a URL
    (``operations.get("..")`` would request ``GET /v1``).
    """
    ident = value if isinstance(value, str) else getattr(value, "id", None)
    if not isinstance(ident, str) or not ident:
        raise InvalidArgumentError(f"expected a {what} or its id, got {value!r}")
    if ident in (".", "..") or "/" in ident or "\\" in ident:
        raise InvalidArgumentError(f"{ident!r} is not a valid {what} id")
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
    # Per-call additions (see ``_options``); a client's own calls leave them empty.
    extra_headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    extra_query: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    extra_body: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    #: refuse calls that start or advance paid work without the caller's idempotency_key
    require_idempotency_key: bool = False
    #: the largest decoded API response body read (a bigger one is ResponseValidationError)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def build(self, kwargs: Mapping[str, Any]) -> httpx.Request:
        """The request for a generated endpoint's ``_get_kwargs`` (or the same shape), with the
        SDK's headers, the caller's default and extra headers, extra query and extra body.

        The body is checked against the route's request schema first (the spec's lengths,
        counts, URL formats and exclusions): a body the API would refuse is never sent.
        """
        body = kwargs.get("json")
        if body is not None:
            problem = _acceptance.request_problem(kwargs["method"], kwargs["url"], body)
            if problem is not None:
                raise InvalidArgumentError(f"the request body is invalid: {problem}")
        if self.extra_body is not None:
            if kwargs["method"].upper() != "POST":
                raise InvalidArgumentError(
                    f"extra_body is for POST requests; {kwargs['method'].upper()} has no body"
                )
            if body is not None and not isinstance(body, dict):
                raise InvalidArgumentError("extra_body needs a request whose body is an object")
            body = {**(body or {}), **self.extra_body}
        params = {**(kwargs.get("params") or {}), **self.extra_query} or None
        try:
            # httpx.Headers: a later name replaces an earlier one whatever its case ("user-agent"
            # from default_headers replaces ours; no request carries a header twice).
            headers = httpx.Headers(
                {"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json"}
            )
            headers.update(self.headers)
            headers.update({k: str(v) for k, v in (kwargs.get("headers") or {}).items()})
            headers.update(self.extra_headers)
            headers["Authorization"] = f"Bearer {self.api_key}"
            return httpx.Request(
                kwargs["method"].upper(),
                self.base_url + kwargs["url"],
                params=params,
                json=body,
                headers=headers,
            )
        except (httpx.InvalidURL, UnicodeError, ValueError, TypeError) as exc:
            raise InvalidArgumentError(
                f"the request could not be built: {type(exc).__name__}"
            ) from None

    def send(
        self, kwargs: Mapping[str, Any], *, deadline: float | None = None
    ) -> Flow[httpx.Response]:
        """Build the request once (a retried POST keeps its Idempotency-Key) and send it through
        the retry flow; return the successful response. Every error it raises carries the
        request's key as ``idempotency_key`` (None for a request without one)."""
        request = self.build(kwargs)
        with keyed(request):
            return (yield from request_flow(
                request, self.retry, self.clock, timeout=self.timeout, deadline=deadline
            ))  # fmt: skip

    def call(
        self,
        kwargs: Mapping[str, Any],
        parse: Callable[[Any], T],
        *,
        deadline: float | None = None,
        expect_id: str | None = None,
    ) -> Flow[T]:
        result, _ = yield from self.call_with_response(
            kwargs, parse, deadline=deadline, expect_id=expect_id
        )
        return result

    def call_with_response(
        self,
        kwargs: Mapping[str, Any],
        parse: Callable[[Any], T],
        *,
        deadline: float | None = None,
        expect_id: str | None = None,
    ) -> Flow[tuple[T, httpx.Response]]:
        response = yield from self.send(kwargs, deadline=deadline)
        with keyed(response.request):
            return parse_body(response, parse, expect_id=expect_id), response

    def pages(
        self,
        kwargs_for: Callable[[str | None], Mapping[str, Any]],
        parse: Callable[[Any], Page[T]],
        cursor: str | None,
    ) -> Flow[None]:
        """Emit pages, following ``nextCursor`` until the last page.

        A server that loops is stopped with a ``MintError``: a cursor seen before, a page seen
        before (anywhere in the listing, under any cursor), or more than ``MAX_EMPTY_PAGES``
        empty pages in a row that promise more.
        """
        seen: set[str] = set()
        empty = 0
        pages_seen: set[tuple[object, ...]] = set()
        while True:
            page = yield from self.call(kwargs_for(cursor), parse)
            ids = tuple(getattr(item, "id", None) for item in page.items)
            if ids and ids in pages_seen:  # a page again under a new cursor: the server loops
                raise MintError("the API sent the same page twice under different cursors")
            pages_seen.add(ids)
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


@contextlib.contextmanager
def keyed(request: httpx.Request) -> Iterator[None]:
    """Put ``request``'s Idempotency-Key on the MintError raised inside (for a task-level retry
    that must reuse it: the server may have created the operation before the answer was lost)."""
    try:
        yield
    except MintError as exc:
        key = request.headers.get("idempotency-key")
        if key is not None and exc.idempotency_key is None:
            exc.idempotency_key = key
        raise


BODY_KEPT = 64 * 1024
"""How much of a rejected body a ``ResponseValidationError`` keeps in ``body``."""


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def parse_body(
    response: httpx.Response, parse: Callable[[Any], T], *, expect_id: str | None = None
) -> T:
    """The one acceptance rule for a success body (see ``_acceptance``), then ``parse``.

    Anything else is ``ResponseValidationError`` with the reason and the (truncated) raw body:
    a status the route does not document, a media type that is not JSON, a body that is not
    JSON or holds NaN/Infinity, nests too deep, breaks the route's schema, does not parse, or
    (``expect_id``) is another object than the one asked for.
    """
    body = response.content

    def reject(reason: str, cause: BaseException | None = None) -> ResponseValidationError:
        request = response.request
        error = ResponseValidationError(
            f"{request.method} {request.url.path} -> {response.status_code}: {reason}",
            response=response,
            body=body[:BODY_KEPT],
        )
        error.__cause__ = cause
        return error

    if not 200 <= response.status_code < 300:
        raise reject(f"status {response.status_code} is not a success")
    media = _acceptance.media_type_problem(response)
    if media is not None:
        raise reject(f"{media} ({len(body)} bytes)")
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: deep nesting
        if isinstance(exc, RecursionError):
            raise reject(f"the JSON nests deeper than {_acceptance.MAX_DEPTH} levels") from None
        raise reject(f"body is not JSON ({len(body)} bytes): {exc}") from None
    problem = _acceptance.response_problem(response, data)
    if problem is not None:
        raise reject(f"body does not match the spec: {problem}")
    try:
        result = parse(data)
    except Exception as exc:  # the generated parsers raise KeyError/ValueError/TypeError/...
        raise reject(f"body does not match the spec: {type(exc).__name__}: {exc}", exc) from exc
    if expect_id is not None and getattr(result, "id", None) != expect_id:
        got = getattr(result, "id", None)
        raise reject(f"asked for {expect_id!r}, the answer is about {got!r}")
    return result
