"""Two costs of httpcore's connection pool taken off the API client's hot path (issue 18).

``wait_many`` on a thousand operations sends a thousand small requests through one pool with up
to ``max_concurrency`` connections; profiled against the fake in another process, about 40 %
of the client's CPU per poll went to httpcore 1.0's ``_assign_requests_to_connections``, which
runs twice per request:

1. For every idle connection it builds ``[c.is_idle() for c in connections]`` only to take its
   length (the number of connections, idle or not): quadratic in the pool size.
   :func:`assign_linear` is the same method in one pass, deciding exactly as httpcore does (that
   length *is* ``len(connections)``; the lists of available and idle connections are looked at
   only where httpcore uses them, and only their first element is used).
2. ``has_expired()`` asks every idle connection ``get_extra_info("is_readable")``, and AnyIO
   rebuilds a dictionary of attribute getters on each such call to find the raw socket.
   :class:`_KnownSocket` remembers the socket (it does not change for the life of a stream) and
   polls it as httpcore does.

Both are applied (:func:`speed_up`) only to a pool the SDK made, of exactly httpcore's classes,
inside the versions of :data:`~mint_ext._asset_transport.TESTED_WITH`: a different httpcore gets
its own pool untouched. ``tests/test_api_pool.py`` checks the decisions against httpcore's own
method on random pool states and pins the shapes read here.
"""

from __future__ import annotations

import select
import sys
import typing

import httpcore
import httpx

from ._asset_transport import AsyncBackendWrapper, AsyncStreamWrapper, fast_reads_supported
from ._core import HttpClientT, make_http_client


def assign_linear(pool: typing.Any) -> list[typing.Any]:
    """httpcore 1.0's ``ConnectionPool._assign_requests_to_connections``, in linear time."""
    closing: list[typing.Any] = []
    connections: list[typing.Any] = pool._connections
    keep = pool._max_keepalive_connections
    for connection in list(connections):
        if connection.is_closed():
            connections.remove(connection)
        elif connection.has_expired() or (connection.is_idle() and len(connections) > keep):
            connections.remove(connection)
            closing.append(connection)
    for pool_request in [r for r in pool._requests if r.is_queued()]:
        origin = pool_request.request.url.origin
        available = next(
            (c for c in connections if c.can_handle_request(origin) and c.is_available()), None
        )
        if available is not None:
            pool_request.assign_to_connection(available)
        elif len(connections) < pool._max_connections:
            connection = pool.create_connection(origin)
            connections.append(connection)
            pool_request.assign_to_connection(connection)
        else:
            idle = next((c for c in connections if c.is_idle()), None)
            if idle is not None:
                connections.remove(idle)
                closing.append(idle)
                connection = pool.create_connection(origin)
                connections.append(connection)
                pool_request.assign_to_connection(connection)
    return closing


class _LinearPool(httpcore.ConnectionPool):
    """httpcore's pool with :func:`assign_linear` (no state of its own: a class swap)."""

    def _assign_requests_to_connections(self) -> list[httpcore.ConnectionInterface]:
        return assign_linear(self)


class _LinearAsyncPool(httpcore.AsyncConnectionPool):
    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        return assign_linear(self)


class _HasFileno(typing.Protocol):
    def fileno(self) -> int: ...


def _readable(sock: _HasFileno | None) -> bool:
    """httpcore's ``is_socket_readable``: True if a recv() would not block (or no socket)."""
    fd = None if sock is None else sock.fileno()
    if fd is None or fd < 0:
        return True
    if sys.platform == "win32" or getattr(select, "poll", None) is None:  # pragma: no cover
        ready, _, _ = select.select([fd], [], [], 0)
        return bool(ready)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _KnownSocket(AsyncStreamWrapper):
    """An async network stream that answers ``is_readable`` from the socket it remembers."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        super().__init__(inner)
        # asyncio hands out a ``TransportSocket`` (a socket.socket look-alike), hence fileno.
        sock = inner.get_extra_info("socket")
        self._sock: _HasFileno | None = sock if callable(getattr(sock, "fileno", None)) else None

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and self._sock is not None:
            return _readable(self._sock)
        return self._inner.get_extra_info(info)


class _KnownSocketBackend(AsyncBackendWrapper):
    """``inner``'s connections with :class:`_KnownSocket`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        super().__init__(inner, _KnownSocket)


def speed_up(client: httpx.Client | httpx.AsyncClient) -> bool:
    """Apply both changes to the default transport's pool of an SDK-made ``client``.

    Returns whether it did: only for exactly httpx's transport around exactly httpcore's pool
    (with the attributes read above), inside the tested versions; anything else is left as is.
    """
    if not fast_reads_supported(("h11", "httpcore")):
        return False
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    shape = ("_connections", "_requests", "_max_keepalive_connections", "_max_connections")
    if not all(hasattr(pool, name) for name in shape):
        return False
    if type(pool) is httpcore.ConnectionPool:
        pool.__class__ = _LinearPool
        return True
    if type(pool) is httpcore.AsyncConnectionPool:
        backend = getattr(pool, "_network_backend", None)
        if not isinstance(backend, httpcore.AsyncNetworkBackend):
            return False
        pool.__class__ = _LinearAsyncPool
        pool._network_backend = _KnownSocketBackend(backend)
        return True
    return False


def sdk_client(cls: type[HttpClientT]) -> HttpClientT:
    """The HTTP client the SDK makes for the API when the caller gives none (sped up)."""
    client = make_http_client(cls, follow_redirects=False)
    speed_up(client)
    return client
