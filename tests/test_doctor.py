"""regcred doctor against real stores: gnome-keyring, pass/gpg, our helpers and the Go ones."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from regcred import _config
from regcred.cli import main
from regcred.stores.pass_ import PassStore
from regcred.stores.secretservice import NO_KEYRING_HINT, SecretServiceStore
from tests.conftest import VENV_BIN, require_program

if TYPE_CHECKING:
    from regcred.credentials import CredentialStore
    from tests.fixtures.keyring import Keyring
    from tests.fixtures.passstore import PassEnv

SECRET = "d0ct0r-must-not-print-this"


def _state(store: CredentialStore) -> tuple[str, str]:
    """(state, detail) of a store, as doctor reports it."""
    status = store.status()
    return status.state, status.detail


@pytest.fixture(autouse=True)
def _path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our helpers (venv) and Debian's Go helpers on PATH."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/bin:/bin")


def _doctor_run(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict[str, Any]]:
    """Run doctor as text and as JSON; return (exit code, text, parsed JSON)."""
    code = main(["doctor"])
    text, err = capsys.readouterr()
    json_code = main(["doctor", "--json"])
    raw, err2 = capsys.readouterr()
    assert code == json_code
    for output in (text, err, raw, err2):
        assert SECRET not in output
        assert SECRET[:6] not in output
    report = json.loads(raw)
    assert report["healthy"] == (code == 0)
    return code, text, report


def _write(path: Path, data: object, mode: int = 0o600) -> None:
    """Write a config file (directory 0700) with ``mode``."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(mode)


def _store(helper: str, server: str, user: str, secret: str = SECRET) -> None:
    """Store through the real helper program, as docker would."""
    subprocess.run(
        [f"docker-credential-{helper}", "store"],
        input=json.dumps({"ServerURL": server, "Username": user, "Secret": secret}),
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _plain(key: str, user: str) -> dict[str, Any]:
    """A plaintext auths entry, as docker writes it."""
    c = _config.Config(Path("unused"), {}, None)
    c.set_auth(key, user, SECRET)
    return dict(c.data["auths"][key])


def _problems(report: dict[str, Any], severity: str) -> list[str]:
    """The messages of the problems of one severity."""
    return [p["message"] for p in report["problems"] if p["severity"] == severity]


def test_plaintext_world_readable_is_unsafe(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Plaintext credentials in a 0644 file: unsafe, with the mode, exit 1, no secret shown."""
    _write(docker_config, {"auths": {"reg.example": _plain("reg.example", "alice")}}, 0o644)
    code, text, report = _doctor_run(capsys)
    assert code == 1
    unsafe = _problems(report, "unsafe")
    assert any("plaintext credentials for reg.example" in m and "mode 0644" in m for m in unsafe)
    assert any("readable by others" in m for m in unsafe)
    assert report["credentials"] == [
        {
            "key": "reg.example",
            "username": "alice",
            "store": "file",
            "source": str(docker_config),
            "state": "ok",
        }
    ]
    assert "unsafe: plaintext credentials for reg.example" in text


def test_group_writable_directory_is_unsafe(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config directory others can write lets them swap credsStore: unsafe."""
    _write(docker_config, {"auths": {}})
    docker_config.parent.chmod(0o775)
    code, _, report = _doctor_run(capsys)
    assert code == 1
    assert any("writable by others" in m for m in _problems(report, "unsafe"))


def test_healthy_with_the_secret_service_helper(
    docker_config: Path, keyring: Keyring, capsys: pytest.CaptureFixture[str]
) -> None:
    """Credentials in gnome-keyring via our helper and the Go one: located, healthy, exit 0."""
    _store("regcred-secretservice", "reg.example", "alice")
    _store("regcred-secretservice", "other.example", "bob")
    _write(docker_config, {"auths": {"reg.example": {}}, "credsStore": "regcred-secretservice"})
    code, text, report = _doctor_run(capsys)
    assert code == 0, text
    where = {c["key"]: (c["username"], c["store"]) for c in report["credentials"]}
    assert where == {
        "reg.example": ("alice", "helper regcred-secretservice"),
        "other.example": ("bob", "helper regcred-secretservice"),
    }
    ss = next(b for b in report["backends"] if b["name"] == "secretservice")
    assert ss["state"] == "ok"
    assert ss["used_by"] == ["regcred-secretservice", "regcred login"]
    assert report["login_store"]["store"] == "helper regcred-secretservice"
    # The Go helper reads the same items: doctor lists them under its name too.
    _write(docker_config, {"auths": {}, "credsStore": "secretservice"})
    code, _, report = _doctor_run(capsys)
    assert code == 0
    assert {c["store"] for c in report["credentials"]} == {"helper secretservice"}


def test_stale_marker_is_a_warning(
    docker_config: Path, keyring: Keyring, capsys: pytest.CaptureFixture[str]
) -> None:
    """A {} marker whose helper holds nothing is reported, but is not a failure."""
    _write(docker_config, {"auths": {"gone.example": {}}, "credsStore": "regcred-secretservice"})
    code, _, report = _doctor_run(capsys)
    assert code == 0
    assert any("marker for gone.example" in m for m in _problems(report, "warning"))


def test_missing_helper_is_broken(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A credsStore or credHelpers helper that is not on PATH: broken, exit 1."""
    _write(docker_config, {"auths": {}, "credsStore": "not-installed", "credHelpers": {"gcr.io": "nope"}})
    code, _, report = _doctor_run(capsys)
    assert code == 1
    broken = _problems(report, "broken")
    assert any("docker-credential-not-installed, which is not on PATH" in m for m in broken)
    assert any("docker-credential-nope, which is not on PATH" in m for m in broken)


def test_secret_service_no_bus(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a session bus the Secret Service state is no-bus; unused, it is not a problem."""
    code, _, report = _doctor_run(capsys)
    assert code == 0
    ss = next(b for b in report["backends"] if b["name"] == "secretservice")
    assert ss["state"] == "no-bus"


def test_secret_service_no_service(
    docker_config: Path, session_bus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bus with no keyring daemon: no-service, and broken when the config uses it."""
    assert _state(SecretServiceStore())[0] == "no-service"
    _write(docker_config, {"auths": {}, "credsStore": "regcred-secretservice"})
    code, _, report = _doctor_run(capsys)
    assert code == 1
    assert any("Secret Service is not usable" in m for m in _problems(report, "broken"))


def test_secret_service_locked(
    docker_config: Path, keyring: Keyring, capsys: pytest.CaptureFixture[str]
) -> None:
    """A locked keyring is reported as locked, and breaks a config that relies on it."""
    assert _state(SecretServiceStore())[0] == "ok"
    keyring.lock()
    assert _state(SecretServiceStore())[0] == "locked"
    _write(docker_config, {"auths": {}, "credsStore": "secretservice"})
    code, text, _ = _doctor_run(capsys)
    assert code == 1
    assert "Secret Service: locked" in text


def test_secret_service_without_a_keyring(
    docker_config: Path, empty_keyring: Keyring, capsys: pytest.CaptureFixture[str]
) -> None:
    """A running daemon with no collection at all: no-keyring, and broken when the config uses it."""
    state, detail = _state(SecretServiceStore())
    assert (state, detail) == ("no-keyring", NO_KEYRING_HINT)
    _write(docker_config, {"auths": {}, "credsStore": "regcred-secretservice"})
    code, text, _ = _doctor_run(capsys)
    assert code == 1
    assert "Secret Service: no-keyring" in text


def test_pass_states(pass_env: PassEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pass: fine when initialized; key-missing for a key gpg lacks; not-initialized without .gpg-id."""
    state, detail = _state(PassStore())
    assert state == "ok"
    assert pass_env.gnupg.fingerprints[0] in detail
    empty_home = tmp_path / "empty-gnupg"
    empty_home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty_home))
    state, detail = _state(PassStore())
    assert state == "key-missing"
    assert "no public key" in detail
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(tmp_path / "nowhere"))
    assert _state(PassStore())[0] == "not-initialized"


def test_pass_helper_in_use(
    docker_config: Path, pass_env: PassEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    """Credentials kept by Debian's docker-credential-pass are located, and pass is healthy."""
    require_program("docker-credential-pass", "golang-github-docker-docker-credential-helpers")
    _store("pass", "reg.example", "carol")
    _write(docker_config, {"auths": {"reg.example": {}}, "credsStore": "pass"})
    code, text, report = _doctor_run(capsys)
    assert code == 0, text
    assert report["credentials"][0]["store"] == "helper pass"
    assert report["credentials"][0]["username"] == "carol"


def test_uninitialized_pass_in_use_is_broken(
    docker_config: Path, pass_uninitialized: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """credsStore regcred-pass on an uninitialized store: broken, with pass's own hint."""
    _write(docker_config, {"auths": {}, "credsStore": "regcred-pass"})
    code, _, report = _doctor_run(capsys)
    assert code == 1
    assert any("pass init" in m for m in _problems(report, "broken"))


def test_podman_file_disagrees_and_shadows(
    docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """podman's auth file with another user (disagree) or the same user (shadow) is a warning."""
    _write(docker_config, {"auths": {"reg.example": _plain("reg.example", "alice"),
                                      "same.example": _plain("same.example", "bob")}})  # fmt: skip
    auth = tmp_path / "containers" / "auth.json"
    _write(auth, {"auths": {"reg.example": _plain("reg.example", "mallory"),
                            "same.example": _plain("same.example", "bob")}})  # fmt: skip
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth))
    code, _, report = _doctor_run(capsys)
    assert code == 1  # plaintext in both files
    warnings = _problems(report, "warning")
    assert any("disagree about reg.example" in m and "'mallory'" in m and "'alice'" in m for m in warnings)
    assert any("shadows docker's credentials for same.example" in m for m in warnings)
    assert sum(f"plaintext credentials for reg.example, same.example in {auth}" in m
               for m in _problems(report, "unsafe")) == 1  # fmt: skip


def test_malformed_config_is_broken(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unparsable config.json is reported as broken, without a traceback."""
    docker_config.parent.mkdir(mode=0o700)
    docker_config.write_text('{"auths": [')
    docker_config.chmod(0o600)
    code, _, report = _doctor_run(capsys)
    assert code == 1
    assert any("invalid JSON" in m for m in _problems(report, "broken"))


def test_registry_auth_file_pointing_at_docker_config(
    docker_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """REGISTRY_AUTH_FILE=config.json is one file, not a podman file shadowing docker's."""
    _write(docker_config, {"auths": {"reg.example": _plain("reg.example", "alice")}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(docker_config))
    _, _, report = _doctor_run(capsys)
    assert [f["role"] for f in report["files"]] == ["docker"]
    assert not any("shadows" in m or "disagree" in m for m in _problems(report, "warning"))
    assert len(report["credentials"]) == 1


def test_terminal_escapes_are_printed_escaped(
    docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Keys and usernames with ESC, C1 and bidi controls reach the terminal escaped (issue 11 #7)."""
    evil_key = "\x1b[2Jevil.example"
    evil_user = "bob\x1b]52;c;Zm9v\x07\u202e"
    auth = base64.b64encode(f"{evil_user}:{SECRET}".encode()).decode()
    _write(docker_config, {"auths": {evil_key: {"auth": auth}}})
    _code, text, report = _doctor_run(capsys)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert "\\x1b[2Jevil.example" in text
    assert {c["key"] for c in report["credentials"]} == {evil_key}  # JSON stays exact


def test_a_bad_setting_is_a_broken_finding(
    docker_config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad REGCRED_* value: doctor still reports everything, and the verdict is broken."""
    _write(docker_config, {"auths": {}})
    monkeypatch.setenv("REGCRED_DBUS_TIMEOUT", "abc")
    code, text, report = _doctor_run(capsys)
    assert code == 1
    assert any("REGCRED_DBUS_TIMEOUT" in m for m in _problems(report, "broken"))
    assert "Healthy" not in text


@pytest.mark.parametrize("path", ["::/usr/bin:/bin", ":/usr/bin:/bin", "/nowhere::/usr/bin:/bin"])
def test_doctor_never_runs_a_gpg_from_the_cwd(
    pass_env: PassEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    path: str,
) -> None:
    """An empty PATH entry never runs a planted ./gpg, and pass is not "ok" on its word (S26)."""
    empty_home = tmp_path / "empty-gnupg"
    empty_home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty_home))  # the real gpg has none of the store's keys
    workdir = tmp_path / "work"
    workdir.mkdir()
    marker = tmp_path / "planted-gpg-ran"
    planted = workdir / "gpg"
    planted.write_text(f"#!/bin/sh\ntouch {marker}\nexit 0\n")  # claims every key exists
    planted.chmod(0o755)
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("PATH", path)
    state, detail = _state(PassStore())
    assert not marker.exists()
    assert state == "key-missing", detail
    main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert not marker.exists()
    assert next(b for b in report["backends"] if b["name"] == "pass")["state"] == "key-missing"


def test_an_empty_cred_helper_is_broken_for_podman(
    docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """credHelpers[key] = "" (written by older regcred migrate, or by hand): broken (issue 10 #2)."""
    _write(
        docker_config,
        {"auths": {"reg.example": _plain("reg.example", "alice")}, "credHelpers": {"reg.example": ""}},
    )
    code, _text, report = _doctor_run(capsys)
    assert code == 1
    assert any('credHelpers["reg.example"] = ""' in m and "podman" in m for m in _problems(report, "broken"))


def test_secrets_no_config_key_routes_to_are_found(
    docker_config: Path, keyring: Keyring, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """podman rewrote config.json without credsStore: doctor finds the orphaned keyring entries (#5)."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    keyring.add_item(
        "orphan.example",
        {"label": "Docker Credentials", "server": "orphan.example", "username": "u", "docker_cli": "1",
         "xdg:schema": "io.docker.Credentials"},
        b"pw",
    )  # fmt: skip
    _write(docker_config, {"auths": {"orphan.example": {}}})  # what podman 4.3 leaves behind
    _code, _text, report = _doctor_run(capsys)
    found = [m for m in _problems(report, "warning") if "orphan.example" in m and "credsStore" in m]
    assert found, report["problems"]


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="there the native store is this system's")
def test_other_systems_stores_are_shown_only_when_named(
    docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On Linux the macOS keychain and Credential Manager rows appear only for a config that names them."""
    _write(docker_config, {"auths": {}})
    _, text, report = _doctor_run(capsys)
    assert "macOS keychain" not in text
    assert "Windows Credential Manager" not in text
    assert {b["name"] for b in report["backends"]} & {"osxkeychain", "wincred"} == set()
    _write(docker_config, {"auths": {}, "credsStore": "osxkeychain"})
    _, text, _ = _doctor_run(capsys)
    row = "macOS keychain: unavailable [used by osxkeychain, regcred login]: "
    assert row + "the macOS keychain exists only on macOS" in text
