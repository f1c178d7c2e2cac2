"""Import time of mint_ext vs httpx alone, over repeated fresh interpreters."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from ._common import Row


def _median_start(module: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(quick: bool = False) -> list[Row]:
    runs = 5 if quick else 15
    base = _median_start("sys", runs)
    ours = _median_start("mint_ext", runs) - base
    ref = _median_start("httpx", runs) - base
    return [Row("import time", ours * 1000, ref * 1000, "ms", "import httpx",
                f"median of {runs} fresh interpreters, interpreter start subtracted")]  # fmt: skip
