"""Credentials in AWS Secrets Manager: one secret per registry, shared by a fleet.

Layout::

    <prefix><encoded registry key>          e.g. regcred/ghcr.io
      SecretString  {"Username": "...", "Secret": "..."}
      Tags          regcred:username = <encoded username>

* **Names.**  A secret name allows ``[A-Za-z0-9/_+=.@-]``; a key made only of
  those characters is used as it is (``regcred/ghcr.io``,
  ``regcred/10.0.0.5``), so the console shows which registry a secret is
  for.  Every other key (``reg.example:5000``, ``https://index.docker.io/v1/``),
  and a key that would begin with ``=`` or end in ``-`` plus six characters
  (the shape of the random suffix AWS appends to ARNs, which it may take a
  name for), is written as ``=`` followed by its standard base64 (which has
  no ``-``): ``regcred/=cmVnLmV4YW1wbGU6NTAwMA==``.  A plain key never starts
  with ``=``, so decoding is unambiguous and ``list`` gives back the exact key.
* **Usernames** are in the ``regcred:username`` tag, with the same ``=``+base64
  escape for anything outside the characters AWS allows in tag values (the
  identity-token username ``<token>`` is one).  ``list`` is one paginated
  ``ListSecrets`` with a name-prefix filter: it reads no secret value, so a
  role that may only list (``secretsmanager:ListSecrets``) can run it, and
  it causes no ``GetSecretValue`` (no KMS decrypt, no CloudTrail read events).
  ``get`` takes the username from the value, which is authoritative.
* **store** creates the secret, or puts a new version of it (restoring it
  first when it is scheduled for deletion) and updates the tag if the username
  changed.  **erase** deletes it with a recovery window of
  ``REGCRED_AWS_RECOVERY_DAYS`` days (7 to 30, default 7), or at once without
  recovery when that is ``0``; a secret scheduled for deletion reads as absent.

Settings: ``REGCRED_AWS_PREFIX`` (default ``regcred/``), the recovery window
above, and the standard AWS ones, read by boto3: ``AWS_PROFILE``,
``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (botocore reads only the latter, so
``AWS_REGION`` is passed on explicitly), ``AWS_ENDPOINT_URL`` (or
``AWS_ENDPOINT_URL_SECRETS_MANAGER``), the credential chain, ``AWS_MAX_ATTEMPTS``.

Bounded by ``REGCRED_HELPER_TIMEOUT``, the one setting that also caps every
helper regcred runs: botocore's attempts and their connect and read
timeouts are planned so that all of them fit in three quarters of it (at
most it less 2 s), the rest being left for the helper's start-up.  A frozen
endpoint therefore gets this helper's own one-line error, never regcred's
kill (:func:`_plan`).  ``AWS_MAX_ATTEMPTS`` is honoured while each attempt
still gets a second; more attempts than fit are dropped.

Errors: missing boto3, no region or no AWS credentials are
:class:`~regcred.errors.StoreUnavailableError` (the helper's ``get`` then
answers "not found" with a hint, as every backend that cannot run here does);
an unreachable endpoint, a refusal (access denied, bad token) and throttling
that outlasts botocore's retries are :class:`~regcred.errors.CredentialStoreError`,
one line, with the AWS error code and never a secret.  Nothing ever falls back
to another store.  boto3 (the ``aws`` extra: ``pip install '.[aws]'`` from a
checkout, or :func:`_install_hint`'s command) is imported only inside this
store's methods.
"""

from __future__ import annotations

import binascii
import json
import re
import threading

from regcred import _settings
from regcred._gojson import encode_utf8
from regcred.credentials import Credentials, CredentialStore, StoreStatus
from regcred.errors import ConfigError, CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    _T = TypeVar("_T")

__all__ = [
    "DEFAULT_PREFIX",
    "DEFAULT_RECOVERY_DAYS",
    "USERNAME_TAG",
    "AwsSecretsManagerStore",
    "decode_key",
    "decode_username",
    "encode_key",
    "encode_username",
]

#: The settings' defaults, as regcred._settings declares them.
DEFAULT_PREFIX = str(_settings.SETTINGS["REGCRED_AWS_PREFIX"].default)
DEFAULT_RECOVERY_DAYS = int(str(_settings.SETTINGS["REGCRED_AWS_RECOVERY_DAYS"].default))
#: The tag that holds the username, so that ``list`` reads no secret value.
USERNAME_TAG = "regcred:username"

_NAME_CHARS = re.compile(r"[A-Za-z0-9/_+=.@-]+")
_TAG_CHARS = re.compile(r"[A-Za-z0-9 _.:/=+@-]*")
_NAME_MAX = 512
_TAG_MAX = 256
_ESCAPE = "="
_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
#: Works however regcred was installed (a venv, pipx, a wheel), with no index entry for regcred.
_BOTO3 = "'boto3>=1.28'"  # as the aws extra in pyproject.toml
_CLIENT_LOCK = threading.Lock()

# AWS error codes, as botocore's ClientError reports them.
_NOT_FOUND = "ResourceNotFoundException"
_EXISTS = "ResourceExistsException"
_INVALID_REQUEST = "InvalidRequestException"
_REFUSED = {
    "AccessDeniedException": "access denied",
    "AccessDenied": "access denied",
    "UnrecognizedClientException": "the AWS access key is not valid",
    "InvalidClientTokenId": "the AWS access key is not valid",
    "InvalidSignatureException": "the AWS secret key does not match the access key",
    "SignatureDoesNotMatch": "the AWS secret key does not match the access key",
    "ExpiredTokenException": "the AWS session token has expired",
    "ExpiredToken": "the AWS session token has expired",
}
_THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}


def _b64(text: str) -> str:
    return binascii.b2a_base64(encode_utf8(text), newline=False).decode("ascii")


def _unb64(text: str) -> str | None:
    """The text standard base64 ``text`` encodes, or None (only the exact encoding counts)."""
    if not _B64.fullmatch(text):
        return None
    try:
        decoded = binascii.a2b_base64(text.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError):
        return None
    return decoded if _b64(decoded) == text else None


def encode_key(key: str) -> str:
    """The part of the secret name after the prefix for registry ``key`` (see the module docstring)."""
    plain = _NAME_CHARS.fullmatch(key) and not key.startswith(_ESCAPE) and key[-7:-6] != "-"
    return key if plain else _ESCAPE + _b64(key)


def decode_key(name: str) -> str | None:
    """Inverse of :func:`encode_key`; None for a name regcred did not write."""
    if not name.startswith(_ESCAPE):
        return name or None
    return _unb64(name[1:])


def encode_username(username: str) -> str:
    """The ``regcred:username`` tag value for ``username``."""
    if _TAG_CHARS.fullmatch(username) and not username.startswith(_ESCAPE):
        return username
    return _ESCAPE + _b64(username)


def decode_username(value: str) -> str:
    """Inverse of :func:`encode_username` (a value that does not decode is shown as it is)."""
    if value.startswith(_ESCAPE):
        decoded = _unb64(value[1:])
        if decoded is not None:
            return decoded
    return value


def _prefix_setting() -> str:
    return _store_setting(_settings.aws_prefix)


def _recovery_setting() -> int:
    return _store_setting(_settings.aws_recovery_days)


def _store_setting(read: Callable[[], _T]) -> _T:
    """A setting read by its one accessor; a bad value makes the store unavailable (get: not found)."""
    try:
        return read()
    except ConfigError as exc:  # the setting's own one-line error (regcred._settings)
        raise StoreUnavailableError(str(exc)) from None


class AwsSecretsManagerStore(CredentialStore):
    """Registry credentials as secrets in AWS Secrets Manager (see the module docstring)."""

    name = "aws"

    def __init__(self, *, prefix: str | None = None, recovery_days: int | None = None) -> None:
        self._prefix = prefix
        self._recovery_days = recovery_days
        self._client: Any = None

    # -- settings -------------------------------------------------------------

    @property
    def prefix(self) -> str:
        if self._prefix is None:
            self._prefix = _prefix_setting()
        return self._prefix

    @property
    def recovery_days(self) -> int:
        if self._recovery_days is None:
            self._recovery_days = _recovery_setting()
        return self._recovery_days

    def secret_name(self, key: str) -> str:
        """The secret that holds ``key``'s credentials."""
        name = self.prefix + encode_key(key)
        if len(name) > _NAME_MAX:
            raise CredentialStoreError(f"registry key too long for an AWS secret name ({len(name)} > 512)")
        return name

    # -- availability ---------------------------------------------------------------

    @classmethod
    def check(cls) -> None:
        """Raise StoreUnavailableError without boto3 or with invalid settings (no network)."""
        from importlib.util import find_spec

        if find_spec("boto3") is None:
            raise StoreUnavailableError(_install_hint())
        _prefix_setting()
        _recovery_setting()

    def status(self) -> StoreStatus:
        """One ``ListSecrets`` of at most one entry: reachability and permission, never a value."""
        try:
            self.check()
            client = self._get_client()
            self._call("ListSecrets", client.list_secrets, MaxResults=1, Filters=self._filters())
        except StoreUnavailableError as exc:
            return StoreStatus("unavailable", str(exc))
        except CredentialStoreError as exc:
            return StoreStatus("error", str(exc))
        region = client.meta.region_name
        return StoreStatus("ok", f"secrets named {self.prefix}… in {region} ({client.meta.endpoint_url})")

    # -- the store --------------------------------------------------------------

    def get(self, server: str) -> Credentials:
        client = self._get_client()
        try:
            reply = self._call("GetSecretValue", client.get_secret_value, SecretId=self.secret_name(server))
        except _GoneError:
            raise CredentialsNotFoundError(f"no credentials for {server} in AWS Secrets Manager") from None
        try:
            value = json.loads(reply["SecretString"])
            username, secret = value["Username"], value["Secret"]
        except (KeyError, TypeError, ValueError):
            username = secret = None
        if not isinstance(username, str) or not isinstance(secret, str):
            raise CredentialStoreError(
                f"the AWS secret {self.secret_name(server)} does not hold regcred's "
                '{"Username", "Secret"} JSON'
            )
        return Credentials(server, username, secret)

    def store(self, creds: Credentials) -> None:
        client = self._get_client()
        name = self.secret_name(creds.server)
        value = json.dumps({"Username": creds.username, "Secret": creds.secret})
        tag = encode_username(creds.username)
        if len(tag) > _TAG_MAX:
            raise CredentialStoreError("username too long for an AWS tag value (256 characters at most)")
        try:
            described = self._call("DescribeSecret", client.describe_secret, SecretId=name)
        except _GoneError:
            described = None
        if described is None:
            try:
                self._call(
                    "CreateSecret",
                    client.create_secret,
                    Name=name,
                    SecretString=value,
                    Description=f"Registry credentials for {creds.server} (regcred)",
                    Tags=[{"Key": USERNAME_TAG, "Value": tag}],
                )
            except _ExistsError:
                pass  # created meanwhile by another process: put a new version below
            else:
                return
            described = {}
        if described.get("DeletedDate"):
            self._call("RestoreSecret", client.restore_secret, SecretId=name)
        self._call("PutSecretValue", client.put_secret_value, SecretId=name, SecretString=value)
        tags = {t.get("Key"): t.get("Value") for t in described.get("Tags") or ()}
        if tags.get(USERNAME_TAG) != tag:
            self._call(
                "TagResource", client.tag_resource, SecretId=name, Tags=[{"Key": USERNAME_TAG, "Value": tag}]
            )

    def erase(self, server: str) -> None:
        client = self._get_client()
        days = self.recovery_days
        when: dict[str, Any] = (
            {"ForceDeleteWithoutRecovery": True} if days == 0 else {"RecoveryWindowInDays": days}
        )
        try:
            self._call("DeleteSecret", client.delete_secret, SecretId=self.secret_name(server), **when)
        except _GoneError:
            pass  # never stored, or already scheduled for deletion

    def list(self) -> dict[str, str]:
        client = self._get_client()
        result: dict[str, str] = {}
        token = ""
        while True:
            page = self._call(
                "ListSecrets",
                client.list_secrets,
                Filters=self._filters(),
                MaxResults=100,
                **({"NextToken": token} if token else {}),
            )
            for entry in page.get("SecretList", ()):
                name = entry.get("Name", "")
                # The name filter is a prefix match that AWS documents as case-insensitive.
                if not name.startswith(self.prefix) or entry.get("DeletedDate"):
                    continue
                key = decode_key(name[len(self.prefix) :])
                if key is None:
                    continue
                tags = {t.get("Key"): t.get("Value", "") for t in entry.get("Tags") or ()}
                result[key] = decode_username(tags.get(USERNAME_TAG, ""))
            token = page.get("NextToken") or ""
            if not token:
                return result

    # -- boto3 ------------------------------------------------------------------------

    def _filters(self) -> Any:
        return _name_filter(self.prefix)

    def _get_client(self) -> Any:
        # A bad setting fails every action, before any request.
        _ = self.prefix, self.recovery_days
        with _CLIENT_LOCK:  # boto3 creates clients thread-unsafely; calls on one client are safe
            if self._client is None:
                self._client = _make_client()
            return self._client

    def _call(self, operation: str, method: Any, **kwargs: Any) -> Any:
        """``method(**kwargs)`` with botocore's errors turned into one-line regcred errors."""
        from botocore import exceptions as bce

        try:
            return method(**kwargs)
        except bce.ClientError as exc:
            raise _translate(operation, exc) from None
        except (bce.NoCredentialsError, bce.PartialCredentialsError):
            raise StoreUnavailableError(
                "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or run with an instance or pod role"
            ) from None
        except (bce.ConnectionError, bce.HTTPClientError) as exc:
            meta = getattr(getattr(method, "__self__", None), "meta", None)
            where = getattr(meta, "endpoint_url", "AWS Secrets Manager")
            if isinstance(exc, (bce.ReadTimeoutError, bce.ConnectTimeoutError)):
                config = getattr(meta, "config", None)
                attempts = (getattr(config, "retries", None) or {}).get("total_max_attempts", 1)
                raise CredentialStoreError(
                    f"AWS Secrets Manager at {where} did not answer ({attempts} attempts within"
                    f" {_budget(_helper_timeout()):g} s, bounded by REGCRED_HELPER_TIMEOUT): check the"
                    " network, AWS_REGION and AWS_ENDPOINT_URL"
                ) from None
            raise CredentialStoreError(
                f"cannot reach AWS Secrets Manager at {where}: check the network, "
                "AWS_REGION and AWS_ENDPOINT_URL"
            ) from None
        except bce.BotoCoreError as exc:
            raise CredentialStoreError(
                f"AWS Secrets Manager {operation} failed: {type(exc).__name__}"
            ) from None


_DEFAULT_ATTEMPTS = 3  # botocore's standard mode
_MIN_ATTEMPT = 1.0  # seconds an attempt gets at least, or fewer attempts are made


def _budget(cap: float) -> float:
    """Seconds all of one call's attempts may take within a helper cap of ``cap`` s."""
    return max(0.5, min(0.75 * cap, cap - 2.0))


def _plan(budget: float, attempts: int) -> tuple[int, float, float]:
    """(attempts, connect timeout, read timeout) whose worst case on a frozen endpoint fits ``budget``.

    The worst case is every attempt waiting its full connect and read
    timeouts, plus botocore's backoff between attempts (jittered, at most
    50 ms * 2^i for errors that are not throttling: a frozen endpoint never
    answers, so it never throttles).
    """
    attempts = max(1, attempts)
    while True:
        backoff = sum(0.05 * 2**i for i in range(attempts - 1))
        per = (budget - backoff) / attempts
        if per >= _MIN_ATTEMPT or attempts == 1:
            break
        attempts -= 1
    per = max(per, 0.1)
    connect = min(5.0, per / 4)
    return attempts, _down(connect), _down(min(20.0, per - connect))


def _down(seconds: float) -> float:
    """``seconds`` rounded down to the millisecond (a plan that fits stays one that fits)."""
    return int(seconds * 1000) / 1000


def _name_filter(prefix: str) -> list[dict[str, Any]]:
    return [{"Key": "name", "Values": [prefix]}]


def _make_client() -> Any:
    """A Secrets Manager client from the standard AWS settings (see the module docstring)."""
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, NoRegionError, ProfileNotFound
    except ImportError:
        raise StoreUnavailableError(_install_hint()) from None
    from botocore.session import get_session

    try:
        core = get_session()
        wanted = core.get_config_variable("max_attempts") or _DEFAULT_ATTEMPTS
        attempts, connect, read = _plan(_budget(_helper_timeout()), int(wanted))
        config = Config(
            connect_timeout=connect,
            read_timeout=read,
            retries={"mode": "standard", "total_max_attempts": attempts},
            user_agent_extra="regcred",
        )
        session = boto3.session.Session(botocore_session=core, region_name=_settings.aws_region())
        return session.client("secretsmanager", config=config)
    except NoRegionError:
        raise StoreUnavailableError(
            "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in the AWS profile)"
        ) from None
    except ProfileNotFound as exc:
        raise StoreUnavailableError(f"AWS profile not found: {exc.kwargs.get('profile')}") from None
    except (BotoCoreError, ValueError) as exc:
        raise StoreUnavailableError(f"cannot set up the AWS client: {type(exc).__name__}") from None


def _helper_timeout() -> float:
    return _settings.helper_timeout()


class _GoneError(CredentialsNotFoundError):
    """The secret does not exist, or is scheduled for deletion."""


class _ExistsError(CredentialStoreError):
    """CreateSecret found the name taken."""


def _translate(operation: str, exc: Any) -> CredentialStoreError:
    """A regcred error for a botocore ``ClientError`` (its code, never the request)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", ""))
    if code == _NOT_FOUND:
        return _GoneError("not found")
    if code == _INVALID_REQUEST and "delet" in message.lower():
        return _GoneError("scheduled for deletion")
    if code == _EXISTS:
        return _ExistsError("exists")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _REFUSED or (status == 403 and not code.isalpha()):
        # A 403 whose body botocore could not read (a proxy, or moto's XML) is a refusal too.
        reason = _REFUSED.get(code, "access denied")
        return CredentialStoreError(f"AWS Secrets Manager refused {operation}: {reason} ({code})")
    if code in _THROTTLED or status == 429:
        return CredentialStoreError(
            f"AWS Secrets Manager is throttling {operation} ({code}): try again later, "
            "or raise AWS_MAX_ATTEMPTS"
        )
    return CredentialStoreError(f"AWS Secrets Manager {operation} failed: {code or 'unknown error'}")


def _install_hint() -> str:
    """How to install boto3 into the environment regcred runs in (one line)."""
    import shlex
    import sys

    python = shlex.quote(sys.executable)
    return f"boto3 is not installed: {python} -m pip install {_BOTO3} (with pipx: pipx inject regcred boto3)"
