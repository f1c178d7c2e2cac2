"""What is on disk is checked before it is published or skipped: truncation the framing cannot
show, a resumed 206 of another size, a stated size that disagrees, a corrupt file that looks
complete, an asset that changes between attempts. Sync and async, against the bundled fake:
on loopback where the framing matters (close-delimited bodies), in-process otherwise."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mint_ext import AssetVerificationError, DownloadError
from mint_ext.testing import FakeClock, FakeMint, FakeRequest, Fault, serve_fake_mint

from ._fake_contract import Contract
from ._harness import Api, FakeTime

SIZE = 3 << 20


@dataclass
class Cdn:
    mode: str
    fake: FakeMint
    base_url: str
    op_id: str
    glb: str  # the GLB's path on the asset origin

    def download(self, out: Path, max_retries: int = 0, **kw: Any) -> Any:
        """``assets.download(op_id, out, **kw)`` (the operation read afresh each time)."""
        transport = self.fake.transport() if self.base_url == self.fake.base_url else None
        api = Api(self.mode, transport=transport, base_url=self.base_url,
                  api_key=self.fake.api_key, max_retries=max_retries, time=FakeTime())  # fmt: skip
        try:
            return api("assets.download", self.op_id, out, **kw)
        finally:
            api.close()

    def body(self) -> bytes:
        return self.fake.asset(self.glb).read()

    def ranges(self) -> list[str | None]:
        """The Range header of every GET of the GLB."""
        return [r.headers.get("range") for r in self.fake.asset_gets(self.glb)]


def _fake(contract: Contract) -> tuple[FakeMint, str, str]:
    fake = FakeMint(clock=FakeClock(), asset_sizes={"glb": SIZE}, on_response=contract)
    model_id = fake.seed_models(1)[0]
    (op_id,) = fake.operation_ids()
    return fake, op_id, f"/glb/{model_id}.glb"


@pytest.fixture
def local(mode: str, contract: Contract) -> Cdn:
    fake, op_id, glb = _fake(contract)
    return Cdn(mode, fake, fake.base_url, op_id, glb)


@pytest.fixture
def wire(mode: str, contract: Contract) -> Iterator[Cdn]:
    fake, op_id, glb = _fake(contract)
    with serve_fake_mint(fake) as server:
        yield Cdn(mode, fake, server.base_url, op_id, glb)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder_of(cdn: Cdn, out: Path) -> Path:
    return out / cdn.glb.rsplit("/", 1)[1].removesuffix(".glb")


def test_a_close_delimited_body_cut_short_is_resumed_not_published(
    wire: Cdn, tmp_path: Path
) -> None:
    wire.fake.set_stated_size(wire.glb, None)  # the API states no size: only a HEAD can tell
    # neither Content-Length nor chunked: the end is the connection's end
    wire.fake.inject(Fault.close_delimited(1 << 20), route="ASSET GET *")
    with pytest.raises(DownloadError) as caught:
        wire.download(tmp_path, include=["glb"])
    (glb_report,) = caught.value.report.by_kind("glb")
    assert "body ended after 1048576 of 3145728 bytes" in str(glb_report.error)
    assert "HEAD" in [r.method for r in wire.fake.asset_requests()]  # how it knew
    folder = folder_of(wire, tmp_path)
    assert not (folder / "model.glb").exists()
    assert (folder / ".glb.part").stat().st_size == 1 << 20  # kept to resume

    report = wire.download(tmp_path, include=["glb"])
    (glb_report,) = report.by_kind("glb")
    body = wire.body()
    assert glb_report.resumed_from == 1 << 20 and wire.ranges()[-1] == "bytes=1048576-"
    assert (folder / "model.glb").read_bytes() == body
    assert glb_report.sha256 == sha(body)  # of the published bytes: kept prefix + new stream


def test_a_resumed_206_with_another_total_restarts(local: Cdn, tmp_path: Path) -> None:
    local.fake.inject(Fault.truncate(1 << 20), route="ASSET GET *")
    with pytest.raises(DownloadError):
        local.download(tmp_path, include=["glb"])
    # same ETag, another size
    local.fake.inject(Fault.range_total(SIZE + 100), route="ASSET GET *")
    report = local.download(tmp_path, include=["glb"])
    (glb_report,) = report.by_kind("glb")
    assert local.ranges() == [None, "bytes=1048576-", None]
    assert glb_report.resumed_from == 0 and glb_report.sha256 == sha(local.body())
    assert (folder_of(local, tmp_path) / "model.glb").read_bytes() == local.body()


def test_a_corrupt_complete_looking_file_is_downloaded_again(local: Cdn, tmp_path: Path) -> None:
    local.download(tmp_path, include=["glb"])
    final = folder_of(local, tmp_path) / "model.glb"
    body = local.body()
    final.write_bytes(body[:100] + b"\0" * (len(body) - 100))  # same size, same ETag upstream
    # Checked by size only (asked for), it passes for current...
    report = local.download(tmp_path, include=["glb"], verify="size")
    assert report.by_kind("glb")[0].status == "skipped"
    # ...by sha256 (the default: the manifest records one) it is fetched again.
    report = local.download(tmp_path, include=["glb"])
    (glb_report,) = report.by_kind("glb")
    assert glb_report.status == "downloaded" and final.read_bytes() == body
    report = local.download(tmp_path, include=["glb"], verify="sha256")
    assert report.by_kind("glb")[0].status == "skipped"


def test_a_stated_size_that_disagrees_is_a_verification_failure(local: Cdn, tmp_path: Path) -> None:
    local.fake.set_stated_size(local.glb, SIZE + 1)
    with pytest.raises(DownloadError) as caught:
        local.download(tmp_path, include=["glb"])
    (glb_report,) = caught.value.report.by_kind("glb")
    assert isinstance(glb_report.error, AssetVerificationError)
    assert f"says {SIZE} bytes, the API says {SIZE + 1}" in str(glb_report.error)
    assert sorted(p.name for p in folder_of(local, tmp_path).iterdir()) == [".glb.lock"]
    local.fake.reset_stated_size(local.glb)
    assert local.download(tmp_path, include=["glb"]).ok


def test_a_stated_size_catches_a_close_delimited_cut_without_asking(
    wire: Cdn, tmp_path: Path
) -> None:
    wire.fake.inject(Fault.close_delimited(1 << 20), route="ASSET GET *")  # glbSizeBytes: true
    with pytest.raises(DownloadError, match="body ended after"):
        wire.download(tmp_path, include=["glb"])
    glb_requests = [r.method for r in wire.fake.asset_requests() if r.path == wire.glb]
    assert glb_requests == ["GET"]  # the API's size sufficed


def test_an_asset_changed_between_attempts_restarts_with_the_new_bytes(
    local: Cdn, tmp_path: Path
) -> None:
    local.fake.inject(Fault.truncate(1 << 20), route="ASSET GET *")
    with pytest.raises(DownloadError):
        local.download(tmp_path, include=["glb"])
    local.fake.change_asset(local.glb, size=2 << 20)  # new ETag: If-Range answers the new file
    new = local.body()
    report = local.download(tmp_path, include=["glb"])
    (glb_report,) = report.by_kind("glb")
    assert glb_report.resumed_from == 0 and glb_report.sha256 == sha(new)
    assert (folder_of(local, tmp_path) / "model.glb").read_bytes() == new
    assert local.fake.asset_gets(local.glb)[-1].headers.get("if-range")  # asked to resume


def test_an_asset_changed_while_a_close_delimited_body_was_read_starts_over(
    wire: Cdn, tmp_path: Path
) -> None:
    wire.fake.set_stated_size(wire.glb, None)
    wire.fake.inject(Fault.close_delimited(), route="ASSET GET *", times=10)
    changed: list[str] = []

    def change_after_first_get(request: FakeRequest) -> None:
        # The GET sees the old version; the HEAD that checks its size already the new one.
        if request.method == "HEAD" and len(wire.fake.asset_gets(wire.glb)) == 1 and not changed:
            changed.append(wire.fake.change_asset(wire.glb, size=2 << 20))

    wire.fake.on_asset_request = change_after_first_get
    report = wire.download(tmp_path, include=["glb"], max_retries=2)
    new = wire.body()
    assert changed and len(new) == 2 << 20
    assert (folder_of(wire, tmp_path) / "model.glb").read_bytes() == new
    assert report.by_kind("glb")[0].sha256 == sha(new)
    assert len(wire.fake.asset_gets(wire.glb)) == 2  # started over once
