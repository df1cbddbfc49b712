"""The docs keep up with the code.

README.md documents every subcommand and helper, and its two commands exist;
docs/security.md has a section for every threat case (S1-S35) that tests cite,
and names only tests that exist.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

from regcred.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SECURITY = (ROOT / "docs" / "security.md").read_text()
#: A threat case as docstrings and comments cite it: "(S13)", "S10(b):", "(S10a)", "S5-S8".
CASE = re.compile(r"(?<![A-Za-z0-9_])S([1-9][0-9]?)(?![0-9])")
#: ... and as test names spell it: test_s2_metadata_realm, test_docker_hub_endpoint_s10b.
CASE_IN_NAME = re.compile(r"^s([1-9][0-9]?)[a-z]?$")


def _subcommands() -> list[str]:
    parser = build_parser()
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


def _cited_cases() -> dict[int, set[str]]:
    """Threat-case numbers cited in tests/, each with the files that cite it."""
    cited: dict[int, set[str]] = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name == "test_docs.py":  # this file mentions cases without testing them
            continue
        text = path.read_text()
        numbers = {int(n) for n in CASE.findall(text)}
        for name in re.findall(r"def (test_\w+)", text):
            numbers |= {int(m.group(1)) for part in name.split("_") if (m := CASE_IN_NAME.match(part))}
        for number in numbers:
            cited.setdefault(number, set()).add(str(path.relative_to(ROOT)))
    return cited


def test_every_cited_threat_case_is_in_security_md() -> None:
    """Each S<n> a test cites has its section in docs/security.md, and S1-S35 all do."""
    sections = [int(n) for n in re.findall(r"^### S([0-9]+)\. ", SECURITY, re.MULTILINE)]
    assert sections == list(range(1, 36))
    cited = _cited_cases()
    assert {2, 13, 32} <= set(cited)  # the scan finds citations (test_auth, test_review_findings, ...)
    assert {n: files for n, files in cited.items() if n not in sections} == {}


def test_security_md_names_only_existing_tests() -> None:
    """Every tests/ file and test function that docs/security.md names exists."""
    files = set(re.findall(r"`(tests/[\w/]+\.py)", SECURITY))
    assert [f for f in sorted(files) if not (ROOT / f).is_file()] == []
    defined = set()
    for path in (ROOT / "tests").rglob("*.py"):
        defined |= set(re.findall(r"def (test_\w+)", path.read_text()))
    named = set(re.findall(r"`(?:tests/[\w/]+\.py::)?(test_\w+)`", SECURITY))
    assert len(named) > 30
    assert sorted(named - defined) == []
