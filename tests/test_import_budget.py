"""Helpers import only what they need: checked in a fresh interpreter per helper.

A credential helper runs once per docker pull, build step and login, so
its start-up cost is paid constantly.  Timing belongs in
``benchmarks/bench_helpers.py``; this test pins the *set* of modules.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

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
    "regcred._config",
    "regcred._files",
    "regcred.cli",
    # The AWS SDK (~0.3 s to import): only docker-credential-regcred-aws loads it, and only
    # inside an action (LAZY below).
    "boto3",
    "botocore",
}

HELPERS = {
    # helper module: modules of *other* stores that it must not load
    "regcred.helpers.pass_": {
        "regcred.stores.secretservice",
        "regcred.stores._secretservice_dbus",
        "jeepney",
        "secretstorage",
    },
    "regcred.helpers.secretservice": {"regcred.stores.pass_", "regcred.stores._gpg"},
    "regcred.helpers.aws": {
        "regcred.stores.pass_",
        "regcred.stores._gpg",
        "regcred.stores.secretservice",
        "regcred.stores._secretservice_dbus",
        "jeepney",
        "subprocess",
    },
}

# Loaded lazily, only by the action that needs it.
LAZY = {
    "regcred.helpers.pass_": {"subprocess", "regcred.stores.pass_", "regcred.stores._gpg"},
    "regcred.helpers.aws": {"regcred.stores.aws"},
}


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
