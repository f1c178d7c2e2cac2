"""``Mint`` and ``AsyncMint``: thin drivers around the shared, I/O-free flows of ``_calls``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from types import TracebackType
from typing import Self, TypeVar, Unpack

import httpx

from . import _calls as calls
from ._core import (
    DEFAULT_TIMEOUT,
    Core,
    check_headers,
    make_http_client,
    resolve_api_key,
    resolve_base_url,
)
from ._errors import ConfigurationError
from ._flow import Flow, iterate_async, iterate_sync, run_async, run_sync
from ._models import Account, Model, Operation, Page, Usage, World
from ._retry import Clock, RetryPolicy, is_seconds

__all__ = ["AsyncMint", "AsyncPager", "Mint", "Pager"]

T = TypeVar("T")


def _core(
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    max_retries: int | None,
    retry: RetryPolicy | None,
    clock: Clock | None,
    headers: Mapping[str, str] | None,
) -> Core:
    if timeout is not None and not is_seconds(timeout, positive=True):
        raise ConfigurationError(
            f"timeout must be a positive number of seconds (per request) or None, got {timeout!r}"
        )
    policy = retry or RetryPolicy()
    if max_retries is not None:
        policy = RetryPolicy(
            max_retries=max_retries,
            initial_delay=policy.initial_delay,
            max_delay=policy.max_delay,
            max_retry_after=policy.max_retry_after,
        )
    return Core(
        api_key=resolve_api_key(api_key),
        base_url=resolve_base_url(base_url),
        timeout=timeout,
        retry=policy,
        clock=clock or Clock(),
        headers=check_headers(headers),
    )


class Pager(Iterator[T]):
    """Items of a listing, fetched page by page as you iterate (``pages()`` gives whole pages).

    Example:
        >>> for world in mint.worlds.list(limit=50):   # doctest: +SKIP
        ...     print(world.id, world.name)
    """

    def __init__(self, client: Mint, flow: Callable[[], Flow[None]]) -> None:
        self._client = client
        self._flow = flow
        self._items: Iterator[T] | None = None

    def pages(self) -> Iterator[Page[T]]:
        """Iterate whole pages instead of items."""
        return iterate_sync(self._flow(), self._client._http.send, self._client._sleep)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._items is None:
            self._items = (item for page in self.pages() for item in page.items)
        return next(self._items)


class AsyncPager(AsyncIterator[T]):
    """The ``async for`` twin of :class:`Pager`.

    Example:
        >>> async for model in mint.models.list():                # doctest: +SKIP
        ...     print(model.id)
    """

    def __init__(self, client: AsyncMint, flow: Callable[[], Flow[None]]) -> None:
        self._client = client
        self._flow = flow
        self._items: AsyncIterator[T] | None = None

    def pages(self) -> AsyncIterator[Page[T]]:
        return iterate_async(self._flow(), self._client._http.send, self._client._sleep)

    async def _iter_items(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._items is None:
            self._items = self._iter_items()
        return await self._items.__anext__()


# ------------------------------------------------------------------------------------ sync


class Worlds:
    """``mint.worlds``: start world generations, read and list worlds."""

    def __init__(self, client: Mint) -> None:
        self._c = client

    def generate(self, prompt: str, **options: Unpack[calls.WorldOptions]) -> Operation:
        """Start a world generation; returns the new operation (poll it with ``operations.wait``).

        Example:
            >>> op = mint.worlds.generate(prompt="A quiet greenhouse",  # doctest: +SKIP
            ...                           generation_mode="review", generation_preset="fast")
        """
        return self._c._run(calls.generate_world_call(self._c._core, prompt, options))

    def get(self, world: str | World) -> World:
        """Read one world by id."""
        return self._c._run(calls.get_world_call(self._c._core, world))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Pager[World]:
        """Every world of this API project, newest first, following cursors lazily."""
        core = self._c._core
        calls._limit(limit)  # checked at the call, not at the first page
        return Pager(self._c, lambda: calls.list_worlds_pages(core, limit, cursor))

    def list_page(self, *, limit: int | None = None, cursor: str | None = None) -> Page[World]:
        """One page of worlds; pass ``page.next_cursor`` back as ``cursor`` for the next."""
        return self._c._run(calls.list_worlds_page(self._c._core, limit, cursor))


class Models:
    """``mint.models``: start model generations and optimizations, read and list models."""

    def __init__(self, client: Mint) -> None:
        self._c = client

    def generate(self, prompt: str, **options: Unpack[calls.ModelOptions]) -> Operation:
        """Start a 3D model generation.

        Example:
            >>> op = mint.models.generate(prompt="A bronze lantern")  # doctest: +SKIP
        """
        return self._c._run(calls.generate_model_call(self._c._core, prompt, options))

    def optimize(
        self,
        model: str | Model,
        *,
        level: calls.OptimizationLevel | None = None,
        idempotency_key: str | None = None,
    ) -> Operation:
        """Start an optimization (Draco-compressed GLB) of a model.

        Example:
            >>> op = mint.models.optimize("model_123", level="moderate")  # doctest: +SKIP
        """
        return self._c._run(calls.optimize_model_call(self._c._core, model, level, idempotency_key))

    def get(self, model: str | Model) -> Model:
        return self._c._run(calls.get_model_call(self._c._core, model))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Pager[Model]:
        core = self._c._core
        calls._limit(limit)  # checked at the call, not at the first page
        return Pager(self._c, lambda: calls.list_models_pages(core, limit, cursor))

    def list_page(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Model]:
        return self._c._run(calls.list_models_page(self._c._core, limit, cursor))


class AccountResource:
    """``mint.account``: who the key belongs to and how many Credits are left."""

    def __init__(self, client: Mint) -> None:
        self._c = client

    def me(self) -> Account:
        """Example: ``mint.account.me().user_id``."""
        return self._c._run(calls.me_call(self._c._core))

    def usage(self) -> Usage:
        """Example: ``mint.account.usage().credits_available``."""
        return self._c._run(calls.usage_call(self._c._core))


class _ClientBase:
    _core: Core

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._core.base_url!r})"

    @property
    def base_url(self) -> str:
        return self._core.base_url


class Mint(_ClientBase):
    """The Mint API client.

    Reads ``MINT_API_KEY`` and ``MINT_BASE_URL`` (default ``https://api.mint.gg``) when not given.
    Every request has a finite timeout and is retried on transient failures; every POST carries an
    Idempotency-Key that stays the same across retries, so a retry never starts a second paid job.

    ``sleep`` and ``clock`` inject time, for tests: a fake clock's ``sleep`` advances it and returns
    at once. ``operations.as_completed``/``wait_many`` call an injected ``sleep`` inline, one wait
    after another, so it must not block for real (the real ``time.sleep`` is replaced there by
    non-blocking waits).

    Example:
        >>> from mint_ext import Mint
        >>> with Mint(api_key="...", base_url="http://127.0.0.1:8080") as mint:  # doctest: +SKIP
        ...     op = mint.worlds.generate(prompt="A quiet greenhouse")
        ...     op = mint.operations.wait(op)
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        default_headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._core = _core(api_key, base_url, timeout, max_retries, retry, clock, default_headers)
        self._owns_http = http_client is None
        self._http = http_client or make_http_client(
            httpx.Client, transport=transport, follow_redirects=False
        )
        self._asset_transport = transport
        self._sleep: Callable[[float], None] = sleep or time.sleep
        self.worlds = Worlds(self)
        self.models = Models(self)
        self.account = AccountResource(self)
        from ._downloads import Assets
        from ._operations import Operations

        self.operations = Operations(self)
        self.assets = Assets(self)

    def _run(self, flow: Flow[T]) -> T:
        return run_sync(flow, self._http.send, self._sleep)

    def close(self) -> None:
        """Close the HTTP connections (only those the client opened itself)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ------------------------------------------------------------------------------------ async


class AsyncWorlds:
    """``mint.worlds`` of :class:`AsyncMint`."""

    def __init__(self, client: AsyncMint) -> None:
        self._c = client

    async def generate(self, prompt: str, **options: Unpack[calls.WorldOptions]) -> Operation:
        """Example: ``op = await mint.worlds.generate(prompt="A quiet greenhouse")``."""
        return await self._c._run(calls.generate_world_call(self._c._core, prompt, options))

    async def get(self, world: str | World) -> World:
        return await self._c._run(calls.get_world_call(self._c._core, world))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> AsyncPager[World]:
        """Example: ``async for world in mint.worlds.list(): ...``."""
        core = self._c._core
        calls._limit(limit)  # checked at the call, not at the first page
        return AsyncPager(self._c, lambda: calls.list_worlds_pages(core, limit, cursor))

    async def list_page(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[World]:
        return await self._c._run(calls.list_worlds_page(self._c._core, limit, cursor))


class AsyncModels:
    """``mint.models`` of :class:`AsyncMint`."""

    def __init__(self, client: AsyncMint) -> None:
        self._c = client

    async def generate(self, prompt: str, **options: Unpack[calls.ModelOptions]) -> Operation:
        return await self._c._run(calls.generate_model_call(self._c._core, prompt, options))

    async def optimize(
        self,
        model: str | Model,
        *,
        level: calls.OptimizationLevel | None = None,
        idempotency_key: str | None = None,
    ) -> Operation:
        return await self._c._run(
            calls.optimize_model_call(self._c._core, model, level, idempotency_key)
        )

    async def get(self, model: str | Model) -> Model:
        return await self._c._run(calls.get_model_call(self._c._core, model))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> AsyncPager[Model]:
        core = self._c._core
        calls._limit(limit)  # checked at the call, not at the first page
        return AsyncPager(self._c, lambda: calls.list_models_pages(core, limit, cursor))

    async def list_page(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Model]:
        return await self._c._run(calls.list_models_page(self._c._core, limit, cursor))


class AsyncAccountResource:
    """``mint.account`` of :class:`AsyncMint`."""

    def __init__(self, client: AsyncMint) -> None:
        self._c = client

    async def me(self) -> Account:
        return await self._c._run(calls.me_call(self._c._core))

    async def usage(self) -> Usage:
        return await self._c._run(calls.usage_call(self._c._core))


class AsyncMint(_ClientBase):
    """The asynchronous Mint API client; the same API as :class:`Mint` with ``await``.

    Example:
        >>> async with AsyncMint() as mint:                       # doctest: +SKIP
        ...     op = await mint.worlds.generate(prompt="A quiet greenhouse")
        ...     op = await mint.operations.wait(op)
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        default_headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._core = _core(api_key, base_url, timeout, max_retries, retry, clock, default_headers)
        self._owns_http = http_client is None
        self._http = http_client or make_http_client(
            httpx.AsyncClient, transport=transport, follow_redirects=False
        )
        self._asset_transport = transport
        self._sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self.worlds = AsyncWorlds(self)
        self.models = AsyncModels(self)
        self.account = AsyncAccountResource(self)
        from ._downloads import AsyncAssets
        from ._operations import AsyncOperations

        self.operations = AsyncOperations(self)
        self.assets = AsyncAssets(self)

    async def _run(self, flow: Flow[T]) -> T:
        return await run_async(flow, self._http.send, self._sleep)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
