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
  redirects are followed at most ``MAX_REDIRECTS`` times.
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

import base64
import json
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from regcred._address import DOCKER_HUB
from regcred._net.http import Client, Request, Response, TransportError, drive, origin, redact_url
from regcred._net.policy import CONTROL, check_realm, login_endpoints, same_host
from regcred._net.www_authenticate import Challenge, parse_headers
from regcred._record import Record
from regcred._redact import redact
from regcred.credentials import TOKEN_USERNAME
from regcred.errors import CredentialsRejectedError, InsecureRedirectError, LoginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    from regcred._net.preconnect import Preconnected

__all__ = ["MAX_REDIRECTS", "LoginResult", "login_flow", "verify_login"]

MAX_REDIRECTS = 5
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")


class LoginResult(Record):
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


class _Secrets:
    """The secrets in play, and the one place that scrubs them from text."""

    def __init__(self, *values: str) -> None:
        self.values: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        # Very short values would turn every message into noise; they are
        # never put in a message by us, only possibly echoed by a server.
        if len(value) >= 4:
            self.values.add(value)

    def scrub(self, text: str) -> str:
        # Every spelling (JSON, URL-encoded, base64 of user:secret, ...), not only the raw one.
        return redact(text, self.values, marker="REDACTED")


def _clean(text: str, secrets: _Secrets, limit: int = 300) -> str:
    """Server-supplied text made safe to print: no secrets, no control characters."""
    text = CONTROL.sub(" ", secrets.scrub(text)).strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _describe_challenge(challenge: Challenge, secrets: _Secrets) -> str:
    params = []
    for name, value in challenge.params.items():
        shown = redact_url(value) if name == "realm" else value
        params.append(f"{name}={_clean(shown, secrets, 120)!r}")
    if challenge.token68 is not None:
        params.append("<token68>")
    return " ".join([challenge.scheme.capitalize(), *params])


def _login_failed(endpoint: str, response: Response, *, sent_credentials: bool = True) -> LoginError:
    """The error for a /v2/ answer that is not 200; a 401 or 403 to credentials is a rejection."""
    message = f"login attempt to {endpoint}/v2/ failed with status: {response.status} {response.reason}"
    if sent_credentials and response.status in _REJECTED:
        return CredentialsRejectedError(message)
    return LoginError(message)


#: What a registry or token server answers to credentials it refuses.
_REJECTED = frozenset({401, 403})


def _fetch(
    request: Request, log: Callable[[str], None], note: str = ""
) -> Generator[Request, Response, Response]:
    """Perform ``request``, following same-origin redirects only (bounded)."""
    for _ in range(MAX_REDIRECTS + 1):
        response = yield request
        auth = next((v.split(" ")[0] for k, v in request.headers if k == "Authorization"), None)
        shown = f"{request.method} {redact_url(request.url)}{note}"
        if auth:
            shown += f" (Authorization: {auth} REDACTED)"
        log(f"{shown} -> {response.status} {response.reason}")
        if not response.is_redirect:
            return response
        try:
            location = urljoin(request.url, (response.get("location") or "").strip())
        except ValueError:
            raise LoginError(f"{redact_url(request.url)} redirected to a malformed URL") from None
        if origin(location) != origin(request.url):
            raise InsecureRedirectError(
                f"{redact_url(request.url)} redirected to another origin "
                f"({redact_url(CONTROL.sub('?', location))[:300]}); "
                "refusing to follow it with credentials"
            )
        if response.status in {307, 308}:
            request = Request(request.method, location, request.headers, request.body, request.verify)
        else:
            request = Request("GET", location, request.headers, b"", request.verify)
    raise LoginError(f"{redact_url(request.url)}: stopped after {MAX_REDIRECTS} redirects")


def _token_error(response: Response, secrets: _Secrets) -> str:
    """docker's ``HandleErrorResponse`` wording for a failed token request."""
    if not 400 <= response.status < 500:
        return f"received unexpected HTTP status: {response.status} {response.reason}"
    for challenge in parse_headers(response.get_all("www-authenticate")):
        code = {"invalid_token": "unauthorized", "insufficient_scope": "denied"}.get(
            challenge.get("error") or ""
        )
        if challenge.scheme == "bearer" and code:
            default = "authentication required" if code == "unauthorized" else "access denied"
            return f"{code}: {_clean(challenge.get('error_description') or default, secrets)}"
    code = {401: "unauthorized", 403: "denied", 429: "toomanyrequests"}.get(response.status)
    try:
        body = json.loads(response.body)
    except (ValueError, RecursionError):  # a hostile server can nest JSON 100,000 deep
        body = None
    if isinstance(body, dict):
        details = body.get("details")
        if isinstance(details, str) and details:
            return f"{code or 'unknown'}: {_clean(details, secrets)}"
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            name = str(first.get("code") or code or "unknown").lower().replace("_", " ")
            return f"{_clean(name, secrets, 40)}: {_clean(str(first.get('message') or ''), secrets)}"
    if code == "unauthorized":
        return "unauthorized: authentication required"
    return f"received unexpected HTTP status: {response.status} {response.reason}"


def _token_request(
    challenge: Challenge,
    realm: str,
    username: str,
    secret: str,
    verify: bool,
    *,
    scopes: Sequence[str] = (),
    offline: bool = True,
) -> Request:
    """The token request for ``challenge``: docker's, for login and for the auth plug-in.

    An identity token (``username == "<token>"``) is POSTed as a
    ``refresh_token`` grant (scopes space-separated); anything else is a GET
    with one ``scope`` parameter per scope, Basic credentials when there are
    some (an empty ``username`` asks anonymously), and ``offline_token=true``
    when ``offline`` (login asks for a refresh token, the plug-in does not).
    """
    service = challenge.get("service") or ""
    if username == TOKEN_USERNAME:
        form = {"client_id": "docker", "grant_type": "refresh_token", "refresh_token": secret}
        form |= {"scope": " ".join(scopes), "service": service}
        body = urlencode(sorted(form.items())).encode("ascii")
        headers = (("Content-Type", "application/x-www-form-urlencoded"),)
        return Request("POST", realm, headers, body, verify)
    parts = urlsplit(realm)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours: dict[str, str] = {}
    if username:
        ours["account"] = username
    if offline:
        ours |= {"client_id": "docker", "offline_token": "true"}
    if service:
        ours["service"] = service
    query = [(k, v) for k, v in query if k not in ours and not (scopes and k == "scope")] + list(ours.items())
    query = sorted(query, key=lambda kv: kv[0]) + [("scope", scope) for scope in scopes]
    url = parts._replace(query=urlencode(query), fragment="")
    basic = (("Authorization", _basic(username, secret)),) if username else ()
    return Request("GET", url.geturl(), basic, b"", verify)


def _basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")


def _parse_token(response: Response, secrets: _Secrets) -> tuple[str, str | None, dict[str, object]]:
    """``(access token, refresh token or None, the whole JSON object)`` from a token server."""
    try:
        body = json.loads(response.body)
    except (ValueError, RecursionError):  # a hostile server can nest JSON 100,000 deep
        body = None
    if not isinstance(body, dict):
        raise LoginError("authorization server returned an invalid token response")
    token = body.get("access_token") or body.get("token")
    refresh = body.get("refresh_token")
    for value in (token, refresh):
        if isinstance(value, str):
            secrets.add(value)
    if not isinstance(token, str) or not token:
        raise LoginError("authorization server did not include a token in the response")
    if not _TOKEN_CHARS.fullmatch(token):
        raise LoginError("authorization server returned a malformed token")
    if not isinstance(refresh, str) or not _TOKEN_CHARS.fullmatch(refresh):
        refresh = None
    return token, refresh, body


def login_flow(
    server_key: str,
    *,
    username: str,
    secret: str,
    insecure: bool = False,
    log: Callable[[str], None] | None = None,
    secrets: _Secrets | None = None,
) -> Generator[Request, Response, LoginResult]:
    """The login exchange for ``server_key``, as a generator of requests (see module doc)."""
    secrets = secrets if secrets is not None else _Secrets(secret)
    secrets.add(_basic(username, secret).partition(" ")[2])  # in case a server echoes it
    emit = _safe_log(log, secrets)
    if not username or not secret:
        raise LoginError("no basic auth credentials")
    first_error: TransportError | None = None
    for endpoint, verify in login_endpoints(server_key, insecure=insecure):
        emit(f"trying {endpoint}/v2/" + ("" if verify else " (TLS verification disabled)"))
        try:
            ping = yield from _fetch(Request("GET", f"{endpoint}/v2/", verify=verify), emit)
        except TransportError as exc:
            emit(f"{exc}")
            first_error = first_error or exc
            continue
        if first_error is not None and ping.status not in {200, 401}:
            # Plain http reached something that is not a registry (often the
            # TLS port itself): the https error is the one that explains it.
            raise type(first_error)(f"{first_error} (and over plain http: {ping.status} {ping.reason})")
        login = _Login(endpoint, verify, username, secret, secrets, emit)
        return (yield from login.authenticate(ping))
    raise first_error or LoginError(f"no endpoint to try for {server_key}")


class _Login:
    """Step B of ``loginV2`` against one endpoint that answered the ping."""

    __slots__ = ("emit", "endpoint", "secret", "secrets", "username", "verify")

    def __init__(
        self,
        endpoint: str,
        verify: bool,
        username: str,
        secret: str,
        secrets: _Secrets,
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

    def authenticate(self, ping: Response) -> Generator[Request, Response, LoginResult]:
        """Pick a challenge from the ping's 401 and prove the credentials with it."""
        if ping.status == 200:
            self.emit("the registry asked for no credentials: they could not be verified")
            return LoginResult(self.endpoint, verified=False, identity_token=None)
        if ping.status != 401:
            raise _login_failed(self.endpoint, ping, sent_credentials=False)
        challenges = parse_headers(ping.get_all("www-authenticate"))
        for challenge in challenges:
            self.emit(f"challenge: {_describe_challenge(challenge, self.secrets)}")
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        is_token = self.username == TOKEN_USERNAME
        if basic is not None and not is_token:
            response = yield from _fetch(self._v2(_basic(self.username, self.secret)), self.emit)
            if response.status != 200:
                raise _login_failed(self.endpoint, response)
            return LoginResult(self.endpoint, verified=True, identity_token=None)
        if bearer is not None:
            return (yield from self._bearer(bearer))
        if not challenges:
            raise _login_failed(self.endpoint, ping, sent_credentials=False)
        if basic is not None:
            raise LoginError(
                f"{self.endpoint} only accepts Basic authentication, so an identity token "
                "cannot be used; log in with a username and password"
            )
        schemes = _clean(", ".join(sorted({c.scheme for c in challenges})), self.secrets)
        raise LoginError(f"{self.endpoint} asks for unsupported authentication ({schemes})")

    def _bearer(self, challenge: Challenge) -> Generator[Request, Response, LoginResult]:
        realm = check_realm(challenge.get("realm"), self.endpoint)
        # --insecure names the registry's host; the realm elsewhere is verified.
        on_registry_host = same_host(origin(realm)[1], origin(self.endpoint)[1])
        request = _token_request(
            challenge, realm, self.username, self.secret, self.verify or not on_registry_host
        )
        response = yield from _fetch(request, self.emit, " (token request)")
        if not 200 <= response.status < 300:
            reason = _token_error(response, self.secrets)
            error = CredentialsRejectedError if response.status in _REJECTED else LoginError
            raise error(f'Get "{self.endpoint}/v2/": {reason}')
        token, refresh, _ = _parse_token(response, self.secrets)
        self.emit("token received" + (" with a refresh token" if refresh else ""))
        response = yield from _fetch(self._v2(f"Bearer {token}"), self.emit)
        if response.status != 200:
            raise _login_failed(self.endpoint, response)
        is_token = self.username == TOKEN_USERNAME
        identity = refresh or (self.secret if is_token else None)
        return LoginResult(self.endpoint, verified=True, identity_token=identity)


def _safe_log(log: Callable[[str], None] | None, secrets: _Secrets) -> Callable[[str], None]:
    def emit(line: str) -> None:
        if log is not None:
            log(CONTROL.sub(" ", secrets.scrub(line)))

    return emit


def verify_login(
    server_key: str,
    *,
    username: str,
    secret: str,
    insecure: bool = False,
    cert_dirs: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
    preconnected: Preconnected | None = None,
) -> LoginResult:
    """Check ``username``/``secret`` against the registry for ``server_key``.

    ``server_key`` is a normalised docker key: ``https://index.docker.io/v1/``
    for Docker Hub, else ``host[:port]``.  ``username == "<token>"`` makes
    ``secret`` an identity token.  ``cert_dirs`` hold docker ``certs.d``
    material for this registry's host (see ``_tls.registry_cert_dirs``).
    ``preconnected`` holds TCP connections opened ahead by
    :func:`regcred._net.preconnect.start` for this ``server_key``; they are
    used for the first requests and closed here if unused.
    Raises :class:`~regcred.errors.LoginError` (or
    :class:`~regcred.errors.InsecureRedirectError`); messages hold no secret.
    """
    try:
        return _verify_login(server_key, username, secret, insecure, cert_dirs, log, preconnected)
    finally:
        if preconnected is not None:
            preconnected.close()


def _verify_login(
    server_key: str,
    username: str,
    secret: str,
    insecure: bool,
    cert_dirs: Sequence[str],
    log: Callable[[str], None] | None,
    preconnected: Preconnected | None,
) -> LoginResult:
    secrets = _Secrets(secret)
    try:
        flow = login_flow(
            server_key,
            username=username,
            secret=secret,
            insecure=insecure,
            log=log,
            secrets=secrets,
        )
        endpoints = login_endpoints(server_key, insecure=insecure)
        registry_host = origin(endpoints[0][0])[1]
        dirs = {} if server_key == DOCKER_HUB else {registry_host: tuple(cert_dirs)}
        client = Client(cert_dirs=dirs, preconnected=preconnected)
        race = _http_ping_race(endpoints, dirs, preconnected)
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
) -> _Race | None:
    """The plain-http ping to send alongside the https attempt, where plain http may follow it."""
    if len(endpoints) < 2 or not endpoints[1][0].startswith("http://"):
        return None
    endpoint, verify = endpoints[1]
    client = Client(cert_dirs=dirs, preconnected=preconnected)
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
    flow: Generator[Request, Response, LoginResult], client: Client, race: _Race | None = None
) -> LoginResult:
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
