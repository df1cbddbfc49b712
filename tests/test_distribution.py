"""The distribution: sdist and wheel build, pass ``twine check``, and work from a clean venv.

``python -m build`` makes the sdist, then the wheel from the sdist (so a file
the sdist leaves out breaks the wheel here, not on a user's machine).  The
wheel goes into a fresh venv that has nothing but it and its declared
dependencies (pip resolves them from the configured index, or its cache), and
every console script in [project.scripts] answers ``--version`` and ``--help``
there, run from outside the checkout.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from regcred._version import __version__
from tests.conftest import missing

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SCRIPTS = sorted(PYPROJECT["project"]["scripts"])
# Read before any test moves HOME (tests/conftest.py): pip's own cache keeps the venv fast.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pip"
)


def _run(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=600, check=False, cwd=cwd, env=env
    )
    assert done.returncode == 0, f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


class Dist:
    def __init__(self, directory: Path) -> None:
        [self.sdist] = directory.glob("regcred-*.tar.gz")
        [self.wheel] = directory.glob("regcred-*.whl")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """``python -m build`` into a temp directory (sdist, then the wheel built from it)."""
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend comes from the dev group (offline, seconds faster);
    # test_build_backend_is_the_declared_one ties it to [build-system].
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    return Dist(out)


@pytest.fixture(scope="module")
def venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the wheel and its declared dependencies; its bin directory."""
    home = tmp_path_factory.mktemp("clean-venv")
    _run(sys.executable, "-m", "venv", home / "venv")  # with pip, as a user makes one
    python = home / "venv" / "bin" / "python"
    done = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--cache-dir", PIP_CACHE, dist.wheel],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        missing("the package index (for regcred's dependencies)", f"pip install of the wheel failed: {last}")
    return python.parent


def _clean_env(venv: Path, tmp_path: Path) -> dict[str, str]:
    return {"PATH": f"{venv}:/usr/bin:/bin", "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}


def test_build_backend_is_the_declared_one() -> None:
    """The hatchling the test builds with satisfies [build-system].requires (what isolation would get)."""
    from importlib.metadata import version

    from packaging.requirements import Requirement

    [requirement] = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert requirement.name == "hatchling"
    assert requirement.specifier.contains(version("hatchling"))


def test_twine_check(dist: Dist) -> None:
    """twine check --strict passes for both (the README renders as the long description)."""
    out = _run(sys.executable, "-m", "twine", "check", "--strict", dist.sdist, dist.wheel)
    assert out.count("PASSED") == 2, out


def test_sdist_and_wheel_contents(dist: Dist) -> None:
    """The sdist has the licence, changelog, man pages and tests; the wheel the licence and man pages."""
    with tarfile.open(dist.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for program in PYPROJECT["project"]["scripts"]:
        if program != "docker-regcred":  # docker runs regcred itself: regcred(1)
            assert f"man/{program}.1" in names
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "src/regcred/py.typed"} <= names
    assert "tests/conftest.py" in names
    with zipfile.ZipFile(dist.wheel) as wheel:
        files = set(wheel.namelist())
    assert f"regcred-{__version__}.dist-info/licenses/LICENSE" in files
    assert f"regcred-{__version__}.data/data/share/man/man1/regcred.1" in files
    assert "regcred/py.typed" in files
    assert not any(f.startswith("tests/") for f in files)


@pytest.mark.parametrize("program", SCRIPTS)
@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_every_console_script_answers(venv: Path, tmp_path: Path, program: str, flag: str) -> None:
    """Each console script of the installed wheel exits 0 on --version and --help, and says who it is."""
    done = subprocess.run(
        [str(venv / program), flag],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        env=_clean_env(venv, tmp_path), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    if flag == "--version":
        assert __version__ in done.stdout
    else:
        assert done.stdout.lower().startswith("usage:")


def test_the_venv_runs_the_wheel_not_the_checkout(venv: Path, tmp_path: Path) -> None:
    """regcred is imported from the clean venv's site-packages, with only its declared dependencies."""
    probe = (
        "import importlib.metadata as m, json, regcred;"
        "print(json.dumps([regcred.__file__, sorted(d.metadata['Name'].lower() for d in m.distributions())]))"
    )
    where, installed = json.loads(
        _run(venv / "python", "-I", "-c", probe, cwd=tmp_path, env=_clean_env(venv, tmp_path))
    )
    assert where.startswith(str(venv.parent)), where
    assert set(installed) - {"pip", "setuptools"} == {
        "regcred",
        "jeepney",
        "shtab",
    }  # venv's own: pip (3.11: setuptools)


@pytest.mark.slow  # pip resolves boto3's tree from the index
def test_the_aws_extra_as_the_readme_spells_it(venv: Path, dist: Dist) -> None:
    """README's ``pip install 'dist/regcred-….whl[aws]'`` resolves boto3 (pip --dry-run)."""
    requirement = f"{dist.wheel}[aws]"
    assert {"boto3", "botocore"} <= _would_install(venv / "python", "-m", "pip", "install", requirement)


def _would_install(*pip_install: str | Path) -> set[str]:
    """The distributions ``pip install`` would install (``--dry-run``: nothing changes)."""
    argv = [*pip_install, "--quiet", "--dry-run", "--cache-dir", PIP_CACHE, "--report", "-"]
    return {item["metadata"]["name"].lower() for item in json.loads(_run(*argv))["install"]}


@pytest.mark.slow  # pip resolves boto3's tree from the index
def test_the_aws_helper_without_boto3_says_how_to_install_it(venv: Path, tmp_path: Path) -> None:
    """No boto3 (no extra): one line naming a command that works for this very venv (no index entry)."""
    done = subprocess.run(
        [str(venv / "docker-credential-regcred-aws"), "list"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        env=_clean_env(venv, tmp_path),
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stdout + done.stderr
    prefix = "boto3 is not installed: "
    assert done.stdout.startswith(prefix), done.stdout
    command, _, pipx = done.stdout.removeprefix(prefix).rstrip("\n").partition(" (with pipx: ")
    assert pipx == "pipx inject regcred boto3)"
    argv = shlex.split(command)
    assert argv[:4] == [str(venv / "python"), "-m", "pip", "install"]
    assert {"boto3", "botocore"} <= _would_install(*argv)
