"""The registry token flow for HTTP client plug-ins, sans-I/O: what httpx and requests share.

:meth:`TokenFlow.flow` is a generator for one caller request.  It yields

* :class:`Send`: send the caller's request (again) with this ``Authorization``
  (``None``: without one); the adapter answers with a :class:`Seen`;
* :class:`TokenJob`: a blocking token fetch; the adapter calls it (from
  async code, in a worker thread) and sends back the token.

It ends when the caller should get the last response.  Per request:

* **No credentials before a challenge.**  Once an origin has challenged, its
  challenge is remembered and later requests carry Basic, or a cached (or
  freshly fetched) Bearer token, from the start: one token request per
  scope, however many requests.
* **Scope**: the challenge's ``scope`` when present, else from the path
  (``/v2/<name>/(manifests|blobs|tags|referrers)/...``: ``pull`` for
  GET/HEAD, ``delete`` for DELETE, ``pull,push`` for other methods, plus
  ``pull`` on a mount's ``from`` repository; ``registry:catalog:*`` for
  ``/v2/_catalog``).
* **Tokens** are cached per (realm, service, scope) until ``issued_at`` +
  ``expires_in`` (60 s when absent or shorter, as docker's client), behind a
  lock: concurrent requests for one scope make one token request.  A 401
  ``insufficient_scope`` to a token gets one new token for the merged
  scopes; a rejected cached token gets one fresh token; then the 401 is
  returned.
* **Login's policy**, from :mod:`regcred._net.auth` and
  :mod:`regcred._net.policy`: a challenge is answered only for the origin
  the request was addressed to (a response from a redirect elsewhere is
  returned as is), the realm must pass :func:`~regcred._net.policy.check_realm`,
  token requests follow same-origin redirects only and their responses are
  capped (1 MiB), an identity token is only ever a ``refresh_token`` grant,
  and plain http carries credentials only to a loopback registry (or with
  ``insecure``).  Token requests go through regcred's own HTTP client
  (docker's ``certs.d``, ``HTTPS_PROXY``, timeouts), never the caller's, so
  that no client setting (``follow_redirects=True``) can send a credential
  elsewhere.  Log lines and errors never carry a secret.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from urllib.parse import parse_qsl, urlsplit

from regcred._address import DOCKER_HUB, is_loopback_host, normalize, split_repository
from regcred._net.http import Client, drive, origin, redact_url
from regcred._net.policy import CONTROL, check_realm, same_host
from regcred._net.token_client import (
    Secrets,
    basic_authorization,
    fetch,
    parse_token,
    safe_log,
    token_error,
    token_request,
)
from regcred._net.www_authenticate import Challenge, parse_headers
from regcred.errors import AddressError, CredentialsRejectedError, LoginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Generator, Iterable, Sequence

    from regcred.credentials import Credentials

__all__ = [
    "MIN_LIFETIME",
    "FlowOwner",
    "Seen",
    "Send",
    "TokenCache",
    "TokenFlow",
    "TokenJob",
    "request_scopes",
    "token_answer",
]

#: docker's client treats a shorter (or missing) ``expires_in`` as 60 seconds.
MIN_LIFETIME = 60.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_REPO_PATH = re.compile(
    r"/v2/(?P<name>.+?)/(?:manifests/[^/]+|blobs/uploads/[^/]*|blobs/[^/]+|tags/list|referrers/[^/]+)"
)


class Send:
    """A step: send the caller's request with ``authorization`` (None: no Authorization header)."""

    __slots__ = ("authorization",)

    def __init__(self, authorization: str | None) -> None:
        self.authorization = authorization

    def __repr__(self) -> str:
        scheme = (self.authorization or "").partition(" ")[0]
        return f"Send({scheme + ' REDACTED' if scheme else None})"


class Seen:
    """What the adapter tells the flow about a response: status, final URL, challenges."""

    __slots__ = ("status", "url", "www_authenticate")

    def __init__(self, status: int, url: str, www_authenticate: Sequence[str] = ()) -> None:
        self.status = status
        self.url = url
        self.www_authenticate = tuple(www_authenticate)


def request_scopes(method: str, url: str) -> list[str]:
    """The scopes a registry will ask for ``method url``, guessed from the path (may be empty)."""
    parts = urlsplit(url)
    if parts.path == "/v2/_catalog":
        return ["registry:catalog:*"]
    match = _REPO_PATH.fullmatch(parts.path)
    if match is None or not _NAME.fullmatch(match["name"]):
        return []
    method = method.upper()
    actions = "pull" if method in {"GET", "HEAD"} else "delete" if method == "DELETE" else "pull,push"
    scopes = [f"repository:{match['name']}:{actions}"]
    source = dict(parse_qsl(parts.query)).get("from", "") if "mount=" in parts.query else ""
    if _NAME.fullmatch(source) and source != match["name"]:
        scopes.append(f"repository:{source}:pull")
    return scopes


def merge_scopes(*groups: Iterable[str]) -> list[str]:
    """One scope per resource, with the union of its actions (sorted), resources in first-seen order."""
    actions: dict[str, set[str]] = {}
    for scope in (s for group in groups for s in group):
        resource, sep, wanted = scope.rpartition(":")
        if not sep or ":" not in resource:
            resource, wanted = scope, ""
        actions.setdefault(resource, set()).update(a for a in wanted.split(",") if a)
    return [
        f"{resource}:{','.join(sorted(acts))}" if acts else resource for resource, acts in actions.items()
    ]


def _expires_at(body: dict[str, object], now: float) -> float:
    """When a token from ``body`` should no longer be used (wall-clock seconds)."""
    lifetime = body.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else 0.0
    seconds = max(seconds, MIN_LIFETIME) if math.isfinite(seconds) else MIN_LIFETIME
    start = now
    issued = body.get("issued_at")
    if isinstance(issued, str):
        try:
            text = re.sub(r"(\.\d{6})\d+", r"\1", issued.strip().replace("Z", "+00:00"))
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            stamp = when.timestamp()
            # Trusted only inside the token's own lifetime: a skewed clock must
            # neither keep a dead token nor make every token look dead.
            if now - seconds < stamp <= now:
                start = stamp
    return start + seconds - min(10.0, seconds / 10)


class TokenCache:
    """Tokens per (realm, service, scope) and each origin's challenge; safe across threads.

    ``clock`` (wall-clock seconds) is injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._fetching: dict[tuple[str, str, str], threading.Lock] = {}
        self._challenges: dict[str, tuple[str, str, str]] = {}

    def __repr__(self) -> str:
        return f"TokenCache({len(self._tokens)} tokens)"

    def get(self, key: tuple[str, str, str]) -> str | None:
        """The cached token for ``key`` if it is still valid."""
        with self._lock:
            hit = self._tokens.get(key)
            if hit is not None and hit[1] <= self.clock():
                del self._tokens[key]
                hit = None
        return hit[0] if hit else None

    def put(self, key: tuple[str, str, str], token: str, body: dict[str, object]) -> None:
        """Keep ``token`` until ``body``'s ``issued_at`` + ``expires_in`` say it expires."""
        with self._lock:
            self._tokens[key] = (token, _expires_at(body, self.clock()))

    def drop(self, key: tuple[str, str, str], token: str) -> None:
        """Forget ``token`` (rejected by the registry) unless a newer one replaced it."""
        with self._lock:
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]

    def fetch_lock(self, key: tuple[str, str, str]) -> threading.Lock:
        """The lock one token fetch for ``key`` holds, so that concurrent misses make one request."""
        with self._lock:
            return self._fetching.setdefault(key, threading.Lock())

    def challenge(self, endpoint: str) -> tuple[str, str, str] | None:
        """``(scheme, realm, service)`` of the last challenge ``endpoint`` sent, if any."""
        with self._lock:
            return self._challenges.get(endpoint)

    def remember(self, endpoint: str, challenge: tuple[str, str, str]) -> None:
        with self._lock:
            self._challenges[endpoint] = challenge


class TokenJob:
    """A step: fetch (or wait for) the token for one (realm, service, scopes); call it, send the result."""

    __slots__ = ("_flow", "credentials", "endpoint", "key", "realm", "scopes", "service")

    def __init__(
        self,
        flow: TokenFlow,
        endpoint: str,
        realm: str,
        service: str,
        scopes: list[str],
        credentials: Credentials | None,
    ) -> None:
        self._flow = flow
        self.endpoint = endpoint
        self.realm = realm
        self.service = service
        self.scopes = scopes
        self.credentials = credentials
        self.key = (realm, service, " ".join(scopes))

    def __repr__(self) -> str:
        return f"TokenJob({redact_url(self.realm)!r}, scopes={self.scopes!r})"

    def __call__(self) -> str:
        return self._flow.fetch_token(self)


def _endpoint(url: str) -> tuple[str, str]:
    """``(scheme://host[:port], host[:port])`` of ``url``, the default port left out."""
    parts = urlsplit(url)
    scheme, host, port = origin(url)
    netloc = parts.netloc.rpartition("@")[2].lower()
    if port == _DEFAULT_PORTS.get(scheme):
        netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}", netloc


class TokenFlow:
    """Everything one auth object shares across its requests: credentials, tokens, the token client."""

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        config_dir: str | os.PathLike[str] | None = None,
        insecure: bool = False,
        log: Callable[[str], None] | None = None,
        cache: TokenCache | None = None,
    ) -> None:
        self._explicit = credentials
        self._config_dir = config_dir
        self.insecure = insecure
        self._log = log
        self.cache = cache if cache is not None else TokenCache()
        self._found: dict[str, Credentials | None] = {}
        self._client_lock = threading.Lock()
        self._client = Client()
        self._cert_hosts: set[str] = set()

    @property
    def explicit(self) -> bool:
        """Whether credentials were given (rather than looked up)."""
        return self._explicit is not None

    def close(self) -> None:
        """Close the token client's connections."""
        with self._client_lock:
            self._client.close()

    def __del__(self) -> None:
        # Pooled token connections are closed with their owner, not left to
        # the socket finaliser (which warns).
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    # ------------------------------------------------------------------ credentials

    def credentials_for(self, netloc: str, name: str) -> Credentials | None:
        """The credentials docker would use for ``netloc`` (and repository ``name``), or None."""
        if self._explicit is not None:
            try:
                wanted = normalize(self._explicit.server)
            except AddressError:
                return None
            return self._explicit if wanted == split_repository(netloc)[0] else None
        reference = f"{netloc}/{name}" if name else netloc
        if reference not in self._found:
            from regcred._lookup import get_credentials

            self._found[reference] = get_credentials(reference, config_dir=self._config_dir)
        return self._found[reference]

    # ------------------------------------------------------------------ the flow

    def flow(self, method: str, url: str) -> Generator[Send | TokenJob, Seen | str, None]:
        """The steps for one caller request (see the module doc)."""
        endpoint, netloc = _endpoint(url)
        scheme, host, _ = origin(url)
        if scheme not in _DEFAULT_PORTS or not host:
            yield Send(None)
            return
        path_scopes = request_scopes(method, url)
        name = path_scopes[0].split(":")[1] if path_scopes and path_scopes[0].startswith("repo") else ""
        authorization: str | None = None
        cached = False  # whether the token sent came from the cache (or was fetched before a 401)
        known = self.cache.challenge(endpoint)
        if known is not None and self._plain_http_ok(scheme, host):
            credentials = self.credentials_for(netloc, name)
            if known[0] == "basic" and credentials is not None and not credentials.is_identity_token:
                authorization = basic_authorization(credentials.username, credentials.secret)
            elif known[0] == "bearer" and path_scopes:
                job = TokenJob(self, endpoint, known[1], known[2], merge_scopes(path_scopes), credentials)
                token = self.cache.get(job.key)
                if token is None:
                    token = token_answer((yield job))
                authorization, cached = f"Bearer {token}", True
        sent_scopes = merge_scopes(path_scopes)
        merged = False
        for _ in range(4):  # the first send, an answer, a merged scope, a fresh token
            seen = _seen((yield Send(authorization)))
            if seen.status != 401 or origin(seen.url) != origin(url):
                return  # a challenge from elsewhere (a redirect) is never answered
            challenges = parse_headers(seen.www_authenticate)
            credentials = self.credentials_for(netloc, name)
            has_password = credentials is not None and not credentials.is_identity_token
            basic = next((c for c in challenges if c.scheme == "basic"), None)
            bearer = next((c for c in challenges if c.scheme == "bearer"), None)
            if (basic is None or not has_password) and bearer is None:
                return
            if not self._plain_http_ok(scheme, host):
                raise LoginError(
                    f"refusing to send credentials to {endpoint} over plain http "
                    "(only a loopback registry, or one marked insecure, gets them)"
                )
            if basic is not None and has_password and credentials is not None:
                if authorization is not None and authorization.startswith("Basic "):
                    return  # the registry refused these credentials
                self.cache.remember(endpoint, ("basic", "", ""))
                authorization = basic_authorization(credentials.username, credentials.secret)
                continue
            if bearer is None:
                return
            realm = check_realm(bearer.get("realm"), endpoint)
            service = bearer.get("service") or ""
            self.cache.remember(endpoint, ("bearer", realm, service))
            wanted = (bearer.get("scope") or "").split() or path_scopes
            if authorization is not None and authorization.startswith("Bearer "):
                old = TokenJob(self, endpoint, realm, service, sent_scopes, credentials)
                self.cache.drop(old.key, authorization.partition(" ")[2])
                if bearer.get("error") == "insufficient_scope" and not merged:
                    merged, cached = True, False
                    wanted = merge_scopes(sent_scopes, wanted)
                elif cached:
                    cached = False  # a cached token went stale or was revoked: one fresh one
                else:
                    return
            sent_scopes = merge_scopes(wanted)
            job = TokenJob(self, endpoint, realm, service, sent_scopes, credentials)
            token = self.cache.get(job.key)
            if token is None:
                token = token_answer((yield job))
            authorization = f"Bearer {token}"

    def _plain_http_ok(self, scheme: str, host: str) -> bool:
        return scheme == "https" or self.insecure or is_loopback_host(host)

    # ------------------------------------------------------------------ token requests

    def fetch_token(self, job: TokenJob) -> str:
        """The token for ``job``: from the cache, or one token request (blocking; thread-safe)."""
        with self.cache.fetch_lock(job.key):
            token = self.cache.get(job.key)
            if token is not None:
                return token
            credentials = job.credentials
            username = credentials.username if credentials is not None else ""
            secret = credentials.secret if credentials is not None else ""
            secrets = Secrets(secret)
            if credentials is not None and not credentials.is_identity_token:
                secrets.add(basic_authorization(username, secret).partition(" ")[2])
            emit = safe_log(self._log, secrets)
            try:
                token, body = self._request_token(job, username, secret, secrets, emit)
            except LoginError as exc:
                raise type(exc)(secrets.scrub(str(exc))) from None
            self.cache.put(job.key, token, body)
            return token

    def _request_token(
        self,
        job: TokenJob,
        username: str,
        secret: str,
        secrets: Secrets,
        emit: Callable[[str], None],
    ) -> tuple[str, dict[str, object]]:
        registry_host = origin(job.endpoint)[1]
        on_registry_host = same_host(origin(job.realm)[1], registry_host)
        verify = not (self.insecure and on_registry_host)
        challenge = Challenge("bearer", {"service": job.service} if job.service else {})
        request = token_request(
            challenge, job.realm, username, secret, verify, scopes=job.scopes, offline=False
        )
        shown = " ".join(job.scopes) or "no scope"
        with self._client_lock:
            self._use_cert_dirs(job.endpoint, registry_host)
            response = drive(fetch(request, emit, f" (token request: {shown})"), self._client)
        if not 200 <= response.status < 300:
            reason = token_error(response, secrets)
            error = CredentialsRejectedError if response.status in {401, 403} else LoginError
            raise error(f"token request to {redact_url(job.realm)} for {shown} failed: {reason}")
        token, _, body = parse_token(response, secrets)
        emit(f"token received for {CONTROL.sub(' ', shown)}")
        return token, body

    def _use_cert_dirs(self, endpoint: str, host: str) -> None:
        """Give the registry's host docker's ``certs.d`` directories, as login does (once)."""
        if host in self._cert_hosts:
            return
        self._cert_hosts.add(host)
        netloc = endpoint.partition("://")[2]
        if split_repository(netloc)[0] == DOCKER_HUB:
            return
        from regcred import _config
        from regcred._net.tls import registry_cert_dirs

        config_dir = str(_config.config_path(self._config_dir).parent)
        self._client.cert_dirs[host] = tuple(registry_cert_dirs(netloc, config_dir=config_dir))


def _seen(answer: object) -> Seen:
    if not isinstance(answer, Seen):
        raise TypeError("the flow expected a Seen after a Send")
    return answer


def token_answer(answer: object) -> str:
    """What an adapter sent back for a :class:`TokenJob`: the token (a ``TypeError`` otherwise)."""
    if not isinstance(answer, str):
        raise TypeError("the flow expected a token after a TokenJob")
    return answer


class FlowOwner:
    """What :class:`regcred.RegistryAuth` and :class:`regcred.RequestsAuth` share: one flow each."""

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        config_dir: str | os.PathLike[str] | None = None,
        insecure: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self._flow = TokenFlow(credentials, config_dir=config_dir, insecure=insecure, log=log)

    def __repr__(self) -> str:
        explicit = "credentials=<given>, " if self._flow.explicit else ""
        return f"{type(self).__name__}({explicit}insecure={self._flow.insecure})"

    def close(self) -> None:
        """Close the connections kept for token requests."""
        self._flow.close()
