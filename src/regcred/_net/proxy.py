"""Which proxy, if any, the environment names for a request, by Go's rules.

``HTTPS_PROXY`` for https targets and ``HTTP_PROXY`` for http ones, either
case (upper case wins, as in Go; under CGI the upper-case ``HTTP_PROXY`` is
ignored, see httpoxy).  Loopback targets are never proxied, and ``NO_PROXY``
is matched as ``golang.org/x/net/http/httpproxy`` does.  Host names are
judged by what they *are* (:func:`regcred._address.ip_literal`), never by
a DNS lookup.

This module only decides; :func:`regcred._net.http.proxy_for` parses the proxy
URL it returns and connects through it.
"""

from __future__ import annotations

import os

from regcred._address import ip_literal, is_loopback_host

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ipaddress

__all__ = ["proxy_url"]


def _no_proxy_entry_matches(
    host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, port: int, entry: str
) -> bool:
    """One ``NO_PROXY`` entry: ``*``, an IP, a CIDR, a domain (with subdomains), ``:port``."""
    if entry == "*":
        return True
    if "/" in entry:
        if address is None:
            return False
        import ipaddress

        try:
            return address in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    entry_port = -1
    if entry.count(":") == 1 or entry.startswith("["):
        name, _, port_text = entry.rpartition(":")
        if name and port_text.isdigit():
            entry, entry_port = name, int(port_text)
    if entry_port not in {-1, port}:
        return False
    entry = entry.strip("[]").rstrip(".").removeprefix("*")
    if entry.startswith("."):  # ".example.com": subdomains only
        return host.endswith(entry)
    return host == entry or host.endswith("." + entry)


def _no_proxy_matches(host: str, port: int, no_proxy: str) -> bool:
    """Go's ``NO_PROXY`` rules (``golang.org/x/net/http/httpproxy``)."""
    host = host.strip("[]").lower().rstrip(".")
    address = ip_literal(host)
    entries = (raw.strip() for raw in no_proxy.lower().split(","))
    return any(_no_proxy_entry_matches(host, address, port, e) for e in entries if e)


def proxy_url(scheme: str, host: str, port: int) -> str | None:
    """The proxy URL (as written in the environment) for a target, or None to go direct."""
    env = os.environ
    if scheme == "https":
        raw = env.get("HTTPS_PROXY") or env.get("https_proxy") or ""
    else:
        # httpoxy: under CGI, HTTP_PROXY may come from a request header.
        upper = "" if "REQUEST_METHOD" in env else env.get("HTTP_PROXY", "")
        raw = upper or env.get("http_proxy") or ""
    if not raw or is_loopback_host(host):
        return None
    no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
    if _no_proxy_matches(host, port, no_proxy):
        return None
    return raw
