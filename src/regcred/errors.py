"""Every error regcred raises on purpose.

The tree::

    RegcredError
    ├── ConfigError                  config.json, an auth file or a REGCRED_* setting unusable
    ├── AddressError (ValueError)    a server address regcred refuses to use
    ├── UsageError (ValueError)      arguments that contradict each other or name nothing valid
    ├── LoginError                   the login failed (any of the below, or a registry off the protocol)
    │   ├── CredentialsRejectedError the registry or its token server refused the credentials (401/403)
    │   ├── RegistryUnreachableError no usable HTTP answer: refused, no such host, timeout, proxy
    │   │   └── TLSVerificationError the TLS connection failed: untrusted certificate, handshake
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
    "CredentialsRejectedError",
    "HelperError",
    "InsecureRedirectError",
    "LoginError",
    "RegcredError",
    "RegistryUnreachableError",
    "StoreUnavailableError",
    "TLSVerificationError",
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
    """The login failed: the subclasses say why, when it is one of the common reasons.

    A plain ``LoginError`` is everything else: a registry or token server that
    answered off the protocol (a 5xx, a malformed token), or credentials that
    cannot be sent (empty, or an identity token to a Basic-only registry).
    """


class CredentialsRejectedError(LoginError):
    """The registry, or its token server, answered 401 or 403 to the credentials sent.

    Retrying with the same credentials will fail the same way.
    """


class RegistryUnreachableError(LoginError):
    """No usable HTTP answer from the registry (or its token server, or the proxy).

    The connection was refused or reset, the host name does not resolve, the
    request timed out, the proxy setting is unusable, or the answer was not
    HTTP (malformed, too large).  Often worth a retry later.
    """


class TLSVerificationError(RegistryUnreachableError):
    """The TLS connection could not be set up, so nothing was sent.

    The certificate is not trusted (self-signed, another CA: put the CA in
    ``certs.d``), expired or for another host, the handshake failed, or the
    server speaks plain HTTP on that port.  A retry will not help; catch it
    before :class:`RegistryUnreachableError` to tell the two apart.
    """


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
