"""An httpx transport (sync and async) that serves a :class:`FakeMint` in-process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Protocol

import httpx

from ._wire import FakeRequest, Origin, Reply

__all__ = ["FakeTransport"]


class Served(Protocol):
    """What the transport needs of a fake (``FakeMint`` is one)."""

    def origin_of(self, base: str, /) -> Origin | None: ...

    def enter(self, origin: Origin, request: FakeRequest | None = None, /) -> None: ...

    def leave(self, origin: Origin, request: FakeRequest | None = None, /) -> None: ...

    def handle(self, request: FakeRequest, /) -> Reply: ...


class _Body:
    """A response body; ``on_close`` runs once, when the body is read to its end or closed (an
    asset request is in flight until then, as on a socket)."""

    def __init__(
        self, reply: Reply, request: httpx.Request, on_close: Callable[[], None] | None
    ) -> None:
        self.reply, self.request, self.on_close = reply, request, on_close

    def _closed(self) -> None:
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()

    def close(self) -> None:
        self._closed()

    def _pieces(self) -> Iterator[bytes]:
        """The body, then the cut's error if any; closed at its end (both drivers read this)."""
        try:
            for chunk in self.reply.body_chunks():
                yield bytes(chunk)
            _raise_cut(self.reply, self.request)
        finally:
            self._closed()


class _SyncBody(_Body, httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        return self._pieces()


class _AsyncBody(_Body, httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces():
            yield piece

    async def aclose(self) -> None:
        self._closed()


def _raise_cut(reply: Reply, request: httpx.Request) -> None:
    if reply.cut is None or reply.head or reply.close_delimited:
        return  # a close-delimited body that stops early looks complete: that is the point
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

    A request to any other origin raises ``httpx.ConnectError``. An asset request counts as in
    flight (``peak_asset_concurrency``, :meth:`FakeMint.asset_peak`) until its response body has
    been read to the end or closed, as on a socket.
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

    def _response(
        self,
        reply: Reply,
        request: httpx.Request,
        asynchronous: bool,
        on_close: Callable[[], None] | None,
    ) -> httpx.Response:
        headers = list(reply.headers)
        if reply.close_delimited:
            headers.append(("Connection", "close"))
        else:
            headers.append(("Content-Length", str(reply.content_length)))
        stream: httpx.SyncByteStream | httpx.AsyncByteStream
        if asynchronous:
            stream = _AsyncBody(reply, request, on_close)
        else:
            stream = _SyncBody(reply, request, on_close)
        return httpx.Response(reply.status, headers=headers, stream=stream, request=request)

    def _leave_later(self, fake_request: FakeRequest) -> Callable[[], None] | None:
        """API requests leave once answered; asset requests when their body is done."""
        if fake_request.origin == "api":
            self.fake.leave(fake_request.origin, fake_request)
            return None
        return lambda: self.fake.leave(fake_request.origin, fake_request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fake_request = self._request(request, request.read())
        self.fake.enter(fake_request.origin, fake_request)
        try:
            reply = self.fake.handle(fake_request)
            if reply.delay:
                time.sleep(reply.delay)
        except BaseException:
            self.fake.leave(fake_request.origin, fake_request)
            raise
        on_close = self._leave_later(fake_request)
        return self._response(reply, request, False, on_close)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fake_request = self._request(request, await request.aread())
        self.fake.enter(fake_request.origin, fake_request)
        try:
            reply = self.fake.handle(fake_request)
            if reply.delay:
                await asyncio.sleep(reply.delay)
        except BaseException:
            self.fake.leave(fake_request.origin, fake_request)
            raise
        on_close = self._leave_later(fake_request)
        return self._response(reply, request, True, on_close)
