"""podman's side as containers/image reads it, with the real podman (issue 10 #4 and #9).

* ``/run/containers/<uid>/auth.json``: podman's default auth file when
  ``XDG_RUNTIME_DIR`` is unset (root shells, CI containers, ``sudo podman
  login``).  The test runs podman and regcred inside a private mount
  namespace with a tmpfs over ``/run`` (``unshare -m``, as root), so the
  machine's ``/run`` is never touched.
* registries.conf's ``credential-helpers``: ``podman login`` stores through
  our real ``docker-credential-regcred-pass``; ``regcred get`` finds it.
* ``regcred list`` shows both sides, each row marked by its source, and every
  key it shows, ``regcred get KEY`` fetches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import VENV_BIN, installed_helper, missing, require_program
from tests.fixtures.config_files import write_config
from tests.fixtures.differential import _containers_files
from tests.fixtures.processes import REGCRED, run

if TYPE_CHECKING:
    import pytest

    from tests.fixtures.passstore import PassEnv
    from tests.fixtures.registry import Registry

_TIMEOUT = 180


def _podman_env(root: Path, **extra: str) -> dict[str, str]:
    """podman kept inside ``root``: no XDG_RUNTIME_DIR, no REGISTRY_AUTH_FILE, no DOCKER_CONFIG."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DOCKER_", "REGISTRY_", "XDG_", "CONTAINERS_", "REGCRED_"))
    }
    env.update(_containers_files(root))
    env.update(HOME=str(root / "home"), PATH=f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", **extra)
    (root / "home").mkdir(parents=True, exist_ok=True)
    return env


def _podman_login(registry: Registry, env: dict[str, str]) -> list[str]:
    podman = require_program("podman", "podman")
    return [
        *(podman, "--events-backend", "none", "login", "--tls-verify=false"),
        *("-u", registry.username, "--password-stdin", registry.address),
    ]


def _run(argv: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run(argv, stdin=stdin, env=env, timeout=_TIMEOUT)


def _private_run() -> list[str]:
    """``unshare -m`` with a tmpfs over /run, or missing()."""
    if os.geteuid() != 0:
        missing("a private mount namespace", "the test must run as root (unshare -m, mount)")
    unshare = shutil.which("unshare")
    if unshare is None:
        missing("unshare", "install the Debian package 'util-linux'")
    probe = subprocess.run(
        [unshare, "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /run"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        missing("a private mount namespace", probe.stderr.decode(errors="replace").strip())
    return [unshare, "-m", "--propagation", "private"]


def test_run_containers_uid_auth_json(registry_http: Registry, tmp_path: Path) -> None:
    """podman login with XDG_RUNTIME_DIR unset writes /run/containers/<uid>/auth.json; regcred reads it."""
    env = _podman_env(tmp_path / "podman")
    uid = os.getuid()
    real = Path(f"/run/containers/{uid}/auth.json")
    before = real.read_bytes() if real.exists() else None
    script = (
        "set -e\n"
        "mount -t tmpfs -o mode=0755 tmpfs /run\n"
        '"$@" >/dev/null\n'
        f"test -f /run/containers/{uid}/auth.json\n"
        f"echo GET; {REGCRED} get {registry_http.address}\n"
        f"echo; echo LIST; {REGCRED} list\n"
    )
    done = _run(
        [*_private_run(), "sh", "-c", script, "sh", *_podman_login(registry_http, env)],
        env,
        stdin=registry_http.password + "\n",
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    got, listed = done.stdout.split("GET\n", 1)[1].split("\nLIST\n", 1)
    assert json.loads(got) == {
        "ServerURL": registry_http.address,
        "Username": registry_http.username,
        "Secret": registry_http.password,
    }
    assert listed.split() == [registry_http.address, registry_http.username, f"podman:{real}"]
    assert (real.read_bytes() if real.exists() else None) == before  # the machine's /run untouched


def test_run_containers_out_of_reach_is_not_an_error() -> None:
    """A user who cannot enter /run/containers (root's, 0700) gets "none stored", not "cannot read"."""
    setpriv = require_program("setpriv", "util-linux")
    script = (
        "set -e\n"
        "mount -t tmpfs -o mode=0755 tmpfs /run\n"
        "mkdir -m 0700 /run/containers /run/containers/65534\n"
        "chown 65534 /run/containers/65534\n"
        "echo '{}' > /run/containers/65534/auth.json\n"
        f"exec {setpriv} --reuid=65534 --regid=65534 --clear-groups {REGCRED} get reg.example\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "DOCKER_CONFIG": "/nonexistent/docker"}
    done = _run([*_private_run(), "sh", "-c", script], env)
    assert done.returncode == 1
    assert done.stderr.strip() == "regcred: no credentials stored for reg.example"


def test_registries_conf_credential_helpers(
    registry_http: Registry, tmp_path: Path, pass_env: PassEnv
) -> None:
    """podman stores through credential-helpers = ["regcred-pass"] (from a drop-in); regcred finds it."""
    installed_helper("pass")
    root = tmp_path / "podman"
    env = _podman_env(root, XDG_RUNTIME_DIR=str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    registries = Path(env["CONTAINERS_REGISTRIES_CONF"])
    registries.write_text('credential-helpers = ["containers-auth.json"]\n')
    drop_in = root / "home" / ".config" / "containers" / "registries.conf.d" / "50-regcred.conf"
    drop_in.parent.mkdir(parents=True)
    drop_in.write_text(
        '# a drop-in overrides the file\ncredential-helpers = ["regcred-pass", "containers-auth.json"]\n'
    )
    done = _run(_podman_login(registry_http, env), env, stdin=registry_http.password + "\n")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "run" / "containers" / "auth.json").exists()  # podman used the helper
    assert list(pass_env.folder.rglob("*.gpg"))  # … our real pass helper

    got = _run([REGCRED, "get", registry_http.address], env)
    assert got.returncode == 0, got.stderr
    creds = json.loads(got.stdout)
    assert (creds["Username"], creds["Secret"]) == (registry_http.username, registry_http.password)
    listed = _run([REGCRED, "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [
        registry_http.address, registry_http.username, "podman:docker-credential-regcred-pass"
    ]  # fmt: skip

    # podman itself agrees: it reads what regcred reads
    podman = require_program("podman", "podman")
    check = _run([podman, "--events-backend", "none", "login", "--get-login", registry_http.address], env)
    assert check.stdout.strip() == registry_http.username, check.stderr


def test_which_registries_conf_sets_the_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """containers/image's files and order: the last file that sets the list wins; [] is the default."""
    from regcred._lookup import podman_credential_helpers, registries_conf_files

    home = Path.home()
    user_dir = home / ".config" / "containers"
    drop_ins = user_dir / "registries.conf.d"
    drop_ins.mkdir(parents=True)
    explicit = tmp_path / "explicit.conf"
    explicit.write_text('credential-helpers = ["from-env"]\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(explicit))
    (drop_ins / "20-b.conf").write_text('credential-helpers = ["from-drop-in"]\n')
    (drop_ins / "30-c.conf").write_text(
        '# credential-helpers = ["commented"]\n[aliases]\n"x" = "quay.io/x"\n'
    )
    (drop_ins / "10-a.conf").write_text('credential-helpers = ["earlier"]\n')
    (drop_ins / "40-d.txt").write_text("not a drop-in: no .conf suffix")
    files = registries_conf_files()
    assert files[0] == explicit
    assert files[-3:] == [drop_ins / "10-a.conf", drop_ins / "20-b.conf", drop_ins / "30-c.conf"]
    assert Path("/etc/containers/registries.conf") not in files
    assert podman_credential_helpers() == ["from-drop-in"]
    (drop_ins / "50-e.conf").write_text("credential-helpers = []\n")
    assert podman_credential_helpers() == ["containers-auth.json"]

    monkeypatch.delenv("CONTAINERS_REGISTRIES_CONF")
    (user_dir / "registries.conf").write_text('credential-helpers = ["user", "containers-auth.json"]\n')
    for name in ("20-b.conf", "50-e.conf"):
        (drop_ins / name).unlink()
    files = registries_conf_files()
    assert files[0] == user_dir / "registries.conf"  # the user's file replaces /etc's, and its drop-ins
    assert all(not str(f).startswith("/etc/") for f in files)
    assert podman_credential_helpers() == ["earlier"]


def test_a_broken_registries_conf_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """registries.conf that names credential-helpers but is not TOML: one line, exit 1."""
    conf = tmp_path / "registries.conf"
    conf.write_text("credential-helpers = [\n")
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    done = _run([REGCRED, "get", "reg.example"], dict(os.environ))
    assert done.returncode == 1
    assert done.stderr.startswith(f"regcred: {conf}: invalid registries.conf: ")
    assert len(done.stderr.strip().splitlines()) == 1
    conf.write_text('credential-helpers = "regcred-pass"\n')
    done = _run([REGCRED, "list"], dict(os.environ))
    assert done.returncode == 1
    assert done.stderr.strip() == f"regcred: {conf}: credential-helpers must be an array of strings"


def test_list_and_get_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pass_env: PassEnv) -> None:
    """Every key `regcred list` shows (text and --json --sources), `regcred get KEY` fetches."""
    helper = installed_helper("pass")
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin")
    docker_dir = tmp_path / "docker"
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    runtime = tmp_path / "run"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    registries = tmp_path / "registries.conf"
    registries.write_text('credential-helpers = ["containers-auth.json", "regcred-pass"]\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(registries))
    for server, user in (("helper.example", "hal"), ("podman-helper.example", "pat")):
        stored = subprocess.run(
            [helper, "store"],
            input=json.dumps({"ServerURL": server, "Username": user, "Secret": "pw"}).encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert stored.returncode == 0, stored.stdout
    write_config(
        docker_dir / "config.json",
        {
            "docker.example": ("dora", "1"),
            "https://legacy.example": ("leg", "2"),
            "example.com/foo": ("foo", "3"),
            "shared.example": ("docker-wins", "4"),
            "helper.example": {},
        },
        credHelpers={"helper.example": "regcred-pass"},
    )
    write_config(
        runtime / "containers" / "auth.json",
        {
            "quay.io/org/repo": ("repo-user", "5"),
            "quay.io": ("quay-user", "6"),
            "docker.io": ("hub-user", "7"),
            "shared.example": ("podman-loses", "8"),
        },
    )
    write_config(tmp_path / "xdg" / "containers" / "auth.json", {"xdg.example": ("xed", "9")})

    env = dict(os.environ)
    as_json = _run([REGCRED, "list", "--json", "--sources"], env)
    assert as_json.returncode == 0, as_json.stderr
    rows = [(r["key"], r["username"], r["source"]) for r in json.loads(as_json.stdout)]
    docker_file, run_file = (
        f"docker:{docker_dir / 'config.json'}",
        f"podman:{runtime / 'containers/auth.json'}",
    )
    assert rows == [
        ("docker.example", "dora", docker_file),
        ("example.com/foo", "foo", docker_file),
        ("https://legacy.example", "leg", docker_file),
        ("shared.example", "docker-wins", docker_file),
        ("helper.example", "hal", "docker:docker-credential-regcred-pass"),
        ("docker.io", "hub-user", run_file),
        ("quay.io", "quay-user", run_file),
        ("quay.io/org/repo", "repo-user", run_file),
        ("shared.example", "podman-loses", run_file),
        ("xdg.example", "xed", f"podman:{tmp_path / 'xdg/containers/auth.json'}"),
        # the helper lists what regcred's own credHelpers routed there too; podman would ask it
        ("helper.example", "hal", "podman:docker-credential-regcred-pass"),
        ("podman-helper.example", "pat", "podman:docker-credential-regcred-pass"),
    ]
    text = _run([REGCRED, "list"], env)
    assert text.returncode == 0, text.stderr
    shown = [tuple(line.split()) for line in text.stdout.splitlines()]
    assert shown == sorted(rows, key=lambda row: row[0])  # by key; a key's rows in lookup order
    first: dict[str, str] = {}
    for key, user, _ in rows:
        first.setdefault(key, user)
    for key, user in first.items():
        got = _run([REGCRED, "get", key], env)
        assert got.returncode == 0, (key, got.stderr)
        assert json.loads(got.stdout)["Username"] == user, key
    assert json.loads(_run([REGCRED, "list", "--json"], env).stdout) == {
        "docker.example": "dora",
        "example.com/foo": "foo",
        "helper.example": "hal",
        "https://legacy.example": "leg",
        "shared.example": "docker-wins",
    }  # docker's {key: username}, unchanged for the scripts that parse it
    off = _run([REGCRED, "list", "--json", "--sources"], {**env, "REGCRED_PODMAN_AUTH": "0"})
    assert [tuple(r.values()) for r in json.loads(off.stdout)] == rows[:5]  # docker's side only
