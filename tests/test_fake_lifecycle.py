"""The fake Mint API: lifecycle, idempotency, auth, validation, pagination (in-process)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mint_ext.testing import FakeClock, FakeMint, Timings
from tests._fake_contract import Contract
from tests._harness import RawApi

T = Timings()


@pytest.fixture
def api(fake: FakeMint) -> Iterator[RawApi]:
    client = RawApi(fake)
    yield client
    client.close()


def _statuses(api: RawApi, op_id: str, seconds: float, step: float = 0.5) -> list[str]:
    """Poll every ``step`` simulated seconds for ``seconds``; the distinct statuses in order."""
    seen: list[str] = []
    elapsed = 0.0
    while elapsed <= seconds:
        status = api.op(op_id)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        api.fake.advance(step)
        elapsed += step
    return seen


def test_auto_world_runs_through_preview_to_succeeded(api: RawApi, fake: FakeMint) -> None:
    start = api.world("A quiet greenhouse", displayName="Greenhouse")
    assert start["status"] == "queued" and start["resource"] is None and start["assets"] is None
    assert start["id"].startswith("op_") and len(start["id"]) == 29
    assert start["type"] == "world_generation" and start["generationModel"] == "marble-1.1"
    statuses = _statuses(api, start["id"], T.total_auto() + 1)
    assert statuses == ["queued", "running", "preview_ready", "running", "succeeded"]
    op = api.op(start["id"])
    assert op["completedAt"] and op["completedAt"] >= op["createdAt"]
    assert op["updatedAt"] == op["completedAt"]
    assets = op["assets"]
    assert set(assets["spzUrls"]) == {"100k", "500k", "full_res"}
    assert all(assets[k] for k in ("caption", "colliderMeshUrl", "panoUrl", "radUrl"))
    assert assets["radUrl"].endswith("-lod.rad")
    world = api.get(f"/v1/worlds/{op['resource']['id']}").json()
    assert world["assetStage"] == "final" and world["status"] == "succeeded"
    assert world["name"] == "Greenhouse" and world["assets"] == assets
    assert op["credits"]["finalized"] == 120 and op["credits"]["reserved"] == 0


def test_review_mode_waits_then_approve_finishes(api: RawApi, fake: FakeMint) -> None:
    op_id = api.world(generationMode="review")["id"]
    early = api.post(f"/v1/operations/{op_id}:approve")
    assert early.status_code == 409
    assert early.json()["type"].endswith("operation-not-awaiting-review")
    fake.advance(T.queued + T.running)
    op = api.op(op_id)
    assert op["status"] == "preview_ready" and op["resource"]["type"] == "world"
    preview = {k for k, v in op["assets"].items() if v is not None}
    assert preview == {"previewImageUrl", "thumbnailUrl"}
    world = api.get(f"/v1/worlds/{op['resource']['id']}").json()
    assert world["assetStage"] == "preview"
    fake.advance(3600)  # review mode waits forever
    assert api.op(op_id)["status"] == "preview_ready"
    approved = api.post(f"/v1/operations/{op_id}:approve", {})
    assert approved.status_code == 202 and approved.json()["status"] == "running"
    assert approved.headers["location"] == f"/v1/operations/{op_id}"
    fake.advance(T.final)
    assert api.op(op_id)["status"] == "succeeded"


def test_revise_makes_a_new_preview(api: RawApi, fake: FakeMint) -> None:
    op_id = api.model(generationMode="review")["id"]
    fake.advance(T.queued + T.running)
    first = api.op(op_id)["assets"]["previewImageUrl"]
    revised = api.post(f"/v1/operations/{op_id}:revise", {"feedback": "more rust"})
    assert revised.status_code == 202 and revised.json()["status"] == "running"
    fake.advance(T.running)
    op = api.op(op_id)
    assert op["status"] == "preview_ready"
    assert op["assets"]["previewImageUrl"] != first and op["assets"]["glbUrl"] is None
    assert api.post(f"/v1/operations/{op_id}:approve").status_code == 202
    fake.advance(T.final)
    op = api.op(op_id)
    assert op["status"] == "succeeded" and op["assets"]["glbUrl"].endswith(".glb")
    assert op["assets"]["previewImageUrl"].endswith("preview-r2.png")


def test_scripted_failure(api: RawApi, fake: FakeMint) -> None:
    fake.script("failed", error_code="moderation_blocked", error_message="blocked")
    op_id = api.world()["id"]
    fake.advance(T.queued + T.running)
    op = api.op(op_id)
    assert op["status"] == "failed" and op["completedAt"]
    assert op["error"] == {"code": "moderation_blocked", "message": "blocked"}
    world = api.get(f"/v1/worlds/{op['resource']['id']}").json()
    assert world["status"] == "failed" and world["operation"]["lastError"] == "blocked"
    # The script queue applied to one operation only.
    fake.advance(1)
    assert api.op(api.world()["id"])["status"] == "queued"


@pytest.mark.parametrize(
    ("marker", "status"),
    [
        ("[fail]", "failed"),
        ("[billing]", "billing_required"),
        ("[partial]", "partially_succeeded"),
    ],
)
def test_prompt_markers_select_outcomes(
    api: RawApi, fake: FakeMint, marker: str, status: str
) -> None:
    op_id = api.world(f"A cave {marker}")["id"]
    fake.advance(T.total_auto() + 1)
    assert api.op(op_id)["status"] == status


def test_billing_required_then_resume(api: RawApi, fake: FakeMint) -> None:
    fake.script("billing_required")
    op_id = api.world()["id"]
    assert api.post(f"/v1/operations/{op_id}:resume").status_code == 409
    fake.advance(T.queued + T.running + T.preview)
    op = api.op(op_id)
    assert op["status"] == "billing_required"
    billing = op["billing"]
    assert billing["requiredCredits"] == 120 and billing["actionUrl"].startswith("https://")
    assert set(billing) == {
        "reason", "resource", "stage", "requiredCredits", "availableCredits", "actionUrl", "ctaKind"
    }  # fmt: skip
    fake.advance(600)
    assert api.op(op_id)["status"] == "billing_required"
    resumed = api.post(f"/v1/operations/{op_id}:resume", {})
    assert resumed.status_code == 202 and resumed.json()["status"] == "running"
    assert resumed.json()["billing"] is None
    fake.advance(T.final)
    assert api.op(op_id)["status"] == "succeeded"
    assert api.post(f"/v1/operations/{op_id}:resume").status_code == 409


def test_partially_succeeded_has_null_assets(api: RawApi, fake: FakeMint) -> None:
    fake.script("partially_succeeded")
    fake.script("partially_succeeded")
    world_op = api.world()["id"]
    model_op = api.model()["id"]
    fake.advance(T.total_auto())
    world, model = api.op(world_op), api.op(model_op)
    assert world["status"] == model["status"] == "partially_succeeded"
    assert world["assets"]["radUrl"] is None and world["assets"]["spzUrls"]["100k"]
    assert model["assets"]["glbUrl"] and model["assets"]["thumbnailUrl"] is None


def test_cancel(api: RawApi, fake: FakeMint) -> None:
    op_id = api.world()["id"]
    fake.advance(T.queued + 1)
    fake.cancel(op_id)
    fake.advance(100)
    op = api.op(op_id)
    assert op["status"] == "canceled" and op["canceledAt"] and op["completedAt"] is None
    with pytest.raises(ValueError):
        fake.cancel(op_id)


def test_unknown_status_then_continues(api: RawApi, fake: FakeMint) -> None:
    fake.script("unknown_status", unknown_status="paused")
    op_id = api.world()["id"]
    statuses = _statuses(api, op_id, T.total_auto() + T.unknown + 1)
    assert statuses == ["queued", "running", "paused", "running", "preview_ready", "running", "succeeded"]  # fmt: skip
    marker_op = api.world("x [unknown]")["id"]
    assert "paused" in _statuses(api, marker_op, T.queued + T.running + T.unknown)


def test_retry_after_poll_hint(contract: Contract) -> None:
    fake = FakeMint(clock=FakeClock(), retry_after=2, on_response=contract)
    api = RawApi(fake)
    op_id = api.world(generationMode="review")["id"]
    assert api.get(f"/v1/operations/{op_id}").headers["retry-after"] == "2"
    fake.advance(T.queued + T.running)  # preview_ready in review mode: the client decides
    assert "retry-after" not in api.get(f"/v1/operations/{op_id}").headers
    quiet = RawApi(FakeMint(clock=FakeClock(), on_response=contract))
    op_id = quiet.world()["id"]
    assert "retry-after" not in quiet.get(f"/v1/operations/{op_id}").headers


def test_optimize_model(api: RawApi, fake: FakeMint) -> None:
    model_id = fake.seed_models(1)[0]
    start = api.post(f"/v1/models/{model_id}:optimize", {"optimizationLevel": "aggressive"})
    assert start.status_code == 202, start.text
    op = start.json()
    assert op["type"] == "model_optimization" and op["optimizationLevel"] == "aggressive"
    assert op["resource"] == {"type": "model", "id": model_id}
    busy = api.post(f"/v1/models/{model_id}:optimize")
    assert busy.status_code == 409 and busy.json()["type"].endswith(
        "model-optimization-in-progress"
    )
    assert api.get(f"/v1/models/{model_id}").json()["assets"]["optimizedGlbUrl"] is None
    fake.advance(T.queued + T.optimize)
    done = api.op(op["id"])
    assert done["status"] == "succeeded" and done["assets"]["optimizedGlbUrl"].endswith(
        "-draco.glb"
    )
    model = api.get(f"/v1/models/{model_id}").json()
    assert model["assets"]["optimizedGlbUrl"] == done["assets"]["optimizedGlbUrl"]
    again = api.post(f"/v1/models/{model_id}:optimize", {})
    assert again.status_code == 409 and again.json()["type"].endswith("model-already-optimized")
    assert api.post("/v1/models/model_NOPE:optimize").status_code == 404


def test_optimize_default_level_and_unfinished_model(api: RawApi, fake: FakeMint) -> None:
    op_id = api.model()["id"]
    fake.advance(T.queued)
    model_id = api.op(op_id)["resource"]["id"]
    assert api.post(f"/v1/models/{model_id}:optimize").status_code == 409
    fake.advance(T.total_auto())
    started = api.post(f"/v1/models/{model_id}:optimize")
    assert started.json()["optimizationLevel"] == "moderate"


def test_idempotency_replay_conflict_and_missing_key(
    api: RawApi, fake: FakeMint, contract: Contract
) -> None:
    body = {"prompt": "A lantern", "generationPreset": "fast"}
    first = api.post("/v1/models:generate", body, key="same")
    fake.advance(T.queued + 1)
    replay = api.post("/v1/models:generate", dict(reversed(list(body.items()))), key="same")
    assert replay.status_code == 202 and replay.json()["id"] == first.json()["id"]
    assert replay.json()["status"] == "running"  # the current state
    assert fake.operation_count() == 1
    conflict = api.post("/v1/models:generate", {**body, "prompt": "Other"}, key="same")
    assert conflict.status_code == 409
    assert conflict.json()["type"] == "https://api.mint.gg/problems/idempotency-conflict"
    other_route = api.post("/v1/worlds:generate", body, key="same")
    assert other_route.status_code == 409
    missing = api.http.post("/v1/worlds:generate", json=body)
    assert missing.status_code == 400
    assert missing.json()["type"].endswith("idempotency-key-required")
    assert api.post("/v1/worlds:generate", body, key="k" * 256).status_code == 400
    # Keys are scoped per API key.
    fake2 = FakeMint(api_keys=("a", "b"), clock=FakeClock(), on_response=contract)
    a, b = RawApi(fake2, key="a"), RawApi(fake2, key="b")
    id_a = a.post("/v1/models:generate", body, key="shared").json()["id"]
    id_b = b.post("/v1/models:generate", {"prompt": "x"}, key="shared").json()["id"]
    assert id_a != id_b
    assert b.get(f"/v1/operations/{id_a}").status_code == 404


def test_auth(fake: FakeMint) -> None:
    http = httpx.Client(transport=fake.transport(), base_url=fake.base_url)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dGVzdA=="}):
        response = http.get("/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-request-id"]
    me = http.get("/v1/me", headers={"Authorization": "Bearer test-key"})
    assert me.status_code == 200 and me.json()["owner"]["userId"].startswith("0x")


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/worlds:generate", {}, "required"),
        ("/v1/worlds:generate", {"prompt": ""}, "too_short"),
        ("/v1/worlds:generate", {"prompt": "x" * 4001}, "too_long"),
        ("/v1/worlds:generate", {"prompt": "x", "name": "n"}, "unknown_field"),
        ("/v1/worlds:generate", {"prompt": "x", "generationMode": "fast"}, "enum"),
        ("/v1/worlds:generate", {"prompt": "x", "sourceImages": ["https://a/b"]}, "too_few_items"),
        ("/v1/worlds:generate", {"prompt": 3}, "type"),
        ("/v1/models:generate", {"prompt": "x", "displayName": "n"}, "unknown_field"),
        ("/v1/models:generate", {"prompt": "x", "imageUrl": "not a uri"}, "format"),
        ("/v1/models:generate", {"prompt": "x", "riggingPose": "x_pose"}, "enum"),
        (
            "/v1/models:generate",
            {
                "prompt": "x",
                "imageUrl": "https://a/1",
                "sourceImages": ["https://a/2", "https://a/3"],
            },
            "conflict",
        ),
    ],
)
def test_validation_422(api: RawApi, path: str, body: object, code: str) -> None:
    response = api.post(path, body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["status"] == 422 and problem["errors"]
    assert code in {e["code"] for e in problem["errors"]}
    assert all(e["path"].startswith("/") for e in problem["errors"])


def test_bad_json_and_unknown_routes(api: RawApi, fake: FakeMint) -> None:
    bad = api.post(
        "/v1/worlds:generate", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["type"].endswith("invalid-json")
    assert api.get("/v1/nothing").status_code == 404
    assert api.get("/v1/operations/op_UNKNOWN").status_code == 404
    assert api.get("/v1/worlds/world_UNKNOWN").status_code == 404
    not_allowed = api.http.delete("/v1/worlds")
    assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "GET"
    assert api.post("/v1/operations/op_X:revise", {"feedback": "x"}).status_code == 404
    # :approve and :resume document no 422, so an invalid body there is a 400 with errors[].
    op_id = api.world()["id"]
    extra = api.post(f"/v1/operations/{op_id}:approve", {"force": True})
    assert extra.status_code == 400 and extra.json()["errors"][0]["code"] == "unknown_field"
    assert api.post(f"/v1/operations/{op_id}:revise", {}).status_code == 422


def test_pagination_newest_first_and_scoped(contract: Contract) -> None:
    fake = FakeMint(api_keys=("a", "b"), clock=FakeClock(), on_response=contract)
    ids = fake.seed_worlds(7, api_key="a")
    fake.seed_worlds(2, api_key="b")
    fake.seed_models(3, api_key="a")
    api = RawApi(fake, key="a")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/worlds", params=params).json()
        pages += 1
        seen += [w["id"] for w in page["data"]]
        assert page["pagination"]["hasMore"] == (page["pagination"]["nextCursor"] is not None)
        cursor = page["pagination"]["nextCursor"]
        if not cursor:
            break
    assert pages == 3 and seen == list(reversed(ids))
    default = api.get("/v1/worlds").json()
    assert len(default["data"]) == 7 and default["pagination"] == {
        "nextCursor": None,
        "hasMore": False,
    }
    assert len(api.get("/v1/models").json()["data"]) == 3
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "bogus"}):
        assert api.get("/v1/worlds", params=bad).status_code == 422, bad
    world_cursor = api.get("/v1/worlds", params={"limit": 1}).json()["pagination"]["nextCursor"]
    assert api.get("/v1/models", params={"cursor": world_cursor}).status_code == 422
    assert (
        RawApi(fake, key="b").get("/v1/worlds", params={"cursor": world_cursor}).status_code == 422
    )


def test_lists_hide_queued_resources(api: RawApi, fake: FakeMint) -> None:
    op = api.world()
    assert api.get("/v1/worlds").json()["data"] == []
    fake.advance(T.queued)
    data = api.get("/v1/worlds").json()["data"]
    assert [w["id"] for w in data] == [api.op(op["id"])["resource"]["id"]]
    assert data[0]["assetStage"] is None and data[0]["assets"] is None


def test_usage_and_me(api: RawApi, fake: FakeMint) -> None:
    assert api.get("/v1/usage").json()["credits"]["totalAvailable"] == 1000
    api.world()
    assert api.get("/v1/usage").json()["credits"]["totalAvailable"] == 880
    me = api.get("/v1/me").json()
    assert me["authentication"]["scopes"]


def test_ids_are_deterministic_for_a_seed(contract: Contract) -> None:
    def run() -> list[str]:
        fake = FakeMint(clock=FakeClock(), seed=42, on_response=contract)
        api = RawApi(fake)
        op = api.world()
        fake.advance(T.queued)
        return [op["id"], api.op(op["id"])["resource"]["id"]]

    assert run() == run()


async def test_async_client_through_the_same_transport(fake: FakeMint) -> None:
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url=fake.base_url,
        headers={"Authorization": "Bearer test-key"},
    ) as http:
        start = await http.post(
            "/v1/worlds:generate", json={"prompt": "async"}, headers={"Idempotency-Key": "a1"}
        )
        assert start.status_code == 202
        fake.advance(T.total_auto())
        op = (await http.get(start.headers["location"])).json()
        assert op["status"] == "succeeded"
        asset = await http.get(op["assets"]["spzUrls"]["100k"])
        assert asset.status_code == 200 and asset.content[:2] == b"\x1f\x8b"
