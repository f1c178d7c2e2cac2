"""The `mint` command line, run as real subprocesses against the fake server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mint_ext.cli import (
    EXIT_API,
    EXIT_DOWNLOAD,
    EXIT_OK,
    EXIT_OPERATION,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from mint_ext.testing import FakeMint, FakeServer, Fault, RealClock, serve_fake_mint

from ._fake_contract import Contract

ANSI = "\x1b["


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    # Simulated time runs 50x faster; the poll hint keeps the CLI's polls at the 0.5 s floor.
    contract = Contract()  # every API response the CLI gets is checked against the spec
    fake = FakeMint(clock=RealClock(50.0), retry_after=0.1, on_response=contract)
    with serve_fake_mint(fake) as srv:
        yield srv
    contract.assert_clean()
    assert contract.checked > 0


def mint(server: FakeServer, *args: str, timeout: float = 60, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    full_env = {
        **os.environ,
        "MINT_API_KEY": server.api_key,
        "MINT_BASE_URL": server.base_url,
        "COLUMNS": "200",
        **(env or {}),
    }
    full_env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "mint_ext.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env)  # fmt: skip


def ok_json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == EXIT_OK, proc.stderr
    return json.loads(proc.stdout)


def test_generate_get_and_list_with_json(server: FakeServer) -> None:
    op = ok_json(mint(server, "worlds", "generate", "A greenhouse", "--preset", "fast", "--json"))
    assert op["id"].startswith("op_") and op["status"] == "queued"
    again = ok_json(mint(server, "operations", "get", op["id"], "--json"))
    assert again["id"] == op["id"]
    done = ok_json(mint(server, "--json", "operations", "wait", op["id"]))  # global flag form
    assert done["status"] == "succeeded"
    world = ok_json(mint(server, "worlds", "get", done["resource"]["id"], "--json"))
    assert world["id"] == done["resource"]["id"]
    listed = ok_json(mint(server, "worlds", "list", "--json", "--limit", "5"))
    assert done["resource"]["id"] in [w["id"] for w in listed]
    me = ok_json(mint(server, "account", "me", "--json"))
    assert me["owner"]["userId"]
    usage = ok_json(mint(server, "account", "usage", "--json"))
    assert "credits" in usage


def test_review_flow_and_download_to_disk(server: FakeServer, tmp_path: Path) -> None:
    op = ok_json(mint(server, "worlds", "generate", "x", "--mode", "review", "--wait", "--json"))
    assert op["status"] == "preview_ready"
    approved = ok_json(mint(server, "operations", "approve", op["id"], "--json"))
    assert approved["status"] == "running"
    proc = mint(server, "operations", "wait", op["id"], "--download", str(tmp_path), "--json")
    assert proc.returncode == EXIT_OK, proc.stderr
    assert json.loads(proc.stdout)["status"] == "succeeded"
    folder = tmp_path / op["resource"]["id"]
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert names == ["caption.txt", "collider.glb", "pano.png", "preview.png", "splat_100k.spz",
                     "splat_500k.spz", "splat_full_res.spz", "thumbnail.webp", "world.rad"]  # fmt: skip
    assert (folder / "collider.glb").read_bytes()[:4] == b"glTF"
    # mint download: JSON report; a second run skips everything
    report = ok_json(mint(server, "download", op["id"], str(tmp_path), "--include", "spz,caption",
                          "--spz-resolution", "500k", "--json"))  # fmt: skip
    assert [a["kind"] for a in report["assets"]] == ["spz", "caption"]
    assert {a["status"] for a in report["assets"]} == {"skipped"}
    assert all(len(a["sha256"]) == 64 for a in report["assets"])


def test_models_generate_and_optimize(server: FakeServer) -> None:
    op = ok_json(mint(server, "models", "generate", "a lantern", "--wait", "--json"))
    assert op["status"] == "succeeded"
    model_id = op["resource"]["id"]
    opt = ok_json(
        mint(server, "models", "optimize", model_id, "--level", "light", "--wait", "--json")
    )
    assert opt["type"] == "model_optimization" and opt["status"] == "succeeded"
    model = ok_json(mint(server, "models", "get", model_id, "--json"))
    assert model["assets"]["optimizedGlbUrl"]


def test_exit_codes(server: FakeServer, tmp_path: Path) -> None:
    failed = mint(server, "worlds", "generate", "doomed [fail]", "--wait", "--json")
    assert failed.returncode == EXIT_OPERATION
    assert json.loads(failed.stdout)["status"] == "failed" and "failed" in failed.stderr
    started = ok_json(mint(server, "worlds", "generate", "slow one", "--json"))
    timed_out = mint(server, "operations", "wait", started["id"], "--timeout", "0")
    assert timed_out.returncode == EXIT_TIMEOUT
    assert f"mint operations wait {started['id']}" in timed_out.stderr
    missing = mint(server, "operations", "get", "op_NOPE")
    assert missing.returncode == EXIT_API and "NotFoundError" in missing.stderr
    assert mint(server, "worlds", "generate").returncode == EXIT_USAGE
    assert mint(server, "worlds", "generate", "x", "--preset", "ultra").returncode == EXIT_USAGE
    bad_key = mint(server, "account", "me", env={"MINT_API_KEY": "wrong-key"})
    assert bad_key.returncode == EXIT_API and "AuthenticationError" in bad_key.stderr
    assert "wrong-key" not in bad_key.stderr + bad_key.stdout
    billing = mint(server, "worlds", "generate", "pricey [billing]", "--wait")
    assert billing.returncode == EXIT_OPERATION and "mint operations resume" in billing.stderr


def test_download_failure_exit_code(server: FakeServer, tmp_path: Path) -> None:
    op = ok_json(mint(server, "models", "generate", "a chair", "--wait", "--json"))
    server.fake.inject(Fault.html(200), route="ASSET", times=1000)
    try:
        proc = mint(server, "download", op["id"], str(tmp_path), "--include", "glb")
    finally:
        server.fake.clear_faults()
    assert proc.returncode == EXIT_DOWNLOAD, proc.stderr
    assert not list((tmp_path / op["resource"]["id"]).glob("*.glb"))


def test_plain_output_when_not_a_terminal(server: FakeServer, tmp_path: Path) -> None:
    proc = mint(server, "worlds", "generate", "x", "--download", str(tmp_path))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert ANSI not in proc.stderr and ANSI not in proc.stdout
    assert "succeeded" in proc.stderr and "downloaded collider.glb" in proc.stderr
    assert "operation" in proc.stdout and "collider.glb" in proc.stdout


def test_demo_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("MINT_API_KEY", None)
    proc = subprocess.run([sys.executable, "-m", "mint_ext.cli", "demo", "--speed", "50", "--out",
                           str(tmp_path / "demo")], capture_output=True, text=True, timeout=120,
                          env=env)  # fmt: skip
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "preview ready" in proc.stderr and "Approve" in proc.stderr
    folders = list((tmp_path / "demo").iterdir())
    assert len(folders) == 1 and (folders[0] / "world.rad").is_file()
    for name in ("caption.txt", "collider.glb", "world.rad", "sha256"):
        assert name in proc.stdout


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "mint"
    if not script.exists():
        pytest.skip("not installed as a distribution (no console script next to python)")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Exit codes" in proc.stdout


def test_ctrl_c_stops_cleanly_and_a_second_run_resumes(tmp_path: Path, contract: Contract) -> None:
    import hashlib
    import signal
    import time

    fake = FakeMint(clock=RealClock(50.0), asset_sizes={"glb": 24 * 1024 * 1024},
                    asset_rate=6 * 1024 * 1024, on_response=contract)  # fmt: skip
    with serve_fake_mint(fake) as srv:
        op = ok_json(mint(srv, "models", "generate", "a big statue", "--wait", "--json"))
        folder = tmp_path / op["resource"]["id"]
        env = {**os.environ, "MINT_API_KEY": srv.api_key, "MINT_BASE_URL": srv.base_url}
        args = [sys.executable, "-m", "mint_ext.cli", "download", op["id"], str(tmp_path),
                "--include", "glb", "--json"]  # fmt: skip
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = list(folder.glob(".*.part")) if folder.exists() else []
            if parts and parts[0].stat().st_size >= 2 * 1024 * 1024:
                break
            time.sleep(0.05)
        else:
            proc.kill()
            pytest.fail("the download never started")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert f"resume with: mint download {op['id']} {tmp_path}" in err
        assert not (folder / "model.glb").exists()  # no half-written final file
        kept = next(folder.glob(".*.part")).stat().st_size
        assert kept > 0
        fake.asset_rate = None
        report = ok_json(
            mint(srv, "download", op["id"], str(tmp_path), "--include", "glb", "--json")
        )
        (asset,) = report["assets"]
        assert asset["status"] == "downloaded" and asset["resumed_from"] >= kept // 2 > 0
        data = (folder / "model.glb").read_bytes()
        assert hashlib.sha256(data).hexdigest() == asset["sha256"]
        assert data == fake.asset(asset["url"]).read()


def test_revise_resume_and_models_list(server: FakeServer) -> None:
    op = ok_json(mint(server, "worlds", "generate", "x", "--mode", "review", "--wait", "--json"))
    revised = ok_json(
        mint(server, "operations", "revise", op["id"], "--feedback", "warmer", "--json")
    )
    assert revised["status"] == "running"
    assert mint(server, "operations", "revise", op["id"]).returncode == EXIT_USAGE  # no feedback
    pricey = mint(server, "worlds", "generate", "pricey [billing]", "--wait", "--json")
    assert pricey.returncode == EXIT_OPERATION
    op_id = json.loads(pricey.stdout)["id"]
    resumed = ok_json(mint(server, "operations", "resume", op_id, "--json"))
    assert resumed["status"] == "running"
    done = ok_json(mint(server, "operations", "wait", op_id, "--json"))
    assert done["status"] == "succeeded"
    model = ok_json(mint(server, "models", "generate", "a mug", "--wait", "--json"))
    listed = ok_json(mint(server, "models", "list", "--max", "3", "--json"))
    assert model["resource"]["id"] in [m["id"] for m in listed] and len(listed) <= 3
    human = mint(server, "models", "list")
    assert human.returncode == EXIT_OK and model["resource"]["id"] in human.stdout


def test_fake_server_command_prints_its_url_and_serves(tmp_path: Path) -> None:
    import signal

    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "mint_ext.cli", "fake-server", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        me = httpx.get(f"{info['base_url']}/v1/me",
                       headers={"Authorization": f"Bearer {info['api_key']}"}, timeout=10)  # fmt: skip
        assert me.status_code == 200 and info["asset_base_url"] != info["base_url"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_server_text_is_printed_literally_and_bad_input_is_a_usage_error(
    server: FakeServer, tmp_path: Path
) -> None:
    name = "[/x] my [red]world"
    op = ok_json(mint(server, "worlds", "generate", "x", "--name", name, "--wait", "--json"))
    shown = mint(server, "worlds", "get", op["resource"]["id"])
    assert shown.returncode == EXIT_OK, shown.stderr
    assert name in shown.stdout
    listed = mint(server, "worlds", "list", "--max", "50")
    assert listed.returncode == EXIT_OK and "[/x] my" in listed.stdout
    bad = mint(server, "download", op["id"], str(tmp_path), "--include", "nonsense")
    assert bad.returncode == EXIT_USAGE and "nonsense" in bad.stderr
    no_key = mint(server, "account", "me", env={"MINT_API_KEY": ""})
    assert no_key.returncode == EXIT_USAGE and "MINT_API_KEY" in no_key.stderr


def test_control_characters_from_the_server_are_shown_escaped_never_obeyed(
    server: FakeServer,
) -> None:
    """A world's name (or any server text) cannot retitle the window, clear the screen, colour
    the output or forge an extra line: the escapes are printed as text."""
    name = "evil\x1b]0;PWNED\x07\x1b[2J\x1b[31mred\nforged: line\u202eabc"
    op = ok_json(mint(server, "worlds", "generate", "x", "--name", name, "--wait", "--json"))
    assert op["status"] == "succeeded"
    for args in (("worlds", "get", op["resource"]["id"]), ("worlds", "list", "--max", "50")):
        shown = mint(server, *args)
        assert shown.returncode == EXIT_OK, shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
        assert "\u202e" not in shown.stdout and "\nforged" not in shown.stdout
        assert "evil\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mred\\nforged: line\\u202eabc" in shown.stdout


def test_piped_tables_are_tab_separated_with_whole_ids(server: FakeServer) -> None:
    op = ok_json(mint(server, "models", "generate", "a long listing", "--wait", "--json"))
    listed = mint(server, "models", "list", "--max", "50", env={"COLUMNS": "40"})
    assert listed.returncode == EXIT_OK, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split("\t") == ["id", "name", "status", "stage", "created"]
    assert op["resource"]["id"] in [row.split("\t")[0] for row in rows]


def test_more_usage_errors(server: FakeServer) -> None:
    for args in (("worlds", "list", "--max", "0"), ("models", "list", "--max", "-3"),
                 ("--timeout", "nan", "account", "me"), ("--timeout", "inf", "account", "me"),
                 ("--timeout", "-1", "account", "me"),
                 ("operations", "wait", "op_x", "--timeout", "-5"),
                 ("operations", "wait", "op_x", "--timeout", "nan"),
                 ("worlds", "generate", "x", "--wait", "--wait-timeout", "nan"),
                 ("models", "generate", "x", "--wait", "--wait-timeout", "-1")):  # fmt: skip
        proc = mint(server, *args)
        assert proc.returncode == EXIT_USAGE, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert "started" not in proc.stderr  # refused before anything was sent


def test_waiting_with_download_on_a_preview_says_why_nothing_was_downloaded(
    server: FakeServer, tmp_path: Path
) -> None:
    op = ok_json(mint(server, "worlds", "generate", "x", "--mode", "review", "--json"))
    proc = mint(server, "operations", "wait", op["id"], "--download", str(tmp_path))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "preview_ready: nothing to download yet" in proc.stderr
    assert list(tmp_path.iterdir()) == []
