"""Two downloaders of one file at once (threads, tasks, processes): never wrong bytes at a final
path, a report whose sha256 is the file's, no lost manifest entry, and a typed error when asked
not to wait. Against a real loopback server whose bodies stream slowly enough to overlap."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mint_ext
from mint_ext import AsyncMint, DownloadError, DownloadInProgressError
from mint_ext._download_core import DownloadReport
from mint_ext._downloads import file_lock

from ._loopback_cdn import LoopbackCdn, download

GLB = "/a/model.glb"


@pytest.fixture
def cdn() -> Iterator[LoopbackCdn]:
    server = LoopbackCdn(glb_size=3 << 20, delay=0.004)  # ~0.2 s per GLB body
    yield server
    server.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def two_at_once(mode: str, cdn: LoopbackCdn, out: Path, *kws: dict[str, Any]) -> list[Any]:
    """Start two downloads at the same moment: two threads (sync) or two tasks (async)."""
    if mode == "async":

        async def one(kw: dict[str, Any]) -> DownloadReport:
            async with AsyncMint(api_key="k", base_url=cdn.url, max_retries=0) as mint:
                return await mint.assets.download("op_1", out, **kw)

        async def main() -> list[DownloadReport]:
            return list(await asyncio.gather(*(one(kw) for kw in kws)))

        return asyncio.run(main())
    barrier = threading.Barrier(len(kws))
    results: list[Any] = [None] * len(kws)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = download("sync", cdn, out, **kws[i])
        except BaseException as exc:  # handed to the test below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(kws))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def manifest(folder: Path) -> dict[str, Any]:
    files: dict[str, Any] = json.loads((folder / ".mint-download.json").read_bytes())["files"]
    return files


def check_one_good_file(cdn: LoopbackCdn, folder: Path, reports: list[Any]) -> list[str]:
    body = cdn.files[GLB]
    assert (folder / "model.glb").read_bytes() == body
    statuses = []
    for report in reports:
        assert isinstance(report, DownloadReport), report
        assert report.ok, report
        (glb,) = report.by_kind("glb")
        assert glb.sha256 == sha(body) and glb.bytes == len(body), glb
        statuses.append(glb.status)
    assert manifest(folder)["glb"]["sha256"] == sha(body)
    assert not [n for n in os.listdir(folder) if n.endswith((".tmp", ".part", ".part.json"))]
    assert cdn.peak[GLB] == 1  # the two bodies were never written at the same time
    return sorted(statuses)


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_downloaders_in_one_process_write_one_file_in_turn(
    mode: str, cdn: LoopbackCdn, tmp_path: Path, overwrite: bool
) -> None:
    kw = {"include": ["glb"], "overwrite": overwrite}
    reports = two_at_once(mode, cdn, tmp_path, kw, kw)
    statuses = check_one_good_file(cdn, tmp_path / "model_1", reports)
    # The second waits for the first; then it finds the file complete (or, asked to, fetches
    # it again over the complete file: atomically replaced, never truncated in place).
    assert statuses == (["downloaded", "downloaded"] if overwrite else ["downloaded", "skipped"])


PROCESS_SCRIPT = """
import json, sys
from mint_ext import Mint
base, out, overwrite = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
with Mint(api_key="k", base_url=base, max_retries=0) as mint:
    report = mint.assets.download("op_1", out, include=["glb"], overwrite=overwrite)
print(json.dumps([[a.status, a.sha256, a.bytes] for a in report.assets]))
"""


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_processes_on_one_file(cdn: LoopbackCdn, tmp_path: Path, overwrite: bool) -> None:
    cmd = [sys.executable, "-c", PROCESS_SCRIPT, cdn.url, str(tmp_path), "1" if overwrite else "0"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    body = cdn.files[GLB]
    assert (tmp_path / "model_1" / "model.glb").read_bytes() == body
    results = [json.loads(out.strip().splitlines()[-1])[0] for out, _ in outputs]
    assert all(r[1] == sha(body) and r[2] == len(body) for r in results), results
    assert manifest(tmp_path / "model_1")["glb"]["sha256"] == sha(body)
    assert cdn.peak[GLB] == 1
    expected = ["downloaded", "downloaded"] if overwrite else ["downloaded", "skipped"]
    assert sorted(r[0] for r in results) == expected


def test_concurrent_downloads_of_other_files_keep_every_manifest_entry(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    cdn.files["/a/thumb.png"] = cdn.files["/a/thumb.png"] + b"t" * (256 << 10)  # slow as well
    reports = two_at_once(mode, cdn, tmp_path, {"include": ["glb"]}, {"include": ["thumbnail"]})
    assert all(isinstance(r, DownloadReport) and r.ok for r in reports), reports
    entries = manifest(tmp_path / "model_1")
    assert sorted(entries) == ["glb", "thumbnail"]
    assert entries["thumbnail"]["sha256"] == sha(cdn.files["/a/thumb.png"])


def test_if_busy_raise_is_a_typed_error_and_touches_nothing(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    assert issubclass(mint_ext.DownloadInProgressError, DownloadError)
    folder = tmp_path / "model_1"
    folder.mkdir()
    (folder / "model.glb").write_bytes(b"someone else's")
    held = file_lock(folder / ".glb.lock")
    held.acquire()
    try:
        with pytest.raises(DownloadInProgressError) as caught:
            download(mode, cdn, tmp_path, if_busy="raise")
        report = caught.value.report
        (glb,) = report.by_kind("glb")
        assert glb.status == "failed" and isinstance(glb.error, DownloadInProgressError)
        assert caught.value.path == folder / ".glb.lock"
        assert report.by_kind("thumbnail")[0].status == "downloaded"  # other files go on
        assert (folder / "model.glb").read_bytes() == b"someone else's"
        assert cdn.gets(GLB) == []
        # Waiting is bounded by the caller's own timeout.
        with pytest.raises(DownloadInProgressError):
            download(mode, cdn, tmp_path, lock_timeout=0.2)
        assert cdn.gets(GLB) == []
    finally:
        held.release()


def test_a_waiting_download_goes_on_once_the_lock_is_free(
    mode: str, cdn: LoopbackCdn, tmp_path: Path
) -> None:
    folder = tmp_path / "model_1"
    folder.mkdir()
    held = file_lock(folder / ".glb.lock")
    held.acquire()
    released = threading.Event()

    def release_soon() -> None:
        released.wait(0.3)
        held.release()

    thread = threading.Thread(target=release_soon)
    thread.start()
    try:
        report = download(mode, cdn, tmp_path, include=["glb"])
    finally:
        released.set()
        thread.join()
    assert report.ok and (folder / "model.glb").read_bytes() == cdn.files[GLB]


@pytest.mark.parametrize(
    ("kw", "word"),
    [({"if_busy": "later"}, "if_busy"), ({"lock_timeout": -1}, "lock_timeout"),
     ({"lock_timeout": True}, "lock_timeout"), ({"verify": "md5"}, "verify")],
)  # fmt: skip
def test_bad_lock_options_are_invalid_arguments(
    mode: str, cdn: LoopbackCdn, tmp_path: Path, kw: dict[str, Any], word: str
) -> None:
    with pytest.raises(mint_ext.InvalidArgumentError, match=word):
        download(mode, cdn, tmp_path, **kw)
