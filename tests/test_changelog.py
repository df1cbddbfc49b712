"""CHANGELOG.md is assembled from changelog.d/ by scripts/changelog (towncrier), and stays so."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _changelog(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "changelog"), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what scripts/changelog reads (the script finds its files beside itself)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "changelog", tmp_path / "scripts" / "changelog")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path)
    shutil.copytree(ROOT / "changelog.d", tmp_path / "changelog.d")
    return tmp_path


def test_changelog_is_assembled() -> None:
    """Every fragment in changelog.d/ is in CHANGELOG.md, as towncrier renders it (run scripts/changelog)."""
    done = _changelog(ROOT, "--check")
    assert done.returncode == 0, done.stderr
    text = (ROOT / "CHANGELOG.md").read_text()
    for fragment in (ROOT / "changelog.d").glob("*.*.md"):
        first_line = fragment.read_text().strip().splitlines()[0]
        assert first_line in text, fragment.name


def test_a_new_fragment_fails_the_check_until_assembled(checkout: Path) -> None:
    """A fragment added without running scripts/changelog fails --check, named; the script then adds it."""
    (checkout / "changelog.d" / "99.added.new-thing.md").write_text("A new thing.\n")
    before = (checkout / "CHANGELOG.md").read_text()
    done = _changelog(checkout, "--check")
    assert done.returncode == 1
    assert done.stderr == (
        "scripts/changelog: CHANGELOG.md is not assembled: changelog.d/99.added.new-thing.md "
        "is not in it; run scripts/changelog\n"
    )
    assert (checkout / "CHANGELOG.md").read_text() == before  # --check writes nothing

    assert _changelog(checkout).returncode == 0
    assert "- A new thing. (#99)\n" in (checkout / "CHANGELOG.md").read_text()
    assert _changelog(checkout, "--check").returncode == 0


def test_two_fragments_of_one_issue_and_type(checkout: Path) -> None:
    """``<issue>.<type>.md`` beside ``<issue>.<type>.<slug>.md``: both assembled (towncrier alone refuses)."""
    (checkout / "changelog.d" / "99.fixed.md").write_text("One fix.\n")
    (checkout / "changelog.d" / "99.fixed.other.md").write_text("Another fix.\n")
    assert _changelog(checkout).returncode == 0
    text = (checkout / "CHANGELOG.md").read_text()
    assert "- One fix. (#99)\n" in text
    assert "- Another fix. (#99)\n" in text


def test_a_misnamed_fragment_is_one_line_and_nothing_written(checkout: Path) -> None:
    """A file towncrier would skip (unknown type) is refused, naming the file; CHANGELOG.md is untouched."""
    (checkout / "changelog.d" / "99.feature.md").write_text("Not a Keep a Changelog type.\n")
    before = (checkout / "CHANGELOG.md").read_text()
    done = _changelog(checkout)
    assert done.returncode == 1
    assert done.stderr.startswith("scripts/changelog: changelog.d/99.feature.md is not named ")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert (checkout / "CHANGELOG.md").read_text() == before


def test_release_keeps_the_history(checkout: Path) -> None:
    """--release V: Unreleased becomes "V - date" above the older history, and the fragments go."""
    changelog = checkout / "CHANGELOG.md"
    changelog.write_text(changelog.read_text() + "\n## 0.0.1 - 2026-01-01\n\n### Added\n\n- Old history.\n")
    assert _changelog(checkout).returncode == 0
    done = _changelog(checkout, "--release", "0.2.0")
    assert done.returncode == 0, done.stderr
    text = changelog.read_text()
    assert (
        text.index("## Unreleased\n\nNo changes yet.\n") < text.index("## 0.2.0 - ") < text.index("## 0.0.1")
    )
    assert "- Old history.\n" in text
    assert "(#2)" in text
    assert [p.name for p in (checkout / "changelog.d").iterdir()] == ["README.md"]
    assert _changelog(checkout, "--check").returncode == 0
