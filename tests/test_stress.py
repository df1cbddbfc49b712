"""Stress: many real processes at once, against real registries and real stores.

* 40 concurrent ``regcred login``s to 40 distinct real registries, each
  worker interleaving its logins with logouts, with the config file as the
  store and with our Secret Service helper as ``credsStore``: the final
  config (and keyring) is exactly right.
* Many processes running ``store``/``get``/``erase`` at once on each of our
  helpers (gnome-keyring, pass+gpg), including many stores of the *same*
  server under different usernames: nothing is lost, nothing is duplicated,
  and every process reads its own writes.

(SIGKILL during a save is tests/test_config_processes.py.)  Each test is
bounded: every process has a timeout, and the worker counts are fixed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _config
from tests.conftest import VENV_BIN, installed_helper
from tests.fixtures.registry import start_registry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.keyring import Keyring
    from tests.fixtures.passstore import PassEnv
    from tests.fixtures.registry import Registry

REGISTRIES = 40
TIMEOUT = 180  # seconds, per process


def _run(args: list[str], stdin: bytes = b"", env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """(exit code, stdout+stderr) of one process with a timeout."""
    done = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT, check=False, env=env)
    return done.returncode, done.stdout + done.stderr


# --------------------------------------------------------------------------- logins


def _cycle(registry: Registry, index: int, config_dir: Path) -> list[str]:
    """One worker: login, logout, login (even index) or login, logout, login, logout (odd).

    Returns the failures (empty when every step did what it should).
    """
    cli = [sys.executable, "-m", "regcred"]
    login = [*cli, "login", registry.address, "-u", registry.username, "--password-stdin"]
    login += ["--config", str(config_dir)]
    logout = [*cli, "logout", registry.address, "--config", str(config_dir)]
    steps = [login, logout, login] + ([logout] if index % 2 else [])
    failures = []
    for step in steps:
        stdin = (registry.password + "\n").encode() if step is login else b""
        code, output = _run(step, stdin)
        if code != 0:
            failures.append(f"{registry.address} {step[3]}: exit {code}: {output.decode(errors='replace')}")
        elif registry.password.encode() in output:
            failures.append(f"{registry.address} {step[3]} printed the password")
    return failures


@pytest.fixture
def forty_registries(tmp_path: Path) -> Iterator[list[Registry]]:
    """40 real registries (htpasswd, plain HTTP on loopback), stopped at teardown."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(start_registry(tmp_path / f"r{i:02d}")) for i in range(REGISTRIES)]


@pytest.mark.slow
@pytest.mark.parametrize("store", ["file", "secretservice"])
def test_forty_concurrent_logins_interleaved_with_logouts(
    store: str,
    forty_registries: list[Registry],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """40 workers at once, each logging in and out of its own registry: the end state is exact."""
    ring: Keyring | None = None
    if store == "secretservice":
        ring = request.getfixturevalue("keyring")
        monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
        installed_helper("secretservice")
    config_dir = tmp_path / "docker"
    path = config_dir / "config.json"
    seeded = [f"seed{i}.example" for i in range(10)]

    def seed(config: _config.Config) -> None:
        config.data["regcredStressUnknownKey"] = {"kept": [1, 2, 3]}
        if ring is not None:
            config.set_creds_store("regcred-secretservice")
        for key in seeded:
            config.set_auth(key, "seed-user", "seed-password")

    _config.update(path, seed)
    with ThreadPoolExecutor(max_workers=REGISTRIES) as pool:
        results = list(
            pool.map(lambda pair: _cycle(pair[1], pair[0], config_dir), enumerate(forty_registries))
        )
    assert [f for r in results for f in r] == []

    logged_in = [r for i, r in enumerate(forty_registries) if i % 2 == 0]
    config = _config.load(path)
    assert config.data["regcredStressUnknownKey"] == {"kept": [1, 2, 3]}
    assert sorted(config.auth_keys()) == sorted([*seeded, *(r.address for r in logged_in)])
    for key in seeded:
        entry = config.entry(key)
        assert entry is not None
        assert (entry.username, entry.password) == ("seed-user", "seed-password")
    for registry in logged_in:
        entry = config.entry(registry.address)
        assert entry is not None
        if ring is None:
            assert (entry.username, entry.password) == (registry.username, registry.password)
        else:
            assert not entry.has_secret  # docker's {} marker; the secret is in the keyring
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in config_dir.iterdir() if p.name.endswith(".tmp")] == []
    if ring is not None:
        servers = sorted(attrs["server"] for _, attrs in ring.items())
        assert servers == sorted(r.address for r in logged_in)  # no duplicate, nothing left behind
        helper = installed_helper("secretservice")
        for registry in logged_in:
            code, out = _run([helper, "get"], registry.address.encode())
            assert code == 0, out
            got = json.loads(out)
            assert (got["Username"], got["Secret"]) == (registry.username, registry.password)


# --------------------------------------------------------------------------- helpers


def _payload(server: str, username: str, secret: str) -> bytes:
    return json.dumps({"ServerURL": server, "Username": username, "Secret": secret}).encode()


def _worker(helper: str, worker: int, rounds: int, env: dict[str, str] | None) -> list[str]:
    """Store, read back and erase this worker's own keys, and store the shared key, ``rounds`` times.

    Key ``w{worker}-keep`` ends up stored with the last round's secret,
    ``w{worker}-gone`` ends up erased, and ``shared.example`` is stored with
    this worker's username each round (last writer wins, exactly one entry).
    """
    failures = []

    def step(action: str, stdin: bytes) -> bytes:
        code, out = _run([helper, action], stdin, env)
        if code != 0:
            server = stdin.decode() if action != "store" else json.loads(stdin)["ServerURL"]
            failures.append(f"worker {worker} {action} {server}: exit {code}: {out.decode(errors='replace')}")
            return b""
        return out

    keep, gone = f"w{worker:02d}-keep.example:5000", f"w{worker:02d}-gone.example"
    for n in range(rounds):
        for server in (keep, gone):
            step("store", _payload(server, f"user-{worker}-{n}", f"secret-{worker}-{n}"))
            out = step("get", server.encode())
            expected = {
                "ServerURL": server,
                "Username": f"user-{worker}-{n}",
                "Secret": f"secret-{worker}-{n}",
            }
            if out and json.loads(out) != expected:
                failures.append(f"worker {worker} read {server} back wrong in round {n}")
        step("erase", gone.encode())
        step("store", _payload("shared.example", f"shared-{worker}", f"shared-secret-{worker}"))
        shared = step("get", b"shared.example")
        if shared:
            got = json.loads(shared)
            # Another worker may have won meanwhile; the pair must still be consistent.
            if got["Secret"] != "shared-secret-" + got["Username"].removeprefix("shared-"):
                failures.append(f"worker {worker} read a torn shared entry")
    code, out = _run([helper, "get"], gone.encode(), env)
    if (code, out) != (1, b"credentials not found in native keychain\n"):
        failures.append(f"worker {worker}: erased key still readable: {code}")
    return failures


def _hammer(helper: str, workers: int, rounds: int, env: dict[str, str] | None) -> dict[str, str]:
    """Run the workers at once; return the final ``list``."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda w: _worker(helper, w, rounds, env), range(workers)))
    assert [f for r in results for f in r] == []
    code, out = _run([helper, "list"], b"", env)
    assert code == 0, out
    listed: dict[str, str] = json.loads(out)
    expected = {f"w{w:02d}-keep.example:5000": f"user-{w}-{rounds - 1}" for w in range(workers)}
    shared_user = listed.pop("shared.example", None)
    assert shared_user in {f"shared-{w}" for w in range(workers)}
    assert listed == expected
    for server, username in expected.items():
        code, out = _run([helper, "get"], server.encode(), env)
        assert code == 0, out
        worker = int(server[1:3])
        assert json.loads(out)["Secret"] == f"secret-{worker}-{rounds - 1}"
        assert username == f"user-{worker}-{rounds - 1}"
    return {**listed, "shared.example": str(shared_user)}


@pytest.mark.slow
def test_secretservice_helper_under_concurrent_processes(keyring: Keyring) -> None:
    """12 workers hammering our Secret Service helper: nothing lost, nothing duplicated."""
    listed = _hammer(installed_helper("secretservice"), workers=12, rounds=3, env=None)
    servers = sorted(attrs["server"] for _, attrs in keyring.items())
    assert servers == sorted(listed)  # exactly one item per server: no duplicates


@pytest.mark.slow
def test_pass_helper_under_concurrent_processes(pass_env: PassEnv) -> None:
    """12 workers hammering our pass helper: nothing lost, nothing duplicated, no litter."""
    listed = _hammer(installed_helper("pass"), workers=12, rounds=3, env=pass_env.env())
    found = {}
    for server_dir in pass_env.folder.iterdir():
        assert not server_dir.name.startswith("."), f"left behind: {server_dir.name}"
        entries = [p.name for p in server_dir.iterdir()]
        assert len(entries) == 1, entries  # one username per server
        server = base64.urlsafe_b64decode(server_dir.name).decode()
        found[server] = entries[0].removesuffix(".gpg")
    assert found == listed
