"""The only HTTP code in regcred: one request in, one response out.

Built on the standard library's ``http.client`` and ``ssl`` (zero
dependencies and cheap to import; ``urllib.request`` alone costs more than a
whole ``docker login``).  What it does, and deliberately does not do:

* **Timeouts** on every request: ``REGCRED_HTTP_TIMEOUT`` seconds (default
  15, as docker), applied to connecting and to every read, plus an overall
  deadline while the response is read.
* **Proxies** from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` (either
  case; upper case wins, as in Go).  Loopback targets are never proxied.
  Only ``http://`` proxies are supported (CONNECT tunnels for https targets).
  Which proxy a target gets is decided in :mod:`regcred._net.proxy`.
* **TLS** with the system trust store, TLS 1.2 or newer.  For a registry the
  caller names certificate directories in docker's ``certs.d`` layout:
  ``*.crt`` are extra CA bundles, ``*.cert`` + ``*.key`` are client
  certificate pairs.  They apply only to that one ``host[:port]``.  The
  contexts are built by :mod:`regcred._net.tls`.
* **No redirects**: a 3xx is returned like any other response; the caller
  owns the redirect policy (see :func:`origin`).
* **A body size cap** (1 MiB by default).
* **Connections opened ahead**: a client given a
  :class:`~regcred._net.preconnect.Preconnected` takes its direct
  connections to those hosts and ports from it (login opens them while this
  module is still being imported).

Errors become :class:`TransportError` (the public
:class:`~regcred.errors.RegistryUnreachableError`; a failed TLS handshake its
subclass :class:`~regcred.errors.TLSVerificationError`) with a docker-like
message (``Get "https://reg/v2/": connect: connection refused``) whose URL
has its query values and userinfo redacted.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time
from urllib.parse import unquote, urlsplit, urlunsplit

from regcred._net.proxy import proxy_url
from regcred._net.tls import client_context
from regcred._settings import http_timeout
from regcred._version import __version__
from regcred.errors import RegistryUnreachableError, TLSVerificationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping, Sequence
    from typing import TypeVar

    T = TypeVar("T")

    from regcred._net.preconnect import Pending, Preconnected

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_BODY",
    "CertificateVerifyError",
    "Client",
    "RegistryCertificateError",
    "Request",
    "RequestTimeoutError",
    "Response",
    "TransportError",
    "origin",
    "proxy_for",
    "redact_url",
    "timeout_from_env",
]

DEFAULT_TIMEOUT = 15.0
MAX_BODY = 1 << 20
_DEFAULT_PORTS = {"http": 80, "https": 443}
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


#: The request got no usable HTTP response (connect, TLS, timeout, size).  The
#: public class, under the name the network code has always used; a failed TLS
#: handshake is its subclass :class:`~regcred.errors.TLSVerificationError`.
TransportError = RegistryUnreachableError


class RequestTimeoutError(TransportError):
    """No answer within the timeout: a connect, a TLS handshake or a response took longer."""


class CertificateVerifyError(TLSVerificationError):
    """TLS verification failed: the server's certificate is not trusted (or names another host)."""


class RegistryCertificateError(CertificateVerifyError):
    """:class:`CertificateVerifyError` of the registry itself (not of its token server).

    ``--cert-dir`` and ``certs.d`` apply to the registry's host only, so only
    this one can be mended with them.
    """


# Request and Response are plain slotted classes, not dataclasses: a login loads
# dataclasses nowhere else, and importing it costs ~8 ms (each class ~1 ms more).
class Request:
    """One HTTP request.  ``verify=False`` skips TLS verification (``--insecure``).

    ``repr()`` shows header names only: values may be credentials.
    """

    __slots__ = ("body", "headers", "method", "url", "verify")

    def __init__(
        self,
        method: str,
        url: str,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        verify: bool = True,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.verify = verify

    def _key(self) -> tuple[str, str, tuple[tuple[str, str], ...], bytes, bool]:
        return (self.method, self.url, self.headers, self.body, self.verify)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Request) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        names = [name for name, _ in self.headers]
        return f"Request({self.method!r}, {redact_url(self.url)!r}, headers={names!r}, verify={self.verify})"


class Response:
    """One HTTP response, body fully read (and capped)."""

    __slots__ = ("body", "headers", "reason", "status", "url")

    def __init__(
        self, status: int, reason: str, headers: tuple[tuple[str, str], ...], body: bytes, url: str
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.url = url

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.reason!r}, {len(self.body)} bytes)"

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def get(self, name: str) -> str | None:
        """The first value of header ``name``, or None."""
        values = self.get_all(name)
        return values[0] if values else None

    @property
    def is_redirect(self) -> bool:
        """True for a 3xx with a ``Location`` header."""
        return 300 <= self.status < 400 and self.get("location") is not None


def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` with the host lower-cased and the default port filled in.

    A URL that cannot be parsed (``http://[bad``) has the origin ``("", "", -1)``,
    which equals no real origin.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", "", -1
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # an invalid port never equals a real origin
    return scheme, (parts.hostname or ""), port or _DEFAULT_PORTS.get(scheme, -1)


def redact_url(url: str) -> str:
    """``url`` without userinfo, fragment or query values (keys are kept); never raises.

    Everything up to the last ``@`` goes, whatever ``urlsplit`` would call it:
    a password holding ``#``, ``/`` or ``?`` fools the parser, not this.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest:
        rest = rest.rpartition("@")[2]
    try:
        parts = urlsplit(f"{scheme}{sep}{rest}")
    except ValueError:
        return "<malformed URL>"
    netloc = parts.netloc
    query = "&".join(f"{item.partition('=')[0]}=REDACTED" for item in parts.query.split("&") if item)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def timeout_from_env() -> float:
    """``REGCRED_HTTP_TIMEOUT`` in seconds when it is a positive number, else 15."""
    return http_timeout()


def proxy_for(scheme: str, host: str, port: int) -> tuple[str, int, str | None] | None:
    """``(proxy host, proxy port, Proxy-Authorization)`` for a target, or None for direct.

    Which proxy (if any) is :func:`regcred._net.proxy.proxy_url`'s decision; this parses it.
    """
    raw = proxy_url(scheme, host, port)
    if raw is None:
        return None
    parts = urlsplit(raw if "://" in raw else "http://" + raw)
    if parts.scheme != "http" or not parts.hostname:
        raise TransportError(f"unsupported proxy {redact_url(raw)!r}: only http:// proxies work")
    try:
        proxy_port = parts.port or 80
    except ValueError as exc:
        raise TransportError(f"invalid proxy {redact_url(raw)!r}") from exc
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return parts.hostname, proxy_port, auth


_SERVER_SPOKE_HTTP = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"}


def _describe(exc: BaseException) -> str:
    """A short, secret-free reason for a transport failure (docker's wording where it has one)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = f"tls: failed to verify certificate: {exc.verify_message or exc.reason}"
    elif isinstance(exc, ssl.SSLError):
        reason = f"tls: {exc.reason or exc}"
        if exc.reason in _SERVER_SPOKE_HTTP:
            reason = "http: server gave HTTP response to HTTPS client"
    elif isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        reason = "timeout awaiting response"
    elif isinstance(exc, ConnectionRefusedError):
        reason = "connect: connection refused"
    elif isinstance(exc, socket.gaierror):
        reason = "lookup: no such host"
    elif isinstance(exc, http.client.InvalidURL):
        reason = "invalid URL"
    elif isinstance(exc, http.client.HTTPException):
        reason = f"malformed HTTP response ({type(exc).__name__})"
    elif isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
    else:  # e.g. ValueError for a header value with a newline: never echo the value
        reason = f"invalid request ({type(exc).__name__})"
    return reason


def _reason(status: int) -> str:
    """The standard reason phrase (as Go's ``StatusText``): a server's own text is not trusted."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class Client:
    """Sends :class:`Request` objects; keeps one connection per origin alive.

    ``cert_dirs`` maps a host name (lower case, IPv6 without brackets) to its
    ``certs.d``-style directories; every port of that host uses them.
    """

    def __init__(
        self,
        *,
        timeout: float | None = None,
        cert_dirs: Mapping[str, Sequence[str]] | None = None,
        max_body: int = MAX_BODY,
        preconnected: Preconnected | None = None,
    ) -> None:
        self.timeout = timeout if timeout is not None else timeout_from_env()
        self.cert_dirs = {key.lower(): tuple(dirs) for key, dirs in (cert_dirs or {}).items()}
        self.max_body = max_body
        self.preconnected = preconnected
        self._claimed: list[Pending] = []
        self._contexts: dict[tuple[tuple[str, ...], bool], ssl.SSLContext] = {}
        self._pool: dict[tuple[str, str, int, bool], http.client.HTTPConnection] = {}

    def close(self) -> None:
        """Close every pooled connection (and any opened ahead that no request used)."""
        for conn in self._pool.values():
            conn.close()
        self._pool.clear()
        for pending in self._claimed:
            pending.abandon()
        self._claimed.clear()

    def adopt(self, other: Client) -> None:
        """Take over ``other``'s idle connections (those to an origin this client has none to).

        A connection is pooled by (scheme, host, port, verify), so an adopted one
        only ever carries requests to the origin, and with the TLS checks, it was
        opened for.  Connections this client already has win; the rest of
        ``other``'s are closed.
        """
        for key, conn in other._pool.items():
            if key in self._pool:
                conn.close()
            else:
                self._pool[key] = conn
        other._pool.clear()

    def _context(self, host: str, verify: bool) -> ssl.SSLContext:
        """One context per (cert dirs, verify): Docker Hub's registry and realm share one."""
        dirs = self.cert_dirs.get(host, ())
        key = (dirs, verify)
        if key not in self._contexts:
            self._contexts[key] = client_context(dirs, verify)
        return self._contexts[key]

    def _connect(
        self, scheme: str, host: str, port: int, verify: bool
    ) -> tuple[http.client.HTTPConnection, bool]:
        """A connection for the target and whether requests must use absolute URLs."""
        proxy = proxy_for(scheme, host, port)
        tunnel_headers = {"Proxy-Authorization": proxy[2]} if proxy and proxy[2] else None
        conn: http.client.HTTPConnection
        if scheme == "https":
            context = self._context(host, verify)
            if proxy is None:
                conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
                self._use_preconnected(conn, host, port)
            else:
                conn = http.client.HTTPSConnection(proxy[0], proxy[1], timeout=self.timeout, context=context)
                conn.set_tunnel(host, port, headers=tunnel_headers)
            return conn, False
        if proxy is None:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._use_preconnected(conn, host, port)
            return conn, False
        return http.client.HTTPConnection(proxy[0], proxy[1], timeout=self.timeout), True

    def _use_preconnected(self, conn: http.client.HTTPConnection, host: str, port: int) -> None:
        """Let ``conn`` take a TCP connection opened ahead to the same host and port, if there is one.

        ``http.client`` opens its socket through ``_create_connection``; the one
        opened ahead stands in for it (and its failure is the one raised), after
        which ``connect`` goes on as usual (TCP_NODELAY, then the TLS handshake
        for https).
        """
        pending = self.preconnected.claim(host, port) if self.preconnected is not None else None
        if pending is None:
            return
        self._claimed.append(pending)

        def create_connection(*_: object) -> socket.socket:
            sock = pending.take()
            sock.settimeout(self.timeout)
            return sock

        conn._create_connection = create_connection  # type: ignore[attr-defined]  # noqa: SLF001 - http.client's socket hook

    def send(self, request: Request) -> Response:
        """Perform ``request`` once (no redirects); raise :class:`TransportError` on failure."""
        where = f'{request.method.capitalize()} "{redact_url(request.url)}"'
        parts = urlsplit(request.url)
        scheme, host, port = origin(request.url)
        if scheme not in _DEFAULT_PORTS or not host or port < 0:
            raise TransportError(f"{where}: unsupported URL")
        netloc = parts.netloc.rpartition("@")[2].lower()
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        headers = {"User-Agent": f"regcred/{__version__}", **dict(request.headers)}
        key = (scheme, netloc, port, request.verify)
        for attempt in range(2):
            reused = key in self._pool
            try:
                if reused:
                    conn = self._pool[key]
                    absolute = scheme == "http" and proxy_for(scheme, host, port) is not None
                else:
                    conn, absolute = self._connect(scheme, host, port, request.verify)
                    self._pool[key] = conn
                if absolute:
                    auth = proxy_for(scheme, host, port)
                    if auth and auth[2]:
                        headers["Proxy-Authorization"] = auth[2]
                path = urlunsplit((scheme, parts.netloc.rpartition("@")[2], target, "", ""))
                return self._exchange(conn, request, path if absolute else target, headers)
            except _STALE as exc:
                self._drop(key)
                if reused and attempt == 0 and request.method in {"GET", "HEAD"}:
                    continue
                raise TransportError(f"{where}: {_describe(exc)}") from None
            except TransportError as exc:
                self._drop(key)
                raise type(exc)(f"{where}: {exc}") from None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self._drop(key)
                if isinstance(exc, ssl.SSLCertVerificationError):
                    raise CertificateVerifyError(f"{where}: {_describe(exc)}") from None
                error = TLSVerificationError if isinstance(exc, ssl.SSLError) else TransportError
                if isinstance(exc, TimeoutError):
                    error = RequestTimeoutError
                raise error(f"{where}: {_describe(exc)}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop(self, key: tuple[str, str, int, bool]) -> None:
        conn = self._pool.pop(key, None)
        if conn is not None:
            conn.close()

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        request: Request,
        target: str,
        headers: dict[str, str],
    ) -> Response:
        deadline = time.monotonic() + self.timeout
        conn.request(request.method, target, body=request.body or None, headers=headers)
        if conn.sock is not None:
            conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        response = _getresponse_by(conn, deadline)
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if conn.sock is not None:
                conn.sock.settimeout(remaining)
            chunk = response.read1(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_body:
                raise TransportError(f"response body larger than {self.max_body} bytes")
            chunks.append(chunk)
        response.close()  # fully read: lets the connection carry the next request
        if response.will_close:
            self._drop_conn(conn)
        elif conn.sock is not None:
            conn.sock.settimeout(self.timeout)
        return Response(
            status=response.status,
            reason=_reason(response.status),
            headers=tuple(response.getheaders()),
            body=b"".join(chunks),
            url=request.url,
        )

    def _drop_conn(self, conn: http.client.HTTPConnection) -> None:
        for key, pooled in list(self._pool.items()):
            if pooled is conn:
                self._drop(key)


def _getresponse_by(conn: http.client.HTTPConnection, deadline: float) -> http.client.HTTPResponse:
    """``conn.getresponse()``, but the whole status line and headers within ``deadline``.

    The socket timeout alone bounds each ``recv``, so a server dribbling one
    byte at a time could hold the headers open forever; a watchdog shuts the
    socket down when the deadline passes.
    """
    import threading

    fired = threading.Event()
    sock = conn.sock

    def expire() -> None:
        fired.set()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(max(deadline - time.monotonic(), 0.0), expire)
    timer.daemon = True
    timer.start()
    try:
        return conn.getresponse()
    except Exception:
        if fired.is_set():
            raise TimeoutError from None
        raise
    finally:
        timer.cancel()


def drive(
    flow: Generator[Request, Response, T],
    client: Client,
    send: Callable[[Request], Response] | None = None,
) -> T:
    """Run a request generator with ``client``: each request it yields is sent, each answer sent back.

    A transport failure is thrown into the generator, which may retry or give up; its
    return value is the result.  ``send`` replaces ``client.send`` (login's race).
    """
    send = send or client.send
    try:
        request = next(flow)
        while True:
            try:
                response = send(request)
            except TransportError as exc:
                request = flow.throw(exc)
            else:
                request = flow.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result
