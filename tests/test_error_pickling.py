"""Every SDK error survives a task queue: pickle, ``type(exc)(*exc.args)`` and JSON (issue 15).

Each error of ``mint_ext.__all__`` is made the way the SDK makes it (real calls against the fake,
on loopback where a real socket is needed, real downloads into a real folder), then sent through
the three ways a queue carries an exception: pickle (multiprocessing, Celery's pickle
serializer), ``type(exc)(*exc.args)``, and ``json.dumps(exc.args)`` before that (Celery's JSON
result backend, checked through Celery's own backend code too). Type, message and every key
field must survive; the API key never travels.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import filelock
import pytest
from celery import Celery

import mint_ext
from mint_ext import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssetVerificationError,
    AuthenticationError,
    BillingRequiredError,
    ConfigurationError,
    ConflictError,
    DownloadError,
    DownloadInProgressError,
    IdempotencyConflictError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidArgumentError,
    Mint,
    MintError,
    NotFoundError,
    Operation,
    OperationCanceledError,
    OperationError,
    OperationFailedError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
    UnsafePathError,
    WaitTimeoutError,
)
from mint_ext._download_core import DownloadReport, confined, resolve_redirect
from mint_ext.testing import FakeClock, FakeMint, Fault, serve_fake_mint

from ._harness import api_on_fake

KEY = "sk_live_do_not_leak_0123456789"

# The attributes that make an error useful after it crossed a queue, compared after each trip.
FIELDS = (
    "status_code", "request_id", "problem", "type", "title", "detail", "errors", "problem_slug",
    "retry_after", "operation_id", "operation", "code", "error_message", "billing",
    "idempotency_key", "timeout", "last_operation", "url", "path", "report", "body",
)  # fmt: skip


def _comparable(value: Any) -> Any:
    """Models and reports by their data; exceptions nested in a report by class and message."""
    if isinstance(value, Operation | DownloadReport):
        return value.to_dict()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def _fields(exc: MintError) -> dict[str, Any]:
    return {n: _comparable(getattr(exc, n)) for n in FIELDS if hasattr(exc, n)}


def _mint(fake: FakeMint, **kwargs: Any) -> Mint:
    """A client on the in-process fake whose sleeps move the fake's clock (waits take no time)."""
    client: Mint = api_on_fake("sync", fake, **kwargs).client
    return client


def _raised(call: Callable[[], object]) -> MintError:
    with pytest.raises(MintError) as info:
        call()
    return info.value


def _sdk_errors(tmp: Path) -> Iterator[MintError]:
    """One error of each kind, raised by the SDK itself."""
    fake = FakeMint(api_keys=(KEY,), clock=FakeClock())
    mint = _mint(fake, max_retries=0)
    key = "job-42-make-world"
    generate = "POST /v1/worlds:generate"

    yield _raised(lambda: mint.operations.get("op_missing"))  # NotFoundError, from the fake
    yield _raised(lambda: _mint(fake, api_key="sk_wrong").account.me())  # AuthenticationError
    for status, retry_after in ((422, None), (402, None), (403, None), (409, None),
                                (429, "7"), (503, None), (418, None)):  # fmt: skip
        fake.inject(Fault.status(status, retry_after=retry_after), route=generate)
        yield _raised(lambda: mint.worlds.generate(prompt="p", idempotency_key=key))
    mint.worlds.generate(prompt="a harbour", idempotency_key="job-1")  # IdempotencyConflictError
    yield _raised(lambda: mint.worlds.generate(prompt="a forest", idempotency_key="job-1"))
    fake.inject(Fault.malformed_json(), route="GET /v1/operations/{operationId}")
    op = mint.worlds.generate(prompt="p", idempotency_key="job-2")
    yield _raised(lambda: mint.operations.get(op.id))  # ResponseValidationError
    fake.inject(Fault.drop(), route=generate)  # APIConnectionError, keyed
    yield _raised(lambda: mint.worlds.generate(prompt="p", idempotency_key="job-3"))

    for outcome in ("failed", "billing_required"):
        fake.script(outcome, error_code="bad_prompt", error_message="no lanterns allowed")
        started = mint.worlds.generate(prompt="p")
        yield _raised(lambda op=started: mint.operations.wait(op, timeout=3600))
    op = mint.worlds.generate(prompt="p")
    fake.cancel(op.id)
    yield _raised(lambda: mint.operations.wait(op, timeout=3600))  # OperationCanceledError
    op = mint.worlds.generate(prompt="p")
    yield _raised(lambda: mint.operations.wait(op, timeout=0.5))  # WaitTimeoutError

    done = mint.operations.wait(mint.models.generate(prompt="a chair"), timeout=3600)
    fake.inject(Fault.html(200), route="ASSET")  # an HTML page for the thumbnail
    download = _raised(lambda: mint.assets.download(done, tmp, include=["thumbnail"]))
    assert isinstance(download, DownloadError) and download.report.failed
    yield download
    asset_error = download.report.failed[0].error
    assert isinstance(asset_error, AssetVerificationError), asset_error
    yield asset_error
    folder = tmp / str(done.resource.id if done.resource else "")
    with filelock.FileLock(str(folder / ".thumbnail.lock"), thread_local=False):
        yield _raised(  # DownloadInProgressError, the lock held by another writer
            lambda: mint.assets.download(done, tmp, include=["thumbnail"], if_busy="raise")
        )
    yield _raised(lambda: confined(tmp, "../etc/passwd"))  # UnsafePathError
    yield _raised(lambda: resolve_redirect("https://cdn.example/a", "http://cdn.example/a", 0))
    yield _raised(lambda: Mint(api_key=" ", base_url=fake.base_url))  # ConfigurationError
    yield _raised(lambda: mint.worlds.generate(prompt="p", idempotency_key="\x00"))
    failed = download.report  # not raised alone by the SDK: the bases, as a subclass calls them
    yield OperationError("operation needs attention", operation=done)
    base = MintError(f"the API repeated pagination cursor 'c1' ({failed.resource_id})")
    base.idempotency_key = "job-9"
    yield base

    with serve_fake_mint(FakeMint(api_keys=(KEY,))) as server:  # a real socket for a timeout
        slow = Mint(api_key=KEY, base_url=server.base_url, max_retries=0, timeout=0.2)
        server.fake.inject(Fault.slow(2.0), route="GET /v1/me")
        with slow:
            yield _raised(slow.account.me)  # APITimeoutError
    mint.close()


@pytest.fixture(scope="module")
def errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MintError]:
    made: dict[str, MintError] = {}
    for exc in _sdk_errors(tmp_path_factory.mktemp("downloads")):
        made.setdefault(type(exc).__name__, exc)
    return made


ERROR_CLASSES = sorted(
    name
    for name in mint_ext.__all__
    if isinstance(getattr(mint_ext, name), type) and issubclass(getattr(mint_ext, name), MintError)
)


def test_every_public_error_class_is_made_here(errors: dict[str, MintError]) -> None:
    assert len(ERROR_CLASSES) >= 25
    assert sorted(errors) == ERROR_CLASSES


def test_the_errors_carry_what_the_sdk_put_on_them(errors: dict[str, MintError]) -> None:
    """The fields compared below are really there (so the round trips compare something)."""
    not_found = errors["NotFoundError"]
    assert isinstance(not_found, NotFoundError) and not_found.status_code == 404
    assert not_found.request_id and not_found.type and not_found.title
    limited = errors["RateLimitError"]
    assert isinstance(limited, RateLimitError) and limited.retry_after == 7.0
    assert limited.idempotency_key == "job-42-make-world"
    assert errors["APIStatusError"].status_code == 418
    assert errors["InternalServerError"].status_code == 503
    assert errors["APIConnectionError"].idempotency_key == "job-3"
    assert errors["IdempotencyConflictError"].problem_slug == "idempotency-conflict"
    invalid = errors["ResponseValidationError"]
    assert isinstance(invalid, ResponseValidationError) and invalid.body and invalid.status_code
    failed = errors["OperationFailedError"]
    assert isinstance(failed, OperationFailedError)
    assert (failed.code, failed.error_message) == ("bad_prompt", "no lanterns allowed")
    billing = errors["BillingRequiredError"]
    assert isinstance(billing, BillingRequiredError) and billing.billing is not None
    late = errors["WaitTimeoutError"]
    assert isinstance(late, WaitTimeoutError) and late.timeout == 0.5
    assert late.last_operation is not None and late.operation_id == late.last_operation.id
    busy = errors["DownloadInProgressError"]
    assert isinstance(busy, DownloadInProgressError) and busy.path and busy.report is not None
    assert isinstance(errors["AssetVerificationError"], AssetVerificationError)
    assert errors["AssetVerificationError"].url
    assert errors["MintError"].idempotency_key == "job-9"


@pytest.mark.parametrize("name", ERROR_CLASSES)
def test_errors_round_trip_through_pickle_without_the_key(
    errors: dict[str, MintError], name: str
) -> None:
    error = errors[name]
    data = pickle.dumps(error)
    assert KEY.encode() not in data
    back = pickle.loads(data)
    assert type(back) is type(error) and str(back) == str(error) and back.args == error.args
    assert _fields(back) == _fields(error)
    for attr in ("response", "request"):
        if hasattr(error, attr):
            assert getattr(back, attr) is None  # the HTTP objects carry the Authorization header
    for attr, value in vars(error).items():  # every other attribute, not only the key ones
        if attr not in ("response", "request"):
            kept = getattr(back, attr)
            assert _comparable(kept) == _comparable(value) or repr(kept) == repr(value), attr


def _check_rebuilt(error: MintError, back: BaseException) -> None:
    assert type(back) is type(error), back
    assert isinstance(back, MintError) and str(back) == str(error)
    assert _fields(back) == _fields(error)
    for cls in type(error).__mro__:  # the whole tree: except clauses keep catching it
        assert isinstance(back, cls)


@pytest.mark.parametrize("name", ERROR_CLASSES)
def test_errors_rebuild_from_their_args(errors: dict[str, MintError], name: str) -> None:
    error = errors[name]
    _check_rebuilt(error, type(error)(*error.args))


@pytest.mark.parametrize("name", ERROR_CLASSES)
def test_errors_rebuild_from_their_args_through_json(
    errors: dict[str, MintError], name: str
) -> None:
    error = errors[name]
    text = json.dumps(error.args)  # plain JSON: no default= needed
    assert KEY not in text
    _check_rebuilt(error, type(error)(*json.loads(text)))


@pytest.mark.parametrize("serializer", ["json", "pickle"])
@pytest.mark.parametrize("name", ERROR_CLASSES)
def test_errors_come_back_from_celerys_result_backend(
    errors: dict[str, MintError], name: str, serializer: str
) -> None:
    """What ``AsyncResult.get()`` re-raises: Celery's own encode and decode of a failure."""
    app = Celery("t", broker="memory://", backend="cache+memory://", set_as_current=False)
    app.conf.result_serializer = serializer
    app.conf.accept_content = [serializer]
    backend = app.backend
    error = errors[name]
    stored = backend.decode(backend.encode(backend.prepare_exception(error, serializer)))
    back = backend.exception_to_python(stored)
    _check_rebuilt(error, back)


def test_the_old_keyword_forms_still_build_errors() -> None:
    """Every constructor form the SDK and its users call keeps working."""
    report = DownloadReport("model_1", Path("out/model_1"), ())
    assert DownloadError("1 failed", report=report).report == report
    assert DownloadInProgressError("busy", path=Path("x.lock")).path == Path("x.lock")
    assert AssetVerificationError("short", url="https://c/a").url == "https://c/a"
    assert APIConnectionError("reset", request=None).request is None
    assert str(UnsafePathError("outside")) == "outside" and repr(ConflictError("c")) == (
        "ConflictError('c')"
    )
    for cls, status in ((UnprocessableEntityError, 422), (AuthenticationError, 401),
                        (InsufficientCreditsError, 402), (PermissionDeniedError, 403),
                        (NotFoundError, 404), (IdempotencyConflictError, 409),
                        (InternalServerError, 500), (RateLimitError, 429)):  # fmt: skip
        assert cls("from a report").status_code == status  # a message alone, as in to_dict()
    assert issubclass(InvalidArgumentError, ValueError)
    assert issubclass(APITimeoutError, APIConnectionError) and ConfigurationError("x").args == (
        "x",
        {},
    )


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (APIStatusError, ("no status",)),  # the base class has no status of its own
        (OperationFailedError, ("no operation", {})),
        (OperationCanceledError, ("bad operation", {"operation": {"id": 1}})),
        (WaitTimeoutError, ("no id", {"timeout": 1})),
        (WaitTimeoutError, ("no timeout", {"operation_id": "op_1"})),
        (DownloadError, ("bad report", {"report": {"assets": 1}})),
        (ResponseValidationError, ("bad body", {"body_base64": "%%%"})),
        (MintError, ("bad fields", ["not", "a", "mapping"])),
    ],
)
def test_args_that_are_not_an_errors_own_are_a_type_error(cls: type, args: tuple[Any]) -> None:
    """As for any constructor called wrongly (Celery then falls back to a plain Exception)."""
    with pytest.raises(TypeError):
        cls(*args)
