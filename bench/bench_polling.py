"""Polling cost: detection delay and poll requests over a realistic spread of operations.

Runs the real ``Mint.operations.wait`` against a scripted in-process server on a simulated clock
(the client's sleep advances the clock), so the figures are exact and cost no real time.

The spread (an assumption, said in the rows): operations of two types and three presets whose
durations are drawn uniformly from these ranges, 20 s to 10 minutes in all. Worlds are taken
from the issue's figures (30-45 s in a draft tier, about 5 minutes in a full one); models are a
guess of the same shape. Each run draws its duration and jitter seed from one seeded RNG, so
every policy meets the same operations.
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

SPREAD: dict[tuple[str, str], tuple[float, float]] = {
    ("world", "fast"): (30.0, 45.0),
    ("world", "standard"): (90.0, 240.0),
    ("world", "production"): (240.0, 600.0),
    ("model", "fast"): (20.0, 40.0),
    ("model", "standard"): (45.0, 120.0),
    ("model", "production"): (120.0, 360.0),
}


def simulate(
    finish_after: float,
    policy: PollPolicy,
    seed: int = 1,
    kind: tuple[str, str] = ("world", "fast"),
) -> tuple[int, float]:
    """(poll requests, seconds between completion and its detection)."""
    now = [0.0]
    polls = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        polls[0] += 1
        body: dict[str, Any] = copy.deepcopy(OP)
        body["status"] = "succeeded" if now[0] >= finish_after else "running"
        body["id"] = "op_sim"
        body["type"], body["generationPreset"] = kind
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


def spread(samples: int, seed: int = 18) -> list[tuple[tuple[str, str], float, int]]:
    """``samples`` operations: (type and preset, duration, jitter seed), the same for every policy."""
    rng = random.Random(seed)
    kinds = sorted(SPREAD)
    ops = []
    for i in range(samples):
        kind = kinds[i % len(kinds)]
        low, high = SPREAD[kind]
        ops.append((kind, rng.uniform(low, high), rng.randrange(1 << 30)))
    return ops


def run(quick: bool = False) -> list[Row]:
    samples = 96 if quick else 240
    ops = spread(samples)
    draws = 4  # jitter seeds per operation for the default policy (the fixed ones have none)
    policies = {"default": PollPolicy(), "fixed 1 s": PollPolicy.fixed(1.0),
                "fixed 5 s": PollPolicy.fixed(5.0)}  # fmt: skip
    runs = {name: [simulate(t, policy, seed, kind) for kind, t, seed in ops]
            for name, policy in policies.items() if name != "default"}  # fmt: skip
    runs["default"] = [simulate(t, policies["default"], seed + 7919 * k, kind)
                       for k in range(draws) for kind, t, seed in ops]  # fmt: skip

    def mean(name: str, index: int, low: float = 0.0, high: float = 1e9) -> float:
        durations = [t for _, t, _ in ops] * (len(runs[name]) // samples)
        picked = [r[index] for r, t in zip(runs[name], durations, strict=True) if low <= t < high]
        return sum(picked) / len(picked)

    def goal(low: float = 0.0, high: float = 1e9) -> float:
        bounds = [1.0 + 0.05 * t for _, t, _ in ops if low <= t < high]
        return sum(bounds) / len(bounds)

    mean_t = sum(t for _, t, _ in ops) / samples
    note = (f"{samples} operations, 2 types x 3 presets, 20 s..10 min (mean {mean_t:.0f} s); "
            f"simulated clock; ours {draws} jitter draws each")  # fmt: skip
    target = "goal: 1 s + 5 % of the duration"
    rows = [Row("detection delay, spread of operations", mean("default", 1), goal(), "s", target,
                note)]  # fmt: skip
    for ref in ("fixed 1 s", "fixed 5 s"):
        rows.append(Row("detection delay, spread of operations", mean("default", 1),
                        mean(ref, 1), "s", ref, "completion -> the poll that sees it"))  # fmt: skip
        rows.append(Row("poll requests, spread of operations", mean("default", 0),
                        mean(ref, 0), "requests", ref, "mean per operation"))  # fmt: skip
    for what, low, high in (("under 60 s", 0.0, 60.0), ("over 200 s", 200.0, 1e9)):
        rows.append(Row(f"detection delay, operations {what}", mean("default", 1, low, high),
                        goal(low, high), "s", target, f"fixed 5 s: "
                        f"{mean('fixed 5 s', 1, low, high):.2f} s"))  # fmt: skip
        rows.append(Row(f"poll requests, operations {what}", mean("default", 0, low, high),
                        mean("fixed 5 s", 0, low, high), "requests", "fixed 5 s",
                        "per operation"))  # fmt: skip
    return rows
