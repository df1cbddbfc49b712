"""RegistryAuth / RequestsAuth policy: login's hostile-server cases (S1-S24), and the flow stepped by hand.

Every hostile test asserts that the attacker's server received nothing (or
no credential at all).  Case names follow peers-and-security.md §5.
"""

from __future__ import annotations

import json
import ssl
import traceback
from typing import TYPE_CHECKING

import httpx
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

import regcred
from regcred._net.flow import Seen, Send, TokenCache, TokenFlow, TokenJob, merge_scopes, request_scopes
from regcred.credentials import Credentials
from regcred.errors import InsecureRedirectError, LoginError
from tests.fixtures.hostile import Reply
from tests.test_auth import CANARY, _hostname_for_loopback, challenge

if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from pathlib import Path

    from tests.fixtures.hostile import HostileServer
    from tests.fixtures.registry import Pki


def _auth(server: HostileServer, lines: list[str] | None = None, **kwargs: object) -> regcred.RegistryAuth:
    creds = Credentials(server.address, "victim", CANARY)
    return regcred.RegistryAuth(credentials=creds, log=None if lines is None else lines.append, **kwargs)  # type: ignore[arg-type]


def _registry(hostile: Callable[..., HostileServer], header: str, *, tls: bool = False) -> HostileServer:
    server = hostile("127.0.0.1", tls=tls)
    server.route("/v2/x/tags/list", Reply(401, challenge(header)))
    return server


def _get(server: HostileServer, *, verify: ssl.SSLContext | bool = True, **kwargs: object) -> LoginError:
    """A GET that must fail with a LoginError that holds no secret (nor do the log lines)."""
    lines: list[str] = []
    auth = _auth(server, lines, **kwargs)
    with httpx.Client(auth=auth, verify=verify) as client, pytest.raises(LoginError) as info:
        client.get(f"{server.url}/v2/x/tags/list")
    text = "\n".join([*lines, str(info.value), *traceback.format_exception(info.value)])
    assert CANARY not in text
    return info.value


def test_s2_realm_on_another_loopback_host(hostile: Callable[..., HostileServer]) -> None:
    """S2: a realm on 127.0.0.2 (not the registry's host) gets nothing."""
    attacker = hostile("127.0.0.2")
    registry = _registry(hostile, f'Bearer realm="http://{attacker.address}/token",service=x')
    assert "refusing token realm" in str(_get(registry))
    assert attacker.requests == []


def test_s2_metadata_and_private_realms(hostile: Callable[..., HostileServer]) -> None:
    """S2: the metadata address and private IPs are never asked for a token."""
    for realm in ("http://169.254.169.254/latest/api/token", "https://10.0.0.1/token"):
        registry = _registry(hostile, f'Bearer realm="{realm}"')
        assert "refusing token realm" in str(_get(registry))
        assert len(registry.requests) == 1


def test_s2_http_realm_from_https_registry(hostile: Callable[..., HostileServer], test_pki: Pki) -> None:
    """S2: an https registry cannot send credentials to an http realm, even on its own host."""
    attacker = hostile("127.0.0.1")
    registry = _registry(hostile, f'Bearer realm="http://{attacker.address}/token"', tls=True)
    error = _get(registry, verify=test_pki.client_context())
    assert "only sent to an https realm" in str(error)
    assert attacker.requests == []


@pytest.mark.parametrize("follow_redirects", [False, True])
@pytest.mark.parametrize("status", [302, 307])
def test_s3_token_redirect_to_attacker(
    hostile: Callable[..., HostileServer], follow_redirects: bool, status: int
) -> None:
    """S3: a token endpoint redirecting elsewhere is not followed, whatever the client's setting."""
    attacker = hostile("127.0.0.2")
    token = hostile("127.0.0.1")
    token.route("/token", Reply(status, (("Location", f"http://{attacker.address}/steal"),)))
    registry = _registry(hostile, f'Bearer realm="http://{token.address}/token"')
    for creds in (
        Credentials(registry.address, "victim", CANARY),
        Credentials(registry.address, "<token>", CANARY),
    ):
        auth = regcred.RegistryAuth(credentials=creds)
        client = httpx.Client(auth=auth, follow_redirects=follow_redirects)
        with client, pytest.raises(InsecureRedirectError) as info:
            client.get(f"{registry.url}/v2/x/tags/list")
        assert CANARY not in str(info.value)
    assert len(token.requests) == 2
    assert attacker.requests == []


def test_s4_untrusted_realm_certificate(hostile: Callable[..., HostileServer], test_pki: Pki) -> None:
    """S4: a realm whose certificate does not verify gets no Basic credentials."""
    name = _hostname_for_loopback()
    token = hostile("127.0.0.1", tls=True)
    token.route("/token", Reply(200, (), b'{"token": "T"}'))
    registry = _registry(hostile, f'Bearer realm="https://{name}:{token.port}/token"', tls=True)
    error = _get(registry, verify=test_pki.client_context())
    assert "failed to verify certificate" in str(error)
    assert token.requests == []


def test_s5_no_credentials_over_plain_http_to_a_remote_name(hostile: Callable[..., HostileServer]) -> None:
    """S5: plain http to a registry that is not loopback by name: its challenge gets no credentials."""
    name = _hostname_for_loopback()
    plain = hostile("127.0.0.1")
    plain.route("/v2/x/tags/list", Reply(401, challenge('Basic realm="r"')))
    auth = regcred.RegistryAuth(credentials=Credentials(f"{name}:{plain.port}", "victim", CANARY))
    with httpx.Client(auth=auth) as client, pytest.raises(LoginError, match="over plain http"):
        client.get(f"http://{name}:{plain.port}/v2/x/tags/list")
    assert not plain.saw_credentials()
    insecure = regcred.RegistryAuth(credentials=auth._flow._explicit, insecure=True)
    with httpx.Client(auth=insecure) as client:
        assert client.get(f"http://{name}:{plain.port}/v2/x/tags/list").status_code == 401
    assert plain.saw_credentials()  # only once the registry is marked insecure


@pytest.mark.parametrize("kind", ["other host", "same host other port", "https to http", "a-b-b"])
@pytest.mark.parametrize("library", ["httpx", "requests"])
def test_s7_s8_redirect_hygiene(
    hostile: Callable[..., HostileServer], test_pki: Pki, tmp_path: Path, kind: str, library: str
) -> None:
    """S7/S8: an authenticated request redirected off-origin carries no credential there, and the
    other origin's challenge (naming the registry's own realm) is never answered."""
    tls = kind == "https to http"
    token = hostile("127.0.0.1", tls=tls)
    token.route("/token", Reply(200, (), json.dumps({"token": "TOKEN-" + CANARY}).encode()))
    realm = f'Bearer realm="{token.url}/token",service=s'
    registry = hostile("127.0.0.1", tls=tls)
    other = hostile("127.0.0.2" if kind in {"other host", "a-b-b"} else "127.0.0.1")
    target = f"http://{other.address}/v2/x/tags/list"  # for "https to http": plain http on the same host
    if kind == "a-b-b":
        other.route("/v2/x/tags/list", Reply(302, (("Location", f"http://{other.address}/v2/again"),)))
        other.route("/v2/again", Reply(401, challenge(realm)))
    else:
        other.route("/v2/x/tags/list", Reply(401, challenge(realm)))
    registry.route(
        "/v2/x/tags/list",
        lambda r: (
            Reply(302, (("Location", target),)) if r.header("Authorization") else Reply(401, challenge(realm))
        ),
    )
    creds = Credentials(registry.address, "victim", CANARY)
    url = f"{registry.url}/v2/x/tags/list"
    config_dir = tmp_path / "cfg"
    (config_dir / "certs.d" / registry.address).mkdir(parents=True)  # the realm's CA, docker's way
    (config_dir / "certs.d" / registry.address / "ca.crt").write_bytes(test_pki.ca_path.read_bytes())
    if library == "httpx":
        auth = regcred.RegistryAuth(credentials=creds, config_dir=config_dir)
        with httpx.Client(auth=auth, follow_redirects=True, verify=test_pki.client_context()) as client:
            status = client.get(url).status_code
    else:
        with requests.Session() as session:
            plugin = regcred.RequestsAuth(credentials=creds, config_dir=config_dir)
            status = session.get(url, auth=plugin, verify=str(test_pki.ca_path)).status_code
    assert status == 401
    assert not other.saw_credentials()
    assert len(token.requests) == 1


def test_s9_upload_location_elsewhere(hostile: Callable[..., HostileServer]) -> None:
    """S9: an upload Location on another host that challenges gets no Authorization nor token."""
    attacker = hostile("127.0.0.2")
    token = hostile("127.0.0.1")
    token.route("/token", Reply(200, (), b'{"token": "T"}'))
    realm = f'Bearer realm="http://{token.address}/token"'
    attacker.route("/upload", Reply(401, challenge(realm)))
    attacker.route("/v2/x/blobs/uploads/u", Reply(401, challenge('Basic realm="r"')))
    with httpx.Client(auth=_auth(hostile("127.0.0.1"))) as client:
        assert client.put(f"http://{attacker.address}/v2/x/blobs/uploads/u", content=b"x").status_code == 401
        with pytest.raises(LoginError, match="refusing token realm"):
            client.put(f"http://{attacker.address}/upload", content=b"x")
    assert not attacker.saw_credentials()
    assert token.requests == []


def test_s18_canary_never_logged(hostile: Callable[..., HostileServer]) -> None:
    """S18: passwords, tokens, signed-URL queries and echoed secrets never reach logs, errors, reprs."""
    token = hostile("127.0.0.1")
    token.route("/token", Reply(401, (), json.dumps({"details": f"{CANARY} is wrong"}).encode()))
    realm = f"http://{token.address}/token?X-Amz-Signature={CANARY}"
    registry = _registry(hostile, f'Bearer realm="{realm}",service="{CANARY}"')
    error = _get(registry)
    assert "unauthorized: REDACTED is wrong" in str(error)
    auth = _auth(registry)
    assert CANARY not in repr(auth)
    assert CANARY not in repr(regcred.RequestsAuth(credentials=auth._flow._explicit))


def test_s24_identity_token_never_basic(hostile: Callable[..., HostileServer]) -> None:
    """S24: a Basic-only registry cannot take an identity token: the 401 comes back, nothing sent."""
    registry = _registry(hostile, 'Basic realm="r"')
    auth = regcred.RegistryAuth(credentials=Credentials(registry.address, "<token>", CANARY))
    with httpx.Client(auth=auth) as client:
        assert client.get(f"{registry.url}/v2/x/tags/list").status_code == 401
    assert not registry.saw_credentials()


def test_token_response_is_capped(hostile: Callable[..., HostileServer]) -> None:
    """A token server answering 2 MiB gets an error, not a 2 MiB read."""
    token = hostile("127.0.0.1")
    token.route("/token", Reply(200, (), b" " * (2 << 20)))
    registry = _registry(hostile, f'Bearer realm="http://{token.address}/token"')
    assert "larger than" in str(_get(registry))


# --------------------------------------------------------------------------- the flow, stepped by hand


def _step(flow: Generator[Send | TokenJob, Seen | str, None], answer: Seen | str) -> Send | TokenJob | None:
    try:
        return flow.send(answer)
    except StopIteration:
        return None


REG = "https://reg.example"
BEARER = 'Bearer realm="https://auth.example/token",service="reg"'


def test_insufficient_scope_gets_one_merged_token_then_gives_up() -> None:
    """insufficient_scope: one new token for the merged scopes, then the 401 is returned."""
    core = TokenFlow(Credentials("reg.example", "u", "p"))
    flow = core.flow("GET", f"{REG}/v2/a/manifests/1")
    first = next(flow)
    assert isinstance(first, Send)
    assert first.authorization is None
    job = _step(flow, Seen(401, f"{REG}/v2/a/manifests/1", [BEARER + ',scope="repository:a:pull"']))
    assert isinstance(job, TokenJob)
    assert job.scopes == ["repository:a:pull"]
    answer = _step(flow, "T1")
    assert isinstance(answer, Send)
    assert answer.authorization == "Bearer T1"
    more = BEARER + ',error="insufficient_scope",scope="repository:b:pull repository:a:push"'
    merged = _step(flow, Seen(401, f"{REG}/v2/a/manifests/1", [more]))
    assert isinstance(merged, TokenJob)
    assert merged.scopes == ["repository:a:pull,push", "repository:b:pull"]
    retry = _step(flow, "T2")
    assert isinstance(retry, Send)
    assert retry.authorization == "Bearer T2"
    assert _step(flow, Seen(401, f"{REG}/v2/a/manifests/1", [more])) is None


def test_cached_tokens_expire_by_issued_at_and_expires_in() -> None:
    """The cache honours issued_at + expires_in (a fake clock; no sleeping) and docker's 60 s minimum."""
    now = [1_000_000.0]
    cache = TokenCache(clock=lambda: now[0])
    key = ("https://auth.example/token", "reg", "repository:a:pull")
    cache.put(key, "T", {"expires_in": 300, "issued_at": "1970-01-12T13:43:20Z"})  # 1,000,000 - 200 s
    assert cache.get(key) == "T"
    now[0] += 85  # 285 s after issue: still valid
    assert cache.get(key) == "T"
    now[0] += 10  # 295 s: within the last 10 s of its life
    assert cache.get(key) is None
    cache.put(key, "U", {"expires_in": 5})  # shorter than docker's minimum: 60 s
    now[0] += 50
    assert cache.get(key) == "U"
    now[0] += 5
    assert cache.get(key) is None
    cache.put(key, "V", {"expires_in": 300, "issued_at": "2999-01-01T00:00:00.123456789Z"})  # skewed clock
    now[0] += 200
    assert cache.get(key) == "V"


def test_known_challenge_means_one_token_per_scope() -> None:
    """After one challenge, later requests carry a cached token from the start (no 401 round trip)."""
    core = TokenFlow(Credentials("reg.example", "u", "p"))
    flow = core.flow("GET", f"{REG}/v2/a/manifests/1")
    next(flow)
    job = _step(flow, Seen(401, f"{REG}/v2/a/manifests/1", [BEARER]))
    assert isinstance(job, TokenJob)
    core.cache.put(job.key, "T", {})
    assert isinstance(_step(flow, "T"), Send)
    for path in ("/v2/a/manifests/2", "/v2/a/blobs/sha256:00", "/v2/a/tags/list"):
        again = core.flow("HEAD", REG + path)
        first = next(again)
        assert isinstance(first, Send)
        assert first.authorization == "Bearer T"
    push = core.flow("PUT", f"{REG}/v2/a/manifests/2")
    job = next(push)
    assert isinstance(job, TokenJob)
    assert job.scopes == ["repository:a:pull,push"]


@pytest.mark.parametrize(
    ("method", "path", "scopes"),
    [
        ("GET", "/v2/", []),
        ("GET", "/v2/_catalog", ["registry:catalog:*"]),
        ("HEAD", "/v2/library/alpine/manifests/3.20", ["repository:library/alpine:pull"]),
        ("GET", "/v2/a/b/c/blobs/sha256:ab", ["repository:a/b/c:pull"]),
        ("POST", "/v2/a/blobs/uploads/", ["repository:a:pull,push"]),
        ("PATCH", "/v2/a/blobs/uploads/uuid-1", ["repository:a:pull,push"]),
        ("DELETE", "/v2/a/manifests/sha256:ab", ["repository:a:delete"]),
        ("GET", "/v2/a/tags/list", ["repository:a:pull"]),
        (
            "POST",
            "/v2/a/blobs/uploads/?mount=sha256:ab&from=b/c",
            ["repository:a:pull,push", "repository:b/c:pull"],
        ),
        ("GET", "/v2/UPPER/manifests/x", []),
        ("GET", "/v2/a/manifests/x/y", []),
    ],
)
def test_request_scopes(method: str, path: str, scopes: list[str]) -> None:
    """The scope comes from the path when the challenge names none."""
    assert request_scopes(method, f"{REG}{path}") == scopes


def test_merge_scopes() -> None:
    """Actions are merged per resource."""
    assert merge_scopes(["repository:a:pull"], ["repository:a:push", "registry:catalog:*"]) == [
        "repository:a:pull,push",
        "registry:catalog:*",
    ]


REALMS = ("https://auth.example", "https://evil.example", "https://reg.example:444")
NEVER = ("http://reg.example", "http://169.254.169.254", "https://10.0.0.1", "https://127.0.0.1")
ORIGINS = (REG, "https://evil.example", "http://reg.example")


@st.composite
def responses(draw: st.DrawFn) -> Seen:
    """Any status, from the registry or a redirect elsewhere, with any challenge."""
    realm = draw(st.sampled_from((*REALMS, *NEVER))) + "/token"
    scheme = draw(st.sampled_from(["Basic", "Bearer", "Negotiate"]))
    extra = draw(st.sampled_from(["", ',error="insufficient_scope"', ',scope="repository:b:pull"']))
    header = f'{scheme} realm="{realm}",service="s"{extra}'
    return Seen(
        draw(st.sampled_from([200, 401, 401, 403])),
        draw(st.sampled_from(ORIGINS)) + "/v2/a/tags/list",
        [header],
    )


@given(st.lists(responses(), min_size=1, max_size=8), st.booleans())
def test_hostile_scripts_never_answer_another_origin(script: list[Seen], token_login: bool) -> None:
    """Whatever comes back: no realm outside policy, no answer to another origin, S24, bounded retries."""
    core = TokenFlow(Credentials("reg.example", "<token>" if token_login else "user", CANARY))
    flow = core.flow("GET", f"{REG}/v2/a/tags/list")
    step: Send | TokenJob | None = next(flow)
    last: Seen | None = None
    for sends, seen in enumerate(script, 1):
        while isinstance(step, TokenJob):
            assert not step.realm.startswith(NEVER)
            step = _step(flow, "TOKEN")
        if step is None:
            return
        assert sends <= 4
        if last is not None and step.authorization is not None:
            assert last.url.startswith(REG + "/")  # only the registry's own challenge is answered
        if token_login:
            assert not (step.authorization or "").startswith("Basic")
        last = seen
        try:
            step = _step(flow, seen)
        except LoginError:
            return
