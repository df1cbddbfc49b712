"""regcred login / logout end to end, against real registries and real stores."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import regcred
from regcred import _config
from tests.conftest import VENV_BIN, require_program
from tests.fixtures import processes
from tests.fixtures.programs import helper_script
from tests.fixtures.registry import start_registry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.keyring import Keyring
    from tests.fixtures.passstore import PassEnv
    from tests.fixtures.registry import Pki, Registry


def regcred_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would (no stdin unless given)."""
    return processes.regcred(*args, stdin=stdin if stdin is not None else "", extra_env=env)


def _login(registry: Registry, *extra: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    return regcred_cli(
        "login",
        registry.address,
        "-u",
        registry.username,
        "--password-stdin",
        *extra,
        stdin=(password if password is not None else registry.password) + "\n",
    )


@pytest.fixture
def helpers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our installed helpers (in the venv) and the system's on PATH."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin")


def test_login_logout_file_store(registry_http: Registry, docker_config: Path) -> None:
    """Basic auth over plain HTTP on loopback: verified, stored base64, warned, then removed."""
    result = _login(registry_http)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    assert "stored unencrypted" in result.stderr
    assert registry_http.password not in result.stdout + result.stderr
    creds = regcred.get_credentials(registry_http.address)
    assert creds is not None
    assert (creds.username, creds.secret) == (registry_http.username, registry_http.password)
    assert oct(docker_config.stat().st_mode & 0o777) == "0o600"
    out = regcred_cli("logout", registry_http.address)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"Removing login credentials for {registry_http.address}\n"
    assert regcred.get_credentials(registry_http.address) is None
    again = regcred_cli("logout", registry_http.address)
    assert again.returncode == 0  # as docker: `set -e` clean-up scripts keep going
    assert again.stdout == ""
    assert "not logged in" in again.stderr
    assert "nothing was stored" in again.stderr


def test_wrong_password_stores_nothing(registry_http: Registry, docker_config: Path) -> None:
    """A refused login exits 1 with docker's message and writes no file."""
    result = _login(registry_http, password="wrong-CANARY")
    assert result.returncode == 1
    assert "401 Unauthorized" in result.stderr
    assert "CANARY" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert not docker_config.exists()


def test_malformed_config_fails_before_the_network(registry_http: Registry, docker_config: Path) -> None:
    """A malformed config.json is reported and left byte-identical (S16)."""
    docker_config.parent.mkdir()
    docker_config.write_bytes(b'{"auths": {"x": {"auth": "%%%"}}, "psFormat": "keep"}')
    result = _login(registry_http)
    assert result.returncode == 1
    assert str(docker_config) in result.stderr
    assert docker_config.read_bytes() == b'{"auths": {"x": {"auth": "%%%"}}, "psFormat": "keep"}'


def test_tls_registry_with_cert_dir(registry_tls: Registry, docker_config: Path) -> None:
    """TLS with a private CA works through --cert-dir and through <config>/certs.d/<host>/."""
    assert registry_tls.cert_dir is not None
    no_ca = _login(registry_tls)
    assert no_ca.returncode == 1
    assert "certificate" in no_ca.stderr.lower()
    ok = _login(registry_tls, "--cert-dir", str(registry_tls.cert_dir))
    assert ok.returncode == 0, ok.stderr
    certs_d = docker_config.parent / "certs.d" / registry_tls.address
    certs_d.mkdir(parents=True)
    (certs_d / "ca.crt").write_bytes((registry_tls.cert_dir / "ca.crt").read_bytes())
    reuse = regcred_cli("login", registry_tls.address)
    assert reuse.returncode == 0, reuse.stderr
    assert f"[Username: {registry_tls.username}]" in reuse.stderr


def test_token_auth_keeps_identity_token(registry_token: Registry, docker_config: Path) -> None:
    """Bearer login stores the refresh token as identitytoken (no password), and reuses it."""
    result = _login(registry_token)
    assert result.returncode == 0, result.stderr
    entry = json.loads(docker_config.read_text())["auths"][registry_token.address]
    assert set(entry) == {"auth", "identitytoken"}
    assert registry_token.password not in docker_config.read_text()
    creds = regcred.get_credentials(registry_token.address)
    assert creds is not None
    assert creds.is_identity_token
    assert registry_token.token_server is not None
    before = len(registry_token.token_server.requests)
    reuse = regcred_cli("login", registry_token.address)
    assert reuse.returncode == 0, reuse.stderr
    grants = [r for r in registry_token.token_server.requests[before:] if r.get("method") == "POST"]
    assert grants, "the stored identity token was not used (no refresh_token grant)"


def test_non_tty_without_credentials_fails_fast(registry_http: Registry, docker_config: Path) -> None:
    """No -u/-p, no stored credentials, no terminal: an error, never a hang (S22)."""
    result = regcred_cli("login", registry_http.address)
    assert result.returncode == 1
    assert "non-TTY" in result.stderr


@pytest.mark.parametrize(
    ("stdin", "sent"),
    [("p\n", "p"), ("p\r\n", "p"), ("p \n", "p "), ("a\nb\n", "a\nb"), ("p", "p")],
)
def test_password_stdin_strips_one_eol(tmp_path: Path, docker_config: Path, stdin: str, sent: str) -> None:
    """--password-stdin strips exactly one trailing EOL and keeps the rest (S21)."""
    with start_registry(tmp_path / "reg", password=sent) as registry:
        result = regcred_cli(
            "login", registry.address, "-u", registry.username, "--password-stdin", stdin=stdin
        )
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message", "code"),
    [
        (["--password-stdin"], "pw\n", "requires --username", 2),
        (["-u", "u", "--password-stdin"], "  \n", "password is empty", 1),
        (["-u", "u", "--password-stdin"], "", "password is empty", 1),
        (["-u", "u", "-p", "x", "--password-stdin"], "pw", "conflicting options", 2),
        (["-u", "", "-p", "x"], "", "username is empty", 1),
    ],
)
def test_flag_errors(docker_config: Path, args: list[str], stdin: str, message: str, code: int) -> None:
    """Docker's flag rules, one line each, no traceback: 2 for conflicting flags, 1 for bad values."""
    result = regcred_cli("login", "127.0.0.1:9", *args, stdin=stdin)
    assert result.returncode == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_password_flag_warns(registry_http: Registry, docker_config: Path) -> None:
    """-p works, with docker's warning on stderr (S20)."""
    result = regcred_cli(
        "login", registry_http.address, "-u", registry_http.username, "-p", registry_http.password
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING! Using --password via the CLI is insecure" in result.stderr


def test_helper_that_fails_to_store_is_an_error(
    registry_http: Registry, docker_config: Path, bin_dir: Path
) -> None:
    """A configured helper that fails: login fails, nothing in plaintext, config untouched (S23)."""
    helper_script(bin_dir, "broken", "cat >/dev/null\necho 'keyring is locked'\nexit 1\n", sh=True)
    docker_config.parent.mkdir()
    original = b'{"auths": {}, "credsStore": "broken", "psFormat": "x"}'
    docker_config.write_bytes(original)
    result = _login(registry_http)
    assert result.returncode == 1
    assert "keyring is locked" in result.stderr
    assert docker_config.read_bytes() == original


def test_missing_helper_fails_before_network(docker_config: Path, hostile: object) -> None:
    """credsStore names a helper that is not installed: fail before sending anything (S10a)."""
    docker_config.parent.mkdir()
    docker_config.write_text('{"credsStore": "not-installed"}')
    result = regcred_cli("login", "127.0.0.1:9", "-u", "u", "--password-stdin", stdin="pw\n")
    assert result.returncode == 1
    assert "docker-credential-not-installed is not on PATH" in result.stderr


def test_best_store_is_secret_service(
    registry_http: Registry, docker_config: Path, keyring: Keyring, helpers_on_path: None
) -> None:
    """With no store configured and a keyring running, the credential goes to the keyring."""
    result = _login(registry_http)
    assert result.returncode == 0, result.stderr
    assert "unencrypted" not in result.stderr
    data = json.loads(docker_config.read_text())
    # credHelpers names the helper too: podman, skopeo and buildah ignore credsStore (issue 10 #5).
    assert data == {
        "auths": {registry_http.address: {}},
        "credsStore": "regcred-secretservice",
        "credHelpers": {registry_http.address: "regcred-secretservice"},
    }
    go = require_program("docker-credential-secretservice", "golang-docker-credential-helpers")
    got = subprocess.run(
        [go, "get"], input=registry_http.address, capture_output=True, text=True, check=False
    )
    assert json.loads(got.stdout)["Secret"] == registry_http.password
    out = regcred_cli("logout", registry_http.address)
    assert out.returncode == 0, out.stderr
    gone = subprocess.run(
        [go, "get"], input=registry_http.address, capture_output=True, text=True, check=False
    )
    assert gone.returncode == 1
    assert json.loads(docker_config.read_text()) == {
        "auths": {},
        "credsStore": "regcred-secretservice",
    }


def test_logout_removes_every_alias(docker_config: Path) -> None:
    """logout erases host, http://host, https://host; Hub logout erases every Hub alias (S32)."""

    def fill(c: _config.Config) -> None:
        for key in (
            "reg.example",
            "https://reg.example",
            "http://reg.example",
            "other.example",
            "https://index.docker.io/v1/",
            "docker.io",
            "registry-1.docker.io",
        ):
            c.set_auth(key, "u", "p")

    _config.update(docker_config, fill)
    assert regcred_cli("logout", "https://reg.example/v2/").returncode == 0
    assert regcred_cli("logout", "docker.io").returncode == 0
    assert _config.load(docker_config).auth_keys() == ["other.example"]


def test_logout_all(docker_config: Path, keyring: Keyring, helpers_on_path: None) -> None:
    """logout --all empties config.json and the helper it names."""
    store = subprocess.run(
        ["docker-credential-regcred-secretservice", "store"],
        input='{"ServerURL":"kr.example","Username":"k","Secret":"s"}',
        text=True,
        check=True,
        capture_output=True,
    )
    assert store.returncode == 0

    def seed(config: _config.Config) -> None:
        config.set_marker("kr.example")
        config.set_creds_store("regcred-secretservice")

    _config.update(docker_config, seed)
    docker_config.write_text(
        json.dumps({**json.loads(docker_config.read_text()), "credHelpers": {"file.example": ""}})
    )
    result = regcred_cli("logout", "--all")
    assert result.returncode == 0, result.stderr
    assert "kr.example" in result.stdout
    assert regcred.list_credentials() == {}


def test_docker_cli_reads_what_regcred_stored(registry_http: Registry, docker_config: Path) -> None:
    """`docker login SERVER` finds and reuses what regcred stored."""
    docker = require_program("docker", "docker-ce-cli")
    assert _login(registry_http).returncode == 0
    result = subprocess.run(
        [docker, "--config", str(docker_config.parent), "login", registry_http.address],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert (
        f"Authenticating with existing credentials... [Username: {registry_http.username}]" in result.stderr
    )


def _docker_login(docker: str, docker_config: Path, registry: Registry) -> subprocess.CompletedProcess[str]:
    """`docker --config DIR login -u USER --password-stdin ADDRESS` (client-side, no daemon)."""
    config_dir = str(docker_config.parent)
    argv = [docker, "--config", config_dir, "login", "-u", registry.username, "--password-stdin"]
    return subprocess.run(
        [*argv, registry.address],
        input=registry.password,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_regcred_reads_what_docker_stored(registry_http: Registry, docker_config: Path) -> None:
    """A client-side `docker login` (no daemon) is read back by regcred."""
    docker = require_program("docker", "docker-ce-cli")
    # An auths entry stops docker from picking a default helper (pass) for the file store.
    docker_config.parent.mkdir()
    docker_config.write_text('{"auths": {"placeholder.invalid": {}}}')
    result = _docker_login(docker, docker_config, registry_http)
    assert result.returncode == 0, result.stderr
    creds = regcred.get_credentials(registry_http.address)
    assert creds is not None
    assert creds.secret == registry_http.password


def test_docker_cli_through_our_helper(
    registry_http: Registry, docker_config: Path, keyring: Keyring, helpers_on_path: None
) -> None:
    """docker login/logout with credsStore=regcred-secretservice: our helper stores, serves, erases."""
    docker = require_program("docker", "docker-ce-cli")
    docker_config.parent.mkdir()
    docker_config.write_text('{"credsStore": "regcred-secretservice"}')
    result = _docker_login(docker, docker_config, registry_http)
    assert result.returncode == 0, result.stderr
    assert "unencrypted" not in result.stderr
    ours = subprocess.run(
        ["docker-credential-regcred-secretservice", "get"],
        input=registry_http.address,
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(ours.stdout)["Secret"] == registry_http.password
    creds = regcred.get_credentials(registry_http.address)
    assert creds is not None
    assert creds.secret == registry_http.password
    out = subprocess.run(
        [docker, "--config", str(docker_config.parent), "logout", registry_http.address],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert regcred.get_credentials(registry_http.address) is None


def test_skopeo_uses_what_regcred_stored(registry_http: Registry, docker_config: Path) -> None:
    """skopeo, given our config.json as --authfile, is authenticated by the registry."""
    skopeo = require_program("skopeo", "skopeo")
    assert _login(registry_http).returncode == 0

    def list_tags(authfile: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                skopeo,
                "list-tags",
                "--authfile",
                str(authfile),
                "--tls-verify=false",
                f"docker://{registry_http.address}/no/such-repo",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            # without DOCKER_CONFIG, so that skopeo reads only the --authfile we name
            env={k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"},
        )

    authed = list_tags(docker_config)
    empty = docker_config.parent / "empty.json"
    empty.write_text('{"auths": {}}')
    anonymous = list_tags(empty)
    assert "unauthorized" in anonymous.stderr.lower() or "authentication required" in anonymous.stderr.lower()
    # With our credentials the registry gets past auth and says the repository is unknown.
    assert "404" in authed.stderr, authed.stderr
    assert "unauthorized" not in authed.stderr.lower()


@pytest.mark.slow
def test_parallel_logins_and_logouts(tmp_path: Path, docker_config: Path) -> None:
    """20 parallel logins to 20 real registries, mixed with 6 logouts: exactly right (issue 4)."""
    keep = [f"gone{i}.example" for i in range(6)]

    def seed(config: _config.Config) -> None:
        for key in keep:
            config.set_auth(key, "u", "p")

    _config.update(docker_config, seed)
    with contextlib.ExitStack() as stack:
        registries = [stack.enter_context(start_registry(tmp_path / f"r{i}")) for i in range(20)]
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "regcred",
                    "login",
                    r.address,
                    "-u",
                    r.username,
                    "--password-stdin",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for r in registries
        ]
        procs += [
            subprocess.Popen(
                [sys.executable, "-m", "regcred", "logout", k],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for k in keep
        ]
        secrets = [r.password + "\n" for r in registries] + [""] * len(keep)
        outcomes = [p.communicate(s, timeout=300) for p, s in zip(procs, secrets, strict=True)]
        assert [p.returncode for p in procs] == [0] * len(procs), outcomes
        config = _config.load(docker_config)
        assert sorted(config.auth_keys()) == sorted(r.address for r in registries)
        for r in registries:
            entry = config.entry(r.address)
            assert entry is not None
            assert entry.password == r.password


def test_logout_removes_legacy_spellings(docker_config: Path) -> None:
    """Every key that lookups treat as this registry goes: https://host/v1/, http://host/v2/ (S32)."""

    def fill(config: _config.Config) -> None:
        for key in ("reg.example", "https://reg.example/v1/", "http://reg.example/v2/", "reg.example/ns"):
            config.set_auth(key, "u", "p")

    _config.update(docker_config, fill)
    assert regcred_cli("logout", "reg.example").returncode == 0
    assert regcred.get_credentials("reg.example", podman=False) is None
    assert _config.load(docker_config).auth_keys() == ["reg.example/ns"]  # a namespace, not an alias


def test_logout_with_unreachable_keyring_fails_and_keeps_everything(
    docker_config: Path, keyring: Keyring, helpers_on_path: None
) -> None:
    """No session bus at logout: exit 1, the keyring entry and config.json both stay."""
    stored = subprocess.run(
        ["docker-credential-regcred-secretservice", "store"],
        input='{"ServerURL":"kr.example","Username":"k","Secret":"CANARY-kr"}',
        text=True,
        capture_output=True,
        check=False,
    )
    assert stored.returncode == 0, stored.stdout

    def seed(config: _config.Config) -> None:
        config.set_marker("kr.example")
        config.set_creds_store("regcred-secretservice")

    _config.update(docker_config, seed)
    before = docker_config.read_bytes()
    no_bus = {"DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": str(docker_config.parent / "nope")}
    for args in (["logout", "kr.example"], ["logout", "--all"]):
        result = regcred_cli(*args, env=no_bus)
        assert result.returncode == 1, result.stdout
        assert "CANARY" not in result.stdout + result.stderr
        assert docker_config.read_bytes() == before
    creds = regcred.get_credentials("kr.example")
    assert creds is not None
    assert creds.secret == "CANARY-kr"


def test_login_over_an_empty_pin_says_what_it_found_and_did(
    registry_http: Registry, docker_config: Path
) -> None:
    """Issue 17 #6: credHelpers{R: ""} (doctor: broken for podman) is never passed over in silence.

    With no credsStore the pin changes nothing for docker (R is in the file
    either way), so login removes it and says so: podman then finds the entry.
    With a credsStore the pin is docker's way to keep R out of the helper:
    login keeps it, stores in the file as docker does, and names the way out.
    """
    key = registry_http.address
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {}, "credHelpers": {key: ""}}))
    result = _login(registry_http)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if 'credHelpers["' in line]
    assert len(notes) == 1, result.stderr
    assert "removed" in notes[0]
    assert "podman" in notes[0]
    data = json.loads(docker_config.read_text())
    assert "credHelpers" not in data
    assert set(data["auths"]) == {key}

    docker_config.write_text(
        json.dumps({"auths": {}, "credsStore": "regcred-pass", "credHelpers": {key: ""}})
    )
    result = _login(registry_http)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if 'credHelpers["' in line]
    assert len(notes) == 1, result.stderr
    assert "kept" in notes[0]
    assert "docker-credential-regcred-pass" in notes[0]
    assert registry_http.password not in result.stderr
    data = json.loads(docker_config.read_text())
    assert data["credHelpers"] == {key: ""}
    assert set(data["auths"]) == {key}


@pytest.fixture
def registry_self_signed(tmp_path: Path, test_pki: Pki) -> Iterator[Registry]:
    """A TLS registry on loopback whose certificate is self-signed (made with openssl)."""
    openssl = require_program("openssl", "openssl")
    pki_dir = tmp_path / "self-signed"
    pki_dir.mkdir()
    key, cert = pki_dir / "server.key", pki_dir / "server.crt"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    # A self-signed certificate is its own CA: the fixture's readiness check trusts it.
    pki = dataclasses.replace(test_pki, ca_path=cert, server_cert=cert, server_key=key)
    with start_registry(tmp_path / "registry-self-signed", pki=pki, tls=True) as registry:
        yield registry


def _says_tls_and_the_ways_out(stderr: str) -> None:
    text = stderr.lower()
    assert "certificate" in text, stderr
    assert "verif" in text, stderr
    assert "--cert-dir" in stderr, stderr
    assert "certs.d" in stderr, stderr
    assert "--insecure" in stderr, stderr
    assert "trust" in text, stderr
    assert "Traceback" not in stderr


def test_self_signed_certificate_is_explained(registry_self_signed: Registry, docker_config: Path) -> None:
    """Issue 17 #9: the refusal names the cause (certificate verification) and the ways out.

    A later plain `regcred login` (stored credentials) says the login did not
    succeed because of TLS, never "Stored credentials invalid or expired".
    """
    registry = registry_self_signed
    refused = _login(registry)
    assert refused.returncode == 1
    _says_tls_and_the_ways_out(refused.stderr)
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert registry.password not in refused.stderr
    assert not docker_config.exists(), "nothing stored after a refusal"

    assert _login(registry, "--insecure").returncode == 0
    stored = docker_config.read_bytes()
    reuse = regcred_cli("login", registry.address)
    assert reuse.returncode == 1
    assert "Stored credentials invalid or expired" not in reuse.stderr
    assert "Login did not succeed" in reuse.stderr
    _says_tls_and_the_ways_out(reuse.stderr)
    assert registry.password not in reuse.stderr
    assert docker_config.read_bytes() == stored
    trusted = regcred_cli("login", registry.address, "--cert-dir", str(registry.cert_dir))
    assert trusted.returncode == 0, trusted.stderr


def test_activatable_secret_service_falls_through_to_pass(
    registry_http: Registry,
    docker_config: Path,
    activatable_bus: str,
    pass_env: PassEnv,
    helpers_on_path: None,
) -> None:
    """Issue 17 #7: a Secret Service that is only activatable, on a bare session bus (ssh).

    The automatic choice probes it with a short bound, passes over it with one
    line saying why, and stores in the initialised pass store; doctor says the
    same thing, from the same code path.
    """
    import time

    started = time.monotonic()
    result = _login(registry_http)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 8, f"login took {elapsed:.1f} s"
    data = json.loads(docker_config.read_text())
    assert data["credsStore"] == "regcred-pass"
    why = [line for line in result.stderr.splitlines() if "Secret Service" in line]
    assert len(why) == 1, result.stderr
    assert "regcred-pass" in why[0]
    assert registry_http.password not in result.stderr
    assert pass_env.pass_("ls").returncode == 0
    docker_config.unlink()
    doctor = regcred_cli("doctor")
    assert "regcred login would store new credentials in: helper regcred-pass" in doctor.stdout, doctor.stdout
    assert "Secret Service" in doctor.stdout.split("would store new credentials in:")[1], doctor.stdout


def test_stalled_secret_service_is_passed_over_within_the_probe_bound(
    registry_http: Registry,
    docker_config: Path,
    stalled_activation_bus: str,
    pass_env: PassEnv,
    helpers_on_path: None,
) -> None:
    """Issue 17 #7: an activatable Secret Service that never starts costs the probe's bound, not 10 s."""
    import time

    started = time.monotonic()
    result = _login(registry_http)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 7, f"login took {elapsed:.1f} s (the probe's bound is 3 s)"
    assert json.loads(docker_config.read_text())["credsStore"] == "regcred-pass"
    why = [line for line in result.stderr.splitlines() if "Secret Service" in line]
    assert len(why) == 1, result.stderr
    assert "activatable" in why[0]
    assert "did not start" in why[0]
    docker_config.unlink()
    doctor = regcred_cli("doctor")
    assert "Secret Service: not-answering" in doctor.stdout, doctor.stdout
    assert "regcred login would store new credentials in: helper regcred-pass" in doctor.stdout


def test_doctor_probes_a_stalled_secret_service_once(
    docker_config: Path,
    stalled_activation_bus: str,
    pass_env: PassEnv,
    helpers_on_path: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """doctor's Secret Service row and its "would store in" line come from one probe (one cost, one truth).

    The bus and its stalled activation are real (the fixture); the probe is
    counted by a spy that runs the real one.  Two probes cost two bounds (~6 s).
    """
    from regcred._tools.doctor import diagnose
    from regcred.stores.secretservice import SecretServiceStore

    probes: list[int] = []
    real = SecretServiceStore._status

    def counted(self: SecretServiceStore, activatable: list[bool]) -> object:
        probes.append(1)
        return real(self, activatable)

    monkeypatch.setattr(SecretServiceStore, "_status", counted)
    report = diagnose()
    assert len(probes) == 1
    row = next(b for b in report.backends if b.name == "secretservice")
    assert row.state == "not-answering"
    assert report.login_store == "helper regcred-pass"
    assert row.detail in report.login_why  # the same answer, word for word


@contextlib.contextmanager
def _silent_registry() -> Iterator[str]:
    """A fake hostile server (named as such): a loopback listener that accepts and never answers."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes each handshake; nothing is ever read or sent
        yield f"127.0.0.1:{silent.getsockname()[1]}"


@pytest.mark.parametrize(
    ("extra", "env", "named"),
    [
        (["--timeout", "1"], {"REGCRED_HTTP_TIMEOUT": "60"}, "--timeout: 1 s"),  # the flag wins
        ([], {"REGCRED_HTTP_TIMEOUT": "1"}, "REGCRED_HTTP_TIMEOUT: 1 s"),  # the setting still works
    ],
)
def test_login_timeout_bounds_each_step_and_is_named(
    docker_config: Path, extra: list[str], env: dict[str, str], named: str
) -> None:
    """``login --timeout`` bounds a registry that never answers; the error names the bound; nothing stored."""
    import time

    config = docker_config / "config.json"
    before = config.read_bytes() if config.exists() else None
    with _silent_registry() as address:
        start = time.monotonic()
        result = regcred_cli("login", address, "-u", "u", "--password-stdin", *extra, stdin="pw\n", env=env)
        took = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    assert took < 20, took  # 60 s per step without the flag; each step here is 1 s
    assert "timeout awaiting response" in result.stderr
    assert named in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert (config.read_bytes() if config.exists() else None) == before


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "3600"])
def test_login_timeout_must_be_a_positive_number(docker_config: Path, value: str) -> None:
    """A bad ``--timeout`` is a usage error (exit 2) in one line, before any network."""
    result = regcred_cli(
        "login", "127.0.0.1:9", "-u", "u", "--password-stdin", "--timeout", value, stdin="pw\n"
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]  # argparse: the usage, then one error line
    assert last.startswith("regcred login: error: argument --timeout: give a positive number of seconds")
    assert "Traceback" not in result.stderr
