"""Polling cost: poll requests and detection delay, default policy vs fixed 1 s and 5 s.

Runs the real ``Mint.operations.wait`` against a scripted in-process server on a simulated clock
(the client's sleep advances the clock), so the figures are exact and cost no real time.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import httpx
import yaml

from mint_ext import Clock, Mint, PollPolicy

from ._common import Row

SPEC = yaml.safe_load((Path(__file__).parent.parent / "spec" / "mint.openapi.yaml").read_text())
OP = SPEC["components"]["schemas"]["Operation"]["example"]


def simulate(finish_after: float, policy: PollPolicy, seed: int = 1) -> tuple[int, float]:
    """(poll requests, seconds between completion and its detection)."""
    now = [0.0]
    polls = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        polls[0] += 1
        body: dict[str, Any] = copy.deepcopy(OP)
        body["status"] = "succeeded" if now[0] >= finish_after else "running"
        return httpx.Response(200, json=body)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    clock = Clock(
        monotonic=lambda: now[0], wall=lambda: 1.8e9 + now[0], rng=random.Random(seed).random
    )
    with Mint(api_key="k", base_url="http://sim", transport=httpx.MockTransport(handler),
              sleep=sleep, clock=clock) as mint:  # fmt: skip
        mint.operations.wait("op_sim", timeout=3600, poll=policy)
    return polls[0], now[0] - finish_after


def run(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    # Each figure is a mean over 20 runs whose completion time is spread over [T, T+5) s (and,
    # for our policy, over 20 jitter seeds), so no schedule is flattered by a lucky alignment.
    samples = 20
    for finish in (5.0, 60.0, 300.0):
        times = [finish + 5.0 * i / samples for i in range(samples)]
        policies = [("default", PollPolicy()), ("fixed 1 s", PollPolicy.fixed(1.0)),
                    ("fixed 5 s", PollPolicy.fixed(5.0))]  # fmt: skip
        stats = {}
        for name, policy in policies:
            runs = [simulate(t, policy, seed) for seed, t in enumerate(times)]
            stats[name] = (sum(p for p, _ in runs) / samples, sum(d for _, d in runs) / samples)
        for ref in ("fixed 1 s", "fixed 5 s"):
            rows.append(Row(f"poll requests, {finish:g} s operation", stats["default"][0],
                            stats[ref][0], "requests", ref, "mean of 20 runs"))  # fmt: skip
            rows.append(Row(f"detection delay, {finish:g} s operation", stats["default"][1],
                            stats[ref][1], "s", ref, "completion -> the poll that sees it"))  # fmt: skip
    return rows
