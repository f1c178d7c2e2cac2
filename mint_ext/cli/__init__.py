"""The ``mint`` command line: the SDK from a shell, and ``mint demo``, the offline tour.

Built on click (subcommand groups, env-var options, well-tested parsing) and rich (live status
line, per-file progress bars, tables), both from the ``cli`` extra: ``pip install 'mint-sdk[cli]'``.

Exit codes (also in ``mint --help``):

====  =====================================================================
0     success
1     the operation failed, was canceled, or needs billing
2     usage error (bad arguments, no API key)
3     a wait timed out while the operation was still going (wait again to resume)
4     API or network error, also a wait whose deadline passed while the polls failed
5     one or more assets could not be downloaded
130   interrupted (Ctrl-C); the message says how to resume
====  =====================================================================

Output: results go to stdout; progress, messages and hints to stderr. With ``--json`` stdout
holds exactly one JSON document: the result (operations, worlds and models exactly as the API
sends them, camelCase; download reports in the same convention), or on failure an error object
``{"error": {"type", "message", "exitCode", ...}}`` with the operation or download report it
concerns, and the same exit code as without ``--json``. When stderr is not a terminal, progress is
plain lines instead of live bars; when stdout is not a terminal, tables are tab-separated lines,
whole. Sizes are IEC (KiB, MiB, GiB) everywhere.

Modules: ``_app`` (the click group, commands, exit codes), ``_output`` (safe text, sizes, tables,
JSON), ``_progress`` (wait and download displays).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._exit import (
    EXIT_API,
    EXIT_DOWNLOAD,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OPERATION,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)

__all__ = ["EXIT_API", "EXIT_DOWNLOAD", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_OPERATION",
           "EXIT_TIMEOUT", "EXIT_USAGE", "main"]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mint`` console script (``argv`` default: ``sys.argv[1:]``);
    returns the exit code instead of exiting."""
    try:
        from ._app import run
    except ImportError as exc:  # pragma: no cover - the cli extra is not installed
        print(f"the mint command needs its extras ({exc}): pip install 'mint-sdk[cli]'",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    return run(argv)
