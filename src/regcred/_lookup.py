"""Finding credentials: the library's read side.

Precedence for ``get_credentials(server)``, first hit wins:

0. ``$DOCKER_AUTH_CONFIG`` (docker 28.3+): a JSON ``{"auths": {key: {"auth": …}}}``
   that overrides the stores, exact key only.
1. Docker's ``config.json`` (``--config``/``config_dir``, ``$DOCKER_CONFIG``,
   ``~/.docker``):

   a. the helper named by ``credHelpers[key]``, else by ``credsStore``;
   b. ``auths[key]`` (base64 ``auth``; an ``identitytoken`` is returned
      with username ``<token>``, as docker does), then a legacy key for
      the same host (``https://host``, ``http://host/v1/``…).

   A helper that answers "not found" falls through to (b); any other
   helper failure is an error (fail closed, never a silent fallback).

2. podman's auth files, read-only, unless ``podman=False`` or
   ``REGCRED_PODMAN_AUTH=0``: ``$REGISTRY_AUTH_FILE`` if set (then only
   it), else ``$XDG_RUNTIME_DIR/containers/auth.json`` and
   ``${XDG_CONFIG_HOME:-~/.config}/containers/auth.json``.  Namespaced keys
   (``quay.io/org/repo``) match most specific first.
"""

from __future__ import annotations

import os
from pathlib import Path

from regcred import _config, _settings
from regcred._address import DOCKER_HUB, HUB_HOSTS, split_repository, stored_host
from regcred.credentials import TOKEN_USERNAME, Credentials
from regcred.errors import ConfigError, CredentialsNotFoundError

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Iterator

    from regcred.credentials import CredentialStore

__all__ = [
    "env_auth_config",
    "get_credentials",
    "helper_for",
    "list_credentials",
    "podman_auth_files",
    "same_registry",
]


def get_credentials(
    server: str | None = None,
    *,
    config_dir: str | os.PathLike[str] | None = None,
    podman: bool | None = None,
) -> Credentials | None:
    """Credentials for ``server`` (a registry or ``host/namespace/repo``), or None.

    ``server`` None or ``""`` means Docker Hub.  Raises
    :class:`~regcred.errors.ConfigError` for an unreadable config,
    :class:`~regcred.errors.AddressError` for a bad address and
    :class:`~regcred.errors.CredentialStoreError` when a helper fails.
    """
    key, repo = split_repository(server) if server else (DOCKER_HUB, "")
    env_config = env_auth_config()
    if env_config is not None:
        found = _from_auths(env_config, key, iter([key]))
        if found is not None:
            return found
    config = _config.load_cached(_config.config_path(config_dir))
    found = _from_docker_config(config, key)
    if found is None and _podman_enabled(podman):
        found = _from_podman_files(key, repo)
    return found


def list_credentials(*, config_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``{key: username}`` for every credential in config.json and its helpers.

    Reads no secret: helpers are asked with ``list``.
    """
    config = _config.load(_config.config_path(config_dir))
    result: dict[str, str] = {}
    result.update(
        (e.key, e.username if e.password else TOKEN_USERNAME) for e in config.entries() if e.has_secret
    )
    if config.creds_store:
        listed = _store(config.creds_store).list()
        result.update((k, u) for k, u in listed.items() if not config.cred_helpers.get(k))
    by_helper: dict[str, list[str]] = {}
    for key, name in config.cred_helpers.items():
        if name:
            by_helper.setdefault(name, []).append(key)
    for name, keys in by_helper.items():
        listed = _store(name).list()
        result.update((k, listed[k]) for k in keys if k in listed)
    return dict(sorted(result.items()))


def env_auth_config() -> _config.Config | None:
    """``$DOCKER_AUTH_CONFIG`` parsed as docker does (every entry needs ``auth``), or None."""
    raw = os.environ.get("DOCKER_AUTH_CONFIG")
    if not raw:
        return None
    where = Path("$DOCKER_AUTH_CONFIG")
    data = _config.parse(where, raw.encode())
    unknown = set(data) - {"auths"}
    if unknown:
        raise ConfigError(f"DOCKER_AUTH_CONFIG: unknown field {min(unknown)!r} (only auths is allowed)")
    config = _config.Config(where, data, raw.encode())
    for key in config.auth_keys():
        entry = config.entry(key)
        if entry is None or not entry.password:
            raise ConfigError(f"DOCKER_AUTH_CONFIG environment variable is missing key `auth` for {key}")
    return config


def helper_for(config: _config.Config, key: str) -> str:
    """The helper name that owns ``key`` (``credHelpers``, then ``credsStore``), or ``""``.

    ``credHelpers[key] == ""`` pins ``key`` to the config file, as docker reads it.
    """
    helpers = config.cred_helpers
    if key in helpers:
        return helpers[key]
    for name, helper in helpers.items():
        if same_registry(name, key):
            return helper
    return config.creds_store


def podman_auth_files() -> list[Path]:
    """podman's auth files in the order they are read (they may not exist)."""
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return [Path(explicit)]
    files = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        files.append(Path(runtime) / "containers" / "auth.json")
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    files.append(Path(config_home) / "containers" / "auth.json")
    return files


def _from_docker_config(config: _config.Config, key: str) -> Credentials | None:
    helper = helper_for(config, key)
    if helper:
        try:
            return _store(helper).get(key)
        except CredentialsNotFoundError:
            pass
    return _from_auths(config, key, _candidate_keys(config, key, ""))


def _from_podman_files(key: str, repo: str) -> Credentials | None:
    for path in podman_auth_files():
        config = _config.load_cached(path)
        if not config.exists:
            continue
        host = "docker.io" if key == DOCKER_HUB else key
        helper = config.cred_helpers.get(host) or config.cred_helpers.get(key)
        if helper:
            try:
                return _store(helper).get(host)
            except CredentialsNotFoundError:
                continue
        found = _from_auths(config, key, _candidate_keys(config, key, repo))
        if found is not None:
            return found
    return None


def _candidate_keys(config: _config.Config, key: str, repo: str) -> Iterator[str]:
    """Exact keys (most specific namespace first), then legacy spellings of the host."""
    hosts = [key] if key != DOCKER_HUB else [DOCKER_HUB, "docker.io", "index.docker.io"]
    parts = repo.split("/") if repo else []
    for host in hosts:
        for n in range(len(parts), 0, -1):
            yield f"{host}/{'/'.join(parts[:n])}"
        yield host
    index = _legacy_index(config)
    if key == DOCKER_HUB:
        legacy = [k for host in sorted(HUB_HOSTS) for k in index.get(host, ())]
    else:
        legacy = list(index.get(key.lower(), ()))
    legacy.sort(key=lambda k: (not k.startswith("https://"), not k.startswith("http://"), k))
    yield from legacy


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


def _from_auths(config: _config.Config, key: str, keys: Iterator[str]) -> Credentials | None:
    seen: set[str] = set()
    for candidate in keys:
        if candidate in seen:
            continue
        seen.add(candidate)
        entry = config.entry(candidate)
        if entry is None or not entry.has_secret:
            continue
        if entry.identitytoken:
            return Credentials(key, TOKEN_USERNAME, entry.identitytoken)
        return Credentials(key, entry.username, entry.password)
    return None


def same_registry(stored_key: str, key: str) -> bool:
    """Does a key found in a file (any legacy spelling) name the registry ``key``?"""
    if stored_key == key:
        return True
    host = _legacy_host(stored_key)
    if host is None:
        return False
    return host in HUB_HOSTS if key == DOCKER_HUB else host == key.lower()


def _legacy_host(stored_key: str) -> str | None:
    """The lower-case host a stored key spells, or None for a namespaced key."""
    host = stored_host(stored_key)
    return None if host is None else host.lower()


def _store(name: str) -> CredentialStore:
    from regcred.stores.helper import HelperStore

    return HelperStore(name)


def _podman_enabled(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return _settings.podman_auth()
