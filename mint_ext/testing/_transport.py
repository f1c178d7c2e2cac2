"""An httpx transport (sync and async) that serves a :class:`FakeMint` in-process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

import httpx

from ._wire import FakeRequest, Origin, Reply

__all__ = ["FakeTransport"]


class Served(Protocol):
    """What the transport needs of a fake (``FakeMint`` is one)."""

    def origin_of(self, base: str, /) -> Origin | None: ...

    def enter(self, origin: Origin, /) -> None: ...

    def leave(self, origin: Origin, /) -> None: ...

    def handle(self, request: FakeRequest, /) -> Reply: ...


class _SyncBody(httpx.SyncByteStream):
    def __init__(self, reply: Reply, request: httpx.Request) -> None:
        self.reply, self.request = reply, request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.reply.body_chunks():
            yield bytes(chunk)
        _raise_cut(self.reply, self.request)


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(self, reply: Reply, request: httpx.Request) -> None:
        self.reply, self.request = reply, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.reply.body_chunks():
            yield bytes(chunk)
        _raise_cut(self.reply, self.request)


def _raise_cut(reply: Reply, request: httpx.Request) -> None:
    if reply.cut is None or reply.head:
        return
    mode, sent = reply.cut
    if mode == "drop":
        raise httpx.ReadError(
            "fake Mint: connection reset by peer (injected drop)", request=request
        )
    if sent < reply.content_length:
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {sent} bytes, expected {reply.content_length})",
            request=request,
        )


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Routes requests by origin to the fake's API, asset or redirect origin.

    A request to any other origin raises ``httpx.ConnectError``.
    """

    def __init__(self, fake: Served) -> None:
        self.fake = fake

    def _request(self, request: httpx.Request, body: bytes) -> FakeRequest:
        url = request.url
        base = f"{url.scheme}://{url.netloc.decode('ascii')}"
        origin = self.fake.origin_of(base)
        if origin is None:
            raise httpx.ConnectError(f"fake Mint does not serve {base}", request=request)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
        return FakeRequest(
            origin,
            request.method,
            url.raw_path.decode("ascii").split("?", 1)[0],
            url.query.decode("ascii"),
            headers,
            body,
        )

    def _response(self, reply: Reply, request: httpx.Request, asynchronous: bool) -> httpx.Response:
        headers = list(reply.headers)
        headers.append(("Content-Length", str(reply.content_length)))
        stream: httpx.SyncByteStream | httpx.AsyncByteStream
        stream = _AsyncBody(reply, request) if asynchronous else _SyncBody(reply, request)
        return httpx.Response(reply.status, headers=headers, stream=stream, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fake_request = self._request(request, request.read())
        self.fake.enter(fake_request.origin)
        try:
            reply = self.fake.handle(fake_request)
            if reply.delay:
                time.sleep(reply.delay)
        finally:
            self.fake.leave(fake_request.origin)
        return self._response(reply, request, asynchronous=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fake_request = self._request(request, await request.aread())
        self.fake.enter(fake_request.origin)
        try:
            reply = self.fake.handle(fake_request)
            if reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            self.fake.leave(fake_request.origin)
        return self._response(reply, request, asynchronous=True)
