"""``AsyncMint.operations.wait_many`` on many operations against the fake in another process.

The fake (``python -m mint_ext.testing``) runs as a subprocess on a real clock sped up ``speed``
times, so this process is the client alone: its CPU time (``time.process_time``) over the wait,
divided by the poll requests the fake counted, is the client's CPU per poll. Each operation's
lifecycle is the fake's default (about 10 simulated seconds), so one operation waited alone is
the ideal wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from mint_ext import AsyncMint, Mint, PollPolicy

from ._common import Row

POLL = PollPolicy(initial=0.2, max_delay=1.0, fraction=0.0, multiplier=1.5)


@contextlib.contextmanager
def fake_process(speed: float) -> Iterator[dict[str, Any]]:
    cmd = [sys.executable, "-m", "mint_ext.testing", "--quiet", "--speed", str(speed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)


def stats(info: dict[str, Any]) -> dict[str, Any]:
    with urllib.request.urlopen(info["stats_url"]) as answer:
        return dict(json.load(answer))


def run(quick: bool = False, n: int | None = None) -> list[Row]:
    count = n or (200 if quick else 1000)
    rows = []
    with fake_process(10.0) as info:

        async def main() -> tuple[float, float, int, float, int]:
            async with AsyncMint(api_key=info["api_key"], base_url=info["base_url"]) as mint:
                one = await mint.models.generate(prompt="alone")
                start = time.perf_counter()
                await mint.operations.wait(one, poll=POLL)
                single = time.perf_counter() - start
                ops = await asyncio.gather(*[mint.models.generate(prompt=f"bench {i}")
                                             for i in range(count)])  # fmt: skip
                before = stats(info)["requests"]["api"]
                cpu0, start = time.process_time(), time.perf_counter()
                results = await mint.operations.wait_many(
                    ops, timeout=600, max_concurrency=16, max_rate=1000, poll=POLL)  # fmt: skip
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
                polls = stats(info)["requests"]["api"] - before - 1  # this stats call
                return wall, cpu, polls, single, sum(r.ok for r in results)

        wall, cpu, polls, single, ok = asyncio.run(main())
        assert ok == count, f"{ok}/{count} operations succeeded"
        peak = stats(info)["peakConcurrentRequests"]["api"]
        rows.append(Row(f"wait_many on {count} operations (async), wall", wall, single, "s",
                        "one operation waited alone", f"fake in another process; {polls} polls, "
                        f"peak {peak} concurrent at the fake (limit 16)"))  # fmt: skip
        rows.append(Row(f"wait_many on {count} operations (async), client CPU per poll",
                        cpu / polls * 1000, 2.0, "ms", "goal", f"client CPU {cpu:.2f} s"))  # fmt: skip

        with Mint(api_key=info["api_key"], base_url=info["base_url"]) as mint:
            ops = [mint.models.generate(prompt=f"sync {i}") for i in range(count)]
            before = stats(info)["requests"]["api"]
            cpu0, start = time.process_time(), time.perf_counter()
            results = mint.operations.wait_many(ops, timeout=600, max_concurrency=16,
                                                max_rate=1000, poll=POLL)  # fmt: skip
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
            polls = stats(info)["requests"]["api"] - before - 1
            assert sum(r.ok for r in results) == count
        rows.append(Row(f"wait_many on {count} operations (sync), wall", wall, single, "s",
                        "one operation waited alone (async)",
                        f"client CPU {cpu / polls * 1000:.2f} ms per poll, {polls} polls"))  # fmt: skip
    return rows
