"""The stateful fake: routing, lifecycle, idempotency, assets and faults (sans I/O).

:meth:`FakeMint.handle` turns a :class:`FakeRequest` into a :class:`Reply`; the httpx transport
(:class:`FakeTransport`) and the loopback HTTP server (``_server.py``) only move bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qs, unquote

from ._assets import MIN_SIZE as MIN_ASSET_SIZE
from ._assets import AssetEntry, kind_of, parse_range
from ._clock import Clock, FakeClock, Timings
from ._faults import Fault, _Injected, route_matches
from ._transport import FakeTransport
from ._wire import FakeRequest, Origin, Reply

__all__ = [
    "ApiExchange",
    "FakeMint",
    "FakeRequest",
    "Reply",
    "RequestRecord",
]

PROBLEM_BASE = "https://api.mint.gg/problems/"
STATS_PATH = "/_fake/stats"  # the admin route (see FakeMint.stats)
TERMINAL = frozenset({"succeeded", "partially_succeeded", "failed", "canceled"})
OUTCOMES = frozenset(
    {"succeeded", "failed", "billing_required", "partially_succeeded", "unknown_status"}
)
MARKERS = {
    "[fail]": "failed",
    "[billing]": "billing_required",
    "[partial]": "partially_succeeded",
    "[unknown]": "unknown_status",
}
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
Stage = Literal["none", "preview", "final", "partial"]


@dataclass(frozen=True)
class RequestRecord:
    """One entry of :attr:`FakeMint.requests`."""

    origin: str
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    status: int
    #: The absolute URL of a request sent to the loopback server as to a proxy (else None).
    proxy_url: str | None = None


@dataclass(frozen=True)
class ApiExchange:
    """What the ``on_response`` hook receives for every response of the API origin.

    ``route`` is the spec path template (``/v1/operations/{operationId}``) or ``None`` when no
    documented route matched; ``fault`` is the injected fault that shaped the reply, if any.
    """

    method: str
    path: str
    route: str | None
    status: int
    headers: Mapping[str, str]
    body: bytes
    fault: Fault | None


# ---------------------------------------------------------------------- request validation
def _str(lo: int, hi: int, fmt: str | None = None) -> dict[str, Any]:
    return {"type": "string", "minLength": lo, "maxLength": hi, "format": fmt}


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": values}


_URI = {"type": "string", "format": "uri"}
_SOURCE_IMAGES = {"type": "array", "minItems": 2, "maxItems": 8, "items": _URI}
_MODES = _enum("auto", "review")
_PRESETS = _enum("fast", "standard", "production")
REQUEST_SCHEMAS: dict[str, dict[str, Any]] = {
    "world": {
        "required": ["prompt"],
        "properties": {
            "prompt": _str(1, 4000),
            "derivedPrompt": _str(1, 4000),
            "generationMode": _MODES,
            "generationPreset": _PRESETS,
            "displayName": _str(1, 120),
            "imageUrl": _URI,
            "sourceImages": _SOURCE_IMAGES,
            "sourceUrl": _URI,
        },
    },
    "model": {
        "required": ["prompt"],
        "properties": {
            "prompt": _str(1, 4000),
            "derivedPrompt": _str(1, 4000),
            "name": _str(1, 120),
            "generationMode": _MODES,
            "generationPreset": _PRESETS,
            "riggingPose": _enum("t_pose", "a_pose"),
            "imageUrl": _URI,
            "sourceImages": _SOURCE_IMAGES,
        },
    },
    "optimize": {
        "required": [],
        "properties": {"optimizationLevel": _enum("light", "moderate", "aggressive")},
    },
    "revise": {"required": ["feedback"], "properties": {"feedback": _str(1, 2000)}},
    "empty": {"required": [], "properties": {}},
}
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f\"<>\\^`{|}]*$")


def _field_error(path: str, code: str, message: str) -> dict[str, str]:
    return {"path": path, "code": code, "message": message}


def _check_value(path: str, schema: Mapping[str, Any], value: Any) -> list[dict[str, str]]:
    kind = schema["type"]
    if kind == "string":
        if not isinstance(value, str):
            return [_field_error(path, "type", "must be a string")]
        if "enum" in schema and value not in schema["enum"]:
            return [_field_error(path, "enum", "must be one of " + ", ".join(schema["enum"]))]
        if len(value) < schema.get("minLength", 0):
            return [
                _field_error(
                    path, "too_short", f"must be at least {schema['minLength']} characters"
                )
            ]
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return [
                _field_error(path, "too_long", f"must be at most {schema['maxLength']} characters")
            ]
        if schema.get("format") == "uri" and not _URI_RE.match(value):
            return [_field_error(path, "format", "must be an absolute URI")]
        return []
    if kind == "array":
        if not isinstance(value, list):
            return [_field_error(path, "type", "must be an array")]
        if len(value) < schema["minItems"]:
            return [
                _field_error(
                    path, "too_few_items", f"must have at least {schema['minItems']} items"
                )
            ]
        if len(value) > schema["maxItems"]:
            return [
                _field_error(
                    path, "too_many_items", f"must have at most {schema['maxItems']} items"
                )
            ]
        errors: list[dict[str, str]] = []
        for i, item in enumerate(value):
            errors += _check_value(f"{path}/{i}", schema["items"], item)
        return errors
    raise AssertionError(kind)  # pragma: no cover


def validate_body(schema_name: str, body: Any) -> list[dict[str, str]]:
    """The ``errors[]`` of a 422 for ``body`` against one of :data:`REQUEST_SCHEMAS` (empty: valid)."""
    schema = REQUEST_SCHEMAS[schema_name]
    if not isinstance(body, dict):
        return [_field_error("", "type", "the request body must be a JSON object")]
    errors: list[dict[str, str]] = []
    for name in schema["required"]:
        if name not in body:
            errors.append(_field_error(f"/{name}", "required", "is required"))
    for name, value in body.items():
        prop = schema["properties"].get(name)
        if prop is None:
            errors.append(_field_error(f"/{name}", "unknown_field", "is not a known field"))
        else:
            errors += _check_value(f"/{name}", prop, value)
    if "imageUrl" in body and "sourceImages" in body and not errors:
        errors.append(_field_error("/sourceImages", "conflict", "cannot be combined with imageUrl"))
    return errors


# ---------------------------------------------------------------------- state
@dataclass(frozen=True)
class _Step:
    status: str
    duration: float | None  # None: stays until an action (or forever, when terminal)
    stage: Stage = "none"
    rev: int = 1
    workflow: str = ""
    wait: str | None = None  # "review" | "billing"


@dataclass
class _Script:
    outcome: str
    error_code: str | None = None
    error_message: str | None = None
    unknown_status: str = "paused"


@dataclass
class _Op:
    id: str
    api_key: str
    type: str
    mode: str
    prompt: str | None
    preset: str | None
    gen_model: str | None
    opt_level: str | None
    resource_type: str
    resource_id: str
    created_at: float
    script: _Script
    cost: int
    anchor: float = 0.0
    steps: list[_Step] = field(default_factory=list)
    visible_at: float = 0.0
    canceled_at: float | None = None
    rev: int = 1
    billing_done: bool = False
    past_update: float = 0.0


@dataclass
class _Resource:
    type: str
    id: str
    api_key: str
    op_id: str
    seq: int
    name: str | None
    prompt: str | None
    slug: str
    opt_ops: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: str


def _compile(template: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[A-Za-z]+\})", template):
        if part.startswith("{"):
            out += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


_ROUTE_TABLE = [
    ("GET", "/v1/me", "_me"),
    ("GET", "/v1/usage", "_usage"),
    ("POST", "/v1/worlds:generate", "_generate_world"),
    ("POST", "/v1/models:generate", "_generate_model"),
    ("POST", "/v1/models/{modelId}:optimize", "_optimize"),
    ("GET", "/v1/operations/{operationId}", "_get_operation"),
    ("POST", "/v1/operations/{operationId}:approve", "_approve"),
    ("POST", "/v1/operations/{operationId}:revise", "_revise"),
    ("POST", "/v1/operations/{operationId}:resume", "_resume"),
    ("GET", "/v1/worlds", "_list_worlds"),
    ("GET", "/v1/worlds/{worldId}", "_get_world"),
    ("GET", "/v1/models", "_list_models"),
    ("GET", "/v1/models/{modelId}", "_get_model"),
]
ROUTES = [_Route(m, t, _compile(t), h) for m, t, h in _ROUTE_TABLE]

_COSTS = {
    "world_generation": {"fast": 40, "standard": 120, "production": 300},
    "model_generation": {"fast": 20, "standard": 60, "production": 150},
}
_GEN_MODELS = {
    "world_generation": {
        "fast": "marble-1.0",
        "standard": "marble-1.1",
        "production": "marble-1.1-plus",
    },
    "model_generation": {
        "fast": "mint-mesh-1-fast",
        "standard": "mint-mesh-1",
        "production": "mint-mesh-1-pro",
    },
}


class _ProblemError(Exception):
    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(title)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.errors = errors
        self.headers = headers or []


def _iso(t: float) -> str:
    return (
        dt.datetime.fromtimestamp(t, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _slugify(text: str | None, fallback: str) -> str:
    words = re.findall(r"[a-z0-9]+", (text or "").lower())
    slug = "-".join(words[:4])[:40].strip("-")
    return slug or fallback


# ---------------------------------------------------------------------- the fake
class FakeMint:
    """A faithful, stateful, in-memory Mint API (see the package docstring)."""

    def __init__(
        self,
        api_keys: Iterable[str] = ("test-key",),
        clock: Clock | None = None,
        asset_size: int = 64 * 1024,
        retry_after: float | str | None = None,
        signed_urls: bool = False,
        url_ttl: float = 300.0,
        *,
        timings: Timings | None = None,
        asset_sizes: Mapping[str, int] | None = None,
        base_url: str = "http://mint.fake",
        asset_base_url: str = "http://cdn.mint.fake",
        redirect_base_url: str = "http://cdn2.mint.fake",
        seed: int = 0,
        credits: int = 1000,
        on_response: Callable[[ApiExchange], None] | None = None,
        asset_rate: float | None = None,
        on_asset_request: Callable[[FakeRequest], None] | None = None,
    ) -> None:
        self.api_keys: tuple[str, ...] = tuple(api_keys)
        if not self.api_keys:
            raise ValueError("at least one API key")
        self.clock: Clock = clock if clock is not None else FakeClock()
        self.asset_size = max(int(asset_size), 32)
        self.asset_sizes: dict[str, int] = dict(asset_sizes or {})
        if isinstance(retry_after, float | int) and not math.isfinite(retry_after):
            raise ValueError("retry_after must be a finite number of seconds")
        self.retry_after = retry_after
        self.signed_urls = signed_urls
        self.url_ttl = float(url_ttl)
        self.timings = timings or Timings()
        self.base_url = base_url.rstrip("/")
        self.asset_base_url = asset_base_url.rstrip("/")
        self.redirect_base_url = redirect_base_url.rstrip("/")
        self.credits = credits
        self.on_response = on_response
        #: Bytes per second at which the loopback server streams asset bodies (None: as fast as
        #: it can). Makes interrupted downloads and progress bars observable.
        self.asset_rate = asset_rate
        #: Called with every request to the asset and redirect origins before it is answered
        #: (from the serving thread): a test can change an asset there (:meth:`change_asset`) to
        #: make a file change between two requests of one download.
        self.on_asset_request = on_asset_request
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._secret = hashlib.sha256(f"mint-fake-{seed}".encode()).digest()
        self._ops: dict[str, _Op] = {}
        self._resources: dict[str, _Resource] = {}
        self._assets: dict[str, AssetEntry] = {}
        self._idem: dict[tuple[str, str], tuple[str, str]] = {}
        self._scripts: list[_Script] = []
        self._faults: list[_Injected] = []
        self._log: list[RequestRecord] = []
        self._seq = 0
        self._request_seq = 0
        self._in_flight = 0
        self._peak = 0
        self._asset_in_flight = 0
        self._asset_peak = 0
        self._get_in_flight: dict[str, int] = {}  # asset path -> GETs being answered now
        self._get_peak: dict[str, int] = {}
        self._stated_sizes: dict[str, int | None] = {}
        self._idem_requests: dict[str, int] = {}  # Idempotency-Key -> POSTs that carried it

    # ------------------------------------------------------------------ controls
    @property
    def api_key(self) -> str:
        """The first (default) API key."""
        return self.api_keys[0]

    def transport(self) -> FakeTransport:
        """An httpx transport (sync and async) serving the API and asset origins in-process."""
        return FakeTransport(self)

    def advance(self, seconds: float) -> None:
        """Move the clock on (``FakeClock`` or ``RealClock``)."""
        self.clock.advance(seconds)

    def now(self) -> float:
        return self.clock.now()

    def script(
        self,
        outcome: str = "succeeded",
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        unknown_status: str = "paused",
    ) -> None:
        """Queue the outcome of the NEXT created operation (one per call, first in first out).

        ``outcome``: ``succeeded``, ``failed``, ``billing_required``, ``partially_succeeded`` or
        ``unknown_status`` (reports ``unknown_status`` for ``timings.unknown`` then continues).
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; one of {sorted(OUTCOMES)}")
        with self._lock:
            self._scripts.append(_Script(outcome, error_code, error_message, unknown_status))

    def inject(self, fault: Fault, route: str = "*", times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` requests matching ``route``.

        ``route``: ``"GET /v1/operations/{operationId}"`` (method + spec template), ``"ASSET"``
        (asset and redirect origins), ``"*"`` (anything), or a glob of either form.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(_Injected(fault, route, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def cancel(self, operation_id: str) -> None:
        """Cancel an operation (status ``canceled``, ``canceledAt`` set). Terminal: ValueError."""
        with self._lock:
            op = self._ops[operation_id]
            now = self.now()
            step, _ = self._state(op, now)
            if step.status in TERMINAL:
                raise ValueError(f"{operation_id} is already {step.status}")
            if now < op.visible_at:
                op.visible_at = float("inf")
            self._restart(op, now, [_Step("canceled", None, step.stage, step.rev, "canceled")])
            op.canceled_at = now

    def change_asset(
        self, url_or_path: str, *, size: int | None = None, data: bytes | None = None
    ) -> str:
        """Bump an asset's version: new ETag and different bytes. Returns the new ETag.

        ``size``: the new version has this many bytes (the API states it too, as
        ``glbSizeBytes`` for a model's GLB). ``data``: serve exactly these bytes from now on
        (a file with a wrong signature, a tiny one...); ``size`` is then their length.

        Example:
            >>> fake = FakeMint()
            >>> url = fake.add_asset("/files/a.glb", size=100)
            >>> old = fake.asset(url).etag
            >>> fake.change_asset(url, data=b"not a glb") != old, fake.asset(url).read()
            (True, b'not a glb')
        """
        if size is not None and data is not None:
            raise ValueError("give size or data, not both")
        if size is not None and size < 0:
            raise ValueError("size must be >= 0")
        path = self._asset_path(url_or_path)
        with self._lock:
            entry = self._assets[path]
            entry.version += 1
            if data is not None:
                entry.data, entry.size = bytes(data), len(data)
            elif size is not None:
                entry.data, entry.size = None, max(MIN_ASSET_SIZE, size)
            return entry.etag

    def add_asset(
        self,
        path: str,
        *,
        kind: str | None = None,
        size: int | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> str:
        """Serve a file of your own at ``path`` on the asset origin; returns its URL (signed when
        ``signed_urls`` is on). For operations you build yourself (``Operation.from_dict``)
        whose URLs the API would not send, e.g. one without an extension.

        ``kind``: ``glb``, ``spz``, ``rad``, ``png``, ``jpg`` or ``webp`` (default: from the
        extension); it gives the bytes' signature and ``Content-Type`` (or ``content_type``).
        ``size`` (default: the fake's size for that kind) or ``data`` (exact bytes).

        Example:
            >>> fake = FakeMint()
            >>> fake.add_asset("/images/w/preview", kind="jpg", size=64)
            'http://cdn.mint.fake/images/w/preview'
            >>> fake.asset("/images/w/preview").read()[:3], fake.asset("/images/w/preview").size
            (b'\\xff\\xd8\\xff', 64)
        """
        if not path.startswith("/") or "?" in path:
            raise ValueError("path must start with / and carry no query")
        kind = kind_of(path) if kind is None else kind_of("x." + kind)
        if size is not None and data is not None:
            raise ValueError("give size or data, not both")
        with self._lock:
            n = len(data) if data is not None else max(MIN_ASSET_SIZE, size or self._size_for(kind))
            self._assets[path] = AssetEntry(
                path, kind, n, data=None if data is None else bytes(data),
                content_type_override=content_type,
            )  # fmt: skip
            return self._url(path, self.now())

    def set_stated_size(self, url_or_path: str, size: int | None) -> None:
        """Make the API state ``size`` for an asset (``glbSizeBytes``, ``optimizedGlbSizeBytes``:
        the size fields the spec has) instead of its real size; ``None``: the API states no size
        (``null``, as for assets whose size it does not know). :meth:`reset_stated_size` goes
        back to the truth. The asset origin still serves the real bytes, so a client that checks
        sees a mismatch.

        Example:
            >>> fake = FakeMint()
            >>> model_id = fake.seed_models(1)[0]
            >>> fake.set_stated_size(f"/glb/{model_id}.glb", 12)
            >>> fake.reset_stated_size(f"/glb/{model_id}.glb")
        """
        if size is not None and size < 0:
            raise ValueError("size must be >= 0")
        path = self._asset_path(url_or_path)
        with self._lock:
            self._stated_sizes[path] = None if size is None else int(size)

    def reset_stated_size(self, url_or_path: str) -> None:
        """The API states an asset's real size again (undoes :meth:`set_stated_size`)."""
        with self._lock:
            self._stated_sizes.pop(self._asset_path(url_or_path), None)

    def _stated_size(self, path: str) -> int | None:
        if path in self._stated_sizes:
            return self._stated_sizes[path]
        return self._assets[path].size

    def asset(self, url_or_path: str) -> AssetEntry:
        """The asset entry behind a URL (``entry.read()`` gives its current bytes)."""
        with self._lock:
            return self._assets[self._asset_path(url_or_path)]

    def seed_worlds(self, n: int, *, api_key: str | None = None) -> list[str]:
        """Create ``n`` finished worlds directly (oldest first). Returns their ids."""
        return [self._seed("world", i, api_key) for i in range(n)]

    def seed_models(self, n: int, *, api_key: str | None = None) -> list[str]:
        """Create ``n`` finished models directly (oldest first). Returns their ids."""
        return [self._seed("model", i, api_key) for i in range(n)]

    def operation_count(self) -> int:
        with self._lock:
            return len(self._ops)

    def operation_ids(self) -> list[str]:
        with self._lock:
            return list(self._ops)

    def operation_status(self, operation_id: str) -> str:
        with self._lock:
            return self._state(self._ops[operation_id], self.now())[0].status

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far (a copy), API and asset origins."""
        with self._lock:
            return list(self._log)

    def asset_requests(self) -> list[RequestRecord]:
        """The requests to the asset and redirect origins, oldest first."""
        return [r for r in self.requests if r.origin != "api"]

    def asset_gets(self, url_or_path: str | None = None) -> list[RequestRecord]:
        """The GETs on the asset and redirect origins (of one asset's path, if given), oldest
        first: ``[r.headers.get("range") for r in fake.asset_gets(url)]`` are the Range headers
        a download sent, ``r.headers.get("if-range")`` the validators, ``r.status`` the answers.
        """
        path = None if url_or_path is None else self._asset_path(url_or_path)
        return [r for r in self.asset_requests()
                if r.method == "GET" and (path is None or r.path == path)]  # fmt: skip

    def asset_peak(self, url_or_path: str) -> int:
        """Most GETs of one asset path whose answers were being sent at the same time (also in
        :meth:`stats` as ``peakConcurrentGets``). On loopback a GET counts from its arrival to its
        last body byte; in-process from the request until its response stream is closed. 1 for
        two downloaders that took turns; 2 if their bodies overlapped."""
        with self._lock:
            return self._get_peak.get(self._asset_path(url_or_path), 0)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    @property
    def in_flight(self) -> int:
        """API requests being handled right now."""
        with self._lock:
            return self._in_flight

    @property
    def peak_concurrency(self) -> int:
        """Most API requests ever handled at the same time."""
        with self._lock:
            return self._peak

    @property
    def peak_asset_concurrency(self) -> int:
        """Most asset requests (asset and redirect origins) ever handled at the same time."""
        with self._lock:
            return self._asset_peak

    def reset_peak(self) -> None:
        """Start the peaks (API, assets, per asset path) again from what is in flight now."""
        with self._lock:
            self._peak = self._in_flight
            self._asset_peak = self._asset_in_flight
            self._get_peak = {p: n for p, n in self._get_in_flight.items() if n}

    def enter(self, origin: str, request: FakeRequest | None = None) -> None:
        """Transports call this when a request starts being handled (pairs with :meth:`leave`,
        which they call once the answer is sent: for assets, after the last body byte).
        ``request`` (optional) lets an asset GET count for its path (:meth:`asset_peak`)."""
        with self._lock:
            if origin == "api":
                self._in_flight += 1
                self._peak = max(self._peak, self._in_flight)
                return
            self._asset_in_flight += 1
            self._asset_peak = max(self._asset_peak, self._asset_in_flight)
            if request is not None and request.method == "GET":
                n = self._get_in_flight.get(request.path, 0) + 1
                self._get_in_flight[request.path] = n
                self._get_peak[request.path] = max(self._get_peak.get(request.path, 0), n)

    def leave(self, origin: str, request: FakeRequest | None = None) -> None:
        """The end of a request :meth:`enter` counted (give the same ``request``)."""
        with self._lock:
            if origin == "api":
                self._in_flight -= 1
                return
            self._asset_in_flight -= 1
            if request is not None and request.method == "GET":
                self._get_in_flight[request.path] = self._get_in_flight.get(request.path, 1) - 1

    def stats(self) -> dict[str, Any]:
        """What a test driving the fake from outside needs (also ``GET /_fake/stats``).

        ``operationsCreated`` counts operations started by a POST (seeded ones are not);
        ``idempotencyKeys`` maps each key that created one to its ``operationId`` and the
        number of POSTs that carried it (a redelivered task shows as ``requests`` > 1 with
        one operation); ``peakConcurrentRequests`` is per origin (``assets`` covers the asset
        and redirect origins), ``inFlight`` the same right now; ``peakConcurrentGets`` maps
        each asset path to the most GETs of it answered at once (:meth:`asset_peak`).

        Example:
            >>> fake = FakeMint()
            >>> fake.stats()["operationsCreated"], fake.stats()["peakConcurrentRequests"]
            (0, {'api': 0, 'assets': 0})
        """
        with self._lock:
            keys = {key: {"operationId": op_id, "requests": self._idem_requests.get(key, 0)}
                    for (_, key), (_, op_id) in self._idem.items()}  # fmt: skip
            return {
                "operationsCreated": len(self._idem),
                "operations": len(self._ops),
                "idempotencyKeys": keys,
                "peakConcurrentRequests": {"api": self._peak, "assets": self._asset_peak},
                "inFlight": {"api": self._in_flight, "assets": self._asset_in_flight},
                "peakConcurrentGets": dict(self._get_peak),
                "requests": {
                    "api": sum(r.origin == "api" for r in self._log),
                    "assets": sum(r.origin != "api" for r in self._log),
                },
            }

    def origin_of(self, base: str) -> Origin | None:
        """Which origin a ``scheme://host[:port]`` belongs to."""
        base = base.rstrip("/")
        if base == self.base_url:
            return "api"
        if base == self.asset_base_url:
            return "asset"
        if base == self.redirect_base_url:
            return "redirect"
        return None

    # ------------------------------------------------------------------ entry point
    def handle(self, request: FakeRequest) -> Reply:
        """Answer one request (thread-safe). Records it and calls ``on_response`` (API origin).

        ``GET /_fake/stats`` on the API origin answers :meth:`stats` as JSON (no key needed;
        not recorded, not counted, no fault applies): the admin route for tests that run the
        fake in another process.
        """
        if request.origin == "api" and request.path == STATS_PATH and request.method == "GET":
            return self._json(200, self.stats())
        route: _Route | None = None
        fault: Fault | None = None
        try:
            route_key, route, params = self._match(request)
            if request.origin != "api" and self.on_asset_request is not None:
                self.on_asset_request(request)
            fault = self._take_fault(route_key)
            if request.origin == "api":
                reply = self._handle_api(request, route, params, fault)
            else:
                reply = self._handle_asset(request, fault)
        except Exception as exc:  # a real server answers 500; it does not hang up
            reply = self._problem(
                _ProblemError(
                    500, "internal", "Internal error", f"{type(exc).__name__}: {exc}"[:500]
                )
            )
            fault = None
        if fault is not None:
            if fault.kind == "drop":
                n = reply.content_length // 2 if fault.limit is None else fault.limit
                reply.cut = ("drop", min(n, reply.content_length))
            elif fault.kind == "close_delimited" and request.origin != "api":
                reply.close_delimited = True
                if fault.limit is not None and fault.limit < reply.content_length:
                    reply.cut = ("truncate", fault.limit)
            elif fault.kind == "truncate":
                reply.cut = ("truncate", min(fault.n_bytes, reply.content_length))
            elif fault.kind == "slow":
                reply.delay = fault.seconds
        if request.method == "HEAD":
            reply.head = True  # every HEAD answer, fault replies included, goes out without a body
        with self._lock:
            self._log.append(
                RequestRecord(
                    request.origin,
                    request.method,
                    request.path,
                    request.query,
                    dict(request.headers),
                    reply.status,
                    request.proxy_url,
                )
            )
        if request.origin == "api" and self.on_response is not None:
            self.on_response(
                ApiExchange(
                    request.method,
                    request.path,
                    route.template if route is not None else None,
                    reply.status,
                    {k.lower(): v for k, v in reply.headers},
                    reply.body,
                    fault if fault is not None and fault.kind not in ("slow",) else None,
                )
            )
        return reply

    def _match(self, request: FakeRequest) -> tuple[str, _Route | None, dict[str, str]]:
        if request.origin != "api":
            return f"ASSET {request.method} {request.path}", None, {}
        method = "GET" if request.method == "HEAD" else request.method
        fallback: _Route | None = None
        for route in ROUTES:
            m = route.regex.match(request.path)
            if m is None:
                continue
            if route.method == method:
                params = {k: unquote(v) for k, v in m.groupdict().items()}
                return f"{route.method} {route.template}", route, params
            fallback = fallback or route
        if fallback is not None:
            return f"{request.method} {fallback.template}", None, {"allow": fallback.method}
        return f"{request.method} {request.path}", None, {}

    def _take_fault(self, route_key: str) -> Fault | None:
        with self._lock:
            for injected in self._faults:
                if route_matches(injected.route, route_key):
                    injected.remaining -= 1
                    if injected.remaining <= 0:
                        self._faults.remove(injected)
                    return injected.fault
        return None

    def _request_id(self) -> str:
        with self._lock:
            self._request_seq += 1
            n = self._request_seq
        return f"req_{n:08d}{hashlib.sha256(f'{n}'.encode()).hexdigest()[:12]}"

    # ------------------------------------------------------------------ API origin
    def _handle_api(
        self,
        request: FakeRequest,
        route: _Route | None,
        params: dict[str, str],
        fault: Fault | None,
    ) -> Reply:
        request_id = self._request_id()
        fault_reply = self._fault_reply(fault, request, request_id)
        if fault_reply is not None:
            return fault_reply
        try:
            if route is None:
                if "allow" in params:
                    raise _ProblemError(
                        405,
                        "method-not-allowed",
                        "Method not allowed",
                        f"{request.method} is not allowed on this route.",
                        headers=[("Allow", params["allow"])],
                    )
                raise _ProblemError(404, "not-found", "Not found", f"No route {request.path}.")
            api_key = self._authenticate(request)
            handler: Callable[[FakeRequest, str, dict[str, str]], Reply] = getattr(
                self, route.handler
            )
            reply = handler(request, api_key, params)
        except _ProblemError as exc:
            reply = self._problem(exc)
        if fault is not None and fault.kind == "asset_fields" and reply.status == 200:
            data = json.loads(reply.body)
            if isinstance(data, dict) and isinstance(data.get("assets"), dict):
                data["assets"].update({k: json.loads(v) for k, v in fault.fields})
                reply.body = json.dumps(data).encode()
        if fault is not None and fault.kind == "unknown_status" and reply.status == 200:
            data = json.loads(reply.body)
            if isinstance(data, dict) and data.get("object") == "operation":
                data["status"] = fault.value
                reply.body = json.dumps(data).encode()
        reply.headers.append(("X-Request-Id", request_id))
        return reply

    def _fault_reply(
        self, fault: Fault | None, request: FakeRequest, request_id: str
    ) -> Reply | None:
        if fault is None:
            return None
        rid = [("X-Request-Id", request_id)] if request.origin == "api" else []
        if fault.kind == "status":
            problem = {
                "type": PROBLEM_BASE
                + ("rate-limited" if fault.status_code == 429 else "server-error"),
                "title": "Injected fault",
                "status": fault.status_code,
                "detail": f"fake Mint: injected status {fault.status_code}",
            }
            headers = [("Content-Type", "application/problem+json"), *rid]
            if fault.retry_after is not None:
                headers.append(("Retry-After", fault.retry_after))
            return Reply(fault.status_code, headers, json.dumps(problem).encode())
        if fault.kind == "html":
            page = (
                f"<html><head><title>{fault.status_code} Bad Gateway</title></head>"
                f"<body><center><h1>{fault.status_code} Bad Gateway</h1></center>"
                "<hr><center>nginx</center></body></html>\n"
            ).encode()
            ctype = fault.content_type or "text/html; charset=utf-8"
            return Reply(fault.status_code, [("Content-Type", ctype), *rid], page)
        if fault.kind == "malformed_json":
            return Reply(
                200,
                [("Content-Type", "application/json"), *rid],
                b'{"object": "operation", "id": "op_',
            )
        if fault.kind == "redirect":
            target = fault.to_origin or (
                self.redirect_base_url if request.origin != "redirect" else self.asset_base_url
            )
            location = fault.location
            if location is None:
                location = target + request.path + (f"?{request.query}" if request.query else "")
            return Reply(
                fault.status_code,
                [("Location", location), ("Content-Type", "text/plain"), *rid],
                b"Found\n",
            )
        return None

    def _problem(self, exc: _ProblemError) -> Reply:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + exc.slug,
            "title": exc.title,
            "status": exc.status,
        }
        if exc.detail:
            body["detail"] = exc.detail
        if exc.errors is not None:
            body["errors"] = exc.errors
        headers = [("Content-Type", "application/problem+json"), *exc.headers]
        return Reply(exc.status, headers, json.dumps(body).encode())

    def _json(self, status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
        return Reply(
            status,
            [("Content-Type", "application/json"), *(headers or [])],
            json.dumps(data).encode(),
        )

    def _authenticate(self, request: FakeRequest) -> str:
        value = request.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _ProblemError(
                401,
                "unauthorized",
                "Unauthorized",
                "Send the API key as `Authorization: Bearer <key>`.",
                headers=[("WWW-Authenticate", 'Bearer realm="mint"')],
            )
        if token not in self.api_keys:
            raise _ProblemError(
                401,
                "unauthorized",
                "Unauthorized",
                "Unknown API key.",
                headers=[("WWW-Authenticate", 'Bearer realm="mint", error="invalid_token"')],
            )
        return token

    # ------------------------------------------------------------------ POST plumbing
    def _post(
        self,
        request: FakeRequest,
        api_key: str,
        schema: str,
        body_required: bool,
        create: Callable[[dict[str, Any]], _Op],
    ) -> Reply:
        key = request.headers.get("idempotency-key")
        if key is None or not 1 <= len(key) <= 255:
            raise _ProblemError(
                400,
                "idempotency-key-required",
                "Idempotency-Key required",
                "Every POST needs an Idempotency-Key header of 1 to 255 characters.",
            )
        raw = request.body.strip()
        if not raw:
            if body_required:
                raise _ProblemError(
                    400, "invalid-body", "Request body required", "Send a JSON object."
                )
            body: Any = {}
        else:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise _ProblemError(
                    400, "invalid-json", "Malformed JSON", "The request body is not valid JSON."
                ) from None
        fingerprint = f"{request.method} {request.path}\n" + json.dumps(
            body, sort_keys=True, separators=(",", ":")
        )
        with self._lock:
            self._idem_requests[key] = self._idem_requests.get(key, 0) + 1
            seen = self._idem.get((api_key, key))
            if seen is not None:
                if seen[0] != fingerprint:
                    raise _ProblemError(
                        409,
                        "idempotency-conflict",
                        "Idempotency key reused with a different request",
                        "The Idempotency-Key was already used with a different request body.",
                    )
                return self._accepted(self._ops[seen[1]])
            errors = validate_body(schema, body)
            if errors:
                # :approve and :resume document no 422: an invalid body there is a 400.
                raise _ProblemError(
                    400 if schema == "empty" else 422,
                    "validation-error",
                    "Validation failed",
                    "The request body is invalid.",
                    errors,
                )
            op = create(body)
            self._idem[(api_key, key)] = (fingerprint, op.id)
            return self._accepted(op)

    def _accepted(self, op: _Op) -> Reply:
        return self._json(
            202, self._op_view(op, self.now()), [("Location", f"/v1/operations/{op.id}")]
        )

    # ------------------------------------------------------------------ route handlers
    def _me(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        return self._json(
            200,
            {
                "object": "me",
                "authentication": {
                    "type": "api_key",
                    "scopes": ["mint:assets:read", "mint:assets:generate"],
                },
                "owner": {"userId": self._wallet(api_key), "email": "developer@mint.fake"},
            },
        )

    def _usage(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        now = self.now()
        with self._lock:
            ops = [op for op in self._ops.values() if op.api_key == api_key]
            credits = [self._credits(op, self._state(op, now)[0]) for op in ops]
        spent = sum(c["finalized"] for c in credits)
        reserved = sum(c["reserved"] for c in credits)
        return self._json(
            200,
            {
                "object": "usage",
                "credits": {"totalAvailable": self.credits - spent - reserved},
                "subscription": {"plan": "developer", "status": "active"},
                "summary": {
                    "operations": len(ops),
                    "creditsUsed": spent,
                    "creditsReserved": reserved,
                },
            },
        )

    def _generate_world(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        return self._post(
            request,
            api_key,
            "world",
            True,
            lambda body: self._create_generation("world", api_key, body),
        )

    def _generate_model(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        return self._post(
            request,
            api_key,
            "model",
            True,
            lambda body: self._create_generation("model", api_key, body),
        )

    def _optimize(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        model = self._visible_resource("model", params["modelId"], api_key)

        def create(body: dict[str, Any]) -> _Op:
            now = self.now()
            gen_op = self._ops[model.op_id]
            if self._state(gen_op, now)[0].status not in ("succeeded", "partially_succeeded"):
                raise _ProblemError(
                    409, "model-not-ready", "Model not ready", "The model has not finished."
                )
            for op_id in model.opt_ops:
                status = self._state(self._ops[op_id], now)[0].status
                if status in ("succeeded", "partially_succeeded"):
                    raise _ProblemError(
                        409,
                        "model-already-optimized",
                        "Model already optimized",
                        "Read the model again.",
                    )
                if status not in TERMINAL:
                    raise _ProblemError(
                        409,
                        "model-optimization-in-progress",
                        "Model optimization in progress",
                        f"Operation {op_id} is optimizing this model.",
                    )
            level = body.get("optimizationLevel", "moderate")
            op = self._new_op(
                api_key=api_key,
                type="model_optimization",
                mode="auto",
                prompt=None,
                preset=None,
                gen_model=None,
                opt_level=level,
                resource_type="model",
                resource_id=model.id,
                cost=20,
            )
            op.visible_at = now
            model.opt_ops.append(op.id)
            return op

        return self._post(request, api_key, "optimize", False, create)

    def _get_operation(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        now = self.now()
        with self._lock:
            op = self._ops.get(params["operationId"])
            if op is None or op.api_key != api_key:
                raise _ProblemError(404, "not-found", "Operation not found", "No such operation.")
            view = self._op_view(op, now)
            step, _ = self._state(op, now)
        headers: list[tuple[str, str]] = []
        if self.retry_after is not None and step.status not in TERMINAL and step.wait is None:
            headers.append(("Retry-After", _retry_text(self.retry_after)))
        return self._json(200, view, headers)

    def _action(
        self, request: FakeRequest, api_key: str, params: dict[str, str], action: str
    ) -> Reply:
        with self._lock:
            op = self._ops.get(params["operationId"])
            if op is None or op.api_key != api_key:
                raise _ProblemError(404, "not-found", "Operation not found", "No such operation.")

        def create(body: dict[str, Any]) -> _Op:
            now = self.now()
            step, _ = self._state(op, now)
            if action in ("approve", "revise"):
                if step.status != "preview_ready":
                    raise _ProblemError(
                        409,
                        "operation-not-awaiting-review",
                        "Operation not awaiting review",
                        f"The operation is {step.status}, not preview_ready.",
                    )
                if action == "approve":
                    self._restart(op, now, self._final_steps(op, step.rev))
                else:
                    op.rev = step.rev + 1
                    self._restart(
                        op,
                        now,
                        [
                            _Step("running", self.timings.running, "preview", step.rev, "revision"),
                            *self._preview_steps(op, op.rev),
                        ],
                    )
            else:
                if step.status != "billing_required":
                    raise _ProblemError(
                        409,
                        "operation-not-awaiting-billing",
                        "Operation not awaiting billing",
                        f"The operation is {step.status}, not billing_required.",
                    )
                op.billing_done = True
                if op.type == "model_optimization":
                    self._restart(op, now, self._optimize_tail(op))
                else:
                    self._restart(op, now, self._final_steps(op, step.rev))
            return op

        schema = {"approve": "empty", "revise": "revise", "resume": "empty"}[action]
        return self._post(request, api_key, schema, action == "revise", create)

    def _approve(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        return self._action(request, api_key, params, "approve")

    def _revise(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        return self._action(request, api_key, params, "revise")

    def _resume(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        return self._action(request, api_key, params, "resume")

    def _list(self, request: FakeRequest, api_key: str, kind: str) -> Reply:
        query = parse_qs(request.query, keep_blank_values=True)
        limit = 20
        if "limit" in query:
            raw = query["limit"][-1]
            if not re.fullmatch(r"\+?\d{1,4}", raw.strip()) or not 1 <= int(raw) <= 100:
                raise _ProblemError(
                    422,
                    "validation-error",
                    "Validation failed",
                    "limit must be an integer from 1 to 100.",
                    [_field_error("limit", "out_of_range", "must be an integer from 1 to 100")],
                )
            limit = int(raw)
        after: int | None = None
        if "cursor" in query:
            after = self._read_cursor(query["cursor"][-1], kind, api_key)
        now = self.now()
        with self._lock:
            items = sorted(
                (
                    r
                    for r in self._resources.values()
                    if r.type == kind
                    and r.api_key == api_key
                    and now >= self._ops[r.op_id].visible_at
                    and (after is None or r.seq < after)
                ),
                key=lambda r: -r.seq,
            )
            page = items[:limit]
            data = [self._resource_view(r, now) for r in page]
        has_more = len(items) > limit
        cursor = self._make_cursor(kind, api_key, page[-1].seq) if has_more and page else None
        return self._json(
            200, {"data": data, "pagination": {"nextCursor": cursor, "hasMore": has_more}}
        )

    def _list_worlds(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        return self._list(request, api_key, "world")

    def _list_models(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        return self._list(request, api_key, "model")

    def _get_world(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        resource = self._visible_resource("world", params["worldId"], api_key)
        with self._lock:
            return self._json(200, self._resource_view(resource, self.now()))

    def _get_model(self, request: FakeRequest, api_key: str, params: dict[str, str]) -> Reply:
        resource = self._visible_resource("model", params["modelId"], api_key)
        with self._lock:
            return self._json(200, self._resource_view(resource, self.now()))

    def _visible_resource(self, kind: str, rid: str, api_key: str) -> _Resource:
        with self._lock:
            r = self._resources.get(rid)
            if (
                r is None
                or r.type != kind
                or r.api_key != api_key
                or self.now() < self._ops[r.op_id].visible_at
            ):
                raise _ProblemError(
                    404, "not-found", f"{kind.title()} not found", f"No such {kind}."
                )
            return r

    # ------------------------------------------------------------------ cursors
    def _make_cursor(self, kind: str, api_key: str, seq: int) -> str:
        payload = f"{kind}:{seq}"
        sig = hmac.new(self._secret, f"{payload}:{api_key}".encode(), "sha256").hexdigest()[:16]
        return "cur_" + base64.urlsafe_b64encode(f"{payload}:{sig}".encode()).decode().rstrip("=")

    def _read_cursor(self, cursor: str, kind: str, api_key: str) -> int:
        bad = _ProblemError(
            422,
            "invalid-cursor",
            "Invalid cursor",
            "Pass pagination.nextCursor from a previous page unchanged.",
            [_field_error("cursor", "invalid", "is not a cursor issued for this list")],
        )
        if not cursor.startswith("cur_"):
            raise bad
        try:
            text = base64.urlsafe_b64decode(cursor[4:] + "=" * (-len(cursor[4:]) % 4)).decode()
            ckind, seq, _ = text.split(":")
        except ValueError:
            raise bad from None
        if (
            ckind != kind
            or not (seq.isascii() and seq.isdigit())
            or self._make_cursor(kind, api_key, int(seq)) != cursor
        ):
            raise bad
        return int(seq)

    # ------------------------------------------------------------------ lifecycle
    def _new_id(self, prefix: str) -> str:
        return prefix + "".join(self._rng.choice(_B32) for _ in range(26))

    def _next_script(self, prompt: str | None) -> _Script:
        if self._scripts:
            return self._scripts.pop(0)
        for marker, outcome in MARKERS.items():
            if prompt and marker in prompt:
                return _Script(outcome)
        return _Script("succeeded")

    def _new_op(self, script: _Script | None = None, **kw: Any) -> _Op:
        now = self.now()
        op = _Op(
            id=self._new_id("op_"),
            created_at=now,
            script=script or self._next_script(kw.get("prompt")),
            anchor=now,
            past_update=now,
            **kw,
        )
        if op.type == "model_optimization":
            op.steps = self._optimize_steps(op)
        else:
            op.steps = [
                _Step("queued", self.timings.queued, "none", 1, "queued"),
                *self._running_steps(op),
                *self._preview_steps(op, 1),
            ]
        op.visible_at = now + self.timings.queued
        self._ops[op.id] = op
        return op

    def _create_generation(self, kind: str, api_key: str, body: dict[str, Any]) -> _Op:
        otype = f"{kind}_generation"
        preset = body.get("generationPreset", "standard")
        op = self._new_op(
            api_key=api_key,
            type=otype,
            mode=body.get("generationMode", "auto"),
            prompt=body["prompt"],
            preset=preset,
            gen_model=_GEN_MODELS[otype][preset],
            opt_level=None,
            resource_type=kind,
            resource_id=self._new_id(f"{kind}_"),
            cost=_COSTS[otype][preset],
        )
        name = body.get("displayName" if kind == "world" else "name")
        self._add_resource(op, name)
        return op

    def _add_resource(self, op: _Op, name: str | None) -> _Resource:
        self._seq += 1
        slug = _slugify(name or op.prompt, op.resource_type) + "-" + op.resource_id[-6:].lower()
        r = _Resource(
            op.resource_type, op.resource_id, op.api_key, op.id, self._seq, name, op.prompt, slug
        )
        self._resources[r.id] = r
        return r

    def _seed(self, kind: str, i: int, api_key: str | None) -> str:
        with self._lock:
            key = api_key or self.api_key
            otype = f"{kind}_generation"
            now = self.now()
            prompt = f"Seeded {kind} number {i + 1}"
            op = self._new_op(
                _Script("succeeded"),
                api_key=key,
                type=otype,
                mode="auto",
                prompt=prompt,
                preset="standard",
                gen_model=_GEN_MODELS[otype]["standard"],
                opt_level=None,
                resource_type=kind,
                resource_id=self._new_id(f"{kind}_"),
                cost=_COSTS[otype]["standard"],
            )
            start = now - self.timings.total_auto()
            op.created_at = op.anchor = op.past_update = start
            op.visible_at = start
            op.steps = [_Step("succeeded", None, "final", 1, "completed")]
            op.anchor = now
            self._add_resource(op, f"Seeded {kind} {i + 1}")
            return op.resource_id

    def _running_steps(self, op: _Op) -> list[_Step]:
        t = self.timings
        if op.script.outcome == "unknown_status":
            half = t.running / 2
            return [
                _Step("running", half, "none", 1, "preview_generation"),
                _Step(op.script.unknown_status, t.unknown, "none", 1, "paused"),
                _Step("running", half, "none", 1, "preview_generation"),
            ]
        return [_Step("running", t.running, "none", 1, "preview_generation")]

    def _preview_steps(self, op: _Op, rev: int) -> list[_Step]:
        if op.script.outcome == "failed":
            return [_Step("failed", None, "none", rev, "failed")]
        if op.mode == "review":
            return [_Step("preview_ready", None, "preview", rev, "awaiting_review", "review")]
        return [
            _Step("preview_ready", self.timings.preview, "preview", rev, "preview_ready"),
            *self._final_steps(op, rev),
        ]

    def _final_steps(self, op: _Op, rev: int) -> list[_Step]:
        if op.script.outcome == "billing_required" and not op.billing_done:
            return [_Step("billing_required", None, "preview", rev, "awaiting_billing", "billing")]
        partial = op.script.outcome == "partially_succeeded"
        return [
            _Step("running", self.timings.final, "preview", rev, "final_generation"),
            _Step(
                "partially_succeeded" if partial else "succeeded",
                None,
                "partial" if partial else "final",
                rev,
                "completed",
            ),
        ]

    def _optimize_steps(self, op: _Op) -> list[_Step]:
        t = self.timings
        head = [_Step("queued", t.queued, "final", 1, "queued")]
        if op.script.outcome == "billing_required":
            return [
                *head,
                _Step("billing_required", None, "final", 1, "awaiting_billing", "billing"),
            ]
        if op.script.outcome == "unknown_status":
            head.append(_Step(op.script.unknown_status, t.unknown, "final", 1, "paused"))
        return [*head, *self._optimize_tail(op)]

    def _optimize_tail(self, op: _Op) -> list[_Step]:
        outcome = op.script.outcome
        end = {"failed": "failed", "partially_succeeded": "partially_succeeded"}.get(
            outcome, "succeeded"
        )
        return [
            _Step("running", self.timings.optimize, "final", 1, "optimization"),
            _Step(end, None, "final", 1, "failed" if end == "failed" else "completed"),
        ]

    def _state(self, op: _Op, now: float) -> tuple[_Step, float]:
        """The current step and the time it started."""
        start = op.anchor
        for step in op.steps:
            if step.duration is None or now < start + step.duration:
                return step, start
            start += step.duration
        return op.steps[-1], start  # pragma: no cover - plans end in a waiting step

    def _restart(self, op: _Op, now: float, steps: list[_Step]) -> None:
        op.anchor = now
        op.past_update = now
        op.steps = steps

    # ------------------------------------------------------------------ views
    def _wallet(self, api_key: str) -> str:
        return "0x" + hashlib.sha256(api_key.encode()).hexdigest()[:40]

    def _credits(self, op: _Op, step: _Step) -> dict[str, Any]:
        done = step.status in ("succeeded", "partially_succeeded")
        held = step.status not in TERMINAL and step.status != "billing_required"
        finalized = op.cost if step.status == "succeeded" else (op.cost // 2 if done else 0)
        reserved = op.cost if held else 0
        return {
            "estimated": op.cost,
            "reserved": reserved,
            "finalized": finalized,
            "availableAfterReservation": self.credits - reserved,
        }

    def _op_view(self, op: _Op, now: float) -> dict[str, Any]:
        step, started = self._state(op, now)
        resource = self._resources.get(op.resource_id)
        visible = now >= op.visible_at and resource is not None
        error = None
        if step.status == "failed":
            default = (
                "optimization_failed" if op.type == "model_optimization" else "generation_failed"
            )
            error = {
                "code": op.script.error_code or default,
                "message": op.script.error_message or "The fake Mint API was scripted to fail.",
            }
        billing = None
        if step.status == "billing_required":
            billing = {
                "reason": "insufficient_credits",
                "resource": op.resource_type,
                "stage": "final",
                "requiredCredits": op.cost,
                "availableCredits": max(0, op.cost // 3),
                "actionUrl": "https://mint.gg/settings/billing",
                "ctaKind": "top_up",
            }
        assets: dict[str, Any] | None = None
        if resource is not None and visible:
            assets = self._assets_view(resource, step.stage, step.rev, now, op)
        terminal = step.status in TERMINAL
        return {
            "object": "operation",
            "id": op.id,
            "type": op.type,
            "generationMode": op.mode,
            "status": step.status,
            "prompt": op.prompt,
            "generationPreset": op.preset,
            "generationModel": op.gen_model,
            "optimizationLevel": op.opt_level,
            "resource": {"type": op.resource_type, "id": op.resource_id} if visible else None,
            "mintUrl": f"https://mint.gg/{self._wallet(op.api_key)}/{op.resource_id}"
            if visible
            else None,
            "assets": assets,
            "createdAt": _iso(op.created_at),
            "updatedAt": _iso(max(started, op.past_update)),
            "completedAt": _iso(started) if terminal and step.status != "canceled" else None,
            "canceledAt": _iso(op.canceled_at) if op.canceled_at is not None else None,
            "error": error,
            "billing": billing,
            "credits": self._credits(op, step),
        }

    def _resource_view(self, r: _Resource, now: float) -> dict[str, Any]:
        op = self._ops[r.op_id]
        step, started = self._state(op, now)
        stage = {"none": None, "preview": "preview", "final": "final", "partial": "final"}[
            step.stage
        ]
        updated = max(started, op.past_update)
        for op_id in r.opt_ops:
            opt_step, opt_started = self._state(self._ops[op_id], now)
            if opt_step.status in ("succeeded", "partially_succeeded"):
                updated = max(updated, opt_started)
        view: dict[str, Any] = {
            "object": r.type,
            "id": r.id,
            "name": r.name,
        }
        if r.type == "model":
            view["prompt"] = r.prompt
        view.update(
            {
                "status": step.status,
                "assetStage": stage,
                "operation": {
                    "workflowStage": step.workflow,
                    "lastError": op.script.error_message or "generation failed"
                    if step.status == "failed"
                    else None,
                },
                "mintUrl": f"https://mint.gg/{self._wallet(r.api_key)}/{r.id}",
                "assets": self._assets_view(r, step.stage, step.rev, now, None),
                "createdAt": _iso(op.created_at),
                "updatedAt": _iso(updated),
            }
        )
        return view

    def _assets_view(
        self, r: _Resource, stage: Stage, rev: int, now: float, op: _Op | None
    ) -> dict[str, Any] | None:
        if stage == "none":
            return None
        if r.type == "world":
            return self._world_assets(r, stage, rev, now)
        return self._model_assets(r, stage, rev, now, op)

    def _preview_paths(self, r: _Resource, rev: int) -> tuple[str, str]:
        suffix = "" if rev <= 1 else f"-r{rev}"
        return f"/images/{r.id}/preview{suffix}.png", f"/images/{r.id}/thumb{suffix}.webp"

    def _world_assets(self, r: _Resource, stage: Stage, rev: int, now: float) -> dict[str, Any]:
        preview, thumb = self._preview_paths(r, rev)
        assets: dict[str, Any] = {
            "caption": None,
            "colliderMeshUrl": None,
            "panoUrl": None,
            "previewImageUrl": self._url(preview, now),
            "radUrl": None,
            "spzUrls": None,
            "thumbnailUrl": self._url(thumb, now),
        }
        if stage in ("final", "partial"):
            assets["caption"] = f"A generated world: {r.prompt or r.name or r.id}."[:500]
            assets["panoUrl"] = self._url(f"/images/{r.id}/pano.png", now)
            assets["spzUrls"] = {
                "100k": self._url(f"/worlds/{r.id}/splat_100k.spz", now),
                "500k": self._url(f"/worlds/{r.id}/splat_500k.spz", now),
                "full_res": self._url(f"/worlds/{r.id}/splat_full.spz", now),
            }
            if stage == "final":
                assets["radUrl"] = self._url(f"/rad/{r.slug}-lod.rad", now)
                assets["colliderMeshUrl"] = self._url(f"/worlds/{r.id}-collider.glb", now)
            else:
                del assets["spzUrls"]["full_res"]
        return assets

    def _model_assets(
        self, r: _Resource, stage: Stage, rev: int, now: float, op: _Op | None
    ) -> dict[str, Any]:
        preview, thumb = self._preview_paths(r, rev)
        assets: dict[str, Any] = {
            "glbUrl": None,
            "optimizedGlbUrl": None,
            "previewImageUrl": self._url(preview, now),
            "thumbnailUrl": self._url(thumb, now),
            "glbSizeBytes": None,
            "optimizedGlbSizeBytes": None,
            "fbxUrl": None,
            "objUrl": None,
            "stlUrl": None,
            "usdzUrl": None,
            "bounds": None,
        }
        if stage in ("final", "partial"):
            glb = f"/glb/{r.id}.glb"
            assets["glbUrl"] = self._url(glb, now)
            assets["glbSizeBytes"] = self._stated_size(glb)
            assets["bounds"] = {
                "min": [-0.5, 0.0, -0.5],
                "max": [0.5, 1.2, 0.5],
                "size": [1.0, 1.2, 1.0],
                "center": [0.0, 0.6, 0.0],
            }
            if stage == "partial":
                assets["thumbnailUrl"] = None
            optimized = any(
                self._state(self._ops[oid], now)[0].status in ("succeeded", "partially_succeeded")
                for oid in r.opt_ops
            )
            if optimized:
                draco = f"/glb/{r.id}-draco.glb"
                assets["optimizedGlbUrl"] = self._url(draco, now)
                assets["optimizedGlbSizeBytes"] = self._stated_size(draco)
        return assets

    # ------------------------------------------------------------------ assets origin
    def _size_for(self, kind: str) -> int:
        return max(MIN_ASSET_SIZE, int(self.asset_sizes.get(kind, self.asset_size)))

    def _url(self, path: str, now: float) -> str:
        """Register ``path`` on the asset origin and return its (signed) absolute URL."""
        entry = self._assets.get(path)
        if entry is None:
            kind = kind_of(path)
            size = self._size_for(kind)
            if kind == "glb" and path.endswith("-draco.glb"):
                size = max(32, size // 4)
            self._assets[path] = AssetEntry(path, kind, size)
        url = self.asset_base_url + path
        if self.signed_urls:
            exp = int(now + self.url_ttl)
            url += f"?sig={self._sign(path, exp)}&exp={exp}"
        return url

    def _sign(self, path: str, exp: int) -> str:
        return hmac.new(self._secret, f"{path}|{exp}".encode(), "sha256").hexdigest()[:32]

    def _asset_path(self, url_or_path: str) -> str:
        path = url_or_path
        if "://" in path:
            path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
        return path.split("?", 1)[0]

    def _handle_asset(self, request: FakeRequest, fault: Fault | None) -> Reply:
        reply = self._fault_reply(fault, request, "")
        if reply is not None:
            return reply
        headers = [("Access-Control-Allow-Origin", "*")]
        if request.method not in ("GET", "HEAD"):
            return Reply(
                405, [*headers, ("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b""
            )
        with self._lock:
            entry = self._assets.get(request.path)
            if entry is not None:
                entry = replace(entry)  # a snapshot: change_asset may run while this streams
        if entry is None:
            return Reply(
                404,
                [*headers, ("Content-Type", "text/plain")],
                b"Not Found\n",
                head=request.method == "HEAD",
            )
        if self.signed_urls:
            denied = self._check_signature(request)
            if denied:
                return Reply(
                    403,
                    [*headers, ("Content-Type", "text/plain")],
                    denied.encode(),
                    head=request.method == "HEAD",
                )
        headers += [
            ("Content-Type", entry.content_type),
            ("ETag", entry.etag),
            ("Accept-Ranges", "bytes"),
            ("Cache-Control", "public, max-age=31536000, immutable"),
        ]
        head = request.method == "HEAD"
        range_header = request.headers.get("range")
        if range_header is not None:
            if_range = request.headers.get("if-range")
            if if_range is None or if_range.strip() == entry.etag:
                parsed = parse_range(range_header, entry.size)
                if parsed is False:
                    return Reply(
                        416,
                        [*headers, ("Content-Range", f"bytes */{entry.size}")],
                        b"",
                        head=head,
                    )
                if parsed is not None and parsed is not True:
                    start, length = parsed
                    end = start + length - 1
                    total = entry.size
                    if (
                        fault is not None
                        and fault.kind == "range_total"
                        and fault.total is not None
                    ):
                        total = fault.total
                    return Reply(
                        206,
                        [*headers, ("Content-Range", f"bytes {start}-{end}/{total}")],
                        stream=(entry, start, length),
                        head=head,
                    )
        return Reply(200, headers, stream=(entry, 0, entry.size), head=head)

    def _check_signature(self, request: FakeRequest) -> str | None:
        query = parse_qs(request.query)
        sig, exp = query.get("sig", [""])[-1], query.get("exp", [""])[-1]
        if not sig or not (exp.isascii() and exp.isdigit()):
            return "AccessDenied: missing signature\n"
        if not hmac.compare_digest(sig, self._sign(request.path, int(exp))):
            return "AccessDenied: bad signature\n"
        if self.now() > int(exp):
            return "AccessDenied: Request has expired\n"
        return None


def _retry_text(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(max(0, round(value)))
