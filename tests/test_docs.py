"""The README documents every subcommand and helper, and its two commands exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import tomllib

from regcred.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


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
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
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
