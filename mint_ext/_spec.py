"""The OpenAPI description the SDK checks against, as data (read once, when first needed).

It travels with the package (``mint_ext/_spec/mint.openapi.yaml`` in a wheel; ``spec/`` in a
checkout). Only the standard library and PyYAML: every other module may use it.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["MAX_DEPTH", "spec", "too_deep"]

MAX_DEPTH = 64
"""Deepest nesting of JSON arrays/objects accepted in a response (the API's bodies nest ~6)."""


def _spec_text() -> str:
    packaged = importlib.resources.files("mint_ext").joinpath("_spec", "mint.openapi.yaml")
    if packaged.is_file():
        return packaged.read_text("utf-8")
    checkout = Path(__file__).resolve().parent.parent / "spec" / "mint.openapi.yaml"
    if checkout.is_file():
        return checkout.read_text("utf-8")
    raise FileNotFoundError(  # a packaging defect, never a user's mistake
        "the OpenAPI description the SDK checks responses against is missing from the "
        "installation (mint_ext/_spec/mint.openapi.yaml); reinstall mint-sdk"
    )


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenAPI document (parsed once)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(_spec_text(), Loader=loader)
    return document


def too_deep(data: object) -> bool:
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping | list | tuple):
            if depth >= MAX_DEPTH:
                return True
            items: Iterator[object] = iter(value.values() if isinstance(value, Mapping) else value)
            stack.extend((item, depth + 1) for item in items)
    return False
