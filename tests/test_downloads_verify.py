"""What is on disk is checked before it is published or skipped: truncation the framing cannot
show, a resumed 206 of another size, a stated size that disagrees, a corrupt file that looks
complete, an asset that changes between attempts. Sync and async, against a real server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mint_ext import AssetVerificationError, DownloadError

from ._loopback_cdn import LoopbackCdn, download, glb

GLB = "/a/model.glb"


@pytest.fixture
def cdn() -> Iterator[LoopbackCdn]:
    server = LoopbackCdn(glb_size=3 << 20)
    yield server
    server.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_close_delimited_body_cut_short_is_resumed_not_published(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    cdn.framing = "close"  # neither Content-Length nor chunked: the end is the connection's end
    cdn.cut[GLB] = 1 << 20
    with pytest.raises(DownloadError) as caught:
        download(mode, cdn, tmp_path, include=["glb"])
    (glb_report,) = caught.value.report.by_kind("glb")
    assert "body ended after 1048576 of 3145728 bytes" in str(glb_report.error)
    assert not (tmp_path / "model_1" / "model.glb").exists()
    assert (tmp_path / "model_1" / ".glb.part").stat().st_size == 1 << 20  # kept to resume

    report = download(mode, cdn, tmp_path, include=["glb"])
    (glb_report,) = report.by_kind("glb")
    body = cdn.files[GLB]
    assert glb_report.resumed_from == 1 << 20 and cdn.gets(GLB)[-1] == "bytes=1048576-"
    assert (tmp_path / "model_1" / "model.glb").read_bytes() == body
    assert glb_report.sha256 == sha(body)  # of the published bytes: kept prefix + new stream


def test_a_resumed_206_with_another_total_restarts(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    cdn.cut[GLB] = 1 << 20
    with pytest.raises(DownloadError):
        download(mode, cdn, tmp_path, include=["glb"])
    cdn.range_total = len(cdn.files[GLB]) + 100  # same ETag, another size
    report = download(mode, cdn, tmp_path, include=["glb"])
    (glb_report,) = report.by_kind("glb")
    assert cdn.gets(GLB) == [None, "bytes=1048576-", None]
    assert glb_report.resumed_from == 0 and glb_report.sha256 == sha(cdn.files[GLB])
    assert (tmp_path / "model_1" / "model.glb").read_bytes() == cdn.files[GLB]


def test_a_corrupt_complete_looking_file_is_downloaded_again(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    download(mode, cdn, tmp_path, include=["glb"])
    final = tmp_path / "model_1" / "model.glb"
    body = cdn.files[GLB]
    final.write_bytes(body[:100] + b"\0" * (len(body) - 100))  # same size, same ETag upstream
    # Checked by size only (asked for), it passes for current...
    report = download(mode, cdn, tmp_path, include=["glb"], verify="size")
    assert report.by_kind("glb")[0].status == "skipped"
    # ...by sha256 (the default: the manifest records one) it is fetched again.
    report = download(mode, cdn, tmp_path, include=["glb"])
    (glb_report,) = report.by_kind("glb")
    assert glb_report.status == "downloaded" and final.read_bytes() == body
    report = download(mode, cdn, tmp_path, include=["glb"], verify="sha256")
    assert report.by_kind("glb")[0].status == "skipped"


def test_a_stated_size_that_disagrees_is_a_verification_failure(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    body = cdn.files[GLB]
    cdn.stated_size = len(body) + 1
    with pytest.raises(DownloadError) as caught:
        download(mode, cdn, tmp_path, include=["glb"])
    (glb_report,) = caught.value.report.by_kind("glb")
    assert isinstance(glb_report.error, AssetVerificationError)
    assert f"says {len(body)} bytes, the API says {len(body) + 1}" in str(glb_report.error)
    assert sorted(p.name for p in (tmp_path / "model_1").iterdir()) == [".glb.lock"]
    cdn.stated_size = len(body)
    assert download(mode, cdn, tmp_path, include=["glb"]).ok


def test_a_stated_size_catches_a_close_delimited_cut_without_asking(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    cdn.framing, cdn.cut[GLB] = "close", 1 << 20
    cdn.stated_size = len(cdn.files[GLB])
    with pytest.raises(DownloadError, match="body ended after"):
        download(mode, cdn, tmp_path, include=["glb"])
    assert [m for m, p, _ in cdn.requests if p == GLB] == ["GET"]  # the API's size sufficed


def test_an_asset_changed_between_attempts_restarts_with_the_new_bytes(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    cdn.cut[GLB] = 1 << 20
    with pytest.raises(DownloadError):
        download(mode, cdn, tmp_path, include=["glb"])
    cdn.files[GLB] = new = glb(2 << 20, seed=5)  # new ETag: If-Range answers the whole new file
    report = download(mode, cdn, tmp_path, include=["glb"])
    (glb_report,) = report.by_kind("glb")
    assert glb_report.resumed_from == 0 and glb_report.sha256 == sha(new)
    assert (tmp_path / "model_1" / "model.glb").read_bytes() == new


def test_an_asset_changed_while_a_close_delimited_body_was_read_starts_over(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    cdn.framing = "close"
    old_etag = cdn.etag(GLB)
    new = glb(2 << 20, seed=3)
    real = cdn.etag

    def etag_after_first_get(path: str) -> str:
        # The GET sees the old version; the HEAD that checks its size already the new one.
        if len(cdn.gets(GLB)) == 1 and any(m == "HEAD" for m, p, _ in cdn.requests if p == GLB):
            cdn.files[GLB] = new
        return real(path) if cdn.files[GLB] is new else old_etag

    cdn.etag = etag_after_first_get  # type: ignore[method-assign]
    report = download(mode, cdn, tmp_path, include=["glb"], max_retries=2)
    assert (tmp_path / "model_1" / "model.glb").read_bytes() == new
    assert report.by_kind("glb")[0].sha256 == sha(new)
