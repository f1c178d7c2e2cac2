"""Bad settings and arguments fail at once, with a typed error, the same in sync and async."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from mint_ext import (
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    PollPolicy,
    ResponseValidationError,
    RetryPolicy,
)
from mint_ext._download_core import PartInfo, load_manifest

from ._harness import Api, Scripted, json_response, problem

DEEP = b"[" * 100_000 + b"]" * 100_000  # json.loads raises RecursionError on this


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_delay": -1},
        {"max_delay": math.nan},
        {"max_retry_after": -1},
        {"max_retry_after": math.inf},
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": True},
    ],
)
def test_retry_policy_rejects_values_that_cannot_be_waited(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": -1},
        {"max_delay": math.nan},
        {"jitter": 2},
        {"min_delay": -0.5},
        {"max_hint": -1},
    ],
)
def test_poll_policy_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(kwargs))):
        PollPolicy(**kwargs)
    with pytest.raises(ConfigurationError):
        PollPolicy.fixed(-1)


def test_backoff_stays_finite_however_many_attempts() -> None:
    policy = RetryPolicy(max_retries=5000, max_delay=8.0)
    assert policy.backoff(4999, lambda: 1.0) == 8.0


@pytest.mark.parametrize("timeout", [-5, 0, math.nan, math.inf, "30"])
def test_client_timeout_must_be_a_positive_number(mode: str, timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        Api(mode, timeout=timeout)


@pytest.mark.parametrize("name", ["authorization", "AUTHORIZATION", "Idempotency-Key"])
def test_default_headers_may_not_replace_what_the_sdk_sends(mode: str, name: str) -> None:
    with pytest.raises(ConfigurationError, match="may not set"):
        Api(mode, default_headers={name: "x"})


@pytest.mark.parametrize("name", ["X A", "X-A ", "", "X:A", "Ä"])
def test_default_header_names_must_be_http_tokens(mode: str, name: str) -> None:
    """Refused when the client is built, not by every later call after its retries."""
    with pytest.raises(ConfigurationError, match="header name"):
        Api(mode, default_headers={name: "x"})


def test_default_headers_given_twice_in_different_case_are_refused(mode: str) -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        Api(mode, default_headers={"X-Team": "a", "x-team": "b"})


def test_a_default_header_replaces_the_sdks_own_whatever_its_case(scripted: Scripted) -> None:
    api, wire = scripted(
        json_response(404, problem(404, "not-found")), default_headers={"user-agent": "mine/1"}
    )
    with pytest.raises(NotFoundError):
        api("operations.get", "op_1")
    (headers,) = [r.headers for r in wire.requests]
    assert headers.get_list("user-agent") == ["mine/1"]
    assert len(headers.get_list("authorization")) == 1


# Methods that return an iterator (sync) or an async iterator (async). A check made only when
# the first item is asked for would pass a test that iterates, so these tests never iterate: the
# call itself must raise, before anything is sent.
LAZY_RESULTS = [
    ("operations.poll", ("op_1",), {"timeout": -1}),
    ("operations.poll", ("op_1",), {"timeout": math.nan}),
    ("operations.poll", ("op_1",), {"timeout": "10"}),
    ("operations.as_completed", (["op_1"],), {"timeout": -1}),
    ("operations.as_completed", (["op_1"],), {"timeout": "10"}),
    ("operations.as_completed", ("op_1",), {}),
    ("operations.as_completed", (b"op_1",), {}),
    ("operations.as_completed", (5,), {}),
    ("operations.as_completed", (["op_1"],), {"max_concurrency": 0}),
    ("operations.as_completed", (["op_1"],), {"max_rate": -1}),
    ("worlds.list", (), {"limit": 0}),
    ("worlds.list", (), {"limit": 101}),
    ("models.list", (), {"limit": 0}),
]


@pytest.mark.parametrize(("path", "args", "kwargs"), LAZY_RESULTS)
def test_iterators_check_their_arguments_at_the_call(
    scripted: Scripted, path: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Raised where the mistake is written, not later at the first ``next``/``async for``."""
    api, wire = scripted(then="fail")  # a check must send nothing
    with pytest.raises(InvalidArgumentError):
        api.call_only(path, *args, **kwargs)
    assert wire.requests == []


@pytest.mark.parametrize("timeout", [-1, math.nan, "10"])
def test_a_wait_timeout_must_be_seconds(scripted: Scripted, timeout: Any) -> None:
    api, wire = scripted(then="fail")  # a check must send nothing
    with pytest.raises(InvalidArgumentError, match="timeout"):
        api("operations.wait", "op_1", timeout=timeout)
    with pytest.raises(InvalidArgumentError, match="timeout"):
        api("operations.wait_many", ["op_1"], timeout=timeout)
    assert wire.requests == []


@pytest.mark.parametrize("operations", ["op_1", b"op_1", 5])
def test_waiting_on_many_needs_a_collection_of_operations(
    scripted: Scripted, operations: Any
) -> None:
    """A bare id is not polled character by character."""
    api, wire = scripted(then="fail")  # a check must send nothing
    with pytest.raises(InvalidArgumentError, match="several operations"):
        api("operations.wait_many", operations)
    with pytest.raises(InvalidArgumentError, match="several operations"):
        api.call_only("operations.as_completed", operations)
    assert wire.requests == []


@pytest.mark.parametrize("status", [200, 404])
def test_a_deeply_nested_body_is_a_typed_error(scripted: Scripted, status: int) -> None:
    deep = httpx.Response(status, content=DEEP, headers={"Content-Type": "application/json"})
    api, _ = scripted(deep)
    with pytest.raises(ResponseValidationError if status == 200 else NotFoundError):
        api("operations.get", "op_1")


def test_a_deeply_nested_manifest_or_part_record_counts_as_absent() -> None:
    assert load_manifest(DEEP) == {}
    assert PartInfo.from_json(DEEP) is None
    assert load_manifest(json.dumps({"files": {"glb": {"name": "a", "url": "u", "size": 1e999,
                                                       "sha256": "x"}}}).encode()) == {}  # fmt: skip
