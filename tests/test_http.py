"""The HTTP layer against real loopback servers: no redirects, caps, timeouts, TLS, proxies."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from regcred._address import is_loopback_host
from regcred._net.http import (
    Client,
    Request,
    TransportError,
    origin,
    proxy_for,
    redact_url,
    timeout_from_env,
)
from regcred._net.tls import registry_cert_dirs, trust_context
from regcred.errors import ConfigError, LoginError
from tests.conftest import require_program
from tests.fixtures.hostile import Reply

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.fixtures.hostile import HostileServer
    from tests.fixtures.registry import Pki


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    """Build clients that are closed at teardown (no leaked sockets)."""
    clients: list[Client] = []

    def make(**kwargs: object) -> Client:
        client = Client(**kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_get_returns_status_headers_and_body(
    hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """A response carries status, reason, repeated headers and the body."""
    server = hostile()
    challenge = (("WWW-Authenticate", 'Basic realm="a"'), ("WWW-Authenticate", "Bearer realm=b"))
    server.route("/v2/", Reply(401, challenge, b'{"errors":[]}'))
    response = make_client().send(Request("GET", f"{server.url}/v2/"))
    assert (response.status, response.reason) == (401, "Unauthorized")
    assert response.get_all("www-authenticate") == ['Basic realm="a"', "Bearer realm=b"]
    assert response.body == b'{"errors":[]}'
    assert (server.requests[0].header("User-Agent") or "").startswith("regcred/")


def test_server_reason_phrase_is_not_trusted(
    hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """The reason phrase is the standard one, never the server's text (escapes, secrets)."""
    server = hostile()
    server.route("/v2/", Reply(401, reason="Pwned \x1b[2J echo"))
    response = make_client().send(Request("GET", f"{server.url}/v2/"))
    assert response.reason == "Unauthorized"


def test_redirects_are_returned_not_followed(
    hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """A 302 comes back to the caller; the Location is never requested."""
    server, other = hostile(), hostile("127.0.0.2")
    server.route("/v2/", Reply(302, (("Location", f"{other.url}/steal"),)))
    response = make_client().send(Request("GET", f"{server.url}/v2/", (("Authorization", "Basic x"),)))
    assert response.status == 302
    assert response.is_redirect
    assert other.requests == []


def test_body_size_cap(hostile: Callable[..., HostileServer], make_client: Callable[..., Client]) -> None:
    """A body over the cap is an error, not a memory hog."""
    server = hostile()
    server.route("/big", Reply(200, (), b"x" * 5000))
    with pytest.raises(TransportError, match="larger than 4096 bytes"):
        make_client(max_body=4096).send(Request("GET", f"{server.url}/big"))


def test_timeout_on_a_silent_server(
    monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., Client]
) -> None:
    """A server that accepts and never answers times out after REGCRED_HTTP_TIMEOUT."""
    monkeypatch.setenv("REGCRED_HTTP_TIMEOUT", "0.5")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v2/"
        start = time.monotonic()
        with pytest.raises(TransportError, match="timeout"):
            make_client().send(Request("GET", url))
        assert time.monotonic() - start < 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", 15.0),
        ("2.5", 2.5),
    ],
)
def test_timeout_from_env(monkeypatch: pytest.MonkeyPatch, value: str, expected: float) -> None:
    """Only a positive finite REGCRED_HTTP_TIMEOUT overrides docker's 15 s."""
    monkeypatch.setenv("REGCRED_HTTP_TIMEOUT", value)
    assert timeout_from_env() == expected


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "x"])
def test_bad_timeout_from_env(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """Any other REGCRED_HTTP_TIMEOUT is an error naming it (settings' one policy), not 15 s."""
    monkeypatch.setenv("REGCRED_HTTP_TIMEOUT", value)
    with pytest.raises(ConfigError, match=r"^REGCRED_HTTP_TIMEOUT"):
        timeout_from_env()


def test_connection_refused_message(make_client: Callable[..., Client]) -> None:
    """A refused connection reads like docker's, with the URL's query redacted."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/token?account=me&secret=CANARY-q"
    with pytest.raises(TransportError) as info:
        make_client().send(Request("GET", url))
    assert str(info.value) == (
        f'Get "http://127.0.0.1:{port}/token?account=REDACTED&secret=REDACTED": connect: connection refused'
    )


def test_stale_keepalive_connection_is_retried(
    hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """A server that silently drops a kept-alive connection does not fail the next GET."""
    server = hostile()
    server.route("/v2/", Reply(200, (), b"{}", close=True))
    client = make_client()
    assert client.send(Request("GET", f"{server.url}/v2/")).status == 200
    assert client.send(Request("GET", f"{server.url}/v2/")).status == 200
    assert len(server.requests) == 2


# --------------------------------------------------------------------------- TLS


def test_tls_untrusted_ca_fails(
    hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """The system trust store does not trust the test CA."""
    server = hostile(tls=True)
    with pytest.raises(TransportError, match="tls: failed to verify certificate: unable to get local issuer"):
        make_client().send(Request("GET", f"{server.url}/v2/"))
    assert server.requests == []


def test_tls_ca_from_cert_dir(
    hostile: Callable[..., HostileServer],
    test_pki: Pki,
    tmp_path: Path,
    make_client: Callable[..., Client],
) -> None:
    """A ``*.crt`` in the host's cert dir is trusted for that host only."""
    server = hostile(tls=True)
    (tmp_path / "ca.crt").write_bytes(test_pki.ca_path.read_bytes())
    server.route("/v2/", Reply(200))
    client = make_client(cert_dirs={"127.0.0.1": [str(tmp_path)]})
    assert client.send(Request("GET", f"{server.url}/v2/")).status == 200
    other_host = make_client(cert_dirs={"localhost": [str(tmp_path)]})
    with pytest.raises(TransportError, match="failed to verify certificate"):
        other_host.send(Request("GET", f"{server.url}/v2/"))


def test_tls_verify_false_skips_verification(
    hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """``verify=False`` (``--insecure``) accepts the untrusted certificate."""
    server = hostile(tls=True)
    server.route("/v2/", Reply(200))
    assert make_client().send(Request("GET", f"{server.url}/v2/", verify=False)).status == 200


def test_tls_to_a_plain_http_server(
    hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """https to a plain-HTTP port gives docker's wording."""
    server = hostile()
    with pytest.raises(TransportError, match="server gave HTTP response to HTTPS client"):
        make_client().send(Request("GET", f"https://{server.address}/v2/"))


def test_missing_client_key_error(
    tmp_path: Path, hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """A ``.cert`` without its ``.key`` fails with docker's message."""
    (tmp_path / "client.cert").write_text("x")
    server = hostile(tls=True)
    with pytest.raises(LoginError) as info:
        make_client(cert_dirs={"127.0.0.1": [str(tmp_path)]}).send(Request("GET", f"{server.url}/"))
    assert str(info.value) == (
        "missing key client.key for client certificate client.cert. "
        "CA certificates must use the extension .crt"
    )


def test_missing_client_cert_error(
    tmp_path: Path, hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """A ``.key`` without its ``.cert`` fails with docker's message."""
    (tmp_path / "client.key").write_text("x")
    server = hostile(tls=True)
    with pytest.raises(LoginError) as info:
        make_client(cert_dirs={"127.0.0.1": [str(tmp_path)]}).send(Request("GET", f"{server.url}/"))
    assert str(info.value) == "missing client certificate client.cert for key client.key"


def test_client_certificate_pair_is_presented(
    hostile: Callable[..., HostileServer],
    test_pki: Pki,
    tmp_path: Path,
    make_client: Callable[..., Client],
) -> None:
    """A ``.cert``/``.key`` pair is used as the TLS client certificate (mutual TLS)."""
    server = hostile(tls=True)
    assert server.tls is not None
    server.tls.load_verify_locations(cafile=str(test_pki.ca_path))
    server.tls.verify_mode = __import__("ssl").CERT_REQUIRED
    server.route("/v2/", Reply(200))
    (tmp_path / "ca.crt").write_bytes(test_pki.ca_path.read_bytes())
    with pytest.raises(TransportError):  # no client certificate yet
        make_client(cert_dirs={"127.0.0.1": [str(tmp_path)]}).send(Request("GET", f"{server.url}/v2/"))
    (tmp_path / "client.cert").write_bytes(test_pki.client_cert.read_bytes())
    (tmp_path / "client.key").write_bytes(test_pki.client_key.read_bytes())
    client = make_client(cert_dirs={"127.0.0.1": [str(tmp_path)]})
    assert client.send(Request("GET", f"{server.url}/v2/")).status == 200


def test_registry_cert_dirs(tmp_path: Path) -> None:
    """docker's certs.d lookup order, existing directories only."""
    (tmp_path / "cfg" / "certs.d" / "reg:5000").mkdir(parents=True)
    (tmp_path / "explicit").mkdir()
    dirs = registry_cert_dirs(
        "reg:5000", config_dir=str(tmp_path / "cfg"), cert_dir=str(tmp_path / "explicit")
    )
    assert dirs[-2:] == [str(tmp_path / "cfg" / "certs.d" / "reg:5000"), str(tmp_path / "explicit")]
    assert registry_cert_dirs("nowhere.example", config_dir=str(tmp_path / "cfg")) == []


# --------------------------------------------------------------------------- proxies


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables unless a test sets them."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)
    return monkeypatch


def test_proxy_upper_case_wins(proxy_env: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY beats https_proxy (Go's order); a bare host:port is http."""
    proxy_env.setenv("HTTPS_PROXY", "proxy.example:3128")
    proxy_env.setenv("https_proxy", "http://other.example:1")
    assert proxy_for("https", "reg.example", 443) == ("proxy.example", 3128, None)


def test_proxy_lower_case_alone(proxy_env: pytest.MonkeyPatch) -> None:
    """Lower-case variables work on their own, with credentials for the proxy."""
    proxy_env.setenv("http_proxy", "http://u%40x:p%3A@proxy.example:8080")
    assert proxy_for("http", "reg.example", 80) == (
        "proxy.example",
        8080,
        "Basic dUB4OnA6",  # b64("u@x:p:")
    )


def test_loopback_is_never_proxied(proxy_env: pytest.MonkeyPatch) -> None:
    """127.0.0.0/8, ::1 and localhost go direct whatever the environment says."""
    proxy_env.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    for host in ("127.0.0.1", "127.9.9.9", "::1", "localhost"):
        assert proxy_for("https", host, 443) is None


def test_httpoxy_ignores_upper_http_proxy_under_cgi(proxy_env: pytest.MonkeyPatch) -> None:
    """Under CGI (REQUEST_METHOD set) HTTP_PROXY may be a request header: ignore it."""
    proxy_env.setenv("REQUEST_METHOD", "GET")
    proxy_env.setenv("HTTP_PROXY", "http://evil.example:1")
    assert proxy_for("http", "reg.example", 80) is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "direct"),
    [
        ("*", "reg.example", 443, True),
        ("reg.example", "reg.example", 443, True),
        ("example", "reg.example", 443, True),
        ("example", "regexample", 443, False),
        (".example", "reg.example", 443, True),
        (".example", "example", 443, False),
        ("*.example", "reg.example", 443, True),
        ("reg.example:5000", "reg.example", 5000, True),
        ("reg.example:5000", "reg.example", 443, False),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.1.2.3", 443, False),
        ("10.1.2.3", "10.1.2.3", 443, True),
        ("[2001:db8::1]", "2001:db8::1", 443, True),
        (" other , REG.example ", "reg.example", 443, True),
        ("", "reg.example", 443, False),
    ],
)
def test_no_proxy_rules(
    proxy_env: pytest.MonkeyPatch, no_proxy: str, host: str, port: int, direct: bool
) -> None:
    """NO_PROXY follows Go's httpproxy matching."""
    proxy_env.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    proxy_env.setenv("no_proxy", no_proxy)
    assert (proxy_for("https", host, port) is None) is direct


def test_unsupported_proxy_scheme(proxy_env: pytest.MonkeyPatch) -> None:
    """A socks or https proxy is refused with a message, its credentials redacted."""
    proxy_env.setenv("HTTPS_PROXY", "socks5://user:CANARY-proxy@proxy.example:1080")
    with pytest.raises(TransportError) as info:
        proxy_for("https", "reg.example", 443)
    assert "CANARY" not in str(info.value)
    assert "only http:// proxies" in str(info.value)


def test_http_request_through_proxy(
    proxy_env: pytest.MonkeyPatch,
    hostile: Callable[..., HostileServer],
    make_client: Callable[..., Client],
) -> None:
    """A plain-http target goes to the proxy in absolute form, with Proxy-Authorization."""
    proxy = hostile("127.0.0.2")
    proxy.route("http://reg.example:5000/v2/", Reply(200, (), b"{}"))
    proxy_env.setenv("HTTP_PROXY", f"http://pu:pp@{proxy.address}")
    response = make_client().send(Request("GET", "http://reg.example:5000/v2/"))
    assert response.status == 200
    [seen] = proxy.requests
    assert seen.path == "http://reg.example:5000/v2/"
    assert seen.header("Host") == "reg.example:5000"
    assert seen.header("Proxy-Authorization") == "Basic cHU6cHA="


def test_https_request_tunnels_through_proxy(
    proxy_env: pytest.MonkeyPatch,
    hostile: Callable[..., HostileServer],
    make_client: Callable[..., Client],
) -> None:
    """An https target opens a CONNECT tunnel; a refused tunnel is a transport error."""
    proxy = hostile("127.0.0.2")
    proxy.route("reg.example:443", Reply(403))
    proxy_env.setenv("HTTPS_PROXY", f"http://pu:pp@{proxy.address}")
    with pytest.raises(TransportError, match="Tunnel connection failed: 403"):
        make_client().send(Request("GET", "https://reg.example/v2/", (("Authorization", "Basic s"),)))
    [seen] = proxy.requests
    assert (seen.method, seen.path) == ("CONNECT", "reg.example:443")
    assert seen.header("Proxy-Authorization") == "Basic cHU6cHA="
    assert seen.header("Authorization") is None  # the registry's credentials stay in the tunnel


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Reg.Example/v2/", ("https", "reg.example", 443)),
        ("http://reg.example/v2/", ("http", "reg.example", 80)),
        ("https://reg.example:443/", ("https", "reg.example", 443)),
        ("https://[::1]:5000/", ("https", "::1", 5000)),
        ("https://reg.example:99999/", ("https", "reg.example", -1)),
    ],
)
def test_origin(url: str, expected: tuple[str, str, int]) -> None:
    """Origins lower-case the host and fill in default ports."""
    assert origin(url) == expected


def test_redact_url() -> None:
    """Userinfo, fragment and query values never survive redaction."""
    url = "https://u:CANARY@reg/x?X-Amz-Signature=CANARY&access_token=CANARY&flag#CANARY"
    assert redact_url(url) == ("https://reg/x?X-Amz-Signature=REDACTED&access_token=REDACTED&flag=REDACTED")


def test_is_loopback_host() -> None:
    """Loopback is decided from the name alone, never by DNS."""
    assert all(map(is_loopback_host, ["127.0.0.1", "127.1.2.3", "[::1]", "localhost"]))
    assert not any(map(is_loopback_host, ["10.0.0.1", "vm", "localhost.evil.example", "::"]))


def test_import_cost_stays_small() -> None:
    """Importing the login stack pulls in neither urllib.request nor email parsing extras."""
    code = "import sys, regcred._net.auth; print(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(out.stdout.strip().split(","))
    assert "urllib.request" not in modules
    assert "httpx" not in modules
    assert "requests" not in modules


def test_header_injection_is_refused_without_echo(
    hostile: Callable[..., HostileServer], make_client: Callable[..., Client]
) -> None:
    """A header value with CR/LF fails the request and the value is not echoed."""
    server = hostile()
    bad = (("Authorization", "Bearer CANARY\r\nX-Evil: 1"),)
    with pytest.raises(TransportError) as info:
        make_client().send(Request("GET", f"{server.url}/v2/", bad))
    assert "CANARY" not in str(info.value)
    assert server.requests == []


def test_trust_context_is_lazy_on_debian_layout() -> None:
    """On Debian's layout the system store is the hashed directory, read lazily."""
    import ssl

    paths = ssl.get_default_verify_paths()
    bundle = os.path.realpath(paths.cafile or "")
    capath = os.path.realpath(paths.capath or "")
    if bundle != os.path.join(capath, "ca-certificates.crt"):
        pytest.skip("not Debian's ca-certificates layout")
    context = trust_context()
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing parsed up front
    # The assumption behind it: the directory holds every certificate of the bundle.
    with open(bundle, encoding="ascii", errors="replace") as f:
        in_bundle = f.read().count("BEGIN CERTIFICATE")
    hashed = [n for n in os.listdir(capath) if re.fullmatch(r"[0-9a-f]{8}\.[0-9]+", n)]
    assert len(hashed) == in_bundle


@pytest.mark.parametrize("layout", ["debian", "other"])
def test_system_trust_store_from_environment(
    layout: str,
    hostile: Callable[..., HostileServer],
    test_pki: Pki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_client: Callable[..., Client],
) -> None:
    """SSL_CERT_FILE/SSL_CERT_DIR are honoured, in the lazy layout and the full-load one."""
    openssl = require_program("openssl", "openssl")
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "test-ca.pem").write_bytes(test_pki.ca_path.read_bytes())
    subprocess.run([openssl, "rehash", str(certs)], check=True, capture_output=True)
    bundle = certs / "ca-certificates.crt" if layout == "debian" else tmp_path / "bundle.pem"
    bundle.write_bytes(test_pki.ca_path.read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(certs))
    server = hostile(tls=True)
    server.route("/v2/", Reply(200))
    assert make_client().send(Request("GET", f"{server.url}/v2/")).status == 200
    lazy = trust_context().cert_store_stats()["x509_ca"] == 0
    assert lazy is (layout == "debian")
