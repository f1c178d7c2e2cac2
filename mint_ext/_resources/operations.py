"""``mint.operations``: read, act on and wait for operations (sync, async and raw views)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Literal, Unpack

import attrs
import httpx

from .. import _calls as calls
from .._core import Core, InvalidArgumentError, object_id
from .._errors import MintError
from .._flow import AsyncSend, Flow, on_emit, run_async
from .._models import Operation
from .._options import RequestOptions, WaitOptions
from .._raw import raw_async, raw_sync
from .._retry import is_seconds
from .._runner import AsyncRunner, SyncRunner
from .._waiting import (
    DEFAULT_WAIT_TIMEOUT,
    OnRetry,
    PollPolicy,
    TokenBucket,
    normalise_until,
    wait_flow,
)

__all__ = [
    "AsyncOperations",
    "AsyncOperationsWithRawResponse",
    "Operations",
    "OperationsWithRawResponse",
    "WaitFailed",
    "WaitOk",
    "WaitResult",
]

OpRef = str | Operation
Until = str | Iterable[str] | None
OnUpdate = Callable[[Operation], object] | None

DEFAULT_MAX_CONCURRENCY = 16
DEFAULT_MAX_RATE = 20.0


@attrs.frozen
class WaitResult:
    """The outcome of one operation in ``wait_many`` / ``as_completed``.

    ``operation`` is the final state (or the last state seen when ``error`` is set). ``result()``
    returns the operation or raises its error, like a future. What the waits return is always one
    of the two subclasses, :class:`WaitOk` or :class:`WaitFailed`, so a type checker narrows
    ``operation`` to ``Operation`` under ``if r.ok:`` (and ``error`` to ``MintError`` after it).

    Example:
        >>> for r in mint.operations.wait_many(ops):
        ...     print(r.operation.status if r.ok else type(r.error).__name__)
        succeeded
        succeeded
        OperationFailedError
    """

    index: int
    operation_id: str
    operation: Operation | None
    error: MintError | None = None

    @property
    def ok(self) -> bool:
        """True when the wait ended without an error (``error`` is None)."""
        return self.error is None

    def result(self) -> Operation:
        """The operation, or raise the error the wait ended with (like ``Future.result()``)."""
        if self.error is not None:
            raise self.error
        assert self.operation is not None
        return self.operation


@attrs.frozen
class WaitOk(WaitResult):
    """A wait that ended well: ``operation`` is its final state, ``error`` is None.

    Example:
        >>> [r] = mint.operations.wait_many([op])
        >>> print(type(r).__name__, r.ok, r.operation.status)
        WaitOk True succeeded
    """

    operation: Operation
    error: None = None

    @property
    def ok(self) -> Literal[True]:
        """Always True."""
        return True


@attrs.frozen
class WaitFailed(WaitResult):
    """A wait that ended with ``error``; ``operation`` is the last state seen, if any.

    Example:
        >>> [r] = mint.operations.wait_many([failed_op])
        >>> print(type(r).__name__, r.ok, r.error.code, r.operation.status)
        WaitFailed False content_policy failed
    """

    operation: Operation | None
    error: MintError

    @property
    def ok(self) -> Literal[False]:
        """Always False."""
        return False


def _last_seen(exc: MintError) -> Operation | None:
    op = getattr(exc, "operation", None) or getattr(exc, "last_operation", None)
    return op if isinstance(op, Operation) else None


async def _as_completed(
    make_flow: Callable[[str], Flow[Operation]],
    ids: Sequence[str],
    send: AsyncSend,
    sleep: Callable[[float], Awaitable[None]],
    monotonic: Callable[[], float],
    max_concurrency: int,
    max_rate: float,
    timeout: float | None,
) -> AsyncIterator[WaitOk | WaitFailed]:
    """Wait on many operations at once: at most ``max_concurrency`` requests in flight and at most
    ``max_rate`` requests per second across all of them. Results arrive as they complete.

    Waiting for a turn at the gate counts against the same deadline as everything else: no
    request starts after it, and a request that had to queue gets only the time that is left.
    """
    gate = asyncio.Semaphore(max_concurrency)
    bucket = TokenBucket(rate=max_rate, burst=float(max_concurrency))
    deadline = None if timeout is None else monotonic() + timeout

    async def gated_send(request: httpx.Request) -> httpx.Response:
        async with gate:
            delay = bucket.reserve(monotonic())
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - monotonic()))
            if delay > 0:
                await sleep(delay)
            if deadline is not None:
                left = deadline - monotonic()
                if left <= 0:  # the flow turns this into WaitTimeoutError
                    raise httpx.ConnectTimeout("the wait's deadline passed", request=request)
                per_try = request.extensions.get("timeout", {}).get("read") or left
                request.extensions["timeout"] = httpx.Timeout(min(per_try, left)).as_dict()
            return await send(request)

    results: asyncio.Queue[WaitOk | WaitFailed] = asyncio.Queue()

    async def one(index: int, op_id: str) -> None:
        try:
            op = await run_async(make_flow(op_id), gated_send, sleep)
        except MintError as exc:
            results.put_nowait(WaitFailed(index, op_id, _last_seen(exc), exc))
        except Exception as exc:  # never lose a result: the caller would wait forever
            error = MintError(f"waiting on {op_id} failed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            results.put_nowait(WaitFailed(index, op_id, None, error))
        else:
            results.put_nowait(WaitOk(index, op_id, op))

    tasks = [asyncio.ensure_future(one(i, op_id)) for i, op_id in enumerate(ids)]
    try:
        for _ in tasks:
            yield await results.get()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _check_timeout(timeout: float | None) -> None:
    """A wait's ``timeout``: seconds >= 0, or None for no deadline (0 gives up at once)."""
    if timeout is not None and not is_seconds(timeout, finite=False):
        raise InvalidArgumentError(
            f"timeout must be a number of seconds >= 0 or None, got {timeout!r}"
        )


def _check_callback(callback: object, name: str) -> None:
    if callback is not None and not callable(callback):
        raise InvalidArgumentError(f"{name} must be callable, got {callback!r}")


def _check_many(operations: object, max_concurrency: int, max_rate: float,
                timeout: float | None) -> list[str]:  # fmt: skip
    """Validate the arguments of ``as_completed``/``wait_many``; return the operation ids."""
    if (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or max_concurrency < 1
    ):
        raise InvalidArgumentError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
    if not is_seconds(max_rate, positive=True, finite=False):
        raise InvalidArgumentError(
            f"max_rate must be a positive number of requests per second, got {max_rate!r}"
        )
    _check_timeout(timeout)
    if isinstance(operations, str | bytes) or not isinstance(operations, Iterable):
        raise InvalidArgumentError(
            f"expected several operations (a list of operations or ids), got {operations!r}"
        )
    return [object_id(o) for o in operations]


def _wait(core: Core, operation: OpRef, timeout: float | None, until: Until,
          poll: PollPolicy | None, on_retry: OnRetry = None) -> Flow[Operation]:  # fmt: skip
    _check_timeout(timeout)
    if poll is not None and not isinstance(poll, PollPolicy):
        raise InvalidArgumentError(f"poll must be a PollPolicy, got {poll!r}")
    if on_retry is not None and not callable(on_retry):
        raise InvalidArgumentError(f"on_retry must be callable, got {on_retry!r}")
    return wait_flow(core, object_id(operation), timeout=timeout, until=normalise_until(until),
                     policy=poll or PollPolicy(), on_retry=on_retry)  # fmt: skip


def _as_completed_sync(r: SyncRunner, ids: list[str], timeout: float | None, until: Until,
                       poll: PollPolicy | None, max_concurrency: int,
                       max_rate: float) -> Iterator[WaitOk | WaitFailed]:  # fmt: skip
    """Sync ``as_completed``: the async fan-out on an event loop in a helper thread, each
    request sent with the runner's HTTP client from a thread pool."""
    mono = r.core.clock.monotonic
    out: queue.Queue[WaitOk | WaitFailed | BaseException | None] = queue.Queue()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[None]]] = []
    stop = threading.Event()

    def flow(op_id: str) -> Flow[Operation]:
        return _wait(r.core, op_id, timeout, until, poll)

    user_sleep = r.sleep

    async def sleep(seconds: float) -> None:
        if user_sleep is time.sleep:
            await asyncio.sleep(seconds)
        else:  # an injected sleep (a test clock) is called inline
            user_sleep(seconds)
            await asyncio.sleep(0)

    async def main(pool: concurrent.futures.ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        running.append((loop, task))
        if stop.is_set():  # the consumer left before we started
            return

        async def send(request: httpx.Request) -> httpx.Response:
            return await loop.run_in_executor(pool, r.send, request)

        async for item in _as_completed(
            flow, ids, send, sleep, mono, max_concurrency, max_rate, timeout
        ):
            out.put(item)

    def runner() -> None:
        # Not a ``with`` block: its exit would wait for a request still in flight when the
        # caller breaks off (up to the request timeout); that request ends on its own.
        pool = concurrent.futures.ThreadPoolExecutor(max_concurrency, "mint-wait")
        try:
            try:
                asyncio.run(main(pool))
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        except asyncio.CancelledError:
            pass  # the consumer stopped early
        except BaseException as exc:  # delivered to the consumer, never lost
            out.put(exc)
        finally:
            out.put(None)

    thread = threading.Thread(target=runner, name="mint-as-completed", daemon=True)
    thread.start()
    try:
        while (item := out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:  # the caller broke off (or is done): stop polling now, not at the deadline
        stop.set()
        for loop, task in running:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=r.core.timeout or 30.0)


class Operations:
    """``mint.operations``: get, approve, revise, resume and wait on operations."""

    def __init__(self, runner: SyncRunner) -> None:
        self._r = runner

    def get(self, operation: OpRef, **options: Unpack[RequestOptions]) -> Operation:
        """Read an operation once.

        Example:
            >>> mint.operations.get(op.id).id == op.id
            True
        """
        r = self._r.using(options)
        return r.run(calls.get_operation_call(r.core, operation))

    def approve(
        self,
        operation: OpRef,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Approve a preview (review mode); the operation goes on to final generation.

        ``idempotency_key``: as for ``worlds.generate``, a key of your own makes a repeated
        approval (a task run twice) the same request.

        Example:
            >>> preview = mint.operations.wait(review_op)    # stops at preview_ready
            >>> print(mint.operations.approve(preview).status)
            running
        """
        r = self._r.using(options)
        return r.run(calls.action_call(r.core, "approve", operation, idempotency_key))

    def revise(
        self,
        operation: OpRef,
        *,
        feedback: str,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Ask for a new preview. Example: ``mint.operations.revise(op, feedback="warmer")``."""
        r = self._r.using(options)
        return r.run(calls.action_call(r.core, "revise", operation, idempotency_key, feedback))

    def resume(
        self,
        operation: OpRef,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Continue after ``billing_required`` once Credits are topped up."""
        r = self._r.using(options)
        return r.run(calls.action_call(r.core, "resume", operation, idempotency_key))

    def poll(
        self,
        operation: OpRef,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        until: Until = None,
        poll: PollPolicy | None = None,
        on_retry: OnRetry = None,
        **options: Unpack[WaitOptions],
    ) -> Iterator[Operation]:
        """Yield the operation each time it visibly changes, until it stops (see :meth:`wait`).

        Example:
            >>> for snapshot in mint.operations.poll(op):
            ...     print(snapshot.status)
            succeeded
        """
        r = self._r.using(options, wait=True)
        return r.iterate(_wait(r.core, operation, timeout, until, poll, on_retry))

    def wait(
        self,
        operation: OpRef,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        until: Until = None,
        on_update: OnUpdate = None,
        on_retry: OnRetry = None,
        poll: PollPolicy | None = None,
        **options: Unpack[WaitOptions],
    ) -> Operation:
        """Poll until the operation stops, within one deadline of ``timeout`` seconds.

        Returns on ``succeeded``/``partially_succeeded``, and on ``preview_ready`` in review mode
        (approve or revise, then wait again). Raises ``OperationFailedError``,
        ``OperationCanceledError``, ``BillingRequiredError`` (resume, then wait again) or
        ``WaitTimeoutError``. ``until={"preview_ready"}`` names other stop states. Pass
        ``timeout=None`` explicitly to wait without a deadline (``timeout=0`` gives up at once:
        ``operations.get()`` reads the state once). An id alone is enough to resume waiting from
        another process.

        Args:
            on_update: called with each visibly changed state.
            on_retry: called with ``(error, seconds)`` for each transient failure the wait rides
                out (no answer, 429, 5xx, a malformed body) and the delay before the next poll.
            **options: per-poll options: ``request_timeout`` (capped by the wait's deadline),
                ``max_retries``, ``extra_headers``, ``extra_query``.

        Example:
            >>> print(mint.operations.wait(op.id, timeout=900).status)
            succeeded
        """
        r = self._r.using(options, wait=True)
        _check_callback(on_update, "on_update")
        return r.run(on_emit(_wait(r.core, operation, timeout, until, poll, on_retry), on_update))

    def as_completed(
        self,
        operations: Iterable[OpRef],
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        until: Until = None,
        poll: PollPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_rate: float = DEFAULT_MAX_RATE,
        **options: Unpack[WaitOptions],
    ) -> Iterator[WaitOk | WaitFailed]:
        """Wait on many operations; yield a :class:`WaitResult` as each one stops.

        At most ``max_concurrency`` requests are in flight and at most ``max_rate`` requests per
        second are sent across all operations. One failure never hides the others. To stop
        early, close the iterator (``close()``, or ``aclose()`` for ``AsyncMint``): polling stops
        at once. A ``break`` alone leaves it polling until the iterator is garbage-collected.

        Example:
            >>> [r.ok for r in mint.operations.as_completed([op, op.id], timeout=1800)]
            [True, True]
        """
        ids = _check_many(operations, max_concurrency, max_rate, timeout)  # at the call
        r = self._r.using(options, wait=True)
        return _as_completed_sync(r, ids, timeout, until, poll, max_concurrency, max_rate)

    def wait_many(
        self,
        operations: Iterable[OpRef],
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        until: Until = None,
        poll: PollPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_rate: float = DEFAULT_MAX_RATE,
        **options: Unpack[WaitOptions],
    ) -> list[WaitOk | WaitFailed]:
        """Wait on many operations; return one :class:`WaitResult` per input, in input order.

        Example:
            >>> results = mint.operations.wait_many([op], timeout=1800)
            >>> [r.result().is_succeeded for r in results]
            [True]
        """
        results = list(self.as_completed(operations, timeout=timeout, until=until, poll=poll,
                                         max_concurrency=max_concurrency, max_rate=max_rate,
                                         **options))  # fmt: skip
        return sorted(results, key=lambda r: r.index)


class AsyncOperations:
    """``mint.operations`` of :class:`AsyncMint` (same behaviour, ``await``/``async for``)."""

    def __init__(self, runner: AsyncRunner) -> None:
        self._r = runner

    async def get(self, operation: OpRef, **options: Unpack[RequestOptions]) -> Operation:
        """Read an operation once (see :meth:`Operations.get`)."""
        r = self._r.using(options)
        return await r.run(calls.get_operation_call(r.core, operation))

    async def approve(
        self,
        operation: OpRef,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Approve a preview (see :meth:`Operations.approve`)."""
        r = self._r.using(options)
        return await r.run(calls.action_call(r.core, "approve", operation, idempotency_key))

    async def revise(
        self,
        operation: OpRef,
        *,
        feedback: str,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Ask for a new preview (see :meth:`Operations.revise`)."""
        r = self._r.using(options)
        flow = calls.action_call(r.core, "revise", operation, idempotency_key, feedback)
        return await r.run(flow)

    async def resume(
        self,
        operation: OpRef,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Continue after ``billing_required`` (see :meth:`Operations.resume`)."""
        r = self._r.using(options)
        return await r.run(calls.action_call(r.core, "resume", operation, idempotency_key))

    def poll(
        self,
        operation: OpRef,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        until: Until = None,
        poll: PollPolicy | None = None,
        on_retry: OnRetry = None,
        **options: Unpack[WaitOptions],
    ) -> AsyncIterator[Operation]:
        """``async for snapshot in mint.operations.poll(op): ...`` (see :meth:`Operations.poll`)."""
        r = self._r.using(options, wait=True)
        return r.iterate(_wait(r.core, operation, timeout, until, poll, on_retry))

    async def wait(
        self,
        operation: OpRef,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        until: Until = None,
        on_update: OnUpdate = None,
        on_retry: OnRetry = None,
        poll: PollPolicy | None = None,
        **options: Unpack[WaitOptions],
    ) -> Operation:
        """``op = await mint.operations.wait(op, timeout=900)`` (see :meth:`Operations.wait`)."""
        r = self._r.using(options, wait=True)
        _check_callback(on_update, "on_update")
        flow = on_emit(_wait(r.core, operation, timeout, until, poll, on_retry), on_update)
        return await r.run(flow)

    def as_completed(
        self,
        operations: Iterable[OpRef],
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        until: Until = None,
        poll: PollPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_rate: float = DEFAULT_MAX_RATE,
        **options: Unpack[WaitOptions],
    ) -> AsyncIterator[WaitOk | WaitFailed]:
        """``async for r in mint.operations.as_completed(ops): ...`` (see
        :meth:`Operations.as_completed`)."""
        ids = _check_many(operations, max_concurrency, max_rate, timeout)
        r = self._r.using(options, wait=True)
        return _as_completed(
            lambda op_id: _wait(r.core, op_id, timeout, until, poll),
            ids,
            r.send,
            r.sleep,
            r.core.clock.monotonic,
            max_concurrency,
            max_rate,
            timeout,
        )

    async def wait_many(
        self,
        operations: Iterable[OpRef],
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        until: Until = None,
        poll: PollPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_rate: float = DEFAULT_MAX_RATE,
        **options: Unpack[WaitOptions],
    ) -> list[WaitOk | WaitFailed]:
        """``results = await mint.operations.wait_many(ops)`` (input order)."""
        results = [r async for r in self.as_completed(operations, timeout=timeout, until=until,
                   poll=poll, max_concurrency=max_concurrency, max_rate=max_rate,
                   **options)]  # fmt: skip
        return sorted(results, key=lambda r: r.index)


class OperationsWithRawResponse:
    """``mint.with_raw_response.operations``: each call returns a :class:`RawResponse` (for
    ``wait``, the response of the last poll)."""

    def __init__(self, operations: Operations) -> None:
        self.get = raw_sync(operations.get)
        self.approve = raw_sync(operations.approve)
        self.revise = raw_sync(operations.revise)
        self.resume = raw_sync(operations.resume)
        self.wait = raw_sync(operations.wait)


class AsyncOperationsWithRawResponse:
    """``amint.with_raw_response.operations``: ``await`` each call for a :class:`RawResponse`."""

    def __init__(self, operations: AsyncOperations) -> None:
        self.get = raw_async(operations.get)
        self.approve = raw_async(operations.approve)
        self.revise = raw_async(operations.revise)
        self.resume = raw_async(operations.resume)
        self.wait = raw_async(operations.wait)
