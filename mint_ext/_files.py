"""The download's disk actions and the blocking code that carries them out.

The download flow (``_downloads.file_flow``) only yields these descriptions; the drivers of
``_flow`` perform them (the sync one in place, the async one in a worker thread). Each action is
a frozen attrs class whose :meth:`~mint_ext._flow.DiskAction.run` does the work; an open part
file and a held lock are :class:`~mint_ext._flow.Resource` handles that the driver releases if
the flow is abandoned.

Files are opened with ``O_NOFOLLOW``; small files (sidecars, manifest, caption) are written
through a temp file unique per writer, fsync and ``os.replace``; part files are hashed while
written (helper thread) and handed to the disk in the background (``fdatasync`` on a helper
thread, Linux) so that the final ``fsync`` has little left to wait for.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import secrets
import threading
import weakref
from pathlib import Path
from typing import Any

import attrs
import filelock

from . import _download_core as dc
from ._download_core import UnsafePathError
from ._flow import DiskAction, Resource

__all__ = [
    "BackgroundHash",
    "BackgroundWriteback",
    "FileSize",
    "FinishPart",
    "HashFile",
    "HeldLock",
    "IsSymlink",
    "OpenPart",
    "PartFile",
    "PartState",
    "PrepareFolder",
    "ReadManifest",
    "ReadSmall",
    "RecordManifest",
    "Remove",
    "Replace",
    "SyncFolder",
    "TryLock",
    "Unlock",
    "WriteAtomic",
    "WritePart",
    "atomic_write",
    "file_lock",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_HAS_FDATASYNC = hasattr(os, "fdatasync")  # not on Windows or macOS: only the final fsync
#: Part-file buffer: chunks smaller than its free space are gathered, larger ones go straight out.
WRITE_BUFFER = 256 * 1024


# ------------------------------------------------------------------------- blocking helpers


def lsize(path: Path) -> int | None:
    """Size of a regular file; None if absent. A symlink is refused."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if path.is_symlink():
        raise UnsafePathError(f"{path} is a symlink; refusing to use it")
    return st.st_size


def read_small(path: Path, limit: int = 1 << 20) -> bytes | None:
    """At most ``limit`` bytes of ``path`` (None if absent; a symlink is not followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(limit)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform can)."""
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


def remove(*paths: Path) -> None:
    """Unlink each of ``paths`` that exists."""
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


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
        remove(tmp)
        raise
    fsync_dir(folder)


def file_lock(path: Path) -> filelock.FileLock:
    """An inter-process lock on ``path`` (``flock``/``LockFileEx`` through ``filelock``).

    ``thread_local=False``: the async driver takes it in one worker thread and may release it
    in another. The lock file itself stays (removing it would race a waiter).
    """
    return filelock.FileLock(str(path), thread_local=False)


def hash_file(path: Path) -> str | None:
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


def read_manifest(folder: Path) -> dict[str, dc.ManifestEntry]:
    """The entries of ``folder``'s ``.mint-download.json`` on disk now."""
    return dc.load_manifest(read_small(dc.confined(folder, dc.MANIFEST_NAME), 1 << 24))


# ------------------------------------------------------------------ hashing and writeback


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
        """Queue ``chunk`` for hashing (waits while ``depth`` chunks are queued)."""
        self._queue.put(chunk)

    def stop(self) -> None:
        """Hash what is queued and end the thread."""
        self._finalizer()  # sends the end marker once
        self._thread.join()

    def hexdigest(self) -> str:
        """:meth:`stop`, then the digest of everything given."""
        self.stop()
        return str(self._hash.hexdigest())


class BackgroundWriteback:
    """Starts the disk writeback of a file being written while the download goes on.

    Every :meth:`kick` asks a helper thread to ``fdatasync`` what has been written so far (on a
    duplicate descriptor that the thread owns and closes, so the writer's descriptor can close at
    any time); the final ``fsync`` before the rename then only waits for the last stretch. On a
    512 MiB download that final ``fsync`` was a fifth of the wall time
    (``bench/bench_downloads.py``). Kicks while a sync is running are merged into one more.

    :meth:`stop` never waits (it runs where a Ctrl-C or a cancelled task must not be held up): a
    sync asked for but not started is dropped, one in progress finishes in the background, then
    the thread ends. :meth:`join` waits for that; the download calls it just before its own
    ``fsync``.
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


# ---------------------------------------------------------------------------- handles


class HeldLock(Resource):
    """A file lock this process holds (the answer to :class:`TryLock`)."""

    def __init__(self, lock: filelock.FileLock) -> None:
        self._lock = lock
        self.path = Path(lock.lock_file)

    def release(self) -> None:
        """Unlock (once; later calls do nothing)."""
        if self._lock.is_locked:
            self._lock.release()


@attrs.frozen
class PartState:
    """What :class:`FinishPart` read back from the part file: its size and first bytes on disk,
    and the sha256 of every byte in it (the kept prefix and what was written)."""

    size: int
    head: bytes
    sha256: str


class PartFile(Resource):
    """A part file open for writing (the answer to :class:`OpenPart`).

    Writes go through a ``WRITE_BUFFER`` buffer (TLS gives 16 KiB records; a bigger chunk goes
    to the file without a copy), into the sha256 thread, and, when the flow asks, into a
    background writeback.
    """

    def __init__(self, path: Path, keep: int) -> None:
        self.path = path
        prefix = _hash_prefix(path, keep) if keep else None
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _BINARY, 0o644)
        self._file = os.fdopen(fd, "r+b", buffering=WRITE_BUFFER)
        self._closed = False
        self._writeback: BackgroundWriteback | None = None
        try:
            self._file.truncate(keep)
            self._file.seek(keep)
            self._hash = BackgroundHash(prefix)
            if _HAS_FDATASYNC:
                self._writeback = BackgroundWriteback(self._file.fileno())
        except BaseException:
            self.release()
            raise

    def write(self, data: bytes, writeback: bool) -> None:
        """Append ``data``; ``writeback``: then start handing what is written to the disk."""
        self._file.write(data)
        self._hash.update(data)
        if writeback and self._writeback is not None:
            self._file.flush()
            self._writeback.kick()

    def finish(self) -> PartState:
        """Flush, wait for the writeback, ``fsync``, read back size and first bytes, close."""
        f = self._file
        f.flush()
        if self._writeback is not None:
            self._writeback.join()
        os.fsync(f.fileno())
        size = os.fstat(f.fileno()).st_size
        f.seek(0)
        head = f.read(dc.HEAD_BYTES)
        digest = self._hash.hexdigest()
        self.release()
        return PartState(size, head, digest)

    def release(self) -> None:
        """Close without waiting for the disk (kept for a resume); once."""
        if self._closed:
            return
        self._closed = True
        if getattr(self, "_hash", None) is not None:
            self._hash.stop()
        if self._writeback is not None:
            self._writeback.stop()
        with contextlib.suppress(OSError):  # a lost tail only shortens what a resume keeps
            self._file.close()


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


# ---------------------------------------------------------------------------- the actions


@attrs.frozen
class PrepareFolder(DiskAction):
    """Create ``out/<safe id>/`` (checked to be a real folder inside ``out``); answers it."""

    out: str | os.PathLike[str]
    resource_id: str

    def run(self) -> Path:
        return prepare_folder(self.out, self.resource_id)


@attrs.frozen
class ReadManifest(DiskAction):
    """The manifest entries of ``folder`` on disk now."""

    folder: Path

    def run(self) -> dict[str, dc.ManifestEntry]:
        return read_manifest(self.folder)


@attrs.frozen
class RecordManifest(DiskAction):
    """Merge ``slot``'s entry into the manifest on disk under its inter-process lock
    (``.mint-download.json.lock``): concurrent downloaders never lose each other's entries."""

    folder: Path
    slot: str
    entry: dc.ManifestEntry

    def run(self) -> dict[str, dc.ManifestEntry]:
        with file_lock(dc.confined(self.folder, dc.MANIFEST_NAME + ".lock")):
            entries = read_manifest(self.folder)
            entries[self.slot] = self.entry
            atomic_write(self.folder, dc.MANIFEST_NAME, dc.dump_manifest(entries))
            return entries


@attrs.frozen
class TryLock(DiskAction):
    """Take the inter-process lock ``path`` if it is free now (never waits): answers a
    :class:`HeldLock`, or None when another writer holds it."""

    path: Path

    def run(self) -> HeldLock | None:
        lock = file_lock(self.path)
        try:
            lock.acquire(blocking=False)
        except filelock.Timeout:
            return None
        return HeldLock(lock)


@attrs.frozen
class Unlock(DiskAction):
    """Release a lock taken with :class:`TryLock`."""

    lock: HeldLock

    def run(self) -> None:
        self.lock.release()


@attrs.frozen
class FileSize(DiskAction):
    """Size of the regular file ``path`` (None if absent); a symlink is an UnsafePathError."""

    path: Path

    def run(self) -> int | None:
        return lsize(self.path)


@attrs.frozen
class IsSymlink(DiskAction):
    """Whether ``path`` is a symlink."""

    path: Path

    def run(self) -> bool:
        return self.path.is_symlink()


@attrs.frozen
class ReadSmall(DiskAction):
    """At most ``limit`` bytes of ``path`` (None if absent)."""

    path: Path
    limit: int = 1 << 20

    def run(self) -> bytes | None:
        return read_small(self.path, self.limit)


@attrs.frozen
class WriteAtomic(DiskAction):
    """Write ``folder/name`` through a temp file unique to this writer, fsync, rename."""

    folder: Path
    name: str
    data: bytes

    def run(self) -> None:
        atomic_write(self.folder, self.name, self.data)


@attrs.frozen
class Remove(DiskAction):
    """Unlink each of ``paths`` that exists."""

    paths: tuple[Path, ...]

    def run(self) -> None:
        remove(*self.paths)


@attrs.frozen
class Replace(DiskAction):
    """``os.replace(src, dst)``: publish a verified part file under its final name."""

    src: Path
    dst: Path

    def run(self) -> None:
        os.replace(self.src, self.dst)


@attrs.frozen
class SyncFolder(DiskAction):
    """``fsync`` the folder so that a rename in it is durable."""

    folder: Path

    def run(self) -> None:
        fsync_dir(self.folder)


@attrs.frozen
class HashFile(DiskAction):
    """sha256 of the whole file ``path`` (None if it vanished)."""

    path: Path

    def run(self) -> str | None:
        return hash_file(self.path)


@attrs.frozen
class OpenPart(DiskAction):
    """Open the part file ``path`` (created if absent), hash its first ``keep`` bytes, cut it
    there and stand at its end: answers a :class:`PartFile`."""

    path: Path
    keep: int = 0

    def run(self) -> PartFile:
        return PartFile(self.path, self.keep)


@attrs.frozen
class WritePart(DiskAction):
    """Append ``data`` to ``part``; ``writeback``: then start the disk writeback."""

    part: PartFile
    data: bytes
    writeback: bool = False

    def run(self) -> None:
        self.part.write(self.data, self.writeback)


@attrs.frozen
class FinishPart(DiskAction):
    """Flush and ``fsync`` ``part``, read back its size and first bytes, close it: answers a
    :class:`PartState`."""

    part: PartFile

    def run(self) -> PartState:
        return self.part.finish()
