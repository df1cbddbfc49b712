"""What ``regcred migrate`` moves where: the plan, made without reading any secret.

The rules (which credentials move, how keys are canonicalised, how
config.json routes each moved registry afterwards) are described in
:mod:`regcred._tools.migrate`, which carries a plan out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from regcred._address import is_repository_key, normalize, registry_of, stored_host
from regcred.errors import (
    AddressError,
    CredentialsNotFoundError,
    RegcredError,
    StoreUnavailableError,
)
from regcred.stores._router import helper_for, helper_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from regcred import _config

__all__ = [
    "Move",
    "Plan",
    "Source",
    "canonical",
    "check_helper",
    "describe_config",
    "helper_store",
    "make_plan",
    "stays_in_file",
]


@dataclass(frozen=True, slots=True)
class Source:
    """One stored credential: where it is, under which key."""

    key: str  # as stored
    store: str  # "" = config.json, else a helper name
    username: str


@dataclass
class Move:
    """One registry's move: the copy that moves, and other spellings of it."""

    key: str  # canonical key in the target
    source: Source
    duplicates: list[Source] = field(default_factory=list)


@dataclass
class Plan:
    """Everything a migration will do; ``migrate --dry-run`` prints it and stops."""

    target: str  # "" = config.json
    moves: list[Move] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    creds_store: str | None = None  # new credsStore; "" removes it; None leaves it
    routes: dict[str, str | None] = field(default_factory=dict)  # credHelpers; None deletes
    skipped: dict[str, str] = field(default_factory=dict)  # key -> why it stays
    kept_in_file: list[str] = field(default_factory=list)  # per-repository keys (also in skipped)
    notes: list[str] = field(default_factory=list)  # what else the user should know


def make_plan(config: _config.Config, target: str, wanted: list[str]) -> Plan:
    """Which credentials move where, and the config.json routing afterwards (no secret read)."""
    sources = _inventory(config, wanted)
    groups: dict[str, list[Source]] = {}
    for source in sources:
        key = canonical(source.key)
        if not wanted or key in wanted:
            groups.setdefault(key, []).append(source)
    for key in wanted:
        if key not in groups:
            raise CredentialsNotFoundError(f"no credentials stored for {key}")
    plan = Plan(target)
    for key in list(groups):
        pinned = config.cred_helpers.get(key)
        # credHelpers[key] == credsStore is the route login writes for podman's sake, not a choice.
        if not wanted and pinned is not None and pinned != config.creds_store:
            # An explicit per-registry choice: moved only when named.
            del groups[key]
            where = f'"{pinned}"' if pinned else '"" (the file)'
            plan.skipped[key] = f"credHelpers routes it to {where}; name it to move it"
    if target:
        _keep_repositories_in_file(plan, groups, sources)
    for key, group in groups.items():
        group.sort(key=lambda s: _preference(config, key, s))
        primary = group[0]
        # The file answers for every spelling of a registry; a helper only for the exact key.
        if primary.store == target and (primary.key == key or not target):
            plan.already.append(key)
        else:
            plan.moves.append(Move(key, primary, group[1:]))
    if not wanted and not (target and plan.kept_in_file and not config.creds_store):
        plan.creds_store = target
    elif not wanted:
        plan.notes.append(
            "credsStore is left unset: docker would ask docker-credential-"
            f"{target} for {', '.join(sorted({registry_of(k)[0] for k in plan.kept_in_file}))} "
            "and never read the per-repository keys in the file; the moved registries get "
            "credHelpers routes"
        )
    elif not target and config.creds_store:
        _leave_creds_store(config, plan, sources, groups)
    _route(config, plan, groups)
    if plan.creds_store == config.creds_store:
        plan.creds_store = None
    return plan


def _keep_repositories_in_file(plan: Plan, groups: dict[str, list[Source]], sources: list[Source]) -> None:
    """Per-repository keys stay in config.json, and so does their registry's own key.

    docker and podman read a ``host/ns/repo`` key only from the file's
    ``auths`` (a helper is only ever asked for a host, and containers/image
    refuses a namespaced key for one), so in a helper it would serve nobody.
    Routing the host itself to a helper (``credHelpers``) would hide those keys
    from both, so the host's key stays beside them too.
    """
    staying = stays_in_file([source.key for source in sources if not source.store])
    for key in [k for k in groups if k in staying and is_repository_key(k)]:
        del groups[key]
        plan.kept_in_file.append(key)
        plan.skipped[key] = REPOSITORY_STAYS
    for key in [k for k in groups if k in staying]:
        del groups[key]
        plan.skipped[key] = (
            f"per-repository keys of {key} stay in the file, and routing {key} to a "
            "helper would hide them; 'regcred logout' them first to move it"
        )


REPOSITORY_STAYS = (
    "a per-repository key stays in the file: docker and podman read it only there "
    "(a credential helper is only asked for a registry's host)"
)


def stays_in_file(keys: Iterable[str]) -> set[str]:
    """Which of config.json's ``keys`` ``migrate --to HELPER`` leaves there (canonical spellings).

    The per-repository keys, and the keys of their registries (see
    :func:`_keep_repositories_in_file`); ``doctor`` asks the same question.
    """
    canon = {canonical(key) for key in keys}
    repositories = {key for key in canon if is_repository_key(key)}
    hosts = {registry_of(key)[0] for key in repositories}
    return repositories | (canon & hosts)


def _leave_creds_store(
    config: _config.Config, plan: Plan, sources: list[Source], groups: dict[str, list[Source]]
) -> None:
    """Named registries to the file beside a ``credsStore``: drop it, keeping every other key's route.

    docker would go on asking the ``credsStore`` helper for a key moved to the
    file; the one exemption it knows, ``credHelpers[key] = ""``, makes podman,
    skopeo and buildah run a program named ``docker-credential-`` and fail every
    request to that registry, anonymous pulls included (issue 10 #2).  So
    ``credsStore`` goes, and every other key it answered for gets the
    ``credHelpers`` route ``regcred login`` writes: docker reads each of them
    where it did, and podman now sees them too.
    """
    helper = config.creds_store
    plan.creds_store = ""
    for source in sources:
        moved = canonical(source.key) in groups
        if source.store == helper and not moved and source.key not in config.cred_helpers:
            plan.routes[source.key] = helper
    plan.notes.append(
        f"credsStore goes, or docker would keep asking docker-credential-{helper} for "
        f"{', '.join(groups)}; the registries it still holds keep credHelpers routes to it, "
        f"and a new login goes to the file until credsStore is set again"
    )


def _route(config: _config.Config, plan: Plan, groups: dict[str, list[Source]]) -> None:
    """The ``credHelpers`` changes: each moved key routed to the target as login routes it.

    To a helper: ``credHelpers[key]`` = the helper for every key, even where
    ``credsStore`` already names it, because podman, skopeo and buildah ignore
    ``credsStore`` (issue 17 #1).  To the file: the key's ``credHelpers`` entry
    goes (``""`` pins too, once no ``credsStore`` is left to exempt the key from).
    """
    target = plan.target
    new_store = config.creds_store if plan.creds_store is None else plan.creds_store
    helpers = config.cred_helpers
    for key in groups:
        route = helpers.get(key)
        if target:
            if route != target:
                plan.routes[key] = target
        elif route is not None and (route or not new_store):
            plan.routes[key] = None


def canonical(key: str) -> str:
    """The key docker asks a store for: ``https://host/v1/`` → ``host``; namespaced keys kept."""
    host = stored_host(key)
    if host is None:
        return key
    try:
        return normalize(host)
    except AddressError:
        return key


def _inventory(config: _config.Config, wanted: list[str]) -> list[Source]:
    found = [Source(e.key, "", e.shown_username) for e in config.entries() if e.has_secret]
    helpers = {config.creds_store} if config.creds_store else set()
    if wanted:
        helpers |= {h for k in wanted if (h := helper_for(config, k))}
        helpers |= {h for k, h in config.cred_helpers.items() if h and canonical(k) in wanted}
    for helper in sorted(helpers):
        check_helper(helper)
        for key, user in helper_store(helper).list().items():
            if helper_for(config, key) == helper:
                found.append(Source(key, helper, user))
    return found


def _preference(config: _config.Config, key: str, source: Source) -> tuple[int, int, str]:
    """Sort key: the spelling docker uses first (the routed helper, the exact file key)."""
    in_use = bool(source.store) and source.key == key and helper_for(config, key) == source.store
    spelling = 0 if source.key == key else 1 if source.key.startswith("https://") else 2
    return (0 if in_use else 1, spelling, source.key)


def describe_config(plan: Plan) -> list[str]:
    """The config.json changes of ``plan``, one phrase each."""
    out = []
    if plan.creds_store == "":
        out.append("remove credsStore")
    elif plan.creds_store is not None:
        out.append(f'set credsStore to "{plan.creds_store}"')
    for key, route in plan.routes.items():
        if route is None:
            out.append(f'remove credHelpers["{key}"]')
        else:
            out.append(f'set credHelpers["{key}"] to "{route}"')
    return out


def check_helper(name: str) -> None:
    """Raise unless ``name`` is a valid helper name with an executable on PATH."""
    from regcred.stores.helper import find_helper, valid_helper_name

    if not valid_helper_name(name):
        raise RegcredError(f"invalid store {name!r}: use 'file' or a credential helper name")
    if find_helper(name) is None:
        raise StoreUnavailableError(f"docker-credential-{name} not found on PATH; install it first")
