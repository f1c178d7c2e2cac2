"""Whether a URL can be used for a request at all (before httpx or a socket chokes on it)."""

from __future__ import annotations

import re

import httpx

__all__ = ["url_problem"]

_HOST_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


def url_problem(url: object) -> str | None:
    """Why ``url`` (from the server) cannot be fetched, or None when it can.

    Refused: anything but text, lone surrogates, what httpx cannot parse, relative URLs,
    schemes other than http/https, no host, an empty or over-long (> 63) host label or a host
    name over 253 characters, a port outside 1-65535. Each becomes a typed error at planning
    or request time instead of a ``UnicodeError``/``OverflowError`` deep in a transport.

    Example:
        >>> url_problem("https://cdn.mint.gg/a.glb?sig=1") is None
        True
        >>> url_problem("ftp://cdn.mint.gg/a.glb")
        "unsupported scheme 'ftp'"
        >>> url_problem("https://a..b/x")
        'an empty or over-long label in host name'
    """
    if not isinstance(url, str):
        return f"not a string ({type(url).__name__})"
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid text (a lone surrogate)"
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        port = parsed.port
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        return f"not a valid URL ({exc})"
    if not parsed.scheme:
        return "not an absolute URL"
    if parsed.scheme not in ("http", "https"):
        return f"unsupported scheme {parsed.scheme!r}"
    if not host:
        return "no host"
    if ":" not in host:  # an IPv6 literal has no labels to check
        name = host[:-1] if host.endswith(".") else host
        if len(name) > 253 or not all(_HOST_LABEL.match(label) for label in name.split(".")):
            return "an empty or over-long label in host name"
    if port is not None and not 1 <= port <= 65535:
        return f"port {port} out of range"
    return None
