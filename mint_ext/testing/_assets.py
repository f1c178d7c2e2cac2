"""Deterministic asset bytes with correct file signatures, streamed in large chunks.

Content of an asset = a format header (below) then filler bytes. The filler is a 64 KiB block
derived from ``(path, version)`` with SHAKE-256 and repeated, so any size up to several GiB costs
one 1 MiB buffer and every chunk is a zero-copy slice of it.

Headers (the first bytes of each kind):

* ``.glb``: a valid 12-byte glTF 2.0 header: ``b"glTF"``, uint32 LE version 2, uint32 LE total length.
* ``.spz``: a gzip member header (``1f 8b 08 00`` + mtime + ``00 ff``). Real SPZ files are gzip
  streams whose inner header starts with ``NGSP``; only the gzip prefix is valid here, the rest is filler.
* ``.rad``: ASSUMPTION: ``b"RAD0"`` then a uint32 LE total length. The RAD format (Spark 2) has no
  published magic number that we know of; clients must not rely on this one.
* ``.png``: the 8-byte PNG signature. ``.jpg``/``.jpeg``: ``ff d8 ff e0``.
* ``.webp``: ``b"RIFF"`` + uint32 LE (size - 8) + ``b"WEBP"``.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["KINDS", "AssetEntry", "kind_of", "parse_range"]

BLOCK = 64 * 1024
CHUNK = 1024 * 1024
MIN_SIZE = 32

# kind -> content type
KINDS: dict[str, str] = {
    "glb": "model/gltf-binary",
    "spz": "application/octet-stream",
    "rad": "application/octet-stream",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
}


def kind_of(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if ext == "jpeg":
        return "jpg"
    if ext not in KINDS:
        raise ValueError(f"no asset kind for {path!r}")
    return ext


def _header(kind: str, size: int) -> bytes:
    if kind == "glb":
        return b"glTF" + struct.pack("<II", 2, size)
    if kind == "spz":
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    if kind == "rad":
        return b"RAD0" + struct.pack("<I", size)
    if kind == "png":
        return b"\x89PNG\r\n\x1a\n"
    if kind == "jpg":
        return b"\xff\xd8\xff\xe0"
    if kind == "webp":
        return b"RIFF" + struct.pack("<I", size - 8) + b"WEBP"
    raise ValueError(kind)


_rings: OrderedDict[bytes, memoryview] = OrderedDict()
_rings_lock = threading.Lock()


def _ring(seed: bytes) -> memoryview:
    """``BLOCK`` bytes from ``seed`` repeated to ``CHUNK + BLOCK`` bytes (small LRU cache)."""
    with _rings_lock:
        ring = _rings.get(seed)
        if ring is not None:
            _rings.move_to_end(seed)
            return ring
    block = hashlib.shake_256(seed).digest(BLOCK)
    ring = memoryview(block * (CHUNK // BLOCK + 1))
    with _rings_lock:
        _rings[seed] = ring
        while len(_rings) > 16:
            _rings.popitem(last=False)
    return ring


@dataclass
class AssetEntry:
    """One file on the asset origin. ``version`` is bumped by ``FakeMint.change_asset``.

    ``data``: exact bytes to serve instead of the generated ones (``size`` is then their length);
    ``content_type``: overrides the kind's ``Content-Type``.
    """

    path: str
    kind: str
    size: int
    version: int = 1
    data: bytes | None = None
    content_type_override: str | None = None

    @property
    def content_type(self) -> str:
        return self.content_type_override or KINDS[self.kind]

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(f"{self.path}|{self.version}|{self.size}".encode()).hexdigest()
        return f'"{digest[:32]}"'

    @property
    def header(self) -> bytes:
        return _header(self.kind, self.size)

    def chunks(self, start: int, length: int, chunk: int = CHUNK) -> Iterator[memoryview]:
        """The bytes ``[start, start + length)`` as slices of at most ``chunk`` bytes."""
        end = min(start + length, self.size)
        pos = start
        if self.data is not None:
            view = memoryview(self.data)
            chunk = max(1, min(chunk, CHUNK))
            while pos < end:
                yield view[pos : min(pos + chunk, end)]
                pos += chunk
            return
        header = self.header
        if pos < len(header) and pos < end:
            stop = min(len(header), end)
            yield memoryview(header)[pos:stop]
            pos = stop
        ring = _ring(f"{self.path}|{self.version}".encode())
        chunk = max(1, min(chunk, CHUNK))
        while pos < end:
            n = min(chunk, end - pos)
            offset = pos % BLOCK
            yield ring[offset : offset + n]
            pos += n

    def read(self, start: int = 0, length: int | None = None) -> bytes:
        """The bytes as one ``bytes`` object (for tests; avoid for large assets)."""
        n = self.size - start if length is None else length
        return b"".join(bytes(c) for c in self.chunks(start, n))


def parse_range(value: str, size: int) -> tuple[int, int] | bool | None:
    """Parse a single ``Range: bytes=...`` header against ``size``.

    Returns ``(start, length)`` for a satisfiable range, ``False`` when unsatisfiable (416), and
    ``None`` when the header is to be ignored (bad syntax, several ranges): serve the whole file.
    """
    value = value.strip()
    if not value.lower().startswith("bytes="):
        return None
    spec = value[6:].strip()
    if "," in spec or "-" not in spec:
        return None
    first, last = (part.strip() for part in spec.split("-", 1))
    try:
        if first == "":
            n = int(last)
            if n < 0:
                return None
            if n == 0 or size == 0:
                return False
            n = min(n, size)
            return (size - n, n)
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start < 0 or (last and end < start):
        return None
    if start >= size:
        return False
    end = min(end, size - 1)
    return (start, end - start + 1)
