"""The asset clients follow the caller's HTTP settings: a caller's ``verify=`` (a corporate CA)
and ``proxy=`` reach the asset pool, sync and async; the fast reads are used only with the
h11/httpcore/AnyIO versions they were tested with."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
import trustme

from mint_ext import AsyncMint, DownloadError, Mint
from mint_ext import _asset_transport as at
from mint_ext.testing import FakeClock, FakeMint, FakeServer, Fault, serve_fake_mint

from ._fake_contract import Contract


@pytest.fixture
def tls_origin(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeServer, ssl.SSLContext]]:
    """The fake with an https asset origin whose CA only the returned client context trusts."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 2 << 20})
    with serve_fake_mint(fake, asset_tls=server_context) as server:
        with httpx.Client(headers={"Authorization": f"Bearer {server.api_key}"}) as api:
            op = api.post(f"{server.base_url}/v1/models:generate", json={"prompt": "x"},
                          headers={"Idempotency-Key": "k1"}).json()  # fmt: skip
        fake.advance(3600)
        server.op_id = op["id"]  # type: ignore[attr-defined]
        yield server, client_context


def _download(mode: str, server: FakeServer, out: Path, http_kw: dict[str, Any]) -> Any:
    op_id = server.op_id  # type: ignore[attr-defined]
    kw = {"api_key": server.api_key, "base_url": server.base_url, "max_retries": 0}
    if mode == "sync":
        with httpx.Client(**http_kw) as http, Mint(http_client=http, **kw) as mint:
            return mint.assets.download(op_id, out, include=["glb"])

    async def main() -> Any:
        async with httpx.AsyncClient(**http_kw) as http, AsyncMint(http_client=http, **kw) as mint:
            return await mint.assets.download(op_id, out, include=["glb"])

    return asyncio.run(main())


def test_a_callers_verify_reaches_the_asset_pool(
    mode: str, tls_origin: tuple[FakeServer, ssl.SSLContext], tmp_path: Path
) -> None:
    server, trusting = tls_origin
    assert server.asset_base_url.startswith("https://")
    report = _download(mode, server, tmp_path, {"verify": trusting})
    assert report.ok and report.assets[0].bytes == 2 << 20
    # And the default trust store does not know this CA: the setting is what made it work.
    with pytest.raises(DownloadError, match=r"(?i)certificate"):
        _download(mode, server, tmp_path / "other", {})


def test_a_callers_proxy_reaches_the_asset_pool(
    mode: str, tmp_path: Path, contract: Contract
) -> None:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 256 << 10}, on_response=contract)
    model_id = fake.seed_models(1)[0]
    (op_id,) = fake.operation_ids()
    glb = f"/glb/{model_id}.glb"
    # Asset URLs on a host that does not resolve: only the proxy can serve them.
    fields = {"glbUrl": f"http://assets.invalid{glb}?sig=1", "previewImageUrl": None,
              "thumbnailUrl": None}  # fmt: skip
    fake.inject(Fault.asset_fields(fields), route="GET /v1/operations/*", times=5)
    with serve_fake_mint(fake) as server:
        proxy = server.asset_base_url  # the fake's servers also answer as proxies
        kw = {"api_key": server.api_key, "base_url": server.base_url, "max_retries": 0}
        if mode == "sync":
            with httpx.Client(proxy=proxy) as http, Mint(http_client=http, **kw) as mint:
                report = mint.assets.download(op_id, tmp_path)
        else:

            async def main() -> Any:
                async with httpx.AsyncClient(proxy=proxy) as http, \
                        AsyncMint(http_client=http, **kw) as mint:  # fmt: skip
                    return await mint.assets.download(op_id, tmp_path)

            report = asyncio.run(main())
    assert report.ok
    assert f"http://assets.invalid{glb}?sig=1" in [r.proxy_url for r in fake.asset_requests()]
    assert (tmp_path / model_id / "model.glb").read_bytes() == fake.asset(glb).read()


def test_fast_reads_only_inside_the_tested_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    assert at.fast_reads_supported(("h11", "httpcore", "anyio"))  # what CI installs
    assert isinstance(at.asset_transport()._pool, at._Pool)
    assert isinstance(at.async_asset_transport()._pool, at._AsyncPool)
    real = at._version
    for package, version in (("h11", (0, 17)), ("httpcore", (2, 0)), ("anyio", (3, 9))):

        def fake(name: str, package: str = package, version: Any = version) -> Any:
            return version if name == package else real(name)

        monkeypatch.setattr(at, "_version", fake)
        assert not at.fast_reads_supported(("h11", "httpcore", "anyio"))
        async_pool = at.async_asset_transport()._pool
        assert type(async_pool) is httpcore.AsyncConnectionPool  # plain httpx
        if package != "anyio":  # the sync transport does not use AnyIO
            assert type(at.asset_transport()._pool) is httpcore.ConnectionPool
        else:
            assert isinstance(at.asset_transport()._pool, at._Pool)
    monkeypatch.setattr(at, "_version", lambda name: None)  # not installed at all
    assert not at.fast_reads_supported()


def test_inherited_tls_and_mounts_of_odd_clients_are_empty() -> None:
    assert at.inherited_tls(object()) is None
    assert at.borrowed_mounts(object()) == {}
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as c:
        assert at.inherited_tls(c) is None
    context = ssl.create_default_context()
    with httpx.Client(verify=context) as c:
        assert at.inherited_tls(c) is context
    with httpx.Client(proxy="http://127.0.0.1:9") as c:
        mounts = at.borrowed_mounts(c)
        assert list(mounts) == ["all://"]
        mounts["all://"].close()  # borrowed: closing it leaves the caller's transport open
        assert not c.is_closed
