"""AsyncMint reads asset bodies with the sync fast transport in worker threads (issue 18).

What must hold: the threaded transport is chosen only where it can be interrupted (our pool,
inside ``TESTED_WITH``); a cancelled download does not wait for a stalled read to time out (its
sockets are shut down); it leaves no thread behind; and it downloads the same bytes over http
and https as the sync client does.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest

from mint_ext import AsyncMint, Mint
from mint_ext import _asset_transport as at
from mint_ext import _downloads as dl
from mint_ext.testing import FakeClock, FakeMint, Fault, serve_fake_mint

MiB = 1 << 20


def _tls(scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext | None:
    """The asset origin's server context for ``https`` (its CA trusted via SSL_CERT_FILE)."""
    if scheme != "https":
        return None
    import trustme

    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # httpx trusts it (trust_env)
    return server


def _asset_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mint-assets")]


def _wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_async_assets_use_the_threaded_transport_only_where_it_can_be_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chosen = dl._async_fast(3, None)
    assert isinstance(chosen, at.ThreadedAssetTransport)
    assert chosen._executor._workers == 3  # the download's concurrency, its own threads
    asyncio.run(chosen.aclose())
    monkeypatch.setattr(at, "_version", lambda name: None)  # outside TESTED_WITH
    fallback = dl._async_fast(3, None)
    assert type(fallback) is httpx.AsyncHTTPTransport
    asyncio.run(fallback.aclose())


def test_interrupt_ends_a_blocked_read_at_once() -> None:
    live = at._Live()
    a, b = socket.socketpair()
    outcome: list[object] = []

    def reader() -> None:
        try:
            outcome.append(a.recv(1024))
        except OSError as exc:
            outcome.append(exc)

    try:
        live.add(a)
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        assert not _wait_for(lambda: outcome, 0.2)  # really blocked: nothing to read
        live.interrupt()
        thread.join(5)
        assert not thread.is_alive()
        assert outcome in ([b""],) or isinstance(outcome[0], OSError)
        live.discard(a)
        live.interrupt()  # a socket no longer open is left alone
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_cancelling_an_async_download_does_not_wait_for_a_stalled_read(
    tmp_path: Path, scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One body piece, then the server stands still for a minute (64 KiB at ~1 KiB/s): without
    # the interrupt the cancelled task would sit in recv() until the 60 s read timeout.
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 4 * MiB}, asset_rate=1024.0)
    with serve_fake_mint(fake, asset_tls=_tls(scheme, tmp_path, monkeypatch)) as server:
        with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
            op = mint.models.generate(prompt="a lantern")
            fake.advance(3600)
            op = mint.operations.get(op)

        async def main() -> float:
            async with AsyncMint(
                api_key=server.api_key, base_url=server.base_url, timeout=60.0
            ) as amint:
                task = asyncio.ensure_future(amint.assets.download(op, tmp_path, include=["glb"]))
                await asyncio.sleep(1.0)  # the first piece has come, the next read blocks
                assert not task.done()
                started = time.monotonic()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return time.monotonic() - started

        took = asyncio.run(main())
    assert took < 10.0, f"the cancelled download took {took:.1f} s to end"
    assert _wait_for(lambda: not _asset_threads()), _asset_threads()
    assert not list(tmp_path.rglob("model.glb"))  # nothing published


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_async_and_sync_downloads_give_the_same_bytes(
    tmp_path: Path, scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 3 * MiB + 7})
    with serve_fake_mint(fake, asset_tls=_tls(scheme, tmp_path, monkeypatch)) as server:
        with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
            op = mint.models.generate(prompt="a lantern")
            fake.advance(3600)
            op = mint.operations.get(op)
            sync_report = mint.assets.download(op, tmp_path / "sync")

        async def main() -> object:
            async with AsyncMint(api_key=server.api_key, base_url=server.base_url) as amint:
                return await amint.assets.download(op, tmp_path / "async", max_concurrency=2)

        async_report = asyncio.run(main())
    assert sync_report.ok and async_report.ok  # type: ignore[attr-defined]
    for asset in sync_report.assets:
        twin = tmp_path / "async" / asset.path.relative_to(tmp_path / "sync")
        data = twin.read_bytes()
        assert hashlib.sha256(data).hexdigest() == asset.sha256
        assert data == asset.path.read_bytes()
    assert _wait_for(lambda: not _asset_threads()), _asset_threads()


def test_a_streaming_request_body_is_refused_not_sent_half() -> None:
    transport = at.ThreadedAssetTransport(ssl.create_default_context(), 1)

    async def body() -> object:
        yield b"x"

    async def main() -> None:
        try:
            request = httpx.Request("PUT", "http://127.0.0.1:9/", content=body())
            with pytest.raises(httpx.UnsupportedProtocol):
                await transport.handle_async_request(request)
        finally:
            await transport.aclose()

    asyncio.run(main())


class _BlackHole:
    """Accepts TCP connections and never says a word (a TLS handshake or a request hangs)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_download_stuck_before_any_byte_is_cancelled_within_a_grace(
    tmp_path: Path, scheme: str
) -> None:
    # https: stuck in the TLS handshake (no socket to shut down yet); http: waiting for headers.
    hole = _BlackHole()
    fake = FakeMint(clock=FakeClock())
    try:
        with serve_fake_mint(fake) as server:
            with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
                op = mint.models.generate(prompt="a lantern")
                fake.advance(3600)
            fields = {"glbUrl": f"{scheme}://127.0.0.1:{hole.port}/m.glb", "thumbnailUrl": None}
            fake.inject(Fault.asset_fields(fields), route="GET /v1/operations/*")

            async def main() -> float:
                async with AsyncMint(api_key=server.api_key, base_url=server.base_url,
                                     timeout=60.0, max_retries=0) as amint:  # fmt: skip
                    started = time.monotonic()
                    with pytest.raises(TimeoutError):
                        await asyncio.wait_for(amint.assets.download(op.id, tmp_path), 1.0)
                    return time.monotonic() - started

            took = asyncio.run(main())
    finally:
        hole.close()
    assert took < 10.0, f"wait_for(download, 1 s) took {took:.1f} s (connect/read timeout 60 s)"


def test_no_worker_thread_outlives_a_download(tmp_path: Path) -> None:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": MiB})
    with serve_fake_mint(fake) as server:
        with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
            op = mint.models.generate(prompt="a lantern")
            fake.advance(3600)

        async def main() -> list[threading.Thread]:
            async with AsyncMint(api_key=server.api_key, base_url=server.base_url) as amint:
                report = await amint.assets.download(op.id, tmp_path, max_concurrency=3)
                assert report.ok
                return _asset_threads()  # right after return, no polling

        assert asyncio.run(main()) == []


ABANDON = """
import asyncio, sys
from mint_ext import AsyncMint
base_url, api_key, op_id, out = sys.argv[1:5]
loop = asyncio.new_event_loop()
mint = AsyncMint(api_key=api_key, base_url=base_url, timeout=60.0)
task = loop.create_task(mint.assets.download(op_id, out))
loop.run_until_complete(asyncio.wait([task], timeout=1.5))
loop.close()  # the download is abandoned with its loop, never cancelled
print("left", flush=True)
"""


def test_a_program_that_abandons_a_download_with_its_loop_exits_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    # The server outlives the program (as a CDN does): its stalled body must not hold the exit.
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 8 * MiB}, asset_rate=2048.0)
    with serve_fake_mint(fake) as server:
        with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
            op = mint.models.generate(prompt="a lantern")
            fake.advance(3600)
        args = [server.base_url, server.api_key, op.id, str(tmp_path)]
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", ABANDON, *args], capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        took = time.monotonic() - started
    assert "left" in done.stdout, done.stderr[-2000:]
    assert took < 20.0, f"the program took {took:.1f} s to exit (read timeout 60 s)"


def test_a_body_left_early_stops_its_reader_and_the_next_download_is_whole(
    tmp_path: Path,
) -> None:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 24 * MiB})
    with serve_fake_mint(fake) as server:
        with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
            op = mint.models.generate(prompt="a lantern")
            fake.advance(3600)
            op = mint.operations.get(op)

        class Enough(Exception):
            pass

        def stop_midway(event: object) -> None:
            if 0 < getattr(event, "bytes_done", 0) < 24 * MiB:
                raise Enough

        async def main() -> object:
            async with AsyncMint(api_key=server.api_key, base_url=server.base_url) as amint:
                with pytest.raises(Enough):
                    await amint.assets.download(op, tmp_path, include=["glb"], progress=stop_midway)
                assert _asset_threads() == []  # the reader stopped with the download
                return await amint.assets.download(op, tmp_path, include=["glb"])

        report = asyncio.run(main())
    (asset,) = report.assets  # type: ignore[attr-defined]
    assert (
        asset.status == "downloaded"
        and asset.path.read_bytes()
        == fake.asset(
            op.assets.glb_url  # type: ignore[union-attr]
        ).read()
    )


class _HtmlThenStall(_BlackHole):
    """Answers each request with 200, an 8 MiB Content-Length, an HTML page's first 2 MiB
    (labelled image/png), then nothing: a captive portal that hangs."""

    def _accept(self) -> None:
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn: socket.socket) -> None:
        try:
            while request := conn.recv(65536):  # a HEAD gets headers; a GET the page, stalled
                head = (
                    b"HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\nContent-Type: image/png\r\n\r\n"
                )
                body = (
                    b""
                    if request.startswith(b"HEAD")
                    else b"<!DOCTYPE html><html>" + b"x" * (2 * MiB)
                )
                conn.sendall(head + body)
        except OSError:
            pass


def test_a_body_left_early_on_a_stalled_host_frees_its_worker_and_spares_the_others(
    tmp_path: Path,
) -> None:
    # max_concurrency=1: the download has one worker. The preview is an HTML page whose host
    # then stalls; the SDK rejects it after the first piece and leaves the body. Its reader must
    # stop at once (not at the 60 s read timeout) and the other files must still download.
    portal = _HtmlThenStall()
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 2 * MiB})
    try:
        with serve_fake_mint(fake) as server:
            with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
                op = mint.models.generate(prompt="a lantern")
                fake.advance(3600)
            fields = {"previewImageUrl": f"http://127.0.0.1:{portal.port}/preview.png"}
            fake.inject(Fault.asset_fields(fields), route="GET /v1/operations/*", times=10)

            async def main() -> object:
                async with AsyncMint(api_key=server.api_key, base_url=server.base_url,
                                     timeout=60.0, max_retries=0) as amint:  # fmt: skip
                    return await asyncio.wait_for(
                        amint.assets.download(op.id, tmp_path, max_concurrency=1,
                                              allow_partial=True), 30)  # fmt: skip

            started = time.monotonic()
            report = asyncio.run(main())
            took = time.monotonic() - started
    finally:
        portal.close()
    status = {a.kind: (a.status, type(a.error).__name__) for a in report.assets}  # type: ignore[attr-defined]
    assert status["preview"] == ("failed", "AssetVerificationError"), status
    assert {k: s for k, (s, _) in status.items() if k != "preview"} == {
        "glb": "downloaded", "thumbnail": "downloaded"}, status  # fmt: skip
    assert took < 20.0, f"the download took {took:.1f} s"
    assert _wait_for(lambda: not _asset_threads()), _asset_threads()
