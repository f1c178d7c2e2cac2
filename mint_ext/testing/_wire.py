"""The fake's wire vocabulary: a request as the fake sees it, and the reply it makes.

Shared by the stateful fake (``_fake``), the in-process transport (``_transport``) and the
loopback server (``_server``), so that none of them needs another's internals.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from ._assets import AssetEntry

__all__ = ["FakeRequest", "Origin", "Reply"]

Origin = Literal["api", "asset", "redirect"]


@dataclass
class FakeRequest:
    """One HTTP request as the fake sees it. Header names are lower-case."""

    origin: Origin
    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: The absolute URL when the client sent an absolute-form target (it took the loopback
    #: server for a proxy); ``path``/``query`` are then that URL's.
    proxy_url: str | None = None


@dataclass
class Reply:
    """One HTTP response. ``stream`` (asset bytes) replaces ``body`` when set.

    ``cut`` = ``("drop" | "truncate", n)``: send only ``n`` body bytes then break the connection
    (``drop`` resets it, ``truncate`` closes it cleanly). ``delay``: real seconds to wait first.
    ``close_delimited``: no ``Content-Length``; the body ends where the connection does.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: tuple[AssetEntry, int, int] | None = None
    head: bool = False
    cut: tuple[str, int] | None = None
    delay: float = 0.0
    close_delimited: bool = False

    @property
    def content_length(self) -> int:
        return self.stream[2] if self.stream is not None else len(self.body)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def body_chunks(self) -> Iterator[bytes | memoryview]:
        """The body as sent on the wire: limited to ``cut[1]`` bytes when a cut is set."""
        if self.head:
            return
        limit = self.cut[1] if self.cut is not None else None
        chunks: Iterable[bytes | memoryview]
        if self.stream is not None:
            entry, start, length = self.stream
            chunks = entry.chunks(start, length)
        else:
            chunks = [self.body] if self.body else []
        sent = 0
        for chunk in chunks:
            if limit is not None and sent + len(chunk) >= limit:
                if limit > sent:
                    yield chunk[: limit - sent]
                return
            sent += len(chunk)
            yield chunk
