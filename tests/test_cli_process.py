"""The `mint` command as a real process: TTY detection, Ctrl-C and the printed resume command,
exit codes, and the live screen in a real pseudo-terminal."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mint_ext.cli import EXIT_API, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from mint_ext.testing import FakeMint, FakeServer, RealClock, serve_fake_mint

from ._fake_contract import Contract

ANSI = "\x1b["
MINT = [sys.executable, "-m", "mint_ext.cli"]


@pytest.fixture
def server(contract: Contract) -> Iterator[FakeServer]:
    fake = FakeMint(clock=RealClock(50.0), retry_after=0.1, on_response=contract,
                    asset_sizes={"glb": 24 * 1024 * 1024})  # fmt: skip
    with serve_fake_mint(fake) as srv:
        yield srv


def _env(server: FakeServer | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MINT_API_KEY", "MINT_BASE_URL", "FORCE_COLOR", "NO_COLOR")}  # fmt: skip
    if server is not None:
        env.update(MINT_API_KEY=server.api_key, MINT_BASE_URL=server.base_url)
    env["COLUMNS"] = "200"
    return {**env, **extra}


def run(server: FakeServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MINT, *args], capture_output=True, text=True, timeout=120,
                          env=_env(server, **env))  # fmt: skip


def ok_json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == EXIT_OK, proc.stderr
    return json.loads(proc.stdout)


def _wait_for(predicate: Any, what: str, proc: subprocess.Popen[Any], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"{what} never happened")
        time.sleep(0.05)


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "mint"
    assert script.exists(), "install the project (pip install -e '.[test]') to get the script"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Exit codes" in proc.stdout


def test_plain_output_and_exit_codes_when_not_a_terminal(
    server: FakeServer, tmp_path: Path
) -> None:
    proc = run(server, "models", "generate", "x", "--download", str(tmp_path))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert ANSI not in proc.stderr and ANSI not in proc.stdout
    assert "succeeded" in proc.stderr and "downloaded model.glb (24.0 MiB)" in proc.stderr
    assert "operation" in proc.stdout and "model.glb" in proc.stdout
    assert run(server, "worlds", "list", "--max", "0").returncode == EXIT_USAGE
    missing = run(server, "operations", "get", "op_NOPE", "--json")
    assert missing.returncode == EXIT_API
    assert json.loads(missing.stdout)["error"]["type"] == "NotFoundError"


def test_ctrl_c_during_a_download_prints_a_resume_command_that_works(
    server: FakeServer, tmp_path: Path
) -> None:
    """Item 5: the printed command keeps --base-url and --include, quotes the folder, does not
    print the key (given with --api-key here) and, run as printed, resumes the partial file."""
    fake = server.fake
    op = ok_json(run(server, "models", "generate", "a big statue", "--wait", "--json"))
    out = tmp_path / "out dir"
    folder = out / op["resource"]["id"]
    fake.asset_rate = 6 * 1024 * 1024
    env = _env(None)  # no MINT_* variables: everything comes from the command line
    proc = subprocess.Popen([*MINT, "download", op["id"], str(out), "--include", "glb",
                             "--api-key", server.api_key, "--base-url", server.base_url],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip

    def started() -> bool:
        parts = list(folder.glob(".*.part*")) if folder.exists() else []
        return any(p.suffix != ".json" and p.stat().st_size >= 2 * 1024 * 1024 for p in parts)

    _wait_for(started, "the download", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "partial downloads are kept as .part files" in err
    assert server.api_key not in err
    hint = next(line for line in err.splitlines() if line.startswith("resume with: "))
    command = shlex.split(hint.removeprefix("resume with: "))
    assert command[:2] == ["mint", "download"] and str(out) in command
    assert "--include" in command and "--base-url" in command
    assert "--api-key" in err and "not printed" in err
    assert not (folder / "model.glb").exists()  # no half-written final file
    fake.asset_rate = None
    again = subprocess.run([*MINT, *command[1:], "--api-key", server.api_key, "--json"],
                           capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    report = ok_json(again)
    (asset,) = report["assets"]  # only what was asked for the first time
    assert asset["status"] == "downloaded" and asset["resumedFrom"] > 0
    assert "resuming model.glb from" in again.stderr
    data = (folder / "model.glb").read_bytes()
    assert hashlib.sha256(data).hexdigest() == asset["sha256"]
    assert data == fake.asset(asset["url"]).read()


def test_ctrl_c_during_a_wait_does_not_talk_about_downloads(server: FakeServer) -> None:
    """Item 4: nothing was downloading, so the message says what is true: the operation goes on."""
    server.fake.clock = RealClock(0.01)  # slow enough to stay queued while we interrupt
    op = ok_json(run(server, "worlds", "generate", "a slow one", "--json"))
    proc = subprocess.Popen([*MINT, "operations", "wait", op["id"]], env=_env(server),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the first status line: the wait is under way
    assert op["id"] in first, first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert ".part" not in err and "partial" not in err
    assert f"{op['id']} goes on on the server" in err
    assert f"resume with: mint operations wait {op['id']} --base-url {server.base_url}" in err


def _read_screen(fd: int, proc: subprocess.Popen[Any], until: re.Pattern[str],
                 limit: float = 30) -> str:  # fmt: skip
    """Everything the terminal received until ``until`` matched it (or the process ended)."""
    screen = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            screen += chunk
            if until.search(screen.decode("utf-8", "replace")):
                break
        elif proc.poll() is not None:
            break
    return screen.decode("utf-8", "replace")


def test_the_live_screen_while_a_download_runs(server: FakeServer, tmp_path: Path) -> None:
    """A real pseudo-terminal: live rows for every file of the plan and the total, in IEC units,
    while the bytes arrive."""
    op = ok_json(run(server, "models", "generate", "a screen test", "--wait", "--json"))
    server.fake.asset_rate = 8 * 1024 * 1024  # the 24 MiB GLB takes about 3 s
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen([*MINT, "download", op["id"], str(tmp_path)],
                                stdin=secondary, stdout=secondary, stderr=secondary,
                                env=_env(server, TERM="xterm-256color", COLUMNS="120",
                                         LINES="30"),
                                close_fds=True)  # fmt: skip
        os.close(secondary)
        # While the GLB is on its way: a row per file and a total over the whole plan.
        during = _read_screen(primary, proc, re.compile(r"model\.glb[^\n]*\d+\.\d MiB / 24\.0 MiB"))
        rest = _read_screen(primary, proc, re.compile(r"sha256"), limit=60)
        proc.wait(timeout=60)
    finally:
        os.close(primary)
        server.fake.asset_rate = None
    assert proc.returncode == EXIT_OK, during + rest
    assert ANSI in during  # a live display, not plain lines
    assert re.search(r"model\.glb\s.*\d+\.\d MiB / 24\.0 MiB\s+downloading", during), during
    assert re.search(r"total\s.*/ 24\.\d MiB", during) and "3 files" in during, during
    assert " MB" not in during and " kB" not in during
    assert "preview.png" in during and "thumbnail.webp" in during
    assert "downloaded" in rest and "sha256" in rest
