"""Retry decisions for one HTTP call: pure functions plus the request flow that uses them."""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Callable
from typing import Any

import attrs
import httpx

from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    MintError,
    ResponseValidationError,
    error_from_response,
)
from ._flow import Flow, Send, Sleep

__all__ = ["RetryPolicy", "parse_retry_after", "request_flow"]

logger = logging.getLogger("mint_ext")

RETRYABLE_STATUSES = frozenset({408, 425, 429})


def is_seconds(value: object, *, positive: bool = False, finite: bool = True) -> bool:
    """The one rule for durations: a real number (not a bool, not NaN), >= 0 (> 0 when
    ``positive``), finite unless ``finite=False``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return False
    if finite and math.isinf(value):
        return False
    return value > 0 if positive else value >= 0


def seconds(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: a finite number of seconds, zero or more (else ConfigurationError)."""
    if not is_seconds(value):
        raise ConfigurationError(
            f"{type(instance).__name__}.{attribute.name} must be a finite number of seconds "
            f">= 0, got {value!r}"
        )


def _count(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            f"{type(instance).__name__}.{attribute.name} must be an int >= 0, got {value!r}"
        )


@attrs.frozen
class RetryPolicy:
    """How one HTTP call is retried (polling an operation is configured apart, by ``PollPolicy``).

    Retries happen on connection errors, timeouts, 408/425/429 and every 5xx. The delay is the
    server's ``Retry-After`` (seconds or HTTP-date) when given, clamped to ``max_retry_after``;
    otherwise exponential backoff with full jitter: ``uniform(0, min(max_delay, initial_delay * 2**n))``.

    Example:
        >>> from mint_ext import Mint, RetryPolicy
        >>> mint = Mint(api_key="k", retry=RetryPolicy(max_retries=5, max_delay=20.0))
    """

    max_retries: int = attrs.field(default=2, validator=_count)
    initial_delay: float = attrs.field(default=0.5, validator=seconds)
    max_delay: float = attrs.field(default=8.0, validator=seconds)
    max_retry_after: float = attrs.field(default=60.0, validator=seconds)

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        cap = min(self.max_delay, self.initial_delay * (2.0 ** min(attempt, 64)))
        return cap * rng()

    def delay(
        self, attempt: int, retry_after: float | None, rng: Callable[[], float] = random.random
    ) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(attempt, rng)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); None if absent/bad.

    Example:
        >>> parse_retry_after("3")
        3.0
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
        10.0
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def to_error(outcome: httpx.Response | httpx.HTTPError, wall: float) -> MintError:
    """Translate an error answer or a transport failure into the SDK's error tree."""
    if isinstance(outcome, httpx.Response):
        return error_from_response(
            outcome, retry_after=parse_retry_after(outcome.headers.get("retry-after"), wall)
        )
    request = _request_of(outcome)
    where = f"{request.method} {request.url.path}: " if request is not None else ""
    too_large = getattr(outcome, "head", None)
    response = getattr(outcome, "response", None)
    if isinstance(too_large, bytes) and isinstance(response, httpx.Response):
        return ResponseValidationError(f"{where}{outcome}", response=response, body=too_large)
    if isinstance(outcome, httpx.TimeoutException):
        return APITimeoutError(f"{where}timed out ({type(outcome).__name__})", request=request)
    if isinstance(outcome, httpx.LocalProtocolError):
        # Its text can quote request headers, Authorization included: never pass it on.
        return APIConnectionError(f"{where}the request could not be sent (LocalProtocolError)",
                                  request=request)  # fmt: skip
    return APIConnectionError(
        f"{where}{type(outcome).__name__}: {outcome or 'connection failed'}", request=request
    )


def _request_of(exc: httpx.HTTPError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:
        return None


@attrs.define
class Clock:
    """Time sources, injectable for tests: ``monotonic`` for deadlines, ``wall`` for HTTP-dates.

    Example:
        >>> import random
        >>> from mint_ext import Clock, Mint
        >>> clock = Clock(monotonic=lambda: 0.0, wall=lambda: 1.8e9, rng=random.Random(1).random)
        >>> slept: list[float] = []
        >>> with Mint(clock=clock, sleep=slept.append) as mint:  # MINT_API_KEY, MINT_BASE_URL
        ...     print(mint.account.me().user_id.startswith("0x"), slept)
        True []
    """

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    rng: Callable[[], float] = random.random


def request_flow(
    request: httpx.Request,
    policy: RetryPolicy,
    clock: Clock,
    *,
    timeout: float | None,
    deadline: float | None = None,
) -> Flow[httpx.Response]:
    """Send ``request`` until it succeeds, retrying what is transient; return the 2xx/3xx response.

    ``timeout`` bounds each attempt; ``deadline`` (on ``clock.monotonic``) bounds the whole call:
    each attempt's timeout is capped to the time left, no sleep runs past it and no attempt starts
    after it. A POST is re-sent with the very same headers, so its ``Idempotency-Key`` never changes.
    """
    attempt = 0
    while True:
        per_try = timeout
        if deadline is not None:
            left = deadline - clock.monotonic()
            per_try = left if per_try is None else min(per_try, left)
        if per_try is not None:
            request.extensions["timeout"] = httpx.Timeout(max(per_try, 0.001)).as_dict()
        started = clock.monotonic()
        outcome = yield Send(request)
        assert outcome is not None
        elapsed = clock.monotonic() - started
        _log_attempt(request, outcome, elapsed, attempt)
        if isinstance(outcome, httpx.Response) and outcome.status_code < 400:
            return outcome
        error = to_error(outcome, clock.wall())
        retryable = isinstance(error, APIConnectionError) or (
            isinstance(error, APIStatusError) and is_retryable_status(error.status_code)
        )
        if not retryable or attempt >= policy.max_retries:
            raise error
        hint = None
        if isinstance(outcome, httpx.Response):
            hint = parse_retry_after(outcome.headers.get("retry-after"), clock.wall())
        delay = policy.delay(attempt, hint, clock.rng)
        if deadline is not None and clock.monotonic() + delay >= deadline:
            raise error
        attempt += 1
        logger.debug("%s %s: retry %d of %d in %.3fs (%s)", request.method, request.url.path,
                     attempt, policy.max_retries, delay, type(error).__name__)  # fmt: skip
        yield Sleep(delay)


def _log_attempt(
    request: httpx.Request, outcome: httpx.Response | httpx.HTTPError, elapsed: float, attempt: int
) -> None:
    """One line per HTTP attempt: method, path (never the query: it may hold a signature),
    status or error, elapsed, attempt, request id. Never a header value: no API key."""
    if not logger.isEnabledFor(logging.INFO):
        return
    if isinstance(outcome, httpx.Response):
        result = str(outcome.status_code)
        request_id = outcome.headers.get("x-request-id")
        if request_id is not None and not (request_id.isascii() and request_id.isprintable()):
            request_id = ascii(request_id)  # a server's text never forges log lines
    else:
        result, request_id = type(outcome).__name__, None
    logger.info("%s %s -> %s in %.3fs (attempt %d%s)", request.method, request.url.path, result,
                elapsed, attempt + 1, f", request id {request_id}" if request_id else "")  # fmt: skip
