"""config.json: reading, preserving, atomic and locked writing (regcred._config, regcred._files)."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcred import _config
from regcred.errors import ConfigError
from tests.conftest import require_program


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _set(path: Path, key: str, user: str, password: str) -> None:
    _config.update(path, lambda c: c.set_auth(key, user, password))


def test_location_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config DIR beats $DOCKER_CONFIG, which beats ~/.docker."""
    assert _config.config_path() == Path.home() / ".docker" / "config.json"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "env"))
    assert _config.config_path() == tmp_path / "env" / "config.json"
    assert _config.config_path(tmp_path / "flag") == tmp_path / "flag" / "config.json"


@pytest.mark.parametrize("content", [None, b"", b"  \n\t"])
def test_missing_or_empty_is_empty_config(docker_config: Path, content: bytes | None) -> None:
    """A missing, empty or whitespace-only file is an empty config."""
    if content is not None:
        docker_config.parent.mkdir()
        docker_config.write_bytes(content)
    config = _config.load(docker_config)
    assert config.auth_keys() == []
    assert config.creds_store == ""


def test_first_write_is_docker_layout(docker_config: Path) -> None:
    """A new file: dir 0700, file 0600, tab-indented, no trailing newline, as docker writes."""
    _set(docker_config, "reg.example", "alice", "pw")
    assert stat.S_IMODE(docker_config.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(docker_config.stat().st_mode) == 0o600
    auth = _b64("alice:pw")
    expected = f'{{\n\t"auths": {{\n\t\t"reg.example": {{\n\t\t\t"auth": "{auth}"\n\t\t}}\n\t}}\n}}'
    assert docker_config.read_text() == expected


def test_umask_000_still_private(docker_config: Path) -> None:
    """Under umask 000 the new directory is 0700 and the file 0600 (S12)."""
    old = os.umask(0)
    try:
        _set(docker_config, "reg.example", "alice", "pw")
    finally:
        os.umask(old)
    assert stat.S_IMODE(docker_config.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(docker_config.stat().st_mode) == 0o600


def test_preserves_foreign_data(docker_config: Path) -> None:
    """Unknown top-level keys and per-entry fields survive a write (S17)."""
    docker_config.parent.mkdir()
    original: dict[str, Any] = {
        "auths": {
            "other.example": {
                "auth": _b64("bob:x"),
                "email": "b@x",
                "registrytoken": "rt",
                "x-y": 1,
            },
        },
        "psFormat": "table {{.ID}}",
        "currentContext": "ctx",
        "plugins": {"p": {"k": "v"}},
        "features": {"hooks": "true"},
        "proxies": {"default": {"httpProxy": "http://p:3128"}},
        "somethingNew": [1, 2, {"z": None}],
        "credHelpers": {"gcr.io": "gcloud"},
    }
    docker_config.write_text(json.dumps(original))
    _set(docker_config, "reg.example", "alice", "pw")
    data = json.loads(docker_config.read_text())
    assert data["auths"]["other.example"] == original["auths"]["other.example"]
    for key in (
        "psFormat",
        "currentContext",
        "plugins",
        "features",
        "proxies",
        "somethingNew",
        "credHelpers",
    ):
        assert data[key] == original[key]
    _config.update(docker_config, lambda c: c.remove_auth("reg.example"))
    assert json.loads(docker_config.read_text()) == original


def test_rewrite_entry_keeps_its_unknown_fields(docker_config: Path) -> None:
    """Re-login on an entry keeps its email/registrytoken but drops stale plaintext fields."""
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {"r": {"username": "u", "password": "old", "email": "e"}}}))
    _set(docker_config, "r", "u", "new")
    entry = json.loads(docker_config.read_text())["auths"]["r"]
    assert entry == {"auth": _b64("u:new"), "email": "e"}


@pytest.mark.parametrize(
    ("content", "place"),
    [
        (b'{"auths": {', "line 1 column"),
        (b'{"auths": []}', '"auths" must be a JSON object'),
        (b'{"auths": {"r": "x"}}', 'auths["r"] must be a JSON object'),
        (b'{"auths": {"r": {"auth": 5}}}', 'auths["r"].auth must be a string'),
        (b'{"auths": {"r": {"auth": "!!!"}}}', 'auths["r"].auth is not valid base64'),
        (b'{"credsStore": 1}', '"credsStore" must be a string'),
        (b'{"credHelpers": {"r": null}}', 'credHelpers["r"] must be a string'),
        (b"[1]", "top level must be a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_malformed_file_is_never_rewritten(docker_config: Path, content: bytes, place: str) -> None:
    """Malformed JSON or wrong types: a clear error naming file and place, file untouched (S16)."""
    docker_config.parent.mkdir()
    docker_config.write_bytes(content)
    before = docker_config.stat()
    with pytest.raises(ConfigError, match=re.escape(place)) as info:
        _set(docker_config, "reg.example", "alice", "pw")
    assert str(docker_config) in str(info.value)
    assert docker_config.read_bytes() == content
    assert docker_config.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize("decoded", ["CANARY-nocolon", ":CANARY-emptyuser"])
def test_bad_auth_error_has_no_secret(docker_config: Path, decoded: str) -> None:
    """An auth value that decodes badly is reported without its decoded content (S19)."""
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {"r": {"auth": _b64(decoded)}}}))
    with pytest.raises(ConfigError) as info:
        _config.load(docker_config)
    assert "CANARY" not in str(info.value)
    assert "username:password" in str(info.value)


def test_symlink_is_kept_and_target_written(docker_config: Path, tmp_path: Path) -> None:
    """A symlinked config.json stays a symlink; its (relative) target gets the new content."""
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "docker-config.json"
    target.write_text("{}")
    docker_config.parent.mkdir()
    docker_config.symlink_to(os.path.relpath(target, docker_config.parent))
    _set(docker_config, "reg.example", "alice", "pw")
    assert docker_config.is_symlink()
    assert "reg.example" in json.loads(target.read_text())["auths"]


def test_existing_mode_is_kept(docker_config: Path) -> None:
    """An existing file's mode survives the atomic replace."""
    docker_config.parent.mkdir()
    docker_config.write_text("{}")
    docker_config.chmod(0o640)
    _set(docker_config, "reg.example", "alice", "pw")
    assert stat.S_IMODE(docker_config.stat().st_mode) == 0o640


def test_unchanged_content_is_not_rewritten(docker_config: Path) -> None:
    """A save that changes nothing does not touch the file (docker/cli#5553)."""
    _set(docker_config, "reg.example", "alice", "pw")
    inode = docker_config.stat().st_ino
    _set(docker_config, "reg.example", "alice", "pw")
    assert docker_config.stat().st_ino == inode


def test_stale_temp_files_are_cleaned(docker_config: Path) -> None:
    """Temp files left by a killed writer are removed by the next save."""
    docker_config.parent.mkdir()
    stale = docker_config.parent / ".config.json.regcred-999-1.tmp"
    stale.write_text('{"auths": {"half": ')
    foreign = docker_config.parent / "config.json1234"
    foreign.write_text("not ours")
    _set(docker_config, "reg.example", "alice", "pw")
    assert not stale.exists()
    assert foreign.exists()


def test_case_insensitive_fields_are_read(docker_config: Path) -> None:
    """Like Go, field names match case-insensitively ("Auths", "CREDSSTORE")."""
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"Auths": {"r": {"Auth": _b64("u:p")}}, "CREDSSTORE": "x"}))
    config = _config.load(docker_config)
    assert config.creds_store == "x"
    entry = config.entry("r")
    assert entry is not None
    assert (entry.username, entry.password) == ("u", "p")
    assert "p" not in repr(entry).replace("has_secret", "")


def test_password_nuls_trimmed_like_docker(docker_config: Path) -> None:
    """Docker trims NUL bytes around the decoded password."""
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {"r": {"auth": _b64("u:\x00pw\x00")}}}))
    entry = _config.load(docker_config).entry("r")
    assert entry is not None
    assert entry.password == "pw"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_loader_never_crashes(tmp_path: Path, content: bytes) -> None:
    """Any bytes load as a config or raise ConfigError; nothing else escapes."""
    path = tmp_path / "fuzz.json"
    path.write_bytes(content)
    try:
        _config.load(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_docker_cli_reads_what_we_write(docker_config: Path) -> None:
    """The Docker CLI parses our file without a warning."""
    docker = require_program("docker", "docker-ce-cli")
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"psFormat": "{{.ID}}", "auths": {}}))
    _set(docker_config, "reg.example", "alice", "p<&>w\u2028")
    result = subprocess.run(
        [
            docker,
            "--config",
            str(docker_config.parent),
            "version",
            "--format",
            "{{.Client.Version}}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.stdout.strip(), result.stderr
    assert "WARNING" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "content",
    [
        b'{"Auths": {}, "AUTHS": {"r": {"auth": "dTpw"}}}',
        b'{"auths": {"r": {"auth": "dTpw", "Auth": "dTpx"}}}',
        b'{"auths": {}, "auths": {"r": {"auth": "dTpw"}}}',
        b'{"auths": {"r": {"auth": "dTpw"}, "r": {}}}',
    ],
)
def test_ambiguous_fields_are_refused(docker_config: Path, content: bytes) -> None:
    """Two spellings of one field, or a repeated key: refused, never guessed at or rewritten."""
    docker_config.parent.mkdir()
    docker_config.write_bytes(content)
    with pytest.raises(ConfigError, match="keep one"):
        _set(docker_config, "reg.example", "alice", "pw")
    assert docker_config.read_bytes() == content


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(_json_values)
def test_fast_indent_encoder_matches_stdlib(value: object) -> None:
    """Our tab-indented encoder writes exactly what json.dumps(indent="\\t") writes, Go-escaped."""
    from regcred._gojson import _GO_ESCAPES, dumps_indent

    expected = json.dumps(value, ensure_ascii=False, indent="\t").translate(_GO_ESCAPES)
    assert dumps_indent(value) == expected


@given(st.dictionaries(st.text(), st.text(), max_size=5), st.booleans())
def test_fast_compact_encoder_matches_stdlib(value: dict[str, str], sort_keys: bool) -> None:
    """The json-free helper encoder writes what json.dumps writes, Go-escaped, plus a newline."""
    from regcred._gojson import _GO_ESCAPES, dumps_compact

    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    assert dumps_compact(value, sort_keys=sort_keys) == text.translate(_GO_ESCAPES) + "\n"


def test_numbers_keep_their_text(docker_config: Path) -> None:
    """Numbers in keys docker ignores come back exactly as written (1.50, 1e999, -0.0)."""
    docker_config.parent.mkdir()
    docker_config.write_text('{"auths": {}, "x": [1.50, 1e999, -0.0, 10, 2E-3]}')
    _set(docker_config, "reg.example", "alice", "pw")
    assert '"x": [\n\t\t1.50,\n\t\t1e999,\n\t\t-0.0,\n\t\t10,\n\t\t2E-3\n\t]' in docker_config.read_text()
