"""Mint SDK: a typed, ergonomic client for the Mint API (3D worlds and models).

Example:
    >>> from mint_ext import Mint
    >>> with Mint() as mint:  # MINT_API_KEY, MINT_BASE_URL
    ...     op = mint.worlds.generate(prompt="A quiet greenhouse", generation_mode="review")
    ...     op = mint.operations.wait(op)  # stops at preview_ready
    ...     op = mint.operations.wait(mint.operations.approve(op))
    ...     report = mint.assets.download(op, out)  # out/<world id>/...
    >>> print(op.status, report.ok)
    succeeded True

The low-level generated client is the separate package ``mint_client``; it is not re-exported here.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import status as status
    from ._client import AsyncMint as AsyncMint
    from ._client import ClientOptions as ClientOptions
    from ._client import Mint as Mint
    from ._core import InvalidArgumentError as InvalidArgumentError
    from ._core import idempotency_key as idempotency_key
    from ._download_core import AssetReport as AssetReport
    from ._download_core import DownloadProgress as DownloadProgress
    from ._download_core import DownloadReport as DownloadReport
    from ._errors import APIConnectionError as APIConnectionError
    from ._errors import APIStatusError as APIStatusError
    from ._errors import APITimeoutError as APITimeoutError
    from ._errors import AssetVerificationError as AssetVerificationError
    from ._errors import AuthenticationError as AuthenticationError
    from ._errors import BillingRequiredError as BillingRequiredError
    from ._errors import ConfigurationError as ConfigurationError
    from ._errors import ConflictError as ConflictError
    from ._errors import DownloadError as DownloadError
    from ._errors import DownloadInProgressError as DownloadInProgressError
    from ._errors import IdempotencyConflictError as IdempotencyConflictError
    from ._errors import InsufficientCreditsError as InsufficientCreditsError
    from ._errors import InternalServerError as InternalServerError
    from ._errors import MintError as MintError
    from ._errors import NotFoundError as NotFoundError
    from ._errors import OperationCanceledError as OperationCanceledError
    from ._errors import OperationError as OperationError
    from ._errors import OperationFailedError as OperationFailedError
    from ._errors import PermissionDeniedError as PermissionDeniedError
    from ._errors import RateLimitError as RateLimitError
    from ._errors import ResponseValidationError as ResponseValidationError
    from ._errors import UnprocessableEntityError as UnprocessableEntityError
    from ._errors import UnsafePathError as UnsafePathError
    from ._errors import UnsafeRedirectError as UnsafeRedirectError
    from ._errors import WaitTimeoutError as WaitTimeoutError
    from ._models import Account as Account
    from ._models import Billing as Billing
    from ._models import ErrorInfo as ErrorInfo
    from ._models import Model as Model
    from ._models import ModelAssets as ModelAssets
    from ._models import Operation as Operation
    from ._models import Page as Page
    from ._models import ResourceRef as ResourceRef
    from ._models import Usage as Usage
    from ._models import World as World
    from ._models import WorldAssets as WorldAssets
    from ._options import RequestOptions as RequestOptions
    from ._options import WaitOptions as WaitOptions
    from ._raw import RawResponse as RawResponse
    from ._resources.operations import WaitFailed as WaitFailed
    from ._resources.operations import WaitOk as WaitOk
    from ._resources.operations import WaitResult as WaitResult
    from ._resources.pagers import AsyncPager as AsyncPager
    from ._resources.pagers import Pager as Pager
    from ._retry import Clock as Clock
    from ._retry import RetryPolicy as RetryPolicy
    from ._version import __version__ as __version__
    from ._waiting import PollPolicy as PollPolicy

# Loaded when first used (``mint_ext.Mint``, ``from mint_ext import Mint``), not at import: the
# client, the download machinery, asyncio and the generated models cost most of the import.
_LAZY: dict[str, str] = {
    "status": "",
    "AsyncMint": "_client",
    "ClientOptions": "_client",
    "Mint": "_client",
    "InvalidArgumentError": "_core",
    "idempotency_key": "_core",
    "AssetReport": "_download_core",
    "DownloadProgress": "_download_core",
    "DownloadReport": "_download_core",
    "APIConnectionError": "_errors",
    "APIStatusError": "_errors",
    "APITimeoutError": "_errors",
    "AssetVerificationError": "_errors",
    "AuthenticationError": "_errors",
    "BillingRequiredError": "_errors",
    "ConfigurationError": "_errors",
    "ConflictError": "_errors",
    "DownloadError": "_errors",
    "DownloadInProgressError": "_errors",
    "IdempotencyConflictError": "_errors",
    "InsufficientCreditsError": "_errors",
    "InternalServerError": "_errors",
    "MintError": "_errors",
    "NotFoundError": "_errors",
    "OperationCanceledError": "_errors",
    "OperationError": "_errors",
    "OperationFailedError": "_errors",
    "PermissionDeniedError": "_errors",
    "RateLimitError": "_errors",
    "ResponseValidationError": "_errors",
    "UnprocessableEntityError": "_errors",
    "UnsafePathError": "_errors",
    "UnsafeRedirectError": "_errors",
    "WaitTimeoutError": "_errors",
    "Account": "_models",
    "Billing": "_models",
    "ErrorInfo": "_models",
    "Model": "_models",
    "ModelAssets": "_models",
    "Operation": "_models",
    "Page": "_models",
    "ResourceRef": "_models",
    "Usage": "_models",
    "World": "_models",
    "WorldAssets": "_models",
    "RequestOptions": "_options",
    "WaitOptions": "_options",
    "RawResponse": "_raw",
    "WaitFailed": "_resources.operations",
    "WaitOk": "_resources.operations",
    "WaitResult": "_resources.operations",
    "AsyncPager": "_resources.pagers",
    "Pager": "_resources.pagers",
    "Clock": "_retry",
    "RetryPolicy": "_retry",
    "__version__": "_version",
    "PollPolicy": "_waiting",
}

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Account",
    "AssetReport",
    "AssetVerificationError",
    "AsyncMint",
    "AsyncPager",
    "AuthenticationError",
    "Billing",
    "BillingRequiredError",
    "ClientOptions",
    "Clock",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "DownloadInProgressError",
    "DownloadProgress",
    "DownloadReport",
    "ErrorInfo",
    "IdempotencyConflictError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidArgumentError",
    "Mint",
    "MintError",
    "Model",
    "ModelAssets",
    "NotFoundError",
    "Operation",
    "OperationCanceledError",
    "OperationError",
    "OperationFailedError",
    "Page",
    "Pager",
    "PermissionDeniedError",
    "PollPolicy",
    "RateLimitError",
    "RawResponse",
    "RequestOptions",
    "ResourceRef",
    "ResponseValidationError",
    "RetryPolicy",
    "UnprocessableEntityError",
    "UnsafePathError",
    "UnsafeRedirectError",
    "Usage",
    "WaitFailed",
    "WaitOk",
    "WaitOptions",
    "WaitResult",
    "WaitTimeoutError",
    "World",
    "WorldAssets",
    "__version__",
    "idempotency_key",
    "status",
]


def _public(obj: Any) -> Any:
    # Public objects say where users import them from (``mint_ext.Operation``, not
    # ``mint_ext._models.Operation``) in reprs, tracebacks and docs, as httpx does.
    if getattr(obj, "__module__", "").startswith("mint_ext._"):
        obj.__module__ = "mint_ext"
    return obj


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mint_ext' has no attribute {name!r}")
    import importlib

    importlib.import_module(f"{__name__}.{module or name}")
    # Every public name whose module is loaded by now (the client pulls in most of them) is
    # bound here at once, so its ``__module__`` reads ``mint_ext`` before any of it is raised.
    for other, where in _LAZY.items():
        loaded = sys.modules.get(f"{__name__}.{where or other}")
        if loaded is not None and other not in globals():
            globals()[other] = loaded if not where else _public(getattr(loaded, other))
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
