"""Every decision of ``mint.assets.download``, as pure functions and plain data (no I/O).

What to fetch and under which name, whether a file can be skipped or a partial resumed, what an
HTTP answer means (accept, resume, restart, redirect, retry, refresh the URL, fail), whether the
bytes are what they claim to be, and the report. The drivers in ``_downloads`` only carry these
decisions out (sockets, files, sleeps).

Asset kinds (the names ``include=`` accepts):

==================  =====================================  ==========================
kind                source field                           file name in ``out/<id>/``
==================  =====================================  ==========================
``spz``             ``WorldAssets.spz_urls[<tier>]``       ``splat_<tier>.spz``
``rad``             ``WorldAssets.rad_url``                ``world.rad``
``collider``        ``WorldAssets.collider_mesh_url``      ``collider.glb``
``pano``            ``WorldAssets.pano_url``               ``pano.<ext>``
``preview``         ``*.preview_image_url``                ``preview.<ext>``
``thumbnail``       ``*.thumbnail_url``                    ``thumbnail.<ext>``
``caption``         ``WorldAssets.caption`` (text)         ``caption.txt``
``glb``             ``ModelAssets.glb_url``                ``model.glb``
``optimized_glb``   ``ModelAssets.optimized_glb_url``      ``model-optimized.glb``
``fbx``, ``obj``,   ``ModelAssets.other_urls``             ``model.<ext>``
``stl``, ``usdz``…  (``fbxUrl`` -> ``fbx``, ...)
==================  =====================================  ==========================

``<ext>`` comes from the URL path when it has a plain extension, else from the response's
Content-Type, else the kind's default (``png`` for images). Every server-provided part of a name
is sanitised by :func:`safe_component`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import httpx

from ._core import InvalidArgumentError
from ._errors import (
    AssetVerificationError,
    MintError,
    UnsafePathError,
    UnsafeRedirectError,
    set_report_reader,
)
from ._models import ModelAssets, WorldAssets
from ._retry import RetryPolicy, is_retryable_status, parse_retry_after, to_error

__all__ = [
    "AssetReport",
    "DownloadProgress",
    "DownloadReport",
    "UnsafePathError",
    "UnsafeRedirectError",
]

CHUNK_SIZE = 1 << 20
MAX_REDIRECTS = 5
MAX_ATTEMPTS = 50  # hard cap per file, even when every attempt makes progress
MAX_NAME = 100
MANIFEST_NAME = ".mint-download.json"
HEAD_BYTES = 16

WORLD_KINDS = ("spz", "rad", "collider", "pano", "preview", "thumbnail", "caption")
MODEL_KINDS = ("glb", "optimized_glb", "preview", "thumbnail", "fbx", "obj", "stl", "usdz")
KNOWN_KINDS = tuple(dict.fromkeys(WORLD_KINDS + MODEL_KINDS))
IMAGE_KINDS = frozenset({"pano", "preview", "thumbnail"})

Status = Literal["downloaded", "skipped", "failed"]


# ------------------------------------------------------------------------------ names, paths

_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_EXT_RE = re.compile(r"^[a-z0-9]{1,8}$")


def safe_component(value: str, fallback: str = "file", max_len: int = MAX_NAME) -> str:
    """One safe path component from untrusted text: no separators, ``..``, control characters,
    leading dots, Windows-reserved names or absolute forms; at most ``max_len`` characters.

    Example:
        >>> safe_component("../../etc")
        'etc'
        >>> safe_component("CON")
        '_CON'
        >>> safe_component("\\x00")
        'file'
    """
    text = unicodedata.normalize("NFKC", value)
    text = _UNSAFE_CHARS.sub("_", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = text.strip("._-")
    if not text:
        text = fallback
    if len(text) > max_len:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        text = text[: max_len - 9].rstrip("._-") + "-" + digest
    if text.split(".", 1)[0].lower() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def url_without_query(url: str) -> str:
    """The URL with its query string and fragment dropped (signatures never reach a report).

    Example:
        >>> url_without_query("https://cdn.mint.gg/a.glb?sig=secret#x")
        'https://cdn.mint.gg/a.glb'
    """
    try:
        return str(httpx.URL(url).copy_with(query=None, fragment=None))
    except (httpx.InvalidURL, UnicodeError, ValueError):  # readable, printable, no query
        bare = url.split("#", 1)[0].split("?", 1)[0].encode("utf-8", "surrogatepass")
        return urllib.parse.quote(bare, safe=":/@!$&'()*+,;=%~-._")


def ext_from_url(url: str) -> str | None:
    """A plain lower-case extension of the URL's last path segment, if it has one.

    Example:
        >>> ext_from_url("https://cdn.mint.gg/images/x/pano.PNG?sig=1")
        'png'
        >>> ext_from_url("https://cdn.mint.gg/blob/abc") is None
        True
    """
    try:
        path = httpx.URL(url).path
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return None
    last = path.rsplit("/", 1)[-1]
    if "." not in last:
        return None
    ext = last.rsplit(".", 1)[-1].lower()
    return ext if _EXT_RE.match(ext) else None


_CONTENT_TYPES = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/webp": "webp",
    "model/gltf-binary": "glb",
    "text/plain": "txt",
}


def ext_from_content_type(content_type: str | None) -> str | None:
    """Extension for a Content-Type we know (``image/png`` -> ``png``), else None.

    Example:
        >>> ext_from_content_type("image/jpeg; charset=binary")
        'jpg'
    """
    if not content_type:
        return None
    return _CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())


def confined(folder: Path, name: str) -> Path:
    """``folder / name`` after checking that it stays inside ``folder`` once resolved.

    ``name`` must already be one safe component; a symlink anywhere that leads out is refused.
    """
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UnsafePathError(f"unsafe file name {name!r}")
    base = folder.resolve()
    target = (folder / name).resolve()
    if target.parent != base:
        raise UnsafePathError(f"{name!r} resolves outside {folder}")
    return folder / name


# --------------------------------------------------------------------------------- planning


@attrs.frozen
class PlannedAsset:
    """One file to produce: where it comes from and what it will be called."""

    slot: str  # unique within a resource, safe: "spz-100k", "rad", "glb", ...
    kind: str
    url: str | None  # None for text assets (the caption)
    stem: str
    ext: str | None  # from the URL; None: decided from Content-Type, then ``default_ext``
    default_ext: str
    text: str | None = None

    def name(self, content_type: str | None = None) -> str:
        """The final file name (``ext`` from the URL wins over the Content-Type)."""
        ext = self.ext or ext_from_content_type(content_type) or self.default_ext
        return f"{self.stem}.{ext}"

    @property
    def part_name(self) -> str:
        return f".{self.slot}.part"

    @property
    def sidecar_name(self) -> str:
        return f".{self.slot}.part.json"

    @property
    def lock_name(self) -> str:
        """The inter-process lock every writer of this file holds (kept on disk, empty)."""
        return f".{self.slot}.lock"


def _kind_of_field(field: str) -> str:
    """``fbxUrl`` -> ``fbx``; ``someOtherUrl`` -> ``some_other``."""
    base = field[: -len("Url")] if field.endswith("Url") else field
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


def available_kinds(assets: WorldAssets | ModelAssets) -> list[str]:
    """The kinds ``include=`` accepts for these assets (known ones plus any extra model format)."""
    kinds = list(KNOWN_KINDS)
    if isinstance(assets, ModelAssets):
        for field in assets.other_urls:
            kind = _kind_of_field(field)
            if kind not in kinds:
                kinds.append(kind)
    return kinds


def _image(slot: str, url: str) -> PlannedAsset:
    return PlannedAsset(slot, slot, url, slot, ext_from_url(url), "png")


def _file(slot: str, kind: str, url: str, stem: str, default_ext: str) -> PlannedAsset:
    return PlannedAsset(slot, kind, url, stem, ext_from_url(url) or default_ext, default_ext)


def plan_assets(
    assets: WorldAssets | ModelAssets,
    include: Iterable[str] | None = None,
    spz_resolution: str | None = None,
) -> list[PlannedAsset]:
    """Decide which files to fetch and what to call them (see the module docstring).

    Raises ``InvalidArgumentError`` for an unknown kind in ``include`` or an ``spz_resolution``
    the world does not have (the message lists what is available).

    Example:
        >>> a = WorldAssets(spz_urls={"100k": "https://c/x.spz", "500k": "https://c/y.spz"},
        ...                 caption="A quiet greenhouse")
        >>> [p.name() for p in plan_assets(a, spz_resolution="500k")]
        ['splat_500k.spz', 'caption.txt']
    """
    kinds = available_kinds(assets)
    wanted: set[str] | None = None
    if include is not None:
        if isinstance(include, str):
            include = [include]
        wanted = set(include)
        unknown = sorted(wanted - set(kinds))
        if unknown:
            raise InvalidArgumentError(
                f"unknown asset kind(s) {', '.join(map(repr, unknown))}; "
                f"known kinds: {', '.join(kinds)}"
            )
    plan: list[PlannedAsset] = []
    if isinstance(assets, WorldAssets):
        tiers = dict(assets.spz_urls)
        if spz_resolution is not None:
            if spz_resolution not in tiers:
                have = ", ".join(sorted(tiers)) or "none"
                raise InvalidArgumentError(
                    f"no spz resolution {spz_resolution!r}; available: {have}"
                )
            tiers = {spz_resolution: tiers[spz_resolution]}
        for tier, url in sorted(tiers.items()):
            tier_safe = safe_component(tier, "tier", 40)
            plan.append(_file(f"spz-{tier_safe}", "spz", url, f"splat_{tier_safe}", "spz"))
        if assets.rad_url:
            plan.append(_file("rad", "rad", assets.rad_url, "world", "rad"))
        if assets.collider_mesh_url:
            plan.append(_file("collider", "collider", assets.collider_mesh_url, "collider", "glb"))
        if assets.pano_url:
            plan.append(_image("pano", assets.pano_url))
        if assets.preview_image_url:
            plan.append(_image("preview", assets.preview_image_url))
        if assets.thumbnail_url:
            plan.append(_image("thumbnail", assets.thumbnail_url))
        if isinstance(assets.caption, str):  # None: not produced; UNSET: not sent
            plan.append(PlannedAsset("caption", "caption", None, "caption", "txt", "txt",
                                     text=assets.caption))  # fmt: skip
    else:
        if assets.glb_url:
            plan.append(_file("glb", "glb", assets.glb_url, "model", "glb"))
        if assets.optimized_glb_url:
            plan.append(_file("optimized_glb", "optimized_glb", assets.optimized_glb_url,
                              "model-optimized", "glb"))  # fmt: skip
        if assets.preview_image_url:
            plan.append(_image("preview", assets.preview_image_url))
        if assets.thumbnail_url:
            plan.append(_image("thumbnail", assets.thumbnail_url))
        for field, url in sorted(assets.other_urls.items()):
            kind = _kind_of_field(field)
            slot = safe_component(kind, "other", 40)
            plan.append(_file(slot, kind, url, "model", slot))
    if wanted is not None:
        plan = [p for p in plan if p.kind in wanted]
    return _dedupe(plan)


def _dedupe(plan: list[PlannedAsset]) -> list[PlannedAsset]:
    """Two assets never share a slot (hence a ``.part`` file) or a final name, compared without
    case (as on case-insensitive filesystems): a later clash gets a suffix."""
    seen: set[str] = set()
    slots: set[str] = set()
    out = []
    for p in plan:
        slot, n = p.slot, 2
        while slot.lower() in slots:
            slot, n = f"{p.slot}-{n}", n + 1
        if slot != p.slot:
            p = attrs.evolve(p, slot=slot)
        slots.add(slot.lower())
        if p.name().lower() in seen:
            p = attrs.evolve(p, stem=f"{p.stem}-{p.slot}")
        seen.add(p.name().lower())
        out.append(p)
    return out


def urls_by_slot(plan: Sequence[PlannedAsset]) -> dict[str, str]:
    """Slot -> URL, to pick fresh URLs out of a re-read of the source."""
    return {p.slot: p.url for p in plan if p.url is not None}


# ------------------------------------------------------------------------ resume and skip


@attrs.frozen
class PartInfo:
    """What the resume sidecar (``.<slot>.part.json``) records about a partial file."""

    url: str  # without query
    etag: str | None
    total: int | None

    def to_json(self) -> bytes:
        return json.dumps({"url": self.url, "etag": self.etag, "total": self.total}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PartInfo | None:
        try:
            raw = json.loads(data)
            url, etag, total = raw["url"], raw.get("etag"), raw.get("total")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        if not isinstance(url, str) or not (etag is None or isinstance(etag, str)):
            return None
        if not (total is None or (isinstance(total, int) and total >= 0)):
            return None
        return cls(url, etag, total)


def is_strong_etag(etag: str | None) -> bool:
    return bool(etag) and not etag.startswith("W/")  # type: ignore[union-attr]


def resume_offset(part_size: int | None, info: PartInfo | None, url: str, overwrite: bool) -> int:
    """Where to continue a partial file from (0: start over).

    Resuming needs a sidecar for the same URL (query ignored), a strong ETag for ``If-Range`` and
    a known total larger than what is on disk.

    Example:
        >>> info = PartInfo("https://c/a.glb", '"v1"', 100)
        >>> resume_offset(40, info, "https://c/a.glb?sig=2", overwrite=False)
        40
        >>> resume_offset(40, PartInfo("https://c/a.glb", 'W/"v1"', 100), "https://c/a.glb", False)
        0
    """
    if overwrite or not part_size or info is None:
        return 0
    if info.url != url_without_query(url) or not is_strong_etag(info.etag):
        return 0
    if info.total is None or part_size >= info.total:
        return 0
    return part_size


def range_headers(offset: int, etag: str | None) -> dict[str, str]:
    """``Range``/``If-Range`` for a resumed request (nothing for a fresh one)."""
    if offset <= 0 or etag is None:
        return {}
    return {"Range": f"bytes={offset}-", "If-Range": etag}


@attrs.frozen
class ManifestEntry:
    """What ``.mint-download.json`` records about one complete file."""

    name: str
    url: str  # without query
    etag: str | None
    size: int
    sha256: str


def load_manifest(data: bytes | None) -> dict[str, ManifestEntry]:
    """Parse the manifest; anything malformed counts as absent (the files are then re-checked)."""
    if not data:
        return {}
    try:
        raw = json.loads(data)
        files = raw["files"]
        out = {}
        for slot, e in files.items():
            out[str(slot)] = ManifestEntry(
                name=str(e["name"]),
                url=str(e["url"]),
                etag=e["etag"] if isinstance(e.get("etag"), str) else None,
                size=int(e["size"]),
                sha256=str(e["sha256"]),
            )
        return out
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
        return {}


def dump_manifest(entries: Mapping[str, ManifestEntry]) -> bytes:
    files = {slot: attrs.asdict(e) for slot, e in sorted(entries.items())}
    return json.dumps({"version": 1, "files": files}, indent=2).encode()


def skip_candidate(
    entry: ManifestEntry | None, url: str, disk_size: int | None, overwrite: bool
) -> bool:
    """Is a HEAD worth sending to confirm the file on disk is current?"""
    return (
        not overwrite
        and entry is not None
        and entry.url == url_without_query(url)
        and disk_size is not None
        and disk_size == entry.size
    )


def head_confirms(entry: ManifestEntry, headers: Mapping[str, str]) -> bool:
    """The HEAD answer matches the manifest: same ETag (when either side has one) and size.

    Example:
        >>> e = ManifestEntry("model.glb", "https://c/m.glb", '"v1"', 10, "ab")
        >>> head_confirms(e, {"etag": '"v1"', "content-length": "10"})
        True
        >>> head_confirms(e, {"etag": '"v2"', "content-length": "10"})
        False
    """
    etag = headers.get("etag")
    if (entry.etag or etag) and entry.etag != etag:
        return False
    length = headers.get("content-length")
    return length is not None and length.isdigit() and int(length) == entry.size


# ---------------------------------------------------------------------- answers to requests


@attrs.frozen
class Accept:
    """Write the body: it starts at byte ``offset`` (0: truncate the part file first)."""

    offset: int
    total: int | None
    etag: str | None


@attrs.frozen
class Restart:
    """Drop the partial file and ask again from byte 0 (416, or a 206 that does not fit)."""

    reason: str


@attrs.frozen
class Redirect:
    url: str


@attrs.frozen
class RetryLater:
    error: MintError
    retry_after: float | None


@attrs.frozen
class RefreshUrl:
    """The URL expired or was denied: re-read the source once for fresh URLs."""

    error: MintError


@attrs.frozen
class Fail:
    error: MintError


Decision = Accept | Restart | Redirect | RetryLater | RefreshUrl | Fail

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``bytes 10-19/100`` -> ``(10, 19, 100)``; None if absent or malformed.

    Example:
        >>> parse_content_range("bytes 10-19/100")
        (10, 19, 100)
    """
    if not value:
        return None
    m = _CONTENT_RANGE.match(value)
    if not m:
        return None
    first, last = int(m.group(1)), int(m.group(2))
    total = None if m.group(3) == "*" else int(m.group(3))
    if last < first or (total is not None and last >= total):
        return None
    return first, last, total


def _length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def is_html(content_type: str | None, head: bytes) -> bool:
    """An HTML error page (by Content-Type or by its first bytes), never an asset.

    Example:
        >>> is_html(None, b"  <!DOCTYPE html><html>")
        True
    """
    if content_type and content_type.split(";", 1)[0].strip().lower() in ("text/html",
                                                                          "application/xhtml+xml"):  # fmt: skip
        return True
    start = head.lstrip()[:15].lower()
    return start.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def decide(
    response_status: int,
    headers: Mapping[str, str],
    *,
    url: str,
    requested_offset: int,
    wall: float,
    response: httpx.Response | None = None,
) -> Decision:
    """What a (streaming) GET answer means for the file being downloaded."""
    clean = url_without_query(url)
    if response_status in (301, 302, 303, 307, 308):
        location = headers.get("location")
        if not location:
            return Fail(
                AssetVerificationError(f"redirect without Location from {clean}", url=clean)
            )
        return Redirect(location)
    if response_status == 416:
        return Restart("the server refused the range (416)")
    if response_status in (200, 206):
        if is_html(headers.get("content-type"), b""):
            return Fail(AssetVerificationError(
                f"{clean} answered an HTML page ({headers.get('content-type')}), not an asset",
                url=clean))  # fmt: skip
        etag = headers.get("etag")
        if response_status == 200:
            return Accept(0, _length(headers), etag)
        cr = parse_content_range(headers.get("content-range"))
        if cr is None:
            return Restart("a 206 without a usable Content-Range")
        first, _last, total = cr
        if first != requested_offset:
            return Restart(f"a 206 for byte {first}, not {requested_offset}")
        return Accept(first, total, etag)
    if response is not None:
        error = to_error(response, wall)
    else:
        error = AssetVerificationError(f"{clean} -> {response_status}", url=clean)
    if response_status in (401, 403, 410):
        return RefreshUrl(error)
    if is_retryable_status(response_status):
        return RetryLater(error, parse_retry_after(headers.get("retry-after"), wall))
    return Fail(error)


def resolve_redirect(current: str, location: str, hops: int) -> str:
    """The next URL of a manually followed redirect, or ``UnsafeRedirectError``."""
    if hops >= MAX_REDIRECTS:
        raise UnsafeRedirectError(
            f"more than {MAX_REDIRECTS} redirects from {url_without_query(current)}"
        )
    base = httpx.URL(current)
    nxt = base.join(location)
    if nxt.scheme not in ("http", "https"):
        raise UnsafeRedirectError(f"refused redirect to scheme {nxt.scheme!r}")
    if base.scheme == "https" and nxt.scheme == "http":
        raise UnsafeRedirectError(
            f"refused redirect from https to http: {url_without_query(str(nxt))}"
        )
    return str(nxt)


@attrs.define
class Attempts:
    """Retry budget of one file: ``policy.max_retries`` failures in a row without progress.

    An attempt that wrote bytes resets the count (the next one resumes from there); at most
    ``MAX_ATTEMPTS`` attempts in all.
    """

    policy: RetryPolicy
    failures: int = 0
    total: int = 0

    def next_delay(
        self, made_progress: bool, retry_after: float | None, rng: Callable[[], float]
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        self.total += 1
        if made_progress:
            self.failures = 0
        if self.failures >= self.policy.max_retries or self.total >= MAX_ATTEMPTS:
            return None
        delay = self.policy.delay(self.failures, retry_after, rng)
        self.failures += 1
        return delay


# --------------------------------------------------------------------------- verification

_GLB = b"glTF"
_GZIP = b"\x1f\x8b"
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def _is_image(head: bytes) -> bool:
    return (
        head.startswith(_PNG)
        or head.startswith(_JPEG)
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def verify(
    kind: str,
    ext: str,
    head: bytes,
    size: int,
    expected: int | None,
    url: str,
    content_type: str | None = None,
) -> None:
    """Raise ``AssetVerificationError`` unless the complete file looks like its kind.

    Checks: the byte count equals Content-Length / the Content-Range total; never HTML; ``glTF``
    magic for ``.glb``; gzip magic for ``.spz``; a PNG/JPEG/WebP signature for images.

    Example:
        >>> verify("glb", "glb", b"glTF\\x02\\x00\\x00\\x00", 8, 8, "https://c/m.glb")
        >>> verify("glb", "glb", b"<html>", 6, 6, "https://c/m.glb")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        mint_ext._errors.AssetVerificationError: https://c/m.glb: an HTML page, not a glb file
    """
    clean = url_without_query(url)
    if expected is not None and size != expected:
        raise AssetVerificationError(f"{clean}: got {size} bytes, expected {expected}", url=clean)
    if is_html(content_type, head):
        raise AssetVerificationError(f"{clean}: an HTML page, not a {ext} file", url=clean)
    if ext == "glb" or kind in ("glb", "optimized_glb", "collider"):
        ok, what = head.startswith(_GLB), "glTF binary"
    elif ext == "spz" or kind == "spz":
        ok, what = head.startswith(_GZIP), "gzip (spz)"
    elif kind in IMAGE_KINDS or ext in ("png", "jpg", "jpeg", "webp"):
        ok, what = _is_image(head), "PNG/JPEG/WebP image"
    else:
        ok, what = True, ext
    if not ok:
        raise AssetVerificationError(
            f"{clean}: content is not a {what} (starts with {head[:8]!r})", url=clean
        )


# -------------------------------------------------------------------------- report, progress


@attrs.frozen
class AssetReport:
    """The outcome for one asset of a download.

    ``url`` never carries a query string (signed URLs stay secret). ``resumed_from`` is the byte
    offset a resumed download continued from (0 when fetched whole).

    Example:
        >>> report = mint.assets.download(op, out, include=["spz", "thumbnail"],
        ...                               spz_resolution="500k")
        >>> for a in report.assets:
        ...     print(a.kind, a.status, a.path.name, a.bytes, len(a.sha256))
        spz downloaded splat_500k.spz 65536 64
        thumbnail downloaded thumbnail.webp 65536 64
    """

    kind: str
    slot: str
    url: str | None
    path: Path
    status: Status
    bytes: int = 0
    sha256: str | None = None
    resumed_from: int = 0
    error: MintError | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (``error`` as its class name and message)."""
        error = None
        if self.error is not None:
            error = {"type": type(self.error).__name__, "message": str(self.error)}
        return {
            "kind": self.kind, "slot": self.slot, "url": self.url, "path": str(self.path),
            "status": self.status, "bytes": self.bytes, "sha256": self.sha256,
            "resumed_from": self.resumed_from, "error": error,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssetReport:
        """The report :meth:`to_dict` gave. ``error`` comes back as a ``MintError`` of the same
        class when that class takes a message alone, else as a plain ``MintError``; bad data
        is ``InvalidArgumentError``."""
        try:
            status = data["status"]
            if status not in ("downloaded", "skipped", "failed"):
                raise ValueError(f"status {status!r}")
            raw_error = data.get("error")
            error = None if raw_error is None else _error_from(raw_error["type"],
                                                               raw_error["message"])  # fmt: skip
            report = cls(
                kind=_typed(data["kind"], str), slot=_typed(data["slot"], str),
                url=_typed(data.get("url"), str, none=True), path=Path(_typed(data["path"], str)),
                status=status, bytes=_typed(data.get("bytes", 0), int),
                sha256=_typed(data.get("sha256"), str, none=True),
                resumed_from=_typed(data.get("resumed_from", 0), int), error=error,
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"not an AssetReport dict: {exc!r}") from None
        return report


def _typed(value: Any, kind: type, none: bool = False) -> Any:
    if (value is None and none) or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise TypeError(f"expected {kind.__name__}, got {value!r}")


def _error_from(name: object, message: object) -> MintError:
    from . import _errors

    if not isinstance(name, str) or not isinstance(message, str):
        raise TypeError("error needs a type and a message")
    cls = getattr(_errors, name, None)
    if isinstance(cls, type) and issubclass(cls, MintError):
        try:
            return cls(message)
        except TypeError:  # needs more than a message (a response, a report...)
            pass
    return MintError(message)


@attrs.frozen
class DownloadReport:
    """Everything ``mint.assets.download`` did: one :class:`AssetReport` per asset, in plan order.

    Example:
        >>> report = mint.assets.download(op, out)
        >>> print(report.ok, report.directory == out / op.resource_id, len(report.downloaded))
        True True 9
        >>> again = mint.assets.download(op, out)  # complete files are checked, not fetched
        >>> print(len(again.downloaded), len(again.skipped))
        0 9
    """

    resource_id: str
    directory: Path
    assets: tuple[AssetReport, ...]

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.assets)

    @property
    def downloaded(self) -> tuple[AssetReport, ...]:
        return tuple(a for a in self.assets if a.status == "downloaded")

    @property
    def skipped(self) -> tuple[AssetReport, ...]:
        return tuple(a for a in self.assets if a.status == "skipped")

    @property
    def failed(self) -> tuple[AssetReport, ...]:
        return tuple(a for a in self.assets if a.status == "failed")

    @property
    def total_bytes(self) -> int:
        return sum(a.bytes for a in self.assets if a.ok)

    def by_kind(self, kind: str) -> list[AssetReport]:
        """Example: ``report.by_kind("spz")``."""
        return [a for a in self.assets if a.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, for task results and logs; :meth:`from_dict` reads it back.

        Example:
            >>> import json
            >>> r = DownloadReport("model_1", Path("out/model_1"), ())
            >>> DownloadReport.from_dict(json.loads(json.dumps(r.to_dict()))) == r
            True
        """
        return {
            "resource_id": self.resource_id,
            "directory": str(self.directory),
            "assets": [a.to_dict() for a in self.assets],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DownloadReport:
        """The report :meth:`to_dict` gave (``InvalidArgumentError`` for anything else)."""
        try:
            assets = data["assets"]
            if not isinstance(assets, list):
                raise TypeError("assets must be a list")
            return cls(
                _typed(data["resource_id"], str),
                Path(_typed(data["directory"], str)),
                tuple(AssetReport.from_dict(a) for a in assets),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidArgumentError(f"not a DownloadReport dict: {exc!r}") from None

    def summary(self) -> str:
        """One line: ``3 downloaded, 1 skipped, 0 failed (12345 bytes) in out/world_1``."""
        return (
            f"{len(self.downloaded)} downloaded, {len(self.skipped)} skipped, "
            f"{len(self.failed)} failed ({self.total_bytes} bytes) in {self.directory}"
        )


set_report_reader(DownloadReport.from_dict)  # DownloadError(*exc.args) rebuilds its report


def failure_message(report: DownloadReport) -> str:
    lines = [f"{len(report.failed)} of {len(report.assets)} asset(s) failed in {report.directory}:"]
    lines += [f"  {a.kind} {a.url or a.path.name}: {a.error}" for a in report.failed]
    return "\n".join(lines)


@attrs.frozen
class DownloadProgress:
    """One progress event: this file's progress and the total over the whole download.

    ``bytes_total``/``total_bytes`` are None/partial while sizes are still unknown (a file's size
    is known once its answer arrives). ``done`` is True on the last event of a file.

    ``status`` says what the event is about: ``"planned"`` (one per file before any request,
    ``bytes_total`` the size known so far from the API or an earlier run, else None),
    ``"checking"`` (a HEAD confirms a file already complete on disk), ``"resuming"`` (re-reading
    a partial file before continuing from ``bytes_done``), ``"downloading"``, and on the last
    event (``done``) ``"downloaded"``, ``"skipped"`` or ``"failed"``. ``slot`` names the file
    within the download (stable even when the final name is only known from the answer).

    Example:
        >>> def show(e: DownloadProgress) -> None:
        ...     print(f"{e.path.name}: {e.bytes_done}/{e.bytes_total}  total {e.total_done}")
        >>> report = mint.assets.download(op, out, include=["thumbnail"], progress=show)
        thumbnail.webp: 0/None  total 0
        thumbnail.webp: 65536/65536  total 65536
    """

    kind: str
    path: Path
    bytes_done: int
    bytes_total: int | None
    total_done: int
    total_bytes: int
    done: bool = False
    status: str = "downloading"
    slot: str = ""


@attrs.define
class ProgressTotals:
    """Per-file and overall counters behind :class:`DownloadProgress` (callers hold a lock)."""

    done: dict[str, int] = attrs.field(factory=dict)
    totals: dict[str, int] = attrs.field(factory=dict)

    def update(
        self,
        slot: str,
        kind: str,
        path: Path,
        done: int,
        total: int | None,
        finished: bool,
        status: str = "downloading",
    ) -> DownloadProgress:
        self.done[slot] = done
        if total is not None:
            self.totals[slot] = total
        elif finished:
            self.totals[slot] = done
        return DownloadProgress(
            kind=kind,
            path=path,
            bytes_done=done,
            bytes_total=total,
            total_done=sum(self.done.values()),
            total_bytes=sum(self.totals.values()),
            done=finished,
            status=status,
            slot=slot,
        )


def known_size(planned: PlannedAsset, assets: WorldAssets | ModelAssets,
               entry: ManifestEntry | None) -> int | None:  # fmt: skip
    """A file's size before any request: the text's length, the size an earlier complete
    download recorded for the same URL, or a size the API states (``glbSizeBytes``...)."""
    if planned.text is not None:
        return len(planned.text.encode("utf-8"))
    if entry is not None and planned.url and entry.url == url_without_query(planned.url):
        return entry.size
    if isinstance(assets, ModelAssets):
        size = {"glb": assets.glb_size_bytes, "optimized_glb": assets.optimized_glb_size_bytes}
        stated = size.get(planned.slot)
        return stated if isinstance(stated, int) else None  # UNSET: not sent
    return None


def stated_size(planned: PlannedAsset, assets: WorldAssets | ModelAssets) -> int | None:
    """The size the API states for this file (``glbSizeBytes``...), if any and plausible."""
    size: object = None
    if isinstance(assets, ModelAssets):
        if planned.slot == "glb":
            size = assets.glb_size_bytes
        elif planned.slot == "optimized_glb":
            size = assets.optimized_glb_size_bytes
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return None
    return size


def agreed_size(url: str, sizes: Iterable[tuple[str, int | None]]) -> int | None:
    """The one size that every source that knows it states; None when none does.

    Raises ``AssetVerificationError`` when two sources disagree: the file cannot be both.

    Example:
        >>> agreed_size("https://c/m.glb", [("Content-Length", 10), ("the API", None)])
        10
        >>> agreed_size("https://c/m.glb", [("Content-Length", 10), ("the API", 12)])
        Traceback (most recent call last):
        ...
        mint_ext.AssetVerificationError: https://c/m.glb: Content-Length says 10 bytes, the API says 12
    """
    known = [(source, size) for source, size in sizes if size is not None]
    for source, size in known[1:]:
        if size != known[0][1]:
            clean = url_without_query(url)
            raise AssetVerificationError(
                f"{clean}: {known[0][0]} says {known[0][1]} bytes, {source} says {size}", url=clean
            )
    return known[0][1] if known else None


def skip_check(verify: str | None, entry: ManifestEntry) -> str:
    """How a complete-looking file is checked against its manifest entry before a skip:
    ``verify`` if given, else ``"sha256"`` when the entry records a digest, else ``"size"``."""
    if verify is not None:
        return verify
    return "sha256" if re.fullmatch(r"[0-9a-f]{64}", entry.sha256) else "size"


def hash_of(chunks: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def resource_folder_name(resource_id: str) -> str:
    """The folder name for a resource id (sanitised like every server-provided name)."""
    return safe_component(resource_id, "resource")


def as_error(exc: BaseException) -> MintError:
    """Wrap a local failure (OSError...) so that a report only holds ``MintError``."""
    if isinstance(exc, MintError):
        return exc
    if isinstance(exc, OSError):
        return MintError(f"{type(exc).__name__}: {exc.strerror or exc} ({exc.filename or ''})")
    return MintError(f"{type(exc).__name__}: {exc}")
