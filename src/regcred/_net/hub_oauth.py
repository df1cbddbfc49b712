"""Docker Hub's web sign-in (the device flow) and its revoke, as docker 28.2.2 runs them.

Facts taken from docker/cli v28.2.2 (``internal/oauth/api/api.go``,
``internal/oauth/manager/{manager,util}.go``, ``cli/command/registry/login.go``):

* the tenant is ``https://login.docker.com``, the client ID
  ``L4v0dmlNBpYUjGGab0C2JtgTgXr1Qz4d``, the audience ``https://hub.docker.com``,
  the scopes ``openid offline_access``;
* ``POST {tenant}/oauth/device/code`` (form ``client_id``, ``audience``, ``scope``);
  the answer's ``verification_uri_complete`` is opened, and shown without its query;
* ``POST {tenant}/oauth/token`` (``grant_type=urn:ietf:params:oauth:grant-type:device_code``)
  is polled every ``interval`` seconds until ``expires_in``;
* the access token is stored under ``https://index.docker.io/v1/access-token`` and
  the refresh token, with ``..`` and the client ID appended, under
  ``…/refresh-token``, both with the username of the token's ``https://hub.docker.com`` claim;
* ``POST {audience}/v2/access-tokens/desktop-generate`` with the access token
  as Bearer answers ``201`` ``{"data": {"token": PAT}}``: that PAT and the username
  become the Hub credential;
* logout revokes the refresh token (``POST {tenant}/oauth/revoke``, form
  ``client_id``, ``token``) only when the stored value splits at ``..`` into
  exactly two parts (otherwise "the token wasn't stored by the CLI").

Where RFC 8628 says more than docker does, this follows the RFC: ``slow_down``
adds 5 seconds to the interval (§3.5; docker stops with an error), a missing
``interval`` means 5 seconds, ``expired_token`` and ``access_denied`` stop the
poll with their own messages.  The tenant and the API are the settings
``REGCRED_HUB_TENANT`` and ``REGCRED_HUB_API`` (docker's values by default);
each must be https, or http on a loopback address (the tests' fake).

No token, code or PAT is ever put in a message or a log line: the text a
server sends back is scrubbed of every secret in play.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode, urlsplit

from regcred._address import DOCKER_HUB, is_loopback_host
from regcred._net.http import Client, Request, Response, TransportError
from regcred._net.policy import CONTROL
from regcred._record import Record
from regcred._redact import redact
from regcred.errors import ConfigError, LoginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ACCESS_TOKEN_KEY",
    "AUDIENCE",
    "CLIENT_ID",
    "REFRESH_TOKEN_KEY",
    "DeviceCode",
    "DeviceFlowUnavailableError",
    "WebLogin",
    "api_url",
    "cli_refresh_token",
    "mint_pat",
    "revoke",
    "start",
    "tenant_url",
    "wait_for_tokens",
]

CLIENT_ID = "L4v0dmlNBpYUjGGab0C2JtgTgXr1Qz4d"
AUDIENCE = "https://hub.docker.com"
SCOPES = "openid offline_access"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ACCESS_TOKEN_KEY = DOCKER_HUB + "access-token"
REFRESH_TOKEN_KEY = DOCKER_HUB + "refresh-token"
#: the claim docker reads the username from
HUB_CLAIM = "https://hub.docker.com"
_FORM = (("Content-Type", "application/x-www-form-urlencoded"),)


class DeviceFlowUnavailableError(LoginError):
    """The tenant did not start a device flow (docker then falls back to the password prompt)."""


class DeviceCode(Record):
    """The tenant's answer to the device authorization request (RFC 8628 §3.2)."""

    __slots__ = ("device_code", "expires_in", "interval", "user_code", "verification_uri")
    _hidden = frozenset({"device_code"})
    device_code: str
    user_code: str
    verification_uri: str
    expires_in: float
    interval: float

    def __init__(
        self, device_code: str, user_code: str, verification_uri: str, expires_in: float, interval: float
    ) -> None:
        self._set(
            device_code=device_code,
            user_code=user_code,
            verification_uri=verification_uri,
            expires_in=expires_in,
            interval=interval,
        )

    @property
    def shown_uri(self) -> str:
        """The verification URL as docker prints it: without its query (the code is shown apart)."""
        return self.verification_uri.split("?")[0]


class WebLogin(Record):
    """What a finished web sign-in yields: the three entries docker stores (secrets hidden)."""

    __slots__ = ("access_token", "pat", "refresh_token", "username")
    _hidden = frozenset({"access_token", "pat", "refresh_token"})
    username: str
    pat: str
    access_token: str
    #: as docker stores it: ``<refresh token>..<client ID>`` ("" when the tenant sent none)
    refresh_token: str

    def __init__(self, username: str, pat: str, access_token: str, refresh_token: str) -> None:
        self._set(username=username, pat=pat, access_token=access_token, refresh_token=refresh_token)


def _base_url(name: str, value: str) -> str:
    """``value`` without a trailing slash, if credentials may go there: https, or http on loopback."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        host, parts = "", None
    ok = parts is not None and host and not parts.username and not parts.query and not parts.fragment
    if (
        ok
        and parts is not None
        and (parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host)))
    ):
        return value.rstrip("/")
    raise ConfigError(f"{name} must be an https:// URL (or http:// on a loopback address), without a query")


def tenant_url() -> str:
    """``REGCRED_HUB_TENANT``: the OAuth tenant (docker: ``https://login.docker.com``)."""
    from regcred._settings import hub_tenant

    return _base_url("REGCRED_HUB_TENANT", hub_tenant())


def api_url() -> str:
    """``REGCRED_HUB_API``: Hub's API (docker: the audience, ``https://hub.docker.com``)."""
    from regcred._settings import hub_api

    return _base_url("REGCRED_HUB_API", hub_api())


def _scrub(text: str, secrets: list[str], limit: int = 200) -> str:
    text = CONTROL.sub(" ", redact(text, [s for s in secrets if len(s) >= 4])).strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _json(response: Response) -> dict[str, object]:
    try:
        body = json.loads(response.body)
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _post_form(client: Client, url: str, form: dict[str, str]) -> Response:
    return client.send(Request("POST", url, _FORM, urlencode(form).encode("ascii")))


def _oauth_error(response: Response, secrets: list[str]) -> str:
    """The tenant's ``error_description`` (docker's ``tryDecodeOAuthError``), else its status."""
    body = _json(response)
    description = body.get("error_description")
    if isinstance(description, str) and description.strip():
        return _scrub(description, secrets)
    return f"unexpected response from tenant: {response.status} {response.reason}"


def start(client: Client, tenant: str) -> DeviceCode:
    """Ask the tenant for a device code; :class:`DeviceFlowUnavailableError` if it gives none."""
    form = {"client_id": CLIENT_ID, "audience": AUDIENCE, "scope": SCOPES}
    try:
        response = _post_form(client, f"{tenant}/oauth/device/code", form)
    except TransportError as exc:
        raise DeviceFlowUnavailableError(f"could not reach {tenant}: {exc}") from None
    if response.status != 200:
        raise DeviceFlowUnavailableError(f"{tenant}: {_oauth_error(response, [])}")
    body = _json(response)
    device_code, user_code = body.get("device_code"), body.get("user_code")
    uri = body.get("verification_uri_complete") or body.get("verification_uri")
    if not (isinstance(device_code, str) and device_code and isinstance(user_code, str) and user_code):
        raise DeviceFlowUnavailableError(f"{tenant} sent no device code")
    if not isinstance(uri, str) or urlsplit(uri).scheme not in {"https", "http"}:
        raise DeviceFlowUnavailableError(f"{tenant} sent no verification URL")
    expires_in, interval = body.get("expires_in"), body.get("interval")
    return DeviceCode(
        device_code,
        CONTROL.sub("?", user_code)[:64],
        CONTROL.sub("?", uri)[:2000],
        float(expires_in) if _positive(expires_in) else 900.0,  # type: ignore[arg-type]
        float(interval) if _positive(interval) else 5.0,  # type: ignore[arg-type]
    )


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 86400


def wait_for_tokens(
    client: Client,
    tenant: str,
    code: DeviceCode,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] | None = None,
) -> tuple[str, str]:
    """Poll the token endpoint until the user has signed in: ``(access token, refresh token)``.

    Honours ``interval`` and ``slow_down`` (+5 s), stops on ``expired_token``,
    ``access_denied`` and when ``expires_in`` has passed.  Ctrl-C (KeyboardInterrupt)
    is left to the caller.
    """
    interval = code.interval
    deadline = clock() + code.expires_in
    secrets = [code.device_code]
    form = {"client_id": CLIENT_ID, "grant_type": DEVICE_GRANT, "device_code": code.device_code}
    expired = LoginError("the device code expired before the sign-in was completed: run the login again")
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            raise expired
        sleep(min(interval, remaining))
        if clock() >= deadline:
            raise expired
        try:
            response = _post_form(client, f"{tenant}/oauth/token", form)
        except TransportError as exc:
            raise LoginError(f"failed waiting for authentication: {exc}") from None
        body = _json(response)
        error = body.get("error")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if response.status == 200 and error is None and isinstance(access, str) and access:
            return access, refresh if isinstance(refresh, str) else ""
        if log:
            log(f"POST {tenant}/oauth/token -> {response.status} {error if isinstance(error, str) else ''}")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5.0  # RFC 8628 §3.5: for this and every later request
            continue
        if error == "expired_token":
            raise expired
        if error == "access_denied":
            raise LoginError("the sign-in was denied in the browser (access_denied): nothing was stored")
        raise LoginError(f"failed waiting for authentication: {_oauth_error(response, secrets)}")


def username_of(access_token: str) -> str:
    """The Hub username in the access token's ``https://hub.docker.com`` claim (docker's ``GetClaims``)."""
    from regcred._jwt import claims

    found = claims(access_token)
    domain = found.get(HUB_CLAIM) if found else None
    username = domain.get("username") if isinstance(domain, dict) else None
    if not isinstance(username, str) or not username or CONTROL.search(username) or ":" in username:
        raise LoginError("failed to parse token claims: the access token names no Hub username")
    return username


def mint_pat(client: Client, api: str, access_token: str) -> str:
    """``POST {api}/v2/access-tokens/desktop-generate``: the PAT docker stores as the Hub password."""
    headers = (("Authorization", f"Bearer {access_token}"), ("Content-Type", "application/json"))
    url = f"{api}/v2/access-tokens/desktop-generate"
    try:
        response = client.send(Request("POST", url, headers, b""))
    except TransportError as exc:
        raise LoginError(
            _scrub(f"could not create the access token at {api}: {exc}", [access_token])
        ) from None
    if response.status != 201:
        raise LoginError(f"unexpected response from Hub: {response.status} {response.reason}")
    data = _json(response).get("data")
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token or CONTROL.search(token):
        raise LoginError("Hub's answer held no access token")
    return token


def cli_refresh_token(stored: str) -> str | None:
    """The refresh token in a stored ``<token>..<client ID>``, or None when the CLI did not store it.

    docker's rule exactly: the value must split at ``..`` into two parts.
    """
    parts = stored.split("..")
    return parts[0] if len(parts) == 2 else None


def revoke(stored: str) -> None:
    """Revoke a refresh token stored in docker's form at the tenant; LoginError if that failed."""
    token = cli_refresh_token(stored)
    if not token:
        return
    tenant = tenant_url()
    client = Client()
    try:
        response = _post_form(client, f"{tenant}/oauth/revoke", {"client_id": CLIENT_ID, "token": token})
    except TransportError as exc:
        raise LoginError(_scrub(f"could not reach {tenant}: {exc}", [token, stored])) from None
    finally:
        client.close()
    if response.status != 200:
        raise LoginError(f"{tenant}: {_oauth_error(response, [token, stored])}")


def refresh_for_storage(refresh: str) -> str:
    """The refresh token as docker stores it: ``<token>..<client ID>``."""
    return f"{refresh}..{CLIENT_ID}" if refresh else ""
