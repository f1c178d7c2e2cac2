"""Every fault kind, over a real loopback server with httpx, and in-process where meaningful."""

from __future__ import annotations

import contextlib
import email.utils
import threading
import time

import httpx
import pytest

from mint_ext.testing import FakeMint, FakeRequest, FakeServer, Fault, Timings, serve_fake_mint
from tests._harness import RawApi

T = Timings()
OP_ROUTE = "GET /v1/operations/{operationId}"


@pytest.fixture
def api(fake: FakeMint, fake_server: FakeServer) -> RawApi:
    return RawApi(fake, fake_server.base_url)


@pytest.fixture
def glb_url(api: RawApi, fake: FakeMint) -> str:
    op_id = api.model()["id"]
    fake.advance(T.total_auto())
    return str(api.op(op_id)["assets"]["glbUrl"])


def test_status_429_with_seconds_and_http_date(api: RawApi, fake: FakeMint) -> None:
    op_id = api.world()["id"]
    fake.inject(Fault.status(429, retry_after="3"), route=OP_ROUTE)
    limited = api.get(f"/v1/operations/{op_id}")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["status"] == 429 and limited.headers["x-request-id"]
    date = email.utils.formatdate(time.time() + 5, usegmt=True)
    fake.inject(Fault.status(429, retry_after=date), route=OP_ROUTE)
    assert api.get(f"/v1/operations/{op_id}").headers["retry-after"] == date
    assert api.get(f"/v1/operations/{op_id}").status_code == 200  # consumed


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_bursts(api: RawApi, fake: FakeMint, status: int) -> None:
    fake.inject(Fault.status(status), route="POST /v1/worlds:generate", times=3)
    codes = [
        api.post("/v1/worlds:generate", {"prompt": "x"}, key="k").status_code for _ in range(4)
    ]
    assert codes == [status] * 3 + [202]
    assert fake.operation_count() == 1


def test_status_outside_iana_list(api: RawApi, fake: FakeMint, glb_url: str) -> None:
    fake.inject(Fault.status(520), route="GET /v1/me")
    response = api.get("/v1/me")
    assert response.status_code == 520
    fake.inject(Fault.status(520), route="ASSET")
    assert httpx.get(glb_url).status_code == 520


def test_html_error_page(api: RawApi, fake: FakeMint) -> None:
    fake.inject(Fault.html(502), route="*")
    page = api.get("/v1/usage")
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    assert page.text.startswith("<html>")


def test_drop_mid_body_then_server_keeps_serving(api: RawApi, fake: FakeMint, glb_url: str) -> None:
    fake.inject(Fault.drop(), route="ASSET")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(glb_url)
    fake.inject(Fault.drop(), route=OP_ROUTE)
    op_id = fake.operation_ids()[0]
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        api.get(f"/v1/operations/{op_id}")
    assert httpx.get(glb_url).status_code == 200
    assert api.get(f"/v1/operations/{op_id}").status_code == 200


def test_truncate(api: RawApi, fake: FakeMint, glb_url: str) -> None:
    fake.inject(Fault.truncate(1000), route="ASSET")
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", glb_url) as response:
        assert response.headers["content-length"] == str(64 * 1024)
        for chunk in response.iter_raw():
            received += chunk
    assert len(received) == 1000 and received[:4] == b"glTF"
    assert len(httpx.get(glb_url).content) == 64 * 1024


def test_slow_and_peak_concurrency(api: RawApi, fake: FakeMint, fake_server: FakeServer) -> None:
    fake.inject(Fault.slow(0.3), route="GET /v1/me", times=4)
    fake.reset_peak()
    results: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=fake_server.base_url) as http:
            r = http.get("/v1/me", headers={"Authorization": f"Bearer {fake_server.api_key}"})
            results.append(r.status_code)

    started = time.perf_counter()
    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert results == [200] * 4
    assert elapsed >= 0.3  # the delay was honoured; overlap is shown by the peak below
    assert fake.peak_concurrency >= 2
    # The server leaves a request after its last byte is written, which the client may see
    # first: wait (bounded) for the count to settle instead of racing it.
    settle = time.monotonic() + 10
    while fake.in_flight and time.monotonic() < settle:
        time.sleep(0.01)
    assert fake.in_flight == 0


def test_redirect_to_the_redirect_origin(
    api: RawApi, fake: FakeMint, fake_server: FakeServer, glb_url: str
) -> None:
    fake.inject(Fault.redirect(), route="ASSET")
    first = httpx.get(glb_url)
    assert first.status_code == 302
    location = first.headers["location"]
    assert location.startswith(fake_server.redirect_base_url)
    assert location.endswith(glb_url.split(fake_server.asset_base_url, 1)[1])
    fake.inject(Fault.redirect(), route="ASSET")
    fake.clear_requests()
    followed = httpx.get(glb_url, follow_redirects=True, headers={"X-Probe": "1"})
    assert followed.status_code == 200 and followed.content[:4] == b"glTF"
    origins = [(r.origin, r.status) for r in fake.asset_requests()]
    assert origins == [("asset", 302), ("redirect", 200)]
    assert fake.asset_requests()[1].headers["x-probe"] == "1"
    fake.inject(Fault.redirect("http://elsewhere.example"), route="ASSET")
    assert httpx.get(glb_url).headers["location"].startswith("http://elsewhere.example/glb/")


def test_unknown_status_once(api: RawApi, fake: FakeMint) -> None:
    op_id = api.world()["id"]
    fake.inject(Fault.unknown_status("paused"), route=OP_ROUTE)
    assert api.op(op_id)["status"] == "paused"
    assert api.op(op_id)["status"] == "queued"


def test_malformed_json(api: RawApi, fake: FakeMint) -> None:
    fake.inject(Fault.malformed_json(), route="GET /v1/me")
    response = api.get("/v1/me")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


def test_route_globs(api: RawApi, fake: FakeMint) -> None:
    fake.inject(Fault.status(503), route="POST *")
    assert api.get("/v1/me").status_code == 200
    assert api.post("/v1/worlds:generate", {"prompt": "x"}).status_code == 503
    fake.inject(Fault.status(503), route="/v1/operations/*")
    assert api.get("/v1/me").status_code == 200
    assert api.get("/v1/operations/op_X").status_code == 503
    fake.inject(Fault.status(503), route="ASSET")
    assert api.get("/v1/me").status_code == 200
    fake.clear_faults()


# ------------------------------------------------------------------ in-process transport


def test_in_process_faults(fake: FakeMint) -> None:
    api = RawApi(fake)
    op_id = api.model()["id"]
    fake.advance(T.total_auto())
    url = api.op(op_id)["assets"]["glbUrl"]
    cdn = httpx.Client(transport=fake.transport())
    fake.inject(Fault.drop(), route="ASSET")
    with pytest.raises(httpx.ReadError):
        cdn.get(url)
    fake.inject(Fault.truncate(10), route="ASSET")
    with pytest.raises(httpx.RemoteProtocolError):
        cdn.get(url)
    fake.inject(Fault.status(503, retry_after=1), route=OP_ROUTE)
    limited = api.get(f"/v1/operations/{op_id}")
    assert limited.status_code == 503 and limited.headers["retry-after"] == "1"
    fake.inject(Fault.slow(0.05), route="ASSET")
    started = time.perf_counter()
    assert cdn.get(url).status_code == 200
    assert time.perf_counter() - started >= 0.05
    fake.inject(Fault.redirect(), route="ASSET")
    redirected = cdn.get(url, follow_redirects=True)
    assert redirected.status_code == 200 and str(redirected.url).startswith(fake.redirect_base_url)
    with pytest.raises(httpx.ConnectError):
        cdn.get("http://other.example/x")


async def test_in_process_async_drop(fake: FakeMint) -> None:
    api = RawApi(fake)
    op_id = api.model()["id"]
    fake.advance(T.total_auto())
    url = api.op(op_id)["assets"]["glbUrl"]
    fake.inject(Fault.drop(), route="ASSET")
    async with httpx.AsyncClient(transport=fake.transport()) as cdn:
        with pytest.raises(httpx.ReadError):
            await cdn.get(url)
        assert (await cdn.get(url)).status_code == 200


# ------------------------------------------------------------------ CDN knobs (issue 17)


def _model_glb(fake: FakeMint, base_url: str | None = None) -> str:
    api = RawApi(fake, base_url)
    op_id = api.model()["id"]
    fake.advance(T.total_auto())
    return str(api.op(op_id)["assets"]["glbUrl"])


@pytest.mark.parametrize("where", ["in-process", "loopback"])
def test_drop_after_n_bytes(fake: FakeMint, where: str) -> None:
    with contextlib.ExitStack() as stack:
        if where == "loopback":
            server = stack.enter_context(serve_fake_mint(fake))
            url, cdn = _model_glb(fake, server.base_url), httpx.Client()
        else:
            url, cdn = _model_glb(fake), httpx.Client(transport=fake.transport())
        fake.inject(Fault.drop(after=1000), route="ASSET GET *")
        received = bytearray()
        with pytest.raises(httpx.ReadError), cdn.stream("GET", url) as response:
            assert response.headers["content-length"] == str(64 * 1024)
            for chunk in response.iter_raw():
                received += chunk
        assert len(received) == 1000
        assert cdn.get(url).content == fake.asset(url).read()
    with pytest.raises(ValueError):
        Fault.drop(after=-1)


@pytest.mark.parametrize("where", ["in-process", "loopback"])
def test_close_delimited_whole_and_cut(fake: FakeMint, where: str) -> None:
    with contextlib.ExitStack() as stack:
        if where == "loopback":
            server = stack.enter_context(serve_fake_mint(fake))
            url, cdn = _model_glb(fake, server.base_url), httpx.Client()
        else:
            url, cdn = _model_glb(fake), httpx.Client(transport=fake.transport())
        body = fake.asset(url).read()
        fake.inject(Fault.close_delimited(), route="ASSET GET *")
        whole = cdn.get(url)
        assert "content-length" not in whole.headers and "transfer-encoding" not in whole.headers
        assert whole.headers["connection"] == "close" and whole.content == body
        fake.inject(Fault.close_delimited(1000), route="ASSET GET *")
        cut = cdn.get(url)  # no error: the framing cannot show that bytes are missing
        assert cut.status_code == 200 and cut.content == body[:1000]
        fake.inject(Fault.close_delimited(10), route="ASSET GET *")
        ranged = cdn.get(url, headers={"Range": "bytes=100-"})
        assert ranged.status_code == 206 and ranged.content == body[100:110]
        assert cdn.get(url).headers["content-length"] == str(len(body))  # used up


def test_range_total_claims_another_size(fake: FakeMint) -> None:
    url = _model_glb(fake)
    cdn = httpx.Client(transport=fake.transport())
    body = fake.asset(url).read()
    fake.inject(Fault.range_total(len(body) + 100), route="ASSET GET *", times=2)
    assert cdn.get(url).headers.get("content-range") is None  # no Range: normal (and used up)
    part = cdn.get(url, headers={"Range": "bytes=10-"})
    assert part.status_code == 206 and part.content == body[10:]
    assert part.headers["content-range"] == f"bytes 10-{len(body) - 1}/{len(body) + 100}"
    normal = cdn.get(url, headers={"Range": "bytes=10-"})
    assert normal.headers["content-range"] == f"bytes 10-{len(body) - 1}/{len(body)}"


def test_html_with_another_content_type(fake: FakeMint) -> None:
    url = _model_glb(fake)
    cdn = httpx.Client(transport=fake.transport())
    fake.inject(Fault.html(200, content_type="application/octet-stream"), route="ASSET")
    page = cdn.get(url)
    assert page.status_code == 200 and page.headers["content-type"] == "application/octet-stream"
    assert page.content.startswith(b"<html>")


def test_redirect_to_an_exact_location(fake: FakeMint) -> None:
    url = _model_glb(fake)
    path = url.split(fake.asset_base_url, 1)[1]
    cdn = httpx.Client(transport=fake.transport())
    fake.inject(Fault.redirect(location=f"{path}?via=edge", status_code=307), route="ASSET")
    first = cdn.get(url)
    assert first.status_code == 307 and first.headers["location"] == f"{path}?via=edge"
    fake.inject(Fault.redirect(location=f"{path}?via=edge"), route="ASSET")
    fake.clear_requests()
    followed = cdn.get(url, follow_redirects=True)
    assert followed.status_code == 200 and followed.content[:4] == b"glTF"
    assert [(r.path, r.query, r.status) for r in fake.asset_gets()] == [
        (path, "", 302),
        (path, "via=edge", 200),
    ]
    with pytest.raises(ValueError):
        Fault.redirect(status_code=200)


def test_asset_routes_by_method_and_path(fake: FakeMint) -> None:
    api = RawApi(fake)
    op_id = api.world()["id"]
    fake.advance(T.total_auto())
    assets = api.op(op_id)["assets"]
    cdn = httpx.Client(transport=fake.transport())
    fake.inject(Fault.status(503), route="ASSET * */pano.png")
    fake.inject(Fault.status(504), route="ASSET HEAD *")
    assert cdn.get(assets["radUrl"]).status_code == 200
    assert cdn.head(assets["radUrl"]).status_code == 504
    assert cdn.get(assets["panoUrl"]).status_code == 503
    assert cdn.get(assets["panoUrl"]).status_code == 200
    fake.inject(Fault.status(503), route="/images/*")  # a method-less pattern is for API paths
    assert cdn.get(assets["panoUrl"]).status_code == 200
    fake.clear_faults()


def test_change_asset_size_and_data_add_asset_and_stated_size(fake: FakeMint) -> None:
    api = RawApi(fake)
    op_id = api.model()["id"]
    fake.advance(T.total_auto())
    url = api.op(op_id)["assets"]["glbUrl"]
    cdn = httpx.Client(transport=fake.transport())
    etag = cdn.get(url).headers["etag"]
    new_etag = fake.change_asset(url, size=1000)
    assert new_etag != etag and len(cdn.get(url).content) == 1000
    assert api.op(op_id)["assets"]["glbSizeBytes"] == 1000  # the API states the new size
    fake.change_asset(url, data=b"\x89PNG\r\n\x1a\nnot a glb")
    served = cdn.get(url)
    assert served.content == b"\x89PNG\r\n\x1a\nnot a glb"
    assert served.headers["content-type"] == "model/gltf-binary"  # the kind is unchanged
    assert cdn.get(url, headers={"Range": "bytes=8-"}).content == b"not a glb"
    fake.set_stated_size(url, 12345)
    assert api.op(op_id)["assets"]["glbSizeBytes"] == 12345
    assert len(cdn.get(url).content) == 17  # the origin still serves the real bytes
    fake.set_stated_size(url, None)
    assert api.op(op_id)["assets"]["glbSizeBytes"] is None  # the API states no size
    fake.reset_stated_size(url)
    assert api.op(op_id)["assets"]["glbSizeBytes"] == 17
    own = fake.add_asset("/images/w/preview", kind="jpg", size=300, content_type="image/x-mine")
    mine = cdn.get(own)
    assert mine.content[:3] == b"\xff\xd8\xff" and len(mine.content) == 300
    assert mine.headers["content-type"] == "image/x-mine"
    with pytest.raises(ValueError):
        fake.change_asset(url, size=1, data=b"x")
    with pytest.raises(ValueError):
        fake.add_asset("no-slash.glb")


def test_on_asset_request_can_change_a_file_between_requests(fake: FakeMint) -> None:
    url = _model_glb(fake)
    seen: list[str] = []

    def hook(request: FakeRequest) -> None:
        seen.append(request.method)
        if request.method == "HEAD":
            fake.change_asset(request.path)

    fake.on_asset_request = hook
    cdn = httpx.Client(transport=fake.transport())
    etag = cdn.get(url).headers["etag"]
    assert cdn.head(url).headers["etag"] != etag and seen == ["GET", "HEAD"]


@pytest.mark.parametrize("where", ["in-process", "loopback"])
def test_per_path_peak_of_concurrent_gets(fake: FakeMint, where: str) -> None:
    with contextlib.ExitStack() as stack:
        if where == "loopback":
            server = stack.enter_context(serve_fake_mint(fake))
            url, cdn = _model_glb(fake, server.base_url), httpx.Client()
        else:
            url, cdn = _model_glb(fake), httpx.Client(transport=fake.transport())
        path = url.split("?")[0].split("/", 3)[3]
        assert cdn.get(url).status_code == 200 and cdn.get(url).status_code == 200
        cdn.head(url)
        assert fake.asset_peak(url) == 1  # one after the other
        second_arrived = threading.Event()
        arrivals: list[str] = []
        lock = threading.Lock()

        def hold_the_first(request: FakeRequest) -> None:
            # The first of the two GETs below waits (bounded) for the second: both in flight.
            with lock:
                arrivals.append(request.method)
                first = len(arrivals) == 1
            if first:
                second_arrived.wait(10)
            else:
                second_arrived.set()

        fake.on_asset_request = hold_the_first if where == "loopback" else None
        results: list[int] = []

        def get() -> None:
            with cdn.stream("GET", url) as response:
                results.append(response.status_code)
                response.read()

        if where == "loopback":
            threads = [threading.Thread(target=get) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            with cdn.stream("GET", url) as first, cdn.stream("GET", url) as second:
                results += [first.status_code, second.status_code]
                assert fake.asset_peak(url) == 2  # open until the streams are closed
        assert results == [200, 200] and fake.asset_peak(url) == 2
        assert fake.stats()["peakConcurrentGets"] == {"/" + path: 2}
        assert [r.method for r in fake.asset_requests()] == ["GET", "GET", "HEAD", "GET", "GET"]
        assert len(fake.asset_gets(url)) == 4 and fake.asset_gets("/glb/other.glb") == []
        # On loopback the server counts a GET as done after its last write returns, which can
        # be just after the client has read the last byte: wait (bounded) for it to settle.
        deadline = time.monotonic() + 10
        while fake.stats()["inFlight"]["assets"] and time.monotonic() < deadline:
            time.sleep(0.005)
        fake.reset_peak()
        assert fake.asset_peak(url) == 0


def test_loopback_answers_as_a_proxy(fake: FakeMint, fake_server: FakeServer) -> None:
    url = _model_glb(fake, fake_server.base_url)
    path = url.split(fake_server.asset_base_url, 1)[1]
    with httpx.Client(proxy=fake_server.asset_base_url) as via_proxy:
        response = via_proxy.get(f"http://assets.invalid{path}?sig=1")
        assert response.status_code == 200 and response.content == fake.asset(url).read()
        me = via_proxy.get(f"{fake_server.base_url}/v1/me",
                           headers={"Authorization": f"Bearer {fake.api_key}"})  # fmt: skip
    (record,) = fake.asset_gets()
    assert record.proxy_url == f"http://assets.invalid{path}?sig=1"
    assert (record.path, record.query) == (path, "sig=1")
    # a URL of the fake's API origin, asked of the asset server as a proxy, reaches the API
    assert me.status_code == 200 and me.json()["object"] == "me"
    assert fake.requests[-1].origin == "api"
    assert fake.requests[-1].proxy_url == f"{fake_server.base_url}/v1/me"


def test_asset_fields_replace_what_the_api_sends(fake: FakeMint) -> None:
    api = RawApi(fake)
    op_id = api.model()["id"]
    fake.advance(T.total_auto())
    real = api.op(op_id)["assets"]
    odd = {"glbUrl": "model.glb", "thumbnailUrl": "ftp://x/t.png", "previewImageUrl": None}
    fake.inject(Fault.asset_fields(odd), route=OP_ROUTE)
    sent = api.op(op_id)["assets"]  # not a spec violation the contract reports: a fault
    assert {k: sent[k] for k in odd} == odd and sent["glbSizeBytes"] == real["glbSizeBytes"]
    assert api.op(op_id)["assets"] == real  # used up
    fake.inject(Fault.asset_fields({"glbUrl": "x"}), route="GET /v1/me")
    assert "assets" not in api.get("/v1/me").json()  # an answer without assets is left alone
