"""regcred-kubelet-credential-provider at the contract level, with real config files and helpers.

No kubelet can run here.  What stands in for it is a port of the parts of
``pkg/credentialprovider`` that judge a plugin's answer (:func:`kubelet_decode`,
:func:`urls_match`, :func:`keyring_lookup`): the strict decoding with its
kind/group/apiVersion checks, Go's ``time.ParseDuration`` for ``cacheDuration``,
and the match-key rules.  The requests are the exact bytes the kubelet's
``encodeRequest`` writes (``plugin_test.go``, ``Test_encodeRequest``).
"""

from __future__ import annotations

import base64
import fnmatch
import io
import json
import re
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from regcred import kubelet
from tests.conftest import VENV_BIN
from tests.fixtures.config_files import write_config

if TYPE_CHECKING:
    from tests.fixtures.passstore import PassEnv

GROUP = "credentialprovider.kubelet.k8s.io"
V1, V1BETA1, V1ALPHA1 = f"{GROUP}/v1", f"{GROUP}/v1beta1", f"{GROUP}/v1alpha1"
PROGRAM = str(VENV_BIN / "regcred-kubelet-credential-provider")
SECRET = "kube-secret-\u00fc<&>"

# The kubelet's request bytes (Test_encodeRequest), with the image as the parameter.
REQUESTS = {
    V1ALPHA1: '{"kind":"CredentialProviderRequest","apiVersion":"' + V1ALPHA1 + '","image":"%s"}\n',
    V1BETA1: '{"kind":"CredentialProviderRequest","apiVersion":"' + V1BETA1 + '","image":"%s"}\n',
    V1: '{"kind":"CredentialProviderRequest","apiVersion":"' + V1 + '","image":"%s"}\n',
}
REQUEST_WITH_SA = (
    '{"kind":"CredentialProviderRequest","apiVersion":"' + V1 + '","image":"%s",'
    '"serviceAccountToken":"service-account-token",'
    '"serviceAccountAnnotations":{"domain.io/annotation1":"value1"}}\n'
)


# -- the kubelet's side, ported -------------------------------------------------------

# Fields of CredentialProviderResponse per version (types.go); the decoder is strict.
_FIELDS = {
    V1: {"kind", "apiVersion", "cacheKeyType", "cacheDuration", "serviceAccountTokenCacheType", "auth"},
    V1BETA1: {"kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"},
    V1ALPHA1: {"kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"},
}
_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` (what ``metav1.Duration`` uses), in seconds; ValueError if invalid."""
    if text == "0":
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    rest = text.lstrip("+-")
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(rest):
        m = _DURATION.match(rest, pos)
        if m is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def kubelet_decode(data: bytes, expected_api_version: str) -> dict[str, Any]:
    """What ``execPlugin.ExecPlugin`` + ``decodeResponse`` accept; raises AssertionError otherwise."""
    assert data.endswith(b"\n"), "a newline-terminated JSON document"
    assert data.count(b"\n") == 1, "on one line"
    obj = json.loads(data)  # strict: duplicate keys would be an error too
    assert obj["apiVersion"] == expected_api_version, "apiVersion must match the request's"
    assert obj["kind"] == "CredentialProviderResponse"
    assert set(obj) <= _FIELDS[expected_api_version], (
        f"unknown fields: {set(obj) - _FIELDS[expected_api_version]}"
    )
    assert obj["cacheKeyType"] in {"Image", "Registry", "Global"}
    if "cacheDuration" in obj:
        assert isinstance(obj["cacheDuration"], str)
        parse_go_duration(obj["cacheDuration"])
    for key, auth in obj.get("auth", {}).items():
        assert isinstance(key, str)
        assert set(auth) <= {"username", "password"}, "AuthConfig has only username and password"
    result: dict[str, Any] = obj
    return result


def _split_url(url: str) -> tuple[list[str], str, str]:
    hostport, _, path = url.partition("/")
    host, _, port = hostport.partition(":")
    return host.split("."), port, "/" + path if path else ""


def urls_match(glob: str, target: str) -> bool:
    """``URLsMatchStr``: same label count, each a glob; same port; the glob's path a prefix."""
    glob_parts, glob_port, glob_path = _split_url(glob)
    parts, port, path = _split_url(target)
    if glob_port != port or len(glob_parts) != len(parts) or not path.startswith(glob_path):
        return False
    return all(fnmatch.fnmatchcase(p, g) for g, p in zip(glob_parts, parts, strict=True))


def keyring_lookup(auth: dict[str, Any], image: str) -> list[tuple[str, str]]:
    """``BasicDockerKeyring.Add`` + ``Lookup``: the credentials the kubelet would try for ``image``."""
    creds: dict[str, list[tuple[str, str]]] = {}
    for loc, ident in auth.items():
        rest = loc.split("://", 1)[-1]
        host, _, path = rest.partition("/")
        path = "/" + path if path else ""
        if path.startswith(("/v1/", "/v2/")):
            path = path[3:]
        key = host + path if path not in {"", "/"} else host
        creds.setdefault(key, []).append((ident["username"], ident["password"]))
    found = [c for k in sorted(creds, reverse=True) if urls_match(k, image) for c in creds[k]]
    if found:
        return found
    first, slash, _ = image.partition("/")
    default = not slash or first in {"docker.io", "index.docker.io"} or not any(c in first for c in ".:")
    return creds.get("index.docker.io", []) if default and first else []


# -- helpers ------------------------------------------------------------------------------


def jwt(exp: object, **claims: Any) -> str:
    """An unsigned-looking JWT (header.payload.signature) with ``exp``."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    body = dict(claims)
    if exp is not None:
        body["exp"] = exp
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(body)}.c2lnbmF0dXJl"


def ask(request: str, *, now: float | None = None) -> tuple[int, bytes, str]:
    """Run the provider in-process on ``request``: (exit code, stdout bytes, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    if now is None:
        code = kubelet.run(io.BytesIO(request.encode()), out, err)
    else:
        try:
            body = kubelet.respond(request.encode(), now=now)
        except Exception as exc:
            return 1, b"", str(exc)
        return 0, body.encode(), ""
    return code, out.getvalue().encode(), err.getvalue()


def spawn(
    request: bytes, env: dict[str, str] | None = None, *args: str
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed console script as the kubelet does (request on stdin)."""
    return subprocess.run(
        [PROGRAM, *args], input=request, capture_output=True, env=env, timeout=60, check=False
    )


# -- the contract -------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", [V1, V1BETA1, V1ALPHA1])
def test_answers_in_the_requests_version(docker_config: Path, api_version: str) -> None:
    """Each of the kubelet's request encodings gets a response it decodes, in the same version."""
    write_config(docker_config, {"test.registry.io": ("user", "password")})
    code, out, err = ask(REQUESTS[api_version] % "test.registry.io/foobar")
    assert (code, err) == (0, "")
    response = kubelet_decode(out, api_version)
    assert response == {
        "kind": "CredentialProviderResponse",
        "apiVersion": api_version,
        "cacheKeyType": "Registry",
        "auth": {"test.registry.io": {"username": "user", "password": "password"}},
    }
    assert keyring_lookup(response["auth"], "test.registry.io/foobar") == [("user", "password")]


def test_match_key_keeps_the_port(docker_config: Path) -> None:
    """An image on host:port gets the key host:port (the kubelet needs the same port on both)."""
    write_config(docker_config, {"reg.example:5000": ("bob", SECRET)})
    code, out, _ = ask(REQUESTS[V1] % ("reg.example:5000/team/app:1.2@sha256:" + "ab" * 32))
    assert code == 0
    response = kubelet_decode(out, V1)
    assert list(response["auth"]) == ["reg.example:5000"]
    assert keyring_lookup(response["auth"], "reg.example:5000/team/app") == [("bob", SECRET)]
    assert keyring_lookup(response["auth"], "reg.example/team/app") == []


@pytest.mark.parametrize("image", ["docker.io/library/nginx", "index.docker.io/library/nginx", "nginx"])
def test_docker_hub(docker_config: Path, image: str) -> None:
    """Hub credentials get the key index.docker.io, which the kubelet uses for every Hub spelling."""
    write_config(docker_config, {"https://index.docker.io/v1/": ("hubuser", SECRET)})
    code, out, _ = ask(REQUESTS[V1] % image)
    assert code == 0
    response = kubelet_decode(out, V1)
    assert response["cacheKeyType"] == "Registry"
    assert list(response["auth"]) == ["index.docker.io"]
    for spelling in ("docker.io/library/nginx", "index.docker.io/library/nginx", "nginx"):
        assert keyring_lookup(response["auth"], spelling) == [("hubuser", SECRET)]


def test_namespaced_credential_is_an_image_key(
    docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A credential for one repository (podman's quay.io/org entry) is keyed by the image, type Image."""
    auth_file = tmp_path / "auth.json"
    write_config(auth_file, {"quay.io/org": ("robot", SECRET), "quay.io": ("everyone", "other")})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    code, out, _ = ask(REQUESTS[V1] % "quay.io/org/app")
    assert code == 0
    response = kubelet_decode(out, V1)
    assert response["cacheKeyType"] == "Image"
    assert response["auth"] == {"quay.io/org/app": {"username": "robot", "password": SECRET}}
    assert keyring_lookup(response["auth"], "quay.io/org/app") == [("robot", SECRET)]
    assert keyring_lookup(response["auth"], "quay.io/other/app") == []
    # The registry-wide credential serves other repositories, keyed by the registry.
    code, out, _ = ask(REQUESTS[V1] % "quay.io/other/app")
    assert kubelet_decode(out, V1)["auth"] == {"quay.io": {"username": "everyone", "password": "other"}}


def test_no_credentials_is_an_empty_auth(docker_config: Path) -> None:
    """Nothing stored: exactly the empty response, exit 0, nothing on stderr."""
    write_config(docker_config, {"other.example": ("a", "b")})
    for api_version in (V1, V1BETA1):
        code, out, err = ask(REQUESTS[api_version] % "test.registry.io/foobar")
        assert (code, err) == (0, "")
        expected = {
            "kind": "CredentialProviderResponse",
            "apiVersion": api_version,
            "cacheKeyType": "Registry",
            "auth": {},
        }
        assert json.loads(out) == expected
        assert out == (json.dumps(expected, separators=(",", ":")) + "\n").encode()
        kubelet_decode(out, api_version)


def test_no_config_at_all_is_an_empty_auth(docker_config: Path) -> None:
    """No config.json either: still the empty response."""
    code, out, _ = ask(REQUESTS[V1] % "test.registry.io/foobar")
    assert code == 0
    assert kubelet_decode(out, V1)["auth"] == {}


def test_identity_token_is_never_handed_out(docker_config: Path) -> None:
    """An identity token is skipped: empty auth, exit 0, the token nowhere in the output."""
    docker_config.parent.mkdir(parents=True)
    docker_config.write_text(json.dumps({"auths": {"acr.example": {"identitytoken": "refresh-" + SECRET}}}))
    code, out, err = ask(REQUESTS[V1] % "acr.example/app")
    assert code == 0
    assert kubelet_decode(out, V1)["auth"] == {}
    assert SECRET not in out.decode() + err
    assert "identity token" in err


def test_jwt_expiry_sets_a_go_duration(docker_config: Path) -> None:
    """A JWT password's exp gives cacheDuration until 60 s before it, as a Go duration string."""
    now = 1_700_000_000.0
    write_config(docker_config, {"ecr.example": ("AWS", jwt(now + 3723 + 60))})
    code, out, _ = ask(REQUESTS[V1] % "ecr.example/app", now=now)
    assert code == 0
    response = kubelet_decode(out, V1)
    assert response["cacheDuration"] == "1h2m3s"
    assert parse_go_duration(response["cacheDuration"]) == 3723


def test_expired_jwt_is_not_cached(docker_config: Path) -> None:
    """A JWT past (or within 60 s of) its exp gets cacheDuration 0s: the kubelet does not cache it."""
    now = 1_700_000_000.0
    write_config(docker_config, {"ecr.example": ("AWS", jwt(now + 30))})
    _, out, _ = ask(REQUESTS[V1] % "ecr.example/app", now=now)
    assert kubelet_decode(out, V1)["cacheDuration"] == "0s"


@pytest.mark.parametrize("secret", ["plain-password", "a.b.c", jwt(None, sub="x"), jwt("soon")])
def test_no_expiry_leaves_cache_duration_out(docker_config: Path, secret: str) -> None:
    """Without a usable exp the field is absent, so the kubelet uses defaultCacheDuration."""
    write_config(docker_config, {"reg.example": ("u", secret)})
    _, out, _ = ask(REQUESTS[V1] % "reg.example/app", now=0)
    assert "cacheDuration" not in kubelet_decode(out, V1)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-5, "0s"),
        (1, "1s"),
        (59, "59s"),
        (60, "1m0s"),
        (3600, "1h0m0s"),
        (3723, "1h2m3s"),
        (90061, "25h1m1s"),
    ],
)
def test_go_duration_is_what_go_prints(seconds: int, text: str) -> None:
    """go_duration matches Go's Duration.String() for whole seconds, and parses back."""
    assert kubelet.go_duration(seconds) == text
    assert parse_go_duration(text) == max(seconds, 0)


def test_the_duration_parser_is_gos() -> None:
    """The ported ParseDuration accepts the kubelet tests' "1m" and Go forms, and refuses junk."""
    assert parse_go_duration("1m") == 60
    assert parse_go_duration("300ms") == pytest.approx(0.3)
    assert parse_go_duration("1h2m3s") == 3723
    for bad in ("", "1", "1x", "h", "1h 2m"):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_go_duration(bad)


def test_unknown_and_service_account_fields_are_ignored(docker_config: Path) -> None:
    """A newer kubelet's extra fields, and the service-account token, change nothing and are never echoed."""
    write_config(docker_config, {"test.registry.io": ("user", "password")})
    with_sa = REQUEST_WITH_SA % "test.registry.io/foobar"
    future = with_sa.replace('"image"', '"someFutureField":{"x":[1]},"image"')
    expected = ask(REQUESTS[V1] % "test.registry.io/foobar")[1]
    for request in (with_sa, future):
        code, out, err = ask(request)
        assert (code, err) == (0, "")
        assert out == expected
        assert "service-account-token" not in out.decode()
        assert "serviceAccountTokenCacheType" not in kubelet_decode(out, V1)


def test_the_response_has_no_field_the_strict_decoder_rejects(docker_config: Path) -> None:
    """Every answer of every version holds only that version's fields (the kubelet decodes strictly)."""
    write_config(docker_config, {"reg.example": ("u", jwt(time.time() + 7200))})
    for api_version in (V1, V1BETA1, V1ALPHA1):
        for image in ("reg.example/app", "none.example/app"):
            _, out, _ = ask(REQUESTS[api_version] % image)
            kubelet_decode(out, api_version)
    with pytest.raises(AssertionError, match="unknown fields"):
        kubelet_decode(
            b'{"kind":"CredentialProviderResponse","apiVersion":"' + V1BETA1.encode() + b'",'
            b'"cacheKeyType":"Registry","serviceAccountTokenCacheType":"Pod","auth":{}}\n',
            V1BETA1,
        )


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        (
            '{"kind":"WrongKind","apiVersion":"' + V1 + '","image":"a.example/b"}',
            "expected kind CredentialProviderRequest",
        ),
        (
            '{"kind":"CredentialProviderRequest","apiVersion":"foobar.kubelet.k8s.io/v1","image":"a.example/b"}',
            "unsupported apiVersion",
        ),
        ('{"kind":"CredentialProviderRequest","apiVersion":"' + V1 + '"}', "no image"),
        ('{"kind":"CredentialProviderRequest","apiVersion":"' + V1 + '","image":7}', "no image"),
        (
            '{"kind":"CredentialProviderRequest","apiVersion":"' + V1 + '","image":"Bad Image"}',
            "invalid registry address",
        ),
    ],
)
def test_bad_requests_are_one_line_and_exit_1(docker_config: Path, request_text: str, message: str) -> None:
    """A request the provider cannot answer: exit 1, one line on stderr, nothing on stdout."""
    code, out, err = ask(request_text)
    assert (code, out) == (1, b"")
    assert err.count("\n") == 1
    assert err.startswith("regcred-kubelet-credential-provider: ")
    assert message in err


@pytest.mark.parametrize(
    "image", ["a@b/x", "a@b", "reg.example/app@sha256:short", "UPPER/app", "app:bad:tag"]
)
def test_an_invalid_image_is_an_error_never_another_registrys_credential(
    docker_config: Path, image: str
) -> None:
    """Defect 8 (issue 17): ``a@b/x`` used to get Docker Hub's credential; now exit 1, one line."""
    write_config(
        docker_config,
        {"https://index.docker.io/v1/": ("hubuser", SECRET), "reg.example": ("reguser", SECRET)},
    )
    code, out, err = ask(REQUESTS[V1] % image)
    assert (code, out) == (1, b"")
    assert err.count("\n") == 1
    assert err.startswith("regcred-kubelet-credential-provider: invalid ")
    assert SECRET not in err
    assert "hubuser" not in err
    done = spawn((REQUESTS[V1] % image).encode())
    assert (done.returncode, done.stdout) == (1, b"")
    assert b"Traceback" not in done.stderr
    assert SECRET.encode() not in done.stderr


def test_a_failing_helper_is_an_error_without_secrets(docker_config: Path, tmp_path: Path) -> None:
    """credsStore naming a helper that is not on PATH: exit 1, one line; no secret in it."""
    write_config(docker_config, {"reg.example": ("u", SECRET)}, credsStore="nonexistent-helper-xyz")
    env = {"PATH": str(tmp_path), "DOCKER_CONFIG": str(docker_config.parent), "HOME": str(tmp_path)}
    done = spawn((REQUESTS[V1] % "reg.example/app").encode(), env)
    assert (done.returncode, done.stdout) == (1, b"")
    err = done.stderr.decode()
    assert err.count("\n") == 1
    assert "docker-credential-nonexistent-helper-xyz" in err
    assert SECRET not in err


def test_broken_config_is_an_error(docker_config: Path) -> None:
    """A config.json that is not JSON: exit 1 with the config error, no traceback."""
    docker_config.parent.mkdir(parents=True)
    docker_config.write_text('{"auths": {"reg.example": {"auth": "' + SECRET)
    done = spawn((REQUESTS[V1] % "reg.example/app").encode())
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr.decode().count("\n") == 1
    assert "Traceback" not in done.stderr.decode()
    assert SECRET not in done.stderr.decode()


def test_arguments_are_refused_and_version_works() -> None:
    """No arguments but --version: a wrong ``args`` in CredentialProviderConfig fails clearly."""
    done = spawn(b"", None, "--bogus")
    assert done.returncode == 1
    assert b"takes no arguments" in done.stderr
    done = spawn(b"", None, "--version")
    assert done.returncode == 0
    assert done.stdout.startswith(b"regcred-kubelet-credential-provider (regcred) v")


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_usage_and_exits_0(flag: str) -> None:
    """--help answers on stdout with exit 0 (it exited 1 with "takes no arguments"), reading no stdin."""
    done = spawn(b"", None, flag)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.startswith(b"Usage: regcred-kubelet-credential-provider [--version | --help]\n")
    assert b"CredentialProviderRequest" in done.stdout


# -- through the installed script, with real stores -------------------------------------------


def test_installed_script_with_a_real_config(docker_config: Path) -> None:
    """The console script, as the kubelet runs it: request on stdin, response on stdout."""
    write_config(docker_config, {"test.registry.io": ("user", SECRET)})
    done = spawn((REQUESTS[V1BETA1] % "test.registry.io/foobar").encode())
    assert (done.returncode, done.stderr) == (0, b"")
    response = kubelet_decode(done.stdout, V1BETA1)
    assert response["auth"] == {"test.registry.io": {"username": "user", "password": SECRET}}


def test_credentials_from_our_pass_helper(docker_config: Path, pass_env: PassEnv) -> None:
    """credsStore regcred-pass: the provider reads through the real helper and the real pass store."""
    from tests.conftest import installed_helper

    helper = installed_helper("pass")
    body = json.dumps({"ServerURL": "reg.example:5000", "Username": "ci", "Secret": SECRET}).encode()
    stored = subprocess.run(
        [helper, "store"], input=body, env=pass_env.env(), capture_output=True, timeout=60, check=False
    )
    assert stored.returncode == 0, stored.stdout + stored.stderr
    docker_config.parent.mkdir(parents=True)
    docker_config.write_text(json.dumps({"auths": {"reg.example:5000": {}}, "credsStore": "regcred-pass"}))
    env = {**pass_env.env(), "PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    done = spawn((REQUESTS[V1] % "reg.example:5000/team/app").encode(), env)
    assert done.returncode == 0, done.stderr
    response = kubelet_decode(done.stdout, V1)
    assert response["auth"] == {"reg.example:5000": {"username": "ci", "password": SECRET}}
    assert SECRET.encode() not in done.stderr
