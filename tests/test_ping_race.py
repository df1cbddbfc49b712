"""Login over a slow link: the raced plain-http ping, and connections opened ahead.

Login sends the plain-http ping alongside the https attempt and uses it only
once https failed; and it opens its first TCP connections before importing
the HTTP code (:mod:`regcred._net.preconnect`), which the client then uses.

The server here is a fake, named as one: a loopback port that speaks both TLS
and plain HTTP (it looks at the first byte of each connection), because the
policy under test is about what a client does when https and http answer on
the same host:port, which a real registry never does at once.  It records,
in order, when TLS connections open and close and every plain/TLS request.
"""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import pytest

from regcred._net.auth import verify_login
from regcred._net.http import Client, Request
from regcred._net.options import LoginOptions
from regcred.errors import LoginError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.fixtures.registry import Pki

USER, SECRET = "race-user", "race-secret-123"
HOLD_S = 5.0  # a bound for a failing test, not a measurement
BASIC = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()


class DualServer:
    """FAKE registry: TLS and plain HTTP on one loopback port; Basic auth on both.

    ``tls="hold"``: a TLS connection gets no answer until a plain-http request
    has arrived, or for ``HOLD_S`` seconds; then the server drops it (https fails).
    ``tls="serve"``: TLS connections are served like plain ones.
    """

    def __init__(self, pki: Pki, tls: str) -> None:
        self.pki, self.tls = pki, tls
        self.events: list[tuple[str, ...]] = []
        self.lock = threading.Lock()
        self.plain_seen = threading.Event()
        self.plain_connections = 0
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def record(self, *event: str) -> None:
        with self.lock:
            self.events.append(event)

    def index(self, predicate: object) -> int:
        return next(i for i, e in enumerate(self.events) if predicate(e))  # type: ignore[operator]

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(20)
        try:
            first = conn.recv(1, socket.MSG_PEEK)
            if first == b"\x16":
                self._tls(conn)
            elif first:
                with self.lock:
                    self.plain_connections += 1
                self._http(conn, "http")
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def _tls(self, conn: socket.socket) -> None:
        self.record("tls-open")
        if self.tls == "serve":
            with self.pki.server_context().wrap_socket(conn, server_side=True) as wrapped:
                self._http(wrapped, "https")
            return
        conn.recv(65536)  # the ClientHello, left unanswered
        if self.plain_seen.wait(HOLD_S):
            self.record("tls-dropped-after-http-ping")
        else:
            self.record("tls-dropped-with-no-http-ping")

    def _http(self, conn: socket.socket, scheme: str) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
            }
            auth = headers.get("authorization", "")
            self.record(scheme, method, path, auth)
            if scheme == "http":
                self.plain_seen.set()
            if auth == BASIC:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            else:
                conn.sendall(
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                    b'WWW-Authenticate: Basic realm="fake"\r\n\r\n'
                )

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def dual(test_pki: Pki) -> Iterator[dict[str, DualServer]]:
    servers: dict[str, DualServer] = {}
    yield servers
    for server in servers.values():
        server.close()


def test_http_ping_goes_out_while_https_is_still_pending(
    dual: dict[str, DualServer], test_pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sequentially, the https attempt would be held for HOLD_S before any http ping went out.
    monkeypatch.setenv("REGCRED_HTTP_TIMEOUT", "30")
    server = dual["s"] = DualServer(test_pki, tls="hold")
    result = verify_login(server.address, username=USER, secret=SECRET)
    assert result.endpoint == f"http://{server.address}"
    assert result.verified
    events = server.events
    closed = server.index(lambda e: e[0].startswith("tls-dropped"))
    assert events[closed] == ("tls-dropped-after-http-ping",), events
    ping = server.index(lambda e: e[0] == "http")
    assert events[ping] == ("http", "GET", "/v2/", ""), events  # the raced ping carries no credentials
    assert ping < closed
    # Credentials go over plain http only after https failed, on the raced ping's connection.
    with_auth = [i for i, e in enumerate(events) if e[0] == "http" and e[3]]
    assert with_auth, events
    assert all(i > closed for i in with_auth)
    assert all(events[i][3] == BASIC for i in with_auth)
    assert server.plain_connections == 1


def test_raced_http_answer_is_dropped_when_https_answers(
    dual: dict[str, DualServer], test_pki: Pki, tmp_path: Path
) -> None:
    server = dual["s"] = DualServer(test_pki, tls="serve")
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(test_pki.ca_path.read_bytes())
    result = verify_login(
        server.address, username=USER, secret=SECRET, options=LoginOptions(cert_dirs=[str(certs)])
    )
    assert result.endpoint == f"https://{server.address}"
    plain = [e for e in server.events if e[0] == "http"]
    assert len(plain) <= 1  # at most the raced ping
    assert all(e[3] == "" for e in plain)  # never a credential over plain http
    assert [e for e in server.events if e[0] == "https"] == [
        ("https", "GET", "/v2/", ""),
        ("https", "GET", "/v2/", BASIC),
    ]


def test_only_a_request_without_credentials_is_raced() -> None:
    from regcred._net.auth import _Race

    client = Client()
    try:
        for request in (
            Request("GET", "http://127.0.0.1:1/v2/", (("Authorization", BASIC),)),
            Request("GET", "http://127.0.0.1:1/v2/", (("authorization", "Bearer x"),)),
            Request("POST", "http://127.0.0.1:1/token", (), b"refresh_token=x"),
        ):
            with pytest.raises(ValueError, match="without credentials"):
                _Race(request, client)
    finally:
        client.close()


def test_no_race_without_a_plain_http_endpoint() -> None:
    from regcred._net.auth import _http_ping_race

    assert _http_ping_race([("https://reg.example", True)], {}) is None
    assert _http_ping_race([("https://registry-1.docker.io", True)], {}) is None


# --------------------------------------------------------------------------- connections opened ahead


def test_preconnect_connects_before_the_http_code_is_imported() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    code = (
        "import sys; from regcred._net import preconnect; "
        f"early = preconnect.start('127.0.0.1:{port}'); "
        "print(sorted(m for m in ('http.client', 'ssl', 'email') if m in sys.modules)); "
        "[p.take() for p in (early.claim('127.0.0.1', {port}), early.claim('127.0.0.1', {port}))]"
    ).replace("{port}", str(port))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    listener.settimeout(10)
    for _ in range(2):  # https and plain http endpoints: the same loopback host:port
        conn, _ = listener.accept()
        with conn:
            assert conn.recv(1) == b""  # connected, nothing sent
    listener.close()


def test_login_uses_the_connections_opened_ahead(
    dual: dict[str, DualServer], test_pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regcred._net import preconnect

    monkeypatch.setenv("REGCRED_HTTP_TIMEOUT", "30")
    server = dual["s"] = DualServer(test_pki, tls="hold")
    early = preconnect.start(server.address)
    assert early is not None
    result = verify_login(server.address, username=USER, secret=SECRET, preconnected=early)
    assert result.endpoint == f"http://{server.address}"
    # Two connections in all (the https attempt, the plain one reused for the credentials):
    # had the client opened its own, the two opened ahead would be extra.
    assert server.accepted == 2
    assert server.plain_connections == 1
    assert [e for e in server.events if e[0] == "tls-open"] == [("tls-open",)]


def test_connection_opened_ahead_fails_as_the_client_would(monkeypatch: pytest.MonkeyPatch) -> None:
    from regcred._net import preconnect

    with socket.create_server(("127.0.0.1", 0)) as probe:
        address = f"127.0.0.1:{probe.getsockname()[1]}"  # closed below: connection refused
    messages = []
    for early in (None, preconnect.start(address)):
        with pytest.raises(LoginError) as caught:
            verify_login(address, username=USER, secret=SECRET, preconnected=early)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "connection refused" in messages[0]


def test_nothing_is_opened_ahead_where_a_proxy_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    from regcred._net import preconnect

    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert preconnect.start("registry.example:5000") is None
    assert preconnect.start("not a registry address") is None
