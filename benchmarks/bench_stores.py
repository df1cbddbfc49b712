"""Helper latency and the ``docker build`` credential pattern: our helpers against Go's.

Both helpers of a pair work on the same store (one gnome-keyring, or one
pass store), so they read and write exactly the same entries.  Debian's Go
helpers are golang-docker-credential-helpers 0.6.4.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from _common import GO_PASS, GO_SECRETSERVICE, OUR_PASS, OUR_SECRETSERVICE
from _timing import BenchError, Comparison, Timing, interleave, process, run_process, timed

if TYPE_CHECKING:
    from collections.abc import Callable

    from _common import Sandbox

HUB = "https://index.docker.io/v1/"
STORE_SERVER = "bench-store.example:5000"
BUILD_SIZES = (10, 100, 1000)


@dataclass(frozen=True)
class Pair:
    name: str  # "secretservice" or "pass"
    ours: str
    go: str
    fill: Callable[[Sandbox, int], None]  # add entries until the store holds N


def _fill_secretservice(box: Sandbox, count: int) -> None:
    """Store entries in-process through our store (the layout both helpers read)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(box.env)
    try:
        from regcred.credentials import Credentials
        from regcred.stores.secretservice import SecretServiceStore

        store = SecretServiceStore()
        have = set(store.list())
        for i in range(count):
            server = f"reg{i:04d}.example:5000"
            if server not in have:
                store.store(Credentials(server, f"user{i}", f"secret-{i}"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _fill_pass(box: Sandbox, count: int) -> None:
    """Copy one real ciphertext under N server directories (Go's layout, so both helpers read it).

    Encrypting 1,000 entries one by one only slows the set-up; every copy
    decrypts exactly like a freshly stored entry.
    """
    folder = box.path("password-store", "docker-credential-helpers")
    seed_server = "reg0000.example:5000"
    seed = folder / base64.urlsafe_b64encode(seed_server.encode()).decode() / "user0.gpg"
    if not seed.exists():
        body = json.dumps({"ServerURL": seed_server, "Username": "user0", "Secret": "secret-0"})
        run_process([OUR_PASS, "store"], box.env, body.encode())
    for i in range(1, count):
        name = base64.urlsafe_b64encode(f"reg{i:04d}.example:5000".encode()).decode()
        target = folder / name / f"user{i}.gpg"
        if not target.exists():
            target.parent.mkdir(mode=0o700, exist_ok=True)
            shutil.copyfile(seed, target)


PAIRS = {
    "secretservice": Pair("secretservice", OUR_SECRETSERVICE, GO_SECRETSERVICE, _fill_secretservice),
    "pass": Pair("pass", OUR_PASS, GO_PASS, _fill_pass),
}
_TARGETS = {
    ("secretservice", "get"): 1.5,
    ("pass", "get"): 1.0,
    ("secretservice", "list (1,000 entries)"): 0.5,
    ("pass", "list (1,000 entries)"): 0.5,
}


def _agree(box: Sandbox, pair: Pair, action: str, stdin: bytes) -> None:
    """Both helpers print the same JSON; a benchmark of wrong answers is worthless."""
    outs = [json.loads(run_process([cmd, action], box.env, stdin)[1]) for cmd in (pair.ours, pair.go)]
    if outs[0] != outs[1]:
        raise BenchError(f"{pair.name} {action}: our helper and Go's disagree")


def _compare(pair: Pair, measure: str, samples: dict[str, list[Timing]], note: str = "") -> Comparison:
    target = _TARGETS.get((pair.name, measure))
    return Comparison(
        section=f"helper: {pair.name}",
        measure=measure,
        samples=samples,
        reference=f"Go {pair.name}",
        target=f"<= {target}x Go" if target is not None else "",
        target_ratio=target,
        note=note,
    )


def helper_latency(box: Sandbox, pair: Pair, runs: int) -> list[Comparison]:
    """get, list and store, interleaved, on a store holding one entry."""
    ours, go = f"regcred {pair.name}", f"Go {pair.name}"
    body = json.dumps({"ServerURL": HUB, "Username": "alice", "Secret": "s3cr3t-bench"}).encode()
    run_process([pair.go, "store"], box.env, body)
    _agree(box, pair, "get", HUB.encode())
    _agree(box, pair, "list", b"")
    results = []
    for measure, action, stdin in (("get", "get", HUB.encode()), ("list (1 entry)", "list", b"")):
        samples = interleave(
            {
                ours: process([pair.ours, action], box.env, stdin),
                go: process([pair.go, action], box.env, stdin),
            },
            runs=runs,
        )
        results.append(_compare(pair, measure, samples))
    store_body = json.dumps({"ServerURL": STORE_SERVER, "Username": "bob", "Secret": "pw"}).encode()
    samples = interleave(
        {
            ours: process([pair.ours, "store"], box.env, store_body),
            go: process([pair.go, "store"], box.env, store_body),
        },
        runs=runs,
    )
    results.append(_compare(pair, "store", samples, note="same entry each time (an overwrite)"))
    for server in (HUB, STORE_SERVER):
        run_process([pair.ours, "erase"], box.env, server.encode())
    return results


def _build_pattern(helper: str, env: dict[str, str], expected: int) -> Callable[[], Timing]:
    """What ``docker build`` does: one ``list``, then one ``get`` per listed server."""

    def once() -> None:
        _, out = run_process([helper, "list"], env)
        servers = json.loads(out)
        for server in servers:
            run_process([helper, "get"], env, server.encode())
        if len(servers) != expected:
            raise BenchError(f"{helper} list gave {len(servers)} entries, expected {expected}")

    return lambda: timed(once)


def build_pattern(box: Sandbox, pair: Pair, runs: int, budget_s: float, results: list[Comparison]) -> None:
    """list of 1,000 entries, and the docker build pattern for N = 10, 100, 1,000.

    Appends to ``results`` as it goes, so a failure late on keeps what was measured.
    """
    ours, go = f"regcred {pair.name}", f"Go {pair.name}"
    for size in BUILD_SIZES:
        pair.fill(box, size)
        if size == max(BUILD_SIZES):
            _agree(box, pair, "list", b"")
            samples = interleave(
                {ours: process([pair.ours, "list"], box.env), go: process([pair.go, "list"], box.env)},
                runs=max(5, runs // 2),
            )
            results.append(_compare(pair, "list (1,000 entries)", samples))
        samples = interleave(
            {
                ours: _build_pattern(pair.ours, box.env, size),
                go: _build_pattern(pair.go, box.env, size),
            },
            runs=max(3, runs * 10 // size),
            warmup=1 if size < 1000 else 0,
            budget_s=budget_s,
            # At 1,000 entries one run is itself 1,001 processes; take more only within the budget.
            min_runs=3 if size < 1000 else 1,
        )
        results.append(
            Comparison(
                section=f"docker build pattern: {pair.name}",
                measure=f"list + {size:,} gets",
                samples=samples,
                reference=go,
                note=f"{len(samples[ours])} runs",
            )
        )
