"""Environment settings: declared once, one policy for bad values, all in README's table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _settings
from regcred.errors import ConfigError
from tests.conftest import VENV_BIN, installed_helper
from tests.fixtures.processes import run

if TYPE_CHECKING:
    from tests.fixtures.keyring import Keyring
    from tests.fixtures.passstore import PassEnv

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "regcred"
README = (ROOT / "README.md").read_text()

_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
#: The ways src/ reads a variable: os.environ.get("X"), os.environ["X"], getenv("X"),
#: env.get("X") / env["X"] on a copy of os.environ, and "X" in os.environ / env.
_READS = (
    re.compile(rf"\b(?:environ|env)\s*\.\s*(?:get|pop|setdefault)\(\s*\"{_NAME}\""),
    re.compile(rf"\b(?:environ|env)\s*\[\s*\"{_NAME}\"\s*\]"),
    re.compile(rf"\bgetenv\(\s*\"{_NAME}\""),
    re.compile(rf"\"{_NAME}\"\s+(?:not\s+)?in\s+(?:os\.)?(?:environ|env)\b"),
)
#: Path.home() and expanduser() read HOME.
_READS_HOME = re.compile(r"\bPath\.home\(\)|\bexpanduser\(")


def _reads(text: str) -> set[str]:
    names = {m.group(1) for pattern in _READS for m in pattern.finditer(text)}
    if _READS_HOME.search(text):
        names.add("HOME")
    return names


def _sources() -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(SRC.rglob("*.py"))}


def _table() -> dict[str, tuple[str, str]]:
    """README's Environment table: each variable named in a row's first cell -> (effect, default)."""
    section = README.split("\n## Environment\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, line
        for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[0]):
            rows[name] = (cells[1], cells[2])
    return rows


def test_the_scan_sees_every_spelling() -> None:
    """The scanner below finds each way of reading a variable (so a missing row cannot hide)."""
    text = (
        'os.environ.get("A1")\nos.environ["A2"]\nos.getenv("A3")\nenv.get("A4", "")\n'
        'x = "A5" in env\nPath.home()\nprint("NOT_READ")\n'
    )
    assert _reads(text) == {"A1", "A2", "A3", "A4", "A5", "HOME"}


def test_readme_lists_every_variable_read() -> None:
    """Every variable src/regcred reads, and every one _settings declares, has a README row."""
    read = set(_settings.SETTINGS)
    for text in _sources().values():
        read |= _reads(text)
    assert sorted(read - set(_table())) == []


def test_readme_lists_only_variables_read() -> None:
    """Each README row names a variable that regcred really reads."""
    read = set(_settings.SETTINGS)
    for text in _sources().values():
        read |= _reads(text)
    assert sorted(set(_table()) - read) == []


def test_readme_rows_match_the_declarations() -> None:
    """A declared setting's README row shows its declared doc and default."""
    table = _table()
    for name, setting in _settings.SETTINGS.items():
        assert table[name] == (setting.doc, setting.shown_default), name


def test_declared_variables_are_read_only_through_settings() -> None:
    """No module but _settings reads a declared variable directly."""
    direct = {
        (str(path.relative_to(SRC)), name)
        for path, text in _sources().items()
        if path.name != "_settings.py"
        for name in _reads(text) & set(_settings.SETTINGS)
    }
    assert sorted(direct) == []


_SECONDS = [name for name, s in _settings.SETTINGS.items() if s.kind == _settings.SECONDS]
_FLAGS = [name for name, s in _settings.SETTINGS.items() if s.kind == _settings.FLAG]


@pytest.mark.parametrize("name", _SECONDS)
def test_seconds_unset_empty_and_good(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset or empty: the default; a positive finite number: that number."""
    default = _settings.SETTINGS[name].default
    assert _settings.seconds(name) == default
    monkeypatch.setenv(name, "")
    assert _settings.seconds(name) == default
    monkeypatch.setenv(name, " 2.5 ")
    assert _settings.seconds(name) == 2.5


@pytest.mark.parametrize("name", _SECONDS)
@pytest.mark.parametrize("value", ["abc", "0", "-1", "inf", "nan", "1e999", "CANARY-s3cret"])
def test_bad_seconds_are_an_error(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every seconds setting rejects the same values, naming itself, echoing no text."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"^{name}\b.*: give a positive number of seconds") as info:
        _settings.seconds(name)
    assert "\n" not in str(info.value)
    assert "CANARY" not in str(info.value)
    assert "abc" not in str(info.value)


@pytest.mark.parametrize("name", _FLAGS)
def test_flags(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag takes 1/true/yes/on and 0/false/no/off (any case); anything else is an error."""
    assert _settings.flag(name) is _settings.SETTINGS[name].default
    for value in ("1", "true", "YES", "On"):
        monkeypatch.setenv(name, value)
        assert _settings.flag(name) is True
    for value in ("0", "False", "no", "OFF"):
        monkeypatch.setenv(name, value)
        assert _settings.flag(name) is False
    monkeypatch.setenv(name, "CANARY-maybe")
    with pytest.raises(ConfigError, match=rf"^{name} is neither on nor off") as info:
        _settings.flag(name)
    assert "CANARY" not in str(info.value)


def test_lists_and_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Lists split at whitespace (None when unset, as pass's [[ -n ]]); paths default with ~ expanded."""
    assert _settings.password_store_key() is None
    monkeypatch.setenv("PASSWORD_STORE_KEY", " a  b\tc ")
    assert _settings.password_store_key() == ("a", "b", "c")
    assert _settings.password_store_dir() == os.path.expanduser("~/.password-store")
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(tmp_path))
    assert _settings.password_store_dir() == str(tmp_path)
    assert _settings.gpg_program() == "gpg"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("REGCRED_AWS_PREFIX", "CANARY bad!", "must be 1 to 256 of the characters AWS allows"),
        ("REGCRED_AWS_PREFIX", "x" * 257, "must be 1 to 256 of the characters AWS allows"),
        ("REGCRED_AWS_RECOVERY_DAYS", "5", "must be a number of days from 7 to 30, or 0"),
        ("REGCRED_AWS_RECOVERY_DAYS", "CANARY", "must be a number of days from 7 to 30, or 0"),
        ("REGCRED_AWS_RECOVERY_DAYS", "\u0663\u0660", "must be a number of days from 7 to 30, or 0"),
    ],
)
def test_the_aws_settings_follow_the_one_policy(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    """The AWS store's own variables: unset or empty is the default; a bad value, one line, not echoed."""
    assert (_settings.aws_prefix(), _settings.aws_recovery_days(), _settings.aws_region()) == (
        "regcred/",
        7,
        None,
    )
    monkeypatch.setenv("REGCRED_AWS_PREFIX", "")
    monkeypatch.setenv("REGCRED_AWS_RECOVERY_DAYS", " ")
    assert (_settings.aws_prefix(), _settings.aws_recovery_days()) == ("regcred/", 7)
    monkeypatch.setenv("REGCRED_AWS_PREFIX", "team/a@b+c=d.e_f-")
    monkeypatch.setenv("REGCRED_AWS_RECOVERY_DAYS", " 0 ")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert (_settings.aws_prefix(), _settings.aws_recovery_days()) == ("team/a@b+c=d.e_f-", 0)
    assert _settings.aws_region() == "eu-west-1"
    monkeypatch.setenv(name, value)
    assert [line.split()[0] for line in _settings.problems()] == [name]  # doctor sees it too
    with pytest.raises(ConfigError, match=rf"^{name} {words}") as info:
        (_settings.aws_prefix if name == "REGCRED_AWS_PREFIX" else _settings.aws_recovery_days)()
    assert "CANARY" not in str(info.value)
    assert value not in str(info.value)


def test_problems_lists_every_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """problems() gives each bad setting's one line (doctor can show them all at once)."""
    assert _settings.problems() == []
    monkeypatch.setenv("REGCRED_DBUS_TIMEOUT", "abc")
    monkeypatch.setenv("REGCRED_DEBUG", "maybe")
    monkeypatch.setenv("REGCRED_HTTP_TIMEOUT", "2")
    assert [line.split()[0] for line in _settings.problems()] == ["REGCRED_DBUS_TIMEOUT", "REGCRED_DEBUG"]


def test_an_undeclared_name_is_a_bug() -> None:
    """Accessors only read declared settings, of the declared kind."""
    with pytest.raises(KeyError):
        _settings.seconds("REGCRED_NO_SUCH_TIMEOUT")
    with pytest.raises(TypeError):
        _settings.flag("REGCRED_HELPER_TIMEOUT")


# --- through the real programs ------------------------------------------------

_BAD_SECONDS = re.compile(
    r"^(regcred: )?(REGCRED_[A-Z]+_TIMEOUT)( is not a number|=-1 is not allowed): give a positive number"
    r" of seconds, or unset it for the default \(\d+\)\n$"
)


def _run(argv: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run(argv, stdin=stdin, extra_env={"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", **env})


def _one_line_error(result: subprocess.CompletedProcess[str], stream: str, name: str) -> None:
    text = result.stdout if stream == "stdout" else result.stderr
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    match = _BAD_SECONDS.match(text)
    assert match, text
    assert match.group(2) == name


def test_bad_helper_timeout_in_regcred_list(pass_env: PassEnv, docker_config: Path) -> None:
    """REGCRED_HELPER_TIMEOUT=abc is one line and exit 1 (it used to mean 30 s, silently)."""
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"credsStore": "regcred-pass"}))
    installed_helper("pass")
    assert _run([sys.executable, "-m", "regcred", "list"], {}).returncode == 0  # the helper works
    result = _run([sys.executable, "-m", "regcred", "list"], {"REGCRED_HELPER_TIMEOUT": "abc"})
    _one_line_error(result, "stderr", "REGCRED_HELPER_TIMEOUT")


def test_bad_dbus_timeout_in_the_secretservice_helper(keyring: Keyring) -> None:
    """REGCRED_DBUS_TIMEOUT=abc: the helper's one line on stdout, exit 1, same wording."""
    helper = installed_helper("secretservice")
    for action in ("list", "get"):
        result = _run([helper, action], {"REGCRED_DBUS_TIMEOUT": "abc"}, stdin="reg.example\n")
        _one_line_error(result, "stdout", "REGCRED_DBUS_TIMEOUT")


def test_bad_lock_timeout_in_regcred_logout(docker_config: Path) -> None:
    """REGCRED_LOCK_TIMEOUT=-1 is one line and exit 1, and config.json is left as it was."""
    docker_config.parent.mkdir()
    original = json.dumps({"auths": {"reg.example": {"auth": "dTpw"}}})
    docker_config.write_text(original)
    result = _run([sys.executable, "-m", "regcred", "logout", "reg.example"], {"REGCRED_LOCK_TIMEOUT": "-1"})
    _one_line_error(result, "stderr", "REGCRED_LOCK_TIMEOUT")
    assert docker_config.read_text() == original


# --- the settings reach the places that had a fixed 30 s ------------------------


def test_migrate_rollback_reads_the_lock_timeout(
    docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """migrate's rollback of config.json waits REGCRED_LOCK_TIMEOUT for the lock (was a fixed 30 s)."""
    from regcred._tools import migrate

    docker_config.parent.mkdir()
    docker_config.write_bytes(b'{"credsStore": "regcred-pass"}\n')
    monkeypatch.setenv("REGCRED_LOCK_TIMEOUT", "abc")
    with pytest.raises(ConfigError, match=r"^REGCRED_LOCK_TIMEOUT is not a number"):
        migrate._restore(docker_config, b"{}\n", docker_config.read_bytes())
    assert docker_config.read_bytes() == b'{"credsStore": "regcred-pass"}\n'


def test_doctor_gpg_check_reads_the_gpg_timeout(pass_env: PassEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """doctor's gpg key check runs gpg under REGCRED_GPG_TIMEOUT (was a fixed 30 s)."""
    from regcred.stores.pass_ import PassStore

    assert PassStore().status().state == "ok"
    monkeypatch.setenv("REGCRED_GPG_TIMEOUT", "abc")
    with pytest.raises(ConfigError, match=r"^REGCRED_GPG_TIMEOUT is not a number"):
        PassStore().status()
