"""Shared pieces of the benchmark: a throwaway sandbox, interleaved timing, results.

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
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

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


class BenchError(RuntimeError):
    """A benchmark step failed (a program exited non-zero, a component is missing)."""


# --------------------------------------------------------------------------- timing


@dataclass
class Comparison:
    """One measure taken for several programs, interleaved; samples in milliseconds."""

    section: str
    measure: str
    samples: dict[str, list[float]]
    reference: str = ""  # the label ratios are computed against ("" = no ratio)
    target: str = ""  # e.g. "<= 1.5x"
    target_ratio: float | None = None  # met when ours/reference <= this
    target_ms: float | None = None  # met when median < this
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def median(self, label: str) -> float:
        return statistics.median(self.samples[label])

    @property
    def labels(self) -> list[str]:
        return list(self.samples)

    @property
    def ours(self) -> str:
        return self.labels[0]

    def ratio(self, label: str | None = None) -> float | None:
        if not self.reference:
            return None
        return self.median(label or self.ours) / self.median(self.reference)

    def met(self) -> bool | None:
        if self.target_ratio is not None:
            ratio = self.ratio()
            return ratio is not None and ratio <= self.target_ratio
        if self.target_ms is not None:
            return max(self.median(label) for label in self.labels if label.startswith("regcred")) < (
                self.target_ms
            )
        return None


def interleave(
    programs: dict[str, Callable[[], float]],
    *,
    runs: int,
    warmup: int = 2,
    budget_s: float | None = None,
    min_runs: int = 3,
) -> dict[str, list[float]]:
    """Run each program ``runs`` times, rotating the order every round (A B, B A …).

    Each callable does one run and returns its own elapsed time in ms (so that
    per-run set-up stays outside the timing).  With ``budget_s`` the loop stops
    early once that much wall time has passed and ``min_runs`` rounds are done.
    """
    labels = list(programs)
    print(f"   {' vs '.join(labels)}: up to {runs} rounds", file=sys.stderr, flush=True)
    for _ in range(warmup):
        for label in labels:
            programs[label]()
    samples: dict[str, list[float]] = {label: [] for label in labels}
    start = time.monotonic()
    for i in range(runs):
        shift = i % len(labels)
        for label in labels[shift:] + labels[:shift]:
            samples[label].append(programs[label]())
        if budget_s is not None and i + 1 >= min_runs and time.monotonic() - start > budget_s:
            break
    return samples


def timed_run(
    command: list[str], env: dict[str, str], stdin: bytes = b"", *, check: bool = True
) -> tuple[float, bytes]:
    """(wall ms, stdout) of one program; raises BenchError when it fails and ``check``."""
    start = time.perf_counter()
    done = subprocess.run(command, input=stdin, capture_output=True, env=env, check=False, timeout=300)
    elapsed = (time.perf_counter() - start) * 1000
    if check and done.returncode != 0:
        # Helpers print errors on stdout; neither stream ever holds a secret we stored.
        detail = (done.stdout + done.stderr).decode(errors="replace").strip()[-300:]
        raise BenchError(f"{' '.join(command)} exited {done.returncode}: {detail}")
    return elapsed, done.stdout


def timer(command: list[str], env: dict[str, str], stdin: bytes = b"") -> Callable[[], float]:
    """A zero-argument callable that runs ``command`` once and returns its wall time (ms)."""
    return lambda: timed_run(command, env, stdin)[0]


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
