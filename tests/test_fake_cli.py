"""The fake server's command line (``python -m mint_ext.testing`` and ``mint fake-server``): one
set of options, a JSON line, an export line, a request log, and the ``/_fake/stats`` counters."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from mint_ext.cli._app import build_app
from mint_ext.testing._cli import build_parser


@contextmanager
def fake_process(*args: str, command: tuple[str, ...] = ("-m", "mint_ext.testing")
                 ) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:  # fmt: skip
    proc = subprocess.Popen([sys.executable, *command, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        yield proc, json.loads(proc.stdout.readline())
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_serves_until_signalled(sig: signal.Signals) -> None:
    with fake_process("--speed", "50", "--api-key", "k-cli", "--asset-size", "4096") as (
        proc,
        line,
    ):
        assert line["api_key"] == "k-cli"
        assert line["base_url"].startswith("http://127.0.0.1:")
        assert line["asset_base_url"] != line["base_url"]
        headers = {"Authorization": "Bearer k-cli"}
        with httpx.Client(base_url=line["base_url"], headers=headers, timeout=10) as http:
            assert http.get("/v1/me").status_code == 200
            start = http.post("/v1/worlds:generate", json={"prompt": "A cave [partial]"},
                              headers={"Idempotency-Key": "cli-1"})  # fmt: skip
            assert start.status_code == 202
            deadline = time.monotonic() + 10
            while True:
                op = http.get(start.headers["location"]).json()
                if op["status"] == "partially_succeeded" or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert op["status"] == "partially_succeeded"
            spz = op["assets"]["spzUrls"]["100k"]
            assert spz.startswith(line["asset_base_url"])
            asset = httpx.get(spz)
            assert asset.status_code == 200 and len(asset.content) == 4096
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0


def test_both_commands_have_the_same_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mint fake-server --help` is the argparse help of `python -m mint_ext.testing`."""
    env = {"COLUMNS": "100"}
    monkeypatch.setenv("COLUMNS", "100")
    result = CliRunner().invoke(build_app(), ["fake-server", "--help"], env=env)
    assert result.exit_code == 0
    assert result.stdout == build_parser("mint fake-server").format_help()
    for option in ("--asset-rate", "--asset-sizes", "--asset-size", "--signed-urls",
                   "--retry-after", "--api-key", "--quiet", "/_fake/stats"):  # fmt: skip
        assert option in result.stdout
    module = subprocess.run([sys.executable, "-m", "mint_ext.testing", "--help"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env})  # fmt: skip
    assert module.returncode == 0
    options = re.compile(r"^\s+(-[-a-z]+)", re.MULTILINE)  # the option list of each help
    assert options.findall(module.stdout) == options.findall(result.stdout)
    assert len(options.findall(result.stdout)) >= 15
    bad = CliRunner().invoke(build_app(), ["fake-server", "--asset-sizes", "nope=1"])
    assert bad.exit_code == 2 and "KIND=SIZE" in bad.stderr


def test_export_line_request_log_sizes_rate_and_stats() -> None:
    mib = 1024 * 1024
    with fake_process("--speed", "50", "--asset-sizes", "glb=1MiB", "--asset-rate", "2MiB",
                      command=("-m", "mint_ext.cli", "fake-server")) as (proc, line):  # fmt: skip
        assert proc.stderr is not None
        export = proc.stderr.readline().strip()
        assert export == f"export MINT_BASE_URL={line['base_url']} MINT_API_KEY=test-key"
        headers = {"Authorization": "Bearer test-key"}
        with httpx.Client(base_url=line["base_url"], headers=headers, timeout=30) as http:
            for _ in range(2):  # a redelivered job: the same key twice, one operation
                start = http.post("/v1/models:generate", json={"prompt": "a lamp"},
                                  headers={"Idempotency-Key": "job-7"})  # fmt: skip
                assert start.status_code == 202
            other = http.post("/v1/models:generate", json={"prompt": "a lamp"},
                              headers={"Idempotency-Key": "job-8"})  # fmt: skip
            deadline = time.monotonic() + 20
            while (op := http.get(start.headers["location"]).json())["status"] != "succeeded":
                assert time.monotonic() < deadline, op
                time.sleep(0.05)
            urls = [op["assets"]["glbUrl"]] * 3
            assert op["assets"]["glbSizeBytes"] == mib
            sizes: list[int] = []
            barrier = threading.Barrier(len(urls))

            def fetch(url: str) -> None:
                barrier.wait()
                sizes.append(len(httpx.get(url, timeout=30).content))

            threads = [threading.Thread(target=fetch, args=(u,)) for u in urls]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sizes == [mib] * 3
            stats = http.get("/_fake/stats").json()
        assert stats["operationsCreated"] == 2
        keys = stats["idempotencyKeys"]
        assert keys["job-7"]["requests"] == 2 and keys["job-8"]["requests"] == 1
        assert keys["job-7"]["operationId"] == start.json()["id"] != other.json()["id"]
        # Each 1 MiB body takes 0.5 s at 2 MiB/s and the three started together.
        assert stats["peakConcurrentRequests"]["assets"] >= 2
        assert stats["peakConcurrentRequests"]["api"] >= 1
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    log = err.splitlines()
    assert any("api" in x and "POST" in x and "/v1/models:generate -> 202" in x for x in log), err
    assert any("asset" in x and "GET" in x and x.endswith("-> 200") for x in log), err
    assert not any("/_fake/stats" in x for x in log if "->" in x)  # the admin route is not logged
