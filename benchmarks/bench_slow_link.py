"""Login over a slow link: regcred against docker and skopeo behind a delay proxy.

:class:`DelayProxy` is a TCP forwarder on 127.0.0.1 that holds every burst of
bytes (one ``recv``) for ``delay`` seconds before passing it on, in each
direction, so one request/response exchange costs ``2 * delay`` (25 ms each
way: a 50 ms round trip).  A TCP connection through a real link also costs a
round trip before its first byte arrives (SYN, SYN-ACK); a loopback proxy
accepts at once, so the proxy adds that round trip itself: a new connection's
first bytes are delivered no earlier than ``3 * delay`` after it was accepted
(``handshake=False`` leaves it out).  It counts TCP connections, connections
that opened with a TLS ClientHello, and round trips (each time a connection's
client speaks after silence or after the server spoke; plus one per
connection for the modelled handshake).

Two registries, each behind its own proxy, and every client logging in to the
proxy's ``127.0.0.1:PORT`` address:

* **plain HTTP**, htpasswd (bcrypt) Basic auth: every client tries https
  first and falls back to http because the address is loopback (docker 28's
  client-side login does this for 127.0.0.0/8 without ``insecure-registries``,
  regcred's policy allows plain http for loopback names; skopeo is given
  ``--tls-verify=false``);
* **TLS with token auth**: the registry and the token server both behind
  proxies (the realm names the token server's proxy), both trusting the test
  CA through ``SSL_CERT_FILE`` (Go's and Python's TLS both read it), so all
  three clients verify certificates.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import secrets
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING

from _report import markdown_table, note, replace_block
from _timing import BenchError, Comparison, Timing, interleave, process, run_process
from bench_login import Clients, available_clients

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from _common import Sandbox

DELAY_S = 0.025
LABELS = {"regcred": "regcred login", "docker": "docker login", "skopeo": "skopeo login"}


class DelayProxy:
    """A loopback TCP forwarder adding ``delay`` seconds each way; counts what goes through."""

    def __init__(self, upstream: str, delay: float = DELAY_S, *, handshake: bool = True) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.delay = delay
        self.handshake = handshake
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        self.connections = self.tls_attempts = self.round_trips = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self.lock:
            self.connections = self.tls_attempts = self.round_trips = 0

    def snapshot(self) -> tuple[int, int, int]:
        """(connections, TLS attempts, round trips) since the last :meth:`reset`."""
        time.sleep(4 * self.delay)  # let the last delayed bursts through
        with self.lock:
            return self.connections, self.tls_attempts, self.round_trips

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        accepted = time.monotonic()
        try:
            upstream = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        with self.lock:
            self.connections += 1
            self.round_trips += 1 if self.handshake else 0
        # The client may speak once its (modelled) handshake is done: one round trip after accept.
        earliest = accepted + 2 * self.delay if self.handshake else 0.0
        turn = {"last": ""}  # who spoke last on this connection: "c", "s" or ""

        def close_both() -> None:
            client.close()
            upstream.close()

        done = threading.Barrier(2, action=close_both)
        threads = [
            threading.Thread(target=self._direction, args=(client, upstream, "c", earliest, turn, done)),
            threading.Thread(target=self._direction, args=(upstream, client, "s", 0.0, turn, done)),
        ]
        for thread in threads:
            thread.daemon = True
            thread.start()

    def _direction(
        self,
        src: socket.socket,
        dst: socket.socket,
        side: str,
        earliest: float,
        turn: dict[str, str],
        done: threading.Barrier,
    ) -> None:
        bursts: queue.Queue[tuple[float, bytes | None]] = queue.Queue()
        writer = threading.Thread(target=_deliver, args=(bursts, dst), daemon=True)
        writer.start()
        first = True
        try:
            while data := src.recv(65536):
                with self.lock:
                    if side == "c":
                        if first and data[:1] == b"\x16":  # a TLS ClientHello
                            self.tls_attempts += 1
                        if turn["last"] != "c":
                            self.round_trips += 1
                    turn["last"] = side
                first = False
                bursts.put((max(time.monotonic(), earliest) + self.delay, data))
        except OSError:
            pass
        bursts.put((max(time.monotonic(), earliest) + self.delay, None))
        writer.join()
        try:
            done.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass


def _deliver(bursts: queue.Queue[tuple[float, bytes | None]], dst: socket.socket) -> None:
    """Send each burst at its time, in order; ``None`` half-closes ``dst``."""
    broken = False
    while True:
        at, data = bursts.get()
        pause = at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if data is None:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        if not broken:
            try:
                dst.sendall(data)
            except OSError:
                broken = True


# --------------------------------------------------------------------------- the two registries


class _Case:
    """One registry behind a delay proxy, and the three clients' login commands for it."""

    def __init__(
        self, name: str, clients: Clients, proxy: DelayProxy, env: dict[str, str], tls: bool
    ) -> None:
        self.name = name
        self.clients = clients
        self.proxy = proxy
        self.env = env
        self.tls = tls

    def command(self, client: str) -> list[str]:
        command = self.clients.login(client)
        if self.tls and client == "skopeo":
            command.remove("--tls-verify=false")  # verify: the CA is in SSL_CERT_FILE
        return command

    def timer(self, client: str) -> Callable[[], Timing]:
        """One timed login (wall and CPU time: load hardly moves the CPU time)."""
        return process(self.command(client), self.env, (self.clients.password + "\n").encode())

    def check(self, client: str) -> None:
        """The login stored something for the registry (a refresh token replaces the password)."""
        data = json.loads((self.clients.dir(client) / "config.json").read_text())
        entry = data.get("auths", {}).get(self.clients.address) or {}
        if not (entry.get("auth") or entry.get("identitytoken")):
            raise BenchError(f"{client} login stored nothing for {self.clients.address} ({self.name})")


def _plain_http(box: Sandbox, *, handshake: bool) -> Iterator[_Case]:
    from tests.fixtures.registry import start_registry

    tag = "-slow-http" + ("" if handshake else "-nohs")
    with start_registry(box.path(f"registry{tag}")) as registry:
        proxy = DelayProxy(registry.address, handshake=handshake)
        try:
            clients = Clients(box, proxy.address, registry.username, registry.password, tag=tag)
            clients.seed()
            name = "plain HTTP, Basic" + ("" if handshake else " (no handshake modelled)")
            yield _Case(name, clients, proxy, box.env, tls=False)
        finally:
            proxy.close()


def _tls_token(box: Sandbox) -> Iterator[_Case]:
    from tests.fixtures.registry import TokenServer, make_pki, start_registry

    pki = make_pki(box.path("slow-pki"))
    secret = "pw-" + secrets.token_urlsafe(12)
    token = TokenServer(username="regcred-user", password=secret, pki=pki, tls=True)
    token.start()
    token_proxy = DelayProxy(token.address)
    token.address = token_proxy.address  # the realm the registry advertises goes through the link
    try:
        with start_registry(
            box.path("registry-slow-token"), pki=pki, tls=True, token=token, password=token.password
        ) as registry:
            proxy = DelayProxy(registry.address)
            try:
                clients = Clients(box, proxy.address, registry.username, registry.password, tag="-slow-tls")
                clients.seed()
                env = box.with_env(SSL_CERT_FILE=str(pki.ca_path))
                case = _Case("TLS, token auth", clients, proxy, env, tls=True)
                case.token_proxy = token_proxy  # type: ignore[attr-defined]
                yield case
            finally:
                proxy.close()
    finally:
        token_proxy.close()
        token.stop()


def _measure(case: _Case, runs: int, counts: dict[str, dict[str, tuple[int, int, int]]]) -> list[Comparison]:
    names = available_clients()
    token_proxy: DelayProxy | None = getattr(case, "token_proxy", None)
    per_client: dict[str, tuple[int, int, int]] = {}
    for name in names:
        case.proxy.reset()
        if token_proxy is not None:
            token_proxy.reset()
        run_process(case.command(name), case.env, (case.clients.password + "\n").encode())
        case.check(name)
        conns, tls, trips = case.proxy.snapshot()
        if token_proxy is not None:
            t_conns, t_tls, t_trips = token_proxy.snapshot()
            conns, tls, trips = conns + t_conns, tls + t_tls, trips + t_trips
        per_client[name] = (conns, tls, trips)
    counts[case.name] = per_client
    samples = interleave({name: case.timer(name) for name in names}, runs=runs, warmup=1)
    samples = {LABELS[k]: v for k, v in samples.items()}
    results = []
    for reference in ("docker login", "skopeo login"):
        if reference not in samples:
            continue
        target = reference == "docker login" and case.name == "plain HTTP, Basic"
        results.append(
            Comparison(
                section=f"slow link: {case.name}",
                measure=f"login vs {reference.split()[0]}, {2 * DELAY_S * 1000:.0f} ms RTT",
                samples={"regcred login": samples["regcred login"], reference: samples[reference]},
                reference=reference,
                target="<= 0.8x docker" if target else "",
                target_ratio=0.8 if target else None,
            )
        )
    return results


def slow_link(box: Sandbox, runs: int) -> tuple[list[Comparison], dict[str, dict[str, tuple[int, int, int]]]]:
    """Comparisons per registry, and {case: {client: (connections, TLS attempts, round trips)}}."""
    results: list[Comparison] = []
    counts: dict[str, dict[str, tuple[int, int, int]]] = {}
    makers: list[Callable[[], Iterator[_Case]]] = [
        lambda: _plain_http(box, handshake=True),
        lambda: _tls_token(box),
        lambda: _plain_http(box, handshake=False),
    ]
    for make in makers:
        for case in make():
            print(f"   slow link: {case.name}", flush=True, file=sys.stderr)
            results += _measure(case, runs, counts)
    return results, counts


BEGIN, END = "<!-- slow-link: begin -->", "<!-- slow-link: end -->"


def render(
    results: list[Comparison], counts: dict[str, dict[str, tuple[int, int, int]]], load: tuple[str, str]
) -> list[str]:
    """The "Login over a slow link" section of docs/benchmarks.md (``load``: at start, at end)."""
    table = []
    for case in counts:
        versus = {c.reference.split()[0]: c for c in results if c.section == f"slow link: {case}"}
        if not versus:
            continue
        first = next(iter(versus.values()))
        cells = [case, f"{first.median(first.ours):.0f}"]
        cells += [
            f"{versus[n].median(versus[n].reference):.0f}" if n in versus else ""
            for n in ("docker", "skopeo")
        ]
        cells += [
            f"{ratio:.2f}x" if (ratio := versus[n].ratio()) else ""
            for n in ("docker", "skopeo")
            if n in versus
        ]
        docker = versus.get("docker")
        met = docker.met() if docker is not None else None
        cells += [docker.target if docker else "", "" if met is None else ("met" if met else "MISSED")]
        cpus = [first.cpu_median(first.ours)]
        cpus += [versus[n].cpu_median(versus[n].reference) for n in ("docker", "skopeo") if n in versus]
        cells.append(" / ".join(f"{ms:.0f}" for ms in cpus if ms is not None))
        cells.append(str(first.runs()))
        table.append(cells)
    one_way = round(DELAY_S * 1000)
    header = ["registry", "regcred", "docker", "skopeo", "vs docker", "vs skopeo", "target", ""]
    header += ["CPU ms (regcred / docker / skopeo)", "runs"]
    count_rows = [
        [case, client, str(c), str(t), str(r)]
        for case, per_client in counts.items()
        for client, (c, t, r) in per_client.items()
    ]
    return [
        BEGIN,
        "## Login over a slow link",
        "",
        f"- **delay**: {one_way} ms each way ({2 * one_way} ms round trip)",
        f"- **load average**: {load[0]} at start, {load[1]} at end (1, 5, 15 min), on {os.cpu_count()} cores",
        "",
        *note("slow-link"),
        markdown_table(header, table),
        "",
        *note("slow-link-counts"),
        markdown_table(
            ["registry", "client", "TCP connections", "TLS ClientHellos", "round trips"], count_rows
        ),
        "",
        *note("slow-link-after"),
        END,
    ]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    """Run the slow-link benchmark alone: ``python benchmarks/bench_slow_link.py [runs]``."""
    from _common import byte_compile, sandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="interleaved runs per client (default 10)")
    parser.add_argument("--no-doc", action="store_true", help="print only; do not update docs/benchmarks.md")
    args = parser.parse_args()
    byte_compile()
    start_load = load_average()
    with sandbox() as box:
        results, counts = slow_link(box, args.runs)
    for c in results:
        others = [label for label in c.labels if label != c.ours]
        for other in others:
            print(
                f"{c.section:40} {c.measure:32} {c.ours}: {c.median(c.ours):6.0f}  "
                f"{other}: {c.median(other):6.0f}  {c.median(c.ours) / c.median(other):.2f}x"
            )
    for name, per_client in counts.items():
        for client, (conns, tls, trips) in per_client.items():
            print(f"{name:40} {client:8} {conns} connections, {tls} TLS attempts, {trips} round trips")
    end_load = load_average()
    print(f"load average: {start_load} at start, {end_load} at end")
    if not args.no_doc:
        replace_block(BEGIN, END, "\n".join(render(results, counts, (start_load, end_load))))
        print("updated docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
