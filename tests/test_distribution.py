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
    _run(sys.executable, "-m", "venv", "--without-pip", home / "venv")
    python = home / "venv" / "bin" / "python"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--cache-dir", PIP_CACHE, str(dist.wheel)],
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
    assert set(installed) == {"regcred", "jeepney", "shtab"}


def test_the_aws_extra_as_the_readme_spells_it(venv: Path, dist: Dist) -> None:
    """README's ``pip install 'dist/regcred-….whl[aws]'`` resolves boto3 (pip --dry-run)."""
    requirement = f"{dist.wheel}[aws]"
    report = _run(
        sys.executable, "-m", "pip", "--python", venv / "python", "install", "--quiet", "--dry-run",
        "--cache-dir", PIP_CACHE, "--report", "-", requirement,
    )  # fmt: skip
    names = {item["metadata"]["name"].lower() for item in json.loads(report)["install"]}
    assert {"boto3", "botocore"} <= names
