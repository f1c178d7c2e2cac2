"""Clocks and lifecycle timings of the fake Mint API."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "RealClock", "Timings"]

DEFAULT_START = 1_800_000_000.0  # 2027-01-15T08:00:00Z: far from "now", obviously fake


@runtime_checkable
class Clock(Protocol):
    """What the fake reads time from: epoch seconds of *simulated* time."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class FakeClock:
    """A manual clock: time only moves when :meth:`advance` is called."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds

    @staticmethod
    def real(speed: float = 1.0) -> RealClock:
        """A clock following real time at ``speed`` x (for the demo and ``--speed``)."""
        return RealClock(speed)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now()!r})"


class RealClock:
    """Simulated time running at ``speed`` x real time, starting at the real wall time.

    :meth:`advance` jumps ahead on top of that (handy to skip a stage in a demo).
    """

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._start = time.time() if start is None else float(start)
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._start + (time.monotonic() - self._mono0) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._offset += seconds

    def __repr__(self) -> str:
        return f"RealClock(speed={self.speed!r})"


@dataclass(frozen=True)
class Timings:
    """Simulated seconds each lifecycle stage lasts (defaults: a world finishes in ~10 s).

    * ``queued``: queued before running.
    * ``running``: running until the preview exists (and again after a ``:revise``).
    * ``preview``: how long ``preview_ready`` lasts in ``auto`` mode (review mode waits for a call).
    * ``final``: running from the approved preview to the final assets (also after ``:resume``).
    * ``optimize``: running of a ``model_optimization`` operation.
    * ``unknown``: how long a scripted unknown status (``paused``) is reported.
    """

    queued: float = 1.0
    running: float = 3.0
    preview: float = 1.0
    final: float = 4.0
    optimize: float = 3.0
    unknown: float = 2.0

    def total_auto(self) -> float:
        """Seconds from creation to ``succeeded`` for an auto-mode generation."""
        return self.queued + self.running + self.preview + self.final
