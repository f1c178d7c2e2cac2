"""Downloads from an https asset origin (a real TLS handshake on loopback), sync and async: the
path every real CDN download takes through our asset transports."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from mint_ext import DownloadError, UnsafeRedirectError
from mint_ext.testing import FakeClock, FakeMint, FakeServer, Fault, serve_fake_mint

from ._fake_contract import Contract
from ._harness import Api, FakeTime


@pytest.fixture
def tls_server(
    contract: Contract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeMint, FakeServer]]:
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # httpx trusts it (trust_env)
    fake = FakeMint(clock=FakeClock(), asset_sizes={"spz": 3 << 20}, on_response=contract)
    with serve_fake_mint(fake, asset_tls=server_context) as server:
        yield fake, server


def _api(mode: str, fake: FakeMint, server: FakeServer) -> Api:
    return Api(mode, base_url=server.base_url, api_key=server.api_key,
               time=FakeTime(start=fake.clock.now(), on_advance=fake.clock.advance))  # fmt: skip


def _finished_world(api: Api, fake: FakeMint) -> Any:
    op = api("worlds.generate", prompt="x")
    fake.advance(3600)
    return api("operations.get", op)


def test_world_downloads_over_https(
    mode: str, tls_server: tuple[FakeMint, FakeServer], tmp_path: Path
) -> None:
    fake, server = tls_server
    assert server.asset_base_url.startswith("https://")
    api = _api(mode, fake, server)
    try:
        op = _finished_world(api, fake)
        report = api("assets.download", op, tmp_path / "out")
        assert report.ok and len(report.assets) == 9
        for asset in report.assets:
            data = asset.path.read_bytes()
            assert asset.sha256 == hashlib.sha256(data).hexdigest()
            if asset.kind != "caption":
                assert asset.url.startswith("https://") and data == fake.asset(asset.url).read()
        cdn = [r for r in fake.requests if r.origin != "api"]
        assert cdn and all("authorization" not in r.headers for r in cdn)
    finally:
        api.close()


def test_a_truncated_https_body_resumes(
    mode: str, tls_server: tuple[FakeMint, FakeServer], tmp_path: Path
) -> None:
    fake, server = tls_server
    api = _api(mode, fake, server)
    try:
        op = _finished_world(api, fake)
        fake.inject(Fault.truncate(1 << 20), route="ASSET")
        report = api("assets.download", op, tmp_path, include=["spz"], spz_resolution="full_res")
        (spz,) = report.assets
        assert spz.status == "downloaded" and spz.resumed_from == 1 << 20
        assert spz.path.read_bytes() == fake.asset(spz.url).read()
    finally:
        api.close()


def test_https_to_http_redirect_is_refused(
    mode: str, tls_server: tuple[FakeMint, FakeServer], tmp_path: Path
) -> None:
    fake, server = tls_server
    api = _api(mode, fake, server)
    try:
        op = _finished_world(api, fake)
        plain = server.base_url  # an http:// origin
        fake.inject(Fault.redirect(to_origin=plain), route="ASSET", times=100)
        with pytest.raises(DownloadError) as info:
            api("assets.download", op, tmp_path, include=["thumbnail"])
        (thumb,) = info.value.report.assets
        assert isinstance(thumb.error, UnsafeRedirectError)
        assert not [r for r in fake.requests if r.origin == "api" and "thumb" in r.path]
    finally:
        api.close()
