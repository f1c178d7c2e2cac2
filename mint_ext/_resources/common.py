"""What the resource modules share: argument types and the field collector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

GenerationMode = Literal["auto", "review"]
GenerationPreset = Literal["fast", "standard", "production"]
OptimizationLevel = Literal["light", "moderate", "aggressive"]
RiggingPose = Literal["t_pose", "a_pose"]


def given(arguments: Mapping[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """The body fields among a method's arguments (``locals()``), without the ones left None."""
    return {name: arguments[name] for name in names if arguments.get(name) is not None}
