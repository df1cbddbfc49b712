"""``regcred status``: every stored credential, what kind it is, when it expires, and whether it works.

For each credential in docker's stores (config.json and the helpers it
names) and in podman's (its auth files and the helpers they or
registries.conf name: :func:`regcred._lookup.podman_rows`), the same rows as
``list --sources``, it reports the store, the username, the kind and,
where a JWT (or an ECR token) states one, the expiry.  The secret is read
through the same store lookup as ``get`` (a podman row: from exactly its
file or helper) and used only to tell the
kind and to read ``exp``: it never appears in the output.

``check=True`` verifies each registry credential with the very call a
``login`` with stored credentials makes (:func:`regcred._write.check_login`),
in parallel (at most ``_WORKERS`` at once), each bounded by ``timeout``
seconds.  A check ends as

* ``valid``: the registry accepted the credential (or asked for none: then the detail says so);
* ``rejected``: the registry (or its token server) refused it;
* ``expired``: refused, and its JWT says it has expired, or (unchecked) it has expired;
* ``unreachable``: no answer (connection, TLS, DNS, timeout).

Docker Hub's web sign-in entries (``…/access-token``, ``…/refresh-token``)
are not registry credentials: they are listed with their expiry and never
checked, and do not count as failures (docker never refreshes the access
token, so it is expired hours after every sign-in).  A store that cannot be
read gives ``unreadable``.  Nothing is written, anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time

from regcred._address import HUB_TOKEN_KEYS
from regcred._record import Record
from regcred.errors import CredentialStoreError, LoginError, RegcredError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from regcred.credentials import Credentials

__all__ = ["KINDS", "STATES", "Status", "status"]

PASSWORD = "password"
PAT = "personal access token"
IDENTITY_TOKEN = "identity token"
HUB_ACCESS = "Hub access token"
HUB_REFRESH = "Hub refresh token"
TOKEN = "token"
KINDS = (PASSWORD, PAT, IDENTITY_TOKEN, HUB_ACCESS, HUB_REFRESH, TOKEN)
STATES = ("valid", "rejected", "expired", "unreachable", "unreadable", "unchecked")
#: prefixes of personal access tokens that say what they are (Docker Hub, GitHub, GitLab)
_PAT_PREFIXES = ("dckr_pat_", "ghp_", "github_pat_", "glpat-")
_WORKERS = 8


class Status(Record):
    """One stored credential's status (never its secret)."""

    __slots__ = ("detail", "expires", "key", "kind", "state", "store", "username")
    key: str
    username: str
    store: str
    kind: str
    #: seconds since the epoch, or None where nothing states an expiry
    expires: float | None
    state: str
    detail: str

    def __init__(
        self,
        key: str,
        username: str,
        store: str,
        kind: str,
        expires: float | None,
        state: str,
        detail: str = "",
    ) -> None:
        self._set(
            key=key, username=username, store=store, kind=kind, expires=expires, state=state, detail=detail
        )

    @property
    def failed(self) -> bool:
        """Whether this row makes ``status`` exit 1."""
        return self.state in {"rejected", "expired", "unreadable"}

    def replace(self, state: str, detail: str = "") -> Status:
        return Status(self.key, self.username, self.store, self.kind, self.expires, state, detail)


def kind_of(key: str, creds: Credentials) -> str:
    """password, personal access token (where its prefix says so), identity token, Hub tokens, token (JWT)."""
    from regcred._jwt import claims

    if key in HUB_TOKEN_KEYS:
        return HUB_ACCESS if key.endswith("access-token") else HUB_REFRESH
    if creds.is_identity_token or (creds.identity_token and not creds.secret):
        return IDENTITY_TOKEN
    if creds.secret.startswith(_PAT_PREFIXES):
        return PAT
    if claims(creds.secret) is not None or _ecr_expiry(creds.secret) is not None:
        return TOKEN
    return PASSWORD


def expiry_of(creds: Credentials) -> float | None:
    """When the credential says it expires: a JWT's ``exp``, or an ECR token's ``expiration``."""
    from regcred._jwt import expiry

    for secret in (creds.secret, creds.identity_token):
        if secret:
            found = expiry(secret)
            if found is None:
                found = _ecr_expiry(secret)
            if found is not None:
                return found
    return None


def _ecr_expiry(secret: str) -> float | None:
    """ECR's password is base64 of a JSON object with an ``expiration`` (seconds since the epoch)."""
    if len(secret) < 64 or not secret.startswith("eyJ"):
        return None
    try:
        doc = json.loads(base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True))
    except (binascii.Error, ValueError, RecursionError):
        return None
    value = doc.get("expiration") if isinstance(doc, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def status(
    servers: Sequence[str] = (),
    *,
    check: bool = False,
    timeout: float = 20.0,
    config_dir: str | os.PathLike[str] | None = None,
) -> list[Status]:
    """The status of every stored credential (or of those for ``servers``), sorted by key.

    Raises :class:`~regcred.errors.CredentialsNotFoundError` naming a server
    in ``servers`` that has nothing stored.
    """
    from regcred import _config
    from regcred._address import normalize
    from regcred._lookup import podman_row_credentials, podman_rows
    from regcred.errors import CredentialsNotFoundError
    from regcred.stores._router import Router
    from regcred.stores.file import same_registry

    path = _config.config_path(config_dir)
    config = _config.load(path)
    router = Router(config)
    rows: list[tuple[str, str, str]] = []
    for helper, held in router.list_by_store():
        store = f"docker-credential-{helper}" if helper else str(path)
        rows += [(key, user, store) for key, user in held.items()]
    # podman's auth files and helpers: the rows 'list' shows (a file that is config.json counted once)
    docker_file = os.path.realpath(path)
    podman = [
        (key, user, source.removeprefix("podman:"))
        for key, user, source in podman_rows()
        if os.path.realpath(source.removeprefix("podman:")) != docker_file
    ]
    rows += podman
    wanted = [normalize(s) for s in servers]
    for server in wanted:
        if not any(same_registry(key, server) for key, _, _ in rows):
            raise CredentialsNotFoundError(f"not logged in to {server}")
    if wanted:
        rows = [r for r in rows if any(same_registry(r[0], s) for s in wanted)]
    found: list[tuple[Status, Credentials | None]] = []
    now = time.time()
    from_podman = set(podman)
    for key, user, store in sorted(rows):
        try:
            creds = (
                podman_row_credentials(key, f"podman:{store}")
                if (key, user, store) in from_podman
                else router.get(key)
            )
        except CredentialStoreError as exc:
            found.append((Status(key, user, store, "", None, "unreadable", str(exc)), None))
            continue
        if creds is None:
            found.append(
                (
                    Status(key, user, store, "", None, "unreadable", "the store lists it but has no secret"),
                    None,
                )
            )
            continue
        expires = expiry_of(creds)
        state = "expired" if expires is not None and expires <= now else "unchecked"
        row = Status(key, creds.username or user, store, kind_of(key, creds), expires, state)
        if row.kind in {HUB_ACCESS, HUB_REFRESH} and state == "expired":
            row = row.replace("unchecked", "expired (docker does not refresh it)")
        found.append((row, creds))
    if not check:
        return [row for row, _ in found]
    return _check_all(found, timeout, config_dir)


def _check_all(
    found: list[tuple[Status, Credentials | None]], timeout: float, config_dir: str | os.PathLike[str] | None
) -> list[Status]:
    """Check every registry credential in parallel, each within ``timeout`` seconds."""
    results: list[Status] = [row for row, _ in found]
    todo = [
        i
        for i, (row, creds) in enumerate(found)
        if creds is not None and row.kind not in {HUB_ACCESS, HUB_REFRESH}
    ]
    started: dict[int, float] = {}
    done: dict[int, Status] = {}
    lock = threading.Lock()
    queue = list(reversed(todo))

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
                started[i] = time.monotonic()
            row, creds = found[i]
            outcome = _check_one(row, creds, config_dir) if creds is not None else row
            with lock:
                done.setdefault(i, outcome)  # a check that timed out keeps its "unreachable"

    for _ in range(min(_WORKERS, len(todo))):
        threading.Thread(target=worker, daemon=True).start()  # a hung check cannot hold the exit
    while True:
        with lock:
            now = time.monotonic()
            for i, at in started.items():
                if i not in done and now - at > timeout:
                    done[i] = found[i][0].replace("unreachable", f"no answer within {timeout:g}s")
                    if queue:  # its worker is stuck: another one takes the rest of the queue
                        threading.Thread(target=worker, daemon=True).start()
            if len(done) == len(todo):
                final = dict(done)
                break
        time.sleep(0.01)
    for i, row in final.items():
        results[i] = row
    return results


def _check_one(row: Status, creds: Credentials, config_dir: str | os.PathLike[str] | None) -> Status:
    """``login``'s own check of stored credentials (:func:`regcred._write.check_login`)."""
    from regcred._net.http import TransportError
    from regcred._write import check_login

    try:
        outcome = check_login(row.key, username=creds.username, secret=creds.secret, config_dir=config_dir)
    except TransportError as exc:
        return row.replace("unreachable", str(exc))
    except LoginError as exc:
        if row.expires is not None and row.expires <= time.time():
            return row.replace("expired", str(exc))
        return row.replace("rejected", str(exc))
    except RegcredError as exc:
        return row.replace("unreachable", str(exc))
    if not outcome.verified:
        return row.replace("valid", "the registry asked for no credentials")
    return row.replace("valid")
