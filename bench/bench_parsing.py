"""Parsing: operations parsed per second through the SDK vs json.loads alone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from mint_ext import Operation

from ._common import Row

SPEC = yaml.safe_load((Path(__file__).parent.parent / "spec" / "mint.openapi.yaml").read_text())
PAYLOAD = json.dumps(SPEC["components"]["schemas"]["Operation"]["example"]).encode()


def _rate(fn: object, seconds: float) -> float:
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            fn()  # type: ignore[operator]
        count += 100
    return count / (time.perf_counter() - start)


def run(quick: bool = False) -> list[Row]:
    seconds = 0.5 if quick else 2.0
    # What the SDK does with each operation response body: decode, then parse (no defensive copy).
    ours = _rate(lambda: Operation._build(json.loads(PAYLOAD)), seconds)
    public = _rate(lambda: Operation.from_dict(json.loads(PAYLOAD)), seconds)
    ref = _rate(lambda: json.loads(PAYLOAD), seconds)
    return [
        Row("succeeded world operation parsed (response path)", ours, ref, "ops/s",
            "json.loads alone", f"{len(PAYLOAD)} byte body; json.loads + generated model + SDK types"),
        Row("Operation.from_dict (public, copies its input)", public, ref, "ops/s",
            "json.loads alone", "adds a deep copy so the caller's dict stays theirs"),
    ]  # fmt: skip
