"""Small helpers for the fake Mint API tests."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from mint_ext.testing import FakeMint

_keys = itertools.count(1)


class Api:
    """An httpx client on a FakeMint (in-process, or on a loopback ``base_url``)."""

    def __init__(self, fake: FakeMint, base_url: str | None = None, key: str | None = None):
        self.fake = fake
        headers = {"Authorization": f"Bearer {key or fake.api_key}"}
        if base_url is None:
            self.http = httpx.Client(
                transport=fake.transport(), base_url=fake.base_url, headers=headers
            )
        else:
            self.http = httpx.Client(base_url=base_url, headers=headers)

    def post(
        self, path: str, body: Any = None, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key or f"key-{next(_keys)}", **kw.pop("headers", {})}
        if body is None:
            return self.http.post(path, headers=headers, **kw)
        return self.http.post(path, json=body, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def op(self, op_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/operations/{op_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def world(self, prompt: str = "A quiet greenhouse", **body: Any) -> dict[str, Any]:
        response = self.post("/v1/worlds:generate", {"prompt": prompt, **body})
        assert response.status_code == 202, response.text
        return response.json()

    def model(self, prompt: str = "A bronze lantern", **body: Any) -> dict[str, Any]:
        response = self.post("/v1/models:generate", {"prompt": prompt, **body})
        assert response.status_code == 202, response.text
        return response.json()

    def finished_model(self) -> str:
        model_id = self.fake.seed_models(1)[0]
        return model_id

    def close(self) -> None:
        self.http.close()
