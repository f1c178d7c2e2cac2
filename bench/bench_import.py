"""Import time of mint_ext vs httpx alone, over repeated fresh interpreters (best of N)."""

from __future__ import annotations

import subprocess
import sys
import time

from ._common import Row


def _best_start(code: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    return min(samples)


def run(quick: bool = False) -> list[Row]:
    runs = 5 if quick else 15
    base = _best_start("import sys", runs)
    ref = _best_start("import httpx", runs) - base
    ours = _best_start("import mint_ext", runs) - base
    client = _best_start("from mint_ext import Mint", runs) - base
    note = f"best of {runs} fresh interpreters, interpreter start subtracted"
    return [
        Row("import time, import mint_ext", ours * 1000, ref * 1000, "ms", "import httpx",
            note + "; public names load on first use"),
        Row("import time, from mint_ext import Mint", client * 1000, ref * 1000, "ms",
            "import httpx", "the client and what it imports (downloads, generated models)"),
    ]  # fmt: skip
