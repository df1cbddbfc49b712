"""The login flow: stepped by hand, against real registries, and against hostile servers.

Security cases are named after peers-and-security.md §5 (S2, S3, S5-S8,
S10, S18, S24).  Every hostile test asserts that the attacker's server
received nothing at all.
"""

from __future__ import annotations

import base64
import contextlib
import http
import json
import os
import socket
import subprocess
import traceback
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regcred._address import DOCKER_HUB as HUB_KEY
from regcred._net.auth import Verification, login_flow, verify_login
from regcred._net.http import Request, Response, TransportError
from regcred._net.options import LoginOptions
from regcred._net.policy import HUB_ENDPOINT, check_realm, login_endpoints
from regcred.errors import AddressError, InsecureRedirectError, LoginError
from tests.conftest import require_program
from tests.fixtures.hostile import Reply

if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from pathlib import Path

    from tests.fixtures.hostile import HostileServer
    from tests.fixtures.registry import Pki, Registry

CANARY = "CANARY-7f3a9c-secret"


def reply(status: int, headers: tuple[tuple[str, str], ...] = (), body: bytes = b"") -> Response:
    """A fake response, for stepping the generator."""
    return Response(status, http.HTTPStatus(status).phrase, headers, body, url="")


def challenge(value: str) -> tuple[tuple[str, str], ...]:
    """A WWW-Authenticate header tuple."""
    return (("WWW-Authenticate", value),)


def finish(flow: Generator[Request, Response, Verification], response: Response) -> Verification:
    """Send the last response and return the flow's result."""
    with pytest.raises(StopIteration) as stop:
        flow.send(response)
    result: Verification = stop.value.value
    return result


def auth_header(request: Request) -> str | None:
    """The request's Authorization header, if any."""
    return next((v for k, v in request.headers if k == "Authorization"), None)


def basic(username: str, password: str) -> str:
    """The Basic header value for a pair."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# --------------------------------------------------------------------------- endpoints


def test_docker_hub_endpoint_s10b() -> None:
    """S10(b): the Docker Hub key goes to registry-1.docker.io over verified https only."""
    assert login_endpoints(HUB_KEY) == [(HUB_ENDPOINT, True)]
    assert login_endpoints("docker.io") == [(HUB_ENDPOINT, True)]
    # Every Hub alias, and --insecure never weakens Hub's TLS.
    for alias in ("index.docker.io", "registry-1.docker.io", "Docker.IO"):
        assert login_endpoints(alias, insecure=True) == [(HUB_ENDPOINT, True)]
    flow = login_flow(HUB_KEY, username="u", secret="p")
    assert next(flow) == Request("GET", "https://registry-1.docker.io/v2/")


@pytest.mark.parametrize(
    ("key", "insecure", "expected"),
    [
        ("reg.example", False, [("https://reg.example", True)]),
        ("reg.example:5000", False, [("https://reg.example:5000", True)]),
        (
            "127.0.0.1:5000",
            False,
            [("https://127.0.0.1:5000", True), ("http://127.0.0.1:5000", True)],
        ),
        (
            "localhost:5000",
            False,
            [("https://localhost:5000", True), ("http://localhost:5000", True)],
        ),
        ("[::1]:5000", False, [("https://[::1]:5000", True), ("http://[::1]:5000", True)]),
        ("127.0.0.1.evil.example", False, [("https://127.0.0.1.evil.example", True)]),
        ("reg.example", True, [("https://reg.example", False), ("http://reg.example", True)]),
    ],
)
def test_login_endpoints(key: str, insecure: bool, expected: list[tuple[str, bool]]) -> None:
    """https first; plain http only for loopback names or --insecure."""
    assert login_endpoints(key, insecure=insecure) == expected


@pytest.mark.parametrize("key", ["reg.example", "127.0.0.1:5000", "localhost:5000", "[::1]:5000"])
def test_require_tls_is_verified_https_only(key: str) -> None:
    """podman's --tls-verify=true: no plain http, loopback included."""
    assert login_endpoints(key, require_tls=True) == [(f"https://{key}", True)]


def test_insecure_and_require_tls_exclude_each_other() -> None:
    from regcred._net.options import LoginOptions
    from regcred.errors import UsageError

    with pytest.raises(UsageError, match="exclude each other"):
        LoginOptions(insecure=True, require_tls=True)


@pytest.mark.parametrize(
    "key",
    [
        *("", "u:p@reg", "reg/path", "https://reg", "reg:0", "reg:99999", "reg :5", "::1:5000"),
        *("re\ng", "[1.2]:5000", "[zz]", "[::1", "[127.0.0.1]:5000"),
    ],
)
def test_invalid_server_keys(key: str) -> None:
    """Anything but host[:port] (or the Hub key) is refused before any request."""
    with pytest.raises(AddressError):
        login_endpoints(key)


# --------------------------------------------------------------------------- stepped flows


def test_basic_flow() -> None:
    """Ping, then one Basic-authenticated GET /v2/: two requests, like docker."""
    flow = login_flow("reg.example", username="alice", secret="s3cret")
    ping = next(flow)
    assert (ping.method, ping.url, auth_header(ping)) == ("GET", "https://reg.example/v2/", None)
    login = flow.send(reply(401, challenge('Basic realm="Registry Realm"')))
    assert (login.url, auth_header(login)) == ("https://reg.example/v2/", basic("alice", "s3cret"))
    assert finish(flow, reply(200)) == Verification("https://reg.example", verified=True, identity_token=None)


def test_bearer_flow() -> None:
    """Ping, token GET with docker's exact query and Basic, then GET /v2/ with the token."""
    flow = login_flow("reg.example", username="alice", secret="s3cret")
    next(flow)
    token_request = flow.send(
        reply(401, challenge('Bearer realm="https://auth.example/token?x=1",service="reg svc"'))
    )
    assert token_request.method == "GET"
    assert token_request.url == (
        "https://auth.example/token?account=alice&client_id=docker&offline_token=true&service=reg+svc&x=1"
    )
    assert auth_header(token_request) == basic("alice", "s3cret")
    body = json.dumps({"token": "old", "access_token": "AT", "refresh_token": "RT"}).encode()
    final = flow.send(reply(200, (), body))
    assert (final.url, auth_header(final)) == ("https://reg.example/v2/", "Bearer AT")
    assert finish(flow, reply(200)) == Verification("https://reg.example", verified=True, identity_token="RT")


def test_identity_token_flow_s24() -> None:
    """S24: an identity token is POSTed as a refresh_token grant, never sent as Basic."""
    flow = login_flow("reg.example", username="<token>", secret="IDTOKEN")
    next(flow)
    post = flow.send(reply(401, challenge('Bearer realm="https://auth.example/token",service=svc')))
    assert (post.method, post.url) == ("POST", "https://auth.example/token")
    assert post.body == b"client_id=docker&grant_type=refresh_token&refresh_token=IDTOKEN&scope=&service=svc"
    assert ("Content-Type", "application/x-www-form-urlencoded") in post.headers
    assert auth_header(post) is None
    final = flow.send(reply(200, (), b'{"access_token": "AT"}'))
    assert auth_header(final) == "Bearer AT"
    assert finish(flow, reply(200)).identity_token == "IDTOKEN"  # docker keeps the old one


def test_identity_token_with_basic_only_registry_s24() -> None:
    """S24: a Basic-only registry cannot take an identity token; nothing is sent."""
    flow = login_flow("reg.example", username="<token>", secret="IDTOKEN")
    next(flow)
    with pytest.raises(LoginError, match="only accepts Basic"):
        flow.send(reply(401, challenge('Basic realm="r"')))


def test_basic_preferred_when_both_offered() -> None:
    """With Basic and Bearer both offered, the password stays with the registry."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    both = (("WWW-Authenticate", 'Bearer realm="https://auth.example/t"'),)
    nxt = flow.send(reply(401, (*both, ("WWW-Authenticate", 'Basic realm="r"'))))
    assert nxt.url == "https://reg.example/v2/"
    assert auth_header(nxt) == basic("u", "p")


def test_identity_token_hidden_from_repr() -> None:
    """repr() of a Verification never shows the identity token."""
    result = Verification("https://reg.example", verified=True, identity_token=CANARY)
    assert CANARY not in repr(result)
    assert CANARY not in str(result)


def test_no_challenge_is_unverified() -> None:
    """A 200 ping means the registry asked for nothing: one request, verified=False."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    assert finish(flow, reply(200)) == Verification(
        "https://reg.example", verified=False, identity_token=None
    )


@pytest.mark.parametrize(
    ("ping", "message"),
    [
        (reply(404), "login attempt to https://reg.example/v2/ failed with status: 404 Not Found"),
        (
            reply(401),
            "login attempt to https://reg.example/v2/ failed with status: 401 Unauthorized",
        ),
        (reply(401, challenge("Negotiate abc==")), "unsupported authentication (negotiate)"),
        (reply(401, challenge("Bearer service=x")), "no realm specified for token auth challenge"),
    ],
)
def test_ping_errors(ping: Response, message: str) -> None:
    """Odd pings fail with docker's wording."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    with pytest.raises(LoginError) as info:
        flow.send(ping)
    assert message in str(info.value)


def test_wrong_password_basic() -> None:
    """A 401 to the credentials is docker's 'login attempt ... failed' error."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    flow.send(reply(401, challenge("Basic realm=r")))
    with pytest.raises(LoginError) as info:
        flow.send(reply(401, challenge("Basic realm=r")))
    assert str(info.value) == (
        "login attempt to https://reg.example/v2/ failed with status: 401 Unauthorized"
    )


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (reply(401, (), b'{"details":"incorrect username or password"}'),
         "unauthorized: incorrect username or password"),
        (reply(401, (), b'{"errors":[{"code":"UNAUTHORIZED","message":"bad creds"}]}'),
         "unauthorized: bad creds"),
        (reply(401, challenge('Bearer error="invalid_token",error_description="expired"')),
         "unauthorized: expired"),
        (reply(401, (), b"not json"), "unauthorized: authentication required"),
        (reply(403, (), b'{"details":"nope"}'), "denied: nope"),
        (reply(429, (), b'{"details":"slow down"}'), "toomanyrequests: slow down"),
        (reply(500), "received unexpected HTTP status: 500 Internal Server Error"),
        (reply(200, (), b"{}"), "did not include a token in the response"),
        (reply(200, (), b'{"token": "a\\r\\nInjected: 1"}'), "malformed token"),
        (reply(200, (), b"[]"), "invalid token response"),
    ],
)  # fmt: skip
def test_token_errors(response: Response, message: str) -> None:
    """Token server failures map to docker's messages, prefixed like docker's url.Error."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    flow.send(reply(401, challenge('Bearer realm="https://auth.example/t",service=s')))
    with pytest.raises(LoginError) as info:
        flow.send(response)
    assert message in str(info.value)
    if response.status >= 400:
        assert str(info.value).startswith('Get "https://reg.example/v2/": ')


def test_bearer_final_must_be_200() -> None:
    """The token-authenticated GET /v2/ must answer exactly 200."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    flow.send(reply(401, challenge('Bearer realm="https://auth.example/t"')))
    flow.send(reply(200, (), b'{"token":"T"}'))
    with pytest.raises(LoginError, match="failed with status: 204 No Content"):
        flow.send(reply(204))


def test_empty_credentials_send_nothing() -> None:
    """No username or no secret fails before any request (docker: no basic auth credentials)."""
    with pytest.raises(LoginError, match="no basic auth credentials"):
        next(login_flow("reg.example", username="", secret="p"))


def test_no_downgrade_after_https_failure_s5() -> None:
    """S5: a non-loopback registry whose https fails is never tried over http."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    with pytest.raises(TransportError, match="connection refused"):
        flow.throw(TransportError('Get "https://reg.example/v2/": connect: connection refused'))


def test_loopback_falls_back_to_http_without_credentials() -> None:
    """A loopback registry whose https fails is pinged over http, unauthenticated."""
    flow = login_flow("127.0.0.1:5000", username="u", secret="p")
    next(flow)
    retry = flow.throw(TransportError("server gave HTTP response to HTTPS client"))
    assert (retry.url, auth_header(retry)) == ("http://127.0.0.1:5000/v2/", None)


def test_no_http_retry_after_https_401_s6() -> None:
    """S6: an insecure registry that rejects credentials over https is not retried over http."""
    flow = login_flow("reg.example", username="u", secret="p", insecure=True)
    ping = next(flow)
    assert (ping.url, ping.verify) == ("https://reg.example/v2/", False)
    flow.send(reply(401, challenge("Basic realm=r")))
    with pytest.raises(LoginError, match=r"https://reg\.example/v2/ failed with status: 401"):
        flow.send(reply(401, challenge("Basic realm=r")))


def test_same_origin_redirect_keeps_credentials() -> None:
    """A same-origin redirect is followed with the Authorization header."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    flow.send(reply(401, challenge("Basic realm=r")))
    hop = flow.send(reply(307, (("Location", "/v2/elsewhere?sig=1"),)))
    assert (hop.url, auth_header(hop)) == (
        "https://reg.example/v2/elsewhere?sig=1",
        basic("u", "p"),
    )
    assert finish(flow, reply(200)).verified


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/v2/",
        "https://reg.example:444/v2/",
        "http://reg.example/v2/",
        "//evil.example/v2/",
        "https://reg.example@evil.example/v2/",
    ],
)
def test_cross_origin_redirect_is_refused_s7(location: str) -> None:
    """S7: scheme, host or port changes are refused, before any request goes there."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    flow.send(reply(401, challenge("Basic realm=r")))
    with pytest.raises(InsecureRedirectError):
        flow.send(reply(302, (("Location", location),)))


def test_redirect_loop_is_bounded() -> None:
    """Same-origin redirects stop after a few hops."""
    flow = login_flow("reg.example", username="u", secret="p")
    next(flow)
    for _ in range(5):
        flow.send(reply(302, (("Location", "/v2/"),)))
    with pytest.raises(LoginError, match="stopped after 5 redirects"):
        flow.send(reply(302, (("Location", "/v2/"),)))


@pytest.mark.parametrize(
    ("realm", "endpoint"),
    [
        ("https://auth.docker.io/token", "https://registry-1.docker.io"),
        ("https://127.0.0.1:9000/token", "https://127.0.0.1:5000"),  # the registry's own host
        ("http://127.0.0.1:9000/token", "http://127.0.0.1:5000"),  # plain-http registry, same host
        ("https://127.1:9000/token", "https://127.0.0.1:5000"),  # same address, other spelling
        ("https://8.8.8.8/token", "https://reg.example"),  # a global IP literal
    ],
)
def test_realm_allowed(realm: str, endpoint: str) -> None:
    """Realms that docker users rely on pass the policy."""
    assert check_realm(realm, endpoint) == realm


@pytest.mark.parametrize(
    ("realm", "endpoint"),
    [
        ("http://auth.example/token", "https://reg.example"),  # http realm, https registry
        ("http://127.0.0.1:9/token", "https://127.0.0.1:5000"),  # even on the same host
        ("http://127.0.0.2:9/token", "http://127.0.0.1:5000"),  # http, another host
        ("https://127.0.0.2/token", "https://127.0.0.1:5000"),  # loopback, not the registry
        ("https://169.254.169.254/latest/meta-data", "https://reg.example"),
        ("https://[fd00:ec2::254]/", "https://reg.example"),
        ("https://[::ffff:169.254.169.254]/", "https://reg.example"),
        ("https://2852039166/", "https://reg.example"),  # 169.254.169.254 as one number
        ("https://0xa9.0xfe.0xa9.0xfe/", "https://reg.example"),
        ("https://10.0.0.1/token", "https://reg.example"),
        ("https://192.168.1.1/token", "https://reg.example"),
        ("https://0.0.0.0/token", "https://reg.example"),
        ("https://[::]/token", "https://reg.example"),
        ("https://localhost/token", "https://reg.example"),
        ("https://user:pw@auth.example/token", "https://reg.example"),
        ("file:///etc/passwd", "https://reg.example"),
        ("ftp://auth.example/", "https://reg.example"),
        ("https:///token", "https://reg.example"),
        ("/token", "https://reg.example"),
    ],
)
def test_realm_refused_s2(realm: str, endpoint: str) -> None:
    """S2: malicious realms (http from https, private/link-local/loopback IPs, odd schemes)."""
    with pytest.raises(LoginError, match="refusing token realm"):
        check_realm(realm, endpoint)


# --------------------------------------------------------------------------- real registries


def test_basic_login_over_http(registry_http: Registry) -> None:
    """Basic auth on a plain-HTTP loopback registry: https fails, http verifies."""
    lines: list[str] = []
    result = verify_login(
        registry_http.address,
        username=registry_http.username,
        secret=registry_http.password,
        log=lines.append,
    )
    assert result == Verification(f"http://{registry_http.address}", verified=True, identity_token=None)
    exchanges = [line for line in lines if " -> " in line]
    assert exchanges == [
        f"GET http://{registry_http.address}/v2/ -> 401 Unauthorized",
        f"GET http://{registry_http.address}/v2/ (Authorization: Basic REDACTED) -> 200 OK",
    ]


def test_basic_login_wrong_password(registry_http: Registry) -> None:
    """A wrong password is refused with docker's message."""
    with pytest.raises(LoginError) as info:
        verify_login(registry_http.address, username=registry_http.username, secret="wrong-pw")
    assert str(info.value) == (
        f"login attempt to http://{registry_http.address}/v2/ failed with status: 401 Unauthorized"
    )


def test_basic_login_over_tls_with_cert_dir(registry_tls: Registry) -> None:
    """A TLS registry under the test CA verifies with the CA from a cert dir."""
    result = verify_login(
        registry_tls.address,
        username=registry_tls.username,
        secret=registry_tls.password,
        options=LoginOptions(cert_dirs=[str(registry_tls.cert_dir)]),
    )
    assert result == Verification(f"https://{registry_tls.address}", verified=True, identity_token=None)


def test_tls_without_ca_fails_with_the_tls_reason(registry_tls: Registry) -> None:
    """Without the CA the https error is reported (http on the TLS port explains nothing)."""
    with pytest.raises(LoginError) as info:
        verify_login(registry_tls.address, username=registry_tls.username, secret=registry_tls.password)
    assert "failed to verify certificate" in str(info.value)


def test_insecure_skips_tls_verification(registry_tls: Registry) -> None:
    """``insecure=True`` logs in to the TLS registry without its CA."""
    result = verify_login(
        registry_tls.address,
        username=registry_tls.username,
        secret=registry_tls.password,
        options=LoginOptions(insecure=True),
    )
    assert result.endpoint == f"https://{registry_tls.address}"
    assert result.verified


def test_token_login_and_refresh_token_login(registry_token: Registry) -> None:
    """Token auth returns a refresh token, and that identity token logs in again."""
    token_server = registry_token.token_server
    assert token_server is not None
    result = verify_login(
        registry_token.address, username=registry_token.username, secret=registry_token.password
    )
    assert result.verified
    assert result.identity_token in token_server.refresh_tokens
    [grant] = token_server.requests
    assert grant["query"] == {
        "account": registry_token.username,
        "client_id": "docker",
        "offline_token": "true",
        "service": "regcred-test-registry",
    }
    assert grant["headers"]["Authorization"] == basic(registry_token.username, registry_token.password)
    assert result.identity_token is not None
    again = verify_login(registry_token.address, username="<token>", secret=result.identity_token)
    assert again.verified
    refresh = token_server.requests[-1]
    assert refresh["method"] == "POST"
    assert refresh["form"] == {
        "client_id": "docker",
        "grant_type": "refresh_token",
        "refresh_token": result.identity_token,
        "scope": "",
        "service": "regcred-test-registry",
    }
    assert "Authorization" not in refresh["headers"]


def test_token_login_wrong_password(registry_token: Registry) -> None:
    """The token server's 401 details become docker's unauthorized message."""
    with pytest.raises(LoginError) as info:
        verify_login(registry_token.address, username=registry_token.username, secret="wrong-pw")
    assert str(info.value) == (
        f'Get "http://{registry_token.address}/v2/": unauthorized: incorrect username or password'
    )


def test_bad_identity_token(registry_token: Registry) -> None:
    """An unknown identity token is refused by the token server."""
    with pytest.raises(LoginError, match="unauthorized: invalid grant"):
        verify_login(registry_token.address, username="<token>", secret="not-a-known-token")


def test_token_login_over_tls(registry_token_tls: Registry) -> None:
    """TLS registry and TLS token server, both trusted through the registry's cert dir."""
    result = verify_login(
        registry_token_tls.address,
        username=registry_token_tls.username,
        secret=registry_token_tls.password,
        options=LoginOptions(cert_dirs=[str(registry_token_tls.cert_dir)]),
    )
    assert result.endpoint == f"https://{registry_token_tls.address}"
    assert result.verified
    assert result.identity_token is not None


# --------------------------------------------------------------------------- hostile servers


def _registry(hostile: Callable[..., HostileServer], header: str, *, tls: bool = False) -> HostileServer:
    server = hostile("127.0.0.1", tls=tls)
    server.route("/v2/", Reply(401, challenge(header)))
    return server


def _login(server: HostileServer, **kwargs: object) -> LoginError:
    lines: list[str] = []
    with pytest.raises(LoginError) as info:
        verify_login(
            server.address,
            username="victim",
            secret=CANARY,
            log=lines.append,
            **kwargs,  # type: ignore[arg-type]
        )
    assert CANARY not in str(info.value)
    assert not any(CANARY in line for line in lines)
    return info.value


def test_s2_realm_on_another_loopback_host(hostile: Callable[..., HostileServer]) -> None:
    """S2: a realm on 127.0.0.2 (not the registry's host) gets nothing."""
    attacker = hostile("127.0.0.2")
    registry = _registry(hostile, f'Bearer realm="http://{attacker.address}/token",service=x')
    assert "refusing token realm" in str(_login(registry))
    assert attacker.requests == []


def test_s2_https_realm_on_private_ip(hostile: Callable[..., HostileServer]) -> None:
    """S2: an https realm on a loopback/private IP that is not the registry is refused."""
    attacker = hostile("127.0.0.3", tls=True)
    registry = _registry(hostile, f'Bearer realm="https://{attacker.address}/token"')
    assert "refusing token realm" in str(_login(registry))
    assert attacker.requests == []


def test_s2_metadata_realm(hostile: Callable[..., HostileServer]) -> None:
    """S2: the cloud metadata address is never asked for a token."""
    registry = _registry(hostile, 'Bearer realm="http://169.254.169.254/latest/api/token"')
    assert "refusing token realm" in str(_login(registry))
    assert len(registry.requests) == 1


def test_s2_http_realm_from_https_registry(
    hostile: Callable[..., HostileServer], test_pki: Pki, tmp_path: Path
) -> None:
    """S2: an https registry cannot send credentials to an http realm, even on its own host."""
    attacker = hostile("127.0.0.1")
    registry = _registry(hostile, f'Bearer realm="http://{attacker.address}/token"', tls=True)
    (tmp_path / "ca.crt").write_bytes(test_pki.ca_path.read_bytes())
    assert "only sent to an https realm" in str(
        _login(registry, options=LoginOptions(cert_dirs=[str(tmp_path)]))
    )
    assert attacker.requests == []


def test_s3_token_redirect_to_attacker(hostile: Callable[..., HostileServer]) -> None:
    """S3: the token endpoint redirecting to another origin is not followed."""
    attacker = hostile("127.0.0.2")
    token = hostile("127.0.0.1")
    token.route("/token", Reply(302, (("Location", f"http://{attacker.address}/steal"),)))
    registry = _registry(hostile, f'Bearer realm="http://{token.address}/token"')
    assert isinstance(_login(registry), InsecureRedirectError)
    assert len(token.requests) == 1
    assert attacker.requests == []


def test_s3_token_redirect_to_metadata(hostile: Callable[..., HostileServer]) -> None:
    """S3: a token redirect to 169.254.169.254 is refused before connecting."""
    token = hostile("127.0.0.1")
    token.route("/token", Reply(307, (("Location", "http://169.254.169.254/"),)))
    registry = _registry(hostile, f'Bearer realm="http://{token.address}/token"')
    assert isinstance(_login(registry), InsecureRedirectError)


def _hostname_for_loopback() -> str:
    """A name that resolves to 127.0.0.1 but is not a loopback *name* (e.g. the host name)."""
    for name in (socket.gethostname(), "vm", "ip6-localhost"):
        with contextlib.suppress(OSError):
            if name != "localhost" and socket.gethostbyname(name).startswith("127."):
                return name
    pytest.skip("no host name other than localhost resolves to loopback here")


def test_s5_no_http_fallback_for_non_loopback_name(hostile: Callable[..., HostileServer]) -> None:
    """S5: https failing to a non-loopback name is final; the plain-http server gets nothing."""
    name = _hostname_for_loopback()
    plain = hostile("127.0.0.1")
    plain.route("/v2/", Reply(401, challenge("Basic realm=r")))
    with pytest.raises(LoginError, match="server gave HTTP response to HTTPS client"):
        verify_login(f"{name}:{plain.port}", username="victim", secret=CANARY)
    assert plain.requests == []


def test_s6_insecure_registry_401_over_https_stops(
    hostile: Callable[..., HostileServer],
) -> None:
    """S6: --insecure, https answers 401 to the credentials: error, no second endpoint."""
    registry = _registry(hostile, 'Basic realm="r"', tls=True)
    lines: list[str] = []
    with pytest.raises(LoginError, match="failed with status: 401"):
        verify_login(
            registry.address,
            username="victim",
            secret=CANARY,
            options=LoginOptions(insecure=True),
            log=lines.append,
        )
    assert len(registry.requests) == 2
    assert not any(line.startswith("trying http://") for line in lines)


@pytest.mark.parametrize("kind", ["other host", "same host other port", "https to http", "a-b-b"])
def test_s7_redirect_hygiene(
    hostile: Callable[..., HostileServer], test_pki: Pki, tmp_path: Path, kind: str
) -> None:
    """S7: an authenticated request redirected off-origin never carries credentials there."""
    tls = kind == "https to http"
    registry = hostile("127.0.0.1", tls=tls)
    other = hostile("127.0.0.2" if kind in {"other host", "a-b-b"} else "127.0.0.1")
    target = f"http://{other.address}/v2/"
    if tls:
        target = f"http://{registry.address}/v2/"
    other.route("/v2/", Reply(302, (("Location", f"http://{other.address}/v2/again"),)))
    registry.route(
        "/v2/",
        lambda r: (
            Reply(302, (("Location", target),))
            if r.header("Authorization")
            else Reply(401, challenge("Basic realm=r"))
        ),
    )
    (tmp_path / "ca.crt").write_bytes(test_pki.ca_path.read_bytes())
    error = _login(registry, options=LoginOptions(cert_dirs=[str(tmp_path)]))
    assert isinstance(error, InsecureRedirectError)
    assert other.requests == []
    assert len(registry.requests) == 2


def test_s7_redirect_at_ping_is_refused(hostile: Callable[..., HostileServer]) -> None:
    """A cross-origin redirect already at the unauthenticated ping is refused."""
    attacker = hostile("127.0.0.2")
    registry = hostile("127.0.0.1")
    registry.route("/v2/", Reply(301, (("Location", f"http://{attacker.address}/v2/"),)))
    assert isinstance(_login(registry), InsecureRedirectError)
    assert attacker.requests == []


def test_s8_challenge_after_redirect(hostile: Callable[..., HostileServer]) -> None:
    """S8: after a token, a redirect to the attacker (which would challenge) gets nothing."""
    attacker = hostile("127.0.0.2")
    token = hostile("127.0.0.1")
    token.route("/token", Reply(200, (), json.dumps({"token": "TOKEN-" + CANARY}).encode()))
    realm = f"http://{token.address}/token"
    attacker.route("/v2/", Reply(401, challenge(f'Bearer realm="{realm}"')))
    registry = hostile("127.0.0.1")
    registry.route(
        "/v2/",
        lambda r: (
            Reply(307, (("Location", f"http://{attacker.address}/v2/"),))
            if r.header("Authorization")
            else Reply(401, challenge(f'Bearer realm="{realm}"'))
        ),
    )
    assert isinstance(_login(registry), InsecureRedirectError)
    assert attacker.requests == []
    assert len(token.requests) == 1


def test_s18_canary_never_logged(hostile: Callable[..., HostileServer]) -> None:
    """S18: secrets, tokens, signed-URL queries and echoed passwords never reach logs or errors."""
    token = hostile("127.0.0.1")
    token.route(
        "/token",
        Reply(200, (), json.dumps({"token": "AT-" + CANARY, "refresh_token": "RT-" + CANARY}).encode()),
    )
    realm = f"http://{token.address}/token?X-Amz-Signature={CANARY}"
    registry = hostile("127.0.0.1")
    registry.route(
        "/v2/",
        lambda r: (
            Reply(401, challenge(f'Bearer realm="{realm}",service="{CANARY}"'))
            if not r.header("Authorization")
            else Reply(302, (("Location", f"/v2/signed?access_token={CANARY}"),))
        ),
    )
    registry.route(
        "/v2/signed",
        Reply(403, (), json.dumps({"details": f"bad password {CANARY}"}).encode()),
    )
    lines: list[str] = []
    with pytest.raises(LoginError) as info:
        verify_login(registry.address, username="victim", secret=CANARY, log=lines.append)
    text = "\n".join([*lines, str(info.value), *traceback.format_exception(info.value)])
    assert lines
    assert CANARY not in text
    assert "Bearer REDACTED" in text


def test_s18_token_server_echoing_the_password(hostile: Callable[..., HostileServer]) -> None:
    """S18: a token server that echoes the password in its error does not get it printed."""
    token = hostile("127.0.0.1")
    token.route("/token", Reply(401, (), json.dumps({"details": f"{CANARY} is wrong"}).encode()))
    registry = _registry(hostile, f'Bearer realm="http://{token.address}/token"')
    error = _login(registry)
    assert "unauthorized: REDACTED is wrong" in str(error)


def test_no_challenge_real_server_is_unverified(hostile: Callable[..., HostileServer]) -> None:
    """A registry with no auth at all: one ping, verified=False, no credentials sent."""
    open_registry = hostile("127.0.0.1")
    open_registry.route("/v2/", Reply(200, (), b"{}"))
    result = verify_login(open_registry.address, username="u", secret=CANARY)
    assert result == Verification(f"http://{open_registry.address}", verified=False, identity_token=None)
    assert not open_registry.saw_credentials()


# --------------------------------------------------------------------------- docker parity


def _fake_registry(hostile: Callable[..., HostileServer], scheme: str) -> tuple[HostileServer, HostileServer]:
    """A recording registry (and token server) that accept user/pw with ``scheme``."""
    registry, token = hostile("127.0.0.1"), hostile("127.0.0.1")
    if scheme == "basic":
        ok, header = basic("user", "pw"), 'Basic realm="r"'
    else:
        ok, header = "Bearer T", f'Bearer realm="http://{token.address}/token",service="svc"'
        body = json.dumps({"token": "T", "refresh_token": "R"}).encode()
        token.route("/token", Reply(200, (("Content-Type", "application/json"),), body))
    registry.route(
        "/v2/",
        lambda r: Reply(200, (), b"{}") if r.header("Authorization") == ok else Reply(401, challenge(header)),
    )
    return registry, token


def _exchange(servers: tuple[HostileServer, HostileServer]) -> list[tuple[str, str, str, str]]:
    seen = [
        (name, r.method, r.path, (r.header("Authorization") or "").split(" ")[0])
        for name, server in zip(("registry", "token"), servers, strict=True)
        for r in server.requests
    ]
    for server in servers:
        server.requests.clear()
    return seen


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_same_requests_as_docker_cli(
    hostile: Callable[..., HostileServer], tmp_path: Path, scheme: str
) -> None:
    """The docker CLI (client-side login) and regcred send the same requests, in the same order."""
    docker = require_program("docker", "docker.io")
    servers = _fake_registry(hostile, scheme)
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path), "DOCKER_HOST": "unix:///nonexistent"}
    (tmp_path / "config.json").write_text('{"credsStore": "regcred-test-none"}')
    subprocess.run(
        [docker, "login", servers[0].address, "-u", "user", "--password-stdin"],
        input="pw\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,  # storing fails on purpose (no such helper); the exchange is what counts
    )
    docker_exchange = _exchange(servers)
    assert docker_exchange, "docker sent nothing"
    result = verify_login(servers[0].address, username="user", secret="pw")
    assert result.verified
    assert _exchange(servers) == docker_exchange


def test_ipv6_loopback_registry(hostile: Callable[..., HostileServer]) -> None:
    """A bracketed IPv6 loopback key works end to end (https fails, http verifies)."""
    registry = hostile("::1")
    registry.route(
        "/v2/",
        lambda r: (
            Reply(200, (), b"{}")
            if r.header("Authorization") == basic("user", "pw")
            else Reply(401, challenge('Basic realm="r"'))
        ),
    )
    result = verify_login(f"[::1]:{registry.port}", username="user", secret="pw")
    assert result == Verification(f"http://[::1]:{registry.port}", verified=True, identity_token=None)
    assert [r.header("Host") for r in registry.requests] == [f"[::1]:{registry.port}"] * 2


# --------------------------------------------------------------------------- property: hostile scripts

REGISTRY = "https://reg.example"
# Allowed as realms (https on a DNS name), but only for the token request itself.
REALMS = ("https://auth.example", "https://evil.example", "https://reg.example:444")
NEVER = (
    "http://reg.example",
    "http://169.254.169.254",
    "https://10.0.0.1",
    "https://127.0.0.1",
    "http://auth.example",
)
_any_origin = st.sampled_from((REGISTRY, *REALMS, *NEVER))


@st.composite
def hostile_responses(draw: st.DrawFn) -> Response:
    """Any mix of challenges, redirects, token bodies and statuses a server could send."""
    kind = draw(st.sampled_from(["challenge", "redirect", "token", "status"]))
    if kind == "challenge":
        realm = draw(_any_origin) + draw(st.sampled_from(["/token", "/t?x=1", ""]))
        scheme = draw(st.sampled_from(["Basic", "Bearer", "Negotiate"]))
        return reply(401, challenge(f'{scheme} realm="{realm}",service="s"'))
    if kind == "redirect":
        location = draw(st.one_of(_any_origin.map(lambda o: o + "/v2/"), st.just("/v2/x")))
        return reply(draw(st.sampled_from([301, 302, 303, 307, 308])), (("Location", location),))
    if kind == "token":
        return reply(200, (), json.dumps({"token": "TOK", "refresh_token": "RT"}).encode())
    return reply(draw(st.sampled_from([200, 204, 400, 401, 403, 404, 500])))


@given(st.lists(hostile_responses(), min_size=1, max_size=12), st.booleans())
def test_hostile_scripts_never_reach_another_origin(responses: list[Response], token_login: bool) -> None:
    """Whatever the servers answer: no forbidden origin, tokens stay home, S24 holds."""
    username = "<token>" if token_login else "user"
    flow = login_flow("reg.example", username=username, secret=CANARY)
    request = next(flow)
    realm_origins: set[str] = set()
    for response in responses:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(request.url))
        assert origin not in NEVER, f"request to {origin}"
        authorization = auth_header(request) or ""
        if b"grant_type=refresh_token" in request.body or "client_id=docker" in request.url:
            realm_origins.add(origin)
        if origin != REGISTRY:  # only a token request (or its same-origin redirect) leaves home
            assert origin in realm_origins
            assert not authorization.startswith("Bearer")
        if token_login:  # S24: the identity token is never a Basic password
            assert not authorization.startswith("Basic")
        try:
            request = flow.send(response)
        except (StopIteration, LoginError):
            return


def test_insecure_applies_to_the_registry_host_only() -> None:
    """--insecure skips TLS checks for the registry's host, not for a realm elsewhere."""
    for realm_host, verify in (("reg.example:9000", False), ("auth.example", True)):
        flow = login_flow("reg.example", username="u", secret="p", insecure=True)
        next(flow)
        token_request = flow.send(reply(401, challenge(f'Bearer realm="https://{realm_host}/t"')))
        assert token_request.verify is verify


def test_s4_untrusted_realm_certificate(
    hostile: Callable[..., HostileServer], test_pki: Pki, tmp_path: Path
) -> None:
    """S4: a realm whose certificate does not verify gets no Basic credentials.

    The registry's CA (from its cert dir) is not extended to the realm's host.
    """
    name = _hostname_for_loopback()
    token = hostile("127.0.0.1", tls=True)  # certificate for 127.0.0.1/localhost, not `name`
    token.route("/token", Reply(200, (), b'{"token": "T"}'))
    registry = _registry(hostile, f'Bearer realm="https://{name}:{token.port}/token"', tls=True)
    (tmp_path / "ca.crt").write_bytes(test_pki.ca_path.read_bytes())
    error = _login(registry, options=LoginOptions(cert_dirs=[str(tmp_path)]))
    assert "failed to verify certificate" in str(error)
    assert token.requests == []


def test_token_server_grants_requested_scopes(registry_token: Registry) -> None:
    """The fixture's tokens carry the scopes asked for, so push/pull interop works."""
    token_server = registry_token.token_server
    assert token_server is not None
    path = "/v2/regcred/probe/tags/list"
    assert registry_token.get(path)[0] == 401
    scoped = token_server.sign(registry_token.username, ["repository:regcred/probe:pull"])
    status, body = registry_token.get(path, {"Authorization": f"Bearer {scoped}"})
    assert (status, json.loads(body)["errors"][0]["code"]) == (404, "NAME_UNKNOWN")
    unscoped = token_server.sign(registry_token.username)
    assert registry_token.get(path, {"Authorization": f"Bearer {unscoped}"})[0] == 401


def test_the_library_refuses_insecure_with_require_tls_before_anything(tmp_path: Path) -> None:
    """``regcred.login(insecure=True, require_tls=True)`` is a usage error, even with ``verify=False``."""
    import regcred
    from regcred.errors import UsageError

    for verify in (True, False):
        with pytest.raises(UsageError, match="exclude each other"):
            regcred.login("reg.example", username="u", secret="s", verify=verify, config_dir=tmp_path,
                          insecure=True, require_tls=True)  # fmt: skip
    assert not (tmp_path / "config.json").exists()
