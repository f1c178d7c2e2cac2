"""Raw responses: any single-result call, with the HTTP response it came from.

``mint.with_raw_response.operations.get(op_id)`` runs exactly the plain call (same flow, same
driver, same retries and errors) inside a capture: the runner offers each response it receives to
the capture of the current context, and the wrapper returns the last one with the call's result.
An error status still raises its typed error (which carries ``response``); a body that does not
parse is returned, and ``parse()`` raises its ``ResponseValidationError``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Generic, ParamSpec, TypeVar

import httpx

from ._errors import MintError, ResponseValidationError
from ._runner import Capture, capturing

__all__ = ["RawResponse", "raw_async", "raw_sync"]

T = TypeVar("T")
P = ParamSpec("P")


class RawResponse(Generic[T]):
    """The HTTP response of a call, and ``parse()`` for what the plain call returns.

    Example:
        >>> raw = mint.with_raw_response.operations.get(op.id)
        >>> raw.status_code, raw.headers["content-type"]
        (200, 'application/json')
        >>> raw.parse().id == op.id
        True
    """

    def __init__(
        self,
        http_response: httpx.Response,
        *,
        parsed: T | None = None,
        error: ResponseValidationError | None = None,
    ) -> None:
        self.http_response = http_response
        self._parsed = parsed
        self._error = error

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The server's ``x-request-id``, to quote when asking Mint for help."""
        request_id: str | None = self.http_response.headers.get("x-request-id")
        return request_id

    def parse(self) -> T:
        """What the plain call returns; raises ``ResponseValidationError`` if the body did not
        parse."""
        if self._error is not None:
            raise self._error
        return self._parsed  # type: ignore[return-value]

    def __repr__(self) -> str:
        request = self.http_response.request
        return f"<RawResponse {request.method} {request.url.path} -> {self.status_code}>"


def _result(capture: Capture, value: T) -> RawResponse[T]:
    if capture.response is None:  # nothing was sent (a call answered without the network)
        raise MintError("no HTTP response was received for this call")
    return RawResponse(capture.response, parsed=value)


def _unparsed(exc: ResponseValidationError) -> RawResponse[T]:
    return RawResponse(exc.response, error=exc)


def raw_sync(method: Callable[P, T]) -> Callable[P, RawResponse[T]]:
    """``method`` returning a :class:`RawResponse` of its result."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        capture = Capture()
        token = capturing.set(capture)
        try:
            value = method(*args, **kwargs)
        except ResponseValidationError as exc:
            return _unparsed(exc)
        finally:
            capturing.reset(token)
        return _result(capture, value)

    return call


def raw_async(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[RawResponse[T]]]:
    """The ``await`` twin of :func:`raw_sync`."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        capture = Capture()
        token = capturing.set(capture)
        try:
            value = await method(*args, **kwargs)
        except ResponseValidationError as exc:
            return _unparsed(exc)
        finally:
            capturing.reset(token)
        return _result(capture, value)

    return call
