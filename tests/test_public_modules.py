"""Every public module's ``__all__`` lists exactly the public names it defines."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

PUBLIC_MODULES = [
    "regcred.cli",
    "regcred.credentials",
    "regcred.errors",
    "regcred.kubelet",
    "regcred.testing",
    "regcred.stores.env",
    "regcred.stores.file",
    "regcred.stores.native",
    "regcred.stores.pass_",
    "regcred.stores.secretservice",
    "regcred.stores.aws",
    "regcred.helpers.aws",
    "regcred.helpers.pass_",
    "regcred.helpers.secretservice",
]


def _defined(source: str) -> set[str]:
    """Public names bound at the top level of ``source`` by def, class or assignment."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return {n for n in names if not n.startswith("_") and n != "TYPE_CHECKING"}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_matches_the_public_names(name: str) -> None:
    """__all__ names exist, and are exactly the public names the module defines."""
    module = importlib.import_module(name)
    assert [n for n in module.__all__ if not hasattr(module, n)] == []
    assert sorted(module.__all__) == sorted(_defined(inspect.getsource(module)))
