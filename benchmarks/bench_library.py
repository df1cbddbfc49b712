"""In-process cost of ``regcred.get_credentials`` per call, with the plain config-file store.

Run by ``run.py`` in a subprocess inside the sandbox environment (so that the
lookup never reads the user's real ``~/.docker`` or podman auth files)::

    python benchmarks/bench_library.py CONFIG_ROOT

It prints one JSON object: ``{case: [per-call ms of each repeat]}``.  With
``--config-costs`` after CONFIG_ROOT it prints the in-process cost of each
step of a login on a 10,000-entry config instead.  ``compare_commits.py`` runs
``python bench_library.py --per-call CONFIG_DIR HOST CALLS`` with each
checkout's interpreter: one lookup, then ``CALLS`` more, and the ms per call.
"""

from __future__ import annotations

import base64
import functools
import json
import sys
from pathlib import Path

from _timing import best_ms, calibrate, per_call_ms

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
        lookup = functools.partial(get_credentials, server, config_dir=directory)
        calls = calibrate(lookup)  # enough calls for about 0.2 s a repeat
        results[case] = [per_call_ms(lookup, calls) for _ in range(REPEATS)]
    return results


def config_costs(root: Path, entries: int = 10000) -> dict[str, float]:
    """Best-of-7 ms of each step regcred takes on a big config.json (login = load + update)."""
    from regcred import _config

    directory = root / f"costs-{entries}"
    _write_config(directory, entries)
    path = directory / "config.json"
    raw = path.read_bytes()
    loads = best_ms(lambda: json.loads(raw))
    # Different trailing whitespace each time: a parse cache keyed on the bytes must not hide the work.
    fresh = iter(raw + b" " * n for n in range(1, 100))
    parse = best_ms(lambda: _config.parse(path, next(fresh)))
    config = _config.load(path)
    return {
        f"json.loads of {entries:,} entries": loads,
        "_config.parse minus json.loads (validation), on bytes not seen before": parse - loads,
        "Config.render (docker's layout, tab indent)": best_ms(config.render),
        "_config.update: set one entry (lock, re-read, render, fsync, rename)": best_ms(
            lambda: _config.update(path, lambda c: c.set_auth("profile.example:5000", "u", "p"))
        ),
    }


def per_call(config_dir: str, host: str, calls: int) -> float:
    """One lookup (it must find ``host``), then ms per call over ``calls`` more."""
    from regcred import get_credentials

    if get_credentials(host, config_dir=config_dir) is None:
        msg = f"get_credentials({host!r}) found nothing in {config_dir}"
        raise RuntimeError(msg)
    return per_call_ms(lambda: get_credentials(host, config_dir=config_dir), calls)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--per-call"]:
        print(per_call(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    elif sys.argv[2:] == ["--config-costs"]:
        print(json.dumps(config_costs(Path(sys.argv[1]))))
    else:
        print(json.dumps(measure(Path(sys.argv[1]))))
