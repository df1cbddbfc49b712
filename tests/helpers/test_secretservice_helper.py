"""The installed docker-credential-regcred-secretservice against Debian's Go helper.

Both run as real processes on the same gnome-keyring (private session bus):
what either writes the other reads, and their ``list`` outputs agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import installed_helper, require_program
from tests.fixtures.processes import run

if TYPE_CHECKING:
    from tests.fixtures.keyring import Keyring

HUB = "https://index.docker.io/v1/"
OURS = "docker-credential-regcred-secretservice"
NOT_FOUND = b"credentials not found in native keychain\n"


@pytest.fixture(scope="module")
def ours() -> str:
    """Path of the installed regcred helper (pip install -e . puts it next to python)."""
    return installed_helper("secretservice")


@pytest.fixture(scope="module")
def go() -> str:
    """Path of Debian's Go secretservice helper (v0.6.4)."""
    return require_program("docker-credential-secretservice", "golang-docker-credential-helpers")


def call(helper: str, action: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``helper action`` with the test's environment (its private bus)."""
    return run([helper, action], stdin=stdin, timeout=60, binary=True)


def store(helper: str, server: str, username: str, secret: str) -> None:
    """Store one credential through ``helper``; fail the test on error."""
    body = json.dumps({"ServerURL": server, "Username": username, "Secret": secret}).encode()
    done = call(helper, "store", body + b"\n")
    assert (done.returncode, done.stdout) == (0, b""), done.stdout + done.stderr


def get(helper: str, server: str) -> bytes:
    """Raw stdout of a successful ``get``."""
    done = call(helper, "get", server.encode())
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


CASES = [
    (HUB, "alice", "s3cr<&>t"),
    ("reg.example:5000", "bob", "pässwörd ✓ \u2028"),
    ("acr.example", "<token>", "eyJ.refresh.token"),
]


@pytest.mark.usefixtures("keyring")
@pytest.mark.parametrize("direction", ["go-to-ours", "ours-to-go"])
def test_each_reads_what_the_other_wrote(ours: str, go: str, direction: str) -> None:
    """Entries stored by one helper are returned byte for byte by the other, and list agrees."""
    writer, reader = (go, ours) if direction == "go-to-ours" else (ours, go)
    for server, username, secret in CASES:
        store(writer, server, username, secret)
    for server, username, secret in CASES:
        expected = json.dumps(
            {"ServerURL": server, "Username": username, "Secret": secret}, ensure_ascii=False
        )
        assert json.loads(get(reader, server)) == json.loads(expected)
        assert get(reader, server) == get(writer, server)
    listed = call(ours, "list")
    assert listed.returncode == 0
    assert listed.stdout == call(go, "list").stdout
    assert json.loads(listed.stdout) == {server: username for server, username, _ in CASES}


@pytest.mark.usefixtures("keyring")
def test_erase_across_helpers(ours: str, go: str) -> None:
    """Each helper erases what the other stored; erasing a missing entry succeeds."""
    store(go, "a.example", "alice", "pw")
    store(ours, "b.example", "bob", "pw")
    assert call(ours, "erase", b"a.example").returncode == 0
    assert call(go, "erase", b"b.example").returncode == 0
    for helper in (ours, go):
        for server in (b"a.example", b"b.example"):
            done = call(helper, "get", server)
            assert (done.returncode, done.stdout) == (1, NOT_FOUND)
    assert call(ours, "erase", b"never.example").returncode == 0
    assert call(ours, "list").stdout == b"{}\n"


@pytest.mark.usefixtures("keyring")
def test_our_store_replaces_gos_other_username(ours: str, go: str) -> None:
    """After Go stored alice, our store of bob leaves only bob, for both helpers."""
    store(go, "reg.example", "alice", "one")
    store(ours, "reg.example", "bob", "two")
    for helper in (ours, go):
        assert json.loads(get(helper, "reg.example"))["Username"] == "bob"
        assert json.loads(call(helper, "list").stdout) == {"reg.example": "bob"}


@pytest.mark.usefixtures("keyring")
def test_empty_secret_round_trips(ours: str, go: str) -> None:
    """An empty secret comes back from our helper (Go's get calls it not found)."""
    store(ours, "reg.example", "alice", "")
    assert get(ours, "reg.example") == b'{"ServerURL":"reg.example","Username":"alice","Secret":""}\n'
    assert call(go, "get", b"reg.example").stdout == NOT_FOUND  # the Go fault we fix


def no_bus_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no session bus at all (and nothing to autolaunch one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "XDG_"))}
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    return env


def test_get_without_bus_is_not_found(ours: str, tmp_path: Path) -> None:
    """With no session bus, get answers docker's not-found string and hints on stderr."""
    done = subprocess.run(
        [ours, "get"], input=b"reg.example", capture_output=True, env=no_bus_env(tmp_path),
        timeout=30, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (1, NOT_FOUND)
    assert b"no D-Bus session bus" in done.stderr


def test_store_without_bus_fails_usefully(ours: str, tmp_path: Path) -> None:
    """With no session bus, store fails with one line saying what to do, and no secret."""
    body = b'{"ServerURL":"reg.example","Username":"alice","Secret":"hunter2-secret"}'
    done = subprocess.run(
        [ours, "store"], input=body, capture_output=True, env=no_bus_env(tmp_path),
        timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.startswith(b"no D-Bus session bus")
    assert b"dbus-run-session" in done.stdout
    assert done.stdout.count(b"\n") == 1
    assert b"hunter2" not in done.stdout + done.stderr


@pytest.mark.usefixtures("keyring")
def test_concurrent_processes_lose_nothing(ours: str, go: str) -> None:
    """Many helper processes storing, reading and erasing distinct keys at once lose nothing."""
    count = 12
    servers = [f"reg{i:02d}.example" for i in range(count)]

    def run_all(jobs: list[tuple[str, str, bytes]]) -> list[subprocess.CompletedProcess[bytes]]:
        procs = [
            (subprocess.Popen([h, a], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE), data)
            for h, a, data in jobs
        ]  # fmt: skip
        results = []
        for proc, data in procs:
            out, err = proc.communicate(data, timeout=60)
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
        return results

    def payload(server: str, username: str) -> bytes:
        return json.dumps({"ServerURL": server, "Username": username, "Secret": "s-" + server}).encode()

    # Round 1: everyone stores (ours for even, Go for odd keys).
    stores = [(ours if i % 2 == 0 else go, "store", payload(s, "u1")) for i, s in enumerate(servers)]
    assert all(r.returncode == 0 for r in run_all(stores))
    # Round 2: re-store with a new username through ours, read the rest, erase a third.
    mixed: list[tuple[str, str, bytes]] = []
    for i, server in enumerate(servers):
        if i % 3 == 0:
            mixed.append((ours, "store", payload(server, "u2")))
        elif i % 3 == 1:
            mixed.append((ours if i % 2 else go, "get", server.encode()))
        else:
            mixed.append((ours, "erase", server.encode()))
    results = run_all(mixed)
    assert all(r.returncode == 0 for r in results), [r.stdout + r.stderr for r in results]
    expected = {s: ("u2" if i % 3 == 0 else "u1") for i, s in enumerate(servers) if i % 3 != 2}
    for helper in (ours, go):
        assert json.loads(call(helper, "list").stdout) == expected
    for server, username in expected.items():
        got = json.loads(get(ours, server))
        assert (got["Username"], got["Secret"]) == (username, "s-" + server)


@pytest.mark.usefixtures("keyring")
def test_helper_imports_stay_lean() -> None:
    """A list run imports no HTTP/TLS, entry points, argparse, subprocess or other store."""
    code = (
        "import sys; sys.argv = ['x', 'list']\n"
        "from regcred.helpers.secretservice import main\n"
        "code = main()\n"
        "heavy = {'urllib.request', 'ssl', 'importlib.metadata', 'argparse', 'subprocess',\n"
        "         'logging', 'secretstorage', 'cryptography', 'regcred.stores.pass_',\n"
        "         'regcred.stores._gpg'}\n"
        "print(code, sorted(heavy & set(sys.modules)), 'jeepney' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "0 [] True"


def test_racing_stores_of_one_server_leave_one_entry(ours: str, keyring: Keyring) -> None:
    """Processes storing the same server at once, with readers in between: one item, never torn."""
    store(ours, "shared.example", "user-init", "secret-init")
    writers = [
        subprocess.Popen(
            [ours, "store"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(8)
    ]
    readers = [
        subprocess.Popen([ours, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(8)
    ]
    for i, proc in enumerate(writers):
        body = {"ServerURL": "shared.example", "Username": f"user-{i}", "Secret": f"secret-{i}"}
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(body).encode())
        proc.stdin.close()
    for proc in readers:
        assert proc.stdin is not None
        proc.stdin.write(b"shared.example")
        proc.stdin.close()
    for proc in writers + readers:
        assert proc.wait(timeout=60) == 0
        assert proc.stdout is not None
        assert proc.stderr is not None
        out = proc.stdout.read()
        proc.stdout.close()
        proc.stderr.close()
        if out:  # a reader: the pair it saw belongs together
            got = json.loads(out)
            assert got["Secret"] == got["Username"].replace("user-", "secret-")
    items = keyring.items()
    assert len(items) == 1
    username = items[0][1]["username"]
    assert json.loads(get(ours, "shared.example"))["Secret"] == username.replace("user-", "secret-")
