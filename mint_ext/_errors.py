"""The one error tree of the SDK. Every public call raises only these.

::

    MintError
    ├── ConfigurationError            bad client setup (no API key, bad base URL)
    ├── APIConnectionError            the request never got an HTTP answer
    │   └── APITimeoutError           ... because it timed out
    ├── ResponseValidationError       an answer arrived but does not parse (keeps body and response)
    ├── APIStatusError                the API answered 4xx/5xx (problem fields, request_id, response)
    │   ├── UnprocessableEntityError  400 / 422
    │   ├── AuthenticationError       401
    │   ├── InsufficientCreditsError  402
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── ConflictError             409
    │   │   └── IdempotencyConflictError   problem type ``idempotency-conflict``
    │   ├── RateLimitError            429 (``retry_after``)
    │   └── InternalServerError       any 5xx, including non-IANA ones such as 520
    ├── OperationError                an operation ended in a way the caller must handle
    │   ├── OperationFailedError      status ``failed`` (error code and message)
    │   ├── OperationCanceledError    status ``canceled``
    │   └── BillingRequiredError      status ``billing_required`` (billing details; resume later)
    ├── WaitTimeoutError              a wait's deadline passed (operation id, last operation seen)
    ├── AssetVerificationError        a downloaded file is not what it claims (size, signature)
    ├── UnsafePathError               a file would land outside the target folder or via a symlink
    ├── UnsafeRedirectError           an asset redirect was refused (https -> http, too many hops)
    └── DownloadError                 one or more assets could not be downloaded (the report)
        └── DownloadInProgressError   another downloader holds the lock of a target file
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ._models import Operation

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "AssetVerificationError",
    "DownloadError",
    "DownloadInProgressError",
    "APITimeoutError",
    "AuthenticationError",
    "BillingRequiredError",
    "ConfigurationError",
    "ConflictError",
    "IdempotencyConflictError",
    "InsufficientCreditsError",
    "InternalServerError",
    "MintError",
    "NotFoundError",
    "OperationCanceledError",
    "OperationError",
    "OperationFailedError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "UnsafePathError",
    "UnsafeRedirectError",
    "WaitTimeoutError",
]


class MintError(Exception):
    """Root of every error the SDK raises.

    Example:
        >>> try:                                                  # doctest: +SKIP
        ...     op = mint.operations.wait(op)
        ... except OperationFailedError as exc:
        ...     print("failed:", exc.code)
        ... except WaitTimeoutError as exc:
        ...     print("still running; resume later with", exc.operation_id)
        ... except MintError as exc:
        ...     print("Mint error:", exc)

    ``idempotency_key`` is the key of the request that failed, on every error of a call that
    sent one (pass it back as ``idempotency_key=`` when you retry the call yourself: if the server
    created the operation before the answer was lost, you get that operation, not a second one).

    Errors pickle (to pass them between processes) without their ``response``/``request``:
    those carry the request's ``Authorization`` header, so they arrive as None; every other
    attribute (status, problem fields, operation, report...) is kept.
    """

    idempotency_key: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        state = dict(self.__dict__)
        for name in ("response", "request"):
            if name in state:
                state[name] = None
        return (_rebuild_error, (type(self), self.args), state)


def _rebuild_error(cls: type[MintError], args: tuple[Any, ...]) -> MintError:
    """Unpickle without calling ``__init__`` (whose signature differs per class)."""
    return cls.__new__(cls, *args)


class ConfigurationError(MintError):
    """The client was set up wrongly (for example no API key)."""


class APIConnectionError(MintError):
    """The request got no HTTP answer (DNS, refused, reset, dropped connection)."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class ResponseValidationError(MintError):
    """A response arrived but its body does not parse as what the spec promises.

    ``body`` keeps the raw bytes and ``response`` the whole ``httpx.Response``.
    """

    def __init__(self, message: str, *, response: httpx.Response, body: bytes) -> None:
        super().__init__(message)
        self.response = response
        self.body = body
        self.status_code = response.status_code
        self.request_id = response.headers.get("x-request-id")


class APIStatusError(MintError):
    """The API answered with an error status; carries the RFC 9457 problem fields.

    Example:
        >>> try:                                                  # doctest: +SKIP
        ...     mint.operations.get("op_missing")
        ... except APIStatusError as exc:
        ...     print(exc.status_code, exc.type, exc.detail, exc.request_id)
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.request_id: str | None = response.headers.get("x-request-id")
        problem = problem or {}
        self.problem: Mapping[str, Any] = problem
        self.type: str | None = _str_or_none(problem.get("type"))
        self.title: str | None = _str_or_none(problem.get("title"))
        self.detail: str | None = _str_or_none(problem.get("detail"))
        errors = problem.get("errors")
        self.errors: Sequence[Mapping[str, Any]] = (
            [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
        )

    @property
    def problem_slug(self) -> str | None:
        """The last path segment of the problem ``type`` (``idempotency-conflict``)."""
        if not self.type:
            return None
        return self.type.rstrip("/").rsplit("/", 1)[-1]


class UnprocessableEntityError(APIStatusError):
    """400 or 422: the request was rejected as invalid (see ``errors``)."""


class AuthenticationError(APIStatusError):
    """401: missing or unknown API key."""


class InsufficientCreditsError(APIStatusError):
    """402: not enough Credits."""


class PermissionDeniedError(APIStatusError):
    """403: the credential may not do this."""


class NotFoundError(APIStatusError):
    """404: no such operation, world or model for this API project."""


class ConflictError(APIStatusError):
    """409: a state conflict (e.g. approving an operation that is not preview-ready)."""


class IdempotencyConflictError(ConflictError):
    """409 ``idempotency-conflict``: the Idempotency-Key was used with a different request."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any.

    Example:
        >>> except RateLimitError as exc:                         # doctest: +SKIP
        ...     time.sleep(exc.retry_after or 1)
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        problem: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, response=response, problem=problem)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """Any 5xx answer, including statuses outside the IANA list such as 520."""


class OperationError(MintError):
    """An operation reached a state the caller has to handle."""

    def __init__(self, message: str, *, operation: Operation) -> None:
        super().__init__(message)
        self.operation = operation
        self.operation_id = operation.id


class OperationFailedError(OperationError):
    """The operation ``failed``: ``code`` and ``message`` come from ``operation.error``.

    Example:
        >>> except OperationFailedError as exc:                   # doctest: +SKIP
        ...     print(exc.code, exc.error_message, exc.operation.id)
    """

    def __init__(self, operation: Operation) -> None:
        err = operation.error
        self.code: str | None = err.code if err else None
        self.error_message: str | None = err.message if err else None
        super().__init__(
            f"operation {operation.id} failed: {self.code or 'unknown'}: {self.error_message or ''}",
            operation=operation,
        )


class OperationCanceledError(OperationError):
    """The operation was ``canceled``."""

    def __init__(self, operation: Operation) -> None:
        super().__init__(f"operation {operation.id} was canceled", operation=operation)


class BillingRequiredError(OperationError):
    """``billing_required``: top up Credits, then ``operations.resume(op)`` and wait again."""

    def __init__(self, operation: Operation) -> None:
        self.billing = operation.billing
        need = f" ({self.billing.required_credits:g} Credits needed)" if self.billing else ""
        super().__init__(
            f"operation {operation.id} needs billing{need}; top up, then resume it",
            operation=operation,
        )


class WaitTimeoutError(MintError):
    """The wait's deadline passed. ``last_operation`` is the newest state seen, if any.

    Example:
        >>> except WaitTimeoutError as exc:                       # doctest: +SKIP
        ...     op = mint.operations.wait(exc.operation_id)   # continue later
    """

    def __init__(self, operation_id: str, last_operation: Operation | None, timeout: float) -> None:
        status = last_operation.status if last_operation else "unknown"
        super().__init__(
            f"operation {operation_id} still {status} after {timeout:g}s; "
            "wait again with the same id to continue"
        )
        self.operation_id = operation_id
        self.last_operation = last_operation
        self.timeout = timeout


class AssetVerificationError(MintError):
    """A downloaded asset failed verification (byte count, file signature, HTML instead of data).

    Nothing is written at the final path when this is raised.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class UnsafePathError(MintError):
    """A file would land outside the target folder, or through a symlink. Nothing is written.

    Example:
        >>> from mint_ext._download_core import confined
        >>> confined(Path("out"), "../etc/passwd")  # doctest: +SKIP
        Traceback (most recent call last):
        UnsafePathError: ...
    """


class UnsafeRedirectError(MintError):
    """An asset redirect was refused (https -> http, a non-http scheme, or too many hops).

    Example:
        >>> from mint_ext._download_core import resolve_redirect
        >>> resolve_redirect("https://cdn.example/a", "http://cdn.example/a", 0)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        mint_ext.UnsafeRedirectError: refused redirect from https to http: http://cdn.example/a
    """


class DownloadError(MintError):
    """At least one asset failed to download; ``report`` lists every asset and its outcome.

    Example:
        >>> except DownloadError as exc:                          # doctest: +SKIP
        ...     for asset in exc.report.failed:
        ...         print(asset.kind, asset.error)
    """

    def __init__(self, message: str, *, report: Any) -> None:
        super().__init__(message)
        self.report = report


class DownloadInProgressError(DownloadError):
    """Another downloader (thread, task or process) is writing the same target file.

    Raised by ``download(..., if_busy="raise")`` at once, and with the default ``"wait"`` when
    the lock was not free within ``lock_timeout`` seconds. ``path`` is the busy file's lock;
    ``report`` is the whole download's report when raised by ``download()`` (None on the
    per-asset error inside that report). Nothing of the other writer's file is touched.

    Example:
        >>> try:                                                  # doctest: +SKIP
        ...     mint.assets.download(op, "out/", if_busy="raise")
        ... except DownloadInProgressError as exc:
        ...     print("someone else is downloading", exc.path)
    """

    def __init__(self, message: str, *, report: Any = None, path: Any = None) -> None:
        super().__init__(message, report=report)
        self.path = path


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: UnprocessableEntityError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _problem(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        return None
    return data if isinstance(data, dict) else None


def _field_errors(errors: object, limit: int = 10) -> str:
    """``prompt: must not be empty; imageUrl: must be a URL`` from a problem's ``errors``
    (RFC 9457 extension: one ``{path, message}`` object per invalid field), at most ``limit``."""
    if not isinstance(errors, list):
        return ""
    parts = []
    for e in errors:
        if isinstance(e, Mapping):
            path, msg = e.get("path") or e.get("field"), e.get("message") or e.get("detail")
            if isinstance(msg, str) and msg:
                parts.append(f"{path}: {msg}" if isinstance(path, str) and path else msg)
    more = f"; and {len(parts) - limit} more" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def error_from_response(
    response: httpx.Response, *, retry_after: float | None = None
) -> APIStatusError:
    """Map an error response to its class (the only place statuses become exceptions)."""
    problem = _problem(response)
    status = response.status_code
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    slug = None
    if problem and isinstance(problem.get("type"), str):
        slug = problem["type"].rstrip("/").rsplit("/", 1)[-1]
    if cls is ConflictError and slug == "idempotency-conflict":
        cls = IdempotencyConflictError
    title = (problem or {}).get("title") or response.reason_phrase or "error"
    detail = (problem or {}).get("detail")
    try:
        message = f"{response.request.method} {response.request.url.path} -> {status} {title}"
    except RuntimeError:  # a response built by hand has no request
        message = f"{status} {title}"
    if isinstance(detail, str) and detail:
        message += f": {detail}"
    fields = _field_errors((problem or {}).get("errors"))
    if fields:
        message += f" [{fields}]"
    request_id = response.headers.get("x-request-id")
    if request_id:
        message += f" (request id {request_id})"
    if cls is RateLimitError:
        return RateLimitError(message, response=response, problem=problem, retry_after=retry_after)
    return cls(message, response=response, problem=problem)
