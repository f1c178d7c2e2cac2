"""The fake server's command line: ``python -m mint_ext.testing`` and ``mint fake-server``.

Both run :func:`main` with the options of :func:`build_parser`, defined here once. It serves the
fake Mint API (API, asset and redirect origins) on loopback until SIGINT/SIGTERM and prints:

* on stdout, one JSON line: ``base_url``, ``asset_base_url``, ``redirect_base_url``,
  ``api_key``, ``speed``, ``stats_url`` (for programs that start it);
* on stderr, an ``export MINT_BASE_URL=... MINT_API_KEY=...`` line to paste into another shell,
  then one line per request (``--quiet`` turns the request log off).

``GET <base_url>/_fake/stats`` answers counters as JSON (see ``FakeMint.stats``): operations
created (``operationsCreated``, and per Idempotency-Key the operation and the number of POSTs
that carried it), the peak number of concurrent requests on the API and on the asset origins
and of concurrent GETs per asset path (``peakConcurrentGets``), requests so far. No key is
needed for it.

Example::

    $ mint fake-server --speed 20 --asset-size 64MiB --asset-sizes glb=200MiB --asset-rate 20MiB
    {"base_url": "http://127.0.0.1:40123", ...}
    export MINT_BASE_URL=http://127.0.0.1:40123 MINT_API_KEY=test-key
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import TextIO

from ._assets import KINDS
from ._clock import RealClock
from ._fake import STATS_PATH, FakeMint
from ._server import FakeServer, start_fake_server

__all__ = ["build_parser", "main", "parse_size"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """A byte count: ``65536``, ``64KiB``, ``4MiB``, ``1.5GiB`` (IEC, x1024) or ``5MB`` (x1000).

    Example:
        >>> parse_size("64KiB"), parse_size("4MiB"), parse_size("5MB"), parse_size("100")
        (65536, 4194304, 5000000, 100)
    """
    m = _SIZE.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 65536, 64KiB, 4MiB)")
    number, unit = float(m.group(1)), (m.group(2) or "").upper()
    base = 1024 if "I" in unit else 1000
    factor = 1 if unit in ("", "B") else base ** ("KMGT".index(unit[0]) + 1)
    value = number * factor
    if not math.isfinite(value) or value > 2**50:
        raise argparse.ArgumentTypeError(f"{text!r} is too large")
    return int(value)


def _kind_sizes(text: str) -> dict[str, int]:
    """``glb=200MiB,spz=8MiB`` -> ``{"glb": 209715200, "spz": 8388608}``."""
    sizes: dict[str, int] = {}
    for item in text.split(","):
        kind, sep, size = item.partition("=")
        kind = kind.strip().lower()
        if not sep or kind not in KINDS:
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected KIND=SIZE with KIND one of {', '.join(KINDS)}"
            )
        sizes[kind] = parse_size(size)
    return sizes


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def _positive(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535; 0: any free port)")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count >= 0")
    return value


def build_parser(prog: str = "python -m mint_ext.testing") -> argparse.ArgumentParser:
    """The options of the fake server's command line (one definition for both commands)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the fake Mint API (API, asset and redirect origins) on loopback until "
        "Ctrl-C or SIGTERM. Prints one JSON line on stdout (base_url, asset_base_url, api_key, "
        "...), then on stderr an `export MINT_BASE_URL=... MINT_API_KEY=...` line and a log of "
        f"requests. GET <base_url>{STATS_PATH} answers counters as JSON: operations created "
        "(also per Idempotency-Key), peak concurrent requests on the API and asset origins.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    add("--port", type=_port, default=0, help="API port (default 0: any free port)")
    add("--asset-port", type=_port, default=0, help="asset port (default 0: any free port)")
    add("--speed", type=_positive, default=1.0,
        help="simulated time runs this many times faster than real time (default 1)")  # fmt: skip
    add("--api-key", default="test-key", help="the API key to accept (default test-key)")
    add("--asset-size", type=parse_size, default=64 * 1024, metavar="SIZE",
        help="bytes per asset file, e.g. 65536, 64KiB, 4MiB (default 64KiB)")  # fmt: skip
    add("--asset-sizes", type=_kind_sizes, default={}, metavar="KIND=SIZE[,...]",
        help=f"per-kind sizes overriding --asset-size; kinds: {', '.join(KINDS)} "
        "(e.g. glb=200MiB,spz=8MiB)")  # fmt: skip
    add("--asset-rate", type=parse_size, default=None, metavar="SIZE",
        help="stream each asset response at this many bytes per second, e.g. 20MiB "
        "(default: as fast as possible)")  # fmt: skip
    add("--retry-after", type=_seconds, default=None, metavar="SECONDS",
        help="Retry-After hint on operation polls (default: none)")  # fmt: skip
    add("--signed-urls", action="store_true", help="sign asset URLs (?sig=&exp=)")
    add("--url-ttl", type=_positive, default=300.0, metavar="SECONDS",
        help="signed URLs answer 403 after this many simulated seconds (default 300)")  # fmt: skip
    add("--credits", type=_count, default=1000, help="Credits of the account (default 1000)")
    add("--seed-worlds", type=_count, default=0, metavar="N", help="start with N finished worlds")
    add("--seed-models", type=_count, default=0, metavar="N", help="start with N finished models")
    add("--quiet", action="store_true", help="no request log on stderr")
    return parser


def _log_requests(fake: FakeMint, seen: int, err: TextIO) -> int:
    """Print the requests recorded since ``seen``; returns the new count."""
    records = fake.requests
    for r in records[seen:]:
        query = "?..." if r.query else ""  # signatures and cursors stay out of the log
        err.write(f"{time.strftime('%H:%M:%S')} {r.origin:<8} {r.method:<6} {r.path}{query} "
                  f"-> {r.status}\n")  # fmt: skip
    err.flush()
    return len(records)


def _announce(server: FakeServer, speed: float, out: TextIO, err: TextIO) -> None:
    line = {
        "base_url": server.base_url,
        "asset_base_url": server.asset_base_url,
        "redirect_base_url": server.redirect_base_url,
        "api_key": server.api_key,
        "speed": speed,
        "stats_url": server.base_url + STATS_PATH,
    }
    out.write(json.dumps(line) + "\n")
    out.flush()
    err.write(f"export MINT_BASE_URL={shlex.quote(server.base_url)} "
              f"MINT_API_KEY={shlex.quote(server.api_key)}\n"
              f"fake Mint API on {server.base_url} (assets {server.asset_base_url}); "
              f"counters: {server.base_url}{STATS_PATH}; Ctrl-C stops it\n")  # fmt: skip
    err.flush()


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m mint_ext.testing") -> int:
    """Serve until SIGINT/SIGTERM (see the module docstring); returns the exit code."""
    args = build_parser(prog).parse_args(argv)
    fake = FakeMint(
        api_keys=(args.api_key,),
        clock=RealClock(args.speed),
        asset_size=args.asset_size,
        asset_sizes=args.asset_sizes,
        asset_rate=args.asset_rate,
        retry_after=args.retry_after,
        signed_urls=args.signed_urls,
        url_ttl=args.url_ttl,
        credits=args.credits,
    )
    fake.seed_worlds(args.seed_worlds)
    fake.seed_models(args.seed_models)
    try:
        server = start_fake_server(fake, args.host, args.port, args.asset_port)
    except OSError as exc:
        print(f"{prog}: cannot listen on {args.host}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    seen = 0
    try:
        _announce(server, args.speed, sys.stdout, sys.stderr)
        while not stop.wait(0.2):
            if not args.quiet:
                seen = _log_requests(fake, seen, sys.stderr)
    finally:
        server.close()
        if not args.quiet:  # the requests of the last moments too
            _log_requests(fake, seen, sys.stderr)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
