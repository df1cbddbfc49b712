"""A migrate journal is acted on only when it proves it is regcred's own (issue 17 #10, #11).

Every run is the installed ``regcred`` against the real gnome-keyring, through
our docker-credential-regcred-secretservice.  The planted journals are what an
attacker (or a restored backup) leaves beside config.json; the genuine ones are
written by regcred's own :class:`~regcred._tools.migrate_journal.Journal` under
the migrate lock, as a migrate killed with SIGKILL leaves them.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from regcred import _config, get_credentials, store_credentials
from regcred._tools.migrate_journal import Journal, MigrateLock
from tests.conftest import VENV_BIN, installed_helper
from tests.fixtures import processes

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.keyring import Keyring

HELPER = "regcred-secretservice"
KEYS = ("r0.example", "r1.example", "r2.example")
SECRETS = {key: f"journal-secret-{key}" for key in KEYS}


@pytest.fixture
def ring(keyring: Keyring, docker_config: Path, monkeypatch: pytest.MonkeyPatch) -> Keyring:
    """config.json with ``credsStore: regcred-secretservice`` and three keys in the real keyring."""
    installed_helper("secretservice")
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    _config.update(docker_config, lambda c: c.set_creds_store(HELPER))
    for key in KEYS:
        store_credentials(key, "user-" + key, SECRETS[key])
    assert servers(keyring) == sorted(KEYS)
    return keyring


def servers(keyring: Keyring) -> list[str]:
    return sorted(attrs["server"] for _, attrs in keyring.items())


def journal(config_path: Path) -> Path:
    return config_path.with_name(config_path.name + ".migrate-journal")


def regcred(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    done = processes.regcred(*args, timeout=timeout)
    shown = done.stderr if args[0] in {"get", "export"} else done.stdout + done.stderr  # those print it
    for secret in SECRETS.values():
        assert secret not in shown
    assert "Traceback" not in done.stderr, done.stderr
    return done


def plant(config_path: Path, doc: dict[str, Any]) -> bytes:
    """Write ``doc`` at the journal's path as an attacker would: 0600, our own uid."""
    path = journal(config_path)
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    return path.read_bytes()


def genuine(config_path: Path, target: str, moves: list[dict[str, Any]]) -> None:
    """A journal as a migrate killed outright leaves it: written by regcred under the migrate lock."""
    lock = MigrateLock(config_path, wait=False)
    assert lock.acquire()
    try:
        Journal.start(config_path, target, moves, lock).write("erasing")
    finally:
        lock.release()


#: The issue's repro, and its variant that erased two other keys.
_FORGERIES = {
    "issue-repro": {
        "regcredMigrate": 1,
        "to": "secretservice",
        "step": "copying",
        "moves": [{"key": "r0.example", "prior": False}],
    },
    "erase-others": {
        "regcredMigrate": 1,
        "to": HELPER,
        "step": "erasing",
        "moves": [
            {
                "key": "r0.example",
                "prior": False,
                "erase": [["secretservice", "r1.example"], ["secretservice", "r2.example"]],
            }
        ],
    },
    # This version's format, with a run id made up (the lock file records none).
    "made-up-run": {
        "regcredMigrate": 2,
        "run": "0" * 32,
        "lock": 1,
        "to": "secretservice",
        "step": "copying",
        "moves": [{"key": "r0.example", "prior": False, "erase": []}],
    },
}


@pytest.mark.parametrize("name", list(_FORGERIES))
def test_a_planted_journal_is_reported_and_never_executed(
    name: str, ring: Keyring, docker_config: Path
) -> None:
    """The issue's repro: a read-only ``regcred list`` used to erase r0 from the keyring.

    No command acts on it: the read-only ones report it in one line, login and
    logout warn and do their own work, migrate refuses to run beside it.
    """
    body = plant(docker_config, _FORGERIES[name])
    done = regcred("list")
    assert done.returncode == 0, done.stderr
    for key in KEYS:
        assert key in done.stdout
    [line] = done.stderr.strip().splitlines()
    assert "regcred did not act on it" in line
    assert servers(ring) == sorted(KEYS)  # was: r0 erased (and, for the variant, r1 and r2)
    for argv in (["get", "r0.example"], ["export", "--format", "config"], ["exec", "--registry", "r0.example",
                 "--", "true"], ["logout", "nobody.example"]):  # fmt: skip
        done = regcred(*argv)
        assert done.stderr.count("regcred did not act on it") == 1, (argv, done.stderr)
    request = '{"kind":"CredentialProviderRequest","apiVersion":"%s","image":"r0.example/app"}'
    kubelet = subprocess.run(
        [str(VENV_BIN / "regcred-kubelet-credential-provider")],
        input=request % "credentialprovider.kubelet.k8s.io/v1",
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert kubelet.returncode == 0, kubelet.stderr
    assert SECRETS["r0.example"] in kubelet.stdout
    done = regcred("doctor")
    assert done.returncode == 1
    assert "broken: " in done.stdout
    assert "regcred did not act on it" in done.stdout
    for argv in (["migrate", "--resume"], ["migrate", "--to", "file"]):
        done = regcred(*argv)
        assert done.returncode == 1, argv
        [line] = done.stderr.strip().splitlines()
        assert "regcred did not act on it" in line
    assert get_credentials("r0.example") is not None
    assert servers(ring) == sorted(KEYS)
    assert journal(docker_config).read_bytes() == body  # not even removed
    assert _config.load(docker_config).creds_store == HELPER


def _copied(path: Path) -> None:
    """The journal and its lock file restored from a copy (a backup, rsync): new files, new inodes."""
    lock = path.with_name(path.name + ".lock")
    for p in (path, lock):
        copy = p.with_name(p.name + ".copy")
        copy.write_bytes(p.read_bytes())
        copy.chmod(0o600)
        copy.rename(p)


def _tamper(path: Path, change: str) -> None:
    doc = json.loads(path.read_text())
    if change == "other-run":
        doc["run"] = "f" * 32
    elif change == "old-format":
        doc["regcredMigrate"] = 1
    elif change == "foreign-erase":  # a source that is not a spelling of the move's key
        doc["moves"][0]["erase"] = [[HELPER, "r1.example"]]
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("forgery", "reason"),
    [
        ("mode-0644", "has mode 0644 (regcred writes it 0600)"),
        ("other-owner", "is owned by uid 4242, not by you"),
        ("copied", "names a run that the migrate lock file does not record"),
        ("other-run", "names a run that the migrate lock file does not record"),
        ("lock-cleared", "names a run that the migrate lock file does not record"),
        ("lock-0644", "names a run that the migrate lock file does not record"),
        ("old-format", "was written by a regcred with another journal format (1)"),
        ("foreign-erase", "is not a regcred migrate journal"),
        ("symlink", "is a symlink, not a regular file"),
    ],
)
def test_each_check_refuses_a_forged_or_copied_journal(
    forgery: str, reason: str, ring: Keyring, docker_config: Path
) -> None:
    """A genuine journal, then one thing changed: ``migrate --resume`` refuses it and erases nothing."""
    path = journal(docker_config)
    genuine(docker_config, "secretservice", [{"key": "r0.example", "prior": False, "erase": []}])
    if forgery == "mode-0644":
        path.chmod(0o644)
    elif forgery == "other-owner":
        if os.geteuid() != 0:
            pytest.skip("chown to another uid needs root")  # CI runs as root: covered there
        os.chown(path, 4242, 4242)
    elif forgery == "copied":
        _copied(path)
    elif forgery == "lock-cleared":
        path.with_name(path.name + ".lock").write_bytes(b"")
    elif forgery == "lock-0644":
        path.with_name(path.name + ".lock").chmod(0o644)
    elif forgery == "symlink":
        real = path.with_name("elsewhere")
        path.rename(real)
        path.symlink_to(real)
    else:
        _tamper(path, forgery)
    done = regcred("migrate", "--resume")
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert reason in line
    assert "regcred did not act on it" in line
    assert servers(ring) == sorted(KEYS)
    assert os.path.lexists(path)


def test_a_genuine_journal_is_settled_and_aliases_are_one_store(ring: Keyring, docker_config: Path) -> None:
    """regcred's own journal "to secretservice" while config.json reads r0 through regcred-secretservice.

    The two names are one keyring: r0's item is the live credential, so settling
    completes the move and erases nothing (it used to erase r0 as an undone copy).
    Only ``migrate --resume`` or a writing command settles it; ``list`` does not.
    """
    genuine(docker_config, "secretservice", [{"key": "r0.example", "prior": False, "erase": []}])
    done = regcred("list")
    assert "an interrupted migrate is pending" in done.stderr
    assert journal(docker_config).exists()
    done = regcred("logout", "nobody.example")
    assert "completed the interrupted migrate of 1 credential(s)" in done.stderr
    assert not journal(docker_config).exists()
    assert servers(ring) == sorted(KEYS)
    assert get_credentials("r0.example") is not None


@pytest.fixture(params=["fifo", "socket", "device"])
def odd_file(
    request: pytest.FixtureRequest, ring: Keyring, docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A FIFO, a listening Unix socket or a character device at the journal's path."""
    path = journal(docker_config)
    kind: str = request.param
    sock = None
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        monkeypatch.chdir(path.parent)  # a relative name: pytest-xdist's tmp paths pass AF_UNIX's 108 bytes
        sock.bind(path.name)
        sock.listen(1)
    else:
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")  # CI runs as root: covered there
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    try:
        yield kind
    finally:
        if sock is not None:
            sock.close()


def test_a_fifo_socket_or_device_journal_hangs_nothing(
    odd_file: str, ring: Keyring, docker_config: Path
) -> None:
    """Issue 17 #11: ``list``, ``get``, ``logout`` and ``exec`` used to block for ever on a FIFO there.

    Refused without being opened, as a non-regular config.json is: one line, the
    command's own work done, the file left where it is.
    """
    described = {"fifo": "a FIFO", "socket": "a socket", "device": "a character device"}[odd_file]
    for argv in (["list"], ["get", "r0.example"], ["logout", "r2.example"],
                 ["exec", "--registry", "r0.example", "--", "true"], ["doctor"]):  # fmt: skip
        done = regcred(*argv, timeout=20)
        assert f"is {described}, not a regular file" in done.stderr, (argv, done.stderr)
        assert done.stderr.count("not a regular file") == 1, (argv, done.stderr)
        assert done.returncode == (1 if argv == ["doctor"] else 0), (argv, done.stderr)
    done = regcred("migrate", "--resume", timeout=20)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert servers(ring) == ["r0.example", "r1.example"]  # r2: logged out, nothing else touched
    assert os.path.lexists(journal(docker_config))


def test_the_migrate_lock_creates_its_directories_0700_under_umask_000(tmp_path: Path) -> None:
    """A migrate lock for a config in a missing directory makes it, and its parents, 0700 (issue 20)."""
    config_path = tmp_path / "a" / "docker" / "config.json"
    lock = MigrateLock(config_path, wait=False)
    old = os.umask(0)
    try:
        assert lock.acquire()
    finally:
        os.umask(old)
        lock.release()
    made = [tmp_path / "a", tmp_path / "a" / "docker"]
    assert [stat.S_IMODE(d.stat().st_mode) for d in made] == [0o700, 0o700]
