"""Every environment variable that regcred itself defines, declared once.

Each setting has a name, a kind, a default and a one-line doc (``SETTINGS``);
the accessors below are the only code in regcred that reads these variables.
README.md's Environment table lists them all (tests/test_settings.py keeps it
complete), together with the docker and system variables that other modules
read where they are used (``DOCKER_CONFIG``, ``PATH``, ``XDG_*``, proxies …).

One policy for values: unset or empty means the default.  A value that cannot
mean anything (not a positive, finite number for *seconds*; not one of
``1 true yes on`` / ``0 false no off`` for a *flag*) raises ``ConfigError``
with one line naming the variable and what it allows.  The message shows a bad
number (a timeout is no secret) but never any other text from the variable.
*path*, *string* and *list* (whitespace-separated words, as the shell splits
``$PASSWORD_STORE_KEY``) accept any value, unless the setting names what it
``allows`` (a *string* or a *whole* number); then any other value raises
``ConfigError`` with the setting's ``rule``, never echoing the value.

Every helper imports this module: it imports nothing beyond ``os`` and
regcred's exceptions.
"""

from __future__ import annotations

import os

from regcred.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

SECONDS = "seconds"
FLAG = "flag"
PATH = "path"
STRING = "string"
LIST = "list"
WHOLE = "whole"  # a whole number

#: The characters AWS allows in a secret's name.
_AWS_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+=.@-")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class Setting:
    """One environment variable: its name, kind, default and what it does."""

    __slots__ = ("allows", "default", "doc", "kind", "name", "rule", "shown_default")

    def __init__(
        self,
        name: str,
        kind: str,
        *,
        default: float | bool | str | None,
        doc: str,
        allows: Callable[[str], bool] | None = None,
        rule: str = "",
    ) -> None:
        self.name = name
        self.kind = kind
        self.default = default
        self.doc = doc
        #: which non-empty values are good, and what the error says of the others
        self.allows = allows
        self.rule = rule
        #: the default as README.md's Environment table shows it
        self.shown_default = _show(kind, default)

    def __repr__(self) -> str:
        return f"Setting({self.name!r}, {self.kind!r}, {self.default!r})"


def _show(kind: str, default: float | bool | str | None) -> str:
    if kind == SECONDS and isinstance(default, float):
        return f"{default:g}"
    if kind == FLAG:
        return "on" if default else "off"
    if kind == WHOLE:
        return f"{default}"
    return "unset" if default is None else f"`{default}`"


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "REGCRED_HELPER_TIMEOUT",
            SECONDS,
            default=30.0,
            doc=(
                "seconds before a hung credential helper is killed; the AWS helper fits all its"
                " attempts in three quarters of it"
            ),
        ),
        Setting(
            "REGCRED_HTTP_TIMEOUT",
            SECONDS,
            default=15.0,
            doc="seconds for each registry request (`login --timeout` wins)",
        ),
        Setting(
            "REGCRED_LOCK_TIMEOUT",
            SECONDS,
            default=30.0,
            doc="seconds to wait for `config.json.lock` (login, logout, migrate and its rollback)",
        ),
        Setting(
            "REGCRED_DBUS_TIMEOUT",
            SECONDS,
            default=10.0,
            doc="seconds to wait for each Secret Service (D-Bus) reply",
        ),
        Setting(
            "REGCRED_GPG_TIMEOUT",
            SECONDS,
            default=30.0,
            doc="seconds any one gpg (or git) run of the pass store, or of doctor's key check, may take",
        ),
        Setting(
            "REGCRED_GPG",
            PATH,
            default="gpg",
            doc="the gpg program the pass store and doctor run (looked up on `PATH`)",
        ),
        Setting(
            "REGCRED_PODMAN_AUTH",
            FLAG,
            default=True,
            doc=(
                "read podman's side (auth files, registries.conf helpers) on lookup and in `list` "
                "(`0`, `false`, `no`, `off` turn it off)"
            ),
        ),
        Setting(
            "REGCRED_DEBUG",
            FLAG,
            default=False,
            doc="helpers print tracebacks of unexpected errors on stderr (`1`, `true`, `yes`, `on`)",
        ),
        Setting(
            "REGCRED_HUB_TENANT",
            STRING,
            default="https://login.docker.com",
            doc="Docker Hub's OAuth tenant (`login`'s web sign-in, `logout`'s revoke)",
        ),
        Setting(
            "REGCRED_HUB_API",
            STRING,
            default="https://hub.docker.com",
            doc="Docker Hub's API (where the web sign-in mints its personal access token)",
        ),
        Setting(
            "PASSWORD_STORE_DIR",
            PATH,
            default="~/.password-store",
            doc="the pass store's directory, as for pass",
        ),
        Setting(
            "PASSWORD_STORE_KEY",
            LIST,
            default=None,
            doc="gpg key ids that replace `.gpg-id` as the recipients of new entries, as for pass",
        ),
        Setting(
            "PASSWORD_STORE_SIGNING_KEY",
            LIST,
            default=None,
            doc="fingerprints one of which must have signed `.gpg-id` (`.gpg-id.sig`), as for pass",
        ),
        Setting(
            "PASSWORD_STORE_GPG_OPTS",
            LIST,
            default=None,
            doc="extra gpg options for the pass store, as for pass",
        ),
        Setting(
            "REGCRED_AWS_PREFIX",
            STRING,
            default="regcred/",
            doc="name prefix of the AWS Secrets Manager store's secrets",
            allows=lambda value: len(value) <= 256 and not set(value) - _AWS_NAME_CHARS,
            rule=(
                "must be 1 to 256 of the characters AWS allows in secret names (letters, digits and /_+=.@-)"
            ),
        ),
        Setting(
            "AWS_REGION",
            STRING,
            default=None,
            doc="the AWS store's region (regcred passes it to boto3, which reads only `AWS_DEFAULT_REGION`)",
        ),
        Setting(
            "REGCRED_AWS_RECOVERY_DAYS",
            WHOLE,
            default=7,
            doc="recovery window of an erased AWS secret: 7 to 30 days, or `0` to delete at once",
            allows=lambda value: int(value) == 0 or 7 <= int(value) <= 30,
            rule="must be a number of days from 7 to 30, or 0 to delete without recovery",
        ),
    )
}


def _raw(name: str, kind: str) -> str:
    setting = SETTINGS[name]  # KeyError: an undeclared name is a bug here, not bad input
    if setting.kind != kind:
        raise TypeError(f"{name} is a {setting.kind} setting, not {kind}")
    return os.environ.get(name, "")


# --- accessors by kind ------------------------------------------------------


def seconds(name: str) -> float:
    """``$name`` as a positive, finite number of seconds; unset or empty: its default."""
    raw = _raw(name, SECONDS).strip()
    default = SETTINGS[name].default
    if not isinstance(default, float):
        raise TypeError(f"{name}'s default is not a number of seconds")
    if not raw:
        return default
    allowed = f"give a positive number of seconds, or unset it for the default ({default:g})"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} is not a number: {allowed}") from None
    if not 0 < value < float("inf"):
        raise ConfigError(f"{name}={value:g} is not allowed: {allowed}")
    return value


def flag(name: str) -> bool:
    """``$name`` as on or off; unset or empty: its default."""
    raw = _raw(name, FLAG).strip().lower()
    if not raw:
        return bool(SETTINGS[name].default)
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(
        f"{name} is neither on nor off: give 1, true, yes or on, or 0, false, no or off, "
        "or unset it for the default"
    )


def path(name: str) -> str:
    """``$name`` as a path (``~`` expanded in the default only, as pass does); unset or empty: its default."""
    raw = _raw(name, PATH)
    if raw:
        return raw
    default = SETTINGS[name].default
    if not isinstance(default, str):
        raise TypeError(f"{name}'s default is not a path")
    return os.path.expanduser(default)


def string(name: str) -> str | None:
    """``$name`` as it is (if the setting allows it); unset or empty: None."""
    raw = _raw(name, STRING)
    if not raw:
        return None
    _check(name, raw)
    return raw


def whole(name: str) -> int:
    """``$name`` as a whole number of those the setting allows; unset or empty: its default."""
    raw = _raw(name, WHOLE).strip()
    default = SETTINGS[name].default
    if not isinstance(default, int):
        raise TypeError(f"{name}'s default is not a whole number")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigError(f"{name} {SETTINGS[name].rule or 'must be a whole number'}")
    _check(name, raw)
    return int(raw)


def _check(name: str, raw: str) -> None:
    setting = SETTINGS[name]
    if setting.allows is not None and not setting.allows(raw):
        raise ConfigError(f"{name} {setting.rule}")


def words(name: str) -> tuple[str, ...] | None:
    """``$name`` split at whitespace; None when unset or empty (pass's ``[[ -n $VAR ]]``)."""
    raw = _raw(name, LIST)
    return tuple(raw.split()) if raw else None


def problems() -> list[str]:
    """The one-line error of every declared setting whose value is bad (for doctor)."""
    readers = {SECONDS: seconds, FLAG: flag, PATH: path, STRING: string, LIST: words, WHOLE: whole}
    found = []
    for name, setting in SETTINGS.items():
        try:
            readers[setting.kind](name)
        except ConfigError as exc:
            found.append(str(exc))
    return found


# --- one accessor per setting -------------------------------------------------


def helper_timeout() -> float:
    return seconds("REGCRED_HELPER_TIMEOUT")


def http_timeout() -> float:
    return seconds("REGCRED_HTTP_TIMEOUT")


def lock_timeout() -> float:
    return seconds("REGCRED_LOCK_TIMEOUT")


def dbus_timeout() -> float:
    return seconds("REGCRED_DBUS_TIMEOUT")


def gpg_timeout() -> float:
    return seconds("REGCRED_GPG_TIMEOUT")


def gpg_program() -> str:
    return path("REGCRED_GPG")


def podman_auth() -> bool:
    return flag("REGCRED_PODMAN_AUTH")


def debug() -> bool:
    return flag("REGCRED_DEBUG")


def hub_tenant() -> str:
    return string("REGCRED_HUB_TENANT") or str(SETTINGS["REGCRED_HUB_TENANT"].default)


def hub_api() -> str:
    return string("REGCRED_HUB_API") or str(SETTINGS["REGCRED_HUB_API"].default)


def password_store_dir() -> str:
    return path("PASSWORD_STORE_DIR")


def password_store_key() -> tuple[str, ...] | None:
    return words("PASSWORD_STORE_KEY")


def password_store_signing_key() -> tuple[str, ...] | None:
    return words("PASSWORD_STORE_SIGNING_KEY")


def password_store_gpg_opts() -> tuple[str, ...]:
    return words("PASSWORD_STORE_GPG_OPTS") or ()


def aws_prefix() -> str:
    return string("REGCRED_AWS_PREFIX") or str(SETTINGS["REGCRED_AWS_PREFIX"].default)


def aws_region() -> str | None:
    return string("AWS_REGION")


def aws_recovery_days() -> int:
    return whole("REGCRED_AWS_RECOVERY_DAYS")
