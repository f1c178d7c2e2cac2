"""Two downloaders of one file at once (threads, tasks, processes): never wrong bytes at a final
path, a report whose sha256 is the file's, no lost manifest entry, and a typed error when asked
not to wait. Against the bundled fake on loopback, whose asset bodies stream slowly enough
(``asset_rate``) to overlap; the lock options in-process."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mint_ext
from mint_ext import DownloadError, DownloadInProgressError
from mint_ext._download_core import DownloadReport
from mint_ext._downloads import file_lock
from mint_ext.testing import FakeClock, FakeMint, serve_fake_mint

from ._fake_contract import Contract
from ._harness import Api, FakeTime

GLB_SIZE = 3 << 20
RATE = 16 << 20  # bytes per second per asset response: ~0.2 s per GLB body


class RealTime(FakeTime):
    """FakeTime's interface on the real clock: lock waits here are other threads' real time.
    (Local to this file: ``tests/_harness.py`` is not this test's to change.)"""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(seconds)


@dataclass
class Cdn:
    fake: FakeMint
    base_url: str
    op_id: str
    model_id: str

    @property
    def glb(self) -> str:
        return f"/glb/{self.model_id}.glb"

    def api(self, mode: str, real_time: bool = True, **kw: Any) -> Api:
        kw.setdefault("max_retries", 0)
        transport = None if self.base_url != self.fake.base_url else self.fake.transport()
        return Api(mode, transport=transport, base_url=self.base_url, api_key=self.fake.api_key,
                   time=RealTime() if real_time else FakeTime(), **kw)  # fmt: skip

    def download(self, mode: str, out: Path, real_time: bool = False, **kw: Any) -> Any:
        api = self.api(mode, real_time)
        try:
            return api("assets.download", self.op_id, out, **kw)
        finally:
            api.close()


def _seeded(contract: Contract, **kw: Any) -> tuple[FakeMint, str, str]:
    fake = FakeMint(clock=FakeClock(), on_response=contract, **kw)
    model_id = fake.seed_models(1)[0]
    (op_id,) = fake.operation_ids()
    return fake, op_id, model_id


@pytest.fixture
def cdn(contract: Contract) -> Iterator[Cdn]:
    """The fake on loopback with a slow 3 MiB GLB (and a thumbnail of 256 KiB)."""
    fake, op_id, model_id = _seeded(
        contract, asset_sizes={"glb": GLB_SIZE, "webp": 256 << 10}, asset_rate=RATE
    )
    with serve_fake_mint(fake) as server:
        yield Cdn(fake, server.base_url, op_id, model_id)


@pytest.fixture
def local(contract: Contract) -> Cdn:
    """The fake in-process (for what needs no sockets)."""
    fake, op_id, model_id = _seeded(contract, asset_sizes={"glb": 256 << 10})
    return Cdn(fake, fake.base_url, op_id, model_id)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def two_at_once(mode: str, cdn: Cdn, out: Path, *kws: dict[str, Any]) -> list[Any]:
    """Start two downloads at the same moment: two threads (sync) or two tasks (async)."""
    if mode == "async":
        api = cdn.api("async")

        async def main() -> list[Any]:
            return list(await asyncio.gather(
                *(api.client.assets.download(cdn.op_id, out, **kw) for kw in kws)
            ))  # fmt: skip

        try:
            result: list[Any] = api.run(main())
            return result
        finally:
            api.close()
    barrier = threading.Barrier(len(kws))
    results: list[Any] = [None] * len(kws)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = cdn.download("sync", out, real_time=True, **kws[i])
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


def check_one_good_file(cdn: Cdn, folder: Path, reports: list[Any]) -> list[str]:
    body = cdn.fake.asset(cdn.glb).read()
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
    assert cdn.fake.asset_peak(cdn.glb) == 1  # the two bodies were never written at the same time
    return sorted(statuses)


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_downloaders_in_one_process_write_one_file_in_turn(
    mode: str, cdn: Cdn, tmp_path: Path, overwrite: bool
) -> None:
    kw = {"include": ["glb"], "overwrite": overwrite}
    reports = two_at_once(mode, cdn, tmp_path, kw, kw)
    statuses = check_one_good_file(cdn, tmp_path / cdn.model_id, reports)
    # The second waits for the first; then it finds the file complete (or, asked to, fetches
    # it again over the complete file: atomically replaced, never truncated in place).
    assert statuses == (["downloaded", "downloaded"] if overwrite else ["downloaded", "skipped"])
    assert len(cdn.fake.asset_gets(cdn.glb)) == (2 if overwrite else 1)


PROCESS_SCRIPT = """
import json, sys
from mint_ext import Mint
base, key, op_id, out, overwrite = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
with Mint(api_key=key, base_url=base, max_retries=0) as mint:
    report = mint.assets.download(op_id, out, include=["glb"], overwrite=overwrite)
print(json.dumps([[a.status, a.sha256, a.bytes] for a in report.assets]))
"""


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_processes_on_one_file(cdn: Cdn, tmp_path: Path, overwrite: bool) -> None:
    cmd = [sys.executable, "-c", PROCESS_SCRIPT, cdn.base_url, cdn.fake.api_key, cdn.op_id,
           str(tmp_path), "1" if overwrite else "0"]  # fmt: skip
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    body = cdn.fake.asset(cdn.glb).read()
    assert (tmp_path / cdn.model_id / "model.glb").read_bytes() == body
    results = [json.loads(out.strip().splitlines()[-1])[0] for out, _ in outputs]
    assert all(r[1] == sha(body) and r[2] == len(body) for r in results), results
    assert manifest(tmp_path / cdn.model_id)["glb"]["sha256"] == sha(body)
    assert cdn.fake.asset_peak(cdn.glb) == 1
    expected = ["downloaded", "downloaded"] if overwrite else ["downloaded", "skipped"]
    assert sorted(r[0] for r in results) == expected


def test_concurrent_downloads_of_other_files_keep_every_manifest_entry(
    mode: str, cdn: Cdn, tmp_path: Path
) -> None:
    reports = two_at_once(mode, cdn, tmp_path, {"include": ["glb"]}, {"include": ["thumbnail"]})
    assert all(isinstance(r, DownloadReport) and r.ok for r in reports), reports
    entries = manifest(tmp_path / cdn.model_id)
    assert sorted(entries) == ["glb", "thumbnail"]
    thumb = reports[1].by_kind("thumbnail")[0]
    assert entries["thumbnail"]["sha256"] == sha(cdn.fake.asset(thumb.url).read())


def test_if_busy_raise_is_a_typed_error_and_touches_nothing(
    mode: str, local: Cdn, tmp_path: Path
) -> None:
    assert issubclass(mint_ext.DownloadInProgressError, DownloadError)
    folder = tmp_path / local.model_id
    folder.mkdir()
    (folder / "model.glb").write_bytes(b"someone else's")
    held = file_lock(folder / ".glb.lock")
    held.acquire()
    try:
        with pytest.raises(DownloadInProgressError) as caught:
            local.download(mode, tmp_path, if_busy="raise")
        report = caught.value.report
        (glb,) = report.by_kind("glb")
        assert glb.status == "failed" and isinstance(glb.error, DownloadInProgressError)
        assert caught.value.path == folder / ".glb.lock"
        assert report.by_kind("thumbnail")[0].status == "downloaded"  # other files go on
        assert (folder / "model.glb").read_bytes() == b"someone else's"
        assert local.fake.asset_gets(local.glb) == []
        # Waiting is bounded by the caller's own timeout (on the client's clock).
        with pytest.raises(DownloadInProgressError):
            local.download(mode, tmp_path, lock_timeout=0.2)
        assert local.fake.asset_gets(local.glb) == []
    finally:
        held.release()


def test_a_waiting_download_goes_on_once_the_lock_is_free(
    mode: str, local: Cdn, tmp_path: Path
) -> None:
    folder = tmp_path / local.model_id
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
        report = local.download(mode, tmp_path, real_time=True, include=["glb"])
    finally:
        released.set()
        thread.join()
    assert report.ok and (folder / "model.glb").read_bytes() == local.fake.asset(local.glb).read()


@pytest.mark.parametrize(
    ("kw", "word"),
    [({"if_busy": "later"}, "if_busy"), ({"lock_timeout": -1}, "lock_timeout"),
     ({"lock_timeout": True}, "lock_timeout"), ({"verify": "md5"}, "verify")],
)  # fmt: skip
def test_bad_lock_options_are_invalid_arguments(
    mode: str, local: Cdn, tmp_path: Path, kw: dict[str, Any], word: str
) -> None:
    with pytest.raises(mint_ext.InvalidArgumentError, match=word):
        local.download(mode, tmp_path, **kw)
