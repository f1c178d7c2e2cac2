"""``mint.models``: start model generations and optimizations, read and list models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from .. import _calls as calls
from .._models import Model, Operation, Page
from .._options import RequestOptions
from .._raw import raw_async, raw_sync
from .._runner import AsyncRunner, SyncRunner
from .common import GenerationMode, GenerationPreset, OptimizationLevel, RiggingPose, given
from .pagers import AsyncPager, Pager


class Models:
    """``mint.models``: start model generations and optimizations, read and list models."""

    def __init__(self, runner: SyncRunner) -> None:
        self._r = runner

    def generate(
        self,
        prompt: str,
        *,
        derived_prompt: str | None = None,
        name: str | None = None,
        generation_mode: GenerationMode | None = None,
        generation_preset: GenerationPreset | None = None,
        rigging_pose: RiggingPose | None = None,
        image_url: str | None = None,
        source_images: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Start a 3D model generation; returns the new operation.

        ``idempotency_key`` and ``**options`` work as in :meth:`Worlds.generate`.

        Example:
            >>> op = mint.models.generate(prompt="A bronze lantern", idempotency_key="job-42")
            >>> print(op.type)
            model_generation
        """
        r = self._r.using(options)
        return r.run(calls.generate_model_call(r.core, prompt, given(locals(), calls.MODEL_FIELDS)))

    def optimize(
        self,
        model: str | Model,
        *,
        level: OptimizationLevel | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Start an optimization (Draco-compressed GLB) of a model; returns the new operation."""
        r = self._r.using(options)
        return r.run(calls.optimize_model_call(r.core, model, level, idempotency_key))

    def get(self, model: str | Model, **options: Unpack[RequestOptions]) -> Model:
        """Read one model by id (or refresh a ``Model``)."""
        r = self._r.using(options)
        return r.run(calls.get_model_call(r.core, model))

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Pager[Model]:
        """Every model of this API project, newest first, following cursors lazily."""
        calls.check_limit(limit), calls.check_cursor(cursor)  # at the call, not at the first page
        r = self._r.using(options)
        return Pager(r, lambda: calls.list_models_pages(r.core, limit, cursor))

    def list_page(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[Model]:
        """One page of models; pass ``page.next_cursor`` back as ``cursor`` for the next."""
        r = self._r.using(options)
        return r.run(calls.list_models_page(r.core, limit, cursor))


class AsyncModels:
    """``mint.models`` of :class:`AsyncMint`."""

    def __init__(self, runner: AsyncRunner) -> None:
        self._r = runner

    async def generate(
        self,
        prompt: str,
        *,
        derived_prompt: str | None = None,
        name: str | None = None,
        generation_mode: GenerationMode | None = None,
        generation_preset: GenerationPreset | None = None,
        rigging_pose: RiggingPose | None = None,
        image_url: str | None = None,
        source_images: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Start a 3D model generation (see :meth:`Models.generate`)."""
        r = self._r.using(options)
        fields = given(locals(), calls.MODEL_FIELDS)
        return await r.run(calls.generate_model_call(r.core, prompt, fields))

    async def optimize(
        self,
        model: str | Model,
        *,
        level: OptimizationLevel | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Start an optimization of a model (see :meth:`Models.optimize`)."""
        r = self._r.using(options)
        return await r.run(calls.optimize_model_call(r.core, model, level, idempotency_key))

    async def get(self, model: str | Model, **options: Unpack[RequestOptions]) -> Model:
        """Read one model by id."""
        r = self._r.using(options)
        return await r.run(calls.get_model_call(r.core, model))

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[Model]:
        """Every model, newest first: ``async for model in mint.models.list(): ...``."""
        calls.check_limit(limit), calls.check_cursor(cursor)  # at the call, not at the first page
        r = self._r.using(options)
        return AsyncPager(r, lambda: calls.list_models_pages(r.core, limit, cursor))

    async def list_page(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[Model]:
        """One page of models."""
        r = self._r.using(options)
        return await r.run(calls.list_models_page(r.core, limit, cursor))


class ModelsWithRawResponse:
    """``mint.with_raw_response.models``: each call returns a :class:`RawResponse`."""

    def __init__(self, models: Models) -> None:
        self.generate = raw_sync(models.generate)
        self.optimize = raw_sync(models.optimize)
        self.get = raw_sync(models.get)
        self.list_page = raw_sync(models.list_page)


class AsyncModelsWithRawResponse:
    """``amint.with_raw_response.models``: ``await`` each call for a :class:`RawResponse`."""

    def __init__(self, models: AsyncModels) -> None:
        self.generate = raw_async(models.generate)
        self.optimize = raw_async(models.optimize)
        self.get = raw_async(models.get)
        self.list_page = raw_async(models.list_page)
