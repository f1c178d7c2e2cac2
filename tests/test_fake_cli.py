"""``python -m mint_ext.testing``: prints one JSON line, serves, exits 0 on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx
import pytest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_serves_until_signalled(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mint_ext.testing",
            "--speed",
            "50",
            "--api-key",
            "k-cli",
            "--asset-size",
            "4096",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert line["api_key"] == "k-cli"
        assert line["base_url"].startswith("http://127.0.0.1:")
        assert line["asset_base_url"] != line["base_url"]
        headers = {"Authorization": "Bearer k-cli"}
        with httpx.Client(base_url=line["base_url"], headers=headers, timeout=10) as http:
            assert http.get("/v1/me").status_code == 200
            start = http.post(
                "/v1/worlds:generate",
                json={"prompt": "A cave [partial]"},
                headers={"Idempotency-Key": "cli-1"},
            )
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
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
