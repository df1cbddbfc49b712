"""LoginError's subclasses tell "rejected" from "unreachable" from "TLS", each met for real.

A real registry refuses a wrong password (Basic, and a real token server for
Bearer); a port nothing listens on refuses the connection; the TLS registry's
certificate is signed by the test CA, which nothing here trusts (as a
self-signed one would be).  ``except LoginError`` still catches all of them.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import regcred
from regcred.credentials import Credentials

if TYPE_CHECKING:
    from tests.fixtures.registry import Registry


def _closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_the_tree() -> None:
    """Every new class is a LoginError (``except LoginError`` keeps working); TLS is a kind of unreachable."""
    assert issubclass(regcred.CredentialsRejectedError, regcred.LoginError)
    assert issubclass(regcred.RegistryUnreachableError, regcred.LoginError)
    assert issubclass(regcred.TLSVerificationError, regcred.RegistryUnreachableError)
    assert not issubclass(regcred.CredentialsRejectedError, regcred.RegistryUnreachableError)


def test_wrong_password_is_rejected(registry_http: Registry, docker_config: Path) -> None:
    """Basic auth with the wrong password: CredentialsRejectedError (the 401), nothing stored."""
    with pytest.raises(regcred.CredentialsRejectedError, match="401 Unauthorized") as caught:
        regcred.login(registry_http.address, username=registry_http.username, secret="wrong-CANARY")
    assert "CANARY" not in str(caught.value)
    assert not docker_config.exists()


def test_wrong_password_at_the_token_server_is_rejected(
    registry_token: Registry, docker_config: Path
) -> None:
    """Bearer: the token server's 401 to the credentials is a rejection too."""
    with pytest.raises(regcred.CredentialsRejectedError) as caught:
        regcred.login(registry_token.address, username=registry_token.username, secret="wrong-CANARY")
    assert "CANARY" not in str(caught.value)
    assert not docker_config.exists()


def test_closed_port_is_unreachable(docker_config: Path) -> None:
    """Connection refused (https, then plain http for loopback): RegistryUnreachableError, not TLS."""
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(regcred.RegistryUnreachableError, match="connection refused") as caught:
        regcred.login(address, username="alice", secret="s3cret-CANARY")
    assert not isinstance(caught.value, regcred.TLSVerificationError)
    assert "CANARY" not in str(caught.value)
    assert not docker_config.exists()


def test_untrusted_certificate_is_tls(registry_tls: Registry, docker_config: Path) -> None:
    """An untrusted certificate: TLSVerificationError, also after plain http reached the TLS port."""
    with pytest.raises(regcred.TLSVerificationError, match="certificate") as caught:
        regcred.login(registry_tls.address, username=registry_tls.username, secret=registry_tls.password)
    assert registry_tls.password not in str(caught.value)
    assert not docker_config.exists()


def test_trusted_certificate_logs_in(registry_tls: Registry, docker_config: Path) -> None:
    """The same registry with its CA in certs.d: the login succeeds (so the TLS error above was the CA)."""
    assert registry_tls.ca_path is not None
    certs = docker_config.parent / "certs.d" / registry_tls.address
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_bytes(registry_tls.ca_path.read_bytes())
    result = regcred.login(registry_tls.address, username=registry_tls.username, secret=registry_tls.password)
    assert result.verified


def test_registry_auth_token_refusal_is_rejected(registry_token: Registry) -> None:
    """regcred.RegistryAuth: the token server refusing stored credentials raises CredentialsRejectedError."""
    httpx = pytest.importorskip("httpx")
    wrong = Credentials(registry_token.address, registry_token.username, "wrong-CANARY")
    with (
        httpx.Client(auth=regcred.RegistryAuth(credentials=wrong)) as client,
        pytest.raises(regcred.CredentialsRejectedError) as caught,
    ):
        client.get(f"{registry_token.url}/v2/")
    assert "CANARY" not in str(caught.value)
