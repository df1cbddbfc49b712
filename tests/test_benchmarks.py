"""benchmarks/ has one timing harness, ``benchmarks/_timing.py`` (issue 20, item 7).

Nothing here is timed: the tests read the benchmark's source, and drive the
harness with programs that return fixed timings.
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import _timing  # noqa: E402  (benchmarks/ is not a package)

#: What takes or sums up a measurement; only the harness may use these.
CLOCKS = {"perf_counter", "perf_counter_ns", "process_time", "process_time_ns", "thread_time", "getrusage"}


def _clock_uses(path: Path) -> list[str]:
    """Every clock, ``getrusage`` or ``statistics`` use in one file, as ``line: name``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Attribute) and node.attr in CLOCKS:
            names = [node.attr]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name == "statistics"]
        elif isinstance(node, ast.ImportFrom) and node.module in {"time", "resource", "statistics"}:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name for name in names if name.startswith("statistics") or name.split(".")[1] in CLOCKS]
        found += [f"{getattr(node, 'lineno', 0)}: {name}" for name in names]
    return found


def test_only_the_harness_reads_a_clock() -> None:
    """No benchmark times, counts CPU or takes a median on its own: they all go through _timing."""
    files = sorted(BENCH.glob("*.py"))
    assert len(files) > 5
    offenders = {
        path.name: uses for path in files if path.name != "_timing.py" and (uses := _clock_uses(path))
    }
    assert offenders == {}
    assert _clock_uses(BENCH / "_timing.py")  # the scan sees a clock where there is one


def test_interleave_rotates_the_order_and_leaves_out_the_warm_ups() -> None:
    order: list[str] = []

    def program(label: str) -> _timing.Timing:
        order.append(label)
        return _timing.Timing(float(len(order)), 0.5)

    programs = {label: functools.partial(program, label) for label in "ABC"}
    samples = _timing.interleave(programs, runs=3, warmup=1)
    assert "".join(order) == "ABC" + "ABC" + "BCA" + "CAB"
    assert {label: _timing.wall(values) for label, values in samples.items()} == {
        "A": [4.0, 9.0, 11.0],
        "B": [5.0, 7.0, 12.0],
        "C": [6.0, 8.0, 10.0],
    }


def test_a_comparison_sums_up_through_the_same_medians() -> None:
    """Medians of wall and CPU time, ratios against the reference, targets, and a cycle's parts."""
    cycle = [
        _timing.combine({"login": _timing.Timing(w, 1.0), "logout": _timing.Timing(w / 2, 2.0)})
        for w in (10.0, 30.0, 20.0)
    ]
    assert [t.wall_ms for t in cycle] == [15.0, 45.0, 30.0]
    assert [t.cpu_ms for t in cycle] == [3.0, 3.0, 3.0]
    comparison = _timing.Comparison(
        "s",
        "m",
        {"ours": _timing.part(cycle, "login"), "theirs": [_timing.Timing(8.0), _timing.Timing(12.0)]},
        reference="theirs",
        target_ratio=2.0,
    )
    assert comparison.median("ours") == 20.0
    assert comparison.cpu_median("ours") == 1.0
    assert comparison.cpu_median("theirs") is None  # not measured, not made up
    assert comparison.ratio() == 2.0
    assert comparison.met() is True
    assert comparison.runs() == 3
