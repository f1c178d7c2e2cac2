"""One version: the package metadata, ``mint_ext.__version__``, the User-Agent and the CHANGELOG."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

import mint_ext
from mint_ext import Mint, NotFoundError

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_package_version_is_read_from_mint_ext() -> None:
    """pyproject.toml declares no version of its own, so the two cannot drift apart."""
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "mint_ext/_version.py"


def test_the_installed_metadata_has_that_version() -> None:
    assert version("mint-sdk") == mint_ext.__version__, "stale install? pip install -e . again"


def test_the_version_is_a_release_number() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?", mint_ext.__version__)


def test_the_changelogs_latest_release_is_this_version() -> None:
    """Releasing renames ``[Unreleased]`` and bumps ``_version.py`` in the same commit."""
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings[0] == "Unreleased"
    released = [h for h in headings if h != "Unreleased"]
    assert released[0] == mint_ext.__version__, released


def test_the_user_agent_sent_carries_the_version() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["user-agent"])
        return httpx.Response(404, json={"type": "not-found", "title": "no", "status": 404})

    transport = httpx.MockTransport(answer)
    with (
        Mint(api_key="k", base_url="http://mint.test", transport=transport) as mint,
        pytest.raises(NotFoundError),
    ):
        mint.operations.get("op_1")
    assert seen == [f"mint-ext/{mint_ext.__version__}"]
