"""Writing docs/benchmarks.md: generated tables, hand-written prose from docs/benchmarks-notes.md.

The code writes numbers, tables, headings and ``- **key**: value`` lines only;
every sentence is a block of ``docs/benchmarks-notes.md`` (``<!-- note: NAME -->``
up to the next such line), copied verbatim by :func:`note`.
``tests/test_benchmarks.py`` renders a report and checks that.
"""

from __future__ import annotations

import re
from pathlib import Path

from _common import REPO
from _timing import BenchError

DOC = REPO / "docs" / "benchmarks.md"
NOTES = REPO / "docs" / "benchmarks-notes.md"
_MARK = re.compile(r"^<!-- note: (.+?) -->$", re.MULTILINE)


def notes(path: Path = NOTES) -> dict[str, list[str]]:
    """Every block of the notes file: ``{name: lines}``, blank lines at either end dropped."""
    text = path.read_text()
    marks = list(_MARK.finditer(text))
    blocks = {}
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end() : after.start() if after else len(text)]
        blocks[mark.group(1)] = body.strip("\n").splitlines()
    return blocks


def note(name: str) -> list[str]:
    """The hand-written block ``name``, followed by one blank line."""
    found = notes().get(name)
    if found is None:
        raise BenchError(f"{NOTES.relative_to(REPO)} has no block '<!-- note: {name} -->'")
    return [*found, ""]


def markdown_table(header: list[str], table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table]
    return "\n".join(lines)


def replace_block(begin: str, end: str, block: str, doc: Path = DOC) -> None:
    """Put ``block`` between its markers in ``doc`` (or before "How it is measured", or at the end)."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        before, _, rest = text.partition(begin)
        text = before + block + rest.partition(end)[2]
    elif "## How it is measured" in text:
        before, _, rest = text.partition("## How it is measured")
        text = before + block + "\n\n## How it is measured" + rest
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)


def kept_block(begin: str, end: str, doc: Path = DOC) -> list[str]:
    """The block between ``begin`` and ``end`` in ``doc`` as it is now, markers included (or nothing)."""
    text = doc.read_text() if doc.exists() else ""
    if begin not in text or end not in text:
        return []
    return [begin + text.split(begin, 1)[1].split(end, 1)[0] + end, ""]
