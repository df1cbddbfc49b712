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

2. podman's side, read-only, unless ``podman=False`` or
   ``REGCRED_PODMAN_AUTH=0``, as containers/image reads it
   (``getCredentialsWithHomeDir``): the ``credential-helpers`` of
   registries.conf in their order (:func:`podman_credential_helpers`;
   default ``["containers-auth.json"]``), where ``containers-auth.json``
   means podman's auth files (:func:`podman_auth_files`):
   ``$REGISTRY_AUTH_FILE`` if set (then only it), else
   ``$XDG_RUNTIME_DIR/containers/auth.json`` (``/run/containers/<uid>/auth.json``
   when that variable is unset: root shells, CI containers, ``sudo podman
   login``) and ``${XDG_CONFIG_HOME:-~/.config}/containers/auth.json``.
   Namespaced keys (``quay.io/org/repo``) match most specific first.  Any
   other name is a helper, asked for the registry host; a helper that fails
   (not "not found") is reported only when no later source answers, as
   containers/image does.

:func:`list_sources` lists what both sides hold, each row marked by where
it is stored; every key it shows, :func:`get_credentials` answers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from regcred import _config, _settings, _system
from regcred._address import DOCKER_HUB, split_repository
from regcred.errors import ConfigError, CredentialsNotFoundError, CredentialStoreError
from regcred.stores._router import Router
from regcred.stores.file import FileStore

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    from regcred.credentials import Credentials

__all__ = [
    "AUTH_FILES",
    "get_credentials",
    "list_credentials",
    "list_sources",
    "podman_auth_files",
    "podman_credential_helpers",
    "podman_row_credentials",
    "podman_rows",
    "podman_sources",
    "registries_conf_files",
]

#: A line that may set ``credential-helpers`` (not a comment); only then is TOML parsed.
_SETS_HELPERS = re.compile(rb"""^[ \t]*["']?credential-helpers["']?[ \t]*=""", re.MULTILINE)

#: The name in registries.conf's ``credential-helpers`` that means "podman's auth files".
AUTH_FILES = "containers-auth.json"


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
    return credentials_in(_config.config_path(config_dir), server, podman=podman)


def credentials_in(path: Path, server: str | None, *, podman: bool | None = None) -> Credentials | None:
    """:func:`get_credentials` with one config file: docker's config.json, or an auth file of its shape."""
    key, repo = split_repository(server) if server else (DOCKER_HUB, "")
    router = Router.for_lookup(_config.load_cached(path))
    found = router.get(key, repo)
    if found is None and _podman_enabled(podman):
        found = from_podman_files(key, repo)
    return found


def list_credentials(*, config_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``{key: username}`` for every credential in config.json and its helpers.

    ``$DOCKER_AUTH_CONFIG``'s keys too, with its usernames where it overrides
    the stores (as :func:`get_credentials` reads it).  Reads no secret: helpers
    are asked with ``list``.
    """
    return Router.for_lookup(_config.load(_config.config_path(config_dir))).list()


def list_sources(
    *, config_dir: str | os.PathLike[str] | None = None, podman: bool | None = None
) -> list[tuple[str, str, str]]:
    """``(key, username, source)`` for every credential, in lookup order; reads no secret.

    Docker's side first (:meth:`Router.list_by_store`: ``docker:$DOCKER_AUTH_CONFIG``,
    ``docker:<config.json>`` or ``docker:docker-credential-<name>``), then podman's, in the order
    :func:`from_podman_files` reads it (``podman:<auth.json>`` or
    ``podman:docker-credential-<name>``).  A key may appear more than once;
    its first row is the one :func:`get_credentials` returns.
    """
    from regcred.stores._router import ENV

    config = _config.load(_config.config_path(config_dir))
    rows = []
    for name, held in Router.for_lookup(config).list_by_store():
        source = f"docker:docker-credential-{name}" if name else f"docker:{config.path}"
        if name == ENV:
            source = f"docker:{ENV}"
        rows += [(key, user, source) for key, user in sorted(held.items())]
    return rows + podman_rows(podman)


def podman_rows(podman: bool | None = None) -> list[tuple[str, str, str]]:
    """podman's rows of :func:`list_sources` (none where ``REGCRED_PODMAN_AUTH`` turns podman's files off)."""
    return _podman_rows() if _podman_enabled(podman) else []


def podman_row_credentials(key: str, source: str) -> Credentials | None:
    """What one of :func:`podman_rows` holds: ``key`` read from exactly its ``source``, or None."""
    from regcred.stores._router import helper_store

    where = source.removeprefix("podman:")
    helper = where.removeprefix("docker-credential-") if where.startswith("docker-credential-") else ""
    if helper:
        try:
            return helper_store(helper).get(key)
        except CredentialsNotFoundError:
            return None
    entry = _config.load_cached(Path(where)).entry(key)
    return entry.credentials(key) if entry is not None else None


def podman_sources() -> list[tuple[str, str, str]]:
    """podman's rows of :func:`list_sources`, whatever ``REGCRED_PODMAN_AUTH`` says: what podman uses."""
    return _podman_rows()


def _podman_rows() -> list[tuple[str, str, str]]:
    from regcred.stores._router import helper_store

    rows: list[tuple[str, str, str]] = []
    for helper in podman_credential_helpers():
        if helper != AUTH_FILES:
            held = helper_store(helper).list()
            rows += [(k, u, f"podman:docker-credential-{helper}") for k, u in sorted(held.items())]
            continue
        for path in podman_auth_files():
            config = _config.load_cached(path)
            if not config.exists:
                continue
            routed = config.cred_helpers
            held = {k: u for k, u in FileStore(path, config=config).list().items() if k not in routed}
            rows += [(k, u, f"podman:{path}") for k, u in sorted(held.items())]
            for name in sorted({h for h in routed.values() if h}):
                listed = helper_store(name).list()
                mine = {k: u for k, u in listed.items() if routed.get(k) == name}
                rows += [(k, u, f"podman:docker-credential-{name}") for k, u in sorted(mine.items())]
    return rows


def podman_auth_files() -> list[Path]:
    """podman's auth files in the order they are read (they may not exist).

    containers/image's ``getAuthFilePaths`` without docker's files, which
    regcred reads first anyway.  ``/run/containers/<uid>`` is left out when
    this user cannot enter it (it may not exist; it may be root's alone).
    """
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return [Path(explicit)]
    files = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        files.append(Path(runtime) / "containers" / "auth.json")
    elif _system.is_linux() and hasattr(os, "getuid"):
        # Only when this user can reach it: /run/containers is often root's alone (0700),
        # and what a user cannot read, that user's podman cannot use either.
        per_uid = Path(f"/run/containers/{os.getuid()}")
        if os.access(per_uid, os.X_OK):
            files.append(per_uid / "auth.json")
    config_home = os.environ.get("XDG_CONFIG_HOME")
    if not config_home:
        try:  # the home as docker and containers/image find it (%USERPROFILE% on Windows)
            config_home = os.path.join(_config.home_dir(), ".config")
        except ConfigError:  # no home at all: there is no such file to read
            return files
    files.append(Path(config_home) / "containers" / "auth.json")
    return files


def registries_conf_files() -> list[Path]:
    """The registries.conf files containers/image reads, in order (they may not exist).

    ``$CONTAINERS_REGISTRIES_CONF``, else ``~/.config/containers/registries.conf``
    if it exists, else ``/etc/containers/registries.conf``; then the ``*.conf``
    drop-ins of ``/etc/containers/registries.conf.d`` (not when the user's
    file is used) and ``~/.config/containers/registries.conf.d``, each
    directory in name order (``newConfigWrapperWithHomeDir``, ``dropInConfigs``).
    """
    try:  # the home as docker and containers/image find it (%USERPROFILE% on Windows)
        user = Path(_config.home_dir()) / ".config" / "containers"
    except ConfigError:  # no home at all: only the system's files
        user = None
    system = Path("/etc/containers")
    if user is None:
        explicit = os.environ.get("CONTAINERS_REGISTRIES_CONF")
        files = [Path(explicit)] if explicit else [system / "registries.conf"]
        return files + _drop_ins([system / "registries.conf.d"])
    explicit = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    if explicit:
        files, dirs = [Path(explicit)], [system / "registries.conf.d", user / "registries.conf.d"]
    elif (user / "registries.conf").exists():
        files, dirs = [user / "registries.conf"], [user / "registries.conf.d"]
    else:
        files, dirs = [system / "registries.conf"], [system / "registries.conf.d", user / "registries.conf.d"]
    return files + _drop_ins(dirs)


def _drop_ins(dirs: list[Path]) -> list[Path]:
    """The ``*.conf`` files of each of ``dirs``, each directory in name order."""
    files: list[Path] = []
    for directory in dirs:
        try:
            names = sorted(entry.name for entry in os.scandir(directory) if not entry.is_dir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise ConfigError(f"{directory}: cannot list it ({exc.strerror})") from None
        files += [directory / name for name in names if name.endswith(".conf")]
    return files


def podman_credential_helpers() -> list[str]:
    """registries.conf's ``credential-helpers``: the last file that sets them wins.

    An empty or missing list means ``["containers-auth.json"]``, as in
    containers/image.  A file that does not mention ``credential-helpers``
    outside a comment is not parsed (it cannot set them), so TOML is read
    only when needed.
    """
    helpers: list[str] = []
    for path in registries_conf_files():
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
        if b"credential-helpers" not in raw or not _SETS_HELPERS.search(raw):
            continue
        import tomllib

        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: invalid registries.conf: {exc}") from None
        if "credential-helpers" not in data:
            continue
        value = data["credential-helpers"]
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise ConfigError(f"{path}: credential-helpers must be an array of strings")
        helpers = value
    return helpers or [AUTH_FILES]


def from_podman_files(key: str, repo: str) -> Credentials | None:
    """What podman would use for ``key`` (and repository ``repo``), or None (see the module docstring)."""
    from regcred.stores._router import helper_store

    host = "docker.io" if key == DOCKER_HUB else key
    failure: CredentialStoreError | None = None
    for helper in podman_credential_helpers():
        if helper == AUTH_FILES:
            found = _from_auth_files(key, repo)
        else:
            try:
                found = helper_store(helper).get(host)
            except CredentialsNotFoundError:
                continue
            except CredentialStoreError as exc:
                failure = failure or exc
                continue
        if found is not None:
            return found
    if failure is not None:
        raise failure
    return None


def _from_auth_files(key: str, repo: str) -> Credentials | None:
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
