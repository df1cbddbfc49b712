"""regcred: Docker-compatible registry login and credential storage.

The package imports nothing heavy at import time: every name below is
loaded on first use (PEP 562), so a credential helper that imports
``regcred.helpers.pass_`` pays only for what it needs.  ``RegistryAuth``
needs httpx (``regcred[httpx]``) and ``RequestsAuth`` needs requests
(``regcred[requests]``): neither is imported until that name is used.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False
if TYPE_CHECKING:
    from regcred._lookup import get_credentials, list_credentials
    from regcred._net.httpx_auth import RegistryAuth
    from regcred._net.requests_auth import RequestsAuth
    from regcred._version import __version__
    from regcred._write import (
        LoginResult,
        LogoutResult,
        erase_credentials,
        login,
        logout,
        store_credentials,
    )
    from regcred.credentials import Credentials, CredentialStore
    from regcred.errors import (
        AddressError,
        ConfigError,
        CredentialsNotFoundError,
        CredentialsRejectedError,
        CredentialStoreError,
        HelperError,
        InsecureRedirectError,
        LoginError,
        RegcredError,
        RegistryUnreachableError,
        StoreUnavailableError,
        TLSVerificationError,
        UsageError,
    )

__all__ = [
    "AddressError",
    "ConfigError",
    "CredentialStore",
    "CredentialStoreError",
    "Credentials",
    "CredentialsNotFoundError",
    "CredentialsRejectedError",
    "HelperError",
    "InsecureRedirectError",
    "LoginError",
    "LoginResult",
    "LogoutResult",
    "RegcredError",
    "RegistryAuth",
    "RegistryUnreachableError",
    "RequestsAuth",
    "StoreUnavailableError",
    "TLSVerificationError",
    "UsageError",
    "__version__",
    "erase_credentials",
    "get_credentials",
    "list_credentials",
    "login",
    "logout",
    "store_credentials",
]

_LAZY = {
    "get_credentials": "regcred._lookup",
    "list_credentials": "regcred._lookup",
    "__version__": "regcred._version",
    **dict.fromkeys(
        ("LoginResult", "LogoutResult", "erase_credentials", "login", "logout", "store_credentials"),
        "regcred._write",
    ),
    "Credentials": "regcred.credentials",
    "CredentialStore": "regcred.credentials",
    "RegistryAuth": "regcred._net.httpx_auth",  # needs httpx (regcred[httpx])
    "RequestsAuth": "regcred._net.requests_auth",  # needs requests (regcred[requests])
    **{name: "regcred.errors" for name in __all__ if name.endswith("Error")},
}
__lazy_modules__ = [
    "regcred._lookup",
    "regcred._net.httpx_auth",
    "regcred._net.requests_auth",
    "regcred._version",
    "regcred._write",
    "regcred.credentials",
    "regcred.errors",
]


def __getattr__(name: str) -> object:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'regcred' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
