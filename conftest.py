"""The namespace of the docstring examples in ``mint_ext`` (``pytest --doctest-modules mint_ext``).

Examples run for real against the bundled fake on loopback:

- ``mint``: a ``Mint`` on a fake whose clock moves only when the client sleeps (waits are
  instant); ``op``: a finished world operation; ``review_op``: a world started in review mode;
- ``api_key``, ``base_url``: a second fake on a real clock at 500x speed, for examples that build
  their own ``Mint``/``AsyncMint`` the way a user does (a wait there takes about a second).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def _doctest_globals() -> Iterator[dict[str, Any]]:
    from mint_ext import AsyncMint, Clock, Mint
    from mint_ext.testing import FakeClock, FakeMint, RealClock, serve_fake_mint

    with contextlib.ExitStack() as stack:
        fake = FakeMint(clock=FakeClock())
        server = stack.enter_context(serve_fake_mint(fake))
        clock = Clock(monotonic=fake.clock.now, wall=fake.clock.now)
        mint = stack.enter_context(
            Mint(
                api_key=server.api_key,
                base_url=server.base_url,
                sleep=fake.clock.advance,
                clock=clock,
            )
        )
        op = mint.operations.wait(mint.worlds.generate(prompt="A quiet greenhouse"))
        review_op = mint.worlds.generate(prompt="A lighthouse", generation_mode="review")
        realtime = stack.enter_context(serve_fake_mint(FakeMint(clock=RealClock(speed=500))))
        yield {
            "Mint": Mint,
            "AsyncMint": AsyncMint,
            "fake": fake,
            "mint": mint,
            "op": op,
            "review_op": review_op,
            "api_key": realtime.api_key,
            "base_url": realtime.base_url,
        }


@pytest.fixture(autouse=True)
def _doctest_namespace(request: pytest.FixtureRequest) -> None:
    """Fill ``doctest_namespace`` for doctest items only (test modules start no server)."""
    if type(request.node).__name__ != "DoctestItem":
        return
    namespace = request.getfixturevalue("doctest_namespace")
    namespace.update(request.getfixturevalue("_doctest_globals"))
