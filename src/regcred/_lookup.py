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
from regcred._address import DOCKER_HUB, split_repository
from regcred.errors import ConfigError, CredentialsNotFoundError
from regcred.stores._router import Router
from regcred.stores.file import FileStore

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    from regcred.credentials import Credentials

__all__ = [
    "get_credentials",
    "list_credentials",
    "podman_auth_files",
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
    router = Router.for_lookup(_config.load_cached(_config.config_path(config_dir)))
    found = router.get(key, repo)
    if found is None and _podman_enabled(podman):
        found = from_podman_files(key, repo)
    return found


def list_credentials(*, config_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``{key: username}`` for every credential in config.json and its helpers.

    Reads no secret: helpers are asked with ``list``.
    """
    return Router(_config.load(_config.config_path(config_dir))).list()


def podman_auth_files() -> list[Path]:
    """podman's auth files in the order they are read (they may not exist)."""
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return [Path(explicit)]
    files = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        files.append(Path(runtime) / "containers" / "auth.json")
    config_home = os.environ.get("XDG_CONFIG_HOME")
    if not config_home:
        try:  # the home as docker and containers/image find it (%USERPROFILE% on Windows)
            config_home = os.path.join(_config.home_dir(), ".config")
        except ConfigError:  # no home at all: there is no such file to read
            return files
    files.append(Path(config_home) / "containers" / "auth.json")
    return files


def from_podman_files(key: str, repo: str) -> Credentials | None:
    """What podman's auth files hold for ``key`` (and repository ``repo``), or None."""
    from regcred.stores._router import helper_store

    for path in podman_auth_files():
        config = _config.load_cached(path)
        if not config.exists:
            continue
        host = "docker.io" if key == DOCKER_HUB else key
        helper = config.cred_helpers.get(host) or config.cred_helpers.get(key)
        if helper:
            try:
                return helper_store(helper).get(host)
            except CredentialsNotFoundError:
                continue
        found = FileStore(path, config=config, style="podman").find(key, repo)
        if found is not None:
            return found
    return None


def _podman_enabled(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return _settings.podman_auth()
