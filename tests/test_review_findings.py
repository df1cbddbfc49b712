"""Regression tests for defects found in review: each failed before its fix."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from regcred import _config
from regcred._net.auth import verify_login
from regcred._net.http import Client, Request, redact_url
from regcred.errors import ConfigError, LoginError


def _serve_once(handler_bytes: list[bytes], delay: float = 0.0) -> tuple[int, threading.Thread]:
    """A raw TCP server on 127.0.0.1 that answers every connection with ``handler_bytes``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(30)

    def run() -> None:
        try:
            while True:
                conn, _ = server.accept()
                conn.recv(65536)
                for chunk in handler_bytes:
                    try:
                        conn.sendall(chunk)
                    except OSError:
                        break
                    time.sleep(delay)
                conn.close()
        except OSError:
            return
        finally:
            server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server.getsockname()[1], thread


@pytest.mark.parametrize(
    "secret_url",
    [
        "http://alice:CANARY#x@proxy.example:3128",
        "http://alice:CANARY/x@proxy.example:3128",
        "http://alice:CANARY?x@proxy.example:3128",
        "http://[bad/x?token=CANARY",
    ],
)
def test_redact_url_never_shows_userinfo_and_never_raises(secret_url: str) -> None:
    """Passwords holding #, / or ? are still stripped; malformed URLs do not raise."""
    assert "CANARY" not in redact_url(secret_url)


def test_proxy_password_not_in_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unusable proxy URL is reported without its password."""
    monkeypatch.setenv("HTTPS_PROXY", "socks5://alice:CANARY#x@proxy.example:1080")
    with pytest.raises(LoginError) as info:
        verify_login("reg.example", username="u", secret="p")
    assert "CANARY" not in str(info.value)


def test_dribbling_headers_hit_the_deadline() -> None:
    """A server sending one header byte at a time cannot stretch the timeout (headers included)."""
    payload = [b"HTTP/1.1 200 OK\r\n"] + [b"X" for _ in range(400)]
    port, _ = _serve_once(payload, delay=0.05)
    client = Client(timeout=1.0)
    start = time.monotonic()
    with pytest.raises(LoginError):
        client.send(Request("GET", f"http://127.0.0.1:{port}/v2/"))
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 302 Found\r\nLocation: http://[bad/x\r\nContent-Length: 0\r\n\r\n",
        (
            b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="https://[bad/token"\r\n'
            b"Content-Length: 0\r\n\r\n"
        ),
    ],
)
def test_malformed_urls_from_the_server_are_login_errors(answer: bytes) -> None:
    """A hostile Location or realm that urlsplit rejects is a LoginError, not a traceback."""
    port, _ = _serve_once([answer])
    with pytest.raises(LoginError):
        verify_login(f"127.0.0.1:{port}", username="u", secret="CANARY")


def test_non_utf8_password_is_a_clear_error(docker_config: Path) -> None:
    """A password that is not UTF-8 gets one line and exit 1, not a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "regcred", "login", "-u", "bob", "--password-stdin", "127.0.0.1:9"],
        input=b"CANARY-\xff-pw\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert b"UTF-8" in result.stderr


def test_bad_lock_timeout_value_is_an_error(docker_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """REGCRED_LOCK_TIMEOUT=abc does not crash a write: a ConfigError naming it, nothing written."""
    monkeypatch.setenv("REGCRED_LOCK_TIMEOUT", "abc")
    with pytest.raises(ConfigError, match=r"^REGCRED_LOCK_TIMEOUT is not a number"):
        _config.update(docker_config, lambda c: c.set_auth("r.example", "u", "p"))
    assert not docker_config.parent.exists()
    monkeypatch.delenv("REGCRED_LOCK_TIMEOUT")
    _config.update(docker_config, lambda c: c.set_auth("r.example", "u", "p"))
    assert _config.load(docker_config).entry("r.example") is not None


def test_missing_parents_are_private(tmp_path: Path) -> None:
    """Under umask 000, every directory regcred creates for config.json is 0700."""
    path = tmp_path / "a" / "b" / "c" / "config.json"
    old = os.umask(0)
    try:
        _config.update(path, lambda c: c.set_auth("r.example", "u", "p"))
    finally:
        os.umask(old)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_world_readable_config_gets_a_warning(registry_http: object, docker_config: Path) -> None:
    """A password going into an existing 0644 config.json gets a warning naming the mode (S13)."""
    from tests.fixtures.registry import Registry

    assert isinstance(registry_http, Registry)
    docker_config.parent.mkdir()
    docker_config.write_text('{"auths": {}}')
    docker_config.chmod(0o644)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "regcred",
            "login",
            "-u",
            registry_http.username,
            "--password-stdin",
            registry_http.address,
        ],
        input=registry_http.password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "mode 0644" in result.stderr
    assert "chmod 600" in result.stderr


@pytest.mark.parametrize("realm", ["https://localhost./token", "https://127.0.0.1./token"])
def test_realm_trailing_dot_is_still_local(realm: str) -> None:
    """A trailing dot does not hide a loopback realm from the realm check."""
    from regcred._net.policy import check_realm

    with pytest.raises(LoginError, match="loopback"):
        check_realm(realm, "https://reg.example")
