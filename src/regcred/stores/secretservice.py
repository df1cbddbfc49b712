"""Credentials in the freedesktop Secret Service (GNOME Keyring, KeePassXC …) over D-Bus.

The storage layout is exactly the one ``docker-credential-secretservice``
(docker/docker-credential-helpers, libsecret) uses, so entries written by
either helper are read by the other:

* schema ``io.docker.Credentials`` (attribute ``xdg:schema``);
* attributes ``label`` = ``Docker Credentials``, ``server`` = ServerURL,
  ``username``, ``docker_cli`` = ``1`` (checked against Debian's v0.6.4);
* item label = ServerURL (v0.6.4; v0.9 writes ``Registry credentials for …``);
* secret = UTF-8 bytes, content type ``text/plain``, default collection.

What we do differently from the Go helper, on purpose:

* ``store`` replaces the entry for that server whatever its old username;
* ``list`` reads attributes only (never a secret) and keys on the ``server``
  attribute, so v0.9 items list under their URL, not their display label;
* an empty secret round-trips; ``erase`` of a missing entry succeeds;
* no session bus, or no Secret Service on it, raises
  :class:`~regcred.errors.StoreUnavailableError`; we never autolaunch a bus;
* an unlock prompt is shown only when someone can answer it (``DISPLAY`` or
  ``WAYLAND_DISPLAY`` is set), and every D-Bus call has a timeout
  (``REGCRED_DBUS_TIMEOUT`` seconds, default 10; prompts get 120 s at least).

Secrets travel in a ``plain`` session: the session bus is private to the
user, who can read the keyring anyway, and the alternative (DH + AES) would
need ``cryptography``.

This module holds Docker's layout in the Secret Service and
:class:`SecretServiceStore`; the D-Bus connection and the generic Secret
Service calls are in :mod:`regcred.stores._secretservice_dbus`.
"""

from __future__ import annotations

import os

from regcred.credentials import Credentials, CredentialStore, StoreStatus
from regcred.errors import CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores._secretservice_dbus import (
    BUS_NAME,
    GONE,
    IFACE,
    NO_SERVICE_HINT,
    SERVICE_PATH,
    Client,
    DBusError,
    can_prompt,
    unwrap,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DOCKER_LABEL", "NO_KEYRING_HINT", "PROBE_TIMEOUT", "SCHEMA", "SecretServiceStore"]

#: The libsecret schema name (attribute ``xdg:schema``).
SCHEMA = "io.docker.Credentials"
#: The Go helper's ``label`` *attribute* (not the item's display label).
DOCKER_LABEL = "Docker Credentials"

_ATTEMPTS = 5  # lookups by get while concurrent stores keep replacing the item
#: Seconds that doctor's status, and login's automatic choice (:meth:`SecretServiceStore.check`),
#: wait for each answer (``REGCRED_DBUS_TIMEOUT`` when that is shorter): an activatable
#: Secret Service that does not start within it is passed over, not waited for.
PROBE_TIMEOUT = 3.0
_SCHEMA_ATTRIBUTES = {"xdg:schema": SCHEMA, "docker_cli": "1"}
NO_KEYRING_HINT = (
    "the Secret Service has no default collection (keyring); create one, "
    "e.g. with Seahorse, or log in to a desktop session once"
)


def _utf8(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, as Go would write it."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _search_attributes(server: str | None) -> dict[str, str]:
    """What to search for: our items (all, or one server's).

    Not ``xdg:schema``: gnome-keyring cannot match it on a keyring that has
    been locked since the daemon started (it then knows only hashes of the
    other attributes), and such items must show up, to be unlocked.  The
    schema is checked on the attributes instead (:func:`_lookup`).
    """
    attrs = {"docker_cli": "1"}
    if server is not None:
        attrs["server"] = server
    return attrs


class SecretServiceStore(CredentialStore):
    """Docker credentials in the Secret Service, in the Go helper's layout."""

    name = "secretservice"

    @classmethod
    def check(cls) -> None:
        """Raise StoreUnavailableError unless storing would work now, found out within a short bound.

        What login's automatic choice asks.  It is :meth:`status` (doctor's
        answer, the same stages), each call bounded by :data:`PROBE_TIMEOUT`
        (or ``REGCRED_DBUS_TIMEOUT`` when that is shorter), so a Secret Service
        that is only activatable (gnome-keyring installed, not running: a
        server reached over ssh) is started and must answer in time, have a
        default keyring, and have it unlocked or unlockable by a prompt that
        someone can answer.  Otherwise the detail is the reason.
        """
        found = cls().status()
        if found.state == "ok" or (found.state == "locked" and can_prompt()):
            return
        raise StoreUnavailableError(found.detail)

    def status(self) -> StoreStatus:
        """What doctor shows; reads no secret.  Every call is bounded by :data:`PROBE_TIMEOUT`.

        ``no-bus`` (no session bus here), ``unreachable`` (a bus address that
        cannot be reached), ``not-answering`` (a bus or service that went
        silent, or an activatable one that did not start in time), ``no-service``,
        ``failing`` (a Secret Service that errs), ``no-keyring``, ``locked`` or ``ok``.
        Inside :func:`~regcred.stores._catalog.one_probe_each` (doctor), probed once.
        """
        from regcred.stores._catalog import probed

        return probed("secretservice", self._probe)

    def _probe(self) -> StoreStatus:
        from regcred.stores._secretservice_dbus import BusTimeoutError

        activatable: list[bool] = []
        try:
            return self._status(activatable)
        except BusTimeoutError as exc:  # at any stage: the bus or the service went silent
            if activatable and activatable[0]:
                return StoreStatus(
                    "not-answering",
                    f"{BUS_NAME} is activatable on the session bus but did not start and answer "
                    f"within {exc.timeout:g} s (no keyring daemon runs in this session): start "
                    "gnome-keyring-daemon here, or use docker-credential-regcred-pass",
                )
            return StoreStatus("not-answering", str(exc))

    def _status(self, activatable: list[bool]) -> StoreStatus:
        from regcred.stores._secretservice_dbus import BusTimeoutError, bus_address

        # The store's own rules, stage by stage: is there a bus, does it answer,
        # is there a Secret Service on it, does that answer?
        try:
            bus_address()
        except StoreUnavailableError as exc:
            return StoreStatus("no-bus", str(exc))
        try:
            client = Client(timeout=PROBE_TIMEOUT)
        except BusTimeoutError:
            raise
        except StoreUnavailableError as exc:
            return StoreStatus("unreachable", str(exc))
        try:
            try:
                activatable.append(_activatable_only(client))
            except DBusError as exc:
                return StoreStatus("failing", f"the session bus failed: {exc.name}")
            except StoreUnavailableError as exc:
                if str(exc) == NO_SERVICE_HINT:
                    return StoreStatus("no-service", str(exc))
                return StoreStatus("failing", str(exc))
            try:
                collection = client.default_collection()  # starts an activatable service
                if collection is None:
                    return StoreStatus("no-keyring", NO_KEYRING_HINT)
                (value,) = client.call(
                    collection, "org.freedesktop.DBus.Properties", "Get", "ss", IFACE + "Collection", "Locked"
                )
            except DBusError as exc:
                return StoreStatus("failing", f"the Secret Service failed: {exc.name}")
            except BusTimeoutError:
                raise
            except StoreUnavailableError as exc:
                return StoreStatus("failing", str(exc))
        finally:
            client.close()
        if value[1]:
            return StoreStatus(
                "locked",
                "the default keyring is locked: unlock it from your desktop session "
                "(helpers can only show an unlock prompt where DISPLAY is set)",
            )
        return StoreStatus("ok", "the default keyring is unlocked")

    def store(self, creds: Credentials) -> None:
        """Store ``creds``; other items for that server (any username) are removed after."""
        server = _utf8(creds.server)
        attrs = {"label": DOCKER_LABEL, "server": server, "username": _utf8(creds.username)}
        client = Client()
        lock = _store_lock(client.timeout)
        try:
            # Collect the old items *before* creating the new one: concurrent
            # stores (without the lock) can then at worst leave a duplicate,
            # never delete the newest.
            old, locked, _settled = _readable(client, server, "replace the old entry")
            if locked:
                client.unlock(locked, "replace the old entry")
            properties = {
                IFACE + "Item.Label": ("s", server),
                IFACE + "Item.Attributes": ("a{ss}", attrs | _SCHEMA_ATTRIBUTES),
            }
            secret = (client.open_session(), b"", _utf8(creds.secret).encode(), "text/plain")
            new = _create(client, properties, secret)
            _delete(client, [path for path in old if path != new], "replace the old entry")
        finally:
            if lock is not None:
                os.close(lock)
            client.close()

    def get(self, server: str) -> Credentials:
        """Return the credentials stored for exactly ``server`` (newest if several)."""
        client = Client()
        try:
            # A concurrent store replaces the item under our feet: look again.
            for _attempt in range(_ATTEMPTS):
                ours, locked, settled = _readable(client, _utf8(server), "read credentials")
                if not ours:
                    if settled:
                        raise CredentialsNotFoundError(server)
                    continue
                candidates = [path for path in ours if path not in locked]
                if not candidates:
                    client.unlock(locked, "read credentials")
                    candidates = locked
                path = client.newest(candidates)
                if path is None:
                    continue
                msg = client.message(path, IFACE + "Item", "GetSecret", "o", client.open_session())
                (reply,) = client.call_many([msg], gone_ok=True)
                if reply is not None:
                    username = ours[path].get("username", "")
                    return Credentials(server, username, bytes(reply[0][2]).decode("utf-8", "replace"))
        finally:
            client.close()
        raise CredentialStoreError(f"the entry for {server} kept changing while being read; try again")

    def erase(self, server: str) -> None:
        """Remove every item for ``server``; nothing to remove is fine."""
        client = Client()
        try:
            ours, locked, _settled = _readable(client, _utf8(server), "erase credentials")
            if locked:
                client.unlock(locked, "erase credentials")
            _delete(client, list(ours), "erase credentials")
        finally:
            client.close()

    def list(self) -> dict[str, str]:
        """``{server: username}`` from item attributes; no secret is ever read."""
        client = Client()
        try:
            ours, _locked, settled = _readable(client, None, "list credentials")
            if not settled:  # an incomplete list would mislead logout and migrate
                raise CredentialStoreError("the keyring kept changing while being listed; try again")
            by_server: dict[str, list[str]] = {}
            for path, attrs in ours.items():
                by_server.setdefault(attrs["server"], []).append(path)
            result = {}
            for server, paths in by_server.items():
                newest = client.newest(paths)
                if newest is not None:  # else all erased meanwhile
                    result[server] = ours[newest].get("username", "")
            return result
        finally:
            client.close()


def _activatable_only(client: Client) -> bool:
    """False when a Secret Service owns its name, True when it can only be activated; else raise."""
    from jeepney import message_bus

    (owned,) = unwrap(client.send_and_get_reply(message_bus.NameHasOwner(BUS_NAME)))
    if owned:
        return False
    (names,) = unwrap(client.send_and_get_reply(message_bus.ListActivatableNames()))
    if BUS_NAME not in names:
        raise StoreUnavailableError(NO_SERVICE_HINT)
    return True


def _store_lock(timeout: float) -> int | None:
    """Serialise this user's concurrent stores, so that racing stores of one server leave no duplicate.

    An ``flock`` on ``$XDG_RUNTIME_DIR/regcred-secretservice.lock``; closing
    the returned descriptor releases it.  Without a runtime directory, or
    after ``timeout``, go on without it: the worst case is then a duplicate
    item, which ``get`` and ``list`` resolve to the newest.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if not runtime:
        return None
    import time

    from regcred._files import flock, open_lock_file  # store only: not at helper start-up

    try:
        fd = open_lock_file(os.path.join(runtime, "regcred-secretservice.lock"))
    except OSError:
        return None
    try:
        if flock(fd, time.monotonic() + timeout):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _create(client: Client, properties: Mapping[str, object], secret: tuple[object, ...]) -> str:
    """``CreateItem`` in the default collection, unlocking it if needed."""
    collection = client.default_collection()
    if collection is None:
        raise StoreUnavailableError(NO_KEYRING_HINT)
    args = ("a{sv}(oayays)b", properties, secret, False)
    for attempt in (1, 2):
        try:
            item, prompt = client.call_unrefused(collection, IFACE + "Collection", "CreateItem", *args)
        except DBusError as exc:
            if exc.name == "org.freedesktop.Secret.Error.IsLocked" and attempt == 1:
                client.unlock([collection], "store credentials")
                continue
            if exc.name in GONE and not exc.refused:  # deleted since ReadAlias
                raise StoreUnavailableError(NO_KEYRING_HINT) from exc
            raise
        return str(client.prompt(prompt, "store credentials") if prompt != "/" else item)
    raise AssertionError  # pragma: no cover - the loop always returns or raises


def _delete(client: Client, paths: list[str], what: str) -> None:
    """Delete items one by one; items already gone are fine."""
    for path in paths:
        try:
            (prompt,) = client.call_unrefused(path, IFACE + "Item", "Delete")
        except DBusError as exc:
            if exc.name not in GONE or exc.refused:
                raise
            continue
        if prompt != "/":
            client.prompt(prompt, what)


def _lookup(
    client: Client, server: str | None
) -> tuple[dict[str, dict[str, str]], list[str], list[str], bool]:
    """Our items' attributes by path, which of them are locked, hidden locked items, and vanished.

    A keyring locked since the daemon started shows only hashes of the
    attributes: those items are "hidden" until unlocked.  Only the
    ``Attributes`` property is read (``GetAll`` costs gnome-keyring three
    times as much); never a secret.  ``vanished`` is true when an item
    found by the search was deleted before its attributes were read.
    """
    unlocked, locked = client.call_unrefused(
        SERVICE_PATH, IFACE + "Service", "SearchItems", "a{ss}", _search_attributes(server)
    )
    locked_set = set(locked)
    ours, hidden = {}, []
    found = client.properties([*unlocked, *locked], "Attributes")
    for path, attrs in found.items():
        if attrs.get("xdg:schema") == SCHEMA and "server" in attrs:
            ours[path] = attrs
        elif "server" not in attrs and path in locked_set:
            hidden.append(path)
    vanished = len(found) < len(unlocked) + len(locked)
    return ours, [path for path in ours if path in locked_set], hidden, vanished


def _readable(
    client: Client, server: str | None, what: str
) -> tuple[dict[str, dict[str, str]], list[str], bool]:
    """:func:`_lookup`, unlocking first if a locked keyring hides some attributes.

    An item that vanished between the search and the read of its
    attributes was most likely replaced by a concurrent ``store``, whose
    new item the search came too early to see: search again, a few times.
    The last value is False when items were still vanishing: the view may
    then lack an entry that exists.
    """
    unlocked = False
    for _attempt in range(_ATTEMPTS + 1):  # + 1: after an unlock, always look again
        ours, locked, hidden, vanished = _lookup(client, server)
        if hidden and not unlocked:
            client.unlock(hidden, what)
            unlocked = True
        elif not vanished:
            return ours, locked, True
    return ours, locked, False
