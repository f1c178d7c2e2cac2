"""Shared fixtures.

``fake``, ``fake_server`` and ``contract`` belong to the fake Mint API tests; ``mode``,
``scripted``, ``on_fake`` and ``on_loopback`` run a test body on Mint and AsyncMint through the
one harness in ``tests/_harness.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

import httpx
import pytest

from mint_ext.testing import FakeClock, FakeMint, FakeServer, serve_fake_mint
from tests._fake_contract import Contract
from tests._harness import Answer, Api, FakeTime, Loopback, Scripted, Wire, api_on_fake


@pytest.fixture
def contract() -> Iterator[Contract]:
    """Validates every API response it is hooked to; fails the test at teardown on a violation."""
    checker = Contract()
    yield checker
    checker.assert_clean()


@pytest.fixture
def fake(contract: Contract) -> FakeMint:
    """A FakeMint on a manual FakeClock whose every API response is checked against the spec."""
    return FakeMint(clock=FakeClock(), on_response=contract)


@pytest.fixture
def fake_server(fake: FakeMint) -> Iterator[FakeServer]:
    """The ``fake`` served on loopback (API, asset and redirect origins)."""
    with serve_fake_mint(fake) as server:
        yield server


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Run the test once with ``Mint`` and once with ``AsyncMint`` (see ``tests/_harness.Api``)."""
    return str(request.param)


@pytest.fixture
def scripted(mode: str) -> Iterator[Scripted]:
    """``scripted(*answers, handler=, then=, overlap=, **api_kwargs) -> (api, wire)``: an Api for the
    current ``mode`` on a scripted ``Wire`` (whose ``times`` are the Api's time). Every Api is
    closed at teardown, and a request past the script of a ``then="fail"`` wire fails the test."""
    made: list[tuple[Api, Wire]] = []

    def make(
        *answers: Answer,
        handler: Callable[[httpx.Request], httpx.Response] | None = None,
        then: Literal["repeat", "fail"] = "repeat",
        overlap: int = 0,
        **api_kwargs: Any,
    ) -> tuple[Api, Wire]:
        wire = Wire(*answers, handler=handler, then=then, overlap=overlap)
        api = Api(mode, transport=wire.transport(), **api_kwargs)
        wire.clock = api.time.monotonic
        made.append((api, wire))
        return api, wire

    yield make
    for api, _ in made:
        api.close()
    unscripted = [f"{r.method} {r.url}" for _, wire in made for r in wire.unscripted]
    assert not unscripted, f"requests past the script: {unscripted}"


@pytest.fixture
def on_fake(mode: str, fake: FakeMint) -> Iterator[Api]:
    """An Api for the current ``mode`` on the in-process ``fake``; its sleeps advance the fake's
    clock, so waits run in simulated time."""
    api = api_on_fake(mode, fake)
    yield api
    api.close()


@pytest.fixture
def on_loopback(mode: str, contract: Contract) -> Iterator[Callable[..., Loopback]]:
    """``on_loopback(client=None, **fake_kwargs) -> Loopback(fake, server, api)``: a new FakeMint
    (``fake_kwargs``, every response checked by ``contract``) served on loopback, and an Api for
    the current ``mode`` on it (``client``: more client settings; ``timeout`` 5 s) whose sleeps
    advance the fake's clock."""
    opened: list[tuple[Any, Api]] = []

    def make(client: dict[str, Any] | None = None, **fake_kwargs: Any) -> Loopback:
        clock = FakeClock()
        fake = FakeMint(clock=clock, on_response=contract, **fake_kwargs)
        cm = serve_fake_mint(fake)
        server = cm.__enter__()
        time = FakeTime(start=clock.now(), on_advance=clock.advance)
        settings = {"timeout": 5.0, **(client or {})}
        try:
            api = Api(mode, base_url=server.base_url, api_key=server.api_key, time=time, **settings)
        except BaseException:
            cm.__exit__(None, None, None)
            raise
        opened.append((cm, api))
        return Loopback(fake, server, api)

    yield make
    for cm, api in opened:
        api.close()
        cm.__exit__(None, None, None)
