"""Schemathesis against the fake over loopback: no 5xx, every response conforms to the spec.

Bounded and deterministic: derandomized Hypothesis, a few examples per operation, no database.
Generated requests hit the loopback server only; no faults are injected. Each response is checked
twice: by Schemathesis' own checks and by the ``contract`` hook on the fake.

Every Schemathesis check runs, ``positive_data_acceptance`` and ``ignored_auth`` included: a
fake that rejects a request the spec allows fails here. The one schema-valid input no server can
accept, an opaque ``cursor`` it never issued, is replaced by a cursor the fake did issue (as a
client passes ``pagination.nextCursor`` on); unknown cursors are test_fake_lifecycle.py's.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from mint_ext.testing import FakeMint, FakeServer, Timings
from tests._fake_contract import SPEC_PATH
from tests._harness import RawApi

SCHEMA = schemathesis.openapi.from_path(SPEC_PATH)
API_KEY = FakeMint().api_key  # the key every fake here accepts


@SCHEMA.auth(refresh_interval=None)
class _BearerKey:
    """The valid key, given as explicit auth: ``ignored_auth`` then probes without it and with a
    wrong one (both must be refused), and negative cases may still replace it with a bad one."""

    def get(self, case: Any, ctx: Any) -> str:
        return API_KEY

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}
MAX_EXAMPLES = 25


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


def _real_ids(fake: FakeMint, api: RawApi) -> dict[str, str]:
    """Ids that exist, so generated requests also reach the success paths."""
    world_id = fake.seed_worlds(3)[-1]
    model_id = fake.seed_models(3)[-1]
    op_id = api.world(generationMode="review")["id"]
    fake.advance(Timings().queued + Timings().running)  # preview_ready: approve/revise succeed
    return {"worldId": world_id, "modelId": model_id, "operationId": op_id}


def _issued_cursor(fake: FakeMint, api: RawApi, path: str) -> str:
    """A cursor the fake issued for the listing at ``path`` (``/v1/worlds`` or ``/v1/models``)."""
    (fake.seed_worlds if path.endswith("worlds") else fake.seed_models)(3)
    response = api.get(path, params={"limit": 1})
    assert response.status_code == 200, response.text
    cursor = response.json()["pagination"]["nextCursor"]
    assert isinstance(cursor, str)
    return cursor


def _run(label: str, fake: FakeMint, server: FakeServer, mode: GenerationMode, real: bool) -> int:
    operation = OPERATIONS[label]
    assert server.api_key == API_KEY
    overrides: dict[str, Any] = {}
    api = RawApi(fake, server.base_url)
    if mode is GenerationMode.POSITIVE and "cursor" in {p.name for p in operation.query}:
        overrides["query"] = {"cursor": _issued_cursor(fake, api, operation.path)}
    if real:
        ids = _real_ids(fake, api)
        names = {p.name for p in operation.path_parameters}
        overrides["path_parameters"] = {n: ids[n] for n in names}
    calls = 0

    @_settings(MAX_EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=mode, **overrides))
    def check(case: Any) -> None:
        nonlocal calls
        response = case.call(base_url=server.base_url, timeout=10)
        calls += 1
        assert response.status_code < 500, response.text
        case.validate_response(response)  # every check

    check()
    api.close()
    return calls


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_positive_random_ids(label: str, fake: FakeMint, fake_server: FakeServer) -> None:
    assert _run(label, fake, fake_server, GenerationMode.POSITIVE, real=False) > 0


@pytest.mark.parametrize(
    "label", sorted(label for label, op in OPERATIONS.items() if "{" in op.path)
)
def test_positive_existing_ids(label: str, fake: FakeMint, fake_server: FakeServer) -> None:
    assert _run(label, fake, fake_server, GenerationMode.POSITIVE, real=True) > 0


@pytest.mark.parametrize(
    "label",
    sorted(label for label, op in OPERATIONS.items() if op.method.upper() == "POST" or op.query),
)
def test_negative_data_is_rejected(label: str, fake: FakeMint, fake_server: FakeServer) -> None:
    assert _run(label, fake, fake_server, GenerationMode.NEGATIVE, real=True) > 0
