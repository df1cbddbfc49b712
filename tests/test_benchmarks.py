"""benchmarks/ has one timing harness, ``benchmarks/_timing.py`` (issue 20, item 7).

Nothing here is timed: the tests read the benchmark's source, and drive the
harness with programs that return fixed timings.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path

import pytest

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


# --------------------------------------------------------------------------- the report


def _comparison(section: str, measure: str, ours: float, other: float, **target: float) -> _timing.Comparison:
    names = ("regcred", "other")
    return _timing.Comparison(
        section,
        measure,
        {name: [_timing.Timing(ms, ms / 2)] * 3 for name, ms in zip(names, (ours, other), strict=True)},
        reference="other",
        target="a target" if target else "",
        target_ratio=target.get("ratio"),
        target_ms=target.get("ms"),
    )


def _report_of_misses() -> str:
    """A whole report from made-up numbers: every target missed, every part present."""
    import argparse

    import bench_slow_link
    import compare_commits
    import run

    results = [
        _comparison("helper: secretservice", "get", 70, 30, ratio=1.5),
        _comparison("helper: pass", "get", 60, 50, ratio=1.0),
        _comparison("helper: pass", "list (1,000 entries)", 70, 30, ratio=0.5),
        _comparison("login", "login vs docker", 100, 30, ratio=1.5),
        _comparison("config size", "login, 10,000 entries", 170, 80, ms=150),
        _comparison("slow link: plain HTTP, Basic", "login vs docker, 50 ms RTT", 300, 400, ratio=0.8),
    ]
    profile = run.Profile(
        startup={f"process {i}": [_timing.Timing(10.0 + i)] for i in range(15)},
        config={f"step {i}": 5.0 for i in range(4)},
    )
    counts = {"plain HTTP, Basic": {"regcred": (2, 1, 3), "docker": (3, 1, 6)}}
    slow = bench_slow_link.render(results[-1:], counts, ("1.00", "2.00"))
    row = compare_commits.Row("m", {"old": 1, "new": 2}, {}, {}, {"old": 1, "new": 2}, {}, ["x"], [], 3)
    kept = [compare_commits.section([row], ["- **old**: abc"]), ""]
    info = {"date": "today", "load average at start": "9.00 9.00 9.00 (1, 5, 15 min)"}
    args = argparse.Namespace(runs=3, quick=True, max_load=1.5, build_budget=10.0)
    library = {"hit": [0.01], "slow case": [2.0]}
    return str(
        run.render_doc(
            info,
            results,
            {"regcred": (1, 1, ["GET /v2/"])},
            library,
            profile,
            ["x: failed"],
            args,
            60,
            plotted=True,
            slow_link=slow,
            kept=kept,
        )
    )


def test_the_report_prose_is_the_notes_verbatim() -> None:
    """Every sentence of docs/benchmarks.md comes from docs/benchmarks-notes.md; the code writes numbers."""
    import _report

    text = _report_of_misses()
    blocks = _report.notes()
    assert len(blocks) > 10
    assert [name for name, lines in blocks.items() if "\n".join(lines) not in text] == []  # none is dead
    from_notes = {line for lines in blocks.values() for line in lines}
    generated = ("#", "|", "<!-- ", "![")
    prose = [
        line
        for line in text.splitlines()
        if line.strip() and line not in from_notes and not line.startswith(generated)
        if not re.match(r"- \*\*[^*]+\*\*: ", line)  # a key and its value
    ]
    assert prose == []
    assert "| target (1.5x Go) | 45.0 |" in text  # the numbers a note talks about are generated


def test_a_missing_note_is_one_clear_error() -> None:
    import _report

    with pytest.raises(
        _timing.BenchError, match=r"benchmarks-notes\.md has no block '<!-- note: nothing -->'"
    ):
        _report.note("nothing")


def test_a_section_run_alone_replaces_only_its_block(tmp_path: Path) -> None:
    """compare_commits.py --doc and bench_slow_link.py rewrite their block and keep the rest."""
    import _report

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nkept\n\n## How it is measured\n\n- **x**: y\n")
    _report.replace_block("<!-- b -->", "<!-- e -->", "<!-- b -->\nfirst\n<!-- e -->", doc)
    assert doc.read_text() == (
        "# Benchmarks\n\nkept\n\n<!-- b -->\nfirst\n<!-- e -->\n\n## How it is measured\n\n- **x**: y\n"
    )
    _report.replace_block("<!-- b -->", "<!-- e -->", "<!-- b -->\nsecond\n<!-- e -->", doc)
    assert "first" not in doc.read_text()
    assert _report.kept_block("<!-- b -->", "<!-- e -->", doc) == ["<!-- b -->\nsecond\n<!-- e -->", ""]
