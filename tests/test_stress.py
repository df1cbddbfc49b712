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
from tests.fixtures.processes import run
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
    done = run(args, stdin=stdin, env=env, timeout=TIMEOUT, binary=True)
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


# --------------------------------------------------------------------------- migrates

MIGRATE_REGISTRIES = 6
MIGRATE_ROUNDS = 10
#: How a migrate refuses when a login or logout changed config.json under it (then undoes itself).
_RACED = (
    b"changed while migrating",
    b"could not be fully undone",
    b"cannot be found after the move",
    b"returned different credentials",
)


def _migrates(config_dir: Path, rounds: int, seed: str) -> tuple[list[str], dict[str, int]]:
    """Migrate back and forth ``rounds`` times; every other run gets a signal at a random moment.

    Returns the failures and the figures (runs, signals sent, exits by kind).
    """
    import random
    import signal
    import time

    rng = random.Random(seed)  # reproducible, not security
    figures = {"runs": 0, "signals": 0, "completed": 0, "undone on a signal": 0, "refused (raced)": 0}
    failures = []
    for n in range(rounds):
        to = "regcred-secretservice" if n % 2 == 0 else "file"
        proc = subprocess.Popen(
            [sys.executable, "-m", "regcred", "migrate", "--to", to, "--config", str(config_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        sent = 0
        if n % 2 == 1 or rng.random() < 0.5:
            # Past Python's start-up (regcred's handlers are in place once it holds the
            # migrate lock), then a random moment of the transaction.
            lock = os.path.realpath(config_dir / "config.json.migrate-journal.lock")
            while proc.poll() is None and not _holds(proc.pid, lock):
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 1.5))
            if proc.poll() is None:
                sent = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
                proc.send_signal(sent)
                figures["signals"] += 1
        _, err = proc.communicate(timeout=TIMEOUT)
        figures["runs"] += 1
        if proc.returncode == 0 or (sent and proc.returncode == -sent):
            figures["completed"] += 1  # (-N: signalled after it was done, its handlers gone)
        elif sent and proc.returncode == 128 + sent:
            figures["undone on a signal"] += 1
        elif proc.returncode == 1 and any(why in err for why in _RACED):
            figures["refused (raced)"] += 1  # a login or logout changed config.json meanwhile
        else:
            failures.append(f"migrate --to {to}: exit {proc.returncode}: {err.decode(errors='replace')}")
        if b"Traceback" in err:
            failures.append(f"migrate --to {to} printed a traceback: {err.decode(errors='replace')}")
    return failures, figures


def _holds(pid: int, path: str) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux: its /proc/PID/fd links)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                return True
        except OSError:
            continue
    return False


@pytest.mark.slow
def test_logins_logouts_and_migrates_at_once_lose_nothing(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logins and logouts on 6 real registries while migrates run both ways (some signalled).

    Then every credential is checked where config.json says it is: 0 lost,
    0 orphaned in the keyring, 0 plaintext after a final migrate to it.
    """
    from tests.test_migrate_interrupts import Figures, audit

    installed_helper("secretservice")
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("REGCRED_LOCK_TIMEOUT", "120")  # 2 cores, many agents: never a lock timeout
    config_dir = tmp_path / "docker"
    path = config_dir / "config.json"
    seeded = {f"seed{i}.example": (f"seed-user{i}", f"seed-password-{i}") for i in range(4)}

    def seed(config: _config.Config) -> None:
        config.data["regcredStressUnknownKey"] = {"kept": [1, 2, 3]}
        for key, (user, secret) in seeded.items():
            config.set_auth(key, user, secret)

    _config.update(path, seed)
    with contextlib.ExitStack() as stack:
        registries = [
            stack.enter_context(start_registry(tmp_path / f"m{i}")) for i in range(MIGRATE_REGISTRIES)
        ]
        with ThreadPoolExecutor(max_workers=MIGRATE_REGISTRIES + 1) as pool:
            migrates = pool.submit(_migrates, config_dir, MIGRATE_ROUNDS, "issue-11")
            cycles = list(pool.map(lambda pair: _cycle(pair[1], pair[0], config_dir), enumerate(registries)))
            migrate_failures, counts = migrates.result()
    assert [f for r in cycles for f in r] == []
    assert migrate_failures == []

    figures = Figures("stress")
    figures.runs = counts["runs"] + sum(3 + i % 2 for i in range(MIGRATE_REGISTRIES))
    figures.signals = counts["signals"]
    expected = dict(seeded)
    for i, registry in enumerate(registries):
        if i % 2 == 0:
            expected[registry.address] = (registry.username, registry.password)
    resumed = _run([sys.executable, "-m", "regcred", "migrate", "--resume", "--config", str(config_dir)])
    assert resumed[0] == 0, resumed[1]
    assert audit(path, keyring, expected, figures) == []
    for to in ("regcred-secretservice", "file", "regcred-secretservice"):
        code, out = _run(
            [sys.executable, "-m", "regcred", "migrate", "--to", to, "--config", str(config_dir)]
        )
        figures.runs += 1
        assert code == 0, out
        assert audit(path, keyring, expected, figures) == []
    config = _config.load(path)
    assert config.creds_store == "regcred-secretservice"
    assert [e.key for e in config.entries() if e.has_secret] == []
    assert sorted(attrs["server"] for _, attrs in keyring.items()) == sorted(expected)
    assert config.data["regcredStressUnknownKey"] == {"kept": [1, 2, 3]}
    print(figures.line(), "migrates:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    assert figures.lost == figures.orphaned == figures.plaintext == 0
