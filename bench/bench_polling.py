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

    clock = Clock(monotonic=lambda: now[0], wall=lambda: 1.8e9 + now[0], rng=random.Random(seed).random)
    with Mint(api_key="k", base_url="http://sim", transport=httpx.MockTransport(handler),
              sleep=sleep, clock=clock) as mint:  # fmt: skip
        mint.operations.wait("op_sim", timeout=3600, poll=policy)
    return polls[0], now[0] - finish_after


def run(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    for finish in (5.0, 60.0, 300.0):
        ours = [simulate(finish, PollPolicy(), seed) for seed in range(20)]
        polls = sum(p for p, _ in ours) / len(ours)
        delay = sum(d for _, d in ours) / len(ours)
        for ref_name, ref_policy in (("fixed 1 s", PollPolicy.fixed(1.0)), ("fixed 5 s", PollPolicy.fixed(5.0))):
            ref_polls, ref_delay = simulate(finish, ref_policy)
            rows.append(Row(f"polls for a {finish:g} s operation", polls, ref_polls, "requests", ref_name,
                            "default policy, mean of 20 jitter seeds"))  # fmt: skip
            rows.append(Row(f"detection delay, {finish:g} s operation", delay, ref_delay, "s", ref_name,
                            "time from completion to the poll that sees it"))  # fmt: skip
    return rows
