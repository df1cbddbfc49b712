"""The router: which store answers for a registry key, and where a new credential goes.

This is docker's ``ConfigFile.GetCredentialsStore`` and nothing else decides it:
login, logout, lookup, list, migrate, export and doctor all ask a
:class:`Router`.

**Which store holds key K** (:meth:`Router.store_for`):

* the helper named by ``credHelpers[K]``, else by ``credsStore``
  (:func:`helper_for`), wrapped with the file's ``{}`` markers as docker's
  ``nativeStore`` (:class:`~regcred.stores.native.NativeStore`);
* ``credHelpers[K] == ""`` pins K to the file, as docker reads it;
* otherwise the file's ``auths`` (:class:`~regcred.stores.file.FileStore`).

``$DOCKER_AUTH_CONFIG`` (:class:`~regcred.stores.env.EnvStore`) is read
before any of them by :meth:`Router.get`, as docker 28.3+ does, and listed
first by :meth:`Router.list_by_store` (a router made by :meth:`Router.for_lookup`:
``get``, ``list`` and ``doctor`` all use one).

**Where a new credential goes** (:meth:`Router.where_new`):

1. the helper the config names for K (above);
2. when config.json names no store and holds no credentials yet (docker's
   rule for recording its default), the system's default store as docker's
   ``DetectDefaultStore`` picks it (:func:`regcred._system.default_backends`:
   ``osxkeychain`` on macOS, ``wincred`` on Windows, the Secret Service then
   pass elsewhere), to be recorded as ``credsStore``.  For each backend,
   regcred's own helper (its :data:`~regcred.stores._catalog.KNOWN` row) when
   it is on PATH and its backend works here; on macOS and Windows then the Go
   helper of that name when it is on PATH, as docker takes it (docker checks
   nothing more).  A config that names a store keeps it: Docker Desktop's
   ``"credsStore": "desktop"`` is step 1 and is never changed;
3. otherwise the file, with the "stored unencrypted" warning.
"""

from __future__ import annotations

from regcred._record import Record
from regcred.errors import CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores.file import FileStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from regcred import _config
    from regcred.credentials import Credentials, CredentialStore
    from regcred.stores import _catalog
    from regcred.stores.env import EnvStore

    #: ``[(helper name, or "" for the file, {key: username})]``
    Listing = list[tuple[str, dict[str, str]]]

__all__ = ["ENV", "Router", "StoreChoice", "helper_for", "helper_store"]

#: The store name :meth:`Router.list_by_store` gives ``$DOCKER_AUTH_CONFIG`` (no helper is named so).
ENV = "$DOCKER_AUTH_CONFIG"


class StoreChoice(Record):
    """Where a new credential goes; ``helper == ""`` means the config file itself."""

    __slots__ = ("auto_detected", "helper", "why")
    helper: str
    auto_detected: bool
    why: str

    def __init__(self, helper: str, auto_detected: bool = False, why: str = "") -> None:
        self._set(helper=helper, auto_detected=auto_detected, why=why)

    def describe(self, path: Path) -> str:
        if self.helper:
            return f"credential helper docker-credential-{self.helper}"
        return f"the config file {path} (base64, not encrypted)"


def helper_for(config: _config.Config, key: str) -> str:
    """The helper name that owns ``key`` (``credHelpers``, then ``credsStore``), or ``""``.

    ``credHelpers`` is matched by the exact key, as docker matches it: a
    ``credHelpers`` key spelled ``https://host/v2`` is not ``host``'s helper.
    ``credHelpers[key] == ""`` pins ``key`` to the config file, as docker reads it.
    """
    helpers = config.cred_helpers
    if key in helpers:
        return helpers[key]
    return config.creds_store


def helper_store(name: str) -> CredentialStore:
    """The store behind ``docker-credential-<name>`` (the name is validated)."""
    from regcred.stores.helper import HelperStore

    return HelperStore(name)


class Router:
    """The stores of one docker config (see the module docstring)."""

    def __init__(self, config: _config.Config, *, env: EnvStore | None = None) -> None:
        self.config = config
        self.file = FileStore(config.path, config=config)
        self.env = env
        self._helpers: dict[str, CredentialStore] = {}

    @classmethod
    def for_lookup(cls, config: _config.Config) -> Router:
        """A router that also reads ``$DOCKER_AUTH_CONFIG`` first."""
        from regcred.stores.env import EnvStore

        return cls(config, env=EnvStore.from_environ())

    # -- which store ------------------------------------------------------------

    def helper_name(self, key: str) -> str:
        """The helper that answers for ``key``, or ``""`` for the file."""
        return helper_for(self.config, key)

    def helper(self, name: str) -> CredentialStore:
        """The client of ``docker-credential-<name>`` (one per name)."""
        store = self._helpers.get(name)
        if store is None:
            store = self._helpers[name] = helper_store(name)
        return store

    def store_for(self, key: str) -> CredentialStore:
        """The store docker uses for ``key``: a native store, or the file."""
        name = self.helper_name(key)
        if not name:
            return self.file
        from regcred.stores.native import NativeStore

        return NativeStore(self.helper(name), self.file)

    def helpers(self) -> list[str]:
        """Every helper the config names (``credsStore`` and ``credHelpers`` values), sorted."""
        names = {h for h in self.config.cred_helpers.values() if h}
        if self.config.creds_store:
            names.add(self.config.creds_store)
        return sorted(names)

    def held_by(self, name: str) -> dict[str, str]:
        """What helper ``name`` lists and the config routes to it (``{key: username}``)."""
        return {k: u for k, u in self.helper(name).list().items() if self.helper_name(k) == name}

    # -- reading ------------------------------------------------------------------

    def get(self, key: str, repo: str = "") -> Credentials | None:
        """``key``'s credentials (``$DOCKER_AUTH_CONFIG``, then its store), or None.

        ``repo`` (``ns/app`` of an image reference) lets the file's keys with a
        path (``host/ns``) answer for that repository.
        """
        if self.env is not None:
            try:
                return self.env.get(key)
            except CredentialsNotFoundError:
                pass
        store = self.store_for(key)
        try:
            if store is self.file:
                return self.file.find(key, repo)
            return store.get(key)
        except CredentialsNotFoundError:
            return None

    def list(self) -> dict[str, str]:
        """``{key: username}`` for every key :meth:`get` answers, sorted; reads no secret.

        ``$DOCKER_AUTH_CONFIG``'s keys (when this router reads it), a file entry
        with a secret that the config routes to the file, and every key a helper
        lists that the config routes to that helper; a key in the variable shows
        the variable's username, as :meth:`get` answers with it.  A helper that
        cannot list is an error.
        """
        result: dict[str, str] = {}
        for _, held in self.list_by_store():
            for key, user in held.items():
                result.setdefault(key, user)  # the first store that holds a key answers for it
        return dict(sorted(result.items()))

    def list_by_store(self) -> Listing:
        """What :meth:`list` shows, store by store, in :meth:`get`'s order.

        ``[(name, {key: user})]``: :data:`ENV` for ``$DOCKER_AUTH_CONFIG`` (first,
        when this router reads it), ``""`` for the file, else a helper name.
        """
        stores: Listing = [(ENV, self.env.list())] if self.env is not None else []
        stores.append(("", {k: u for k, u in self.file.list().items() if not self.helper_name(k)}))
        stores += [(name, self.held_by(name)) for name in self.helpers()]
        return stores

    # -- writing ------------------------------------------------------------------

    def where_new(self, key: str, *, log: Callable[[str], None] | None = None) -> StoreChoice:
        """Where a new credential for ``key`` goes (see the module docstring)."""
        named = self.helper_name(key)
        if named:
            return StoreChoice(named, why="named in config.json")
        if self.config.contains_auth():
            return StoreChoice("", why="config.json already keeps credentials and names no helper")
        from regcred.stores.helper import find_helper

        reasons = []
        for name, known in _default_candidates():
            if find_helper(name) is None:
                reasons.append(f"docker-credential-{name} is not on PATH")
                continue
            if known is not None:
                try:
                    known.load().check()
                except (CredentialStoreError, ImportError) as exc:
                    reasons.append(f"{name}: {exc}")
                    continue
            return StoreChoice(name, auto_detected=True, why="the best store that works here")
        why = "; ".join(reasons)
        if log:
            log(f"no encrypted store works here ({why})")
        return StoreChoice("", why=why)

    def require_helper(self, name: str) -> None:
        """Fail before any credential goes on the wire if ``docker-credential-<name>`` is missing."""
        from regcred.stores.helper import find_helper

        self.helper(name)  # validates the name
        if find_helper(name) is None:
            raise StoreUnavailableError(
                f"config.json names the credential helper {name!r}, but docker-credential-{name} "
                "is not on PATH: install it, or change credsStore/credHelpers ('regcred doctor' helps)"
            )


def _default_candidates() -> list[tuple[str, _catalog.KnownStore | None]]:
    """The helpers :meth:`Router.where_new` may pick, in order, with the row to check (or None).

    Regcred's own helper of each default backend (checked), and on macOS and
    Windows the Go helpers of the same backend after it (taken as docker
    takes them).  A backend with no catalog row yet is looked for under
    both names, ``regcred-<backend>`` and ``<backend>``.
    """
    from regcred import _system
    from regcred.stores import _catalog

    native = _system.is_macos() or _system.is_windows()
    found: list[tuple[str, _catalog.KnownStore | None]] = []
    for backend in _system.default_backends():
        known = next((k for k in _catalog.KNOWN if k.backend == backend), None)
        if known is None:
            found += [(f"regcred-{backend}", None), (backend, None)] if native else []
            continue
        if known.auto:
            found.append((known.helper, known))
        if native:  # docker takes its default helper whenever it is on PATH
            found += [(other, None) for other in sorted(known.others)]
    return found
