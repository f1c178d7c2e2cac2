"""The asset clients' transports: httpx's own with larger reads, same limits, real sockets."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpcore
import httpx
import pytest
import trustme

from mint_ext import _asset_transport as at
from mint_ext.testing import FakeClock, FakeMint, FakeServer, serve_fake_mint

from ._tls import serve_once


@pytest.fixture
def served() -> Iterator[tuple[FakeMint, FakeServer, str]]:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 3 << 20})
    with serve_fake_mint(fake) as server:
        with httpx.Client(headers={"Authorization": "Bearer test-key"}) as api:
            op = api.post(
                f"{server.base_url}/v1/models:generate",
                json={"prompt": "x"},
                headers={"Idempotency-Key": "t1"},
            ).json()
            fake.advance(3600)
            url = api.get(f"{server.base_url}/v1/operations/{op['id']}").json()["assets"]["glbUrl"]
        yield fake, server, url


def test_sync_transport_reads_whole_bodies_correctly(served: tuple[FakeMint, FakeServer, str]):
    fake, _, url = served
    with httpx.Client(transport=at.asset_transport()) as client:
        body = client.get(url).content
        assert body == fake.asset(url).read()
        # A kept-alive connection serves the next request (no bytes of one body leak into it).
        assert client.get(url, headers={"Range": "bytes=0-3"}).content == b"glTF"


def test_async_transport_widens_asyncio_reads_and_reads_correctly(
    served: tuple[FakeMint, FakeServer, str],
) -> None:
    fake, _, url = served
    widened: list[int] = []
    real = at._widen_asyncio_reads

    def spy(stream: object) -> None:
        real(stream)
        transport = getattr(getattr(stream, "_stream", None), "_transport", None)
        widened.append(getattr(transport, "max_size", -1))

    async def main() -> bytes:
        async with httpx.AsyncClient(transport=at.async_asset_transport()) as client:
            return (await client.get(url)).content

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(at, "_widen_asyncio_reads", spy)
        body = asyncio.run(main())
    assert body == fake.asset(url).read()
    # Inside the tested versions the shape is known: a change there must fail, not skip.
    assert at.fast_reads_supported(("h11", "httpcore", "anyio"))
    assert widened == [at.READ_SIZE]


def test_widening_only_touches_an_asyncio_transport_of_the_expected_shape() -> None:
    class Stream:
        def __init__(self, transport: object) -> None:
            self._stream = type("AnyIOStream", (), {"_transport": transport})()

    class Transport(asyncio.Transport):
        max_size = 256 * 1024

    good = Transport()
    restore = at._widen_asyncio_reads(Stream(good))
    assert good.max_size == at.READ_SIZE and restore is not None
    restore()
    assert good.max_size == 256 * 1024

    odd = type("NotATransport", (), {"max_size": 7})()
    at._widen_asyncio_reads(Stream(odd))
    assert odd.max_size == 7
    assert at._widen_asyncio_reads(object()) is None  # no such attributes: nothing changes


def test_tls_runs_on_asyncio_default_reads() -> None:
    """AnyIO's TLS layer reads 64 KiB at a time: wide reads under it only cost copies."""

    class Transport(asyncio.Transport):
        max_size = 256 * 1024

    transport = Transport()
    seen: list[int] = []

    class Inner(httpcore.AsyncNetworkStream):
        _stream = type("AnyIOStream", (), {"_transport": transport})()

        async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
            seen.append(transport.max_size)
            return Inner()

    stream = at._AsyncLargeReads(Inner())
    assert transport.max_size == at.READ_SIZE  # plain HTTP: wide reads
    asyncio.run(stream.start_tls(None, "example.com"))
    assert seen == [256 * 1024]


def test_pool_allows_more_than_ten_parallel_downloads(
    served: tuple[FakeMint, FakeServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpcore's own default is 10 connections; httpx's (kept here) is 100."""
    fake, _, url = served
    lock, now, peak = threading.Lock(), [0], [0]
    real = fake._handle_asset

    def slow_asset(*args: Any) -> Any:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(0.5)
        with lock:
            now[0] -= 1
        return real(*args)

    monkeypatch.setattr(fake, "_handle_asset", slow_asset)
    barrier = threading.Barrier(12)
    statuses: list[int] = []
    with httpx.Client(transport=at.asset_transport(), timeout=30) as client:

        def fetch() -> None:
            barrier.wait()
            statuses.append(client.get(url, headers={"Range": "bytes=0-0"}).status_code)

        threads = [threading.Thread(target=fetch) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [206] * 12
    assert peak[0] > 10


@pytest.fixture
def tls_peer() -> Iterator[tuple[int, ssl.SSLContext, threading.Event, int]]:
    """A TLS server on loopback that sends PAYLOAD (many 16 KiB records) to each client at once,
    then sets ``sent`` and keeps the connection open."""
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    listener = socket.create_server(("127.0.0.1", 0))
    sent, done = threading.Event(), threading.Event()
    payload = 200_000

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"x" * payload)
            sent.set()
            done.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], client_ctx, sent, payload
    done.set()
    thread.join(5)
    listener.close()


def test_sync_tls_reads_gather_the_records_that_have_arrived(
    tls_peer: tuple[int, ssl.SSLContext, threading.Event, int],
) -> None:
    port, ctx, sent, payload = tls_peer
    plain = httpcore.SyncBackend().connect_tcp("127.0.0.1", port, timeout=5)
    stream = at._LargeReads(plain).start_tls(ctx, "127.0.0.1", timeout=5)
    assert sent.wait(5)
    time.sleep(0.2)  # loopback: every record is in the kernel buffer by now
    first = stream.read(65536, timeout=5)
    assert len(first) == payload  # one read, not one per 16 KiB record
    stream.close()


def test_async_tls_reads_gather_the_records_already_received(
    tls_peer: tuple[int, ssl.SSLContext, threading.Event, int],
) -> None:
    port, ctx, sent, payload = tls_peer

    async def main() -> list[int]:
        plain = await httpcore.AnyIOBackend().connect_tcp("127.0.0.1", port, timeout=5)
        stream = await at._AsyncLargeReads(plain).start_tls(ctx, "127.0.0.1", timeout=5)
        assert sent.wait(5)
        await asyncio.sleep(0.2)
        sizes, got = [], 0
        while got < payload:
            chunk = await stream.read(65536, timeout=5)
            sizes.append(len(chunk))
            got += len(chunk)
        await stream.aclose()
        return sizes

    sizes = asyncio.run(main())
    assert sum(sizes) == payload
    assert max(sizes) > 16384  # several records per read (AnyIO feeds TLS 64 KiB at a time)


def _dripping_tls_response(finished: threading.Event) -> Callable[[socket.socket, Any], None]:
    """Answer with a 300 KB body, sent in 24 KB bursts (each ends inside a TLS record) 0.1 s
    apart, as a congested long-distance link delivers it; ``finished`` is set after the last."""

    def handler(conn: socket.socket, tls: Any) -> None:
        tls.read_request()
        body = b"x" * 300_000
        wire = tls.encrypt(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        for i in range(0, len(wire), 24_000):
            conn.sendall(wire[i : i + 24_000])
            time.sleep(0.1)
        finished.set()
        time.sleep(1)

    return handler


def _sdk_transports(client_ctx: ssl.SSLContext) -> tuple[httpx.HTTPTransport, Any]:
    sync = httpx.HTTPTransport(verify=client_ctx)
    sync._pool = httpcore.ConnectionPool(network_backend=at._Backend(), ssl_context=client_ctx)
    asynchronous = httpx.AsyncHTTPTransport(verify=client_ctx)
    asynchronous._pool = httpcore.AsyncConnectionPool(
        network_backend=at._AsyncBackend(), ssl_context=client_ctx
    )
    return sync, asynchronous


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tls_gathering_never_waits_for_the_network(mode: str) -> None:
    """Records are gathered only when they have arrived whole: a partial one is left for the next
    read, so headers and bytes already received are handed on at once, not after ~1 MiB."""
    finished = threading.Event()
    port, client_ctx = serve_once(_dripping_tls_response(finished))
    sync, asynchronous = _sdk_transports(client_ctx)
    url = f"https://127.0.0.1:{port}/a"
    early: list[bool] = []  # for each chunk: did it arrive before the server was done?

    if mode == "sync":
        with (
            httpx.Client(transport=sync, timeout=10) as client,
            client.stream("GET", url) as response,
        ):
            early.append(not finished.is_set())  # the headers
            early += [not finished.is_set() for _ in response.iter_raw()]
            body = response.num_bytes_downloaded
    else:

        async def main() -> int:
            async with (
                httpx.AsyncClient(transport=asynchronous, timeout=10) as client,
                client.stream("GET", url) as response,
            ):
                early.append(not finished.is_set())
                early.extend([not finished.is_set() async for _ in response.aiter_raw()])
                return response.num_bytes_downloaded

        body = asyncio.run(main())
    assert body == 300_000
    assert early[0], "the headers waited for the whole body"
    assert sum(early) >= 5, early  # the body streamed in pieces as it arrived
