"""RegistryAuth (httpx) and RequestsAuth (requests) against REAL registries.

An image (config blob, layer blob, manifest) is pushed through httpx and
pulled back through requests, on Debian's docker-registry with htpasswd and
with token auth; token requests are counted on the token server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests

import regcred
from regcred.credentials import Credentials
from tests.fixtures.config_files import write_config

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fixtures.registry import Registry, TokenServer

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def password_config(directory: Path, registry: Registry) -> Path:
    """A docker config dir with the registry's username and password."""
    write_config(directory / "config.json", {registry.address: (registry.username, registry.password)})
    return directory


def digest(data: bytes) -> str:
    """The sha256 digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Image:
    """A tiny image: a config blob, one layer, a schema 2 manifest."""

    def __init__(self) -> None:
        self.layer = secrets.token_bytes(2048)
        self.config = json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode()
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_V2,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "digest": digest(self.config),
                    "size": len(self.config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "digest": digest(self.layer),
                        "size": len(self.layer),
                    }
                ],
            }
        ).encode()


def push(client: httpx.Client, base: str, name: str, image: Image) -> None:
    """Push ``image`` as ``name:v1`` with monolithic blob uploads."""
    for blob in (image.config, image.layer):
        started = client.post(f"{base}/v2/{name}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = httpx.URL(base).join(started.headers["location"])
        done = client.put(
            location.copy_merge_params({"digest": digest(blob)}),
            content=blob,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
    stored = client.put(
        f"{base}/v2/{name}/manifests/v1", content=image.manifest, headers={"Content-Type": MANIFEST_V2}
    )
    assert stored.status_code == 201, stored.text


def pull(session: requests.Session, base: str, name: str, image: Image) -> None:
    """Pull ``name:v1`` back and check every byte."""
    got = session.get(f"{base}/v2/{name}/manifests/v1", headers={"Accept": MANIFEST_V2})
    assert got.status_code == 200, got.text
    assert got.content == image.manifest
    for descriptor in [json.loads(got.content)["config"], *json.loads(got.content)["layers"]]:
        blob = session.get(f"{base}/v2/{name}/blobs/{descriptor['digest']}")
        assert blob.status_code == 200
        assert digest(blob.content) == descriptor["digest"]


def token_requests(server: TokenServer) -> list[tuple[str, ...]]:
    """The scopes of every token request so far, one sorted tuple per request."""
    scopes = []
    for request in server.requests:
        query = parse_qsl(urlsplit(request["path"]).query)
        wanted = [v for k, v in query if k == "scope"] + request["form"].get("scope", "").split()
        scopes.append(tuple(sorted(wanted)))
    return scopes


# --------------------------------------------------------------------------- token auth


def test_push_with_httpx_pull_with_requests_token_auth(registry_token: Registry, tmp_path: Path) -> None:
    """A real push through RegistryAuth and pull through RequestsAuth: one token per scope."""
    token_server = registry_token.token_server
    assert token_server is not None
    config_dir = password_config(tmp_path / "cfg", registry_token)
    image = Image()
    with httpx.Client(auth=regcred.RegistryAuth(config_dir=config_dir)) as client:
        push(client, registry_token.url, "regcred/demo", image)
        push(client, registry_token.url, "regcred/demo", image)  # again: no new token
    assert token_requests(token_server) == [("repository:regcred/demo:pull,push",)]
    grant = token_server.requests[0]
    assert grant["query"]["account"] == registry_token.username
    assert "offline_token" not in grant["query"]

    token_server.requests.clear()
    session = requests.Session()
    session.auth = regcred.RequestsAuth(config_dir=config_dir)
    for _ in range(3):
        pull(session, registry_token.url, "regcred/demo", image)
    assert token_requests(token_server) == [("repository:regcred/demo:pull",)]


def test_identity_token_is_a_refresh_grant(registry_token: Registry, tmp_path: Path) -> None:
    """S24: a stored identitytoken becomes a refresh_token grant with the scope, never Basic."""
    token_server = registry_token.token_server
    assert token_server is not None
    refresh = token_server.issue_refresh_token()
    config_dir = tmp_path / "cfg"
    write_config(config_dir / "config.json", {registry_token.address: {"identitytoken": refresh}})
    with httpx.Client(auth=regcred.RegistryAuth(config_dir=config_dir)) as client:
        listed = client.get(f"{registry_token.url}/v2/_catalog")
        tags = client.get(f"{registry_token.url}/v2/regcred/none/tags/list")
    assert listed.status_code == 200
    assert tags.status_code == 404  # authorised, and the repository does not exist
    assert [r["method"] for r in token_server.requests] == ["POST", "POST"]
    assert [r["form"]["scope"] for r in token_server.requests] == [
        "registry:catalog:*",
        "repository:regcred/none:pull",
    ]
    assert all(r["form"]["grant_type"] == "refresh_token" for r in token_server.requests)
    assert not any("Authorization" in r["headers"] for r in token_server.requests)


def test_async_client_concurrent_requests_share_one_token(registry_token: Registry, tmp_path: Path) -> None:
    """httpx.AsyncClient: 20 concurrent requests for one scope make one token request."""
    token_server = registry_token.token_server
    assert token_server is not None
    config_dir = password_config(tmp_path / "cfg", registry_token)
    auth = regcred.RegistryAuth(config_dir=config_dir)

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=auth) as client:
            url = f"{registry_token.url}/v2/regcred/none/tags/list"
            responses = await asyncio.gather(*(client.get(url) for _ in range(20)))
            return [r.status_code for r in responses]

    assert asyncio.run(main()) == [404] * 20
    assert token_requests(token_server) == [("repository:regcred/none:pull",)]


def test_requests_threads_share_one_token(registry_token: Registry, tmp_path: Path) -> None:
    """One RequestsAuth across 8 threads: every request authorised, one token request."""
    token_server = registry_token.token_server
    assert token_server is not None
    auth = regcred.RequestsAuth(config_dir=password_config(tmp_path / "cfg", registry_token))
    url = f"{registry_token.url}/v2/regcred/none/tags/list"

    def get(_: int) -> int:
        with requests.Session() as session:
            return session.get(url, auth=auth).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(get, range(32))) == [404] * 32
    assert token_requests(token_server) == [("repository:regcred/none:pull",)]


def test_token_auth_over_tls(registry_token_tls: Registry, tmp_path: Path) -> None:
    """TLS registry and TLS realm: the token request trusts docker's certs.d in the config dir."""
    token_server = registry_token_tls.token_server
    assert token_server is not None
    assert registry_token_tls.cert_dir is not None
    config_dir = password_config(tmp_path / "cfg", registry_token_tls)
    certs = config_dir / "certs.d" / registry_token_tls.address
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_bytes((registry_token_tls.cert_dir / "ca.crt").read_bytes())
    auth = regcred.RegistryAuth(config_dir=config_dir)
    with httpx.Client(
        auth=auth, verify=ssl.create_default_context(cafile=str(registry_token_tls.ca_path))
    ) as client:
        push(client, registry_token_tls.url, "regcred/tls", Image())
    assert token_requests(token_server) == [("repository:regcred/tls:pull,push",)]


def test_anonymous_when_no_credentials(registry_token: Registry, tmp_path: Path) -> None:
    """No stored credentials: an anonymous token request (no Authorization), refused here."""
    token_server = registry_token.token_server
    assert token_server is not None
    (tmp_path / "cfg").mkdir()
    auth = regcred.RegistryAuth(config_dir=tmp_path / "cfg")
    with httpx.Client(auth=auth) as client, pytest.raises(regcred.LoginError) as info:
        client.get(f"{registry_token.url}/v2/regcred/none/tags/list")
    assert "incorrect username or password" in str(info.value)
    [grant] = token_server.requests
    assert "Authorization" not in grant["headers"]
    assert "account" not in grant["query"]


# --------------------------------------------------------------------------- Basic auth


def test_basic_registry_push_and_pull(registry_http: Registry, tmp_path: Path) -> None:
    """htpasswd registry: one challenge, then Basic from the first request on; both clients."""
    config_dir = password_config(tmp_path / "cfg", registry_http)
    statuses: list[int] = []
    image = Image()
    hooks = {"response": [lambda r: statuses.append(r.status_code)]}
    with httpx.Client(auth=regcred.RegistryAuth(config_dir=config_dir), event_hooks=hooks) as client:
        push(client, registry_http.url, "regcred/basic", image)
    assert statuses.count(401) == 1
    assert statuses[:2] == [401, 202]
    session = requests.Session()
    session.auth = regcred.RequestsAuth(config_dir=config_dir)
    pull(session, registry_http.url, "regcred/basic", image)


def test_explicit_credentials_only_for_their_registry(registry_http: Registry) -> None:
    """credentials= work for their own registry; the wrong password leaves the 401 to the caller."""
    good = Credentials(registry_http.address, registry_http.username, registry_http.password)
    with httpx.Client(auth=regcred.RegistryAuth(credentials=good)) as client:
        assert client.get(f"{registry_http.url}/v2/").status_code == 200
    other = Credentials("127.0.0.1:1", registry_http.username, registry_http.password)
    with httpx.Client(auth=regcred.RegistryAuth(credentials=other)) as client:
        assert client.get(f"{registry_http.url}/v2/").status_code == 401
    wrong = Credentials(registry_http.address, registry_http.username, "wrong-password")
    with httpx.Client(auth=regcred.RegistryAuth(credentials=wrong)) as client:
        assert client.get(f"{registry_http.url}/v2/").status_code == 401


def test_oras_py_through_requests_auth(registry_token: Registry, tmp_path: Path) -> None:
    """oras-py (a peer client) pushes and pulls with its session's auth set to RequestsAuth."""
    oras_provider = pytest.importorskip("oras.provider")
    token_server = registry_token.token_server
    assert token_server is not None
    config_dir = password_config(tmp_path / "cfg", registry_token)
    image = Image()
    with httpx.Client(auth=regcred.RegistryAuth(config_dir=config_dir)) as client:
        push(client, registry_token.url, "regcred/oras", image)
    token_server.requests.clear()
    oras = oras_provider.Registry(hostname=registry_token.address, insecure=True)
    oras.session.auth = regcred.RequestsAuth(config_dir=config_dir)
    reference = f"{registry_token.address}/regcred/oras:v1"
    manifest = oras.get_manifest(reference)
    assert manifest["layers"][0]["digest"] == digest(image.layer)
    assert oras.get_tags(reference) == ["v1"]
    blob = oras.get_blob(reference, digest(image.layer))
    assert blob.content == image.layer
    assert token_requests(token_server) == [("repository:regcred/oras:pull",)]
