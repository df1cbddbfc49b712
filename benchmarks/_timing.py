"""The benchmark's one timing harness: every number in ``benchmarks/`` is taken here.

One clock for a process (:func:`run_process`, :func:`process`), one for code
in this process (:func:`timed`, :func:`per_call_ms`, :func:`best_ms`), one way
to run several programs against each other (:func:`interleave`: A B, B A …,
warm-up rounds left out), and one way to sum up samples (:func:`median`,
:func:`ratio`, :class:`Comparison`).  No other module under ``benchmarks/``
reads a clock, ``getrusage`` or ``statistics``; ``tests/test_benchmarks.py``
checks that.

A :class:`Timing` holds wall time and CPU time (user + system), in ms.  For a
process the CPU time is the kernel's account of that process and its
waited-for children (``RUSAGE_CHILDREN``), which other load on the machine
hardly changes; for :func:`timed` it is this process's own CPU time plus that
of the children it waited for during the call.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


class BenchError(RuntimeError):
    """A benchmark step failed (a program exited non-zero, a component is missing)."""


# --------------------------------------------------------------------------- clocks


@dataclass(frozen=True)
class Timing:
    """One run of one program: wall and CPU time in ms, and named parts (e.g. login, logout)."""

    wall_ms: float
    cpu_ms: float | None = None  # None: not measured (a number the program reported itself)
    parts: dict[str, Timing] = field(default_factory=dict)

    def part(self, name: str) -> Timing:
        return self.parts[name]


def _children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def run_process(
    command: list[str], env: dict[str, str], stdin: bytes = b"", *, check: bool = True, timeout: float = 300
) -> tuple[Timing, bytes]:
    """(timing, stdout) of one program; raises BenchError when it fails and ``check``."""
    cpu = _children_cpu_ms()
    start = time.perf_counter()
    done = subprocess.run(command, input=stdin, capture_output=True, env=env, check=False, timeout=timeout)
    wall = (time.perf_counter() - start) * 1000
    cpu = _children_cpu_ms() - cpu
    if check and done.returncode != 0:
        # Helpers print errors on stdout; neither stream ever holds a secret we stored.
        detail = (done.stdout + done.stderr).decode(errors="replace").strip()[-300:]
        raise BenchError(f"{' '.join(command)} exited {done.returncode}: {detail}")
    return Timing(wall, cpu), done.stdout


def process(command: list[str], env: dict[str, str], stdin: bytes = b"") -> Callable[[], Timing]:
    """A program for :func:`interleave`: runs ``command`` once and returns its timing."""
    return lambda: run_process(command, env, stdin)[0]


def timed(call: Callable[[], object]) -> Timing:
    """The timing of one call in this process (CPU: ours plus the children it waited for)."""
    cpu = time.process_time() * 1000 + _children_cpu_ms()
    start = time.perf_counter()
    call()
    wall = (time.perf_counter() - start) * 1000
    return Timing(wall, time.process_time() * 1000 + _children_cpu_ms() - cpu)


def combine(parts: dict[str, Timing]) -> Timing:
    """Steps of one run (e.g. a login then a logout) as one timing that keeps each step."""
    cpus = [t.cpu_ms for t in parts.values()]
    cpu = None if None in cpus else sum(c for c in cpus if c is not None)
    return Timing(sum(t.wall_ms for t in parts.values()), cpu, dict(parts))


def per_call_ms(call: Callable[[], object], calls: int) -> float:
    """Wall ms per call of ``call`` over a loop of ``calls`` calls (in this process)."""
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) * 1000 / max(calls, 1)


def calibrate(call: Callable[[], object], target_s: float = 0.2, low: int = 10, high: int = 20000) -> int:
    """How many calls of ``call`` take about ``target_s`` (between ``low`` and ``high``)."""
    once = per_call_ms(call, 1) / 1000
    return max(low, min(high, int(target_s / max(once, 1e-6))))


def best_ms(call: Callable[[], object], repeats: int = 7) -> float:
    """The fastest of ``repeats`` timed calls, in wall ms (for in-process steps)."""
    return min(timed(call).wall_ms for _ in range(repeats))


def import_times(command: list[str], env: dict[str, str], stdin: bytes = b"") -> dict[str, tuple[int, int]]:
    """``{module: (self µs, cumulative µs)}`` from one run of a Python program under ``-X importtime``."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
        timeout=300,
    )
    found: dict[str, tuple[int, int]] = {}
    for line in done.stderr.decode(errors="replace").splitlines():
        if not line.startswith("import time:"):
            continue
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            found[parts[2]] = (int(parts[0]), int(parts[1]))
    return found


# --------------------------------------------------------------------------- interleaving


def interleave(
    programs: Mapping[str, Callable[[], Timing]],
    *,
    runs: int,
    warmup: int = 2,
    budget_s: float | None = None,
    min_runs: int = 3,
) -> dict[str, list[Timing]]:
    """Run each program ``runs`` times, rotating the order every round (A B, B A …).

    Each callable does one run and returns its :class:`Timing` (so that per-run
    set-up stays outside it).  The ``warmup`` rounds come first and are not
    returned.  With ``budget_s`` the loop stops early once that much wall time
    has passed and ``min_runs`` rounds are done.
    """
    labels = list(programs)
    print(f"   {' vs '.join(labels)}: up to {runs} rounds", file=sys.stderr, flush=True)
    for _ in range(warmup):
        for label in labels:
            programs[label]()
    samples: dict[str, list[Timing]] = {label: [] for label in labels}
    start = time.monotonic()
    for i in range(runs):
        shift = i % len(labels)
        for label in labels[shift:] + labels[:shift]:
            samples[label].append(programs[label]())
        if budget_s is not None and i + 1 >= min_runs and time.monotonic() - start > budget_s:
            break
    return samples


# --------------------------------------------------------------------------- summing up


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


def wall(samples: Iterable[Timing]) -> list[float]:
    return [t.wall_ms for t in samples]


def cpu(samples: Iterable[Timing]) -> list[float]:
    return [t.cpu_ms for t in samples if t.cpu_ms is not None]


def part(samples: Iterable[Timing], name: str) -> list[Timing]:
    return [t.part(name) for t in samples]


def ratio(value: float, reference: float) -> float | None:
    """``value / reference``, or None when the reference is zero."""
    return value / reference if reference else None


@dataclass
class Comparison:
    """One measure taken for several programs, interleaved; the first label is ours."""

    section: str
    measure: str
    samples: dict[str, list[Timing]]
    reference: str = ""  # the label ratios are computed against ("" = no ratio)
    target: str = ""  # e.g. "<= 1.5x"
    target_ratio: float | None = None  # met when ours/reference <= this
    target_ms: float | None = None  # met when median < this
    note: str = ""

    def median(self, label: str) -> float:
        """Median wall time of ``label``, ms."""
        return median(wall(self.samples[label]))

    def cpu_median(self, label: str) -> float | None:
        """Median CPU time of ``label``, ms (None when it was not measured)."""
        values = cpu(self.samples[label])
        return median(values) if values else None

    def runs(self, label: str | None = None) -> int:
        return len(self.samples[label or self.ours])

    @property
    def labels(self) -> list[str]:
        return list(self.samples)

    @property
    def ours(self) -> str:
        return self.labels[0]

    def ratio(self, label: str | None = None, reference: str | None = None) -> float | None:
        reference = reference or self.reference
        if not reference:
            return None
        return ratio(self.median(label or self.ours), self.median(reference))

    def met(self) -> bool | None:
        if self.target_ratio is not None:
            found = self.ratio()
            return found is not None and found <= self.target_ratio
        if self.target_ms is not None:
            return max(self.median(label) for label in self.labels if label.startswith("regcred")) < (
                self.target_ms
            )
        return None
