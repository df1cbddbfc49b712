"""PassStore against a real pass store and real gpg keys."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred.credentials import Credentials
from regcred.errors import ConfigError, CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores.pass_ import (
    PassStore,
    decode_server,
    decode_username,
    encode_server,
    encode_username,
)
from regcred.testing import StoreContract
from tests.conftest import installed_helper

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.passstore import PassEnv

HUB = "https://index.docker.io/v1/"


def b64(server: str) -> str:
    """Go's base64.URLEncoding of ``server``."""
    return base64.urlsafe_b64encode(server.encode()).decode()


class TestPassStore(StoreContract):
    """The shared store contract, on a real pass store."""

    @pytest.fixture
    def store(self, pass_env: PassEnv) -> PassStore:
        """A PassStore on a fresh, initialized pass store."""
        return PassStore()


# --- encoding ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "name"),
    [("https://a.example/v1/", "aHR0cHM6Ly9hLmV4YW1wbGUvdjEv"), ("b.example", "Yi5leGFtcGxl")],
)
def test_server_encoding_matches_go(server: str, name: str) -> None:
    """Directory names are Go's padded base64url (values from the reference)."""
    assert encode_server(server) == name
    assert decode_server(name) == server


@pytest.mark.parametrize("name", ["not base64!", "Yi5leGFtcGxl=", "abc", "a+b/", ".regcred.lock"])
def test_decode_server_rejects_non_base64url(name: str) -> None:
    """Names that Go's URLEncoding would reject decode to None."""
    assert decode_server(name) is None


@pytest.mark.parametrize(
    ("username", "name"),
    [
        ("alice", "alice"),
        ("50%off", "50%off"),
        ("a/b", "a%2Fb"),
        ("a/../b", "a%2F..%2Fb"),
        ("nul\0", "nul%00"),
        ("lit%2Fral", "lit%252Fral"),
        ("x/100%", "x%2F100%25"),
    ],
)
def test_username_encoding(username: str, name: str) -> None:
    """Only usernames that need it are percent-encoded, and decoding inverts it."""
    assert encode_username(username) == name
    assert decode_username(name) == username
    assert "/" not in name
    assert "\0" not in name


# --- layout -------------------------------------------------------------------


def test_layout_is_the_go_helpers(pass_env: PassEnv) -> None:
    """An entry is <folder>/<base64url(server)>/<username>.gpg, 0600 in a 0700 dir."""
    PassStore().store(Credentials(HUB, "alice", "pw"))
    entry = pass_env.folder / b64(HUB) / "alice.gpg"
    assert sorted(p.name for p in pass_env.folder.iterdir() if not p.name.startswith(".")) == [b64(HUB)]
    assert [p.name for p in entry.parent.iterdir()] == ["alice.gpg"]
    assert entry.stat().st_mode & 0o777 == 0o600
    assert entry.parent.stat().st_mode & 0o777 == 0o700
    assert pass_env.gnupg.run("--decrypt", str(entry)).stdout == b"pw\n"


def test_pass_show_reads_what_we_write(pass_env: PassEnv) -> None:
    """`pass show` prints the secret as pass users expect (one trailing newline)."""
    PassStore().store(Credentials("reg.example", "bob", "s3cr\u00e9t"))
    done = pass_env.pass_("show", f"docker-credential-helpers/{b64('reg.example')}/bob")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "s3cr\u00e9t\n".encode()


@pytest.mark.parametrize(
    ("insert_args", "stdin", "expected"),
    [
        (("-m",), b"raw-go-style", "raw-go-style"),  # the Go helper: insert -f -m
        (("-m",), b"two\nlines", "two\nlines"),
        (("-e",), b"echo-style\n", "echo-style"),  # pass insert -e adds "\n"
    ],
)
def test_reads_what_pass_insert_writes(
    pass_env: PassEnv, insert_args: tuple[str, ...], stdin: bytes, expected: str
) -> None:
    """Entries written by `pass insert` (as the Go helper or a user does) read back."""
    path = f"docker-credential-helpers/{b64('reg.example')}/carol"
    done = pass_env.pass_("insert", "-f", *insert_args, path, stdin=stdin)
    assert done.returncode == 0, done.stderr
    got = PassStore().get("reg.example")
    assert (got.username, got.secret) == ("carol", expected)


def test_gpg_id_recipients_all_lines(pass_env: PassEnv) -> None:
    """Every key listed in .gpg-id (comments and blank lines ignored) is a recipient."""
    gpg = pass_env.gnupg
    first, second = gpg.fingerprints
    (pass_env.store_dir / ".gpg-id").write_text(f"{first}  # me\n\n# laptop\n{second}\n")
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    entry = pass_env.folder / b64("reg.example") / "alice.gpg"
    assert gpg.recipients(entry) == gpg.subkey_ids(first) | gpg.subkey_ids(second)


def test_nearest_gpg_id_wins(pass_env: PassEnv) -> None:
    """A .gpg-id in docker-credential-helpers/ (pass init -p) overrides the root's."""
    gpg = pass_env.gnupg
    done = pass_env.pass_("init", "-p", "docker-credential-helpers", gpg.fingerprints[1])
    assert done.returncode == 0, done.stderr
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    entry = pass_env.folder / b64("reg.example") / "alice.gpg"
    assert gpg.recipients(entry) == gpg.subkey_ids(gpg.fingerprints[1])


def test_password_store_key_overrides_gpg_id(pass_env: PassEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """PASSWORD_STORE_KEY replaces .gpg-id, as in pass."""
    gpg = pass_env.gnupg
    monkeypatch.setenv("PASSWORD_STORE_KEY", gpg.fingerprints[1])
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    entry = pass_env.folder / b64("reg.example") / "alice.gpg"
    assert gpg.recipients(entry) == gpg.subkey_ids(gpg.fingerprints[1])


def test_password_store_key_without_a_store_dir(
    pass_uninitialized: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PASSWORD_STORE_KEY, no pass init is needed; the store directory is created."""
    store_dir = pass_uninitialized / "not-yet"
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(store_dir))
    monkeypatch.setenv("PASSWORD_STORE_KEY", "test1@regcred.invalid")
    PassStore().store(Credentials("reg.example", ".", "pw"))
    assert (store_dir / "docker-credential-helpers" / b64("reg.example") / "..gpg").is_file()
    assert PassStore().get("reg.example").username == "."


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_store_directories_are_0700_whatever_the_umask(
    pass_uninitialized: Path, monkeypatch: pytest.MonkeyPatch, umask: int
) -> None:
    """Every directory a store creates (store dir, its missing parents, folder, server) is 0700 (issue 20)."""
    store_dir = pass_uninitialized / "a" / "b" / "store"
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(store_dir))
    monkeypatch.setenv("PASSWORD_STORE_KEY", "test1@regcred.invalid")
    old = os.umask(umask)
    try:
        PassStore().store(Credentials("reg.example", "alice", "pw"))
    finally:
        os.umask(old)
    folder = store_dir / "docker-credential-helpers"
    made = [
        pass_uninitialized / "a",
        pass_uninitialized / "a" / "b",
        store_dir,
        folder,
        folder / b64("reg.example"),
    ]
    assert {str(d): d.stat().st_mode & 0o777 for d in made} == {str(d): 0o700 for d in made}
    assert PassStore().get("reg.example").secret == "pw"


def test_unknown_recipient_is_a_clear_error(pass_env: PassEnv) -> None:
    """A .gpg-id naming a key we do not have fails with the recipient, not gpg noise."""
    (pass_env.store_dir / ".gpg-id").write_text("nobody@regcred.invalid\n")
    with pytest.raises(CredentialStoreError, match=r"cannot encrypt to nobody@regcred\.invalid"):
        PassStore().store(Credentials("reg.example", "alice", "pw"))
    assert not (pass_env.folder / b64("reg.example")).exists()


# --- usernames with slashes -------------------------------------------------------


def test_slash_username_is_one_flat_file(pass_env: PassEnv) -> None:
    """A username with '/' is a single percent-encoded file, never nested directories."""
    PassStore().store(Credentials("reg.example", "team/ci", "pw"))
    server_dir = pass_env.folder / b64("reg.example")
    assert [p.name for p in server_dir.iterdir()] == ["team%2Fci.gpg"]
    assert PassStore().get("reg.example").username == "team/ci"
    assert PassStore().list() == {"reg.example": "team/ci"}


def test_reads_the_go_helpers_nested_layout(pass_env: PassEnv) -> None:
    """An entry the Go helper nested (a/b.gpg) reads back as username 'a/b'."""
    path = f"docker-credential-helpers/{b64('reg.example')}/a/b"
    assert pass_env.pass_("insert", "-f", "-m", path, stdin=b"nested").returncode == 0
    got = PassStore().get("reg.example")
    assert (got.username, got.secret) == ("a/b", "nested")
    assert PassStore().list() == {"reg.example": "a/b"}


def test_store_replaces_the_nested_layout(pass_env: PassEnv) -> None:
    """Storing again removes the Go helper's nested entry and its directory."""
    path = f"docker-credential-helpers/{b64('reg.example')}/a/b"
    assert pass_env.pass_("insert", "-f", "-m", path, stdin=b"old").returncode == 0
    PassStore().store(Credentials("reg.example", "a/b", "new"))
    server_dir = pass_env.folder / b64("reg.example")
    assert [p.name for p in server_dir.iterdir()] == ["a%2Fb.gpg"]
    assert PassStore().get("reg.example").secret == "new"


# --- list, erase -----------------------------------------------------------------


def test_list_skips_what_is_not_an_entry(pass_env: PassEnv) -> None:
    """Non-base64 dirs, plain files and empty server dirs are skipped, not fatal."""
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    (pass_env.folder / "not base64!").mkdir()
    (pass_env.folder / "docker-pass-initialized-check.gpg").write_bytes(b"legacy")
    (pass_env.folder / b64("empty.example")).mkdir()
    (pass_env.folder / b64("junk.example")).mkdir()
    (pass_env.folder / b64("junk.example") / "README").write_text("not an entry")
    assert PassStore().list() == {"reg.example": "alice"}
    with pytest.raises(CredentialsNotFoundError):
        PassStore().get("junk.example")


def test_list_runs_no_gpg(pass_env: PassEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """list reads directory names only: it works with gpg gone."""
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    monkeypatch.setenv("REGCRED_GPG", "/nonexistent/gpg")
    assert PassStore().list() == {"reg.example": "alice"}


def test_erase_keeps_other_servers(pass_env: PassEnv) -> None:
    """Erase removes one server's directory and nothing else."""
    store = PassStore()
    store.store(Credentials("a.example", "alice", "1"))
    store.store(Credentials("b.example", "bob", "2"))
    store.erase("a.example")
    assert not (pass_env.folder / b64("a.example")).exists()
    assert store.list() == {"b.example": "bob"}


def test_erase_missing_on_empty_store(pass_uninitialized: Path) -> None:
    """Erasing from a store that was never initialized succeeds (logout must not fail)."""
    PassStore().erase("reg.example")


def test_explicit_root(pass_env: PassEnv, tmp_path: Path) -> None:
    """PassStore(root) uses that store, whatever PASSWORD_STORE_DIR says."""
    PassStore(pass_env.store_dir).store(Credentials("reg.example", "alice", "pw"))
    assert PassStore(str(pass_env.store_dir)).list() == {"reg.example": "alice"}
    assert PassStore(tmp_path / "elsewhere").folder.endswith("elsewhere/docker-credential-helpers")


# --- unavailable backends ------------------------------------------------------------


def test_not_initialized(pass_uninitialized: Path) -> None:
    """Without .gpg-id: store, get, list and check() say to run `pass init`."""
    store = PassStore()
    with pytest.raises(StoreUnavailableError, match=r"not initialized: run `pass init <gpg-id>`"):
        store.store(Credentials("reg.example", "alice", "pw"))
    with pytest.raises(StoreUnavailableError, match="pass init"):
        store.get("reg.example")
    with pytest.raises(StoreUnavailableError, match="pass init"):
        store.list()
    with pytest.raises(StoreUnavailableError, match="pass init"):
        PassStore.check()
    assert list(pass_uninitialized.iterdir()) == []


def test_check_passes_when_usable(pass_env: PassEnv) -> None:
    """check() is silent for an initialized store with gpg installed."""
    PassStore.check()


def test_gpg_missing(pass_env: PassEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no gpg, get of an existing entry and check() name the package to install."""
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    monkeypatch.setenv("REGCRED_GPG", "/nonexistent/gpg")
    with pytest.raises(StoreUnavailableError, match="gpg is not installed"):
        PassStore().get("reg.example")
    with pytest.raises(StoreUnavailableError, match="gpg is not installed"):
        PassStore.check()


@pytest.fixture
def empty_gnupg_home() -> Iterator[Path]:
    """A GnuPG home with no keys at all."""
    home = Path(tempfile.mkdtemp(prefix="rc-nokey-", dir="/tmp"))
    try:
        yield home
    finally:
        env = {**os.environ, "GNUPGHOME": str(home)}
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, timeout=30)
        subprocess.run(["rm", "-rf", str(home)], check=False, timeout=30)


def test_missing_secret_key(
    pass_env: PassEnv, empty_gnupg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry encrypted to a key we lack fails with 'no secret key', no secret shown."""
    PassStore().store(Credentials("reg.example", "alice", "do-not-print"))
    monkeypatch.setenv("GNUPGHOME", str(empty_gnupg_home))
    with pytest.raises(StoreUnavailableError, match="no secret key") as info:
        PassStore().get("reg.example")
    assert "do-not-print" not in str(info.value)
    assert "\n" not in str(info.value)


@pytest.fixture(scope="module")
def locked_key_home() -> Iterator[Path]:
    """A GnuPG home (made once: key generation is slow) with one passphrase-protected key."""
    home = Path(tempfile.mkdtemp(prefix="rc-locked-", dir="/tmp"))
    env = {**os.environ, "GNUPGHOME": str(home)}
    try:
        subprocess.run(
            [
                *("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "hunter2"),
                *("--quick-gen-key", "locked <locked@regcred.invalid>", "future-default", "default", "never"),
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield home
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, timeout=30)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def locked_store(
    locked_key_home: Path, empty_gnupg_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A pass store holding reg.example, encrypted to the locked key; its agent has no passphrase cached."""
    shutil.copytree(
        locked_key_home, empty_gnupg_home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("S.*")
    )
    store_dir = tmp_path / "locked-store"
    store_dir.mkdir()
    (store_dir / ".gpg-id").write_text("locked@regcred.invalid\n")
    monkeypatch.setenv("GNUPGHOME", str(empty_gnupg_home))  # a copy: a fresh agent, nothing cached
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(store_dir))
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    return store_dir


def test_locked_key_fails_fast_without_a_prompt(locked_store: Path) -> None:
    """A passphrase-protected key with nobody to ask fails at once, never hangs."""
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="locked"):
        PassStore().get("reg.example")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "env",
    [
        {"DISPLAY": ":99"},
        {"DISPLAY": ":99", "GPG_TTY": "/dev/null"},
        {"GPG_TTY": "/dev/null"},
        {"GPG_TTY": "/dev/pts/999999"},
        {"WAYLAND_DISPLAY": "wayland-99"},
    ],
    ids=lambda env: ",".join(f"{k}={v}" for k, v in env.items()),
)
def test_locked_key_when_no_pinentry_can_ask(
    locked_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    """GPG_TTY or DISPLAY set with no terminal or server behind it: one clear line, not gpg-agent's wait.

    The timeout is raised to 120 s, so a run that waited for a pinentry would
    end with the timeout message instead of this one.
    """
    monkeypatch.setenv("REGCRED_GPG_TIMEOUT", "120")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no wayland-99 socket in it
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StoreUnavailableError, match="the key is locked and no pinentry can ask here") as info:
        PassStore().get("reg.example")
    message = str(info.value)
    assert "did not finish" not in message
    assert "\n" not in message
    assert "GPG_TTY" in message


def test_locked_key_through_the_helper(locked_store: Path) -> None:
    """The installed pass helper says why on stderr (and answers docker "not found")."""
    env = {**os.environ, "DISPLAY": ":99", "GPG_TTY": "/dev/null", "REGCRED_GPG_TIMEOUT": "120"}
    done = subprocess.run(
        [installed_helper("pass"), "get"],
        input=b"reg.example",
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    err = done.stderr.decode()
    assert "no pinentry can ask here" in err
    assert "did not finish" not in err
    assert "Traceback" not in err
    assert b"hunter2" not in done.stdout + done.stderr


def test_pinentry_detection_sees_real_terminals_and_displays(tmp_path: Path) -> None:
    """A real terminal, a real display socket or a TCP display counts as a pinentry that can ask."""
    import socket

    from regcred.stores import _gpg

    leader, follower = os.openpty()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        assert _gpg._why_no_pinentry({"GPG_TTY": os.ttyname(follower)}) == ""
        listener.bind(str(tmp_path / "wayland-1"))
        listener.listen()
        assert _gpg._why_no_pinentry({"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": str(tmp_path)}) == ""
        assert _gpg._why_no_pinentry({"DISPLAY": f"{tmp_path}/wayland-1:0"}) == ""  # macOS-style path
        assert _gpg._why_no_pinentry({"DISPLAY": "localhost:10.0", "GPG_TTY": "/dev/null"}) == ""
        assert _gpg._why_no_pinentry({"DISPLAY": f"{tmp_path}/none:0"}) != ""
        assert _gpg._why_no_pinentry({"DISPLAY": "garbage"}) != ""
        assert _gpg._why_no_pinentry({}) == "no terminal (GPG_TTY) and no display"
    finally:
        listener.close()
        os.close(leader)
        os.close(follower)


def test_too_long_names_are_rejected(pass_env: PassEnv) -> None:
    """Names that cannot be file names fail with a clear error, storing nothing."""
    with pytest.raises(CredentialStoreError, match="server URL too long"):
        PassStore().store(Credentials("r" * 190, "alice", "pw"))
    with pytest.raises(CredentialStoreError, match="username"):
        PassStore().store(Credentials("reg.example", "u" * 252, "pw"))
    with pytest.raises(CredentialStoreError, match="no credentials username"):
        PassStore().store(Credentials("reg.example", "", "pw"))
    assert PassStore().list() == {}


def test_large_secret_round_trips(pass_env: PassEnv) -> None:
    """A 1 MiB secret (far beyond a pipe buffer) goes through gpg and back intact."""
    secret = "".join(chr(0x41 + i % 26) for i in range(1 << 20))
    PassStore().store(Credentials("big.example", "alice", secret))
    assert PassStore().get("big.example").secret == secret


def test_gpg_timeout_kills_and_reports(pass_env: PassEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """gpg exceeding REGCRED_GPG_TIMEOUT is killed; the error says what to do."""
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    monkeypatch.setenv("REGCRED_GPG_TIMEOUT", "0.001")
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=r"gpg did not finish within 0\.001 s"):
        PassStore().get("reg.example")
    assert time.monotonic() - started < 5
    monkeypatch.setenv("REGCRED_GPG_TIMEOUT", "not a number")
    with pytest.raises(ConfigError, match=r"^REGCRED_GPG_TIMEOUT is not a number"):
        PassStore().get("reg.example")
    monkeypatch.delenv("REGCRED_GPG_TIMEOUT")
    assert PassStore().get("reg.example").secret == "pw"


def test_signed_gpg_id_is_verified(pass_env: PassEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """With PASSWORD_STORE_SIGNING_KEY, .gpg-id must be validly signed (as pass checks)."""
    first = pass_env.gnupg.fingerprints[0]
    monkeypatch.setenv("PASSWORD_STORE_SIGNING_KEY", first)
    with pytest.raises(CredentialStoreError, match=r"signature for .*\.gpg-id does not exist"):
        PassStore().store(Credentials("reg.example", "alice", "pw"))
    done = subprocess.run(
        ["pass", "init", first],
        env={**os.environ},
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr  # pass signs .gpg-id with the signing key
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    gpg_id = pass_env.store_dir / ".gpg-id"
    gpg_id.write_text(gpg_id.read_text() + pass_env.gnupg.fingerprints[1] + "\n")  # tamper
    with pytest.raises(CredentialStoreError, match="is invalid"):
        PassStore().store(Credentials("reg.example", "alice", "pw2"))
    assert PassStore().get("reg.example").secret == "pw"


def test_store_waits_for_the_folder_lock(pass_env: PassEnv) -> None:
    """store renames and cleans up only under the flock on docker-credential-helpers/."""
    import fcntl
    import threading

    store = PassStore()
    store.store(Credentials("reg.example", "alice", "1"))
    server_dir = pass_env.folder / b64("reg.example")
    fd = os.open(pass_env.folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        worker = threading.Thread(target=store.store, args=(Credentials("reg.example", "bob", "2"),))
        worker.start()
        worker.join(1.5)
        assert worker.is_alive()
        assert [p.name for p in server_dir.iterdir()] == ["alice.gpg"]
    finally:
        os.close(fd)
    worker.join(30)
    assert [p.name for p in server_dir.iterdir()] == ["bob.gpg"]


def test_git_store_commits_like_pass(pass_env: PassEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a git-tracked store, store and erase are committed with pass's messages."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "regcred test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@regcred.invalid")
    done = pass_env.pass_("git", "init")
    assert done.returncode == 0, done.stderr
    PassStore().store(Credentials("reg.example", "alice", "pw"))
    PassStore().erase("reg.example")

    def git(*args: str) -> str:
        command = ["git", "-C", str(pass_env.store_dir), *args]
        return subprocess.run(command, capture_output=True, check=True, timeout=60).stdout.decode()

    entry = f"docker-credential-helpers/{b64('reg.example')}"
    assert git("log", "--format=%s", "-2").splitlines() == [
        f"Remove {entry} from store.",
        f"Add given password for {entry}/alice to store.",
    ]
    assert git("status", "--porcelain") == ""


# A named fake: a gpg that hangs, as one waiting for a pinentry nobody can see.  It records its pid.
_HANGING_GPG = """#!/bin/sh
echo $$ >> "$HANGING_GPG_PIDS"
exec sleep 600
"""


def _gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (gone, or a zombie its new parent has yet to reap)."""
    deadline = time.monotonic() + 30  # a bound on a busy machine, not a measurement
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in {"Z", "X"}:
            return True
        time.sleep(0.05)
    return False


def test_get_stopping_a_pass_helper_whose_gpg_hangs_kills_the_gpg(pass_env: PassEnv, tmp_path: Path) -> None:
    """`regcred get` stops the helper after REGCRED_HELPER_TIMEOUT; the gpg it waited for goes too (#17.15).

    The helper starts gpg in a session of its own, so killing the helper's
    process group alone left gpg running.
    """
    PassStore().store(Credentials("reg.example", "alice", "pw"))  # with the real gpg
    fake = tmp_path / "hanging-gpg"
    fake.write_text(_HANGING_GPG)
    fake.chmod(0o755)
    pids = tmp_path / "gpg-pids"
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text('{"auths": {"reg.example": {}}, "credsStore": "regcred-pass"}')
    env = {
        **pass_env.env(),
        "REGCRED_GPG": str(fake),
        "REGCRED_HELPER_TIMEOUT": "2",
        "HANGING_GPG_PIDS": str(pids),
        "PATH": f"{Path(installed_helper('pass')).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    regcred = str(Path(installed_helper("pass")).parent / "regcred")
    started: list[int] = []
    try:
        done = subprocess.run(
            [regcred, "--config", str(config), "get", "reg.example"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        started = [int(pid) for pid in pids.read_text().split()] if pids.exists() else []
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("\n") == 1
        assert "timed out after 2 s" in done.stderr
        assert started, "the helper never ran gpg"
        assert all(_gone(pid) for pid in started)
    finally:
        for pid in started:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
