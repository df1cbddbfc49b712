"""``regcred status`` (issue 19, item 5): which stored credentials still work.

The four kinds of the issue, against real registries: a valid password
(docker-registry, htpasswd), a rejected one (the registry's htpasswd changed
after the login), an expired identity token (a token-auth registry whose token
server refuses the JWT refresh token once its ``exp`` has passed), and an
unreachable registry (a closed port; and a server that never answers, for the
timeout).  Status must write nothing and print no secret.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VENV_BIN
from tests.fixtures.hub_fake import make_jwt
from tests.fixtures.registry import Registry, _htpasswd, start_registry

REGCRED = str(VENV_BIN / "regcred")
HUB = "https://index.docker.io/v1/"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _status(*args: str) -> tuple[int, Any, str]:
    done = subprocess.run(
        [REGCRED, "status", "--json", *args], capture_output=True, text=True, timeout=120, check=False
    )
    doc = json.loads(done.stdout) if done.stdout else None
    return done.returncode, doc, done.stdout + done.stderr


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.rglob("*") if p.is_file()}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_status_tells_the_four_kinds_apart(
    docker_config: Path, registry_http: Registry, registry_token: Registry, tmp_path: Path
) -> None:
    """valid, rejected, expired, unreachable: each reported, exit 1, nothing written, no secret shown."""
    token_server = registry_token.token_server
    assert token_server is not None
    expired_token = token_server.issue_jwt_refresh_token(time.time() - 60)
    unreachable = f"127.0.0.1:{_closed_port()}"
    with start_registry(tmp_path / "rejecting") as rejecting:
        auths = {
            registry_http.address: {"auth": _b64(f"{registry_http.username}:{registry_http.password}")},
            rejecting.address: {"auth": _b64(f"{rejecting.username}:{rejecting.password}")},
            registry_token.address: {"auth": _b64("regcred-user:"), "identitytoken": expired_token},
            unreachable: {"auth": _b64("ann:pw-of-ann")},
        }
        docker_config.parent.mkdir()
        docker_config.write_text(json.dumps({"auths": auths}))
        code, doc, _ = _status("--check")
        assert code == 1  # the identity token is expired already; the rest were fine
        before_change = {row["key"]: row["state"] for row in doc}
        assert before_change[rejecting.address] == "valid"
        _htpasswd(rejecting.root / "htpasswd", rejecting.username, "a-new-password")  # changed on the server
        deadline = time.monotonic() + 10
        while True:
            before = _snapshot(docker_config.parent)
            code, doc, text = _status("--check")
            states = {row["key"]: row["state"] for row in doc}
            if states[rejecting.address] == "rejected" or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # docker-registry rereads a changed htpasswd on its next request
    assert states == {
        registry_http.address: "valid",
        rejecting.address: "rejected",
        registry_token.address: "expired",
        unreachable: "unreachable",
    }, text
    assert code == 1
    kinds = {row["key"]: row["kind"] for row in doc}
    assert kinds[registry_token.address] == "identity token"
    assert kinds[registry_http.address] == "password"
    expired_row = next(row for row in doc if row["key"] == registry_token.address)
    assert expired_row["expires"] is not None
    assert _snapshot(docker_config.parent) == before  # status writes nothing
    for secret in (registry_http.password, rejecting.password, expired_token, "pw-of-ann"):
        assert secret not in text
        assert _b64(secret)[:12] not in text


def test_without_check_it_reads_kinds_and_expiry_only(docker_config: Path) -> None:
    """No --check: no network; kinds and expiry from the stored secrets; Hub web tokens never fail."""
    now = int(time.time())
    access = make_jwt({"exp": now - 3600, "https://hub.docker.com": {"username": "hubuser"}})
    ecr = base64.b64encode(json.dumps({"payload": "x" * 40, "expiration": now + 7200}).encode()).decode()
    auths = {
        HUB: {"auth": _b64("hubuser:dckr_pat_abcdefgh")},
        HUB + "access-token": {"auth": _b64(f"hubuser:{access}")},
        HUB + "refresh-token": {"auth": _b64("hubuser:v1.refresh..clientid")},
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com": {"auth": _b64(f"AWS:{ecr}")},
        "ghcr.io": {"auth": _b64("bob:plain-password")},
    }
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": auths}))
    code, doc, text = _status()
    assert code == 0, text
    rows = {row["key"]: row for row in doc}
    assert rows[HUB]["kind"] == "personal access token"
    assert rows[HUB + "access-token"]["kind"] == "Hub access token"
    assert rows[HUB + "refresh-token"]["kind"] == "Hub refresh token"
    assert rows[HUB + "access-token"]["expires"] is not None
    assert rows["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]["kind"] == "token"
    assert rows["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]["expires"] is not None
    assert rows["ghcr.io"]["kind"] == "password"
    assert {row["state"] for row in doc} == {"unchecked"}
    for secret in ("dckr_pat_abcdefgh", access, ecr, "plain-password", "v1.refresh"):
        assert secret not in text
    table = subprocess.run([REGCRED, "status"], capture_output=True, text=True, timeout=60, check=False)
    assert table.returncode == 0
    assert "personal access token" in table.stdout
    assert "dckr_pat_abcdefgh" not in table.stdout + table.stderr


def test_a_hanging_registry_is_unreachable_within_the_timeout(docker_config: Path) -> None:
    """A server that accepts and never answers: --check gives up on it after --timeout."""
    with contextlib.closing(socket.socket()) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        hanging = f"127.0.0.1:{server.getsockname()[1]}"
        docker_config.parent.mkdir()
        docker_config.write_text(json.dumps({"auths": {hanging: {"auth": _b64("ann:pw")}}}))
        started = time.monotonic()
        code, doc, text = _status("--check", "--timeout", "1")
        took = time.monotonic() - started
    assert code == 0, text  # unreachable is not a verdict on the credential
    [row] = doc
    assert row["state"] == "unreachable"
    assert "no answer within 1s" in row["detail"]
    assert took < 10


def test_server_arguments(docker_config: Path) -> None:
    """SERVER… narrows the rows; a server with nothing stored is one line and exit 1."""
    auths = {"a.example": {"auth": _b64("ann:pw")}, "b.example": {"auth": _b64("bob:pw")}}
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": auths}))
    code, doc, _ = _status("b.example")
    assert code == 0
    assert [row["key"] for row in doc] == ["b.example"]
    done = subprocess.run([REGCRED, "status", "c.example"], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == "regcred: not logged in to c.example"


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_bad_timeout_is_usage(docker_config: Path, value: str) -> None:
    done = subprocess.run(
        [REGCRED, "status", "--check", "--timeout", value], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_status_shows_podmans_auth_file_as_list_does(
    registry_http: Registry, docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real podman writes REGISTRY_AUTH_FILE: status has its row (store = the file), as list does."""
    from tests.conftest import require_program
    from tests.fixtures.differential import containers_env

    authfile = tmp_path / "podman" / "auth.json"
    podman = require_program("podman", "podman")
    done = subprocess.run(
        [podman, "--events-backend", "none", "login", "--tls-verify=false", "--authfile", str(authfile),
         "-u", registry_http.username, "--password-stdin", registry_http.address],
        input=registry_http.password, capture_output=True, text=True, timeout=120, check=False,
        env=containers_env(tmp_path / "containers", authfile),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(authfile))
    before = _snapshot(authfile.parent)
    listed = subprocess.run(
        [REGCRED, "list", "--json", "--sources"], capture_output=True, text=True, timeout=60, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert {"key": registry_http.address, "username": registry_http.username,
            "source": f"podman:{authfile}"} in json.loads(listed.stdout)  # fmt: skip
    code, doc, text = _status("--check")
    assert code == 0, text
    assert [(r["key"], r["username"], r["store"], r["kind"], r["state"]) for r in doc] == [
        (registry_http.address, registry_http.username, str(authfile), "password", "valid")
    ]
    code, doc, text = _status(registry_http.address)  # a server only podman's file holds
    assert code == 0, text
    assert [r["store"] for r in doc] == [str(authfile)]
    assert registry_http.password not in text
    assert _snapshot(authfile.parent) == before  # read-only
