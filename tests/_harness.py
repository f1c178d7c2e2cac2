"""Run one test body against both Mint and AsyncMint, with injectable time.

``Api(mode, ...)`` wraps a client; ``api("worlds.generate", prompt=...)`` calls the method by its
dotted path and, for the async client, runs the coroutine on the Api's own event loop. ``api.each``
collects an iterator (sync) or async iterator (async) into a list.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx

from mint_ext import AsyncMint, Clock, Mint


class FakeTime:
    """Monotonic and wall time that only move when something sleeps (or ``advance`` is called)."""

    def __init__(
        self, start: float = 1_800_000_000.0, on_advance: Callable[[float], None] | None = None
    ):
        self.now = start
        self.sleeps: list[float] = []
        self.on_advance = on_advance

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.on_advance is not None:
            self.on_advance(seconds)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)

    def clock(self, rng: Callable[[], float] | None = None) -> Clock:
        return Clock(monotonic=self.monotonic, wall=self.wall, rng=rng or random.Random(7).random)


class Api:
    def __init__(
        self,
        mode: str,
        *,
        transport: Any = None,
        time: FakeTime | None = None,
        rng: Callable[[], float] | None = None,
        **kwargs: Any,
    ) -> None:
        self.mode = mode
        self.time = time or FakeTime()
        kwargs.setdefault("api_key", "test-key")
        kwargs.setdefault("base_url", "http://mint.fake")
        clock = self.time.clock(rng)
        if mode == "sync":
            self.client: Any = Mint(
                transport=transport, sleep=self.time.sleep, clock=clock, **kwargs
            )
            self.loop = None
        else:
            self.loop = asyncio.new_event_loop()
            self.client = AsyncMint(
                transport=transport, sleep=self.time.async_sleep, clock=clock, **kwargs
            )

    def _target(self, path: str) -> Any:
        obj = self.client
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def __call__(self, path: str, *args: Any, **kwargs: Any) -> Any:
        result = self._target(path)(*args, **kwargs)
        if self.loop is not None:
            return self.loop.run_until_complete(result)
        return result

    def each(self, path: str, *args: Any, **kwargs: Any) -> list[Any]:
        iterator = self._target(path)(*args, **kwargs)
        if self.loop is None:
            return list(iterator)

        async def collect() -> list[Any]:
            return [item async for item in iterator]

        return self.loop.run_until_complete(collect())

    def run(self, coro_or_value: Any) -> Any:
        if self.loop is not None and asyncio.iscoroutine(coro_or_value):
            return self.loop.run_until_complete(coro_or_value)
        return coro_or_value

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    ctype = "application/problem+json" if status >= 400 else "application/json"
    return httpx.Response(status, json=body, headers={"content-type": ctype, **headers})
