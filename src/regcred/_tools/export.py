"""``regcred export``: hand stored credentials to Kubernetes or to a CI job.

Two formats:

* ``k8s``: a ``kubernetes.io/dockerconfigjson`` Secret, byte for byte what
  ``kubectl create secret docker-registry NAME --dry-run=client -o yaml``
  (or ``-o json``) prints (kubectl 1.32): ``data[".dockerconfigjson"]`` is
  base64 of Go's compact JSON ``{"auths":{KEY:{"username","password","auth"}}}``,
  keys sorted as Go sorts map keys.  The YAML is written by hand; the only
  free-form values are ``--name`` and ``--namespace``, and those are
  validated as Kubernetes names first, so nothing ever needs quoting.
  The kubelet cannot use an identity token (it only sends username and
  password), so such credentials are refused when named and skipped, with a
  warning, when exporting everything.
* ``config``: a standalone ``config.json`` (``{"auths": …}``, docker's
  on-disk layout, tab-indented) for ``DOCKER_CONFIG`` in CI.  Identity
  tokens are kept as ``identitytoken``.

Credentials are read through whatever store holds them (config.json, its
helpers, podman's auth files for a named server).  ``-o FILE`` is written
through a temp file in the same directory, created ``0600`` with ``O_EXCL``
before any byte is written, then renamed over FILE (a symlink to it stays);
a FIFO, a terminal, ``/dev/stdout`` or ``/dev/fd/N`` (``-o >(…)``) is
written into instead, never renamed over.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass

from regcred._address import HUB_TOKEN_KEYS, split_repository
from regcred._gojson import dumps_compact, dumps_indent
from regcred.errors import AddressError, CredentialsNotFoundError, RegcredError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from regcred.credentials import Credentials

__all__ = ["ExportResult", "export", "write_output"]

SECRET_TYPE = "kubernetes.io/dockerconfigjson"
DATA_KEY = ".dockerconfigjson"
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The document to write, the keys in it, and the keys left out (with why)."""

    text: str
    keys: list[str]
    skipped: dict[str, str]


def export(
    servers: Sequence[str] = (),
    *,
    fmt: str = "k8s",
    as_json: bool = False,
    name: str = "regcred",
    namespace: str | None = None,
    config_dir: str | os.PathLike[str] | None = None,
) -> ExportResult:
    """Build the export document for ``servers`` (all stored credentials if empty)."""
    if fmt not in {"k8s", "config"}:
        raise UsageError(f"unknown export format {fmt!r}: use k8s or config")
    if fmt == "k8s":
        _check_name(name, namespace)
    creds, skipped = _collect(servers, fmt, config_dir)
    if not creds:
        why = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        raise CredentialsNotFoundError(
            "no credentials to export" + (f" ({why})" if why else "; log in first")
        )
    if fmt == "config":
        text = dumps_indent({"auths": {c.server: _config_entry(c) for c in creds}}) + "\n"
    else:
        text = kubernetes_secret(creds, name=name, namespace=namespace, as_json=as_json)
    return ExportResult(text, [c.server for c in creds], skipped)


def dockerconfigjson(creds: Sequence[Credentials]) -> bytes:
    """kubectl's ``.dockerconfigjson`` bytes (Go ``json.Marshal``: compact, no newline)."""
    auths = {}
    for c in sorted(creds, key=lambda c: c.server.encode()):
        auth = base64.b64encode(f"{c.username}:{c.secret}".encode()).decode()
        auths[c.server] = {"username": c.username, "password": c.secret, "auth": auth}
    return dumps_compact({"auths": auths}).rstrip("\n").encode()


def kubernetes_secret(
    creds: Sequence[Credentials], *, name: str, namespace: str | None, as_json: bool
) -> str:
    """The Secret manifest as ``kubectl create secret docker-registry -o yaml|json`` prints it."""
    _check_name(name, namespace)
    data = base64.b64encode(dockerconfigjson(creds)).decode()
    if as_json:
        metadata: dict[str, object] = {"name": name}
        if namespace:
            metadata["namespace"] = namespace
        metadata["creationTimestamp"] = None
        doc = {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": metadata,
            "data": {DATA_KEY: data},
            "type": SECRET_TYPE,
        }
        return json.dumps(doc, indent=4) + "\n"
    lines = [
        "apiVersion: v1",
        "data:",
        f"  {DATA_KEY}: {data}",
        "kind: Secret",
        "metadata:",
        "  creationTimestamp: null",
        f"  name: {name}",
    ]
    if namespace:
        lines.append(f"  namespace: {namespace}")
    lines.append(f"type: {SECRET_TYPE}")
    return "\n".join(lines) + "\n"


def write_output(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` as a private file (:func:`regcred._files.write_private`).

    A regular file or a new path is created 0600 before any byte and
    replaced atomically; a FIFO, ``/dev/stdout`` or ``/dev/fd/N`` is
    written into, never renamed over.
    """
    from regcred._files import write_private

    write_private(path, text.encode())


# -- internals -----------------------------------------------------------------


def _collect(
    servers: Sequence[str], fmt: str, config_dir: str | os.PathLike[str] | None
) -> tuple[list[Credentials], dict[str, str]]:
    from regcred._lookup import get_credentials, list_credentials

    explicit = bool(servers)
    if explicit:
        wanted = list(dict.fromkeys(servers))
        fetch: Callable[[str], Credentials | None] = lambda s: get_credentials(  # noqa: E731
            s, config_dir=config_dir
        )
    else:
        wanted = list(list_credentials(config_dir=config_dir))
        fetch = lambda k: get_credentials(k, config_dir=config_dir, podman=False)  # noqa: E731
    found: dict[str, Credentials] = {}
    skipped: dict[str, str] = {}
    for server in wanted:
        if server in HUB_TOKEN_KEYS:
            # A long-lived refresh token (and its access token) belongs to one machine's
            # docker login; it never goes into a pull secret or a CI config.
            if explicit:
                raise RegcredError(
                    f"cannot export {server}: it is the {HUB_TOKEN_KEYS[server]}, never exported"
                )
            skipped[server] = f"the {HUB_TOKEN_KEYS[server]} is never exported"
            continue
        try:
            creds = fetch(server)
        except AddressError:
            if explicit:
                raise
            skipped[server] = "not a registry address regcred can look up"
            continue
        key = split_repository(server)[0] if explicit else server  # an image: its registry's key
        if creds is None:
            if explicit:
                raise CredentialsNotFoundError(f"no credentials stored for {key}")
            skipped[key] = "listed by its store but not readable"
            continue
        problem = _unexportable(creds, fmt)
        if problem:
            if explicit:
                raise RegcredError(f"cannot export {key}: {problem}")
            skipped[key] = problem
            continue
        found[key] = creds if creds.server == key else _rekey(creds, key)
    return list(found.values()), skipped


def _unexportable(creds: Credentials, fmt: str) -> str:
    if fmt == "k8s" and creds.is_identity_token:
        return (
            "it is an identity token, which the kubelet cannot use; log in with a "
            "password or access token (regcred login -u USER) and export again"
        )
    if not creds.is_identity_token and ":" in creds.username:
        return "the username contains ':', which the auth field cannot carry"
    return ""


def _rekey(creds: Credentials, key: str) -> Credentials:
    from regcred.credentials import Credentials

    return Credentials(key, creds.username, creds.secret)


def _config_entry(creds: Credentials) -> dict[str, str]:
    if creds.is_identity_token:
        return {"identitytoken": creds.secret}
    entry = {"auth": base64.b64encode(f"{creds.username}:{creds.secret}".encode()).decode()}
    if creds.identity_token:
        entry["identitytoken"] = creds.identity_token
    return entry


def _check_name(name: str, namespace: str | None) -> None:
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise UsageError(
            f"invalid Secret name {name!r}: use lower-case letters, digits, '-' and '.' "
            "(a DNS subdomain, at most 253 characters)"
        )
    if namespace is not None and (len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace)):
        raise UsageError(
            f"invalid namespace {namespace!r}: use lower-case letters, digits and '-' "
            "(a DNS label, at most 63 characters)"
        )
