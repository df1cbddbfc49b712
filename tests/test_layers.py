"""The layers of docs/architecture.md, held by a test: lower layers never import upper ones."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "regcred"
UPPER = (
    "regcred.helpers",
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
    """Every module ``path`` imports, at the top or inside a function, relative ones resolved."""
    return _imports_of(path.read_text(), ["regcred", *path.relative_to(SRC).parent.parts])


def _imports_of(source: str, package: list[str]) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def test_the_walk_sees_imports_inside_functions_and_relative_ones() -> None:
    """An upward import hidden in a function, or spelt relatively, is still seen."""
    source = "def f():\n    from ..helpers import _protocol\n    from . import _gpg\n    import regcred.cli\n"
    names = _imports_of(source, ["regcred", "stores"])
    assert {"regcred.helpers._protocol", "regcred.stores._gpg", "regcred.cli"} <= names
    assert sorted(n for n in names if n.startswith(UPPER)) == [
        "regcred.cli",
        "regcred.helpers",
        "regcred.helpers._protocol",
    ]


@pytest.mark.parametrize("path", LOWER, ids=lambda p: str(p.relative_to(SRC)))
def test_lower_layers_never_import_upper_ones(path: Path) -> None:
    """stores/, _config/ and the mechanisms use nothing from the tools, the CLI, login or lookup."""
    upward = sorted(n for n in _imports(path) if n.startswith(UPPER))
    assert upward == []


def _module_exists(name: str) -> bool:
    parts = name.split(".")
    path = SRC.joinpath(*parts[1:])
    return parts[0] == "regcred" and (path.with_suffix(".py").exists() or (path / "__init__.py").exists())


def _private_imports_of(source: str, package: list[str]) -> list[str]:
    """``module:name`` for each ``_private`` name imported from another module (a private module is fine)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and not _module_exists(f"{module}.{alias.name}"):
                    found.append(f"{module}:{alias.name}")
    return found


def test_the_private_name_walk_sees_function_level_and_relative_imports() -> None:
    """A private name imported inside a function, or relatively, is seen; private modules are not names."""
    source = (
        "from regcred import _config, _files\n"
        "def f():\n    from regcred._files import _make_dir\n    from .auth import _Secrets, verify_login\n"
    )
    found = _private_imports_of(source, ["regcred", "_net"])
    assert found == ["regcred._files:_make_dir", "regcred._net.auth:_Secrets"]


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    """A module keeps its ``_private`` names: what another module needs is public there (or moved)."""
    package = ["regcred", *path.relative_to(SRC).parent.parts]
    assert _private_imports_of(path.read_text(), package) == []


DOC = SRC.parents[1] / "docs" / "architecture.md"


def _documented_modules() -> set[str]:
    """Module paths the layer tree of docs/architecture.md names, ``"stores/_gpg.py"`` style.

    A line at the tree's first level names a top-level module or opens a package
    (``├── stores/``); the ``│   ├──`` lines under it name that package's modules,
    every ``x.py`` on the line counting (``http.py, tls.py, proxy.py``, ``(+ _gpg.py)``).
    """
    text = DOC.read_text()
    start = text.index("```\nregcred/")
    tree = text[start + 4 : text.index("```", start + 4)].splitlines()
    found, package = set(), ""
    for line in tree[1:]:
        branch = re.match(r"^(?:├── |└── )(\S+)", line)
        if branch:
            name = branch.group(1)
            package = name if name.endswith("/") else ""
            if name == "mechanisms,":
                package = ""
            if name.endswith("/"):
                found.add(name + "__init__.py")
        prefix = package if line.startswith(("│ ", "  ", "    ")) or not branch else ""
        found |= {prefix + module for module in re.findall(r"(?<![\w/<])(\w+\.py)\b", line)}
    return found


def test_the_architecture_tree_names_every_module() -> None:
    """docs/architecture.md's tree is the map: each module in src/regcred is on it, none invented."""
    modules = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py")}
    documented = _documented_modules()
    assert sorted(modules - documented) == [], "add these to docs/architecture.md's tree"
    assert sorted(documented - modules) == [], "docs/architecture.md names modules that do not exist"


def _platform_reads(source: str) -> list[str]:
    """``sys.platform``, ``os.name`` and ``platform`` module reads in ``source``, as ``line: text``."""
    asked = {("sys", "platform"), ("os", "name")}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in asked:
                found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in {"sys", "os"}:
            found += [
                f"{node.lineno}: {node.module}.{a.name}" for a in node.names if (node.module, a.name) in asked
            ]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{node.lineno}: import platform" for name in names if name == "platform"]
    return found


def test_the_platform_walk_sees_both_spellings() -> None:
    source = "import os, sys\ndef f():\n    return sys.platform == 'darwin' or os.name == 'nt'\n"
    assert _platform_reads(source) == ["3: sys.platform", "3: os.name"]
    source = "from sys import platform\nfrom os import name as n\ndef f():\n    import platform\n"
    assert sorted(_platform_reads(source)) == ["1: sys.platform", "2: os.name", "4: import platform"]


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(SRC.rglob("*.py")) if p.name != "_system.py"],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_only_system_asks_which_system_this_is(path: Path) -> None:
    """Every branch on the operating system asks ``regcred._system`` (issue 20: one answer).

    ``_version.runtime()`` describes the platform for a bug report and decides nothing.
    """
    allowed = {"import platform"} if path.name == "_version.py" else set()
    assert [
        read for read in _platform_reads(path.read_text()) if read.partition(": ")[2] not in allowed
    ] == []
