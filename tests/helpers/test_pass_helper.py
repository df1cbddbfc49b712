"""The installed docker-credential-regcred-pass against Debian's Go docker-credential-pass.

Both helpers run as real processes on the same real pass store: what
either writes, the other reads, and their ``list`` outputs agree.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import installed_helper, require_program
from tests.fixtures.processes import run

if TYPE_CHECKING:
    from tests.fixtures.passstore import PassEnv

HUB = "https://index.docker.io/v1/"
OURS = "docker-credential-regcred-pass"


@pytest.fixture(scope="module")
def ours() -> str:
    """Path of the installed regcred pass helper (pip install -e . puts it next to python)."""
    return installed_helper("pass")


@pytest.fixture(scope="module")
def go() -> str:
    """Path of Debian's Go pass helper (v0.6.4)."""
    return require_program("docker-credential-pass", "golang-docker-credential-helpers")


def call(helper: str, action: str, env: PassEnv, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``helper action`` on the pass store of ``env``."""
    return run([helper, action], stdin=stdin, env=env.env(), timeout=60, binary=True)


def store(helper: str, env: PassEnv, server: str, username: str, secret: str) -> None:
    """Store one credential through ``helper``; fail the test on error."""
    body = json.dumps({"ServerURL": server, "Username": username, "Secret": secret}).encode()
    done = call(helper, "store", env, body + b"\n")
    assert (done.returncode, done.stdout) == (0, b""), done.stdout + done.stderr


def get(helper: str, env: PassEnv, server: str) -> dict[str, str]:
    """``get`` through ``helper``, decoded."""
    done = call(helper, "get", env, server.encode())
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, str] = json.loads(done.stdout)
    return result


def listing(helper: str, env: PassEnv) -> dict[str, str]:
    """``list`` through ``helper``, decoded."""
    done = call(helper, "list", env, b"unused")
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, str] = json.loads(done.stdout)
    return result


ENTRIES = [
    (HUB, "alice", "s3cr<&>t"),
    ("reg.example:5000", "bob", "p\u00e4ss w\u00f6rd \u2713"),
    ("ghcr.io", "<token>", "eyJhbGciOi.identity.token"),
    ("https://multi.example", "carol", "line one\nline two"),
]


def test_go_reads_what_we_store(pass_env: PassEnv, ours: str, go: str) -> None:
    """Entries stored by regcred read back identically through the Go helper."""
    for server, username, secret in ENTRIES:
        store(ours, pass_env, server, username, secret)
    for server, username, secret in ENTRIES:
        assert get(go, pass_env, server) == {
            "ServerURL": server,
            "Username": username,
            "Secret": secret,
        }
    assert listing(go, pass_env) == listing(ours, pass_env) == {s: u for s, u, _ in ENTRIES}


def test_we_read_what_go_stores(pass_env: PassEnv, ours: str, go: str) -> None:
    """Entries stored by the Go helper read back identically through regcred."""
    for server, username, secret in ENTRIES:
        store(go, pass_env, server, username, secret)
    for server, username, secret in ENTRIES:
        assert get(ours, pass_env, server) == {
            "ServerURL": server,
            "Username": username,
            "Secret": secret,
        }
    assert listing(ours, pass_env) == listing(go, pass_env) == {s: u for s, u, _ in ENTRIES}


def test_trailing_newline_secret(pass_env: PassEnv, ours: str, go: str) -> None:
    """A secret ending in newlines round-trips through regcred; Go reads it trimmed, as always."""
    store(ours, pass_env, "nl.example", "dave", "ends\n\n")
    assert get(ours, pass_env, "nl.example")["Secret"] == "ends\n\n"
    assert get(go, pass_env, "nl.example")["Secret"] == "ends"
    store(go, pass_env, "go-nl.example", "erin", "ends\n")
    assert get(ours, pass_env, "go-nl.example")["Secret"] == get(go, pass_env, "go-nl.example")["Secret"]


def test_70000_byte_secret(pass_env: PassEnv, ours: str, go: str) -> None:
    """A 70,000-byte token, which Go's store rejects (64 KiB line limit), works and Go reads it."""
    token = "eyJ" + "A" * 69_997
    body = json.dumps({"ServerURL": "big.example", "Username": "<token>", "Secret": token}).encode()
    assert call(go, "store", pass_env, body).stdout == b"bufio.Scanner: token too long\n"
    store(ours, pass_env, "big.example", "<token>", token)
    assert get(ours, pass_env, "big.example")["Secret"] == token
    assert get(go, pass_env, "big.example")["Secret"] == token


def test_store_replaces_go_entries_of_other_usernames(pass_env: PassEnv, ours: str, go: str) -> None:
    """Go leaves several usernames per server; a regcred store leaves exactly one."""
    store(go, pass_env, "reg.example", "alice", "one")
    store(go, pass_env, "reg.example", "zed", "two")
    store(ours, pass_env, "reg.example", "mallory", "three")
    assert get(go, pass_env, "reg.example")["Username"] == "mallory"
    assert listing(go, pass_env) == {"reg.example": "mallory"}


def test_erase_is_seen_by_both(pass_env: PassEnv, ours: str, go: str) -> None:
    """An erase by either helper removes the entry for both."""
    store(go, pass_env, "a.example", "alice", "1")
    store(ours, pass_env, "b.example", "bob", "2")
    assert call(ours, "erase", pass_env, b"a.example").returncode == 0
    assert call(go, "erase", pass_env, b"b.example").returncode == 0
    assert listing(go, pass_env) == listing(ours, pass_env) == {}
    done = call(ours, "get", pass_env, b"b.example")
    assert (done.returncode, done.stdout) == (1, b"credentials not found in native keychain\n")


def test_erase_missing_succeeds_unlike_go(pass_env: PassEnv, ours: str, go: str) -> None:
    """Erasing a missing entry is a success for regcred (Go 0.6.4 exits 1)."""
    assert call(go, "erase", pass_env, b"never.example").returncode == 1
    done = call(ours, "erase", pass_env, b"never.example")
    assert (done.returncode, done.stdout) == (0, b"")


def test_installed_helper_transcript(pass_env: PassEnv, ours: str) -> None:
    """The console script speaks the protocol: version, not-found, unknown action."""
    done = call(ours, "version", pass_env)
    assert done.returncode == 0
    assert done.stdout.startswith(f"{OURS} (regcred) v".encode())
    done = call(ours, "get", pass_env, b"missing.example")
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        b"credentials not found in native keychain\n",
        b"",
    )
    done = call(ours, "frobnicate", pass_env)
    assert (done.returncode, done.stdout) == (1, f"{OURS}: unknown action: frobnicate\n".encode())


def test_program_name_follows_the_link(pass_env: PassEnv, ours: str, tmp_path: Path) -> None:
    """Installed as docker-credential-pass (a symlink), messages use that name."""
    link = tmp_path / "docker-credential-pass"
    link.symlink_to(ours)
    done = call(str(link), "bogus", pass_env)
    assert done.stdout == b"docker-credential-pass: unknown action: bogus\n"


def test_uninitialized_store(pass_env: PassEnv, ours: str) -> None:
    """No .gpg-id: get says not found plus a stderr hint; store fails with `pass init` advice."""
    (pass_env.store_dir / ".gpg-id").unlink()
    done = call(ours, "get", pass_env, b"reg.example")
    assert (done.returncode, done.stdout) == (1, b"credentials not found in native keychain\n")
    assert b"pass init" in done.stderr
    assert done.stderr.count(b"\n") == 1
    body = b'{"ServerURL":"reg.example","Username":"u","Secret":"s"}'
    done = call(ours, "store", pass_env, body)
    assert done.returncode == 1
    assert b"run `pass init <gpg-id>`" in done.stdout
    assert done.stdout.count(b"\n") == 1


@pytest.mark.slow
def test_concurrent_processes_on_distinct_keys(pass_env: PassEnv, ours: str) -> None:
    """32 concurrent helpers storing, reading and erasing distinct keys lose nothing."""
    count = 32
    servers = [f"reg{i}.example" for i in range(count)]

    def run_all(jobs: list[tuple[str, bytes]]) -> list[tuple[int, bytes]]:
        """Start every (action, stdin) job at once, then collect (exit code, output)."""
        procs = [
            subprocess.Popen(
                [ours, action],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=pass_env.env(),
            )
            for action, _ in jobs
        ]
        results = []
        for proc, (_, payload) in zip(procs, jobs, strict=True):
            out, err = proc.communicate(payload, timeout=120)
            results.append((proc.returncode, out + err))
        return results

    def body(server: str, user: str) -> bytes:
        secret = f"pw-{server}-{user}"
        return json.dumps({"ServerURL": server, "Username": user, "Secret": secret}).encode()

    results = run_all([("store", body(s, "first")) for s in servers])
    assert all(code == 0 for code, _ in results), results
    # Then, all at once: half the keys change username, the other half are erased,
    # and the first round is read back.
    results = run_all(
        [("store", body(s, "second")) for s in servers[::2]] + [("erase", s.encode()) for s in servers[1::2]]
    )
    assert all(code == 0 for code, _ in results), results
    gotten = run_all([("get", s.encode()) for s in servers[::2]])
    for (code, out), server in zip(gotten, servers[::2], strict=True):
        assert code == 0, out
        assert json.loads(out) == {
            "ServerURL": server,
            "Username": "second",
            "Secret": f"pw-{server}-second",
        }
    assert listing(ours, pass_env) == dict.fromkeys(servers[::2], "second")
    for server in servers[::2]:
        assert [p.name for p in (pass_env.folder / _b64(server)).iterdir()] == ["second.gpg"]
    leftovers = [p.name for p in pass_env.folder.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temp or lock files left in the password store


def _b64(server: str) -> str:
    import base64

    return base64.urlsafe_b64encode(server.encode()).decode()


@pytest.mark.slow
def test_concurrent_stores_of_one_server_leave_exactly_one(pass_env: PassEnv, ours: str) -> None:
    """16 helpers storing one server under different usernames at once leave one whole entry."""
    procs = []
    for i in range(16):
        body = {"ServerURL": "race.example", "Username": f"user{i:02}", "Secret": f"secret{i:02}"}
        proc = subprocess.Popen(
            [ours, "store"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=pass_env.env(),
        )
        procs.append((proc, json.dumps(body).encode()))
    for proc, payload in procs:
        out, err = proc.communicate(payload, timeout=120)
        assert proc.returncode == 0, out + err
    entries = list((pass_env.folder / _b64("race.example")).iterdir())
    assert len(entries) == 1
    got = get(ours, pass_env, "race.example")
    assert entries[0].name == f"{got['Username']}.gpg"
    assert got["Secret"] == got["Username"].replace("user", "secret")


#: Inputs beyond test_protocol's list: Go's scanner joins lines; bytes that are not UTF-8.
_MORE_BAD_STORES = [
    b'{"ServerURL":\n1}\n',
    b'{"ServerURL":"r",\r\n"Username":\n"u"',
    b"\xff",
    b'{"\xff":1 2}',
    b'{"ServerURL":"r\xff","Username":5}',
    b"[[[]]",
    b'{"ServerURL":"r","Username":""} trailing',  # the first value only: "no credentials username"
    b"\t\n{}",
    b"-",
    b"01",
    b'{"a":1e}',
    b'{"a":"\\ud800"',
]


def test_store_errors_are_the_go_helpers_byte_for_byte(pass_env: PassEnv, ours: str, go: str) -> None:
    """What docker shows of a failed store (stdout, exit status) is the Go helper's, for every bad input.

    This is what keeps the Go-error half of regcred.helpers._godecode: docker prints the
    helper's stdout in its error ("error storing credentials - err: exit status 1, out: `…`").
    """
    from tests.helpers.test_protocol import GO_STORE_ERRORS

    inputs = [stdin for stdin, _ in GO_STORE_ERRORS] + _MORE_BAD_STORES
    differ = []
    for stdin in inputs:
        theirs, mine = call(go, "store", pass_env, stdin), call(ours, "store", pass_env, stdin)
        if (mine.returncode, mine.stdout) != (theirs.returncode, theirs.stdout):
            differ.append((stdin[:40], theirs.returncode, theirs.stdout, mine.returncode, mine.stdout))
    assert differ == []
    assert listing(go, pass_env) == {}  # none of them stored anything
