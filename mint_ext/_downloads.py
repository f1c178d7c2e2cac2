"""``mint.assets``: safe, resumable, parallel, verified asset downloads (sync and async).

One flow per file (:func:`file_flow`) decides everything through ``_download_core`` and yields
actions of the SDK's one vocabulary (``_flow``): requests (``Send``, ``Stream``, ``ReadChunk``),
waits, the re-read of expired URLs (``Refresh``) and disk actions (``_files``: open, write,
fsync, rename, lock, read back, remove). It touches no socket, descriptor, thread or event loop:
the same two drivers as every other flow carry the actions out, the async one with every disk
action in a worker thread. ``download()`` is setup (:func:`setup_flow`, also a flow) and a
fan-out of file flows.

Guarantees:

- Asset requests go through their own HTTP client: no ``Authorization``, no cookies, redirects
  followed by hand (at most 5, never https -> http), ``Accept-Encoding: identity``.
- Bodies are streamed into ``out/<id>/.<slot>.part`` (opened with ``O_NOFOLLOW``), hashed
  while written (helper thread), handed to the disk in the background every 32 MiB
  (``fdatasync`` on a helper thread, Linux), flushed, fsynced and moved into place with
  ``os.replace``: a final path holds a complete, verified file or nothing.
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
import functools
import hashlib
import http.cookiejar
import os
import ssl
import sys
import threading
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar, Unpack

import attrs
import httpx

from . import _calls as calls
from . import _download_core as dc
from ._asset_transport import (
    ThreadedAssetTransport,
    asset_transport,
    async_asset_transport,
    borrowed_mounts,
    fast_reads_supported,
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
from ._files import (
    BackgroundHash,
    BackgroundWriteback,
    FileSize,
    FinishPart,
    HashFile,
    HeldLock,
    IsSymlink,
    OpenPart,
    PartState,
    PrepareFolder,
    ReadManifest,
    ReadSmall,
    RecordManifest,
    Remove,
    Replace,
    SyncFolder,
    TryLock,
    Unlock,
    WriteAtomic,
    WritePart,
    atomic_write,
    file_lock,
)
from ._flow import (
    Action,
    Close,
    Drain,
    Flow,
    ReadChunk,
    Refresh,
    Send,
    Sleep,
    Stream,
    in_thread,
    run_async,
    run_sync,
)
from ._models import Model, ModelAssets, Operation, World, WorldAssets
from ._options import RequestOptions
from ._retry import Clock, RetryPolicy, is_seconds, to_error
from ._runner import AsyncRunner, SyncRunner
from ._urls import url_problem

__all__ = [
    "AssetReport",
    "Assets",
    "AsyncAssets",
    "BackgroundHash",
    "BackgroundWriteback",
    "DownloadProgress",
    "DownloadReport",
    "UnsafePathError",
    "UnsafeRedirectError",
    "atomic_write",
    "file_lock",
    "in_thread",
]

Source = Operation | World | Model | str
ProgressArg = Callable[[DownloadProgress], object] | Literal["bar"] | bool | None
IfBusy = Literal["wait", "raise"]
Verify = Literal["size", "sha256"]
T = TypeVar("T")
#: Start the disk writeback of a download after every this many bytes.
WRITEBACK_EVERY = 32 * 1024 * 1024

FileFlow = Generator[Action, Any, AssetReport]


# ---------------------------------------------------------------------------------- the flow


@attrs.frozen
class Job:
    """Everything one file's flow needs."""

    planned: dc.PlannedAsset
    folder: Path
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
) -> Generator[Action, Any, tuple[httpx.Response | None, dc.Decision]]:
    """One request with redirects followed by hand; the decision about its answer.

    A ``GET`` is streamed (its body is read by the caller); a ``HEAD`` is a plain ``Send``.
    """
    current, hops = url, 0
    while True:
        request = _request(method, current, dc.range_headers(offset, etag))
        outcome = yield (Send(request) if method == "HEAD" else Stream(request))
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


def caption_flow(job: Job) -> FileFlow:
    """The caption is text from the API: written as ``caption.txt`` (no request)."""
    p = job.planned
    data = (p.text or "").encode("utf-8")
    final = dc.confined(job.folder, p.name())
    digest = hashlib.sha256(data).hexdigest()
    status: dc.Status = "downloaded"
    same_size = not job.overwrite and (yield FileSize(final)) == len(data)
    if same_size and (yield ReadSmall(final)) == data:
        status = "skipped"
    if status == "downloaded":
        yield WriteAtomic(job.folder, final.name, data)
    job.progress(p, final, len(data), len(data), True, status)
    return AssetReport(p.kind, p.slot, None, final, status, len(data), digest)


def _lock_flow(job: Job, path: Path) -> Generator[Action, Any, HeldLock | MintError]:
    """Take the file's lock: at once, or (``if_busy="wait"``) polling until ``lock_timeout``.

    Polls without blocking (a worker thread never sits in a lock a cancelled task would then
    own); the waits are the client's sleep, so Ctrl-C and fake clocks work as for retries.
    """
    deadline: float | None = None
    delay = 0.02
    while True:
        held: HeldLock | None = yield TryLock(path)
        if held is not None:
            return held
        now = job.clock.monotonic()
        if deadline is None:
            deadline = now + (job.lock_timeout if job.lock_timeout is not None else float("inf"))
        if job.if_busy == "raise" or now >= deadline:
            waited = "" if job.if_busy == "raise" else f" for {job.lock_timeout:g}s"
            return DownloadInProgressError(
                f"{job.planned.kind}: another download of this file is running"
                f"{waited} (lock {path})",
                path=path,
            )
        yield Sleep(min(delay, deadline - now))
        delay = min(delay * 2, 0.5)


def file_flow(job: Job) -> FileFlow:
    """Download one asset under its file lock: skip, resume, retry, refresh, verify, publish.

    The driver releases the lock (and closes the part file) if the flow is abandoned.
    """
    p = job.planned
    if p.url is None:
        return (yield from caption_flow(job))
    got = yield from _lock_flow(job, dc.confined(job.folder, p.lock_name))
    if isinstance(got, MintError):
        where = dc.confined(job.folder, p.name())
        job.progress(p, where, 0, None, True, "failed")
        return AssetReport(p.kind, p.slot, dc.url_without_query(p.url), where, "failed",
                           error=got)  # fmt: skip
    report = yield from _locked_file_flow(job, p.url)
    yield Unlock(got)
    return report


def _locked_file_flow(job: Job, url: str) -> FileFlow:
    p = job.planned
    folder = job.folder
    part = dc.confined(folder, p.part_name)
    sidecar = dc.confined(folder, p.sidecar_name)
    # Read under the lock: a writer that held it before may have just completed this file.
    entries: dict[str, dc.ManifestEntry] = yield ReadManifest(folder)
    entry = entries.get(p.slot)
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
        if dc.skip_candidate(entry, url, (yield FileSize(existing)), job.overwrite):
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
                confirmed = (yield HashFile(existing)) == entry.sha256
            if confirmed:
                job.progress(p, existing, entry.size, entry.size, True, "skipped")
                return AssetReport(p.kind, p.slot, dc.url_without_query(url), existing,
                                   "skipped", entry.size, entry.sha256)  # fmt: skip
            attempts = dc.Attempts(job.policy)

    ignore_part = job.overwrite
    while True:
        # -- where to start: resume a partial file of the same URL and strong ETag.
        info = dc.PartInfo.from_json((yield ReadSmall(sidecar)) or b"")
        part_size = yield FileSize(part)
        offset = dc.resume_offset(part_size, info, url, ignore_part)
        ignore_part = False
        etag = info.etag if offset and info else None
        response, decision = yield from _open_flow(job, "GET", url, offset, etag)

        if isinstance(decision, dc.Restart):
            if response is not None:
                yield Close(response)
            yield Remove((part, sidecar))
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
            yield Remove((part, sidecar))
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
            yield Remove((part, sidecar))
            return failed(exc)

        # -- stream the body into the part file (hashed as it is written).
        name = entry.name if entry and entry.url == dc.url_without_query(url) else None
        final = dc.confined(folder, name or p.name(response.headers.get("content-type")))
        if (yield IsSymlink(final)):
            yield Close(response)
            return failed(UnsafePathError(f"{final} is a symlink; refusing to replace it"), final)
        if start:  # re-reading the kept part to hash it can take seconds: say so
            job.progress(p, final, start, decision.total, False, "resuming")
        resumed_from = start
        clean = dc.url_without_query(url)
        sidecar_data = dc.PartInfo(clean, decision.etag, expected).to_json()
        yield WriteAtomic(folder, sidecar.name, sidecar_data)
        handle = yield OpenPart(part, start)
        written = reported = synced = start
        broken: MintError | None = None
        while True:
            chunk = yield ReadChunk(response)
            if isinstance(chunk, httpx.HTTPError):
                broken = to_error(chunk, job.clock.wall())
                break
            if not chunk:
                break
            if written == 0 and dc.is_html(None, chunk):
                broken = AssetVerificationError(f"{clean}: an HTML page, not an asset", url=clean)
                break
            written += len(chunk)
            # Hand the data to the disk now and then; not once the body is complete (the
            # fsync before the rename follows).
            kick = written - synced >= WRITEBACK_EVERY and (expected is None or written < expected)
            if kick:
                synced = written
            yield WritePart(handle, chunk, kick)
            if written - reported >= dc.CHUNK_SIZE:
                reported = written
                job.progress(p, final, written, expected, False, "downloading")
        state: PartState = yield FinishPart(handle)
        yield Close(response)
        made_progress = written > start

        if isinstance(broken, AssetVerificationError):
            yield Remove((part, sidecar))
            return failed(broken, final)
        if broken is None and expected is None:
            # Neither framing nor the API gave a size (a close-delimited body): a cut
            # connection looks like the end. Ask for the size before trusting the bytes.
            _, probe = yield from _open_flow(job, "HEAD", url, 0, None)
            if isinstance(probe, dc.Accept):
                if probe.etag and decision.etag and probe.etag != decision.etag:
                    yield Remove((part, sidecar))  # changed while it was read: start over
                    restarts += 1
                    if restarts > 2:
                        return failed(AssetVerificationError(
                            f"{clean}: keeps changing while it is read", url=clean), final)  # fmt: skip
                    continue
                expected = probe.total
                if expected is not None:
                    sidecar_data = dc.PartInfo(clean, decision.etag, expected).to_json()
                    yield WriteAtomic(folder, sidecar.name, sidecar_data)
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
            if state.size != written:
                raise AssetVerificationError(
                    f"{clean}: {state.size} bytes on disk, {written} written", url=clean
                )
            dc.verify(p.kind, ext, state.head, state.size, expected, url,
                      response.headers.get("content-type"))  # fmt: skip
        except AssetVerificationError as exc:
            yield Remove((part, sidecar))
            return failed(exc, final)
        yield Replace(part, final)
        yield Remove((sidecar,))
        yield SyncFolder(folder)
        recorded = dc.ManifestEntry(final.name, clean, decision.etag, written, state.sha256)
        yield RecordManifest(folder, p.slot, recorded)
        job.progress(p, final, written, written, True, "downloaded")
        return AssetReport(p.kind, p.slot, clean, final, "downloaded", written, state.sha256,
                           resumed_from)  # fmt: skip


# ------------------------------------------------------------------- the asset HTTP client


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


def _async_fast(workers: int, context: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
    """AsyncMint's asset transport: the sync fast one in ``workers`` threads where it can be
    (see :class:`~mint_ext._asset_transport.ThreadedAssetTransport`), else the async one."""
    if fast_reads_supported():  # the sync pool is ours, so its sockets can be shut down
        return ThreadedAssetTransport(context, workers)
    return async_asset_transport(context)


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
    of each slot, or the error of that one re-read. Both fan-outs guard it with their own lock."""

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


@attrs.frozen
class _Args:
    """The arguments of ``download()`` (checked before anything is sent or written)."""

    out: str | os.PathLike[str]
    include: list[str] | str | None
    spz_resolution: str | None
    overwrite: bool
    max_concurrency: int
    progress: ProgressArg
    if_busy: IfBusy = "wait"
    lock_timeout: float | None = 300.0
    verify: Verify | None = None

    def check(self) -> None:
        """``InvalidArgumentError`` for a value no download can use."""
        if self.max_concurrency < 1:
            raise InvalidArgumentError("max_concurrency must be at least 1")
        if self.if_busy not in ("wait", "raise"):
            raise InvalidArgumentError(f"if_busy must be 'wait' or 'raise', not {self.if_busy!r}")
        if self.lock_timeout is not None and not is_seconds(self.lock_timeout):
            raise InvalidArgumentError(
                "lock_timeout must be a finite number of seconds >= 0 or None, "
                f"not {self.lock_timeout!r}"
            )
        if self.verify not in (None, "size", "sha256"):
            raise InvalidArgumentError(
                f"verify must be 'size', 'sha256' or None, not {self.verify!r}"
            )
        progress = self.progress
        if not (progress in (None, False, True, "bar") or callable(progress)):
            raise InvalidArgumentError(
                f"progress must be a callable, 'bar', True or None; got {progress!r}"
            )


class _Settings:
    """What a download call's file flows share: the plan, the folder, the manifest as found at
    the start (for the announcements) and the progress sink."""

    def __init__(
        self,
        args: _Args,
        resolved: Resolved,
        plan: list[dc.PlannedAsset],
        folder: Path,
        entries: dict[str, dc.ManifestEntry],
        core: Core,
    ) -> None:
        self.include = args.include
        self.spz_resolution = args.spz_resolution
        self.overwrite = args.overwrite
        self.max_concurrency = args.max_concurrency
        self.if_busy: IfBusy = args.if_busy
        self.lock_timeout = args.lock_timeout
        self.verify: Verify | None = args.verify
        self.progress = args.progress
        self.resolved = resolved
        self.plan = plan
        self.folder = folder
        self.entries = entries
        self.core = core
        self.sink: Callable[[DownloadProgress], object] | None = None
        self.closer: Callable[[], None] = lambda: None
        self._totals = dc.ProgressTotals()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Open the progress sink (a rich bar starts here) and announce every file."""
        self.sink, self.closer = _progress_sink(self.progress)
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
            entry = self.entries.get(p.slot)
            size = dc.known_size(p, self.resolved.assets, entry)
            same = entry is not None and p.url and entry.url == dc.url_without_query(p.url)
            name = entry.name if same and entry is not None else p.name()
            self.on_progress(p, self.folder / dc.safe_component(name), 0, size, False, "planned")

    def job(self, planned: dc.PlannedAsset) -> Job:
        return Job(planned, self.folder, self.overwrite, self.core.retry, self.core.clock,
                   self.on_progress, self.if_busy, self.lock_timeout, self.verify,
                   dc.stated_size(planned, self.resolved.assets))  # fmt: skip

    def report(self, results: list[AssetReport]) -> DownloadReport:
        return DownloadReport(self.resolved.resource_id, self.folder, tuple(results))

    def failed_report(self, planned: dc.PlannedAsset, exc: BaseException) -> AssetReport:
        url = dc.url_without_query(planned.url) if planned.url else None
        return AssetReport(planned.kind, planned.slot, url, self.folder / planned.name(),
                           "failed", error=dc.as_error(exc))  # fmt: skip


def setup_flow(core: Core, source: Source, args: _Args) -> Flow[_Settings]:
    """Check the arguments, read the source if needed, plan the files, create the folder and
    read its manifest: everything before the file flows start."""
    args.check()
    resolved = yield from resolve_flow(core, source)
    plan = dc.plan_assets(resolved.assets, args.include, args.spz_resolution)
    folder: Path = yield PrepareFolder(args.out, resolved.resource_id)
    entries: dict[str, dc.ManifestEntry] = yield ReadManifest(folder)
    return _Settings(args, resolved, plan, folder, entries, core)


def _args(out: str | os.PathLike[str], include: Iterable[str] | None, **rest: Any) -> _Args:
    listed = list(include) if include is not None and not isinstance(include, str) else include
    return _Args(out, listed, **rest)


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
        >>> report = mint.assets.download(op, out, include=["thumbnail"], progress="bar")
        >>> print(report.ok)
        True
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
        """Download every asset of a world or model into ``out/<resource id>/``.

        Safe (no credentials sent to asset hosts, names sanitised, confined to ``out``),
        resumable (partial files continue with Range/If-Range), verified (size and signature)
        and idempotent (a re-run skips current files after a HEAD).
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

        Example:
            >>> report = mint.assets.download(op, out, include=["spz", "pano"],
            ...                               spz_resolution="500k")
            >>> print(report.ok, [a.path.name for a in report.assets])
            True ['splat_500k.spz', 'pano.png']
        """
        c = self._r.using(options)  # timeout also bounds asset requests; extra_* only API ones
        args = _args(out, include, spz_resolution=spz_resolution, overwrite=overwrite,
                     max_concurrency=max_concurrency, progress=progress, if_busy=if_busy,
                     lock_timeout=lock_timeout, verify=verify)  # fmt: skip
        s = c.run(setup_flow(c.core, source, args))
        lock = threading.Lock()
        fresh = _FreshUrls(s)

        def refresh(slot: str) -> str | MintError | None:
            with lock:
                if fresh.needed:
                    try:
                        fresh.store(c.run(s.resolved.reread()))
                    except MintError as exc:
                        fresh.store(exc)
            return fresh.url(slot)

        client = _asset_client(httpx.Client, c, asset_transport)
        stream = functools.partial(client.send, stream=True)
        stop = threading.Event()  # set on Ctrl-C: every worker's driver stops at once

        def one(planned: dc.PlannedAsset) -> AssetReport:
            try:
                return run_sync(file_flow(s.job(planned)), client.send, c.sleep, stream=stream,
                                refresh=refresh, stop=stop)  # fmt: skip
            except (MintError, OSError) as exc:
                return s.failed_report(planned, exc)

        try:
            s.start()
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
        """Async twin of :meth:`Assets.download`: the same arguments and behaviour, ``await``.
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

        Example:
            >>> import asyncio
            >>> from mint_ext import AsyncMint
            >>> async def main() -> None:
            ...     async with AsyncMint() as mint:  # MINT_API_KEY, MINT_BASE_URL
            ...         op = await mint.worlds.generate(prompt="A harbour")
            ...         op = await mint.operations.wait(op)
            ...         report = await mint.assets.download(op, out, include=["thumbnail"])
            ...         print(report.ok, [a.kind for a in report.assets])
            >>> asyncio.run(main())
            True ['thumbnail']
        """
        c = self._r.using(options)  # timeout also bounds asset requests; extra_* only API ones
        args = _args(out, include, spz_resolution=spz_resolution, overwrite=overwrite,
                     max_concurrency=max_concurrency, progress=progress, if_busy=if_busy,
                     lock_timeout=lock_timeout, verify=verify)  # fmt: skip
        s = await c.run(setup_flow(c.core, source, args))
        lock = asyncio.Lock()
        fresh = _FreshUrls(s)

        async def refresh(slot: str) -> str | MintError | None:
            async with lock:
                if fresh.needed:
                    try:
                        fresh.store(await c.run(s.resolved.reread()))
                    except MintError as exc:
                        fresh.store(exc)
            return fresh.url(slot)

        client = _asset_client(
            httpx.AsyncClient, c, functools.partial(_async_fast, max_concurrency)
        )
        stream = functools.partial(client.send, stream=True)
        gate = asyncio.Semaphore(max_concurrency)

        async def one(planned: dc.PlannedAsset) -> AssetReport:
            async with gate:
                try:
                    return await run_async(file_flow(s.job(planned)), client.send, c.sleep,
                                           stream=stream, refresh=refresh)  # fmt: skip
                except (MintError, OSError) as exc:
                    return s.failed_report(planned, exc)

        tasks: list[asyncio.Future[AssetReport]] = []
        try:
            s.start()
            tasks = [asyncio.ensure_future(one(p)) for p in s.plan]
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
