"""A session bus that authenticates and then never answers: every command ends, with one line.

Two such buses: a real ``dbus-daemon`` whose policy drops every reply (the
Hello() answer included), and :class:`~tests.fixtures.dbus_hostile.FakeSilentBus`,
a hostile-peer double that completes SASL and goes silent.  With
``REGCRED_DBUS_TIMEOUT=2`` the installed helper and ``regcred`` give up after
about that long; the subprocess timeout (60 s) is only a hang detector.
A third double, ``deaf_bus``, answers Hello() and then stops reading: a
send larger than the socket buffers must fail within the timeout too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import pytest

from tests.conftest import VENV_BIN, installed_helper

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.fixtures.dbus_hostile import FakeSilentBus
    from tests.fixtures.registry import Registry

HANG = 60  # seconds: far beyond REGCRED_DBUS_TIMEOUT; reaching it means a hang
NOT_ANSWERING = "did not answer within 2 s (REGCRED_DBUS_TIMEOUT)"
NOT_FOUND = b"credentials not found in native keychain\n"
SECRET = "t1meout-s3cret-never-printed"


@pytest.fixture(params=["reply-dropping dbus-daemon", "silent peer after SASL"])
def mute_bus(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bus that authenticates and never answers; REGCRED_DBUS_TIMEOUT=2."""
    monkeypatch.setenv("REGCRED_DBUS_TIMEOUT", "2")
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/bin:/bin")
    if request.param == "reply-dropping dbus-daemon":
        yield str(request.getfixturevalue("reply_dropping_bus"))
        return
    peer: FakeSilentBus = request.getfixturevalue("silent_bus")
    yield peer.address
    # The double really got past SASL, so the test is about what follows it:
    assert peer.began >= 1
    assert peer.received_after_begin > 0  # the Hello() it never answered


def helper(action: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run the installed docker-credential-regcred-secretservice as docker would."""
    program = installed_helper("secretservice")
    return subprocess.run([program, action], input=stdin, capture_output=True, timeout=HANG, check=False)


def _one_line(output: bytes) -> str:
    text = output.decode()
    assert text.endswith("\n")
    assert len(text.splitlines()) == 1, text
    assert "Traceback" not in text
    assert SECRET not in text
    return text


@pytest.mark.usefixtures("mute_bus")
def test_get_answers_not_found_with_a_hint() -> None:
    """get: "not found" on stdout (docker goes on), why on one stderr line."""
    done = helper("get", b"reg.example\n")
    assert (done.returncode, done.stdout) == (1, NOT_FOUND)
    assert NOT_ANSWERING in _one_line(done.stderr)
    assert "the D-Bus session bus at unix:" in done.stderr.decode()


@pytest.mark.usefixtures("mute_bus")
def test_list_fails_with_one_line() -> None:
    """list: exit 1 and one line, never an empty (misleading) map."""
    done = helper("list", b"")
    assert done.returncode == 1
    assert NOT_ANSWERING in _one_line(done.stdout)


@pytest.mark.usefixtures("mute_bus")
def test_store_fails_with_one_line() -> None:
    """store: exit 1 and one line, which does not carry the secret."""
    body = json.dumps({"ServerURL": "reg.example", "Username": "alice", "Secret": SECRET}).encode()
    done = helper("store", body + b"\n")
    assert done.returncode == 1
    assert NOT_ANSWERING in _one_line(done.stdout)
    assert SECRET.encode() not in done.stderr


@pytest.mark.usefixtures("mute_bus")
def test_doctor_reports_the_secret_service_not_answering(docker_config: Path) -> None:
    """doctor ends, says the Secret Service is not answering, and counts it broken when used."""
    docker_config.parent.mkdir(mode=0o700)
    docker_config.write_text(json.dumps({"auths": {}, "credsStore": "regcred-secretservice"}))
    done = subprocess.run(
        [str(VENV_BIN / "regcred"), "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    ss = next(b for b in report["backends"] if b["name"] == "secretservice")
    assert ss["state"] == "not-answering"
    assert NOT_ANSWERING in ss["detail"]
    assert done.returncode == 1
    assert any(p["severity"] == "broken" and NOT_ANSWERING in p["message"] for p in report["problems"]), (
        report["problems"]
    )


@pytest.mark.usefixtures("mute_bus")
def test_login_auto_detection_falls_back(registry_http: Registry, docker_config: Path) -> None:
    """login with no store configured: the keyring does not answer, so the file store, with a warning."""
    done = subprocess.run(
        [sys.executable, "-m", "regcred", "login", registry_http.address,
         "-u", registry_http.username, "--password-stdin"],
        input=registry_http.password + "\n",
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
        env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Login Succeeded\n"
    assert "stored unencrypted" in done.stderr
    assert registry_http.password not in done.stdout + done.stderr
    config = json.loads(docker_config.read_text())
    assert "credsStore" not in config
    assert registry_http.address in config["auths"]


def test_a_send_the_bus_never_reads_is_bounded(
    deaf_bus: FakeSilentBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message larger than the socket buffers, to a bus that stopped reading: an error, not a hang."""
    from regcred.stores._secretservice_dbus import BusTimeoutError, Client

    monkeypatch.setenv("REGCRED_DBUS_TIMEOUT", "2")
    client = Client()  # the Hello() is answered
    big = client.message("/", "org.freedesktop.DBus.Peer", "Ping", "ay", b"x" * (16 << 20))
    outcome: list[BaseException | None] = []

    def send() -> None:
        try:
            client.call_many([big])
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=send, daemon=True)
    worker.start()
    worker.join(HANG)  # only a hang detector
    try:
        assert outcome, f"the send was still blocked after {HANG} s"
        assert isinstance(outcome[0], BusTimeoutError), outcome
        assert "did not answer within 2 s" in str(outcome[0])
    finally:
        client.close()


def test_our_bounded_connection_is_the_one_jeepney_builds(session_bus: str) -> None:
    """open_connection() rebuilds DBusConnection.__init__ so that Hello() has a deadline.

    jeepney has no public way to bound the Hello its constructor sends, so regcred sets
    the same attributes itself (one of them private, ``_filters``), under the version
    bound in pyproject.toml.  If a jeepney release changes what its constructor sets,
    this fails before a user meets a half-built connection.
    """
    from jeepney.io.blocking import open_dbus_connection

    from regcred.stores._secretservice_dbus import open_connection

    theirs = open_dbus_connection(session_bus)
    ours = open_connection(session_bus, timeout=5.0)
    try:
        assert sorted(vars(ours)) == sorted(vars(theirs))
        assert {name: type(value) for name, value in vars(ours).items()} == {
            name: type(value) for name, value in vars(theirs).items()
        }
        assert ours.unique_name.startswith(":")
    finally:
        ours.close()
        theirs.close()
