"""``regcred doctor``: where every credential lives, and what is broken or unsafe.

The report covers docker's ``config.json`` and podman's auth files, the store
that holds each registry key, the state of the encrypted backends this
system has (Secret Service: no bus / no service / no keyring / locked /
fine; pass: no gpg / not initialized / key missing / fine; on macOS and
Windows the keychain or Credential Manager, through the same catalog rows'
``status()``), and where ``regcred login`` would store a new credential.

File and directory modes are checked where the system has them.  On
Windows, whose ``st_mode`` is made up and whose access is an ACL, the
files say "permissions not checked on this system" instead of a verdict
that would be wrong either way.

Problems have a severity:

* ``broken``: something a login or a pull will trip over (a helper named in
  the config is not on PATH or fails, a backend a configured helper needs is
  unusable, an unreadable config);
* ``unsafe``: secrets others could read or a config others could rewrite
  (plaintext credentials, loose file or directory modes);
* ``warning``: confusing but working (podman files that shadow or disagree
  with docker's, stale ``{}`` markers, a directory others can list).

The report is ``healthy`` (exit 0) when there is nothing broken or unsafe.
Only usernames are ever read from a store (helpers are asked ``list``, never
``get``), so no secret can reach the output.
"""

from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from regcred import _config, _settings, _system
from regcred._address import DOCKER_HUB, HUB_TOKEN_KEYS, normalize, stored_host
from regcred._lookup import podman_auth_files
from regcred._text import printable
from regcred.credentials import StoreStatus
from regcred.errors import AddressError, ConfigError, CredentialStoreError, RegcredError
from regcred.stores import _catalog
from regcred.stores._router import ENV, Router
from regcred.stores.file import FileStore

__all__ = ["Problem", "Report", "diagnose", "render_text"]

_PROBE_KEY = "registry.invalid"  # a key no credHelpers entry names: "any new registry"


@dataclass(frozen=True, slots=True)
class Problem:
    severity: str  # "broken" | "unsafe" | "warning"
    message: str


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    role: str  # "docker" | "podman"
    exists: bool
    mode: str = ""  # "0600", "" when missing or where the system has no modes
    dir_mode: str = ""
    permissions: str = ""  # "" when checked; else why not ("not checked on this system")


@dataclass(frozen=True, slots=True)
class Location:
    key: str
    username: str  # "" when the store cannot say (it is broken: see state)
    store: str  # "file", "helper NAME" or "env" ($DOCKER_AUTH_CONFIG)
    source: str  # the config file that names or holds it, or "$DOCKER_AUTH_CONFIG"
    #: the state of the store: "ok", or why it cannot serve the key now (its backend's
    #: state, "not-on-path", "error"); a key config.json routes is listed either way
    state: str = "ok"


@dataclass(frozen=True, slots=True)
class Backend:
    name: str  # "secretservice" | "pass"
    state: str  # "ok" or a short reason code
    detail: str
    used_by: list[str] = field(default_factory=list)


@dataclass
class Report:
    files: list[FileInfo] = field(default_factory=list)
    credentials: list[Location] = field(default_factory=list)
    backends: list[Backend] = field(default_factory=list)
    login_store: str = ""
    login_why: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(p.severity in {"broken", "unsafe"} for p in self.problems)

    def add(self, severity: str, message: str) -> None:
        self.problems.append(Problem(severity, message))

    def to_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "files": [asdict(f) for f in self.files],
            "credentials": [asdict(c) for c in self.credentials],
            "backends": [asdict(b) for b in self.backends],
            "login_store": {"store": self.login_store, "why": self.login_why},
            "problems": [asdict(p) for p in self.problems],
        }


def diagnose(*, config_dir: str | os.PathLike[str] | None = None) -> Report:
    """Inspect the config files, stores and backends; never read a secret.

    Each backend is probed once per run: its row and the "would store in"
    line answer from the same probe (:func:`~regcred.stores._catalog.one_probe_each`).
    """
    from regcred.stores._catalog import one_probe_each

    with one_probe_each():
        return _diagnose(config_dir)


def _diagnose(config_dir: str | os.PathLike[str] | None) -> Report:
    report = Report()
    for problem in _settings.problems():  # bad REGCRED_* values: nothing else would say which
        report.add("broken", problem)
    path = _config.config_path(config_dir)
    config = _load(report, path, "docker")
    _pending_migrate(report, path)
    # REGISTRY_AUTH_FILE=~/.docker/config.json is common: then there is one file, not two.
    docker_real = os.path.realpath(path)
    podman = [_load(report, p, "podman") for p in podman_auth_files() if os.path.realpath(p) != docker_real]
    backends = _backends(config, report)
    if config is not None:
        _docker_credentials(report, config, backends)
        _login_store(report, config, backends)
    docker_users = {_registry_key(c.key): c.username for c in report.credentials}
    for podman_config in podman:
        if podman_config is not None and podman_config.exists:
            _podman_credentials(report, podman_config, docker_users)
    if config is not None:
        _podman_blind(report, config)
    return report


# -- files ---------------------------------------------------------------------


def _pending_migrate(report: Report, path: Path) -> None:
    """A journal left by a migrate that is running or was killed, or a file there regcred cannot trust.

    Read only: the journal is checked (``migrate_journal.inspect``), never acted on.
    """
    from regcred._tools.migrate_journal import inspect

    line = inspect(path)
    if line:
        report.add("broken", line)


def _load(report: Report, path: Path, role: str) -> _config.Config | None:
    try:
        st = path.stat()
    except OSError:
        report.files.append(FileInfo(str(path), role, exists=False))
        return _config.Config(path, {}, None)
    dir_st = path.parent.stat()
    if _system.has_modes():
        info = FileInfo(str(path), role, exists=True, mode=_mode(st.st_mode), dir_mode=_mode(dir_st.st_mode))
    else:
        info = FileInfo(str(path), role, exists=True, permissions=_NOT_CHECKED)
    report.files.append(info)
    try:
        config = _config.load(path)
    except RegcredError as exc:
        report.add("broken", str(exc))
        return None
    from regcred._tools.migrate_plan import canonical, stays_in_file

    secrets = [e.key for e in config.entries() if e.has_secret]
    staying = stays_in_file(secrets)  # what 'migrate --to HELPER' leaves in the file
    plaintext = [key for key in secrets if canonical(key) not in staying]
    shown = f"mode {_mode(st.st_mode)}" if _system.has_modes() else _NOT_CHECKED
    if plaintext:
        report.add(
            "unsafe",
            f"plaintext credentials for {', '.join(plaintext)} in {path} "
            f"({shown}); move them into an encrypted store with "
            "'regcred migrate --to STORE'",
        )
    if len(plaintext) < len(secrets):
        kept = [key for key in secrets if key not in plaintext]
        report.add(
            "warning",
            f"plaintext credentials for {', '.join(kept)} in {path} ({shown}) stay there: docker and "
            "podman read per-repository keys only from the file (a credential helper is only asked "
            "for a registry's host), so 'regcred migrate' leaves them and their registry's key",
        )
    plaintext = secrets
    if _system.has_modes():
        _check_modes(report, path, st, dir_st, has_secrets=bool(plaintext))
    return config


def _check_modes(
    report: Report, path: Path, st: os.stat_result, dir_st: os.stat_result, *, has_secrets: bool
) -> None:
    mode, dir_mode = stat.S_IMODE(st.st_mode), stat.S_IMODE(dir_st.st_mode)
    fix = f"chmod 600 {path}"
    if mode & 0o022:
        report.add(
            "unsafe",
            f"{path} is writable by others (mode {_mode(mode)}): anyone able to write it can "
            f"point credsStore at a program of theirs; {fix}",
        )
    elif mode & 0o044:
        severity = "unsafe" if has_secrets else "warning"
        report.add(severity, f"{path} is readable by others (mode {_mode(mode)}); {fix}")
    if dir_mode & 0o022 and not dir_mode & stat.S_ISVTX:
        report.add(
            "unsafe",
            f"{path.parent} is writable by others (mode {_mode(dir_mode)}): they can replace "
            f"{path.name}; chmod 700 {path.parent}",
        )
    elif dir_mode & 0o055:
        report.add(
            "warning",
            f"{path.parent} can be listed by others (mode {_mode(dir_mode)}); chmod 700 {path.parent}",
        )


#: What doctor says where modes mean nothing (Windows: access is an ACL, not checked).
_NOT_CHECKED = "permissions not checked on this system"


def _mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


# -- credentials ---------------------------------------------------------------


def _docker_credentials(report: Report, config: _config.Config, backends: dict[str, Backend]) -> None:
    where = str(config.path)
    try:  # the router `get` and `list` use, $DOCKER_AUTH_CONFIG included
        router = Router.for_lookup(config)
    except ConfigError as exc:  # only the variable can fail here: it names itself
        report.add("broken", str(exc))
        router = Router(config)
    _env_credentials(report, router)
    _empty_cred_helpers(report, config)
    for key, user in router.file.list().items():
        report.credentials.append(Location(key, user, "file", where))
        routed = router.helper_name(key)
        if routed:
            report.add(
                "warning",
                f"the plaintext credentials for {key} in {where} are never used: config.json sends "
                f"{key} to docker-credential-{routed}, and docker and regcred ask only it; "
                f"'regcred logout {key}' and log in again, or remove the entry",
            )
    for helper in router.helpers():
        held, state = _list_helper(report, router, helper, backends, where)
        if held is None:
            # The store cannot list: still show every key config.json sends to it, and why.
            for key in _routed_keys(router, helper):
                report.credentials.append(Location(key, "", f"helper {helper}", where, state))
            continue
        for key, user in sorted(held.items()):
            report.credentials.append(Location(key, user, f"helper {helper}", where, state))
        if state != "ok":
            continue  # a broken store's list proves nothing stale
        for entry in config.entries():
            stale = not entry.has_secret and entry.key not in held
            if stale and router.helper_name(entry.key) == helper:
                report.add(
                    "warning",
                    f"{where} has a {{}} marker for {entry.key}, but "
                    f"docker-credential-{helper} holds no credentials for it "
                    f"(stale; 'regcred logout {entry.key}' removes it)",
                )
    _orphans(report, router, backends)
    report.credentials.sort(key=lambda c: c.key)


def _podman_blind(report: Report, config: _config.Config) -> None:
    """Credentials podman, skopeo and buildah cannot see in docker's config.json (issue 17 #1).

    containers/image reads ``credHelpers`` but ignores ``credsStore``, so a key
    routed by ``credsStore`` alone is invisible to it (``regcred migrate --to
    STORE KEY…`` writes the routes it reads).  And it looks Docker Hub up as
    ``docker.io``, never as docker's ``https://index.docker.io/v1/``, so Hub
    credentials held by a helper reach it under no route at all, unless a
    podman auth file has its own copy.
    """
    where = str(config.path)
    held = [c for c in report.credentials if c.source == where and c.store.startswith("helper ")]
    helper = config.creds_store
    keys = sorted(
        c.key
        for c in held
        if helper
        and c.store == f"helper {helper}"
        and c.key not in config.cred_helpers
        and c.key != DOCKER_HUB
    )
    if keys:
        report.add(
            "warning",
            f"podman, skopeo and buildah cannot see the credentials for {', '.join(keys)}: {where} "
            f"sends them to docker-credential-{helper} through credsStore, which they ignore; "
            f"'regcred migrate --to {helper} {' '.join(keys)}' adds the credHelpers routes they read",
        )
    podman_has_hub = any(
        c.source != where and c.store == "file" and _registry_key(c.key) == DOCKER_HUB
        for c in report.credentials
    )
    hub = next((c for c in held if c.key == DOCKER_HUB), None)
    if hub is not None and not podman_has_hub:
        report.add(
            "warning",
            f"podman, skopeo and buildah cannot see the Docker Hub credentials in "
            f"docker-credential-{hub.store.removeprefix('helper ')}: they look Docker Hub up as "
            f"docker.io, and docker's config.json routes only {DOCKER_HUB}; "
            "'podman login docker.io' gives them their own copy",
        )


def _env_credentials(report: Report, router: Router) -> None:
    """``$DOCKER_AUTH_CONFIG``'s keys: docker and regcred read them before config.json."""
    if router.env is None:
        return
    held = router.env.list()
    for key, user in held.items():
        report.credentials.append(Location(key, user, "env", ENV))
    if held:
        report.add(
            "warning",
            f"DOCKER_AUTH_CONFIG is set: docker and regcred use its credentials for "
            f"{', '.join(sorted(held))} before anything config.json stores (podman does not read it)",
        )


def _routed_keys(router: Router, helper: str) -> list[str]:
    """The keys config.json sends to ``helper``: its ``{}`` markers and its ``credHelpers`` keys."""
    config = router.config
    keys = {e.key for e in config.entries() if not e.has_secret and router.helper_name(e.key) == helper}
    keys |= {k for k, h in config.cred_helpers.items() if h == helper}
    return sorted(keys)


def _orphans(report: Report, router: Router, backends: dict[str, Backend]) -> None:
    """Secrets in a native store that config.json no longer routes to (podman drops credsStore)."""
    from regcred.stores.helper import find_helper

    configured = set(router.helpers())
    for known in _catalog.KNOWN:
        backend = backends.get(known.backend)
        if backend is None or backend.state != "ok" or configured & known.helpers:
            continue
        for helper in sorted(known.helpers):
            if find_helper(helper) is None:
                continue
            try:
                held = router.helper(helper).list()
            except CredentialStoreError:
                break
            keys = sorted(k for k in held if router.helper_name(k) != helper)
            if keys:
                report.add(
                    "warning",
                    f"docker-credential-{helper} holds credentials for {', '.join(keys)}, but "
                    f"{router.config.path} does not send them to it (podman rewrites the file without "
                    f'credsStore), so nothing uses them: set "credsStore": "{helper}" again, or '
                    f"'regcred login' each registry anew",
                )
            break  # one name per backend: they share one store


def _empty_cred_helpers(report: Report, config: _config.Config) -> None:
    """``credHelpers[key] == ""``: "the file" for docker, a helper named "docker-credential-" for podman."""
    for key, helper in config.cred_helpers.items():
        if not helper:
            report.add(
                "broken",
                f'{config.path} has credHelpers["{key}"] = "": docker reads {key} from the file, '
                "but podman, skopeo and buildah run a program named 'docker-credential-' and fail "
                f"every request to {key}, anonymous pulls included; remove the entry (and keep "
                f"{key} in the credsStore helper, or move everything with 'regcred migrate --to file')",
            )


def _list_helper(
    report: Report, router: Router, helper: str, backends: dict[str, Backend], where: str
) -> tuple[dict[str, str] | None, str]:
    """What ``helper`` holds for the keys routed to it (None: it cannot say), and its state.

    A broken store is reported, and still asked to ``list`` (pass lists without
    gpg): what ``regcred list`` shows, doctor shows too.
    """
    from regcred.stores.helper import find_helper

    if find_helper(helper) is None:
        report.add(
            "broken",
            f"{where} names the credential helper docker-credential-{helper}, which is not "
            "on PATH: the credentials it should hold cannot be read or stored; install it, or "
            "move them ('regcred migrate --to STORE') and change credsStore / credHelpers",
        )
        return None, "not-on-path"
    known = _catalog.for_helper(helper)
    state = "ok"
    if known is not None and known.backend in backends and backends[known.backend].state != "ok":
        backend = backends[known.backend]
        report.add(
            "broken",
            f"docker-credential-{helper} is configured but the {known.title} is not usable: {backend.detail}",
        )
        state = backend.state
        if state in _FAILING:  # asking it again would hang or fail the same way
            return None, state
    try:
        return router.held_by(helper), state
    except CredentialStoreError as exc:
        if state == "ok":
            report.add("broken", f"cannot list the credentials in docker-credential-{helper}: {exc}")
            state = "error"
        return None, state


def _podman_credentials(report: Report, config: _config.Config, docker_users: dict[str | None, str]) -> None:
    where = str(config.path)
    for stored, user in FileStore(config.path, config=config).list().items():
        report.credentials.append(Location(stored, user, "file", where))
        key = _registry_key(stored)
        if key is None or key not in docker_users:
            continue
        theirs = docker_users[key]
        if theirs != user:
            report.add(
                "warning",
                f"{where} and docker's config disagree about {key}: podman and skopeo log in "
                f"as {user!r}, docker and regcred as {theirs!r}; "
                f"'podman logout {stored}' or log in again with both",
            )
        else:
            report.add(
                "warning",
                f"{where} shadows docker's credentials for {key} (same user {user!r}): podman "
                "and skopeo read their copy first, so a password changed with docker login "
                f"goes unseen there; 'podman logout {stored}' removes the copy",
            )
    _empty_cred_helpers(report, config)
    for key, helper in config.cred_helpers.items():
        if helper:
            from regcred.stores.helper import find_helper

            missing = find_helper(helper) is None
            state = "not-on-path" if missing else "ok"
            report.credentials.append(Location(key, "", f"helper {helper}", where, state))
            if missing:
                report.add(
                    "broken",
                    f"{where} names docker-credential-{helper} for {key}, which is not on PATH",
                )


def _registry_key(key: str) -> str | None:
    """The docker key for a stored key, or None for a namespaced one (``quay.io/org``)."""
    host = stored_host(key)
    if host is None:
        return None
    try:
        return normalize(host)
    except AddressError:
        return None


def _login_store(report: Report, config: _config.Config, backends: dict[str, Backend]) -> None:
    try:
        choice = Router(config).where_new(_PROBE_KEY)
    except RegcredError as exc:
        report.login_store, report.login_why = "unknown", str(exc)
        return
    report.login_store = f"helper {choice.helper}" if choice.helper else "file"
    report.login_why = choice.why
    known = _catalog.for_helper(choice.helper)
    if known is not None and known.backend in backends:
        backends[known.backend].used_by.append("regcred login")
    if not choice.helper:
        report.add(
            "warning",
            "regcred login would store new credentials unencrypted in "
            f"{config.path}: {choice.why or 'no helper is configured'}",
        )


# -- backends ------------------------------------------------------------------


def _backends(config: _config.Config | None, report: Report) -> dict[str, Backend]:
    named: set[str] = set()
    if config is not None:
        named = set(Router(config).helpers())
    result = {}
    for known in _catalog.reported(named):  # regcred --version shows the same rows
        users = sorted(named & known.helpers)
        try:
            status = known.status()
        except RegcredError as exc:  # a bad setting, already among the problems
            status = StoreStatus("error", str(exc))
        result[known.backend] = Backend(known.backend, status.state, status.detail, users)
        report.backends.append(result[known.backend])
        if status.state in _FAILING:
            # Present but not working: every program that uses it will fail or hang.
            report.add("broken", f"the {known.title} does not work here: {status.detail}")
        elif status.state in _DEGRADED and not users:
            report.add("warning", f"the {known.title} is {status.state}: {status.detail}")
    return result


#: Backend states that are a problem whoever uses the backend (a store that is
#: merely absent, such as no-bus or not-initialized, is not).
_FAILING = frozenset({"failing", "not-answering"})
#: States worth a warning even when nothing uses the backend yet (when something
#: does, the helper's own check reports it as broken).
_DEGRADED = frozenset({"unreachable", "key-missing"})


# -- text ----------------------------------------------------------------------


def render_text(report: Report) -> str:
    """The report for humans."""
    out = ["Config files:"]
    for f in report.files:
        state = f.permissions or f"mode {f.mode}, directory {f.dir_mode}" if f.exists else "not present"
        out.append(f"  {f.role:<7} {f.path}  ({state})")
    out.append("Credentials:")
    if not report.credentials:
        out.append("  none stored")
    width = max((len(c.key) for c in report.credentials), default=0)
    for c in report.credentials:
        where = f"in {c.source}" if c.store == "file" else f"{c.store} (named in {c.source})"
        if c.store == "env":
            where = f"in {c.source} (before every store)"
        label = HUB_TOKEN_KEYS.get(c.key)
        state = f" [store {c.state}]" if c.state != "ok" else ""
        line = f"  {c.key:<{width}}  {c.username or '-'}  {where}{state}"
        out.append(line + (f" ({label})" if label else ""))
    out.append("Stores:")
    for b in report.backends:
        used = f" [used by {', '.join(b.used_by)}]" if b.used_by else ""
        out.append(f"  {_catalog.by_backend(b.name).title}: {b.state}{used}: {b.detail}")
    out.append(f"regcred login would store new credentials in: {report.login_store}")
    if report.login_why:
        out.append(f"  ({report.login_why})")
    if report.problems:
        out.append("Problems:")
        out.extend(f"  {p.severity}: {p.message}" for p in report.problems)
    if report.healthy:
        out.append("Healthy." if not report.problems else "Healthy, with warnings.")
    else:
        out.append("Something is broken or unsafe (exit status 1).")
    # Keys, usernames and paths come from files anyone may have written.
    return "\n".join(printable(line) for line in out) + "\n"
