"""The ``regcred`` command itself: usage errors exit 2, and what it prints is safe on a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regcred import UsageError, _write
from regcred._text import printable
from regcred._tools.migrate import migrate
from regcred.errors import RegcredError
from tests.fixtures.config_files import write_config
from tests.fixtures.processes import regcred

# Every raw byte that would reach the terminal as a control: C0 (ESC, BEL, CR …),
# DEL, C1 (CSI U+009B, OSC U+009D) in UTF-8, and the bidi override U+202E.
RAW_CONTROLS = [bytes([c]) for c in range(0x20) if c != 0x0A] + [b"\x7f", "\x9b".encode(), "\x9d".encode()]
BIDI = ["\u202e", "\u2066", "\u200f"]


@pytest.fixture
def seeded(docker_config: Path) -> bytes:
    """A config.json holding one plaintext credential; returns its bytes."""
    return write_config(docker_config, {"reg.example": ("u", "pw")})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["logout", "--all", "reg.example"], "give a SERVER or --all, not both"),
        (["login", "reg.example", "-u", "u", "-p", "x", "--password-stdin"], "conflicting options"),
        (["login", "reg.example", "--password-stdin"], "requires --username"),
        (["login", "reg.example", "-p", "-"], "requires --username"),
        (["migrate", "--to", "bad/name"], "invalid store 'bad/name'"),
        (["migrate", "--to", "../evil", "reg.example"], "invalid store '../evil'"),
        (["migrate", "--to", ""], "invalid store ''"),
        (["export", "--name", "Bad_Name"], "invalid Secret name"),
        (["export", "--namespace", "a.b"], "invalid namespace"),
    ],
)
def test_usage_errors_exit_2(docker_config: Path, seeded: bytes, argv: list[str], message: str) -> None:
    """Contradictory flags and invalid names: exit 2, one line naming the --help to read, nothing changed."""
    result = regcred(*argv, stdin="pw\n", binary=True)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert result.stdout == b""
    assert message in err
    [line] = err.splitlines()
    assert line.startswith("regcred: ")
    assert f"'regcred {argv[0]} --help'" in line
    assert "Traceback" not in err
    assert docker_config.read_bytes() == seeded


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["login", "127.0.0.1:9", "-u", "u", "--password-stdin"], "\n", "password is empty"),
        (["login", "127.0.0.1:9", "-u", "u", "-p", ""], "", "password is empty"),
        (["migrate", "--to", "not-installed"], "", "not found on PATH"),
    ],
)
def test_value_and_store_errors_stay_exit_1(
    docker_config: Path, seeded: bytes, argv: list[str], stdin: str, message: str
) -> None:
    """Bad values and missing stores are not usage errors: exit 1, one line, no usage hint."""
    result = regcred(*argv, stdin=stdin, binary=True)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "--help" not in err
    assert docker_config.read_bytes() == seeded


def test_usage_error_is_public_and_a_value_error() -> None:
    """UsageError is in the public tree, under RegcredError and ValueError."""
    assert issubclass(UsageError, RegcredError)
    assert issubclass(UsageError, ValueError)


def test_library_logout_refuses_server_with_all(docker_config: Path, seeded: bytes) -> None:
    """logout(server, all=True) is a UsageError, not a logout of everything."""
    with pytest.raises(UsageError, match="not both"):
        _write.logout("other.example", all=True)
    assert docker_config.read_bytes() == seeded


def test_library_migrate_refuses_invalid_store_name(docker_config: Path, seeded: bytes) -> None:
    """migrate() to an invalid helper name is a UsageError raised before anything is read."""
    with pytest.raises(UsageError, match="invalid store"):
        migrate("bad/name")
    assert docker_config.read_bytes() == seeded


def test_invalid_helper_named_by_the_config_is_not_usage(docker_config: Path, seeded: bytes) -> None:
    """An invalid credsStore in config.json is the config's fault: exit 1, not 2."""
    docker_config.write_text(json.dumps({"auths": {"reg.example": {}}, "credsStore": "../evil"}))
    before = docker_config.read_bytes()
    result = regcred("migrate", "--to", "file", binary=True)
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert docker_config.read_bytes() == before


def _evil_config(docker_config: Path) -> dict[str, str]:
    """Keys and usernames that carry every kind of terminal control; returns key -> username."""
    entries = {
        "\x1b[2Jevil": "u\x1b]52;c;cGF5bG9hZA==\x07",
        "reg.example\r\x1b[1Aok": "\x9b31mred\x9d0;title\x9c",
        "bidi.example": "\u202eresu\u2066x\u2069\u200f",
        "del.example": "a\x7fb\x00c\x08d\x85e",
    }
    write_config(docker_config, {k: (u, "pw") for k, u in entries.items()})
    return entries


def test_list_escapes_terminal_controls(docker_config: Path) -> None:
    """`regcred list` prints no raw control or bidi character from a key or a username (issue 11 #7)."""
    entries = _evil_config(docker_config)
    result = regcred("list", binary=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for raw in RAW_CONTROLS:
        assert raw not in out, raw
    for char in BIDI:
        assert char.encode() not in out, char
    text = out.decode()
    assert "\\x1b[2Jevil" in text
    assert "u\\x1b]52;c;cGF5bG9hZA==\\x07" in text
    assert "\\u202eresu" in text
    assert len(text.splitlines()) == len(entries)


def test_list_json_stays_exact(docker_config: Path) -> None:
    """`regcred list --json` is exact JSON: the same keys and usernames, byte for byte once decoded."""
    entries = _evil_config(docker_config)
    result = regcred("list", "--json", binary=True)
    assert result.returncode == 0, result.stderr
    assert b"\x1b" not in result.stdout
    assert json.loads(result.stdout) == entries


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2Jevil", "\\x1b[2Jevil"),
        ("a\x00\x07\x08\t\n\r\x1f", "a\\x00\\x07\\x08\\x09\\x0a\\x0d\\x1f"),
        ("\x7f\x80\x9b\x9f", "\\x7f\\x80\\x9b\\x9f"),
        (
            "\u202aa\u202eb\u2066c\u2069\u200e\u200f\u061c",
            "\\u202aa\\u202eb\\u2066c\\u2069\\u200e\\u200f\\u061c",
        ),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("lone\ud800", "lone\\ud800"),
        ("DOMAIN\\user ghcr.io/ns Ünïcødé 日本 🐳 \xa0", "DOMAIN\\user ghcr.io/ns Ünïcødé 日本 🐳 \xa0"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    """printable() escapes C0, DEL, C1, bidi controls, separators and lone surrogates, nothing else."""
    assert printable(text) == shown
    printable(text).encode()  # always encodable


def test_error_messages_are_escaped(docker_config: Path) -> None:
    """An error quoting text from config.json reaches the terminal with its controls escaped."""
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {"x\x1b[2J\x9b": {"auth": "!!"}}}))
    result = regcred("list", binary=True)
    assert result.returncode == 1
    assert b"\x1b" not in result.stderr
    assert "\x9b".encode() not in result.stderr
    assert '"x\\x1b[2J\\x9b"' in result.stderr.decode()
    assert len(result.stderr.decode().strip().splitlines()) == 1
