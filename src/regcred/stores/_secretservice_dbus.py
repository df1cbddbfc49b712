"""Talking to the freedesktop Secret Service over D-Bus, for :mod:`regcred.stores.secretservice`.

This module holds the D-Bus side and nothing of Docker's layout (schema,
attributes, which items are ours: that is :mod:`regcred.stores.secretservice`):

* finding the session bus without ever autolaunching one (:func:`bus_address`)
  and the per-call timeout (``REGCRED_DBUS_TIMEOUT``);
* opening a connection with every step bounded by that timeout, the first
  ``Hello()`` included (:func:`open_connection`);
* :class:`Client`, one connection: single and pipelined method calls, each
  bounded by the timeout, gnome-keyring's spurious refusals retried, and the
  generic Secret Service operations (sessions, the default collection, item
  properties, unlocking and prompts);
* error replies: :func:`unwrap` and :class:`DBusError`; no answer in time:
  :class:`BusTimeoutError`.

jeepney is imported inside the functions that need it, so importing this
module loads no D-Bus code and talks to no bus.
"""

from __future__ import annotations

import os
import stat

from regcred._settings import dbus_timeout
from regcred.errors import CredentialStoreError, StoreUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from jeepney import Message
    from jeepney.io.blocking import DBusConnection

#: The Secret Service's well-known bus name, and the object path of the service.
BUS_NAME = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
#: Prefix of the Secret Service interfaces (``Service``, ``Collection``, ``Item``, ``Prompt``).
IFACE = "org.freedesktop.Secret."
_PROPERTIES = "org.freedesktop.DBus.Properties"
_DEFAULT_TIMEOUT = 10.0
_MIN_PROMPT_TIMEOUT = 120.0
_WINDOW = 64  # method calls in flight at once
_REFUSAL_PAUSES = (0.005, 0.02, 0.05, 0.1, 0.2)  # seconds; see Client.call_unrefused
_UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
_NO_SERVICE = {
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
}
#: Error names of a call on an object that no longer exists.
GONE = {"org.freedesktop.Secret.Error.NoSuchObject", _UNKNOWN_METHOD}
_NO_BUS_HINT = (
    "run this in a desktop session, or under `dbus-run-session` with a keyring "
    "daemon, or use docker-credential-regcred-pass"
)
NO_SERVICE_HINT = (
    "no Secret Service (org.freedesktop.secrets) on the D-Bus session bus: start "
    "gnome-keyring-daemon or KeePassXC's Secret Service, or use docker-credential-regcred-pass"
)


class DBusError(CredentialStoreError):
    """An error reply from the service; ``name`` is the D-Bus error name.

    ``refused`` marks an UnknownMethod that says the method "is not
    implemented" (see :meth:`Client.call_unrefused`), as opposed to the
    UnknownMethod of an object that no longer exists ("No such interface
    ... on object at path ...", "Object does not exist at path ...").
    """

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name
        self.refused = _is_refusal(name, text)


def _is_refusal(name: str, text: str) -> bool:
    """gnome-keyring's mistaken "is not implemented" (see :meth:`Client.call_unrefused`)."""
    return name == _UNKNOWN_METHOD and "is not implemented" in text


def bus_address() -> str:
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


def can_prompt() -> bool:
    """True when an unlock prompt can be answered: a graphical display is set."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class BusTimeoutError(StoreUnavailableError):
    """The session bus or the Secret Service did not answer within ``timeout`` s (REGCRED_DBUS_TIMEOUT)."""

    def __init__(self, message: str, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout


class Client:
    """One connection to the Secret Service; every call is bounded by a timeout."""

    def __init__(self, timeout: float | None = None) -> None:
        limit = dbus_timeout()  # a bad REGCRED_DBUS_TIMEOUT is reported even with no bus
        #: every call's bound: REGCRED_DBUS_TIMEOUT, or ``timeout`` when that is shorter (a probe)
        self.timeout = limit if timeout is None else min(limit, timeout)
        address = bus_address()
        self.conn: DBusConnection = open_connection(address, self.timeout)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def message(self, path: str, interface: str, method: str, sig: str = "", *body: object) -> Message:
        """A method call to the object ``path`` of the Secret Service (not sent)."""
        from jeepney import DBusAddress, new_method_call

        address = DBusAddress(path, bus_name=BUS_NAME, interface=interface)
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
            except TimeoutError as exc:  # the socket's timeout: the service stopped reading
                raise self._timed_out(self.timeout) from exc
            except OSError as exc:
                raise StoreUnavailableError(f"lost the D-Bus connection ({exc.strerror})") from exc
            serials.append(serial)
        while len(replies) < len(serials):
            self._collect(replies, HeaderFields.reply_serial)
        return [unwrap(replies[serial], gone_ok=gone_ok) for serial in serials]

    def _collect(self, replies: dict[int, Message], field: object) -> None:
        """Receive until one more method reply has arrived; store it by serial."""
        while True:
            reply = self._receive(self.timeout)
            serial = reply.header.fields.get(field)
            if serial is not None:
                replies[serial] = reply
                return

    def send_and_get_reply(self, msg: Message) -> Message:
        """Send ``msg`` and return its reply (an error reply too), within the timeout."""
        return self._receive(self.timeout, msg)

    def _receive(self, timeout: float, msg: Message | None = None) -> Message:
        """The next incoming message, or the reply to ``msg`` (sent here)."""
        try:
            if msg is not None:
                return self.conn.send_and_get_reply(msg, timeout=timeout)
            return self.conn.receive(timeout=timeout)
        except TimeoutError as exc:
            raise self._timed_out(timeout) from exc
        except OSError as exc:
            raise StoreUnavailableError(f"lost the D-Bus connection ({exc.strerror})") from exc

    @staticmethod
    def _timed_out(timeout: float) -> BusTimeoutError:
        return BusTimeoutError(
            f"the Secret Service did not answer within {timeout:g} s "
            "(REGCRED_DBUS_TIMEOUT); is the keyring daemon stuck?",
            timeout,
        )

    # --- Secret Service operations -------------------------------------------------

    def open_session(self) -> str:
        """Open a ``plain`` transfer session; return its object path."""
        _output, path = self.call(SERVICE_PATH, IFACE + "Service", "OpenSession", "sv", "plain", ("s", ""))
        return str(path)

    def call_unrefused(self, path: str, interface: str, method: str, sig: str = "", *body: object) -> Any:
        """:meth:`call`, retrying a refusal that gnome-keyring gives by mistake under load.

        gnome-keyring (42.1 at least) can answer a method it implements with
        UnknownMethod ("Method SearchItems is not implemented"): its handlers
        return that when they find no per-client state for the caller, which
        a call from a client that has just connected can overtake.  Seen under
        load, about one call in thousands.  Such a refusal did nothing, so
        the call is repeated after short pauses (0.4 s in all) before the
        answer counts.  Only for methods every Secret Service implements, and
        only for that answer: an object that no longer exists is reported at once.
        """
        import time

        for pause in (*_REFUSAL_PAUSES, None):
            try:
                return self.call(path, interface, method, sig, *body)
            except DBusError as exc:
                if not exc.refused or pause is None:
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
        (path,) = self.call_unrefused(SERVICE_PATH, IFACE + "Service", "ReadAlias", "s", "default")
        return None if path == "/" else str(path)

    def properties(self, paths: list[str], name: str) -> dict[str, Any]:
        """One property of many items, pipelined; items deleted meanwhile are left out."""
        msgs = [self.message(p, _PROPERTIES, "Get", "ss", IFACE + "Item", name) for p in paths]
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
        _done, prompt = self.call(SERVICE_PATH, IFACE + "Service", "Unlock", "ao", paths)
        if prompt != "/":
            self.prompt(prompt, what)

    def prompt(self, path: str, what: str) -> object:
        """Show the service's prompt, wait for it to complete, return its result."""
        if not can_prompt():
            raise StoreUnavailableError(
                f"the keyring is locked; to {what} it must be unlocked, but nobody can answer "
                "an unlock prompt here (DISPLAY and WAYLAND_DISPLAY are unset): unlock it in "
                "your desktop session, or with `gnome-keyring-daemon --unlock`, and retry"
            )
        from jeepney import MatchRule, message_bus

        rule = MatchRule(type="signal", interface=IFACE + "Prompt", member="Completed", path=path)
        prompt_timeout = max(self.timeout, _MIN_PROMPT_TIMEOUT)
        with self.conn.filter(rule) as queue:
            # send_and_get_reply (unlike call_many) queues a Completed signal
            # that arrives before the reply, instead of dropping it.
            for msg in (
                message_bus.AddMatch(rule),
                self.message(path, IFACE + "Prompt", "Prompt", "s", ""),
            ):
                unwrap(self.send_and_get_reply(msg))
            try:
                signal = self.conn.recv_until_filtered(queue, timeout=prompt_timeout)
            except TimeoutError as exc:
                self.call(path, IFACE + "Prompt", "Dismiss")
                raise StoreUnavailableError(
                    f"nobody answered the keyring prompt within {prompt_timeout:g} s"
                ) from exc
            except OSError as exc:
                raise StoreUnavailableError(f"lost the D-Bus connection ({exc.strerror})") from exc
        dismissed, result = signal.body
        if dismissed:
            raise StoreUnavailableError(f"the keyring prompt was dismissed; cannot {what}")
        return result[1]


def open_connection(address: str, timeout: float) -> DBusConnection:
    """A connection to the bus at ``address``: connect(), SASL and ``Hello()`` within ``timeout`` s.

    jeepney's ``open_dbus_connection`` bounds only connect() and SASL; its
    ``DBusConnection`` then sends ``Hello()`` and waits for the answer with
    no timeout, so a bus that authenticates and then never answers (a
    dbus-daemon whose policy drops the reply, a peer gone silent) would
    hang every helper for ever.  So the connection is built here without
    its constructor, and the Hello is sent with what is left of the
    timeout.  The socket keeps the timeout, which bounds every later send
    too (a peer that stops reading).
    """
    import time

    from jeepney import message_bus
    from jeepney.auth import AuthenticationError
    from jeepney.bus import get_bus
    from jeepney.io.blocking import DBusConnection, DBusConnectionBase, Proxy, prep_socket
    from jeepney.io.common import MessageFilters

    deadline = time.monotonic() + timeout
    try:
        sock = prep_socket(get_bus(address), timeout=timeout)  # connect() and SASL, bounded
    except TimeoutError as exc:
        raise _bus_timeout(_shown(address), timeout) from exc
    except AuthenticationError as exc:
        raise StoreUnavailableError(
            f"the D-Bus session bus at {_shown(address)} refused to authenticate regcred: {_NO_BUS_HINT}"
        ) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StoreUnavailableError(
            f"cannot connect to the D-Bus session bus ({reason}): {_NO_BUS_HINT}"
        ) from exc
    except (RuntimeError, ValueError, KeyError) as exc:
        raise StoreUnavailableError(
            "DBUS_SESSION_BUS_ADDRESS names no unix socket regcred can use; "
            "regcred never autolaunches a bus: " + _NO_BUS_HINT
        ) from exc
    try:
        sock.settimeout(timeout)
        # What DBusConnection.__init__ does (jeepney 0.8 and 0.9), but for the Hello.
        conn = DBusConnection.__new__(DBusConnection)
        DBusConnectionBase.__init__(conn, sock)
        conn._filters = MessageFilters()  # noqa: SLF001
        conn.bus_proxy = Proxy(message_bus, conn)
        reply = conn.send_and_get_reply(message_bus.Hello(), timeout=max(deadline - time.monotonic(), 0.0))
    except TimeoutError as exc:
        sock.close()
        raise _bus_timeout(_shown(address), timeout) from exc
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise StoreUnavailableError(f"lost the D-Bus connection to {_shown(address)} ({reason})") from exc
    except BaseException:
        sock.close()
        raise
    try:
        (conn.unique_name,) = unwrap(reply)
    except (CredentialStoreError, ValueError) as exc:
        conn.close()
        raise StoreUnavailableError(
            f"the D-Bus session bus at {_shown(address)} refused Hello(): {exc}"
        ) from exc
    return conn


def _shown(address: str) -> str:
    """The bus address on one line, whatever the variable holds (only errors need it: the
    ``unicode_escape`` codec is a module of its own, not worth loading on every call)."""
    return address.encode("unicode_escape").decode("ascii")


def _bus_timeout(shown: str, timeout: float) -> BusTimeoutError:
    return BusTimeoutError(
        f"the D-Bus session bus at {shown} did not answer within {timeout:g} s "
        "(REGCRED_DBUS_TIMEOUT); is dbus-daemon stuck?",
        timeout,
    )


def unwrap(reply: Message, *, gone_ok: bool = False) -> Any:
    """The body of a method return; an error reply raises (``None`` for a gone object if ``gone_ok``)."""
    from jeepney import HeaderFields, MessageType

    if reply.header.message_type != MessageType.error:
        return reply.body
    name = reply.header.fields.get(HeaderFields.error_name, "")
    text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
    if gone_ok and name in GONE and not _is_refusal(name, text):
        return None
    if name in _NO_SERVICE or name.startswith("org.freedesktop.DBus.Error.Spawn"):
        raise StoreUnavailableError(NO_SERVICE_HINT)
    raise DBusError(name, text)
