"""The public write API: regcred.login / logout / store_credentials / erase_credentials.

Against Debian's real docker-registry (htpasswd) and the real pass store; the
CLI is a shell over these, so its tests cover the messages.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import regcred
from tests.conftest import VENV_BIN, installed_helper

if TYPE_CHECKING:
    from tests.fixtures.passstore import PassEnv
    from tests.fixtures.registry import Registry


def _auths(path: Path) -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, dict[str, str]]] = json.loads(path.read_text())
    return data["auths"]


def test_login_verifies_then_stores_and_prints_nothing(
    registry_http: Registry, docker_config: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A verified login to the file store; the result and its repr hold no secret."""
    result = regcred.login(
        registry_http.address, username=registry_http.username, secret=registry_http.password
    )
    assert result.verified
    assert result.plaintext
    assert result.key == registry_http.address
    assert registry_http.password not in repr(result)
    found = regcred.get_credentials(registry_http.address)
    assert found is not None
    assert (found.username, found.secret) == (registry_http.username, registry_http.password)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    removed = regcred.logout(registry_http.address)
    assert removed.removed == {str(docker_config): [registry_http.address]}
    assert regcred.get_credentials(registry_http.address) is None


def test_refused_login_raises_and_stores_nothing(registry_http: Registry, docker_config: Path) -> None:
    """LoginError, and no file written."""
    with pytest.raises(regcred.LoginError):
        regcred.login(registry_http.address, username=registry_http.username, secret="wrong-CANARY")
    assert not docker_config.exists()


def test_store_and_erase_credentials_without_network(docker_config: Path) -> None:
    """No registry is asked; erase reports whether anything was there."""
    result = regcred.store_credentials("nowhere.invalid:5000", "alice", "s3cret")
    assert not result.verified
    assert _auths(docker_config)["nowhere.invalid:5000"]["auth"] == base64.b64encode(b"alice:s3cret").decode()
    assert regcred.erase_credentials("nowhere.invalid:5000") is True
    assert regcred.erase_credentials("nowhere.invalid:5000") is False
    assert _auths(docker_config) == {}


def test_store_in_a_named_helper_routes_config_json_to_it(
    pass_env: PassEnv, docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """store='regcred-pass': the secret in pass, credHelpers names it, docker's {} marker in auths."""
    installed_helper("pass")
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    result = regcred.store_credentials("ghcr.io", "bob", "tok", store="regcred-pass")
    assert not result.plaintext
    data = json.loads(docker_config.read_text())
    assert data["auths"] == {"ghcr.io": {}}
    assert data["credHelpers"] == {"ghcr.io": "regcred-pass"}
    found = regcred.get_credentials("ghcr.io")
    assert found is not None
    assert found.secret == "tok"
    assert regcred.erase_credentials("ghcr.io") is True
    assert regcred.get_credentials("ghcr.io") is None


def test_store_in_the_file_refuses_a_key_routed_to_a_helper(docker_config: Path) -> None:
    """store='file' while credsStore routes the key elsewhere: refused, nothing written."""
    docker_config.parent.mkdir()
    docker_config.write_text('{"auths": {}, "credsStore": "regcred-pass"}')
    before = docker_config.read_bytes()
    with pytest.raises(regcred.CredentialStoreError, match="would leave it unused"):
        regcred.store_credentials("reg.example", "alice", "pw", store="file")
    assert docker_config.read_bytes() == before


def test_login_replaces_a_stale_registrytoken(registry_http: Registry, docker_config: Path) -> None:
    """docker login replaces the whole entry; a stale registrytoken would still be sent as Bearer."""
    docker_config.parent.mkdir()
    stale = {"auth": base64.b64encode(b"old:old").decode(), "registrytoken": "stale", "email": "x@y"}
    docker_config.write_text(json.dumps({"auths": {registry_http.address: stale}}))
    regcred.login(registry_http.address, username=registry_http.username, secret=registry_http.password)
    entry = _auths(docker_config)[registry_http.address]
    assert "registrytoken" not in entry
    assert entry["email"] == "x@y"  # fields regcred does not own survive


def test_logout_all(docker_config: Path) -> None:
    """all=True removes every credential; nothing stored raises CredentialsNotFoundError."""
    regcred.store_credentials("a.example", "u", "p")
    regcred.store_credentials("b.example", "u", "p")
    regcred.logout(all=True)
    assert regcred.list_credentials() == {}
    with pytest.raises(regcred.CredentialsNotFoundError):
        regcred.logout(all=True)
