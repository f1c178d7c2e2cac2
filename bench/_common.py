"""Shared helpers of the benchmarks: one row per measurement, ratio computed the same way."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass
class Row:
    what: str
    ours: float
    reference: float
    unit: str
    reference_name: str
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.reference if self.reference else float("nan")

    def cells(self) -> list[str]:
        return [self.what, f"{fmt(self.ours)} {self.unit}",
                f"{fmt(self.reference)} {self.unit} ({self.reference_name})",
                f"{self.ratio:.2f}", self.note]  # fmt: skip


def fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def table(rows: list[Row]) -> str:
    head = ["what", "ours", "reference", "ratio (ours/ref)", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    return (f"{os.cpu_count()} CPUs, Python {platform.python_version()} "
            f"({platform.machine()}, {platform.system()})")  # fmt: skip


def peak_rss_of(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS in MiB) measured from outside the process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all waited-for children: run each in a fresh wrapper
    # process when exact per-child figures are needed (see rss_of).
    return wall, max(after, before) / 1024.0


def rss_of(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one command, measured by a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "w = time.perf_counter() - t\n"
        "sys.stderr.buffer.write(p.stderr[-2000:])\n"
        "print(json.dumps([p.returncode, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
    import json

    code, wall, kib = json.loads(out.stdout.strip().splitlines()[-1])
    if code != 0:
        raise RuntimeError(f"{cmd} failed: {out.stderr}")
    return float(wall), kib / 1024.0
