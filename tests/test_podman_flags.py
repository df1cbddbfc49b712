"""podman's login flags on regcred (``--authfile``/``REGISTRY_AUTH_FILE``, ``--get-login``, ``--tls-verify``).

The referee is the real podman on the same auth file: what regcred logs in
to, ``podman login --get-login`` reports; what podman logs in to, regcred's
``--get-login`` reports and ``regcred logout --authfile`` removes.  podman
runs as the test user with its storage in a temporary vfs directory
(:func:`tests.fixtures.differential.containers_env`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import require_program
from tests.fixtures.differential import containers_env
from tests.fixtures.processes import regcred

if TYPE_CHECKING:
    import pytest

    from tests.fixtures.registry import Registry


def podman(root: Path, authfile: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    binary = require_program("podman", "podman")
    return subprocess.run(
        [binary, "--events-backend", "none", *args],
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
        env=containers_env(root, authfile),
    )  # fmt: skip


def _login(registry: Registry, *extra: str) -> subprocess.CompletedProcess[str]:
    return regcred(
        "login",
        registry.address,
        "-u",
        registry.username,
        "--password-stdin",
        *extra,
        stdin=registry.password + "\n",
    )


def test_login_and_logout_with_authfile_as_podman_reads_them(
    registry_http: Registry, docker_config: Path, tmp_path: Path
) -> None:
    """login --authfile F: podman --get-login sees it; logout --authfile F: podman sees none."""
    authfile = tmp_path / "containers" / "auth.json"
    done = _login(registry_http, "--authfile", str(authfile))
    assert done.returncode == 0, done.stderr
    assert not docker_config.exists()  # docker's config untouched
    assert set(json.loads(authfile.read_text())["auths"]) == {registry_http.address}
    seen = podman(
        tmp_path, authfile, "login", "--get-login", "--authfile", str(authfile), registry_http.address
    )
    assert (seen.returncode, seen.stdout.strip()) == (0, registry_http.username), seen.stderr
    ours = regcred("login", "--get-login", "--authfile", str(authfile), registry_http.address)
    assert (ours.returncode, ours.stdout.strip()) == (0, registry_http.username), ours.stderr
    out = regcred("logout", "--authfile", str(authfile), registry_http.address)
    assert out.returncode == 0, out.stderr
    gone = podman(
        tmp_path, authfile, "login", "--get-login", "--authfile", str(authfile), registry_http.address
    )
    assert gone.returncode != 0
    ours = regcred("login", "--get-login", "--authfile", str(authfile), registry_http.address)
    assert ours.returncode == 1
    assert ours.stdout == ""
    assert ours.stderr.startswith("regcred: not logged in to ")


def test_what_podman_logs_in_to_regcred_reads_and_removes(
    registry_http: Registry, docker_config: Path, tmp_path: Path
) -> None:
    """podman login --authfile F; regcred --get-login reports it; regcred logout --authfile F removes it."""
    authfile = tmp_path / "auth.json"
    done = podman(
        tmp_path, authfile, "login", "--tls-verify=false", "--authfile", str(authfile),
        "-u", registry_http.username, "--password-stdin", registry_http.address, stdin=registry_http.password,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ours = regcred("login", "--get-login", "--authfile", str(authfile), registry_http.address)
    assert (ours.returncode, ours.stdout.strip()) == (0, registry_http.username), ours.stderr
    out = regcred("logout", "--json", "--authfile", str(authfile), registry_http.address)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "keys": [registry_http.address],
        "removed": {str(authfile): [registry_http.address]},
        "revoked": False,
        "revoke_error": "",
    }
    gone = podman(
        tmp_path, authfile, "login", "--get-login", "--authfile", str(authfile), registry_http.address
    )
    assert gone.returncode != 0


def test_registry_auth_file_is_the_default_authfile(
    registry_http: Registry, docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REGISTRY_AUTH_FILE, as podman reads it, is where login goes without --authfile (said on stderr)."""
    authfile = tmp_path / "env-auth.json"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(authfile))
    done = _login(registry_http)
    assert done.returncode == 0, done.stderr
    assert "REGISTRY_AUTH_FILE" in done.stderr
    assert not docker_config.exists()
    seen = podman(
        tmp_path, authfile, "login", "--get-login", registry_http.address
    )  # podman: from the env too
    assert (seen.returncode, seen.stdout.strip()) == (0, registry_http.username), seen.stderr
    assert regcred("logout", registry_http.address).returncode == 0
    assert podman(tmp_path, authfile, "login", "--get-login", registry_http.address).returncode != 0


def test_get_login_reads_dockers_config_without_authfile(
    registry_http: Registry, docker_config: Path
) -> None:
    """Without --authfile, --get-login answers from docker's config.json, the store login reuses."""
    assert regcred("login", "--get-login", registry_http.address).returncode == 1
    assert _login(registry_http).returncode == 0
    ours = regcred("login", "--get-login", registry_http.address)
    assert (ours.returncode, ours.stdout) == (0, registry_http.username + "\n")
    assert registry_http.password not in ours.stdout + ours.stderr


def test_tls_verify_false_is_insecure(registry_tls: Registry, docker_config: Path, tmp_path: Path) -> None:
    """--tls-verify=false lets a login through an untrusted certificate, as it does for podman."""
    refused = _login(registry_tls)
    assert refused.returncode == 1
    podman_refused = podman(
        tmp_path, tmp_path / "a.json", "login", "--authfile", str(tmp_path / "a.json"),
        "-u", registry_tls.username, "--password-stdin", registry_tls.address, stdin=registry_tls.password,
    )  # fmt: skip
    assert podman_refused.returncode != 0
    done = _login(registry_tls, "--tls-verify=false")
    assert done.returncode == 0, done.stderr
    podman_done = podman(
        tmp_path, tmp_path / "a.json", "login", "--tls-verify=false", "--authfile", str(tmp_path / "a.json"),
        "-u", registry_tls.username, "--password-stdin", registry_tls.address, stdin=registry_tls.password,
    )  # fmt: skip
    assert podman_done.returncode == 0, podman_done.stderr
    verify = _login(
        registry_tls, "--tls-verify=false", "--tls-verify=true"
    )  # the last one wins, as in podman
    assert verify.returncode == 1


def test_tls_verify_true_is_https_only_as_in_podman(
    registry_http: Registry, docker_config: Path, tmp_path: Path
) -> None:
    """An explicit --tls-verify[=true] never falls back to plain http, even on loopback, as in podman.

    Without the flag a loopback registry may be plain http (docker's rule, and podman's
    default for localhost is not that: it needs --tls-verify=false there).
    """
    authfile = tmp_path / "p.json"
    argv = ("login", "--authfile", str(authfile), "-u", registry_http.username, "--password-stdin")
    for flag in ("--tls-verify", "--tls-verify=true"):
        refused = _login(registry_http, flag)
        assert refused.returncode == 1, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert registry_http.password not in refused.stdout + refused.stderr
        assert not docker_config.exists()  # nothing stored
        theirs = podman(tmp_path, authfile, *argv, flag, registry_http.address, stdin=registry_http.password)
        assert theirs.returncode != 0, theirs.stdout  # podman agrees
    last_wins = _login(registry_http, "--tls-verify", "--tls-verify=false")
    assert last_wins.returncode == 0, last_wins.stderr
    theirs = podman(
        tmp_path, authfile, *argv, "--tls-verify", "--tls-verify=false", registry_http.address,
        stdin=registry_http.password,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    assert _login(registry_http).returncode == 0  # no flag: loopback http, as docker does
