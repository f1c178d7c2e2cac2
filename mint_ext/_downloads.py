"""``mint.assets``: safe, resumable, parallel, verified asset downloads (sync and async).

One flow per file (:func:`file_flow`) decides everything through ``_download_core`` and yields
small actions; :func:`drive_sync` and :func:`drive_async` carry them out and differ only in
``await``. The flow itself only touches the local files of its own asset.

Guarantees:

- Asset requests go through their own HTTP client: no ``Authorization``, no cookies, redirects
  followed by hand (at most 5, never https -> http), ``Accept-Encoding: identity``.
- Bodies are streamed in 1 MiB chunks into ``out/<id>/.<slot>.part`` (opened with
  ``O_NOFOLLOW``), hashed while written (helper thread), handed to the disk in the background
  every 32 MiB (``fdatasync`` on a helper thread, Linux), flushed, fsynced and moved into place
  with ``os.replace``: a final path holds a complete, verified file or nothing.
- A partial file keeps a sidecar ``.<slot>.part.json`` (URL without query, ETag, size); the next
  attempt, in this call or a later process, continues with ``Range: bytes=N-`` and
  ``If-Range: <etag>``. A 200 answer (the file changed) starts over from byte 0.
- ``out/<id>/.mint-download.json`` records name, URL, ETag, size and sha256 of each complete
  file. A re-run sends one ``HEAD`` per file and skips it when the ETag (and size) still match.
- Connection errors, timeouts, 408/425/429 and 5xx are retried with the client's
  ``RetryPolicy`` (``Retry-After`` honoured), resuming from what is on disk; 401/403/410 re-read
  the source once for fresh (re-signed) URLs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import http.cookiejar
import os
import queue
import secrets
import ssl
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, Unpack

import attrs
import filelock
import httpx

from . import _calls as calls
from . import _download_core as dc
from ._asset_transport import (
    asset_transport,
    async_asset_transport,
    borrowed_mounts,
    inherited_tls,
    proxied_by_environment,
)
from ._core import USER_AGENT, Core, HttpClientT, InvalidArgumentError, make_http_client
from ._download_core import (
    AssetReport,
    DownloadProgress,
    DownloadReport,
    UnsafePathError,
    UnsafeRedirectError,
)
from ._errors import (
    AssetVerificationError,
    ConfigurationError,
    DownloadError,
    DownloadInProgressError,
    MintError,
)
from ._flow import Flow, Send, Sleep
from ._models import Model, ModelAssets, Operation, World, WorldAssets
from ._options import RequestOptions
from ._retry import Clock, RetryPolicy, is_seconds, to_error
from ._runner import AsyncRunner, SyncRunner
from ._urls import url_problem

__all__ = [
    "AssetReport",
    "Assets",
    "AsyncAssets",
    "DownloadProgress",
    "DownloadReport",
    "UnsafePathError",
    "UnsafeRedirectError",
]

Source = Operation | World | Model | str
ProgressArg = Callable[[DownloadProgress], object] | Literal["bar"] | bool | None
IfBusy = Literal["wait", "raise"]
Verify = Literal["size", "sha256"]
T = TypeVar("T")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_HAS_FDATASYNC = hasattr(os, "fdatasync")  # not on Windows or macOS: only the final fsync
#: Start the disk writeback of a download after every this many bytes.
WRITEBACK_EVERY = 32 * 1024 * 1024
#: Part-file buffer: chunks smaller than its free space are gathered, larger ones go straight out.
WRITE_BUFFER = 256 * 1024


# ----------------------------------------------------------------------------------- actions


@attrs.frozen
class Open:
    """Send a GET with a streamed body; the driver answers the response or the HTTPError."""

    request: httpx.Request


@attrs.frozen
class Read:
    """Next chunk of ``response`` (``b""`` at the end) or the HTTPError that broke it."""

    response: httpx.Response


@attrs.frozen
class Drain:
    """Read the (small) error body of ``response`` and close it."""

    response: httpx.Response


@attrs.frozen
class Close:
    response: httpx.Response


@attrs.frozen
class Refresh:
    """Re-read the source (once per download call); answers the fresh URL, None or the error."""

    slot: str


@attrs.frozen
class Offload:
    """Run ``fn`` (slow local disk work: fsync, hashing a resumed prefix) and answer its result.

    The sync driver calls it in place; the async driver runs it in a worker thread.
    """

    fn: Callable[[], Any]


FileAction = Send | Sleep | Open | Read | Drain | Close | Refresh | Offload
FileFlow = Generator[FileAction, Any, AssetReport]


# --------------------------------------------------------------------------- local files


def _lsize(path: Path) -> int | None:
    """Size of a regular file; None if absent. A symlink is refused."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if path.is_symlink():
        raise UnsafePathError(f"{path} is a symlink; refusing to use it")
    return st.st_size


def _read_small(path: Path, limit: int = 1 << 20) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(limit)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(folder: Path, name: str, data: bytes) -> None:
    """Write ``folder/name`` through a temp file, fsync and ``os.replace``.

    The temp name is unique per writer (``O_EXCL``, random suffix): two writers of one file
    (threads or processes) never share or delete each other's temp file; the last rename wins.
    """
    final = dc.confined(folder, name)
    if final.is_symlink():
        raise UnsafePathError(f"{final} is a symlink; refusing to replace it")
    tmp = dc.confined(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(folder)


def file_lock(path: Path) -> filelock.FileLock:
    """An inter-process lock on ``path`` (``flock``/``LockFileEx`` through ``filelock``).

    ``thread_local=False``: the async driver takes it in a worker thread and may release it on
    the event loop's thread. The lock file itself stays (removing it would race a waiter).
    """
    return filelock.FileLock(str(path), thread_local=False)


def try_lock(lock: filelock.FileLock) -> bool:
    """Take ``lock`` if it is free right now (never waits)."""
    try:
        lock.acquire(blocking=False)
    except filelock.Timeout:
        return False
    return True


def _remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def prepare_folder(out: str | os.PathLike[str], resource_id: str) -> Path:
    """Create ``out/<safe id>/`` and check it is a real folder inside ``out``."""
    base = Path(out)
    base.mkdir(parents=True, exist_ok=True)
    folder = base / dc.resource_folder_name(resource_id)
    if folder.is_symlink():
        raise UnsafePathError(f"{folder} is a symlink; refusing to download into it")
    folder.mkdir(exist_ok=True)
    if folder.resolve().parent != base.resolve() or not folder.is_dir():
        raise UnsafePathError(f"{folder} is not a folder inside {base}")
    return folder


class Manifest:
    """The folder's ``.mint-download.json``, updated atomically after each complete file.

    Every update re-reads the file and merges one entry into it under an inter-process lock
    (``.mint-download.json.lock``), so concurrent downloaders into one folder (threads, tasks,
    processes) never lose each other's entries.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries = self.read()  # as found at the start (for progress announcements)
        self._lock = threading.Lock()

    def read(self) -> dict[str, dc.ManifestEntry]:
        """The entries on disk now."""
        return dc.load_manifest(_read_small(dc.confined(self.folder, dc.MANIFEST_NAME), 1 << 24))

    def entry(self, slot: str) -> dc.ManifestEntry | None:
        """The entry on disk now for ``slot``."""
        return self.read().get(slot)

    def record(self, slot: str, entry: dc.ManifestEntry) -> None:
        """Merge ``slot``'s entry into the manifest on disk (blocking on the lock)."""
        with self._lock, file_lock(dc.confined(self.folder, dc.MANIFEST_NAME + ".lock")):
            entries = self.read()
            entries[slot] = entry
            atomic_write(self.folder, dc.MANIFEST_NAME, dc.dump_manifest(entries))
            self.entries = entries


# ---------------------------------------------------------------------------------- the flow


@attrs.frozen
class Job:
    """Everything one file's flow needs."""

    planned: dc.PlannedAsset
    folder: Path
    manifest: Manifest
    overwrite: bool
    policy: RetryPolicy
    clock: Clock
    #: (planned, path, bytes done, bytes total, last event of the file, status)
    progress: Callable[[dc.PlannedAsset, Path, int, int | None, bool, str], None]
    #: Another writer holds the file's lock: wait for it (up to ``lock_timeout`` s) or raise.
    if_busy: IfBusy = "wait"
    lock_timeout: float | None = 300.0
    #: How a file found complete is checked against the manifest (None: sha256 when recorded).
    verify: Verify | None = None
    #: The size the API states for the file (``glbSizeBytes``), checked against the answer.
    stated_size: int | None = None


def _request(method: str, url: str, headers: dict[str, str] | None = None) -> httpx.Request:
    """The asset request; ``AssetVerificationError`` for a URL no transport could fetch."""
    problem = url_problem(url)
    if problem is not None:
        clean = dc.url_without_query(url)
        raise AssetVerificationError(f"{clean}: cannot be fetched: {problem}", url=clean)
    try:
        return httpx.Request(
            method,
            url,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})},
        )
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:  # a bad URL from the server
        clean = dc.url_without_query(url)
        raise AssetVerificationError(f"{clean}: not a valid URL ({exc})", url=clean) from None


def _open_flow(
    job: Job, method: str, url: str, offset: int, etag: str | None
) -> Generator[FileAction, Any, tuple[httpx.Response | None, dc.Decision]]:
    """One request with redirects followed by hand; the decision about its answer."""
    current, hops = url, 0
    while True:
        request = _request(method, current, dc.range_headers(offset, etag))
        if method == "HEAD":
            outcome = yield Send(request)
        else:
            outcome = yield Open(request)
        if isinstance(outcome, httpx.HTTPError):
            return None, dc.RetryLater(to_error(outcome, job.clock.wall()), None)
        response: httpx.Response = outcome
        status = response.status_code
        if status not in (200, 206) and not 300 <= status < 400 and method != "HEAD":
            drained = yield Drain(response)
            if isinstance(drained, httpx.HTTPError):
                return None, dc.RetryLater(to_error(drained, job.clock.wall()), None)
        decision = dc.decide(status, response.headers, url=current, requested_offset=offset,
                             wall=job.clock.wall(), response=response)  # fmt: skip
        if isinstance(decision, dc.Redirect):
            if method != "HEAD":
                yield Close(response)
            try:
                current = dc.resolve_redirect(current, decision.url, hops)
            except UnsafeRedirectError as exc:
                return None, dc.Fail(exc)
            hops += 1
            continue
        return response, decision


class BackgroundHash:
    """sha256 computed on a helper thread, overlapping the network reads of a download.

    hashlib releases the GIL on large buffers; in the reading thread, hashing was the largest
    cost of a big download (``bench/bench_downloads.py``: about 600 -> 800 MiB/s on loopback;
    moving the file writes there too made it slower again on 2 cores). At most ``depth`` chunks
    wait in the queue (constant memory). The thread ends at :meth:`stop` / :meth:`hexdigest`, or
    when the object is garbage-collected.
    """

    def __init__(self, start: Any = None, depth: int = 8) -> None:
        self._hash = start if start is not None else hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._drain, args=(self._queue, self._hash),
                                        name="mint-sha256", daemon=True)  # fmt: skip
        self._thread.start()
        self._finalizer = weakref.finalize(self, self._queue.put, None)

    @staticmethod
    def _drain(q: queue.Queue[bytes | None], h: Any) -> None:
        while (chunk := q.get()) is not None:
            h.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def stop(self) -> None:
        """Hash what is queued and end the thread."""
        self._finalizer()  # sends the end marker once
        self._thread.join()

    def hexdigest(self) -> str:
        self.stop()
        return str(self._hash.hexdigest())


class BackgroundWriteback:
    """Starts the disk writeback of a file being written while the download goes on.

    Every :meth:`kick` asks a helper thread to ``fdatasync`` what has been written so far (on a
    duplicate descriptor that the thread owns and closes, so the writer's descriptor can close at
    any time); the final ``fsync`` before the rename then only waits for the last stretch. On a
    512 MiB download that final ``fsync`` was a fifth of the wall time
    (``bench/bench_downloads.py``). Kicks while a sync is running are merged into one more.

    :meth:`stop` never waits (it runs where an event loop or a Ctrl-C must not be held up): a
    sync asked for but not started is dropped, one in progress finishes in the background, then
    the thread ends. :meth:`join` waits for that; the download calls it off the event loop,
    just before its own ``fsync``.
    """

    def __init__(self, fd: int) -> None:
        self._fd = os.dup(fd)
        self._wake = threading.Event()
        self._pending = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="mint-writeback", daemon=True)
        try:
            self._thread.start()
        except BaseException:  # no thread to own the duplicate: close it here
            os.close(self._fd)
            raise

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._wake.wait()
                self._wake.clear()
                while self._pending and not self._stopping:  # and kicks from during the last
                    self._pending = False
                    with contextlib.suppress(OSError):  # best effort: the final fsync still runs
                        os.fdatasync(self._fd)
        finally:
            os.close(self._fd)

    def kick(self) -> None:
        """Ask for a sync of everything written so far (merged with one already asked for)."""
        self._pending = True
        self._wake.set()

    def stop(self) -> None:
        """End the thread without waiting: drops a sync not yet started."""
        self._stopping = True
        self._wake.set()

    def join(self) -> None:
        """:meth:`stop`, then wait until the thread has ended (its descriptor is closed)."""
        self.stop()
        self._thread.join()


def _finish_part(fd: int, writeback: BackgroundWriteback | None) -> tuple[int, bytes]:
    """Wait for the background writeback (if any), ``fsync`` the part file, and read back its
    size and first bytes from the file itself (what the checks before the rename look at)."""
    if writeback is not None:
        writeback.join()
    os.fsync(fd)
    size = os.fstat(fd).st_size
    os.lseek(fd, 0, os.SEEK_SET)
    return size, os.read(fd, dc.HEAD_BYTES)


def _hash_file(path: Path) -> str | None:
    """sha256 of a whole file (None if it vanished), read in chunks."""
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(dc.CHUNK_SIZE):
            h.update(chunk)
    return h.hexdigest()


def _hash_prefix(part: Path, offset: int) -> Any:
    """sha256 object over the first ``offset`` bytes already on disk (read in chunks)."""
    h = hashlib.sha256()
    fd = os.open(part, os.O_RDONLY | _NOFOLLOW | _BINARY)
    with os.fdopen(fd, "rb") as f:
        left = offset
        while left > 0:
            chunk = f.read(min(dc.CHUNK_SIZE, left))
            if not chunk:
                raise OSError(f"{part} is shorter than {offset} bytes")
            h.update(chunk)
            left -= len(chunk)
    return h


def caption_result(job: Job) -> AssetReport:
    """The caption is text from the API: written as ``caption.txt`` (no request)."""
    p = job.planned
    data = (p.text or "").encode("utf-8")
    final = dc.confined(job.folder, p.name())
    digest = hashlib.sha256(data).hexdigest()
    if not job.overwrite and _lsize(final) == len(data) and _read_small(final) == data:
        status: dc.Status = "skipped"
    else:
        atomic_write(job.folder, final.name, data)
        status = "downloaded"
    job.progress(p, final, len(data), len(data), True, status)
    return AssetReport(p.kind, p.slot, None, final, status, len(data), digest)


def _lock_flow(job: Job, lock: filelock.FileLock) -> Generator[FileAction, Any, MintError | None]:
    """Take the file's lock: at once, or (``if_busy="wait"``) polling until ``lock_timeout``.

    Polls without blocking (a worker thread never sits in a lock a cancelled task would then
    own); the waits are the client's sleep, so Ctrl-C and fake clocks work as for retries.
    """
    deadline: float | None = None
    delay = 0.02
    while True:
        if (yield Offload(functools.partial(try_lock, lock))):
            return None
        now = job.clock.monotonic()
        if deadline is None:
            deadline = now + (job.lock_timeout if job.lock_timeout is not None else float("inf"))
        if job.if_busy == "raise" or now >= deadline:
            waited = "" if job.if_busy == "raise" else f" for {job.lock_timeout:g}s"
            return DownloadInProgressError(
                f"{job.planned.kind}: another download of this file is running"
                f"{waited} (lock {lock.lock_file})",
                path=Path(lock.lock_file),
            )
        yield Sleep(min(delay, deadline - now))
        delay = min(delay * 2, 0.5)


def file_flow(job: Job) -> FileFlow:
    """Download one asset under its file lock: skip, resume, retry, refresh, verify, publish."""
    p = job.planned
    if p.url is None:
        return caption_result(job)
    lock = file_lock(dc.confined(job.folder, p.lock_name))
    busy = yield from _lock_flow(job, lock)
    if busy is not None:
        where = dc.confined(job.folder, p.name())
        job.progress(p, where, 0, None, True, "failed")
        return AssetReport(p.kind, p.slot, dc.url_without_query(p.url), where, "failed",
                           error=busy)  # fmt: skip
    try:
        return (yield from _locked_file_flow(job, p.url))
    finally:
        lock.release()


def _locked_file_flow(job: Job, url: str) -> FileFlow:
    p = job.planned
    folder = job.folder
    part = dc.confined(folder, p.part_name)
    sidecar = dc.confined(folder, p.sidecar_name)
    # Read under the lock: a writer that held it before may have just completed this file.
    entry: dc.ManifestEntry | None = yield Offload(functools.partial(job.manifest.entry, p.slot))
    refreshed = False
    attempts = dc.Attempts(job.policy)
    restarts = 0
    resumed_from = 0

    def failed(error: MintError, path: Path | None = None) -> AssetReport:
        where = path or dc.confined(folder, entry.name if entry else p.name())
        job.progress(p, where, 0, None, True, "failed")
        return AssetReport(p.kind, p.slot, dc.url_without_query(url), where, "failed",
                           error=error, resumed_from=resumed_from)  # fmt: skip

    # -- skip: a complete file recorded in the manifest, confirmed by HEAD (ETag and size).
    if entry is not None:
        existing = dc.confined(folder, dc.safe_component(entry.name))
        if dc.skip_candidate(entry, url, _lsize(existing), job.overwrite):
            job.progress(p, existing, 0, entry.size, False, "checking")
            while True:
                response, decision = yield from _open_flow(job, "HEAD", url, 0, None)
                if isinstance(decision, dc.RefreshUrl) and not refreshed:
                    refreshed = True
                    fresh = yield Refresh(p.slot)
                    if isinstance(fresh, str):
                        url = fresh
                        continue
                if isinstance(decision, dc.RetryLater):
                    delay = attempts.next_delay(False, decision.retry_after, job.clock.rng)
                    if delay is not None:
                        yield Sleep(delay)
                        continue
                break
            confirmed = (
                response is not None
                and isinstance(decision, dc.Accept)
                and dc.head_confirms(entry, response.headers)
            )
            if confirmed and dc.skip_check(job.verify, entry) == "sha256":
                # The bytes on disk, not only their count: a corrupt file is fetched again.
                on_disk = yield Offload(functools.partial(_hash_file, existing))
                confirmed = on_disk == entry.sha256
            if confirmed:
                job.progress(p, existing, entry.size, entry.size, True, "skipped")
                return AssetReport(p.kind, p.slot, dc.url_without_query(url), existing,
                                   "skipped", entry.size, entry.sha256)  # fmt: skip
            attempts = dc.Attempts(job.policy)

    ignore_part = job.overwrite
    while True:
        # -- where to start: resume a partial file of the same URL and strong ETag.
        info = dc.PartInfo.from_json(_read_small(sidecar) or b"")
        part_size = _lsize(part)
        offset = dc.resume_offset(part_size, info, url, ignore_part)
        ignore_part = False
        etag = info.etag if offset and info else None
        response, decision = yield from _open_flow(job, "GET", url, offset, etag)

        if isinstance(decision, dc.Restart):
            if response is not None:
                yield Close(response)
            _remove(part, sidecar)
            restarts += 1
            if restarts > 2:
                return failed(
                    AssetVerificationError(decision.reason, url=dc.url_without_query(url))
                )
            continue
        if isinstance(decision, dc.RefreshUrl):
            if refreshed:
                return failed(decision.error)
            refreshed = True
            fresh = yield Refresh(p.slot)
            if isinstance(fresh, MintError):
                return failed(fresh)
            if not isinstance(fresh, str):
                return failed(decision.error)
            url = fresh
            continue
        if isinstance(decision, dc.RetryLater):
            delay = attempts.next_delay(False, decision.retry_after, job.clock.rng)
            if delay is None:
                return failed(decision.error)
            yield Sleep(delay)
            continue
        if isinstance(decision, dc.Fail):
            if response is not None:
                yield Close(response)
            return failed(decision.error)
        assert isinstance(decision, dc.Accept) and response is not None
        start = decision.offset
        if start and info is not None and decision.total != info.total:
            # Same ETag, another size: the part file cannot be a prefix of this one.
            yield Close(response)
            _remove(part, sidecar)
            restarts += 1
            if restarts > 2:
                clean = dc.url_without_query(url)
                return failed(AssetVerificationError(
                    f"{clean}: resumed answers keep changing size", url=clean))  # fmt: skip
            continue
        try:
            expected = dc.agreed_size(url, [("the answer", decision.total),
                                            ("the API", job.stated_size)])  # fmt: skip
        except AssetVerificationError as exc:
            yield Close(response)
            _remove(part, sidecar)
            return failed(exc)

        # -- stream the body into the part file, hashing as it goes.
        name = entry.name if entry and entry.url == dc.url_without_query(url) else None
        final = dc.confined(folder, name or p.name(response.headers.get("content-type")))
        if final.is_symlink():
            yield Close(response)
            return failed(UnsafePathError(f"{final} is a symlink; refusing to replace it"), final)
        if start:  # re-reading the kept part to hash it can take seconds: say so
            job.progress(p, final, start, decision.total, False, "resuming")
        prefix_hash = (
            (yield Offload(functools.partial(_hash_prefix, part, start))) if start else None
        )
        resumed_from = start
        clean = dc.url_without_query(url)
        sidecar_data = dc.PartInfo(clean, decision.etag, expected).to_json()
        yield Offload(functools.partial(atomic_write, folder, sidecar.name, sidecar_data))
        fd = os.open(part, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _BINARY, 0o644)
        written = reported = start
        broken: MintError | None = None
        # The buffer gathers small chunks (TLS gives 16 KiB records) into fewer writes; a chunk
        # bigger than the buffer (plain HTTP gives up to 1 MiB) goes to the file without a copy.
        with os.fdopen(fd, "r+b", buffering=WRITE_BUFFER) as f:
            f.truncate(start)
            f.seek(start)
            hasher = BackgroundHash(prefix_hash)
            writeback: BackgroundWriteback | None = None
            synced = written
            try:
                if _HAS_FDATASYNC:
                    writeback = BackgroundWriteback(f.fileno())
                while True:
                    chunk = yield Read(response)
                    if isinstance(chunk, httpx.HTTPError):
                        broken = to_error(chunk, job.clock.wall())
                        break
                    if not chunk:
                        break
                    if written == 0 and dc.is_html(None, chunk):
                        broken = AssetVerificationError(
                            f"{clean}: an HTML page, not an asset", url=clean
                        )
                        break
                    f.write(chunk)
                    hasher.update(chunk)
                    written += len(chunk)
                    if written - reported >= dc.CHUNK_SIZE:
                        reported = written
                        job.progress(p, final, written, expected, False, "downloading")
                    # No kick once the body is complete: the fsync before the rename follows.
                    if (
                        writeback is not None
                        and written - synced >= WRITEBACK_EVERY
                        and (expected is None or written < expected)
                    ):
                        synced = written
                        f.flush()
                        writeback.kick()
            finally:  # also when abandoned (Ctrl-C): nothing here waits for the disk
                hasher.stop()
                if writeback is not None:
                    writeback.stop()
            f.flush()
            disk_size, head = yield Offload(functools.partial(_finish_part, f.fileno(), writeback))
        yield Close(response)
        made_progress = written > start

        if isinstance(broken, AssetVerificationError):
            _remove(part, sidecar)
            return failed(broken, final)
        if broken is None and expected is None:
            # Neither framing nor the API gave a size (a close-delimited body): a cut
            # connection looks like the end. Ask for the size before trusting the bytes.
            _, probe = yield from _open_flow(job, "HEAD", url, 0, None)
            if isinstance(probe, dc.Accept):
                if probe.etag and decision.etag and probe.etag != decision.etag:
                    _remove(part, sidecar)  # changed while it was read: start over
                    restarts += 1
                    if restarts > 2:
                        return failed(AssetVerificationError(
                            f"{clean}: keeps changing while it is read", url=clean), final)  # fmt: skip
                    continue
                expected = probe.total
                if expected is not None:
                    sidecar_data = dc.PartInfo(clean, decision.etag, expected).to_json()
                    yield Offload(functools.partial(atomic_write, folder, sidecar.name,
                                                    sidecar_data))  # fmt: skip
        if broken is None and expected is not None and written < expected:
            broken = AssetVerificationError(
                f"{clean}: body ended after {written} of {expected} bytes", url=clean
            )
        if broken is not None:  # transient: keep the part file and resume from it
            delay = attempts.next_delay(made_progress, None, job.clock.rng)
            if delay is None:
                return failed(broken, final)
            yield Sleep(delay)
            continue

        # -- verify what is on disk (its size and first bytes, read back), then move into place.
        ext = final.suffix.lstrip(".")
        try:
            if disk_size != written:
                raise AssetVerificationError(
                    f"{clean}: {disk_size} bytes on disk, {written} written", url=clean
                )
            dc.verify(p.kind, ext, head, disk_size, expected, url,
                      response.headers.get("content-type"))  # fmt: skip
        except AssetVerificationError as exc:
            _remove(part, sidecar)
            return failed(exc, final)
        os.replace(part, final)
        _remove(sidecar)
        yield Offload(functools.partial(_fsync_dir, folder))
        digest = hasher.hexdigest()
        recorded = dc.ManifestEntry(final.name, clean, decision.etag, written, digest)
        yield Offload(functools.partial(job.manifest.record, p.slot, recorded))
        job.progress(p, final, written, written, True, "downloaded")
        return AssetReport(p.kind, p.slot, clean, final, "downloaded", written, digest,
                           resumed_from)  # fmt: skip


# ------------------------------------------------------------------------------- the drivers


def _asset_client(
    cls: type[HttpClientT],
    client: SyncRunner | AsyncRunner,
    fast_transport: Callable[[ssl.SSLContext | None], Any],
) -> HttpClientT:
    """The credential-free client for asset hosts (``cls`` is httpx.Client or AsyncClient).

    No cookies, redirects followed by hand, the API client's timeout. The caller's own transport
    if they gave one; plain httpx when environment proxies apply (httpx ignores them for a client
    given a transport); else ``fast_transport()``. It reads the environment (proxies,
    SSL_CERT_FILE) when the API client does: ``http_client=httpx.Client(trust_env=False)`` opts
    the downloads out too. It verifies TLS with the API client's own SSL context (its
    ``verify``/``cert``) and shares its proxy mounts, never their ownership.
    """
    api = client.http
    trust_env = bool(getattr(api, "trust_env", True))
    proxied = trust_env and proxied_by_environment()
    context = inherited_tls(api)
    transport = client.asset_transport or (None if proxied else fast_transport(context))
    timeout = client.core.timeout
    return make_http_client(
        cls,
        transport=transport,
        verify=context if context is not None else True,
        mounts=borrowed_mounts(api),
        trust_env=trust_env,
        follow_redirects=False,
        cookies=http.cookiejar.CookieJar(
            policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
        ),
        timeout=httpx.Timeout(timeout),
    )


def _read_body(response: httpx.Response) -> bytes | None:
    """The body if it is already in memory (a response built from bytes), else None."""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


def _sync_chunks(response: httpx.Response) -> Iterator[bytes]:
    body = _read_body(response)
    if body is None:
        return response.iter_raw()
    return (body[i : i + dc.CHUNK_SIZE] for i in range(0, len(body), dc.CHUNK_SIZE))


async def _async_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    body = _read_body(response)
    if body is None:
        async for chunk in response.aiter_raw():
            yield chunk
        return
    for i in range(0, len(body), dc.CHUNK_SIZE):
        yield body[i : i + dc.CHUNK_SIZE]


async def in_thread(fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread; a cancellation waits for it to end before it goes on.

    The flow's cleanup (closing a file, releasing a lock) must not run while the thread still
    uses that file or is taking that lock.
    """
    task = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what goes on
        raise


class _Stopped(BaseException):
    """Raised in a download worker when the caller was interrupted (Ctrl-C): stop at once,
    keep the partial file for the next run to resume."""


def drive_sync(
    flow: FileFlow,
    client: httpx.Client,
    sleep: Callable[[float], None],
    refresh: Callable[[str], str | MintError | None],
    stop: threading.Event | None = None,
) -> AssetReport:
    """Run one file flow with blocking I/O (until it ends or ``stop`` is set)."""
    # With the real clock, a stop (Ctrl-C) also ends a Retry-After wait at once.
    pause: Callable[[float], object] = (
        stop.wait if stop is not None and sleep is time.sleep else sleep
    )
    chunks: dict[int, Iterator[bytes]] = {}
    opened: list[httpx.Response] = []
    outcome: Any = None
    try:
        while True:
            if stop is not None and stop.is_set():
                raise _Stopped
            try:
                action = flow.send(outcome)
            except StopIteration as stop:
                result: AssetReport = stop.value
                return result
            outcome = None
            try:
                if isinstance(action, Send):
                    outcome = client.send(action.request)
                elif isinstance(action, Open):
                    outcome = client.send(action.request, stream=True)
                    opened.append(outcome)
                elif isinstance(action, Read):
                    it = chunks.get(id(action.response))
                    if it is None:
                        it = chunks[id(action.response)] = _sync_chunks(action.response)
                    outcome = next(it, b"")
                elif isinstance(action, Drain):
                    action.response.read()
                    action.response.close()
                elif isinstance(action, Close):
                    chunks.pop(id(action.response), None)
                    action.response.close()
                elif isinstance(action, Sleep):
                    pause(action.seconds)
                elif isinstance(action, Offload):
                    outcome = action.fn()
                else:
                    outcome = refresh(action.slot)
            except httpx.HTTPError as exc:
                outcome = exc
    finally:
        flow.close()
        for r in opened:
            r.close()


async def drive_async(
    flow: FileFlow,
    client: httpx.AsyncClient,
    sleep: Callable[[float], Awaitable[None]],
    refresh: Callable[[str], Awaitable[str | MintError | None]],
) -> AssetReport:
    """The ``await`` twin of :func:`drive_sync`.

    ``Offload`` actions (fsync, hashing a resumed prefix: the slow disk work) run in a worker
    thread, so they never block the event loop; the small per-chunk writes stay inline.
    """
    chunks: dict[int, AsyncIterator[bytes]] = {}
    opened: list[httpx.Response] = []
    outcome: Any = None
    try:
        while True:
            try:
                action = flow.send(outcome)
            except StopIteration as stop:
                result: AssetReport = stop.value
                return result
            outcome = None
            try:
                if isinstance(action, Send):
                    outcome = await client.send(action.request)
                elif isinstance(action, Open):
                    outcome = await client.send(action.request, stream=True)
                    opened.append(outcome)
                elif isinstance(action, Read):
                    ait = chunks.get(id(action.response))
                    if ait is None:
                        ait = chunks[id(action.response)] = _async_chunks(action.response)
                    try:
                        outcome = await ait.__anext__()
                    except StopAsyncIteration:
                        outcome = b""
                elif isinstance(action, Drain):
                    await action.response.aread()
                    await action.response.aclose()
                elif isinstance(action, Close):
                    chunks.pop(id(action.response), None)
                    await action.response.aclose()
                elif isinstance(action, Sleep):
                    await sleep(action.seconds)
                elif isinstance(action, Offload):
                    outcome = await in_thread(action.fn)
                else:
                    outcome = await refresh(action.slot)
            except httpx.HTTPError as exc:
                outcome = exc
    finally:
        flow.close()
        for r in opened:
            await r.aclose()


# -------------------------------------------------------------------------- source, setup


@attrs.frozen
class Resolved:
    resource_id: str
    assets: WorldAssets | ModelAssets
    reread: Callable[[], Flow[Any]]


def _assets_of(obj: Operation | World | Model) -> WorldAssets | ModelAssets:
    assets = obj.assets
    if assets is None:
        what = type(obj).__name__.lower()
        raise InvalidArgumentError(
            f"{what} {obj.id} has no assets yet (status {obj.status!r}); wait for it to succeed"
        )
    return assets


def _resource_id(obj: Operation | World | Model) -> str:
    if isinstance(obj, Operation):
        return obj.resource_id or obj.id
    return obj.id


def _reader(core: Core, obj: Operation | World | Model) -> Callable[[], Flow[Any]]:
    if isinstance(obj, World):
        return lambda: calls.get_world_call(core, obj.id)
    if isinstance(obj, Model):
        return lambda: calls.get_model_call(core, obj.id)
    return lambda: calls.get_operation_call(core, obj.id)


def resolve_flow(core: Core, source: Source) -> Flow[Resolved]:
    """Read the source when given an id (or an operation without assets yet)."""
    obj: Operation | World | Model
    if isinstance(source, str):
        obj = yield from calls.get_operation_call(core, source)
    elif isinstance(source, Operation | World | Model):
        obj = source
        if obj.assets is None and isinstance(obj, Operation):
            obj = yield from calls.get_operation_call(core, obj.id)
    else:
        raise InvalidArgumentError(
            f"download() needs an Operation, World, Model or operation id, not {type(source).__name__}"
        )
    return Resolved(_resource_id(obj), _assets_of(obj), _reader(core, obj))


class _FreshUrls:
    """The source re-read at most once per download call (expired or denied URLs): the fresh URL
    of each slot, or the error of that one re-read. Both drivers guard it with their own lock."""

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings
        self._got: dict[str, str] | MintError | None = None

    @property
    def needed(self) -> bool:
        return self._got is None

    def store(self, obj: object) -> None:
        """Keep what the re-read gave: an Operation/World/Model, or the MintError it raised."""
        if isinstance(obj, MintError):
            self._got = obj
        elif not isinstance(obj, Operation | World | Model) or obj.assets is None:
            self._got = {}
        else:
            try:
                plan = dc.plan_assets(obj.assets, self._settings.include,
                                      self._settings.spz_resolution)  # fmt: skip
            except InvalidArgumentError:
                plan = dc.plan_assets(obj.assets)
            self._got = dc.urls_by_slot(plan)

    def url(self, slot: str) -> str | MintError | None:
        got = self._got
        return got if isinstance(got, MintError) or got is None else got.get(slot)


class _Settings:
    """What both drivers share: the plan, the folder, the manifest and the progress sink."""

    def __init__(
        self,
        resolved: Resolved,
        out: str | os.PathLike[str],
        include: Iterable[str] | None,
        spz_resolution: str | None,
        overwrite: bool,
        max_concurrency: int,
        progress: ProgressArg,
        core: Core,
        *,
        if_busy: IfBusy = "wait",
        lock_timeout: float | None = 300.0,
        verify: Verify | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise InvalidArgumentError("max_concurrency must be at least 1")
        if if_busy not in ("wait", "raise"):
            raise InvalidArgumentError(f"if_busy must be 'wait' or 'raise', not {if_busy!r}")
        if lock_timeout is not None and not is_seconds(lock_timeout):
            raise InvalidArgumentError(
                f"lock_timeout must be a finite number of seconds >= 0 or None, not {lock_timeout!r}"
            )
        if verify not in (None, "size", "sha256"):
            raise InvalidArgumentError(f"verify must be 'size', 'sha256' or None, not {verify!r}")
        self.if_busy: IfBusy = if_busy
        self.lock_timeout = lock_timeout
        self.verify: Verify | None = verify
        self.include = (
            list(include) if include is not None and not isinstance(include, str) else include
        )
        self.spz_resolution = spz_resolution
        self.plan = dc.plan_assets(resolved.assets, self.include, spz_resolution)
        self.resolved = resolved
        self.folder = prepare_folder(out, resolved.resource_id)
        self.manifest = Manifest(self.folder)
        self.max_concurrency = max_concurrency
        self.sink, self.closer = _progress_sink(progress)
        self._totals = dc.ProgressTotals()
        self._lock = threading.Lock()
        self.core = core
        self.overwrite = overwrite
        self.announce()

    def on_progress(
        self,
        p: dc.PlannedAsset,
        path: Path,
        done: int,
        total: int | None,
        finished: bool,
        status: str = "downloading",
    ) -> None:
        if self.sink is None:
            return
        with self._lock:
            event = self._totals.update(p.slot, p.kind, path, done, total, finished, status)
            self.sink(event)

    def announce(self) -> None:
        """One ``planned`` event per file before any request, so a total knows every file."""
        for p in self.plan:
            entry = self.manifest.entries.get(p.slot)
            size = dc.known_size(p, self.resolved.assets, entry)
            same = entry is not None and p.url and entry.url == dc.url_without_query(p.url)
            name = entry.name if same and entry is not None else p.name()
            self.on_progress(p, self.folder / dc.safe_component(name), 0, size, False, "planned")

    def job(self, planned: dc.PlannedAsset) -> Job:
        return Job(planned, self.folder, self.manifest, self.overwrite, self.core.retry,
                   self.core.clock, self.on_progress, self.if_busy, self.lock_timeout,
                   self.verify, dc.stated_size(planned, self.resolved.assets))  # fmt: skip

    def report(self, results: list[AssetReport]) -> DownloadReport:
        report = DownloadReport(self.resolved.resource_id, self.folder, tuple(results))
        return report

    def failed_report(self, planned: dc.PlannedAsset, exc: BaseException) -> AssetReport:
        url = dc.url_without_query(planned.url) if planned.url else None
        return AssetReport(planned.kind, planned.slot, url, self.folder / planned.name(),
                           "failed", error=dc.as_error(exc))  # fmt: skip


def _finish(report: DownloadReport, allow_partial: bool) -> DownloadReport:
    if not report.ok and not allow_partial:
        busy = [a.error for a in report.failed if isinstance(a.error, DownloadInProgressError)]
        if busy:
            raise DownloadInProgressError(dc.failure_message(report), report=report,
                                          path=busy[0].path)  # fmt: skip
        raise DownloadError(dc.failure_message(report), report=report)
    return report


# --------------------------------------------------------------------------------- progress


def _progress_sink(
    progress: ProgressArg,
) -> tuple[Callable[[DownloadProgress], object] | None, Callable[[], None]]:
    if progress is None or progress is False:
        return None, lambda: None
    if progress is True or progress == "bar":
        bar = RichProgressBar()
        return bar, bar.close
    if callable(progress):
        return progress, lambda: None
    raise InvalidArgumentError(
        f"progress must be a callable, 'bar', True or None; got {progress!r}"
    )


class RichProgressBar:
    """``progress="bar"``: one rich bar per file and one for the total, on stderr.

    Needs the optional dependency ``rich`` (``pip install 'mint-sdk[cli]'``).

    Example:
        >>> mint.assets.download(op, "out/", progress="bar")  # doctest: +SKIP
    """

    def __init__(self) -> None:
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )
        except ImportError:
            raise ConfigurationError(
                "progress='bar' needs the optional dependency rich: pip install 'mint-sdk[cli]'"
            ) from None
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._tasks: dict[Path, Any] = {}
        self._total = self._progress.add_task("total", total=None)
        self._progress.start()

    def __call__(self, event: DownloadProgress) -> None:
        task = self._tasks.get(event.path)
        if task is None:
            task = self._tasks[event.path] = self._progress.add_task(event.path.name, total=None)
        self._progress.update(task, completed=event.bytes_done, total=event.bytes_total)
        self._progress.update(
            self._total, completed=event.total_done, total=event.total_bytes or None
        )

    def close(self) -> None:
        self._progress.stop()


# ---------------------------------------------------------------------------- public classes

_DOC_ARGS = """
        Args:
            source: an ``Operation``, ``World``, ``Model`` or an operation id (read first).
            out: the target folder; files go to ``out/<resource id>/``.
            include: asset kinds to fetch (default all): ``spz``, ``rad``, ``collider``,
                ``pano``, ``preview``, ``thumbnail``, ``caption`` (worlds); ``glb``,
                ``optimized_glb``, ``preview``, ``thumbnail``, ``fbx``, ``obj``, ``stl``,
                ``usdz`` and any other ``*Url`` format (models).
            spz_resolution: only this ``spz_urls`` tier (e.g. ``"500k"``).
            overwrite: fetch again even when the manifest says the file is current.
            max_concurrency: files downloaded at the same time.
            progress: a callable receiving :class:`DownloadProgress` events, or ``"bar"``/True
                for a rich progress bar on stderr.
            allow_partial: return the report even when some assets failed.
            if_busy: another downloader (thread, task, process) is writing one of the files:
                ``"wait"`` for it (then skip what it completed) or ``"raise"``
                :class:`DownloadInProgressError` at once.
            lock_timeout: the longest wait (seconds; None: no bound) with ``if_busy="wait"``.
            verify: how a file already complete on disk is checked against the manifest
                before it is reported ``skipped``: ``"size"`` or ``"sha256"`` (re-reads it;
                the default when the manifest records one). A mismatch downloads it again.

        Returns:
            A :class:`DownloadReport` (one :class:`AssetReport` per asset).

        Raises:
            DownloadError: some asset failed (``error.report`` has the details) and
                ``allow_partial`` is False.
            DownloadInProgressError: (a DownloadError) a file stayed locked by another
                downloader (``if_busy="raise"``, or longer than ``lock_timeout``).
            InvalidArgumentError: unknown kind in ``include`` or unknown ``spz_resolution``.
            UnsafePathError: the target folder is a symlink or outside ``out``.
"""


class Assets:
    """``mint.assets``: download a world's or model's files (see :meth:`download`)."""

    def __init__(self, runner: SyncRunner) -> None:
        self._r = runner

    def download(
        self,
        source: Source,
        out: str | os.PathLike[str],
        *,
        include: Iterable[str] | None = None,
        spz_resolution: str | None = None,
        overwrite: bool = False,
        max_concurrency: int = 4,
        progress: ProgressArg = None,
        allow_partial: bool = False,
        if_busy: IfBusy = "wait",
        lock_timeout: float | None = 300.0,
        verify: Verify | None = None,
        **options: Unpack[RequestOptions],
    ) -> DownloadReport:
        c = self._r.using(options)  # timeout also bounds asset requests; extra_* only API ones
        core = c.core
        resolved = c.run(resolve_flow(core, source))
        s = _Settings(resolved, out, include, spz_resolution, overwrite, max_concurrency,
                      progress, core, if_busy=if_busy, lock_timeout=lock_timeout,
                      verify=verify)  # fmt: skip
        lock = threading.Lock()
        fresh = _FreshUrls(s)

        def refresh(slot: str) -> str | MintError | None:
            with lock:
                if fresh.needed:
                    try:
                        fresh.store(c.run(resolved.reread()))
                    except MintError as exc:
                        fresh.store(exc)
            return fresh.url(slot)

        client = _asset_client(httpx.Client, c, asset_transport)

        stop = threading.Event()

        def one(planned: dc.PlannedAsset) -> AssetReport:
            try:
                return drive_sync(file_flow(s.job(planned)), client, c.sleep, refresh, stop)
            except (MintError, OSError) as exc:
                return s.failed_report(planned, exc)

        try:
            workers = max(1, min(max_concurrency, len(s.plan)))
            with concurrent.futures.ThreadPoolExecutor(workers, "mint-download") as pool:
                try:
                    results = list(pool.map(one, s.plan))
                except BaseException:  # Ctrl-C: stop every worker before the error goes on
                    stop.set()
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        finally:
            client.close()
            s.closer()
        return _finish(s.report(results), allow_partial)

    download.__doc__ = (
        """Download every asset of a world or model into ``out/<resource id>/``.

        Safe (no credentials sent to asset hosts, names sanitised, confined to ``out``),
        resumable (partial files continue with Range/If-Range), verified (size and signature)
        and idempotent (a re-run skips current files after a HEAD).
"""
        + _DOC_ARGS
        + """
        Example:
            >>> report = mint.assets.download(op, "out/", include=["spz", "pano"],  # doctest: +SKIP
            ...                               spz_resolution="500k", progress="bar")
            >>> print(report.summary())                                           # doctest: +SKIP
"""
    )


class AsyncAssets:
    """``mint.assets`` of :class:`AsyncMint` (same behaviour, ``await``)."""

    def __init__(self, runner: AsyncRunner) -> None:
        self._r = runner

    async def download(
        self,
        source: Source,
        out: str | os.PathLike[str],
        *,
        include: Iterable[str] | None = None,
        spz_resolution: str | None = None,
        overwrite: bool = False,
        max_concurrency: int = 4,
        progress: ProgressArg = None,
        allow_partial: bool = False,
        if_busy: IfBusy = "wait",
        lock_timeout: float | None = 300.0,
        verify: Verify | None = None,
        **options: Unpack[RequestOptions],
    ) -> DownloadReport:
        c = self._r.using(options)  # timeout also bounds asset requests; extra_* only API ones
        core = c.core
        resolved = await c.run(resolve_flow(core, source))
        s = _Settings(resolved, out, include, spz_resolution, overwrite, max_concurrency,
                      progress, core, if_busy=if_busy, lock_timeout=lock_timeout,
                      verify=verify)  # fmt: skip
        lock = asyncio.Lock()
        fresh = _FreshUrls(s)

        async def refresh(slot: str) -> str | MintError | None:
            async with lock:
                if fresh.needed:
                    try:
                        fresh.store(await c.run(resolved.reread()))
                    except MintError as exc:
                        fresh.store(exc)
            return fresh.url(slot)

        client = _asset_client(httpx.AsyncClient, c, async_asset_transport)
        gate = asyncio.Semaphore(max_concurrency)

        async def one(planned: dc.PlannedAsset) -> AssetReport:
            async with gate:
                try:
                    return await drive_async(file_flow(s.job(planned)), client, c.sleep, refresh)
                except (MintError, OSError) as exc:
                    return s.failed_report(planned, exc)

        tasks = [asyncio.ensure_future(one(p)) for p in s.plan]
        try:
            results = list(await asyncio.gather(*tasks))
        except BaseException:  # cancelled, or a callback raised: stop every other file now
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            await client.aclose()
            s.closer()
        return _finish(s.report(results), allow_partial)

    download.__doc__ = (
        """Async twin of :meth:`Assets.download`.
"""
        + _DOC_ARGS
        + """
        Example:
            >>> report = await mint.assets.download("op_123", "out/")  # doctest: +SKIP
"""
    )
