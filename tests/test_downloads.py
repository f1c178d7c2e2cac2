"""End-to-end tests of ``mint.assets.download``: one body for Mint and AsyncMint.

Against the bundled fake (``mint_ext.testing``), in-process: its asset origin has Range/If-Range,
ETags, signed URLs that expire and are signed afresh on every read, redirects and the CDN faults
(drop, truncate, HTML, statuses); its request log shows what the client sent. Only the
process-killed test needs sockets (the fake on loopback, a slow asset).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mint_ext import (
    AssetVerificationError,
    ConfigurationError,
    DownloadError,
    InvalidArgumentError,
    Operation,
)
from mint_ext._download_core import (
    DownloadProgress,
    DownloadReport,
    UnsafePathError,
    UnsafeRedirectError,
)
from mint_ext.testing import FakeClock, FakeMint, FakeTransport, Fault, serve_fake_mint

from ._fake_contract import Contract
from ._harness import Api, FakeTime

WORLD_FILES = [".mint-download.json", "caption.txt", "collider.glb", "pano.png", "preview.png",
               "splat_100k.spz", "splat_500k.spz", "splat_full_res.spz", "thumbnail.webp",
               "world.rad"]  # fmt: skip
MODEL_GLB = 3 * 1024 * 1024 + 17


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The fake's transport, remembering every URL asked for (also those of other hosts, which
    the fake refuses with ConnectError and does not log)."""

    def __init__(self, inner: FakeTransport) -> None:
        self.inner = inner
        self.urls: list[httpx.URL] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return await self.inner.handle_async_request(request)


class Cdn:
    """One FakeMint served in-process, and clients of it (sync or async, ``tests/_harness.Api``)
    whose sleeps move the fake's clock and are recorded."""

    def __init__(self, mode: str, contract: Contract, **fake_kw: Any) -> None:
        fake_kw.setdefault("asset_sizes", {"glb": MODEL_GLB})
        fake_kw.setdefault("asset_size", 6000)
        self.mode = mode
        self.clock = FakeClock()
        self.fake = FakeMint(clock=self.clock, on_response=contract, **fake_kw)
        self.transport = Recording(self.fake.transport())
        self.time = FakeTime(start=self.clock.now(), on_advance=self.clock.advance)
        self._apis: list[Api] = []

    def api(self, max_retries: int = 2) -> Api:
        api = Api(self.mode, transport=self.transport, base_url=self.fake.base_url,
                  api_key=self.fake.api_key, max_retries=max_retries, time=self.time)  # fmt: skip
        self._apis.append(api)
        return api

    def download(self, source: Any, out: Path, max_retries: int = 2, **kw: Any) -> DownloadReport:
        report: DownloadReport = self.api(max_retries)("assets.download", source, out, **kw)
        return report

    def finished(self, kind: str = "worlds") -> Operation:
        """A succeeded world (or model) operation, read back from the API."""
        api = self.api()
        op = api(f"{kind}.generate", prompt="A quiet greenhouse")
        self.fake.advance(3600)
        op = api("operations.get", op.id)
        assert op.is_succeeded and op.assets is not None
        self.fake.clear_requests()
        return op

    @property
    def sleeps(self) -> list[float]:
        return self.time.sleeps

    def api_reads(self) -> int:
        return sum(1 for r in self.fake.requests if r.origin == "api")

    def close(self) -> None:
        for api in self._apis:
            api.close()


@pytest.fixture
def cdn(mode: str, contract: Contract) -> Iterator[Callable[..., Cdn]]:
    made: list[Cdn] = []

    def make(**fake_kw: Any) -> Cdn:
        made.append(Cdn(mode, contract, **fake_kw))
        return made[-1]

    yield make
    for c in made:
        c.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listing(folder: Path) -> list[str]:
    """The folder's files, without the (empty, kept) per-file lock files."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def path_of(url: str | None) -> str:
    assert url is not None
    return "/" + url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]


def glb_url(op: Operation) -> str:
    assert op.assets is not None
    url = op.assets.glb_url  # type: ignore[union-attr]
    assert isinstance(url, str)
    return url


# ------------------------------------------------------------------------------------ tests


def test_world_download_layout_report_and_no_credentials(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn(signed_urls=True)
    op = c.finished()
    events: list[DownloadProgress] = []
    report = c.download(op.id, tmp_path, progress=events.append)
    folder = tmp_path / op.resource_id
    assert report.ok and report.directory == folder and report.resource_id == op.resource_id
    assert listing(folder) == WORLD_FILES
    assert (folder / "caption.txt").read_text("utf-8") == op.assets.caption  # type: ignore[union-attr]
    for a in report.assets:
        assert a.status == "downloaded" and a.error is None and a.resumed_from == 0
        assert a.sha256 == sha(a.path.read_bytes()) and a.bytes == a.path.stat().st_size
        assert a.url is None or "?" not in a.url  # signatures stripped
        if a.kind != "caption":
            assert a.path.read_bytes() == c.fake.asset(a.url or "").read()
    spz = report.by_kind("spz")[0]
    spz_path = path_of(op.assets.spz_urls["100k"])  # type: ignore[union-attr,index]
    assert spz.url == c.fake.asset_base_url + spz_path and spz.path == folder / "splat_100k.spz"
    assert {a.kind for a in report.assets} == {"spz", "rad", "collider", "pano", "preview",
                                                "thumbnail", "caption"}  # fmt: skip
    # credentials only ever go to the API
    assert c.fake.asset_requests() and c.api_reads()
    for r in c.fake.requests:
        if r.origin == "api":
            assert r.headers["authorization"] == f"Bearer {c.fake.api_key}"
        else:
            assert "authorization" not in r.headers and "cookie" not in r.headers
    # progress: per file and in total, ending at the full size
    assert events and events[-1].total_done == events[-1].total_bytes == report.total_bytes
    assert all(isinstance(e, DownloadProgress) for e in events)
    assert {e.path.name for e in events if e.done} >= {"world.rad", "caption.txt"}


def test_an_extensionless_url_is_named_from_its_content_type(
    cdn: Callable[..., Cdn], tmp_path: Path
):
    c = cdn()
    op = c.finished()
    url = c.fake.add_asset(f"/images/{op.resource_id}/preview", kind="jpg", size=300)
    data = op.to_dict()
    data["assets"]["previewImageUrl"] = url
    report = c.download(Operation.from_dict(data), tmp_path, include=["preview"])
    (preview,) = report.assets
    assert preview.path.name == "preview.jpg"  # image/jpeg decided the extension
    assert preview.path.read_bytes() == c.fake.asset(url).read()


def test_sync_and_async_produce_the_same_files(contract: Contract, tmp_path: Path):
    reports = []
    for mode in ("sync", "async"):
        c = Cdn(mode, contract)  # same seed: same ids, URLs and bytes
        try:
            reports.append(c.download(c.finished().id, tmp_path / mode))
        finally:
            c.close()
    a, b = reports
    strip = [(x.kind, x.slot, x.url, x.path.name, x.status, x.bytes, x.sha256) for x in a.assets]
    assert len(strip) == 9 and strip == [
        (x.kind, x.slot, x.url, x.path.name, x.status, x.bytes, x.sha256) for x in b.assets
    ]


def test_include_and_spz_resolution(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished()
    report = c.download(op, tmp_path, include=["spz", "caption"], spz_resolution="500k")
    assert [a.path.name for a in report.assets] == ["splat_500k.spz", "caption.txt"]
    spz_500k = path_of(op.assets.spz_urls["500k"])  # type: ignore[union-attr,index]
    assert [r.path for r in c.fake.asset_gets()] == [spz_500k]
    with pytest.raises(InvalidArgumentError, match="available: 100k, 500k, full_res"):
        c.download(op, tmp_path, spz_resolution="2m")
    with pytest.raises(InvalidArgumentError, match="known kinds"):
        c.download(op, tmp_path, include=["meshes"])


def test_model_download(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished("models")
    report = c.download(op, tmp_path)
    assert [a.path.name for a in report.assets] == ["model.glb", "preview.png", "thumbnail.webp"]
    body = (tmp_path / op.resource_id / "model.glb").read_bytes()
    assert len(body) == MODEL_GLB and body == c.fake.asset(glb_url(op)).read()


def test_truncated_body_fails_keeps_part_then_resumes(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished("models")
    url = glb_url(op)
    body, etag = c.fake.asset(url).read(), c.fake.asset(url).etag
    # A body that ends early where the framing cannot show it (no Content-Length): the SDK's own
    # size check (against the API's glbSizeBytes) must catch it. A short body under a
    # Content-Length is the transport's error (Fault.truncate, below).
    c.fake.inject(Fault.close_delimited(1_500_000), route="ASSET GET *")
    with pytest.raises(DownloadError) as info:
        c.download(op, tmp_path, max_retries=0, include=["glb"])
    report = info.value.report
    assert isinstance(report, DownloadReport) and [a.status for a in report.assets] == ["failed"]
    assert isinstance(report.assets[0].error, AssetVerificationError)
    assert "1500000 of" in str(report.assets[0].error)
    folder = tmp_path / op.resource_id
    assert not (folder / "model.glb").exists()
    assert (folder / ".glb.part").stat().st_size == 1_500_000
    assert (folder / ".glb.part.json").exists()
    # allow_partial returns the report instead of raising (this resume is cut before its body)
    c.fake.inject(Fault.truncate(0), route="ASSET GET *")
    again = c.download(op, tmp_path, max_retries=0, include=["glb"], allow_partial=True)
    assert not again.ok
    # once the server behaves, the next run continues where the part file ends
    c.fake.clear_faults()
    report = c.download(op, tmp_path, max_retries=0, include=["glb"])
    last = c.fake.asset_gets(url)[-1]
    assert last.headers["range"] == "bytes=1500000-" and last.headers["if-range"] == etag
    assert last.status == 206
    assert report.assets[0].resumed_from == 1_500_000
    assert (folder / "model.glb").read_bytes() == body and report.assets[0].sha256 == sha(body)
    assert listing(folder) == [".mint-download.json", "model.glb"]


def test_connection_drop_is_retried_from_the_bytes_on_disk(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished("models")
    url = glb_url(op)
    body = c.fake.asset(url).read()
    c.fake.inject(Fault.drop(after=2 * 65536), route="ASSET GET *")
    report = c.download(op, tmp_path, include=["glb"])
    gets = c.fake.asset_gets(url)
    assert len(gets) == 2 and "range" not in gets[0].headers
    assert gets[1].headers["range"] == f"bytes={2 * 65536}-"
    assert report.assets[0].resumed_from == 2 * 65536
    assert report.assets[0].sha256 == sha(body)
    assert (tmp_path / op.resource_id / "model.glb").read_bytes() == body
    assert len(c.sleeps) == 1


def test_changed_file_under_if_range_restarts_from_zero(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished("models")
    url = glb_url(op)
    old_etag = c.fake.asset(url).etag
    c.fake.inject(Fault.truncate(1_000_000), route="ASSET GET *")
    c.download(op, tmp_path, max_retries=0, include=["glb"], allow_partial=True)
    c.fake.change_asset(url, size=2 * 1024 * 1024)
    new = c.fake.asset(url).read()
    report = c.download(op.id, tmp_path, max_retries=0, include=["glb"])  # its new size
    last = c.fake.asset_gets(url)[-1]
    assert last.headers["if-range"] == old_etag and last.status == 200  # asked to resume
    assert report.assets[0].resumed_from == 0 and report.assets[0].bytes == len(new)
    assert (tmp_path / op.resource_id / "model.glb").read_bytes() == new


def test_expired_signed_url_rereads_the_source_once(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn(signed_urls=True, url_ttl=300)
    op = c.finished()
    c.fake.advance(301)  # every URL in `op` has expired
    report = c.download(op, tmp_path, include=["spz", "rad"])
    assert report.ok and len(report.assets) == 4
    assert 403 in [r.status for r in c.fake.asset_gets()]
    assert c.api_reads() == 1  # one re-read shared by all files
    # a URL still denied after the refresh fails, without more re-reads
    c2 = cdn(signed_urls=True)
    op2 = c2.finished()
    rad = path_of(op2.assets.rad_url)  # type: ignore[union-attr]
    c2.fake.inject(Fault.status(403), route=f"ASSET * {rad}", times=5)
    with pytest.raises(DownloadError) as info:
        c2.download(op2, tmp_path / "x", include=["rad"])
    assert c2.api_reads() == 1
    assert info.value.report.assets[0].error.status_code == 403


def test_redirects_followed_without_credentials_and_https_to_http_refused(
    cdn: Callable[..., Cdn], tmp_path: Path
):
    c = cdn(asset_base_url="https://cdn.mint.fake", redirect_base_url="https://other.mint.fake")
    op = c.finished()
    thumb = path_of(op.assets.thumbnail_url)  # type: ignore[union-attr]
    pano = path_of(op.assets.pano_url)  # type: ignore[union-attr]
    # the thumbnail: to another https origin, then a relative redirect there
    c.fake.inject(Fault.redirect(), route=f"ASSET GET {thumb}")
    c.fake.inject(Fault.redirect(location=f"{thumb}?via=other"), route=f"ASSET GET {thumb}")
    # the panorama: a downgrade to plain http
    c.fake.inject(Fault.redirect("http://plain.test"), route=f"ASSET GET {pano}")
    report = c.download(op, tmp_path, include=["thumbnail", "pano"], allow_partial=True)
    t, p = report.by_kind("thumbnail")[0], report.by_kind("pano")[0]
    assert t.status == "downloaded"
    assert t.path.read_bytes() == c.fake.asset(thumb).read()
    hops = [r for r in c.fake.requests if r.origin == "redirect"]
    assert [(r.path, r.query) for r in hops] == [(thumb, ""), (thumb, "via=other")]
    assert all("authorization" not in r.headers for r in hops)
    assert p.status == "failed" and isinstance(p.error, UnsafeRedirectError)
    assert not any(u.host == "plain.test" for u in c.transport.urls)
    assert any(u.host == "other.mint.fake" for u in c.transport.urls)
    assert not (tmp_path / op.resource_id / "pano.png").exists()


@pytest.mark.parametrize(
    "fault",
    [Fault.html(200), Fault.html(200, content_type="application/octet-stream")],
    ids=["html-page", "html-as-octets"],
)
def test_html_instead_of_glb_is_never_saved(cdn: Callable[..., Cdn], tmp_path: Path, fault: Fault):
    c = cdn()
    op = c.finished("models")
    url = glb_url(op)
    c.fake.inject(fault, route=f"ASSET * {path_of(url)}", times=5)
    report = c.download(op, tmp_path, allow_partial=True)
    glb_ = report.by_kind("glb")[0]
    assert glb_.status == "failed" and isinstance(glb_.error, AssetVerificationError)
    assert report.by_kind("thumbnail")[0].status == "downloaded"
    assert listing(tmp_path / op.resource_id) == [".mint-download.json", "preview.png",
                                                  "thumbnail.webp"]  # fmt: skip
    assert len(c.fake.asset_gets(url)) == 1  # not retried


def test_wrong_signature_is_rejected(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished("models")
    c.fake.change_asset(glb_url(op), data=b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    # by id: the API states the new size, so only the signature is wrong
    report = c.download(op.id, tmp_path, include=["glb"], allow_partial=True)
    assert isinstance(report.assets[0].error, AssetVerificationError)
    assert "glTF" in str(report.assets[0].error)
    assert listing(tmp_path / op.resource_id) == []


def test_transient_statuses_are_retried_with_retry_after(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished("models")
    thumb = path_of(op.assets.thumbnail_url)  # type: ignore[union-attr]
    c.fake.inject(Fault.status(429, retry_after="3"), route=f"ASSET * {thumb}")
    c.fake.inject(Fault.status(503), route=f"ASSET * {thumb}")
    report = c.download(op, tmp_path, include=["thumbnail"])
    assert report.ok and len(c.fake.asset_gets()) == 3
    assert [r.status for r in c.fake.asset_gets()] == [429, 503, 200]
    assert c.sleeps[0] == 3.0 and len(c.sleeps) == 2
    c.fake.inject(Fault.status(500), route=f"ASSET * {thumb}", times=3)
    with pytest.raises(DownloadError):
        c.download(op, tmp_path / "y", include=["thumbnail"])


def test_rerun_skips_with_head_only_and_overwrite_refetches(
    cdn: Callable[..., Cdn], tmp_path: Path
):
    c = cdn(signed_urls=True)
    op = c.finished()
    first = c.download(op.id, tmp_path)
    n_gets = len(c.fake.asset_gets())
    c.fake.advance(1)  # the next read signs every URL afresh
    second = c.download(op.id, tmp_path)
    assert [r.query for r in c.fake.asset_requests()[n_gets:]] != [
        r.query for r in c.fake.asset_requests()[:n_gets]
    ]  # newly signed URLs, same files
    assert len(c.fake.asset_gets()) == n_gets  # no body fetched again
    assert [a.status for a in second.assets] == ["skipped"] * len(first.assets)
    assert [a.sha256 for a in second.assets] == [a.sha256 for a in first.assets]
    # a changed file (new ETag) is fetched again, the others are not
    rad = path_of(op.assets.rad_url)  # type: ignore[union-attr]
    c.fake.change_asset(rad, size=5000)
    third = c.download(op.id, tmp_path)
    assert [r.path for r in c.fake.asset_gets()[n_gets:]] == [rad]
    assert third.by_kind("rad")[0].status == "downloaded"
    assert (tmp_path / op.resource_id / "world.rad").read_bytes() == c.fake.asset(rad).read()
    # overwrite=True fetches everything
    before = len(c.fake.asset_gets())
    fourth = c.download(op.id, tmp_path, overwrite=True)
    assert len(c.fake.asset_gets()) - before == 8
    assert all(a.status == "downloaded" for a in fourth.assets)


def test_hostile_names_stay_confined(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished()
    data = op.to_dict()
    spz = data["assets"]["spzUrls"]
    data["resource"]["id"] = "../../evil\x00/" + "x" * 300
    data["assets"]["spzUrls"] = {"../../etc": spz["100k"], "/abs": spz["500k"], "CON": spz["100k"]}
    out = tmp_path / "out"
    report = c.download(Operation.from_dict(data), out, include=["spz"])
    assert report.ok
    for a in report.assets:
        assert a.path.resolve().parent.parent == out.resolve()
        assert len(a.path.parent.name) <= 100
    assert {p.name for p in tmp_path.iterdir()} == {"out"}
    assert {a.path.name for a in report.assets} == {
        "splat_etc.spz",
        "splat_abs.spz",
        "splat__CON.spz",
    }


def test_symlinks_are_refused(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / op.resource_id).symlink_to(elsewhere)
    with pytest.raises(UnsafePathError):
        c.download(op, out, include=["rad"])
    (out / op.resource_id).unlink()
    (out / op.resource_id).mkdir()
    target = elsewhere / "victim"
    target.write_text("keep")
    (out / op.resource_id / "world.rad").symlink_to(target)
    (out / op.resource_id / ".collider.part").symlink_to(elsewhere / "victim2")
    report = c.download(op, out, include=["rad", "collider"], allow_partial=True)
    assert [a.status for a in report.assets] == ["failed", "failed"]
    assert all(isinstance(a.error, UnsafePathError) for a in report.assets)
    assert target.read_text() == "keep" and not (elsewhere / "victim2").exists()


def test_progress_bar_and_missing_rich(cdn: Callable[..., Cdn], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]):  # fmt: skip
    c = cdn()
    op = c.finished("models")
    report = c.download(op, tmp_path, include=["thumbnail"], progress="bar")
    assert report.ok
    assert "thumbnail.webp" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    with pytest.raises(ConfigurationError, match="rich"):
        c.download(op, tmp_path / "z", progress=True)


def test_bad_sources_and_arguments(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    running = c.api()("worlds.generate", prompt="not yet")  # queued: no assets
    assert running.assets is None
    with pytest.raises(InvalidArgumentError, match="no assets yet"):
        c.download(running, tmp_path)
    with pytest.raises(InvalidArgumentError, match="no assets yet"):
        c.download(running.id, tmp_path)  # read from the API: still none
    with pytest.raises(InvalidArgumentError):
        c.download(42, tmp_path)
    with pytest.raises(InvalidArgumentError, match="max_concurrency"):
        c.download(running.id, tmp_path, max_concurrency=0)


@pytest.mark.parametrize("limit", [1, 2])
def test_max_concurrency_bounds_open_downloads(cdn: Callable[..., Cdn], tmp_path: Path, limit: int):
    c = cdn()
    op = c.finished()
    c.fake.reset_peak()
    report = c.download(op.id, tmp_path, max_concurrency=limit)
    # In-process, an asset request is open until its body is closed.
    assert report.ok and c.fake.stats()["inFlight"]["assets"] == 0
    assert 1 <= c.fake.peak_asset_concurrency <= limit


def test_no_temp_files_left_after_success(cdn: Callable[..., Cdn], tmp_path: Path):
    c = cdn()
    op = c.finished()
    c.download(op.id, tmp_path, max_concurrency=1)
    leftovers = [
        n for n in os.listdir(tmp_path / op.resource_id) if n.endswith((".part", ".json", ".tmp"))
    ]
    assert leftovers == [".mint-download.json"]


# ------------------------------------------------------- a real process, killed mid-download


def test_process_killed_mid_download_resumes_on_restart(contract: Contract, tmp_path: Path):
    size = 12 * 1024 * 1024 + 5
    # 16 MiB/s: the server sleeps after each 1 MiB chunk, so the kill lands mid-file.
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": size}, asset_rate=16 << 20,
                    signed_urls=True, on_response=contract)  # fmt: skip
    model_id = fake.seed_models(1)[0]
    (op_id,) = fake.operation_ids()
    glb = f"/glb/{model_id}.glb"
    script = (
        "import sys\nfrom mint_ext import Mint\n"
        "with Mint(api_key=sys.argv[3], base_url=sys.argv[1]) as mint:\n"
        "    print(mint.assets.download(sys.argv[4], sys.argv[2], include=['glb']).summary())\n"
    )
    part = tmp_path / model_id / ".glb.part"
    with serve_fake_mint(fake) as server:
        argv = [sys.executable, "-c", script, server.base_url, str(tmp_path), server.api_key, op_id]
        proc = subprocess.Popen(argv)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if part.exists() and part.stat().st_size >= 1024 * 1024:
                    break
                assert proc.poll() is None, "the download finished before it could be killed"
                time.sleep(0.005)
            proc.kill()  # SIGKILL: no cleanup code runs
        finally:
            proc.wait(10)
        kept = part.stat().st_size
        assert 0 < kept < size
        assert not (tmp_path / model_id / "model.glb").exists()

        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        ranges = [r.headers.get("range") for r in fake.asset_gets(glb)]
        assert ranges[0] is None
        assert ranges[-1] == f"bytes={kept}-"  # continued exactly where the kill left it
        assert fake.asset_gets(glb)[-1].status == 206
        assert (tmp_path / model_id / "model.glb").read_bytes() == fake.asset(glb).read()
        assert not part.exists()


@pytest.mark.skipif(not hasattr(os, "fdatasync"), reason="fdatasync is POSIX-only (not macOS)")
def test_background_writeback_merges_kicks_and_outlives_the_writer_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mint_ext._downloads import BackgroundWriteback

    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_sync(fd: int) -> None:
        calls.append(os.fstat(fd).st_size)
        started.set()
        release.wait(5)

    monkeypatch.setattr(os, "fdatasync", slow_sync)
    fd = os.open(tmp_path / "f.part", os.O_WRONLY | os.O_CREAT, 0o644)
    writeback = BackgroundWriteback(fd)
    os.write(fd, b"x" * 10)
    writeback.kick()
    assert started.wait(5)
    for _ in range(3):  # kicks during a running sync merge into one more sync
        writeback.kick()
    os.write(fd, b"y" * 5)
    os.close(fd)  # the writer may close first: the helper syncs its own duplicate
    release.set()
    for _ in range(500):
        if len(calls) == 2:
            break
        time.sleep(0.01)
    writeback.join()
    assert calls == [10, 15]  # exactly one follow-up sync, of everything written


@pytest.mark.skipif(not hasattr(os, "fdatasync"), reason="fdatasync is POSIX-only (not macOS)")
def test_background_writeback_stop_never_waits_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stop() runs on the event loop and on Ctrl-C: it must not wait for a slow fdatasync."""
    from mint_ext._downloads import BackgroundWriteback

    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def stuck_sync(fd: int) -> None:
        calls.append(fd)
        started.set()
        release.wait(10)

    monkeypatch.setattr(os, "fdatasync", stuck_sync)
    fd = os.open(tmp_path / "f.part", os.O_WRONLY | os.O_CREAT, 0o644)
    writeback = BackgroundWriteback(fd)
    writeback.kick()
    assert started.wait(5)
    writeback.kick()  # asked for, not started: dropped by stop()
    writeback.stop()  # returns although the disk is still "busy"
    assert not release.is_set() and writeback._thread.is_alive()
    os.close(fd)
    release.set()
    writeback.join()
    assert len(calls) == 1 and not writeback._thread.is_alive()


def test_background_writeback_closes_its_duplicate_if_no_thread_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mint_ext._downloads import BackgroundWriteback

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    fd = os.open(tmp_path / "f.part", os.O_WRONLY | os.O_CREAT, 0o644)
    duplicates: list[int] = []
    real_dup = os.dup
    monkeypatch.setattr(os, "dup", lambda f: duplicates.append(real_dup(f)) or duplicates[-1])
    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(RuntimeError):
        BackgroundWriteback(fd)
    monkeypatch.undo()
    os.close(fd)
    with pytest.raises(OSError):
        os.fstat(duplicates[0])
