"""The layers of docs/architecture.md, held by a test: lower layers never import upper ones."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "regcred"
UPPER = (
    "regcred._tools",
    "regcred.cli",
    "regcred._write",
    "regcred._lookup",
    "regcred._net",
    "regcred.kubelet",
)
LOWER = [
    *sorted((SRC / "stores").glob("*.py")),
    *sorted((SRC / "_config").glob("*.py")),
    *[SRC / f"{name}.py" for name in ("_files", "_process", "_redact", "_settings", "_address", "_gojson",
                                      "_record", "_text", "credentials", "errors")],
]  # fmt: skip


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("path", LOWER, ids=lambda p: str(p.relative_to(SRC)))
def test_lower_layers_never_import_upper_ones(path: Path) -> None:
    """stores/, _config/ and the mechanisms use nothing from the tools, the CLI, login or lookup."""
    upward = sorted(n for n in _imports(path) if n.startswith(UPPER))
    assert upward == []
