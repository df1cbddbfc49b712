"""SecretServiceStore against a real gnome-keyring on a private session bus."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred.credentials import Credentials
from regcred.errors import ConfigError, CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores.secretservice import DOCKER_LABEL, NO_KEYRING_HINT, SCHEMA, SecretServiceStore
from regcred.testing import StoreContract

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.fixtures.keyring import Keyring

GO_ATTRIBUTES = {"xdg:schema": SCHEMA, "label": DOCKER_LABEL, "docker_cli": "1"}


def go_item(server: str, username: str) -> dict[str, str]:
    """The attributes docker-credential-secretservice (any version) writes."""
    return GO_ATTRIBUTES | {"server": server, "username": username}


class TestSecretServiceStore(StoreContract):
    """The shared store contract."""

    @pytest.fixture
    def store(self, keyring: Keyring) -> SecretServiceStore:
        """A store on a fresh, unlocked keyring."""
        return SecretServiceStore()


# --- layout and compatibility ------------------------------------------------------


def test_layout_is_the_go_helpers(keyring: Keyring) -> None:
    """An item has the Go helper's label and exactly its attributes."""
    SecretServiceStore().store(Credentials("https://index.docker.io/v1/", "alice", "pw"))
    assert keyring.items() == [
        ("https://index.docker.io/v1/", go_item("https://index.docker.io/v1/", "alice"))
    ]


def test_reads_items_written_like_v09(keyring: Keyring) -> None:
    """Items labelled `Registry credentials for …` (Go ≥0.9) list and get under their URL."""
    keyring.add_item("Registry credentials for reg.example", go_item("reg.example", "al"), b"pw")
    store = SecretServiceStore()
    assert store.list() == {"reg.example": "al"}
    got = store.get("reg.example")
    assert (got.username, got.secret) == ("al", "pw")


def test_list_ignores_items_that_are_not_ours(keyring: Keyring) -> None:
    """Foreign items, even carrying a `label=Docker Credentials` attribute, are not listed."""
    keyring.add_item("foreign", {"label": DOCKER_LABEL, "server": "f.example"}, b"x")
    keyring.add_item("wifi", {"xdg:schema": "org.gnome.keyring.NetworkPassword"}, b"x")
    keyring.add_item("no docker_cli", {"xdg:schema": SCHEMA, "server": "n.example"}, b"x")
    keyring.add_item("reg.example", go_item("reg.example", "bob"), b"pw")
    assert SecretServiceStore().list() == {"reg.example": "bob"}


def test_store_replaces_go_duplicates(keyring: Keyring) -> None:
    """Go leaves one item per username; our store leaves exactly one for the server."""
    keyring.add_item("reg.example", go_item("reg.example", "alice"), b"one")
    keyring.add_item("reg.example", go_item("reg.example", "alice2"), b"two")
    keyring.add_item("other.example", go_item("other.example", "carol"), b"three")
    SecretServiceStore().store(Credentials("reg.example", "bob", "new"))
    assert keyring.items() == [
        ("other.example", go_item("other.example", "carol")),
        ("reg.example", go_item("reg.example", "bob")),
    ]


def test_erase_removes_every_username(keyring: Keyring) -> None:
    """erase removes all items for the server, as the Go helper does, and nothing else."""
    keyring.add_item("reg.example", go_item("reg.example", "alice"), b"one")
    keyring.add_item("reg.example", go_item("reg.example", "alice2"), b"two")
    keyring.add_item("other.example", go_item("other.example", "carol"), b"three")
    SecretServiceStore().erase("reg.example")
    assert keyring.items() == [("other.example", go_item("other.example", "carol"))]


def test_get_and_list_pick_the_newest_duplicate(keyring: Keyring) -> None:
    """With Go-made duplicates, get and list agree on the most recently modified one."""
    keyring.add_item("reg.example", go_item("reg.example", "old"), b"one")
    time.sleep(1.1)  # Modified has a resolution of one second
    keyring.add_item("reg.example", go_item("reg.example", "new"), b"two")
    store = SecretServiceStore()
    assert store.get("reg.example").username == "new"
    assert store.list() == {"reg.example": "new"}


@pytest.mark.parametrize("action", ["get", "list"])
def test_entry_replaced_during_a_read_is_found(
    keyring: Keyring, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    """A store that replaces the item between our search and our read: the new item is found.

    The concurrent store is a real one on its own connection, made at that
    exact moment by a hook on the reader's first attribute read.
    """
    from regcred.stores import _secretservice_dbus

    store = SecretServiceStore()
    store.store(Credentials("reg.example", "alice", "old"))
    original = _secretservice_dbus.Client.properties
    replaced: list[bool] = []

    def properties(client: _secretservice_dbus.Client, paths: list[str], name: str) -> dict[str, object]:
        if name == "Attributes" and not replaced:
            replaced.append(True)
            SecretServiceStore().store(Credentials("reg.example", "bob", "new"))
        return original(client, paths, name)

    monkeypatch.setattr(_secretservice_dbus.Client, "properties", properties)
    if action == "get":
        assert store.get("reg.example") == Credentials("reg.example", "bob", "new")
    else:
        assert store.list() == {"reg.example": "bob"}
    assert replaced == [True]
    assert [attrs["username"] for _, attrs in keyring.items()] == ["bob"]


def test_invalid_utf8_secret_reads_as_replacement(keyring: Keyring) -> None:
    """A secret that is not UTF-8 (written by another program) reads with U+FFFD, like Go."""
    keyring.add_item("reg.example", go_item("reg.example", "u"), b"ok\xffok")
    assert SecretServiceStore().get("reg.example").secret == "ok\ufffdok"


# --- list never reads a secret --------------------------------------------------------


@contextlib.contextmanager
def watched_calls(address: str) -> Iterator[list[str]]:
    """Record `interface.member` of every method call on the bus (a real bus monitor)."""
    from jeepney import DBusAddress, HeaderFields, MessageType, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    monitor = open_dbus_connection(address)
    bus = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus")
    become = new_method_call(
        bus.with_interface("org.freedesktop.DBus.Monitoring"),
        "BecomeMonitor",
        "asu",
        (["type='method_call'"], 0),
    )
    monitor.send_and_get_reply(become, timeout=5)
    seen: list[str] = []
    try:
        yield seen
        # A marker call tells us that everything sent before it has been seen.
        with open_dbus_connection(address) as conn:
            marker = DBusAddress("/regcred/marker", "org.freedesktop.DBus", "org.freedesktop.DBus.Peer")
            conn.send_and_get_reply(new_method_call(marker, "Ping"), timeout=5)
        while True:
            msg = monitor.receive(timeout=5)
            if msg.header.message_type != MessageType.method_call:
                continue
            if msg.header.fields.get(HeaderFields.path) == "/regcred/marker":
                break
            iface = msg.header.fields.get(HeaderFields.interface, "")
            seen.append(f"{iface}.{msg.header.fields.get(HeaderFields.member)}")
    finally:
        monitor.close()


def test_list_never_reads_or_unlocks(keyring: Keyring) -> None:
    """list makes no GetSecret(s) or Unlock call; the same monitor does see get's GetSecret."""
    store = SecretServiceStore()
    store.store(Credentials("reg.example", "alice", "pw"))
    with watched_calls(keyring.address) as calls:
        assert store.list() == {"reg.example": "alice"}
    assert "org.freedesktop.Secret.Service.SearchItems" in calls
    assert not [c for c in calls if c.endswith((".GetSecret", ".GetSecrets", ".Unlock"))]
    with watched_calls(keyring.address) as calls:
        store.get("reg.example")
    assert "org.freedesktop.Secret.Item.GetSecret" in calls


def test_list_works_on_a_locked_collection(keyring: Keyring) -> None:
    """With the collection locked (and no display to unlock it), list still answers."""
    store = SecretServiceStore()
    store.store(Credentials("reg.example", "alice", "pw"))
    keyring.lock()
    assert store.list() == {"reg.example": "alice"}
    assert keyring.is_locked()


# --- locked keyring, no display -----------------------------------------------------------


@pytest.mark.parametrize("action", ["get", "store", "store-new", "erase"])
def test_locked_without_display_fails_fast(keyring: Keyring, action: str) -> None:
    """A locked keyring and nobody to answer a prompt: a clear error at once, no hang."""
    store = SecretServiceStore()
    store.store(Credentials("reg.example", "alice", "pw"))
    keyring.lock()
    calls: dict[str, Callable[[], object]] = {
        "get": lambda: store.get("reg.example"),
        "store": lambda: store.store(Credentials("reg.example", "bob", "secret-value")),
        "store-new": lambda: store.store(Credentials("new.example", "bob", "secret-value")),
        "erase": lambda: store.erase("reg.example"),
    }
    start = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=r"locked.*DISPLAY") as info:
        calls[action]()
    assert time.monotonic() - start < 5
    assert "secret-value" not in str(info.value)
    assert keyring.is_locked()


def test_prompt_with_display_completes(keyring: Keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a display set, the unlock prompt runs; a prompt nobody can show ends dismissed."""
    store = SecretServiceStore()
    store.store(Credentials("reg.example", "alice", "pw"))
    keyring.lock()
    # The test bus cannot activate gnome-keyring's prompter, so the service
    # completes the prompt as dismissed: this drives Prompt/Completed for real.
    monkeypatch.setenv("DISPLAY", ":99")
    start = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="prompt was dismissed"):
        store.get("reg.example")
    assert time.monotonic() - start < 5


def test_keyring_locked_since_start(keyring: Keyring) -> None:
    """A keyring locked from disk hides attributes: list and get say it is locked."""
    SecretServiceStore().store(Credentials("reg.example", "alice", "pw"))
    keyring.restart_locked()
    store = SecretServiceStore()
    for call in (store.list, lambda: store.get("reg.example")):
        with pytest.raises(StoreUnavailableError, match="locked"):
            call()


# --- no bus, no service, stuck service ---------------------------------------------------


def test_no_session_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No DBUS_SESSION_BUS_ADDRESS and no $XDG_RUNTIME_DIR/bus: unavailable, says what to do."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    store = SecretServiceStore()
    for call in (SecretServiceStore.check, store.list, lambda: store.get("x")):
        with pytest.raises(StoreUnavailableError, match=r"no D-Bus session bus.*dbus-run-session"):
            call()


def test_autolaunch_address_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """An `autolaunch:` address is refused rather than launching a bus."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "autolaunch:")
    with pytest.raises(StoreUnavailableError, match="never autolaunches"):
        SecretServiceStore().get("x")


def test_stale_bus_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bus address whose socket has no listener is unavailable, not a crash."""
    path = tmp_path / "bus"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # bound, never listening: connect is refused
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={path}")
        with pytest.raises(StoreUnavailableError, match="cannot connect"):
            SecretServiceStore().list()


def test_runtime_dir_bus_is_found(keyring: Keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without DBUS_SESSION_BUS_ADDRESS, the socket at $XDG_RUNTIME_DIR/bus is used."""
    socket_path = keyring.address.split("path=", 1)[1].split(",", 1)[0]
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    (runtime / "bus").symlink_to(socket_path)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    store = SecretServiceStore()
    SecretServiceStore.check()
    store.store(Credentials("reg.example", "alice", "pw"))
    assert store.list() == {"reg.example": "alice"}


def test_bus_without_secret_service(session_bus: str) -> None:
    """A bus on which nothing provides org.freedesktop.secrets: unavailable, quickly."""
    store = SecretServiceStore()
    start = time.monotonic()
    for call in (SecretServiceStore.check, store.list, lambda: store.get("x")):
        with pytest.raises(StoreUnavailableError, match=r"org\.freedesktop\.secrets"):
            call()
    with pytest.raises(StoreUnavailableError, match=r"gnome-keyring"):
        store.store(Credentials("reg.example", "alice", "pw"))
    assert time.monotonic() - start < 2


def test_stuck_service_times_out(session_bus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Secret Service that never answers gives up after REGCRED_DBUS_TIMEOUT."""
    from jeepney import message_bus
    from jeepney.io.blocking import open_dbus_connection

    monkeypatch.setenv("REGCRED_DBUS_TIMEOUT", "0.3")
    with open_dbus_connection(session_bus) as squatter:  # owns the name, reads nothing
        squatter.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets"), timeout=5)
        start = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"did not answer within 0\.3 s"):
            SecretServiceStore().get("reg.example")
        assert time.monotonic() - start < 3


@pytest.mark.parametrize("value", ["abc", "0", "-1", "inf", "nan"])
def test_bad_timeout_setting(keyring: Keyring, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A REGCRED_DBUS_TIMEOUT that is not a positive number is reported, not ignored."""
    monkeypatch.setenv("REGCRED_DBUS_TIMEOUT", value)
    with pytest.raises(ConfigError, match="REGCRED_DBUS_TIMEOUT"):
        SecretServiceStore().list()


def test_no_default_collection(empty_keyring: Keyring) -> None:
    """A daemon with no keyring at all: store says so; get finds nothing; list is empty."""
    store = SecretServiceStore()
    with pytest.raises(StoreUnavailableError) as info:
        store.store(Credentials("reg.example", "alice", "pw"))
    assert str(info.value) == NO_KEYRING_HINT
    with pytest.raises(CredentialsNotFoundError):
        store.get("reg.example")
    assert store.list() == {}
    store.erase("reg.example")


def test_check_passes_with_a_keyring(keyring: Keyring) -> None:
    """check() is silent when a Secret Service is running."""
    SecretServiceStore.check()


def test_errors_are_store_errors(keyring: Keyring) -> None:
    """A missing entry is CredentialsNotFoundError, itself a CredentialStoreError."""
    with pytest.raises(CredentialStoreError) as info:
        SecretServiceStore().get("missing.example")
    assert isinstance(info.value, CredentialsNotFoundError)


def test_import_does_no_dbus(tmp_path: Path) -> None:
    """Importing the store module loads no jeepney and talks to no bus."""
    import subprocess
    import sys

    code = (
        "import sys, regcred.stores.secretservice;"
        "print(sorted(m for m in sys.modules if m.startswith('jeepney')))"
    )
    env = {"PATH": os.environ.get("PATH", ""), "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


# --- gnome-keyring's first-call race ---------------------------------------------------


@contextlib.contextmanager
def refusing_service(address: str, refusals: int, method: str = "SearchItems") -> Iterator[list[str]]:
    """A fake Secret Service: SearchItems fails ``refusals`` times as gnome-keyring's race does.

    A fake, because the real race (gnome-keyring registers a new client from
    a queued callback, and a first call that overtakes it is answered
    "Method SearchItems is not implemented") cannot be caused on demand.
    It refuses ``method`` that way ``refusals`` times; after that it finds
    nothing and has no default collection.  Yields the methods it was called with.
    """
    import threading

    from jeepney import HeaderFields, MessageType, message_bus, new_error, new_method_return
    from jeepney.io.blocking import open_dbus_connection

    calls: list[str] = []
    stop = threading.Event()
    conn = open_dbus_connection(address)
    conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets"), timeout=5)

    def serve() -> None:
        while not stop.is_set():
            try:
                msg = conn.receive(timeout=0.05)
            except TimeoutError:
                continue
            if msg.header.message_type != MessageType.method_call:
                continue
            member = msg.header.fields.get(HeaderFields.member, "")
            calls.append(member)
            if member == method and calls.count(method) <= refusals:
                text = f"Method {method} is not implemented on interface org.freedesktop.Secret.Service"
                conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (text,)))
            elif member == "SearchItems":
                conn.send(new_method_return(msg, "aoao", ([], [])))
            elif member == "ReadAlias":
                conn.send(new_method_return(msg, "o", ("/",)))
            else:
                conn.send(new_error(msg, "org.freedesktop.DBus.Error.Failed", "s", ("unexpected",)))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield calls
    finally:
        stop.set()
        thread.join(timeout=5)
        conn.close()


def test_first_call_race_is_ridden_out(session_bus: str) -> None:
    """A spurious UnknownMethod for SearchItems is retried: erase and list work."""
    with refusing_service(session_bus, refusals=3) as calls:
        store = SecretServiceStore()
        store.erase("reg.example")
        assert calls == ["SearchItems"] * 4
        assert store.list() == {}
        assert calls == ["SearchItems"] * 5


def test_a_service_that_keeps_refusing_fails_clearly(session_bus: str) -> None:
    """A refusal that persists is an error after a bounded number of tries, never success."""
    with refusing_service(session_bus, refusals=1000) as calls:
        start = time.monotonic()
        with pytest.raises(CredentialStoreError, match=r"UnknownMethod: Method SearchItems is not"):
            SecretServiceStore().erase("reg.example")
        assert calls == ["SearchItems"] * 6
        assert time.monotonic() - start < 3


def test_a_refused_read_alias_is_retried(session_bus: str) -> None:
    """The doctor's first call (ReadAlias) rides out the same refusal: no keyring, not a failure."""

    with refusing_service(session_bus, refusals=2, method="ReadAlias") as calls:
        status = SecretServiceStore().status()
        assert (status.state, status.detail) == ("no-keyring", NO_KEYRING_HINT)
        assert calls == ["ReadAlias"] * 3


def test_a_refusal_is_not_taken_for_a_deleted_object() -> None:
    """UnknownMethod for an object that is gone means gone; "is not implemented" never does."""
    from jeepney import DBusAddress, new_error, new_method_call

    from regcred.stores._secretservice_dbus import DBusError, unwrap

    item = DBusAddress("/org/freedesktop/secrets/collection/login/7", "org.freedesktop.secrets")
    call = new_method_call(item.with_interface("org.freedesktop.Secret.Item"), "Delete")
    call.header.serial = 7
    unknown = "org.freedesktop.DBus.Error.UnknownMethod"
    gone_text = f"No such interface 'org.freedesktop.Secret.Item' on object at path {item.object_path}"
    refused_text = "Method Delete is not implemented on interface org.freedesktop.Secret.Item"
    assert unwrap(new_error(call, unknown, "s", (gone_text,)), gone_ok=True) is None
    with pytest.raises(DBusError) as info:
        unwrap(new_error(call, unknown, "s", (refused_text,)), gone_ok=True)
    assert info.value.refused
    with pytest.raises(DBusError) as info:
        unwrap(new_error(call, unknown, "s", (gone_text,)))
    assert not info.value.refused


def test_jeepney_is_a_dependency_wherever_the_catalogue_runs_the_secret_service() -> None:
    """pyproject's marker for jeepney and the catalogue's platforms for the store agree."""
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    from regcred.stores._catalog import KNOWN

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    (jeepney,) = [r for r in map(Requirement, pyproject["project"]["dependencies"]) if r.name == "jeepney"]
    (row,) = [row for row in KNOWN if row.backend == "secretservice"]
    assert jeepney.marker is not None
    spellings = {"linux": "linux", "freebsd": "freebsd14", "openbsd": "openbsd7", "netbsd": "netbsd10"}
    for platform in ("linux", "freebsd", "openbsd", "netbsd", "darwin", "win32", "cygwin"):
        wanted = platform in row.platforms
        assert jeepney.marker.evaluate({"sys_platform": spellings.get(platform, platform)}) == wanted, (
            platform
        )
