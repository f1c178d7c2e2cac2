"""A TLS server that decides exactly which encrypted bytes go on the wire, and when (tests only)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable

import trustme


def contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for 127.0.0.1, from a throwaway CA."""
    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


class RawTLS:
    """Server side of one connection, on an ``SSLObject``: ``encrypt`` returns wire bytes."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self._pump(self.tls.do_handshake)

    def _pump(self, step: Callable[[], object]) -> object:
        while True:
            try:
                result = step()
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if not data:
                    raise EOFError from None
                self.incoming.write(data)
            else:
                self._flush()
                return result

    def _flush(self) -> None:
        if data := self.outgoing.read():
            self.sock.sendall(data)

    def read_request(self) -> bytes:
        got = b""
        while b"\r\n\r\n" not in got:
            got += bytes(self._pump(lambda: self.tls.read(65536)))  # type: ignore[arg-type]
        return got

    def encrypt(self, data: bytes) -> bytes:
        self.tls.write(data)
        return self.outgoing.read()


def serve_once(handler: Callable[[socket.socket, RawTLS], None]) -> tuple[int, ssl.SSLContext]:
    """Serve one connection with ``handler`` in a daemon thread; returns (port, client context)."""
    server_ctx, client_ctx = contexts()
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                handler(conn, RawTLS(conn, server_ctx))

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1], client_ctx
