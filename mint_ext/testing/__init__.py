"""A faithful, stateful fake of the Mint API, for tests and the offline demo.

Stdlib plus httpx only. Two ways to talk to it::

    from mint_ext.testing import FakeMint, FakeClock, Fault, serve_fake_mint

    fake = FakeMint(api_keys=("test-key",), clock=FakeClock())
    client = httpx.Client(transport=fake.transport(), base_url=fake.base_url)  # in-process
    with serve_fake_mint(fake) as server:                                      # real sockets
        httpx.get(f"{server.base_url}/v1/me", headers={"Authorization": f"Bearer {server.api_key}"})

``python -m mint_ext.testing`` (also ``mint fake-server``, the same options: ``--help``) serves on
loopback and prints one JSON line (``base_url``, ``asset_base_url``, ``redirect_base_url``,
``api_key``, ``speed``, ``stats_url``), then an ``export MINT_BASE_URL=...`` line and a request log
on stderr. ``GET /_fake/stats`` answers :meth:`FakeMint.stats` (operations per Idempotency-Key,
peak concurrency per origin) to tests in other processes.

Lifecycle (computed lazily from the clock; durations in :class:`Timings`)
--------------------------------------------------------------------------
``queued`` -> ``running`` -> ``preview_ready`` (assets: only previewImageUrl/thumbnailUrl) ->
``running`` -> ``succeeded`` (all assets, ``completedAt``). In ``review`` mode ``preview_ready``
waits for ``:approve`` (-> final) or ``:revise`` (-> running -> a new preview). The resource
(``world_...``/``model_...``) exists from the end of ``queued``. Outcomes are scripted with
``fake.script(outcome, error_code=..., error_message=...)`` (a FIFO for the next created
operations) or, for processes that cannot call Python, prompt markers: ``[fail]``, ``[billing]``,
``[partial]``, ``[unknown]``. ``billing_required`` happens before the final stage and waits for
``:resume``. ``fake.cancel(op_id)`` cancels. ``fake.advance(s)`` moves the clock.

Fault injection
---------------
``fake.inject(fault, route="*", times=1)`` queues ``fault`` for the next ``times`` requests whose
route matches: ``"GET /v1/operations/{operationId}"`` (method + spec path template),
``"POST /v1/worlds:generate"``, ``"ASSET"`` (asset and redirect origins), ``"*"``, or a glob of
these (``"POST *"``, ``"/v1/operations/*"`` for any method). An asset request's route is
``"ASSET GET /glb/model_x.glb"``: ``"ASSET GET *"`` picks GETs only, ``"ASSET * */pano.png"`` one
file. The first matching queued fault wins.

=====================================  ========================================================
``Fault.status(429, retry_after="3")``  that status with a problem+json body (``Retry-After``:
                                       seconds or an HTTP-date); any 3-digit code, e.g. 520
``Fault.html(502)``                    an HTML error page, ``text/html``; ``content_type=``
                                       labels it otherwise (``"application/octet-stream"``)
``Fault.drop(after=None)``             full ``Content-Length``, ``after`` body bytes (default:
                                       half), connection reset (in-process:
                                       ``httpx.ReadError`` while streaming)
``Fault.truncate(n)``                  full ``Content-Length``, ``n`` body bytes, clean close
                                       (in-process: ``httpx.RemoteProtocolError``)
``Fault.close_delimited(n=None)``      asset body framed by the connection's end: no
                                       ``Content-Length``, all or ``n`` bytes, clean close (a cut
                                       the framing cannot show, in-process too)
``Fault.range_total(total)``           a ``206`` whose ``Content-Range`` claims ``total``
``Fault.slow(seconds)``                wait that many *real* seconds, then answer normally
``Fault.redirect(to_origin=None)``     ``302`` to the same path on another origin (default: the
                                       redirect origin, which also serves assets); ``location=``
                                       an exact (relative) ``Location``, ``status_code=`` 301..308
``Fault.unknown_status("paused")``     the operation GET reports that status once
``Fault.asset_fields({...})``          the answer's ``assets`` carries these fields as given
                                       (odd URLs, ``None``...): the spec check skips it
``Fault.malformed_json()``             ``200`` ``application/json`` with a body that is not JSON
=====================================  ========================================================

The asset origin (a CDN)
------------------------
Assets are real files (right signatures, ``ETag``, ``Range``/``If-Range``, ``416``, ``HEAD``).
``fake.change_asset(url, size=None, data=None)`` makes a new version (new ETag; other bytes, a
new size, or exactly ``data``); ``fake.set_stated_size(url, n)`` makes the API state a wrong
``glbSizeBytes``/``optimizedGlbSizeBytes`` (``None``: no size; ``reset_stated_size`` undoes
it); ``fake.add_asset(path, kind=..., size=...)`` serves a file of your own; ``asset_rate=``
(bytes per second, loopback) streams bodies slowly, so two downloaders really overlap and a
process can be killed mid-file; ``signed_urls=True`` signs URLs
that expire after ``url_ttl`` simulated seconds (403), every API read signs them afresh;
``on_asset_request`` is called with each asset request before it is answered. The loopback
servers also answer proxy requests (absolute-form targets; ``RequestRecord.proxy_url``).

Observation: ``fake.requests`` (every request: origin, method, path, query, headers, status),
``fake.asset_gets(url)`` (the GETs of one asset: their ``Range``/``If-Range`` headers and
statuses), ``fake.asset_peak(url)`` (most GETs of that asset answered at once),
``fake.in_flight`` / ``fake.peak_concurrency`` (API origin), ``fake.peak_asset_concurrency``,
``fake.operation_count()``, and the ``on_response`` hook, called with an :class:`ApiExchange` for
every API response (used by the test suite to check each response against the OpenAPI spec).

Assumptions: ``.rad`` files start with ``b"RAD0"`` (no published magic is known); ``.spz`` files
only carry a gzip header prefix. Asset URLs, when ``signed_urls=True``, carry ``?sig=&exp=`` and
answer 403 after ``url_ttl`` simulated seconds.
"""

from __future__ import annotations

from ._assets import AssetEntry
from ._cli import main
from ._clock import Clock, FakeClock, RealClock, Timings
from ._fake import ApiExchange, FakeMint, FakeRequest, Reply, RequestRecord
from ._faults import Fault
from ._server import FakeServer, serve_fake_mint, start_fake_server
from ._transport import FakeTransport

__all__ = [
    "ApiExchange",
    "AssetEntry",
    "Clock",
    "FakeClock",
    "FakeMint",
    "FakeRequest",
    "FakeServer",
    "FakeTransport",
    "Fault",
    "RealClock",
    "Reply",
    "RequestRecord",
    "Timings",
    "main",
    "serve_fake_mint",
    "start_fake_server",
]
