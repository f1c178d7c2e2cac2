"""What the ``mint`` command prints: safe text, IEC sizes, tables, JSON documents and errors.

One unit system (IEC: KiB, MiB, GiB) in bars, plain lines and tables. JSON uses the API's own
camelCase keys everywhere: an operation, world or model is printed exactly as the API sends it
(see the API reference), and the CLI's own objects (download reports, errors) follow the same
convention.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from .._download_core import AssetReport, DownloadReport
from .._errors import (
    APIStatusError,
    DownloadError,
    MintError,
    OperationError,
    OperationFailedError,
    ResponseValidationError,
    WaitTimeoutError,
)
from .._models import Account, Model, Operation, Usage, World

__all__ = [
    "SafeConsole",
    "error_data",
    "human_duration",
    "human_rate",
    "human_size",
    "print_json",
    "print_report",
    "print_rows",
    "report_data",
    "text",
    "to_data",
]

# C0 and C1 controls (ESC, CR, LF, BEL...), DEL, line/paragraph separators, bidi overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def text(value: object) -> str:
    """Text from the server (or a user) made safe for a terminal: control characters are shown
    as escapes (``\\x1b``, ``\\n``) instead of being obeyed, so a world's name cannot move the
    cursor, retitle the window or forge an extra output line.

    Example:
        >>> text("evil\\x1b[2J\\nforged")
        'evil\\\\x1b[2J\\\\nforged'
    """
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))


class SafeConsole(Console):
    """A rich Console that shows every string it is given through :func:`text` (one line per
    ``print``; tables get their cells cleaned where they are built)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        kwargs.setdefault("highlight", False)
        super().print(*(text(o) if isinstance(o, str) else o for o in objects), **kwargs)


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(n: float | None) -> str:
    """Bytes in IEC units, one decimal above bytes; ``?`` when unknown.

    Example:
        >>> human_size(65536), human_size(13.5 * 2**30), human_size(512), human_size(None)
        ('64.0 KiB', '13.5 GiB', '512 B', '?')
    """
    if n is None:
        return "?"
    size = float(n)
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def human_rate(bytes_per_second: float | None) -> str:
    """A transfer rate in IEC units per second (``?/s`` when unknown).

    Example:
        >>> human_rate(24 * 2**20)
        '24.0 MiB/s'
    """
    return f"{human_size(bytes_per_second)}/s"


def human_duration(seconds: float) -> str:
    """``7s``, ``2m05s``, ``1h02m``.

    Example:
        >>> human_duration(7.4), human_duration(125), human_duration(3725)
        ('7s', '2m05s', '1h02m')
    """
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


# ---------------------------------------------------------------------------------- JSON


def _asset_data(a: AssetReport) -> dict[str, Any]:
    return {
        "kind": a.kind,
        "slot": a.slot,
        "url": a.url,
        "path": str(a.path),
        "status": a.status,
        "bytes": a.bytes,
        "sha256": a.sha256,
        "resumedFrom": a.resumed_from,
        "error": str(a.error) if a.error else None,
    }


def report_data(report: DownloadReport) -> dict[str, Any]:
    """A download report as JSON (camelCase, like the API's own objects)."""
    return {
        "resourceId": report.resource_id,
        "directory": str(report.directory),
        "ok": report.ok,
        "totalBytes": report.total_bytes,
        "assets": [_asset_data(a) for a in report.assets],
    }


def to_data(value: Any) -> Any:
    """Anything a command prints, as JSON-ready data."""
    if isinstance(value, Operation | World | Model):
        return value.to_dict()
    if isinstance(value, Account | Usage):
        return dict(value.raw)
    if isinstance(value, DownloadReport):
        return report_data(value)
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    return value


def print_json(value: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout (``--json``)."""
    out = stream or sys.stdout
    out.write(json.dumps(to_data(value), indent=2, default=str) + "\n")
    out.flush()


def error_data(exc: BaseException, exit_code: int, hint: str | None = None) -> dict[str, Any]:
    """The ``--json`` form of an error: ``{"error": {...}}`` plus the operation or report it
    concerns (``operation``, ``download``), printed on stdout with the same exit code."""
    err: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": str(exc),
        "exitCode": exit_code,
    }
    doc: dict[str, Any] = {"error": err}
    if isinstance(exc, APIStatusError):
        err.update(status=exc.status_code, problemType=exc.type, title=exc.title,
                   detail=exc.detail, requestId=exc.request_id,
                   errors=[dict(e) for e in exc.errors])  # fmt: skip
    if isinstance(exc, ResponseValidationError):
        err.update(status=exc.status_code, requestId=exc.request_id)
    if isinstance(exc, OperationError):
        err["operationId"] = exc.operation_id
        doc["operation"] = to_data(exc.operation)
    if isinstance(exc, OperationFailedError):
        err.update(code=exc.code, errorMessage=exc.error_message)
    if isinstance(exc, WaitTimeoutError):
        err.update(operationId=exc.operation_id, timeout=exc.timeout)
        if exc.last_operation is not None:
            doc["operation"] = to_data(exc.last_operation)
        if isinstance(exc.__cause__, MintError):
            err["cause"] = {"type": type(exc.__cause__).__name__, "message": str(exc.__cause__)}
    if isinstance(exc, DownloadError) and isinstance(exc.report, DownloadReport):
        doc["download"] = report_data(exc.report)
    key = getattr(exc, "idempotency_key", None)
    if isinstance(key, str):
        err["idempotencyKey"] = key
    if hint:
        err["hint"] = hint
    return doc


# --------------------------------------------------------------------------------- tables


def print_rows(console: Console, columns: Sequence[str], rows: Sequence[Sequence[object]],
               title: str | None = None, right: Sequence[str] = ()) -> None:  # fmt: skip
    """A table on a terminal; tab-separated lines (a header, then one per row) when piped, so
    that ids and checksums are never cut to the width of an imaginary terminal and
    ``cut``/``grep`` work. Cells are whole in both forms (long ones fold on a terminal)."""
    cells = [[text(c) for c in row] for row in rows]  # escapes tabs and newlines in cells too
    if not console.is_terminal:
        if title is not None:
            console.file.write(f"# {text(title)}\n")
        for line in (columns, *cells):
            console.file.write("\t".join(line) + "\n")
        console.file.flush()
        return
    table = Table(title=text(title) if title is not None else None)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", overflow="fold")
    for row in cells:
        table.add_row(*row)
    console.print(table)


def print_report(console: Console, report: DownloadReport) -> None:
    """The files of a download: kind, name, size (IEC), the whole sha256, what happened."""
    print_rows(console, ("kind", "file", "size", "sha256", "status"),
               [(a.kind, a.path.name, human_size(a.bytes), a.sha256 or "-",
                 a.status if a.ok else f"failed: {a.error}") for a in report.assets],
               title=f"{report.resource_id} -> {report.directory}", right=("size",))  # fmt: skip
