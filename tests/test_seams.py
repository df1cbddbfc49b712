"""Issue 17, "one truth at every seam": commands that answer the same question agree.

Each test names the defect of issue 17 it covers and failed before its fix.
Every program here is the real one (the installed ``regcred`` console script,
real config files, our real helpers on real stores); docker and podman
referee the rows in ``tests/test_differential.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import regcred
from tests.conftest import VENV_BIN, require_program
from tests.fixtures import processes
from tests.fixtures.config_files import auth_entry, write_config
from tests.fixtures.differential import (
    INVALID,
    Referee,
    containers_env,
    docker_authenticates,
    skopeo_authenticates,
)

SECRET = "seam-secret-\u00fc"


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
    got = processes.regcred("get", address)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Username"] == "v6user"
    exported = processes.regcred("export", "--format", "config", address)
    assert exported.returncode == 0, exported.stderr
    assert list(json.loads(exported.stdout)["auths"]) == [address]
    job = processes.regcred(
        "exec", "--registry", address, "--", "sh", "-c", 'cat "$DOCKER_CONFIG/config.json"'
    )
    assert job.returncode == 0, job.stderr
    assert list(json.loads(job.stdout)["auths"]) == [address]
    assert regcred.get_credentials(f"{address}/ns/app:1.0") == creds  # an image on it, too


# -- defect 2: doctor lists the keys of a broken store --------------------------------------


def _doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, dict[str, Any]]:
    text = processes.regcred("doctor", *args, extra_env=env)
    report = processes.regcred("doctor", "--json", *args, extra_env=env)
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
    listed = processes.regcred("list", "--json")
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
    write_config(
        docker_config,
        {"reg.example": {}, "plain.example": ("carol", SECRET)},
        credsStore="regcred-secretservice",
        credHelpers={
            "reg.example": "regcred-secretservice",
            "pinned.example": "regcred-secretservice",
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
    write_config(docker_config, {"reg.example": ("alice", SECRET)})
    env = {"DOCKER_AUTH_CONFIG": json.dumps({"auths": {"reg.example": auth_entry("bob", SECRET)}})}
    got = processes.regcred("get", "reg.example", extra_env=env)
    assert json.loads(got.stdout)["Username"] == "bob"
    assert json.loads(processes.regcred("list", "--json", extra_env=env).stdout) == {"reg.example": "bob"}
    rows = json.loads(processes.regcred("list", "--json", "--sources", extra_env=env).stdout)
    assert rows[0] == {"key": "reg.example", "username": "bob", "source": "docker:$DOCKER_AUTH_CONFIG"}
    table = processes.regcred("list", extra_env=env).stdout.splitlines()
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
    write_config(docker_config, {"reg.example": ("alice", SECRET)})
    env = {"DOCKER_AUTH_CONFIG": value}
    for argv in (["get", "reg.example"], ["list"], ["list", "--json"]):
        done = processes.regcred(*argv, extra_env=env)
        assert done.returncode == 1, argv
        assert done.stderr.count("\n") == 1, done.stderr
        assert "the DOCKER_AUTH_CONFIG environment variable is not valid" in done.stderr
        assert "file" not in done.stderr
        assert "Traceback" not in done.stderr
    code, _, report = _doctor(env=env)
    assert code == 1
    broken = [p["message"] for p in report["problems"] if p["severity"] == "broken"]
    assert any("the DOCKER_AUTH_CONFIG environment variable is not valid" in m for m in broken)


# -- defect 4 and issue 18's per-repository logins: logout removes what list shows ----------


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "config.json").write_bytes((src / "config.json").read_bytes())
    return dst


def _auth_keys(config_dir: Path) -> set[str]:
    return set(json.loads((config_dir / "config.json").read_text()).get("auths", {}))


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    docker = require_program("docker", "docker-ce-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return subprocess.run(
        [docker, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _podman(root: Path, authfile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    podman = require_program("podman", "podman")
    return subprocess.run(
        [podman, "--events-backend", "none", *args],
        capture_output=True,
        text=True,
        env=containers_env(root, authfile),
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_logout_of_a_repository_removes_its_key_as_docker_logout_does(tmp_path: Path) -> None:
    """Defect 4: ``logout HOST/ns/repo`` left the namespaced key that list shows and get returns."""
    host = "reg.example:5000"
    seeded = tmp_path / "seed"
    write_config(seeded / "config.json", {f"{host}/diff/img": ("alice", SECRET)})
    theirs, ours = _copy(seeded, tmp_path / "docker"), _copy(seeded, tmp_path / "regcred")
    assert _docker("--config", str(theirs), "logout", f"{host}/diff/img").returncode == 0
    assert _auth_keys(theirs) == set()  # the referee: docker removes the namespaced key
    assert json.loads(processes.regcred("--config", str(ours), "list", "--json").stdout) == {
        f"{host}/diff/img": "alice"
    }
    done = processes.regcred("--config", str(ours), "logout", f"{host}/diff/img")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Removing login credentials for {host}/diff/img\n"
    assert _auth_keys(ours) == set()
    assert regcred.get_credentials(f"{host}/diff/img", config_dir=ours) is None


def test_logout_of_a_repository_keeps_the_host_and_other_namespaces_as_podman_does(tmp_path: Path) -> None:
    """What we chose: ``logout HOST/ns/repo`` removes that repository's key only (podman's rule).

    docker also removes the host's key (``ConvertToHostname``): a login to one
    repository would then log out of the whole registry.  podman, whose
    per-repository logins regcred follows, keeps it; the differential row
    logout-path-key-beside-host shows docker's side.
    """
    host = "reg.example:5000"
    seeded = tmp_path / "seed"
    auths = dict.fromkeys((host, f"{host}/diff/img", f"{host}/other"), ("alice", SECRET))
    write_config(seeded / "config.json", auths)
    podmans = _copy(seeded, tmp_path / "podman")
    done = _podman(
        tmp_path / "containers",
        podmans / "config.json",
        "logout",
        "--authfile",
        str(podmans / "config.json"),
        f"{host}/diff/img",
    )
    assert done.returncode == 0, done.stderr
    ours = _copy(seeded, tmp_path / "regcred")
    assert processes.regcred("--config", str(ours), "logout", f"{host}/diff/img").returncode == 0
    assert _auth_keys(ours) == _auth_keys(podmans) == {host, f"{host}/other"}


def test_logout_all_names_the_podman_credentials_that_keep_working(
    docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 4: ``logout --all`` said nothing of podman's credentials; ``logout R`` did."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    podman_file = tmp_path / "xdg" / "containers" / "auth.json"
    write_config(podman_file, {"podman.example": ("pat", SECRET)})
    write_config(docker_config, {"docker.example": ("dan", SECRET)})
    done = processes.regcred("logout", "--all")
    assert done.returncode == 0
    assert done.stdout == "Removing login credentials for docker.example\n"
    assert "podman.example" in done.stderr
    assert "podman logout --all" in done.stderr
    assert done.stderr.count("\n") == 1
    assert SECRET not in done.stderr
    assert (
        json.loads(processes.regcred("get", "podman.example").stdout)["Username"] == "pat"
    )  # still works: said so
    again = processes.regcred("logout", "--all")  # nothing left on docker's side: the same sentence
    assert again.returncode == 0
    assert "podman.example" in again.stderr
    assert "podman logout --all" in again.stderr
    single = processes.regcred("logout", "podman.example")  # as logout R has always said it
    assert "podman logout" in single.stderr


# -- issue 18: per-repository logins -------------------------------------------------------


def _login(config_dir: Path, server: str, user: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [processes.REGCRED, "--config", str(config_dir), "login", "-u", user, "--password-stdin", server],
        input=password,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_login_to_a_repository_stores_its_key_as_podman_does(referee: Referee, tmp_path: Path) -> None:
    """``regcred login HOST/diff/img`` stores that key; docker, skopeo and podman read it; logout drops it."""
    ours, config = tmp_path / "regcred", tmp_path / "regcred" / "config.json"
    done = _login(ours, f"{referee.host}/diff/img", *referee.valid)
    assert done.returncode == 0, done.stderr
    assert "Login Succeeded" in done.stdout
    assert "stored unencrypted" in done.stderr  # in the file, where docker and podman read it: said
    assert f"docker sends these for every repository on {referee.host}" in done.stderr
    assert _auth_keys(ours) == {f"{referee.host}/diff/img"}
    # podman, asked to do the same, writes the same key
    podmans = tmp_path / "podman" / "auth.json"
    root = tmp_path / "containers"
    podman = require_program("podman", "podman")
    argv = [podman, "--events-backend", "none", "login", "--tls-verify=false", "--authfile", str(podmans)]
    pod = subprocess.run(
        [*argv, "-u", referee.valid[0], "--password-stdin", f"{referee.host}/diff/img"],
        input=referee.valid[1],
        capture_output=True,
        text=True,
        env=containers_env(root, podmans),
        timeout=60,
        check=False,
    )
    assert pod.returncode == 0, pod.stderr
    assert set(json.loads(podmans.read_text())["auths"]) == _auth_keys(ours)
    # list shows it, get serves its repository and never another namespace
    assert json.loads(processes.regcred("--config", str(ours), "list", "--json").stdout) == {
        f"{referee.host}/diff/img": "alice"
    }
    found = regcred.get_credentials(f"{referee.host}/diff/img", config_dir=ours)
    assert found is not None
    assert (found.username, found.secret) == referee.valid
    assert regcred.get_credentials(f"{referee.host}/diff/ns/img", config_dir=ours) is None
    assert regcred.get_credentials(referee.host, config_dir=ours) is None
    # the referees, on regcred's file: docker and skopeo authenticate for the repository
    assert docker_authenticates(referee, ours, "diff/img")
    assert skopeo_authenticates(referee, config, "diff/img", root)
    assert not skopeo_authenticates(
        referee, config, "diff/ns/img", root
    )  # containers/image: not that namespace
    assert docker_authenticates(referee, ours, "diff/ns/img")  # docker: any repository there (the note)
    # logout of the same path removes it, and docker is then refused
    out = processes.regcred("--config", str(ours), "logout", f"{referee.host}/diff/img")
    assert out.returncode == 0, out.stderr
    assert _auth_keys(ours) == set()
    assert not docker_authenticates(referee, ours, "diff/img")


def test_login_to_a_repository_is_refused_when_a_helper_holds_the_host(
    referee: Referee, tmp_path: Path
) -> None:
    """docker and podman ask a helper only for the host: a repository's login there would serve nobody."""
    ours = tmp_path / "regcred"
    write_config(ours / "config.json", {}, credsStore="regcred-pass")
    before = (ours / "config.json").read_bytes()
    done = _login(ours, f"{referee.host}/diff/img", *referee.valid)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "per-repository" in done.stderr
    assert "Traceback" not in done.stderr
    assert referee.valid[1] not in done.stderr
    assert (ours / "config.json").read_bytes() == before  # nothing written


def test_a_repository_login_beside_the_hosts_key_says_which_one_docker_uses(
    referee: Referee, tmp_path: Path
) -> None:
    """docker (and regcred, docker's reading) use the exact host key first; the login says so."""
    ours = tmp_path / "regcred"
    write_config(ours / "config.json", {referee.host: INVALID})
    done = _login(ours, f"{referee.host}/diff/img", *referee.valid)
    assert done.returncode == 0, done.stderr
    assert "docker and regcred use" in done.stderr
    assert _auth_keys(ours) == {referee.host, f"{referee.host}/diff/img"}
    assert not docker_authenticates(referee, ours, "diff/img")  # the warning is true


@pytest.mark.parametrize(
    ("server", "key"),
    [
        ("quay.io/org/app", "quay.io/org/app"),
        ("https://quay.io/org/app/", "quay.io/org/app"),
        ("localhost:5000//team//app", "localhost:5000/team/app"),
        ("docker.io/library/alpine", "docker.io/library/alpine"),  # podman's spelling on the Hub
        ("https://index.docker.io/v1/", "https://index.docker.io/v1/"),
        ("reg.example/v2/", "reg.example"),  # an API path names the registry
        ("[::1]/ns/app", "[::1]/ns/app"),
    ],
)
def test_login_and_logout_keep_a_repositorys_path(server: str, key: str) -> None:
    """The key a per-repository login stores, and a logout of the same path removes."""
    from regcred._address import login_key

    assert login_key(server) == key
    assert login_key(key) == key  # a fixed point: logout of what list shows removes it


def test_doctor_states_a_missing_podman_helper(
    docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A credHelpers entry in podman's file whose helper is missing: listed, with its state."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    write_config(
        tmp_path / "xdg" / "containers" / "auth.json", credHelpers={"reg.example": "regcred-no-such"}
    )
    _, _, report = _doctor()
    assert ("reg.example", "helper regcred-no-such", "not-on-path") in {
        (c["key"], c["store"], c["state"]) for c in report["credentials"]
    }
