"""Where a login may send credentials: which endpoints to try, and which token realms to trust.

* :func:`login_endpoints`: ``https://`` first; plain ``http://`` only for
  a loopback registry (decided from its name, never by DNS) or with
  ``insecure``, and never with ``require_tls``; Docker Hub's key and aliases
  go to its v2 endpoint.
* :func:`check_realm`: a Bearer challenge's realm gets the username and
  password, so it must be https (or http on the registry's own host when
  the registry itself is plain http), and never a loopback, private or
  link-local address other than the registry's own host (a hostile
  registry must not turn the client against its own network).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from regcred._address import ip_literal, is_hub, is_ipv6, is_loopback_host
from regcred.errors import AddressError, LoginError

__all__ = ["CONTROL", "HUB_ENDPOINT", "check_realm", "login_endpoints", "same_host"]

HUB_ENDPOINT = "https://registry-1.docker.io"
#: Control characters, replaced before any server- or user-supplied text is shown.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HOST_PORT = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)(?::([0-9]{1,5}))?"
)


def login_endpoints(
    server_key: str, *, insecure: bool = False, require_tls: bool = False
) -> list[tuple[str, bool]]:
    """``[(endpoint, verify_tls), ...]`` to try, in order, for a docker server key."""
    if is_hub(server_key):
        return [(HUB_ENDPOINT, True)]
    match = _HOST_PORT.fullmatch(server_key)
    bad_port = match is not None and match.group(1) is not None and not 0 < int(match.group(1)) < 65536
    bad_ipv6 = server_key.startswith("[") and not is_ipv6(server_key[1:].partition("]")[0])
    if match is None or bad_port or bad_ipv6:
        raise AddressError(
            f"invalid registry address {CONTROL.sub('?', server_key)[:200]!r}: "
            "expected host[:port] (IPv6 in brackets)"
        )
    if require_tls:
        return [(f"https://{server_key}", True)]
    if insecure:
        return [(f"https://{server_key}", False), (f"http://{server_key}", True)]
    host = server_key.rpartition(":")[0] if match.group(1) else server_key
    if is_loopback_host(host):
        return [(f"https://{server_key}", True), (f"http://{server_key}", True)]
    return [(f"https://{server_key}", True)]


def same_host(a: str, b: str) -> bool:
    """Whether two host names name the same host: IP literals by address, names case-insensitively."""
    ip_a, ip_b = ip_literal(a), ip_literal(b)
    if ip_a is not None or ip_b is not None:
        return ip_a == ip_b
    return a.lower().rstrip(".") == b.lower().rstrip(".")


def check_realm(realm: str | None, endpoint: str) -> str:
    """Return ``realm`` if credentials may be sent there for ``endpoint``, else raise.

    The realm must be an https URL, or http on the registry's own host when
    the registry itself is plain http.  A realm on an IP literal that is not
    global (loopback, private, link-local such as 169.254.169.254, unspecified,
    ...) or on ``localhost`` is refused unless it is the registry's own host.
    """
    # Imported here: login_endpoints must stay cheap to import (see regcred._net.preconnect).
    from regcred._net.http import origin, redact_url

    if not realm:
        raise LoginError("no realm specified for token auth challenge")
    shown = redact_url(CONTROL.sub("?", realm))[:300]
    try:
        parts = urlsplit(realm)
    except ValueError:
        raise LoginError(f"refusing token realm {shown!r}: not a valid URL") from None
    scheme, host, port = origin(realm)
    host = host.rstrip(".")  # "localhost." and "127.0.0.1." name the same hosts
    reg_scheme, reg_host, _ = origin(endpoint)
    if scheme not in {"http", "https"} or not host or port < 0 or "@" in parts.netloc:
        raise LoginError(f"refusing token realm {shown!r}: not a plain http(s) URL")
    on_registry_host = same_host(host, reg_host)
    if scheme == "http" and not (reg_scheme == "http" and on_registry_host):
        raise LoginError(f"refusing token realm {shown!r}: credentials are only sent to an https realm")
    if not on_registry_host:
        address = ip_literal(host)
        local_name = host == "localhost" or host.endswith(".localhost")
        if local_name or (address is not None and (not address.is_global or address.is_multicast)):
            raise LoginError(
                f"refusing token realm {shown!r}: a loopback, private or link-local address "
                "that is not the registry's own host"
            )
    return realm
