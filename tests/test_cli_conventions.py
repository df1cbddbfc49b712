"""docker's and podman's CLI conventions: helpful errors, logout when logged out, --json results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import require_program
from tests.fixtures.processes import regcred

if TYPE_CHECKING:
    from tests.fixtures.registry import Registry


@pytest.mark.parametrize(
    ("typed", "suggested"), [("logn", "login"), ("lgout", "logout"), ("doctr", "doctor"), ("exprt", "export")]
)
def test_mistyped_command_suggests_the_nearest(docker_config: Path, typed: str, suggested: str) -> None:
    """A typo in the command: exit 2, "did you mean", no traceback."""
    done = regcred(typed, "reg.example")
    assert done.returncode == 2
    assert f"unknown command '{typed}': did you mean '{suggested}'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_command_without_a_near_one_lists_the_commands(docker_config: Path) -> None:
    done = regcred("xyzzy")
    assert done.returncode == 2
    assert "(commands: get, list, login, logout," in done.stderr


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["login", "--bogus"], "usage: regcred login "),
        (["logout", "a", "b"], "usage: regcred logout "),
        (["list", "--bogus"], "usage: regcred list "),
        (["export", "--format", "yaml"], "usage: regcred export "),
    ],
)
def test_a_subcommands_error_shows_its_own_usage(docker_config: Path, argv: list[str], usage: str) -> None:
    """A subcommand's own mistake prints that subcommand's usage, not the top level's."""
    done = regcred(*argv)
    assert done.returncode == 2
    assert done.stderr.startswith(usage), done.stderr
    assert f"regcred {argv[0]}: error:" in done.stderr


def test_logout_when_logged_out_exits_0_as_docker_does(docker_config: Path, tmp_path: Path) -> None:
    """docker 28 exits 0 for a logout of nothing; regcred too, one line on stderr, nothing written."""
    docker = require_program("docker", "docker-ce-cli")
    docker_config.parent.mkdir()
    docker_config.write_text('{"auths": {}}')
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"}
    theirs = subprocess.run(
        [docker, "--config", str(docker_config.parent), "logout", "nothing.example"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    ours = regcred("logout", "nothing.example")
    assert (theirs.returncode, ours.returncode) == (0, 0), ours.stderr
    [line] = ours.stderr.splitlines()
    assert line == "regcred: not logged in to nothing.example: nothing was stored, nothing removed"
    assert ours.stdout == ""
    assert docker_config.read_text() == '{"auths": {}}'
    script = subprocess.run(
        ["bash", "-ec", f"{sys.executable} -m regcred logout nothing.example; echo after"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert script.stdout == "after\n"  # a `set -e` clean-up script goes on


def test_logout_all_when_nothing_is_stored_exits_0(docker_config: Path) -> None:
    done = regcred("logout", "--all", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"keys": [], "removed": {}, "revoked": False, "revoke_error": ""}


def test_login_and_logout_json(registry_http: Registry, docker_config: Path) -> None:
    """--json gives login's and logout's result fields, and never the password."""
    done = regcred(
        "login", registry_http.address, "-u", registry_http.username, "--password-stdin", "--json",
        stdin=registry_http.password + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert str(docker_config) in result.pop("store")  # where it went, as -v says it
    assert result == {
        "key": registry_http.address,
        "username": registry_http.username,
        "verified": True,
        "plaintext": True,
        "identity_token": False,
        "reused": False,
    }
    again = regcred("login", registry_http.address, "--json")  # the stored credentials, checked again
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["reused"] is True
    out = regcred("logout", registry_http.address, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "keys": [registry_http.address],
        "removed": {str(docker_config): [registry_http.address]},
        "revoked": False,  # no Docker Hub web sign-in to revoke (tests/test_web_login.py has one)
        "revoke_error": "",
    }
    for text in (done.stdout, done.stderr, again.stdout, again.stderr, out.stdout, out.stderr):
        assert registry_http.password not in text
