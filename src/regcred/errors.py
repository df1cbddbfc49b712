"""Every error regcred raises on purpose.

The tree::

    RegcredError
    ├── ConfigError                  config.json, an auth file or a REGCRED_* setting unusable
    ├── AddressError (ValueError)    a server address regcred refuses to use
    ├── UsageError (ValueError)      arguments that contradict each other or name nothing valid
    ├── LoginError                   the registry refused the login, or could not be reached
    │   └── InsecureRedirectError    the registry tried to send credentials elsewhere
    └── CredentialStoreError         a credential store failed
        ├── CredentialsNotFoundError (LookupError)
        ├── StoreUnavailableError    the backend cannot run here (no bus, no pass …)
        └── HelperError              a docker-credential-* program failed

Messages say what to do next and never contain a secret.  Exit codes are
mapped only in ``cli/`` (``UsageError`` exits 2, every other error 1) and
``helpers/_protocol.py``.
"""

from __future__ import annotations

__all__ = [
    "AddressError",
    "ConfigError",
    "CredentialStoreError",
    "CredentialsNotFoundError",
    "HelperError",
    "InsecureRedirectError",
    "LoginError",
    "RegcredError",
    "StoreUnavailableError",
    "UsageError",
]


class RegcredError(Exception):
    """Base for every error regcred raises on purpose."""


class ConfigError(RegcredError):
    """config.json or an auth file cannot be read, parsed or written, or a setting is unusable."""


class AddressError(RegcredError, ValueError):
    """A server address that regcred refuses to use."""


class UsageError(RegcredError, ValueError):
    """The caller asked for something that cannot mean anything: conflicting options,
    an invalid store or Secret name.  Nothing was read or changed yet.

    Raised by the library functions too (``logout`` with a server and
    ``all_registries``, ``migrate`` to an invalid store name), so the rule
    lives in one place and the CLI only maps it to exit 2.  Errors about the
    registry, a store or the credentials themselves are never usage errors.
    """


class LoginError(RegcredError):
    """The registry refused the credentials, or could not be reached."""


class InsecureRedirectError(LoginError):
    """The registry tried to move the credentials to another origin."""


class CredentialStoreError(RegcredError):
    """A credential store failed."""


class CredentialsNotFoundError(CredentialStoreError, LookupError):
    """The store holds no credentials for that server."""


class StoreUnavailableError(CredentialStoreError):
    """The backend cannot run here; the message says why."""


class HelperError(CredentialStoreError):
    """A ``docker-credential-*`` program failed (its output is redacted)."""
