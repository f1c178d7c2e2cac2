"""``python -m mint_ext.testing``: see :func:`mint_ext.testing._cli.main`."""

from __future__ import annotations

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
