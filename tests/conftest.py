"""Shared fixtures. ``fake``, ``fake_server`` and ``contract`` belong to the fake Mint API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mint_ext.testing import FakeClock, FakeMint, FakeServer, serve_fake_mint
from tests._fake_contract import Contract


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
