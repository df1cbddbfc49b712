"""A login racing a migrate (issue 11 #2): the credential ends where config.json says it is.

The registry is Debian's real docker-registry; between it and regcred sits a
named test double, ``SlowLink``, a TCP forwarder that holds each connection's
first bytes for a while, so that a ``regcred migrate`` runs *during* the
login's verification, as it would over a slow network.  The keyring is the
real gnome-keyring, the helper our real docker-credential-regcred-secretservice.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _config
from tests.conftest import VENV_BIN, installed_helper, require_program
from tests.fixtures.processes import regcred

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.keyring import Keyring
    from tests.fixtures.registry import Registry


class SlowLink:
    """Test double: a loopback TCP forwarder that delays each new connection's first request."""

    def __init__(self, target: str, delay: float) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.delay = delay
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.requests = 0
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target, timeout=30)
        client.settimeout(30)
        first = True

        def pump(src: socket.socket, dst: socket.socket, *, delayed: bool) -> None:
            nonlocal first
            try:
                while chunk := src.recv(65536):
                    if delayed and first:
                        first = False
                        self.requests += 1
                        time.sleep(self.delay)
                    dst.sendall(chunk)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        back = threading.Thread(target=pump, args=(upstream, client), kwargs={"delayed": False}, daemon=True)
        back.start()
        pump(client, upstream, delayed=True)
        back.join(timeout=30)
        client.close()
        upstream.close()

    def close(self) -> None:
        self._stop.set()
        self.server.close()


@pytest.fixture
def slow_registry(registry_http: Registry) -> Iterator[tuple[Registry, SlowLink]]:
    link = SlowLink(registry_http.address, delay=3.0)
    try:
        yield registry_http, link
    finally:
        link.close()


def _regcred(*args: str, stdin: str = "") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "regcred", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _secret_service_get(key: str) -> subprocess.CompletedProcess[str]:
    go = require_program("docker-credential-secretservice", "golang-docker-credential-helpers")
    return subprocess.run([go, "get"], input=key, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("direction", ["to-keyring", "to-file"])
def test_a_login_during_a_migrate_ends_where_config_json_says(
    direction: str,
    slow_registry: tuple[Registry, SlowLink],
    docker_config: Path,
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No plaintext beside a keyring route, no orphan in the keyring, nothing lost."""
    registry, link = slow_registry
    installed_helper("secretservice")
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    key = link.address

    def seed(c: _config.Config) -> None:
        c.set_auth("seed.example", "seed", "seed-pw")
        if direction == "to-file":
            c.set_creds_store("regcred-secretservice")

    _config.update(docker_config, seed)
    if direction == "to-file":  # the seed lives in the keyring, as docker would keep it
        assert regcred("migrate", "--to", "regcred-secretservice").returncode == 0
    target = "regcred-secretservice" if direction == "to-keyring" else "file"

    login = _regcred("login", key, "-u", registry.username, "--password-stdin")
    assert login.stdin is not None
    login.stdin.write(registry.password + "\n")
    login.stdin.close()
    deadline = time.monotonic() + 30
    while link.requests == 0 and time.monotonic() < deadline:  # the login is now waiting on the link
        time.sleep(0.05)
    assert link.requests > 0
    migrated = regcred("migrate", "--to", target)
    assert migrated.returncode == 0, migrated.stderr
    assert login.stdout is not None
    assert login.stderr is not None
    login.wait(timeout=120)
    out, err = login.stdout.read(), login.stderr.read()
    login.stdout.close()
    login.stderr.close()
    assert login.returncode == 0, err
    assert registry.password not in out + err

    data = json.loads(docker_config.read_text())
    entry = data["auths"][key]
    in_keyring = _secret_service_get(key)
    if direction == "to-keyring":
        assert data["credsStore"] == "regcred-secretservice"
        assert entry == {}, "plaintext written into a config that routes to the keyring"
        assert json.loads(in_keyring.stdout)["Secret"] == registry.password
    else:
        assert "credsStore" not in data
        assert "auth" in entry
        assert in_keyring.returncode == 1, "the keyring still holds a copy config.json no longer names"
    got = regcred("get", key)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Secret"] == registry.password
    assert regcred("logout", key).returncode == 0
    assert _secret_service_get(key).returncode == 1
    assert regcred("get", key).returncode == 1
