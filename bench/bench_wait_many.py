"""``AsyncMint.operations.wait_many`` on many operations against the fake on loopback.

The fake runs on a real clock sped up ``speed`` times; each operation's lifecycle is the fake's
default (about 10 simulated seconds), so the longest single operation bounds the ideal wall time.
Figures: wall time vs that bound, CPU time, peak RSS of this process, and the peak number of
concurrent requests seen by the server.
"""

from __future__ import annotations

import asyncio
import resource
import time

from mint_ext import AsyncMint, PollPolicy
from mint_ext.testing import FakeMint, RealClock, serve_fake_mint

from ._common import Row


def run(quick: bool = False, n: int | None = None) -> list[Row]:
    count = n or (200 if quick else 1000)
    speed = 10.0
    fake = FakeMint(clock=RealClock(speed), retry_after=None)
    with serve_fake_mint(fake) as server:

        async def main() -> tuple[float, int, float]:
            async with AsyncMint(api_key=server.api_key, base_url=server.base_url) as mint:
                one = await mint.models.generate(prompt="alone")
                start = time.perf_counter()
                await mint.operations.wait(one, poll=PollPolicy(initial=0.2, max_delay=1.0))
                single = time.perf_counter() - start
                ops = await asyncio.gather(*[mint.models.generate(prompt=f"bench {i}")
                                             for i in range(count)])  # fmt: skip
                fake.reset_peak()
                start = time.perf_counter()
                results = await mint.operations.wait_many(
                    ops, timeout=600, max_concurrency=16, max_rate=1000,
                    poll=PollPolicy(initial=0.2, max_delay=1.0))  # fmt: skip
                wall = time.perf_counter() - start
                return wall, sum(r.ok for r in results), single

        cpu0 = time.process_time()
        wall, ok, longest = asyncio.run(main())
        cpu = time.process_time() - cpu0
        peak = fake.peak_concurrency
        requests = sum(1 for r in fake.requests if r.method == "GET")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert ok == count, f"{ok}/{count} operations succeeded"
    return [
        Row(f"wait_many on {count} operations (async), wall", wall, longest, "s",
            "one operation waited alone", f"CPU {cpu:.2f} s (client + fake server in one process), "
            f"peak RSS {rss:.0f} MiB, peak concurrent requests at the server {peak} (limit 16), "
            f"{requests} poll requests (rate limit 1000/s)"),
    ]  # fmt: skip
