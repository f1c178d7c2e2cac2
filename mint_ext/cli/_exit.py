"""The exit codes of ``mint`` (also in ``mint --help``)."""

from __future__ import annotations

__all__ = ["EXIT_API", "EXIT_DOWNLOAD", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_OPERATION",
           "EXIT_TIMEOUT", "EXIT_USAGE"]  # fmt: skip

EXIT_OK = 0
EXIT_OPERATION = 1  # the operation failed, was canceled, or needs billing
EXIT_USAGE = 2  # bad arguments, no API key
EXIT_TIMEOUT = 3  # a wait's deadline passed while the operation was still going
EXIT_API = 4  # API or network error (also a wait whose last polls failed)
EXIT_DOWNLOAD = 5  # one or more assets could not be downloaded
EXIT_INTERRUPTED = 130  # Ctrl-C; the message says how to resume
