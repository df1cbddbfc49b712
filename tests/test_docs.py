"""The README documents every subcommand and helper, and its two commands exist."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

from regcred.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _subcommands() -> list[str]:
    parser = _parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


def test_every_subcommand_is_in_the_readme() -> None:
    """Each `regcred <command>` appears in README.md."""
    missing = [c for c in _subcommands() if f"regcred {c}" not in README]
    assert missing == []


def test_every_helper_is_in_the_readme() -> None:
    """Each console script (regcred and both helpers) appears in README.md."""
    scripts = PYPROJECT["project"]["scripts"]
    assert [s for s in scripts if s not in README] == []


def test_readme_starts_with_the_two_commands() -> None:
    """The first code block holds the demo and test commands, and both scripts exist."""
    block = re.search(r"```sh\n(.*?)```", README, re.DOTALL)
    assert block is not None
    commands = [line.split("#")[0].split() for line in block.group(1).splitlines()]
    assert [c[:2] for c in commands] == [["bash", "scripts/demo"], ["bash", "scripts/test"]]
    for _, script in commands:
        assert (ROOT / script).is_file()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_python_version_claims_agree() -> None:
    """requires-python claims what the suite needs, and ruff, mypy and the README say the same."""
    minimum = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    major, minor = (int(part) for part in minimum.split("."))
    assert (major, minor) >= (3, 11)  # tests import tomllib; src uses binascii's strict_mode
    assert PYPROJECT["tool"]["ruff"]["target-version"] == f"py{major}{minor}"
    assert PYPROJECT["tool"]["mypy"]["python_version"] == minimum
    assert f"Python >= {minimum}" in README
