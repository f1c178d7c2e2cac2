"""The download flow decides and the shared drivers do its I/O (issue 13, part 1).

- The flow runs under a scripted driver (no files, no sockets: each action is answered from a
  script) and yields exactly the actions of a resume: Range request, a body cut short, a
  retry that continues where the part file ends, verification, rename, manifest.
- The async driver performs every disk action in a worker thread, never on the event loop
  (recorded with ``threading.get_ident()`` around the real disk, against the fake server).
- A flow abandoned by Ctrl-C (the stop event) or by a cancelled task gets what it held (a part
  file, a lock) released by the driver, after the disk action under way has finished.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mint_ext import _download_core as dc
from mint_ext import _files, _flow
from mint_ext._downloads import Job, file_flow
from mint_ext._flow import (
    Close,
    DiskAction,
    ReadChunk,
    Resource,
    Sleep,
    Stopped,
    Stream,
    iterate_sync,
    run_async,
    run_sync,
)
from mint_ext._retry import Clock, RetryPolicy
from mint_ext.testing import FakeClock, FakeMint, serve_fake_mint

from ._fake_contract import Contract

URL = "https://cdn.example/m/model.glb?sig=abc"
CLEAN = "https://cdn.example/m/model.glb"
ETAG = '"v1"'
BODY = b"glTF" + bytes(range(96))  # 100 bytes: a glb by its magic
FOLDER = Path("/nowhere/op_1")  # never touched: the script answers every disk action


def _job() -> Job:
    planned = dc.PlannedAsset("glb", "glb", URL, "model", "glb", "glb")
    clock = Clock(monotonic=lambda: 0.0, wall=lambda: 0.0, rng=lambda: 0.5)
    return Job(planned, FOLDER, False, RetryPolicy(max_retries=2), clock,
               lambda *args: None)  # fmt: skip


class Script:
    """A driver that answers each action from the state of a pretend folder and server, and
    records a short description of every action in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.part = BODY[:40]  # what the pretend part file holds
        self.sidecar = dc.PartInfo(CLEAN, ETAG, 100).to_json()
        self.cut_at = 70  # the first answer breaks after this byte
        self.lock, self.handle = object(), object()
        self._bodies: dict[int, list[bytes | httpx.HTTPError]] = {}

    def answer(self, action: Any) -> Any:
        name = type(action).__name__
        if isinstance(action, Stream):
            headers = action.request.headers
            self.seen.append(f"Stream {headers.get('range')} if-range={headers.get('if-range')}")
            start = int(headers["range"].removeprefix("bytes=").rstrip("-"))
            headers = {"content-range": f"bytes {start}-99/100", "etag": ETAG}
            response = httpx.Response(206, headers=headers, request=action.request)
            end = min(self.cut_at, 100) if self.cut_at > start else 100
            pieces: list[bytes | httpx.HTTPError] = [BODY[start:end]]
            if end < 100:
                pieces.append(httpx.ReadError("cut", request=action.request))
            self._bodies[id(response)] = pieces
            return response
        if isinstance(action, ReadChunk):
            pieces = self._bodies[id(action.response)]
            piece = pieces.pop(0) if pieces else b""
            self.seen.append(
                f"ReadChunk -> {type(piece).__name__}"
                if isinstance(piece, httpx.HTTPError)
                else f"ReadChunk -> {len(piece)} bytes"
            )
            return piece
        if isinstance(action, Close):
            self.seen.append("Close")
            return None
        if isinstance(action, Sleep):
            self.seen.append("Sleep")
            return None
        if isinstance(action, _files.TryLock):
            self.seen.append(f"TryLock {action.path.name}")
            return self.lock
        if isinstance(action, _files.ReadManifest):
            self.seen.append("ReadManifest")
            return {}
        if isinstance(action, _files.ReadSmall):
            self.seen.append(f"ReadSmall {action.path.name}")
            return self.sidecar
        if isinstance(action, _files.FileSize):
            self.seen.append(f"FileSize {action.path.name} -> {len(self.part)}")
            return len(self.part)
        if isinstance(action, _files.IsSymlink):
            self.seen.append(f"IsSymlink {action.path.name}")
            return False
        if isinstance(action, _files.WriteAtomic):
            self.seen.append(f"WriteAtomic {action.name}")
            assert dc.PartInfo.from_json(action.data) == dc.PartInfo(CLEAN, ETAG, 100)
            return None
        if isinstance(action, _files.OpenPart):
            self.seen.append(f"OpenPart {action.path.name} keep={action.keep}")
            self.part = self.part[: action.keep]
            return self.handle
        if isinstance(action, _files.WritePart):
            assert action.part is self.handle
            self.part += action.data
            self.seen.append(f"WritePart {len(action.data)} bytes")
            return None
        if isinstance(action, _files.FinishPart):
            self.seen.append("FinishPart")
            data = self.part
            return _files.PartState(len(data), data[:16], hashlib.sha256(data).hexdigest())
        if isinstance(action, _files.Replace):
            self.seen.append(f"Replace {action.src.name} -> {action.dst.name}")
            return None
        if isinstance(action, _files.Remove):
            self.seen.append("Remove " + " ".join(p.name for p in action.paths))
            return None
        if isinstance(action, _files.RecordManifest):
            self.seen.append(f"RecordManifest {action.slot} {action.entry.size}")
            return {action.slot: action.entry}
        if isinstance(action, _files.Unlock):
            assert action.lock is self.lock
            self.seen.append("Unlock")
            return None
        self.seen.append(name)
        return None


def play(flow: Generator[Any, Any, Any], script: Script) -> Any:
    """Drive ``flow`` with answers from ``script`` only (no file, no socket, no thread)."""
    outcome: Any = None
    while True:
        try:
            action = flow.send(outcome)
        except StopIteration as end:
            return end.value
        outcome = script.answer(action)


def test_a_resume_cut_short_is_retried_from_the_end_of_the_part_file() -> None:
    script = Script()
    report = play(file_flow(_job()), script)
    assert script.seen == [
        "TryLock .glb.lock",
        "ReadManifest",
        # resume the 40 bytes already there
        "ReadSmall .glb.part.json",
        "FileSize .glb.part -> 40",
        f"Stream bytes=40- if-range={ETAG}",
        "IsSymlink model.glb",
        "WriteAtomic .glb.part.json",
        "OpenPart .glb.part keep=40",
        "ReadChunk -> 30 bytes",
        "WritePart 30 bytes",
        "ReadChunk -> ReadError",  # the body breaks after byte 70
        "FinishPart",
        "Close",
        "Sleep",  # a transient break that made progress: retried after the policy's delay
        "ReadSmall .glb.part.json",
        "FileSize .glb.part -> 70",
        f"Stream bytes=70- if-range={ETAG}",
        "IsSymlink model.glb",
        "WriteAtomic .glb.part.json",
        "OpenPart .glb.part keep=70",
        "ReadChunk -> 30 bytes",
        "WritePart 30 bytes",
        "ReadChunk -> 0 bytes",
        "FinishPart",
        "Close",
        "Replace .glb.part -> model.glb",
        "Remove .glb.part.json",
        "SyncFolder",
        "RecordManifest glb 100",
        "Unlock",
    ]
    assert script.part == BODY
    assert report.status == "downloaded" and report.resumed_from == 70
    assert report.bytes == 100 and report.sha256 == hashlib.sha256(BODY).hexdigest()
    assert report.path == FOLDER / "model.glb"


def test_a_body_ending_before_its_total_is_never_published() -> None:
    """Every answer stops at byte 70 of 100 (no error, just the end): retried, then failed,
    and no Replace is ever asked for."""

    class Short(Script):
        def answer(self, action: Any) -> Any:
            if isinstance(action, Stream):
                response = super().answer(action)
                self._bodies[id(response)] = [BODY[len(self.part) : 70]]
                return response
            return super().answer(action)

    script = Short()
    report = play(file_flow(_job()), script)
    assert report.status == "failed" and "ended after 70 of 100" in str(report.error)
    assert not any(s.startswith("Replace") for s in script.seen)
    assert script.seen.count("Sleep") == 2  # max_retries=2: three attempts
    assert script.seen[-1] == "Unlock"


class Held(Resource):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def release(self) -> None:
        self.log.append("released")


class Take(DiskAction):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def run(self) -> Held:
        self.log.append(f"taken in {threading.get_ident()}")
        return Held(self.log)


def _holding_flow(log: list[str]) -> Generator[Any, Any, None]:
    yield Take(log)
    yield Sleep(0)
    log.append("never reached")


def test_the_sync_driver_releases_what_a_stopped_flow_held() -> None:
    log: list[str] = []
    stop = threading.Event()

    def sleep(seconds: float) -> None:
        stop.set()  # Ctrl-C arrives while the flow waits

    def send(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request in this flow")

    with pytest.raises(Stopped):
        run_sync(_holding_flow(log), send, sleep, stop=stop)
    assert log == [f"taken in {threading.get_ident()}", "released"]


def test_an_error_of_a_disk_action_is_raised_in_the_flow_at_its_yield() -> None:
    class Broken(DiskAction):
        def run(self) -> None:
            raise OSError(28, "No space left on device")

    def flow() -> Generator[Any, Any, str]:
        try:
            yield Broken()
        except OSError as exc:
            return f"flow saw {exc.strerror}"
        return "not raised"

    def send(request: httpx.Request) -> httpx.Response:
        raise AssertionError

    assert run_sync(flow(), send, lambda s: None) == "flow saw No space left on device"
    assert list(iterate_sync(flow(), send, lambda s: None)) == []


def test_a_cancelled_task_waits_for_the_disk_action_then_releases_in_a_thread() -> None:
    log: list[str] = []
    started, finish = threading.Event(), threading.Event()

    class Slow(DiskAction):
        def run(self) -> None:
            started.set()
            finish.wait(10)
            log.append("slow action done")

    def flow() -> Generator[Any, Any, None]:
        yield Take(log)
        yield Slow()
        log.append("never reached")

    async def send(request: httpx.Request) -> httpx.Response:
        raise AssertionError

    async def main() -> int:
        task = asyncio.create_task(run_async(flow(), send, asyncio.sleep))
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        await asyncio.sleep(0)
        assert not task.done()  # the thread is still writing: the cancel waits for it
        finish.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert log[1:] == ["slow action done", "released"]
    assert log[0] != f"taken in {loop_thread}"


def test_async_downloads_do_every_disk_action_off_the_event_loop(
    contract: Contract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mint_ext import AsyncMint

    performed: list[tuple[str, int]] = []
    real: Callable[[Any, DiskAction], Any] = _flow.LocalDisk.perform

    def recording(self: Any, action: DiskAction) -> Any:
        performed.append((type(action).__name__, threading.get_ident()))
        return real(self, action)

    monkeypatch.setattr(_flow.LocalDisk, "perform", recording)
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 3 << 20}, on_response=contract)

    async def main() -> int:
        with serve_fake_mint(fake) as server:
            async with AsyncMint(api_key=server.api_key, base_url=server.base_url) as mint:
                op = await mint.models.generate(prompt="x")
                fake.advance(3600)
                report = await mint.assets.download(op.id, tmp_path, include=["glb", "preview"])
                assert report.ok
                again = await mint.assets.download(op.id, tmp_path, include=["glb", "preview"])
                assert [a.status for a in again.assets] == ["skipped", "skipped"]
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    kinds = {name for name, _ in performed}
    assert {"PrepareFolder", "ReadManifest", "TryLock", "ReadSmall", "FileSize", "WriteAtomic",
            "OpenPart", "WritePart", "FinishPart", "Replace", "Remove", "SyncFolder",
            "RecordManifest", "Unlock", "HashFile"} <= kinds  # fmt: skip
    on_loop = [name for name, ident in performed if ident == loop_thread]
    assert on_loop == []
    # Chunks are batched: far fewer writes than 16 KiB pieces of the 3 MiB file.
    assert 0 < sum(name == "WritePart" for name, _ in performed) <= 3 * 4
