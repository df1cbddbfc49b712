"""Login latency against docker and skopeo, HTTP requests per login, and config-size growth.

Every client logs in to the same local registry (Debian's ``docker-registry``,
htpasswd/bcrypt Basic auth, plain HTTP on 127.0.0.1) and stores the
credential in its own config file, which is seeded with one unrelated entry
so that no client picks a credential helper by itself (docker's and
regcred's rule: a config that already holds credentials keeps using the file).
There is no Docker daemon (``DOCKER_HOST`` points at a missing socket):
``docker login`` then logs in client-side, trying https and then http on a
loopback address, as regcred does.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from _common import REGCRED
from _timing import BenchError, Comparison, Timing, combine, interleave, part, process, run_process

if TYPE_CHECKING:
    from collections.abc import Callable

    from _common import Sandbox
    from tests.fixtures.registry import Registry

CONFIG_SIZES = (10, 1000, 10000)
_REQUEST_LINE = re.compile(rb"(?m)^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP/1\.[01]\r$")


def _seed_config(directory: Path, entries: int) -> None:
    auth = base64.b64encode(b"seed-user:seed-password").decode()
    auths = {f"seed{i:05d}.example.com": {"auth": auth} for i in range(entries)}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"auths": auths}, indent="\t"))


@dataclass
class Clients:
    """The three login commands for one registry, each with its own (seeded) config."""

    box: Sandbox
    address: str
    username: str
    password: str = field(repr=False)
    tag: str = ""

    def dir(self, client: str) -> Path:
        return self.box.path(f"cfg-{client}{self.tag}")

    def seed(self, entries: int = 1) -> None:
        for client in ("regcred", "docker", "skopeo"):
            shutil.rmtree(self.dir(client), ignore_errors=True)
            _seed_config(self.dir(client), entries)

    def login(self, client: str) -> list[str]:
        cfg = str(self.dir(client))
        if client == "regcred":
            return [REGCRED, "login", self.address, "-u", self.username, "--password-stdin", "--config", cfg]
        if client == "docker":
            return ["docker", "--config", cfg, "login", self.address, "-u", self.username, "--password-stdin"]
        return [
            *("skopeo", "login", "--tls-verify=false", "--authfile", f"{cfg}/config.json"),
            *("-u", self.username, "--password-stdin", self.address),
        ]

    def logout(self, client: str) -> list[str]:
        cfg = str(self.dir(client))
        if client == "regcred":
            return [REGCRED, "logout", self.address, "--config", cfg]
        return ["docker", "--config", cfg, "logout", self.address]

    def timer(self, client: str, action: str = "login") -> Callable[[], Timing]:
        command = self.login(client) if action == "login" else self.logout(client)
        stdin = (self.password + "\n").encode() if action == "login" else b""
        return process(command, self.box.env, stdin)

    def check_stored(self, client: str) -> None:
        data = json.loads((self.dir(client) / "config.json").read_text())
        entry = data.get("auths", {}).get(self.address)
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if not entry or entry.get("auth") != expected:
            raise BenchError(f"{client} login did not store the credential in its config file")


def available_clients() -> list[str]:
    return ["regcred"] + [name for name in ("docker", "skopeo") if shutil.which(name)]


def login_latency(box: Sandbox, registry: Registry, runs: int) -> list[Comparison]:
    """regcred login vs docker login vs skopeo login, interleaved."""
    clients = Clients(box, registry.address, registry.username, registry.password)
    clients.seed()
    names = available_clients()
    for name in names:
        run_process(clients.login(name), box.env, (registry.password + "\n").encode())
        clients.check_stored(name)
    samples = interleave({name: clients.timer(name) for name in names}, runs=runs)
    labels = {"regcred": "regcred login", "docker": "docker login", "skopeo": "skopeo login"}
    samples = {labels[k]: v for k, v in samples.items()}
    results = []
    for reference in ("docker login", "skopeo login"):
        if reference not in samples:
            continue
        target = reference == "docker login"
        results.append(
            Comparison(
                section="login",
                measure=f"login vs {reference.split()[0]}",
                samples={"regcred login": samples["regcred login"], reference: samples[reference]},
                reference=reference,
                target="<= 1.5x docker" if target else "",
                target_ratio=1.5 if target else None,
            )
        )
    return results


# --------------------------------------------------------------------------- counting requests


class CountingProxy:
    """A TCP proxy on 127.0.0.1 that counts connections, TLS attempts and HTTP requests."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        self.connections = 0
        self.tls_attempts = 0
        self.requests: list[str] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self.lock:
            self.connections, self.tls_attempts, self.requests = 0, 0, []

    def snapshot(self) -> tuple[int, int, list[str]]:
        time.sleep(0.05)  # let the pump threads see the last bytes
        with self.lock:
            return self.connections, self.tls_attempts, list(self.requests)

    def close(self) -> None:
        self._stop = True
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self.lock:
            self.connections += 1
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            client.close()
            return
        seen = bytearray()
        back = threading.Thread(target=_pump, args=(upstream, client, None), daemon=True)
        back.start()
        _pump(client, upstream, seen)
        back.join(timeout=10)
        with self.lock:
            if seen[:1] == b"\x16":  # a TLS ClientHello
                self.tls_attempts += 1
            else:
                self.requests += [f"{m.decode()} {p.decode()}" for m, p in _REQUEST_LINE.findall(bytes(seen))]
        for sock in (client, upstream):
            sock.close()


def _pump(src: socket.socket, dst: socket.socket, record: bytearray | None) -> None:
    try:
        while data := src.recv(65536):
            if record is not None:
                record += data
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def request_counts(box: Sandbox, registry: Registry) -> dict[str, tuple[int, int, list[str]]]:
    """{client: (TCP connections, TLS attempts, HTTP request lines)} for one login each."""
    proxy = CountingProxy(registry.address)
    try:
        clients = Clients(box, proxy.address, registry.username, registry.password, tag="-count")
        clients.seed()
        counts = {}
        for name in available_clients():
            proxy.reset()
            run_process(clients.login(name), box.env, (registry.password + "\n").encode())
            clients.check_stored(name)
            counts[name] = proxy.snapshot()
        return counts
    finally:
        proxy.close()


# --------------------------------------------------------------------------- config size


def config_size(box: Sandbox, registry: Registry, runs: int) -> list[Comparison]:
    """login then logout with config files of 10, 1,000 and 10,000 entries (regcred and docker)."""
    names = [n for n in available_clients() if n != "skopeo"]  # skopeo keeps its own auth file
    results = []
    for size in CONFIG_SIZES:
        clients = Clients(box, registry.address, registry.username, registry.password, tag=f"-{size}")
        clients.seed(size)

        def cycle(name: str, clients: Clients = clients) -> Callable[[], Timing]:
            login, logout = clients.timer(name, "login"), clients.timer(name, "logout")
            return lambda: combine({"login": login(), "logout": logout()})

        # The warm-up cycle: page cache, first write of the file.
        cycles = interleave({n: cycle(n) for n in names}, runs=runs, warmup=1)
        for n in names:
            entries = json.loads((clients.dir(n) / "config.json").read_text())["auths"]
            if len(entries) != size:
                raise BenchError(f"{n}: config holds {len(entries)} entries after login+logout, not {size}")
        for action in ("login", "logout"):
            samples = {f"{n} {action}": part(cycles[n], action) for n in names}
            last = size == max(CONFIG_SIZES)
            results.append(
                Comparison(
                    section="config size",
                    measure=f"{action}, {size:,} entries",
                    samples=samples,
                    reference=f"docker {action}" if "docker" in names else "",
                    target="< 150 ms" if last else "",
                    target_ms=150.0 if last else None,
                )
            )
    return results
