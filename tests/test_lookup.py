"""Credential lookup precedence (regcred.get_credentials / list_credentials)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import regcred
from regcred import _config
from regcred.errors import AddressError, ConfigError, HelperError
from tests.fixtures.config_files import b64, write_config
from tests.fixtures.programs import fake_helper


def test_file_store_and_missing(docker_config: Path) -> None:
    """auths entries are decoded; an unknown server gives None."""
    write_config(docker_config, {"reg.example": ("alice", "pw")})
    creds = regcred.get_credentials("https://reg.example/v2/")
    assert creds is not None
    assert (creds.server, creds.username, creds.secret) == ("reg.example", "alice", "pw")
    assert "pw" not in repr(creds)
    assert "pw" not in str(creds)
    assert regcred.get_credentials("other.example") is None


def test_identity_token_is_token_username(docker_config: Path) -> None:
    """An identitytoken comes back as username <token>, as docker does."""
    write_config(docker_config, {"acr.example": {"auth": b64("bob:"), "identitytoken": "rt"}})
    creds = regcred.get_credentials("acr.example")
    assert creds is not None
    assert creds.is_identity_token
    assert creds.secret == "rt"


def test_hub_aliases_and_legacy_keys(docker_config: Path) -> None:
    """Every Hub spelling finds the Hub key; legacy https://host keys are found for host."""
    write_config(
        docker_config,
        {
            "https://index.docker.io/v1/": ("hub", "pw"),
            "http://legacy.example/v1/": ("old", "pw"),
            "quay.io/org-a": ("a", "pw"),
        },
    )
    for alias in (None, "docker.io", "index.docker.io", "registry-1.docker.io/library/x"):
        creds = regcred.get_credentials(alias)
        assert creds is not None
        assert creds.username == "hub"
    legacy = regcred.get_credentials("legacy.example")
    assert legacy is not None
    assert (legacy.server, legacy.username) == ("legacy.example", "old")


def test_namespaced_key_never_serves_another_namespace(docker_config: Path) -> None:
    """quay.io/org-a is not used for quay.io, quay.io/org-b or quay.io/org-ab (S11, ggcr#1510)."""
    write_config(docker_config, {"quay.io/org-a": ("a", "pw")})
    for other in ("quay.io", "quay.io/org-b", "quay.io/org-ab", "quay.io:443"):
        assert regcred.get_credentials(other) is None


def test_port_and_suffix_are_different_registries(docker_config: Path) -> None:
    """reg.example:5000, reg.example and reg.example.evil are three registries (S11)."""
    write_config(docker_config, {"reg.example:5000": ("u", "pw")})
    assert regcred.get_credentials("reg.example") is None
    assert regcred.get_credentials("reg.example.evil:5000") is None
    assert regcred.get_credentials("reg.example:5000") is not None


def test_cred_helpers_beat_creds_store_beat_file(docker_config: Path, bin_dir: Path) -> None:
    """credHelpers[key], then credsStore; plaintext beside a helper that has nothing is not used.

    c.example's plaintext sits in a config whose credsStore answers "not found" for
    it: docker then sends no credentials (differential row credsStore-empty-file-plaintext),
    so regcred neither returns nor lists it; doctor reports it as shadowed.
    """
    fake_helper(bin_dir, "per", {"a.example": ("per-user", "s1")})
    fake_helper(bin_dir, "global", {"a.example": ("global-user", "s2"), "b.example": ("g", "s3")})
    write_config(
        docker_config,
        {"a.example": {}, "c.example": ("file", "s4")},
        credHelpers={"a.example": "per"},
        credsStore="global",
    )
    got = {s: regcred.get_credentials(s) for s in ("a.example", "b.example", "c.example")}
    assert {s: (c.username if c else None) for s, c in got.items()} == {
        "a.example": "per-user",
        "b.example": "g",
        "c.example": None,
    }
    assert regcred.list_credentials() == {
        "a.example": "per-user",
        "b.example": "g",
    }


def test_failing_helper_fails_closed(docker_config: Path, bin_dir: Path) -> None:
    """A helper that errors (not "not found") raises; no silent fallback (S10a)."""
    write_config(docker_config, {}, credsStore="missing-helper")
    with pytest.raises(regcred.StoreUnavailableError):
        regcred.get_credentials("reg.example")


def test_podman_auth_files(docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """podman's files are a read-only fallback; namespaces match most specific first."""
    runtime = tmp_path / "run"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    write_config(
        runtime / "containers" / "auth.json",
        {
            "quay.io": ("host-user", "1"),
            "quay.io/org": ("org-user", "2"),
            "quay.io/org/repo": ("repo-user", "3"),
            "docker.io": ("hub-user", "4"),
        },
    )
    assert [
        getattr(regcred.get_credentials(s), "username", None)
        for s in (
            "quay.io/org/repo",
            "quay.io/org/other",
            "quay.io/elsewhere",
            "docker.io/library/x",
        )
    ] == ["repo-user", "org-user", "host-user", "hub-user"]
    assert regcred.get_credentials("quay.io", podman=False) is None
    monkeypatch.setenv("REGCRED_PODMAN_AUTH", "0")
    assert regcred.get_credentials("quay.io") is None
    monkeypatch.delenv("REGCRED_PODMAN_AUTH")
    write_config(docker_config, {"quay.io": ("docker-user", "5")})
    creds = regcred.get_credentials("quay.io")
    assert creds is not None
    assert creds.username == "docker-user"


def test_registry_auth_file_is_the_only_podman_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$REGISTRY_AUTH_FILE, when set, is the only podman file read."""
    runtime = tmp_path / "run"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    write_config(runtime / "containers" / "auth.json", {"r.example": ("x", "1")})
    explicit = tmp_path / "explicit.json"
    write_config(explicit, {"s.example": ("y", "2")})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(explicit))
    assert regcred.get_credentials("r.example") is None
    assert regcred.get_credentials("s.example") is not None


def test_errors_are_typed(docker_config: Path) -> None:
    """Bad addresses and bad files raise regcred errors with one root."""
    with pytest.raises(AddressError):
        regcred.get_credentials("user@reg.example")
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": []}))  # malformed: not what write_config writes
    with pytest.raises(ConfigError):
        regcred.get_credentials("reg.example")
    assert issubclass(HelperError, regcred.RegcredError)


def test_public_api_matches_all() -> None:
    """__all__ lists exactly the public names, and each resolves."""
    public = {n for n in dir(regcred) if not n.startswith("_")} | {"__version__"}
    assert set(regcred.__all__) == public
    for name in regcred.__all__:
        assert getattr(regcred, name) is not None


def test_lookup_in_a_large_config(docker_config: Path) -> None:
    """The last of 500 entries is found (timing lives in benchmarks/, not here)."""

    def seed(config: _config.Config) -> None:
        for i in range(500):
            config.set_auth(f"r{i}.example", "u", str(i))

    _config.update(docker_config, seed)
    creds = regcred.get_credentials("r499.example")
    assert creds is not None
    assert creds.secret == "499"


def test_docker_auth_config_env_overrides(docker_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$DOCKER_AUTH_CONFIG wins over config.json for its exact keys, as in docker 28.3+."""
    write_config(docker_config, {"reg.example": ("file", "1"), "b.example": ("b", "2")})
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", json.dumps({"auths": {"reg.example": {"auth": b64("env:3")}}}))
    env_creds = regcred.get_credentials("reg.example")
    assert env_creds is not None
    assert (env_creds.username, env_creds.secret) == ("env", "3")
    other = regcred.get_credentials("b.example")
    assert other is not None
    assert other.username == "b"
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", json.dumps({"auths": {"reg.example": {}}}))
    with pytest.raises(ConfigError, match=r"missing key `auth` for reg\.example"):
        regcred.get_credentials("reg.example")
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", json.dumps({"auths": {}, "credsStore": "x"}))
    with pytest.raises(ConfigError, match="unknown field"):
        regcred.get_credentials("reg.example")


def test_empty_cred_helper_pins_key_to_the_file(docker_config: Path, bin_dir: Path) -> None:
    """credHelpers[key] == "" means "the file" for that key, even with a credsStore (as docker)."""
    fake_helper(bin_dir, "global", {"a.example": ("stale-helper-copy", "s1")})
    write_config(
        docker_config, {"a.example": ("file-user", "s2")}, credHelpers={"a.example": ""}, credsStore="global"
    )
    creds = regcred.get_credentials("a.example")
    assert creds is not None
    assert creds.username == "file-user"


def test_credentials_value_semantics() -> None:
    """Credentials compare by value, hash, are immutable, and never show the secret."""
    a = regcred.Credentials("r", "u", "CANARY-secret")
    assert a == regcred.Credentials("r", "u", "CANARY-secret")
    assert a != regcred.Credentials("r", "u", "other")
    assert len({a, regcred.Credentials("r", "u", "CANARY-secret")}) == 1
    assert "CANARY" not in repr(a) + str(a) + repr([a])
    with pytest.raises(AttributeError):
        a.secret = "x"
