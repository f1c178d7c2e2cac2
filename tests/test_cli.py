"""The `mint` command line, in-process (click's CliRunner) against the fake server on loopback.

The few behaviours that need a real process or terminal (TTY detection, Ctrl-C and resume, the
console script, the live screen) are in ``test_cli_process.py``.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from mint_ext._download_core import KNOWN_KINDS, DownloadProgress
from mint_ext.cli import (
    EXIT_API,
    EXIT_DOWNLOAD,
    EXIT_OK,
    EXIT_OPERATION,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from mint_ext.cli._app import build_app
from mint_ext.cli._output import SafeConsole
from mint_ext.cli._progress import DownloadDisplay, WaitDisplay
from mint_ext.testing import FakeMint, FakeServer, Fault, RealClock, serve_fake_mint

from ._fake_contract import Contract

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    # Simulated time runs 50x faster; the poll hint keeps the CLI's polls at the 0.5 s floor.
    contract = Contract()  # every API response the CLI gets is checked against the spec
    fake = FakeMint(clock=RealClock(50.0), retry_after=0.1, on_response=contract)
    with serve_fake_mint(fake) as srv:
        yield srv
    contract.assert_clean()
    assert contract.checked > 0


def mint(server: FakeServer, *args: str, env: dict[str, str | None] | None = None) -> Result:
    full_env: dict[str, str | None] = {
        "MINT_API_KEY": server.api_key,
        "MINT_BASE_URL": server.base_url,
        "COLUMNS": "200",
        **(env or {}),
    }
    return CliRunner().invoke(build_app(), list(args), env=full_env, catch_exceptions=False)


def ok_json(result: Result) -> Any:
    assert result.exit_code == EXIT_OK, result.stderr
    return json.loads(result.stdout)


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
    doc = ok_json(mint(server, "operations", "wait", op["id"], "--download", str(tmp_path),
                       "--json"))  # fmt: skip
    assert doc["operation"]["status"] == "succeeded"  # one document: operation and download
    assert doc["download"]["ok"] is True and len(doc["download"]["assets"]) == 9
    folder = tmp_path / op["resource"]["id"]
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert names == ["caption.txt", "collider.glb", "pano.png", "preview.png", "splat_100k.spz",
                     "splat_500k.spz", "splat_full_res.spz", "thumbnail.webp", "world.rad"]  # fmt: skip
    assert (folder / "collider.glb").read_bytes()[:4] == b"glTF"
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


def test_exit_codes(server: FakeServer) -> None:
    failed = mint(server, "worlds", "generate", "doomed [fail]", "--wait", "--json")
    assert failed.exit_code == EXIT_OPERATION
    doc = json.loads(failed.stdout)
    assert doc["error"]["type"] == "OperationFailedError" and doc["error"]["exitCode"] == 1
    assert doc["operation"]["status"] == "failed" and "failed" in failed.stderr
    started = ok_json(mint(server, "worlds", "generate", "slow one", "--json"))
    timed_out = mint(server, "operations", "wait", started["id"], "--wait-timeout", "0")
    assert timed_out.exit_code == EXIT_TIMEOUT
    assert f"mint operations wait {started['id']}" in timed_out.stderr
    missing = mint(server, "operations", "get", "op_NOPE")
    assert missing.exit_code == EXIT_API and "NotFoundError" in missing.stderr
    assert mint(server, "worlds", "generate").exit_code == EXIT_USAGE
    assert mint(server, "worlds", "generate", "x", "--preset", "ultra").exit_code == EXIT_USAGE
    bad_key = mint(server, "account", "me", env={"MINT_API_KEY": "wrong-key"})
    assert bad_key.exit_code == EXIT_API and "AuthenticationError" in bad_key.stderr
    assert "wrong-key" not in bad_key.stderr + bad_key.stdout
    billing = mint(server, "worlds", "generate", "pricey [billing]", "--wait")
    assert billing.exit_code == EXIT_OPERATION and "mint operations resume" in billing.stderr


def test_download_failure_exit_code(server: FakeServer, tmp_path: Path) -> None:
    op = ok_json(mint(server, "models", "generate", "a chair", "--wait", "--json"))
    server.fake.inject(Fault.html(200), route="ASSET", times=1000)
    try:
        result = mint(server, "download", op["id"], str(tmp_path), "--include", "glb")
        as_json = mint(server, "download", op["id"], str(tmp_path), "--include", "glb", "--json")
    finally:
        server.fake.clear_faults()
    assert result.exit_code == EXIT_DOWNLOAD, result.stderr
    assert "failed model.glb" in result.stderr and "downloaded model.glb" not in result.stderr
    assert not list((tmp_path / op["resource"]["id"]).glob("*.glb"))
    assert as_json.exit_code == EXIT_DOWNLOAD
    doc = json.loads(as_json.stdout)
    assert doc["error"]["type"] == "DownloadError" and doc["download"]["ok"] is False


def test_revise_resume_and_models_list(server: FakeServer) -> None:
    op = ok_json(mint(server, "worlds", "generate", "x", "--mode", "review", "--wait", "--json"))
    revised = ok_json(
        mint(server, "operations", "revise", op["id"], "--feedback", "warmer", "--json")
    )
    assert revised["status"] == "running"
    assert mint(server, "operations", "revise", op["id"]).exit_code == EXIT_USAGE  # no feedback
    pricey = mint(server, "worlds", "generate", "pricey [billing]", "--wait", "--json")
    assert pricey.exit_code == EXIT_OPERATION
    op_id = json.loads(pricey.stdout)["operation"]["id"]
    resumed = ok_json(mint(server, "operations", "resume", op_id, "--json"))
    assert resumed["status"] == "running"
    done = ok_json(mint(server, "operations", "wait", op_id, "--json"))
    assert done["status"] == "succeeded"
    model = ok_json(mint(server, "models", "generate", "a mug", "--wait", "--json"))
    listed = ok_json(mint(server, "models", "list", "--max", "3", "--json"))
    assert model["resource"]["id"] in [m["id"] for m in listed] and len(listed) <= 3
    human = mint(server, "models", "list")
    assert human.exit_code == EXIT_OK and model["resource"]["id"] in human.stdout


def test_server_text_is_printed_literally_and_bad_input_is_a_usage_error(
    server: FakeServer, tmp_path: Path
) -> None:
    name = "[/x] my [red]world"
    op = ok_json(mint(server, "worlds", "generate", "x", "--name", name, "--wait", "--json"))
    shown = mint(server, "worlds", "get", op["resource"]["id"])
    assert shown.exit_code == EXIT_OK, shown.stderr
    assert name in shown.stdout
    listed = mint(server, "worlds", "list", "--max", "50")
    assert listed.exit_code == EXIT_OK and "[/x] my" in listed.stdout
    bad = mint(server, "download", op["id"], str(tmp_path), "--include", "nonsense")
    assert bad.exit_code == EXIT_USAGE and "nonsense" in bad.stderr


def test_control_characters_from_the_server_are_shown_escaped_never_obeyed(
    server: FakeServer,
) -> None:
    name = "evil\x1b]0;PWNED\x07\x1b[2J\x1b[31mred\nforged: line\u202eabc"
    op = ok_json(mint(server, "worlds", "generate", "x", "--name", name, "--wait", "--json"))
    for args in (("worlds", "get", op["resource"]["id"]), ("worlds", "list", "--max", "50")):
        shown = mint(server, *args)
        assert shown.exit_code == EXIT_OK, shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
        assert "\u202e" not in shown.stdout and "\nforged" not in shown.stdout
        assert "evil\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mred\\nforged: line\\u202eabc" in shown.stdout


def test_piped_tables_are_tab_separated_with_whole_ids(server: FakeServer) -> None:
    op = ok_json(mint(server, "models", "generate", "a long listing", "--wait", "--json"))
    listed = mint(server, "models", "list", "--max", "50", env={"COLUMNS": "40"})
    assert listed.exit_code == EXIT_OK, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split("\t") == ["id", "name", "status", "stage", "created"]
    assert op["resource"]["id"] in [row.split("\t")[0] for row in rows]


def test_more_usage_errors(server: FakeServer) -> None:
    for args in (("worlds", "list", "--max", "0"), ("models", "list", "--max", "-3"),
                 ("--timeout", "nan", "account", "me"), ("--timeout", "inf", "account", "me"),
                 ("--timeout", "-1", "account", "me"),
                 ("operations", "wait", "op_x", "--wait-timeout", "-5"),
                 ("operations", "wait", "op_x", "--wait-timeout", "nan"),
                 ("operations", "wait", "op_x", "--timeout", "0"),  # per request: > 0
                 ("worlds", "generate", "x", "--wait", "--wait-timeout", "nan"),
                 ("models", "generate", "x", "--wait", "--wait-timeout", "-1")):  # fmt: skip
        result = mint(server, *args)
        assert result.exit_code == EXIT_USAGE, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert "started" not in result.stderr  # refused before anything was sent


def test_waiting_with_download_on_a_preview_says_why_nothing_was_downloaded(
    server: FakeServer, tmp_path: Path
) -> None:
    op = ok_json(mint(server, "worlds", "generate", "x", "--mode", "review", "--json"))
    result = mint(server, "operations", "wait", op["id"], "--download", str(tmp_path))
    assert result.exit_code == EXIT_OK, result.stderr
    assert f"mint operations approve {op['id']}" in result.stderr
    assert f"--download {tmp_path}" in result.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ issue 16, item by item


def test_item1_a_rerun_says_skipped_as_the_table_does(server: FakeServer, tmp_path: Path) -> None:
    op = ok_json(mint(server, "worlds", "generate", "x", "--wait", "--json"))
    args = ("download", op["resource"]["id"], str(tmp_path), "--include", "spz,collider",
            "--spz-resolution", "500k")  # fmt: skip
    first = mint(server, *args)
    assert first.exit_code == EXIT_OK, first.stderr
    assert "downloaded splat_500k.spz (64.0 KiB)" in first.stderr
    again = mint(server, *args)
    assert again.exit_code == EXIT_OK, again.stderr
    assert "downloaded" not in again.stderr
    assert "skipped splat_500k.spz (64.0 KiB, already complete)" in again.stderr
    assert "skipped collider.glb" in again.stderr
    rows = [line.split("\t") for line in again.stdout.splitlines()[2:]]
    assert [(r[1], r[4]) for r in rows] == [("splat_500k.spz", "skipped"),
                                           ("collider.glb", "skipped")]  # fmt: skip


def test_item2_the_total_knows_every_file_from_the_start_in_iec_units(
    server: FakeServer, tmp_path: Path
) -> None:
    server.fake.asset_sizes["glb"] = 3 * 1024 * 1024
    try:
        op = ok_json(mint(server, "models", "generate", "a statue", "--wait", "--json"))
        first = mint(server, "download", op["id"], str(tmp_path))
        again = mint(server, "download", op["id"], str(tmp_path))
    finally:
        del server.fake.asset_sizes["glb"]
    assert first.exit_code == EXIT_OK, first.stderr
    lines = first.stderr.splitlines()
    # Before any file finished: all three files, the GLB's size from the API (glbSizeBytes).
    assert lines[0] == f"3 files (3.0 MiB + 2 files of unknown size) into {tmp_path}", lines
    assert lines.index(lines[0]) < min(i for i, x in enumerate(lines) if x.startswith("downloaded"))
    # A re-run knows every size from the start (the earlier run recorded them).
    assert again.stderr.splitlines()[0] == f"3 files (3.1 MiB) into {tmp_path}"
    for out in (first, again):
        assert " MB" not in out.stderr + out.stdout and " kB" not in out.stderr + out.stdout
        assert "MiB" in out.stdout  # the table uses the same units


def test_item2_the_display_counts_only_bytes_of_this_run_for_speed_and_the_plan_for_the_total(
) -> None:  # fmt: skip
    now = [100.0]
    console = SafeConsole(file=open("/dev/null", "w"), force_terminal=False)  # noqa: SIM115
    display = DownloadDisplay(console, live=False, directory="out", clock=lambda: now[0])
    mib = 1024 * 1024

    def event(slot: str, status: str, done: int, total: int | None, finished: bool = False
              ) -> DownloadProgress:  # fmt: skip
        return DownloadProgress(slot, Path(f"out/{slot}"), done, total, 0, 0, finished,
                                status=status, slot=slot)  # fmt: skip

    display(event("a.glb", "planned", 0, 8 * 1024 * mib))  # 8 GiB, half of it kept as a .part
    display(event("b.spz", "planned", 0, 2 * mib))
    display(event("c.png", "planned", 0, None))
    assert display.totals() == (0, 3, 0, 8 * 1024 * mib + 2 * mib, 1)
    display(event("b.spz", "skipped", 2 * mib, 2 * mib, True))
    display(event("a.glb", "resuming", 4 * 1024 * mib, 8 * 1024 * mib))
    now[0] += 1.0
    display(event("a.glb", "downloading", 4 * 1024 * mib + 20 * mib, 8 * 1024 * mib))
    now[0] += 1.0
    display(event("a.glb", "downloading", 4 * 1024 * mib + 40 * mib, 8 * 1024 * mib))
    # 40 MiB arrived in 2 s: 20 MiB/s, not the 4 GiB of the kept part nor the skipped file.
    rate = display.rate()
    assert rate is not None and abs(rate - 20 * mib) < 1
    line = display.total_line()
    assert line.startswith("total 4.0 GiB of 8.0 GiB, 1/3 files, 1 size not known yet"), line
    assert "20.0 MiB/s" in line and "left" not in line  # no time left while a size is unknown


def test_item2_the_announced_plan_is_the_plan_before_the_first_transfer(tmp_path: Path) -> None:
    # The first line once said "3.1 MiB + 1 file of unknown size" when the first transfer event
    # (with its Content-Length) arrived before the line was printed: the plan is what was known.
    out = tmp_path / "err.txt"
    with out.open("w") as sink:
        console = SafeConsole(file=sink, force_terminal=False)
        display = DownloadDisplay(console, live=False, directory="out", clock=lambda: 0.0)

        def event(slot: str, status: str, done: int, total: int | None) -> DownloadProgress:
            return DownloadProgress(slot, Path(f"out/{slot}"), done, total, 0, 0, False,
                                    status=status, slot=slot)  # fmt: skip

        display(event("model.glb", "planned", 0, 3 * 1024 * 1024))
        display(event("preview.png", "planned", 0, None))
        display(event("thumb.webp", "planned", 0, None))
        display(event("preview.png", "downloading", 0, 64 * 1024))
    first = out.read_text().splitlines()[0]
    assert first == "3 files (3.0 MiB + 2 files of unknown size) into out", first


def test_item3_a_resume_says_it_is_re_reading_the_partial_file(
    server: FakeServer, tmp_path: Path
) -> None:
    server.fake.asset_sizes["glb"] = 3 * 1024 * 1024
    try:
        op = ok_json(mint(server, "models", "generate", "a resumed statue", "--wait", "--json"))
        server.fake.inject(Fault.drop(), route="ASSET", times=1)  # half the body, then a reset
        result = mint(server, "download", op["id"], str(tmp_path), "--include", "glb")
    finally:
        del server.fake.asset_sizes["glb"]
        server.fake.clear_faults()
    assert result.exit_code == EXIT_OK, result.stderr
    size = r"[0-9.]+ (?:KiB|MiB)"  # where the reset cut the body depends on the socket reads
    assert re.search(f"resuming model.glb from {size} of 3.0 MiB \\(re-reading the partial file\\)",
                     result.stderr), result.stderr  # fmt: skip
    assert re.search(f"downloaded model.glb \\(3.0 MiB, resumed from {size}\\)", result.stderr)


def test_item6_no_key_is_said_in_cli_words(server: FakeServer) -> None:
    for env in ({"MINT_API_KEY": None}, {"MINT_API_KEY": ""}):
        result = mint(server, "account", "me", env=env)
        assert result.exit_code == EXIT_USAGE
        assert "--api-key" in result.stderr and "MINT_API_KEY" in result.stderr
        assert "api_key=" not in result.stderr
    as_json = mint(server, "account", "me", "--json", env={"MINT_API_KEY": None})
    assert as_json.exit_code == EXIT_USAGE
    assert json.loads(as_json.stdout)["error"]["exitCode"] == EXIT_USAGE


def test_item7_invalid_input_names_the_field(server: FakeServer) -> None:
    # The spec's constraints are checked before anything is sent (issue 14): a usage error that
    # names the field, not a 422 after a round trip.
    before = server.fake.operation_count()
    result = mint(server, "worlds", "generate", "")
    assert result.exit_code == EXIT_USAGE
    assert "prompt" in result.stderr and "non-empty" in result.stderr, result.stderr
    as_json = mint(server, "worlds", "generate", "", "--json")
    err = json.loads(as_json.stdout)["error"]
    assert err["type"] == "InvalidArgumentError" and "prompt" in err["message"]
    assert server.fake.operation_count() == before


def test_item8_failed_polls_are_shown_as_they_happen(server: FakeServer) -> None:
    op = ok_json(mint(server, "models", "generate", "a flaky one", "--json"))
    server.fake.inject(Fault.status(503), route="GET /v1/operations/{operationId}", times=6)
    try:
        result = mint(server, "operations", "wait", op["id"])
    finally:
        server.fake.clear_faults()
    assert result.exit_code == EXIT_OK, result.stderr
    assert f"{op['id']}: poll failed (InternalServerError" in result.stderr
    assert "retry 1 in" in result.stderr


def test_item8_a_wait_whose_polls_keep_failing_exits_4(server: FakeServer) -> None:
    op = ok_json(mint(server, "models", "generate", "an unlucky one", "--json"))
    server.fake.inject(Fault.status(503), route="GET /v1/operations/{operationId}", times=10_000)
    try:
        result = mint(server, "operations", "wait", op["id"], "--wait-timeout", "1")
        as_json = mint(server, "operations", "wait", op["id"], "--wait-timeout", "1", "--json")
    finally:
        server.fake.clear_faults()
    assert result.exit_code == EXIT_API, result.stderr
    assert "InternalServerError" in result.stderr and "API failing" in result.stderr
    assert as_json.exit_code == EXIT_API
    assert json.loads(as_json.stdout)["error"]["cause"]["type"] == "InternalServerError"


def test_item8_the_wait_line_shows_status_time_in_it_and_retries() -> None:
    from mint_ext._errors import APIConnectionError

    now = [0.0]
    console = SafeConsole(file=open("/dev/null", "w"))  # noqa: SIM115
    display = WaitDisplay(console, live=False, operation_id="op_1", clock=lambda: now[0])
    assert display.line() == "op_1: waiting for the first answer (waited 0s)"
    op = _operation("op_1", "queued")
    display.on_update(op)
    now[0] = 5.0
    display.on_update(_operation("op_1", "running"))
    now[0] = 17.0
    display.on_retry(APIConnectionError("connection refused"), 4.0)
    assert display.line() == ("op_1: running for 12s (waited 17s); 1 failed poll, last: "
                              "APIConnectionError: connection refused; next try in 4s")  # fmt: skip


def _operation(op_id: str, status: str) -> Any:
    """What the display reads of an operation (its status)."""
    return types.SimpleNamespace(id=op_id, status=status)


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_item9_every_option_has_help_and_timeouts_mean_one_thing() -> None:
    app = build_app()
    for path, command in _commands(app):
        assert command.help, path
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"mint {path} {param.opts[0]} has no help"
                if param.name == "timeout":  # per request, everywhere
                    assert "each HTTP request" in param.help, path
                if param.name == "wait_timeout":
                    assert "waiting" in param.help, path
    download = app.commands["download"]
    include = next(p for p in download.params if p.name == "include")
    assert isinstance(include, click.Option) and include.help
    assert all(kind in include.help for kind in KNOWN_KINDS)
    base_url = next(p for p in app.params if p.name == "base_url")
    assert isinstance(base_url, click.Option) and "MINT_BASE_URL" in (base_url.help or "")
    result = CliRunner().invoke(app, ["operations", "wait", "--help"])
    assert "--wait-timeout" in result.stdout and "each HTTP request" in result.stdout


def test_item10_tables_are_whole_and_json_is_one_convention(
    server: FakeServer, tmp_path: Path
) -> None:
    op = ok_json(mint(server, "models", "generate", "a checksum", "--wait", "--json"))
    table = mint(server, "download", op["id"], str(tmp_path), "--include", "glb")
    row = table.stdout.splitlines()[2].split("\t")
    assert len(row[3]) == 64  # the whole sha256
    report = ok_json(mint(server, "download", op["id"], str(tmp_path), "--include", "glb",
                          "--json"))  # fmt: skip
    keys = set(report) | {k for a in report["assets"] for k in a}
    assert "resourceId" in keys and "resumedFrom" in keys
    assert not [k for k in keys if "_" in k], keys  # camelCase, like the API's operations
    missing = mint(server, "operations", "get", "op_NOPE", "--json")
    assert missing.exit_code == EXIT_API
    err = json.loads(missing.stdout)["error"]
    assert err["type"] == "NotFoundError" and err["status"] == 404 and err["exitCode"] == EXIT_API
    usage = mint(server, "worlds", "list", "--max", "0", "--json")
    assert usage.exit_code == EXIT_USAGE
    assert json.loads(usage.stdout)["error"]["exitCode"] == EXIT_USAGE


def test_item11_a_preview_says_what_to_do_next(server: FakeServer) -> None:
    result = mint(server, "worlds", "generate", "x", "--mode", "review", "--wait")
    assert result.exit_code == EXIT_OK, result.stderr
    op_id = next(line.split()[1] for line in result.stdout.splitlines()
                 if line.startswith("operation"))  # fmt: skip
    assert f"mint operations approve {op_id}" in result.stderr
    assert f"mint operations revise {op_id}" in result.stderr


def test_item12_the_demo_output_folder_is_ignored_by_git() -> None:
    lines = (ROOT / ".gitignore").read_text().splitlines()
    assert "mint-demo-output/" in [line.strip() for line in lines]


def test_demo_in_process(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_app(), ["demo", "--speed", "50", "--out",
                                              str(tmp_path / "demo"), "--json"],
                                env={"MINT_API_KEY": None})  # fmt: skip
    assert result.exit_code == EXIT_OK, result.stderr
    doc = json.loads(result.stdout)
    assert doc["operation"]["status"] == "succeeded" and doc["download"]["ok"]
    assert "preview ready" in result.stderr and "Approve" in result.stderr
    folders = list((tmp_path / "demo").iterdir())
    assert len(folders) == 1 and (folders[0] / "world.rad").is_file()
