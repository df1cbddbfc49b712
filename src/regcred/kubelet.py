"""``regcred-kubelet-credential-provider``: the kubelet's exec credential-provider plugin.

The kubelet (``--image-credential-provider-config``, a ``CredentialProviderConfig``
of ``kubelet.config.k8s.io/v1``) runs this program for each image that matches
the provider's ``matchImages`` and is not cached, writes a
``CredentialProviderRequest`` on stdin and reads a ``CredentialProviderResponse``
from stdout (API group ``credentialprovider.kubelet.k8s.io``, versions ``v1``,
``v1beta1`` and ``v1alpha1``, which have the same shape; the answer is in the
request's version, because the kubelet rejects any other).

The request::

    {"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1",
     "image":"registry.io:8080/team/app"}

``image`` is resolved with :func:`regcred.get_credentials`, so every store
regcred reads works: config.json's ``auths``, ``credsStore``/``credHelpers``
with our helpers or anyone's (the Go helpers, ``ecr-login``, ``regcred-aws``),
``$DOCKER_AUTH_CONFIG`` and podman's auth files.  Other request fields
(``serviceAccountToken``, ``serviceAccountAnnotations``, and whatever a newer
kubelet adds) are ignored, never echoed and never logged.

The response::

    {"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1",
     "cacheKeyType":"Registry","cacheDuration":"59m0s",
     "auth":{"registry.io:8080":{"username":"ci","password":"..."}}}

* The kubelet decodes it **strictly**: an unknown field, a wrong ``kind`` or a
  different ``apiVersion`` makes it drop the answer.  So only the fields of
  the request's version are written (never ``serviceAccountTokenCacheType``,
  which ``v1beta1`` does not have).
* ``auth`` has one key, which the kubelet matches against images by its rules
  (same number of host labels, each matched as a glob; the same port, or none
  on both sides; the key's path a prefix of the image's path): the image's own
  ``host[:port]`` with ``cacheKeyType`` ``Registry``, or ``host[:port]/path``
  with ``Image`` when the credential belongs to that repository only (a
  namespaced entry in podman's auth file, for example).  Docker Hub images get
  the key ``index.docker.io``, which the kubelet also uses for images named
  without a registry (``nginx``) or under ``docker.io``.
* ``cacheDuration`` (a Go duration, ``"1h2m3s"``) is set when the secret is a
  JWT with an ``exp`` claim: until 60 seconds before it expires, ``"0s"`` (do
  not cache) when that is past.  The token is decoded, never verified, and
  never printed.  Otherwise the field is left out and the kubelet uses the
  provider's ``defaultCacheDuration``.
* An identity token (username ``<token>``) is never handed to the kubelet,
  which can only send a username and password: it is skipped.

No credentials: ``"auth":{}`` with ``cacheKeyType`` ``Registry``, exit 0.
Errors (an unreadable request, an invalid image reference, an unreadable config, a failing
helper): exit 1 and one line on stderr, which the kubelet logs; it never holds a secret.
"""

from __future__ import annotations

import sys

from regcred.errors import RegcredError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, TextIO

    from regcred.credentials import Credentials

__all__ = [
    "API_GROUP",
    "API_VERSIONS",
    "EXPIRY_MARGIN",
    "PROGRAM",
    "go_duration",
    "jwt_expiry",
    "main",
    "respond",
    "run",
]

API_GROUP = "credentialprovider.kubelet.k8s.io"
API_VERSIONS = frozenset({f"{API_GROUP}/v1", f"{API_GROUP}/v1beta1", f"{API_GROUP}/v1alpha1"})
PROGRAM = "regcred-kubelet-credential-provider"
#: A JWT is handed out until this many seconds before its ``exp``.
EXPIRY_MARGIN = 60
_MAX_REQUEST = 1024 * 1024
_HUB_MATCH_KEY = "index.docker.io"
_USAGE = f"""\
Usage: {PROGRAM} [--version | --help]

The kubelet's exec credential-provider plugin: reads one CredentialProviderRequest
({", ".join(sorted(API_VERSIONS))}) on stdin and writes the
CredentialProviderResponse on stdout, with the credentials regcred finds for the
image (config.json and its helpers, podman's auth files; DOCKER_CONFIG as for docker).
No credentials: an empty "auth" and exit 0. Errors: exit 1 and one line on stderr.
"""


class _BadRequestError(RegcredError):
    """The request is not a CredentialProviderRequest regcred can answer."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: one request on stdin, one response on stdout."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-v"]):
        from regcred._version import __version__, runtime

        print(f"{PROGRAM} (regcred) v{__version__}\n{runtime()}")
        return 0
    if args in (["--help"], ["-h"]):
        print(_USAGE, end="")
        return 0
    if args:
        return _fail(sys.stderr, "takes no arguments (the kubelet writes the request on stdin)")
    stdin: BinaryIO | None = sys.stdin.buffer if sys.stdin is not None else None
    return run(stdin, sys.stdout, sys.stderr)


def run(stdin: BinaryIO | None, stdout: TextIO, stderr: TextIO) -> int:
    """Answer one request; the exit code is 0 with a response, 1 with one line on ``stderr``."""
    try:
        data = stdin.read(_MAX_REQUEST + 1) if stdin is not None else b""
        answer = respond(data, hint=lambda text: _hint(stderr, text))
    except RegcredError as exc:  # regcred's messages never contain a secret
        return _fail(stderr, str(exc))
    except Exception as exc:
        # Other messages might quote input or output; only the type is safe to show.
        return _fail(stderr, f"unexpected error: {type(exc).__name__}")
    stdout.write(answer)
    stdout.flush()
    return 0


def respond(request: bytes, *, now: float | None = None, hint: Any = None) -> str:
    """The response JSON (one line) for a request; raises RegcredError for a bad one."""
    import json

    if len(request) > _MAX_REQUEST:
        raise _BadRequestError("the request is larger than 1 MiB")
    api_version, image = _parse(request)
    from regcred._address import split_repository

    # docker's reference grammar, strictly: an invalid image ("a@b/x") is an error, never
    # the credential of whatever registry a lenient reading would land on (Docker Hub).
    split_repository(image)
    reference = _strip_tag(image)
    host, _, path = reference.partition("/") if _has_registry(reference) else ("", "", reference)
    from regcred._lookup import get_credentials

    found = get_credentials(reference if host else f"docker.io/{path}")
    body: dict[str, Any] = {"kind": "CredentialProviderResponse", "apiVersion": api_version}
    if found is None:
        return _dump(json, {**body, "cacheKeyType": "Registry", "auth": {}})
    if found.is_identity_token:
        if hint is not None:
            hint(f"the credential for {found.server} is an identity token, which the kubelet cannot use")
        return _dump(json, {**body, "cacheKeyType": "Registry", "auth": {}})
    match_key, key_type = _match_key(host, path, found)
    body["cacheKeyType"] = key_type
    expiry = jwt_expiry(found.secret)
    if expiry is not None:
        import time

        left = int(expiry - (time.time() if now is None else now)) - EXPIRY_MARGIN
        body["cacheDuration"] = go_duration(max(left, 0))
    body["auth"] = {match_key: {"username": found.username, "password": found.secret}}
    return _dump(json, body)


# -- the request ---------------------------------------------------------------------


def _parse(request: bytes) -> tuple[str, str]:
    import json

    try:
        obj = json.loads(request.decode("utf-8"))
    except UnicodeDecodeError:
        raise _BadRequestError("the request is not UTF-8") from None
    except json.JSONDecodeError as exc:
        # exc.msg and the position name no input text.
        raise _BadRequestError(
            f"the request is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(obj, dict):
        raise _BadRequestError("the request is not a JSON object")
    kind, api_version, image = obj.get("kind"), obj.get("apiVersion"), obj.get("image")
    if kind != "CredentialProviderRequest":
        raise _BadRequestError(f"expected kind CredentialProviderRequest, got {_short(kind)}")
    if api_version not in API_VERSIONS:
        versions = ", ".join(sorted(API_VERSIONS))
        raise _BadRequestError(f"unsupported apiVersion {_short(api_version)} (supported: {versions})")
    if not isinstance(image, str) or not image:
        raise _BadRequestError("the request has no image")
    return api_version, image


def _short(value: object) -> str:
    text = value if isinstance(value, str) else type(value).__name__ if value is not None else "none"
    return repr(text[:80])


def _strip_tag(image: str) -> str:
    """``host/repo`` without ``:tag`` and ``@digest`` (the kubelet usually sends neither)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.find(":", slash + 1)
    return name[:colon] if colon > slash else name


def _has_registry(reference: str) -> bool:
    """Docker's rule: the first component names a registry if it has ``.`` or ``:``, or is localhost."""
    first, slash, _ = reference.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


# -- the response --------------------------------------------------------------------


def _match_key(host: str, path: str, found: Credentials) -> tuple[str, str]:
    """``(auth key, cacheKeyType)`` for the credential found for ``host/path``."""
    from regcred._address import HUB_HOSTS

    if not host or host.lower() in HUB_HOSTS:
        registry_key, registry_ref = _HUB_MATCH_KEY, "docker.io"
    else:
        registry_key, registry_ref = host, host
    if path:
        from regcred._lookup import get_credentials

        # The same credential for the bare registry: it serves every image there.
        whole = get_credentials(registry_ref)
        same = whole is not None and (whole.username, whole.secret) == (found.username, found.secret)
        if not same:
            return f"{host or 'docker.io'}/{path}", "Image"
    return registry_key, "Registry"


def _dump(json: Any, body: dict[str, Any]) -> str:
    text: str = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return text + "\n"


def go_duration(seconds: int) -> str:
    """Go's ``time.Duration.String()`` for whole seconds: ``0s``, ``45s``, ``2m0s``, ``1h2m3s``."""
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (unverified), or None when ``token`` is not a JWT with one."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    import binascii
    import json

    payload = parts[1]
    try:
        raw = binascii.a2b_base64((payload + "=" * (-len(payload) % 4)).translate(_URL_TO_STD))
        claims = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)


_URL_TO_STD = str.maketrans("-_", "+/")


def _hint(stderr: TextIO, text: str) -> None:
    try:
        stderr.write(f"{PROGRAM}: {text}\n")
        stderr.flush()
    except (OSError, ValueError):
        pass


def _fail(stderr: TextIO, message: str) -> int:
    _hint(stderr, " ".join(message.split("\n")))
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
