"""The namespace of the docstring examples in ``mint_ext`` (``pytest --doctest-modules mint_ext``).

Examples run for real against the bundled fake on loopback:

- ``mint``: a ``Mint`` on a fake whose clock moves only when the client sleeps (waits are
  instant); ``op``: a finished world operation; ``review_op``: a world started in review mode;
- ``model_op``: a finished model operation; ``failed_op``: an operation that fails (waiting on
  it raises ``OperationFailedError``); ``billing_op``: one that stops at ``billing_required``;
  ``ops``: a finished world, a finished model and the failed operation, for ``wait_many``;
- ``out``: an empty temporary folder for downloads, new for every example (never the cwd);
- ``api_key``, ``base_url``: a second fake on a real clock at 500x speed, for examples that build
  their own ``Mint``/``AsyncMint`` the way a user does (a wait there takes about a second); the
  examples also see it as ``MINT_API_KEY``/``MINT_BASE_URL``, so a bare ``Mint()`` works.
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
        fake.seed_worlds(3)  # finished worlds to list, whatever ran before
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
        model_op = mint.operations.wait(mint.models.generate(prompt="A brass lantern"))
        fake.script("failed", error_code="content_policy", error_message="The prompt was refused.")
        failed_op = mint.worlds.generate(prompt="A forbidden garden")
        fake.script("billing_required")
        billing_op = mint.worlds.generate(prompt="A very large castle")
        realtime = stack.enter_context(serve_fake_mint(FakeMint(clock=RealClock(speed=500))))
        yield {
            "Mint": Mint,
            "AsyncMint": AsyncMint,
            "fake": fake,
            "mint": mint,
            "op": op,
            "review_op": review_op,
            "model_op": model_op,
            "failed_op": failed_op,
            "billing_op": billing_op,
            "ops": [op, model_op, failed_op],
            "api_key": realtime.api_key,
            "base_url": realtime.base_url,
        }


@pytest.fixture(autouse=True)
def _doctest_namespace(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fill ``doctest_namespace`` for doctest items only (test modules start no server); after
    each example, drop the faults it injected into ``fake`` and did not use up."""
    if type(request.node).__name__ != "DoctestItem":
        yield
        return
    namespace = request.getfixturevalue("doctest_namespace")
    namespace.update(request.getfixturevalue("_doctest_globals"))
    out = request.getfixturevalue("tmp_path") / "out"
    out.mkdir()
    namespace["out"] = out
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("MINT_API_KEY", namespace["api_key"])
    monkeypatch.setenv("MINT_BASE_URL", namespace["base_url"])
    yield
    namespace["fake"].clear_faults()
