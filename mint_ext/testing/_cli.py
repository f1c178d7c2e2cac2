"""``python -m mint_ext.testing``: run the fake Mint API on loopback until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._clock import RealClock
from ._fake import FakeMint
from ._server import start_fake_server

__all__ = ["build_parser", "main"]


def build_parser(prog: str = "python -m mint_ext.testing") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the fake Mint API (API, asset and redirect origins) on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    parser.add_argument("--asset-port", type=int, default=0, help="asset port (default: free)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated time x real time")
    parser.add_argument("--api-key", default="test-key", help="the API key to accept")
    parser.add_argument("--asset-size", type=int, default=64 * 1024, help="bytes per asset file")
    parser.add_argument("--retry-after", type=_seconds, default=None, help="poll hint in seconds")
    parser.add_argument("--signed-urls", action="store_true", help="sign asset URLs")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m mint_ext.testing") -> int:
    """Serve until SIGINT/SIGTERM. Prints one JSON line (base_url, asset_base_url, api_key, ...)."""
    args = build_parser(prog).parse_args(argv)
    if args.speed <= 0:
        print("--speed must be > 0", file=sys.stderr)
        return 2
    fake = FakeMint(
        api_keys=(args.api_key,),
        clock=RealClock(args.speed),
        asset_size=args.asset_size,
        retry_after=args.retry_after,
        signed_urls=args.signed_urls,
    )
    server = start_fake_server(fake, args.host, args.port, args.asset_port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        line = {
            "base_url": server.base_url,
            "asset_base_url": server.asset_base_url,
            "redirect_base_url": server.redirect_base_url,
            "api_key": server.api_key,
            "speed": args.speed,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    finally:
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
