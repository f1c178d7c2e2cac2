"""The ``mint`` click application: the group, its shared options, every command, and the one
place (:meth:`MintGroup.main`) that turns an outcome into an exit code, a message and, with
``--json``, an error document."""

from __future__ import annotations

import inspect
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import click
from click.core import ParameterSource

from .._client import Mint
from .._core import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, InvalidArgumentError, new_idempotency_key
from .._download_core import MODEL_KINDS, WORLD_KINDS, DownloadReport
from .._errors import (
    APIConnectionError,
    APIStatusError,
    BillingRequiredError,
    ConfigurationError,
    DownloadError,
    MintError,
    OperationCanceledError,
    OperationFailedError,
    ResponseValidationError,
    WaitTimeoutError,
)
from .._models import Model, Operation, World
from .._retry import is_seconds
from .._waiting import DEFAULT_WAIT_TIMEOUT
from ._exit import (
    EXIT_API,
    EXIT_DOWNLOAD,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OPERATION,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from ._output import SafeConsole, error_data, human_size, print_json, print_report, print_rows
from ._progress import DownloadDisplay, WaitDisplay

__all__ = ["MintGroup", "State", "build_app", "run"]

NO_KEY = (
    "no API key: pass --api-key KEY or set MINT_API_KEY "
    "(create a key in Mint under Developer; `mint demo` needs none)"
)


class CliExit(Exception):
    """End the command with this exit code (after it printed what it had to say)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class CliUsageError(Exception):
    """The command line cannot work as given (exit 2), in the CLI's own words."""


class Seconds(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A number of seconds, checked when the command line is parsed (before anything is sent):
    NaN and negative values are usage errors; ``per_request`` also refuses 0 and inf."""

    name = "seconds"

    def __init__(self, *, per_request: bool) -> None:
        self.per_request = per_request

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:  # fmt: skip
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if self.per_request and not is_seconds(seconds, positive=True):
            self.fail(f"{value!r}: a per-request timeout is a finite number > 0", param, ctx)
        if not is_seconds(seconds, finite=False):
            self.fail(f"{value!r}: a timeout is a number of seconds >= 0", param, ctx)
        return seconds


@attrs.define
class State:
    """Options shared by every command, and what to say if the run is interrupted."""

    err: SafeConsole
    out: SafeConsole
    api_key: str | None = None
    api_key_given: bool = False  # on the command line (then a resume hint cannot reuse it)
    base_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    json: bool = False
    hint: str | None = None  # the command that continues this one
    interrupted: str = "nothing was lost"
    downloading: bool = False

    def client(self) -> Mint:
        """The client, or a usage error in the CLI's words (no key, bad base URL)."""
        if not (self.api_key or "").strip():
            raise CliUsageError(NO_KEY)
        try:
            return Mint(api_key=self.api_key, base_url=self.base_url, timeout=self.timeout)
        except ConfigurationError as exc:
            message = str(exc).replace("base_url", "--base-url / MINT_BASE_URL")
            if "API key" in message:
                message = f"--api-key / MINT_API_KEY: {message}"
            raise CliUsageError(message) from None

    @property
    def live(self) -> bool:
        """Live spinners and bars only when both stdout and stderr are terminals."""
        return bool(self.err.is_terminal and self.out.is_terminal)

    def say(self, line: str) -> None:
        self.err.print(line, soft_wrap=True)

    def command(self, *words: str, **options: object) -> str:
        """A ``mint ...`` line that repeats this run's settings (never the API key), quoted
        for a POSIX shell. ``options``: ``include="spz"`` -> ``--include spz``; True -> a flag."""
        parts = ["mint", *words]
        for name, value in options.items():
            if value is None or value is False or value == "":
                continue
            flag = "--" + name.replace("_", "-")
            parts += [flag] if value is True else [flag, str(value)]
        if self.base_url and self.base_url.rstrip("/") != DEFAULT_BASE_URL:
            parts += ["--base-url", self.base_url]
        if self.timeout != DEFAULT_TIMEOUT:
            parts += ["--timeout", f"{self.timeout:g}"]
        if self.json:
            parts.append("--json")
        return shlex.join(parts)

    @property
    def key_note(self) -> str:
        if self.api_key_given:
            return "add --api-key KEY (the key given on the command line is not printed)"
        return "it reads the API key from MINT_API_KEY, as this run did"


# ------------------------------------------------------------------------------ operations


def _show_operation(state: State, op: Operation, download: str | None = None) -> None:
    """An operation on stdout; on stderr, what to do next when it waits for the user."""
    if state.json:
        print_json(op)
    else:
        lines = [f"operation  {op.id}", f"status     {op.status}", f"type       {op.type}",
                 f"mode       {op.generation_mode}"]  # fmt: skip
        if op.resource:
            lines.append(f"resource   {op.resource.type or '?'} {op.resource.id}")
        if op.mint_url:
            lines.append(f"mint url   {op.mint_url}")
        if op.assets is not None and op.assets.preview_image_url:
            lines.append(f"preview    {op.assets.preview_image_url}")
        if op.error:
            lines.append(f"error      {op.error.code}: {op.error.message}")
        if op.billing:
            lines.append(
                f"billing    needs {op.billing.required_credits:g} Credits: {op.billing.action_url}"
            )
        for line in lines:
            state.out.print(line, soft_wrap=True)
    _next_step(state, op, download)


def _next_step(state: State, op: Operation, download: str | None = None) -> None:
    if op.status == "preview_ready":
        state.say(f"next: approve the preview with `{state.command('operations', 'approve', op.id)}`"
                  f" (or ask for changes: `{state.command('operations', 'revise', op.id)} "
                  "--feedback TEXT`), then follow it with "
                  f"`{state.command('operations', 'wait', op.id, download=download or 'DIR')}`")  # fmt: skip
    elif op.status == "billing_required":
        state.say(f"next: top up Credits, then `{state.command('operations', 'resume', op.id)}`")


def _wait(state: State, mint: Mint, op: Operation | str, timeout: float | None,
          until: Sequence[str] | None = None, download: str | None = None) -> Operation:  # fmt: skip
    op_id = op if isinstance(op, str) else op.id
    state.hint = state.command("operations", "wait", op_id, until=",".join(until or ()),
                               download=download)  # fmt: skip
    state.interrupted = f"{op_id} goes on on the server"
    display = WaitDisplay(state.err, state.live, op_id)
    options: dict[str, Any] = {"on_update": display.on_update}
    if "on_retry" in inspect.signature(mint.operations.wait).parameters:
        options["on_retry"] = display.on_retry
    with display:
        return mint.operations.wait(op, timeout=timeout, until=until or None, **options)


def _download(state: State, mint: Mint, source: Any, directory: str,
              include: Sequence[str] | None = None, spz_resolution: str | None = None,
              overwrite: bool = False) -> DownloadReport:  # fmt: skip
    source_id = source if isinstance(source, str) else source.id
    # The resume line repeats the selection (not --overwrite: the re-run must keep the parts).
    state.hint = state.command("download", source_id, directory, include=",".join(include or ()),
                               spz_resolution=spz_resolution)  # fmt: skip
    state.interrupted = "partial downloads are kept as .part files; the same command resumes them"
    state.downloading = True
    with DownloadDisplay(state.err, state.live, directory) as display:
        report = mint.assets.download(source, directory, include=include or None,
                                      spz_resolution=spz_resolution, overwrite=overwrite,
                                      progress=display)  # fmt: skip
    state.downloading = False
    state.hint, state.interrupted = None, "nothing was lost"
    return report


def _show_report(state: State, report: DownloadReport) -> None:
    if state.json:
        print_json(report)
    else:
        print_report(state.out, report)


def _follow(state: State, mint: Mint, op: Operation, wait: bool, wait_timeout: float,
            download: str | None) -> None:  # fmt: skip
    """After a start: wait (``--wait``/``--download``), show, then download if it succeeded."""
    state.say(f"started {op.id} ({op.status})")
    if wait or download:
        op = _wait(state, mint, op, wait_timeout, download=download)
    _show_and_download(state, mint, op, download)


def _show_and_download(state: State, mint: Mint, op: Operation, download: str | None) -> None:
    """Show the operation; with ``--download`` fetch its assets if it succeeded, or say why
    there are none yet. With ``--json`` the one document is ``{"operation", "download"}``."""
    state.hint, state.interrupted = None, "nothing was lost"
    if not (download and op.is_succeeded):
        _show_operation(state, op, download)
        if download and op.status != "preview_ready":
            state.say(f"{op.id} is {op.status}: nothing to download yet.")
        return
    if not state.json:
        _show_operation(state, op)
    report = _download(state, mint, op, download)
    if state.json:
        print_json({"operation": op, "download": report})
    else:
        print_report(state.out, report)


def _start_key(state: State, words: Sequence[str], given: str | None,
               params: dict[str, Any]) -> str:  # fmt: skip
    """The Idempotency-Key of a start, chosen before sending so that an interrupted start can be
    repeated without paying twice (the hint is the same command with that key)."""
    key = given or new_idempotency_key()
    state.hint = state.command(*words, **{**params, "idempotency_key": key})
    state.interrupted = "the same key never starts a second operation"
    return key


def _parse_until(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _show_resource(state: State, item: World | Model) -> None:
    if state.json:
        print_json(item)
        return
    lines = [f"id        {item.id}", f"name      {item.name or '-'}", f"status    {item.status or '-'}",
             f"stage     {item.asset_stage or '-'}", f"mint url  {item.mint_url or '-'}"]  # fmt: skip
    for line in lines:
        state.out.print(line, soft_wrap=True)


def _show_list(state: State, items: Iterator[World] | Iterator[Model],
               max_items: int | None) -> None:  # fmt: skip
    rows: list[World | Model] = []
    for item in items:
        rows.append(item)
        if max_items is not None and len(rows) >= max_items:
            break
    if state.json:
        print_json(rows)
        return
    print_rows(state.out, ("id", "name", "status", "stage", "created"),
               [(r.id, r.name or "-", r.status or "-", r.asset_stage or "-",
                 r.created_at.isoformat() if r.created_at else "-") for r in rows])  # fmt: skip


# ------------------------------------------------------------------------------ the app

KINDS_HELP = (
    f"Asset kinds to fetch, repeatable or comma-separated (default: all). Worlds: "
    f"{', '.join(WORLD_KINDS)}. Models: {', '.join(MODEL_KINDS)} and any other format the "
    "model lists."
)
WAIT_TIMEOUT_HELP = (
    "Give up waiting after this many seconds (the operation goes on; wait again to resume). "
    "0 looks once."
)


def _shared_group(f: Callable[..., Any]) -> Callable[..., Any]:
    """The shared options on the ``mint`` group itself, read from the environment too."""
    return _shared(f, group=True)


def _shared(f: Callable[..., Any], *, group: bool = False) -> Callable[..., Any]:
    """--json --api-key --base-url --timeout, accepted after any command's name too."""

    def apply(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or value is False:
            return value
        state = ctx.find_object(State)
        assert state is not None
        name = str(param.name)
        if name == "json_":
            state.json = True
        elif name == "api_key":
            state.api_key = value
            state.api_key_given = ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
        elif name == "base_url":
            state.base_url = value
        elif name == "timeout":
            state.timeout = value
        return value

    # Applied last to first, so that help lists them as --json, --api-key, --base-url, --timeout.
    f = click.option("--timeout", type=Seconds(per_request=True), expose_value=False,
                     callback=apply, metavar="SECONDS",
                     help=f"Timeout of each HTTP request (default {DEFAULT_TIMEOUT:g}). "
                          "A whole wait is bounded by --wait-timeout.")(f)  # fmt: skip
    f = click.option("--base-url", envvar="MINT_BASE_URL" if group else None, expose_value=False,
                     callback=apply, metavar="URL",
                     help=f"API base URL (default: $MINT_BASE_URL, else {DEFAULT_BASE_URL}).")(f)  # fmt: skip
    f = click.option("--api-key", envvar="MINT_API_KEY" if group else None, expose_value=False,
                     callback=apply, metavar="KEY",
                     help="API key (default: $MINT_API_KEY). Never printed.")(f)  # fmt: skip
    return click.option("--json", "json_", is_flag=True, expose_value=False, callback=apply,
                        help="Print one JSON document on stdout: the result, or an error "
                             "object {\"error\": {...}} (same exit codes).")(f)  # fmt: skip


def _follow_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--wait / --wait-timeout / --download, for commands that start an operation."""
    f = click.option("--download", type=click.Path(file_okay=False), metavar="DIR",
                     help="Wait, then download every asset into DIR/<resource id>/.")(f)  # fmt: skip
    f = click.option("--wait-timeout", type=Seconds(per_request=False), metavar="SECONDS",
                     default=DEFAULT_WAIT_TIMEOUT, show_default=True, help=WAIT_TIMEOUT_HELP)(f)  # fmt: skip
    return click.option("--wait", "wait_", is_flag=True,
                        help="Wait until it stops: succeeded, failed, or preview_ready "
                             "in review mode.")(f)  # fmt: skip


def _key_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--idempotency-key", metavar="KEY",
                        help="The same key never starts or advances a second operation: pass "
                             "the key of an interrupted attempt to retry it safely (default: a "
                             "new key, printed if the run is interrupted).")(f)  # fmt: skip


def _generation_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the two generate commands."""
    f = _key_option(f)
    f = click.option("--image-url", metavar="URL", help="Start from this image (https URL).")(f)
    f = click.option("--name", help="Display name (default: from the prompt).")(f)
    f = click.option("--preset", type=click.Choice(["fast", "standard", "production"]),
                     help="Quality tier: fast (speed, fewer Credits), standard (the API's "
                          "default), production (highest quality).")(f)  # fmt: skip
    f = click.option("--mode", type=click.Choice(["auto", "review"]),
                     help="auto (the API's default): run to the end. review: stop at "
                          "preview_ready so you can approve or revise first.")(f)  # fmt: skip
    return _follow_options(f)


APP_HELP = """Mint API from the command line. Try `mint demo` (offline, no key needed).

\b
Setup: MINT_API_KEY (or --api-key) and, for another server, MINT_BASE_URL
(or --base-url). Options after a command's name work too:
`mint worlds list --json`.

\b
Output: results on stdout, progress and messages on stderr. --json prints one
JSON document on stdout (the API's camelCase objects; on failure an object
{"error": {"type", "message", "exitCode", ...}}). When stdout is not a terminal,
tables are tab-separated lines, whole. Sizes are IEC (KiB, MiB, GiB).

\b
Exit codes: 0 ok, 1 operation failed/canceled/needs billing, 2 usage error,
3 wait timed out, 4 API or network error, 5 download failed, 130 interrupted
(the message says how to resume).
"""


class MintGroup(click.Group):
    """The ``mint`` group: its :meth:`main` maps every outcome to an exit code and message."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> int:  # fmt: skip
        argv = list(sys.argv[1:] if args is None else args)
        # markup=False: names, prompts and error messages come from the server or the user and
        # are printed as they are ("[/x] my world" must not be parsed as rich markup).
        err = SafeConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)
        out = SafeConsole(highlight=False, soft_wrap=True, markup=False)
        state = State(err=err, out=out, json="--json" in argv)
        code = run_guarded(state, lambda: super(MintGroup, self).main(
            argv, prog_name or "mint", complete_var, standalone_mode=False, obj=state, **extra))  # fmt: skip
        if standalone_mode:
            sys.exit(code)
        return code


def run_guarded(state: State, body: Callable[[], Any]) -> int:
    """Run ``body``; turn what it raises into an exit code, a message and (``--json``) an error
    document on stdout."""
    try:
        try:
            result = body()
        except click.exceptions.Abort:  # click's own KeyboardInterrupt
            raise KeyboardInterrupt from None
        return result if isinstance(result, int) else EXIT_OK
    except CliExit as done:
        return done.code
    except KeyboardInterrupt as exc:
        if state.err.is_terminal:
            state.err.print()
        return _fail(state, exc, EXIT_INTERRUPTED, f"interrupted: {state.interrupted}.",
                     state.hint)  # fmt: skip
    except click.exceptions.UsageError as exc:
        if state.json:
            return _fail(state, exc, EXIT_USAGE, f"error: {exc.format_message()}")
        exc.show(file=sys.stderr)
        return EXIT_USAGE
    except click.exceptions.ClickException as exc:
        return _fail(state, exc, exc.exit_code, f"error: {exc.format_message()}")
    except CliUsageError as exc:
        return _fail(state, exc, EXIT_USAGE, f"error: {exc}")
    except (OperationFailedError, OperationCanceledError, BillingRequiredError) as exc:
        hint = None
        if isinstance(exc, BillingRequiredError):
            hint = state.command("operations", "resume", exc.operation_id)
        return _fail(state, exc, EXIT_OPERATION, f"error: {exc}", hint, "after topping up: ")
    except WaitTimeoutError as exc:
        cause = exc.__cause__
        hint = state.hint or state.command("operations", "wait", exc.operation_id)
        if isinstance(cause, APIStatusError | APIConnectionError | ResponseValidationError):
            return _fail(state, exc, EXIT_API,
                         f"error: the wait for {exc.operation_id} ended after {exc.timeout:g}s "
                         f"with the API failing: {type(cause).__name__}: {cause}", hint)  # fmt: skip
        return _fail(state, exc, EXIT_TIMEOUT, f"error: {exc}", hint)
    except DownloadError as exc:
        if not state.json and isinstance(exc.report, DownloadReport):
            print_report(state.out, exc.report)
        return _fail(
            state, exc, EXIT_DOWNLOAD, f"error: {exc}", state.hint, "run again to resume: "
        )
    except (ConfigurationError, InvalidArgumentError) as exc:  # the caller's input, not the API
        return _fail(state, exc, EXIT_USAGE, f"error: {exc}")
    except APIStatusError as exc:
        lines = [f"error: {type(exc).__name__}: {exc}"]
        return _fail(state, exc, EXIT_API, "\n".join(lines))
    except MintError as exc:
        return _fail(state, exc, EXIT_API, f"error: {type(exc).__name__}: {exc}")
    except OSError as exc:  # the local disk (a folder that cannot be created or written)
        return _fail(state, exc, EXIT_DOWNLOAD, f"error: {exc}", state.hint)


def _fail(state: State, exc: BaseException, code: int, message: str, hint: str | None = None,
          lead: str = "resume with: ") -> int:  # fmt: skip
    if state.json:
        print_json(error_data(exc, code, hint))
    for line in message.splitlines():
        state.say(line)
    if hint:
        state.say(f"{lead}{hint}")
        if hint.startswith("mint ") and not hint.startswith("mint demo"):
            state.say(f"  ({state.key_note})")
    return code


def run_demo(state: State, out_dir: str, speed: float, prompt: str) -> None:
    """Start the fake, generate a world in review mode, approve it, download every asset."""
    from ..testing import FakeMint, RealClock, serve_fake_mint

    say = state.say
    say(f"Starting the bundled fake Mint server on loopback (time x{speed:g})...")
    # Files of a few MiB, streamed at a pace where the progress bars have something to show.
    fake = FakeMint(clock=RealClock(speed), asset_size=4 * 1024 * 1024,
                    asset_rate=24 * 1024 * 1024)  # fmt: skip
    with serve_fake_mint(fake) as server:
        say(f"  API {server.base_url}   CDN {server.asset_base_url}")
        state.api_key, state.base_url = server.api_key, server.base_url
        with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
            say(f"1. Start a world in review mode: {prompt!r}")
            op = mint.worlds.generate(prompt, generation_mode="review", generation_preset="fast")
            say(f"   operation {op.id} is {op.status}")
            say("2. Wait for the preview")
            op = _wait(state, mint, op, 600)
            preview = op.assets.preview_image_url if op.assets else None
            say(f"   preview ready: {preview}")
            say("3. Approve the preview and wait for the final world")
            op = mint.operations.approve(op)
            op = _wait(state, mint, op, 600)
            say(f"   {op.id} {op.status}; world {op.resource_id}")
            say(f"4. Download every asset into {out_dir}/")
            # The fake server ends with the demo: an interrupted demo is run again, not resumed.
            report = _download(state, mint, op, out_dir)
            state.hint = None
    if state.json:
        print_json({"operation": op, "download": report})
    else:
        print_report(state.out, report)
        say(f"Done: {len(report.assets)} files, {human_size(report.total_bytes)} in "
            f"{report.directory}. Use the same commands against the real API by setting "
            "MINT_API_KEY.")  # fmt: skip


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``mint`` with these arguments (default: ``sys.argv[1:]``); returns the exit code."""
    app = build_app()
    return app.main(argv, "mint", standalone_mode=False)


def build_app() -> MintGroup:
    """The click application."""
    pass_state = click.make_pass_decorator(State)

    @click.group(cls=MintGroup, help=APP_HELP,
                 context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})  # fmt: skip
    @_shared_group
    @click.version_option(package_name="mint-sdk", prog_name="mint")
    def app() -> None:
        pass

    # -- worlds ------------------------------------------------------------------------------
    @app.group()
    def worlds() -> None:
        """Generate, read and list worlds."""

    @worlds.command("generate")
    @click.argument("prompt")
    @_generation_options
    @_shared
    @pass_state
    def worlds_generate(state: State, prompt: str, mode: str | None, preset: str | None,
                        name: str | None, image_url: str | None, wait_: bool,
                        wait_timeout: float, download: str | None,
                        idempotency_key: str | None) -> None:  # fmt: skip
        """Start a world generation from PROMPT (prints the operation; --wait to follow it)."""
        params = {"mode": mode, "preset": preset, "name": name, "image_url": image_url,
                  "wait": wait_, "download": download,
                  "wait_timeout": None if wait_timeout == DEFAULT_WAIT_TIMEOUT else f"{wait_timeout:g}"}  # fmt: skip
        with state.client() as mint:
            key = _start_key(state, ("worlds", "generate", prompt), idempotency_key, params)
            options: dict[str, Any] = {"generation_mode": mode, "generation_preset": preset,
                                       "display_name": name, "image_url": image_url}  # fmt: skip
            op = mint.worlds.generate(prompt, idempotency_key=key,
                                      **{k: v for k, v in options.items() if v})  # fmt: skip
            _follow(state, mint, op, wait_, wait_timeout, download)

    @worlds.command("get")
    @click.argument("world_id")
    @_shared
    @pass_state
    def worlds_get(state: State, world_id: str) -> None:
        """Show one world (WORLD_ID is world_...)."""
        with state.client() as mint:
            _show_resource(state, mint.worlds.get(world_id))

    @worlds.command("list")
    @click.option("--limit", type=click.IntRange(1, 100), default=None,
                  help="Page size of each request, 1-100 (default: the API's).")  # fmt: skip
    @click.option("--max", "max_items", type=click.IntRange(min=1), default=None,
                  help="Stop after this many worlds (default: all).")  # fmt: skip
    @_shared
    @pass_state
    def worlds_list(state: State, limit: int | None, max_items: int | None) -> None:
        """List the worlds of this API project (newest first)."""
        with state.client() as mint:
            _show_list(state, mint.worlds.list(limit=limit), max_items)

    # -- models ------------------------------------------------------------------------------
    @app.group()
    def models() -> None:
        """Generate, optimize, read and list 3D models."""

    @models.command("generate")
    @click.argument("prompt")
    @click.option("--rigging-pose", type=click.Choice(["t_pose", "a_pose"]), default=None,
                  help="A full-body humanoid in a riggable pose (the model is not rigged).")  # fmt: skip
    @_generation_options
    @_shared
    @pass_state
    def models_generate(state: State, prompt: str, mode: str | None, preset: str | None,
                        name: str | None, image_url: str | None, rigging_pose: str | None,
                        wait_: bool, wait_timeout: float, download: str | None,
                        idempotency_key: str | None) -> None:  # fmt: skip
        """Start a 3D model generation from PROMPT."""
        params = {"mode": mode, "preset": preset, "name": name, "image_url": image_url,
                  "rigging_pose": rigging_pose, "wait": wait_, "download": download,
                  "wait_timeout": None if wait_timeout == DEFAULT_WAIT_TIMEOUT else f"{wait_timeout:g}"}  # fmt: skip
        with state.client() as mint:
            key = _start_key(state, ("models", "generate", prompt), idempotency_key, params)
            options: dict[str, Any] = {"generation_mode": mode, "generation_preset": preset,
                                       "name": name, "image_url": image_url,
                                       "rigging_pose": rigging_pose}  # fmt: skip
            op = mint.models.generate(prompt, idempotency_key=key,
                                      **{k: v for k, v in options.items() if v})  # fmt: skip
            _follow(state, mint, op, wait_, wait_timeout, download)

    @models.command("optimize")
    @click.argument("model_id")
    @click.option("--level", type=click.Choice(["light", "moderate", "aggressive"]), default=None,
                  help="light keeps more detail, moderate (the API's default) balances, "
                       "aggressive gives the smallest file.")  # fmt: skip
    @_key_option
    @_follow_options
    @_shared
    @pass_state
    def models_optimize(state: State, model_id: str, level: str | None, wait_: bool,
                        wait_timeout: float, download: str | None,
                        idempotency_key: str | None) -> None:  # fmt: skip
        """Start an optimization (Draco-compressed GLB) of MODEL_ID (model_...)."""
        params = {"level": level, "wait": wait_, "download": download}
        with state.client() as mint:
            key = _start_key(state, ("models", "optimize", model_id), idempotency_key, params)
            op = mint.models.optimize(model_id, level=level, idempotency_key=key)  # type: ignore[arg-type]
            _follow(state, mint, op, wait_, wait_timeout, download)

    @models.command("get")
    @click.argument("model_id")
    @_shared
    @pass_state
    def models_get(state: State, model_id: str) -> None:
        """Show one model (MODEL_ID is model_...)."""
        with state.client() as mint:
            _show_resource(state, mint.models.get(model_id))

    @models.command("list")
    @click.option("--limit", type=click.IntRange(1, 100), default=None,
                  help="Page size of each request, 1-100 (default: the API's).")  # fmt: skip
    @click.option("--max", "max_items", type=click.IntRange(min=1), default=None,
                  help="Stop after this many models (default: all).")  # fmt: skip
    @_shared
    @pass_state
    def models_list(state: State, limit: int | None, max_items: int | None) -> None:
        """List the models of this API project (newest first)."""
        with state.client() as mint:
            _show_list(state, mint.models.list(limit=limit), max_items)

    # -- operations --------------------------------------------------------------------------
    @app.group()
    def operations() -> None:
        """Read, wait on, approve, revise and resume operations."""

    @operations.command("get")
    @click.argument("operation_id")
    @_shared
    @pass_state
    def operations_get(state: State, operation_id: str) -> None:
        """Show an operation once."""
        with state.client() as mint:
            _show_operation(state, mint.operations.get(operation_id))

    @operations.command("wait")
    @click.argument("operation_id")
    @click.option("--wait-timeout", type=Seconds(per_request=False), metavar="SECONDS",
                  default=DEFAULT_WAIT_TIMEOUT, show_default=True, help=WAIT_TIMEOUT_HELP)  # fmt: skip
    @click.option("--until", metavar="STATES",
                  help="Comma-separated extra stop states, e.g. preview_ready (an auto-mode "
                       "operation passes through it without stopping).")  # fmt: skip
    @click.option("--download", type=click.Path(file_okay=False), metavar="DIR",
                  help="If it succeeds, download every asset into DIR/<resource id>/.")  # fmt: skip
    @_shared
    @pass_state
    def operations_wait(state: State, operation_id: str, wait_timeout: float, until: str | None,
                        download: str | None) -> None:  # fmt: skip
        """Wait until the operation stops (succeeded, preview_ready in review mode, failed...),
        showing its status, the time in it and failed polls as they happen."""
        with state.client() as mint:
            op = _wait(state, mint, operation_id, wait_timeout, _parse_until(until), download)
            _show_and_download(state, mint, op, download)

    def _action(name: str, help_text: str) -> None:
        @operations.command(name, help=help_text)
        @click.argument("operation_id")
        @_key_option
        @_shared
        @pass_state
        def command(state: State, operation_id: str, idempotency_key: str | None) -> None:
            with state.client() as mint:
                key = _start_key(state, ("operations", name, operation_id), idempotency_key, {})
                method = getattr(mint.operations, name)
                _show_operation(state, method(operation_id, idempotency_key=key))

    _action("approve", "Approve the preview of OPERATION_ID (review mode): the final generation "
                       "starts; then `mint operations wait OPERATION_ID`.")  # fmt: skip
    _action("resume", "Resume OPERATION_ID after billing_required (top up Credits first).")

    @operations.command("revise")
    @click.argument("operation_id")
    @click.option("--feedback", required=True, help="What to change in the preview.")
    @_key_option
    @_shared
    @pass_state
    def operations_revise(state: State, operation_id: str, feedback: str,
                          idempotency_key: str | None) -> None:  # fmt: skip
        """Ask for a new preview of OPERATION_ID (review mode), with feedback."""
        with state.client() as mint:
            key = _start_key(state, ("operations", "revise", operation_id), idempotency_key,
                             {"feedback": feedback})  # fmt: skip
            _show_operation(state, mint.operations.revise(operation_id, feedback=feedback,
                                                          idempotency_key=key))  # fmt: skip

    # -- download, account -------------------------------------------------------------------
    @app.command("download")
    @click.argument("source_id")
    @click.argument("directory", type=click.Path(file_okay=False))
    @click.option("--include", multiple=True, metavar="KINDS", help=KINDS_HELP)
    @click.option("--spz-resolution", metavar="TIER",
                  help="Only this splat tier of a world, e.g. 100k, 500k, full_res.")  # fmt: skip
    @click.option("--overwrite", is_flag=True, help="Fetch again even if complete files exist.")
    @_shared
    @pass_state
    def download_cmd(state: State, source_id: str, directory: str, include: tuple[str, ...],
                     spz_resolution: str | None, overwrite: bool) -> None:  # fmt: skip
        """Download the files of an operation, world or model.

        SOURCE_ID is op_..., world_... or model_...; files go to DIRECTORY/<resource id>/.
        Complete files are checked and skipped; partial ones (.part) resume.
        """
        kinds = [k.strip() for item in include for k in item.split(",") if k.strip()]
        with state.client() as mint:
            source: Any = source_id
            if source_id.startswith("world_"):
                source = mint.worlds.get(source_id)
            elif source_id.startswith("model_"):
                source = mint.models.get(source_id)
            report = _download(state, mint, source, directory, kinds, spz_resolution, overwrite)
            _show_report(state, report)

    @app.group()
    def account() -> None:
        """Who the key belongs to, and Credits."""

    @account.command("me")
    @_shared
    @pass_state
    def account_me(state: State) -> None:
        """Show the account behind the API key."""
        with state.client() as mint:
            me = mint.account.me()
        if state.json:
            print_json(me)
        else:
            for line in (f"user    {me.user_id}", f"email   {me.email or '-'}",
                         f"scopes  {' '.join(me.scopes)}"):  # fmt: skip
                state.out.print(line)

    @account.command("usage")
    @_shared
    @pass_state
    def account_usage(state: State) -> None:
        """Show available Credits."""
        with state.client() as mint:
            usage = mint.account.usage()
        if state.json:
            print_json(usage)
        else:
            state.out.print(f"credits available  {usage.credits_available:g}")

    # -- fake server and demo ----------------------------------------------------------------
    @app.command("fake-server", add_help_option=False,
                 context_settings={"ignore_unknown_options": True, "allow_extra_args": True})  # fmt: skip
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def fake_server(args: tuple[str, ...]) -> None:
        """Run the bundled fake Mint API on loopback.

        `mint fake-server --help` lists its options (the same as `python -m mint_ext.testing`).
        """
        from ..testing._cli import main as fake_main

        try:
            code = fake_main(list(args), prog="mint fake-server")
        except SystemExit as exc:  # argparse: --help, or a usage error
            code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        raise CliExit(code)

    @app.command("demo")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), default="mint-demo-output",
                  show_default=True, help="Where to download the world's files.")  # fmt: skip
    @click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=5.0,
                  show_default=True, help="How much faster than real time the fake server runs.")  # fmt: skip
    @click.option("--prompt", default="A quiet sci-fi greenhouse with glass walkways",
                  show_default=True, help="The world to generate.")  # fmt: skip
    @click.option("--json", "json_", is_flag=True, help="Print the operation and the download "
                                                        "report as one JSON document.")  # fmt: skip
    @pass_state
    def demo(state: State, out_dir: str, speed: float, prompt: str, json_: bool) -> None:
        """Offline tour of the whole flow, against the bundled fake (no key needed).

        Starts the fake Mint server on loopback (no key, no network), generates a world in
        review mode, approves the preview, downloads every asset and prints the files.
        """
        state.json = state.json or json_
        run_demo(state, out_dir, speed, prompt)

    return app
