"""``import mint_ext`` loads public names on first use; every name still imports and reads
``mint_ext`` as its module. Checked in fresh interpreters (real subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

import mint_ext


def _fresh(code: str) -> object:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_import_loads_neither_the_client_nor_asyncio() -> None:
    loaded = _fresh(
        "import sys, json, mint_ext\n"
        "print(json.dumps([m for m in ('mint_ext._client', 'mint_ext._downloads', 'asyncio',"
        " 'mint_client.models', 'rich', 'jsonschema') if m in sys.modules]))"
    )
    assert loaded == []


def test_every_public_name_imports_from_the_package() -> None:
    modules = _fresh(
        "import json, mint_ext\n"
        "print(json.dumps({n: getattr(getattr(mint_ext, n), '__module__', None)"
        " for n in mint_ext.__all__}))"
    )
    assert isinstance(modules, dict) and set(modules) == set(mint_ext.__all__)
    wrong = {n: m for n, m in modules.items() if m is not None and m.startswith("mint_ext._")}
    assert wrong == {}
    assert set(mint_ext.__all__) <= set(dir(mint_ext))


def test_an_error_raised_after_from_import_names_the_package() -> None:
    # only the client is asked for; the error classes it loaded already say mint_ext
    assert (
        _fresh(
            "import json\nfrom mint_ext import Mint\nimport mint_ext._errors as e\n"
            "print(json.dumps(e.NotFoundError.__module__))"
        )
        == "mint_ext"
    )


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no_such_name"):
        mint_ext.no_such_name  # noqa: B018


def test_the_download_machinery_loads_with_mint_assets_not_with_the_client() -> None:
    heavy = "('mint_ext._downloads', 'mint_ext._files', 'filelock')"
    before, after, kinds = _fresh(
        "import sys, json\nfrom mint_ext import Mint, AsyncMint\n"
        f"heavy = {heavy}\n"
        "mint = Mint(api_key='k'); amint = AsyncMint(api_key='k')\n"
        "before = [m for m in heavy if m in sys.modules]\n"
        "kinds = [type(mint.assets).__name__, type(amint.assets).__name__,"
        " type(mint.with_options(timeout=5).assets).__name__]\n"
        "after = [m for m in heavy if m in sys.modules]\n"
        "print(json.dumps([before, after, kinds]))"
    )
    assert before == []
    assert after == ["mint_ext._downloads", "mint_ext._files", "filelock"]
    assert kinds == ["Assets", "AsyncAssets", "Assets"]
