"""Sans-I/O flows and the two thin drivers that run them.

Every multi-step behaviour of the SDK (a request with retries, a paginated listing, a wait on an
operation) is a generator that *decides* and yields actions; it never does I/O itself:

- ``Send(request)``: the driver sends it and sends back the ``httpx.Response`` or the
  ``httpx.HTTPError`` it raised (as a value, so that the flow decides what it means);
- ``Sleep(seconds)``: the driver sleeps (with the injected sleep function) and sends back ``None``;
- ``Emit(value)``: the driver hands ``value`` to the caller of an iterator and sends back ``None``.

The generator's return value is the result. ``drive_sync`` and ``drive_async`` are the only places
that touch the network or the clock's sleep, and they differ only in ``await``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

import attrs
import httpx

T = TypeVar("T")
E = TypeVar("E")


@attrs.frozen
class Send:
    request: httpx.Request


@attrs.frozen
class Sleep:
    seconds: float


@attrs.frozen
class Emit(Generic[E]):
    value: E


Action = Send | Sleep | Emit[Any]
Outcome = httpx.Response | httpx.HTTPError | None
Flow = Generator[Action, Outcome, T]


class _Box(Generic[T]):
    """Holds the return value of a flow run as an iterator."""

    value: T


SyncSend = Callable[[httpx.Request], httpx.Response]
AsyncSend = Callable[[httpx.Request], Awaitable[httpx.Response]]


def iterate_sync(
    flow: Flow[T], send: SyncSend, sleep: Callable[[float], None], box: _Box[T] | None = None
) -> Iterator[Any]:
    """Run ``flow``, yielding what it emits; its return value goes into ``box``."""
    outcome: Outcome = None
    while True:
        try:
            action = flow.send(outcome)
        except StopIteration as stop:
            if box is not None:
                box.value = stop.value
            return
        outcome = None
        if isinstance(action, Send):
            try:
                outcome = send(action.request)
            except httpx.HTTPError as exc:
                outcome = exc
        elif isinstance(action, Sleep):
            sleep(action.seconds)
        else:
            yield action.value


async def iterate_async(
    flow: Flow[T],
    send: AsyncSend,
    sleep: Callable[[float], Awaitable[None]],
    box: _Box[T] | None = None,
) -> AsyncIterator[Any]:
    """The ``await`` twin of :func:`iterate_sync`."""
    outcome: Outcome = None
    while True:
        try:
            action = flow.send(outcome)
        except StopIteration as stop:
            if box is not None:
                box.value = stop.value
            return
        outcome = None
        if isinstance(action, Send):
            try:
                outcome = await send(action.request)
            except httpx.HTTPError as exc:
                outcome = exc
        elif isinstance(action, Sleep):
            await sleep(action.seconds)
        else:
            yield action.value


def on_emit(flow: Flow[T], callback: Callable[[Any], object] | None) -> Flow[T]:
    """``flow`` with each emitted value handed to ``callback`` instead of the driver.

    Lets ``run_sync``/``run_async`` serve calls that report progress (``wait(on_update=...)``)
    without a loop of their own in each driver.
    """
    outcome: Outcome = None
    while True:
        try:
            action = flow.send(outcome)
        except StopIteration as stop:
            result: T = stop.value
            return result
        if isinstance(action, Emit):
            if callback is not None:
                callback(action.value)
            outcome = None
        else:
            outcome = yield action


def run_sync(flow: Flow[T], send: SyncSend, sleep: Callable[[float], None]) -> T:
    """Run a flow to its result (emitted values are dropped)."""
    box: _Box[T] = _Box()
    for _ in iterate_sync(flow, send, sleep, box):
        pass
    return box.value


async def run_async(flow: Flow[T], send: AsyncSend, sleep: Callable[[float], Awaitable[None]]) -> T:
    """Run a flow to its result (emitted values are dropped)."""
    box: _Box[T] = _Box()
    async for _ in iterate_async(flow, send, sleep, box):
        pass
    return box.value
