"""Compare two checkouts of regcred on the same stores: wall time, CPU time, instructions, imports.

Not a test: a developer script, for "is the new code slower than the old?"
on a machine that other work keeps busy::

    git worktree add --detach /tmp/regcred-old 74adda5
    (cd /tmp/regcred-old && bash scripts/setup)
    .venv/bin/python benchmarks/compare_commits.py --old /tmp/regcred-old --new .
    .venv/bin/python benchmarks/compare_commits.py --old /tmp/regcred-old --doc   # and write the table

``--old`` and ``--new`` each name a checkout with its ``.venv`` (or the venv
itself).  Both sides run against one sandbox (``_common.sandbox``: a private
D-Bus bus with a gnome-keyring, a throwaway GnuPG home and pass store, a
file config.json), so they read exactly the same entries; each side's
answer is checked to be the same JSON before anything is timed.

Per measure it reports, old against new:

- **wall** and **CPU** (user + system of the process and its waited-for
  children, from ``getrusage``) medians, runs interleaved old/new/new/old …;
  CPU time is much less disturbed by other load than wall time;
- **instructions** of the measured process alone, counted by valgrind's
  callgrind (``--trace-children=no``: a helper's ``gpg`` and the keyring
  daemon are not counted; they are the same on both sides).  Instruction
  counts do not depend on load; ``PYTHONHASHSEED=0`` keeps them steady to
  well under 1 %;
- **imports**: the number of modules the process imports and the sum of
  ``-X importtime`` self times (wall time, so noisy), and which modules one
  side imports that the other does not.

Instructions over 5 % more on the new side are flagged ``SLOWER``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_stores
from _common import REPO, Sandbox, sandbox
from _report import markdown_table, note, replace_block
from _timing import BenchError, Timing, cpu, import_times, interleave, median, process, run_process, wall

HUB = "https://index.docker.io/v1/"
FILE_HOST = "reg00005.example.com"
CONFIG_ENTRIES = 10
SLOWER = 1.05  # instructions new/old above this are more than noise
_COLLECTED = re.compile(rb"Collected : (\d+)")

#: ``python -c IMPORT_AND_GET HOST CONFIG_DIR``: what a library user's process pays for one lookup.
IMPORT_AND_GET = (
    "import sys\n"
    "from regcred import get_credentials\n"
    "assert get_credentials(sys.argv[1], config_dir=sys.argv[2]) is not None\n"
)
#: ``python bench_library.py --per-call CONFIG_DIR HOST CALLS``: ms per in-process lookup.
BENCH_LIBRARY = str(Path(__file__).with_name("bench_library.py"))
LIBRARY_CALLS = 2000  # per timed process
ICOUNT_CALLS = 200  # under callgrind: instructions per call = (I(1 + N) - I(1 + 0)) / N


@dataclass(frozen=True)
class Side:
    """One checkout: the venv whose interpreter and console scripts run, and the checkout's src.

    With ``pythonpath`` (``--one-venv``) the venv is the same for both sides and
    ``PYTHONPATH`` puts this checkout's src first: the installed packages (which
    ``site`` lists at every start) are then the same on both sides too.
    """

    label: str
    venv: Path
    src: Path
    pythonpath: bool = False

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def script(self, name: str) -> list[str]:
        # The interpreter named explicitly (what the kernel does with the #! line), so that
        # valgrind and -X importtime see the same process.
        return [self.python, str(self.venv / "bin" / name)]

    def env(self, box: Sandbox) -> dict[str, str]:
        bin_dir = str(self.venv / "bin")
        rest = [p for p in box.env["PATH"].split(os.pathsep) if p and not p.endswith("/.venv/bin")]
        return box.with_env(
            PATH=os.pathsep.join([bin_dir, *rest]), PYTHONPATH=str(self.src) if self.pythonpath else None
        )


@dataclass(frozen=True)
class Measure:
    """One process to compare: arguments after the side's program, stdin."""

    name: str
    program: str  # console script name, or "" for python -c
    args: tuple[str, ...]
    stdin: bytes = b""
    check_json: bool = True

    def command(self, side: Side) -> list[str]:
        if not self.program:
            return [side.python, *self.args]
        return [*side.script(self.program), *self.args]


@dataclass
class Row:
    measure: str
    wall: dict[str, float]
    cpu: dict[str, float]
    instructions: dict[str, float]
    modules: dict[str, int]
    importtime_ms: dict[str, float]
    only_new: list[str]
    only_old: list[str]
    runs: int


def resolve_venv(path: str) -> Path:
    """A checkout (with .venv) or a venv directory; raises BenchError otherwise."""
    base = Path(path).resolve()
    for venv in (base / ".venv", base):
        if (venv / "bin" / "python").exists() and (venv / "bin" / "regcred").exists():
            return venv
    msg = f"{path}: no venv with regcred in it (run scripts/setup in that checkout)"
    raise BenchError(msg)


def byte_compile(side: Side) -> None:
    """Fresh .pyc files for the checkout's src, written by the interpreter that runs it."""
    if side.src.is_dir():
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([side.python, "-m", "compileall", "-q", str(side.src)], env=env, check=True)


def instructions(command: list[str], env: dict[str, str], stdin: bytes, repeats: int) -> float:
    """Median instruction count of the process itself under callgrind (children not traced)."""
    counts = []
    with tempfile.TemporaryDirectory(prefix="rcb-vg-") as tmp:
        log = Path(tmp) / "valgrind.log"
        for _ in range(repeats):
            subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    "--callgrind-out-file=/dev/null",
                    "--trace-children=no",
                    f"--log-file={log}",
                    *command,
                ],
                input=stdin,
                capture_output=True,
                env={**env, "PYTHONHASHSEED": "0"},
                check=False,
                timeout=900,
            )
            found = _COLLECTED.search(log.read_bytes())
            if found is None:
                raise BenchError(f"callgrind printed no count for {' '.join(command[1:3])}")
            counts.append(int(found.group(1)))
    return median(counts)


def imports(command: list[str], env: dict[str, str], stdin: bytes, repeats: int) -> tuple[set[str], float]:
    """(modules imported, median sum of -X importtime self times in ms)."""
    modules: set[str] = set()
    sums = []
    for _ in range(repeats):
        found = import_times(command, env, stdin)
        modules = set(found)
        sums.append(sum(own for own, _ in found.values()) / 1000)
    return modules, median(sums)


def compare(
    measure: Measure, sides: list[Side], box: Sandbox, runs: int, icount_runs: int, import_runs: int
) -> Row:
    """Every number for one measure, old and new."""
    envs = {side.label: side.env(box) for side in sides}
    outputs = [run_process(measure.command(side), envs[side.label], measure.stdin)[1] for side in sides]
    if measure.check_json and json.loads(outputs[0]) != json.loads(outputs[1]):
        raise BenchError(f"{measure.name}: the two checkouts answer differently")
    samples = interleave(
        {side.label: process(measure.command(side), envs[side.label], measure.stdin) for side in sides},
        runs=runs,
    )
    row = Row(measure.name, {}, {}, {}, {}, {}, [], [], runs)
    found: dict[str, set[str]] = {}
    for side in sides:
        row.wall[side.label] = median(wall(samples[side.label]))
        row.cpu[side.label] = median(cpu(samples[side.label]))
        if icount_runs:
            command = measure.command(side)
            row.instructions[side.label] = instructions(command, envs[side.label], measure.stdin, icount_runs)
        found[side.label], row.importtime_ms[side.label] = imports(
            measure.command(side), envs[side.label], measure.stdin, import_runs
        )
        row.modules[side.label] = len(found[side.label])
    old, new = (side.label for side in sides)
    row.only_new = sorted(found[new] - found[old])
    row.only_old = sorted(found[old] - found[new])
    return row


def library_rows(
    sides: list[Side], box: Sandbox, config_dir: Path, runs: int, icount_runs: int, import_runs: int
) -> list[Row]:
    """get_credentials in-process: ms per call, instructions per call, and import + one call."""
    envs = {side.label: side.env(box) for side in sides}

    def lookups(side: Side, calls: int) -> list[str]:
        return [side.python, BENCH_LIBRARY, "--per-call", str(config_dir), FILE_HOST, str(calls)]

    def loop(side: Side) -> Timing:
        # The number is the child's own: ms per call over its in-process loop.
        return Timing(float(run_process(lookups(side, LIBRARY_CALLS), envs[side.label])[1]))

    per_call = interleave(
        {side.label: functools.partial(loop, side) for side in sides}, runs=max(5, runs // 2)
    )
    calls = Row("get_credentials(): one call, in-process (ms, instructions)", {}, {}, {}, {}, {}, [], [], 0)
    once = Measure(
        "get_credentials(): import regcred + one call (a process)",
        "",
        ("-c", IMPORT_AND_GET, FILE_HOST, str(config_dir)),
        check_json=False,
    )
    startup = compare(once, sides, box, runs, icount_runs, import_runs)
    for side in sides:
        calls.wall[side.label] = median(wall(per_call[side.label]))
        calls.runs = len(per_call[side.label])
        if icount_runs:
            env = envs[side.label]
            base = instructions(lookups(side, 0), env, b"", icount_runs)
            total = instructions(lookups(side, ICOUNT_CALLS), env, b"", icount_runs)
            calls.instructions[side.label] = (total - base) / ICOUNT_CALLS
    return [startup, calls]


def _ratio(values: dict[str, float], old: str, new: str) -> str:
    if old not in values or new not in values or not values[old]:
        return ""
    return f"{values[new] / values[old]:.3f}"


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "M":
        return f"{value / 1e6:.2f} M" if value >= 1e5 else f"{value:,.0f}"
    return f"{value:.4f}" if value < 1 else f"{value:.1f}"


def table(rows: list[Row], old: str, new: str) -> str:
    """The markdown table: medians, instruction counts, ratios new/old."""
    header = [
        "measure",
        "wall old",
        "wall new",
        "new/old",
        "CPU old",
        "CPU new",
        "new/old",
        "instructions old",
        "instructions new",
        "new/old",
        "modules old/new",
        "importtime old/new",
        "",
    ]
    cells_of_rows = []
    for row in rows:
        ratio = _ratio(row.instructions, old, new)
        flag = "SLOWER" if ratio and float(ratio) > SLOWER else ""
        modules = f"{row.modules[old]} / {row.modules[new]}" if row.modules else ""
        imptime = f"{row.importtime_ms[old]:.1f} / {row.importtime_ms[new]:.1f}" if row.importtime_ms else ""
        cells = [
            row.measure,
            _num(row.wall.get(old), "ms"),
            _num(row.wall.get(new), "ms"),
            _ratio(row.wall, old, new),
            _num(row.cpu.get(old), "ms"),
            _num(row.cpu.get(new), "ms"),
            _ratio(row.cpu, old, new),
            _num(row.instructions.get(old), "M"),
            _num(row.instructions.get(new), "M"),
            ratio,
            modules,
            imptime,
            flag,
        ]
        cells_of_rows.append(cells)
    return markdown_table(header, cells_of_rows)


def differences(rows: list[Row]) -> list[str]:
    """One line per measure whose module sets differ."""
    out = []
    for row in rows:
        if row.only_new or row.only_old:
            new = ", ".join(row.only_new) or "none"
            old = ", ".join(row.only_old) or "none"
            out.append(f"- **{row.measure}**: only new imports {new}; only old imports {old}.")
    return out


def _describe(side: Side) -> str:
    checkout = side.src.parent
    done = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()[:80] or str(checkout)


def _file_config(box: Sandbox) -> Path:
    import base64

    directory = box.path("file-config")
    directory.mkdir()
    auth = base64.b64encode(b"bench-user:bench-password").decode()
    auths = {f"reg{i:05d}.example.com": {"auth": auth} for i in range(CONFIG_ENTRIES)}
    (directory / "config.json").write_text(json.dumps({"auths": auths}, indent="\t"))
    return directory


def run(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """Every measure, in one sandbox; returns the rows and the description lines."""
    old, new = resolve_venv(args.old), resolve_venv(args.new)
    if args.one_venv:
        sides = [
            Side("old", new, old.parent / "src", pythonpath=True),
            Side("new", new, new.parent / "src", pythonpath=True),
        ]
    else:
        sides = [Side("old", old, old.parent / "src"), Side("new", new, new.parent / "src")]
    if args.icount_runs and shutil.which("valgrind") is None:
        raise BenchError("valgrind is missing (apt-get install valgrind), or pass --icount-runs 0")
    for side in sides:
        byte_compile(side)
    load = os.getloadavg()
    about = [
        f"- **old**: {_describe(sides[0])}",
        f"- **new**: {_describe(sides[1])}",
        "- **interpreters**: "
        + (
            "the new checkout's venv for both, `PYTHONPATH` = each checkout's src"
            if args.one_venv
            else "each checkout's own venv (the first row shows what the venvs alone differ by)"
        ),
        f"- **load average at start**: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores",
        (
            f"- **runs**: {args.runs} interleaved per measure ({max(5, args.runs // 2)} for 1,000 entries),"
            f" callgrind {args.icount_runs} per side, -X importtime {args.import_runs} per side"
        ),
    ]
    rows: list[Row] = []

    def add(measure: Measure, runs: int) -> None:
        print(f"== {measure.name}", file=sys.stderr, flush=True)
        rows.append(compare(measure, sides, box, runs, args.icount_runs, args.import_runs))
        print(
            table(rows[-1:], "old", "new").splitlines()[-1], file=sys.stderr, flush=True
        )  # a partial run shows

    with sandbox() as box:
        box.start_keyring()
        box.start_pass()
        config_dir = _file_config(box)
        body = json.dumps({"ServerURL": HUB, "Username": "alice", "Secret": "s3cr3t-bench"}).encode()
        for helper in ("docker-credential-regcred-pass", "docker-credential-regcred-secretservice"):
            run_process([*sides[1].script(helper), "store"], sides[1].env(box), body)
        add(
            Measure("python -c pass (the interpreter alone)", "", ("-c", "pass"), check_json=False), args.runs
        )
        for name in ("pass", "secretservice"):
            helper = f"docker-credential-regcred-{name}"
            add(Measure(f"{name} helper: get", helper, ("get",), HUB.encode()), args.runs)
            add(Measure(f"{name} helper: list (1 entry)", helper, ("list",)), args.runs)
        add(
            Measure(
                f"regcred get HOST (file config, {CONFIG_ENTRIES} entries)",
                "regcred",
                ("get", "--config", str(config_dir), FILE_HOST),
            ),
            args.runs,
        )
        print("== get_credentials()", file=sys.stderr, flush=True)
        rows += library_rows(sides, box, config_dir, args.runs, args.icount_runs, args.import_runs)
        print("\n".join(table(rows[-2:], "old", "new").splitlines()[2:]), file=sys.stderr, flush=True)
        for name in ("secretservice", "pass"):
            pair = bench_stores.PAIRS[name]
            pair.fill(box, args.entries)
            helper = f"docker-credential-regcred-{name}"
            add(
                Measure(f"{name} helper: list ({args.entries:,} entries)", helper, ("list",)),
                max(5, args.runs // 2),
            )
    load = os.getloadavg()
    about.append(f"- **load average at end**: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return rows, about


BEGIN = "<!-- compare_commits: begin -->"
END = "<!-- compare_commits: end -->"


def section(rows: list[Row], about: list[str]) -> str:
    """The docs/benchmarks.md section, between markers that run.py keeps."""
    diff = differences(rows)
    return "\n".join(
        [
            BEGIN,
            "## Old against new commit",
            "",
            *note("compare-commits"),
            *about,
            "",
            table(rows, "old", "new"),
            "",
            *([*note("compare-commits-modules"), *diff, ""] if diff else []),
            END,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the baseline checkout (with .venv) or venv")
    parser.add_argument("--new", default=str(REPO), help="the checkout to judge (default: this one)")
    parser.add_argument("--runs", type=int, default=30, help="interleaved runs per measure (default 30)")
    parser.add_argument("--entries", type=int, default=1000, help="entries for the big list (default 1000)")
    parser.add_argument("--icount-runs", type=int, default=3, help="callgrind runs per side (0: skip)")
    parser.add_argument("--import-runs", type=int, default=5, help="-X importtime runs per side")
    parser.add_argument(
        "--one-venv", action="store_true", help="run both checkouts' src with the new venv's interpreter"
    )
    parser.add_argument("--doc", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    try:
        rows, about = run(args)
    except BenchError as exc:
        print(f"compare_commits: {exc}", file=sys.stderr)
        return 1
    text = section(rows, about)
    print(text)
    if args.doc:
        replace_block(BEGIN, END, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
