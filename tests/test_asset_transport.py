"""The asset clients' transports: httpx's own with larger reads, same limits, real sockets."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest

from mint_ext import _asset_transport as at
from mint_ext.testing import FakeClock, FakeMint, FakeServer, serve_fake_mint


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
    if widened == [-1]:
        pytest.skip("this httpcore/AnyIO has another shape: plain reads are used (still correct)")
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
