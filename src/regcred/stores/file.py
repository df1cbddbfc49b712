"""config.json's ``auths`` as a store: docker's ``fileStore`` (and podman's auth.json).

* ``get(key)`` reads the entry stored under exactly ``key``.  An exact entry
  answers even when it holds no secret (docker's ``{}`` marker): docker then
  sends no credentials, and so does regcred.  With no exact entry, the other
  keys docker finds for the same host (``fileStore.Get`` falls back to
  ``ConvertToHostname``) are tried: ``https://host`` before ``http://host``,
  then keys with a path (``host/ns``) that cover the image's repository, most
  specific first.  Docker would use ``host/ns`` for every image on the host;
  regcred never uses it for another namespace (S11).  For Docker Hub,
  ``docker.io`` and ``index.docker.io`` keys count too (docker misfiles some
  logins there).
* podman's auth files (``style="podman"``) follow containers/image instead:
  ``host/ns/repo`` keys match most specific first, per path component, and a
  namespaced key never serves another namespace or the bare host.
* ``store`` writes base64 ``auth`` (or ``identitytoken`` for the ``<token>``
  username) under the exact key, keeping the entry's unknown fields;
  ``erase`` removes exactly that key.  Both go through
  :func:`regcred._config.update`: locked, re-read, atomic, skipped when
  nothing changes.
* ``list`` maps every key that holds a secret to its username; ``{}``
  markers belong to the native store that holds the secret, not to the file.

One rule turns an entry into credentials: :meth:`AuthEntry.credentials`.
"""

from __future__ import annotations

from regcred import _config
from regcred._address import DOCKER_HUB, HUB_HOSTS, stored_host, to_hostname
from regcred.credentials import Credentials, CredentialStore, StoreStatus
from regcred.errors import CredentialsNotFoundError, RegcredError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["FileStore", "candidate_keys", "same_registry", "set_entry"]


class FileStore(CredentialStore):
    """The ``auths`` of one config file (docker's config.json, or podman's auth.json)."""

    name = "file"

    def __init__(self, path: Path, *, config: _config.Config | None = None, style: str = "docker") -> None:
        self.path = path
        self._config = config
        #: "docker" (docker's config.json) or "podman" (containers/image's auth files)
        self.style = style

    @property
    def config(self) -> _config.Config:
        """The parsed file: the one given, else a cached read-only parse."""
        if self._config is not None:
            return self._config
        return _config.load_cached(self.path)

    def status(self) -> StoreStatus:
        try:
            config = _config.load(self.path)
        except RegcredError as exc:
            return StoreStatus("broken", str(exc))
        return StoreStatus("ok", f"{self.path}" + ("" if config.exists else " (not created yet)"))

    # -- CredentialStore -----------------------------------------------------

    def get(self, server: str) -> Credentials:
        found = self.find(server)
        if found is None:
            raise CredentialsNotFoundError(f"{self.path} holds no credentials for {server}")
        return found

    def find(self, key: str, repo: str = "") -> Credentials | None:
        """The credentials for ``key`` (and repository ``repo``), or None; see the module docstring."""
        config = self.config
        if self.style == "docker" and key in config.auth_keys():
            entry = config.entry(key)
            return entry.credentials(key) if entry is not None else None  # a {} marker answers too
        seen: set[str] = set()
        for candidate in candidate_keys(config, key, repo, style=self.style):
            if candidate in seen:
                continue
            seen.add(candidate)
            entry = config.entry(candidate)
            if entry is not None:
                found = entry.credentials(key)
                if found is not None:
                    return found
        return None

    def store(self, creds: Credentials) -> None:
        def change(c: _config.Config) -> None:
            set_entry(c, creds)

        _config.update(self.path, change)

    def erase(self, server: str) -> None:
        if server in self.config.auth_keys():
            _config.update(self.path, lambda c: c.remove_auth(server))

    def list(self) -> dict[str, str]:
        return {e.key: e.shown_username for e in self.config.entries() if e.has_secret}

    # -- beside a native store -----------------------------------------------

    def mark(self, key: str) -> None:
        """Leave docker's ``{}`` marker for ``key`` (its secret is in a helper)."""
        _config.update(self.path, lambda c: c.set_marker(key))


def set_entry(config: _config.Config, creds: Credentials) -> None:
    """Write ``creds`` into ``config``'s ``auths`` as docker writes a file-store entry."""
    if creds.is_identity_token:
        config.set_auth(creds.server, "", "", identitytoken=creds.secret)
    else:
        config.set_auth(creds.server, creds.username, creds.secret, identitytoken=creds.identity_token)


def candidate_keys(
    config: _config.Config, key: str, repo: str = "", *, style: str = "docker"
) -> Iterator[str]:
    """Keys that may hold ``key``'s credentials, best first (see the module docstring)."""
    hosts = [key] if key != DOCKER_HUB else [DOCKER_HUB, "docker.io", "index.docker.io"]
    parts = repo.split("/") if repo else []
    if style == "podman":
        for host in hosts:
            for n in range(len(parts), 0, -1):
                yield f"{host}/{'/'.join(parts[:n])}"
            yield host
    else:
        yield from hosts
    index = _legacy_index(config)
    if key == DOCKER_HUB:
        legacy = [k for host in sorted(HUB_HOSTS) for k in index.get(host, ())]
    else:
        legacy = list(index.get(key.lower(), ()))
    legacy.sort(key=lambda k: (not k.startswith("https://"), not k.startswith("http://"), k))
    yield from legacy
    if style == "docker":
        yield from _namespaced(config, key, parts)


def _namespaced(config: _config.Config, key: str, parts: list[str]) -> list[str]:
    """Keys with a path on ``key``'s host that cover repository ``parts``, most specific first.

    Docker would use any of them for the whole host (``ConvertToHostname``);
    regcred uses ``host/ns`` only for ``ns`` and below, so that credentials for
    one namespace never serve another (S11, ggcr#1510).
    """
    hosts = {key.lower()} if key != DOCKER_HUB else set(HUB_HOSTS)
    found = []
    for stored in config.auth_keys():
        if stored_host(stored) is not None or to_hostname(stored).lower() not in hosts:
            continue
        path = stored.split("://", 1)[-1].partition("/")[2].strip("/").split("/")
        if path == parts[: len(path)]:
            found.append((-len(path), stored))
    return [stored for _, stored in sorted(found)]


def same_registry(stored_key: str, key: str) -> bool:
    """Does a key found in a file (any legacy spelling) name the registry ``key``?"""
    if stored_key == key:
        return True
    if stored_host(key) is None:  # a per-repository key: only its spellings with a scheme or a "/"
        return _repository_spelling(stored_key) == _repository_spelling(key)
    host = _legacy_host(stored_key)
    if host is None:
        return False
    return host in HUB_HOSTS if key == DOCKER_HUB else host == key.lower()


def _repository_spelling(key: str) -> str:
    """``host/ns/repo`` of a per-repository key, host in lower case, no scheme or trailing ``/``."""
    rest = key.split("://", 1)[1] if "://" in key else key
    host, _, path = rest.partition("/")
    return "/".join([host.lower(), *(part for part in path.split("/") if part)])


def _legacy_index(config: _config.Config) -> dict[str, list[str]]:
    """host (lower case) -> the keys that are a legacy spelling of it; built once per parse."""
    cached = config.memo.get("legacy")
    if isinstance(cached, dict):
        return cached
    index: dict[str, list[str]] = {}
    for stored in config.auth_keys():
        host = _legacy_host(stored)
        if host is not None:
            index.setdefault(host, []).append(stored)
    config.memo["legacy"] = index
    return index


def _legacy_host(stored_key: str) -> str | None:
    """The lower-case host a stored key spells, or None for a namespaced key."""
    host = stored_host(stored_key)
    return None if host is None else host.lower()
