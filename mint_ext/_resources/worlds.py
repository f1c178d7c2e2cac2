"""``mint.worlds``: start world generations, read and list worlds (sync, async, raw views)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from .. import _calls as calls
from .._models import Operation, Page, World
from .._options import RequestOptions
from .._raw import raw_async, raw_sync
from .._runner import AsyncRunner, SyncRunner
from .common import GenerationMode, GenerationPreset, given
from .pagers import AsyncPager, Pager


class Worlds:
    """``mint.worlds``: start world generations, read and list worlds."""

    def __init__(self, runner: SyncRunner) -> None:
        self._r = runner

    def generate(
        self,
        prompt: str,
        *,
        derived_prompt: str | None = None,
        generation_mode: GenerationMode | None = None,
        generation_preset: GenerationPreset | None = None,
        display_name: str | None = None,
        image_url: str | None = None,
        source_images: Sequence[str] | None = None,
        source_url: str | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Start a world generation; returns the new operation (wait for it with
        ``operations.wait``).

        Args:
            prompt: what to generate.
            generation_mode: ``"auto"`` (default) or ``"review"`` (stops at ``preview_ready``
                for ``operations.approve``/``revise``).
            generation_preset: ``"fast"``, ``"standard"`` or ``"production"``.
            idempotency_key: the key of this piece of paid work. Pass one derived from your own
                job id (``mint_ext.idempotency_key("world", job_id)``) so that running the job
                again returns the same operation instead of paying twice; without it the SDK
                makes one per call (kept across the call's own retries).
            **options: per-request options (``timeout``, ``max_retries``, ``extra_headers``,
                ``extra_query``, ``extra_body``).

        Example:
            >>> op = mint.worlds.generate(prompt="A quiet greenhouse",
            ...                           generation_mode="review", generation_preset="fast")
            >>> print(op.type)
            world_generation
        """
        r = self._r.using(options)
        return r.run(calls.generate_world_call(r.core, prompt, given(locals(), calls.WORLD_FIELDS)))

    def get(self, world: str | World, **options: Unpack[RequestOptions]) -> World:
        """Read one world by id (or refresh a ``World``)."""
        r = self._r.using(options)
        return r.run(calls.get_world_call(r.core, world))

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Pager[World]:
        """Every world of this API project, newest first, following cursors lazily."""
        calls.check_limit(limit), calls.check_cursor(cursor)  # at the call, not at the first page
        r = self._r.using(options)
        return Pager(r, lambda: calls.list_worlds_pages(r.core, limit, cursor))

    def list_page(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[World]:
        """One page of worlds; pass ``page.next_cursor`` back as ``cursor`` for the next."""
        r = self._r.using(options)
        return r.run(calls.list_worlds_page(r.core, limit, cursor))


class AsyncWorlds:
    """``mint.worlds`` of :class:`AsyncMint` (``await`` each call; ``async for`` over ``list``)."""

    def __init__(self, runner: AsyncRunner) -> None:
        self._r = runner

    async def generate(
        self,
        prompt: str,
        *,
        derived_prompt: str | None = None,
        generation_mode: GenerationMode | None = None,
        generation_preset: GenerationPreset | None = None,
        display_name: str | None = None,
        image_url: str | None = None,
        source_images: Sequence[str] | None = None,
        source_url: str | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Start a world generation (see :meth:`Worlds.generate`)."""
        r = self._r.using(options)
        fields = given(locals(), calls.WORLD_FIELDS)
        return await r.run(calls.generate_world_call(r.core, prompt, fields))

    async def get(self, world: str | World, **options: Unpack[RequestOptions]) -> World:
        """Read one world by id."""
        r = self._r.using(options)
        return await r.run(calls.get_world_call(r.core, world))

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[World]:
        """Every world, newest first: ``async for world in mint.worlds.list(): ...``."""
        calls.check_limit(limit), calls.check_cursor(cursor)  # at the call, not at the first page
        r = self._r.using(options)
        return AsyncPager(r, lambda: calls.list_worlds_pages(r.core, limit, cursor))

    async def list_page(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[World]:
        """One page of worlds."""
        r = self._r.using(options)
        return await r.run(calls.list_worlds_page(r.core, limit, cursor))


class WorldsWithRawResponse:
    """``mint.with_raw_response.worlds``: each call returns a :class:`RawResponse`."""

    def __init__(self, worlds: Worlds) -> None:
        self.generate = raw_sync(worlds.generate)
        self.get = raw_sync(worlds.get)
        self.list_page = raw_sync(worlds.list_page)


class AsyncWorldsWithRawResponse:
    """``amint.with_raw_response.worlds``: ``await`` each call for a :class:`RawResponse`."""

    def __init__(self, worlds: AsyncWorlds) -> None:
        self.generate = raw_async(worlds.generate)
        self.get = raw_async(worlds.get)
        self.list_page = raw_async(worlds.list_page)
