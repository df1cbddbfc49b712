"""Shared pieces of the benchmark: the programs compared and a throwaway sandbox.

Timing, interleaving and medians are in ``_timing.py`` (the one harness).

The sandbox never touches the user's real ``~/.docker``, keyring or password
store: every program runs with HOME, DOCKER_CONFIG, GNUPGHOME,
PASSWORD_STORE_DIR, XDG_* and DBUS_SESSION_BUS_ADDRESS pointing into one
temporary directory, on a private D-Bus bus with its own gnome-keyring, and
with DOCKER_HOST pointing at a socket that does not exist (no daemon).

``PYTHONDONTWRITEBYTECODE`` is removed from the environment of every timed
program: with it set, a Python program whose ``.pyc`` files are stale
recompiles its modules on every start, which is not what an installed
wheel does.  ``run.py`` byte-compiles ``src`` first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from _timing import BenchError

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.fixtures: the same keyring/registry code as the tests

VENV_BIN = Path(sys.executable).parent
REGCRED = str(VENV_BIN / "regcred")
OUR_PASS = str(VENV_BIN / "docker-credential-regcred-pass")
OUR_SECRETSERVICE = str(VENV_BIN / "docker-credential-regcred-secretservice")
GO_PASS = "/usr/bin/docker-credential-pass"
GO_SECRETSERVICE = "/usr/bin/docker-credential-secretservice"

_SCRUBBED = ("DOCKER_", "PASSWORD_STORE_", "REGCRED_", "GNUPG", "DBUS_", "XDG_", "REGISTRY_")


# --------------------------------------------------------------------------- sandbox


@dataclass
class Sandbox:
    """A temporary directory and an environment that points every store into it."""

    root: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    keyring_ready: bool = False
    pass_ready: bool = False

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def with_env(self, **changes: str | None) -> dict[str, str]:
        env = dict(self.env)
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def start_keyring(self) -> None:
        """A private session bus (no activation) and an unlocked gnome-keyring on it."""
        from tests.fixtures.keyring import _BUS_CONFIG, Keyring

        for program in ("dbus-daemon", "gnome-keyring-daemon"):
            if shutil.which(program) is None:
                raise BenchError(f"{program} is missing: run scripts/setup")
        bus_dir = Path(tempfile.mkdtemp(prefix="rcb-bus-", dir=self.root))
        (bus_dir / "bus.conf").write_text(_BUS_CONFIG.format(dir=bus_dir, extra=""))
        bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={bus_dir / 'bus.conf'}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        if not address:
            raise BenchError("dbus-daemon did not print its address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        ring = Keyring(address, "gnome-keyring-daemon", dict(self.env), bus_dir / "keyring.log")
        try:
            ring.start()
        except BaseException as exc:  # the fixture's missing() raises pytest's Skipped
            raise BenchError(f"gnome-keyring did not start: {exc}") from None
        assert ring.process is not None
        self.processes.append(ring.process)
        if ring.default_collection() == "/":
            raise BenchError("gnome-keyring started without a default collection")
        self.keyring_ready = True

    def start_pass(self) -> None:
        """A throwaway GnuPG home with one passphrase-less key, and ``pass init`` with it."""
        for program in ("gpg", "gpgconf", "pass"):
            if shutil.which(program) is None:
                raise BenchError(f"{program} is missing: run scripts/setup")
        uid = "regcred bench <bench@regcred.invalid>"
        for command in (
            [
                "gpg",
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                uid,
                "future-default",
                "default",
                "never",
            ],
            ["pass", "init", "bench@regcred.invalid"],
        ):
            done = subprocess.run(command, capture_output=True, env=self.env, check=False, timeout=120)
            if done.returncode != 0:
                raise BenchError(f"{command[0]} failed: {done.stderr.decode(errors='replace')[-300:]}")
        self.pass_ready = True

    def close(self) -> None:
        if self.pass_ready:
            subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=self.env, check=False, timeout=30)
        from tests.conftest import stop_process

        for proc in reversed(self.processes):
            stop_process(proc)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def sandbox() -> Iterator[Sandbox]:
    """A fresh :class:`Sandbox`; every process it started is stopped at the end."""
    # Short path under /tmp: D-Bus and gpg-agent socket paths are limited to 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="rcb-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        env.pop(name, None)
    home = root / "home"
    home.mkdir()
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
        path = root / name.lower()
        path.mkdir(mode=0o700)
        env[name] = str(path)
    gnupg = root / "gnupg"
    gnupg.mkdir(mode=0o700)
    env |= {
        "HOME": str(home),
        "DOCKER_CONFIG": str(root / "docker"),
        "DOCKER_HOST": f"unix://{root}/no-docker-daemon.sock",
        "GNUPGHOME": str(gnupg),
        "PASSWORD_STORE_DIR": str(root / "password-store"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    box = Sandbox(root, env)
    try:
        yield box
    finally:
        box.close()


def byte_compile() -> None:
    """Write fresh ``.pyc`` files for src (PYTHONDONTWRITEBYTECODE would leave them stale)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], env=env, check=True)
