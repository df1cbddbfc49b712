"""Verify credentials against a registry: docker's ``loginV2``, safer.

The flow is sans-I/O: :func:`login_flow` is a generator that yields
:class:`~regcred._net.http.Request` objects and is sent the matching
:class:`~regcred._net.http.Response` (a transport failure is thrown into it as a
:class:`~regcred._net.http.TransportError`).  :func:`verify_login` drives it with
:class:`~regcred._net.http.Client`.  Tests step the generator by hand.

Per endpoint (``https://`` first; ``http://`` only for loopback registries or
``insecure=True``, and only when https failed to connect; the plain-http ping,
which carries no credentials, is sent alongside the https attempt and its
answer used only once https has failed, see :class:`_Race`)::

    GET /v2/                       no auth          -> 200: no challenge, verified=False
                                                    -> 401: read WWW-Authenticate
    Basic:  GET /v2/               Authorization: Basic      -> must be exactly 200
    Bearer: GET <realm>?account=..&client_id=docker&offline_token=true&service=..
              (or POST grant_type=refresh_token for an identity token)
            GET /v2/               Authorization: Bearer     -> must be exactly 200

Where docker is looser, this module is stricter:

* Credentials go only to the registry's own origin (scheme, host, port) and
  to a realm that passes :func:`regcred._net.policy.check_realm`.  Any redirect to another origin
  raises :class:`~regcred.errors.InsecureRedirectError`; same-origin
  redirects are followed at most
  :data:`~regcred._net.token_client.MAX_REDIRECTS` times.
* Once https has answered, plain http is never tried (no downgrade, and never
  a credential retry over http after an https 401).
* When a registry offers both Basic and Bearer, Basic is used (the password
  stays with the registry; docker ends up sending Basic too).  An identity
  token is only ever exchanged at a realm, never sent as a Basic password.
* ``log`` lines and error messages never carry a secret: credentials, tokens,
  ``Authorization`` values and URL query values are redacted, and any text a
  server sends back is scrubbed of the secrets in play.
"""

from __future__ import annotations

from regcred._address import DOCKER_HUB
from regcred._net.http import (
    CertificateVerifyError,
    Client,
    RegistryCertificateError,
    Request,
    Response,
    TransportError,
    drive,
    origin,
    redact_url,
)
from regcred._net.options import LoginOptions
from regcred._net.policy import check_realm, login_endpoints, same_host
from regcred._net.token_client import (
    REJECTED,
    Secrets,
    basic_authorization,
    clean,
    fetch,
    parse_token,
    safe_log,
    token_error,
    token_request,
)
from regcred._net.www_authenticate import Challenge, parse_headers
from regcred._record import Record
from regcred.credentials import TOKEN_USERNAME
from regcred.errors import CredentialsRejectedError, LoginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    from regcred._net.preconnect import Preconnected

__all__ = ["Verification", "login_flow", "verify_login"]


class Verification(Record):
    """What a successful :func:`verify_login` learned."""

    __slots__ = ("endpoint", "identity_token", "verified")
    _hidden = frozenset({"identity_token"})
    #: e.g. "https://reg.example:5000" or "http://127.0.0.1:5000"
    endpoint: str
    #: False when the registry issued no challenge at all
    verified: bool
    #: A refresh token to store instead of the password (hidden from repr).
    identity_token: str | None

    def __init__(self, endpoint: str, verified: bool, identity_token: str | None) -> None:
        self._set(endpoint=endpoint, verified=verified, identity_token=identity_token)


def _describe_challenge(challenge: Challenge, secrets: Secrets) -> str:
    params = []
    for name, value in challenge.params.items():
        shown = redact_url(value) if name == "realm" else value
        params.append(f"{name}={clean(shown, secrets, 120)!r}")
    if challenge.token68 is not None:
        params.append("<token68>")
    return " ".join([challenge.scheme.capitalize(), *params])


def _login_failed(endpoint: str, response: Response, *, sent_credentials: bool = True) -> LoginError:
    """The error for a /v2/ answer that is not 200; a 401 or 403 to credentials is a rejection."""
    message = f"login attempt to {endpoint}/v2/ failed with status: {response.status} {response.reason}"
    if sent_credentials and response.status in REJECTED:
        return CredentialsRejectedError(message)
    return LoginError(message)


def login_flow(
    server_key: str,
    *,
    username: str,
    secret: str,
    insecure: bool = False,
    require_tls: bool = False,
    log: Callable[[str], None] | None = None,
    secrets: Secrets | None = None,
) -> Generator[Request, Response, Verification]:
    """The login exchange for ``server_key``, as a generator of requests (see module doc)."""
    secrets = secrets if secrets is not None else Secrets(secret)
    secrets.add(basic_authorization(username, secret).partition(" ")[2])  # in case a server echoes it
    emit = safe_log(log, secrets)
    if not username or not secret:
        raise LoginError("no basic auth credentials")
    first_error: TransportError | None = None
    for endpoint, verify in login_endpoints(server_key, insecure=insecure, require_tls=require_tls):
        emit(f"trying {endpoint}/v2/" + ("" if verify else " (TLS verification disabled)"))
        try:
            ping = yield from fetch(Request("GET", f"{endpoint}/v2/", verify=verify), emit)
        except TransportError as exc:
            emit(f"{exc}")
            first_error = first_error or exc
            continue
        if first_error is not None and ping.status not in {200, 401}:
            # Plain http reached something that is not a registry (often the
            # TLS port itself): the https error is the one that explains it.
            raise _registry_error(first_error, f" (and over plain http: {ping.status} {ping.reason})")
        login = _Login(endpoint, verify, username, secret, secrets, emit)
        return (yield from login.authenticate(ping))
    if first_error is None:
        raise LoginError(f"no endpoint to try for {server_key}")
    raise _registry_error(first_error)


def _registry_error(first: TransportError, more: str = "") -> LoginError:
    """The registry's own transport failure, ``more`` appended; a certificate one is marked as such."""
    if isinstance(first, CertificateVerifyError):
        return RegistryCertificateError(f"{first}{more}")
    return type(first)(f"{first}{more}") if more else first  # still unreachable (or TLS), for callers


class _Login:
    """Step B of ``loginV2`` against one endpoint that answered the ping."""

    __slots__ = ("emit", "endpoint", "secret", "secrets", "username", "verify")

    def __init__(
        self,
        endpoint: str,
        verify: bool,
        username: str,
        secret: str,
        secrets: Secrets,
        emit: Callable[[str], None],
    ) -> None:
        self.endpoint = endpoint
        self.verify = verify
        self.username = username
        self.secret = secret
        self.secrets = secrets
        self.emit = emit

    def _v2(self, authorization: str) -> Request:
        url = f"{self.endpoint}/v2/"
        return Request("GET", url, (("Authorization", authorization),), verify=self.verify)

    def authenticate(self, ping: Response) -> Generator[Request, Response, Verification]:
        """Pick a challenge from the ping's 401 and prove the credentials with it."""
        if ping.status == 200:
            self.emit("the registry asked for no credentials: they could not be verified")
            return Verification(self.endpoint, verified=False, identity_token=None)
        if ping.status != 401:
            raise _login_failed(self.endpoint, ping, sent_credentials=False)
        challenges = parse_headers(ping.get_all("www-authenticate"))
        for challenge in challenges:
            self.emit(f"challenge: {_describe_challenge(challenge, self.secrets)}")
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        is_token = self.username == TOKEN_USERNAME
        if basic is not None and not is_token:
            response = yield from fetch(self._v2(basic_authorization(self.username, self.secret)), self.emit)
            if response.status != 200:
                raise _login_failed(self.endpoint, response)
            return Verification(self.endpoint, verified=True, identity_token=None)
        if bearer is not None:
            return (yield from self._bearer(bearer))
        if not challenges:
            raise _login_failed(self.endpoint, ping, sent_credentials=False)
        if basic is not None:
            raise LoginError(
                f"{self.endpoint} only accepts Basic authentication, so an identity token "
                "cannot be used; log in with a username and password"
            )
        schemes = clean(", ".join(sorted({c.scheme for c in challenges})), self.secrets)
        raise LoginError(f"{self.endpoint} asks for unsupported authentication ({schemes})")

    def _bearer(self, challenge: Challenge) -> Generator[Request, Response, Verification]:
        realm = check_realm(challenge.get("realm"), self.endpoint)
        # --insecure names the registry's host; the realm elsewhere is verified.
        on_registry_host = same_host(origin(realm)[1], origin(self.endpoint)[1])
        request = token_request(
            challenge, realm, self.username, self.secret, self.verify or not on_registry_host
        )
        response = yield from fetch(request, self.emit, " (token request)")
        if not 200 <= response.status < 300:
            reason = token_error(response, self.secrets)
            error = CredentialsRejectedError if response.status in REJECTED else LoginError
            raise error(f'Get "{self.endpoint}/v2/": {reason}')
        token, refresh, _ = parse_token(response, self.secrets)
        self.emit("token received" + (" with a refresh token" if refresh else ""))
        response = yield from fetch(self._v2(f"Bearer {token}"), self.emit)
        if response.status != 200:
            raise _login_failed(self.endpoint, response)
        is_token = self.username == TOKEN_USERNAME
        identity = refresh or (self.secret if is_token else None)
        return Verification(self.endpoint, verified=True, identity_token=identity)


def verify_login(
    server_key: str,
    *,
    username: str,
    secret: str,
    options: LoginOptions | None = None,
    log: Callable[[str], None] | None = None,
    preconnected: Preconnected | None = None,
) -> Verification:
    """Check ``username``/``secret`` against the registry for ``server_key``.

    ``server_key`` is a normalised docker key: ``https://index.docker.io/v1/``
    for Docker Hub, else ``host[:port]``.  ``username == "<token>"`` makes
    ``secret`` an identity token.  ``options`` (default: none set) carry
    ``insecure``, the ``cert_dirs`` with docker ``certs.d`` material for this
    registry's host (see ``_tls.registry_cert_dirs``) and the timeout of each
    network step.
    ``preconnected`` holds TCP connections opened ahead by
    :func:`regcred._net.preconnect.start` for this ``server_key``; they are
    used for the first requests and closed here if unused.
    Raises :class:`~regcred.errors.LoginError` (or
    :class:`~regcred.errors.InsecureRedirectError`); messages hold no secret.
    """
    try:
        return _verify_login(server_key, username, secret, options or LoginOptions(), log, preconnected)
    finally:
        if preconnected is not None:
            preconnected.close()


def _verify_login(
    server_key: str,
    username: str,
    secret: str,
    options: LoginOptions,
    log: Callable[[str], None] | None,
    preconnected: Preconnected | None,
) -> Verification:
    secrets = Secrets(secret)
    try:
        flow = login_flow(
            server_key,
            username=username,
            secret=secret,
            insecure=options.insecure,
            require_tls=options.require_tls,
            log=log,
            secrets=secrets,
        )
        endpoints = login_endpoints(server_key, insecure=options.insecure, require_tls=options.require_tls)
        registry_host = origin(endpoints[0][0])[1]
        dirs = {} if server_key == DOCKER_HUB else {registry_host: options.cert_dirs}
        timeout = options.seconds()
        client = Client(timeout=timeout, cert_dirs=dirs, preconnected=preconnected)
        race = _http_ping_race(endpoints, dirs, preconnected, timeout=timeout)
        try:
            return _drive(flow, client, race)
        finally:
            if race is not None:
                race.abandon()
            client.close()
    except LoginError as exc:
        raise type(exc)(secrets.scrub(str(exc))) from None


def _http_ping_race(
    endpoints: Sequence[tuple[str, bool]],
    dirs: dict[str, tuple[str, ...]],
    preconnected: Preconnected | None = None,
    *,
    timeout: float | None = None,
) -> _Race | None:
    """The plain-http ping to send alongside the https attempt, where plain http may follow it."""
    if len(endpoints) < 2 or not endpoints[1][0].startswith("http://"):
        return None
    endpoint, verify = endpoints[1]
    client = Client(timeout=timeout, cert_dirs=dirs, preconnected=preconnected)
    return _Race(Request("GET", f"{endpoint}/v2/", verify=verify), client)


class _Race:
    """One request sent ahead, on its own connection, that the flow may ask for later.

    Login tries https first and plain http only once https has failed; over a
    slow link that costs the http ping's round trips on top of the https
    attempt's.  So the http ping (``GET /v2/`` with no credentials, exactly
    the request the flow would send) goes out at the same time as the https
    attempt.  Its answer is handed to the flow only when the flow itself asks
    for that very request, which it does only after https failed; if https
    answers, the answer is dropped.  Only a request with no ``Authorization``
    and no body is ever raced: credentials still go out only in answer to a
    challenge, and only over the endpoint that gave it.
    """

    __slots__ = ("_abandoned", "_client", "_done", "_error", "_lock", "_response", "_thread", "request")

    def __init__(self, request: Request, client: Client) -> None:
        import threading

        if request.body or any(name.lower() == "authorization" for name, _ in request.headers):
            raise ValueError("only a request without credentials or a body may be raced")
        self.request = request
        self._client = client
        self._response: Response | None = None
        self._error: TransportError | None = None
        self._lock = threading.Lock()
        self._done, self._abandoned = True, False  # "done" until started
        self._thread = threading.Thread(target=self._run, name="regcred-http-ping", daemon=True)

    def start(self) -> None:
        """Send the request, in a thread of its own."""
        self._done = False
        self._thread.start()

    def _run(self) -> None:
        try:
            self._response = self._client.send(self.request)
        except TransportError as exc:
            self._error = exc
        except Exception as exc:  # anything else still reaches the flow, as a transport failure
            self._error = TransportError(f'Get "{redact_url(self.request.url)}": {type(exc).__name__}')
        finally:
            with self._lock:
                self._done = True
                if self._abandoned:
                    self._client.close()

    def take(self, client: Client) -> Response:
        """The raced answer (or its transport error); its connection joins ``client``'s pool."""
        self._thread.join()
        client.adopt(self._client)
        if self._response is None:
            raise self._error or TransportError(f'Get "{redact_url(self.request.url)}": no response')
        return self._response

    def abandon(self) -> None:
        """Drop the answer; the connection is closed once the request is done."""
        with self._lock:
            self._abandoned = True
            if self._done:
                self._client.close()


def _drive(
    flow: Generator[Request, Response, Verification], client: Client, race: _Race | None = None
) -> Verification:
    """:func:`~regcred._net.http.drive`, with ``race``'s answer handed over when the flow asks for it."""
    if race is None:
        return drive(flow, client)
    pending: _Race | None = race
    started = False

    def send(request: Request) -> Response:
        nonlocal pending, started
        if not started:
            started = True
            race.start()  # the flow is under way: its first request goes out now
        if pending is not None and request == pending.request:
            taken, pending = pending, None
            return taken.take(client)
        return client.send(request)

    return drive(flow, client, send)
