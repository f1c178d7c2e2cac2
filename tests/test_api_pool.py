"""The API client's pool speed-ups (``mint_ext/_api_pool.py``, issue 18).

``assign_linear`` must decide exactly as httpcore's own ``_assign_requests_to_connections`` on
any pool state (checked against it, on the installed httpcore, for random states); the class
and backend swaps must apply to the SDK's own pools only; the remembered socket must still see
a connection the server closed.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from typing import Any

import httpcore
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mint_ext import AsyncMint, Mint
from mint_ext import _api_pool as ap
from mint_ext import _asset_transport as at


class Conn:
    def __init__(self, name: str, origin: str, state: dict[str, bool]) -> None:
        self.name, self.origin, self.state = name, origin, state

    def is_closed(self) -> bool:
        return self.state["closed"]

    def has_expired(self) -> bool:
        return self.state["expired"]

    def is_idle(self) -> bool:
        return self.state["idle"]

    def is_available(self) -> bool:
        return self.state["available"]

    def can_handle_request(self, origin: str) -> bool:
        return origin == self.origin

    def __repr__(self) -> str:
        return self.name


class Req:
    def __init__(self, name: str, origin: str, queued: bool) -> None:
        self.name, self.queued = name, queued
        self.connection: Any = None
        self.request = type("R", (), {"url": type("U", (), {"origin": origin})()})()

    def is_queued(self) -> bool:
        return self.queued and self.connection is None

    def assign_to_connection(self, connection: Any) -> None:
        self.connection = connection


class StubPool:
    def __init__(self, conns: list[Conn], reqs: list[Req], keep: int, most: int) -> None:
        self._connections, self._requests = conns, reqs
        self._max_keepalive_connections, self._max_connections = keep, most
        self._new = itertools.count()

    def create_connection(self, origin: str) -> Conn:
        flags = {"closed": False, "expired": False, "idle": False, "available": False}
        return Conn(f"new{next(self._new)}", origin, flags)


ORIGINS = ["a", "b"]
conn_st = st.tuples(
    st.sampled_from(ORIGINS),
    st.fixed_dictionaries({k: st.booleans() for k in ("closed", "expired", "idle", "available")}),
)
req_st = st.tuples(st.sampled_from(ORIGINS), st.booleans())


def _pool(conns: list[Any], reqs: list[Any], keep: int, most: int) -> StubPool:
    return StubPool([Conn(f"c{i}", o, dict(f)) for i, (o, f) in enumerate(conns)],
                    [Req(f"r{i}", o, q) for i, (o, q) in enumerate(reqs)], keep, most)  # fmt: skip


def _outcome(pool: StubPool, closing: list[Any]) -> tuple[Any, ...]:
    return (repr(pool._connections), repr(closing),
            [(r.name, repr(r.connection)) for r in pool._requests])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    conns=st.lists(conn_st, max_size=12),
    reqs=st.lists(req_st, max_size=8),
    keep=st.integers(0, 6),
    most=st.integers(1, 14),
)
@pytest.mark.parametrize(
    "original",
    [
        httpcore.ConnectionPool._assign_requests_to_connections,
        httpcore.AsyncConnectionPool._assign_requests_to_connections,
    ],
)
def test_assign_linear_decides_as_httpcore_does(
    original: Any, conns: list[Any], reqs: list[Any], keep: int, most: int
) -> None:
    theirs, ours = _pool(conns, reqs, keep, most), _pool(conns, reqs, keep, most)
    assert _outcome(ours, ap.assign_linear(ours)) == _outcome(theirs, original(theirs))


def test_the_sdks_own_pools_are_sped_up_and_no_one_elses() -> None:
    with Mint(api_key="k") as mint:
        assert type(mint._runner.pool.client._transport._pool) is ap._LinearPool

    async def main() -> None:
        async with AsyncMint(api_key="k") as amint:
            pool = amint._runner.pool.client._transport._pool
            assert type(pool) is ap._LinearAsyncPool
            assert isinstance(pool._network_backend, ap._KnownSocketBackend)
        mine = httpx.AsyncClient()
        async with AsyncMint(api_key="k", http_client=mine) as amint:
            assert type(mine._transport._pool) is httpcore.AsyncConnectionPool  # theirs
        await mine.aclose()
        transport = httpx.AsyncHTTPTransport()
        async with AsyncMint(api_key="k", transport=transport) as amint:
            assert type(transport._pool) is httpcore.AsyncConnectionPool
            del amint

    asyncio.run(main())


def test_outside_the_tested_versions_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(at, "_version", lambda name: (9, 9))
    client = httpx.Client()
    assert ap.speed_up(client) is False
    assert type(client._transport._pool) is httpcore.ConnectionPool
    client.close()


def test_a_pool_of_another_shape_is_left_alone() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert ap.speed_up(client) is False
    client.close()


def test_the_remembered_socket_still_sees_a_server_close() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    async def main() -> tuple[bool, bool]:
        backend = ap._KnownSocketBackend(httpcore.AnyIOBackend())
        stream = await backend.connect_tcp("127.0.0.1", port)
        peer, _ = listener.accept()
        try:
            idle = stream.get_extra_info("is_readable")
            peer.close()  # the server ends the keep-alive connection
            for _ in range(100):
                if stream.get_extra_info("is_readable"):
                    break
                await asyncio.sleep(0.01)
            closed = stream.get_extra_info("is_readable")
            assert stream.get_extra_info("server_addr")[1] == port  # others pass through
        finally:
            await stream.aclose()
        return idle, closed

    try:
        idle, closed = asyncio.run(main())
    finally:
        listener.close()
    assert (idle, closed) == (False, True)
