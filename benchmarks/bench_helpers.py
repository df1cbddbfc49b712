"""Time regcred's credential helpers against docker's Go helpers on the same store.

Not a test: a developer script.  For each helper pair it builds a
throwaway backend, then runs ``get`` and ``list`` N times, alternating which
helper goes first, and prints medians and the ours/Go ratio::

    .venv/bin/python benchmarks/bench_helpers.py            # 30 runs
    .venv/bin/python benchmarks/bench_helpers.py -n 100 --pair pass

Goals (pass): ``get`` no slower than Go's; ``list`` over 1,000 entries at
most 0.5x Go's.  Our helpers run with bytecode caching on (as an installed
wheel would), in a private ``PYTHONPYCACHEPREFIX``.

To add a helper pair (e.g. secretservice), write a ``setup_<name>(workdir)``
context manager that yields a :class:`Backend` and add it to ``PAIRS`` at the
bottom of the file.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import resource
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

VENV_BIN = Path(sys.executable).parent


@dataclass
class Backend:
    """A ready store: the two helper commands, their environment, and what to ask."""

    ours: list[str]
    go: list[str]
    env: dict[str, str]
    get_server: str
    #: scenario name -> (action, stdin); run against the same store by both helpers
    scenarios: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: called between scenarios, e.g. to add 1,000 entries before "list 1000"
    before: dict[str, Callable[[], None]] = field(default_factory=dict)
    #: label -> command timed alone for context (e.g. the backend's own tool)
    floors: dict[str, list[str]] = field(default_factory=dict)


def run_once(command: list[str], action: str, stdin: bytes, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one helper process and its children; raises if it fails.

    CPU time (user + system, from the kernel's accounting of waited-for
    descendants) is much less disturbed by other load than wall time.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [*command, action], input=stdin, capture_output=True, env=env, check=False, timeout=120
    )
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        msg = f"{command[0]} {action} failed: {done.stdout!r} {done.stderr!r}"
        raise RuntimeError(msg)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return elapsed, cpu


def outputs_agree(backend: Backend, action: str, stdin: bytes) -> bool:
    """Both helpers print the same JSON for this request."""
    results = [
        subprocess.run([*cmd, action], input=stdin, capture_output=True, env=backend.env, check=True).stdout
        for cmd in (backend.ours, backend.go)
    ]
    return bool(json.loads(results[0]) == json.loads(results[1]))


def bench(backend: Backend, runs: int, warmup: int = 3) -> None:
    """Interleaved timings of every scenario; prints one line per scenario."""
    header = ("scenario", "ours ms", "go ms", "ratio", "ours cpu", "go cpu", "ratio")
    print("{:<14} {:>9} {:>9} {:>6} {:>9} {:>9} {:>6}".format(*header))
    for name, (action, stdin) in backend.scenarios.items():
        if name in backend.before:
            backend.before[name]()
        for _ in range(warmup):
            run_once(backend.ours, action, stdin, backend.env)
            run_once(backend.go, action, stdin, backend.env)
        ours: list[tuple[float, float]] = []
        go: list[tuple[float, float]] = []
        for i in range(runs):
            order = [(backend.ours, ours), (backend.go, go)]
            for command, sink in order if i % 2 == 0 else order[::-1]:
                sink.append(run_once(command, action, stdin, backend.env))
        walls = [statistics.median(t[0] for t in times) for times in (ours, go)]
        cpus = [statistics.median(t[1] for t in times) for times in (ours, go)]
        if not outputs_agree(backend, action, stdin):
            print(f"{name}: the two helpers' outputs differ")
        print(
            f"{name:<14} {walls[0]:9.1f} {walls[1]:9.1f} {walls[0] / walls[1]:6.2f}"
            f" {cpus[0]:9.1f} {cpus[1]:9.1f} {cpus[0] / max(cpus[1], 0.01):6.2f}"
        )
    # The floor under any Python helper: the interpreter starting and doing nothing.
    floors = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -I -S": [sys.executable, "-I", "-S", "-c", "pass"],
        **backend.floors,
    }
    for label, command in floors.items():
        times = [_time(command, backend.env) for _ in range(runs)]
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        print(f"{label:<14} {wall:9.1f} {'':>9} {'':>6} {cpu:9.1f}")


def _time(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


# --- pass ------------------------------------------------------------------------------


@contextlib.contextmanager
def setup_pass(workdir: Path) -> Iterator[Backend]:
    """A GnuPG home with one key, an initialized pass store, one entry to get."""
    home = Path(tempfile.mkdtemp(prefix="rc-bench-", dir="/tmp"))  # short: agent socket
    store = workdir / "password-store"
    env = {
        **os.environ,
        "GNUPGHOME": str(home),
        "PASSWORD_STORE_DIR": str(store),
        "PYTHONPYCACHEPREFIX": str(workdir / "pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("DISPLAY", None)
    try:
        subprocess.run(
            [
                *("gpg", "--batch", "--passphrase", "", "--quick-gen-key"),
                *("bench <b@regcred.invalid>", "future-default", "default", "never"),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(["pass", "init", "b@regcred.invalid"], env=env, check=True, capture_output=True)
        server = "https://index.docker.io/v1/"
        body = json.dumps({"ServerURL": server, "Username": "alice", "Secret": "s3cr"}).encode()
        ours = [str(VENV_BIN / "docker-credential-regcred-pass")]
        subprocess.run([*ours, "store"], input=body, env=env, check=True)
        folder = store / "docker-credential-helpers"
        entry = folder / base64.urlsafe_b64encode(server.encode()).decode() / "alice.gpg"

        def fill_1000() -> None:
            # list never decrypts, so one real ciphertext copied 1,000 times is faithful.
            for i in range(1000):
                name = base64.urlsafe_b64encode(f"reg{i:04}.example:5000".encode()).decode()
                (folder / name).mkdir(mode=0o700, exist_ok=True)
                shutil.copyfile(entry, folder / name / f"user{i}.gpg")

        yield Backend(
            ours=ours,
            go=["/usr/bin/docker-credential-pass"],
            env=env,
            get_server=server,
            scenarios={
                "get": ("get", server.encode()),
                "list (1)": ("list", b"unused"),
                "list (1000)": ("list", b"unused"),
            },
            before={"list (1000)": fill_1000},
            floors={"gpg -d alone": ["gpg", "--batch", "--quiet", "--decrypt", str(entry)]},
        )
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)
        shutil.rmtree(home, ignore_errors=True)


# --- helper pairs: add yours here ---------------------------------------------------------

PAIRS: dict[str, Callable[[Path], contextlib.AbstractContextManager[Backend]]] = {
    "pass": setup_pass,
    # secretservice: add its setup function here (it needs dbus-run-session + gnome-keyring).
}


def main() -> int:
    """Parse options, run every selected pair, print results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=30, help="timed runs per helper")
    parser.add_argument("--pair", choices=sorted(PAIRS), action="append", help="default: all")
    args = parser.parse_args()
    for name in args.pair or sorted(PAIRS):
        with (
            tempfile.TemporaryDirectory(prefix="regcred-bench-") as tmp,
            PAIRS[name](Path(tmp)) as backend,
        ):
            print(f"== {name}: ours={backend.ours[0]} go={backend.go[0]} runs={args.runs}")
            bench(backend, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
