"""The fake answers bad input like a real server: with an HTTP error, never a dropped socket,
a hung thread or a Python exception in the caller (over loopback and in-process)."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys

import httpx
import pytest

from mint_ext.testing import FakeClock, FakeMint, FakeServer, Fault, _server, serve_fake_mint
from tests._harness import RawApi

AUTH = b"Authorization: Bearer test-key\r\n"


def _raw(base_url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes to a loopback origin; return everything it answers until it closes."""
    host, port = base_url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def _thumbnail_url(fake: FakeMint, api: RawApi) -> str:
    fake.seed_worlds(1)
    return str(api.get("/v1/worlds").json()["data"][0]["assets"]["thumbnailUrl"])


@pytest.mark.parametrize("route", ["GET /v1/me", "ASSET"])
def test_head_answered_by_a_fault_has_no_body(
    fake: FakeMint, fake_server: FakeServer, route: str
) -> None:
    api = RawApi(fake, fake_server.base_url)
    url = f"{fake_server.base_url}/v1/me" if route != "ASSET" else _thumbnail_url(fake, api)
    fake.inject(Fault.status(503, retry_after=1), route=route)
    with httpx.Client(headers={"Authorization": "Bearer test-key"}) as http:
        assert http.head(url).status_code == 503
        # The same pooled connection must still be in sync: a stray body would corrupt this.
        assert http.get(url).status_code == 200


def test_head_answered_by_a_fault_has_no_body_in_process(fake: FakeMint) -> None:
    fake.inject(Fault.status(503), route="GET /v1/me")
    response = RawApi(fake).http.head("/v1/me")
    assert response.status_code == 503 and response.content == b""


_DEEP = b"[" * 100_000
_CURSOR = "cur_" + base64.urlsafe_b64encode("world:\u00b2:x".encode()).decode().rstrip("=")
BAD_REQUESTS = {
    "non-numeric Content-Length": (
        b"GET /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n" + AUTH + b"\r\n",
        b"HTTP/1.1 400",
    ),
    "negative Content-Length": (
        b"GET /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n" + AUTH + b"\r\n",
        b"HTTP/1.1 400",
    ),
    "overflowing Content-Length": (
        b"POST /v1/worlds:generate HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\n"
        b"Content-Length: 99999999999999999999\r\n" + AUTH + b"\r\n{}",
        b"HTTP/1.1 400",
    ),
    "body over the cap": (
        b"POST /v1/worlds:generate HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\n"
        b"Content-Length: %d\r\n" % (_server.MAX_BODY + 1) + AUTH + b"\r\n{}",
        b"HTTP/1.1 413",
    ),
    "bad chunk size": (
        b"POST /v1/worlds:generate HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\n"
        b"Transfer-Encoding: chunked\r\n" + AUTH + b"\r\nzz\r\n",
        b"HTTP/1.1 400",
    ),
    "deeply nested JSON": (
        b"POST /v1/worlds:generate HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n" % len(_DEEP) + AUTH + b"\r\n" + _DEEP,
        b"HTTP/1.1 400",
    ),
    "cursor with a superscript digit": (
        f"GET /v1/worlds?cursor={_CURSOR} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
        + AUTH
        + b"\r\n",
        b"HTTP/1.1 422",
    ),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_bad_request_gets_an_http_error(fake_server: FakeServer, name: str) -> None:
    request, expected = BAD_REQUESTS[name]
    assert _raw(fake_server.base_url, request).startswith(expected)


def test_chunked_body_still_works(fake_server: FakeServer) -> None:
    body = b'{"prompt": "a chunked greenhouse"}'
    request = (
        b"POST /v1/worlds:generate HTTP/1.1\r\nHost: x\r\nIdempotency-Key: chunked-1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
        + AUTH
        + b"\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    )
    assert _raw(fake_server.base_url, request).startswith(b"HTTP/1.1 202")


def test_signed_url_with_a_unicode_digit_expiry_is_denied() -> None:
    fake = FakeMint(clock=FakeClock(), signed_urls=True)
    with serve_fake_mint(fake) as server:
        thumb = _thumbnail_url(fake, RawApi(fake, server.base_url))
        path = thumb.split("?")[0].removeprefix(server.asset_base_url)
        request = f"GET {path}?sig=abc&exp=%C2%B2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        assert _raw(server.asset_base_url, request.encode()).startswith(b"HTTP/1.1 403")


def test_deep_json_in_process_is_a_400(fake: FakeMint) -> None:
    response = RawApi(fake).post("/v1/worlds:generate", content=b"[" * 100_000)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/invalid-json")


def test_short_body_does_not_pin_a_handler_thread(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_server._Handler, "timeout", 0.5)
    request = (
        b"POST /v1/worlds:generate HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\n"
        b"Content-Length: 100\r\n" + AUTH + b"\r\n{}"
    )
    # The server gives up on the missing 98 bytes and closes; recv() then returns b"".
    assert _raw(fake_server.base_url, request, timeout=10) == b""


def test_a_bug_in_the_fake_is_a_500_not_a_dropped_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeMint(clock=FakeClock())

    def broken(*args: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(fake, "_handle_asset", broken)
    monkeypatch.setattr(fake, "get_me", broken, raising=False)
    with serve_fake_mint(fake) as server:
        response = httpx.get(f"{server.asset_base_url}/anything")
        assert response.status_code == 500
        assert "KeyError" in response.json()["detail"]
    in_process = httpx.Client(transport=fake.transport()).get(f"{fake.asset_base_url}/anything")
    assert in_process.status_code == 500


@pytest.mark.parametrize(("value", "header"), [(0.4, "0"), (1.6, "2"), (3, "3"), ("7", "7")])
def test_fault_retry_after_is_whole_seconds(value: float | str, header: str) -> None:
    assert Fault.status(503, retry_after=value).retry_after == header


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_retry_after_is_refused_up_front(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        Fault.status(503, retry_after=value)
    with pytest.raises(ValueError, match="finite"):
        FakeMint(retry_after=value)


def test_cli_rejects_a_non_finite_retry_after() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mint_ext.testing", "--retry-after", "nan"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--retry-after" in done.stderr and "Traceback" not in done.stderr
