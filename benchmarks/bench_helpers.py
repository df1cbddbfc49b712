"""Time regcred's credential helpers against docker's Go helpers on the same store, alone.

Not a test: a developer script, the helper part of ``run.py`` on its own,
with CPU time next to wall time and the floors under a Python helper::

    .venv/bin/python benchmarks/bench_helpers.py                  # both pairs, 30 runs
    .venv/bin/python benchmarks/bench_helpers.py -n 100 --pair pass

For each pair it runs, in one sandbox (``_common.sandbox``: a private D-Bus
bus with a gnome-keyring, a throwaway GnuPG home and pass store), the same
measures as ``run.py --only helpers`` (``bench_stores.helper_latency``, then
``list`` of 1,000 entries), interleaved through ``_timing``; then the floors
(the interpreter alone, the helper's imports, the store's own tool) and the
cumulative ``-X importtime`` of the helper's big imports.  The targets are
``bench_stores``'s, written in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys

import bench_stores
from _common import Sandbox, byte_compile, sandbox
from _timing import BenchError, Comparison, import_times, interleave, median, process, wall

BIG_LIST = 1000
#: pair -> what its helper imports (a ``python -c`` line), and the modules whose cumulative time to show
IMPORTS = {
    "pass": (
        "import regcred.helpers.pass_, regcred.stores.pass_",
        ("regcred.helpers._protocol", "regcred.credentials", "json", "regcred.stores.pass_"),
    ),
    "secretservice": (
        "import regcred.helpers.secretservice, regcred.stores.secretservice, jeepney.io.blocking",
        ("regcred.helpers._protocol", "regcred.credentials", "json", "jeepney.io.blocking"),
    ),
}


def _line(c: Comparison) -> str:
    ours, other = c.ours, c.reference
    cpu_ours, cpu_other = c.cpu_median(ours) or 0.0, c.cpu_median(other) or 0.0
    walls = f"{c.median(ours):9.1f} {c.median(other):9.1f} {c.ratio() or 0:6.2f}"
    cpus = f"{cpu_ours:9.1f} {cpu_other:9.1f} {cpu_ours / max(cpu_other, 0.01):6.2f}"
    return f"{c.measure:<22} {walls} {cpus}  {c.runs()} runs"


def floors(box: Sandbox, name: str, runs: int) -> dict[str, float]:
    """Median wall ms of what sits under our helper: the interpreter, its imports, the store's tool."""
    python = sys.executable
    programs = {
        "python -c pass": process([python, "-c", "pass"], box.env),
        "python -I -S -c pass": process([python, "-I", "-S", "-c", "pass"], box.env),
        "the helper's imports": process([python, "-c", IMPORTS[name][0]], box.env),
    }
    if name == "pass":
        entry = next(box.path("password-store", "docker-credential-helpers").rglob("*.gpg"))
        programs["gpg --decrypt of one entry"] = process(
            ["gpg", "--batch", "--quiet", "--decrypt", str(entry)], box.env
        )
    samples = interleave(programs, runs=runs)
    return {label: median(wall(values)) for label, values in samples.items()}


def cumulative_imports(box: Sandbox, name: str, runs: int) -> dict[str, float]:
    """Median cumulative ``-X importtime`` (ms) of the helper's big imports."""
    code, modules = IMPORTS[name]
    found: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(runs):
        times = import_times([sys.executable, "-c", code], box.env)
        for module in modules:
            if module in times:
                found[module].append(times[module][1] / 1000)
    return {module: median(values) for module, values in found.items() if values}


def main() -> int:
    """Parse options, run every selected pair, print results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=30, help="interleaved runs per measure")
    parser.add_argument("--pair", choices=sorted(bench_stores.PAIRS), action="append", help="default: all")
    args = parser.parse_args()
    byte_compile()
    try:
        with sandbox() as box:
            box.start_keyring()
            box.start_pass()
            for name in args.pair or sorted(bench_stores.PAIRS):
                pair = bench_stores.PAIRS[name]
                print(f"== {name}: ours={pair.ours} go={pair.go} runs={args.runs}")
                header = ("measure", "ours ms", "go ms", "ratio", "ours cpu", "go cpu", "ratio")
                print("{:<22} {:>9} {:>9} {:>6} {:>9} {:>9} {:>6}".format(*header))
                for comparison in bench_stores.helper_latency(box, pair, args.runs):
                    print(_line(comparison), flush=True)
                pair.fill(box, BIG_LIST)
                samples = interleave(
                    {
                        f"regcred {name}": process([pair.ours, "list"], box.env),
                        f"Go {name}": process([pair.go, "list"], box.env),
                    },
                    runs=max(5, args.runs // 2),
                )
                print(_line(Comparison(f"helper: {name}", f"list ({BIG_LIST:,})", samples, f"Go {name}")))
                for label, ms in floors(box, name, args.runs).items():
                    print(f"{label:<22} {ms:9.1f}")
                print("-X importtime, cumulative:")
                for module, ms in cumulative_imports(box, name, max(3, args.runs // 4)).items():
                    print(f"  {module:<32} {ms:6.1f} ms")
    except BenchError as exc:
        print(f"bench_helpers: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
