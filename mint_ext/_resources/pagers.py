"""``Pager`` and ``AsyncPager``: items of a listing, fetched page by page as you iterate."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

from .._flow import Flow
from .._models import Page
from .._runner import AsyncRunner, SyncRunner

T = TypeVar("T")


class Pager(Iterator[T]):
    """Items of a listing, fetched page by page as you iterate (``pages()`` gives whole pages).

    Example:
        >>> for world in mint.worlds.list(limit=50):
        ...     print(world.id)                        # doctest: +ELLIPSIS
        world_...
    """

    def __init__(self, runner: SyncRunner, flow: Callable[[], Flow[None]]) -> None:
        self._runner = runner
        self._flow = flow
        self._items: Iterator[T] | None = None

    def pages(self) -> Iterator[Page[T]]:
        """Iterate whole pages instead of items."""
        return self._runner.iterate(self._flow())

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._items is None:
            self._items = (item for page in self.pages() for item in page.items)
        return next(self._items)


class AsyncPager(AsyncIterator[T]):
    """The ``async for`` twin of :class:`Pager` (``async for model in amint.models.list(): ...``)."""

    def __init__(self, runner: AsyncRunner, flow: Callable[[], Flow[None]]) -> None:
        self._runner = runner
        self._flow = flow
        self._items: AsyncIterator[T] | None = None

    def pages(self) -> AsyncIterator[Page[T]]:
        """Iterate whole pages instead of items."""
        return self._runner.iterate(self._flow())

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
