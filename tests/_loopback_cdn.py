"""A small real HTTP server on 127.0.0.1 for download tests: one model operation and its assets.

What the fake Mint server cannot do on purpose, this one can: bodies streamed slowly (so two
downloaders really overlap), close-delimited bodies (neither Content-Length nor chunked) cut
short, a 206 whose total is not the file's, a stated size (``glbSizeBytes``) that disagrees, and
a count of the GETs of a path that were streaming at the same time.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
from typing import Any


def glb(size: int, seed: int = 0) -> bytes:
    body = bytes((i * 7 + seed) % 251 for i in range(size - 12))
    return b"glTF\x02\x00\x00\x00" + size.to_bytes(4, "little") + body


PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 4000


class LoopbackCdn:
    """``/v1/operations/op_1`` (a succeeded model) and ``/a/model.glb``, ``/a/thumb.png``.

    Knobs (change them between downloads): ``files[path]`` (body), ``delay`` (seconds per 64 KiB
    piece), ``framing`` (``"length"`` or ``"close"``), ``cut[path]`` (stop the body after that
    many bytes, once), ``range_total`` (the total a 206 claims), ``stated_size``
    (``glbSizeBytes``), ``urls`` (override the asset URLs in the operation).
    """

    def __init__(self, glb_size: int = 2 << 20, delay: float = 0.0) -> None:
        self.files: dict[str, bytes] = {"/a/model.glb": glb(glb_size), "/a/thumb.png": PNG}
        self.delay = delay
        self.framing = "length"
        self.cut: dict[str, int] = {}
        self.range_total: int | None = None
        self.stated_size: int | None = None
        self.urls: dict[str, Any] | None = None
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, Range
        self.proxied: list[str] = []  # absolute URLs asked for as a proxy
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                outer._serve(self, head=True)

            def do_GET(self) -> None:
                outer._serve(self, head=False)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def etag(self, path: str) -> str:
        return '"' + hashlib.sha256(self.files[path]).hexdigest()[:12] + '"'

    def operation(self) -> dict[str, Any]:
        assets: dict[str, Any] = self.urls or {
            "glbUrl": f"{self.url}/a/model.glb?sig=1",
            "thumbnailUrl": f"{self.url}/a/thumb.png?sig=1",
        }
        if self.stated_size is not None:
            assets = {**assets, "glbSizeBytes": self.stated_size}
        return {
            "object": "operation", "id": "op_1", "status": "succeeded",
            "type": "model_generation", "generationMode": "auto", "prompt": "p",
            "generationPreset": "fast", "generationModel": None, "mintUrl": None,
            "resource": {"type": "model", "id": "model_1"}, "assets": assets,
            "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
        }  # fmt: skip

    def gets(self, path: str) -> list[str | None]:
        """The Range header of every GET of ``path``."""
        return [r for m, p, r in self.requests if m == "GET" and p == path]

    def _serve(self, h: http.server.BaseHTTPRequestHandler, head: bool) -> None:
        target = h.path
        if target.startswith("http://"):  # asked as a proxy: serve it as if it were the origin
            self.proxied.append(target)
            target = "/" + target.split("/", 3)[3]
        path = target.split("?", 1)[0]
        rng = h.headers.get("range")
        with self._lock:
            self.requests.append(("HEAD" if head else "GET", path, rng))
        if path.startswith("/v1/operations/"):
            data = json.dumps(self.operation()).encode()
            h.send_response(200)
            h.send_header("content-type", "application/json")
            h.send_header("content-length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        body = self.files.get(path)
        if body is None:
            h.send_response(404)
            h.send_header("content-length", "0")
            h.end_headers()
            return
        start = 0
        if rng and h.headers.get("if-range") == self.etag(path):
            start = int(rng.removeprefix("bytes=").rstrip("-"))
            h.send_response(206)
            total = self.range_total if self.range_total is not None else len(body)
            h.send_header("content-range", f"bytes {start}-{len(body) - 1}/{total}")
        else:
            h.send_response(200)
        h.send_header("content-type", "application/octet-stream")
        h.send_header("etag", self.etag(path))
        close = self.framing == "close" and not head
        if close:
            h.send_header("connection", "close")
            h.close_connection = True
        else:
            h.send_header("content-length", str(len(body) - start))
        h.end_headers()
        if head:
            return
        end = len(body)
        cut = self.cut.pop(path, None)
        if cut is not None:
            end = min(end, start + cut)
            h.close_connection = True
        with self._lock:
            self.active[path] = self.active.get(path, 0) + 1
            self.peak[path] = max(self.peak.get(path, 0), self.active[path])
        try:
            for i in range(start, end, 65536):
                h.wfile.write(body[i : min(i + 65536, end)])
                if self.delay:
                    time.sleep(self.delay)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self._lock:
                self.active[path] -= 1

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def download(mode: str, cdn: LoopbackCdn, out: Any, max_retries: int = 0, **kw: Any) -> Any:
    """``assets.download("op_1", out, **kw)`` with Mint (sync) or AsyncMint (async)."""
    import asyncio

    from mint_ext import AsyncMint, Mint

    if mode == "sync":
        with Mint(api_key="k", base_url=cdn.url, max_retries=max_retries) as mint:
            return mint.assets.download("op_1", out, **kw)

    async def main() -> Any:
        async with AsyncMint(api_key="k", base_url=cdn.url, max_retries=max_retries) as mint:
            return await mint.assets.download("op_1", out, **kw)

    return asyncio.run(main())
