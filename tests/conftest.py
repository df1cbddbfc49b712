"""Shared test set-up.

Real components (registry, keyring, pass, docker CLI, Go helpers, skopeo)
come from fixtures in ``tests/fixtures``.  When one is missing the test is
skipped on a developer machine, but **fails** under ``CI=true``: a green
CI run that skipped the real tests would be a lie.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import settings

pytest_plugins = [
    "tests.fixtures.dbus_hostile",
    "tests.fixtures.aws",
    "tests.fixtures.keyring",
    "tests.fixtures.passstore",
    "tests.fixtures.registry",
    "tests.fixtures.hub_fake",
    "tests.fixtures.differential",  # imports registry: after it
    "tests.fixtures.programs",
]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _default_signal_actions() -> None:
    """Give the suite, and so every process it starts, the signals' default actions.

    An ignored signal stays ignored across exec, and regcred rightly keeps what it
    inherits (``nohup regcred exec …`` keeps the command immune to SIGHUP; Python
    itself leaves an ignored SIGINT ignored).  A suite started by ``nohup``, or with
    ``&`` from a script, would hand every regcred it runs SIGINT and SIGHUP ignored,
    and the tests of Ctrl-C, of signals forwarded by ``exec`` and of migrate's undo
    would fail for a reason of the caller's.  As a shell's foreground job, then.

    An ignored signal gets a handler that does nothing: the suite itself still
    ignores it (``nohup scripts/test`` survives the hangup), and a handler, unlike
    SIG_IGN, is reset to the default action in every program the suite starts.
    """
    import signal

    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        return
    names = [
        "SIGINT",
        "SIGHUP",
        "SIGQUIT",
        "SIGTERM",
        "SIGUSR1",
        "SIGUSR2",
        "SIGALRM",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
    ]
    wanted = [getattr(signal, name) for name in names]
    for signum in wanted:
        if signal.getsignal(signum) == signal.SIG_IGN:
            signal.signal(signum, _ignore)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, wanted)


def _ignore(_signum: int, _frame: object) -> None:
    """Ignore the signal here, as the caller asked; the programs the suite starts get the default."""


_default_signal_actions()

# Hypothesis: CI runs derandomized, so a run is reproducible and a property never
# fails at random.  Developers explore new inputs with `--hypothesis-profile=random`
# (README, "Development").  The default profile is the "ci" one everywhere else too.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("random", derandomize=False, print_blob=True)
settings.load_profile("ci")
#: Where ``pip install -e .`` put regcred's console scripts (next to the interpreter).
VENV_BIN = Path(sys.executable).parent


def missing(component: str, why: str) -> NoReturn:
    """Skip locally, fail in CI: ``component`` is needed and not usable."""
    message = f"{component} is not available: {why}"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def require_program(name: str, package: str) -> str:
    """Path of ``name`` on PATH, or missing() naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        missing(name, f"install the Debian package {package!r} (scripts/test does)")
    return path


def installed_helper(name: str) -> str:
    """Path of our installed ``docker-credential-regcred-<name>``, or missing()."""
    path = VENV_BIN / f"docker-credential-regcred-{name}"
    if not path.exists():
        missing(path.name, "run `.venv/bin/pip install -e .`")
    return str(path)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` and reap it (kill it if it does not go), then close its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


# AWS_: no test may reach a developer's real AWS account (tests/fixtures/aws.py sets its own).
_SCRUBBED_PREFIXES = ("DOCKER_", "PASSWORD_STORE_", "REGCRED_", "GNUPG", "DBUS_", "XDG_", "AWS_")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own HOME and no inherited docker/pass/D-Bus settings."""
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name in {"REGISTRY_AUTH_FILE", "DISPLAY"}:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))  # the home on Windows (portable.yml)
    return home


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DOCKER_CONFIG directory (not created yet); returns config.json's path."""
    config_dir = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    return config_dir / "config.json"
