"""Docker's ``config.json``: find it, read it strictly, change it safely.

Reading follows the Docker CLI (case-insensitive field names, an empty file
is an empty config) but refuses to *write* a file it could not fully
understand, so a malformed config is never clobbered (docker/cli#5075).

Writing keeps everything we do not own (unknown top-level keys, unknown
per-entry fields, the symlink, the file mode), and is:

* locked: every read-modify-write holds the one lock of
  :class:`regcred._files.Locked` (``flock`` on the directory and on
  ``config.json.lock``; ``msvcrt.locking`` on ``config.json.lock`` on
  Windows) and re-reads the file inside it, so parallel logins never lose
  each other's entries;
* atomic: a temp file in the target's directory, created ``0600`` with
  ``O_EXCL`` before any secret is written, then ``fsync`` and ``rename``.
  A SIGKILL at any point leaves the old file or the new one.  Temp files
  left by a killed writer are removed by the next save.

This module owns the Config object and :func:`update`; the strict reading
lives in :mod:`regcred._config.read`, and how a file is locked and replaced
safely in :mod:`regcred._files`, imported only by writers.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from regcred._config.read import ENTRY_ORDER, AuthEntry, decode_entry, find_field, parse, parse_config
from regcred._gojson import dumps_indent
from regcred.errors import ConfigError

TYPE_CHECKING = False  # typing costs start-up time; annotations are strings here
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import Any, NoReturn, TypeVar

    T = TypeVar("T")

__all__ = [
    "AuthEntry",
    "Config",
    "config_dir",
    "config_path",
    "home_dir",
    "load",
    "load_cached",
    "parse",
    "read_raw",
    "update",
]

CONFIG_NAME = "config.json"

#: The entry fields a login replaces, as ``docker login`` replaces the whole entry
#: (a stale ``registrytoken`` would otherwise go on being sent as a Bearer token).
_CREDENTIAL_FIELDS = ("username", "password", "serveraddress", "auth", "identitytoken", "registrytoken")

# Docker's ConfigFile struct order; it is also the order docker writes them in.
_TOP_LEVEL_ORDER = (
    "auths", "HttpHeaders", "psFormat", "imagesFormat", "networksFormat", "pluginsFormat",
    "volumesFormat", "statsFormat", "detachKeys", "credsStore", "credHelpers",
    "serviceInspectFormat", "servicesFormat", "tasksFormat", "secretFormat", "configFormat",
    "nodesFormat", "pruneFilters", "proxies", "experimental", "currentContext",
    "cliPluginsExtraDirs", "plugins", "aliases", "features",
)  # fmt: skip


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """``--config DIR``, else ``$DOCKER_CONFIG``, else ``<home>/.docker`` (:func:`home_dir`)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("DOCKER_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(home_dir()) / ".docker"


def home_dir(environ: Mapping[str, str] | None = None) -> str:
    """The home directory as docker finds it (Go's ``os.UserHomeDir``).

    Windows: ``%USERPROFILE%`` (then ``%HOMEDRIVE%%HOMEPATH%``, where docker
    would fall back to a relative ``.docker``).  Elsewhere: ``$HOME``, and
    when it is unset *or empty* the account database, as docker's nss
    fallback does (Python's ``Path.home()`` would take an empty ``$HOME`` as
    the current directory).  No home at all is a one-line ConfigError.
    """
    from regcred import _system

    env = os.environ if environ is None else environ
    if _system.is_windows():
        home = env.get("USERPROFILE") or (env.get("HOMEDRIVE", "") + env.get("HOMEPATH", ""))
        if home:
            return home
        raise ConfigError("cannot find the home directory: set USERPROFILE, or DOCKER_CONFIG")
    home = env.get("HOME", "")
    if home:
        return home
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError, AttributeError):
        raise ConfigError("cannot find the home directory: set HOME, or DOCKER_CONFIG") from None


def config_path(override: str | os.PathLike[str] | None = None) -> Path:
    """The ``config.json`` inside :func:`config_dir`."""
    return config_dir(override) / CONFIG_NAME


class Config:
    """A parsed config file.  ``data`` is the raw JSON object, edited in place."""

    def __init__(self, path: Path, data: dict[str, Any], raw: bytes | None, readonly: str = "") -> None:
        self.path = path
        self.data = data
        self.raw = raw  # None when the file does not exist
        #: Why this file must not be rewritten ("" if it may be): docker reads it, but
        #: writing back what was understood would drop part of it.
        self.readonly = readonly
        #: Values derived from ``data`` by readers (indexes); cleared by every change.
        self.memo: dict[str, object] = {}

    # -- reading -----------------------------------------------------------

    @property
    def exists(self) -> bool:
        return self.raw is not None

    @property
    def creds_store(self) -> str:
        key = find_field(self.data, "credsStore")
        return str(self.data[key]) if key else ""

    @property
    def cred_helpers(self) -> dict[str, str]:
        key = find_field(self.data, "credHelpers")
        return dict(self.data[key]) if key else {}

    def auth_keys(self) -> list[str]:
        return list(self._auths())

    def entry(self, key: str) -> AuthEntry | None:
        """The decoded entry stored under exactly ``key``, or None."""
        auths = self._auths()
        if key not in auths:
            return None
        return decode_entry(self.path, key, auths[key])

    def entries(self) -> Iterator[AuthEntry]:
        for key, raw in self._auths().items():
            yield decode_entry(self.path, key, raw)

    def contains_auth(self) -> bool:
        """Docker's ``ContainsAuth``: any credsStore, credHelpers or auths at all."""
        return bool(self.creds_store or self.cred_helpers or self._auths())

    # -- changing ----------------------------------------------------------

    def set_auth(self, key: str, username: str, password: str, identitytoken: str = "") -> None:
        """Store a plaintext (base64) entry, keeping the entry's unknown fields."""
        self.memo.clear()
        if ":" in username:
            # "auth" is base64("user:password"), split on the first colon.
            raise ConfigError("a username containing ':' cannot be stored in config.json")
        entry = self._editable_entry(key)
        for field in _CREDENTIAL_FIELDS:
            _pop(entry, field)
        if username or password:
            entry["auth"] = base64.b64encode(f"{username}:{password}".encode()).decode()
        if identitytoken:
            entry["identitytoken"] = identitytoken

    def set_marker(self, key: str) -> None:
        """Leave docker's ``"key": {}`` marker for a credential kept by a helper."""
        self.memo.clear()
        entry = self._editable_entry(key)
        for field in _CREDENTIAL_FIELDS:
            _pop(entry, field)

    def remove_auth(self, key: str) -> bool:
        self.memo.clear()
        auths = self._auths()
        if key in auths:
            del auths[key]
            return True
        return False

    def set_cred_helper(self, key: str, name: str) -> None:
        """Route ``key`` to ``docker-credential-<name>`` (``credHelpers[key]``)."""
        self.memo.clear()
        field = find_field(self.data, "credHelpers") or "credHelpers"
        self.data.setdefault(field, {})[key] = name

    def remove_cred_helper(self, key: str) -> None:
        """Drop ``credHelpers[key]``, and ``credHelpers`` itself once empty (as docker writes it)."""
        self.memo.clear()
        field = find_field(self.data, "credHelpers")
        if field is None or not isinstance(self.data[field], dict):
            return
        self.data[field].pop(key, None)
        if not self.data[field]:
            del self.data[field]

    def set_creds_store(self, name: str) -> None:
        self.memo.clear()
        self.data[find_field(self.data, "credsStore") or "credsStore"] = name

    def render(self) -> bytes:
        """The file's new bytes: docker's layout, our unknown keys kept after docker's."""
        out: dict[str, Any] = {}
        by_lower = {k.lower(): k for k in self.data}
        for name in _TOP_LEVEL_ORDER:
            actual = name if name in self.data else by_lower.get(name.lower())
            if actual is not None and actual not in out:
                out[actual] = self.data[actual]
        if find_field(self.data, "auths") is None:
            out = {"auths": {}, **out}
        for name, value in self.data.items():
            if name not in out:
                out[name] = value
        auths_key = find_field(out, "auths") or "auths"
        # Go marshals a map with its keys sorted (by bytes, which is code point order),
        # and drops an empty credHelpers (omitempty): a diff against docker's output is
        # then empty where the content is the same.
        out[auths_key] = {k: _ordered_entry(v) for k, v in sorted(out[auths_key].items())}
        helpers_key = find_field(out, "credHelpers")
        if helpers_key is not None and out[helpers_key] == {}:
            del out[helpers_key]
        return dumps_indent(out).encode()

    def _auths(self) -> dict[str, dict[str, Any]]:
        key = find_field(self.data, "auths")
        if key is None:
            return {}
        auths: dict[str, dict[str, Any]] = self.data[key]
        return auths

    def _editable_entry(self, key: str) -> dict[str, Any]:
        auths_key = find_field(self.data, "auths")
        if auths_key is None:
            self.data = {"auths": {}, **self.data}
            auths_key = "auths"
        auths: dict[str, dict[str, Any]] = self.data[auths_key]
        return auths.setdefault(key, {})


# path -> (stat signature, Config) for read-only lookups; see load_cached().
_CACHE: dict[str, tuple[tuple[int, int, int, int], Config]] = {}


def load_cached(path: Path) -> Config:
    """:func:`load` for read-only callers: reuses the parse while the file is unchanged.

    The returned Config is shared: callers must not modify it.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Config(path, {}, None)
    except OSError:
        return load(path)
    signature = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
    hit = _CACHE.get(str(path))
    if hit is not None and hit[0] == signature:
        return hit[1]
    config = load(path)
    _CACHE[str(path)] = (signature, config)
    return config


def load(path: Path) -> Config:
    """Read and validate ``path``; a missing or empty file is an empty config."""
    raw = read_raw(path)
    if raw is None:
        return Config(path, {}, None)
    data, readonly = parse_config(path, raw)
    return Config(path, data, raw, readonly)


def read_raw(path: Path) -> bytes | None:
    """The bytes of ``path``, None if there is no such file.

    Anything but a regular file (a FIFO, a device, a socket, also behind a
    symlink) is refused at once, never opened in a way that could block.
    """
    if not _is_regular(path):
        return None
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    with open(fd, "rb") as file:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # replaced since the stat
            _refuse(path, mode)
        try:
            raw = file.read()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return raw


# Each system's flags: Windows has none of the POSIX ones, and needs O_BINARY (no "\r\n" games).
_READ_FLAGS = os.O_RDONLY
for _flag in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_NOINHERIT", "O_BINARY"):
    _READ_FLAGS |= getattr(os, _flag, 0)


def _is_regular(path: Path) -> bool:
    """True for a regular file, False for none at all; anything else is refused (ConfigError)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        _refuse(path, st.st_mode)
    return True


def _refuse(path: Path, mode: int) -> NoReturn:
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{path}: is a directory, not a config file")
    from regcred._files import describe_mode  # only on this error path

    raise ConfigError(
        f"{path}: is {describe_mode(mode)}, not a regular file; regcred neither reads nor writes it"
    )


def _ordered_entry(entry: dict[str, Any]) -> dict[str, Any]:
    if len(entry) <= 1:
        return entry
    out = {name: entry[name] for name in ENTRY_ORDER if name in entry}
    out.update((k, v) for k, v in entry.items() if k not in out)
    return out


def _pop(obj: dict[str, Any], name: str) -> None:
    for k in [k for k in obj if k.lower() == name.lower()]:
        del obj[k]


# -- writing ---------------------------------------------------------------


def update(path: Path, change: Callable[[Config], T]) -> T:
    """Lock, re-read ``path``, apply ``change``, and save if the bytes changed."""
    from regcred._files import Locked, atomic_write  # only writers pay for it

    target = Path(os.path.realpath(path))  # the symlink stays; its target is written
    _is_regular(path)  # a FIFO or device: refused before any lock file is made beside it
    with Locked(target):
        config = load(path)
        if config.readonly:
            raise ConfigError(
                f"{path}: {config.readonly}; regcred reads it as docker does but will not "
                "rewrite it (that would drop part of it): fix the file first"
            )
        result = change(config)
        new = config.render()
        if new != config.raw:
            atomic_write(target, new)
        return result
