"""The default transports of the asset (CDN) clients: httpx's own, reading 1 MiB at a time.

httpcore reads a response body 64 KiB per ``recv``; every read then climbs through h11, httpcore
and httpx. For multi-hundred-MiB assets that per-read cost, not the network, bounds throughput
(``bench/bench_downloads.py``). These transports are httpx's ``HTTPTransport`` /
``AsyncHTTPTransport`` whose connection pool gets a network backend that asks for at least
``READ_SIZE`` bytes per read: the same TLS, timeouts, keep-alive and error mapping, fewer trips.

Over TLS a read returns a single record (at most 16 KiB), so the streams also gather the records
that have already arrived whole (reading without blocking: a partial record is left for the next
read) into one chunk: https
downloads went from ~170 to ~400 MiB/s sync and ~160 to ~280 MiB/s async on loopback.

AsyncMint's downloads use :class:`ThreadedAssetTransport`: the sync transport in worker threads
of their own (asyncio's TLS decrypts one record per loop trip; https async downloads went from
~0.6x to about the sync speed), interrupted by shutting its sockets down when a task is
cancelled. Where that transport cannot be used (outside :data:`TESTED_WITH`), the async one
below: its 1 MiB reads are also given to asyncio's socket transport, which otherwise reads 256
KiB per ``recv`` (see :func:`_widen_asyncio_reads`). The pools keep httpx's default limits and
TLS setup.

Body bytes are then handed from the socket to the caller without copies: h11's receive buffer
copies every byte four times on its way through (into its buffer, two slices, and httpcore's
``bytes()``), a third of a 512 MiB download's main-thread time. :class:`_HandOverBuffer` passes
whole reads through instead (see its docstring).

If httpx's internals ever change shape (the pool is a private attribute), the plain httpx
transport is used instead: slower, never wrong. The same happens outside the versions of h11,
httpcore and AnyIO these classes were tested with (:data:`TESTED_WITH`): the subclassed buffer
and the stream attributes read here are private to them. A user-supplied transport is always
used as given.

The asset clients inherit the caller's TLS settings and proxies: the SSL context of the API
client's own transport (its ``verify``, ``cert`` and ``trust_env``) and its proxy mounts
(:func:`inherited_tls`, :func:`borrowed_mounts`), so ``Mint(http_client=httpx.Client(verify=
corporate_ca))`` downloads through the same trust store.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import importlib.metadata
import queue
import re
import socket
import ssl
import threading
import typing
from collections.abc import Callable

import httpcore
import httpx

from ._flow import in_thread

if typing.TYPE_CHECKING:
    from h11._receivebuffer import ReceiveBuffer as _H11ReceiveBuffer
else:  # h11 is httpcore's HTTP/1.1 parser; its buffer class is private, so it is optional here
    try:
        from h11._receivebuffer import ReceiveBuffer as _H11ReceiveBuffer
    except ImportError:  # pragma: no cover - a future h11 without it: plain (copying) buffers
        _H11ReceiveBuffer = object

READ_SIZE = 1 << 20
T = typing.TypeVar("T")

#: The versions the fast reads were tested with: [lowest, first untested). Outside them the asset
#: clients use httpx's plain transports (``tests/test_asset_transport.py`` pins the shapes).
TESTED_WITH: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "h11": ((0, 14), (0, 17)),
    "httpcore": ((1, 0), (1, 1)),
    "anyio": ((4, 0), (5, 0)),
}


def _version(package: str) -> tuple[int, int] | None:
    try:
        text = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    m = re.match(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def fast_reads_supported(packages: typing.Iterable[str] = ("h11", "httpcore")) -> bool:
    """Are the installed ``packages`` inside :data:`TESTED_WITH`? (async also needs anyio)."""
    for package in packages:
        version = _version(package)
        low, high = TESTED_WITH[package]
        if version is None or not low <= version < high:
            return False
    return True


def inherited_tls(client: object) -> ssl.SSLContext | None:
    """The SSL context of ``client``'s own transport (httpx builds it from the client's
    ``verify``, ``cert`` and ``trust_env``), or None when it has another shape (a custom
    transport: then the asset client builds httpx's default context)."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    context = getattr(pool, "_ssl_context", None)
    return context if isinstance(context, ssl.SSLContext) else None


class _Borrowed(httpx.BaseTransport):
    """A transport of the caller's client, used by the asset client without owning it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:  # the caller's client closes it
        pass


class _AsyncBorrowed(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        pass


def borrowed_mounts(client: object) -> dict[str, typing.Any]:
    """``client``'s mounts (its proxies: ``proxy=``, ``mounts=`` or the environment's), shared
    with the asset client but still owned (and closed) by ``client``."""
    mounts = getattr(client, "_mounts", None)
    if not isinstance(mounts, dict):
        return {}
    out: dict[str, typing.Any] = {}
    for pattern, transport in mounts.items():
        key = getattr(pattern, "pattern", None)
        if not isinstance(key, str):
            continue
        if transport is None:
            out[key] = None
        elif isinstance(transport, httpx.BaseTransport):
            out[key] = _Borrowed(transport)
        elif isinstance(transport, httpx.AsyncBaseTransport):
            out[key] = _AsyncBorrowed(transport)
    return out


def _gather_ready(sock: ssl.SSLSocket, first: bytes, size: int) -> bytes:
    """``first`` plus whatever ``sock`` can give right now, up to ``size`` bytes in all.

    A TLS socket hands out one record (<= 16 KiB) per read. The socket is read *non-blocking*
    here: only records that have already arrived whole are taken, and a partial record stays
    inside OpenSSL for the next (blocking, timed) read. Errors are left for that read to raise
    through httpcore's error mapping; the bytes already received are returned.
    """
    parts, total = [first], len(first)
    previous = sock.gettimeout()
    try:
        sock.settimeout(0.0)
        while total < size:
            try:
                more = sock.recv(size - total)
            except OSError:  # SSLWantRead (nothing complete yet), or an error for the next read
                break
            if not more:
                break
            parts.append(more)
            total += len(more)
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(previous)
    return b"".join(parts) if len(parts) > 1 else first


class _LargeReads(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, live: _Live | None = None) -> None:
        self._inner = inner
        sock = inner.get_extra_info("socket")
        self._tls: ssl.SSLSocket | None = sock if isinstance(sock, ssl.SSLSocket) else None
        self._live = live
        if live is not None and isinstance(sock, socket.socket):
            live.add(sock)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        size = max(max_bytes, READ_SIZE)
        data = self._inner.read(size, timeout)
        if self._tls is None or not data or len(data) >= size:
            return data
        # Climb h11, httpcore and httpx once per ~1 MiB, not once per 16 KiB TLS record
        # (https downloads: see bench/bench_downloads.py).
        return _gather_ready(self._tls, data, size)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        if self._live is not None:
            self._live.discard(self._inner.get_extra_info("socket"))
        self._inner.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:  # fmt: skip
        if self._live is not None:
            self._live.discard(self._inner.get_extra_info("socket"))
        inner = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _LargeReads(inner, self._live)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _HandOverBuffer(_H11ReceiveBuffer):
    """h11's receive buffer, minus the copies of body bytes.

    h11 appends every read to a ``bytearray`` and slices body data out of it (twice), and
    httpcore turns that into ``bytes`` again. Here, a ``bytes`` read that arrives while the
    buffer is empty is kept as it is, and a body read that takes everything buffered gets that
    very object: for a 1 MiB read, no copy at all. Anything else (headers, chunk-size lines, a
    read that holds the end of one message and the start of the next) first turns the buffer
    back into the ``bytearray`` h11 expects, and h11's own code handles it.
    """

    _data: bytes | bytearray  # type: ignore[assignment]  # h11 says bytearray; see above

    def __iadd__(self, data: bytes | bytearray) -> _HandOverBuffer:
        if not self._data and type(data) is bytes:  # immutable: safe to keep without copying
            self._data = data
            return self
        self._as_bytearray()
        self._data += data
        return self

    def _as_bytearray(self) -> None:
        if type(self._data) is not bytearray:
            self._data = bytearray(self._data)

    def _extract(self, count: int) -> bytearray:
        self._as_bytearray()
        return super()._extract(count)

    def maybe_extract_at_most(self, count: int) -> bytes | bytearray | None:  # type: ignore[override]
        data = self._data
        if not data:
            return None
        if count < len(data):
            return self._extract(count)
        self._data = bytearray()
        self._next_line_search = 0
        self._multiple_lines_search = 0
        return data


def _hand_over_body_bytes(stream: object) -> None:
    """Give the h11 connection behind a pool response stream a :class:`_HandOverBuffer`.

    The path is httpcore's ``PoolByteStream._stream`` (the HTTP/1.1 connection's byte stream)
    ``._connection._h11_state._receive_buffer``; anything of another shape (HTTP/2, a future
    httpcore or h11) is left alone, which only costs the copies.
    """
    connection = getattr(getattr(stream, "_stream", None), "_connection", None)
    state = getattr(connection, "_h11_state", None)
    buffer = getattr(state, "_receive_buffer", None)
    if (
        _H11ReceiveBuffer is not object
        and type(buffer) is _H11ReceiveBuffer
        and isinstance(getattr(buffer, "_data", None), bytearray)
    ):
        buffer.__class__ = _HandOverBuffer  # same layout: a subclass that adds no state


class _Pool(httpcore.ConnectionPool):
    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        response = super().handle_request(request)
        _hand_over_body_bytes(response.stream)
        return response


class _AsyncPool(httpcore.AsyncConnectionPool):
    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        response = await super().handle_async_request(request)
        _hand_over_body_bytes(response.stream)
        return response


def _widen_asyncio_reads(stream: object) -> Callable[[], None] | None:
    """Let asyncio's socket transport under an AnyIO stream read up to ``READ_SIZE`` per ``recv``.

    asyncio's selector transport reads at most 256 KiB per ``recv`` and AnyIO hands out one such
    chunk per ``receive()``, each with an event-loop round trip: raising the transport's
    ``max_size`` took plain-HTTP async downloads from ~480 to ~700+ MiB/s. Only done when the
    objects have the expected shape (httpcore's ``AnyIOStream._stream`` -> AnyIO
    ``SocketStream._transport`` -> an asyncio transport with an int ``max_size``); otherwise
    nothing changes. Returns the function that puts the old size back (None if nothing changed):
    TLS must not run on the wide reads, because AnyIO's TLS layer asks for 64 KiB at a time and
    would have every large chunk cut and copied again and again (about 30 % slower).
    """
    anyio_stream = getattr(stream, "_stream", None)
    transport = getattr(anyio_stream, "_transport", None)
    old = getattr(transport, "max_size", None)
    if not isinstance(transport, asyncio.Transport) or not isinstance(old, int):
        return None
    transport.max_size = READ_SIZE  # type: ignore[attr-defined]

    def restore() -> None:
        transport.max_size = old  # type: ignore[attr-defined]

    return restore


def _anyio_tls_reader(stream: object) -> Callable[[int], bytes] | None:
    """For an AnyIO TLS stream: a function that reads up to ``n`` bytes that can be decrypted
    *now* (from what AnyIO has already fed its ``SSLObject``), b"" when a read would have to wait
    for the network or fails (the next regular read then waits, or raises through httpcore).
    None when the stream is not TLS or not of the expected shape (AnyIO's ``TLSStream``)."""
    ssl_object = getattr(getattr(stream, "_stream", None), "_ssl_object", None)
    if not isinstance(ssl_object, ssl.SSLObject):
        return None

    def read_now(n: int) -> bytes:
        try:
            return ssl_object.read(n)
        except ssl.SSLError:  # SSLWantReadError: nothing complete yet; others: for the next read
            return b""

    return read_now


class AsyncStreamWrapper(httpcore.AsyncNetworkStream):
    """An httpcore async network stream that hands everything to ``inner``; subclasses change
    what they need (a TLS upgrade is wrapped the same way, by ``type(self)(...)``)."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:  # fmt: skip
        return type(self)(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _AsyncLargeReads(AsyncStreamWrapper):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        super().__init__(inner)
        self._narrow = _widen_asyncio_reads(inner)
        self._tls_read_now = _anyio_tls_reader(inner)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        size = max(max_bytes, READ_SIZE)
        data = await self._inner.read(size, timeout)
        read_now = self._tls_read_now
        if read_now is None or not data or len(data) >= size:
            return data
        # As in the sync stream: add the TLS records that have already arrived, without waiting.
        parts, total = [data], len(data)
        while total < size and (more := read_now(size - total)):
            parts.append(more)
            total += len(more)
        return b"".join(parts) if len(parts) > 1 else data

    async def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:  # fmt: skip
        if self._narrow is not None:
            self._narrow()
        return await super().start_tls(ssl_context, server_hostname, timeout)


class _Live:
    """The open sockets of one transport, so that :meth:`interrupt` can end a blocked read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._closed = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            closed = self._closed
            if not closed:
                self._socks.add(sock)
        if closed:  # a connect that finished after the interrupt: fail its request at once
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def discard(self, sock: object) -> None:
        with self._lock:
            self._socks.discard(sock)

    def interrupt(self) -> None:
        """Shut every open socket down: a thread blocked reading one gets an error at once.

        The plain socket's ``shutdown`` (not ``SSLSocket.shutdown``, which would also drop the
        TLS object under the reading thread's feet). A socket added later is shut down as it
        comes (a connect or TLS handshake under way cannot be interrupted; see
        :class:`ThreadedAssetTransport`)."""
        with self._lock:
            self._closed = True
            socks = list(self._socks)
        for sock in socks:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, live: _Live | None = None) -> None:
        self._inner = httpcore.SyncBackend()
        self._live = live

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:  # fmt: skip
        return _LargeReads(self._inner.connect_tcp(host, port, timeout, local_address,
                                                   socket_options), self._live)  # fmt: skip

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AsyncBackendWrapper(httpcore.AsyncNetworkBackend):
    """``inner``'s connections, each wrapped by ``wrap`` (an :class:`AsyncStreamWrapper`)."""

    def __init__(
        self,
        inner: httpcore.AsyncNetworkBackend,
        wrap: Callable[[httpcore.AsyncNetworkStream], httpcore.AsyncNetworkStream],
    ) -> None:
        self._inner, self._wrap = inner, wrap

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:  # fmt: skip
        return self._wrap(await self._inner.connect_tcp(host, port, timeout, local_address,
                                                        socket_options))  # fmt: skip

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[typing.Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:  # fmt: skip
        return self._wrap(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _AsyncBackend(AsyncBackendWrapper):
    """AnyIO's connections with :class:`_AsyncLargeReads`."""

    def __init__(self) -> None:
        super().__init__(httpcore.AnyIOBackend(), _AsyncLargeReads)


def _pool_options(ssl_context: ssl.SSLContext) -> dict[str, typing.Any]:
    """What httpx's transport gives its pool by default (one SSL context, httpx's limits)."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
    return {
        "ssl_context": ssl_context,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


def proxied_by_environment() -> bool:
    """True when ``HTTP(S)_PROXY``/``ALL_PROXY`` (or the OS settings) name a proxy.

    httpx applies those only to clients built *without* a ``transport=``; the asset clients then
    use plain httpx (proxies, ``NO_PROXY`` and all) instead of the transports below.
    """
    import urllib.request  # ~30 ms to import: only when an asset client is made

    return any(scheme in ("http", "https", "all") for scheme in urllib.request.getproxies())


def asset_transport(
    ssl_context: ssl.SSLContext | None = None, live: _Live | None = None
) -> httpx.HTTPTransport:
    """httpx's transport with 1 MiB reads, verifying with ``ssl_context`` (default: httpx's).

    Plain httpx when its internals are not as expected or outside :data:`TESTED_WITH`. ``live``
    (optional) gets every socket the transport opens.
    """
    context = ssl_context or httpx.create_ssl_context()  # loading the CA bundle takes ~20 ms
    transport = httpx.HTTPTransport(verify=context)
    if fast_reads_supported() and isinstance(
        getattr(transport, "_pool", None), httpcore.ConnectionPool
    ):
        transport._pool = _Pool(network_backend=_Backend(live), **_pool_options(context))
    return transport


class _ThreadedBody(httpx.AsyncByteStream):
    """A sync response body read ahead by a worker thread (see :class:`ThreadedAssetTransport`).

    The worker reads on while the event loop hands earlier pieces to the disk (at most
    :data:`AHEAD` pieces, ~1 MiB each, wait in memory): one thread hop per MiB costs the loop
    nothing it waits on. Errors of the read (httpx's own types) are raised where the piece
    would have come. Closing early (the flow saw enough, or its reader was dropped) stops the
    worker: this response's socket is shut down so a read under way ends now, and the worker,
    the only one touching the stream then, closes it (exactly one side closes, decided under a
    lock). A *cancelled* reader shuts all the transport's sockets down: the whole download
    stops together.
    """

    AHEAD = 4
    _END = object()

    def __init__(
        self, inner: httpx.SyncByteStream, owner: ThreadedAssetTransport, sock: object
    ) -> None:
        self._inner = inner
        self._owner = owner
        self._sock = sock if isinstance(sock, socket.socket) else None
        self._room = threading.Semaphore(self.AHEAD)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pumping = False  # a worker owns the stream (until _done)
        self._done = False

    def _pump(self, post: Callable[[object], None]) -> None:
        try:
            for piece in self._inner:
                while not self._room.acquire(timeout=0.1):
                    if self._stop.is_set():
                        return
                if self._stop.is_set():
                    return
                post(piece)
            post(self._END)
        except BaseException as exc:  # the read's error, for the reader (httpx's types)
            post(exc)
        finally:
            with self._lock:
                self._done = True
                close = self._stop.is_set()
            if close:
                self._inner.close()

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[object] = asyncio.Queue()

        def post(item: object) -> None:
            try:
                loop.call_soon_threadsafe(pieces.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody reads any more
                self._stop.set()

        with self._lock:
            self._pumping = True
        self._owner.submit(functools.partial(self._pump, post))
        try:
            while True:
                item = await pieces.get()
                self._room.release()
                if item is self._END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield typing.cast(bytes, item)
        except asyncio.CancelledError:
            self._owner.interrupt()
            self._stop_early()
            raise
        except GeneratorExit:  # dropped by its reader: only this body stops
            self._stop_early()
            raise

    def _stop_early(self) -> bool:
        """Ask a running worker to stop and close; False if no worker owns the stream now."""
        with self._lock:
            self._stop.set()
            running = self._pumping and not self._done
        if running:
            self._room.release()
            if self._sock is not None:  # a read under way ends now (this response only)
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
        return running

    async def aclose(self) -> None:
        if not self._stop_early():
            self._inner.close()  # on the loop: closing waits on nothing


class _DaemonThreads(concurrent.futures.Executor):
    """A thread pool whose threads are daemons: the interpreter never waits for one at exit.

    ``ThreadPoolExecutor`` joins its workers at exit; a worker left in a network call (a
    download abandoned with its event loop, a connect that cannot be interrupted) would hold the
    program up to the read or connect timeout. These workers only do network I/O, never touch a
    file, so ending them with the process loses nothing. Threads start as work arrives (up to
    ``workers``) and are reused while idle.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._work: queue.SimpleQueue[tuple[concurrent.futures.Future[typing.Any],
                                            Callable[[], typing.Any]] | None] = queue.SimpleQueue()  # fmt: skip
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._workers, self._name, self._shut = workers, name, False

    def submit(
        self, fn: Callable[..., T], /, *args: typing.Any, **kwargs: typing.Any
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._work.put((future, functools.partial(fn, *args, **kwargs)))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._workers:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"{self._name}_{len(self._threads)}")  # fmt: skip
                self._threads.append(thread)
                thread.start()
        return future

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            future, fn = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)
            del item, future, fn
            self._idle.release()

    def alive(self) -> bool:
        """Is any worker thread still running?"""
        with self._lock:
            return any(thread.is_alive() for thread in self._threads)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shut = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    item = self._work.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in threads:
            self._work.put(None)
        if wait:
            for thread in threads:
                thread.join()


class ThreadedAssetTransport(httpx.AsyncBaseTransport):
    """The async asset transport: the sync one (:func:`asset_transport`), run in worker threads.

    asyncio's and AnyIO's TLS layers decrypt one 16 KiB record per event-loop trip and copy
    every byte through memory BIOs; a blocking TLS socket read in a thread gathers ~1 MiB per
    trip (:func:`_gather_ready`) and releases the GIL while it waits and decrypts. Over https
    that roughly doubled AsyncMint's download speed (``bench/bench_downloads.py``), and the
    event loop only sees one hand-over per MiB. Its own threads (``max_workers``, the
    download's concurrency; daemons, see :class:`_DaemonThreads`), so a download never waits
    on, or starves, the loop's default executor.

    Cancelling a task that waits on a read (or abandoning it: a closed loop, Ctrl-C) shuts the
    transport's sockets down, so the thread returns at once instead of at the read timeout; the
    transport is made for one ``download()`` call, whose files are cancelled together. A thread
    that cannot be interrupted (in a DNS lookup, a TCP connect or a TLS handshake) is waited for
    at most :data:`GRACE` seconds, then left to end on its own: its socket, once connected, is
    shut down at once. Only used when the pool is ours (:func:`fast_reads_supported`):
    otherwise there would be no socket to shut down.
    """

    GRACE = 0.5

    def __init__(self, ssl_context: ssl.SSLContext | None, max_workers: int) -> None:
        self._live = _Live()
        self._inner = asset_transport(ssl_context, self._live)
        self._executor = _DaemonThreads(max_workers, "mint-assets")

    def submit(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on one of the transport's workers (its outcome is its own business)."""
        self._executor.submit(fn)

    def interrupt(self) -> None:
        self._live.interrupt()

    async def run(self, fn: Callable[[], T]) -> T:
        return await in_thread(
            fn, executor=self._executor, on_cancel=self._live.interrupt, grace=self.GRACE
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise httpx.UnsupportedProtocol("an asset request with a streaming body")
        response = await self.run(functools.partial(self._inner.handle_request, request))
        assert isinstance(response.stream, httpx.SyncByteStream)
        network = response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_ThreadedBody(response.stream, self, sock),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        try:
            self._live.interrupt()  # a worker still reading (a body closed early) ends now
            self._inner.close()  # the pool: closes its sockets, waits on nothing
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)
        # Let the workers end before returning (no thread outlives the download), but never
        # wait on one stuck in a connect: it ends on its own.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # closed from a coroutine abandoned with its loop: nothing to wait on
            return
        until = loop.time() + self.GRACE  # (polled: a joining thread would itself be waited for)
        while self._executor.alive() and loop.time() < until:  # noqa: ASYNC110 (threads: no event)
            await asyncio.sleep(0.002)


def async_asset_transport(ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncHTTPTransport:
    """The async twin of :func:`asset_transport`."""
    context = ssl_context or httpx.create_ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=context)
    if fast_reads_supported(("h11", "httpcore", "anyio")) and isinstance(
        getattr(transport, "_pool", None), httpcore.AsyncConnectionPool
    ):
        transport._pool = _AsyncPool(network_backend=_AsyncBackend(), **_pool_options(context))
    return transport
