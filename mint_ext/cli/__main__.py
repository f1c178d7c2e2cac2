"""``python -m mint_ext.cli``: the ``mint`` command."""

from __future__ import annotations

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
