"""Docker's ``config.json``: find it, read it strictly, change it safely.

Reading follows the Docker CLI (case-insensitive field names, an empty file
is an empty config) but refuses to *write* a file it could not fully
understand, so a malformed config is never clobbered (docker/cli#5075).

Writing keeps everything we do not own (unknown top-level keys, unknown
per-entry fields, the symlink, the file mode), and is:

* locked: every read-modify-write holds ``flock`` on a sidecar
  ``config.json.lock`` and re-reads the file inside the lock, so parallel
  logins never lose each other's entries;
* atomic: a temp file in the target's directory, created ``0600`` with
  ``O_EXCL`` before any secret is written, then ``fsync`` and ``rename``.
  A SIGKILL at any point leaves the old file or the new one.  Temp files
  left by a killed writer are removed by the next save.

This module owns the schema and :func:`update`; how a file is locked and
replaced safely lives in :mod:`regcred._atomic`, imported only by writers.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from pathlib import Path

from regcred._gojson import dumps_indent
from regcred.errors import ConfigError

TYPE_CHECKING = False  # typing costs start-up time; annotations are strings here
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, TypeVar

    T = TypeVar("T")

__all__ = [
    "AuthEntry",
    "Config",
    "config_dir",
    "config_path",
    "load",
    "load_cached",
    "update",
]

CONFIG_NAME = "config.json"

# Docker's ConfigFile struct order; it is also the order docker writes them in.
_TOP_LEVEL_ORDER = (
    "auths", "HttpHeaders", "psFormat", "imagesFormat", "networksFormat", "pluginsFormat",
    "volumesFormat", "statsFormat", "detachKeys", "credsStore", "credHelpers",
    "serviceInspectFormat", "servicesFormat", "tasksFormat", "secretFormat", "configFormat",
    "nodesFormat", "pruneFilters", "proxies", "experimental", "currentContext",
    "cliPluginsExtraDirs", "plugins", "aliases", "features",
)  # fmt: skip
_ENTRY_ORDER = (
    "username", "password", "auth", "email", "serveraddress", "identitytoken", "registrytoken",
)  # fmt: skip
_ENTRY_STRINGS = _ENTRY_ORDER


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """``--config DIR``, else ``$DOCKER_CONFIG``, else ``~/.docker``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("DOCKER_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".docker"


def config_path(override: str | os.PathLike[str] | None = None) -> Path:
    """The ``config.json`` inside :func:`config_dir`."""
    return config_dir(override) / CONFIG_NAME


class AuthEntry:
    """One decoded ``auths`` entry.  ``password`` and ``identitytoken`` are secrets."""

    __slots__ = ("has_secret", "identitytoken", "key", "password", "username")

    def __init__(self, key: str, username: str, password: str, identitytoken: str, has_secret: bool) -> None:
        self.key = key
        self.username = username
        self.password = password
        self.identitytoken = identitytoken
        self.has_secret = has_secret  # False for the ``{}`` markers a native store leaves

    def __repr__(self) -> str:
        return f"AuthEntry(key={self.key!r}, username={self.username!r}, has_secret={self.has_secret})"


class Config:
    """A parsed config file.  ``data`` is the raw JSON object, edited in place."""

    def __init__(self, path: Path, data: dict[str, Any], raw: bytes | None) -> None:
        self.path = path
        self.data = data
        self.raw = raw  # None when the file does not exist
        #: Values derived from ``data`` by readers (indexes); cleared by every change.
        self.memo: dict[str, object] = {}

    # -- reading -----------------------------------------------------------

    @property
    def exists(self) -> bool:
        return self.raw is not None

    @property
    def creds_store(self) -> str:
        key = _find(self.data, "credsStore")
        return str(self.data[key]) if key else ""

    @property
    def cred_helpers(self) -> dict[str, str]:
        key = _find(self.data, "credHelpers")
        return dict(self.data[key]) if key else {}

    def auth_keys(self) -> list[str]:
        return list(self._auths())

    def entry(self, key: str) -> AuthEntry | None:
        """The decoded entry stored under exactly ``key``, or None."""
        auths = self._auths()
        if key not in auths:
            return None
        return _decode_entry(self.path, key, auths[key])

    def entries(self) -> Iterator[AuthEntry]:
        for key, raw in self._auths().items():
            yield _decode_entry(self.path, key, raw)

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
        for field in ("username", "password", "serveraddress", "auth", "identitytoken"):
            _pop(entry, field)
        if username or password:
            entry["auth"] = base64.b64encode(f"{username}:{password}".encode()).decode()
        if identitytoken:
            entry["identitytoken"] = identitytoken

    def set_marker(self, key: str) -> None:
        """Leave docker's ``"key": {}`` marker for a credential kept by a helper."""
        self.memo.clear()
        entry = self._editable_entry(key)
        for field in ("username", "password", "serveraddress", "auth", "identitytoken"):
            _pop(entry, field)

    def remove_auth(self, key: str) -> bool:
        self.memo.clear()
        auths = self._auths()
        if key in auths:
            del auths[key]
            return True
        return False

    def set_creds_store(self, name: str) -> None:
        self.memo.clear()
        self.data[_find(self.data, "credsStore") or "credsStore"] = name

    def render(self) -> bytes:
        """The file's new bytes: docker's layout, our unknown keys kept after docker's."""
        out: dict[str, Any] = {}
        by_lower = {k.lower(): k for k in self.data}
        for name in _TOP_LEVEL_ORDER:
            actual = name if name in self.data else by_lower.get(name.lower())
            if actual is not None and actual not in out:
                out[actual] = self.data[actual]
        if _find(self.data, "auths") is None:
            out = {"auths": {}, **out}
        for name, value in self.data.items():
            if name not in out:
                out[name] = value
        auths_key = _find(out, "auths") or "auths"
        out[auths_key] = {k: _ordered_entry(v) for k, v in out[auths_key].items()}
        return dumps_indent(out).encode()

    def _auths(self) -> dict[str, dict[str, Any]]:
        key = _find(self.data, "auths")
        if key is None:
            return {}
        auths: dict[str, dict[str, Any]] = self.data[key]
        return auths

    def _editable_entry(self, key: str) -> dict[str, Any]:
        auths_key = _find(self.data, "auths")
        if auths_key is None:
            self.data = {"auths": {}, **self.data}
            auths_key = "auths"
        auths: dict[str, dict[str, Any]] = self.data[auths_key]
        return auths.setdefault(key, {})


# path -> the last bytes that passed validation, so that the re-read inside the
# lock (and repeated lookups) do not validate the same bytes twice.
_VALIDATED: dict[str, bytes] = {}
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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config(path, {}, None)
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return Config(path, parse(path, raw), raw)


def parse(path: Path, raw: bytes) -> dict[str, Any]:
    """Validate the fields regcred uses; errors name the file and the place, never a value."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        return {}
    known_good = _VALIDATED.get(str(path)) == raw
    try:
        if known_good:  # these exact bytes passed every check below already
            data = json.loads(text, parse_float=_Number)
        else:
            data = json.loads(
                text,
                parse_float=_Number,
                parse_constant=_refuse_constant,
                object_pairs_hook=_no_duplicates,
            )
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; "
            "fix or move the file (regcred will not overwrite it)"
        ) from None
    except _NotJSONError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc} is not a JSON value") from None
    except _DuplicateKeyError as exc:
        raise ConfigError(f'{path}: the key "{exc}" appears twice in one object; keep one') from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object, not {_kind(data)}")
    if not known_good:
        _validate(path, data)
        _VALIDATED[str(path)] = raw
    return data


class _Number(float):
    """A JSON number with a fraction or exponent, written back as the literal it was read as.

    Docker ignores the keys such numbers live in, but they are someone's data:
    ``1e999`` must not come back as ``Infinity`` (not JSON), nor ``1.50`` as ``1.5``.
    """

    literal: str

    def __new__(cls, literal: str) -> _Number:  # noqa: PYI034 - Self needs typing at run time
        number = float.__new__(cls, literal)
        number.literal = literal
        return number


class _NotJSONError(ValueError):
    """Python's json accepts NaN and Infinity; JSON (and docker) do not."""


def _refuse_constant(name: str) -> Any:
    raise _NotJSONError(name)


class _DuplicateKeyError(ValueError):
    """A key that appears twice in one JSON object: which one counts is a guess."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return obj


def _check_unique(path: Path, obj: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    """Go matches field names case-insensitively, so "Auths" and "auths" would be one field."""
    lowered = [k.lower() for k in obj]
    if len(set(lowered)) == len(lowered):
        return
    for name in names:
        spellings = [k for k, low in zip(obj, lowered, strict=True) if low == name.lower()]
        if len(spellings) > 1:
            shown = " and ".join(f'"{k}"' for k in spellings)
            raise ConfigError(f"{path}: {where}{shown} are the same field for docker; keep one")


_ENTRY_FIELDS = frozenset(_ENTRY_ORDER)
_STRING_OR_NULL = (str, type(None))


def _validate(path: Path, data: dict[str, Any]) -> None:
    _check_unique(path, data, ("auths", "credsStore", "credHelpers"), "")
    key = _find(data, "auths")
    if key is not None:
        auths = data[key]
        if not isinstance(auths, dict):
            raise ConfigError(f'{path}: "{key}" must be a JSON object, not {_kind(auths)}')
        for server, entry in auths.items():
            if not _plain_auth_ok(entry):
                _validate_entry(path, key, server, entry)
    key = _find(data, "credsStore")
    if key is not None and not isinstance(data[key], str):
        raise ConfigError(f'{path}: "{key}" must be a string, not {_kind(data[key])}')
    key = _find(data, "credHelpers")
    if key is not None:
        helpers = data[key]
        if not isinstance(helpers, dict):
            raise ConfigError(f'{path}: "{key}" must be a JSON object, not {_kind(helpers)}')
        for server, name in helpers.items():
            if not isinstance(name, str):
                raise ConfigError(f'{path}: {key}["{server}"] must be a string, not {_kind(name)}')


if sys.version_info >= (3, 11):

    def _strict_b64(text: str) -> bytes:
        return binascii.a2b_base64(text, strict_mode=True)

else:  # pragma: no cover - Python 3.10 has no strict_mode

    def _strict_b64(text: str) -> bytes:
        return base64.b64decode(text, validate=True)


def _plain_auth_ok(entry: object) -> bool:
    """Fast check of the usual entry, ``{"auth": "<base64 user:password>"}``.

    False means "look closer" (``_validate_entry`` then explains any problem).
    """
    if type(entry) is not dict or len(entry) != 1:
        return False
    auth = entry.get("auth")
    if type(auth) is not str:
        return False
    try:
        decoded = _strict_b64(auth)
        decoded.decode()
    except (binascii.Error, ValueError):
        return False
    return decoded.find(b":") > 0


def _validate_entry(path: Path, auths_key: str, server: str, entry: object) -> None:
    if not isinstance(entry, dict):
        raise ConfigError(f'{path}: {auths_key}["{server}"] must be a JSON object, not {_kind(entry)}')
    if _ENTRY_FIELDS.issuperset(entry):
        # The common case: only docker's own field names, spelled as docker writes them.
        bad = next((k for k, v in entry.items() if not isinstance(v, _STRING_OR_NULL)), None)
    else:
        _check_unique(path, entry, _ENTRY_STRINGS, f'{auths_key}["{server}"]: ')
        found = (_find(entry, field) for field in _ENTRY_STRINGS)
        bad = next((k for k in found if k is not None and not isinstance(entry[k], _STRING_OR_NULL)), None)
    if bad is not None:
        raise ConfigError(f'{path}: {auths_key}["{server}"].{bad} must be a string, not {_kind(entry[bad])}')
    _decode_entry(path, server, entry)


def _decode_entry(path: Path, key: str, entry: dict[str, Any]) -> AuthEntry:
    exact = _ENTRY_FIELDS.issuperset(entry)

    def text(name: str) -> str:
        actual = name if exact or name in entry else _find(entry, name)
        value = entry.get(actual) if actual else None
        return value if isinstance(value, str) else ""

    username, password = text("username"), text("password")
    auth = text("auth")
    if auth:
        try:
            decoded = base64.b64decode(auth.replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f'{path}: auths["{key}"].auth is not valid base64') from None
        user_b, sep, pass_b = decoded.partition(b":")
        if not sep or not user_b:
            raise ConfigError(f'{path}: auths["{key}"].auth does not decode to "username:password"')
        try:
            username = user_b.decode()
            password = pass_b.decode().strip("\x00")
        except UnicodeDecodeError:
            raise ConfigError(f'{path}: auths["{key}"].auth is not UTF-8 once decoded') from None
    token = text("identitytoken")
    return AuthEntry(key, username, password, token, bool(password or token))


def _ordered_entry(entry: dict[str, Any]) -> dict[str, Any]:
    if len(entry) <= 1:
        return entry
    out = {name: entry[name] for name in _ENTRY_ORDER if name in entry}
    out.update((k, v) for k, v in entry.items() if k not in out)
    return out


def _find(obj: dict[str, Any], name: str) -> str | None:
    """Go's field matching: the exact key, else the first case-insensitive one."""
    if name in obj:
        return name
    lower = name.lower()
    return next((k for k in obj if k.lower() == lower), None)


def _pop(obj: dict[str, Any], name: str) -> None:
    for k in [k for k in obj if k.lower() == name.lower()]:
        del obj[k]


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


# -- writing ---------------------------------------------------------------


def update(path: Path, change: Callable[[Config], T]) -> T:
    """Lock, re-read ``path``, apply ``change``, and save if the bytes changed."""
    from regcred._atomic import Locked, atomic_write  # only writers pay for it

    target = Path(os.path.realpath(path))  # the symlink stays; its target is written
    with Locked(target):
        config = load(path)
        result = change(config)
        new = config.render()
        if new != config.raw:
            atomic_write(target, new)
        return result
