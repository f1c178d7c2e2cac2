"""End-to-end tests of ``mint.assets.download``: one body for Mint and AsyncMint.

An in-process asset/API server (``httpx.MockTransport``) with Range/If-Range, ETags, signed
URLs that expire, redirects and injectable faults (drop, truncate, HTML, status).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mint_ext import (
    AssetVerificationError,
    AsyncMint,
    ConfigurationError,
    DownloadError,
    InvalidArgumentError,
    Mint,
    Operation,
)
from mint_ext._download_core import (
    DownloadProgress,
    DownloadReport,
    UnsafePathError,
    UnsafeRedirectError,
)

CDN = "https://cdn.test"
API = "https://api.test"


def glb(size: int, seed: int = 0) -> bytes:
    body = bytes((i * 7 + seed) % 251 for i in range(size - 12))
    return b"glTF\x02\x00\x00\x00" + size.to_bytes(4, "little") + body


ASSETS: dict[str, tuple[bytes, str]] = {
    "/w/s100k.spz": (b"\x1f\x8b\x08\x00" + b"s" * 3000, "application/octet-stream"),
    "/w/s500k.spz": (b"\x1f\x8b\x08\x00" + b"S" * 5000, "application/octet-stream"),
    "/rad/w-lod.rad": (b"RAD1" + b"r" * 2000, "application/octet-stream"),
    "/worlds/w-collider.glb": (glb(4000), "model/gltf-binary"),
    "/images/w/pano.png": (b"\x89PNG\r\n\x1a\n" + b"p" * 500, "image/png"),
    "/images/w/preview": (b"\xff\xd8\xff\xe0" + b"j" * 300, "image/jpeg"),
    "/w/thumb.webp": (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"w" * 100, "image/webp"),
    "/m/model.glb": (glb(3 * 1024 * 1024 + 17), "model/gltf-binary"),
}


class DropStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields ``body`` in small pieces, then fails with ReadError if ``drop`` is set."""

    open_now = 0
    open_max = 0

    def __init__(self, body: bytes, drop: bool) -> None:
        self.body, self.drop = body, drop
        DropStream.open_now += 1
        DropStream.open_max = max(DropStream.open_max, DropStream.open_now)

    def close(self) -> None:
        DropStream.open_now -= 1

    async def aclose(self) -> None:
        self.close()

    def _pieces(self) -> list[bytes]:
        return [self.body[i : i + 65536] for i in range(0, len(self.body), 65536)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces()
        if self.drop:
            raise httpx.ReadError("connection dropped")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces():
            yield piece
        if self.drop:
            raise httpx.ReadError("connection dropped")


class Server:
    """The API (operation/world/model) and the CDN in one handler, with a request log."""

    def __init__(self, kind: str = "world", signed: bool = False) -> None:
        self.files = {path: [body, ctype, f'"{path}-1"'] for path, (body, ctype) in ASSETS.items()}
        self.kind = kind
        self.signed = signed
        self.sig = 1
        self.requests: list[httpx.Request] = []
        self.faults: dict[str, list[Callable[[httpx.Request], httpx.Response | None]]] = {}
        self.redirects: dict[str, str] = {}
        self.resource_id = "world_1" if kind == "world" else "model_1"
        self.spz_keys = {"100k": "/w/s100k.spz", "500k": "/w/s500k.spz"}

    # -- knobs
    def inject(
        self, path: str, fault: Callable[[httpx.Request], httpx.Response | None], times: int = 1
    ) -> None:
        self.faults.setdefault(path, []).extend([fault] * times)

    def change(self, path: str, body: bytes) -> None:
        self.files[path][0] = body
        self.files[path][2] = f'"{path}-{hashlib.sha256(body).hexdigest()[:8]}"'

    def asset_gets(self, path: str | None = None) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.host != "api.test" and r.method == "GET"
                and (path is None or r.url.path == path)]  # fmt: skip

    def api_reads(self) -> int:
        return sum(1 for r in self.requests if r.url.host == "api.test")

    # -- JSON
    def url(self, path: str) -> str:
        return f"{CDN}{path}?sig={self.sig}" if self.signed else f"{CDN}{path}"

    def assets_json(self) -> dict[str, Any]:
        if self.kind == "world":
            return {
                "spzUrls": {k: self.url(p) for k, p in self.spz_keys.items()},
                "radUrl": self.url("/rad/w-lod.rad"),
                "colliderMeshUrl": self.url("/worlds/w-collider.glb"),
                "panoUrl": self.url("/images/w/pano.png"),
                "previewImageUrl": self.url("/images/w/preview"),
                "thumbnailUrl": self.url("/w/thumb.webp"),
                "caption": "A quiet greenhouse\nwith ferns",
            }
        return {"glbUrl": self.url("/m/model.glb"), "thumbnailUrl": self.url("/w/thumb.webp")}

    def operation_json(self) -> dict[str, Any]:
        return {
            "object": "operation", "id": "op_1", "status": "succeeded",
            "type": f"{self.kind}_generation", "generationMode": "auto", "prompt": "p",
            "generationPreset": "fast", "generationModel": None, "mintUrl": None,
            "resource": {"type": self.kind, "id": self.resource_id},
            "assets": self.assets_json(),
            "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
        }  # fmt: skip

    def operation(self) -> Operation:
        return Operation.from_dict(self.operation_json())

    # -- the handler
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "api.test":
            if request.url.path == "/v1/operations/op_1":
                self.sig += 1  # every read signs the URLs afresh
                return httpx.Response(200, json=self.operation_json())
            return httpx.Response(404, json={"title": "not found"})
        path = request.url.path
        if path in self.redirects:
            return httpx.Response(302, headers={"location": self.redirects[path]})
        faults = self.faults.get(path)
        if faults:
            answer = faults.pop(0)(request)
            if answer is not None:
                return answer
        if self.signed and request.url.params.get("sig") != str(self.sig):
            return httpx.Response(
                403, text="<Error>expired</Error>", headers={"content-type": "application/xml"}
            )
        if path not in self.files:
            return httpx.Response(404)
        body, ctype, etag = self.files[path]
        headers = {"content-type": ctype, "etag": etag, "accept-ranges": "bytes"}
        if request.method == "HEAD":
            return httpx.Response(200, headers={**headers, "content-length": str(len(body))})
        rng = request.headers.get("range")
        if rng and request.headers.get("if-range", etag) == etag:
            start = int(rng.removeprefix("bytes=").rstrip("-"))
            part = body[start:]
            headers["content-range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            return httpx.Response(206, headers={**headers, "content-length": str(len(part))},
                                  stream=DropStream(part, False))  # fmt: skip
        return httpx.Response(200, headers={**headers, "content-length": str(len(body))},
                              stream=DropStream(body, False))  # fmt: skip

    # -- faults
    def drop_after(self, n: int) -> Callable[[httpx.Request], httpx.Response]:
        def fault(request: httpx.Request) -> httpx.Response:
            body, ctype, etag = self.files[request.url.path]
            headers = {"content-type": ctype, "etag": etag, "content-length": str(len(body))}
            return httpx.Response(200, headers=headers, stream=DropStream(body[:n], True))

        return fault

    def truncate(self, n: int) -> Callable[[httpx.Request], httpx.Response]:
        def fault(request: httpx.Request) -> httpx.Response:
            body, ctype, etag = self.files[request.url.path]
            headers = {"content-type": ctype, "etag": etag, "content-length": str(len(body))}
            return httpx.Response(200, headers=headers, stream=DropStream(body[:n], False))

        return fault


def html_page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, text="<!doctype html><title>502</title>", headers={"content-type": "text/html"}
    )


def html_as_octets(request: httpx.Request) -> httpx.Response:
    body = b"<!DOCTYPE html><html><body>Bad gateway</body></html>"
    return httpx.Response(200, content=body, headers={"content-type": "application/octet-stream"})


def status(code: int, retry_after: str | None = None) -> Callable[[httpx.Request], httpx.Response]:
    def fault(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, headers={"retry-after": retry_after} if retry_after else {})

    return fault


class Runner:
    def __init__(self, mode: str, server: Server, max_retries: int = 2) -> None:
        self.mode, self.server, self.max_retries = mode, server, max_retries
        self.sleeps: list[float] = []

    def __call__(self, source: Any, out: Path, **kw: Any) -> DownloadReport:
        transport = httpx.MockTransport(self.server)
        if self.mode == "sync":
            with Mint(api_key="secret-key", base_url=API, transport=transport,
                      max_retries=self.max_retries, sleep=self.sleeps.append) as mint:  # fmt: skip
                return mint.assets.download(source, out, **kw)

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        async def main() -> DownloadReport:
            async with AsyncMint(api_key="secret-key", base_url=API, transport=transport,
                                 max_retries=self.max_retries, sleep=sleep) as mint:  # fmt: skip
                return await mint.assets.download(source, out, **kw)

        return asyncio.run(main())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listing(folder: Path) -> list[str]:
    """The folder's files, without the (empty, kept) per-file lock files."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


# ------------------------------------------------------------------------------------ tests


def test_world_download_layout_report_and_no_credentials(mode: str, tmp_path: Path):
    server = Server("world", signed=True)
    events: list[DownloadProgress] = []
    report = Runner(mode, server)("op_1", tmp_path, progress=events.append)
    folder = tmp_path / "world_1"
    assert report.ok and report.directory == folder and report.resource_id == "world_1"
    assert listing(folder) == [
        ".mint-download.json", "caption.txt", "collider.glb", "pano.png", "preview.jpg",
        "splat_100k.spz", "splat_500k.spz", "thumbnail.webp", "world.rad",
    ]  # fmt: skip
    assert (folder / "caption.txt").read_text("utf-8") == "A quiet greenhouse\nwith ferns"
    for a in report.assets:
        assert a.status == "downloaded" and a.error is None and a.resumed_from == 0
        assert a.sha256 == sha(a.path.read_bytes()) and a.bytes == a.path.stat().st_size
        assert a.url is None or "?" not in a.url  # signatures stripped
    spz = report.by_kind("spz")[0]
    assert spz.url == f"{CDN}/w/s100k.spz" and spz.path == folder / "splat_100k.spz"
    assert {a.kind for a in report.assets} == {"spz", "rad", "collider", "pano", "preview",
                                                "thumbnail", "caption"}  # fmt: skip
    # credentials only ever go to the API
    for r in server.requests:
        if r.url.host == "api.test":
            assert r.headers["authorization"] == "Bearer secret-key"
        else:
            assert "authorization" not in r.headers and "cookie" not in r.headers
    # progress: per file and in total, ending at the full size
    assert events and events[-1].total_done == events[-1].total_bytes == report.total_bytes
    assert all(isinstance(e, DownloadProgress) for e in events)
    assert {e.path.name for e in events if e.done} >= {"world.rad", "caption.txt"}


def test_sync_and_async_produce_the_same_files(tmp_path: Path):
    a = Runner("sync", Server("world"))("op_1", tmp_path / "a")
    b = Runner("async", Server("world"))("op_1", tmp_path / "b")
    strip = [(x.kind, x.slot, x.url, x.path.name, x.status, x.bytes, x.sha256) for x in a.assets]
    assert strip == [
        (x.kind, x.slot, x.url, x.path.name, x.status, x.bytes, x.sha256) for x in b.assets
    ]


def test_include_and_spz_resolution(mode: str, tmp_path: Path):
    server = Server("world")
    report = Runner(mode, server)(server.operation(), tmp_path, include=["spz", "caption"],
                                  spz_resolution="500k")  # fmt: skip
    assert [a.path.name for a in report.assets] == ["splat_500k.spz", "caption.txt"]
    assert [r.url.path for r in server.asset_gets()] == ["/w/s500k.spz"]
    with pytest.raises(InvalidArgumentError, match="available: 100k, 500k"):
        Runner(mode, server)(server.operation(), tmp_path, spz_resolution="2m")
    with pytest.raises(InvalidArgumentError, match="known kinds"):
        Runner(mode, server)(server.operation(), tmp_path, include=["meshes"])


def test_model_download(mode: str, tmp_path: Path):
    server = Server("model")
    report = Runner(mode, server)(server.operation(), tmp_path)
    assert [a.path.name for a in report.assets] == ["model.glb", "thumbnail.webp"]
    assert (tmp_path / "model_1" / "model.glb").read_bytes() == ASSETS["/m/model.glb"][0]


def test_truncated_body_fails_keeps_part_then_resumes(mode: str, tmp_path: Path):
    server = Server("model")
    body = ASSETS["/m/model.glb"][0]
    server.inject("/m/model.glb", server.truncate(1_500_000), times=10)
    run = Runner(mode, server, max_retries=0)
    with pytest.raises(DownloadError) as info:
        run(server.operation(), tmp_path, include=["glb"])
    report = info.value.report
    assert isinstance(report, DownloadReport) and [a.status for a in report.assets] == ["failed"]
    assert isinstance(report.assets[0].error, AssetVerificationError)
    assert "1500000 of" in str(report.assets[0].error)
    folder = tmp_path / "model_1"
    assert not (folder / "model.glb").exists()
    assert (folder / ".glb.part").stat().st_size == 1_500_000
    assert (folder / ".glb.part.json").exists()
    # allow_partial returns the report instead of raising
    again = run(server.operation(), tmp_path, include=["glb"], allow_partial=True)
    assert not again.ok
    # once the server behaves, the next run continues where the part file ends
    server.faults.clear()
    report = run(server.operation(), tmp_path, include=["glb"])
    last = server.asset_gets()[-1]
    assert (
        last.headers["range"] == "bytes=1500000-" and last.headers["if-range"] == '"/m/model.glb-1"'
    )
    assert report.assets[0].resumed_from == 1_500_000
    assert (folder / "model.glb").read_bytes() == body and report.assets[0].sha256 == sha(body)
    assert listing(folder) == [".mint-download.json", "model.glb"]


def test_connection_drop_is_retried_from_the_bytes_on_disk(mode: str, tmp_path: Path):
    server = Server("model")
    body = ASSETS["/m/model.glb"][0]
    server.inject("/m/model.glb", server.drop_after(2 * 65536))
    run = Runner(mode, server)
    report = run(server.operation(), tmp_path, include=["glb"])
    gets = server.asset_gets("/m/model.glb")
    assert len(gets) == 2 and "range" not in gets[0].headers
    assert gets[1].headers["range"] == f"bytes={2 * 65536}-"
    assert report.assets[0].resumed_from == 2 * 65536
    assert report.assets[0].sha256 == sha(body)
    assert (tmp_path / "model_1" / "model.glb").read_bytes() == body
    assert len(run.sleeps) == 1


def test_changed_file_under_if_range_restarts_from_zero(mode: str, tmp_path: Path):
    server = Server("model")
    server.inject("/m/model.glb", server.truncate(1_000_000))
    run = Runner(mode, server, max_retries=0)
    run(server.operation(), tmp_path, include=["glb"], allow_partial=True)
    new = glb(2 * 1024 * 1024, seed=3)
    server.change("/m/model.glb", new)
    report = run(server.operation(), tmp_path, include=["glb"])
    last = server.asset_gets()[-1]
    assert last.headers["if-range"] == '"/m/model.glb-1"'  # asked to resume, got a 200
    assert report.assets[0].resumed_from == 0 and report.assets[0].bytes == len(new)
    assert (tmp_path / "model_1" / "model.glb").read_bytes() == new


def test_expired_signed_url_rereads_the_source_once(mode: str, tmp_path: Path):
    server = Server("world", signed=True)
    op = server.operation()  # sig=1
    server.sig = 5  # every URL in `op` has expired
    report = Runner(mode, server)(op, tmp_path, include=["spz", "rad"])
    assert report.ok and len(report.assets) == 3
    assert server.api_reads() == 1  # one re-read shared by all files
    # a URL still denied after the refresh fails, without more re-reads
    server2 = Server("world", signed=True)
    server2.inject("/rad/w-lod.rad", status(403), times=5)
    with pytest.raises(DownloadError) as info:
        Runner(mode, server2)(server2.operation(), tmp_path / "x", include=["rad"])
    assert server2.api_reads() == 1
    assert info.value.report.assets[0].error.status_code == 403


def test_redirects_followed_without_credentials_and_https_to_http_refused(
    mode: str, tmp_path: Path
):
    server = Server("world")
    server.redirects["/w/thumb.webp"] = "https://other.test/elsewhere/thumb.webp"
    server.redirects["/elsewhere/thumb.webp"] = "/final/thumb.webp?via=other"  # relative
    server.files["/final/thumb.webp"] = server.files["/w/thumb.webp"]
    server.redirects["/images/w/pano.png"] = "http://plain.test/pano.png"
    report = Runner(mode, server)(server.operation(), tmp_path, include=["thumbnail", "pano"],
                                  allow_partial=True)  # fmt: skip
    thumb, pano = report.by_kind("thumbnail")[0], report.by_kind("pano")[0]
    assert thumb.status == "downloaded"
    hops = [r for r in server.requests if r.url.host == "other.test"]
    assert [r.url.path for r in hops] == ["/elsewhere/thumb.webp", "/final/thumb.webp"]
    assert hops and all("authorization" not in r.headers for r in hops)
    assert pano.status == "failed" and isinstance(pano.error, UnsafeRedirectError)
    assert not any(r.url.host == "plain.test" for r in server.requests)
    assert not (tmp_path / "world_1" / "pano.png").exists()


@pytest.mark.parametrize("fault", [html_page, html_as_octets])
def test_html_instead_of_glb_is_never_saved(mode: str, tmp_path: Path, fault: Any):
    server = Server("model")
    server.inject("/m/model.glb", fault, times=5)
    report = Runner(mode, server)(server.operation(), tmp_path, allow_partial=True)
    glb_ = report.by_kind("glb")[0]
    assert glb_.status == "failed" and isinstance(glb_.error, AssetVerificationError)
    assert report.by_kind("thumbnail")[0].status == "downloaded"
    assert listing(tmp_path / "model_1") == [".mint-download.json", "thumbnail.webp"]
    assert len(server.asset_gets("/m/model.glb")) == 1  # not retried


def test_wrong_signature_is_rejected(mode: str, tmp_path: Path):
    server = Server("model")
    server.change("/m/model.glb", b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    report = Runner(mode, server)(server.operation(), tmp_path, include=["glb"], allow_partial=True)
    assert isinstance(report.assets[0].error, AssetVerificationError)
    assert "glTF" in str(report.assets[0].error)
    assert listing(tmp_path / "model_1") == []


def test_transient_statuses_are_retried_with_retry_after(mode: str, tmp_path: Path):
    server = Server("model")
    server.inject("/w/thumb.webp", status(429, "3"))
    server.inject("/w/thumb.webp", status(503))
    run = Runner(mode, server)
    report = run(server.operation(), tmp_path, include=["thumbnail"])
    assert report.ok and len(server.asset_gets()) == 3
    assert run.sleeps[0] == 3.0 and len(run.sleeps) == 2
    server.inject("/w/thumb.webp", status(500), times=3)
    with pytest.raises(DownloadError):
        run(server.operation(), tmp_path / "y", include=["thumbnail"])


def test_rerun_skips_with_head_only_and_overwrite_refetches(mode: str, tmp_path: Path):
    server = Server("world", signed=True)
    run = Runner(mode, server)
    first = run("op_1", tmp_path)
    n_gets = len(server.asset_gets())
    second = run("op_1", tmp_path)  # newly signed URLs, same files
    assert len(server.asset_gets()) == n_gets  # no body fetched again
    assert [a.status for a in second.assets] == ["skipped"] * len(first.assets)
    assert [a.sha256 for a in second.assets] == [a.sha256 for a in first.assets]
    # a changed file (new ETag) is fetched again, the others are not
    server.change("/rad/w-lod.rad", b"RAD2" + b"z" * 10)
    third = run("op_1", tmp_path)
    assert [r.url.path for r in server.asset_gets()[n_gets:]] == ["/rad/w-lod.rad"]
    assert third.by_kind("rad")[0].status == "downloaded"
    assert (tmp_path / "world_1" / "world.rad").read_bytes() == b"RAD2" + b"z" * 10
    # overwrite=True fetches everything
    before = len(server.asset_gets())
    fourth = run("op_1", tmp_path, overwrite=True)
    assert len(server.asset_gets()) - before == 7
    assert all(a.status == "downloaded" for a in fourth.assets)


def test_hostile_names_stay_confined(mode: str, tmp_path: Path):
    server = Server("world")
    server.resource_id = "../../evil\x00/" + "x" * 300
    server.spz_keys = {"../../etc": "/w/s100k.spz", "/abs": "/w/s500k.spz", "CON": "/w/s100k.spz"}
    out = tmp_path / "out"
    report = Runner(mode, server)(server.operation(), out, include=["spz"])
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


def test_symlinks_are_refused(mode: str, tmp_path: Path):
    server = Server("world")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "world_1").symlink_to(elsewhere)
    with pytest.raises(UnsafePathError):
        Runner(mode, server)(server.operation(), out, include=["rad"])
    (out / "world_1").unlink()
    (out / "world_1").mkdir()
    target = elsewhere / "victim"
    target.write_text("keep")
    (out / "world_1" / "world.rad").symlink_to(target)
    (out / "world_1" / ".collider.part").symlink_to(elsewhere / "victim2")
    report = Runner(mode, server)(server.operation(), out, include=["rad", "collider"],
                                  allow_partial=True)  # fmt: skip
    assert [a.status for a in report.assets] == ["failed", "failed"]
    assert all(isinstance(a.error, UnsafePathError) for a in report.assets)
    assert target.read_text() == "keep" and not (elsewhere / "victim2").exists()


def test_progress_bar_and_missing_rich(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]):  # fmt: skip
    server = Server("model")
    report = Runner(mode, server)(
        server.operation(), tmp_path, include=["thumbnail"], progress="bar"
    )
    assert report.ok
    assert "thumbnail.webp" in capsys.readouterr().err
    monkeypatch.setitem(__import__("sys").modules, "rich.progress", None)
    with pytest.raises(ConfigurationError, match="rich"):
        Runner(mode, server)(server.operation(), tmp_path / "z", progress=True)


def test_bad_sources_and_arguments(mode: str, tmp_path: Path):
    server = Server("world")
    raw = server.operation_json() | {"status": "running", "assets": None}
    running = Operation.from_dict(raw)
    with pytest.raises(InvalidArgumentError, match="no assets yet"):
        server_json = server.operation_json
        server.operation_json = lambda: raw  # type: ignore[method-assign]
        Runner(mode, server)(running, tmp_path)
    server.operation_json = server_json  # type: ignore[method-assign]
    with pytest.raises(InvalidArgumentError):
        Runner(mode, server)(42, tmp_path)
    with pytest.raises(InvalidArgumentError, match="max_concurrency"):
        Runner(mode, server)("op_1", tmp_path, max_concurrency=0)


@pytest.mark.parametrize("limit", [1, 2])
def test_max_concurrency_bounds_open_downloads(mode: str, tmp_path: Path, limit: int):
    DropStream.open_now = DropStream.open_max = 0
    report = Runner(mode, Server("world"))("op_1", tmp_path, max_concurrency=limit)
    assert report.ok and DropStream.open_now == 0
    assert 1 <= DropStream.open_max <= limit


def test_no_temp_files_left_after_success(mode: str, tmp_path: Path):
    server = Server("world")
    Runner(mode, server)("op_1", tmp_path, max_concurrency=1)
    leftovers = [
        n for n in os.listdir(tmp_path / "world_1") if n.endswith((".part", ".json", ".tmp"))
    ]
    assert leftovers == [".mint-download.json"]


# ------------------------------------------------------- a real process, killed mid-download


class _LoopbackAssets:
    """A tiny threaded HTTP server on 127.0.0.1: the operation JSON and one slow, large GLB."""

    def __init__(self, body: bytes) -> None:
        import http.server
        import threading

        self.body = body
        self.etag = '"big-1"'
        self.ranges: list[str | None] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/v1/operations/"):
                    data = outer.operation_json().encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                rng = self.headers.get("range")
                outer.ranges.append(rng)
                start = 0
                if rng and self.headers.get("if-range") == outer.etag:
                    start = int(rng.removeprefix("bytes=").rstrip("-"))
                    self.send_response(206)
                    self.send_header(
                        "content-range", f"bytes {start}-{len(outer.body) - 1}/{len(outer.body)}"
                    )
                else:
                    self.send_response(200)
                self.send_header("content-type", "model/gltf-binary")
                self.send_header("etag", outer.etag)
                self.send_header("content-length", str(len(outer.body) - start))
                self.end_headers()
                import time

                try:
                    for i in range(start, len(outer.body), 65536):
                        self.wfile.write(outer.body[i : i + 65536])
                        time.sleep(0.004)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def operation_json(self) -> str:
        import json

        return json.dumps({
            "object": "operation", "id": "op_big", "status": "succeeded",
            "type": "model_generation", "generationMode": "auto", "prompt": "p",
            "generationPreset": "fast", "generationModel": None, "mintUrl": None,
            "resource": {"type": "model", "id": "model_big"},
            "assets": {"glbUrl": f"{self.url}/glb/big.glb?sig=abc"},
            "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
        })  # fmt: skip

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_process_killed_mid_download_resumes_on_restart(tmp_path: Path):
    import subprocess
    import sys
    import time

    body = glb(12 * 1024 * 1024 + 5, seed=9)
    server = _LoopbackAssets(body)
    script = (
        "import sys\nfrom mint_ext import Mint\n"
        "with Mint(api_key='k', base_url=sys.argv[1]) as mint:\n"
        "    print(mint.assets.download('op_big', sys.argv[2]).summary())\n"
    )
    part = tmp_path / "model_big" / ".glb.part"
    try:
        proc = subprocess.Popen([sys.executable, "-c", script, server.url, str(tmp_path)])
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
        assert 0 < kept < len(body)
        assert not (tmp_path / "model_big" / "model.glb").exists()

        done = subprocess.run([sys.executable, "-c", script, server.url, str(tmp_path)],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert server.ranges[0] is None
        assert server.ranges[-1] == f"bytes={kept}-"  # continued exactly where the kill left it
        assert (tmp_path / "model_big" / "model.glb").read_bytes() == body
        assert not part.exists()
    finally:
        server.close()


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
