"""A disk action that finishes while the async driver's task is being cancelled: what it made
(a taken lock, an opened part file) must still be released, not lost (issue 18 review: a lock
taken in that window stayed held, and the next download of the folder waited 5 minutes)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Generator
from typing import Any

import pytest

from mint_ext._flow import DiskAction, Resource, run_async


class Taken(Resource):
    def __init__(self) -> None:
        self.released = 0

    def release(self) -> None:
        self.released += 1


class SlowTake(DiskAction):
    """Blocks until ``go`` is set, then answers a fresh resource."""

    def __init__(self, started: threading.Event, go: threading.Event, made: list[Taken]) -> None:
        self.started, self.go, self.made = started, go, made

    def run(self) -> Taken:
        self.started.set()
        assert self.go.wait(10)
        self.made.append(Taken())
        return self.made[-1]


def _flow(action: DiskAction) -> Generator[Any, Any, None]:
    yield action
    raise AssertionError("the flow never gets here: its task was cancelled")


async def _no_send(request: Any) -> Any:
    raise AssertionError("no request")


async def _no_sleep(seconds: float) -> None:
    raise AssertionError("no sleep")


def test_a_resource_made_while_the_task_is_cancelled_is_released() -> None:
    started, go, made = threading.Event(), threading.Event(), []

    async def main() -> None:
        task = asyncio.ensure_future(run_async(_flow(SlowTake(started, go, made)), _no_send,
                                               _no_sleep))  # fmt: skip
        assert await asyncio.to_thread(started.wait, 10)
        task.cancel()  # the action is under way in its thread...
        await asyncio.sleep(0.05)
        go.set()  # ...and finishes after the cancellation
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert [t.released for t in made] == [1]
