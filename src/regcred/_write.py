"""``login()`` and ``logout()``: config + registry verification + credential store.

Where a credential goes (``select_store``):

1. ``credHelpers[key]``, then ``credsStore``;
2. when the config names no store and holds no credentials yet (docker's
   rule for its default), the best store that really works here, recorded
   in config.json as ``credsStore`` the way docker records its default:
   ``regcred-secretservice`` if a Secret Service answers, else
   ``regcred-pass`` if the password store is initialised, else the file;
3. otherwise the config file itself, with a one-time "stored unencrypted"
   warning.

A helper that fails to store is an error: regcred never falls back to
plaintext.  The helper is written first and config.json second, so a
failure leaves config.json untouched.
"""

from __future__ import annotations

import os

from regcred import _config
from regcred._address import DOCKER_HUB, logout_aliases, normalize
from regcred._lookup import helper_for, podman_auth_files, same_registry
from regcred._record import Record
from regcred.credentials import TOKEN_USERNAME, Credentials, CredentialStore
from regcred.errors import (
    CredentialsNotFoundError,
    CredentialStoreError,
    LoginError,
    RegcredError,
    StoreUnavailableError,
    UsageError,
)

TYPE_CHECKING = False  # typing and dataclasses cost every login start-up time
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from regcred._net.auth import LoginResult

__all__ = ["LoginOutcome", "LogoutOutcome", "login", "logout", "select_store", "stored_credentials"]

#: Stores regcred may pick by itself, best first.
AUTO_STORES = (
    ("regcred-secretservice", "regcred.stores.secretservice", "SecretServiceStore"),
    ("regcred-pass", "regcred.stores.pass_", "PassStore"),
)


class StoreChoice(Record):
    """Where a new credential goes; ``helper == ""`` means the config file itself."""

    __slots__ = ("auto_detected", "helper", "why")
    helper: str
    auto_detected: bool
    why: str

    def __init__(self, helper: str, auto_detected: bool = False, why: str = "") -> None:
        self._set(helper=helper, auto_detected=auto_detected, why=why)

    def describe(self, path: Path) -> str:
        if self.helper:
            return f"credential helper docker-credential-{self.helper}"
        return f"the config file {path} (base64, not encrypted)"


class LoginOutcome(Record):
    """What ``login`` did; ``store`` describes where the credential went."""

    __slots__ = ("endpoint", "key", "plaintext", "store", "used_identity_token", "username", "verified")
    key: str
    username: str
    store: str
    verified: bool
    plaintext: bool
    used_identity_token: bool
    endpoint: str

    def __init__(
        self,
        key: str,
        username: str,
        store: str,
        verified: bool,
        plaintext: bool,
        used_identity_token: bool = False,
        endpoint: str = "",
    ) -> None:
        self._set(
            key=key,
            username=username,
            store=store,
            verified=verified,
            plaintext=plaintext,
            used_identity_token=used_identity_token,
            endpoint=endpoint,
        )


class LogoutOutcome(Record):
    """What ``logout`` removed: store description -> keys."""

    __slots__ = ("removed",)
    removed: dict[str, list[str]]

    def __init__(self, removed: dict[str, list[str]] | None = None) -> None:
        self._set(removed=removed if removed is not None else {})


def select_store(
    config: _config.Config, key: str, *, log: Callable[[str], None] | None = None
) -> StoreChoice:
    """Where a new credential for ``key`` goes (see the module docstring)."""
    named = helper_for(config, key)
    if named:
        return StoreChoice(named, why="named in config.json")
    if config.contains_auth():
        return StoreChoice("", why="config.json already keeps credentials and names no helper")
    from regcred.stores.helper import find_helper

    reasons = []
    for helper, module, cls in AUTO_STORES:
        if find_helper(helper) is None:
            reasons.append(f"docker-credential-{helper} is not on PATH")
            continue
        try:
            _store_class(module, cls).check()
        except CredentialStoreError as exc:
            reasons.append(f"{helper}: {exc}")
            continue
        return StoreChoice(helper, auto_detected=True, why="the best store that works here")
    why = "; ".join(reasons)
    if log:
        log(f"no encrypted store works here ({why})")
    return StoreChoice("", why=why)


def stored_credentials(key: str, *, config_dir: str | os.PathLike[str] | None = None) -> Credentials | None:
    """What docker's config (not podman's) holds for ``key``, through its store."""
    from regcred._lookup import get_credentials

    return get_credentials(key, config_dir=config_dir, podman=False)


def login(
    server: str | None,
    *,
    username: str,
    password: str,
    config_dir: str | os.PathLike[str] | None = None,
    insecure: bool = False,
    cert_dirs: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
    store: bool = True,
) -> LoginOutcome:
    """Verify ``username``/``password`` against the registry, then store them.

    ``username == "<token>"`` logs in with an identity token.  Returns what
    happened; raises :class:`~regcred.errors.LoginError` when the registry
    refuses, and leaves every store untouched then.
    """
    key = normalize(server)
    if not username:
        raise LoginError("username is empty")
    if not password:
        raise LoginError("password is empty")
    path = _config.config_path(config_dir)
    config = _config.load(path)  # a malformed config fails here, before any network
    choice = select_store(config, key, log=log)
    if choice.helper and store:
        _require_helper(choice.helper)  # fail before any credential goes on the wire
    if log:
        log(f"config file: {path}")
        log(f"registry key: {key}")
        log(f"credential store: {choice.describe(path)} ({choice.why})")
    result = _verify(key, username, password, insecure, cert_dirs, path, log)
    if not store:
        return LoginOutcome(
            key, username, choice.describe(path), result.verified, plaintext=False, endpoint=result.endpoint
        )

    token = result.identity_token or (password if username == TOKEN_USERNAME else "")
    if choice.helper:
        creds = Credentials(key, TOKEN_USERNAME, token) if token else Credentials(key, username, password)
        _helper(choice.helper).store(creds)

        def mark(c: _config.Config) -> None:
            c.set_marker(key)
            if choice.auto_detected and not c.creds_store:
                c.set_creds_store(choice.helper)

        _config.update(path, mark)
        plaintext = False
    else:
        shown_user = "" if username == TOKEN_USERNAME else username
        if token:
            _config.update(path, lambda c: c.set_auth(key, shown_user, "", identitytoken=token))
        else:
            _config.update(path, lambda c: c.set_auth(key, username, password))
        plaintext = True
    return LoginOutcome(
        key,
        username,
        choice.describe(path),
        result.verified,
        plaintext,
        used_identity_token=bool(token),
        endpoint=result.endpoint,
    )


def logout(
    server: str | None,
    *,
    all_registries: bool = False,
    config_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> LogoutOutcome:
    """Erase every spelling of ``server`` (or everything) from config.json and its helpers.

    Raises :class:`CredentialsNotFoundError` when there was nothing to
    remove; a helper that fails to erase raises and leaves config.json as it was.
    ``server`` together with ``all_registries`` is a :class:`UsageError`.
    """
    if all_registries and server:
        raise UsageError("give a SERVER or --all, not both")
    path = _config.config_path(config_dir)
    config = _config.load(path)
    if all_registries:
        plan = _plan_all(config)
        file_keys = config.auth_keys()
    else:
        key = normalize(server)
        file_keys = [k for k in config.auth_keys() if same_registry(k, key)]
        plan = _plan_aliases(config, key, file_keys)
    if log:
        for helper, erasure in plan.items():
            log(f"erase from docker-credential-{helper}: {', '.join(erasure.must + erasure.maybe)}")
        if file_keys:
            log(f"remove from {path}: {', '.join(file_keys)}")
    if not file_keys and not any(e.found for e in plan.values()):
        what = "any registry" if all_registries else normalize(server)
        hint = "" if all_registries else _podman_hint(normalize(server))
        raise CredentialsNotFoundError(f"not logged in to {what}{hint}")
    removed: dict[str, list[str]] = {}
    for helper, erasure in plan.items():
        store = _helper(helper)
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
        return [k for k in file_keys if c.remove_auth(k)]

    gone = _config.update(path, drop) if file_keys else []
    if gone:
        removed[str(path)] = gone
    return LogoutOutcome(removed)


# -- internals -----------------------------------------------------------------


def _verify(
    key: str,
    username: str,
    password: str,
    insecure: bool,
    cert_dirs: Sequence[str],
    path: Path,
    log: Callable[[str], None] | None,
) -> LoginResult:
    from regcred._net.auth import verify_login

    return verify_login(
        key,
        username=username,
        secret=password,
        insecure=insecure,
        cert_dirs=_cert_dirs(key, path, [*cert_dirs]),
        log=log,
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


def _plan_aliases(config: _config.Config, key: str, file_keys: list[str]) -> dict[str, _Erasure]:
    """For each helper that owns a spelling of ``key``: what it holds, and what it might.

    The helper's ``list`` says what it holds; anything it does not list is
    still erased, best effort, because a helper may not list everything.  The
    key itself, and every spelling with a marker in config.json, must erase.
    """
    candidates = list(dict.fromkeys([*logout_aliases(key), *file_keys]))
    plan: dict[str, _Erasure] = {}
    for candidate in candidates:
        helper = helper_for(config, candidate)
        if helper:
            plan.setdefault(helper, _Erasure())
    for helper, erasure in plan.items():
        owned = [c for c in candidates if helper_for(config, c) == helper]
        try:
            listed = {k for k in _helper(helper).list() if same_registry(k, key)}
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


def _plan_all(config: _config.Config) -> dict[str, _Erasure]:
    """Every key each helper lists, plus every ``{}`` marker routed to it."""
    plan: dict[str, _Erasure] = {}
    helpers = {h for h in config.cred_helpers.values() if h}
    if config.creds_store:
        helpers.add(config.creds_store)
    markers = [e.key for e in config.entries() if not e.has_secret]
    for helper in sorted(helpers):
        listed = _helper(helper).list()  # a store that cannot list stops --all
        keys = [k for k in listed if helper_for(config, k) == helper]
        keys += [k for k in markers if helper_for(config, k) == helper and k not in keys]
        if keys:
            erasure = _Erasure()
            erasure.must = keys
            erasure.found = True
            plan[helper] = erasure
    return plan


def _podman_hint(key: str) -> str:
    if not key:
        return ""
    from regcred._lookup import _from_podman_files

    try:
        found = _from_podman_files(key, "")
    except RegcredError:
        return ""
    if found is None:
        return ""
    files = ", ".join(str(p) for p in podman_auth_files() if p.exists())
    return f" (credentials for it exist in podman's auth file {files}; use 'podman logout')"


def _require_helper(name: str) -> None:
    from regcred.stores.helper import HelperStore, find_helper

    HelperStore(name)  # validates the name
    if find_helper(name) is None:
        raise StoreUnavailableError(
            f"config.json names the credential helper {name!r}, but docker-credential-{name} "
            "is not on PATH: install it, or change credsStore/credHelpers ('regcred doctor' helps)"
        )


def _helper(name: str) -> CredentialStore:
    from regcred.stores.helper import HelperStore

    return HelperStore(name)


def _store_class(module: str, name: str) -> type[CredentialStore]:
    from importlib import import_module

    cls: type[CredentialStore] = getattr(import_module(module), name)
    return cls
