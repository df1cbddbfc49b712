"""The suite's shared set-up: one fake helper, one PATH fixture, one config seeder, one runner.

The first test keeps the copies from coming back (issue 20: they were made
four, two, six and ten times); the others check that each shared piece does
what its docstring says, since every test file now leans on it.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

import regcred
from regcred.credentials import Credentials
from regcred.errors import CredentialsNotFoundError, HelperError
from regcred.stores.helper import HelperStore
from tests.fixtures.config_files import write_config
from tests.fixtures.processes import regcred as regcred_cli
from tests.fixtures.processes import run
from tests.fixtures.programs import fake_helper, helper_script

TESTS = Path(__file__).parent

#: A function of this name is a copy of a shared piece; only its home may define it.
SHARED = {
    "bin_dir": "fixtures/programs.py",
    "helpers": "fixtures/programs.py",  # test_lookup's bin_dir
    "fake_helper": "fixtures/programs.py",
    "_fake_helper": "fixtures/programs.py",
    "portable_helper": "fixtures/programs.py",
    "write_config": "fixtures/config_files.py",
}


def test_no_copy_of_a_shared_fixture() -> None:
    """bin_dir, the fake helper and the config seeder are defined once, in tests/fixtures."""
    copies = [
        f"{where}: def {node.name} (use tests/{SHARED[node.name]})"
        for path in sorted(TESTS.rglob("*.py"))
        for where in [path.relative_to(TESTS).as_posix()]
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and SHARED.get(node.name, where) != where
    ]
    assert copies == []


def test_fake_helper_is_a_store_with_failure_modes(bin_dir: Path) -> None:
    """fake_helper stores, reads back, lists and erases; each mode fails as named."""
    state = fake_helper(bin_dir, "vault", {"old.example": ("olga", "o-secret")})
    store = HelperStore("vault")
    store.store(Credentials("reg.example", "alice", "a-secret"))
    assert store.get("reg.example") == Credentials("reg.example", "alice", "a-secret")
    assert store.list() == {"old.example": "olga", "reg.example": "alice"}
    store.erase("old.example")
    assert json.loads(state.read_text()) == {"reg.example": ["alice", "a-secret"]}
    with pytest.raises(CredentialsNotFoundError):
        store.get("old.example")
    fake_helper(bin_dir, "sealed", mode="fail-store")
    with pytest.raises(HelperError, match="the vault is sealed"):
        HelperStore("sealed").store(Credentials("reg.example", "alice", "a-secret"))
    fake_helper(bin_dir, "liar", {"reg.example": ("alice", "a-secret")}, mode="lie")
    assert HelperStore("liar").get("reg.example").secret == "a-secret-tampered"
    with pytest.raises(ValueError, match="unknown fake helper mode"):
        fake_helper(bin_dir, "x", mode="typo")


def test_fake_helper_lists_what_it_does_not_hold_and_runs_a_hook_on_get(bin_dir: Path) -> None:
    """``listed`` keys are listed but not found; ``before_get`` runs first on each get, with db and save()."""
    fake_helper(bin_dir, "ghost", {"kept.example": ("kim", "k-secret")}, listed={"gone.example": "gus"})
    store = HelperStore("ghost")
    assert store.list() == {"gone.example": "gus", "kept.example": "kim"}
    with pytest.raises(CredentialsNotFoundError):
        store.get("gone.example")
    state = fake_helper(
        bin_dir, "racer", {"a.example": ("ann", "a-secret")}, before_get="db.pop(data, None); save()"
    )
    with pytest.raises(CredentialsNotFoundError):
        HelperStore("racer").get("a.example")
    assert json.loads(state.read_text()) == {}


def test_bin_dir_comes_first_on_path(bin_dir: Path) -> None:
    """A helper_script in bin_dir is the one found, and our own helpers are on PATH too."""
    helper_script(bin_dir, "regcred-pass", "echo shadow\n", sh=True)
    assert os.environ["PATH"].split(os.pathsep)[0] == str(bin_dir)
    done = run(["docker-credential-regcred-pass", "list"])
    assert (done.returncode, done.stdout) == (0, "shadow\n")
    assert run(["docker-credential-regcred-secretservice", "version"]).returncode == 0


def test_write_config_is_what_docker_writes(docker_config: Path) -> None:
    """(user, secret) becomes docker's base64 auth; raw entries and top-level keys pass through."""
    data = write_config(
        docker_config,
        {"reg.example": ("alice", "pw:with:colons"), "tok.example": {"identitytoken": "rt"}},
        credHelpers={"helper.example": "nowhere"},
    )
    assert json.loads(data) == {
        "auths": {
            "reg.example": {"auth": "YWxpY2U6cHc6d2l0aDpjb2xvbnM="},
            "tok.example": {"identitytoken": "rt"},
        },
        "credHelpers": {"helper.example": "nowhere"},
    }
    creds = regcred.get_credentials("reg.example")
    assert creds is not None
    assert (creds.username, creds.secret) == ("alice", "pw:with:colons")
    assert json.loads(write_config(docker_config, credsStore="x")) == {"credsStore": "x"}


def test_run_feeds_stdin_or_dev_null(tmp_path: Path) -> None:
    """Without stdin the program reads /dev/null; text is UTF-8; binary is bytes; env adds or replaces."""
    assert run(["cat"]).stdout == ""
    assert run(["cat"], stdin="ü\n").stdout == "ü\n"
    assert run(["cat"], stdin=b"\xff", binary=True).stdout == b"\xff"
    assert run(["sh", "-c", 'echo "$X"'], extra_env={"X": "added"}).stdout == "added\n"
    assert run(["/usr/bin/env"], env={"ONLY": "1"}).stdout == "ONLY=1\n"
    done = regcred_cli("--config", str(tmp_path / "none"), "list", "--json")
    assert (done.returncode, done.stdout.strip()) == (0, "{}"), done.stderr
