"""``login()`` and ``logout()``: config + registry verification + credential store.

Where a credential goes is the router's decision
(:meth:`regcred.stores._router.Router.where_new`): the helper config.json
names, else (in a config that holds nothing yet) the best native store that
works here, recorded as ``credsStore``, else the file with a one-time
"stored unencrypted" warning.

A helper that fails to store is an error: regcred never falls back to
plaintext.  The helper is written first and config.json second, so a
failure leaves config.json untouched.
"""

from __future__ import annotations

import os

from regcred import _config, _settings
from regcred._address import DOCKER_HUB, HUB_TOKEN_KEYS, login_key, logout_aliases, registry_of, stored_host
from regcred._lookup import podman_auth_files
from regcred._record import Record
from regcred.credentials import TOKEN_USERNAME, Credentials
from regcred.errors import (
    ConfigError,
    CredentialsNotFoundError,
    CredentialStoreError,
    LoginError,
    RegcredError,
    UsageError,
)
from regcred.stores._router import Router, StoreChoice
from regcred.stores.file import same_registry

FILE = "file"  # the store name for config.json itself

TYPE_CHECKING = False  # typing and dataclasses cost every login start-up time
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from regcred._net.auth import Verification
    from regcred._net.options import LoginOptions

__all__ = [
    "LoginResult",
    "LogoutResult",
    "check_login",
    "erase_credentials",
    "login",
    "logout",
    "select_store",
    "store_credentials",
    "store_web_login",
    "stored_credentials",
]


class LoginResult(Record):
    """What :func:`login` (or :func:`store_credentials`) did; never holds a secret.

    ``store`` describes where the credential went; ``plaintext`` is True when
    that is config.json itself (base64, not encrypted); ``verified`` is False
    when the registry asked for no credentials (or ``verify=False``).
    """

    __slots__ = (
        "endpoint",
        "key",
        "notes",
        "plaintext",
        "store",
        "used_identity_token",
        "username",
        "verified",
    )
    key: str
    username: str
    store: str
    verified: bool
    plaintext: bool
    used_identity_token: bool
    endpoint: str
    #: one line each about what login found in config.json and did about it (for stderr)
    notes: tuple[str, ...]

    def __init__(
        self,
        key: str,
        username: str,
        store: str,
        verified: bool,
        plaintext: bool,
        used_identity_token: bool = False,
        endpoint: str = "",
        notes: tuple[str, ...] = (),
    ) -> None:
        self._set(
            key=key,
            username=username,
            store=store,
            verified=verified,
            plaintext=plaintext,
            used_identity_token=used_identity_token,
            endpoint=endpoint,
            notes=notes,
        )


class LogoutResult(Record):
    """What :func:`logout` removed: store description -> keys.

    ``podman`` is ``""``, or a sentence naming the credentials podman's auth
    files still hold for what was logged out of (they keep working for podman,
    skopeo and regcred's lookups; regcred never writes podman's files).
    ``revoked``: the web sign-in's refresh token was revoked at Docker Hub's
    tenant; ``revoke_error``: why a refresh token the CLI stored was erased
    but not revoked ("" when there was none, or it was revoked).
    """

    __slots__ = ("podman", "removed", "revoke_error", "revoked")
    removed: dict[str, list[str]]
    podman: str
    revoked: bool
    revoke_error: str

    def __init__(
        self,
        removed: dict[str, list[str]] | None = None,
        podman: str = "",
        *,
        revoked: bool = False,
        revoke_error: str = "",
    ) -> None:
        self._set(
            removed=removed if removed is not None else {},
            podman=podman,
            revoked=revoked,
            revoke_error=revoke_error,
        )


def select_store(
    config: _config.Config, key: str, *, log: Callable[[str], None] | None = None
) -> StoreChoice:
    """Where a new credential for ``key`` goes (the router's decision)."""
    return Router(config).where_new(key, log=log)


def stored_credentials(
    key: str,
    *,
    config_dir: str | os.PathLike[str] | None = None,
    auth_file: str | os.PathLike[str] | None = None,
) -> Credentials | None:
    """What docker's config (not podman's) holds for ``key``, through its store.

    ``auth_file`` reads that file instead (podman's ``--authfile``), through the same router.
    """
    from regcred._lookup import credentials_in

    path = config_file(config_dir, auth_file)
    if _is_repository(key):  # a per-repository key: its own entry, never the host's
        config = _config.load(path)
        entry = config.entry(key)
        if entry is None or Router(config).helper_name(registry_of(key)[0]):
            return None
        return entry.credentials(key)
    return credentials_in(path, key, podman=False)


def config_file(config_dir: str | os.PathLike[str] | None, auth_file: str | os.PathLike[str] | None) -> Path:
    """config.json in ``config_dir``, or ``auth_file`` itself (podman's auth file, same shape)."""
    if auth_file is not None:
        from pathlib import Path

        return Path(os.path.abspath(os.fspath(auth_file)))
    return _config.config_path(config_dir)


def login(
    server: str | None = None,
    *,
    username: str,
    secret: str,
    verify: bool = True,
    store: str | None = None,
    config_dir: str | os.PathLike[str] | None = None,
    insecure: bool = False,
    cert_dirs: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
    auth_file: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    require_tls: bool = False,
) -> LoginResult:
    """Check ``username``/``secret`` against the registry, then store them where docker looks.

    ``server`` None means Docker Hub; ``username == "<token>"`` logs in with an
    identity token.  ``store`` None lets the router choose (the helper
    config.json names, else the best native store that works here, else
    config.json); ``"file"`` or a helper name (``"regcred-pass"``) forces one,
    and config.json is routed to it.  ``verify=False`` skips the registry.
    ``log`` receives one line per step, never a secret.  ``auth_file`` stores
    into that file instead of ``config_dir``'s config.json (podman's
    ``--authfile``: the same ``auths``/``credHelpers`` shape).  ``timeout``
    bounds each network step of the check, in seconds (None:
    ``REGCRED_HTTP_TIMEOUT``, 15 by default).  ``insecure`` allows plain http
    and unverified TLS for the registry's host; ``require_tls`` allows verified
    https only, even for a loopback registry (podman's ``--tls-verify=true``);
    the two exclude each other.

    ``server`` with a repository path (``quay.io/org/app``) is a per-repository
    login, as podman's: the key ``quay.io/org/app`` goes into the file's
    ``auths`` (checked against the registry ``quay.io``), the one place docker
    and podman read such a key; it is a :class:`~regcred.errors.CredentialStoreError`
    when config.json sends the registry to a helper, which both ask only for the host.

    Raises :class:`~regcred.errors.LoginError` when the registry refuses (every
    store is left untouched then), :class:`~regcred.errors.AddressError`,
    :class:`~regcred.errors.ConfigError` or
    :class:`~regcred.errors.CredentialStoreError`.  Prints nothing.
    """
    key = login_key(server)
    options = _login_options(insecure, require_tls, cert_dirs, timeout)  # a contradiction fails here
    if not username:
        raise LoginError("username is empty")
    if not secret:
        raise LoginError("password is empty")
    path = config_file(config_dir, auth_file)
    config = _config.load(path)  # a malformed config fails here, before any network
    router = Router(config)
    choice = _choose(router, key, store, log)
    if log:
        log(f"config file: {path}")
        log(f"registry key: {key}")
        log(f"credential store: {choice.describe(path)} ({choice.why})")
    verified, endpoint, token = False, "", secret if username == TOKEN_USERNAME else ""
    if verify:
        result = _verify(key, username, secret, options, path, log)
        verified, endpoint = result.verified, result.endpoint
        token = result.identity_token or token
    return _save(path, key, username, secret, token, store, verified, endpoint, log, earlier=choice)


def check_login(
    server: str | None,
    *,
    username: str,
    secret: str,
    config_dir: str | os.PathLike[str] | None = None,
    insecure: bool = False,
    cert_dirs: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
    auth_file: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    require_tls: bool = False,
) -> LoginResult:
    """Check credentials against the registry and store nothing (``login`` with stored ones)."""
    key = login_key(server)
    options = _login_options(insecure, require_tls, cert_dirs, timeout)
    path = config_file(config_dir, auth_file)
    router = Router(_config.load(path))
    choice = _choose(router, key, None, log) if _is_repository(key) else router.where_new(key, log=log)
    result = _verify(key, username, secret, options, path, log)
    return LoginResult(
        key, username, choice.describe(path), result.verified, plaintext=False, endpoint=result.endpoint
    )


def store_web_login(
    username: str,
    pat: str,
    tokens: Sequence[tuple[str, str]],
    *,
    config_dir: str | os.PathLike[str] | None = None,
    auth_file: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> LoginResult:
    """Store what Docker Hub's web sign-in yields, where and as docker 28 stores it.

    The Hub credential (``username`` and the minted ``pat``) goes where a
    login to the Hub goes (the same choice and locked write as :func:`login`);
    ``tokens`` (``[(key, token)]``: docker's ``…/access-token`` and
    ``…/refresh-token`` entries) go into the same store, as docker puts them in
    the Hub's store (``GetCredentialsStore(IndexServer)``), with ``username``.
    Nothing is written before the whole sign-in succeeded.
    """
    path = config_file(config_dir, auth_file)
    _config.load(path)  # a malformed config fails here, before anything is stored
    result = _save(path, DOCKER_HUB, username, pat, "", None, False, "", log)  # noqa: FBT003
    router = Router(_config.load(path))
    helper = router.helper_name(DOCKER_HUB)  # where _save put the Hub credential: the tokens follow
    if helper:
        for key, token in tokens:
            router.helper(helper).store(Credentials(key, username, token))

    def put(c: _config.Config) -> None:
        for key, token in tokens:
            if helper:
                c.set_marker(key)
            else:
                c.set_auth(key, username, token)

    _config.update(path, put)
    if log:
        log(f"stored {', '.join(k for k, _ in tokens)} in {result.store}")
    return result


def store_credentials(
    server: str | None,
    username: str,
    secret: str,
    *,
    store: str | None = None,
    config_dir: str | os.PathLike[str] | None = None,
) -> LoginResult:
    """Store credentials for ``server`` where docker will find them, with no network.

    The same store choice and locked, atomic writes as :func:`login`.
    """
    return login(server, username=username, secret=secret, verify=False, store=store, config_dir=config_dir)


def erase_credentials(server: str | None, *, config_dir: str | os.PathLike[str] | None = None) -> bool:
    """Erase ``server``'s credentials under every spelling, with no network.

    Returns False when nothing was stored (that is not an error here).
    """
    try:
        logout(server, config_dir=config_dir)
    except CredentialsNotFoundError:
        return False
    return True


def logout(
    server: str | None = None,
    *,
    all: bool = False,  # noqa: A002 - the public name the CLI flag mirrors (--all)
    config_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
    auth_file: str | os.PathLike[str] | None = None,
    revoke: bool = False,
) -> LogoutResult:
    """Erase every spelling of ``server`` (or everything) from config.json and its helpers.

    Raises :class:`CredentialsNotFoundError` when there was nothing to
    remove; a helper that fails to erase raises and leaves config.json as it was.
    ``server`` together with ``all`` is a :class:`UsageError`.  ``auth_file``
    as for :func:`login`.  ``server`` with a repository path removes that
    repository's key (every spelling of it) and keeps the registry's own, as
    podman does (docker's logout also removes the registry's).  The result's
    ``podman`` names what podman's auth files still hold for it.
    ``revoke`` (the CLI's logout): once Docker Hub's
    entries are erased, revoke the web sign-in's refresh token at the tenant,
    as docker does, if docker's format says the CLI stored it (``<token>..<client ID>``);
    the only network a logout uses, and only then.
    """
    all_registries = all
    if all_registries and server:
        raise UsageError("give a SERVER or --all, not both")
    path = config_file(config_dir, auth_file)
    config = _config.load(path)
    router = Router(config)
    if all_registries:
        plan = _plan_all(router)
        file_keys = config.auth_keys()
    else:
        key = login_key(server)  # HOST/ns/repo: that repository's key, as docker and podman remove it
        file_keys = [k for k in config.auth_keys() if same_registry(k, key)]
        if key == DOCKER_HUB:  # and docker's web-login tokens, wherever they are
            file_keys += [k for k in HUB_TOKEN_KEYS if k in config.auth_keys()]
        plan = _plan_aliases(router, key, file_keys)
    if all_registries or key == DOCKER_HUB:
        _hub_tokens_too(router, plan)
    if log:
        for helper, erasure in plan.items():
            log(f"erase from docker-credential-{helper}: {', '.join(erasure.must + erasure.maybe)}")
        if file_keys:
            log(f"remove from {path}: {', '.join(file_keys)}")
    if not file_keys and not any(e.found for e in plan.values()):
        what = "any registry" if all_registries else login_key(server)
        hint = _podman_hint(None if all_registries else login_key(server))
        raise CredentialsNotFoundError(f"not logged in to {what}{hint and f' ({hint})'}")
    refresh = _stored_refresh_token(router) if revoke and (all_registries or key == DOCKER_HUB) else ""
    removed: dict[str, list[str]] = {}
    for helper, erasure in plan.items():
        store = router.helper(helper)
        for k in erasure.must:
            store.erase(k)  # a failure here stops the logout, config.json untouched
        for k in erasure.maybe:
            try:
                store.erase(k)  # spellings the helper may never have seen
            except CredentialStoreError:
                if log:
                    log(f"docker-credential-{helper} could not erase {k} (it may not exist)")
        removed[f"docker-credential-{helper}"] = erasure.must

    def drop(c: _config.Config) -> list[str]:
        gone = [k for k in file_keys if c.remove_auth(k)]
        for k in {*gone, *(k for erasure in plan.values() for k in erasure.must)}:
            if c.creds_store and c.cred_helpers.get(k) == c.creds_store:
                c.remove_cred_helper(k)  # the podman-facing copy of the route login added
        return gone

    gone = _config.update(path, drop) if file_keys or plan else []
    if gone:
        removed[str(path)] = gone
    # What podman's files still hold keeps working for podman, skopeo and regcred's lookups.
    podman = _podman_hint(None if all_registries else login_key(server))
    if not refresh:
        return LogoutResult(removed, podman)
    from regcred._net import hub_oauth

    try:
        hub_oauth.revoke(refresh)  # after the erase, as docker: a failed revoke can be retried
    except (LoginError, ConfigError) as exc:
        return LogoutResult(removed, podman, revoke_error=str(exc))
    if log:
        log("revoked the web sign-in's refresh token at the tenant")
    return LogoutResult(removed, podman, revoked=True)


def _stored_refresh_token(router: Router) -> str:
    """The web sign-in's refresh token, read as docker reads it (the Hub's store), if the CLI stored it."""
    from regcred._net.hub_oauth import REFRESH_TOKEN_KEY, cli_refresh_token

    store = router.store_for(DOCKER_HUB)
    try:
        found = store.get(REFRESH_TOKEN_KEY)
    except CredentialStoreError:
        return ""
    return found.secret if cli_refresh_token(found.secret) else ""


# -- internals -----------------------------------------------------------------


def _choose(
    router: Router,
    key: str,
    store: str | None,
    log: Callable[[str], None] | None,
    earlier: StoreChoice | None = None,
) -> StoreChoice:
    """The store for ``key``: the router's choice, or the one asked for (checked).

    ``earlier``, an automatic choice made from this config a moment ago, is
    kept while the config still leaves the choice to the system: probing the
    stores again would cost their bound twice (the save re-checks the routing
    under the lock anyway).
    """
    if _is_repository(key):
        return _choose_for_repository(router, key, store)
    config = router.config
    if store is None and earlier is not None and earlier.auto_detected and not config.contains_auth():
        choice = earlier
    elif store is None:
        choice = router.where_new(key, log=log)
    elif store == FILE:
        routed = router.helper_name(key)
        if routed:
            raise CredentialStoreError(
                f"config.json sends {key} to docker-credential-{routed}; storing it in the file "
                f"would leave it unused ('regcred migrate --to file' moves everything, or remove "
                f"credsStore/credHelpers first)"
            )
        choice = StoreChoice("", why="asked for")
    else:
        choice = StoreChoice(store, why="asked for")
    if choice.helper:
        router.require_helper(choice.helper)  # fail before any credential goes on the wire
    return choice


def _is_repository(key: str) -> bool:
    """A per-repository key (``host/ns/repo``), as :func:`~regcred._address.login_key` makes it."""
    return key != DOCKER_HUB and stored_host(key) is None


def _choose_for_repository(router: Router, key: str, store: str | None) -> StoreChoice:
    """A per-repository key lives in config.json's ``auths``: the one place docker and podman read it.

    A helper is asked only for a registry's host, by docker and by podman alike
    (containers/image refuses a namespaced key for a helper), so a repository's
    credential in a helper would serve nobody: refused, and so is a config that
    sends the host to a helper (the entry in the file would never be read).
    """
    registry = registry_of(key)[0]
    routed = router.helper_name(registry)
    if store not in (None, FILE) or routed:
        helper = routed if store in (None, FILE) else store
        shown = "Docker Hub" if registry == DOCKER_HUB else registry
        raise CredentialStoreError(
            f"cannot log in to the repository {key} with docker-credential-{helper}: docker and "
            f"podman ask a credential helper only for a registry's host, and read a per-repository "
            f"login only from the file's auths; log in to {shown} "
            "instead, or keep this config's credentials in the file ('regcred migrate --to file')"
        )
    return StoreChoice("", why="a per-repository login is kept in the file, where docker and podman read it")


class _RoutingChangedError(Exception):
    """config.json routes the key elsewhere than it did when the store was chosen."""


def _save(
    path: Path,
    key: str,
    username: str,
    secret: str,
    token: str,
    store: str | None,
    verified: bool,
    endpoint: str,
    log: Callable[[str], None] | None,
    *,
    earlier: StoreChoice | None = None,
) -> LoginResult:
    """Store the credential where config.json routes it *now*.

    The choice made before the registry was asked may be stale (a ``regcred
    migrate`` may have run meanwhile).  So the store is chosen again from the
    file as it is, a helper is written, and then, inside the config lock, the
    routing is checked once more before the marker (or the plaintext entry)
    is written.  If it changed, the helper copy is taken back and the save
    starts over.  The lock is never held across a helper call, so parallel
    logins do not queue behind each other's keyrings; a concurrent migrate
    either sees this write (and stops, as it does for any change) or has
    finished routing, and this save follows it.
    """
    for attempt in range(5):
        router = Router(_config.load(path))
        choice = _choose(router, key, store, log, earlier if attempt == 0 else None)
        if choice.helper:
            creds = Credentials(key, TOKEN_USERNAME, token) if token else Credentials(key, username, secret)
            router.helper(choice.helper).store(creds)  # fails before config.json
        notes: list[str] = []
        if choice.helper and choice.passed_over:  # the automatic choice fell through: say why
            notes.append(f"{'; '.join(choice.passed_over)}; stored in docker-credential-{choice.helper}")

        def finish(c: _config.Config, choice: StoreChoice = choice, notes: list[str] = notes) -> None:
            named = Router(c).helper_name(registry_of(key)[0] if _is_repository(key) else key)
            pinned = c.cred_helpers.get(key) == ""
            if pinned:
                notes.append(_empty_pin_note(c, key, choice.helper))
                if not choice.helper and not c.creds_store:
                    c.remove_cred_helper(key)  # docker reads the file either way; podman now does too
            if choice.helper:
                may_route_here = store is not None or (choice.auto_detected and not c.contains_auth())
                if named != choice.helper and not (named == "" and may_route_here):
                    raise _RoutingChangedError
                c.set_marker(key)
                if choice.auto_detected and not c.creds_store:
                    c.set_creds_store(choice.helper)
                if c.cred_helpers.get(key) != choice.helper:
                    # podman, skopeo and buildah ignore credsStore but honour credHelpers:
                    # name the helper for the key too, so they find what was stored.
                    c.set_cred_helper(key, choice.helper)
            elif named:
                raise _RoutingChangedError
            elif token:
                shown_user = "" if username == TOKEN_USERNAME else username
                c.set_auth(key, shown_user, "", identitytoken=token)
            else:
                c.set_auth(key, username, secret)

        try:
            _config.update(path, finish)
        except _RoutingChangedError:
            if log:
                log(f"config.json now routes {key} elsewhere (changed meanwhile); storing again")
            if choice.helper:
                _take_back(choice.helper, key, log)
            continue
        return LoginResult(
            key,
            username,
            choice.describe(path),
            verified,
            plaintext=not choice.helper,
            used_identity_token=bool(token),
            endpoint=endpoint,
            notes=tuple(notes),
        )
    raise CredentialStoreError(f"config.json kept changing while storing {key}; run the login again")


def _empty_pin_note(config: _config.Config, key: str, helper: str) -> str:
    """What login found in ``credHelpers[key] == ""`` and what it does about it (issue 17 #6).

    Docker reads such a key from the file; podman, skopeo and buildah run a
    program named ``docker-credential-`` and fail (doctor calls it broken).
    """
    found = f'{config.path} had credHelpers["{key}"] = ""'
    if helper:
        return f"{found} (podman cannot follow it): replaced it with {helper}, where {key} is now stored"
    if not config.creds_store:
        return (
            f"{found}, which podman, skopeo and buildah cannot follow: removed it "
            f"(docker reads {key} from the file either way)"
        )
    return (
        f"{found}, which keeps {key} out of docker-credential-{config.creds_store}: kept it and "
        f"stored {key} in the file, as docker does; podman, skopeo and buildah cannot follow it: "
        f"remove the entry and log in again to store {key} in the helper instead"
    )


def _take_back(helper: str, key: str, log: Callable[[str], None] | None) -> None:
    """Erase the copy just stored in ``helper``, which config.json no longer routes ``key`` to.

    The save then starts over and stores the credential where config.json sends it now.
    """
    from regcred.stores._router import helper_store

    try:
        helper_store(helper).erase(key)
    except CredentialStoreError as exc:
        if log:
            log(f"could not take {key} back from docker-credential-{helper}: {exc}")


def _login_options(
    insecure: bool, require_tls: bool, cert_dirs: Sequence[str], timeout: float | None
) -> LoginOptions:
    """The one record of login's network settings, built where the caller's arguments arrive."""
    from regcred._net.options import LoginOptions

    return LoginOptions(insecure=insecure, require_tls=require_tls, cert_dirs=cert_dirs, timeout=timeout)


def _verify(
    key: str,
    username: str,
    password: str,
    options: LoginOptions,
    path: Path,
    log: Callable[[str], None] | None,
) -> Verification:
    from regcred._net import preconnect

    key = registry_of(key)[0]  # a per-repository login is checked against its registry
    early = preconnect.start(key, options)  # TCP handshakes overlap the import below
    from regcred._net.auth import verify_login
    from regcred._net.http import CertificateVerifyError, RequestTimeoutError

    try:
        return verify_login(
            key,
            username=username,
            secret=password,
            options=options.with_cert_dirs(_cert_dirs(key, path, [*options.cert_dirs])),
            log=log,
            preconnected=early,
        )
    except CertificateVerifyError as exc:
        raise type(exc)(f"{exc}; {_tls_ways_out(key, path, exc)}") from None
    except RequestTimeoutError as exc:
        bound = "--timeout" if options.timeout is not None else "REGCRED_HTTP_TIMEOUT"
        raise type(exc)(f"{exc} (each step is bounded by {bound}: {options.seconds():g} s)") from None


def _tls_ways_out(key: str, path: Path, exc: Exception) -> str:
    """Why a certificate was refused, and the ways out (issue 17 #9): what the user can do next."""
    from regcred._net.http import RegistryCertificateError

    trust = "trust the CA system-wide (update-ca-certificates, or SSL_CERT_FILE)"
    if not isinstance(exc, RegistryCertificateError):
        return (
            f"the token server's certificate failed verification ({key}'s --cert-dir and certs.d "
            f"apply to the registry's own host only): {trust}"
        )
    if key == DOCKER_HUB:
        return f"Docker Hub's certificate failed verification (a TLS-intercepting proxy?): {trust}"
    return (
        f"the registry's certificate failed verification: give its CA with --cert-dir DIR "
        f"(DIR holding ca.crt), or put it in {path.parent}/certs.d/{key}/ca.crt or "
        f"/etc/docker/certs.d/{key}/ca.crt, or {trust}; --insecure skips the check"
    )


def _cert_dirs(key: str, path: Path, explicit: list[str]) -> list[str]:
    """certs.d directories for ``key``: docker's two, then each ``--cert-dir``."""
    from regcred._net.tls import registry_cert_dirs

    if key == DOCKER_HUB:
        return list(explicit)
    return [*registry_cert_dirs(key, config_dir=str(path.parent)), *explicit]


class _Erasure:
    """What to erase from one helper: ``must`` (known to exist) and ``maybe`` (best effort)."""

    __slots__ = ("found", "maybe", "must")

    def __init__(self) -> None:
        self.must: list[str] = []
        self.maybe: list[str] = []
        self.found = False


def _plan_aliases(router: Router, key: str, file_keys: list[str]) -> dict[str, _Erasure]:
    """For each helper that owns a spelling of ``key``: what it holds, and what it might.

    The helper's ``list`` says what it holds; anything it does not list is
    still erased, best effort, because a helper may not list everything.  The
    key itself, and every spelling with a marker in config.json, must erase.
    """
    candidates = list(dict.fromkeys([*logout_aliases(key), *file_keys]))
    plan: dict[str, _Erasure] = {}
    for candidate in candidates:
        helper = router.helper_name(candidate)
        if helper:
            plan.setdefault(helper, _Erasure())
    for helper, erasure in plan.items():
        owned = [c for c in candidates if router.helper_name(c) == helper]
        try:
            listed = {k for k in router.helper(helper).list() if same_registry(k, key)}
        except CredentialStoreError:
            listed = None  # cannot tell: erase the key and the markers, and let errors show
        present = set(file_keys) | (listed or set())
        erasure.found = bool(listed) or (listed is None and bool(set(owned) & set(file_keys)))
        for k in list(dict.fromkeys([*owned, *sorted(listed or ())])):
            if k == key or k in present:
                erasure.must.append(k)
            else:
                erasure.maybe.append(k)
    return plan


def _plan_all(router: Router) -> dict[str, _Erasure]:
    """Every key each helper lists, plus every ``{}`` marker routed to it."""
    plan: dict[str, _Erasure] = {}
    markers = [e.key for e in router.config.entries() if not e.has_secret]
    for helper in router.helpers():
        keys = list(router.held_by(helper))  # a store that cannot list stops --all
        keys += [k for k in markers if router.helper_name(k) == helper and k not in keys]
        if keys:
            erasure = _Erasure()
            erasure.must = keys
            erasure.found = True
            plan[helper] = erasure
    return plan


def _hub_tokens_too(router: Router, plan: dict[str, _Erasure]) -> None:
    """The web sign-in's token entries, from the Hub's helper too (docker keeps them in the Hub's store).

    With ``credHelpers`` naming a helper for the Hub key only, docker (and
    :func:`store_web_login`) put the tokens in that helper, while config.json
    routes their own keys elsewhere: erase them there as well, best effort.
    """
    hub_helper = router.helper_name(DOCKER_HUB)
    if not hub_helper:
        return
    for token_key in HUB_TOKEN_KEYS:
        if router.helper_name(token_key) != hub_helper:
            erasure = plan.setdefault(hub_helper, _Erasure())
            if token_key not in erasure.must and token_key not in erasure.maybe:
                erasure.maybe.append(token_key)


def _podman_hint(key: str | None) -> str:
    """What podman's side still answers for ``key`` (None: for any registry), as one sentence, or ``""``.

    The same lookups as ``regcred get`` and ``regcred list`` (:func:`~regcred._lookup.from_podman_files`,
    :func:`~regcred._lookup.podman_sources`), so the warning and the lookup cannot disagree.
    """
    from regcred._lookup import from_podman_files, podman_sources

    files = ", ".join(str(p) for p in podman_auth_files() if p.exists())
    try:
        if key is None:
            held = sorted({k for k, _, _ in podman_sources()})
            if not held:
                return ""
            users = "podman, skopeo and regcred" if _settings.podman_auth() else "podman and skopeo"
            return (
                f"podman's side ({files or 'its credential helpers'}) still holds credentials for "
                f"{', '.join(held)}, which {users} keep using; 'podman logout --all' removes them"
            )
        if from_podman_files(*registry_of(key)) is None:
            return ""
    except RegcredError:
        return ""
    return f"credentials for it exist in podman's auth file {files}; use 'podman logout'"
