"""Run every benchmark and print one markdown table; also written to BENCHMARKS.md.

    python -m bench.run [--quick] [--output BENCHMARKS.md]

``--quick`` shrinks sizes (64 MiB instead of 512 MiB, 200 operations instead of 1,000) and says
so in the output. Every row puts our figure next to a reference measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from . import bench_downloads, bench_import, bench_parsing, bench_polling, bench_wait_many
from ._common import Row, machine, table

SECTIONS = [
    ("downloads", bench_downloads.run),
    ("polling", bench_polling.run),
    ("wait_many", bench_wait_many.run),
    ("parsing", bench_parsing.run),
    ("import", bench_import.run),
]


def as_installed() -> None:
    """Byte-compile what the benchmarks import, and let every child process use the ``.pyc``
    files: ``pip install`` compiles a wheel's modules, so a user's interpreter never compiles
    them at import (uv does not by default, and ``PYTHONDONTWRITEBYTECODE`` may be set)."""
    import compileall
    import importlib.util

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for name in ("mint_ext", "mint_client", "httpx", "httpcore", "h11", "anyio", "attr", "attrs",
                 "filelock", "jsonschema", "jsonschema_specifications", "referencing", "rpds",
                 "yaml", "sniffio", "idna", "certifi", "rich", "click", "markdown_it",
                 "pygments", "typing_extensions"):  # fmt: skip
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                compileall.compile_dir(folder, quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (said in the output)")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--only", action="append", help="run only these sections")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    started = time.perf_counter()
    as_installed()
    for name, fn in SECTIONS:
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        rows += fn(args.quick)
        print(f"[bench] {name}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    header = (
        f"# Benchmarks\n\nMeasured {dt.date.today().isoformat()} on {machine()}, "
        f"in {time.perf_counter() - started:.0f} s by `nox -s bench`"
        + (" with `--quick` (sizes reduced: 64 MiB download, 200 operations)" if args.quick else "")
        + ".\nEach row: our figure, a reference measured in the same run, and their ratio. Modules"
        " are byte-compiled first, as `pip install` leaves them (`bench/run.py: as_installed`).\n\n"
    )
    text = header + table(rows) + "\n"
    print(text)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
