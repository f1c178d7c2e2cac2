"""The fake Mint API on real loopback sockets: API, asset and redirect-target origins."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._clock import RealClock
from ._fake import PROBLEM_BASE, STATS_PATH, FakeMint
from ._wire import FakeRequest, Origin

__all__ = ["FakeServer", "serve_fake_mint"]


MAX_BODY = 16 * 1024 * 1024  # request bodies above this get 413 (Mint bodies are small JSON)


class _BadRequest(Exception):
    def __init__(self, status: int, title: str) -> None:
        super().__init__(title)
        self.status, self.title = status, title


def _parse_int(raw: bytes, base: int) -> int | None:
    """``int(raw, base)`` for plain ASCII digits only (no sign, no ``_``, no Unicode digits)."""
    digits = b"0123456789abcdefABCDEF"[: 10 if base == 10 else 22]
    if not raw or len(raw) > 18 or any(c not in digits for c in raw):
        return None
    return int(raw, base)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeMint/1"
    sys_version = ""
    server: _Server
    #: Socket timeout: a client that stops sending (short body) or reading cannot pin a thread.
    timeout = 60.0

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # Handshake here, in the connection's own thread (bounded by ``timeout``), not in
            # the accept loop: a client that never finishes it cannot stall other connections.
            self.connection.do_handshake()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every small response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _read_body(self) -> bytes:
        """The request body (Content-Length or chunked). Raises :class:`_BadRequest` on framing
        a real server would reject, so the client gets a 4xx instead of a closed socket."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            total = 0
            while True:
                size = _parse_int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
                if size is None:
                    raise _BadRequest(400, "Malformed chunk size")
                total += size
                if total > MAX_BODY:
                    raise _BadRequest(413, "Request body too large")
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self._read_exactly(size))
                self.rfile.readline(65537)
        raw = self.headers.get("Content-Length")
        length = 0 if raw is None else _parse_int(raw.strip().encode("latin-1"), 10)
        if length is None:
            raise _BadRequest(400, "Malformed Content-Length")
        if length > MAX_BODY:
            raise _BadRequest(413, "Request body too large")
        return self._read_exactly(length) if length > 0 else b""

    def _read_exactly(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) != n:
            raise _BadRequest(400, "Request body shorter than declared")
        return data

    def _reject(self, exc: _BadRequest) -> None:
        body = json.dumps(
            {"type": PROBLEM_BASE + "bad-request", "title": exc.title, "status": exc.status}
        ).encode()
        self.close_connection = True
        self.send_response(exc.status)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self) -> None:
        fake = self.server.fake
        origin = self.server.origin
        target, proxy_url = self.path, None
        if "://" in target.split("?", 1)[0]:  # absolute-form: the client takes us for a proxy
            proxy_url = target
            scheme, _, rest = target.partition("://")
            netloc, _, rest = rest.partition("/")
            target = "/" + rest
            # A URL of one of the fake's origins is served by that origin; any other host as
            # if it were this one (the proxy reaches a CDN that only it can resolve).
            origin = fake.origin_of(f"{scheme}://{netloc}") or origin
        path, _, query = target.partition("?")
        try:
            body = self._read_body()
        except _BadRequest as exc:
            with contextlib.suppress(OSError):
                self._reject(exc)
            return
        except OSError:  # timed out or reset while reading the body: nobody to answer
            self.close_connection = True
            return
        request = FakeRequest(
            origin,
            self.command,
            path,
            query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
            proxy_url,
        )
        counted = path != STATS_PATH  # the admin route is not part of what it measures
        if counted:
            fake.enter(origin, request)
        try:
            reply = fake.handle(request)
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if not reply.close_delimited:
                self.send_header("Content-Length", str(reply.content_length))
            if reply.cut is not None or reply.close_delimited:
                self.send_header("Connection", "close")
            self.end_headers()
            rate = fake.asset_rate if origin != "api" else None
            for chunk in reply.body_chunks():
                if rate:  # paced before each write: the last byte ends the answer, no pause after
                    time.sleep(len(chunk) / rate)
                self.wfile.write(chunk)
            if reply.close_delimited:
                self.close_connection = True
                self.wfile.flush()
            if reply.cut is not None and not reply.head:
                self.close_connection = True
                if reply.cut[0] == "drop":
                    # SO_LINGER 0: close() sends RST, the client sees a reset mid-body.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
        except OSError:  # the client went away or stopped reading (socket timeout)
            self.close_connection = True
        finally:
            if counted:
                fake.leave(origin, request)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        host: str,
        port: int,
        fake: FakeMint,
        origin: Origin,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.fake = fake
        self.origin: Origin = origin
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), _Handler)
        self.scheme = "http"
        if tls is not None:
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections, so no handler thread outlives the server."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client going away mid-response is not news

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        host = host if isinstance(host, str) else host.decode()
        return f"{self.scheme}://{host}:{port}"


@dataclass
class FakeServer:
    """A running fake: three loopback origins sharing one :class:`FakeMint`."""

    fake: FakeMint
    base_url: str
    asset_base_url: str
    redirect_base_url: str
    api_key: str
    _servers: list[_Server] = field(default_factory=list, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
        for server in self._servers:
            server.server_close()
            server.close_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()


def start_fake_server(
    fake: FakeMint | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    asset_port: int = 0,
    speed: float | None = None,
    redirect_port: int = 0,
    *,
    asset_tls: ssl.SSLContext | None = None,
) -> FakeServer:
    """Start the servers in daemon threads; the caller must call :meth:`FakeServer.close`.

    The fake's ``base_url``/``asset_base_url``/``redirect_base_url`` are rebound to the loopback
    origins, so the asset URLs it renders point at this server. With ``asset_tls`` (a server-side
    ``ssl.SSLContext``) the asset and redirect origins speak https, as a real CDN does.
    """
    if fake is None:
        fake = FakeMint(clock=RealClock(speed if speed is not None else 1.0))
    servers: list[_Server] = []
    try:
        for origin, p in (("api", port), ("asset", asset_port), ("redirect", redirect_port)):
            tls = asset_tls if origin != "api" else None
            servers.append(_Server(host, p, fake, origin, tls))  # type: ignore[arg-type]
    except BaseException:
        for server in servers:
            server.server_close()
        raise
    fake.base_url, fake.asset_base_url, fake.redirect_base_url = (s.base_url for s in servers)
    threads = []
    for server in servers:
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-mint-{server.origin}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return FakeServer(
        fake,
        servers[0].base_url,
        servers[1].base_url,
        servers[2].base_url,
        fake.api_key,
        servers,
        threads,
    )


@contextlib.contextmanager
def serve_fake_mint(
    fake: FakeMint | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    asset_port: int = 0,
    speed: float | None = None,
    *,
    asset_tls: ssl.SSLContext | None = None,
) -> Iterator[FakeServer]:
    """Serve ``fake`` (default: a new FakeMint on a real clock at ``speed`` x) on loopback.

    ``port``/``asset_port`` 0 pick free ports. The servers stop when the block exits; the fake's
    origins are restored then. ``asset_tls``: serve the asset origins over https (see
    :func:`start_fake_server`).
    """
    saved = (fake.base_url, fake.asset_base_url, fake.redirect_base_url) if fake else None
    server = start_fake_server(fake, host, port, asset_port, speed, asset_tls=asset_tls)
    try:
        yield server
    finally:
        server.close()
        if fake is not None and saved is not None:
            fake.base_url, fake.asset_base_url, fake.redirect_base_url = saved
