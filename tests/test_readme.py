"""The README's Python examples run as written, against the fake server on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mint_ext.testing import FakeMint, RealClock, serve_fake_mint

from ._fake_contract import Contract

README = (Path(__file__).parent.parent / "README.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(SNIPPETS) >= 2


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_python_example_runs(index: int, tmp_path: Path, contract: Contract) -> None:
    fake = FakeMint(clock=RealClock(60.0), retry_after=0.1, on_response=contract)
    with serve_fake_mint(fake) as server:
        env = {**os.environ, "MINT_API_KEY": server.api_key, "MINT_BASE_URL": server.base_url}
        proc = subprocess.run([sys.executable, "-c", SNIPPETS[index]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert any(tmp_path.iterdir())  # the example downloaded files
