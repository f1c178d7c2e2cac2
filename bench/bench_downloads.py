"""Download throughput, peak memory and parallelism against the fake's asset origin on loopback.

Throughput: one large asset through ``mint.assets.download`` vs ``curl`` vs a plain
``httpx.stream`` loop writing to a file, each in a fresh process, the fake server in this one.
Memory: peak RSS of a download process (measured from outside, by a wrapper) for a small and a
large file. Parallelism: a world's full asset set with latency added to every asset request,
``max_concurrency=4`` vs 1.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mint_ext import Mint
from mint_ext.testing import FakeClock, FakeMint, Fault, serve_fake_mint

from ._common import Row, rss_of

MiB = 1024 * 1024

SDK_SCRIPT = """
import sys, time
from mint_ext import Mint
base, key, op, out = sys.argv[1:5]
with Mint(api_key=key, base_url=base) as mint:
    t = time.perf_counter()
    report = mint.assets.download(op, out, include=sys.argv[5].split(","))
    print(time.perf_counter() - t)
    assert report.ok, report
"""

SDK_ASYNC_SCRIPT = """
import asyncio, sys, time
from mint_ext import AsyncMint
base, key, op, out = sys.argv[1:5]
async def main():
    async with AsyncMint(api_key=key, base_url=base) as mint:
        t = time.perf_counter()
        report = await mint.assets.download(op, out, include=sys.argv[5].split(","))
        print(time.perf_counter() - t)
        assert report.ok, report
asyncio.run(main())
"""

HTTPX_SCRIPT = """
import sys, time, httpx
url, out = sys.argv[1:3]
t = time.perf_counter()
with httpx.Client() as client, client.stream("GET", url) as r, open(out, "wb") as f:
    r.raise_for_status()
    for chunk in r.iter_raw(1 << 20):
        f.write(chunk)
print(time.perf_counter() - t)
"""


CURL_FSYNC_SCRIPT = """
import os, subprocess, sys, time
url, out = sys.argv[1:3]
r = subprocess.run(["curl", "-sSf", *sys.argv[3:], "-o", out, "-w", "%{time_total}\\n", url],
                   capture_output=True, text=True, check=True)
t = time.perf_counter()
fd = os.open(out, os.O_RDONLY)
os.fsync(fd)  # what the SDK does before its rename: the bytes are on the disk, not in the cache
os.close(fd)
print(float(r.stdout.strip()) + time.perf_counter() - t)
"""


def _timed(cmd: list[str], output: Path, runs: int = 3) -> float:
    """Best transfer time of ``runs`` (as each process reports it; start-up excluded).

    The output is deleted after each run so that no tool pays for another's page-cache writeback.
    """
    best = float("inf")
    for _ in range(runs):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        best = min(best, float(out.strip().splitlines()[-1]))
        if output.is_dir():
            shutil.rmtree(output)
        else:
            output.unlink(missing_ok=True)
    return best


def _finished_model(mint: Mint, fake: FakeMint) -> tuple[str, str]:
    op = mint.models.generate(prompt="bench model")
    fake.advance(3600)
    op = mint.operations.get(op)
    assert op.is_succeeded and op.assets is not None
    url = op.assets.glb_url  # type: ignore[union-attr]
    assert url
    return op.id, url


def throughput_and_memory(size_mb: int, small_mb: int) -> list[Row]:
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="mint-bench-"))
    try:
        results: dict[str, float] = {}
        for label, mb in (("large", size_mb), ("small", small_mb)):
            fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": mb * MiB})
            with serve_fake_mint(fake) as server, Mint(api_key=server.api_key,
                                                       base_url=server.base_url) as mint:  # fmt: skip
                op_id, url = _finished_model(mint, fake)
                args = [server.base_url, server.api_key, op_id, str(work / f"sdk-{label}"), "glb"]
                _, results[f"sdk-{label}-rss"] = rss_of([sys.executable, "-c", SDK_SCRIPT, *args])
                shutil.rmtree(work / f"sdk-{label}", ignore_errors=True)
                if label == "large":
                    # Interleaved, best of 5 each: disk writeback and the other core's load
                    # move single runs by +-50 % on this kind of machine.
                    tools = {"sdk": ([sys.executable, "-c", SDK_SCRIPT, *args], work / "sdk-large"),
                             "sdk-async": ([sys.executable, "-c", SDK_ASYNC_SCRIPT, *args],
                                           work / "sdk-large"),
                             "httpx": ([sys.executable, "-c", HTTPX_SCRIPT, url,
                                        str(work / "httpx.glb")], work / "httpx.glb")}  # fmt: skip
                    if shutil.which("curl"):
                        tools["curl"] = (["curl", "-sSf", "-o", str(work / "curl.glb"), "-w",
                                          "%{time_total}\\n", url], work / "curl.glb")  # fmt: skip
                        tools["curl-fsync"] = ([sys.executable, "-c", CURL_FSYNC_SCRIPT, url,
                                                str(work / "curl.glb")], work / "curl.glb")  # fmt: skip
                    for _ in range(5):
                        for name, (cmd, output) in tools.items():
                            took = _timed(cmd, output, runs=1)
                            results[name] = min(results.get(name, float("inf")), took)
        sdk = size_mb / results["sdk"]
        if "curl" in results:
            rows.append(Row(f"download throughput, {size_mb} MiB", sdk, size_mb / results["curl"],
                            "MiB/s", "curl", "best of 5, interleaved; transfer time each tool reports; loopback"))  # fmt: skip
            rows.append(Row(f"download throughput, {size_mb} MiB, AsyncMint",
                            size_mb / results["sdk-async"], size_mb / results["curl"], "MiB/s",
                            "curl", "best of 5, interleaved; same flow, async driver"))  # fmt: skip
            durable = size_mb / results["curl-fsync"]
            rows.append(Row(f"download throughput, {size_mb} MiB", sdk, durable, "MiB/s",
                            "curl, then fsync", "the durable limit: curl does not make the file durable; the SDK does"))  # fmt: skip
            rows.append(Row(f"download throughput, {size_mb} MiB, AsyncMint",
                            size_mb / results["sdk-async"], durable, "MiB/s", "curl, then fsync",
                            "best of 5, interleaved"))  # fmt: skip
        rows.append(Row(f"download throughput, {size_mb} MiB", sdk, size_mb / results["httpx"],
                        "MiB/s", "httpx.stream loop", "best of 5; ours adds sha256, fsync, verification"))  # fmt: skip
        rows.append(Row(f"peak RSS, {size_mb} MiB vs {small_mb} MiB download",
                        results["sdk-large-rss"], results["sdk-small-rss"], "MiB",
                        f"same SDK, {small_mb} MiB file",
                        f"difference {results['sdk-large-rss'] - results['sdk-small-rss']:.1f} MiB"))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def parallel(latency: float, asset_mb: int) -> list[Row]:
    timings: dict[int, float] = {}
    for concurrency in (4, 1):
        fake = FakeMint(clock=FakeClock(), asset_size=asset_mb * MiB)
        with serve_fake_mint(fake) as server, tempfile.TemporaryDirectory() as out, \
                Mint(api_key=server.api_key, base_url=server.base_url) as mint:  # fmt: skip
            op = mint.worlds.generate(prompt="bench world")
            fake.advance(3600)
            op = mint.operations.get(op)
            fake.inject(Fault.slow(latency), route="ASSET", times=10_000)
            start = time.perf_counter()
            report = mint.assets.download(op, out, max_concurrency=concurrency)
            timings[concurrency] = time.perf_counter() - start
            assert report.ok
            files = len(report.assets)
    return [Row(f"world asset set ({files} files), +{latency * 1000:.0f} ms per request",
                timings[4], timings[1], "s", "max_concurrency=1", "max_concurrency=4")]  # fmt: skip


def over_tls(size_mb: int) -> list[Row]:
    """The same download from an https asset origin (trustme certificates): what a real CDN
    download costs, where TLS, not the HTTP client, sets the pace."""
    import os
    import ssl

    import trustme

    work = Path(tempfile.mkdtemp(prefix="mint-bench-tls-"))
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = work / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    env = {**os.environ, "SSL_CERT_FILE": str(ca_file)}
    best: dict[str, float] = {}
    try:
        fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": size_mb * MiB})
        with serve_fake_mint(fake, asset_tls=context) as server, \
                Mint(api_key=server.api_key, base_url=server.base_url) as mint:  # fmt: skip
            op_id, url = _finished_model(mint, fake)
            args = [server.base_url, server.api_key, op_id, str(work / "sdk"), "glb"]
            tools = {"sdk": [sys.executable, "-c", SDK_SCRIPT, *args],
                     "sdk-async": [sys.executable, "-c", SDK_ASYNC_SCRIPT, *args]}  # fmt: skip
            if shutil.which("curl"):
                tools["curl"] = ["curl", "-sSf", "--cacert", str(ca_file), "-o",
                                 str(work / "sdk"), "-w", "%{time_total}\n", url]  # fmt: skip
                tools["curl-fsync"] = [sys.executable, "-c", CURL_FSYNC_SCRIPT, url,
                                       str(work / "sdk"), "--cacert", str(ca_file)]  # fmt: skip
            for _ in range(3):
                for name, cmd in tools.items():
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                         env=env).stdout  # fmt: skip
                    took = float(out.strip().splitlines()[-1])
                    best[name] = min(best.get(name, float("inf")), took)
                    path = work / "sdk"
                    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if "curl" not in best:
        return []
    curl, durable = size_mb / best["curl"], size_mb / best["curl-fsync"]
    labels = (("sdk", ""), ("sdk-async", ", AsyncMint"))
    return [
        Row(f"download throughput over https, {size_mb} MiB{label}", size_mb / best[key], ref,
            "MiB/s", name, "best of 3, interleaved; TLS on loopback, server in the same box")
        for key, label in labels
        for ref, name in ((curl, "curl"), (durable, "curl, then fsync"))
    ]  # fmt: skip


def run(quick: bool = False) -> list[Row]:
    size = 64 if quick else 512
    return (throughput_and_memory(size, 16) + over_tls(64 if quick else 256)
            + parallel(0.2, 1 if quick else 4))  # fmt: skip


if __name__ == "__main__":
    from ._common import table

    print(table(run("--quick" in sys.argv)))
