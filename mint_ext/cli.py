"""The ``mint`` command line: the SDK from a shell, and ``mint demo``, the offline tour.

Built on click (subcommand groups, env-var options, well-tested parsing) and rich (live status line,
per-file progress bars, tables), both from the ``cli`` extra: ``pip install 'mint-sdk[cli]'``.

Exit codes (also in ``mint --help``):

====  ===========================================================
0     success
1     the operation failed, was canceled, or needs billing
2     usage error (bad arguments)
3     a wait timed out (the operation goes on; wait again to resume)
4     API or network error
5     one or more assets could not be downloaded
130   interrupted (Ctrl-C); the message says how to resume
====  ===========================================================

Progress goes to stderr, results to stdout; ``--json`` prints machine-readable results. When
stderr is not a terminal, progress is plain lines instead of live bars.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from ._client import Mint
from ._core import DEFAULT_TIMEOUT, InvalidArgumentError, new_idempotency_key
from ._download_core import DownloadProgress, DownloadReport
from ._errors import (
    BillingRequiredError,
    ConfigurationError,
    DownloadError,
    MintError,
    OperationCanceledError,
    OperationFailedError,
    WaitTimeoutError,
)
from ._models import Account, Model, Operation, Usage, World
from ._retry import is_seconds
from ._waiting import DEFAULT_WAIT_TIMEOUT

__all__ = ["EXIT_API", "EXIT_DOWNLOAD", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_OPERATION",
           "EXIT_TIMEOUT", "EXIT_USAGE", "main"]  # fmt: skip

EXIT_OK = 0
EXIT_OPERATION = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_API = 4
EXIT_DOWNLOAD = 5
EXIT_INTERRUPTED = 130

try:
    import click
    from rich.console import Console
    from rich.table import Table

    _MISSING: str | None = None
except ImportError as exc:  # pragma: no cover - the cli extra is not installed
    _MISSING = str(exc)

# C0 and C1 controls (ESC, CR, LF, BEL...), DEL, line/paragraph separators, bidi overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _text(value: object) -> str:
    """Text from the server (or a user) made safe for a terminal: control characters are shown
    as escapes (``\\x1b``, ``\\n``) instead of being obeyed, so a world's name cannot move the
    cursor, retitle the window or forge an extra output line."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))


if _MISSING is None:

    class _SafeConsole(Console):
        """A rich Console that shows every string it is given through :func:`_text` (one line
        per ``print``; tables get their cells cleaned where they are built)."""

        def print(self, *objects: Any, **kwargs: Any) -> None:
            super().print(*(_text(o) if isinstance(o, str) else o for o in objects), **kwargs)

    class _Seconds(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
        """A number of seconds, checked when the command line is parsed (before anything is
        sent): NaN and negative values are usage errors; ``per_request`` also refuses 0 and inf."""

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


class CliExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@attrs.define
class State:
    """Options shared by every command, and what to say if the user presses Ctrl-C."""

    api_key: str | None = None
    base_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    json: bool = False
    resume_hint: str | None = None
    err: Any = None
    out: Any = None

    def client(self) -> Mint:
        return Mint(api_key=self.api_key, base_url=self.base_url, timeout=self.timeout)

    @property
    def live(self) -> bool:
        """Live spinners and bars only when both stdout and stderr are terminals."""
        return bool(self.err is not None and self.err.is_terminal and sys.stdout.isatty())


# ------------------------------------------------------------------------------- output


def _to_data(value: Any) -> Any:
    if isinstance(value, Operation | World | Model):
        return value.to_dict()
    if isinstance(value, Account | Usage):
        return dict(value.raw)
    if isinstance(value, DownloadReport):
        return {
            "resource_id": value.resource_id,
            "directory": str(value.directory),
            "ok": value.ok,
            "assets": [
                {
                    "kind": a.kind,
                    "slot": a.slot,
                    "url": a.url,
                    "path": str(a.path),
                    "status": a.status,
                    "bytes": a.bytes,
                    "sha256": a.sha256,
                    "resumed_from": a.resumed_from,
                    "error": str(a.error) if a.error else None,
                }
                for a in value.assets
            ],
        }
    if isinstance(value, list):
        return [_to_data(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_data(v) for k, v in value.items()}
    return value


def _print_json(state: State, value: Any) -> None:
    sys.stdout.write(json.dumps(_to_data(value), indent=2, default=str) + "\n")
    sys.stdout.flush()


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _show_operation(state: State, op: Operation) -> None:
    if state.json:
        _print_json(state, op)
        return
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
        state.out.print(line, highlight=False, soft_wrap=True)


def _print_rows(console: Any, columns: Sequence[str], rows: Sequence[Sequence[object]],
                title: str | None = None, right: Sequence[str] = ()) -> None:  # fmt: skip
    """A table on a terminal; tab-separated lines (a header, then one per row) when piped, so
    that ids are never cut to the width of an imaginary terminal and ``cut``/``grep`` work."""
    cells = [[_text(c) for c in row] for row in rows]  # escapes tabs and newlines in cells too
    if not console.is_terminal:
        if title is not None:
            console.file.write(f"# {_text(title)}\n")
        for line in (columns, *cells):
            console.file.write("\t".join(line) + "\n")
        console.file.flush()
        return
    table = Table(title=_text(title) if title is not None else None)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", overflow="fold")
    for row in cells:
        table.add_row(*row)
    console.print(table)


def _print_report(console: Any, report: DownloadReport) -> None:
    _print_rows(console, ("kind", "file", "size", "sha256", "status"),
                [(a.kind, a.path.name, _human_size(a.bytes), (a.sha256 or "")[:16],
                  a.status if a.ok else f"failed: {a.error}") for a in report.assets],
                title=f"{report.resource_id} -> {report.directory}", right=("size",))  # fmt: skip


def _show_report(state: State, report: DownloadReport) -> None:
    if state.json:
        _print_json(state, report)
        return
    _print_report(state.out, report)


# ------------------------------------------------------------------------------- actions


class _StatusLine:
    """``on_update`` for waits: a live spinner on a terminal, plain lines otherwise."""

    def __init__(self, state: State, label: str) -> None:
        self.state = state
        self.label = label
        self.started = time.monotonic()
        self.status: Any = None

    def __enter__(self) -> _StatusLine:
        if self.state.live:
            self.status = self.state.err.status(_text(f"{self.label}: waiting"))
            self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(None, None, None)

    def __call__(self, op: Operation) -> None:
        text = _text(f"{self.label}: {op.status} ({time.monotonic() - self.started:.0f}s)")
        if self.status is not None:
            self.status.update(text)
        else:
            self.state.err.print(text, highlight=False)


def _wait(state: State, mint: Mint, op: Operation | str, timeout: float | None,
          until: Sequence[str] | None = None) -> Operation:  # fmt: skip
    op_id = op if isinstance(op, str) else op.id
    state.resume_hint = f"mint operations wait {op_id}"
    with _StatusLine(state, op_id) as line:
        return mint.operations.wait(op, timeout=timeout, until=until or None, on_update=line)


def _download_progress(state: State) -> Any:
    if state.live:
        return "bar"

    def plain(event: DownloadProgress) -> None:
        if event.done:
            state.err.print(f"downloaded {event.path.name} ({_human_size(event.bytes_done)})",
                            highlight=False)  # fmt: skip

    return plain


def _download(state: State, mint: Mint, source: Any, directory: str,
              include: Sequence[str] | None = None, spz_resolution: str | None = None,
              overwrite: bool = False) -> DownloadReport:  # fmt: skip
    source_id = source if isinstance(source, str) else source.id
    state.resume_hint = f"mint download {source_id} {directory}"
    return mint.assets.download(source, directory, include=include or None,
                                spz_resolution=spz_resolution, overwrite=overwrite,
                                progress=_download_progress(state))  # fmt: skip


def _generate_and_follow(state: State, mint: Mint, op: Operation, wait: bool,
                         wait_timeout: float, download: str | None) -> None:  # fmt: skip
    state.err.print(f"started {op.id} ({op.status})", highlight=False)
    if wait or download:
        op = _wait(state, mint, op, wait_timeout)
    _show_operation(state, op)
    _then_download(state, mint, op, download)


def _then_download(state: State, mint: Mint, op: Operation, download: str | None) -> None:
    """``--download``: fetch the assets of a succeeded operation, or say why there are none."""
    if download and op.is_succeeded:
        report = _download(state, mint, op, download)
        if not state.json:
            _show_report(state, report)
    elif download:
        state.err.print(f"{op.id} is {op.status}: nothing to download yet. Approve or revise, "
                        f"then: mint operations wait {op.id} --download {download}")  # fmt: skip


# ------------------------------------------------------------------------------- commands


def _start_key(state: State, kind: str, given: str | None) -> str:
    """The Idempotency-Key of a start, chosen before sending so that an interrupted start can be
    repeated without paying twice (the hint says how)."""
    key = given or new_idempotency_key()
    state.resume_hint = (f"re-run the same `mint {kind} generate` command with "
                         f"--idempotency-key {key} (the same key never starts a second operation)")  # fmt: skip
    return key


def _parse_until(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def build_app() -> Any:
    """The click application (built lazily so that ``mint_ext`` never imports click itself)."""
    pass_state = click.make_pass_decorator(State)

    def common(f: Callable[..., Any]) -> Callable[..., Any]:
        """Options every command accepts, after its name: --json --api-key --base-url --timeout."""

        def apply(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
            if value is not None and value is not False:
                state = ctx.ensure_object(State)
                setattr(state, str(param.name).rstrip("_"), value)
            return value

        f = click.option("--json", "json_", is_flag=True, default=False, expose_value=False,
                         help="Machine-readable output on stdout.", callback=apply)(f)  # fmt: skip
        f = click.option("--api-key", expose_value=False, callback=apply,
                         help="API key (default: $MINT_API_KEY).")(f)  # fmt: skip
        f = click.option("--base-url", expose_value=False, callback=apply,
                         help="API base URL (default: $MINT_BASE_URL or https://api.mint.gg).")(f)  # fmt: skip
        f = click.option("--timeout", type=_Seconds(per_request=True), expose_value=False,
                         callback=apply,
                         help=f"Per-request timeout in seconds (default {DEFAULT_TIMEOUT:g}).")(f)  # fmt: skip
        return f

    def generation(f: Callable[..., Any]) -> Callable[..., Any]:
        """Options shared by the two generate commands."""
        f = click.option("--idempotency-key", help="Reuse to make a retried start safe.")(f)
        f = click.option("--image-url", help="Source image URL.")(f)
        f = click.option("--name", help="Name of the world or model.")(f)
        f = click.option("--preset", type=click.Choice(["fast", "standard", "production"]))(f)
        f = click.option("--mode", type=click.Choice(["auto", "review"]))(f)
        return follow(f)

    def follow(f: Callable[..., Any]) -> Callable[..., Any]:
        """--wait / --wait-timeout / --download, for commands that start an operation."""
        f = click.option("--download", type=click.Path(file_okay=False),
                         help="Wait, then download the assets here.")(f)  # fmt: skip
        f = click.option("--wait-timeout", type=_Seconds(per_request=False),
                         default=DEFAULT_WAIT_TIMEOUT,
                         show_default=True, help="Deadline of --wait in seconds.")(f)  # fmt: skip
        return click.option("--wait", "wait_", is_flag=True,
                            help="Wait until it stops (preview in review mode, or done).")(f)  # fmt: skip

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--json", "json_", is_flag=True, help="Machine-readable output on stdout.")
    @click.option("--api-key", envvar="MINT_API_KEY", help="API key (default: $MINT_API_KEY).")
    @click.option("--base-url", envvar="MINT_BASE_URL", help="API base URL.")
    @click.option("--timeout", type=_Seconds(per_request=True), default=DEFAULT_TIMEOUT,
                  show_default=True, help="Per-request timeout in seconds.")  # fmt: skip
    @click.version_option(package_name="mint-sdk", prog_name="mint")
    @click.pass_context
    def app(ctx: click.Context, json_: bool, api_key: str | None, base_url: str | None,
            timeout: float) -> None:  # fmt: skip
        """Mint API from the command line. Try `mint demo` (offline, no key needed).

        Exit codes: 0 ok, 1 operation failed/canceled/needs billing, 2 usage error,
        3 wait timed out, 4 API or network error, 5 download failed, 130 interrupted.
        """
        state = ctx.ensure_object(State)
        state.json = state.json or json_
        state.api_key = state.api_key or api_key
        state.base_url = state.base_url or base_url
        state.timeout = timeout

    # -- worlds ------------------------------------------------------------------------------
    @app.group()
    def worlds() -> None:
        """Generate, read and list worlds."""

    @worlds.command("generate")
    @click.argument("prompt")
    @generation
    @common
    @pass_state
    def worlds_generate(state: State, prompt: str, mode: str | None, preset: str | None,
                        name: str | None, image_url: str | None, wait_: bool,
                        wait_timeout: float, download: str | None,
                        idempotency_key: str | None) -> None:  # fmt: skip
        """Start a world generation."""
        options: dict[str, Any] = {"generation_mode": mode, "generation_preset": preset,
                                   "display_name": name, "image_url": image_url,
                                   "idempotency_key": idempotency_key}  # fmt: skip
        with state.client() as mint:
            options["idempotency_key"] = _start_key(state, "worlds", idempotency_key)
            op = mint.worlds.generate(prompt, **{k: v for k, v in options.items() if v})
            _generate_and_follow(state, mint, op, wait_, wait_timeout, download)

    @worlds.command("get")
    @click.argument("world_id")
    @common
    @pass_state
    def worlds_get(state: State, world_id: str) -> None:
        """Show one world."""
        with state.client() as mint:
            _show_resource(state, mint.worlds.get(world_id))

    @worlds.command("list")
    @click.option("--limit", type=click.IntRange(1, 100), default=None, help="Page size.")
    @click.option("--max", "max_items", type=click.IntRange(min=1), default=None,
                  help="Stop after this many.")  # fmt: skip
    @common
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
    @click.option("--rigging-pose", type=click.Choice(["t_pose", "a_pose"]), default=None)
    @generation
    @common
    @pass_state
    def models_generate(state: State, prompt: str, mode: str | None, preset: str | None,
                        name: str | None, image_url: str | None, rigging_pose: str | None,
                        wait_: bool, wait_timeout: float, download: str | None,
                        idempotency_key: str | None) -> None:  # fmt: skip
        """Start a 3D model generation."""
        options: dict[str, Any] = {"generation_mode": mode, "generation_preset": preset,
                                   "name": name, "image_url": image_url,
                                   "rigging_pose": rigging_pose,
                                   "idempotency_key": idempotency_key}  # fmt: skip
        with state.client() as mint:
            options["idempotency_key"] = _start_key(state, "models", idempotency_key)
            op = mint.models.generate(prompt, **{k: v for k, v in options.items() if v})
            _generate_and_follow(state, mint, op, wait_, wait_timeout, download)

    @models.command("optimize")
    @click.argument("model_id")
    @click.option("--level", type=click.Choice(["light", "moderate", "aggressive"]), default=None)
    @follow
    @common
    @pass_state
    def models_optimize(state: State, model_id: str, level: str | None, wait_: bool,
                        wait_timeout: float, download: str | None) -> None:  # fmt: skip
        """Start an optimization (Draco-compressed GLB) of a model."""
        with state.client() as mint:
            op = mint.models.optimize(model_id, level=level)  # type: ignore[arg-type]
            _generate_and_follow(state, mint, op, wait_, wait_timeout, download)

    @models.command("get")
    @click.argument("model_id")
    @common
    @pass_state
    def models_get(state: State, model_id: str) -> None:
        """Show one model."""
        with state.client() as mint:
            _show_resource(state, mint.models.get(model_id))

    @models.command("list")
    @click.option("--limit", type=click.IntRange(1, 100), default=None)
    @click.option("--max", "max_items", type=click.IntRange(min=1), default=None,
                  help="Stop after this many.")  # fmt: skip
    @common
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
    @common
    @pass_state
    def operations_get(state: State, operation_id: str) -> None:
        """Show an operation once."""
        with state.client() as mint:
            _show_operation(state, mint.operations.get(operation_id))

    @operations.command("wait")
    @click.argument("operation_id")
    @click.option("--timeout", "wait_timeout", type=_Seconds(per_request=False),
                  default=DEFAULT_WAIT_TIMEOUT,
                  show_default=True, help="Give up waiting after this many seconds.")  # fmt: skip
    @click.option("--until", help="Comma-separated extra stop states, e.g. preview_ready.")
    @click.option("--download", type=click.Path(file_okay=False), help="Then download here.")
    @click.option("--json", "json_", is_flag=True, help="Machine-readable output on stdout.")
    @click.option("--api-key", help="API key (default: $MINT_API_KEY).")
    @click.option("--base-url", help="API base URL (default: $MINT_BASE_URL).")
    @pass_state
    def operations_wait(state: State, operation_id: str, wait_timeout: float, until: str | None,
                        download: str | None, json_: bool, api_key: str | None,
                        base_url: str | None) -> None:  # fmt: skip
        """Wait until the operation stops (succeeded, preview in review mode, failed...).

        Here --timeout bounds the whole wait; the per-request timeout is `mint --timeout N`.
        """
        state.json = state.json or json_
        state.api_key = api_key or state.api_key
        state.base_url = base_url or state.base_url
        with state.client() as mint:
            op = _wait(state, mint, operation_id, wait_timeout, _parse_until(until))
            _show_operation(state, op)
            _then_download(state, mint, op, download)

    def _action(name: str, help_text: str) -> None:
        @operations.command(name, help=help_text)
        @click.argument("operation_id")
        @click.option("--idempotency-key")
        @common
        @pass_state
        def command(state: State, operation_id: str, idempotency_key: str | None) -> None:
            with state.client() as mint:
                method = getattr(mint.operations, name)
                _show_operation(state, method(operation_id, idempotency_key=idempotency_key))

    _action("approve", "Approve a preview (review mode).")
    _action("resume", "Resume after billing_required.")

    @operations.command("revise")
    @click.argument("operation_id")
    @click.option("--feedback", required=True, help="What to change in the preview.")
    @click.option("--idempotency-key")
    @common
    @pass_state
    def operations_revise(state: State, operation_id: str, feedback: str,
                          idempotency_key: str | None) -> None:  # fmt: skip
        """Ask for a new preview with feedback."""
        with state.client() as mint:
            op = mint.operations.revise(operation_id, feedback=feedback,
                                        idempotency_key=idempotency_key)  # fmt: skip
            _show_operation(state, op)

    # -- download, account -------------------------------------------------------------------
    @app.command("download")
    @click.argument("source_id")
    @click.argument("directory", type=click.Path(file_okay=False))
    @click.option(
        "--include", multiple=True, help="Asset kinds to fetch (repeatable or comma-separated)."
    )
    @click.option("--spz-resolution", help="Only this splat tier, e.g. 500k.")
    @click.option("--overwrite", is_flag=True, help="Fetch again even if complete files exist.")
    @common
    @pass_state
    def download_cmd(state: State, source_id: str, directory: str, include: tuple[str, ...],
                     spz_resolution: str | None, overwrite: bool) -> None:  # fmt: skip
        """Download the assets of an operation (op_...), world (world_...) or model."""
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
    @common
    @pass_state
    def account_me(state: State) -> None:
        """Show the account behind the API key."""
        with state.client() as mint:
            me = mint.account.me()
        if state.json:
            _print_json(state, me)
        else:
            for line in (f"user    {me.user_id}", f"email   {me.email or '-'}",
                         f"scopes  {' '.join(me.scopes)}"):  # fmt: skip
                state.out.print(line, highlight=False)

    @account.command("usage")
    @common
    @pass_state
    def account_usage(state: State) -> None:
        """Show available Credits."""
        with state.client() as mint:
            usage = mint.account.usage()
        if state.json:
            _print_json(state, usage)
        else:
            state.out.print(f"credits available  {usage.credits_available:g}", highlight=False)

    # -- fake server and demo ----------------------------------------------------------------
    @app.command("fake-server", context_settings={"ignore_unknown_options": True})
    @click.option("--port", type=int, default=0, help="API port (0: any free port).")
    @click.option(
        "--speed", type=float, default=1.0, show_default=True, help="Simulated time speed."
    )
    def fake_server(port: int, speed: float) -> None:
        """Run the bundled fake Mint server on loopback; prints its URL and key as JSON."""
        from .testing.__main__ import main as fake_main

        raise CliExit(fake_main(["--port", str(port), "--speed", str(speed)]))

    @app.command("demo")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), default="mint-demo-output",
                  show_default=True, help="Where to download the world's files.")  # fmt: skip
    @click.option("--speed", type=float, default=5.0, show_default=True,
                  help="How much faster than real time the fake server runs.")  # fmt: skip
    @click.option(
        "--prompt", default="A quiet sci-fi greenhouse with glass walkways", show_default=True
    )
    @click.option("--json", "json_", is_flag=True, help="Machine-readable output on stdout.")
    @pass_state
    def demo(state: State, out_dir: str, speed: float, prompt: str, json_: bool) -> None:
        """Offline tour: start the fake server, generate a world in review mode, approve, download."""
        state.json = state.json or json_
        _run_demo(state, out_dir, speed, prompt)

    return app


def _show_resource(state: State, item: World | Model) -> None:
    if state.json:
        _print_json(state, item)
        return
    lines = [f"id        {item.id}", f"name      {item.name or '-'}", f"status    {item.status or '-'}",
             f"stage     {item.asset_stage or '-'}", f"mint url  {item.mint_url or '-'}"]  # fmt: skip
    for line in lines:
        state.out.print(line, highlight=False, soft_wrap=True)


def _show_list(
    state: State, items: Iterator[World] | Iterator[Model], max_items: int | None
) -> None:
    rows: list[World | Model] = []
    for item in items:
        rows.append(item)
        if max_items is not None and len(rows) >= max_items:
            break
    if state.json:
        _print_json(state, rows)
        return
    _print_rows(state.out, ("id", "name", "status", "stage", "created"),
                [(r.id, r.name or "-", r.status or "-", r.asset_stage or "-",
                  r.created_at.isoformat() if r.created_at else "-") for r in rows])  # fmt: skip


def _run_demo(state: State, out_dir: str, speed: float, prompt: str) -> None:
    from .testing import FakeMint, RealClock, serve_fake_mint

    err = state.err
    err.print(
        f"Starting the bundled fake Mint server on loopback (time x{speed:g})...", highlight=False
    )
    # Files of a few MiB, streamed at a pace where the progress bars have something to show.
    fake = FakeMint(clock=RealClock(speed), asset_size=4 * 1024 * 1024,
                    asset_rate=24 * 1024 * 1024)  # fmt: skip
    with serve_fake_mint(fake) as server:
        err.print(f"  API {server.base_url}   CDN {server.asset_base_url}", highlight=False)
        state.api_key, state.base_url = server.api_key, server.base_url
        with Mint(api_key=server.api_key, base_url=server.base_url) as mint:
            err.print(f"1. Start a world in review mode: {prompt!r}", highlight=False)
            op = mint.worlds.generate(prompt, generation_mode="review", generation_preset="fast")
            err.print(f"   operation {op.id} is {op.status}", highlight=False)
            err.print("2. Wait for the preview", highlight=False)
            op = _wait(state, mint, op, 600)
            preview = op.assets.preview_image_url if op.assets else None
            err.print(f"   preview ready: {preview}", highlight=False)
            err.print("3. Approve the preview and wait for the final world", highlight=False)
            op = mint.operations.approve(op)
            op = _wait(state, mint, op, 600)
            err.print(f"   {op.id} {op.status}; world {op.resource_id}", highlight=False)
            err.print(f"4. Download every asset into {out_dir}/", highlight=False)
            report = _download(state, mint, op, out_dir)
    state.resume_hint = None
    if state.json:
        _print_json(state, {"operation": op, "download": report})
    else:
        _print_report(state.out, report)
        err.print(f"Done: {len(report.assets)} files, {_human_size(report.total_bytes)} in "
                  f"{report.directory}. Use the same commands against the real API by setting "
                  "MINT_API_KEY.", highlight=False)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mint`` console script; returns the exit code."""
    if _MISSING is not None:
        print(f"the mint command needs its extras ({_MISSING}): pip install 'mint-sdk[cli]'",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    # markup=False: names, prompts and error messages come from the server or the user and are
    # printed as they are ("[/x] my world" must not be parsed as rich markup).
    err = _SafeConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)
    out = _SafeConsole(highlight=False, soft_wrap=True, markup=False)
    state = State(err=err, out=out)
    app = build_app()
    try:
        try:
            app.main(args=list(argv) if argv is not None else None, obj=state,
                     standalone_mode=False, prog_name="mint")  # fmt: skip
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None
    except CliExit as done:
        return done.code
    except click.exceptions.ClickException as exc:
        exc.show(file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, click.exceptions.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        err.print()
        err.print("interrupted: nothing was lost (partial downloads are kept as .part files).",
                  highlight=False)  # fmt: skip
        if state.resume_hint:
            err.print(f"resume with: {state.resume_hint}", highlight=False, markup=False)
        return EXIT_INTERRUPTED
    except (OperationFailedError, OperationCanceledError, BillingRequiredError) as exc:
        if state.json:
            _print_json(state, exc.operation)
        err.print(f"error: {exc}", highlight=False, markup=False)
        if isinstance(exc, BillingRequiredError):
            err.print(f"top up, then: mint operations resume {exc.operation_id}", markup=False)
        return EXIT_OPERATION
    except WaitTimeoutError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        err.print(f"resume with: mint operations wait {exc.operation_id}", markup=False)
        return EXIT_TIMEOUT
    except DownloadError as exc:
        if state.json:
            _print_json(state, exc.report)
        else:
            _print_report(out, exc.report)
        err.print(f"error: {exc}", highlight=False, markup=False)
        if state.resume_hint:
            err.print(f"run again to resume: {state.resume_hint}", markup=False)
        return EXIT_DOWNLOAD
    except (ConfigurationError, InvalidArgumentError) as exc:  # the caller's input, not the API
        err.print(f"error: {exc}", highlight=False, markup=False)
        return EXIT_USAGE
    except MintError as exc:
        err.print(f"error: {type(exc).__name__}: {exc}", highlight=False, markup=False)
        return EXIT_API
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
