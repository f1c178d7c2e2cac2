"""Every error pickles (multiprocessing, process pools) and the pickle never holds the API key."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mint_ext import (
    APIConnectionError,
    APITimeoutError,
    AssetVerificationError,
    BillingRequiredError,
    DownloadError,
    MintError,
    Operation,
    OperationCanceledError,
    OperationFailedError,
    RateLimitError,
    ResponseValidationError,
    WaitTimeoutError,
)
from mint_ext._download_core import AssetReport, DownloadReport
from mint_ext._errors import error_from_response

KEY = "sk_live_do_not_leak_0123456789"
SPEC = yaml.safe_load((Path(__file__).parent.parent / "spec" / "mint.openapi.yaml").read_text())


def _operation(**changes: Any) -> Operation:
    data = copy.deepcopy(SPEC["components"]["schemas"]["Operation"]["example"])
    data.update(changes)
    return Operation.from_dict(data)


def _response(status: int, body: Any, **headers: str) -> httpx.Response:
    request = httpx.Request(
        "GET", "https://api.mint.gg/v1/operations/op_1", headers={"Authorization": f"Bearer {KEY}"}
    )
    return httpx.Response(status, json=body, headers=headers, request=request)


def _errors() -> list[MintError]:
    problem = {"type": "https://docs/errors/not-found", "title": "Not found", "detail": "gone"}
    request = _response(200, {}).request
    failed = _operation(status="failed", error={"code": "bad_prompt", "message": "no"})
    asset_error = AssetVerificationError("an HTML page, not an asset", url="https://cdn/x.glb")
    report = DownloadReport(
        resource_id="world_1",
        directory=Path("out/world_1"),
        assets=(
            AssetReport(
                "glb",
                "glb",
                "https://cdn/x.glb",
                Path("out/world_1/x.glb"),
                "failed",
                error=asset_error,
            ),
        ),
    )
    return [
        error_from_response(_response(404, problem, **{"x-request-id": "req_1"})),
        error_from_response(_response(429, problem), retry_after=7.0),
        error_from_response(_response(503, problem)),
        ResponseValidationError("not JSON", response=_response(200, {}), body=b"<html>"),
        APIConnectionError("connection reset", request=request),
        APITimeoutError("read timed out", request=request),
        OperationFailedError(failed),
        OperationCanceledError(_operation(status="canceled")),
        BillingRequiredError(_operation(status="billing_required")),
        WaitTimeoutError("op_1", _operation(status="running"), 30.0),
        asset_error,
        DownloadError("1 of 1 assets failed", report=report),
    ]


@pytest.mark.parametrize("error", _errors(), ids=lambda e: type(e).__name__)
def test_errors_round_trip_through_pickle_without_the_key(error: MintError) -> None:
    data = pickle.dumps(error)
    assert KEY.encode() not in data
    back = pickle.loads(data)
    assert type(back) is type(error) and str(back) == str(error) and back.args == error.args
    for name, value in vars(error).items():
        if name in ("response", "request"):
            assert getattr(back, name) is None  # the HTTP objects carry the Authorization header
        else:  # exceptions nested in a report compare by identity: their repr says it all
            assert getattr(back, name) == value or repr(getattr(back, name)) == repr(value), name
    if isinstance(error, RateLimitError):
        assert back.retry_after == 7.0 and back.status_code == 429
