"""Downloads end to end against the fake Mint server on loopback: its separate asset origin,
its redirect origin, signed URLs that expire, and faults on the wire. Sync and async alike."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mint_ext import AssetVerificationError, DownloadError, Operation
from mint_ext.testing import FakeClock, FakeMint, Fault, serve_fake_mint

from ._fake_contract import Contract
from ._harness import Api, FakeTime

WORLD_FILES = ["caption.txt", "collider.glb", "pano.png", "preview.png", "splat_100k.spz",
               "splat_500k.spz", "splat_full_res.spz", "thumbnail.webp", "world.rad"]  # fmt: skip


class Env:
    def __init__(self, fake: FakeMint, server: Any, api: Api) -> None:
        self.fake, self.server, self.api = fake, server, api

    def finished(self, kind: str = "worlds") -> Operation:
        op = self.api(f"{kind}.generate", prompt="x")
        self.fake.advance(3600)
        op = self.api("operations.get", op)
        assert op.is_succeeded
        return op


@pytest.fixture
def env(mode: str, contract: Contract) -> Iterator[Callable[..., Env]]:
    opened: list[tuple[Any, Api]] = []

    def make(**fake_kwargs: Any) -> Env:
        clock = FakeClock()
        fake = FakeMint(clock=clock, on_response=contract, **fake_kwargs)
        cm = serve_fake_mint(fake)
        server = cm.__enter__()
        api = Api(mode, base_url=server.base_url, api_key=server.api_key,
                  time=FakeTime(start=clock.now(), on_advance=clock.advance))  # fmt: skip
        opened.append((cm, api))
        return Env(fake, server, api)

    yield make
    for cm, api in opened:
        api.close()
        cm.__exit__(None, None, None)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_world_download_from_the_asset_origin(env: Callable[..., Env], tmp_path: Path) -> None:
    e = env(asset_size=300_000)
    op = e.finished()
    report = e.api("assets.download", op, tmp_path)
    folder = tmp_path / op.resource_id
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == WORLD_FILES
    for asset in report.assets:
        assert asset.status == "downloaded" and asset.sha256 == _sha(asset.path)
        if asset.kind != "caption":
            assert asset.path.read_bytes() == e.fake.asset(asset.url).read()
    assert (folder / "caption.txt").read_text() == op.assets.caption
    assert (folder / "collider.glb").read_bytes()[:4] == b"glTF"
    cdn = [r for r in e.fake.requests if r.origin != "api"]
    assert cdn and all("authorization" not in r.headers and "cookie" not in r.headers for r in cdn)
    # a re-run fetches no body again
    e.fake.clear_requests()
    again = e.api("assets.download", op.id, tmp_path)
    assert {a.status for a in again.assets} == {"skipped"}
    assert not [r for r in e.fake.requests if r.origin != "api" and r.method == "GET"]


def test_truncated_then_resumed_with_range(env: Callable[..., Env], tmp_path: Path) -> None:
    e = env(asset_size=2_000_000)
    op = e.finished("models")
    e.fake.inject(Fault.truncate(700_000), route="ASSET", times=1)
    report = e.api("assets.download", op, tmp_path, include=["glb"])
    (asset,) = report.assets
    assert asset.status == "downloaded" and asset.resumed_from == 700_000
    ranges = [r.headers.get("range") for r in e.fake.requests if r.origin == "asset"]
    assert "bytes=700000-" in ranges
    assert asset.path.read_bytes() == e.fake.asset(asset.url).read()


def test_changed_file_under_if_range_restarts(env: Callable[..., Env], tmp_path: Path) -> None:
    e = env(asset_size=2_000_000)
    op = e.finished("models")
    e.fake.inject(Fault.truncate(500_000), route="ASSET", times=1)
    e.fake.inject(Fault.status(503), route="ASSET", times=100)  # then every retry fails
    with pytest.raises(DownloadError):
        e.api("assets.download", op, tmp_path, include=["glb"])
    assert list((tmp_path / op.resource_id).glob(".*.part"))  # the partial file is kept
    e.fake.clear_faults()
    e.fake.change_asset(op.assets.glb_url)  # the file changes between the two runs
    report = e.api("assets.download", op, tmp_path, include=["glb"])
    (asset,) = report.assets
    assert asset.status == "downloaded" and asset.resumed_from == 0
    assert asset.path.read_bytes() == e.fake.asset(asset.url).read()
    last = [r for r in e.fake.requests if r.origin == "asset" and r.method == "GET"][-1]
    assert last.headers.get("if-range") and last.status == 200  # If-Range sent, full answer


def test_expired_signed_urls_are_refreshed(env: Callable[..., Env], tmp_path: Path) -> None:
    e = env(signed_urls=True, url_ttl=60.0)
    op = e.finished()
    e.fake.advance(120)  # every URL in ``op`` has expired
    report = e.api("assets.download", op, tmp_path, include=["collider", "pano"])
    assert report.ok
    statuses = [r.status for r in e.fake.requests if r.origin == "asset"]
    assert 403 in statuses
    assert all("?" not in (a.url or "") for a in report.assets)  # no signature in the report


def test_cross_origin_redirect_carries_no_credentials(
    env: Callable[..., Env], tmp_path: Path
) -> None:
    e = env()
    op = e.finished()
    e.fake.inject(Fault.redirect(), route="ASSET", times=1)
    report = e.api("assets.download", op, tmp_path, include=["collider"])
    assert report.ok
    second = [r for r in e.fake.requests if r.origin == "redirect"]
    assert second and all("authorization" not in r.headers for r in second)


def test_html_error_page_is_never_saved(env: Callable[..., Env], tmp_path: Path) -> None:
    e = env()
    op = e.finished("models")
    e.fake.inject(Fault.html(200), route="ASSET", times=100)
    with pytest.raises(DownloadError) as info:
        e.api("assets.download", op, tmp_path, include=["glb"])
    (asset,) = info.value.report.assets
    assert isinstance(asset.error, AssetVerificationError)
    assert not (tmp_path / op.resource_id / "model.glb").exists()
    e.fake.clear_faults()
    e.fake.inject(Fault.html(200), route="ASSET", times=1)  # only the first file (glb) gets it
    partial = e.api("assets.download", op, tmp_path, include=["glb", "preview"],
                    allow_partial=True, max_concurrency=1)  # fmt: skip
    assert [a.status for a in partial.assets] == ["failed", "downloaded"]


@pytest.mark.skipif(not hasattr(os, "fdatasync"), reason="fdatasync is POSIX-only (not macOS)")
def test_large_download_starts_disk_writeback_while_it_streams(
    env: Callable[..., Env], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data is handed to the disk in the background every WRITEBACK_EVERY bytes, on a duplicate
    descriptor, so that the fsync before the rename has little left to wait for."""
    import mint_ext._downloads as dl

    synced: list[int] = []  # descriptors handed to fdatasync
    kicked: list[int] = []  # bytes in the part file at each kick
    real_sync, real_kick = os.fdatasync, dl.BackgroundWriteback.kick

    first_sync = threading.Event()

    def sync_spy(fd: int) -> None:
        synced.append(fd)
        real_sync(fd)
        first_sync.set()

    def kick_spy(self: Any) -> None:
        kicked.append(os.fstat(self._fd).st_size)
        real_kick(self)
        if len(kicked) == 1:  # let the helper run once, however busy the machine is
            first_sync.wait(10)

    monkeypatch.setattr(dl, "WRITEBACK_EVERY", 1 << 20)
    monkeypatch.setattr(os, "fdatasync", sync_spy)
    monkeypatch.setattr(dl.BackgroundWriteback, "kick", kick_spy)
    e = env(asset_sizes={"glb": 8 << 20})
    op = e.finished("models")
    report = e.api("assets.download", op, tmp_path, include=["glb"])
    (glb,) = report.assets
    assert glb.status == "downloaded" and glb.sha256 == _sha(glb.path)
    assert glb.path.read_bytes() == e.fake.asset(glb.url).read()
    # Kicked while streaming, about every MiB, never once the body is complete; background
    # syncs ran (kicks that arrive while one runs are merged: there may be fewer than kicks).
    assert len(kicked) >= 4 and all(0 < n < 8 << 20 for n in kicked), kicked
    assert kicked == sorted(kicked) and synced
    assert not any(t.name == "mint-writeback" for t in threading.enumerate())


@pytest.mark.skipif(not hasattr(os, "fdatasync"), reason="fdatasync is POSIX-only (not macOS)")
def test_no_background_writeback_is_started_once_the_body_is_complete(
    env: Callable[..., Env], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the threshold is crossed by the last chunk, the fsync before the rename does the
    work; a background sync then would only compete with it."""
    import mint_ext._downloads as dl

    kicked: list[int] = []
    monkeypatch.setattr(dl, "WRITEBACK_EVERY", 2 << 20)
    monkeypatch.setattr(dl.BackgroundWriteback, "kick", lambda self: kicked.append(1))
    e = env(asset_sizes={"glb": 2 << 20})
    op = e.finished("models")
    assert e.api("assets.download", op, tmp_path, include=["glb"]).ok
    assert kicked == []


def test_a_small_download_needs_no_background_writeback(
    env: Callable[..., Env], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(os, "fdatasync", calls.append, raising=False)
    e = env(asset_sizes={"glb": 256 << 10})
    op = e.finished("models")
    assert e.api("assets.download", op, tmp_path, include=["glb"]).ok
    assert calls == []


@pytest.mark.skipif(not hasattr(os, "fdatasync"), reason="fdatasync is POSIX-only (not macOS)")
def test_async_download_never_holds_the_event_loop_for_the_disk(
    contract: Contract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow disk (every fdatasync takes 1.5 s) must not stall other tasks on the loop."""
    import asyncio
    import time

    import mint_ext._downloads as dl
    from mint_ext import AsyncMint

    real = os.fdatasync

    def slow_disk(fd: int) -> None:
        time.sleep(1.5)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", slow_disk)
    monkeypatch.setattr(dl, "WRITEBACK_EVERY", 1 << 20)
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 3 << 20}, on_response=contract)

    async def main() -> tuple[bool, float]:
        with serve_fake_mint(fake) as server:
            async with AsyncMint(api_key=server.api_key, base_url=server.base_url) as mint:
                op = await mint.models.generate(prompt="x")
                fake.advance(3600)
                gaps: list[float] = []
                done = asyncio.Event()

                async def ticker() -> None:
                    last = time.perf_counter()
                    while not done.is_set():
                        await asyncio.sleep(0.01)
                        now = time.perf_counter()
                        gaps.append(now - last)
                        last = now

                tick = asyncio.create_task(ticker())
                report = await mint.assets.download(op.id, tmp_path, include=["glb"])
                done.set()
                await tick
                return report.ok, max(gaps)

    ok, stall = asyncio.run(main())
    assert ok
    assert stall < 1.0, f"the event loop stood still for {stall:.2f} s"


def _only_proxy(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """Exactly these proxy variables in the environment (no NO_PROXY, no others)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_asset_downloads_honour_proxy_environment_variables(
    env: Callable[..., Env], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx ignores HTTP(S)_PROXY for a client given its own transport; ours must not."""
    e = env()
    op = e.finished("models")  # the API client exists before the proxy is configured
    # The fake's servers answer as proxies too: a request that came through one carries the
    # absolute URL it asked for (a direct one does not).
    _only_proxy(monkeypatch, HTTP_PROXY=e.server.redirect_base_url)
    e.fake.clear_requests()
    e.fake.inject(Fault.status(502), route="ASSET", times=100)  # what the proxy answers
    report = e.api("assets.download", op, tmp_path, include=["glb"], allow_partial=True)
    seen = e.fake.asset_requests()
    assert seen and all(
        r.proxy_url is not None and r.proxy_url.startswith(f"{e.server.asset_base_url}/")
        for r in seen
    ), [(r.method, r.proxy_url) for r in seen]
    assert report.assets[0].status == "failed"  # the proxy answered 502 every time
    e.fake.clear_faults()
    assert e.api("assets.download", op, tmp_path, include=["glb"]).ok  # and through it, the file


def test_unusable_proxy_settings_are_a_configuration_error(
    env: Callable[..., Env], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mint_ext import ConfigurationError, Mint

    e = env()
    op = e.finished("models")
    _only_proxy(monkeypatch, HTTPS_PROXY="ftp://proxy.invalid:21")  # httpx: unknown proxy scheme
    with pytest.raises(ConfigurationError, match="proxy"):
        e.api("assets.download", op, tmp_path, include=["glb"])
    with pytest.raises(ConfigurationError, match="proxy"):
        Mint(api_key="k")


def test_a_client_that_ignores_the_environment_downloads_without_the_proxy(
    contract: Contract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from mint_ext import Mint

    fake = FakeMint(clock=FakeClock(), on_response=contract)
    with serve_fake_mint(fake) as server:
        _only_proxy(monkeypatch, HTTP_PROXY="http://127.0.0.1:9")  # nothing listens there
        own = httpx.Client(trust_env=False, follow_redirects=False)
        with Mint(api_key=server.api_key, base_url=server.base_url, http_client=own) as mint:
            op = mint.models.generate(prompt="x")
            fake.advance(3600)
            report = mint.assets.download(op.id, tmp_path, include=["glb"])
        own.close()
    assert report.ok  # straight to the asset origin, like the caller's own API client
