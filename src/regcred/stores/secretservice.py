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
"""

from __future__ import annotations

import os
import stat

from regcred.credentials import Credentials, CredentialStore
from regcred.errors import CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from jeepney import Message
    from jeepney.io.blocking import DBusConnection

__all__ = ["DOCKER_LABEL", "SCHEMA", "SecretServiceStore"]

#: The libsecret schema name (attribute ``xdg:schema``).
SCHEMA = "io.docker.Credentials"
#: The Go helper's ``label`` *attribute* (not the item's display label).
DOCKER_LABEL = "Docker Credentials"

_BUS_NAME = "org.freedesktop.secrets"
_SERVICE_PATH = "/org/freedesktop/secrets"
_IFACE = "org.freedesktop.Secret."
_PROPERTIES = "org.freedesktop.DBus.Properties"
_DEFAULT_TIMEOUT = 10.0
_MIN_PROMPT_TIMEOUT = 120.0
_WINDOW = 64  # method calls in flight at once
_ATTEMPTS = 5  # lookups by get while concurrent stores keep replacing the item
_REFUSAL_PAUSES = (0.005, 0.02, 0.05, 0.1, 0.2)  # seconds; see _Client.call_unrefused
_UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
_NO_SERVICE = {
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
}
_GONE = {"org.freedesktop.Secret.Error.NoSuchObject", _UNKNOWN_METHOD}
_SCHEMA_ATTRIBUTES = {"xdg:schema": SCHEMA, "docker_cli": "1"}
_NO_BUS_HINT = (
    "run this in a desktop session, or under `dbus-run-session` with a keyring "
    "daemon, or use docker-credential-regcred-pass"
)
NO_KEYRING_HINT = (
    "the Secret Service has no default collection (keyring); create one, "
    "e.g. with Seahorse, or log in to a desktop session once"
)
_NO_SERVICE_HINT = (
    "no Secret Service (org.freedesktop.secrets) on the D-Bus session bus: start "
    "gnome-keyring-daemon or KeePassXC's Secret Service, or use docker-credential-regcred-pass"
)


class _DBusError(CredentialStoreError):
    """An error reply from the service; ``name`` is the D-Bus error name."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name


def _bus_address() -> str:
    """The session bus address, without ever autolaunching one."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime:
        # os.path, not pathlib: a helper's start-up time matters.
        path = os.path.join(runtime, "bus")
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return "unix:path=" + path
        except OSError:
            pass
    raise StoreUnavailableError(
        "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no "
        f"$XDG_RUNTIME_DIR/bus): {_NO_BUS_HINT}"
    )


def _timeout() -> float:
    """Seconds to wait for any one D-Bus reply (``REGCRED_DBUS_TIMEOUT``)."""
    raw = os.environ.get("REGCRED_DBUS_TIMEOUT", "")
    if not raw:
        return _DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise StoreUnavailableError(
            f"REGCRED_DBUS_TIMEOUT={raw!r} is not a positive number of seconds; fix or unset it"
        )
    return value


def _can_prompt() -> bool:
    """True when an unlock prompt can be answered: a graphical display is set."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _utf8(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, as Go would write it."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _search_attributes(server: str | None) -> dict[str, str]:
    """What to search for: our items (all, or one server's).

    Not ``xdg:schema``: gnome-keyring cannot match it on a keyring that has
    been locked since the daemon started (it then knows only hashes of the
    other attributes), and such items must show up, to be unlocked.  The
    schema is checked on the attributes instead (:meth:`_Client.lookup`).
    """
    attrs = {"docker_cli": "1"}
    if server is not None:
        attrs["server"] = server
    return attrs


class _Client:
    """One connection to the Secret Service; every call is bounded by a timeout."""

    def __init__(self) -> None:
        address = _bus_address()
        self.timeout = _timeout()
        from jeepney.io.blocking import open_dbus_connection

        try:
            self.conn: DBusConnection = open_dbus_connection(address, auth_timeout=self.timeout)
        except OSError as exc:  # includes TimeoutError
            reason = exc.strerror or str(exc)
            raise StoreUnavailableError(
                f"cannot connect to the D-Bus session bus ({reason}): {_NO_BUS_HINT}"
            ) from exc
        except (RuntimeError, ValueError, KeyError) as exc:
            raise StoreUnavailableError(
                "DBUS_SESSION_BUS_ADDRESS names no unix socket regcred can use; "
                "regcred never autolaunches a bus: " + _NO_BUS_HINT
            ) from exc

    def close(self) -> None:
        self.conn.close()

    def message(self, path: str, interface: str, method: str, sig: str = "", *body: object) -> Message:
        from jeepney import DBusAddress, new_method_call

        address = DBusAddress(path, bus_name=_BUS_NAME, interface=interface)
        return new_method_call(address, method, sig or None, body)

    def call(self, path: str, interface: str, method: str, sig: str = "", *body: object) -> Any:
        """Call one method and return the reply body."""
        return self.call_many([self.message(path, interface, method, sig, *body)])[0]

    def call_many(self, messages: Iterable[Message], *, gone_ok: bool = False) -> list[Any]:
        """Pipeline ``messages`` (a window at a time); return their replies' bodies in order.

        One round trip instead of one per message, which is what makes
        ``list`` over many items fast.  The window stays below dbus-daemon's
        default limit on pending replies per connection (128).  With
        ``gone_ok``, a call on an object deleted meanwhile gives ``None``.
        """
        from jeepney import HeaderFields

        serials: list[int] = []
        replies: dict[int, Message] = {}
        for msg in messages:
            if len(serials) - len(replies) >= _WINDOW:
                self._collect(replies, HeaderFields.reply_serial)
            serial = next(self.conn.outgoing_serial)
            try:
                self.conn.send(msg, serial=serial)
            except OSError as exc:
                raise StoreUnavailableError(f"lost the D-Bus connection ({exc.strerror})") from exc
            serials.append(serial)
        while len(replies) < len(serials):
            self._collect(replies, HeaderFields.reply_serial)
        return [_unwrap(replies[serial], gone_ok=gone_ok) for serial in serials]

    def _collect(self, replies: dict[int, Message], field: object) -> None:
        """Receive until one more method reply has arrived; store it by serial."""
        while True:
            reply = self._receive(self.timeout)
            serial = reply.header.fields.get(field)
            if serial is not None:
                replies[serial] = reply
                return

    def send_and_get_reply(self, msg: Message) -> Message:
        return self._receive(self.timeout, msg)

    def _receive(self, timeout: float, msg: Message | None = None) -> Message:
        """The next incoming message, or the reply to ``msg`` (sent here)."""
        try:
            if msg is not None:
                return self.conn.send_and_get_reply(msg, timeout=timeout)
            return self.conn.receive(timeout=timeout)
        except TimeoutError as exc:
            raise StoreUnavailableError(
                f"the Secret Service did not answer within {timeout:g} s "
                "(REGCRED_DBUS_TIMEOUT); is the keyring daemon stuck?"
            ) from exc
        except OSError as exc:
            raise StoreUnavailableError(f"lost the D-Bus connection ({exc.strerror})") from exc

    # --- Secret Service operations -------------------------------------------------

    def open_session(self) -> str:
        """Open a ``plain`` transfer session; return its object path."""
        _output, path = self.call(_SERVICE_PATH, _IFACE + "Service", "OpenSession", "sv", "plain", ("s", ""))
        return str(path)

    def lookup(self, server: str | None) -> tuple[dict[str, dict[str, str]], list[str], list[str], bool]:
        """Our items' attributes by path, which of them are locked, hidden locked items, and vanished.

        A keyring locked since the daemon started shows only hashes of the
        attributes: those items are "hidden" until unlocked.  Only the
        ``Attributes`` property is read (``GetAll`` costs gnome-keyring three
        times as much); never a secret.  ``vanished`` is true when an item
        found by the search was deleted before its attributes were read.
        """
        unlocked, locked = self.call_unrefused(
            _SERVICE_PATH, _IFACE + "Service", "SearchItems", "a{ss}", _search_attributes(server)
        )
        locked_set = set(locked)
        ours, hidden = {}, []
        found = self.properties([*unlocked, *locked], "Attributes")
        for path, attrs in found.items():
            if attrs.get("xdg:schema") == SCHEMA and "server" in attrs:
                ours[path] = attrs
            elif "server" not in attrs and path in locked_set:
                hidden.append(path)
        vanished = len(found) < len(unlocked) + len(locked)
        return ours, [path for path in ours if path in locked_set], hidden, vanished

    def call_unrefused(self, path: str, interface: str, method: str, sig: str = "", *body: object) -> Any:
        """:meth:`call`, retrying a refusal that gnome-keyring gives by mistake under load.

        gnome-keyring (42.1 at least) can answer a method it implements with
        UnknownMethod ("Method SearchItems is not implemented"): its handlers
        return that when they find no per-client state for the caller, which
        a call from a client that has just connected can overtake.  Seen under
        load, about one call in thousands.  Such a refusal did nothing, so
        the call is repeated after short pauses (0.4 s in all) before the
        answer counts.  Only for methods every Secret Service implements.
        """
        import time

        for pause in (*_REFUSAL_PAUSES, None):
            try:
                return self.call(path, interface, method, sig, *body)
            except _DBusError as exc:
                if exc.name != _UNKNOWN_METHOD or pause is None:
                    raise
                time.sleep(pause)
        raise AssertionError  # pragma: no cover - the loop always returns or raises

    def default_collection(self) -> str | None:
        """The object path of the default collection, or None if there is none.

        Calls then go to that path, never to ``.../aliases/default``:
        gnome-keyring rewrites alias paths on a worker thread while its main
        thread replaces the alias each time a client connects, so under load
        a call to the alias path can land on no object at all.
        """
        (path,) = self.call(_SERVICE_PATH, _IFACE + "Service", "ReadAlias", "s", "default")
        return None if path == "/" else str(path)

    def readable(self, server: str | None, what: str) -> tuple[dict[str, dict[str, str]], list[str]]:
        """:meth:`lookup`, unlocking first if a locked keyring hides some attributes.

        An item that vanished between the search and the read of its
        attributes was most likely replaced by a concurrent ``store``, whose
        new item the search came too early to see: search again (a few
        times), else a ``get`` would answer "not found" for an entry that
        exists.
        """
        unlocked = False
        for _attempt in range(_ATTEMPTS):
            ours, locked, hidden, vanished = self.lookup(server)
            if hidden and not unlocked:
                self.unlock(hidden, what)
                unlocked = True
            elif not vanished:
                break
        return ours, locked

    def properties(self, paths: list[str], name: str) -> dict[str, Any]:
        """One property of many items, pipelined; items deleted meanwhile are left out."""
        msgs = [self.message(p, _PROPERTIES, "Get", "ss", _IFACE + "Item", name) for p in paths]
        replies = self.call_many(msgs, gone_ok=True)
        return {path: body[0][1] for path, body in zip(paths, replies, strict=True) if body is not None}

    def newest(self, paths: list[str]) -> str | None:
        """The most recently modified of ``paths`` (the last one on a tie); None if all are gone."""
        if len(paths) == 1:
            return paths[0]
        modified = self.properties(paths, "Modified")
        ranked = [(modified[path], index, path) for index, path in enumerate(paths) if path in modified]
        return max(ranked)[2] if ranked else None

    def unlock(self, paths: list[str], what: str) -> None:
        """Unlock ``paths``, prompting only when someone can answer the prompt."""
        _done, prompt = self.call(_SERVICE_PATH, _IFACE + "Service", "Unlock", "ao", paths)
        if prompt != "/":
            self.prompt(prompt, what)

    def prompt(self, path: str, what: str) -> object:
        """Show the service's prompt, wait for it to complete, return its result."""
        if not _can_prompt():
            raise StoreUnavailableError(
                f"the keyring is locked; to {what} it must be unlocked, but nobody can answer "
                "an unlock prompt here (DISPLAY and WAYLAND_DISPLAY are unset): unlock it in "
                "your desktop session, or with `gnome-keyring-daemon --unlock`, and retry"
            )
        from jeepney import MatchRule, message_bus

        rule = MatchRule(type="signal", interface=_IFACE + "Prompt", member="Completed", path=path)
        prompt_timeout = max(self.timeout, _MIN_PROMPT_TIMEOUT)
        with self.conn.filter(rule) as queue:
            # send_and_get_reply (unlike call_many) queues a Completed signal
            # that arrives before the reply, instead of dropping it.
            for msg in (
                message_bus.AddMatch(rule),
                self.message(path, _IFACE + "Prompt", "Prompt", "s", ""),
            ):
                _unwrap(self.send_and_get_reply(msg))
            try:
                signal = self.conn.recv_until_filtered(queue, timeout=prompt_timeout)
            except TimeoutError as exc:
                self.call(path, _IFACE + "Prompt", "Dismiss")
                raise StoreUnavailableError(
                    f"nobody answered the keyring prompt within {prompt_timeout:g} s"
                ) from exc
            except OSError as exc:
                raise StoreUnavailableError(f"lost the D-Bus connection ({exc.strerror})") from exc
        dismissed, result = signal.body
        if dismissed:
            raise StoreUnavailableError(f"the keyring prompt was dismissed; cannot {what}")
        return result[1]


class SecretServiceStore(CredentialStore):
    """Docker credentials in the Secret Service, in the Go helper's layout."""

    name = "secretservice"

    @classmethod
    def check(cls) -> None:
        """Raise StoreUnavailableError unless a Secret Service is (or can be) on the bus."""
        from jeepney import message_bus

        client = _Client()
        try:
            (owned,) = _unwrap(client.send_and_get_reply(message_bus.NameHasOwner(_BUS_NAME)))
            if owned:
                return
            (names,) = _unwrap(client.send_and_get_reply(message_bus.ListActivatableNames()))
            if _BUS_NAME not in names:
                raise StoreUnavailableError(_NO_SERVICE_HINT)
        finally:
            client.close()

    def store(self, creds: Credentials) -> None:
        """Store ``creds``; other items for that server (any username) are removed after."""
        server = _utf8(creds.server)
        attrs = {"label": DOCKER_LABEL, "server": server, "username": _utf8(creds.username)}
        client = _Client()
        lock = _store_lock(client.timeout)
        try:
            # Collect the old items *before* creating the new one: concurrent
            # stores (without the lock) can then at worst leave a duplicate,
            # never delete the newest.
            old, locked = client.readable(server, "replace the old entry")
            if locked:
                client.unlock(locked, "replace the old entry")
            properties = {
                _IFACE + "Item.Label": ("s", server),
                _IFACE + "Item.Attributes": ("a{ss}", attrs | _SCHEMA_ATTRIBUTES),
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
        client = _Client()
        try:
            # A concurrent store replaces the item under our feet: look again.
            for _attempt in range(_ATTEMPTS):
                ours, locked = client.readable(_utf8(server), "read credentials")
                if not ours:
                    raise CredentialsNotFoundError(server)
                candidates = [path for path in ours if path not in locked]
                if not candidates:
                    client.unlock(locked, "read credentials")
                    candidates = locked
                path = client.newest(candidates)
                if path is None:
                    continue
                msg = client.message(path, _IFACE + "Item", "GetSecret", "o", client.open_session())
                (reply,) = client.call_many([msg], gone_ok=True)
                if reply is not None:
                    username = ours[path].get("username", "")
                    return Credentials(server, username, bytes(reply[0][2]).decode("utf-8", "replace"))
        finally:
            client.close()
        raise CredentialStoreError(f"the entry for {server} kept changing while being read; try again")

    def erase(self, server: str) -> None:
        """Remove every item for ``server``; nothing to remove is fine."""
        client = _Client()
        try:
            ours, locked = client.readable(_utf8(server), "erase credentials")
            if locked:
                client.unlock(locked, "erase credentials")
            _delete(client, list(ours), "erase credentials")
        finally:
            client.close()

    def list(self) -> dict[str, str]:
        """``{server: username}`` from item attributes; no secret is ever read."""
        client = _Client()
        try:
            ours, _locked = client.readable(None, "list credentials")
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
    import fcntl
    import time

    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(os.path.join(runtime, "regcred-secretservice.lock"), flags, 0o600)
    except OSError:
        return None
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.005)
                continue
            os.close(fd)
            return None
        except OSError:
            os.close(fd)
            return None
        return fd


def _create(client: _Client, properties: Mapping[str, object], secret: tuple[object, ...]) -> str:
    """``CreateItem`` in the default collection, unlocking it if needed."""
    collection = client.default_collection()
    if collection is None:
        raise StoreUnavailableError(NO_KEYRING_HINT)
    args = ("a{sv}(oayays)b", properties, secret, False)
    for attempt in (1, 2):
        try:
            item, prompt = client.call_unrefused(collection, _IFACE + "Collection", "CreateItem", *args)
        except _DBusError as exc:
            if exc.name == "org.freedesktop.Secret.Error.IsLocked" and attempt == 1:
                client.unlock([collection], "store credentials")
                continue
            raise
        return str(client.prompt(prompt, "store credentials") if prompt != "/" else item)
    raise AssertionError  # pragma: no cover - the loop always returns or raises


def _delete(client: _Client, paths: list[str], what: str) -> None:
    """Delete items one by one; items already gone are fine."""
    for path in paths:
        try:
            (prompt,) = client.call(path, _IFACE + "Item", "Delete")
        except _DBusError as exc:
            if exc.name not in _GONE:
                raise
            continue
        if prompt != "/":
            client.prompt(prompt, what)


def _unwrap(reply: Message, *, gone_ok: bool = False) -> Any:
    """The body of a method return; an error reply raises (``None`` for a gone object if ``gone_ok``)."""
    from jeepney import HeaderFields, MessageType

    if reply.header.message_type != MessageType.error:
        return reply.body
    name = reply.header.fields.get(HeaderFields.error_name, "")
    if gone_ok and name in _GONE:
        return None
    text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
    if name in _NO_SERVICE or name.startswith("org.freedesktop.DBus.Error.Spawn"):
        raise StoreUnavailableError(_NO_SERVICE_HINT)
    raise _DBusError(name, text)
