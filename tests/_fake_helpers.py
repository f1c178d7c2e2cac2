"""Deprecated: a re-export shim until tests/test_fake_faults.py and tests/test_fake_assets.py
import ``RawApi`` from ``tests._harness`` (issue 17). New code imports it from there."""

from tests._harness import RawApi as Api

__all__ = ["Api"]
