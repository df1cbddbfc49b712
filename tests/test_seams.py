"""Issue 17, "one truth at every seam": commands that answer the same question agree.

Each test names the defect of issue 17 it covers and failed before its fix.
Every program here is the real one (the installed ``regcred`` console script,
real config files, our real helpers on real stores); docker and podman
referee the rows in ``tests/test_differential.py``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import regcred
from tests.conftest import VENV_BIN

REGCRED = str(VENV_BIN / "regcred")
SECRET = "seam-secret-\u00fc"


def _auth(username: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``regcred`` with the test's environment (plus ``env``)."""
    return subprocess.run(
        [REGCRED, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


# -- defect 5: [::1] and [fe80::1] without a port --------------------------------------------


@pytest.mark.parametrize("address", ["[::1]", "[fe80::1]"])
def test_bracketed_ipv6_without_port_is_a_registry_for_every_reader(
    docker_config: Path, address: str
) -> None:
    """Defect 5: login/logout accepted ``[::1]``; get, export, exec and get_credentials said "bad tag"."""
    regcred.store_credentials(address, "v6user", SECRET)
    assert json.loads(docker_config.read_text())["auths"][address]  # login's key: the literal itself
    creds = regcred.get_credentials(address)
    assert creds is not None
    assert (creds.server, creds.username, creds.secret) == (address, "v6user", SECRET)
    got = run("get", address)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Username"] == "v6user"
    exported = run("export", "--format", "config", address)
    assert exported.returncode == 0, exported.stderr
    assert list(json.loads(exported.stdout)["auths"]) == [address]
    job = run("exec", "--registry", address, "--", "sh", "-c", 'cat "$DOCKER_CONFIG/config.json"')
    assert job.returncode == 0, job.stderr
    assert list(json.loads(job.stdout)["auths"]) == [address]
    assert regcred.get_credentials(f"{address}/ns/app:1.0") == creds  # an image on it, too


# -- defect 2: doctor lists the keys of a broken store --------------------------------------


def _doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, dict[str, Any]]:
    text = run("doctor", *args, env=env)
    report = run("doctor", "--json", *args, env=env)
    assert text.returncode == report.returncode
    for output in (text.stdout, text.stderr, report.stdout, report.stderr):
        assert SECRET not in output
        assert "Traceback" not in output
    return text.returncode, text.stdout, json.loads(report.stdout)


def _keys_in(report: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    rows = report["credentials"]
    assert isinstance(rows, list)
    return {row["key"]: (row["username"], row["store"], row["state"]) for row in rows}


def test_doctor_lists_the_keys_of_a_pass_store_whose_key_is_missing(
    docker_config: Path, pass_env: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 2: .gpg-id names a key gpg lacks; list shows the entry, doctor said "none stored"."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/bin:/bin")
    regcred.store_credentials("reg.example", "alice", SECRET, store="regcred-pass")
    regcred.store_credentials("other.example", "bob", SECRET, store="regcred-pass")
    empty = tmp_path / "empty-gnupg"
    empty.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty))  # .gpg-id now names a key this gpg does not have
    listed = run("list", "--json")
    assert json.loads(listed.stdout) == {"other.example": "bob", "reg.example": "alice"}
    code, text, report = _doctor()
    assert code == 1
    assert _keys_in(report) == {
        "other.example": ("bob", "helper regcred-pass", "key-missing"),
        "reg.example": ("alice", "helper regcred-pass", "key-missing"),
    }
    assert "none stored" not in text
    assert any(
        line.split()[:4] == ["reg.example", "alice", "helper", "regcred-pass"] for line in text.splitlines()
    )
    assert "[store key-missing]" in text


def test_doctor_lists_the_keys_routed_to_a_secret_service_with_no_bus(docker_config: Path) -> None:
    """Defect 2: no session bus; doctor still shows every key config.json sends to the helper."""
    _write(
        docker_config,
        {
            "auths": {"reg.example": {}, "plain.example": _auth("carol", SECRET)},
            "credsStore": "regcred-secretservice",
            "credHelpers": {
                "reg.example": "regcred-secretservice",
                "pinned.example": "regcred-secretservice",
            },
        },
    )
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    code, text, report = _doctor(env=env)
    assert code == 1
    keys = _keys_in(report)
    assert keys["reg.example"] == ("", "helper regcred-secretservice", "no-bus")
    assert keys["pinned.example"] == ("", "helper regcred-secretservice", "no-bus")
    assert "plain.example" in keys  # the plaintext entry, as before
    assert "[store no-bus]" in text


# -- defect 3: DOCKER_AUTH_CONFIG is one more store, for every reader -------------------------


def test_list_and_doctor_read_docker_auth_config_as_get_does(docker_config: Path) -> None:
    """Defect 3: ``get`` said bob (the variable) while ``list`` said alice (the file)."""
    _write(docker_config, {"auths": {"reg.example": _auth("alice", SECRET)}})
    env = {"DOCKER_AUTH_CONFIG": json.dumps({"auths": {"reg.example": _auth("bob", SECRET)}})}
    got = run("get", "reg.example", env=env)
    assert json.loads(got.stdout)["Username"] == "bob"
    assert json.loads(run("list", "--json", env=env).stdout) == {"reg.example": "bob"}
    rows = json.loads(run("list", "--json", "--sources", env=env).stdout)
    assert rows[0] == {"key": "reg.example", "username": "bob", "source": "docker:$DOCKER_AUTH_CONFIG"}
    table = run("list", env=env).stdout.splitlines()
    assert table[0].split() == ["reg.example", "bob", "docker:$DOCKER_AUTH_CONFIG"]  # get's answer first
    _, text, report = _doctor(env=env)
    assert ("reg.example", "bob", "env") in {
        (c["key"], c["username"], c["store"]) for c in report["credentials"]
    }
    assert any("DOCKER_AUTH_CONFIG is set" in p["message"] for p in report["problems"])
    assert "in $DOCKER_AUTH_CONFIG" in text


@pytest.mark.parametrize("value", ["{not json", "[1]", '{"auths": {"reg.example": {"auth": "!!"}}}'])
def test_an_invalid_docker_auth_config_is_named_as_the_variable(docker_config: Path, value: str) -> None:
    """Defect 3: invalid JSON in the variable got file wording ("fix or move the file")."""
    _write(docker_config, {"auths": {"reg.example": _auth("alice", SECRET)}})
    env = {"DOCKER_AUTH_CONFIG": value}
    for argv in (["get", "reg.example"], ["list"], ["list", "--json"]):
        done = run(*argv, env=env)
        assert done.returncode == 1, argv
        assert done.stderr.count("\n") == 1, done.stderr
        assert "the DOCKER_AUTH_CONFIG environment variable is not valid" in done.stderr
        assert "file" not in done.stderr
        assert "Traceback" not in done.stderr
    code, _, report = _doctor(env=env)
    assert code == 1
    broken = [p["message"] for p in report["problems"] if p["severity"] == "broken"]
    assert any("the DOCKER_AUTH_CONFIG environment variable is not valid" in m for m in broken)
