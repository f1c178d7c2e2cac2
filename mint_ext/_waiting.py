"""Pure decisions for waiting on operations: the poll schedule, when to stop, the wait flow."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Literal

import attrs
import httpx

from mint_client.api.generation import get_operation

from . import status as st
from ._core import Core, InvalidArgumentError
from ._errors import (
    APIConnectionError,
    APIStatusError,
    BillingRequiredError,
    ConfigurationError,
    InternalServerError,
    MintError,
    OperationCanceledError,
    OperationFailedError,
    RateLimitError,
    ResponseValidationError,
    WaitTimeoutError,
)
from ._flow import Emit, Flow, Sleep
from ._models import Operation
from ._retry import is_seconds, parse_retry_after, seconds

__all__ = ["DEFAULT_WAIT_TIMEOUT", "PollPolicy", "TokenBucket", "stop_decision", "wait_flow"]

OnRetry = Callable[[MintError, float], object] | None

DEFAULT_WAIT_TIMEOUT = 1800.0
"""30 minutes: a world in ``production`` preset takes several minutes; waits are never endless."""


def _fraction(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not (is_seconds(value) and value <= 1):  # type: ignore[operator]
        raise ConfigurationError(f"PollPolicy.{attribute.name} must be within 0..1, got {value!r}")


@attrs.frozen
class PollPolicy:
    """How often an operation is polled.

    Without a server hint the delay before the next poll is ``initial * multiplier**n + fraction
    * elapsed``, capped at ``max_delay``, with ``±jitter`` (a fraction) so that many waiters spread
    out; ``n`` counts the polls and ``elapsed`` the seconds since the current status was first
    seen, and both start again when the status changes. A ``Retry-After`` on a poll response
    (seconds or HTTP-date) replaces the schedule for that step, clamped to ``[min_delay,
    max_hint]``.

    The default polls *relatively*: 2 s plus 8 % of the time already waited, up to 20 s, ±20 %
    jitter (hints clamped to 0.5..60 s). An operation that ends after ``T`` seconds is then seen
    about ``1 + 0.04 * T`` seconds late on average (at most about 10 s), with about ``1 + 12.5 *
    ln(1 + 0.04 * T)`` polls: fewer than polling every 5 s for anything longer than about a
    minute and a half, and a delay that stays a small share of the wait. ``multiplier`` above 1 (and
    ``fraction=0``) gives a geometric backoff instead; :meth:`fixed` a constant period.

    Example:
        >>> from mint_ext import PollPolicy
        >>> op = mint.worlds.generate(prompt="A harbour at dusk")
        >>> op = mint.operations.wait(op, poll=PollPolicy(initial=2, max_delay=30))
        >>> print(op.status)
        succeeded
    """

    initial: float = attrs.field(default=2.0, validator=seconds)
    multiplier: float = attrs.field(default=1.0, validator=seconds)
    max_delay: float = attrs.field(default=20.0, validator=seconds)
    jitter: float = attrs.field(default=0.2, validator=_fraction)
    min_delay: float = attrs.field(default=0.5, validator=seconds)
    max_hint: float = attrs.field(default=60.0, validator=seconds)
    fraction: float = attrs.field(default=0.08, validator=seconds)

    @classmethod
    def fixed(cls, seconds: float) -> PollPolicy:
        """Poll every ``seconds`` exactly (no growth, no jitter); hints are still honoured."""
        return cls(initial=seconds, multiplier=1.0, max_delay=seconds, jitter=0.0,
                   min_delay=min(seconds, 0.5), fraction=0.0)  # fmt: skip

    @classmethod
    def geometric(
        cls, initial: float = 2.0, multiplier: float = 1.6, max_delay: float = 15.0
    ) -> PollPolicy:
        """Exponential backoff (no relative term); the defaults are those of Mint's own plugin."""
        return cls(initial=initial, multiplier=multiplier, max_delay=max_delay, fraction=0.0)

    def base_delay(self, step: int, elapsed: float = 0.0) -> float:
        """The un-jittered delay before poll ``step + 1`` of a status unchanged for ``elapsed`` s."""
        exponent = min(step, 64)
        return min(self.max_delay, self.initial * self.multiplier**exponent
                   + self.fraction * max(0.0, elapsed))  # fmt: skip

    def delay(
        self, step: int, hint: float | None, rng: Callable[[], float], elapsed: float = 0.0
    ) -> float:
        """The seconds to sleep before the next poll: the server's hint if any, else the
        schedule's :meth:`base_delay` with jitter drawn from ``rng`` (a 0..1 draw)."""
        if hint is not None and math.isfinite(hint):
            return min(max(hint, self.min_delay), self.max_hint)
        base = self.base_delay(step, elapsed)
        jittered = base * (1.0 + self.jitter * (2.0 * rng() - 1.0))
        return max(self.min_delay, min(jittered, self.max_delay * (1.0 + self.jitter)))


Decision = Literal["return", "continue"]


def stop_decision(op: Operation, until: Collection[str] | None) -> Decision:
    """Return, keep polling, or raise the typed error for this state.

    ``until`` adds stop states to the defaults; terminal states always end the wait (failed and
    canceled raise, unless named in ``until``), and so does ``billing_required`` (it raises). A
    review-mode ``preview_ready`` always returns: the operation is waiting for the caller.
    """
    if until is not None and op.status in until:
        return "return"
    if op.status == st.FAILED:
        raise OperationFailedError(op)
    if op.status == st.CANCELED:
        raise OperationCanceledError(op)
    if op.status == st.BILLING_REQUIRED:
        raise BillingRequiredError(op)
    if st.is_succeeded(op.status):
        return "return"
    if op.status == st.PREVIEW_READY and op.generation_mode != "auto":
        return "return"
    return "continue"


def _fingerprint(op: Operation) -> object:
    """What a user would care about changing: status, assets, error, billing."""
    raw = op.raw
    return (op.status, repr(raw.get("assets")), repr(raw.get("error")), repr(raw.get("billing")))


MAX_BAD_BODIES = 3


def _transient(exc: MintError) -> bool:
    """Worth another poll inside the deadline: no answer, 408/425/429, any 5xx, or a body that
    did not parse (a proxy's HTML page on a 200) unless ``MAX_BAD_BODIES`` come in a row."""
    if isinstance(exc, APIConnectionError | RateLimitError | InternalServerError):
        return True
    if isinstance(exc, ResponseValidationError):
        return True
    return isinstance(exc, APIStatusError) and exc.status_code in (408, 425)


def _hint_of(exc: MintError, now: float) -> float | None:
    """The server's Retry-After on an error response (429, 503, ...), in seconds."""
    if isinstance(exc, APIStatusError):
        return parse_retry_after(exc.response.headers.get("retry-after"), now)
    return None


def wait_flow(
    core: Core,
    operation_id: str,
    *,
    timeout: float | None,
    until: Collection[str] | None,
    policy: PollPolicy,
    on_retry: OnRetry = None,
) -> Flow[Operation]:
    """Poll until a stop state, emitting each observed change; bounded by one deadline.

    ``on_retry(error, delay)`` hears of each transient failure the wait rides out (no answer,
    429/5xx, a malformed body), with the seconds until the next poll.
    """
    clock = core.clock
    started = clock.monotonic()
    error: MintError | None = None
    deadline = None if timeout is None else started + timeout
    last: Operation | None = None
    last_error: MintError | None = None
    bad_bodies = 0  # malformed answers in a row
    step = 0
    since = started  # when the current status was first seen
    while True:
        if deadline is not None and clock.monotonic() >= deadline:
            raise WaitTimeoutError(operation_id, last, timeout or 0.0) from last_error
        hint: float | None
        error = None
        try:
            op, response = yield from _get(core, operation_id, deadline)
        except MintError as exc:
            if not _transient(exc):
                raise
            bad_bodies = bad_bodies + 1 if isinstance(exc, ResponseValidationError) else 0
            if bad_bodies >= MAX_BAD_BODIES:  # not a glitch: the answer itself is wrong
                raise
            last_error = error = exc
            if deadline is not None and clock.monotonic() >= deadline:
                raise WaitTimeoutError(operation_id, last, timeout or 0.0) from exc
            hint = _hint_of(exc, clock.wall())
        else:
            last_error = None
            bad_bodies = 0
            hint = parse_retry_after(response.headers.get("retry-after"), clock.wall())
            if last is None or _fingerprint(op) != _fingerprint(last):
                if last is not None and op.status != last.status:
                    step = 0
                    since = clock.monotonic()
                last = op
                yield Emit(op)
            if stop_decision(op, until) == "return":
                return op
        delay = policy.delay(step, hint, clock.rng, elapsed=clock.monotonic() - since)
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - clock.monotonic()))
        step += 1
        if error is not None and on_retry is not None:
            on_retry(error, delay)
        yield Sleep(delay)


def _get(
    core: Core, operation_id: str, deadline: float | None
) -> Flow[tuple[Operation, httpx.Response]]:
    return core.call_with_response(
        get_operation._get_kwargs(operation_id),
        Operation._build,
        deadline=deadline,
        expect_id=operation_id,
    )


def normalise_until(until: str | Iterable[str] | None) -> frozenset[str] | None:
    if until is None:
        return None
    if isinstance(until, str):
        return frozenset({until})
    if isinstance(until, bytes | Mapping) or not isinstance(until, Iterable):
        raise InvalidArgumentError(f"until must be a status or statuses, got {until!r}")
    states = frozenset(until)
    if not all(isinstance(state, str) for state in states):
        raise InvalidArgumentError(f"until must hold statuses (text), got {until!r}")
    return states


@attrs.define
class TokenBucket:
    """A shared request-rate limit: ``rate`` requests per second, bursts up to ``burst``."""

    rate: float
    burst: float = 1.0
    _tokens: float = attrs.field(init=False, default=0.0)
    _stamp: float | None = attrs.field(init=False, default=None)

    def reserve(self, now: float) -> float:
        """Take one token; return how long to wait before using it (0 when available now)."""
        if self.rate <= 0 or math.isinf(self.rate):
            return 0.0
        if self._stamp is None:
            self._tokens, self._stamp = self.burst, now
        self._tokens = min(self.burst, self._tokens + max(0.0, now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
