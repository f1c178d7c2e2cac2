"""Fault injection for the fake Mint API (see the package docstring for the catalogue)."""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass

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
    def html(cls, status_code: int = 502) -> Fault:
        """An HTML error page (``text/html``), as a proxy or load balancer would send."""
        return cls("html", status_code=status_code)

    @classmethod
    def drop(cls) -> Fault:
        """Headers with the full ``Content-Length``, about half the body, then a connection reset.

        Over TLS (``asset_tls=``) Python's ssl module reports the reset as an end of file, so the
        client sees what :meth:`truncate` gives: a body that ends early."""
        return cls("drop")

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
    def redirect(cls, to_origin: str | None = None) -> Fault:
        """``302`` to the same path and query on ``to_origin`` (default: the fake's redirect origin,
        which serves the same assets and records headers too)."""
        return cls(
            "redirect", status_code=302, to_origin=to_origin.rstrip("/") if to_origin else None
        )

    @classmethod
    def unknown_status(cls, status: str = "paused") -> Fault:
        """The operation GET reports ``status`` (a value the spec does not know) once."""
        return cls("unknown_status", value=status)

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
    """``pattern`` is ``"*"``, ``"ASSET"``, ``"METHOD /v1/template"`` or a glob over either form.

    A pattern without a method (``"/v1/operations/*"``) matches the path template of any method.
    """
    if pattern in ("*", route_key):
        return True
    if fnmatch.fnmatchcase(route_key, pattern):
        return True
    if pattern.startswith("/") and " " in route_key:
        return fnmatch.fnmatchcase(route_key.split(" ", 1)[1], pattern)
    return False
