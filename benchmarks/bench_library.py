"""In-process cost of ``regcred.get_credentials`` per call, with the plain config-file store.

Run by ``run.py`` in a subprocess inside the sandbox environment (so that the
lookup never reads the user's real ``~/.docker`` or podman auth files)::

    python benchmarks/bench_library.py CONFIG_ROOT

It prints one JSON object: ``{case: [per-call ms of each repeat]}``.  With
``--config-costs`` after CONFIG_ROOT it prints the in-process cost of each
step of a login on a 10,000-entry config instead.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

CASES = {
    # case: (entries in config.json, server asked for)
    "hit, 10 entries": (10, "reg00005.example.com"),
    "hit, 1,000 entries": (1000, "reg00500.example.com"),
    "hit by repository, 10 entries": (10, "reg00005.example.com/team/app"),
    "miss, 10 entries (then podman files)": (10, "absent.example.com"),
}
REPEATS = 7


def _write_config(directory: Path, entries: int) -> None:
    auth = base64.b64encode(b"bench-user:bench-password").decode()
    auths = {f"reg{i:05d}.example.com": {"auth": auth} for i in range(entries)}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"auths": auths}, indent="\t"))


def measure(root: Path) -> dict[str, list[float]]:
    from regcred import get_credentials

    results: dict[str, list[float]] = {}
    for case, (entries, server) in CASES.items():
        directory = root / f"lib-{entries}"
        if not (directory / "config.json").exists():
            _write_config(directory, entries)
        found = get_credentials(server, config_dir=directory)
        if (found is None) != server.startswith("absent"):
            msg = f"get_credentials({server!r}) gave the wrong answer"
            raise RuntimeError(msg)
        # Calibrate: enough calls for about 0.2 s a repeat.
        start = time.perf_counter()
        get_credentials(server, config_dir=directory)
        once = time.perf_counter() - start
        calls = max(10, min(20000, int(0.2 / max(once, 1e-6))))
        per_call = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            for _ in range(calls):
                get_credentials(server, config_dir=directory)
            per_call.append((time.perf_counter() - start) * 1000 / calls)
        results[case] = per_call
    return results


def _best_ms(call: Callable[[], object], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def config_costs(root: Path, entries: int = 10000) -> dict[str, float]:
    """Best-of-7 ms of each step regcred takes on a big config.json (login = load + update)."""
    from regcred import _config

    directory = root / f"costs-{entries}"
    _write_config(directory, entries)
    path = directory / "config.json"
    raw = path.read_bytes()
    loads = _best_ms(lambda: json.loads(raw))
    # Different trailing whitespace each time: a parse cache keyed on the bytes must not hide the work.
    fresh = iter(raw + b" " * n for n in range(1, 100))
    parse = _best_ms(lambda: _config.parse(path, next(fresh)))
    config = _config.load(path)
    return {
        f"json.loads of {entries:,} entries": loads,
        "_config.parse minus json.loads (validation), on bytes not seen before": parse - loads,
        "Config.render (docker's layout, tab indent)": _best_ms(config.render),
        "_config.update: set one entry (lock, re-read, render, fsync, rename)": _best_ms(
            lambda: _config.update(path, lambda c: c.set_auth("profile.example:5000", "u", "p"))
        ),
    }


if __name__ == "__main__":
    if sys.argv[2:] == ["--config-costs"]:
        print(json.dumps(config_costs(Path(sys.argv[1]))))
    else:
        print(json.dumps(measure(Path(sys.argv[1]))))
