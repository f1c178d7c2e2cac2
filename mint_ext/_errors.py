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

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

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
        >>> from mint_ext import MintError, OperationFailedError, WaitTimeoutError
        >>> try:
        ...     op = mint.operations.wait(failed_op)
        ... except OperationFailedError as exc:
        ...     print("failed:", exc.code)
        ... except WaitTimeoutError as exc:
        ...     print("still running; resume later with", exc.operation_id)
        ... except MintError as exc:
        ...     print("Mint error:", exc)
        failed: content_policy

    ``idempotency_key`` is the key of the request that failed, on every error of a call that
    sent one (pass it back as ``idempotency_key=`` when you retry the call yourself: if the server
    created the operation before the answer was lost, you get that operation, not a second one).

    **Errors survive a task queue.** ``exc.args`` is ``(message, fields)``: the message
    (``str(exc)``) and a dict of plain JSON values with every field of the error (status,
    request id, problem, retry hint, operation, report, idempotency key...). So
    ``type(exc)(*exc.args)`` rebuilds an equal error, also after ``json.dumps(exc.args)`` and
    back (what Celery's result backend does with its JSON serializer), and every error pickles
    (to pass it between processes). Neither way keeps ``response``/``request``: those carry the
    request's ``Authorization`` header, so they arrive as None.

    Example:
        >>> import json
        >>> exc = MintError("the API repeated pagination cursor 'c1'")
        >>> exc.idempotency_key = "job-7"
        >>> again = MintError(*json.loads(json.dumps(exc.args)))
        >>> str(again), again.idempotency_key
        ("the API repeated pagination cursor 'c1'", 'job-7')
    """

    def __init__(self, message: str = "", fields: Mapping[str, Any] | None = None) -> None:
        if fields is not None and not isinstance(fields, Mapping):
            raise TypeError(f"fields must be a mapping, not {type(fields).__name__}")
        super().__init__(str(message), dict(fields or {}))

    def _fields(self) -> dict[str, Any]:
        """The dict of ``args`` (made, keeping the message, when a subclass passed other args)."""
        args = self.args
        if len(args) == 2 and isinstance(args[1], dict):
            return args[1]
        data: dict[str, Any] = {}
        self.args = (str(self), data)
        return data

    def __str__(self) -> str:
        args = self.args
        if len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], dict):
            return args[0]
        return super().__str__()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    @property
    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` of the call that failed (None when it sent none)."""
        key = self._fields().get("idempotency_key")
        return key if isinstance(key, str) else None

    @idempotency_key.setter
    def idempotency_key(self, key: str | None) -> None:
        self._fields()["idempotency_key"] = key

    def __reduce__(self) -> tuple[Any, ...]:
        state = dict(self.__dict__)
        for name in ("response", "request"):
            if name in state:
                state[name] = None
        return (_rebuild_error, (type(self), self.args), state)


def _rebuild_error(cls: type[MintError], args: tuple[Any, ...]) -> MintError:
    """Unpickle without calling ``__init__`` (a subclass of yours may have another signature);
    the pickled attributes are then restored as they were."""
    return cls.__new__(cls, *args)


def _get(fields: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``fields[name]`` when it is of ``kind`` (bool is never a number), else None."""
    value = fields.get(name)
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        return None
    return value if isinstance(value, kind) else None


class ConfigurationError(MintError):
    """The client was set up wrongly (for example no API key)."""


class APIConnectionError(MintError):
    """The request got no HTTP answer (DNS, refused, reset, dropped connection).

    ``request`` is the ``httpx.Request`` that was sent (None after pickling or rebuilding).
    """

    def __init__(
        self,
        message: str,
        fields: Mapping[str, Any] | None = None,
        *,
        request: httpx.Request | None = None,
    ) -> None:
        super().__init__(message, fields)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class ResponseValidationError(MintError):
    """A response arrived but its body does not parse as what the spec promises.

    ``body`` keeps the raw bytes (at most 64 KiB), ``status_code`` and ``request_id`` the
    answer's, and ``response`` the whole ``httpx.Response`` (None after pickling or rebuilding).
    """

    def __init__(
        self,
        message: str,
        fields: Mapping[str, Any] | None = None,
        *,
        response: httpx.Response | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message, fields)
        data = self._fields()
        if response is not None:
            data["status_code"] = response.status_code
            data["request_id"] = response.headers.get("x-request-id")
        if body is not None:
            data["body_base64"] = base64.b64encode(body).decode("ascii")
        self.response: httpx.Response = cast(httpx.Response, response)  # see APIStatusError
        self.status_code: int | None = _get(data, "status_code", int)
        self.request_id: str | None = _get(data, "request_id", str)
        encoded = _get(data, "body_base64", str)
        try:
            self.body: bytes = base64.b64decode(encoded, validate=True) if encoded else b""
        except ValueError:
            raise TypeError("body_base64 is not base64") from None


class APIStatusError(MintError):
    """The API answered with an error status; carries the RFC 9457 problem fields.

    ``problem`` is the whole problem document; ``type``, ``title``, ``detail`` and ``errors``
    (one ``{path, message}`` per invalid field) come from it. ``response`` is the whole
    ``httpx.Response`` (None after pickling or rebuilding).

    Example:
        >>> from mint_ext import APIStatusError
        >>> try:
        ...     mint.operations.get("op_missing")
        ... except APIStatusError as exc:
        ...     print(exc.status_code, exc.type, exc.detail, exc.request_id.startswith("req_"))
        404 https://api.mint.gg/problems/not-found No such operation. True
    """

    status_code: int
    _default_status: int | None = None  # the status of a class that has only one

    def __init__(
        self,
        message: str,
        fields: Mapping[str, Any] | None = None,
        *,
        response: httpx.Response | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, fields)
        data = self._fields()
        if response is not None:
            data["status_code"] = response.status_code
            data["request_id"] = response.headers.get("x-request-id")
        if problem is not None:
            data["problem"] = dict(problem)
        status = _get(data, "status_code", int)
        if status is None:
            status = data["status_code"] = self._default_status
        if status is None:
            raise TypeError(f"{type(self).__name__} needs a response or a status_code field")
        # Typed as always there (what the SDK raises has it); None only after pickling or
        # rebuilding from args, where the Authorization header it carries must not travel.
        self.response: httpx.Response = cast(httpx.Response, response)
        self.status_code = status
        self.request_id: str | None = _get(data, "request_id", str)
        problem = _get(data, "problem", Mapping) or {}
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

    _default_status = 422


class AuthenticationError(APIStatusError):
    """401: missing or unknown API key."""

    _default_status = 401


class InsufficientCreditsError(APIStatusError):
    """402: not enough Credits."""

    _default_status = 402


class PermissionDeniedError(APIStatusError):
    """403: the credential may not do this."""

    _default_status = 403


class NotFoundError(APIStatusError):
    """404: no such operation, world or model for this API project."""

    _default_status = 404


class ConflictError(APIStatusError):
    """409: a state conflict (e.g. approving an operation that is not preview-ready)."""

    _default_status = 409


class IdempotencyConflictError(ConflictError):
    """409 ``idempotency-conflict``: the Idempotency-Key was used with a different request."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any.

    Example:
        >>> from mint_ext import RateLimitError
        >>> from mint_ext.testing import Fault
        >>> fake.inject(Fault.status(429, retry_after="2"))  # the fake's next answer: a 429
        >>> try:
        ...     op = mint.operations.get(op.id, max_retries=0)  # the SDK retries 429s by default
        ... except RateLimitError as exc:
        ...     delay = exc.retry_after or 1.0  # seconds to wait before trying again
        ...     print(exc.status_code, delay)
        429 2.0
    """

    _default_status = 429

    def __init__(
        self,
        message: str,
        fields: Mapping[str, Any] | None = None,
        *,
        response: httpx.Response | None = None,
        problem: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, fields, response=response, problem=problem)
        data = self._fields()
        if retry_after is not None:
            data["retry_after"] = retry_after
        hint = _get(data, "retry_after", (int, float))
        self.retry_after: float | None = None if hint is None else float(hint)


class InternalServerError(APIStatusError):
    """Any 5xx answer, including statuses outside the IANA list such as 520."""

    _default_status = 500


def _operation_from(data: dict[str, Any], operation: Operation | None) -> Operation:
    """The operation given, else the one in ``fields["operation"]`` (a ``to_dict()``)."""
    if operation is not None:
        data["operation"] = operation.to_dict()
        data["operation_id"] = operation.id
        return operation
    raw = _get(data, "operation", Mapping)
    if raw is None:
        raise TypeError("an operation error needs an operation (or its to_dict() in fields)")
    from ._models import Operation

    try:
        return Operation.from_dict(raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise TypeError(f"fields['operation'] is not an operation: {exc}") from None


class OperationError(MintError):
    """An operation reached a state the caller has to handle (``operation``, ``operation_id``)."""

    def __init__(
        self,
        message: str,
        fields: Mapping[str, Any] | None = None,
        *,
        operation: Operation | None = None,
    ) -> None:
        super().__init__(message, fields)
        self.operation = _operation_from(self._fields(), operation)
        self.operation_id = self.operation.id


def _message_and_operation(
    first: Operation | str, fields: Mapping[str, Any] | None
) -> tuple[str | None, Operation | None, Mapping[str, Any] | None]:
    """``Cls(operation)`` as the SDK raises it, or ``Cls(message, fields)`` as rebuilt."""
    if isinstance(first, str):
        return first, None, fields
    if fields is not None:
        raise TypeError("pass fields only with a message")
    return None, first, None


class OperationFailedError(OperationError):
    """The operation ``failed``: ``code`` and ``error_message`` come from ``operation.error``.

    Built as ``OperationFailedError(operation)``; ``OperationFailedError(*exc.args)`` rebuilds one.

    Example:
        >>> from mint_ext import OperationFailedError
        >>> try:
        ...     mint.operations.wait(failed_op)
        ... except OperationFailedError as exc:
        ...     print(exc.code, exc.error_message, exc.operation.id == failed_op.id)
        content_policy The prompt was refused. True
    """

    def __init__(self, operation: Operation | str, fields: Mapping[str, Any] | None = None) -> None:
        message, op, fields = _message_and_operation(operation, fields)
        if op is not None:
            err = op.error
            code, text = (err.code, err.message) if err else (None, None)
            message = f"operation {op.id} failed: {code or 'unknown'}: {text or ''}"
            fields = {"code": code, "error_message": text}
        assert message is not None
        super().__init__(message, fields, operation=op)
        data = self._fields()
        self.code: str | None = _get(data, "code", str)
        self.error_message: str | None = _get(data, "error_message", str)


class OperationCanceledError(OperationError):
    """The operation was ``canceled``. Built as ``OperationCanceledError(operation)``."""

    def __init__(self, operation: Operation | str, fields: Mapping[str, Any] | None = None) -> None:
        message, op, fields = _message_and_operation(operation, fields)
        if op is not None:
            message = f"operation {op.id} was canceled"
        assert message is not None
        super().__init__(message, fields, operation=op)


class BillingRequiredError(OperationError):
    """``billing_required``: top up Credits, then ``operations.resume(op)`` and wait again.

    ``billing`` is the operation's billing details (``required_credits``, ``action_url``).
    Built as ``BillingRequiredError(operation)``.
    """

    def __init__(self, operation: Operation | str, fields: Mapping[str, Any] | None = None) -> None:
        message, op, fields = _message_and_operation(operation, fields)
        if op is not None:
            need = f" ({op.billing.required_credits:g} Credits needed)" if op.billing else ""
            message = f"operation {op.id} needs billing{need}; top up, then resume it"
        assert message is not None
        super().__init__(message, fields, operation=op)
        self.billing = self.operation.billing


class WaitTimeoutError(MintError):
    """The wait's deadline passed. ``last_operation`` is the newest state seen, if any.

    Built as ``WaitTimeoutError(operation_id, last_operation, timeout)``;
    ``WaitTimeoutError(*exc.args)`` (a message and its fields) rebuilds one.

    Example:
        >>> from mint_ext import WaitTimeoutError
        >>> op = mint.worlds.generate(prompt="A slow cathedral")
        >>> try:
        ...     op = mint.operations.wait(op, timeout=2)
        ... except WaitTimeoutError as exc:
        ...     print("timed out; continuing")
        ...     op = mint.operations.wait(exc.operation_id)  # continue, here or in another process
        timed out; continuing
        >>> print(op.status)
        succeeded
    """

    def __init__(
        self,
        operation_id: str,
        last_operation: Operation | Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> None:
        if timeout is None:  # rebuilt: (message, fields)
            if last_operation is not None and not isinstance(last_operation, Mapping):
                raise TypeError("WaitTimeoutError(operation_id, last_operation, timeout)")
            super().__init__(operation_id, last_operation)
            data = self._fields()
            raw = _get(data, "last_operation", Mapping)
            last: Operation | None = None
            if raw is not None:
                from ._models import Operation

                try:
                    last = Operation.from_dict(raw)
                except (ValueError, KeyError, TypeError) as exc:
                    raise TypeError(
                        f"fields['last_operation'] is not an operation: {exc}"
                    ) from None
            op_id, seconds = _get(data, "operation_id", str), _get(data, "timeout", (int, float))
            if op_id is None or seconds is None:
                raise TypeError("WaitTimeoutError needs operation_id and timeout fields")
        else:
            if isinstance(last_operation, Mapping):
                raise TypeError("last_operation must be an Operation or None")
            last, op_id, seconds = last_operation, operation_id, timeout
            status = last.status if last else "unknown"
            super().__init__(
                f"operation {op_id} still {status} after {seconds:g}s; "
                "wait again with the same id to continue",
                {
                    "operation_id": op_id,
                    "timeout": seconds,
                    "last_status": None if last is None else str(last.status),
                    "last_operation": None if last is None else last.to_dict(),
                },
            )
        self.operation_id: str = op_id
        self.last_operation: Operation | None = last
        self.timeout: float = float(seconds)


class AssetVerificationError(MintError):
    """A downloaded asset failed verification (byte count, file signature, HTML instead of data).

    Nothing is written at the final path when this is raised. ``url`` has no query string.
    """

    def __init__(
        self, message: str, fields: Mapping[str, Any] | None = None, *, url: str | None = None
    ) -> None:
        super().__init__(message, fields)
        data = self._fields()
        if url is not None:
            data["url"] = url
        self.url: str | None = _get(data, "url", str)


class UnsafePathError(MintError):
    """A file would land outside the target folder, or through a symlink. Nothing is written.

    Example:
        >>> from mint_ext import UnsafePathError
        >>> elsewhere = out.parent / "elsewhere"
        >>> elsewhere.mkdir()
        >>> (out / op.resource_id).symlink_to(elsewhere)  # the target folder leads out of out/
        >>> try:
        ...     mint.assets.download(op, out)
        ... except UnsafePathError as exc:
        ...     print("refused; written:", list(elsewhere.iterdir()))
        refused; written: []
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


_report_reader: Callable[[Mapping[str, Any]], Any] | None = None


def set_report_reader(reader: Callable[[Mapping[str, Any]], Any]) -> None:
    """Called by ``_download_core`` with ``DownloadReport.from_dict``, which rebuilds the
    ``report`` of a ``DownloadError`` from its ``to_dict()`` (no import of the downloads here)."""
    global _report_reader
    _report_reader = reader


def _report_fields(data: dict[str, Any], report: Any) -> Any:
    """Put ``report`` (a ``DownloadReport``) in ``data`` as its ``to_dict()``, or read it back."""
    if report is not None:
        to_dict = getattr(report, "to_dict", None)
        if callable(to_dict):
            data["report"] = to_dict()
            summary = getattr(report, "summary", None)
            data["summary"] = summary() if callable(summary) else None
        return report
    raw = _get(data, "report", Mapping)
    if raw is None or _report_reader is None:
        return None
    try:
        return _report_reader(raw)
    except MintError as exc:  # InvalidArgumentError: not a report's to_dict()
        raise TypeError(str(exc)) from None


class DownloadError(MintError):
    """At least one asset failed to download; ``report`` lists every asset and its outcome.

    ``report`` is the ``DownloadReport`` (rebuilt from its ``to_dict()`` by
    ``DownloadError(*exc.args)``, the asset errors by class and message).

    Example:
        >>> from mint_ext import DownloadError
        >>> from mint_ext.testing import Fault
        >>> fake.inject(Fault.status(404), route="ASSET", times=3)  # the CDN loses a file
        >>> try:
        ...     mint.assets.download(op, out, include=["thumbnail", "caption"])
        ... except DownloadError as exc:
        ...     for asset in exc.report.failed:
        ...         print(asset.kind, type(asset.error).__name__)
        thumbnail NotFoundError
    """

    def __init__(
        self, message: str, fields: Mapping[str, Any] | None = None, *, report: Any = None
    ) -> None:
        super().__init__(message, fields)
        self.report = _report_fields(self._fields(), report)


class DownloadInProgressError(DownloadError):
    """Another downloader (thread, task or process) is writing the same target file.

    Raised by ``download(..., if_busy="raise")`` at once, and with the default ``"wait"`` when
    the lock was not free within ``lock_timeout`` seconds. ``path`` is the busy file's lock;
    ``report`` is the whole download's report when raised by ``download()`` (None on the
    per-asset error inside that report). Nothing of the other writer's file is touched.

    Example:
        >>> from filelock import FileLock
        >>> from mint_ext import DownloadInProgressError
        >>> (out / op.resource_id).mkdir()
        >>> other = FileLock(out / op.resource_id / ".thumbnail.lock")  # as another process would
        >>> with other:
        ...     try:
        ...         mint.assets.download(op, out, include=["thumbnail"], if_busy="raise")
        ...     except DownloadInProgressError as exc:
        ...         print("someone else is downloading", exc.path.name)
        someone else is downloading .thumbnail.lock
    """

    def __init__(
        self,
        message: str,
        fields: Mapping[str, Any] | None = None,
        *,
        report: Any = None,
        path: Any = None,
    ) -> None:
        super().__init__(message, fields, report=report)
        data = self._fields()
        if path is not None:
            data["path"] = str(path)
        text = _get(data, "path", str)
        self.path: Any = path if path is not None else (None if text is None else Path(text))


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
