"""``Mint`` and ``AsyncMint``: settings, the HTTP client, the runner, the resources.

A client validates its settings once (into a ``Core``), owns one connection pool (``Pool``) and
builds one runner; the resources get the runner and nothing else. ``with_options`` makes a client
with other settings on the same pool; ``with_raw_response`` is a view whose calls return raw
responses; ``call`` and ``request`` reach endpoints that no resource wraps, on the same path.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypedDict, TypeVar, Unpack

import attrs
import httpx

from . import _calls as calls
from ._calls import Endpoint
from ._core import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    Core,
    HttpClientT,
    check_headers,
    make_http_client,
    resolve_api_key,
    resolve_base_url,
)
from ._errors import ConfigurationError
from ._logging import configure_from_environment
from ._options import RequestOptions, split_options, with_max_retries
from ._raw import raw_async, raw_sync
from ._resources.account import (
    AccountResource,
    AccountWithRawResponse,
    AsyncAccountResource,
    AsyncAccountWithRawResponse,
)
from ._resources.models import (
    AsyncModels,
    AsyncModelsWithRawResponse,
    Models,
    ModelsWithRawResponse,
)
from ._resources.operations import (
    AsyncOperations,
    AsyncOperationsWithRawResponse,
    Operations,
    OperationsWithRawResponse,
)
from ._resources.worlds import (
    AsyncWorlds,
    AsyncWorldsWithRawResponse,
    Worlds,
    WorldsWithRawResponse,
)
from ._retry import Clock, RetryPolicy, is_seconds
from ._runner import AsyncRunner, Pool, SyncRunner

if TYPE_CHECKING:  # the download machinery (filelock, the asset transports) loads on first use
    from ._downloads import Assets, AsyncAssets

__all__ = [
    "AsyncMint",
    "AsyncMintWithRawResponse",
    "ClientOptions",
    "Mint",
    "MintWithRawResponse",
]

T = TypeVar("T")


class ClientOptions(TypedDict, total=False):
    """What ``with_options`` may change (absent keys keep the client's value)."""

    timeout: float | None
    max_retries: int
    retry: RetryPolicy
    default_headers: Mapping[str, str]


def _check_timeout(timeout: object) -> None:
    if timeout is not None and not is_seconds(timeout, positive=True):
        raise ConfigurationError(
            f"timeout must be a positive number of seconds (per request) or None, got {timeout!r}"
        )


def _core(
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    max_retries: int | None,
    retry: RetryPolicy | None,
    clock: Clock | None,
    headers: Mapping[str, str] | None,
    require_idempotency_key: bool,
    max_response_bytes: int,
) -> Core:
    _check_timeout(timeout)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError(f"retry must be a RetryPolicy, got {retry!r}")
    if clock is not None and not isinstance(clock, Clock):
        raise ConfigurationError(f"clock must be a mint_ext.Clock, got {clock!r}")
    if (
        isinstance(max_response_bytes, bool)
        or not isinstance(max_response_bytes, int)
        or max_response_bytes < 1
    ):
        raise ConfigurationError(
            f"max_response_bytes must be a positive int, got {max_response_bytes!r}"
        )
    policy = retry or RetryPolicy()
    if max_retries is not None:
        policy = with_max_retries(policy, max_retries, ConfigurationError)
    return Core(
        api_key=resolve_api_key(api_key),
        base_url=resolve_base_url(base_url),
        timeout=timeout,
        retry=policy,
        clock=clock or Clock(),
        headers=check_headers(headers),
        require_idempotency_key=require_idempotency_key is True,
        max_response_bytes=max_response_bytes,
    )


def _with_settings(core: Core, settings: Mapping[str, Any]) -> Core:
    """``core`` with ``with_options`` settings applied (``ConfigurationError`` on a bad one)."""
    unknown = set(settings) - set(ClientOptions.__annotations__)
    if unknown:
        raise ConfigurationError(f"with_options() got unexpected keyword(s): {sorted(unknown)}")
    changes: dict[str, Any] = {}
    if "timeout" in settings:
        _check_timeout(settings["timeout"])
        changes["timeout"] = settings["timeout"]
    retry = settings.get("retry", core.retry)
    if not isinstance(retry, RetryPolicy):
        raise ConfigurationError(f"retry must be a RetryPolicy, got {retry!r}")
    if "max_retries" in settings:
        retry = with_max_retries(retry, settings["max_retries"], ConfigurationError)
    changes["retry"] = retry
    if "default_headers" in settings:
        changes["headers"] = {**core.headers, **check_headers(settings["default_headers"])}
    return attrs.evolve(core, **changes)


def _pool(
    cls: type[HttpClientT], http_client: HttpClientT | None, transport: object
) -> Pool[HttpClientT]:
    """The client's connection pool: the caller's ``http_client``, or one the SDK makes (again in
    a forked child) around the caller's ``transport`` if any."""

    def make() -> HttpClientT:
        if http_client is not None:
            return http_client
        if transport is None:  # our own pool of httpx's default transport, sped up
            from ._api_pool import sdk_client  # with httpcore, which httpx imports on first use

            return sdk_client(cls)
        return make_http_client(cls, transport=transport, follow_redirects=False)

    return Pool(
        make,
        owned=http_client is None,
        remakeable=http_client is None and not _is_pooled(transport),
    )


def _is_pooled(transport: object) -> bool:
    """A transport holding connections of its own (it cannot be shared across fork())."""
    return isinstance(transport, httpx.HTTPTransport | httpx.AsyncHTTPTransport)


class _ClientBase:
    _runner: SyncRunner | AsyncRunner

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._runner.core.base_url!r})"

    @property
    def base_url(self) -> str:
        return self._runner.core.base_url


# ------------------------------------------------------------------------------------ sync


class Mint(_ClientBase):
    """The Mint API client.

    Reads ``MINT_API_KEY`` and ``MINT_BASE_URL`` (default ``https://api.mint.gg``) when not given.
    Every request has a finite timeout and is retried on transient failures; every POST carries an
    Idempotency-Key that stays the same across retries, so a retry never starts a second paid job.
    ``MINT_LOG=info`` (or ``debug``) logs a line per request to stderr.

    ``sleep`` and ``clock`` inject time, for tests: a fake clock's ``sleep`` advances it and returns
    at once. ``operations.as_completed``/``wait_many`` call an injected ``sleep`` inline, one wait
    after another, so it must not block for real (the real ``time.sleep`` is replaced there by
    non-blocking waits).

    ``max_response_bytes`` (default 16 MiB) bounds an API response's decoded body: a larger one
    (a compression bomb, a runaway proxy) stops there as ``ResponseValidationError``.

    ``require_idempotency_key=True`` refuses every call that starts or advances paid work
    (``generate``, ``optimize``, ``approve``, ``revise``, ``resume``, a POST through ``call`` or
    ``request``) without the caller's own ``idempotency_key=``: for teams whose jobs can run twice.

    Safe to use after ``os.fork()``: a child gets its own connections (a client given its own
    ``http_client`` raises ``ConfigurationError`` there instead; make that one in the child).

    Example:
        >>> from mint_ext import Mint
        >>> with Mint(api_key=api_key, base_url=base_url) as mint:
        ...     op = mint.worlds.generate(prompt="A quiet greenhouse")
        ...     print(mint.operations.wait(op).status)
        succeeded
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
        require_idempotency_key: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        configure_from_environment()
        core = _core(api_key, base_url, timeout, max_retries, retry, clock, default_headers,
                     require_idempotency_key, max_response_bytes)  # fmt: skip
        pool = _pool(httpx.Client, http_client, transport)
        runner = SyncRunner(
            core=core, pool=pool, sleep=sleep or time.sleep, asset_transport=transport
        )
        self._setup(runner, closes=True)

    _runner: SyncRunner

    def _setup(self, runner: SyncRunner, *, closes: bool) -> None:
        self._runner = runner
        self._closes = closes
        self.worlds = Worlds(runner)
        self.models = Models(runner)
        self.account = AccountResource(runner)
        self.operations = Operations(runner)

    @functools.cached_property
    def assets(self) -> Assets:
        """Download a world's or model's files: :meth:`Assets.download <mint_ext._downloads.Assets.download>`.

        Example:
            >>> mint.assets.download(op, out, include=["thumbnail"]).ok
            True
        """
        from ._downloads import Assets

        return Assets(self._runner)

    def with_options(self, **settings: Unpack[ClientOptions]) -> Mint:
        """A client with other settings on the same connection pool (cheap: make one per call).

        Closing the copy leaves the pool open; closing the original closes it for both.

        Example:
            >>> patient = mint.with_options(timeout=120, max_retries=5)
            >>> patient.account.me().user_id == mint.account.me().user_id
            True
        """
        copy = object.__new__(type(self))
        copy._setup(self._runner.derive(_with_settings(self._runner.core, settings)), closes=False)
        return copy

    @functools.cached_property
    def with_raw_response(self) -> MintWithRawResponse:
        """The same calls, each returning a :class:`RawResponse` (``parse()`` gives the result).

        Example:
            >>> raw = mint.with_raw_response.account.me()
            >>> raw.status_code
            200
        """
        return MintWithRawResponse(self)

    def call(self, endpoint: Endpoint[T], /, *args: Any, **kwargs: Any) -> T:
        """Call any generated endpoint with the SDK's retries, idempotency and errors.

        ``endpoint`` is a module of ``mint_client.api`` (``mint_client.api.generation.get_operation``);
        ``args``/``kwargs`` are its arguments other than ``client`` (an ``idempotency_key`` is made
        when the endpoint takes one and none is given), plus request options (``timeout``,
        ``max_retries``, ``extra_headers``, ``extra_query``, ``extra_body``). Returns the generated
        model of the success response; error statuses raise the usual ``APIStatusError``.

        Example:
            >>> from mint_client.api.account import get_me
            >>> mint.call(get_me).owner.user_id == mint.account.me().user_id
            True
        """
        options, rest = split_options(kwargs, calls.endpoint_parameters(endpoint))
        r = self._runner.using(options)
        return r.run(calls.endpoint_call(r.core, endpoint, args, rest))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Unpack[RequestOptions],
    ) -> Any:
        """Call a route the spec does not describe yet; returns the decoded JSON (None if empty).

        ``path`` is relative to the base URL (``"/v1/operations/op_1"``). Retries, errors and
        options as for every call; a POST gets an ``Idempotency-Key`` unless ``headers`` has one.

        Example:
            >>> mint.request("GET", f"/v1/operations/{op.id}")["id"] == op.id
            True
        """
        r = self._runner.using(options)
        return r.run(
            calls.request_call(r.core, method, path, json=json, params=params, headers=headers)
        )

    def close(self) -> None:
        """Close the HTTP connections (only those the client opened itself; never a copy's)."""
        if self._closes:
            self._runner.pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class MintWithRawResponse:
    """``mint.with_raw_response``: every single-result call, returning a :class:`RawResponse`."""

    def __init__(self, client: Mint) -> None:
        self.worlds = WorldsWithRawResponse(client.worlds)
        self.models = ModelsWithRawResponse(client.models)
        self.account = AccountWithRawResponse(client.account)
        self.operations = OperationsWithRawResponse(client.operations)
        self.call = raw_sync(client.call)
        self.request = raw_sync(client.request)


# ------------------------------------------------------------------------------------ async


class AsyncMint(_ClientBase):
    """The asynchronous Mint API client; the same API as :class:`Mint` with ``await``.

    Example:
        >>> import asyncio
        >>> async def main() -> str:
        ...     async with AsyncMint(api_key=api_key, base_url=base_url) as mint:
        ...         op = await mint.worlds.generate(prompt="A quiet greenhouse")
        ...         return (await mint.operations.wait(op)).status
        >>> print(asyncio.run(main()))
        succeeded
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
        require_idempotency_key: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        configure_from_environment()
        core = _core(api_key, base_url, timeout, max_retries, retry, clock, default_headers,
                     require_idempotency_key, max_response_bytes)  # fmt: skip
        pool = _pool(httpx.AsyncClient, http_client, transport)
        runner = AsyncRunner(
            core=core, pool=pool, sleep=sleep or asyncio.sleep, asset_transport=transport
        )
        self._setup(runner, closes=True)

    _runner: AsyncRunner

    def _setup(self, runner: AsyncRunner, *, closes: bool) -> None:
        self._runner = runner
        self._closes = closes
        self.worlds = AsyncWorlds(runner)
        self.models = AsyncModels(runner)
        self.account = AsyncAccountResource(runner)
        self.operations = AsyncOperations(runner)

    @functools.cached_property
    def assets(self) -> AsyncAssets:
        """Download a world's or model's files (see :meth:`Mint.assets`)."""
        from ._downloads import AsyncAssets

        return AsyncAssets(self._runner)

    def with_options(self, **settings: Unpack[ClientOptions]) -> AsyncMint:
        """A client with other settings on the same connection pool (see :meth:`Mint.with_options`)."""
        copy = object.__new__(type(self))
        copy._setup(self._runner.derive(_with_settings(self._runner.core, settings)), closes=False)
        return copy

    @functools.cached_property
    def with_raw_response(self) -> AsyncMintWithRawResponse:
        """The same calls, each returning (when awaited) a :class:`RawResponse`."""
        return AsyncMintWithRawResponse(self)

    async def call(self, endpoint: Endpoint[T], /, *args: Any, **kwargs: Any) -> T:
        """Call any generated endpoint (see :meth:`Mint.call`)."""
        options, rest = split_options(kwargs, calls.endpoint_parameters(endpoint))
        r = self._runner.using(options)
        return await r.run(calls.endpoint_call(r.core, endpoint, args, rest))

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Unpack[RequestOptions],
    ) -> Any:
        """Call a route the spec does not describe yet (see :meth:`Mint.request`)."""
        r = self._runner.using(options)
        return await r.run(
            calls.request_call(r.core, method, path, json=json, params=params, headers=headers)
        )

    async def aclose(self) -> None:
        """Close the HTTP connections (only those the client opened itself; never a copy's)."""
        if self._closes:
            await self._runner.pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncMintWithRawResponse:
    """``amint.with_raw_response``: ``await`` each single-result call for a :class:`RawResponse`."""

    def __init__(self, client: AsyncMint) -> None:
        self.worlds = AsyncWorldsWithRawResponse(client.worlds)
        self.models = AsyncModelsWithRawResponse(client.models)
        self.account = AsyncAccountWithRawResponse(client.account)
        self.operations = AsyncOperationsWithRawResponse(client.operations)
        self.call = raw_async(client.call)
        self.request = raw_async(client.request)
