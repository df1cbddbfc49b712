"""The read side imports no HTTP or TLS code: checked in a fresh interpreter.

``regcred get`` and ``regcred.get_credentials()`` run inside other tools and
scripts on every pull; they must not pay for the login machinery.  Timing
lives in benchmarks/, this pins the *set* of modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {
    "ssl",
    "http.client",
    "urllib.request",
    "regcred._net.http",
    "regcred._net.proxy",
    "regcred._net.tls",
    "regcred._net.auth",
    "regcred._net.token_client",
    "importlib.metadata",
}
#: Also never loaded by get_credentials() on a file-only config: the CLI and logging
#: frameworks, typing and dataclasses, child processes, the stores, and the write side.
NOT_FOR_A_FILE_LOOKUP = HEAVY | {
    "argparse",
    "logging",
    "typing",
    "dataclasses",
    "subprocess",
    "jeepney",
    "regcred._net",
    # The read side's own stores (router, file, env) are fine; helpers and backends are not.
    "regcred.stores.helper",
    "regcred.stores.native",
    "regcred.stores.pass_",
    "regcred.stores.secretservice",
    "regcred.stores._catalog",
    "regcred.cli",
    "regcred._tools",
    "regcred._write",
    "regcred._files",
}


def _within(loaded: set[str], names: set[str]) -> list[str]:
    """The modules of ``loaded`` that are one of ``names`` or inside one of them."""
    return sorted(m for m in loaded if m in names or any(m.startswith(name + ".") for name in names))


def _loaded_after(code: str, config_dir: Path) -> set[str]:
    """sys.modules after ``code`` in a fresh interpreter (listed with builtins only: no json)."""
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script, str(config_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(done.stdout.splitlines()[-1].split())


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "cfg"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"auths": {"reg.example": {"auth": "dTpw"}}}))
    return directory


def test_package_import_is_lazy(config_dir: Path) -> None:
    """`import regcred` loads none of its submodules."""
    loaded = _loaded_after("import regcred", config_dir)
    assert {m for m in loaded if m.startswith("regcred.")} == set()


def test_get_credentials_loads_no_http(config_dir: Path) -> None:
    """get_credentials() from the file store imports no HTTP/TLS stack."""
    code = (
        "import regcred\n"
        "assert regcred.get_credentials('reg.example', config_dir=sys.argv[1]).username == 'u'"
    )
    loaded = _loaded_after(code, config_dir)
    assert "regcred._lookup" in loaded
    assert loaded & HEAVY == set()


def test_cli_get_and_list_load_no_http(config_dir: Path) -> None:
    """`regcred get` and `regcred list` import no HTTP/TLS stack."""
    code = (
        "from regcred.cli import main\n"
        "assert main(['--config', sys.argv[1], 'get', 'reg.example']) == 0\n"
        "assert main(['--config', sys.argv[1], 'list']) == 0"
    )
    loaded = _loaded_after(code, config_dir)
    assert loaded & HEAVY == set()
    assert {"regcred._write", "regcred._tools"} & loaded == set()


def test_cli_version_loads_no_http(config_dir: Path) -> None:
    """`regcred --version` imports no HTTP/TLS stack and none of the commands' work."""
    code = (
        "from regcred.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0\n"
    )
    loaded = _loaded_after(code, config_dir)
    assert loaded & HEAVY == set()
    assert {"regcred._write", "regcred._tools", "regcred._lookup"} & loaded == set()


def test_get_credentials_from_the_file_loads_only_the_read_side(config_dir: Path) -> None:
    """get_credentials() on a file-only config: no typing, dataclasses, subprocess, stores or writers."""
    code = (
        "import regcred\n"
        "creds = regcred.get_credentials('reg.example', config_dir=sys.argv[1])\n"
        "assert (creds.username, creds.secret) == ('u', 'p')"
    )
    loaded = _loaded_after(code, config_dir)
    assert {"regcred._lookup", "regcred._config", "json"} <= loaded
    assert _within(loaded, NOT_FOR_A_FILE_LOOKUP) == []


def test_http_clients_only_with_their_auth_class(config_dir: Path) -> None:
    """`import regcred` and get_credentials() load neither httpx nor requests; each auth class its own."""
    lookup = "import regcred\nassert regcred.get_credentials('reg.example', config_dir=sys.argv[1])"
    assert _loaded_after(lookup, config_dir) & {"httpx", "requests"} == set()
    with_httpx = _loaded_after("import regcred\nregcred.RegistryAuth", config_dir)
    assert "httpx" in with_httpx
    assert "requests" not in with_httpx
    with_requests = _loaded_after("import regcred\nregcred.RequestsAuth", config_dir)
    assert "requests" in with_requests
    assert "httpx" not in with_requests
