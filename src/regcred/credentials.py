"""The credential value and the interface every store implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

__all__ = ["TOKEN_USERNAME", "CredentialStore", "Credentials"]

#: The username that marks an identity (refresh) token, as the Docker CLI uses it.
TOKEN_USERNAME = "<token>"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Credentials for one registry key.

    ``secret`` is a password, or an identity token when ``username`` is
    ``"<token>"``.  ``repr()`` and ``str()`` never show it.
    """

    server: str
    username: str
    secret: str = field(repr=False)

    @property
    def is_identity_token(self) -> bool:
        """True when ``secret`` is an identity (refresh) token."""
        return self.username == TOKEN_USERNAME

    def __str__(self) -> str:
        return f"{self.username}@{self.server}"


class CredentialStore(abc.ABC):
    """A place that keeps credentials, keyed by server URL (exact match).

    Implementations live in ``regcred.stores``.  ``get`` raises
    :class:`~regcred.errors.CredentialsNotFoundError` for a missing key;
    ``erase`` of a missing key succeeds.
    """

    #: Short name, as in ``docker-credential-regcred-<name>``.
    name: str = ""

    @classmethod
    def check(cls) -> None:
        """Raise :class:`~regcred.errors.StoreUnavailableError` if unusable here."""
        return  # an optional hook: available unless a store overrides it

    @abc.abstractmethod
    def store(self, creds: Credentials) -> None:
        """Store ``creds``, replacing whatever that server had (any username)."""

    @abc.abstractmethod
    def get(self, server: str) -> Credentials:
        """Return the credentials stored for exactly ``server``."""

    @abc.abstractmethod
    def erase(self, server: str) -> None:
        """Remove ``server``'s credentials; a missing entry is not an error."""

    @abc.abstractmethod
    def list(self) -> dict[str, str]:
        """Return ``{server: username}`` without reading any secret."""
