"""Sans-I/O flows, the SDK's one action vocabulary, and the two drivers that carry it out.

Every multi-step behaviour of the SDK (a request with retries, a paginated listing, a wait on an
operation, the download of a file) is a generator that *decides* and yields actions; it never
touches a socket, a file descriptor, a thread or an event loop itself:

- ``Send(request)``: the driver sends it and answers the ``httpx.Response`` or the
  ``httpx.HTTPError`` it raised (as a value, so that the flow decides what it means);
- ``Stream(request)``: the same with the body left unread; the response is the handle for
  ``ReadChunk(response)`` (answered with the next bytes, ``b""`` at the end, or the
  ``httpx.HTTPError`` that broke the body), ``Drain(response)`` (read a small error body and
  close) and ``Close(response)``;
- ``Sleep(seconds)``: the driver sleeps (with the injected sleep function) and answers ``None``;
- ``Emit(value)``: the driver hands ``value`` to the caller of an iterator and answers ``None``;
- ``Refresh(key)``: the driver asks its ``refresh`` function (the download's re-read of
  expired URLs) and answers what it returns;
- a :class:`DiskAction` (open, write, fsync, rename, lock, read back, remove: see
  ``_files``): the driver performs it with its :class:`Disk` and answers the result; an
  exception it raises is thrown into the flow at its ``yield``, as if the flow had made the call.
  A result that is a :class:`Resource` (an open part file, a held lock) is released by the driver
  if the flow ends without releasing it (an error, Ctrl-C, a cancelled task).

The generator's return value is the result. :func:`iterate_sync` and :func:`iterate_async` are
the only places that do I/O, and they differ only in ``await`` and in where disk work runs: the
async driver runs every disk action in a worker thread (:func:`in_thread`), never on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, Protocol, TypeVar

import attrs
import httpx

T = TypeVar("T")
E = TypeVar("E")

#: A streamed body is answered in pieces of at least this many bytes (fewer actions, and
#: fewer thread hops for the async driver's writes); a larger piece passes without a copy.
GATHER = 512 * 1024


@attrs.frozen
class Send:
    """Send ``request``; answered with the response (body read) or the ``httpx.HTTPError``."""

    request: httpx.Request


@attrs.frozen
class Stream:
    """Send ``request`` with its body left unread; answered with the response or the error."""

    request: httpx.Request


@attrs.frozen
class ReadChunk:
    """The next bytes of a ``Stream`` response (``b""`` at the end) or the error that broke it."""

    response: httpx.Response = attrs.field(eq=False)


@attrs.frozen
class Drain:
    """Read the (small) body of a ``Stream`` response and close it; answered None or the error."""

    response: httpx.Response = attrs.field(eq=False)


@attrs.frozen
class Close:
    """Close a ``Stream`` response (its connection goes back to the pool or away)."""

    response: httpx.Response = attrs.field(eq=False)


@attrs.frozen
class Sleep:
    """Wait ``seconds`` with the driver's sleep function."""

    seconds: float


@attrs.frozen
class Emit(Generic[E]):
    """Hand ``value`` to the caller of :func:`iterate_sync`/:func:`iterate_async`."""

    value: E


@attrs.frozen
class Refresh:
    """Ask the driver's ``refresh`` function about ``key``; answered with what it returns."""

    key: str


class DiskAction:
    """An operation on local files, performed by a :class:`Disk` (the flow only describes it).

    Subclasses (``_files``) are frozen attrs classes; :meth:`run` does the work with blocking
    calls, and :class:`LocalDisk` simply calls it.
    """

    __slots__ = ()

    def run(self) -> Any:
        """Carry out the operation (blocking) and return its answer."""
        raise NotImplementedError


class Resource:
    """A disk action's result that holds something (a descriptor, a lock) until released."""

    __slots__ = ()

    def release(self) -> None:
        """Give it back; must be idempotent (the driver may call it after the flow did)."""
        raise NotImplementedError


class Disk(Protocol):
    """What carries out disk actions (tests wrap it to watch or script them)."""

    def perform(self, action: DiskAction) -> Any: ...


class LocalDisk:
    """The real local disk: each action's own :meth:`DiskAction.run`."""

    def perform(self, action: DiskAction) -> Any:
        """Run ``action`` here (the async driver calls this in a worker thread)."""
        return action.run()


LOCAL_DISK = LocalDisk()

Action = Send | Stream | ReadChunk | Drain | Close | Sleep | Emit[Any] | Refresh | DiskAction
Outcome = Any
Flow = Generator[Action, Outcome, T]


class Stopped(BaseException):
    """Raised by the sync driver when its ``stop`` event is set (Ctrl-C in another thread):
    the flow is abandoned at once, its resources released (a partial file kept for a resume)."""


class _Box(Generic[T]):
    """Holds the return value of a flow run as an iterator."""

    value: T


SyncSend = Callable[[httpx.Request], httpx.Response]
AsyncSend = Callable[[httpx.Request], Awaitable[httpx.Response]]


async def in_thread(
    fn: Callable[[], T],
    *,
    executor: concurrent.futures.Executor | None = None,
    on_cancel: Callable[[], object] | None = None,
    grace: float | None = None,
    on_lost: Callable[[T], object] | None = None,
) -> T:
    """``fn()`` in a worker thread; a cancellation waits for it to end before it goes on.

    The flow's cleanup (closing a file, releasing a lock) must not run while the thread still
    uses that file or is taking that lock. ``executor``: where to run (default: the loop's);
    ``on_cancel``: called (on the loop) when the wait is cancelled (or Ctrl-C is thrown in), to
    make ``fn`` return sooner (a blocked socket read is ended by shutting the socket down); ``grace``: wait
    at most this long for ``fn`` after a cancellation, then leave it to finish on its own (for
    network work that touches nothing the cleanup releases; None: wait for it, as disk work
    must); ``on_lost``: given the result of an ``fn`` that finished although the wait was
    cancelled (an opened file, a taken lock), so that it is not lost unreleased.
    """
    # A plain executor future (no task around ``to_thread``): one loop turn less per action.
    ctx = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    task = loop.run_in_executor(executor, ctx.run, fn)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if on_cancel is not None and not task.done():
            on_cancel()
        until = None if grace is None else loop.time() + grace
        while not task.done():
            left = None if until is None else until - loop.time()
            if left is not None and left <= 0:
                break
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([task], timeout=left)
        if task.done() and not task.cancelled():
            if task.exception() is None and on_lost is not None:  # retrieved either way
                on_lost(task.result())
        else:
            task.add_done_callback(_retrieve)
        raise
    except BaseException as exc:
        # Thrown in (Ctrl-C, SystemExit): as a cancellation, without the wait. GeneratorExit
        # (the coroutine closed, never resumed): the work just ends on its own.
        if on_cancel is not None and not task.done() and not isinstance(exc, GeneratorExit):
            on_cancel()
        task.add_done_callback(_retrieve)
        raise


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a left-behind worker's outcome as seen (no "exception never retrieved")."""
    if not future.cancelled():
        future.exception()


def _body(response: httpx.Response) -> bytes | None:
    """The body if it is already in memory (a response built from bytes), else None."""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


def _gathered(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """``pieces`` joined into pieces of at least ``GATHER`` bytes; a break gives what came
    before it first, then the error."""
    buf: list[bytes] = []
    size = 0
    try:
        for piece in pieces:
            if not buf and len(piece) >= GATHER:
                yield piece
                continue
            buf.append(piece)
            size += len(piece)
            if size >= GATHER:
                yield b"".join(buf)
                buf, size = [], 0
    except httpx.HTTPError:
        if buf:
            yield b"".join(buf)
        raise
    if buf:
        yield b"".join(buf)


async def _agathered(pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The ``async for`` twin of :func:`_gathered`."""
    buf: list[bytes] = []
    size = 0
    try:
        async for piece in pieces:
            if not buf and len(piece) >= GATHER:
                yield piece
                continue
            buf.append(piece)
            size += len(piece)
            if size >= GATHER:
                yield b"".join(buf)
                buf, size = [], 0
    except httpx.HTTPError:
        if buf:
            yield b"".join(buf)
        raise
    if buf:
        yield b"".join(buf)


def _in_memory(body: bytes) -> Iterator[bytes]:
    return (body[i : i + GATHER] for i in range(0, len(body), GATHER))


async def _ain_memory(body: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(body), GATHER):
        yield body[i : i + GATHER]


def _keep(held: list[Resource]) -> Callable[[object], None]:
    """``on_lost`` for a disk action: a resource it made while its task was being cancelled
    joins ``held``, so the driver's cleanup releases it (a lock taken then was kept forever)."""

    def keep(result: object) -> None:
        if isinstance(result, Resource):
            held.append(result)

    return keep


def _release(held: list[Resource]) -> None:
    """Release what the flow left held, last taken first (the part file before its lock)."""
    while held:
        held.pop().release()


def _no_stream(request: httpx.Request) -> httpx.Response:
    raise TypeError("this driver was given no stream function")


async def _ano_stream(request: httpx.Request) -> httpx.Response:
    raise TypeError("this driver was given no stream function")


def _no_refresh(key: str) -> None:
    return None


async def _ano_refresh(key: str) -> None:
    return None


def iterate_sync(
    flow: Flow[T],
    send: SyncSend,
    sleep: Callable[[float], None],
    box: _Box[T] | None = None,
    *,
    stream: SyncSend = _no_stream,
    refresh: Callable[[str], Any] = _no_refresh,
    disk: Disk = LOCAL_DISK,
    stop: threading.Event | None = None,
) -> Iterator[Any]:
    """Run ``flow``, yielding what it emits; its return value goes into ``box``.

    ``stream`` sends a request with its body unread (``Stream``); ``stop``, once set, ends the
    run with :class:`Stopped` before the next action (and a real-clock sleep at once).
    """
    pause: Callable[[float], object] = (
        stop.wait if stop is not None and sleep is time.sleep else sleep
    )
    bodies: dict[int, Iterator[bytes]] = {}
    opened: list[httpx.Response] = []
    held: list[Resource] = []
    outcome: Outcome = None
    error: BaseException | None = None
    try:
        while True:
            if stop is not None and stop.is_set():
                raise Stopped
            try:
                action = flow.send(outcome) if error is None else flow.throw(error)
            except StopIteration as end:
                if box is not None:
                    box.value = end.value
                return
            outcome = error = None
            if isinstance(action, DiskAction):
                try:
                    outcome = disk.perform(action)
                except Exception as exc:
                    error = exc
                if isinstance(outcome, Resource):
                    held.append(outcome)
                continue
            try:
                if isinstance(action, ReadChunk):
                    it = bodies.get(id(action.response))
                    if it is None:
                        body = _body(action.response)
                        raw = action.response.iter_raw() if body is None else _in_memory(body)
                        it = bodies[id(action.response)] = _gathered(raw)
                    outcome = next(it, b"")
                elif isinstance(action, Send):
                    outcome = send(action.request)
                elif isinstance(action, Stream):
                    outcome = stream(action.request)
                    opened.append(outcome)
                elif isinstance(action, Drain):
                    action.response.read()
                    action.response.close()
                elif isinstance(action, Close):
                    bodies.pop(id(action.response), None)
                    action.response.close()
                elif isinstance(action, Sleep):
                    pause(action.seconds)
                elif isinstance(action, Refresh):
                    outcome = refresh(action.key)
                else:
                    yield action.value
            except httpx.HTTPError as exc:
                outcome = exc
    finally:
        flow.close()
        try:
            _release(held)
        finally:
            for r in opened:
                r.close()


async def iterate_async(
    flow: Flow[T],
    send: AsyncSend,
    sleep: Callable[[float], Awaitable[None]],
    box: _Box[T] | None = None,
    *,
    stream: AsyncSend = _ano_stream,
    refresh: Callable[[str], Awaitable[Any]] = _ano_refresh,
    disk: Disk = LOCAL_DISK,
    stop: threading.Event | None = None,
) -> AsyncIterator[Any]:
    """The ``await`` twin of :func:`iterate_sync`; every disk action runs in a worker thread.

    Cancelling the task ends the run; a disk action under way finishes first (:func:`in_thread`)
    and what the flow held is released in a worker thread too.
    """
    bodies: dict[int, AsyncIterator[bytes]] = {}
    opened: list[httpx.Response] = []
    held: list[Resource] = []
    keep = _keep(held)  # a resource made while the task was cancelled is still released
    outcome: Outcome = None
    error: BaseException | None = None
    try:
        while True:
            if stop is not None and stop.is_set():
                raise Stopped
            try:
                action = flow.send(outcome) if error is None else flow.throw(error)
            except StopIteration as end:
                if box is not None:
                    box.value = end.value
                return
            outcome = error = None
            if isinstance(action, DiskAction):
                try:
                    outcome = await in_thread(functools.partial(disk.perform, action), on_lost=keep)
                except Exception as exc:
                    error = exc
                if isinstance(outcome, Resource):
                    held.append(outcome)
                continue
            try:
                if isinstance(action, ReadChunk):
                    ait = bodies.get(id(action.response))
                    if ait is None:
                        body = _body(action.response)
                        araw = action.response.aiter_raw() if body is None else _ain_memory(body)
                        ait = bodies[id(action.response)] = _agathered(araw)
                    outcome = await anext(ait, b"")
                elif isinstance(action, Send):
                    outcome = await send(action.request)
                elif isinstance(action, Stream):
                    outcome = await stream(action.request)
                    opened.append(outcome)
                elif isinstance(action, Drain):
                    await action.response.aread()
                    await action.response.aclose()
                elif isinstance(action, Close):
                    bodies.pop(id(action.response), None)
                    await action.response.aclose()
                elif isinstance(action, Sleep):
                    await sleep(action.seconds)
                elif isinstance(action, Refresh):
                    outcome = await refresh(action.key)
                else:
                    yield action.value
            except httpx.HTTPError as exc:
                outcome = exc
    finally:
        flow.close()
        try:
            if held:
                await in_thread(functools.partial(_release, held))
        finally:
            for r in opened:
                await r.aclose()


def on_emit(flow: Flow[T], callback: Callable[[Any], object] | None) -> Flow[T]:
    """``flow`` with each emitted value handed to ``callback`` instead of the driver.

    Lets ``run_sync``/``run_async`` serve calls that report progress (``wait(on_update=...)``)
    without a loop of their own in each driver.
    """
    outcome: Outcome = None
    error: Exception | None = None
    while True:
        try:
            action = flow.send(outcome) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        outcome = error = None
        if isinstance(action, Emit):
            if callback is not None:
                callback(action.value)
        else:
            try:
                outcome = yield action
            except Exception as exc:  # a disk action's error: the inner flow's to handle
                error = exc


def run_sync(flow: Flow[T], send: SyncSend, sleep: Callable[[float], None], **io: Any) -> T:
    """Run a flow to its result (emitted values are dropped); ``io``: see :func:`iterate_sync`."""
    box: _Box[T] = _Box()
    for _ in iterate_sync(flow, send, sleep, box, **io):
        pass
    return box.value


async def run_async(
    flow: Flow[T], send: AsyncSend, sleep: Callable[[float], Awaitable[None]], **io: Any
) -> T:
    """Run a flow to its result (emitted values are dropped); ``io``: see :func:`iterate_async`."""
    box: _Box[T] = _Box()
    async for _ in iterate_async(flow, send, sleep, box, **io):
        pass
    return box.value
