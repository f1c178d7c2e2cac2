"""Every URL the server sends gives a typed error or a download, from both clients: never a
UnicodeError, OverflowError or other foreign exception from planning, resolving or transport.
The bundled fake sends them (``Fault.asset_fields``) in the operation the download reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from mint_ext import AssetVerificationError, DownloadError, MintError
from mint_ext._download_core import url_without_query
from mint_ext._urls import url_problem
from mint_ext.testing import FakeClock, FakeMint, Fault

from ._fake_contract import Contract
from ._harness import Api

BAD_URLS = {
    "lone surrogate in the path": "https://cdn.test/\ud800.glb",
    "lone surrogate in the host": "https://\ud800.test/m.glb",
    "host label over 63 characters": "https://" + "a" * 64 + ".test/m.glb",
    "host name over 253 characters": "https://" + ("a" * 60 + ".") * 5 + "test/m.glb",
    "empty host label": "https://cdn..test/m.glb",
    "relative URL": "/a/model.glb",
    "bare name": "model.glb",
    "blank": " ",
    "unknown scheme": "ftp://cdn.test/m.glb",
    "javascript": "javascript:alert(1)",
    "no host": "https:///m.glb",
    "port out of range": "https://cdn.test:99999/m.glb",
    "unclosed IPv6 literal": "https://[::1/m.glb",
    "space in the host": "http://a b/m.glb",
    "newline": "https://cdn.test/m.glb\n",
}


@pytest.mark.parametrize("url", list(BAD_URLS.values()), ids=list(BAD_URLS))
def test_a_bad_asset_url_is_a_typed_failure_of_that_asset(
    mode: str, tmp_path: Path, url: str, contract: Contract
) -> None:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": 64 << 10}, on_response=contract)
    model_id = fake.seed_models(1)[0]
    (op_id,) = fake.operation_ids()
    fake.inject(Fault.asset_fields({"glbUrl": url, "previewImageUrl": None}), route="GET *",
                times=5)  # fmt: skip
    api = Api(mode, transport=fake.transport(), base_url=fake.base_url, api_key=fake.api_key)
    try:
        with pytest.raises(DownloadError) as caught:
            api("assets.download", op_id, tmp_path)
    finally:
        api.close()
    report = caught.value.report
    (glb,) = report.by_kind("glb")
    assert glb.status == "failed" and isinstance(glb.error, AssetVerificationError), glb
    assert "cannot be fetched" in str(glb.error)
    str(caught.value).encode("utf-8")  # printable: the CLI shows it
    assert report.by_kind("thumbnail")[0].status == "downloaded"  # the other asset is fine
    assert not (tmp_path / model_id / "model.glb").exists()
    assert fake.asset_gets(f"/glb/{model_id}.glb") == []


def test_url_rules() -> None:
    assert url_problem("https://cdn.mint.gg/a.glb?sig=1") is None
    assert url_problem("http://127.0.0.1:8080/a") is None
    assert url_problem("https://[::1]:8443/a") is None
    assert url_problem("https://cdn.mint.gg./a") is None  # a fully qualified name
    assert url_problem("https://bücher.example/a") is None  # IDNA-encoded by httpx
    assert url_problem("https://" + "a" * 63 + ".test/a") is None
    for url in BAD_URLS.values():
        assert isinstance(url_problem(url), str), url
        url_without_query(url).encode("ascii")  # reports can always print it
    assert url_problem(None) == "not a string (NoneType)"
    assert issubclass(AssetVerificationError, MintError)
