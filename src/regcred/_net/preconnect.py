"""Open a login's TCP connections while the HTTP code is still being imported.

Over a real link every new connection costs a round trip (SYN, SYN-ACK)
before its first byte goes out, and a login starts with one or two new ones
(the https attempt, and the plain-http ping where plain http may follow).
Importing :mod:`regcred._net.auth` (``http.client``, ``ssl``, ``email``) takes
tens of milliseconds of CPU; :func:`start` opens those connections first, in
threads, so the handshakes overlap with the import.  Nothing is sent on them:
they carry bytes only once :class:`regcred._net.http.Client` picks one up for
a request the login flow makes anyway, to the same host and port.

* Only what :func:`regcred._net.policy.login_endpoints` names is connected to,
  and only where no proxy applies (a proxied target is connected through the
  proxy by the client, as before).
* A connection that fails is not retried: the client gets the same error
  (refused, timeout, no such host) from it as it would have got itself.
* :meth:`Preconnected.close` closes every connection nobody took.

This module imports only ``socket``, ``threading`` and cheap parts of regcred.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from regcred._net.policy import login_endpoints
from regcred._net.proxy import proxy_url
from regcred._settings import http_timeout
from regcred.errors import AddressError

__all__ = ["Preconnected", "start"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Pending:
    """One connection being opened in a thread."""

    __slots__ = ("_abandoned", "_lock", "_thread", "error", "sock")

    def __init__(self, address: tuple[str, int], timeout: float) -> None:
        self.sock: socket.socket | None = None
        self.error: OSError | None = None
        self._lock = threading.Lock()
        self._abandoned = False
        self._thread = threading.Thread(
            target=self._run, args=(address, timeout), name="regcred-preconnect", daemon=True
        )
        self._thread.start()

    def _run(self, address: tuple[str, int], timeout: float) -> None:
        try:
            sock = socket.create_connection(address, timeout)
        except OSError as exc:
            self.error = exc
            return
        with self._lock:
            if self._abandoned:
                sock.close()
            else:
                self.sock = sock

    def take(self) -> socket.socket:
        """The connected socket, or the error connecting raised (waits for it)."""
        self._thread.join()
        if self.sock is None:
            raise self.error or OSError("connection failed")
        sock, self.sock = self.sock, None
        return sock

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            if self.sock is not None:
                self.sock.close()
                self.sock = None


class Preconnected:
    """Connections opened ahead of time, by (host, port); each is handed out once."""

    def __init__(self, targets: list[tuple[str, int]], timeout: float) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int], list[_Pending]] = {}
        for target in targets:
            self._pending.setdefault(target, []).append(_Pending(target, timeout))

    def claim(self, host: str, port: int) -> _Pending | None:
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


def start(server_key: str, *, insecure: bool = False) -> Preconnected | None:
    """Start connecting to ``server_key``'s login endpoints; None when there is nothing to do.

    Never raises: a bad address is left to the login flow to report.
    """
    try:
        endpoints = login_endpoints(server_key, insecure=insecure)
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
    return Preconnected(targets, http_timeout()) if targets else None
