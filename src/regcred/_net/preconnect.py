"""Open a login's TCP connections while the HTTP code is still being imported.

Over a real link every new connection costs a round trip (SYN, SYN-ACK)
before its first byte goes out, and a login starts with one or two new ones
(the https attempt, and the plain-http ping where plain http may follow).
Importing :mod:`regcred._net.auth` (``http.client``, ``ssl``, ``email``) takes
tens of milliseconds of CPU; :func:`start` starts those connections first
(non-blocking sockets), so the handshakes overlap with the import.  Nothing is sent on them:
they carry bytes only once :class:`regcred._net.http.Client` picks one up for
a request the login flow makes anyway, to the same host and port.

* Only what :func:`regcred._net.policy.login_endpoints` names is connected to,
  and only where no proxy applies (a proxied target is connected through the
  proxy by the client, as before).
* A connection that fails is not retried: the client gets the same error
  (refused, timeout, no such host) from it as it would have got itself.
* :meth:`Preconnected.close` closes every connection nobody took.

This module imports only ``socket``, ``select``, ``threading`` and cheap parts of regcred.
"""

from __future__ import annotations

import errno
import select
import socket
import threading
import time
from urllib.parse import urlsplit

from regcred._net.options import LoginOptions
from regcred._net.policy import login_endpoints
from regcred._net.proxy import proxy_url
from regcred.errors import AddressError

__all__ = ["Pending", "Preconnected", "start"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Pending:
    """One connection being opened: a non-blocking ``connect`` under way (no thread).

    Threads would do here too, but on a busy machine every hand-over of the
    interpreter lock between them and the importing main thread waits for
    the scheduler; a non-blocking socket needs no hand-over at all.
    """

    __slots__ = ("address", "sock", "started", "timeout")

    def __init__(self, address: tuple[str, int], timeout: float) -> None:
        self.address, self.timeout = address, timeout
        self.started = time.monotonic()
        self.sock: socket.socket | None = None
        try:
            # The first address only; take() falls back to create_connection, which tries them all.
            family, kind, proto, _, sockaddr = socket.getaddrinfo(*address, type=socket.SOCK_STREAM)[0]
            sock = socket.socket(family, kind, proto)
        except OSError:
            return
        try:
            sock.setblocking(False)  # noqa: FBT003
            if sock.connect_ex(sockaddr) in {0, errno.EINPROGRESS, errno.EWOULDBLOCK}:
                self.sock = sock
                return
        except OSError:
            pass
        sock.close()

    def take(self) -> socket.socket:
        """The connected socket (waiting for the handshake), else a new one as ``http.client`` makes it.

        A connect that timed out raises :class:`TimeoutError`, as ``create_connection``
        would; one that failed otherwise is retried by ``create_connection``, whose
        error (refused, no such host, ...) is then the one raised.
        """
        sock, self.sock = self.sock, None
        if sock is not None:
            remaining = max(self.timeout - (time.monotonic() - self.started), 0.0)
            if not _writable(sock, remaining):
                sock.close()
                raise TimeoutError("timed out")
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                sock.settimeout(self.timeout)
                return sock
            sock.close()
        return socket.create_connection(self.address, self.timeout)

    def abandon(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


def _writable(sock: socket.socket, timeout: float) -> bool:
    """Whether a connecting socket finished (either way) within ``timeout`` seconds."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        return bool(poller.poll(timeout * 1000))
    _, done, failed = select.select([], [sock], [sock], timeout)  # Windows: a failure is "exceptional"
    return bool(done or failed)


class Preconnected:
    """Connections opened ahead of time, by (host, port); each is handed out once."""

    def __init__(self, targets: list[tuple[str, int]], timeout: float) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int], list[Pending]] = {}
        for target in targets:
            self._pending.setdefault(target, []).append(Pending(target, timeout))

    def claim(self, host: str, port: int) -> Pending | None:
        """A connection being opened to ``host``:``port`` (``host`` as ``urlsplit`` spells it), or None."""
        with self._lock:
            waiting = self._pending.get((host, port))
            return waiting.pop(0) if waiting else None

    def close(self) -> None:
        """Close every connection nobody claimed (now, or once it is open)."""
        with self._lock:
            pending = [p for waiting in self._pending.values() for p in waiting]
            self._pending.clear()
        for item in pending:
            item.abandon()


def start(server_key: str, options: LoginOptions | None = None) -> Preconnected | None:
    """Start connecting to ``server_key``'s login endpoints; None when there is nothing to do.

    Never raises: a bad address is left to the login flow to report.
    """
    try:
        options = options or LoginOptions()
        endpoints = login_endpoints(server_key, insecure=options.insecure, require_tls=options.require_tls)
    except AddressError:  # the flow reports it
        return None
    targets = []
    for endpoint, _ in endpoints:
        try:
            parts = urlsplit(endpoint)
            host, port = parts.hostname or "", parts.port or _DEFAULT_PORTS[parts.scheme]
        except (ValueError, KeyError):
            return None
        if not host or proxy_url(parts.scheme, host, port) is not None:
            continue
        targets.append((host, port))
    return Preconnected(targets, options.seconds()) if targets else None
