"""man/*.1: generated from the command table by scripts/manpages (argparse-manpage), readable with man -l."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from regcred.cli import _COMMANDS
from tests.conftest import require_program

ROOT = Path(__file__).resolve().parent.parent
MAN_ENV = {"MANPAGER": "cat", "PATH": "/usr/bin:/bin"}
PROGRAMS = [
    p
    for p in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    if p != "docker-regcred"
]


def _body(page: Path) -> list[str]:
    """The page without its .TH line (which carries the build date)."""
    return [line for line in page.read_text().splitlines() if not line.startswith(".TH ")]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("man") is None:
        require_program("man", "man-db")
    out = tmp_path_factory.mktemp("man")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "manpages"), str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_committed_pages_are_fresh(generated: Path) -> None:
    """man/ holds exactly what scripts/manpages writes now (run it after changing a flag)."""
    assert sorted(p.name for p in generated.iterdir()) == sorted(f"{p}.1" for p in PROGRAMS)
    for page in generated.iterdir():
        assert _body(ROOT / "man" / page.name) == _body(page), (
            f"man/{page.name} is stale: run scripts/manpages"
        )


@pytest.mark.parametrize("program", PROGRAMS)
def test_man_renders_every_page(generated: Path, program: str) -> None:
    """man -l renders each page with no warning from troff."""
    man = require_program("man", "man-db")
    done = subprocess.run(
        [man, "-l", str(generated / f"{program}.1")],
        capture_output=True, text=True, timeout=60, check=False, env=MAN_ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert program.upper() in done.stdout


def test_regcred_page_has_every_subcommand_and_flag(generated: Path) -> None:
    """regcred(1) lists each subcommand of the table, with its own flags."""
    man = require_program("man", "man-db")
    text = subprocess.run(
        [man, "-l", str(generated / "regcred.1")],
        capture_output=True, text=True, timeout=60, check=True, env=MAN_ENV,
    ).stdout  # fmt: skip
    for command in _COMMANDS:
        assert f"regcred {command.name}" in text
    for flag in ("--password-stdin", "--authfile", "--get-login", "--tls-verify=false", "--keys"):
        assert flag in text.replace("\u2010", "-")


def test_helper_pages_list_the_protocol_actions(generated: Path) -> None:
    """A helper's page names its five protocol actions."""
    text = (generated / "docker-credential-regcred-pass.1").read_text()
    for action in ("store", "get", "erase", "list", "version"):
        assert f"docker-credential-regcred-pass {action}" in text.replace("\\-", "-").replace(
            "\\fR \\fI\\,", " "
        )


@pytest.mark.parametrize("program", PROGRAMS)
def test_whatis_can_index_every_page(generated: Path, program: str) -> None:
    """man-db's lexgrog reads each NAME line as ``prog - what it is``: whatis, apropos, mandb find it."""
    lexgrog = require_program("lexgrog", "man-db")
    done = subprocess.run(
        [lexgrog, str(generated / f"{program}.1")],
        capture_output=True, text=True, timeout=60, check=False, env=MAN_ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    name, _, what = done.stdout.strip().partition(": ")[2].strip('"').partition(" - ")
    assert name == program
    assert len(what) > 10, done.stdout
