"""The logging switch: ``MINT_LOG=debug`` (or ``info``) prints a line per request to stderr.

Lines go to the ``mint_ext`` logger: ``info`` has one line per HTTP request (method, path, status,
elapsed, attempt, request id); ``debug`` adds the retry decisions. The API key is never logged
(only the path of a URL is, never its query, which may hold a signature). Without the variable
the library adds no handler: configure the ``mint_ext`` logger like any other.
"""

from __future__ import annotations

import logging
import os
import sys

from ._errors import ConfigurationError

__all__ = ["configure_from_environment", "logger"]

logger = logging.getLogger("mint_ext")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_handler: logging.Handler | None = None


def configure_from_environment() -> None:
    """Apply ``MINT_LOG`` (read at each client construction); once set up, a handler is reused."""
    global _handler
    value = os.environ.get("MINT_LOG", "").strip().lower()
    if not value:
        return
    if value not in _LEVELS:
        raise ConfigurationError(f"MINT_LOG must be 'debug' or 'info', got {value!r}")
    if _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(_handler)
    logger.setLevel(_LEVELS[value])
