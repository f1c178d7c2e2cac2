"""The one test harness: run a test body on Mint and AsyncMint, script the wire, build JSON.

- ``Api(mode, ...)`` wraps a client; ``api("worlds.generate", prompt=...)`` calls the method by its
  dotted path and, for the async client, runs the coroutine on the Api's own event loop.
  ``api.each`` collects an iterator (sync) or async iterator (async) into a list.
- ``FakeTime``: monotonic and wall time that move only when the client sleeps.
- ``Wire``: the scripted server of the in-process tests (an ``httpx.MockTransport`` handler).
- ``RawApi``: a bare httpx client on a ``FakeMint``, for the fake's own contract tests.
- ``SPEC``, ``EXAMPLES``, ``OP``, ``example``, ``op_json``, ``model_op_json``, ``problem``,
  ``json_response``: bodies built from the spec's examples.

The fixtures built on these (``mode``, ``scripted``, ``on_fake``, ``on_loopback``) are in
``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import random
import threading
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx
import yaml

from mint_ext import AsyncMint, Clock, Mint

if TYPE_CHECKING:
    from mint_ext.testing import FakeMint, FakeServer

# ------------------------------------------------------------------------------ JSON bodies

SPEC: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent.parent / "spec" / "mint.openapi.yaml").read_text()
)
EXAMPLES: dict[str, Any] = {k: v.get("example") for k, v in SPEC["components"]["schemas"].items()}
"""Each schema's ``example`` from the spec (do not mutate: use ``example()`` for a copy)."""
OP: dict[str, Any] = EXAMPLES["Operation"]


def example(schema: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of the spec's example of ``schema`` with ``changes`` applied (camelCase keys)."""
    data: dict[str, Any] = copy.deepcopy(EXAMPLES[schema])
    data.update(changes)
    return data


def op_json(op_id: str | None = None, /, **changes: Any) -> dict[str, Any]:
    """The spec's example Operation, with ``id=op_id`` if given and ``changes`` applied."""
    if op_id is not None:
        changes = {"id": op_id, **changes}
    return example("Operation", **changes)


def model_op_json(op_id: str | None = None, /, **changes: Any) -> dict[str, Any]:
    """The example Operation turned into a model generation (model resource, model assets)."""
    base = {
        "type": "model_generation",
        "resource": {"type": "model", "id": "model_1"},
        "assets": example("ModelAssets"),
    }
    return op_json(op_id, **(base | changes))


def problem(status: int, slug: str = "error", **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem body as the API sends it."""
    return {
        "type": f"https://api.mint.gg/problems/{slug}",
        "title": slug.title(),
        "status": status,
        **extra,
    }


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    """A JSON response (``application/problem+json`` for a status >= 400)."""
    ctype = "application/problem+json" if status >= 400 else "application/json"
    return httpx.Response(status, json=body, headers={"content-type": ctype, **headers})


# ------------------------------------------------------------------------------------ time


class FakeTime:
    """Monotonic and wall time that only move when something sleeps (or ``advance`` is called)."""

    def __init__(
        self, start: float = 1_800_000_000.0, on_advance: Callable[[float], None] | None = None
    ):
        self.now = start
        self.sleeps: list[float] = []
        self.on_advance = on_advance

    def monotonic(self) -> float:
        """The current time."""
        return self.now

    def wall(self) -> float:
        """The current time (wall and monotonic are one clock here)."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds`` (and tell ``on_advance``, e.g. a fake server's clock)."""
        self.now += seconds
        if self.on_advance is not None:
            self.on_advance(seconds)

    def sleep(self, seconds: float) -> None:
        """The client's sleep: recorded in ``sleeps``, returns at once."""
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def async_sleep(self, seconds: float) -> None:
        """The async client's sleep: like ``sleep``, then yields to the event loop once."""
        self.sleep(seconds)
        await asyncio.sleep(0)

    def clock(self, rng: Callable[[], float] | None = None) -> Clock:
        """A ``mint_ext.Clock`` on this time (jitter from ``rng``, a seeded one by default)."""
        return Clock(monotonic=self.monotonic, wall=self.wall, rng=rng or random.Random(7).random)


# ------------------------------------------------------------------------------- the driver


class Api:
    """One test body for both clients: ``Mint`` for mode "sync", ``AsyncMint`` for "async".

    ``client_kwargs`` go to the client (``api_key`` defaults to "test-key", ``base_url`` to
    ``http://mint.fake``; pass ``None`` for the client's own default). Sleeps and the clock are
    ``time``'s (a fresh ``FakeTime`` by default), the jitter ``rng``'s.
    """

    def __init__(
        self,
        mode: str,
        *,
        transport: Any = None,
        time: FakeTime | None = None,
        rng: Callable[[], float] | None = None,
        **client_kwargs: Any,
    ) -> None:
        if mode not in ("sync", "async"):
            raise ValueError(f"mode is 'sync' or 'async', not {mode!r}")
        self.mode = mode
        self.time = time or FakeTime()
        client_kwargs.setdefault("api_key", "test-key")
        client_kwargs.setdefault("base_url", "http://mint.fake")
        clock = self.time.clock(rng)
        self.loop: asyncio.AbstractEventLoop | None = None
        if mode == "sync":
            self.client: Any = Mint(
                transport=transport, sleep=self.time.sleep, clock=clock, **client_kwargs
            )
        else:  # the loop only once the client exists: a refused setting leaks no loop
            self.client = AsyncMint(
                transport=transport, sleep=self.time.async_sleep, clock=clock, **client_kwargs
            )
            self.loop = asyncio.new_event_loop()

    def _target(self, path: str) -> Any:
        obj = self.client
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def __call__(self, path: str, *args: Any, **kwargs: Any) -> Any:
        """Call the client's method at ``path`` (awaited for the async client)."""
        return self.run(self._target(path)(*args, **kwargs))

    def call_only(self, path: str, *args: Any, **kwargs: Any) -> Any:
        """Call the method at ``path`` and return what it returns, neither awaited nor iterated
        (to see that an iterator checks its arguments at the call, not at the first item)."""
        return self._target(path)(*args, **kwargs)

    def each(self, path: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call the method at ``path`` and collect the items it yields."""
        return self.collect(self._target(path)(*args, **kwargs))

    def collect(self, iterator: Iterable[Any] | AsyncIterable[Any]) -> list[Any]:
        """The items of an iterator (sync) or async iterator (async), as a list."""
        if self.loop is None:
            assert isinstance(iterator, Iterable), iterator
            return list(iterator)
        assert isinstance(iterator, AsyncIterable), iterator

        async def collect() -> list[Any]:
            return [item async for item in iterator]

        return self.loop.run_until_complete(collect())

    def run(self, coro_or_value: Any) -> Any:
        """Run a coroutine on the Api's loop (async); a plain value is returned as it is."""
        if self.loop is not None and asyncio.iscoroutine(coro_or_value):
            return self.loop.run_until_complete(coro_or_value)
        return coro_or_value

    def close(self) -> None:
        """Close the client (and the async Api's loop)."""
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


def api_on_fake(mode: str, fake: FakeMint, **client_kwargs: Any) -> Api:
    """An Api on the in-process ``fake`` whose sleeps advance the fake's clock."""
    time = FakeTime(start=fake.clock.now(), on_advance=fake.clock.advance)
    client_kwargs.setdefault("api_key", fake.api_key)
    return Api(mode, transport=fake.transport(), base_url=fake.base_url, time=time, **client_kwargs)


@dataclass
class Loopback:
    """A FakeMint served on loopback and an Api on it (see the ``on_loopback`` fixture)."""

    fake: FakeMint
    server: FakeServer
    api: Api


# --------------------------------------------------------------------------------- the wire

Answer = httpx.Response | BaseException | Callable[[httpx.Request], httpx.Response] | None
"""What the wire sends back: a response; an exception, raised (a transport error, say); a
function of the request; or None, the default: the spec's Operation, 202 to a POST, 200 else."""


class UnscriptedRequestError(AssertionError):
    """A request came after the script of a ``then="fail"`` wire ran out."""


class Wire:
    """A scripted server for ``httpx.MockTransport``: every request is read and recorded.

    The rule: the ``answers`` are served one per request, in order. After them, ``handler``
    (a function of the request) answers every further request if one is given; otherwise
    ``then`` decides: ``"repeat"`` (the default) answers with the last answer again and again,
    ``"fail"`` raises ``UnscriptedRequestError`` and records the request in ``unscripted`` (the
    ``scripted`` fixture fails the test at teardown, since the SDK may wrap the error). A wire
    with neither answers nor handler answers the default (``None``) to everything under
    ``"repeat"``, and refuses every request under ``"fail"``.

    Thread-safe; ``in_flight`` and ``peak`` count the requests being answered at once. ``times``
    holds each request's time on ``clock`` (set by the ``scripted`` fixture to the Api's time).
    An in-process answer takes microseconds, so requests hardly ever overlap and a ``peak``
    check could not fail: with ``overlap=n`` each answer (chosen when the request arrives) is
    held back until ``n`` requests are in flight, or for at most 100 event-loop turns (async
    client) or 20 ms (sync client, whose requests come from threads). Set it above the bound a
    test checks: a client that keeps its bound never reaches it; one that does not, does.
    """

    def __init__(
        self,
        *answers: Answer,
        handler: Callable[[httpx.Request], httpx.Response] | None = None,
        then: Literal["repeat", "fail"] = "repeat",
        clock: Callable[[], float] | None = None,
        overlap: int = 0,
    ) -> None:
        if then not in ("repeat", "fail"):
            raise ValueError(f"then is 'repeat' or 'fail', not {then!r}")
        self.handler = handler
        self.then = then
        self.clock = clock
        self.overlap = overlap
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.unscripted: list[httpx.Request] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Condition()
        self.answer(*answers)

    def answer(self, *answers: Answer) -> None:
        """From the next request on, serve these answers (by the same rule) instead."""
        if not answers and self.handler is None and self.then == "repeat":
            answers = (None,)
        with self._lock:
            self._script = list(answers)
            self._next = 0

    def _pick(self, request: httpx.Request) -> Answer:
        with self._lock:
            if self._next < len(self._script):
                self._next += 1
                return self._script[self._next - 1]
            if self.handler is not None:
                return self.handler
            if self.then == "repeat" and self._script:
                return self._script[-1]
            self.unscripted.append(request)
        raise UnscriptedRequestError(f"unscripted request {request.method} {request.url}")

    def _arrive(self, request: httpx.Request) -> httpx.Response | BaseException:
        """Record the request, count it in flight, and choose its answer."""
        with self._lock:
            self.requests.append(request)
            if self.clock is not None:
                self.times.append(self.clock())
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self._lock.notify_all()
        try:
            answer = self._pick(request)
            if isinstance(answer, BaseException):
                return answer
            if answer is None:
                return json_response(202 if request.method == "POST" else 200, OP)
            if isinstance(answer, httpx.Response):
                return answer
            return answer(request)
        except BaseException as exc:  # raised once the request leaves, like an answer
            return exc

    def _leave(self, outcome: httpx.Response | BaseException) -> httpx.Response:
        with self._lock:
            self.in_flight -= 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answer a request of the sync client (or of a client built on ``MockTransport``)."""
        request.read()
        outcome = self._arrive(request)
        if self.overlap:
            with self._lock:
                self._lock.wait_for(lambda: self.in_flight >= self.overlap, timeout=0.02)
        return self._leave(outcome)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        """Answer a request of the async client."""
        await request.aread()
        outcome = self._arrive(request)
        for _ in range(100 if self.overlap else 0):
            if self.in_flight >= self.overlap:
                break
            await asyncio.sleep(0)
        return self._leave(outcome)

    def transport(self) -> httpx.MockTransport:
        """A MockTransport answered by this wire (for a client built by hand)."""
        return _WireTransport(self)

    @property
    def count(self) -> int:
        """How many requests arrived."""
        return len(self.requests)

    @property
    def last(self) -> httpx.Request:
        """The latest request."""
        return self.requests[-1]

    def json(self, index: int = -1) -> Any:
        """The JSON body of request ``index`` (the latest by default)."""
        return json.loads(self.requests[index].content)


class Scripted(Protocol):
    """The ``scripted`` fixture's factory: the ``Wire``'s arguments, then the ``Api``'s
    (``time``, ``rng``, client settings); gives ``(api, wire)``."""

    def __call__(
        self,
        *answers: Answer,
        handler: Callable[[httpx.Request], httpx.Response] | None = ...,
        then: Literal["repeat", "fail"] = ...,
        overlap: int = ...,
        **api_kwargs: Any,
    ) -> tuple[Api, Wire]: ...


class _WireTransport(httpx.MockTransport):
    """MockTransport whose async path awaits the wire (so an answer can be held in flight)."""

    def __init__(self, wire: Wire) -> None:
        super().__init__(wire)
        self.wire = wire

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.wire.handle_async(request)


# ------------------------------------------------------------------ raw client on the fake

_keys = itertools.count(1)


class RawApi:
    """A bare httpx client on a FakeMint (in-process, or on a loopback ``base_url``), for the
    fake's own contract tests: no SDK between the test and the wire."""

    def __init__(self, fake: FakeMint, base_url: str | None = None, key: str | None = None):
        self.fake = fake
        headers = {"Authorization": f"Bearer {key or fake.api_key}"}
        if base_url is None:
            self.http = httpx.Client(
                transport=fake.transport(), base_url=fake.base_url, headers=headers
            )
        else:
            self.http = httpx.Client(base_url=base_url, headers=headers)

    def post(
        self, path: str, body: Any = None, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        """POST ``body`` as JSON with an Idempotency-Key (``key``, else a fresh one)."""
        headers = {"Idempotency-Key": key or f"key-{next(_keys)}", **kw.pop("headers", {})}
        if body is None:
            return self.http.post(path, headers=headers, **kw)
        return self.http.post(path, json=body, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        """GET ``path``."""
        return self.http.get(path, **kw)

    def op(self, op_id: str) -> dict[str, Any]:
        """The operation ``op_id`` as JSON (asserts a 200)."""
        response = self.get(f"/v1/operations/{op_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def world(self, prompt: str = "A quiet greenhouse", **body: Any) -> dict[str, Any]:
        """Start a world generation (asserts a 202); its operation as JSON."""
        response = self.post("/v1/worlds:generate", {"prompt": prompt, **body})
        assert response.status_code == 202, response.text
        data: dict[str, Any] = response.json()
        return data

    def model(self, prompt: str = "A bronze lantern", **body: Any) -> dict[str, Any]:
        """Start a model generation (asserts a 202); its operation as JSON."""
        response = self.post("/v1/models:generate", {"prompt": prompt, **body})
        assert response.status_code == 202, response.text
        data: dict[str, Any] = response.json()
        return data

    def finished_model(self) -> str:
        """The id of a finished model seeded in the fake."""
        model_id = self.fake.seed_models(1)[0]
        return model_id

    def close(self) -> None:
        """Close the httpx client."""
        self.http.close()
