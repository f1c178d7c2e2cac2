"""``mint.assets``: asset downloads (placeholder until the downloads work lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._client import AsyncMint, Mint


class Assets:
    def __init__(self, client: Mint) -> None:
        self._c = client


class AsyncAssets:
    def __init__(self, client: AsyncMint) -> None:
        self._c = client
