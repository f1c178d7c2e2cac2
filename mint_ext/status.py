"""Status predicates on a bare operation status string.

The same predicates are properties of every :class:`mint_ext.Operation`. A status this SDK does not
know (the API has added values before) is neither terminal nor an error: it counts as *active*, so
a waiter keeps polling.

Example:
    >>> from mint_ext import status
    >>> status.is_terminal("succeeded"), status.is_active("paused")
    (True, True)
    >>> status.needs_action("preview_ready", generation_mode="review")
    True
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACTIVE",
    "BILLING_REQUIRED",
    "CANCELED",
    "FAILED",
    "KNOWN",
    "PARTIALLY_SUCCEEDED",
    "PREVIEW_READY",
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "TERMINAL",
    "is_active",
    "is_canceled",
    "is_failed",
    "is_known",
    "is_partial",
    "is_preview_ready",
    "is_succeeded",
    "is_terminal",
    "needs_action",
]

QUEUED: Final = "queued"
RUNNING: Final = "running"
PREVIEW_READY: Final = "preview_ready"
BILLING_REQUIRED: Final = "billing_required"
SUCCEEDED: Final = "succeeded"
PARTIALLY_SUCCEEDED: Final = "partially_succeeded"
FAILED: Final = "failed"
CANCELED: Final = "canceled"

KNOWN: Final = frozenset(
    {
        QUEUED,
        RUNNING,
        PREVIEW_READY,
        BILLING_REQUIRED,
        SUCCEEDED,
        PARTIALLY_SUCCEEDED,
        FAILED,
        CANCELED,
    }
)
TERMINAL: Final = frozenset({SUCCEEDED, PARTIALLY_SUCCEEDED, FAILED, CANCELED})
ACTIVE: Final = frozenset({QUEUED, RUNNING})


def is_known(status: str) -> bool:
    """True for the statuses this SDK knows."""
    return status in KNOWN


def is_terminal(status: str) -> bool:
    """succeeded, partially_succeeded, failed or canceled: nothing more will happen."""
    return status in TERMINAL


def is_active(status: str) -> bool:
    """queued or running, or a status this SDK does not know (treated as still in progress)."""
    return status in ACTIVE or status not in KNOWN


def is_preview_ready(status: str) -> bool:
    """preview_ready: a preview to look at (review mode waits for approve or revise)."""
    return status == PREVIEW_READY


def needs_action(status: str, generation_mode: str | None = None) -> bool:
    """Waiting on the caller: a preview in review mode (approve/revise), or billing_required.

    With ``generation_mode`` unknown (None), ``preview_ready`` counts as needing action.
    """
    if status == BILLING_REQUIRED:
        return True
    return status == PREVIEW_READY and generation_mode in (None, "review")


def is_succeeded(status: str) -> bool:
    """succeeded, including partially_succeeded (see :func:`is_partial`)."""
    return status in (SUCCEEDED, PARTIALLY_SUCCEEDED)


def is_partial(status: str) -> bool:
    """partially_succeeded: some assets are missing."""
    return status == PARTIALLY_SUCCEEDED


def is_failed(status: str) -> bool:
    """failed: ``operation.error`` says why."""
    return status == FAILED


def is_canceled(status: str) -> bool:
    """canceled."""
    return status == CANCELED
