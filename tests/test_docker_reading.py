"""config.json read exactly as docker reads it (issue 10 #3, #6, #7); the differential
suite (tests/test_differential.py) checks the same cases against the real docker."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

import regcred
from regcred.errors import ConfigError

pytestmark = pytest.mark.portable  # needs no Linux component: .github/workflows/portable.yml runs it


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


def test_data_after_the_json_value_is_read_but_never_rewritten(docker_config: Path) -> None:
    """Go's decoder reads the first value; regcred too, and refuses to rewrite, saying why."""
    text = json.dumps({"auths": {"reg.example": {"auth": _b64("alice:pw")}}}) + "\n}garbage"
    _write(docker_config, text)
    found = regcred.get_credentials("reg.example")
    assert found is not None
    assert (found.username, found.secret) == ("alice", "pw")
    assert regcred.list_credentials() == {"reg.example": "alice"}
    with pytest.raises(ConfigError, match="data after the JSON value"):
        regcred.store_credentials("other.example", "bob", "pw")
    assert docker_config.read_text() == text


def test_a_repeated_key_takes_the_last_value(docker_config: Path) -> None:
    """A key that appears twice: the last value counts (Go), and the file is not rewritten."""
    first, last = _b64("first:one"), _b64("last:two")
    text = f'{{"auths": {{"reg.example": {{"auth": "{first}"}}, "reg.example": {{"auth": "{last}"}}}}}}'
    _write(docker_config, text)
    found = regcred.get_credentials("reg.example")
    assert found is not None
    assert found.username == "last"
    with pytest.raises(ConfigError, match="appears twice"):
        regcred.erase_credentials("reg.example")
    assert docker_config.read_text() == text


def test_an_exact_marker_wins_over_a_legacy_key(docker_config: Path) -> None:
    """An exact {} entry beside https://host with credentials: docker uses the exact one (none)."""
    auths = {"reg.example": {}, "https://reg.example": {"auth": _b64("old:pw")}}
    _write(docker_config, json.dumps({"auths": auths}))
    assert regcred.get_credentials("reg.example") is None


def test_a_key_with_a_path_serves_its_namespace(docker_config: Path) -> None:
    """podman writes host/ns keys into docker's file; they serve host/ns/... (but not others, S11)."""
    _write(docker_config, json.dumps({"auths": {"reg.example/team": {"auth": _b64("t:pw")}}}))
    found = regcred.get_credentials(["reg.example/team/app", "1.0"][0])
    assert found is not None
    assert found.username == "t"
    assert regcred.get_credentials("reg.example/other/app") is None
    assert regcred.get_credentials("reg.example") is None


def test_cred_helpers_are_matched_by_the_exact_key(docker_config: Path) -> None:
    """credHelpers["https://reg.example/v2"] is not reg.example's helper (docker matches exactly)."""
    data = {
        "auths": {"reg.example": {"auth": _b64("file:pw")}},
        "credHelpers": {"https://reg.example/v2": "not-installed"},
    }
    _write(docker_config, json.dumps(data))
    found = regcred.get_credentials("reg.example")
    assert found is not None
    assert found.username == "file"


@pytest.mark.parametrize(
    ("reference", "key"),
    [
        ("ghcr.io/org/app:1.2", "ghcr.io"),
        ("ghcr.io/org/app@sha256:" + "ab" * 32, "ghcr.io"),
        ("localhost:5000/app:dev", "localhost:5000"),
        ("alpine", "https://index.docker.io/v1/"),
        ("alpine:3.19", "https://index.docker.io/v1/"),
        ("someuser/image:tag", "https://index.docker.io/v1/"),
    ],
)
def test_image_references_resolve_to_their_registry(docker_config: Path, reference: str, key: str) -> None:
    """get_credentials and `regcred get` take image references by docker's grammar (issue 10 #10)."""
    _write(docker_config, json.dumps({"auths": {key: {"auth": _b64("u:pw")}}}))
    found = regcred.get_credentials(reference)
    assert found is not None
    assert (found.server, found.username) == (key, "u")


def test_a_bad_digest_names_the_whole_reference(docker_config: Path) -> None:
    """The digest error names what was given, so the user can see which argument was wrong."""
    reference = "ghcr.io/org/app@sha256:not-hex"
    with pytest.raises(regcred.AddressError, match=re.escape(reference)):
        regcred.get_credentials(reference)
