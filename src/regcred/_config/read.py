"""Reading Docker's ``config.json`` strictly: parse, validate, decode entries.

Reading follows the Docker CLI (field names match case-insensitively, an
empty file is an empty config) but is strict where docker guesses: invalid
JSON, NaN or Infinity, a key twice in one object, two spellings of one
field, wrong types in the fields regcred uses, and ``auth`` values that are
not base64 of ``username:password`` are all errors.  Each names the file
and the place, never a value, and :mod:`regcred._config` then refuses to
write that file.  Numbers with a fraction or exponent keep their literal
text, so rewriting the file changes none of them.
"""

from __future__ import annotations

import base64
import binascii
import json

from regcred._record import Record
from regcred.credentials import TOKEN_USERNAME, Credentials
from regcred.errors import ConfigError

TYPE_CHECKING = False  # typing costs start-up time; annotations are strings here
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__all__ = ["ENTRY_ORDER", "AuthEntry", "decode_entry", "find_field", "parse", "parse_config"]

#: Docker's AuthConfig fields, in the order docker writes them.
ENTRY_ORDER = (
    "username", "password", "auth", "email", "serveraddress", "identitytoken", "registrytoken",
)  # fmt: skip
_ENTRY_STRINGS = ENTRY_ORDER  # all of them must be strings (or null)


class AuthEntry(Record):
    """One decoded ``auths`` entry.  ``password`` and ``identitytoken`` are secrets."""

    __slots__ = ("has_secret", "identitytoken", "key", "password", "username")
    _hidden = frozenset({"identitytoken", "password"})
    key: str
    username: str
    password: str
    identitytoken: str
    #: False for the ``{}`` markers a native store leaves
    has_secret: bool

    def __init__(self, key: str, username: str, password: str, identitytoken: str, has_secret: bool) -> None:
        self._set(
            key=key, username=username, password=password, identitytoken=identitytoken, has_secret=has_secret
        )

    @property
    def shown_username(self) -> str:
        """The username :meth:`credentials` returns: ``<token>`` for a bare identity token."""
        return self.username if self.password or not self.identitytoken else TOKEN_USERNAME

    def credentials(self, server: str | None = None) -> Credentials | None:
        """The one rule that turns an entry into credentials (None for a ``{}`` marker).

        A username and password come back as such, with an ``identitytoken``
        beside them when the entry has both (docker keeps both); an identity
        token alone comes back with username ``<token>``, as docker hands it
        to a registry.
        """
        if not self.has_secret:
            return None
        key = self.key if server is None else server
        if self.password or not self.identitytoken:
            return Credentials(key, self.username, self.password, identity_token=self.identitytoken)
        return Credentials(key, TOKEN_USERNAME, self.identitytoken)


# path -> the last bytes that passed validation, so that the re-read inside the
# lock (and repeated lookups) do not validate the same bytes twice.
_VALIDATED: dict[str, bytes] = {}


def parse_config(path: Path, raw: bytes) -> tuple[dict[str, Any], str]:
    """:func:`parse` as docker reads a config file: ``(data, why regcred must not rewrite it)``.

    Go's ``json.Decoder`` reads the first JSON value and ignores what follows;
    a key that appears twice in one object takes its last value; and the
    top-level fields docker keeps as maps (``auths``, ``credHelpers`` …) are
    decoded into one map however often, and in whatever letter case, they
    appear, so their entries merge (the later one wins).  Such a file is read
    the same way here, and the second item says why writing it back would
    lose something (``""`` for a well-formed file).
    """
    try:
        return parse(path, raw), ""
    except ConfigError as strict_error:
        try:
            text = raw.decode("utf-8")
            data, end = json.JSONDecoder(
                parse_float=_Number, parse_constant=_refuse_constant, object_pairs_hook=_Pairs
            ).raw_decode(text.lstrip())
        except (ValueError, RecursionError):
            raise strict_error from None
        if not isinstance(data, _Pairs):
            raise strict_error from None
        reasons: list[str] = []
        if text.lstrip()[end:].strip():
            reasons.append("it has data after the JSON value, which docker ignores")
        config = _as_go_reads_it(data, reasons)
        if not reasons:
            raise
        _check_text(path, text, config)
        _validate(path, config)
        return config, "; ".join(dict.fromkeys(reasons))


class _Pairs(list):  # type: ignore[type-arg]  # list[tuple[str, Any]]; typing is not imported at run time
    """A JSON object as its (key, value) pairs, in order, duplicates kept."""


#: ConfigFile's map-typed fields: Go decodes every occurrence into the same map.
_MAP_FIELDS = ("auths", "credhelpers", "httpheaders", "proxies", "plugins", "aliases")


def _as_go_reads_it(top: _Pairs, reasons: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    spelling: dict[str, str] = {}  # lower-case field -> the first spelling seen
    for key, value in top:
        lower = key.lower()
        name = spelling.setdefault(lower, key) if lower in _MAP_FIELDS else key
        plain = _plain(value, reasons)
        if name in out:
            if name != key:
                reasons.append(f'"{name}" and "{key}" are one field for docker (it merges them); keep one')
            else:
                reasons.append(
                    f'the key "{key}" appears twice in one object (docker uses the last; keep one)'
                )
            if lower in _MAP_FIELDS and isinstance(out[name], dict) and isinstance(plain, dict):
                out[name] = {**out[name], **plain}
                continue
        out[name] = plain
    return out


def _plain(value: Any, reasons: list[str]) -> Any:
    """``value`` with every nested object a dict in which the last of a repeated key wins."""
    if isinstance(value, _Pairs):
        obj: dict[str, Any] = {}
        for key, item in value:
            if key in obj:
                reasons.append(
                    f'the key "{key}" appears twice in one object (docker uses the last; keep one)'
                )
            obj[key] = _plain(item, reasons)
        return obj
    if isinstance(value, list):
        return [_plain(item, reasons) for item in value]
    return value


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
        _check_text(path, text, data)
        _validate(path, data)
        _VALIDATED[str(path)] = raw
    return data


def _check_text(path: Path, text: str, data: Any) -> None:
    """Refuse a ``\\ud800``-style escape that decodes to a lone UTF-16 surrogate.

    Such a string is not text: it cannot be printed, encoded or written back
    (Go reads it as U+FFFD, so docker would rewrite it as that).  Only an
    escape can carry one (the bytes were valid UTF-8), so the walk runs only
    when the text holds ``\\ud`` at all.
    """
    if "\\ud" not in text and "\\uD" not in text:
        return
    place = _surrogate_place(data, "")
    if place is not None:
        from regcred._text import printable

        raise ConfigError(
            f"{path}: {printable(place)} holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape "
            "that is not half of a pair), which is not text; fix the file (regcred will not rewrite it)"
        )


def _surrogate_place(value: Any, where: str) -> str | None:
    """Where in ``value`` a lone surrogate is (``auths["k"].username``, ``the key auths["k"]``), or None."""
    if isinstance(value, str):
        return where or "the top level" if _has_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f'{where}["{key}"]' if where else key
            if _has_surrogate(key):
                return f"the key {inner}"
            found = _surrogate_place(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _surrogate_place(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


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


_ENTRY_FIELDS = frozenset(ENTRY_ORDER)
_STRING_OR_NULL = (str, type(None))


def _validate(path: Path, data: dict[str, Any]) -> None:
    _check_unique(path, data, ("auths", "credsStore", "credHelpers"), "")
    key = find_field(data, "auths")
    if key is not None:
        auths = data[key]
        if not isinstance(auths, dict):
            raise ConfigError(f'{path}: "{key}" must be a JSON object, not {_kind(auths)}')
        for server, entry in auths.items():
            if not _plain_auth_ok(entry):
                _validate_entry(path, key, server, entry)
    key = find_field(data, "credsStore")
    if key is not None and not isinstance(data[key], str):
        raise ConfigError(f'{path}: "{key}" must be a string, not {_kind(data[key])}')
    key = find_field(data, "credHelpers")
    if key is not None:
        helpers = data[key]
        if not isinstance(helpers, dict):
            raise ConfigError(f'{path}: "{key}" must be a JSON object, not {_kind(helpers)}')
        for server, name in helpers.items():
            if not isinstance(name, str):
                raise ConfigError(f'{path}: {key}["{server}"] must be a string, not {_kind(name)}')


def _strict_b64(text: str) -> bytes:
    return binascii.a2b_base64(text, strict_mode=True)


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
        found = (find_field(entry, field) for field in _ENTRY_STRINGS)
        bad = next((k for k in found if k is not None and not isinstance(entry[k], _STRING_OR_NULL)), None)
    if bad is not None:
        raise ConfigError(f'{path}: {auths_key}["{server}"].{bad} must be a string, not {_kind(entry[bad])}')
    decode_entry(path, server, entry)


def decode_entry(path: Path, key: str, entry: dict[str, Any]) -> AuthEntry:
    exact = _ENTRY_FIELDS.issuperset(entry)

    def text(name: str) -> str:
        actual = name if exact or name in entry else find_field(entry, name)
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
    # "auth" of "user:" is a credential with an empty password, not a marker.
    return AuthEntry(key, username, password, token, bool(password or token or auth))


def find_field(obj: dict[str, Any], name: str) -> str | None:
    """Go's field matching: the exact key, else the first case-insensitive one."""
    if name in obj:
        return name
    lower = name.lower()
    return next((k for k in obj if k.lower() == lower), None)


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )
