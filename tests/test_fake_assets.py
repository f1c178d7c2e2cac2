"""The fake's asset origin: signatures, Range/If-Range/416/HEAD, versions, signed URLs, speed."""

from __future__ import annotations

import struct

import httpx
import pytest

from mint_ext.testing import FakeClock, FakeMint, FakeServer, Timings
from mint_ext.testing._assets import AssetEntry, parse_range
from tests._fake_contract import Contract
from tests._harness import RawApi

T = Timings()


def _finished(fake: FakeMint, base_url: str | None = None) -> tuple[dict, dict]:
    api = RawApi(fake, base_url)
    world_op = api.world()["id"]
    model_op = api.model()["id"]
    fake.advance(T.total_auto())
    return api.op(world_op)["assets"], api.op(model_op)["assets"]


def test_signatures_of_every_kind(fake: FakeMint) -> None:
    world, model = _finished(fake)
    cdn = httpx.Client(transport=fake.transport())
    expected = {
        world["colliderMeshUrl"]: "model/gltf-binary",
        world["spzUrls"]["500k"]: "application/octet-stream",
        world["radUrl"]: "application/octet-stream",
        world["panoUrl"]: "image/png",
        world["previewImageUrl"]: "image/png",
        world["thumbnailUrl"]: "image/webp",
        model["glbUrl"]: "model/gltf-binary",
    }
    for url, ctype in expected.items():
        response = cdn.get(url)
        data = response.content
        assert response.status_code == 200, url
        assert response.headers["content-type"] == ctype
        assert int(response.headers["content-length"]) == len(data) == 64 * 1024
        assert response.headers["accept-ranges"] == "bytes"
        etag = response.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        if url.endswith(".glb"):
            assert data[:4] == b"glTF" and struct.unpack("<II", data[4:12]) == (2, len(data))
        elif url.endswith(".spz"):
            assert data[:3] == b"\x1f\x8b\x08"
        elif url.endswith(".rad"):
            assert data[:4] == b"RAD0"
        elif url.endswith(".png"):
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
        elif url.endswith(".webp"):
            assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
            assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    assert AssetEntry("/images/x/a.jpg", "jpg", 100).read()[:3] == b"\xff\xd8\xff"
    assert isinstance(world["caption"], str) and world["caption"]


def test_per_kind_sizes_and_deterministic_bytes(contract: Contract) -> None:
    def make() -> tuple[FakeMint, dict]:
        fake = FakeMint(
            clock=FakeClock(), asset_size=4096, asset_sizes={"glb": 1000}, on_response=contract
        )
        return fake, _finished(fake)[1]

    fake1, model1 = make()
    fake2, model2 = make()
    one = fake1.asset(model1["glbUrl"]).read()
    assert len(one) == 1000 and one == fake2.asset(model2["glbUrl"]).read()
    assert fake1.asset(model1["previewImageUrl"]).size == 4096
    assert model1["glbSizeBytes"] == 1000


def test_range_if_range_416_and_change_asset(fake: FakeMint) -> None:
    world, _ = _finished(fake)
    url = world["spzUrls"]["full_res"]
    cdn = httpx.Client(transport=fake.transport())
    full = cdn.get(url)
    body, etag = full.content, full.headers["etag"]
    size = len(body)
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=100-": (100, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes=10-{size + 999}": (10, size - 1),
    }
    for header, (a, b) in cases.items():
        part = cdn.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.headers["content-range"] == f"bytes {a}-{b}/{size}"
        assert part.content == body[a : b + 1]
        assert int(part.headers["content-length"]) == b - a + 1
    unsatisfiable = cdn.get(url, headers={"Range": f"bytes={size}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"
    assert cdn.get(url, headers={"Range": "bytes=0-1,5-6"}).status_code == 200  # ignored
    fresh = cdn.get(url, headers={"Range": "bytes=10-", "If-Range": etag})
    assert fresh.status_code == 206
    new_etag = fake.change_asset(url)
    assert new_etag != etag
    stale = cdn.get(url, headers={"Range": "bytes=10-", "If-Range": etag})
    assert stale.status_code == 200 and stale.headers["etag"] == new_etag
    assert stale.content[:3] == body[:3] and stale.content != body
    assert len(stale.content) == size
    head = cdn.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(size) and head.headers["etag"] == new_etag


def test_parse_range_edges() -> None:
    assert parse_range("bytes=0-0", 10) == (0, 1)
    assert parse_range("bytes=-0", 10) is False
    assert parse_range("bytes=-20", 10) == (0, 10)
    assert parse_range("bytes=5-2", 10) is None
    assert parse_range("items=0-1", 10) is None
    assert parse_range("bytes=x-", 10) is None


def test_loopback_head_range_and_recorded_headers(fake: FakeMint, fake_server: FakeServer) -> None:
    _, model = _finished(fake, fake_server.base_url)
    url = model["glbUrl"]
    assert url.startswith(fake_server.asset_base_url)
    fake.clear_requests()
    with httpx.Client() as cdn:
        head = cdn.head(url)
        assert head.status_code == 200 and head.headers["content-length"] == str(64 * 1024)
        part = cdn.get(url, headers={"Range": "bytes=0-11"})
        assert part.status_code == 206 and part.content[:4] == b"glTF"
        cdn.get(url, headers={"Authorization": "Bearer leak", "Cookie": "a=b"})
    records = fake.asset_requests()
    assert [r.method for r in records] == ["HEAD", "GET", "GET"]
    assert all(r.origin == "asset" for r in records)
    assert "authorization" not in records[0].headers and "cookie" not in records[1].headers
    assert records[2].headers["authorization"] == "Bearer leak"
    assert records[2].headers["cookie"] == "a=b"
    assert fake.asset_requests()[0].path.startswith("/glb/")
    assert httpx.get(fake_server.asset_base_url + "/glb/nothing.glb").status_code == 404


def test_signed_urls_expire_and_reads_refresh(contract: Contract) -> None:
    fake = FakeMint(clock=FakeClock(), signed_urls=True, url_ttl=300, on_response=contract)
    api = RawApi(fake)
    op_id = api.world()["id"]
    fake.advance(T.total_auto())
    url = api.op(op_id)["assets"]["radUrl"]
    assert "sig=" in url and "exp=" in url
    cdn = httpx.Client(transport=fake.transport())
    assert cdn.get(url).status_code == 200
    assert cdn.get(url.split("?")[0]).status_code == 403
    assert cdn.get(url.replace("sig=", "sig=0")).status_code == 403
    fake.advance(301)
    assert cdn.get(url).status_code == 403
    fresh = api.op(op_id)["assets"]["radUrl"]
    assert fresh != url and cdn.get(fresh).status_code == 200
    world_id = api.op(op_id)["resource"]["id"]
    from_world = api.get(f"/v1/worlds/{world_id}").json()["assets"]["radUrl"]
    assert cdn.get(from_world).status_code == 200


@pytest.mark.parametrize("size_mib", [128])
def test_large_asset_streams_over_loopback(contract: Contract, size_mib: int) -> None:
    from mint_ext.testing import serve_fake_mint

    fake = FakeMint(clock=FakeClock(), asset_size=512 * 1024 * 1024, on_response=contract)
    with serve_fake_mint(fake) as server:
        _, model = _finished(fake, server.base_url)
        url = model["glbUrl"]
        with httpx.Client() as cdn:
            assert cdn.head(url).headers["content-length"] == str(512 * 1024 * 1024)
            tail = cdn.get(url, headers={"Range": "bytes=-1024"})
            assert tail.status_code == 206 and len(tail.content) == 1024
            want = size_mib * 1024 * 1024
            last = b""
            with cdn.stream("GET", url, headers={"Range": f"bytes=0-{want - 1}"}) as response:
                for chunk in response.iter_raw(1 << 20):
                    last = (last + chunk)[-64:]
                got = response.num_bytes_downloaded
            same = cdn.get(url, headers={"Range": f"bytes={want - 64}-{want - 1}"}).content
    assert last == same  # the streamed bytes are the bytes a Range request for them returns
    assert got == want  # throughput is measured by `nox -s bench`, not asserted here


def test_server_close_ends_keep_alive_connections(contract: Contract) -> None:
    from mint_ext.testing import serve_fake_mint

    fake = FakeMint(clock=FakeClock(), on_response=contract)
    http = httpx.Client(headers={"Authorization": "Bearer test-key"})
    with serve_fake_mint(fake) as server:
        base = server.base_url
        assert http.get(f"{base}/v1/me").status_code == 200  # leaves a pooled connection
    assert fake.base_url == "http://mint.fake"  # origins restored
    with pytest.raises(httpx.TransportError):
        http.get(f"{base}/v1/me")
    http.close()
