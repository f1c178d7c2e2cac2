"""The runner: the small interface every resource talks to (never the client's private state).

A runner holds what a call needs: the ``Core`` in force (settings and per-call options), the
HTTP client that sends, the sleep function, and what the asset client is built from. It runs
flows with the one sync or async driver of ``_flow``. ``using(options)`` gives a runner for one
call with request options applied; ``derive(core)`` one for a client made by ``with_options``:
both share the HTTP client (its connection pool) with their parent.

Every response a runner receives is offered to the raw-response capture of the current context
(``with_raw_response``), so raw responses need no second request path.

Fork safety: the HTTP client lives in a :class:`Pool` that remembers the process it was made in.
Used in a forked child (Celery prefork, gunicorn, multiprocessing), a pool the SDK made is
replaced by a fresh one (the parent's sockets are left alone, never closed or read from the
child); a client or transport the caller gave cannot be remade, so the child gets a
``ConfigurationError`` instead of another process's responses.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs
import httpx

from . import _options
from ._core import BODY_KEPT, Core
from ._errors import ConfigurationError
from ._flow import Flow, iterate_async, iterate_sync, run_async, run_sync

__all__ = ["AsyncRunner", "Capture", "SyncRunner", "capturing"]

T = TypeVar("T")
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)


class Capture:
    """The last API response seen by any runner in this context (for ``with_raw_response``)."""

    response: httpx.Response | None = None


capturing: contextvars.ContextVar[Capture | None] = contextvars.ContextVar(
    "mint_ext_capture", default=None
)


def _offer(response: httpx.Response) -> None:
    capture = capturing.get()
    if capture is not None:
        capture.response = response


class BodyTooLarge(httpx.DecodingError):
    """An API response whose decoded body passed ``max_response_bytes`` (reading stopped there);
    the request flow turns it into ``ResponseValidationError``, not retried."""

    def __init__(self, response: httpx.Response, head: bytes, limit: int) -> None:
        super().__init__(
            f"the response body is larger than {limit} bytes once decoded (max_response_bytes); "
            "reading stopped there",
            request=response.request,
        )
        self.response = response
        self.head = head


def _loaded(response: httpx.Response, body: bytearray) -> httpx.Response:
    """``response`` as ``httpx.Client.send`` without ``stream=True`` leaves it: body in memory.

    httpx has no public way to hand a response the body read from its own stream; its
    ``read()`` stores it in ``_content``, and so does this (tested in tests/test_acceptance.py:
    ``content``, ``text`` and ``json()`` work, and the stream counts as consumed).
    """
    response._content = bytes(body)
    _offer(response)
    return response


class Pool(Generic[HttpT]):
    """The HTTP client of a ``Mint``/``AsyncMint`` and its copies, safe across ``os.fork()``."""

    _client: HttpT

    def __init__(self, make: Callable[[], HttpT], *, owned: bool, remakeable: bool) -> None:
        """``owned``: the SDK made the client (and closes it); ``remakeable``: ``make()`` gives
        a client with no connection shared with this one (false for a caller's own client or
        pooled transport)."""
        self._make: Callable[[], HttpT] = make
        self._owned = owned
        self._remakeable = remakeable
        self._pid = os.getpid()
        self._client = make()

    @property
    def client(self) -> HttpT:
        if self._pid != os.getpid():
            self._after_fork()
        return self._client

    @property
    def owned(self) -> bool:
        """True when the SDK made the HTTP client (and so closes it)."""
        return self._owned

    def _after_fork(self) -> None:
        if not self._remakeable:
            raise ConfigurationError(
                f"this client's http_client/transport was made in process {self._pid} and is "
                f"used in process {os.getpid()} after fork(); its connections belong to the "
                "parent. Create the Mint client (and your http_client/transport) in the child, "
                "e.g. in Celery's worker_process_init."
            )
        # Never close the parent's connections from here (a TLS close_notify would go out on
        # the parent's socket): drop them and start a new pool.
        self._client = self._make()
        self._pid = os.getpid()

    def close(self) -> None:
        if self.owned and self._pid == os.getpid() and isinstance(self._client, httpx.Client):
            self._client.close()

    async def aclose(self) -> None:
        client = self._client
        if self.owned and self._pid == os.getpid() and isinstance(client, httpx.AsyncClient):
            await client.aclose()


@attrs.frozen
class SyncRunner:
    """Runs flows with ``httpx.Client`` and a blocking sleep."""

    core: Core
    pool: Pool[httpx.Client]
    sleep: Callable[[float], None] = time.sleep
    #: the caller's own transport (``Mint(transport=...)``), used for asset hosts too
    asset_transport: httpx.BaseTransport | None = None

    @property
    def http(self) -> httpx.Client:
        """The HTTP client (the caller's own, or the SDK's for this process)."""
        return self.pool.client

    def using(self, options: Mapping[str, Any], *, wait: bool = False) -> SyncRunner:
        """This runner with per-call ``options`` applied (the same HTTP client)."""
        return self.derive(_options.apply(self.core, options, wait=wait))

    def derive(self, core: Core) -> SyncRunner:
        return attrs.evolve(self, core=core)

    def send(self, request: httpx.Request) -> httpx.Response:
        response = self.http.send(request, stream=True)
        limit = self.core.max_response_bytes
        try:
            body = bytearray()
            for chunk in response.iter_bytes():  # decoded: a gzip bomb stops at the limit
                body += chunk
                if len(body) > limit:
                    raise BodyTooLarge(response, bytes(body[:BODY_KEPT]), limit)
        finally:
            response.close()
        return _loaded(response, body)

    def run(self, flow: Flow[T]) -> T:
        return run_sync(flow, self.send, self.sleep)

    def iterate(self, flow: Flow[Any]) -> Iterator[Any]:
        return iterate_sync(flow, self.send, self.sleep)


@attrs.frozen
class AsyncRunner:
    """Runs flows with ``httpx.AsyncClient`` and ``await``-ed sleeps."""

    core: Core
    pool: Pool[httpx.AsyncClient]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    asset_transport: httpx.AsyncBaseTransport | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        return self.pool.client

    def using(self, options: Mapping[str, Any], *, wait: bool = False) -> AsyncRunner:
        return self.derive(_options.apply(self.core, options, wait=wait))

    def derive(self, core: Core) -> AsyncRunner:
        return attrs.evolve(self, core=core)

    async def send(self, request: httpx.Request) -> httpx.Response:
        response = await self.http.send(request, stream=True)
        limit = self.core.max_response_bytes
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise BodyTooLarge(response, bytes(body[:BODY_KEPT]), limit)
        finally:
            await response.aclose()
        return _loaded(response, body)

    async def run(self, flow: Flow[T]) -> T:
        return await run_async(flow, self.send, self.sleep)

    def iterate(self, flow: Flow[Any]) -> AsyncIterator[Any]:
        return iterate_async(flow, self.send, self.sleep)
