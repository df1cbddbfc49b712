"""The state of the two encrypted backends, for ``regcred doctor``.

* Secret Service: no bus, not answering, no service, no keyring (collection), locked, or ok;
* pass: no gpg, not initialized, a ``.gpg-id`` key missing from GnuPG, or ok.

Each probe uses the store's own rules (bus discovery, ``check()``, the
``.gpg-id`` walk) and never reads a secret.
"""

from __future__ import annotations

import os

from regcred.errors import StoreUnavailableError

__all__ = [
    "PASS_HELPERS",
    "SECRETSERVICE_HELPERS",
    "TITLES",
    "backend_of",
    "pass_state",
    "secretservice_state",
]

#: Helpers that keep their credentials in each backend.
SECRETSERVICE_HELPERS = frozenset({"regcred-secretservice", "secretservice"})
PASS_HELPERS = frozenset({"regcred-pass", "pass"})
#: How the report names each backend.
TITLES = {"secretservice": "Secret Service", "pass": "pass store"}


def backend_of(helper: str) -> str:
    """The backend a helper keeps its credentials in: "secretservice", "pass" or ""."""
    if helper in SECRETSERVICE_HELPERS:
        return "secretservice"
    if helper in PASS_HELPERS:
        return "pass"
    return ""


def secretservice_state() -> tuple[str, str]:
    """``(state, detail)``: no-bus, not-answering, no-service, no-keyring, locked, unavailable or ok."""
    try:
        from regcred.stores import _secretservice_dbus as dbus
        from regcred.stores import secretservice as ss
    except ImportError as exc:
        return "unavailable", f"jeepney is not installed ({exc.name})"
    try:
        # The store's own rules, stage by stage: is there a bus, can we connect, is
        # there a Secret Service on it?
        dbus.bus_address()
        dbus.Client().close()
    except dbus.BusTimeoutError as exc:
        return "not-answering", str(exc)
    except StoreUnavailableError as exc:
        return "no-bus", str(exc)
    except ImportError as exc:
        return "unavailable", f"jeepney is not installed ({exc.name})"
    try:
        ss.SecretServiceStore.check()
    except dbus.BusTimeoutError as exc:
        return "not-answering", str(exc)
    except StoreUnavailableError as exc:
        return "no-service", str(exc)
    client = dbus.Client()  # doctor asks what no store method exposes
    try:
        collection = client.default_collection()
        if collection is None:
            return "no-keyring", ss.NO_KEYRING_HINT
        (value,) = client.call(
            collection,
            "org.freedesktop.DBus.Properties",
            "Get",
            "ss",
            "org.freedesktop.Secret.Collection",
            "Locked",
        )
    except dbus.DBusError as exc:
        return "no-service", f"the Secret Service failed: {exc.name}"
    except dbus.BusTimeoutError as exc:
        return "not-answering", str(exc)
    except StoreUnavailableError as exc:
        return "no-service", str(exc)
    finally:
        client.close()
    if value[1]:
        return "locked", (
            "the default keyring is locked: unlock it from your desktop session "
            "(helpers can only show an unlock prompt where DISPLAY is set)"
        )
    return "ok", "the default keyring is unlocked"


def pass_state() -> tuple[str, str]:
    """``(state, detail)``: no-gpg, not-initialized, key-missing or ok."""
    from regcred.stores.pass_ import PassStore

    try:
        PassStore.check()
    except StoreUnavailableError as exc:
        text = str(exc)
        return ("no-gpg" if "gpg is not installed" in text else "not-initialized"), text
    store = PassStore()
    recipients = store._recipients(store.folder)  # noqa: SLF001 - pass's own .gpg-id walk
    for key_id in recipients:
        for listing, what in (("--list-keys", "public"), ("--list-secret-keys", "secret")):
            if not _gpg_has(listing, key_id):
                home = os.environ.get("GNUPGHOME") or "~/.gnupg"
                return "key-missing", (
                    f"the gpg key {key_id} that {store.root}/.gpg-id names has no {what} key in "
                    f"the GnuPG home {home}; import it, or re-run 'pass init' with your key"
                )
    return "ok", f"{store.root} encrypts to {', '.join(recipients)}"


def _gpg_has(listing: str, key_id: str) -> bool:
    import subprocess

    from regcred.stores._gpg import gpg_program

    try:
        done = subprocess.run(
            [gpg_program(), "--batch", "--with-colons", listing, "--", key_id],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
