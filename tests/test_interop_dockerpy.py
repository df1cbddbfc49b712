"""docker-py (the Python Docker SDK) reads what regcred writes, through the file and our helpers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

# docker-py is in pyproject's test group: missing means a broken set-up, so no importorskip.
import docker.auth as docker_auth
import docker.credentials as docker_credentials
import pytest

from regcred import _config
from regcred.credentials import Credentials

if TYPE_CHECKING:
    from tests.fixtures.keyring import Keyring


def test_dockerpy_reads_our_file_store(docker_config: Path) -> None:
    """docker.auth resolves a plaintext entry and an identity token that regcred wrote."""

    def seed(config: _config.Config) -> None:
        config.set_auth("reg.example:5000", "alice", "p<&>w")
        config.set_auth("acr.example", "bob", "", identitytoken="refresh-tok")

    _config.update(docker_config, seed)
    auth = docker_auth.load_config(str(docker_config))
    plain = auth.resolve_authconfig("reg.example:5000")
    assert (plain["username"], plain["password"]) == ("alice", "p<&>w")
    token = auth.resolve_authconfig("acr.example")
    assert token["IdentityToken"] == "refresh-tok"


def test_dockerpy_uses_our_secretservice_helper(
    docker_config: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker.credentials.Store talks to docker-credential-regcred-secretservice: get, list, not-found."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    store = docker_credentials.Store("regcred-secretservice")
    store.store("reg.example:5000", "alice", "s3cr3t")
    assert store.get("reg.example:5000") == {
        "ServerURL": "reg.example:5000",
        "Username": "alice",
        "Secret": "s3cr3t",
    }
    assert store.list() == {"reg.example:5000": "alice"}
    with pytest.raises(docker_credentials.CredentialsNotFound):
        store.get("other.example")
    store.erase("reg.example:5000")
    assert store.list() == {}

    def seed(config: _config.Config) -> None:
        config.set_marker("reg.example:5000")
        config.set_creds_store("regcred-secretservice")

    _config.update(docker_config, seed)
    store.store("reg.example:5000", "carol", "pw2")
    resolved = docker_auth.load_config(str(docker_config)).resolve_authconfig("reg.example:5000")
    assert (resolved["Username"], resolved["Password"]) == ("carol", "pw2")


def test_regcred_credentials_match_dockerpy(docker_config: Path) -> None:
    """regcred.get_credentials and docker-py agree on a config both read."""
    import regcred

    _config.update(docker_config, lambda c: c.set_auth("https://legacy.example/v1/", "u", "pw"))
    ours = regcred.get_credentials("legacy.example")
    theirs = docker_auth.load_config(str(docker_config)).resolve_authconfig("legacy.example")
    assert ours == Credentials("legacy.example", theirs["username"], theirs["password"])
