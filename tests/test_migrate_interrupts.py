"""regcred migrate under real signals: SIGINT, SIGTERM, SIGHUP and SIGKILL, both directions.

Every run is a real ``regcred migrate`` process between config.json and the
real gnome-keyring (through our docker-credential-regcred-secretservice).
The dangerous moments are found by watching the files and the keyring (the
journal appears, the first copy lands, config.json is replaced), never by a
hook inside regcred; other runs are signalled after a random delay.

After each run :func:`audit` checks, through the lookup ``regcred get``
uses: every credential readable where config.json says it is (0 lost),
no keyring item that config.json does not route to (0 orphaned), and no
plaintext left when config.json routes everything to the keyring.
SIGKILL leaves a journal: the next ``regcred migrate --resume`` (or a plain
``regcred logout`` / ``login``) must finish or undo the job; a read-only
``regcred list`` before it leaves the journal alone and says so.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _config
from regcred._lookup import get_credentials
from tests.conftest import VENV_BIN, installed_helper
from tests.fixtures import processes

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.fixtures.keyring import Keyring

HELPER = "regcred-secretservice"
HUB = "https://index.docker.io/v1/"
SEEDED = {
    "a.example": ("alice", "interrupt-secret-a"),
    "b.example:5000": ("bob", "interrupt-secret-b"),
    HUB: ("<token>", "interrupt-token-c"),
}
SECRETS = tuple(secret for _, secret in SEEDED.values())
JOURNAL = ".migrate-journal"
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP}


# -- the audit -------------------------------------------------------------------


class Figures:
    """What a test did, printed at its end (``pytest -s`` shows it; the lead's report quotes it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runs = self.signals = self.checked = self.lost = self.orphaned = self.plaintext = 0

    def line(self) -> str:
        return (
            f"[{self.name}] runs={self.runs} signals={self.signals} credentials checked={self.checked} "
            f"lost={self.lost} orphaned={self.orphaned} plaintext={self.plaintext}"
        )


def audit(
    config_path: Path, keyring: Keyring, expected: dict[str, tuple[str, str]], figures: Figures | None = None
) -> list[str]:
    """Problems with the stores now (empty = every promise holds); counts into ``figures``."""
    problems = []
    config = _config.load(config_path)
    for key, (user, secret) in expected.items():
        found = get_credentials(key, config_dir=config_path.parent, podman=False)
        if figures is not None:
            figures.checked += 1
        if found is None or (found.username, found.secret) != (user, secret):
            problems.append(f"lost: {key} is not readable where config.json says it is")
            if figures is not None:
                figures.lost += 1
    routed = {k for k in config.auth_keys() if _route(config, k) == HELPER}
    for item in keyring.items():
        attrs = item[1]
        if attrs.get("server") not in routed:
            problems.append(
                f"orphaned: the keyring holds {attrs.get('server')}, config.json routes it elsewhere"
            )
            if figures is not None:
                figures.orphaned += 1
    if config.creds_store == HELPER:
        plain = [e.key for e in config.entries() if e.has_secret and _route(config, e.key) == HELPER]
        if plain:
            problems.append(f"plaintext left beside credsStore: {plain}")
            if figures is not None:
                figures.plaintext += 1
    return problems


def _route(config: _config.Config, key: str) -> str:
    return config.cred_helpers.get(key, config.creds_store)


# -- running regcred -------------------------------------------------------------


def regcred(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = processes.regcred(*args, env=env)
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr
    return done


def start_migrate(to: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(VENV_BIN / "regcred"), "migrate", "--to", to],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for ``proc``; its exit code and stderr (checked for secrets and tracebacks)."""
    out, err = proc.communicate(timeout=120)
    for secret in SECRETS:
        assert secret not in out + err
    assert "Traceback" not in err, err
    return proc.returncode, err


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 60) -> bool:
    """Poll ``condition`` until it holds (True) or ``proc`` exits first (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.001)
    raise AssertionError("the moment never came")


def replaced(path: Path) -> Callable[[], bool]:
    """True once ``path`` is a new file (the atomic replace landed)."""
    before = path.stat().st_ino
    return lambda: path.exists() and path.stat().st_ino != before


def seed_file(config_path: Path, *, big: bool = False, only: str = "") -> None:
    def fill(c: _config.Config) -> None:
        for key, (user, secret) in SEEDED.items():
            if only and key != only:
                continue
            if user == "<token>":
                c.set_auth(key, "", "", identitytoken=secret)
            else:
                c.set_auth(key, user, secret)
        c.data["x-unknown"] = {"keep": [1, 2]}
        if big:  # ~40 MB of a field regcred does not know: every re-read is slow
            c.data["x-large"] = ["y" * 1000] * 40_000

    _config.update(config_path, fill)


@pytest.fixture
def ring(keyring: Keyring, docker_config: Path, monkeypatch: pytest.MonkeyPatch) -> Keyring:
    """The real keyring, with our Secret Service helper on PATH."""
    installed_helper("secretservice")
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    return keyring


def journal(config_path: Path) -> Path:
    return config_path.with_name(config_path.name + JOURNAL)


# -- signals at the dangerous moments ---------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIGNALS))
def test_signal_right_after_config_json_is_replaced_loses_nothing(
    name: str, ring: Keyring, docker_config: Path
) -> None:
    """Defect 1 and 3: a 40 MB config.json, signalled as soon as config.json is replaced."""
    seed_file(docker_config, big=True)
    before = docker_config.read_bytes()
    proc = start_migrate(HELPER)
    landed = wait_for(replaced(docker_config), proc)
    proc.send_signal(SIGNALS[name])
    code, err = finish(proc)
    assert landed, err
    assert audit(docker_config, ring, SEEDED) == []  # was: credsStore, {} and an empty keyring
    unchanged = docker_config.read_bytes() == before  # (pytest's diff of 40 MB would take minutes)
    assert unchanged
    assert ring.items() == []
    assert code == 128 + SIGNALS[name], err
    assert len(err.strip().splitlines()) == 1, err
    assert f"interrupted by {name}; the migration was undone" in err
    assert not journal(docker_config).exists()


@pytest.mark.parametrize("name", list(SIGNALS))
@pytest.mark.parametrize("direction", ["to-keyring", "to-file"])
@pytest.mark.parametrize("moment", ["journal", "first-change"])
def test_signal_at_a_dangerous_moment_is_undone(
    name: str, direction: str, moment: str, ring: Keyring, docker_config: Path
) -> None:
    """As the journal appears, or as the first copy lands (to the keyring) or config.json is switched."""
    seed_file(docker_config)
    if direction == "to-file":
        assert regcred("migrate", "--to", HELPER).returncode == 0
    before = docker_config.read_bytes()
    items = ring.items()
    target = HELPER if direction == "to-keyring" else "file"
    proc = start_migrate(target)
    if moment == "journal":
        condition = journal(docker_config).exists
    elif direction == "to-keyring":
        condition = lambda: bool(ring.item_paths())  # noqa: E731
    else:
        condition = replaced(docker_config)
    landed = wait_for(condition, proc)
    proc.send_signal(SIGNALS[name])
    code, err = finish(proc)
    if code in {0, -SIGNALS[name]}:  # done before the signal (or in its last instant): nothing to undo
        assert not landed or moment == "journal"
        assert audit(docker_config, ring, SEEDED) == []
        return
    assert code == 128 + SIGNALS[name], err
    assert len(err.strip().splitlines()) == 1, err
    assert audit(docker_config, ring, SEEDED) == []
    assert docker_config.read_bytes() == before
    assert ring.items() == items
    assert not journal(docker_config).exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIGNALS))
def test_signals_at_random_moments(name: str, ring: Keyring, docker_config: Path) -> None:
    """30 runs per signal, alternating direction, each signalled after a random delay.

    One credential, so that 90 runs fit in the time budget: the steps are the
    same for one as for three (the other tests move three).
    """
    seed_file(docker_config, only="a.example")
    seeded = {"a.example": SEEDED["a.example"]}
    figures = Figures(f"random {name}")
    lock = docker_config.with_name(docker_config.name + JOURNAL + ".lock")
    rng = random.Random(f"{name}-11")  # reproducible, not security
    durations: list[float] = []
    for _ in range(30):
        lock.unlink(missing_ok=True)
        started = time.monotonic()
        to_keyring = _config.load(docker_config).creds_store != HELPER
        proc = start_migrate(HELPER if to_keyring else "file")
        wait_for(lock.exists, proc)  # past start-up: regcred's handlers are installed
        time.sleep(rng.uniform(0, max(durations or [1.0])))
        if proc.poll() is None:
            proc.send_signal(SIGNALS[name])
            figures.signals += 1
        code, err = finish(proc)
        figures.runs += 1
        durations.append(time.monotonic() - started)
        # -N: the signal came after the migrate was done and Python's handlers were back.
        assert code in {0, 128 + SIGNALS[name], -SIGNALS[name]}, err
        assert not journal(docker_config).exists()
        assert audit(docker_config, ring, seeded, figures) == []
    print(figures.line())
    assert figures.lost == figures.orphaned == figures.plaintext == 0


# -- SIGKILL at every step, then the next command ------------------------------------

_SHIM = """#!/bin/sh
# Test instrument (not a store): count the calls that change the keyring (store, erase);
# right after call number $KILL_AT has changed it, SIGKILL the regcred that made it.
n=$(cat "$COUNTER" 2>/dev/null || echo 0)
case "$1" in store|erase) n=$((n + 1)); echo "$n" > "$COUNTER";; esac
out=$("$REAL" "$@"); rc=$?
case "$1" in store|erase) [ "$n" = "$KILL_AT" ] && kill -9 "$PPID";; esac
printf '%s' "$out"
exit $rc
"""


def _shim(tmp: Path) -> dict[str, str]:
    """An environment whose docker-credential-regcred-secretservice SIGKILLs its regcred after change N.

    Only ``store`` and ``erase`` change anything: a kill after a ``get`` or
    ``list`` leaves the same state as one just before the next change.
    """
    bin_dir = tmp / "shim"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / f"docker-credential-{HELPER}"
    shim.write_text(_SHIM)
    shim.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "REAL": installed_helper("secretservice"),
        "COUNTER": str(tmp / "calls"),
    }


def _calls(env: dict[str, str], to: str, docker_config: Path, ring: Keyring) -> int:
    """How many keyring changes one uninterrupted migrate makes."""
    Path(env["COUNTER"]).unlink(missing_ok=True)
    done = subprocess.run(
        [str(VENV_BIN / "regcred"), "migrate", "--to", to],
        capture_output=True, text=True, timeout=120, check=False, env={**env, "KILL_AT": "0"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    count = int(Path(env["COUNTER"]).read_text()) if Path(env["COUNTER"]).exists() else 0
    assert audit(docker_config, ring, SEEDED) == []
    return count


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["to-keyring", "to-file"])
def test_sigkill_at_every_step_then_the_next_command_settles_it(
    direction: str, ring: Keyring, docker_config: Path, tmp_path: Path
) -> None:
    """SIGKILL as the journal appears, after each keyring change and as config.json is replaced.

    Then the next writing command (``migrate --resume`` or ``logout``) must
    finish or undo the migrate, and the stores pass the audit.  A ``list``
    before it (read-only) leaves the journal as it is (issue 17 #10).
    """
    seed_file(docker_config)
    env = _shim(tmp_path)
    there, back = (HELPER, "file") if direction == "to-keyring" else ("file", HELPER)
    if direction == "to-file":
        assert regcred("migrate", "--to", HELPER).returncode == 0
    steps = _calls(env, there, docker_config, ring)
    assert regcred("migrate", "--to", back).returncode == 0
    start = docker_config.read_bytes()
    figures = Figures(f"SIGKILL {direction}")
    nexts = [("migrate", "--resume"), ("logout", "nobody.example")]
    # 0: killed by the test as the journal appears; -1: as config.json is replaced.
    for kill_at in [0, *range(1, steps + 1), -1]:
        assert docker_config.read_bytes() == start
        (tmp_path / "calls").unlink(missing_ok=True)
        proc = start_migrate(there, env={**env, "KILL_AT": str(kill_at)})
        if kill_at <= 0:
            wait_for(journal(docker_config).exists if kill_at == 0 else replaced(docker_config), proc)
            proc.kill()
        code, _ = finish(proc)
        figures.runs += 1
        figures.signals += code == -signal.SIGKILL
        # Right after the kill: everything is readable where config.json says it is.
        assert [p for p in audit(docker_config, ring, SEEDED) if p.startswith("lost")] == []
        if journal(docker_config).exists():
            left = journal(docker_config).read_bytes()
            done = regcred("list")
            assert done.returncode == 0, done.stderr
            assert "an interrupted migrate is pending" in done.stderr
            assert journal(docker_config).read_bytes() == left  # read-only: not settled
        after = nexts[kill_at % len(nexts)]
        done = regcred(*after)
        assert done.returncode in {0, 1}, done.stderr  # logout of an unknown registry is 1
        assert "Traceback" not in done.stderr
        assert not journal(docker_config).exists(), done.stderr
        assert audit(docker_config, ring, SEEDED, figures) == []
        # Whatever the kill left (moved or not), the next migrate brings it back to the start.
        if _config.load(docker_config).creds_store != (HELPER if back == HELPER else ""):
            assert regcred("migrate", "--to", back).returncode == 0
        assert audit(docker_config, ring, SEEDED, figures) == []
        start = docker_config.read_bytes()
    print(figures.line())
    assert figures.lost == figures.orphaned == figures.plaintext == 0
    assert steps >= 3
    assert figures.signals >= steps


def test_resume_with_nothing_pending(docker_config: Path) -> None:
    """--resume with no journal says so; --resume with --to is a usage error."""
    done = regcred("migrate", "--resume")
    assert done.returncode == 0
    assert "no interrupted migrate to resume" in done.stdout
    done = regcred("migrate", "--resume", "--to", "file")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_doctor_reports_a_journal_it_cannot_settle(ring: Keyring, docker_config: Path) -> None:
    """A journal (regcred's own) naming a helper that fails: doctor reports it, and leaves it."""
    from regcred._tools.migrate_journal import Journal, MigrateLock

    seed_file(docker_config)
    lock = MigrateLock(docker_config, wait=False)
    assert lock.acquire()
    moves = [{"key": "a.example", "prior": False, "erase": []}]
    Journal.start(docker_config, "missing-helper", moves, lock).write("copying")
    lock.release()
    left = journal(docker_config).read_bytes()
    done = regcred("doctor")
    assert done.returncode == 1
    assert "an interrupted migrate is pending" in done.stdout
    assert done.stderr.count("an interrupted migrate is pending") == 1
    assert "could not finish" not in done.stderr  # doctor is read-only: it tried nothing
    assert journal(docker_config).read_bytes() == left
    assert audit(docker_config, ring, SEEDED) == []
    done = regcred("migrate", "--resume")
    assert done.returncode == 1
    assert "could not finish the interrupted migrate" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert journal(docker_config).exists()


def test_a_journal_is_private_and_holds_no_secret(ring: Keyring, docker_config: Path) -> None:
    """Caught as it appears: mode 0600, no secret in it; removed at the end."""
    seed_file(docker_config)
    proc = start_migrate(HELPER)
    seen: list[tuple[int, bytes]] = []

    def grab() -> bool:
        try:
            seen.append((journal(docker_config).stat().st_mode & 0o777, journal(docker_config).read_bytes()))
        except FileNotFoundError:
            return False
        return True

    wait_for(grab, proc)
    code, err = finish(proc)
    assert code == 0, err
    assert seen, "the journal was never seen"
    mode, body = seen[0]
    assert mode == 0o600
    for secret in SECRETS:
        assert secret.encode() not in body
    assert not journal(docker_config).exists()
    assert audit(docker_config, ring, SEEDED) == []
