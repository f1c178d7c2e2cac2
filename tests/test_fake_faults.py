"""Every fault kind, over a real loopback server with httpx, and in-process where meaningful."""

from __future__ import annotations

import email.utils
import threading
import time

import httpx
import pytest

from mint_ext.testing import FakeMint, FakeServer, Fault, Timings
from tests._fake_helpers import Api

T = Timings()
OP_ROUTE = "GET /v1/operations/{operationId}"


@pytest.fixture
def api(fake: FakeMint, fake_server: FakeServer) -> Api:
    return Api(fake, fake_server.base_url)


@pytest.fixture
def glb_url(api: Api, fake: FakeMint) -> str:
    op_id = api.model()["id"]
    fake.advance(T.total_auto())
    return str(api.op(op_id)["assets"]["glbUrl"])


def test_status_429_with_seconds_and_http_date(api: Api, fake: FakeMint) -> None:
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
def test_5xx_bursts(api: Api, fake: FakeMint, status: int) -> None:
    fake.inject(Fault.status(status), route="POST /v1/worlds:generate", times=3)
    codes = [
        api.post("/v1/worlds:generate", {"prompt": "x"}, key="k").status_code for _ in range(4)
    ]
    assert codes == [status] * 3 + [202]
    assert fake.operation_count() == 1


def test_status_outside_iana_list(api: Api, fake: FakeMint, glb_url: str) -> None:
    fake.inject(Fault.status(520), route="GET /v1/me")
    response = api.get("/v1/me")
    assert response.status_code == 520
    fake.inject(Fault.status(520), route="ASSET")
    assert httpx.get(glb_url).status_code == 520


def test_html_error_page(api: Api, fake: FakeMint) -> None:
    fake.inject(Fault.html(502), route="*")
    page = api.get("/v1/usage")
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    assert page.text.startswith("<html>")


def test_drop_mid_body_then_server_keeps_serving(api: Api, fake: FakeMint, glb_url: str) -> None:
    fake.inject(Fault.drop(), route="ASSET")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(glb_url)
    fake.inject(Fault.drop(), route=OP_ROUTE)
    op_id = fake.operation_ids()[0]
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        api.get(f"/v1/operations/{op_id}")
    assert httpx.get(glb_url).status_code == 200
    assert api.get(f"/v1/operations/{op_id}").status_code == 200


def test_truncate(api: Api, fake: FakeMint, glb_url: str) -> None:
    fake.inject(Fault.truncate(1000), route="ASSET")
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", glb_url) as response:
        assert response.headers["content-length"] == str(64 * 1024)
        for chunk in response.iter_raw():
            received += chunk
    assert len(received) == 1000 and received[:4] == b"glTF"
    assert len(httpx.get(glb_url).content) == 64 * 1024


def test_slow_and_peak_concurrency(api: Api, fake: FakeMint, fake_server: FakeServer) -> None:
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
    api: Api, fake: FakeMint, fake_server: FakeServer, glb_url: str
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


def test_unknown_status_once(api: Api, fake: FakeMint) -> None:
    op_id = api.world()["id"]
    fake.inject(Fault.unknown_status("paused"), route=OP_ROUTE)
    assert api.op(op_id)["status"] == "paused"
    assert api.op(op_id)["status"] == "queued"


def test_malformed_json(api: Api, fake: FakeMint) -> None:
    fake.inject(Fault.malformed_json(), route="GET /v1/me")
    response = api.get("/v1/me")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


def test_route_globs(api: Api, fake: FakeMint) -> None:
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
    api = Api(fake)
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
    api = Api(fake)
    op_id = api.model()["id"]
    fake.advance(T.total_auto())
    url = api.op(op_id)["assets"]["glbUrl"]
    fake.inject(Fault.drop(), route="ASSET")
    async with httpx.AsyncClient(transport=fake.transport()) as cdn:
        with pytest.raises(httpx.ReadError):
            await cdn.get(url)
        assert (await cdn.get(url)).status_code == 200
