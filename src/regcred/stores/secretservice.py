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
_DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"
_IFACE = "org.freedesktop.Secret."
_DEFAULT_TIMEOUT = 10.0
_MIN_PROMPT_TIMEOUT = 120.0
_WINDOW = 64  # method calls in flight at once
_NO_SERVICE = {
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
}
_GONE = {"org.freedesktop.Secret.Error.NoSuchObject", "org.freedesktop.DBus.Error.UnknownMethod"}
_NO_BUS_HINT = (
    "run this in a desktop session, or under `dbus-run-session` with a keyring "
    "daemon, or use docker-credential-regcred-pass"
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
        path = os.path.join(runtime, "bus")  # noqa: PTH118
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):  # noqa: PTH116
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


def _attributes(server: str | None = None) -> dict[str, str]:
    """The search attributes for our items (all of them, or one server's)."""
    attrs = {"xdg:schema": SCHEMA, "docker_cli": "1"}
    if server is not None:
        attrs["server"] = _utf8(server)
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

    def message(
        self, path: str, interface: str, method: str, sig: str = "", *body: object
    ) -> Message:
        from jeepney import DBusAddress, new_method_call

        address = DBusAddress(path, bus_name=_BUS_NAME, interface=interface)
        return new_method_call(address, method, sig or None, body)

    def call(self, path: str, interface: str, method: str, sig: str = "", *body: object) -> Any:
        """Call one method and return the reply body."""
        return self.call_many([self.message(path, interface, method, sig, *body)])[0]

    def call_many(self, messages: Iterable[Message]) -> list[Any]:
        """Pipeline ``messages`` (a window at a time); return their replies' bodies in order.

        One round trip instead of one per message, which is what makes
        ``list`` over many items fast.  The window stays below dbus-daemon's
        default limit on pending replies per connection (128).
        """
        from jeepney import HeaderFields

        serials: list[int] = []
        replies: dict[int, Message] = {}
        for msg in messages:
            if len(serials) - len(replies) >= _WINDOW:
                self._collect(replies, HeaderFields.reply_serial)
            serial = next(self.conn.outgoing_serial)
            self.conn.send(msg, serial=serial)
            serials.append(serial)
        while len(replies) < len(serials):
            self._collect(replies, HeaderFields.reply_serial)
        return [_unwrap(replies[serial]) for serial in serials]

    def _collect(self, replies: dict[int, Message], field: object) -> None:
        """Receive until one more method reply has arrived; store it by serial."""
        while True:
            reply = self._receive(self.timeout)
            serial = reply.header.fields.get(field)
            if serial is not None:
                replies[serial] = reply
                return

    def _send_and_get_reply(self, msg: Message) -> Message:
        try:
            return self.conn.send_and_get_reply(msg, timeout=self.timeout)
        except TimeoutError as exc:
            raise StoreUnavailableError(
                f"the Secret Service did not answer within {self.timeout:g} s "
                "(REGCRED_DBUS_TIMEOUT); is the keyring daemon stuck?"
            ) from exc
        except OSError as exc:
            raise StoreUnavailableError(f"lost the D-Bus connection ({exc.strerror})") from exc

    def _receive(self, timeout: float) -> Message:
        try:
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
        _output, path = self.call(
            _SERVICE_PATH, _IFACE + "Service", "OpenSession", "sv", "plain", ("s", "")
        )
        return str(path)

    def search(self, attrs: dict[str, str]) -> tuple[list[str], list[str]]:
        """``SearchItems``: (unlocked, locked) item paths in every collection."""
        unlocked, locked = self.call(
            _SERVICE_PATH, _IFACE + "Service", "SearchItems", "a{ss}", attrs
        )
        return list(unlocked), list(locked)

    def item_properties(self, paths: list[str], name: str) -> list[Any]:
        """One property of many items, in one pipelined batch."""
        props = "org.freedesktop.DBus.Properties"
        msgs = [self.message(p, props, "Get", "ss", _IFACE + "Item", name) for p in paths]
        return [body[0][1] for body in self.call_many(msgs)]

    def unlock(self, paths: list[str], what: str) -> None:
        """Unlock ``paths``, prompting only when someone can answer the prompt."""
        _done, prompt = self.call(_SERVICE_PATH, _IFACE + "Service", "Unlock", "ao", paths)
        if prompt != "/":
            self.prompt(prompt, what)

    def prompt(self, path: str, what: str) -> object:
        """Show the service's prompt, wait for it to complete, return its result."""
        if not _can_prompt():
            raise StoreUnavailableError(
                f"the keyring is locked and {what} needs it unlocked, but no one can "
                "answer an unlock prompt here (DISPLAY and WAYLAND_DISPLAY are unset); "
                "unlock the keyring from your desktop session first"
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
                _unwrap(self._send_and_get_reply(msg))
            try:
                signal = self.conn.recv_until_filtered(queue, timeout=prompt_timeout)
            except TimeoutError as exc:
                self.call(path, _IFACE + "Prompt", "Dismiss")
                raise StoreUnavailableError(
                    f"nobody answered the keyring prompt within {prompt_timeout:g} s"
                ) from exc
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
            conn, timeout = client.conn, client.timeout
            owned = conn.send_and_get_reply(message_bus.NameHasOwner(_BUS_NAME), timeout=timeout)
            if owned.body[0]:
                return
            names = conn.send_and_get_reply(message_bus.ListActivatableNames(), timeout=timeout)
            if _BUS_NAME not in names.body[0]:
                raise StoreUnavailableError(_NO_SERVICE_HINT)
        except TimeoutError as exc:
            raise StoreUnavailableError("the D-Bus session bus did not answer in time") from exc
        finally:
            client.close()

    def store(self, creds: Credentials) -> None:
        """Store ``creds``; other items for that server (any username) are removed after."""
        server = _utf8(creds.server)
        attrs = _attributes(server) | {"username": _utf8(creds.username), "label": DOCKER_LABEL}
        client = _Client()
        try:
            # Collect the old items *before* creating the new one: concurrent
            # stores can then at worst leave a duplicate, never delete the newest.
            session, (unlocked, locked) = client.call_many(
                [
                    client.message(_SERVICE_PATH, _IFACE + "Service", "OpenSession", "sv",
                                   "plain", ("s", "")),
                    client.message(_SERVICE_PATH, _IFACE + "Service", "SearchItems", "a{ss}",
                                   _attributes(server)),
                ]
            )  # fmt: skip
            if locked:
                client.unlock(list(locked), "replace the old entry")
            properties = {
                _IFACE + "Item.Label": ("s", server),
                _IFACE + "Item.Attributes": ("a{ss}", attrs),
            }
            secret = (session[1], b"", _utf8(creds.secret).encode(), "text/plain")
            new = self._create(client, properties, secret)
            self._delete(client, [p for p in [*unlocked, *locked] if p != new], "store")
        finally:
            client.close()

    @staticmethod
    def _create(
        client: _Client, properties: Mapping[str, object], secret: tuple[object, ...]
    ) -> str:
        """``CreateItem`` in the default collection, unlocking it if needed."""
        args = ("a{sv}(oayays)b", properties, secret, False)
        for attempt in (1, 2):
            try:
                item, prompt = client.call(
                    _DEFAULT_COLLECTION, _IFACE + "Collection", "CreateItem", *args
                )
            except _DBusError as exc:
                if exc.name == "org.freedesktop.Secret.Error.IsLocked" and attempt == 1:
                    client.unlock([_DEFAULT_COLLECTION], "store credentials")
                    continue
                if exc.name in _GONE:
                    raise StoreUnavailableError(
                        "the Secret Service has no default collection (keyring); create one, "
                        "e.g. with Seahorse, or log in to a desktop session once"
                    ) from exc
                raise CredentialStoreError(f"the Secret Service refused to store: {exc}") from exc
            if prompt != "/":
                item = client.prompt(prompt, "store credentials")
            return str(item)
        raise AssertionError  # pragma: no cover - the loop always returns or raises

    @staticmethod
    def _delete(client: _Client, paths: list[str], action: str) -> None:
        """Delete items one by one; items already gone are fine."""
        for path in paths:
            try:
                (prompt,) = client.call(path, _IFACE + "Item", "Delete")
            except _DBusError as exc:
                if exc.name in _GONE:
                    continue
                raise CredentialStoreError(f"cannot {action}: {exc}") from exc
            if prompt != "/":
                client.prompt(prompt, action)

    def get(self, server: str) -> Credentials:
        """Return the credentials stored for exactly ``server`` (newest if several)."""
        client = _Client()
        try:
            session, (unlocked, locked) = client.call_many(
                [
                    client.message(_SERVICE_PATH, _IFACE + "Service", "OpenSession", "sv",
                                   "plain", ("s", "")),
                    client.message(_SERVICE_PATH, _IFACE + "Service", "SearchItems", "a{ss}",
                                   _attributes(server)),
                ]
            )  # fmt: skip
            paths = list(unlocked)
            if not paths and locked:
                client.unlock(list(locked), "read credentials")
                paths = list(locked)
            if not paths:
                raise CredentialsNotFoundError(server)
            path = _newest(client, paths)
            try:
                secret, attrs = client.call_many(
                    [
                        client.message(path, _IFACE + "Item", "GetSecret", "o", session[1]),
                        client.message(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                                       _IFACE + "Item", "Attributes"),
                    ]
                )  # fmt: skip
            except _DBusError as exc:
                if exc.name in _GONE:  # erased meanwhile
                    raise CredentialsNotFoundError(server) from exc
                raise CredentialStoreError(f"cannot read the credentials: {exc}") from exc
        finally:
            client.close()
        value = bytes(secret[0][2]).decode("utf-8", "replace")
        return Credentials(server, attrs[0][1].get("username", ""), value)

    def erase(self, server: str) -> None:
        """Remove every item for ``server``; nothing to remove is fine."""
        client = _Client()
        try:
            unlocked, locked = client.search(_attributes(server))
            if locked:
                client.unlock(locked, "erase credentials")
            self._delete(client, [*unlocked, *locked], "erase credentials")
        finally:
            client.close()

    def list(self) -> dict[str, str]:
        """``{server: username}`` from item attributes; no secret is ever read."""
        client = _Client()
        try:
            unlocked, locked = client.search(_attributes())
            paths = [*unlocked, *locked]
            attrs = dict(zip(paths, client.item_properties(paths, "Attributes"), strict=True))
            # A keyring locked since the daemon started shows only hashed
            # attributes; those items have to be unlocked to be listed.
            hidden = [p for p in locked if "server" not in attrs[p]]
            if hidden:
                client.unlock(hidden, "list credentials")
                attrs.update(zip(hidden, client.item_properties(hidden, "Attributes"), strict=True))
            by_server: dict[str, list[str]] = {}
            for path in paths:
                server = attrs[path].get("server")
                if server is not None:
                    by_server.setdefault(server, []).append(path)
            result = {}
            for server, items in by_server.items():
                path = items[0] if len(items) == 1 else _newest(client, items)
                result[server] = attrs[path].get("username", "")
        finally:
            client.close()
        return result


def _unwrap(reply: Message) -> Any:
    """The body of a method return; an error reply raises."""
    from jeepney import HeaderFields, MessageType

    if reply.header.message_type != MessageType.error:
        return reply.body
    name = reply.header.fields.get(HeaderFields.error_name, "")
    text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
    if name in _NO_SERVICE or name.startswith("org.freedesktop.DBus.Error.Spawn"):
        raise StoreUnavailableError(_NO_SERVICE_HINT)
    raise _DBusError(name, text)


def _newest(client: _Client, paths: list[str]) -> str:
    """The most recently modified of ``paths`` (the last one on a tie)."""
    if len(paths) == 1:
        return paths[0]
    modified = client.item_properties(paths, "Modified")
    return max(zip(modified, range(len(paths)), paths, strict=True))[2]
