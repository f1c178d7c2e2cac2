"""Mint SDK: the typed, ergonomic layer over the generated ``mint_client`` package."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
