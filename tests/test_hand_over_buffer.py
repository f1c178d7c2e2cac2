"""The asset transports' h11 receive buffer that hands body bytes over without copying.

It must parse exactly what h11's own buffer parses (any split of any sequence of responses), and
it must actually avoid the copies (the chunks a download gets are the objects the socket read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import h11
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mint_ext import _asset_transport as at
from mint_ext.testing import FakeClock, FakeMint, serve_fake_mint

Event = tuple[Any, ...]


def _response(body: bytes, chunks: list[int] | None, status: int = 200) -> bytes:
    """One HTTP/1.1 response: Content-Length, or chunked with the given chunk sizes."""
    if chunks is None:
        return b"HTTP/1.1 %d OK\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)
    out, i = [b"HTTP/1.1 %d OK\r\nTransfer-Encoding: chunked\r\n\r\n" % status], 0
    for size in chunks:
        piece = body[i : i + size]
        i += size
        if piece:
            out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    if i < len(body):
        out.append(b"%x\r\n%s\r\n" % (len(body) - i, body[i:]))
    out.append(b"0\r\n\r\n")
    return b"".join(out)


def _parse(reads: list[bytes], responses: int, hand_over: bool) -> list[Event]:
    """What an h11 client connection makes of ``reads`` for ``responses`` GET requests."""
    conn = h11.Connection(h11.CLIENT)
    if hand_over:
        conn._receive_buffer.__class__ = at._HandOverBuffer
    pending = list(reads)
    events: list[Event] = []
    for _ in range(responses):
        conn.send(h11.Request(method="GET", target="/", headers=[("Host", "cdn")]))
        conn.send(h11.EndOfMessage())
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(pending.pop(0) if pending else b"")
            elif isinstance(event, h11.InformationalResponse):
                events.append(("informational", event.status_code, list(event.headers)))
            elif isinstance(event, h11.Response):
                events.append(("response", event.status_code, list(event.headers)))
            elif isinstance(event, h11.Data):
                events.append(("data", bytes(event.data)))
            elif isinstance(event, h11.EndOfMessage):
                events.append(("end",))
                break
            else:  # pragma: no cover - the test's responses produce nothing else
                raise AssertionError(event)
        conn.start_next_cycle()
    leftover = bytes(conn.trailing_data[0]) + b"".join(pending)
    return [*events, ("leftover", leftover)]


@st.composite
def _streams(draw: st.DrawFn) -> tuple[list[bytes], int]:
    """1-3 responses back to back (Content-Length or chunked, some after a 100 Continue, the
    last one possibly delimited by the connection's close), cut into reads at arbitrary points."""
    wire = b""
    count = draw(st.integers(1, 3))
    for _ in range(count):
        if draw(st.booleans()):
            wire += b"HTTP/1.1 100 Continue\r\n\r\n"
        body = draw(st.binary(max_size=300))
        chunked = draw(st.booleans())
        sizes = draw(st.lists(st.integers(1, 80), max_size=6)) if chunked else None
        wire += _response(body, sizes)
    if draw(st.booleans()):  # one more, whose body runs until the server closes
        count += 1
        wire += b"HTTP/1.1 200 OK\r\n\r\n" + draw(st.binary(max_size=300))
    else:
        wire += draw(st.sampled_from([b"", b"HTTP/1.1 204 No"]))  # the start of a next response
    cuts = sorted(draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    reads = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    return [r for r in reads if r], count


@settings(max_examples=300, deadline=None)
@given(_streams())
def test_parses_exactly_what_h11s_own_buffer_parses(stream: tuple[list[bytes], int]) -> None:
    reads, responses = stream
    assert _parse(reads, responses, hand_over=True) == _parse(reads, responses, hand_over=False)


def test_a_body_read_into_an_empty_buffer_is_handed_over_as_the_same_object() -> None:
    conn = h11.Connection(h11.CLIENT)
    conn._receive_buffer.__class__ = at._HandOverBuffer
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "cdn")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nfirst")
    assert isinstance(conn.next_event(), h11.Response)
    assert bytes(conn.next_event().data) == b"first"  # type: ignore[union-attr]
    assert conn.next_event() is h11.NEED_DATA
    second, third = b"-second", b"!!"
    conn.receive_data(second)
    assert conn.next_event().data is second  # type: ignore[union-attr]
    # A read holding the end of this body and the start of the next response: sliced, not lost.
    conn.receive_data(third + b"HTTP/1.1")
    assert conn.next_event().data == b"!!"  # type: ignore[union-attr]
    assert isinstance(conn.next_event(), h11.EndOfMessage)
    assert conn.trailing_data[0] == b"HTTP/1.1"


def test_other_shapes_are_left_alone() -> None:
    for stream in (object(), None, type("S", (), {"_stream": None})()):
        at._hand_over_body_bytes(stream)  # no error, nothing to do

    class Buffer:
        _data = bytearray()

    conn = type("C", (), {"_h11_state": type("H", (), {"_receive_buffer": Buffer()})()})()
    stream = type("S", (), {"_stream": type("B", (), {"_connection": conn})()})()
    at._hand_over_body_bytes(stream)
    assert type(conn._h11_state._receive_buffer) is Buffer


@pytest.fixture
def glb_url() -> Iterator[str]:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 6 << 20})
    with serve_fake_mint(fake) as server, httpx.Client(base_url=server.base_url) as api:
        api.headers["Authorization"] = f"Bearer {server.api_key}"
        op = api.post("/v1/models:generate", json={"prompt": "x"}, headers={"Idempotency-Key": "k"})
        fake.advance(3600)
        yield api.get(f"/v1/operations/{op.json()['id']}").json()["assets"]["glbUrl"]


def _spy_reads(mp: pytest.MonkeyPatch, cls: Any, reads: list[bytes], is_async: bool) -> None:
    real = cls.read
    if is_async:

        async def aread(self: Any, max_bytes: int, timeout: float | None = None) -> bytes:
            data: bytes = await real(self, max_bytes, timeout)
            reads.append(data)
            return data

        mp.setattr(cls, "read", aread)
    else:

        def read(self: Any, max_bytes: int, timeout: float | None = None) -> bytes:
            data: bytes = real(self, max_bytes, timeout)
            reads.append(data)
            return data

        mp.setattr(cls, "read", read)


def test_download_chunks_are_the_socket_reads_themselves(glb_url: str, mode: str) -> None:
    """Without the hand-over, every chunk is a copy made by h11 and httpcore."""
    reads: list[bytes] = []
    chunks: list[bytes] = []

    async def fetch_async() -> None:
        async with (
            httpx.AsyncClient(transport=at.async_asset_transport()) as client,
            client.stream("GET", glb_url) as response,
        ):
            async for chunk in response.aiter_raw():
                chunks.append(chunk)

    with pytest.MonkeyPatch.context() as mp:
        if mode == "async":
            _spy_reads(mp, at._AsyncLargeReads, reads, is_async=True)
            asyncio.run(fetch_async())
        else:
            _spy_reads(mp, at._LargeReads, reads, is_async=False)
            with (
                httpx.Client(transport=at.asset_transport()) as client,
                client.stream("GET", glb_url) as response,
            ):
                chunks.extend(response.iter_raw())
    assert sum(map(len, chunks)) == 6 << 20
    ids = {id(r) for r in reads}
    handed_over = [c for c in chunks if id(c) in ids]
    # The first read also holds the headers (its body part is a slice); the rest pass through.
    assert len(handed_over) >= len(chunks) - 1 >= 3, (len(handed_over), len(chunks))
