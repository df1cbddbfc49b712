"""The auth plug-ins against oras-py: 100 manifest GETs over 10 repositories, token requests and time.

A token-auth registry (Debian's ``docker-registry`` with the tests' token
server, plain HTTP on 127.0.0.1) holds one small image in each of 10
repositories.  Each run starts cold (a new client and a new auth object, so
no token is cached) and GETs ``repo-<i % 10>:v1``'s manifest 100 times, the
repositories in turn, with:

* ``RegistryAuth`` on an ``httpx.Client``;
* ``RequestsAuth`` on a ``requests.Session``;
* oras-py's own token auth (``Registry.get_manifest``, Basic credentials set),
  one ``Registry`` per repository: a single one keeps one token for all
  repositories and fails on the second (401).

The three run interleaved; each run also counts the token requests it made
(on the token server) and the registry requests (401s included).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import TYPE_CHECKING

from _timing import BenchError, Comparison, Timing, interleave, timed

if TYPE_CHECKING:
    from collections.abc import Callable

    from _common import Sandbox

REPOSITORIES = 10
GETS = 100
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _seed(base: str, auth: object) -> None:
    """One small image (config + layer + manifest) in each repository, pushed through RegistryAuth."""
    import httpx

    layer = secrets.token_bytes(1024)
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    with httpx.Client(auth=auth) as client:  # type: ignore[arg-type]
        for i in range(REPOSITORIES):
            name = f"bench/repo-{i}"
            for blob in (config, layer):
                started = client.post(f"{base}/v2/{name}/blobs/uploads/")
                location = httpx.URL(base).join(started.headers["location"])
                done = client.put(location.copy_merge_params({"digest": _digest(blob)}), content=blob)
                if done.status_code != 201:
                    raise BenchError(f"seeding {name}: blob upload answered {done.status_code}")
            put = client.put(
                f"{base}/v2/{name}/manifests/v1", content=manifest, headers={"Content-Type": MANIFEST_V2}
            )
            if put.status_code != 201:
                raise BenchError(f"seeding {name}: manifest PUT answered {put.status_code}")


def manifest_gets(box: Sandbox, runs: int) -> tuple[list[Comparison], dict[str, tuple[float, float]]]:
    """Interleaved runs: the comparisons, and ``{client: (token requests, registry requests)}`` per run."""
    try:
        import httpx
        import oras.provider  # type: ignore[import-untyped]
        import requests
    except ImportError as exc:
        raise BenchError(f"{exc.name} is not installed (scripts/setup installs the test group)") from None
    from tests.fixtures.registry import TokenServer, make_pki, start_registry

    from regcred import RegistryAuth, RequestsAuth
    from regcred.credentials import Credentials

    pki = make_pki(box.path("auth-pki"))
    password = "pw-" + secrets.token_urlsafe(12)
    token = TokenServer(username="bench-user", password=password, pki=pki)
    token.start()
    try:
        with start_registry(
            box.path("auth-registry"), pki=pki, token=token, username="bench-user", password=password
        ) as registry:
            creds = Credentials(registry.address, registry.username, registry.password)
            base = registry.url
            _seed(base, RegistryAuth(credentials=creds))
            urls = [f"{base}/v2/bench/repo-{k % REPOSITORIES}/manifests/v1" for k in range(GETS)]
            counts: dict[str, list[tuple[int, int]]] = {}
            registry_requests = [0]

            def counted(label: str, run: Callable[[Callable[[], None]], None]) -> Callable[[], Timing]:
                def one() -> Timing:
                    before = len(token.requests)
                    registry_requests[0] = 0
                    timing = timed(lambda: run(lambda: None))
                    counts.setdefault(label, []).append((len(token.requests) - before, registry_requests[0]))
                    return timing

                return one

            def via_httpx(_: Callable[[], None]) -> None:
                hooks = {"response": [lambda _r: registry_requests.__setitem__(0, registry_requests[0] + 1)]}
                with httpx.Client(auth=RegistryAuth(credentials=creds), event_hooks=hooks) as client:
                    for url in urls:
                        if client.get(url, headers={"Accept": MANIFEST_V2}).status_code != 200:
                            raise BenchError("RegistryAuth: a manifest GET failed")

            def count_hook(response: requests.Response, **_: object) -> requests.Response:
                registry_requests[0] += 1 + len(response.history)
                return response

            def via_requests(_: Callable[[], None]) -> None:
                with requests.Session() as session:
                    session.auth = RequestsAuth(credentials=creds)
                    session.hooks["response"].append(count_hook)
                    for url in urls:
                        if session.get(url, headers={"Accept": MANIFEST_V2}).status_code != 200:
                            raise BenchError("RequestsAuth: a manifest GET failed")

            def via_oras(_: Callable[[], None]) -> None:
                # One oras-py Registry keeps one token for every repository: the second
                # repository's GET then fails (401, "Unauthorized").  One client per
                # repository is the workaround an oras-py user needs.
                clients = []
                for _i in range(REPOSITORIES):
                    client = oras.provider.Registry(hostname=registry.address, insecure=True)
                    client.auth.set_basic_auth(registry.username, registry.password)
                    client.session.hooks["response"].append(count_hook)
                    clients.append(client)
                for k in range(GETS):
                    reference = f"{registry.address}/bench/repo-{k % REPOSITORIES}:v1"
                    clients[k % REPOSITORIES].get_manifest(reference)

            programs = {
                "regcred RegistryAuth (httpx)": counted("regcred RegistryAuth (httpx)", via_httpx),
                "regcred RequestsAuth (requests)": counted("regcred RequestsAuth (requests)", via_requests),
                "oras-py": counted("oras-py", via_oras),
            }
            samples = interleave(programs, runs=runs, warmup=1)
    finally:
        token.stop()
    # A requests hook sees a response once, with the 401s RequestsAuth answered in its history.
    per_run = {
        label: (
            sum(t for t, _ in values) / len(values),
            sum(r for _, r in values) / len(values),
        )
        for label, values in counts.items()
    }
    results = [
        Comparison(
            section="auth plug-in",
            measure=(
                f"{GETS} manifest GETs, {REPOSITORIES} repos (token requests "
                f"{per_run[label][0]:.0f} vs {per_run['oras-py'][0]:.0f}; registry requests "
                f"{per_run[label][1]:.0f} vs {per_run['oras-py'][1]:.0f})"
            ),
            samples={label: samples[label], "oras-py": samples["oras-py"]},
            reference="oras-py",
        )
        for label in ("regcred RegistryAuth (httpx)", "regcred RequestsAuth (requests)")
    ]
    return results, per_run
