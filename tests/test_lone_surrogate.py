"""A lone UTF-16 surrogate in config.json (``"\\ud800"``) is refused, with its place (issue 11 #6).

Python's json turns the escape into a string that cannot be encoded: before,
``list``, ``doctor``, ``login`` and ``export`` died with a traceback and
``logout --all`` did its work, then crashed.  Now the file is refused when
it is read, like any other invalid input: one line naming the file and the
place, exit 1, the file's bytes untouched.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.processes import regcred
from tests.fixtures.programs import helper_script

if TYPE_CHECKING:
    from tests.fixtures.registry import Registry

AUTH = base64.b64encode(b"alice:s3cret").decode()

#: config.json text (the escape as JSON writes it) -> the place the error names
CONFIGS = {
    "key": (
        '{"auths": {"reg.example": {"auth": "AUTH"}, "bad\\ud800": {"auth": "AUTH"}}}',
        'the key auths["bad',
    ),
    "username": (
        '{"auths": {"reg.example": {"auth": "AUTH", "username": "\\udc00"}}, "x": "AUTH"}',
        "username",
    ),
    "unknown": (
        '{"auths": {"reg.example": {"auth": "AUTH"}}, "plugins": {"p": ["AUTH", "\\ud83d"]}}',
        "plugins",
    ),
    # a key twice: read as docker reads it (the lenient path), and checked the same way
    "duplicate": (
        '{"auths": {"reg.example": {"auth": "AUTH"}}, "auths": {"x": {"auth": "AUTH", "email": "\\ud800"}}}',
        'auths["x"]["email"]',
    ),
    "credsStore": ('{"auths": {"reg.example": {"auth": "AUTH"}}, "credsStore": "\\uDBFF"}', "credsStore"),
}


@pytest.fixture(params=sorted(CONFIGS))
def surrogate_config(request: pytest.FixtureRequest, docker_config: Path) -> tuple[bytes, str]:
    """config.json holding a lone surrogate; returns (its bytes, the place named)."""
    template, place = CONFIGS[request.param]
    docker_config.parent.mkdir()
    raw = template.replace('"AUTH"', f'"{AUTH}"').encode()
    docker_config.write_bytes(raw)
    return raw, place


@pytest.mark.parametrize(
    "argv",
    [["list"], ["list", "--json"], ["get", "reg.example"], ["export"], ["logout", "--all"], ["doctor"]],
)
def test_refused_with_the_place(
    surrogate_config: tuple[bytes, str], docker_config: Path, argv: list[str]
) -> None:
    """Exit 1, one line naming the file and the place, no traceback, file unchanged."""
    raw, place = surrogate_config
    done = regcred(*argv)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    assert "s3cret" not in done.stdout + done.stderr
    if argv == ["doctor"]:  # a report on stdout, with the problem as one of its findings
        lines = [line for line in done.stdout.splitlines() if "surrogate" in line]
        assert len(lines) == 1, done.stdout
        assert lines[0].startswith(f"  broken: {docker_config}: ")
    else:
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(f"regcred: {docker_config}: ")
    assert place in lines[0]
    assert "lone UTF-16 surrogate" in lines[0]
    assert docker_config.read_bytes() == raw


def test_login_refuses_before_writing(
    surrogate_config: tuple[bytes, str], docker_config: Path, registry_http: Registry
) -> None:
    """A login that the registry accepts still stops at the file: nothing rewritten, one line."""
    raw, place = surrogate_config
    done = regcred(
        "login", registry_http.address, "-u", registry_http.username, "--password-stdin",
        stdin=registry_http.password + "\n",
    )  # fmt: skip
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    assert registry_http.password not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert place in lines[0]
    assert docker_config.read_bytes() == raw


def test_a_surrogate_pair_is_text(docker_config: Path) -> None:
    """An escaped pair (an emoji) is one character: read as before."""
    docker_config.parent.mkdir()
    docker_config.write_text(
        '{"auths": {"reg.example": {"auth": "AUTH"}}, "psFormat": "\\ud83d\\udc33"}'.replace("AUTH", AUTH)
    )
    done = regcred("list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["reg.example", "alice"]


def _hostile_helper(bin_dir: Path) -> None:
    """A FAKE helper, on purpose: no real helper prints lone surrogates, a hostile or broken one may."""
    helper_script(
        bin_dir,
        "hostile",
        'case "$1" in\n'
        'list) printf \'%s\' \'{"reg\\ud800.example":"u\\udc00","ok.example":"\\ud83d\\udc33"}\';;\n'
        'get) printf \'%s\' \'{"ServerURL":"ok.example","Username":"u\\ud800","Secret":"s\\udfffx"}\';;\n'
        "esac\n",
        sh=True,
    )


def test_a_helper_printing_a_lone_surrogate(docker_config: Path, bin_dir: Path) -> None:
    """Helper output is read as Go reads it (U+FFFD for a lone surrogate): list and get work."""
    _hostile_helper(bin_dir)
    docker_config.parent.mkdir()
    docker_config.write_text('{"credsStore": "hostile"}')
    listed = regcred("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"reg\ufffd.example": "u\ufffd", "ok.example": "\U0001f433"}
    text = regcred("list")
    assert text.returncode == 0, text.stderr
    assert "reg\ufffd.example" in text.stdout
    got = regcred("get", "ok.example")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == {"ServerURL": "ok.example", "Username": "u\ufffd", "Secret": "s\ufffdx"}
