"""Fault injection for the fake Mint API (see the package docstring for the catalogue)."""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Fault"]


@dataclass(frozen=True)
class Fault:
    """One misbehaviour of the server, consumed by one matching request.

    Build them with the class methods; :meth:`FakeMint.inject` queues them per route.
    """

    kind: str
    status_code: int = 0
    retry_after: str | None = None
    seconds: float = 0.0
    n_bytes: int = 0
    to_origin: str | None = None
    value: str = ""
    #: ``drop``: body bytes sent before the reset (None: half); ``close_delimited``: body bytes
    #: sent before the close (None: all of them).
    limit: int | None = None
    #: ``redirect``: the exact ``Location`` (absolute or relative) instead of ``to_origin``.
    location: str | None = None
    #: ``html``: the ``Content-Type`` of the page.
    content_type: str | None = None
    #: ``range_total``: the total a 206 answer's ``Content-Range`` claims.
    total: int | None = None
    #: ``asset_fields``: ``(field, JSON text)`` pairs that replace fields of ``assets``.
    fields: tuple[tuple[str, str], ...] = ()

    # ------------------------------------------------------------------ constructors
    @classmethod
    def status(cls, status_code: int, *, retry_after: str | float | None = None) -> Fault:
        """Answer ``status_code`` with a problem+json body (and ``Retry-After`` if given:
        seconds or an HTTP-date). Any status is sent as is, even one outside the IANA list (520)."""
        if not 100 <= status_code <= 999:
            raise ValueError("status code must have three digits")
        ra = None if retry_after is None else _retry_after_text(retry_after)
        return cls("status", status_code=status_code, retry_after=ra)

    @classmethod
    def html(cls, status_code: int = 502, *, content_type: str | None = None) -> Fault:
        """An HTML error page (``text/html``), as a proxy or load balancer would send.

        ``content_type`` labels the page otherwise: ``Fault.html(200,
        content_type="application/octet-stream")`` is a captive portal or misconfigured CDN that
        serves its error page as if it were the file (only the bytes show it is HTML)."""
        return cls("html", status_code=status_code, content_type=content_type)

    @classmethod
    def drop(cls, after: int | None = None) -> Fault:
        """Headers with the full ``Content-Length``, ``after`` body bytes (default: about half),
        then a connection reset (in-process: ``httpx.ReadError`` while streaming).

        Over TLS (``asset_tls=``) Python's ssl module reports the reset as an end of file, so the
        client sees what :meth:`truncate` gives: a body that ends early."""
        if after is not None and after < 0:
            raise ValueError("after must be >= 0")
        return cls("drop", limit=after)

    @classmethod
    def close_delimited(cls, n_bytes: int | None = None) -> Fault:
        """An asset answer framed by the connection's end (HTTP/1.0 style): no ``Content-Length``
        and no chunked encoding, ``Connection: close``, then the body, or only its first
        ``n_bytes``, and a clean close.

        Cut short, it is a truncation the framing cannot show: the client sees a normal end of
        the body (in-process too: the response has no ``Content-Length`` and simply ends), and
        only the size from ``HEAD``, ``Content-Range`` or the API can tell. Asset origins only."""
        if n_bytes is not None and n_bytes < 0:
            raise ValueError("n_bytes must be >= 0")
        return cls("close_delimited", limit=n_bytes)

    @classmethod
    def range_total(cls, total: int) -> Fault:
        """A ``206`` whose ``Content-Range`` claims ``total`` as the file's size (same ETag, same
        bytes): a CDN whose copy of the file is another length than the one resumed. Applies to
        an asset GET that gets a 206 (a request without ``Range`` is answered normally, and the
        fault is still used up: inject it on ``"ASSET GET *"`` just before the resume)."""
        if total < 0:
            raise ValueError("total must be >= 0")
        return cls("range_total", total=total)

    @classmethod
    def truncate(cls, n_bytes: int) -> Fault:
        """Headers with the full ``Content-Length``, only ``n_bytes`` of body, then a clean close."""
        if n_bytes < 0:
            raise ValueError("n_bytes must be >= 0")
        return cls("truncate", n_bytes=n_bytes)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait ``seconds`` of *real* time before answering normally."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return cls("slow", seconds=float(seconds))

    @classmethod
    def redirect(
        cls, to_origin: str | None = None, *, location: str | None = None, status_code: int = 302
    ) -> Fault:
        """``302`` to the same path and query on ``to_origin`` (default: the fake's redirect origin,
        which serves the same assets and records headers too).

        ``location``: send exactly this ``Location`` instead (absolute, or relative to the
        request's URL, e.g. ``"/glb/x.glb?via=edge"``). ``status_code``: 301, 303, 307 or 308."""
        if status_code not in (301, 302, 303, 307, 308):
            raise ValueError("a redirect status is 301, 302, 303, 307 or 308")
        return cls(
            "redirect",
            status_code=status_code,
            to_origin=to_origin.rstrip("/") if to_origin else None,
            location=location,
        )

    @classmethod
    def unknown_status(cls, status: str = "paused") -> Fault:
        """The operation GET reports ``status`` (a value the spec does not know) once."""
        return cls("unknown_status", value=status)

    @classmethod
    def asset_fields(cls, fields: Mapping[str, Any]) -> Fault:
        """The answer's ``assets`` (an operation, world or model with assets) carries these
        fields instead, as given: URLs the spec does not allow (``"ftp://x/t.png"``,
        ``"model.glb"``), ``None`` for a missing one, another ``spzUrls`` map... For testing what
        a client does with whatever a server sends. Values must be JSON."""
        return cls("asset_fields", fields=tuple((k, json.dumps(v)) for k, v in fields.items()))

    @classmethod
    def malformed_json(cls) -> Fault:
        """``200`` with ``Content-Type: application/json`` and a body that is not JSON."""
        return cls("malformed_json", status_code=200)


def _retry_after_text(value: str | float) -> str:
    """RFC 9110 delay-seconds are a non-negative integer: numbers are rounded (a string is sent as
    is, so a test can still send an HTTP-date or a deliberately bad value)."""
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        raise ValueError("retry_after must be a finite number of seconds")
    return str(max(0, round(value)))


@dataclass
class _Injected:
    fault: Fault
    route: str
    remaining: int


def route_matches(pattern: str, route_key: str) -> bool:
    """``pattern`` is ``"*"``, ``"ASSET"``, ``"METHOD /v1/template"``, ``"ASSET METHOD /path"`` or
    a glob over these.

    An asset request's key is ``"ASSET GET /glb/model_x.glb"``: ``"ASSET"`` alone matches every
    asset request, ``"ASSET GET *"`` only GETs, ``"ASSET * */pano.png"`` one file. A pattern
    without a method (``"/v1/operations/*"``) matches the API path template of any method.
    """
    if pattern in ("*", route_key):
        return True
    asset = route_key.startswith("ASSET ")
    if pattern == "ASSET":
        return asset
    if fnmatch.fnmatchcase(route_key, pattern):
        return True
    if pattern.startswith("/") and " " in route_key and not asset:
        return fnmatch.fnmatchcase(route_key.split(" ", 1)[1], pattern)
    return False
