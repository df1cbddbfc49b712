"""Server addresses: one place for Docker's keys and their aliases.

Keys are what the Docker CLI uses in ``config.json`` and sends to helpers:

* Docker Hub is ``https://index.docker.io/v1/``.  Unlike docker, every Hub
  alias (``docker.io``, ``index.docker.io``, ``registry-1.docker.io``, with
  or without scheme or path) maps to it, so ``login docker.io`` and
  ``logout docker.io`` do what users mean.
* Any other registry is ``host[:port]``: scheme and path stripped, case
  kept (as docker keeps it), IPv6 literals bracketed.

``normalize`` is strict (it refuses userinfo, whitespace, control
characters, tags, digests, odd schemes); ``to_hostname`` is docker's
lenient ``ConvertToHostname``, used only on keys already in a file.
``ip_literal`` and ``is_loopback_host`` judge a host by what its name *is*,
never by a DNS lookup (login's plain-HTTP and token-realm rules, proxies).
"""

from __future__ import annotations

import ipaddress
import re

from regcred.errors import AddressError

__all__ = [
    "DOCKER_HUB",
    "HUB_HOSTS",
    "HUB_TOKEN_KEYS",
    "ip_literal",
    "is_hub",
    "is_ipv6",
    "is_loopback_host",
    "is_repository_key",
    "login_key",
    "logout_aliases",
    "normalize",
    "registry_of",
    "split_repository",
    "stored_host",
    "to_hostname",
]

DOCKER_HUB = "https://index.docker.io/v1/"
#: What ``docker login`` (27.2+, web-based) stores besides the Hub key: the access
#: token (a JWT) and the refresh token (``<refresh>..<clientID>``), in the Hub's store.
HUB_TOKEN_KEYS = {
    DOCKER_HUB + "access-token": "Docker Hub web-login access token",
    DOCKER_HUB + "refresh-token": "Docker Hub web-login refresh token",
}
HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_HOST_RE = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?"
)
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_FORBIDDEN_RE = re.compile(r"[\x00-\x20\x7f\u0085\u00a0\u2028\u2029]")


def is_hub(key: str) -> bool:
    """True for the Docker Hub key and every alias of it."""
    if key == DOCKER_HUB:
        return True
    try:
        host, _ = _split(key)
    except AddressError:
        return False
    return host.lower() in HUB_HOSTS


def normalize(server: str | None) -> str:
    """The config.json / helper key for a ``login``/``logout`` argument.

    Raises :class:`AddressError` (a ValueError) with a one-line reason.
    """
    if server is None or server == "":
        return DOCKER_HUB
    host, path = _split(server)
    if path:
        _check_path(server, path)
    if host.lower() in HUB_HOSTS:
        return DOCKER_HUB
    return host


def login_key(server: str | None) -> str:
    """The key ``login`` and ``logout`` use for ``server``: :func:`normalize`'s, or a per-repository key.

    A path that names a repository (``quay.io/org/app``) is kept, as podman
    keeps it: ``host[:port]/org/app`` (``docker.io/org/app`` on Docker Hub,
    podman's spelling), with the scheme, empty components and a trailing
    ``/`` dropped.  An API path (``/v1/``, ``/v2/``) names the registry itself.
    """
    if server is None or server == "":
        return DOCKER_HUB
    host, path = _split(server)
    if path:
        _check_path(server, path)
    parts = [part for part in path.split("/") if part]
    if parts in ([], ["v1"], ["v2"]):
        return normalize(server)
    base = "docker.io" if host.lower() in HUB_HOSTS else host
    return f"{base}/{'/'.join(parts)}"


def is_repository_key(key: str) -> bool:
    """A per-repository key (``host/ns/repo``), as :func:`login_key` makes it.

    docker and podman read such a key only from a file's ``auths``: a helper is
    only ever asked for a registry's host.
    """
    return key != DOCKER_HUB and stored_host(key) is None


def registry_of(key: str) -> tuple[str, str]:
    """``(registry key, "ns/repo")`` of a :func:`login_key` (the path is ``""`` for a registry key)."""
    if key == DOCKER_HUB:
        return key, ""
    host, path = _split(key)
    return (DOCKER_HUB if host.lower() in HUB_HOSTS else host), path.strip("/")


def split_repository(reference: str) -> tuple[str, str]:
    """Split a server address or an image reference into ``(key, "ns/repo")``.

    Server addresses (``host[:port]``, with or without scheme and path) keep
    their meaning.  Image references follow docker's reference grammar: a
    tag (``:1.0``) and a digest (``@sha256:…``) are dropped once checked; the
    first path component is the registry only if it has a ``.`` or a ``:`` or
    is ``localhost``, otherwise the image is on Docker Hub (``user/image``,
    and ``alpine`` → ``library/alpine``).  A bare name with no ``/`` is a
    registry when it looks like a host (``ghcr.io``, ``localhost:5000``) and
    a Hub image otherwise (``alpine``, ``alpine:3.19``).  The path may be empty.
    """
    name = reference
    if "://" not in reference:
        name = _strip_tag_and_digest(reference)
        first, slash, _ = name.partition("/")
        if not first:
            raise AddressError(f"invalid image reference {_safe(reference)}: no name")
        if not slash and not _looks_like_host(first):
            name = "docker.io/library/" + first
        elif slash and not _looks_like_host(first):
            name = "docker.io/" + name
    host, path = _split(name)
    if path:
        _check_path(reference, path)
    key = DOCKER_HUB if host.lower() in HUB_HOSTS else host
    return key, path.strip("/")


# Pattern strings, compiled by re's own cache on first use: only a reference with a tag or a
# digest needs them, and compiling the three at import cost every `regcred get` and
# get_credentials() process about 2 million instructions (benchmarks/compare_commits.py).
_TAG = r"[\w][\w.-]{0,127}"
_ALGORITHM = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"


def _strip_tag_and_digest(reference: str) -> str:
    """``reference`` without its ``@digest`` and ``:tag`` (both checked); errors name the whole input."""
    name, at, digest = reference.rpartition("@") if "@" in reference else (reference, "", "")
    if at:
        if not re.match(_ALGORITHM, digest):
            # Not a digest at all: "user:password@host" pasted by mistake.  Never echo it.
            raise AddressError(
                "invalid registry address: user information ('user@host') is not allowed in "
                + _safe(reference)
            )
        if not re.fullmatch(_DIGEST, digest) or (
            digest.startswith("sha256:") and len(digest) != len("sha256:") + 64
        ):
            shown = repr(reference) if "@" not in name else _safe(reference)
            raise AddressError(
                f"invalid image reference {shown}: bad digest (want sha256: and 64 hex digits)"
            )
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if last_slash < 0 and (name.startswith("[") or _bracket_ipv6(name) is not None):
        return name  # an IPv6 literal ([::1], [fe80::1]:5000, fe80::abcd): its colons are no tag
    if colon > last_slash:
        tag = name[colon + 1 :]
        before = name[:colon]
        if last_slash < 0 and tag.isdigit():
            return name  # host:port, not image:tag
        if not re.fullmatch(_TAG, tag):
            raise AddressError(f"invalid image reference {_safe(reference)}: bad tag")
        name = before
    return name


def _looks_like_host(component: str) -> bool:
    """docker's rule for the first component of a reference: a registry, not a Hub user."""
    return "." in component or ":" in component or component.startswith("[") or component == "localhost"


def logout_aliases(key: str) -> list[str]:
    """Every key a credential for ``key`` may have been stored under, ``key`` first."""
    if key == DOCKER_HUB:
        hosts = sorted(HUB_HOSTS)
        aliases = [DOCKER_HUB, "https://index.docker.io/v1", *hosts]
        aliases += [f"{scheme}://{h}" for h in hosts for scheme in ("https", "http")]
        return [*aliases, *HUB_TOKEN_KEYS]  # docker logout of Hub erases the web-login tokens too
    return [key, f"https://{key}", f"http://{key}"]


def stored_host(key: str) -> str | None:
    """The ``host[:port]`` a key found in a file spells, or None for a namespaced key.

    Only a bare host, or a URL whose path is empty, ``/v1/`` or ``/v2/``, spells
    a registry: ``quay.io/org-a`` names a namespace, and must never serve
    ``quay.io/org-b`` (ggcr#1510).
    """
    rest = key.split("://", 1)[1] if "://" in key else key
    if rest.partition("/")[2].strip("/") not in {"", "v1", "v2"}:
        return None
    return to_hostname(key)


def to_hostname(key: str) -> str:
    """Docker's ``ConvertToHostname``: strip any scheme and path, never fail."""
    rest = key.split("://", 1)[1] if "://" in key else key
    host = rest.split("/", 1)[0]
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    if host.count(":") > 1 and not host.startswith("["):
        host = _bracket_ipv6(host) or host
    return host


def _split(server: str) -> tuple[str, str]:
    """``(host[:port] with IPv6 bracketed, path)``; raises AddressError."""
    if _FORBIDDEN_RE.search(server):
        raise AddressError(f"invalid registry address {_safe(server)}: whitespace or control characters")
    rest = server
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme.lower() not in {"http", "https"}:
            raise AddressError(
                f"invalid registry address {_safe(server)}: unsupported scheme {scheme!r} "
                "(use https://, http:// or none)"
            )
    hostport, sep, path = rest.partition("/")
    if "@" in hostport:
        raise AddressError(
            f"invalid registry address: user information ('user@host') is not allowed in {_safe(server)}"
        )
    if "?" in hostport or "#" in hostport or "?" in path or "#" in path:
        raise AddressError(f"invalid registry address {_safe(server)}: query or fragment")
    if not hostport:
        raise AddressError(f"invalid registry address {_safe(server)}: no host name")
    return _check_hostport(server, hostport), path if sep else ""


def _check_hostport(server: str, hostport: str) -> str:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise AddressError(f"invalid registry address {_safe(server)}: unclosed '['")
        addr, port = hostport[1:end], hostport[end + 1 :]
        if not is_ipv6(addr):
            raise AddressError(f"invalid registry address {_safe(server)}: bad IPv6 literal")
        if port and not port.startswith(":"):
            raise AddressError(f"invalid registry address {_safe(server)}: junk after ']'")
        _check_port(server, port[1:] if port else None)
        return f"[{addr}]{port}"
    if hostport.count(":") > 1:
        bracketed = _bracket_ipv6(hostport)
        if bracketed is None:
            raise AddressError(f"invalid registry address {_safe(server)}: bad IPv6 literal")
        return bracketed
    host, colon, port = hostport.partition(":")
    if not host:
        raise AddressError(f"invalid registry address {_safe(server)}: no host name")
    if not _HOST_RE.fullmatch(host):
        raise AddressError(f"invalid registry address {_safe(server)}: bad host name {host!r}")
    _check_port(server, port if colon else None)
    return hostport


def _check_port(server: str, port: str | None) -> None:
    if port is None:
        return
    if not port.isdigit() or not port.isascii() or not 0 < int(port) < 65536:
        raise AddressError(f"invalid registry address {_safe(server)}: bad port {port!r}")


def _bracket_ipv6(text: str) -> str | None:
    """``::1:5000`` → ``[::1]:5000`` (docker's reading), ``fe80::1`` → ``[fe80::1]``."""
    addr, _, port = text.rpartition(":")
    if port.isdigit() and port.isascii() and 0 < int(port) < 65536 and is_ipv6(addr):
        return f"[{addr}]:{port}"
    if is_ipv6(text):
        return f"[{text}]"
    return None


_ZONE_RE = re.compile(r"[A-Za-z0-9._~-]+")


def is_ipv6(text: str) -> bool:
    """An IPv6 literal; a zone ID (``fe80::1%eth0``) may hold only unreserved characters."""
    address, percent, zone = text.partition("%")
    if percent and not _ZONE_RE.fullmatch(zone):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def _check_path(server: str, path: str) -> None:
    """Reject tags and digests; allow ``/v1/``, ``/v2/`` and repository paths."""
    if "@" in path:
        raise AddressError(f"invalid registry address {_safe(server)}: a digest is not a registry")
    if ":" in path:
        raise AddressError(f"invalid registry address {_safe(server)}: a tag is not a registry")
    for part in path.strip("/").split("/"):
        if part and not _PATH_COMPONENT_RE.fullmatch(part):
            raise AddressError(f"invalid registry address {_safe(server)}: bad path component {part!r}")


def _safe(server: str) -> str:
    """``server`` with any userinfo removed, for error messages (it may hold a password)."""
    scheme, sep, rest = server.rpartition("://")
    return repr(f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}")


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name *is* (never what it resolves to), or None.

    Includes the IPv4 shorthands the resolver accepts (``127.1``,
    ``0x7f000001``, ``2130706433``) and maps ``::ffff:a.b.c.d`` to IPv4.
    """
    host = host.strip("[]")
    v4ish = bool(host) and host[0].isdigit() and not host.strip("0123456789abcdefABCDEFxX.")
    if ":" not in host and not v4ish:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not v4ish:
            return None
        import socket  # only for the rare shorthand forms

        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and IP literals in 127.0.0.0/8 or ::1 (no DNS lookup)."""
    if host.strip("[]").lower() in {"localhost", "localhost."}:
        return True
    address = ip_literal(host)
    return address is not None and address.is_loopback
