"""The Python examples of the guides (docs/guides/*.md) run as written, against the fake server.

Like the README's (tests/test_readme.py): each block is a whole program, run in a subprocess
with ``MINT_API_KEY``/``MINT_BASE_URL`` pointing at the fake on loopback, in an empty folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mint_ext.testing import FakeMint, RealClock, serve_fake_mint

from ._fake_contract import Contract

GUIDES = Path(__file__).parent.parent / "docs" / "guides"
EXAMPLES = [
    pytest.param(block, id=f"{page.stem}-{n}")
    for page in sorted(GUIDES.glob("*.md"))
    for n, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))
]


def test_the_guides_have_python_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("source", EXAMPLES)
def test_guide_python_example_runs(source: str, tmp_path: Path, contract: Contract) -> None:
    fake = FakeMint(clock=RealClock(60.0), retry_after=0.1, on_response=contract)
    with serve_fake_mint(fake) as server:
        env = {**os.environ, "MINT_API_KEY": server.api_key, "MINT_BASE_URL": server.base_url}
        proc = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
