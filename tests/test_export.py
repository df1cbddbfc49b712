"""regcred export: Kubernetes pull secrets (checked against kubectl) and CI config files."""

from __future__ import annotations

import base64
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _config
from regcred.cli import main
from tests.conftest import VENV_BIN, require_program

if TYPE_CHECKING:
    from tests.fixtures.keyring import Keyring
    from tests.fixtures.registry import Registry

HUB = "https://index.docker.io/v1/"
TRICKY = 'p&ss<w>"\\rd ü'  # Go escapes &, <, > and writes ü raw


def _seed(path: Path, entries: dict[str, tuple[str, str]], token: dict[str, str] | None = None) -> None:
    def fill(c: _config.Config) -> None:
        for key, (user, secret) in entries.items():
            c.set_auth(key, user, secret)
        for key, value in (token or {}).items():
            c.set_auth(key, "", "", identitytoken=value)

    _config.update(path, fill)


def _kubectl(*args: str) -> str:
    kubectl = require_program("kubectl", "kubernetes-client")
    done = subprocess.run(
        [kubectl, "create", "secret", "docker-registry", *args, "--dry-run=client"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_k8s_yaml_is_byte_identical_to_kubectl(
    docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The YAML Secret equals kubectl create secret docker-registry -o yaml, escapes included."""
    _seed(docker_config, {"localhost:5000": ("al<ice", TRICKY)})
    code, out, err = _run(capsys, "export", "localhost:5000", "--name", "pull", "--namespace", "ci")
    assert code == 0, err
    expected = _kubectl(
        "pull", "-n", "ci", "--docker-server=localhost:5000",
        "--docker-username=al<ice", f"--docker-password={TRICKY}", "-o", "yaml",
    )  # fmt: skip
    assert out == expected


def test_k8s_json_is_byte_identical_to_kubectl(
    docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json equals kubectl's -o json output for the Docker Hub default server."""
    _seed(docker_config, {HUB: ("alice", "pw")})
    code, out, _ = _run(capsys, "export", "docker.io", "--json")
    assert code == 0
    expected = _kubectl("regcred", "--docker-username=alice", "--docker-password=pw", "-o", "json")
    assert out == expected


def test_k8s_all_credentials_sorted_and_decodable(
    docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without SERVER every stored credential is exported, keys sorted as Go sorts map keys."""
    _seed(docker_config, {"zeta.example": ("z", "zz"), "alpha.example:5000": ("a", "aa")})
    code, out, _ = _run(capsys, "export")
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith("  .dockerconfigjson: "))
    raw = base64.b64decode(line.split(": ", 1)[1])
    assert raw.startswith(b'{"auths":{"alpha.example:5000":{"username":"a","password":"aa","auth":"')
    doc = json.loads(raw)
    assert list(doc["auths"]) == ["alpha.example:5000", "zeta.example"]
    assert base64.b64decode(doc["auths"]["zeta.example"]["auth"]) == b"z:zz"


def test_reads_through_the_secret_service_helper(
    docker_config: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A credential kept by docker-credential-regcred-secretservice is read from the keyring."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/bin:/bin")
    subprocess.run(
        ["docker-credential-regcred-secretservice", "store"],
        input=json.dumps({"ServerURL": "reg.example", "Username": "kate", "Secret": "from-keyring"}),
        text=True,
        check=True,
        timeout=60,
    )
    docker_config.parent.mkdir()
    docker_config.write_text('{"auths": {"reg.example": {}}, "credsStore": "regcred-secretservice"}')
    code, out, _ = _run(capsys, "export", "--format", "config")
    assert code == 0
    assert json.loads(out) == {
        "auths": {"reg.example": {"auth": base64.b64encode(b"kate:from-keyring").decode()}}
    }


def test_config_format_works_for_skopeo_and_regcred(
    docker_config: Path, tmp_path: Path, registry_http: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    """The standalone config.json logs real skopeo into a real registry; tokens stay tokens."""
    skopeo = require_program("skopeo", "skopeo")
    _seed(docker_config, {registry_http.address: (registry_http.username, registry_http.password)},
          token={"tok.example": "refresh-123"})  # fmt: skip
    out_file = tmp_path / "ci" / "config.json"
    out_file.parent.mkdir()
    code, _, err = _run(capsys, "export", "--format", "config", "-o", str(out_file))
    assert code == 0, err
    doc = json.loads(out_file.read_text())
    assert doc["auths"]["tok.example"] == {"identitytoken": "refresh-123"}
    done = subprocess.run(
        [skopeo, "login", "--get-login", "--authfile", str(out_file), registry_http.address],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == registry_http.username
    done = subprocess.run(
        [skopeo, "list-tags", "--authfile", str(out_file), "--tls-verify=false",
         f"docker://{registry_http.address}/nothing/here"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "unauthorized" not in done.stderr.lower(), done.stderr


def test_output_file_is_0600_from_the_start(
    docker_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o FILE replaces an existing 0644 file with a 0600 one, even under umask 000."""
    _seed(docker_config, {"reg.example": ("u", "s3cret")})
    target = tmp_path / "secret.yaml"
    target.write_text("old\n")
    target.chmod(0o644)
    old_umask = os.umask(0)
    try:
        code, out, err = _run(capsys, "export", "-o", str(target))
    finally:
        os.umask(old_umask)
    assert code == 0
    assert out == ""
    assert "s3cret" not in err
    assert target.stat().st_mode & 0o777 == 0o600
    assert "kind: Secret" in target.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_output_into_a_missing_directory_creates_it_0700(
    docker_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o ci-docker/config.json (the README's) creates ci-docker 0700, even under umask 000."""
    _seed(docker_config, {"reg.example": ("u", "s3cret")})
    target = tmp_path / "ci-docker" / "sub" / "config.json"
    old_umask = os.umask(0)
    try:
        code, out, err = _run(capsys, "export", "--format", "config", "-o", str(target))
    finally:
        os.umask(old_umask)
    assert (code, out) == (0, ""), err
    assert [(p.stat().st_mode & 0o777) for p in (target.parent.parent, target.parent)] == [0o700, 0o700]
    assert target.stat().st_mode & 0o777 == 0o600
    assert json.loads(target.read_text())["auths"]["reg.example"]["auth"]
    code, _, err = _run(capsys, "export", "nothing.example", "-o", str(tmp_path / "none" / "config.json"))
    assert code == 1
    assert not (tmp_path / "none").exists()  # a failed export creates nothing


def test_identity_tokens_and_k8s(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """k8s refuses a named identity token and skips (with a warning) one found by listing."""
    _seed(docker_config, {"reg.example": ("u", "pw")}, token={"tok.example": "refresh-secret"})
    code, out, err = _run(capsys, "export", "tok.example")
    assert code == 1
    assert out == ""
    assert "identity token" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = _run(capsys, "export")
    assert code == 0
    assert "skipped tok.example" in err
    assert "refresh-secret" not in out + err
    assert "reg.example" in base64.b64decode(out.split(".dockerconfigjson: ")[1].split()[0]).decode()


@pytest.mark.parametrize(
    ("args", "message", "exit_code"),
    [
        (["--name", "Bad_Name"], "invalid Secret name", 2),
        (["--namespace", "a.b"], "invalid namespace", 2),
        (["nothing.example"], "no credentials stored for nothing.example", 1),
    ],
)
def test_errors_are_one_line(
    docker_config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    exit_code: int,
) -> None:
    """Bad names (usage, exit 2) and unknown servers (exit 1) fail with one line, and no file is written."""
    _seed(docker_config, {"reg.example": ("u", "pw")})
    target = tmp_path / "out.yaml"
    code, out, err = _run(capsys, "export", "-o", str(target), *args)
    assert code == exit_code
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not target.exists()


def test_nothing_to_export(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With no stored credentials export fails and says to log in."""
    code, _, err = _run(capsys, "export")
    assert code == 1
    assert "no credentials to export" in err


def test_terminal_output_warns(docker_config: Path) -> None:
    """Printing secrets to a terminal warns on stderr (and still prints the Secret)."""
    _seed(docker_config, {"reg.example": ("u", "pw")})
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "regcred", "export", "reg.example"],
            stdout=terminal,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert done.returncode == 0
    assert b"holds secrets" in done.stderr
    assert b"kind: Secret" in shown


def test_unlookupable_key_is_skipped(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A key that is no registry address is skipped with a note; the others are exported."""
    _seed(docker_config, {"reg.example": ("u", "pw"), "bad key!": ("x", "y")})
    code, out, err = _run(capsys, "export", "--format", "config")
    assert code == 0
    assert list(json.loads(out)["auths"]) == ["reg.example"]
    assert "skipped bad key!" in err


@pytest.mark.parametrize(
    ("server", "key"),
    [
        ("alpine", HUB),
        ("library/alpine:3.19", HUB),
        ("ghcr.io/acme/app:1.0", "ghcr.io"),
        ("localhost:5000/team/img@sha256:" + "a" * 64, "localhost:5000"),
    ],
)
def test_an_image_reference_is_exported_under_its_registry_key(
    docker_config: Path, capsys: pytest.CaptureFixture[str], server: str, key: str
) -> None:
    """`export IMAGE` keys the entry by the image's registry, as docker looks it up.

    It was keyed "alpine" or "library", or refused a tag or digest.
    """
    _seed(docker_config, {key: ("ivy", "s3")})
    code, out, err = _run(capsys, "export", "--format", "config", server)
    assert (code, err) == (0, "")
    assert json.loads(out) == {"auths": {key: {"auth": base64.b64encode(b"ivy:s3").decode()}}}
