"""What ``mint`` shows while it waits and downloads: live on a terminal, plain lines in a pipe.

Waiting: the operation's status, how long it has been in it, the whole wait's time, and failed
polls as they happen (how many, the last cause, when the next try is). Downloading: every file of
the plan from the start (sizes from the API or an earlier run where known, the rest said to be
unknown until their answers arrive), what each file is doing (checking, resuming, downloading,
downloaded, skipped, failed), a total over the plan, and a speed measured from the bytes that
actually arrived in this run (skipped files and resumed prefixes are not "transferred").
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from .._download_core import DownloadProgress
from .._errors import APIStatusError
from .._models import Operation
from ._output import human_duration, human_rate, human_size, text

__all__ = ["DownloadDisplay", "WaitDisplay", "describe_error"]

Clock = Callable[[], float]


def describe_error(error: BaseException, limit: int = 80) -> str:
    """Short enough for a status line: ``InternalServerError 503 Service Unavailable``, or the
    class and message cut to ``limit`` characters."""
    if isinstance(error, APIStatusError):
        return text(f"{type(error).__name__} {error.status_code} {error.title or ''}".strip())
    line = text(f"{type(error).__name__}: {error}")
    return line if len(line) <= limit else line[: limit - 3] + "..."


class WaitDisplay:
    """``on_update``/``on_retry`` of ``operations.wait``: a live status line on a terminal; in a
    pipe, one line per status change and per failed poll."""

    def __init__(self, console: Console, live: bool, operation_id: str,
                 clock: Clock = time.monotonic) -> None:  # fmt: skip
        self.console = console
        self.operation_id = operation_id
        self.clock = clock
        self.started = self.since = clock()
        self.status: str | None = None
        self.retries = 0
        self.cause: str | None = None
        self.next_try: float | None = None
        self._spinner = Spinner("dots")
        self._live = (
            Live(self, console=console, refresh_per_second=8, transient=True) if live else None
        )

    def __enter__(self) -> WaitDisplay:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self.console.print(self.line())

    def on_update(self, op: Operation) -> None:
        """A poll answered: a new status starts its own clock."""
        self.cause = self.next_try = None
        if op.status != self.status:
            self.status, self.since = op.status, self.clock()
            if self._live is None:
                self.console.print(self.line())

    def on_retry(self, error: BaseException, delay: float) -> None:
        """A poll failed with a transient error; the wait tries again in ``delay`` seconds."""
        self.retries += 1
        self.cause = describe_error(error)
        self.next_try = self.clock() + delay
        if self._live is None:
            self.console.print(
                f"{self.operation_id}: poll failed ({self.cause}); "
                f"retry {self.retries} in {human_duration(delay)}"
            )

    def line(self) -> str:
        """``op_1: running for 12s (waited 45s); 2 failed polls, last: ...; next try in 4s``."""
        now = self.clock()
        if self.status is None:
            head = f"{self.operation_id}: waiting for the first answer"
        else:
            head = f"{self.operation_id}: {self.status} for {human_duration(now - self.since)}"
        line = f"{head} (waited {human_duration(now - self.started)})"
        if self.retries:
            line += f"; {self.retries} failed poll{'s' if self.retries > 1 else ''}"
            if self.cause:
                line += f", last: {self.cause}"
            if self.next_try is not None and self.next_try > now:
                line += f"; next try in {human_duration(self.next_try - now + 0.999)}"
        return text(line)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        self._spinner.update(text=Text(self.line()))
        yield self._spinner


_FINISHED = frozenset({"downloaded", "skipped", "failed"})


@attrs.define
class _File:
    name: str
    status: str
    done: int = 0
    total: int | None = None
    base: int = 0  # bytes that were already on disk before this run (resumed or skipped)


class DownloadDisplay:
    """``progress=`` of ``assets.download``: per-file rows and a total over the whole plan.

    Live bars on a terminal; in a pipe, a line when a file is checked, resumed or finished (its
    real outcome: ``downloaded`` or ``skipped``) and a total line at most every few seconds.
    """

    def __init__(self, console: Console, live: bool, directory: str,
                 clock: Clock = time.monotonic, every: float = 5.0) -> None:  # fmt: skip
        self.console = console
        self.directory = directory
        self.clock = clock
        self.every = every
        self.files: dict[str, _File] = {}
        self.announced = False
        self._lock = threading.Lock()
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._last_line = clock()
        self._live = (
            Live(console=console, refresh_per_second=8, get_renderable=self.render)
            if live
            else None
        )

    def __enter__(self) -> DownloadDisplay:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    # -- accounting ------------------------------------------------------------------------
    @property
    def transferred(self) -> int:
        """Bytes that arrived in this run."""
        return sum(max(0, f.done - f.base) for f in self.files.values() if f.status != "skipped")

    def rate(self) -> float | None:
        """Bytes per second over the last few seconds of this run, None until measurable."""
        if len(self._samples) < 2:
            return None
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 - t0 >= 0.5 else None

    def totals(self) -> tuple[int, int, int, int, int]:
        """(files finished, files, bytes done, bytes known to be due, files of unknown size)."""
        files = list(self.files.values())
        finished = sum(f.status in _FINISHED for f in files)
        done = sum(f.done for f in files if f.status != "failed")
        due = sum(f.total for f in files if f.total is not None and f.status != "failed")
        unknown = sum(f.total is None and f.status not in _FINISHED for f in files)
        return finished, len(files), done, due, unknown

    def _extras(self) -> list[str]:
        finished, n, done, due, unknown = self.totals()
        extras = [f"{finished}/{n} files"]
        if unknown:
            extras.append(f"{unknown} size{'s' if unknown > 1 else ''} not known yet")
        rate = self.rate()
        if rate is not None:
            extras.append(human_rate(rate))
            if not unknown and rate > 0 and due > done:
                extras.append(f"{human_duration((due - done) / rate)} left")
        return extras

    def total_line(self) -> str:
        """``total 6.0 GiB of 13.5 GiB, 3/9 files, 48.2 MiB/s, 2m40s left``."""
        _, _, done, due, _ = self.totals()
        return ", ".join([f"total {human_size(done)} of {human_size(due)}", *self._extras()])

    def _say(self, line: str) -> None:
        if self._live is None:
            self.console.print(line)

    def __call__(self, event: DownloadProgress) -> None:
        with self._lock:
            self._event(event)

    def _event(self, e: DownloadProgress) -> None:
        key = e.slot or str(e.path)
        status = getattr(e, "status", "downloading")
        f = self.files.get(key)
        if f is None:
            f = self.files[key] = _File(e.path.name, status)
        f.name = e.path.name
        if status != "planned" and not self.announced:
            # The plan as announced, before this first event of a transfer adds what it learnt.
            self.announced = True
            _, n, _, due, unknown = self.totals()
            sizes = human_size(due) + (
                f" + {unknown} file{'s' if unknown > 1 else ''} of unknown size" if unknown else ""
            )
            self._say(f"{n} file{'s' if n != 1 else ''} ({sizes}) into {self.directory}")
        if e.bytes_total is not None:
            f.total = e.bytes_total
        name = text(f.name)
        if status == "checking":
            self._say(f"checking {name}: already on disk, asking the server if it is current")
        elif status == "resuming":
            f.base = f.done = e.bytes_done
            self._say(f"resuming {name} from {human_size(e.bytes_done)} of "
                      f"{human_size(f.total)} (re-reading the partial file)")  # fmt: skip
        elif status == "downloading":
            f.done = e.bytes_done
        elif status == "downloaded":
            f.done = f.total = e.bytes_done
            resumed = f", resumed from {human_size(f.base)}" if f.base else ""
            self._say(f"downloaded {name} ({human_size(e.bytes_done)}{resumed})")
        elif status == "skipped":
            f.done = f.total = f.base = e.bytes_done
            self._say(f"skipped {name} ({human_size(e.bytes_done)}, already complete)")
        elif status == "failed":
            self._say(f"failed {name}")
        elif e.done:  # an event without a status (older library): say nothing false
            f.done = e.bytes_done
            self._say(f"finished {name} ({human_size(e.bytes_done)})")
        else:
            f.done = e.bytes_done
        f.status = status if status != "downloading" or not e.done else "downloaded"
        now = self.clock()
        self._samples.append((now, self.transferred))
        while len(self._samples) > 2 and now - self._samples[0][0] > 5.0:
            self._samples.popleft()
        if self._live is None and status == "downloading" and now - self._last_line >= self.every:
            self._last_line = now
            self._say(self.total_line())

    # -- the live view -----------------------------------------------------------------------
    def render(self) -> Any:
        with self._lock:
            grid = Table.grid(padding=(0, 1))
            grid.add_column(overflow="ellipsis", no_wrap=True, max_width=32)
            grid.add_column(width=24)
            grid.add_column(justify="right", no_wrap=True)
            grid.add_column(no_wrap=True)
            for f in self.files.values():
                grid.add_row(text(f.name), ProgressBar(total=f.total, completed=f.done, width=24),
                             f"{human_size(f.done)} / {human_size(f.total)}",
                             _WORDS.get(f.status, f.status))  # fmt: skip
            _, _, done, due, unknown = self.totals()
            grid.add_row("total", ProgressBar(total=due if not unknown else None,
                                              completed=done, width=24),
                         f"{human_size(done)} / {human_size(due)}{' + ?' if unknown else ''}",
                         ", ".join(self._extras()))  # fmt: skip
            return grid


_WORDS = {
    "planned": "waiting",
    "checking": "checking (HEAD)",
    "resuming": "re-reading .part",
    "downloading": "downloading",
    "downloaded": "downloaded",
    "skipped": "skipped (complete)",
    "failed": "FAILED",
}
