"""Testing aids: ``StoreContract``, the pytest base class every credential store must pass,
and ``MemoryStore``, a dict-backed store for tests of code that takes a store.

Subclass ``StoreContract`` in ``tests/stores/test_<name>.py`` and provide a
``store`` fixture that yields a fresh, empty store::

    class TestPassStore(StoreContract):
        @pytest.fixture
        def store(self, pass_env): return PassStore()
"""

from __future__ import annotations

import pytest

from regcred.credentials import TOKEN_USERNAME, Credentials, CredentialStore
from regcred.errors import CredentialsNotFoundError

__all__ = ["MemoryStore", "StoreContract"]


class MemoryStore(CredentialStore):
    """A dict-backed store that records the actions it was asked for (``calls``).

    A test double, not a place for real credentials: nothing is encrypted or kept.
    """

    name = "memory"

    def __init__(self) -> None:
        self.data: dict[str, Credentials] = {}
        self.calls: list[str] = []

    def store(self, creds: Credentials) -> None:
        self.calls.append("store")
        self.data[creds.server] = creds

    def get(self, server: str) -> Credentials:
        self.calls.append("get")
        try:
            return self.data[server]
        except KeyError:
            raise CredentialsNotFoundError(f"no credentials for {server}") from None

    def erase(self, server: str) -> None:
        self.calls.append("erase")
        self.data.pop(server, None)

    def list(self) -> dict[str, str]:
        self.calls.append("list")
        return {server: creds.username for server, creds in self.data.items()}


class StoreContract:
    """Behaviour every :class:`~regcred.credentials.CredentialStore` must have."""

    def test_round_trip(self, store: CredentialStore) -> None:
        """What is stored comes back unchanged."""
        store.store(Credentials("reg.example:5000", "alice", "s3cr<&>t"))
        got = store.get("reg.example:5000")
        assert (got.server, got.username, got.secret) == ("reg.example:5000", "alice", "s3cr<&>t")

    def test_get_missing_raises_not_found(self, store: CredentialStore) -> None:
        """A missing key raises CredentialsNotFoundError, not a generic error."""
        with pytest.raises(CredentialsNotFoundError):
            store.get("nothing.example")

    #: False only for config.json's ``auths``, whose ``get`` also answers the legacy
    #: spellings of a host, as docker's ``fileStore.Get`` does.
    exact_keys = True

    def listed(self, server: str) -> str:
        """The key ``list`` shows for a credential stored for ``server``.

        The same key for every store but one that rebuilds keys from what it
        keeps, as the macOS keychain does (``reg.example`` lists as
        ``https://reg.example``, exactly as docker-credential-osxkeychain).
        """
        return server

    def test_keys_are_exact(self, store: CredentialStore) -> None:
        """`host` and `https://host` are different keys, as in the Go helpers (file: docker's fallback)."""
        store.store(Credentials("https://index.docker.io/v1/", "bob", "pw"))
        if self.exact_keys:
            with pytest.raises(CredentialsNotFoundError):
                store.get("index.docker.io")
        else:
            got = store.get("index.docker.io")
            assert (got.server, got.username, got.secret) == ("index.docker.io", "bob", "pw")
        with pytest.raises(CredentialsNotFoundError):
            store.get("other.example")

    def test_overwrite_replaces_other_username(self, store: CredentialStore) -> None:
        """A second store for the same server replaces the first, whatever its username."""
        store.store(Credentials("reg.example", "alice", "one"))
        store.store(Credentials("reg.example", "bob", "two"))
        got = store.get("reg.example")
        assert (got.username, got.secret) == ("bob", "two")
        assert store.list() == {self.listed("reg.example"): "bob"}

    def test_erase(self, store: CredentialStore) -> None:
        """Erase removes the entry; erasing again is not an error."""
        store.store(Credentials("reg.example", "alice", "pw"))
        store.erase("reg.example")
        with pytest.raises(CredentialsNotFoundError):
            store.get("reg.example")
        store.erase("reg.example")

    def test_erase_missing_succeeds(self, store: CredentialStore) -> None:
        """Erasing a key that was never stored succeeds."""
        store.erase("never.example")

    def test_unicode_and_awkward_values(self, store: CredentialStore) -> None:
        """Non-ASCII, slashes in usernames and trailing newlines round-trip."""
        cases = [
            Credentials("reg.example", "ünï/cøde", "pässwörd\u2028✓"),
            Credentials("newline.example", "a/b/../c", "ends with newline\n"),
            Credentials("empty.example", "user", ""),
        ]
        for creds in cases:
            store.store(creds)
        for creds in cases:
            got = store.get(creds.server)
            assert (got.username, got.secret) == (creds.username, creds.secret)

    def test_identity_token(self, store: CredentialStore) -> None:
        """The `<token>` username is stored like any other."""
        store.store(Credentials("acr.example", TOKEN_USERNAME, "eyJ.refresh.token"))
        got = store.get("acr.example")
        assert got.is_identity_token
        assert got.secret == "eyJ.refresh.token"

    def test_list(self, store: CredentialStore) -> None:
        """list maps every server to its username."""
        assert store.list() == {}
        store.store(Credentials("https://index.docker.io/v1/", "alice", "a"))
        store.store(Credentials("reg.example:5000", "bob", "b"))
        assert store.list() == {
            self.listed("https://index.docker.io/v1/"): "alice",
            self.listed("reg.example:5000"): "bob",
        }
