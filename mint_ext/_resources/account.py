"""``mint.account``: who the key belongs to and how many Credits are left."""

from __future__ import annotations

from typing import Unpack

from .. import _calls as calls
from .._models import Account, Usage
from .._options import RequestOptions
from .._raw import raw_async, raw_sync
from .._runner import AsyncRunner, SyncRunner


class AccountResource:
    """``mint.account``: who the key belongs to and how many Credits are left."""

    def __init__(self, runner: SyncRunner) -> None:
        self._r = runner

    def me(self, **options: Unpack[RequestOptions]) -> Account:
        """The account of the API key.

        Example:
            >>> mint.account.me().user_id.startswith("0x")
            True
        """
        r = self._r.using(options)
        return r.run(calls.me_call(r.core))

    def usage(self, **options: Unpack[RequestOptions]) -> Usage:
        """Credits used and left (``mint.account.usage().credits_available``)."""
        r = self._r.using(options)
        return r.run(calls.usage_call(r.core))


class AsyncAccountResource:
    """``mint.account`` of :class:`AsyncMint`."""

    def __init__(self, runner: AsyncRunner) -> None:
        self._r = runner

    async def me(self, **options: Unpack[RequestOptions]) -> Account:
        """The account of the API key."""
        r = self._r.using(options)
        return await r.run(calls.me_call(r.core))

    async def usage(self, **options: Unpack[RequestOptions]) -> Usage:
        """Credits used and left."""
        r = self._r.using(options)
        return await r.run(calls.usage_call(r.core))


class AccountWithRawResponse:
    """``mint.with_raw_response.account``."""

    def __init__(self, account: AccountResource) -> None:
        self.me = raw_sync(account.me)
        self.usage = raw_sync(account.usage)


class AsyncAccountWithRawResponse:
    """``amint.with_raw_response.account``."""

    def __init__(self, account: AsyncAccountResource) -> None:
        self.me = raw_async(account.me)
        self.usage = raw_async(account.usage)
