"""Helpers import only what they need: checked in a fresh interpreter per helper.

A credential helper runs once per docker pull, build step and login, so
its start-up cost is paid constantly.  Timing belongs in
``benchmarks/bench_helpers.py``; this test pins the *set* of modules.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from regcred.stores._catalog import KNOWN

# Never acceptable in any helper process: HTTP/TLS stacks, entry-point scanning,
# CLI and logging frameworks, and the library half of regcred.
FORBIDDEN = {
    "urllib.request",
    "http.client",
    "ssl",
    "importlib.metadata",
    "argparse",
    "logging",
    "regcred._write",
    "regcred._net.http",
    "regcred._net.proxy",
    "regcred._net.tls",
    "regcred._config",  # (regcred._files, the one lock and atomic replace, is light and shared)
    "regcred.cli",
    # The AWS SDK (~0.3 s to import): only docker-credential-regcred-aws loads it, and only
    # inside an action (LAZY below).
    "boto3",
    "botocore",
}

ROOT = Path(__file__).resolve().parents[1]

#: What a store brings in beside its own module: its private seams and the third-party or
#: heavy modules only it needs (a store with none needs no entry).  The budget below covers
#: every catalogue row, so a new store is in it without anyone editing this file.
COMPANIONS = {
    "regcred.stores.secretservice": {"regcred.stores._secretservice_dbus", "jeepney", "secretstorage"},
    "regcred.stores.pass_": {"regcred.stores._gpg", "subprocess"},
    "regcred.stores.osxkeychain": {"regcred.stores._security"},
    "regcred.stores.wincred": {"regcred.stores._advapi32"},
    "regcred.stores.aws": {"boto3", "botocore"},
}


def _helper_modules() -> dict[str, str]:
    """Catalogue row's store module -> its helper's module, from [project.scripts]."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return {row.module: scripts[f"docker-credential-{row.helper}"].split(":")[0] for row in KNOWN}


#: helper module: modules of *other* stores that it must not load, derived from the catalogue
HELPERS = {
    helper: set().union(
        *({row.module} | COMPANIONS.get(row.module, set()) for row in KNOWN if row.module != store)
    )
    for store, helper in _helper_modules().items()
}


def test_the_budget_covers_every_catalogue_row() -> None:
    """Every catalogue row's helper has a budget; every companion list belongs to a row."""
    assert set(COMPANIONS) <= {row.module for row in KNOWN}
    assert len(HELPERS) == len(KNOWN)
    assert HELPERS["regcred.helpers.pass_"] >= {"regcred.stores.secretservice", "jeepney", "secretstorage"}


# Loaded lazily, only by the action that needs it.
LAZY = {
    "regcred.helpers.pass_": {"subprocess", "regcred.stores.pass_", "regcred.stores._gpg"},
    "regcred.helpers.aws": {"regcred.stores.aws"},
    "regcred.helpers.osxkeychain": {"ctypes", "regcred.stores.osxkeychain", "regcred.stores._security"},
    "regcred.helpers.wincred": {"ctypes", "regcred.stores.wincred", "regcred.stores._advapi32"},
}


@pytest.mark.parametrize(
    ("store", "seam"),
    [
        ("regcred.stores.osxkeychain", "regcred.stores._security"),
        ("regcred.stores.wincred", "regcred.stores._advapi32"),
    ],
)
def test_os_native_stores_import_without_ctypes(store: str, seam: str) -> None:
    """Both stores import on any system without ctypes; their ctypes seams import too, loading no library."""
    loaded = imported_modules(f"import {store}")
    assert store in loaded
    assert loaded & {"ctypes", seam, "subprocess", "dataclasses", "typing"} == set()
    assert seam in imported_modules(f"import {seam}")  # no framework or DLL is opened at import


def imported_modules(code: str) -> set[str]:
    """sys.modules after running ``code`` in a fresh interpreter."""
    script = f"import sys\n{code}\nloaded = sorted(sys.modules)\nprint(repr(loaded))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, timeout=60)
    names = done.stdout.decode().splitlines()[-1].strip("[]").split(", ")
    return {name.strip("'") for name in names}


@pytest.mark.parametrize("helper", sorted(HELPERS))
def test_helper_import_budget(helper: str) -> None:
    """Importing a helper loads no HTTP, TLS, entry points, argparse, logging or other store."""
    if importlib.util.find_spec(helper) is None:
        pytest.skip(f"{helper} does not exist yet")
    loaded = imported_modules(f"import {helper}")
    assert helper in loaded
    assert loaded & (FORBIDDEN | HELPERS[helper]) == set()
    assert loaded & LAZY.get(helper, set()) == set()


def test_pass_store_stays_off_the_secretservice_stack() -> None:
    """The pass store itself pulls in no D-Bus or HTTP modules."""
    loaded = imported_modules("import regcred.stores.pass_")
    assert loaded & (FORBIDDEN | HELPERS["regcred.helpers.pass_"]) == set()


def loaded_of(loaded: set[str], names: set[str]) -> list[str]:
    """The modules of ``loaded`` that are one of ``names`` or inside one of them (packages)."""
    return sorted(m for m in loaded if m in names or any(m.startswith(name + ".") for name in names))


# --- each helper action, run for real ------------------------------------------------
#
# A helper's import set depends on the action and, for the Secret Service, on whether
# there is a bus (jeepney is imported only to talk to one).  So each case runs the real
# ``main()`` in a fresh interpreter, with argv set and stdin fed, against a real store
# (a throwaway pass store, a private gnome-keyring) or with no bus at all.

#: Never loaded by any helper action: also no dataclasses, and none of the library side.
NEVER_IN_A_HELPER = FORBIDDEN | {"dataclasses", "regcred._lookup", "regcred._net", "regcred._tools"}
#: helper name: (its module, its store's module, what else it must never load)
ACTION_HELPERS = {
    # gpg runs through os.posix_spawnp, so no subprocess (threading, selectors, signal)
    "pass": (
        "regcred.helpers.pass_",
        "regcred.stores.pass_",
        HELPERS["regcred.helpers.pass_"] | {"subprocess", "typing"},
    ),
    # typing is not checked with a bus: jeepney imports it (and enum, re) itself; the
    # unicode_escape codec spells the bus address in errors only (benchmarks/compare_commits.py)
    "secretservice": (
        "regcred.helpers.secretservice",
        "regcred.stores.secretservice",
        HELPERS["regcred.helpers.secretservice"] | {"subprocess", "encodings.unicode_escape"},
    ),
}
#: Only ``store`` parses JSON; get and list answers are written without the json module.
NEEDS_JSON = {"store"}
STORE_INPUT = b'{"ServerURL":"reg.example","Username":"alice","Secret":"s3cret"}'
EXPECTED = {
    "store": (0, b""),
    "get": (0, STORE_INPUT + b"\n"),
    "list": (0, b'{"reg.example":"alice"}\n'),
    "erase": (0, b""),
}


def helper_run(helper: str, action: str, stdin: bytes, cwd: Path) -> tuple[int, bytes, set[str]]:
    """(exit code, stdout, sys.modules at exit) of one real helper run in a fresh interpreter.

    The module list goes to a file written with builtins only, so collecting it imports nothing.
    """
    listing = cwd / "modules.txt"
    listing.unlink(missing_ok=True)
    script = (
        "import sys\n"
        f"sys.argv = ['docker-credential-regcred-{helper}', {action!r}]\n"
        f"from {ACTION_HELPERS[helper][0]} import main\n"
        "code = main()\n"
        f"with open({str(listing)!r}, 'w') as out:\n"
        "    out.write(' '.join(sorted(sys.modules)))\n"
        "raise SystemExit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=stdin, capture_output=True, cwd=cwd, timeout=60, check=False
    )
    assert listing.exists(), done.stderr.decode()
    return done.returncode, done.stdout, set(listing.read_text().split())


def check_each_action(helper: str, tmp_path: Path) -> None:
    """store, get, list, erase in turn, each on the real store, each within its budget."""
    _, store_module, never = ACTION_HELPERS[helper]
    for action in ("store", "get", "list", "erase"):
        stdin = STORE_INPUT if action == "store" else b"reg.example"
        code, out, loaded = helper_run(helper, action, stdin, tmp_path)
        assert (code, out) == EXPECTED[action], action
        assert store_module in loaded
        forbidden = NEVER_IN_A_HELPER | never | (set() if action in NEEDS_JSON else {"json"})
        assert (action, loaded_of(loaded, forbidden)) == (action, [])


@pytest.mark.usefixtures("pass_env")
def test_pass_helper_actions_import_budget(tmp_path: Path) -> None:
    """Every pass helper action on a real pass store: no HTTP/TLS, typing, dataclasses, subprocess."""
    check_each_action("pass", tmp_path)


@pytest.mark.usefixtures("keyring")
def test_secretservice_helper_actions_import_budget(tmp_path: Path) -> None:
    """Every Secret Service helper action on a real gnome-keyring: no HTTP/TLS, dataclasses, pass."""
    check_each_action("secretservice", tmp_path)


@pytest.mark.parametrize("action", ["get", "list", "erase"])
def test_secretservice_helper_without_bus_import_budget(
    action: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no session bus (a headless box pulling anonymously) not even typing, json or re load."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # and no bus socket in there
    code, out, loaded = helper_run("secretservice", action, b"reg.example", tmp_path)
    assert code == 1
    assert out.startswith(b"credentials not found" if action == "get" else b"no D-Bus session bus")
    assert "regcred.stores.secretservice" in loaded
    never = (
        NEVER_IN_A_HELPER | ACTION_HELPERS["secretservice"][2] | {"jeepney", "typing", "json", "re", "enum"}
    )
    assert loaded_of(loaded, never) == []


@pytest.mark.parametrize(
    "code",
    [
        "import regcred",
        "import regcred.stores.aws",
        "import regcred.stores._catalog",
        "import regcred.kubelet",
        "from regcred import get_credentials; get_credentials('reg.example')",
        "import regcred.helpers.pass_, regcred.helpers.secretservice",
    ],
)
def test_nothing_but_the_aws_store_actions_import_boto3(code: str) -> None:
    """Importing regcred, the AWS store module or another helper never loads boto3/botocore."""
    loaded = imported_modules(code)
    assert {m for m in loaded if m.split(".")[0] in {"boto3", "botocore"}} == set()


def test_kubelet_provider_stays_light() -> None:
    """The kubelet provider, answering a lookup, loads no HTTP/TLS stack, argparse, logging or typing."""
    loaded = imported_modules(
        "import io, regcred.kubelet as k\n"
        'k.run(io.BytesIO(b\'{"kind":"CredentialProviderRequest","apiVersion":'
        '"credentialprovider.kubelet.k8s.io/v1","image":"reg.example/app"}\'), io.StringIO(), io.StringIO())'
    )
    heavy = {"urllib.request", "http.client", "ssl", "argparse", "logging", "typing", "dataclasses", "boto3"}
    assert loaded & heavy == set()
