"""``--version`` says what a bug report needs: versions, platform, and (regcred) the stores that work here."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred._version import __version__
from regcred.cli import main
from regcred.stores._catalog import KNOWN
from tests.conftest import VENV_BIN

if TYPE_CHECKING:
    from tests.fixtures.keyring import Keyring

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = (
    f"Python {platform.python_version()} ({platform.python_implementation()}, {sys.executable})"
    f" on {platform.platform()}"
)


def _version(capsys: pytest.CaptureFixture[str]) -> list[str]:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out.splitlines()


@pytest.fixture
def _path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our helpers (venv) on PATH, so login could pick them."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/bin:/bin")


@pytest.mark.usefixtures("_path")
def test_regcred_version_shows_the_stores_doctor_shows(
    keyring: Keyring, docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real keyring: the version, the runtime, each store's state as doctor has it, login's pick."""
    lines = _version(capsys)
    assert lines[:3] == [f"regcred {__version__}", RUNTIME, "Stores here (as 'regcred doctor' shows them):"]
    assert main(["doctor", "--json"]) in {0, 1}
    backends = json.loads(capsys.readouterr().out)["backends"]
    titles = {"secretservice": "Secret Service", "pass": "pass store"}
    assert [b["name"] for b in backends] == ["secretservice", "pass"]
    for backend, line in zip(backends, lines[3:5], strict=True):
        assert line == f"  {titles[backend['name']]}: {backend['state']}: {backend['detail']}"
    assert backends[0]["state"] == "ok"
    opt_in = [k.title for k in KNOWN if not k.auto and k.runs_here()]  # the catalogue's answer
    assert "AWS Secrets Manager" in opt_in
    assert lines[5:] == [
        "  only when a config names it: " + ", ".join(opt_in),
        "A first 'regcred login' would store in: docker-credential-regcred-secretservice",
    ]
    assert not docker_config.exists()


def test_regcred_version_without_stores_names_the_file(
    monkeypatch: pytest.MonkeyPatch, docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No helper on PATH: login would use the config file, and the line says why."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    lines = _version(capsys)
    assert lines[-1].startswith("A first 'regcred login' would store in: the config file (")
    assert "docker-credential-regcred-secretservice is not on PATH" in lines[-1]


def test_regcred_version_reads_no_config(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken config.json does not stop --version, and nothing is written."""
    docker_config.parent.mkdir()
    docker_config.write_text("{not json")
    lines = _version(capsys)
    assert lines[0] == f"regcred {__version__}"
    assert docker_config.read_text() == "{not json"
    assert sorted(p.name for p in docker_config.parent.iterdir()) == ["config.json"]


PROGRAMS = [
    p
    for p in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    if p not in {"regcred", "docker-regcred"}
]


@pytest.mark.parametrize("program", PROGRAMS)
def test_helper_version_adds_the_runtime(program: str) -> None:
    """Each helper's --version: its own line, then Python and the platform (no store is probed)."""
    done = subprocess.run(
        [str(VENV_BIN / program), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [f"{program} (regcred) v{__version__}", RUNTIME]
