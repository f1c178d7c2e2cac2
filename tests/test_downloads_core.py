"""Unit tests of the pure download decisions (no network, no fake server)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mint_ext import (
    AssetVerificationError,
    InvalidArgumentError,
    ModelAssets,
    RetryPolicy,
    WorldAssets,
)
from mint_ext import _download_core as dc

GLB = b"glTF\x02\x00\x00\x00" + b"\x00" * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 8
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 "
SPZ = b"\x1f\x8b\x08\x00" + b"\x00" * 8

WORLD = WorldAssets(
    spz_urls={"100k": "https://c/w/s100.spz?sig=a", "full_res": "https://c/w/full.spz"},
    rad_url="https://c/rad/w-lod.rad",
    collider_mesh_url="https://c/worlds/w-collider.glb",
    pano_url="https://c/images/w/pano.jpg",
    preview_image_url="https://c/images/w/preview",
    thumbnail_url="https://c/w/thumb.webp",
    caption="A quiet greenhouse",
)
MODEL = ModelAssets(
    glb_url="https://c/glb/m.glb",
    optimized_glb_url="https://c/glb/m-opt.glb",
    preview_image_url="https://c/p.png",
    thumbnail_url="https://c/t.webp",
    fbx_url="https://c/m.fbx",
    usdz_url="https://c/m.usdz",
)


def names(plan: list[dc.PlannedAsset]) -> list[str]:
    return [p.name() for p in plan]


def test_world_plan_names_are_documented_and_deterministic():
    plan = dc.plan_assets(WORLD)
    assert names(plan) == [
        "splat_100k.spz",
        "splat_full_res.spz",
        "world.rad",
        "collider.glb",
        "pano.jpg",
        "preview.png",  # no extension in the URL and no Content-Type yet: the default
        "thumbnail.webp",
        "caption.txt",
    ]
    preview = next(p for p in plan if p.kind == "preview")
    assert preview.name("image/jpeg") == "preview.jpg"  # Content-Type decides when the URL cannot
    assert next(p for p in plan if p.kind == "caption").text == "A quiet greenhouse"
    assert len({p.slot for p in plan}) == len(plan)
    assert len({p.part_name for p in plan}) == len(plan)


def test_model_plan_includes_other_formats():
    plan = dc.plan_assets(MODEL)
    assert names(plan) == [
        "model.glb",
        "model-optimized.glb",
        "preview.png",
        "thumbnail.webp",
        "model.fbx",
        "model.usdz",
    ]
    assert [p.kind for p in plan][-2:] == ["fbx", "usdz"]


def test_include_and_spz_resolution_select():
    plan = dc.plan_assets(WORLD, include=["spz", "caption"], spz_resolution="full_res")
    assert names(plan) == ["splat_full_res.spz", "caption.txt"]
    assert names(dc.plan_assets(MODEL, include="fbx")) == ["model.fbx"]


def test_unknown_kind_and_resolution_are_typed_errors_listing_choices():
    with pytest.raises(InvalidArgumentError, match=r"'mesh'.*known kinds: spz, rad"):
        dc.plan_assets(WORLD, include=["mesh"])
    with pytest.raises(InvalidArgumentError, match="available: 100k, full_res"):
        dc.plan_assets(WORLD, spz_resolution="500k")


def test_hostile_spz_keys_and_duplicate_names_stay_safe():
    hostile = WorldAssets(
        spz_urls={
            "../../etc": "https://c/a.spz",
            "/abs/path": "https://c/b.spz",
            "a\x00b": "https://c/c.spz",
            "x" * 500: "https://c/d.spz",
            "..": "https://c/e.spz",
        }
    )
    plan = dc.plan_assets(hostile)
    for p in plan:
        for name in (p.name(), p.part_name, p.sidecar_name):
            assert "/" not in name and "\\" not in name and "\x00" not in name
            assert ".." not in name.replace("..part", "")
            assert len(name) < 120
    assert "splat_etc.spz" in names(plan)
    assert len(set(names(plan))) == len(plan)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("/etc/passwd", "etc_passwd"),
        ("C:\\Windows\\x", "C_Windows_x"),
        ("nul", "_nul"),
        ("COM1.txt", "_COM1.txt"),
        ("\x00\x01", "file"),
        ("..", "file"),
        ("world_abc", "world_abc"),
    ],
)
def test_safe_component(raw: str, expected: str):
    assert dc.safe_component(raw) == expected


@given(st.text(max_size=300))
def test_safe_component_never_escapes(raw: str):
    name = dc.safe_component(raw)
    assert name and len(name) <= dc.MAX_NAME
    assert "/" not in name and "\\" not in name and name not in (".", "..")
    assert not name.startswith(".")
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    assert name.split(".")[0].lower() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}


def test_confined_refuses_escapes_and_symlinks(tmp_path: Path):
    assert dc.confined(tmp_path, "a.glb") == tmp_path / "a.glb"
    for bad in ("../x", "..", "a/b", "/etc/passwd", "a\x00"):
        with pytest.raises(dc.UnsafePathError):
            dc.confined(tmp_path, bad)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / "link").symlink_to(outside / "x")
    with pytest.raises(dc.UnsafePathError):
        dc.confined(tmp_path, "link")


def test_url_helpers():
    assert dc.url_without_query("https://c/a.glb?X-Amz-Signature=s#f") == "https://c/a.glb"
    assert dc.ext_from_url("https://c/a.GLB?x=1.png") == "glb"
    assert dc.ext_from_url("https://c/a.tar.verylongext") is None
    assert dc.ext_from_content_type("image/webp") == "webp"


def test_resume_offset_rules():
    info = dc.PartInfo("https://c/a.glb", '"v1"', 100)
    assert dc.resume_offset(40, info, "https://c/a.glb?sig=new", False) == 40
    assert dc.resume_offset(40, info, "https://c/a.glb", True) == 0  # overwrite
    assert dc.resume_offset(40, info, "https://c/b.glb", False) == 0  # other URL
    assert dc.resume_offset(100, info, "https://c/a.glb", False) == 0  # nothing left to fetch
    assert (
        dc.resume_offset(40, dc.PartInfo("https://c/a.glb", None, 100), "https://c/a.glb", False)
        == 0
    )
    assert (
        dc.resume_offset(40, dc.PartInfo("https://c/a.glb", '"v"', None), "https://c/a.glb", False)
        == 0
    )
    assert dc.resume_offset(None, info, "https://c/a.glb", False) == 0
    assert dc.range_headers(40, '"v1"') == {"Range": "bytes=40-", "If-Range": '"v1"'}
    assert dc.range_headers(0, '"v1"') == {}
    assert dc.PartInfo.from_json(info.to_json()) == info
    assert dc.PartInfo.from_json(b"{not json") is None
    assert dc.PartInfo.from_json(b'{"url": 1}') is None


def test_manifest_round_trip_and_skip_rules():
    e = dc.ManifestEntry("model.glb", "https://c/m.glb", '"v1"', 10, "ab")
    assert dc.load_manifest(dc.dump_manifest({"glb": e})) == {"glb": e}
    assert dc.load_manifest(b"garbage") == {}
    assert dc.skip_candidate(e, "https://c/m.glb?sig=2", 10, False)
    assert not dc.skip_candidate(e, "https://c/m.glb", 10, True)
    assert not dc.skip_candidate(e, "https://c/m.glb", 9, False)
    assert not dc.skip_candidate(e, "https://c/other.glb", 10, False)
    assert not dc.skip_candidate(None, "https://c/m.glb", 10, False)
    assert dc.head_confirms(e, {"etag": '"v1"', "content-length": "10"})
    assert not dc.head_confirms(e, {"etag": '"v2"', "content-length": "10"})
    assert not dc.head_confirms(e, {"etag": '"v1"'})
    assert not dc.head_confirms(e, {"content-length": "10"})


def d(status: int, headers: dict[str, str] | None = None, offset: int = 0) -> dc.Decision:
    return dc.decide(
        status, headers or {}, url="https://c/a.glb?sig=s", requested_offset=offset, wall=0.0
    )


def test_decide_answers():
    assert d(200, {"content-length": "10", "etag": '"e"'}) == dc.Accept(0, 10, '"e"')
    # a 200 to a Range request: the file changed, start over from 0
    assert d(200, {"content-length": "10"}, offset=4) == dc.Accept(0, 10, None)
    assert d(206, {"content-range": "bytes 4-9/10"}, offset=4) == dc.Accept(4, 10, None)
    assert isinstance(d(206, {"content-range": "bytes 0-9/10"}, offset=4), dc.Restart)
    assert isinstance(d(206, {}, offset=4), dc.Restart)
    assert isinstance(d(416, offset=4), dc.Restart)
    assert d(302, {"location": "/b"}) == dc.Redirect("/b")
    for status in (401, 403, 410):
        assert isinstance(d(status), dc.RefreshUrl)
    later = d(429, {"retry-after": "3"})
    assert isinstance(later, dc.RetryLater) and later.retry_after == 3.0
    assert isinstance(d(503), dc.RetryLater)
    assert isinstance(d(404), dc.Fail)
    html = d(200, {"content-type": "text/html; charset=utf-8"})
    assert isinstance(html, dc.Fail) and isinstance(html.error, AssetVerificationError)


def test_content_range_parsing():
    assert dc.parse_content_range("bytes 0-0/1") == (0, 0, 1)
    assert dc.parse_content_range("bytes 5-9/*") == (5, 9, None)
    assert dc.parse_content_range("bytes 9-5/10") is None
    assert dc.parse_content_range("bytes 0-10/10") is None
    assert dc.parse_content_range("items 0-1/2") is None


def test_redirect_rules():
    assert dc.resolve_redirect("https://a/x", "https://b/y", 0) == "https://b/y"
    assert dc.resolve_redirect("https://a/x/y", "../z", 0) == "https://a/z"
    assert dc.resolve_redirect("http://a/x", "https://b/y", 0) == "https://b/y"
    with pytest.raises(dc.UnsafeRedirectError, match="https to http"):
        dc.resolve_redirect("https://a/x", "http://b/y", 0)
    with pytest.raises(dc.UnsafeRedirectError):
        dc.resolve_redirect("https://a/x", "file:///etc/passwd", 0)
    with pytest.raises(dc.UnsafeRedirectError, match="more than 5"):
        dc.resolve_redirect("https://a/x", "https://b/y", dc.MAX_REDIRECTS)


def test_attempts_budget_resets_on_progress():
    attempts = dc.Attempts(RetryPolicy(max_retries=2, initial_delay=1.0, max_delay=4.0))
    rng = random.Random(1).random
    assert attempts.next_delay(False, None, rng) is not None
    assert attempts.next_delay(False, 7.0, rng) == 7.0  # Retry-After wins
    assert attempts.next_delay(False, None, rng) is None  # two failures without progress
    attempts = dc.Attempts(RetryPolicy(max_retries=1))
    for _ in range(10):  # each attempt wrote bytes: keep going
        assert attempts.next_delay(True, None, rng) is not None
    assert attempts.next_delay(False, None, rng) is None
    capped = dc.Attempts(RetryPolicy(max_retries=1))
    delays = [capped.next_delay(True, None, rng) for _ in range(dc.MAX_ATTEMPTS)]
    assert delays[-1] is None


@pytest.mark.parametrize(
    ("kind", "ext", "head", "ok"),
    [
        ("glb", "glb", GLB, True),
        ("collider", "glb", GLB, True),
        ("glb", "glb", PNG, False),
        ("glb", "glb", b"<!DOCTYPE html>", False),
        ("spz", "spz", SPZ, True),
        ("spz", "spz", GLB, False),
        ("pano", "png", PNG, True),
        ("pano", "jpg", JPEG, True),
        ("thumbnail", "webp", WEBP, True),
        ("preview", "png", b"GIF89a", False),
        ("rad", "rad", b"RAD\x00anything", True),
        ("rad", "rad", b"  <html><body>", False),
        ("fbx", "fbx", b"Kaydara FBX", True),
    ],
)
def test_verify_signatures(kind: str, ext: str, head: bytes, ok: bool):
    if ok:
        dc.verify(kind, ext, head, 16, 16, "https://c/x")
    else:
        with pytest.raises(AssetVerificationError):
            dc.verify(kind, ext, head, 16, 16, "https://c/x?sig=secret")


def test_verify_size_and_html_content_type():
    with pytest.raises(AssetVerificationError, match="got 15 bytes, expected 16") as info:
        dc.verify("glb", "glb", GLB, 15, 16, "https://c/x?sig=secret")
    assert "secret" not in str(info.value)
    with pytest.raises(AssetVerificationError, match="HTML"):
        dc.verify("rad", "rad", b"RAD", 3, 3, "https://c/x", "text/html")


def test_progress_totals_and_report():
    t = dc.ProgressTotals()
    e1 = t.update("a", "glb", Path("a"), 5, 10, False)
    e2 = t.update("b", "spz", Path("b"), 3, None, False)
    assert (e1.total_done, e1.total_bytes) == (5, 10)
    assert (e2.total_done, e2.total_bytes, e2.bytes_total) == (8, 10, None)
    e3 = t.update("b", "spz", Path("b"), 4, None, True)
    assert (e3.total_done, e3.total_bytes, e3.done) == (9, 14, True)
    ok = dc.AssetReport("glb", "glb", "https://c/m.glb", Path("m.glb"), "downloaded", 10, "x")
    bad = dc.AssetReport("spz", "spz-1", "https://c/s.spz", Path("s.spz"), "failed",
                         error=AssetVerificationError("boom"))  # fmt: skip
    report = dc.DownloadReport("w", Path("out/w"), (ok, bad))
    assert not report.ok and report.failed == (bad,) and report.downloaded == (ok,)
    assert report.total_bytes == 10 and report.by_kind("spz") == [bad]
    assert "1 failed" in report.summary()
    assert "boom" in dc.failure_message(report)
