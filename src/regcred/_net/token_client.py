"""The token client login and the plug-ins share: token requests, token answers, their errors.

A registry's Bearer challenge names a realm; :func:`token_request` is the
request docker sends there, :func:`parse_token` reads the answer and
:func:`token_error` words a refusal as docker does.  :func:`fetch` performs a
request as a sans-I/O generator, following same-origin redirects only.
:class:`Secrets` holds the secrets in play and is the one place that scrubs them
from text; :func:`safe_log` is a log made safe with it.  Used by
:mod:`regcred._net.auth` (login) and :mod:`regcred._net.flow` (the plug-ins).
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from regcred._net.http import Request, Response, origin, redact_url
from regcred._net.policy import CONTROL
from regcred._net.www_authenticate import Challenge, parse_headers
from regcred._redact import redact
from regcred.credentials import TOKEN_USERNAME
from regcred.errors import InsecureRedirectError, LoginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

__all__ = [
    "MAX_REDIRECTS",
    "REJECTED",
    "Secrets",
    "basic_authorization",
    "clean",
    "fetch",
    "parse_token",
    "safe_log",
    "token_error",
    "token_request",
]

MAX_REDIRECTS = 5
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")


class Secrets:
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


def clean(text: str, secrets: Secrets, limit: int = 300) -> str:
    """Server-supplied text made safe to print: no secrets, no control characters."""
    text = CONTROL.sub(" ", secrets.scrub(text)).strip()
    return text if len(text) <= limit else text[:limit] + "..."


#: What a registry or token server answers to credentials it refuses.
REJECTED = frozenset({401, 403})


def fetch(
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


def token_error(response: Response, secrets: Secrets) -> str:
    """docker's ``HandleErrorResponse`` wording for a failed token request."""
    if not 400 <= response.status < 500:
        return f"received unexpected HTTP status: {response.status} {response.reason}"
    for challenge in parse_headers(response.get_all("www-authenticate")):
        code = {"invalid_token": "unauthorized", "insufficient_scope": "denied"}.get(
            challenge.get("error") or ""
        )
        if challenge.scheme == "bearer" and code:
            default = "authentication required" if code == "unauthorized" else "access denied"
            return f"{code}: {clean(challenge.get('error_description') or default, secrets)}"
    code = {401: "unauthorized", 403: "denied", 429: "toomanyrequests"}.get(response.status)
    try:
        body = json.loads(response.body)
    except (ValueError, RecursionError):  # a hostile server can nest JSON 100,000 deep
        body = None
    if isinstance(body, dict):
        details = body.get("details")
        if isinstance(details, str) and details:
            return f"{code or 'unknown'}: {clean(details, secrets)}"
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            name = str(first.get("code") or code or "unknown").lower().replace("_", " ")
            return f"{clean(name, secrets, 40)}: {clean(str(first.get('message') or ''), secrets)}"
    if code == "unauthorized":
        return "unauthorized: authentication required"
    return f"received unexpected HTTP status: {response.status} {response.reason}"


def token_request(
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
    basic = (("Authorization", basic_authorization(username, secret)),) if username else ()
    return Request("GET", url.geturl(), basic, b"", verify)


def basic_authorization(username: str, secret: str) -> str:
    """The ``Authorization`` value for HTTP Basic (``username:secret``, base64)."""
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")


def parse_token(response: Response, secrets: Secrets) -> tuple[str, str | None, dict[str, object]]:
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


def safe_log(log: Callable[[str], None] | None, secrets: Secrets) -> Callable[[str], None]:
    def emit(line: str) -> None:
        if log is not None:
            log(CONTROL.sub(" ", secrets.scrub(line)))

    return emit
