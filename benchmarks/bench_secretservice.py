"""Time ``get`` and ``list`` of our Secret Service helper against docker's Go helper.

Runs both against one throwaway gnome-keyring on a private session bus,
interleaved (Go, ours, Go, ours …) so that machine noise hits both alike,
and prints medians and ratios.  Then fills the keyring with 1,000 entries
and times ``list`` again.  Usage::

    .venv/bin/python benchmarks/bench_secretservice.py [--runs 60] [--entries 1000]

Goals: our ``get`` at most 1.5x Go's time; ``list`` over 1,000 entries at
most 0.5x Go's.  Needs dbus-daemon, gnome-keyring-daemon and
/usr/bin/docker-credential-secretservice (Debian's v0.6.4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GO_HELPER = "/usr/bin/docker-credential-secretservice"
OUR_HELPER = str(Path(sys.executable).parent / "docker-credential-regcred-secretservice")
BUS_CONFIG = """<busconfig><type>session</type><listen>unix:dir={dir}</listen>
<auth>EXTERNAL</auth><policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>"""


def start_keyring(base: Path) -> tuple[dict[str, str], list[subprocess.Popen[bytes]]]:
    """A private bus and an unlocked gnome-keyring; returns (env, processes)."""
    (base / "bus.conf").write_text(BUS_CONFIG.format(dir=base))
    bus = subprocess.Popen(
        ["dbus-daemon", f"--config-file={base / 'bus.conf'}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert bus.stdout is not None
    address = bus.stdout.readline().decode().strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "XDG_"))}
    env |= {"DBUS_SESSION_BUS_ADDRESS": address, "HOME": str(base)}
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"):
        path = base / name.lower()
        path.mkdir(mode=0o700)
        env[name] = str(path)
    keyring = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=(base / "keyring.log").open("wb"),
        env=env,
    )
    assert keyring.stdin is not None
    keyring.stdin.write(b"benchmark-password\n")
    keyring.stdin.close()
    wait_for_keyring(address)
    return env, [keyring, bus]


def wait_for_keyring(address: str) -> None:
    """Wait until org.freedesktop.secrets has an owner on the bus."""
    from jeepney import message_bus
    from jeepney.io.blocking import open_dbus_connection

    deadline = time.monotonic() + 10
    with open_dbus_connection(address) as conn:
        while time.monotonic() < deadline:
            reply = conn.send_and_get_reply(message_bus.NameHasOwner("org.freedesktop.secrets"))
            if reply.body[0]:
                return
            time.sleep(0.01)
    sys.exit("gnome-keyring-daemon did not start")


def run(cmd: list[str], stdin: bytes, env: dict[str, str]) -> tuple[int, bytes]:
    """Exit code and stdout of one helper call."""
    proc = subprocess.run(cmd, input=stdin, capture_output=True, env=env, check=False)
    return proc.returncode, proc.stdout


def timed(cmd: list[str], stdin: bytes, env: dict[str, str]) -> tuple[float, bytes]:
    """Wall time (s) and stdout of one successful helper call."""
    start = time.perf_counter()
    code, out = run(cmd, stdin, env)
    elapsed = time.perf_counter() - start
    if code != 0:
        sys.exit(f"{cmd} failed with {code}: {out[:200]!r}")
    return elapsed, out


def compare(label: str, action: str, stdin: bytes, env: dict[str, str], runs: int) -> None:
    """Interleave Go and ours; print medians and the ratio; outputs must agree."""
    go_times, our_times = [], []
    for _ in range(runs):
        t_go, out_go = timed([GO_HELPER, action], stdin, env)
        t_ours, out_ours = timed([OUR_HELPER, action], stdin, env)
        if json.loads(out_go) != json.loads(out_ours):
            sys.exit(f"{label}: outputs differ:\n go:   {out_go[:200]!r}\n ours: {out_ours[:200]!r}")
        go_times.append(t_go)
        our_times.append(t_ours)
    go, ours = statistics.median(go_times), statistics.median(our_times)
    print(f"{label:<22} go {go * 1000:7.1f} ms   ours {ours * 1000:7.1f} ms   ratio {ours / go:5.2f}")


def startup_breakdown(env: dict[str, str], runs: int) -> None:
    """Where our get's time goes: bare interpreter, imports, and the rest (the work)."""
    py = sys.executable
    imports = "import regcred.helpers.secretservice, regcred.stores.secretservice, jeepney.io.blocking"
    steps = {
        "python -c pass": [py, "-c", "pass"],
        "+ shared imports": [py, "-c", "import regcred.helpers._protocol"],
        "+ jeepney, store": [py, "-c", imports],
        "+ the get itself": [OUR_HELPER, "get"],
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(runs):
        for name, cmd in steps.items():
            times[name].append(timed(cmd, b"https://index.docker.io/v1/", env)[0])
    previous = 0.0
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<20} {median * 1000:7.1f} ms  (+{(median - previous) * 1000:.1f})")
        previous = median
    # Cumulative import times of the big pieces, from -X importtime (microseconds).
    tops = ("regcred.helpers._protocol", "regcred.credentials", "json", "regcred._gojson",
            "jeepney.io.blocking", "regcred.stores.secretservice")  # fmt: skip
    found: dict[str, list[int]] = {name: [] for name in tops}
    for _ in range(max(3, runs // 4)):
        err = subprocess.run([py, "-X", "importtime", "-c", imports], capture_output=True,
                             text=True, check=True).stderr  # fmt: skip
        for line in err.splitlines():
            parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
            if len(parts) == 3 and parts[2] in found:
                found[parts[2]].append(int(parts[1]))
    print("  -X importtime, cumulative:")
    for name, values in found.items():
        if values:
            print(f"    {name:<32} {statistics.median(values) / 1000:6.1f} ms")


def fill(env: dict[str, str], count: int) -> None:
    """Store ``count`` entries through our store, in-process (it is faster)."""
    saved = os.environ.copy()
    os.environ.update(env)
    try:
        from regcred.credentials import Credentials
        from regcred.stores.secretservice import SecretServiceStore

        store = SecretServiceStore()
        for i in range(count):
            store.store(Credentials(f"registry-{i:04d}.example:5000", f"user{i}", f"secret-{i}"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="runs per small measurement")
    parser.add_argument("--entries", type=int, default=1000, help="entries for the big list")
    args = parser.parse_args()
    for program in ("dbus-daemon", "gnome-keyring-daemon", GO_HELPER, OUR_HELPER):
        if not shutil.which(program):
            sys.exit(f"missing {program}")
    base = Path(tempfile.mkdtemp(prefix="regcred-bench-"))
    env, procs = start_keyring(base)
    try:
        payload = b'{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"s3cr"}'
        timed([GO_HELPER, "store"], payload, env)
        for cmd in ([GO_HELPER, "get"], [OUR_HELPER, "get"]):  # warm caches
            timed(cmd, b"https://index.docker.io/v1/", env)
        compare("get", "get", b"https://index.docker.io/v1/", env, args.runs)
        compare("list (1 entry)", "list", b"", env, args.runs)
        print("startup breakdown of our get:")
        startup_breakdown(env, args.runs)
        try:
            fill(env, args.entries)
        except Exception:
            print((base / "keyring.log").read_text(), procs[0].poll())
            raise
        big_runs = max(5, args.runs // 4)
        compare(f"list ({args.entries + 1} entries)", "list", b"", env, big_runs)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
