"""The credential value and the interface every store implements."""

from __future__ import annotations

import abc

from regcred._record import Record

__all__ = ["TOKEN_USERNAME", "CredentialStore", "Credentials", "StoreStatus"]

#: The username that marks an identity (refresh) token, as the Docker CLI uses it.
TOKEN_USERNAME = "<token>"


class Credentials(Record):
    """Credentials for one registry key: immutable, hashable, and discreet.

    ``secret`` is a password, or an identity token when ``username`` is
    ``"<token>"``.  An entry of docker's config.json can hold a username and
    password *and* an identity token; then ``identity_token`` carries the
    token beside them (docker keeps both, and sends the password to a
    registry that asks for Basic auth).  ``repr()`` and ``str()`` never show
    a secret.
    """

    __slots__ = ("identity_token", "secret", "server", "username")
    _hidden = frozenset({"identity_token", "secret"})
    server: str
    username: str
    secret: str
    identity_token: str

    def __init__(self, server: str, username: str, secret: str, identity_token: str = "") -> None:
        self._set(server=server, username=username, secret=secret, identity_token=identity_token)

    def __hash__(self) -> int:
        return hash((self.server, self.username, self.secret, self.identity_token))

    @property
    def is_identity_token(self) -> bool:
        """True when ``secret`` is an identity (refresh) token."""
        return self.username == TOKEN_USERNAME

    def __str__(self) -> str:
        return f"{self.username}@{self.server}"


class StoreStatus(Record):
    """What ``regcred doctor`` shows about a store: ``state`` is ``"ok"`` or a short reason code."""

    __slots__ = ("detail", "state")
    state: str
    detail: str

    def __init__(self, state: str, detail: str = "") -> None:
        self._set(state=state, detail=detail)

    @property
    def ok(self) -> bool:
        return self.state == "ok"


class CredentialStore(abc.ABC):
    """A place that keeps credentials, keyed by server URL (exact match).

    Every store regcred knows implements this: config.json's ``auths``
    (:class:`~regcred.stores.file.FileStore`), ``DOCKER_AUTH_CONFIG``
    (:class:`~regcred.stores.env.EnvStore`, read-only), a helper program
    (:class:`~regcred.stores.helper.HelperStore`), a helper beside the file's
    ``{}`` markers (:class:`~regcred.stores.native.NativeStore`), and the
    native backends (``regcred.stores.secretservice``, ``regcred.stores.pass_``).
    ``get`` raises :class:`~regcred.errors.CredentialsNotFoundError` for a
    missing key; ``erase`` of a missing key succeeds.
    """

    #: Short name, as in ``docker-credential-regcred-<name>``.
    name: str = ""

    @classmethod
    def check(cls) -> None:
        """Raise :class:`~regcred.errors.StoreUnavailableError` if unusable here."""
        return  # an optional hook: available unless a store overrides it

    def status(self) -> StoreStatus:
        """The store's state for ``regcred doctor``; never reads a secret.

        The default runs :meth:`check`; backends with more to say override it.
        """
        from regcred.errors import StoreUnavailableError

        try:
            self.check()
        except StoreUnavailableError as exc:
            return StoreStatus("unavailable", str(exc))
        return StoreStatus("ok")

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
