"""regcred's benchmark: one command, a throwaway environment, interleaved runs, a report.

    .venv/bin/python benchmarks/run.py             # everything (about 10-15 minutes)
    .venv/bin/python benchmarks/run.py --quick     # fewer runs, for a smoke test
    bash scripts/bench                             # scripts/setup first, then this

It starts its own private D-Bus bus with a gnome-keyring, a throwaway GnuPG
home and pass store, local ``docker-registry`` instances and temporary
docker config directories; it never touches the real ``~/.docker``, keyring
or password store.  Every comparison runs the programs interleaved (A B, B A
…) and quotes medians and ratios, all through ``_timing.py``.  It prints a
table and writes ``docs/benchmarks.md`` with the machine description (its
prose is copied from ``docs/benchmarks-notes.md`` by ``_report.py``) and
``docs/benchmarks.png`` (matplotlib, a dev-only tool, is installed into the
venv if missing).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_auth
import bench_login
import bench_profile
import bench_slow_link
import bench_stores
import compare_commits
from _common import REPO, Sandbox, byte_compile, sandbox
from _report import DOC, kept_block, markdown_table, note
from _timing import BenchError, Comparison, Timing, median, wall

if TYPE_CHECKING:
    from collections.abc import Callable

PLOT = REPO / "docs" / "benchmarks.png"
SECTIONS = ("helpers", "build", "login", "config", "slow-link", "library", "auth", "profile")
LIBRARY_TARGET_MS = 1.0


# --------------------------------------------------------------------------- machine


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def _deb_version(package: str) -> str:
    return _output(["dpkg-query", "-W", "-f=${Version}", package])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    return _output(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"])


def machine() -> dict[str, str]:
    load = os.getloadavg()
    from regcred import __version__

    commit = _output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{_cpu_model()}, {os.cpu_count()} cores",
        "load average at start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)",
        "OS": f"{platform.system()} {platform.release()} ({_os_name()})",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "regcred": f"{__version__} (commit {commit})",
        "docker CLI": _output(["docker", "--version"]),
        "skopeo": _output(["skopeo", "--version"]),
        "docker-registry": _deb_version("docker-registry"),
        "Go helpers": f"golang-docker-credential-helpers {_deb_version('golang-docker-credential-helpers')}",
        "gnome-keyring": _deb_version("gnome-keyring"),
        "pass / gpg": f"{_deb_version('pass')} / {_deb_version('gnupg')}",
    }


def wait_for_quiet(max_load: float, wait_s: float) -> None:
    """Wait up to ``wait_s`` for the 1-minute load average to fall below ``max_load``."""
    deadline = time.monotonic() + wait_s
    while os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        print(f"load average {os.getloadavg()[0]:.2f} >= {max_load}: waiting", file=sys.stderr)
        time.sleep(15)


# --------------------------------------------------------------------------- report


@dataclass
class Profile:
    startup: dict[str, list[Timing]] = field(default_factory=dict)  # row -> samples
    config: dict[str, float] = field(default_factory=dict)  # row -> best ms, in-process


def _find(results: list[Comparison], section: str, measure: str) -> Comparison | None:
    return next((c for c in results if c.section == section and c.measure == measure), None)


def _ms_rows(rows_: list[tuple[str, float]]) -> str:
    return markdown_table(["", "ms"], [[label, f"{ms:.1f}"] for label, ms in rows_])


def misses(
    profile: Profile, results: list[Comparison], library: dict[str, list[float]]
) -> list[tuple[str, str, list[tuple[str, float]]]]:
    """Each missed target: (note name, title, the numbers it is made of, ms)."""
    m = {row: median(wall(v)) for row, v in profile.startup.items()}
    rows_ = list(m)
    found: list[tuple[str, str, list[tuple[str, float]]]] = []
    if len(rows_) < 13:  # bench_profile.startup: its rows, in its order
        return _library_misses(library)
    interp, bare = m[rows_[0]], m[rows_[1]]
    json_cost = m[rows_[2]] - interp
    pass_imports, ss_imports, jeepney = (m[rows_[i]] - interp for i in (3, 4, 5))
    login_imports, cli_tree = m[rows_[6]] - interp, m[rows_[7]] - interp
    bundle, lazy = m[rows_[9]] - m[rows_[8]], max(0.0, m[rows_[10]] - m[rows_[8]])
    gpg, pass_show = m[rows_[11]], m[rows_[12]]

    def ours_and_reference(c: Comparison) -> list[tuple[str, float]]:
        return [(f"{c.ours}: {c.measure}", c.median(c.ours)), (c.reference, c.median(c.reference))]

    ss_get = _find(results, "helper: secretservice", "get")
    if ss_get is not None and ss_get.met() is False:
        found.append(
            (
                "missed secretservice get",
                f"secretservice `get` ({ss_get.ratio() or 0:.2f}x Go)",
                [
                    *ours_and_reference(ss_get),
                    ("target (1.5x Go)", 1.5 * ss_get.median(ss_get.reference)),
                    ("interpreter (python -c pass)", interp),
                    ("the helper's imports, over the interpreter", ss_imports),
                    ("jeepney.io.blocking alone, over the interpreter", jeepney),
                    ("interpreter + jeepney", interp + jeepney),
                ],
            )
        )
    pass_get = _find(results, "helper: pass", "get")
    if pass_get is not None and pass_get.met() is False:
        found.append(
            (
                "missed pass get",
                f"pass `get` ({pass_get.ratio() or 0:.2f}x Go)",
                [
                    *ours_and_reference(pass_get),
                    ("interpreter (python -c pass)", interp),
                    ("the helper's imports, over the interpreter", pass_imports),
                    ("gpg --decrypt of one entry", gpg),
                    ("pass show of one entry", pass_show),
                    ("import json, over the interpreter", json_cost),
                ],
            )
        )
    pass_list = _find(results, "helper: pass", "list (1,000 entries)")
    if pass_list is not None and pass_list.met() is False:
        found.append(
            (
                "missed pass list",
                f"pass `list` of 1,000 ({pass_list.ratio() or 0:.2f}x Go)",
                [
                    *ours_and_reference(pass_list),
                    ("target (0.5x Go)", pass_list.median(pass_list.reference) / 2),
                    ("bare interpreter (python -I -S -c pass)", bare),
                ],
            )
        )
    login = _find(results, "login", "login vs docker")
    if login is not None and login.met() is False:
        found.append(
            (
                "missed login",
                f"`regcred login` ({login.ratio() or 0:.2f}x docker)",
                [
                    *ours_and_reference(login),
                    ("target (1.5x docker)", 1.5 * login.median(login.reference)),
                    ("interpreter (python -c pass)", interp),
                    ("imports of the login path, over the interpreter", login_imports),
                    ("interpreter + login imports", interp + login_imports),
                    ("ssl.create_default_context(), over import ssl", bundle),
                    ("a capath-only context (lazy), over import ssl", lazy),
                    ("regcred --version, over the interpreter", cli_tree),
                ],
            )
        )
    big = _find(results, "config size", "login, 10,000 entries")
    steps = list(profile.config.values())
    if big is not None and len(steps) >= 4 and big.met() is False:
        found.append(
            (
                "missed config size",
                "login/logout on 10,000 entries",
                [
                    (f"{big.ours}, 10,000 entries", big.median(big.ours)),
                    *zip(profile.config, steps, strict=True),
                    ("parse + validation + render", steps[0] + steps[1] + steps[2]),
                ],
            )
        )
    return found + _library_misses(library)


def _library_misses(library: dict[str, list[float]]) -> list[tuple[str, str, list[tuple[str, float]]]]:
    slow = [(case, median(v)) for case, v in library.items() if median(v) >= LIBRARY_TARGET_MS]
    if not slow:
        return []
    return [("missed library", "`get_credentials`", [("target", LIBRARY_TARGET_MS), *slow])]


def profile_section(
    profile: Profile, results: list[Comparison], library: dict[str, list[float]]
) -> list[str]:
    """The "where the time goes" tables, and what each missed target is made of."""
    m = {row: median(wall(v)) for row, v in profile.startup.items()}
    parts = [
        "## Where the time goes",
        "",
        *note("profile-processes"),
        markdown_table(["process", "ms"], [[row, f"{ms:.1f}"] for row, ms in m.items()]),
        "",
        *note("profile-steps"),
        markdown_table(["step", "ms"], [[row, f"{ms:.1f}"] for row, ms in profile.config.items()]),
        "",
    ]
    found = misses(profile, results, library)
    if found:
        parts += ["### Why a target is missed, and what to change", "", *note("missed")]
        for name, title, numbers in found:
            parts += [f"#### {title}", "", _ms_rows(numbers), "", *note(name)]
    return parts


def _fmt(ms: float) -> str:
    if ms >= 10000:
        return f"{ms / 1000:.1f} s"
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 1:
        return f"{ms:.1f}"
    return f"{ms:.3f}"


def rows(results: list[Comparison]) -> list[list[str]]:
    table = []
    for c in results:
        met = c.met()
        ours = c.ours
        others = [label for label in c.labels if label != ours] or [""]
        for other in others:
            found = c.ratio(ours, other) if other else None
            table.append(
                [
                    c.section,
                    c.measure,
                    f"{ours}: {_fmt(c.median(ours))}",
                    f"{other}: {_fmt(c.median(other))}" if other else "",
                    f"{found:.2f}x" if found is not None else "",
                    c.target if other in {c.reference, ""} else "",
                    ("met" if met else "MISSED") if met is not None and other in {c.reference, ""} else "",
                    str(c.runs()),
                ]
            )
    return table


HEADER = ["section", "measure", "ours (median ms)", "other (median ms)", "ratio", "target", "", "runs"]


def print_table(table: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [HEADER, *table]) for i in range(len(HEADER))]
    for row in [HEADER, *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def render_doc(
    info: dict[str, str],
    results: list[Comparison],
    counts: dict[str, tuple[int, int, list[str]]],
    library: dict[str, list[float]],
    profile: Profile,
    failures: list[str],
    args: argparse.Namespace,
    elapsed_s: float,
    plotted: bool,
    slow_link: list[str] | None = None,
    kept: list[str] | None = None,
) -> str:
    """docs/benchmarks.md: the run's numbers and tables, and the notes' prose around them."""
    end_load = os.getloadavg()
    run = f"{elapsed_s / 60:.1f} minutes, `--runs {args.runs}` `--build-budget {args.build_budget:g}`"
    run += f" `--max-load {args.max_load:g}`" + (" `--quick`" if args.quick else "")
    parts = [
        "# Benchmarks",
        "",
        *note("intro"),
        "## Machine",
        "",
        *[f"- **{k}**: {v}" for k, v in info.items()],
        f"- **load average at end**: {end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f}",
        f"- **run**: {run}",
        "",
    ]
    if float(info["load average at start"].split()[0]) >= args.max_load:
        parts += note("busy")
    parts += ["## Results", "", markdown_table(HEADER, rows(results)), ""]
    if failures:
        parts += note("failures")
        parts += ["- **{}**: {}".format(*failure.split(": ", 1)) for failure in failures]
        parts += [""]
    if plotted:
        parts += ["![benchmark plot](benchmarks.png)", ""]
    if counts:
        parts += [
            "## Requests per login",
            "",
            *note("requests"),
            markdown_table(
                ["client", "TCP connections", "TLS attempts", "HTTP requests", "requests"],
                [
                    [name, str(conns), str(tls), str(len(reqs)), ", ".join(reqs)]
                    for name, (conns, tls, reqs) in counts.items()
                ],
            ),
            "",
        ]
    if library:
        lib_rows = [
            [
                case,
                f"{median(v):.4f}",
                f"< {LIBRARY_TARGET_MS} ms",
                "met" if median(v) < LIBRARY_TARGET_MS else "MISSED",
            ]
            for case, v in library.items()
        ]
        parts += [
            "## Library lookups",
            "",
            *note("library"),
            markdown_table(["case", "ms per call", "target", ""], lib_rows),
            "",
        ]
    if profile.startup:
        parts += profile_section(profile, results, library)
    if slow_link:
        parts += [*slow_link, ""]
    parts += kept or []
    parts += ["## How it is measured", "", *note("how-measured")]
    return "\n".join(parts)


def write_doc(text: str) -> None:
    """Write docs/benchmarks.md (render_doc was given the compare_commits section to keep)."""
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)


def _matplotlib() -> bool:
    try:
        import matplotlib as mpl  # noqa: F401
    except ImportError:
        print("installing matplotlib into the venv (a dev-only tool, for the plot)", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "matplotlib"],
            check=False,
        )
        if done.returncode != 0:
            return False
    return True


def plot(results: list[Comparison]) -> bool:
    if not _matplotlib():
        print("matplotlib is not available: no plot", file=sys.stderr)
        return False
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    (ax_help, ax_build), (ax_login, ax_size) = axes

    helper = [c for c in results if c.section.startswith("helper:")]
    if helper:
        names = [f"{c.section.split(': ')[1]}\n{c.measure}" for c in helper]
        x = range(len(helper))
        ax_help.bar([i - 0.2 for i in x], [c.median(c.ours) for c in helper], 0.4, label="regcred")
        ax_help.bar([i + 0.2 for i in x], [c.median(c.reference) for c in helper], 0.4, label="Go")
        ax_help.set_xticks(list(x), names, fontsize=7, rotation=30, ha="right")
        ax_help.set_yscale("log")
        ax_help.set_ylabel("ms (median, log scale)")
        ax_help.set_title("credential helpers: regcred vs Go (0.6.4)")
        ax_help.legend()

    build = [c for c in results if c.section.startswith("docker build pattern")]
    for store in ("secretservice", "pass"):
        rows_ = [c for c in build if c.section.endswith(store)]
        if not rows_:
            continue
        sizes = [int(c.measure.split("+ ")[1].split()[0].replace(",", "")) for c in rows_]
        ax_build.plot(sizes, [c.median(c.ours) / 1000 for c in rows_], "o-", label=f"regcred {store}")
        ax_build.plot(sizes, [c.median(c.reference) / 1000 for c in rows_], "s--", label=f"Go {store}")
    if build:
        ax_build.set_xscale("log")
        ax_build.set_yscale("log")
        ax_build.set_xlabel("entries in the store")
        ax_build.set_ylabel("seconds (median, log scale)")
        ax_build.set_title("docker build pattern: list + one get per entry")
        ax_build.legend(fontsize=8)

    login = [c for c in results if c.section == "login"]
    if login:
        medians: dict[str, float] = {}
        for c in login:
            medians.update({label: c.median(label) for label in c.labels})
        ax_login.bar(list(medians), list(medians.values()), color=["C0", "C1", "C2"][: len(medians)])
        ax_login.set_ylabel("ms (median)")
        ax_login.set_title("login to a local registry (plain HTTP, Basic auth)")

    size = [c for c in results if c.section == "config size"]
    if size:
        series: dict[str, list[tuple[int, float]]] = {}
        for c in size:
            entries = int(c.measure.split(", ")[1].split()[0].replace(",", ""))
            for label in c.labels:
                series.setdefault(label, []).append((entries, c.median(label)))
        for label, points in series.items():
            ax_size.plot(
                *zip(*points, strict=True), "o-" if label.startswith("regcred") else "s--", label=label
            )
        ax_size.axhline(150, color="grey", linestyle=":", label="target 150 ms")
        ax_size.set_xscale("log")
        ax_size.set_xlabel("entries in config.json")
        ax_size.set_ylabel("ms (median)")
        ax_size.set_title("login / logout vs config size")
        ax_size.legend(fontsize=8)

    fig.tight_layout()
    fig.savefig(PLOT, dpi=90)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------- main


def _extend(results: list[Comparison], measure: Callable[..., list[Comparison]], *args: object) -> None:
    results.extend(measure(*args))


def run_library(box: Sandbox) -> dict[str, list[float]]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("bench_library.py")), str(box.root)],
        capture_output=True,
        env=box.env,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise BenchError(f"library benchmark failed: {done.stderr.decode(errors='replace')[-500:]}")
    result: dict[str, list[float]] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="interleaved runs per comparison (default 40)")
    parser.add_argument("--quick", action="store_true", help="8 runs each and a short build budget")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--build-budget", type=float, default=60.0, help="seconds per build-pattern pair")
    parser.add_argument("--max-load", type=float, default=1.5, help="wait for a load average below this")
    parser.add_argument("--wait", type=float, default=300.0, help="seconds to wait for that (default 300)")
    parser.add_argument("--no-doc", action="store_true", help="print only; do not write docs/")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.build_budget = 8, 10.0
    sections = args.only or list(SECTIONS)

    # SIGTERM must unwind too, so that the sandbox stops its keyring, bus, agent and registries.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    byte_compile()
    wait_for_quiet(args.max_load, args.wait)
    info = machine()
    for key, value in info.items():
        print(f"{key:>22}: {value}")
    started = time.monotonic()
    results: list[Comparison] = []
    counts: dict[str, tuple[int, int, list[str]]] = {}
    library: dict[str, list[float]] = {}
    auth_counts: dict[str, tuple[float, float]] = {}
    profile = Profile()
    failures: list[str] = []
    slow_counts: dict[str, dict[str, tuple[int, int, int]]] = {}
    slow_link: list[str] = []

    def attempt(what: str, step: Callable[[], None]) -> None:
        """Run one part; a failure is reported (and written to the doc), the other parts go on."""
        try:
            step()
        except BenchError as exc:
            print(f"!! {what} failed: {exc}", file=sys.stderr)
            failures.append(f"{what}: {exc}")

    with sandbox() as box:
        if {"helpers", "build"} & set(sections):
            try:
                box.start_keyring()
                box.start_pass()
            except BenchError as exc:
                print(f"benchmark failed: {exc}", file=sys.stderr)
                return 1
            for pair in bench_stores.PAIRS.values():
                print(f"-- {pair.name} helpers", file=sys.stderr)
                if "helpers" in sections:
                    attempt(
                        f"{pair.name} helper latency",
                        functools.partial(
                            _extend, results, bench_stores.helper_latency, box, pair, args.runs
                        ),
                    )
                if "build" in sections:
                    attempt(
                        f"{pair.name} build pattern",
                        functools.partial(
                            bench_stores.build_pattern, box, pair, args.runs, args.build_budget, results
                        ),
                    )
        if {"login", "config"} & set(sections):
            from tests.fixtures.registry import start_registry

            with start_registry(box.path("registry")) as registry:
                if "login" in sections:
                    print("-- login", file=sys.stderr)
                    attempt(
                        "login", lambda: results.extend(bench_login.login_latency(box, registry, args.runs))
                    )
                    attempt(
                        "request counts", lambda: counts.update(bench_login.request_counts(box, registry))
                    )
                if "config" in sections:
                    print("-- config size", file=sys.stderr)
                    attempt(
                        "config size",
                        lambda: results.extend(
                            bench_login.config_size(box, registry, max(5, args.runs // 2))
                        ),
                    )
        if "slow-link" in sections:
            print("-- login over a slow link", file=sys.stderr)

            def run_slow_link() -> None:
                start_load = bench_slow_link.load_average()
                comparisons, per_client = bench_slow_link.slow_link(box, max(5, args.runs // 4))
                results.extend(comparisons)
                slow_counts.update(per_client)
                slow_link[:] = bench_slow_link.render(
                    comparisons, per_client, (start_load, bench_slow_link.load_average())
                )

            attempt("slow link", run_slow_link)
        if "library" in sections:
            print("-- library", file=sys.stderr)
            attempt("library", lambda: library.update(run_library(box)))
        if "auth" in sections:
            print("-- auth plug-in", file=sys.stderr)

            def run_auth() -> None:
                comparisons, per_run = bench_auth.manifest_gets(box, max(5, args.runs // 4))
                results.extend(comparisons)
                auth_counts.update(per_run)

            attempt("auth plug-in", run_auth)
        if "profile" in sections:
            print("-- profile", file=sys.stderr)

            def run_profile() -> None:
                if not box.pass_ready:
                    box.start_pass()
                profile.startup = bench_profile.startup(box, max(10, args.runs // 2))
                profile.config = bench_profile.config_costs(box)

            attempt("profile", run_profile)
    elapsed = time.monotonic() - started

    print()
    print_table(rows(results))
    for name, (conns, tls, reqs) in counts.items():
        print(f"{name:>8} login: {conns} connections, {tls} TLS attempts, {len(reqs)} HTTP requests: {reqs}")
    for case, per_client in slow_counts.items():
        for name, (conns, tls, trips) in per_client.items():
            print(f"slow link, {case}: {name} {conns} connections, {tls} TLS attempts, {trips} round trips")
    for case, per_call in library.items():
        print(f"get_credentials {case}: {median(per_call):.4f} ms a call")
    for label, (tokens, requests_) in auth_counts.items():
        print(f"{label}: {tokens:.0f} token requests, {requests_:.0f} registry requests per 100 GETs")
    for row, samples in profile.startup.items():
        print(f"{median(wall(samples)):8.1f} ms  {row}")
    for row, ms in profile.config.items():
        print(f"{ms:8.1f} ms  {row} (in-process)")
    for failure in failures:
        print(f"FAILED: {failure}")
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if not args.no_doc:
        plotted = plot(results)
        kept = kept_block(compare_commits.BEGIN, compare_commits.END)
        text = render_doc(
            info, results, counts, library, profile, failures, args, elapsed, plotted, slow_link, kept
        )
        write_doc(text)
        print(f"wrote {DOC.relative_to(REPO)}" + (f" and {PLOT.relative_to(REPO)}" if plotted else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
