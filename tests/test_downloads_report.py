"""``DownloadReport.to_dict()`` / ``from_dict()``: a JSON round trip (for task results)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mint_ext import (
    AssetReport,
    AssetVerificationError,
    DownloadError,
    DownloadReport,
    InvalidArgumentError,
    MintError,
    NotFoundError,
)
from mint_ext.testing import FakeClock, FakeMint, Fault

from ._fake_contract import Contract
from ._harness import Api

OP_ROUTE = "GET /v1/operations/{operationId}"


def test_a_real_report_survives_json(mode: str, tmp_path: Path, contract: Contract) -> None:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 128 << 10}, on_response=contract)
    model_id = fake.seed_models(1)[0]
    (op_id,) = fake.operation_ids()
    # a GLB that downloads and a thumbnail URL that cannot be fetched
    fake.inject(Fault.asset_fields({"thumbnailUrl": "ftp://x/t.png", "previewImageUrl": None}),
                route=OP_ROUTE, times=5)  # fmt: skip
    api = Api(mode, transport=fake.transport(), base_url=fake.base_url, api_key=fake.api_key)
    try:
        with pytest.raises(DownloadError) as caught:
            api("assets.download", op_id, tmp_path)
    finally:
        api.close()
    report: DownloadReport = caught.value.report
    data = json.loads(json.dumps(report.to_dict()))
    back = DownloadReport.from_dict(data)
    assert back.to_dict() == data
    assert back.resource_id == model_id and back.directory == tmp_path / model_id
    glb, thumb = back.assets
    assert glb == report.assets[0]  # no error: equal as a whole
    assert glb.path == tmp_path / model_id / "model.glb" and glb.sha256 == report.assets[0].sha256
    assert thumb.status == "failed" and isinstance(thumb.error, AssetVerificationError)
    assert str(thumb.error) == str(report.assets[1].error)
    assert back.summary() == report.summary()


def test_errors_that_need_more_than_a_message_come_back_as_mint_errors() -> None:
    import httpx

    response = httpx.Response(404, request=httpx.Request("GET", "https://c/x"))
    asset = AssetReport("glb", "glb", "https://c/x", Path("o/m.glb"), "failed",
                        error=NotFoundError("gone", response=response, problem=None))  # fmt: skip
    back = AssetReport.from_dict(json.loads(json.dumps(asset.to_dict())))
    # A status class rebuilds from its message alone (issue 15); one that needs its fields
    # (an operation id and timeout) comes back as a plain MintError.
    assert type(back.error) is NotFoundError and back.error.status_code == 404
    assert str(back.error) == "gone"
    timeout = {**asset.to_dict(), "error": {"type": "WaitTimeoutError", "message": "late"}}
    late = AssetReport.from_dict(timeout).error
    assert type(late) is MintError and str(late) == "late"


@pytest.mark.parametrize(
    "data",
    [
        None, [], {}, {"resource_id": "m", "directory": "d"},
        {"resource_id": 1, "directory": "d", "assets": []},
        {"resource_id": "m", "directory": "d", "assets": {}},
        {"resource_id": "m", "directory": "d", "assets": [{"status": "done"}]},
        {"resource_id": "m", "directory": "d", "assets": [
            {"kind": "glb", "slot": "glb", "path": "p", "status": "downloaded", "bytes": "12"}]},
        {"resource_id": "m", "directory": "d", "assets": [
            {"kind": "glb", "slot": "glb", "path": "p", "status": "failed", "error": "boom"}]},
    ],
)  # fmt: skip
def test_anything_else_is_an_invalid_argument(data: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        DownloadReport.from_dict(data)
