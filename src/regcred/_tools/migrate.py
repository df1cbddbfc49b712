"""``regcred migrate``: move credentials between config.json and credential helpers.

What moves:

* with no SERVER: every plaintext credential in config.json and everything
  the ``credsStore`` helper holds.  Registries routed by ``credHelpers`` are
  explicit per-registry choices (often token generators such as ``gcloud``
  or ``ecr-login``) and stay where they are unless named;
* with SERVER…: the credentials of those registries (``_registry.normalize``),
  wherever they are, ``credHelpers`` included;
* to a helper, never a per-repository key (``host/ns/repo``) or its host's
  key: docker and podman read such a key only from the file
  (:func:`~regcred._tools.migrate_plan.stays_in_file`), and ``credsStore`` is
  left unset while one stays there.

Keys are canonicalised on the way (``https://host/v1/`` → ``host``, Hub aliases
→ ``https://index.docker.io/v1/``), because a helper is asked for exactly the
key docker uses.  When one registry has several spellings, the one in use is
moved; other spellings with the same credentials are removed, different ones
are left where they are and reported.

config.json afterwards routes every moved registry to the new store, as docker
reads it (``credHelpers[key]``, else ``credsStore``), and as podman, skopeo and
buildah read it (``credHelpers[key]`` only: they ignore ``credsStore``):

* no SERVER, to a helper: ``credsStore`` = STORE;
* no SERVER, to ``file``: ``credsStore`` is removed;
* SERVER… to ``file`` beside a ``credsStore``: ``credsStore`` is removed too
  (docker would go on asking its helper for them, and the one exemption docker
  knows, ``credHelpers[key] = ""``, breaks podman for the key); every other key
  that helper holds gets a ``credHelpers`` route to it, so nothing else moves;
* then, per moved key, to a helper: ``credHelpers[key]`` = STORE, the route
  ``regcred login`` writes, even where ``credsStore`` already is STORE; to
  ``file``: the key's ``credHelpers`` entry is removed.

A helper-held key keeps docker's ``{}`` marker in ``auths``, an entry moved to
the file gets ``auth`` (or ``identitytoken`` for an identity token); unknown
keys and fields survive.

Order and safety: every source credential is read first; then copied to the
target and read back and compared; then config.json is updated in one locked
atomic write and read back through the normal lookup; only then are the
sources erased and the target checked once more (two helper names may share
one backend, e.g. ``regcred-pass`` and ``pass``).  Any failure undoes the
completed steps in reverse: the target's previous contents are put back,
erased sources re-stored, and config.json rewritten with its original bytes,
so every credential stays readable where it was.  Each undo is registered
before its step runs (and is harmless if the step never did), so an
interrupt anywhere is undone; SIGTERM and SIGHUP are handled as Ctrl-C
(:class:`Interrupted`).  If config.json was changed by someone else after
the switch, it is left as it is and each registry is settled by what it says.

Before the first change a journal without secrets is written, and one
migrate at a time holds its lock: a migrate killed outright (SIGKILL) is
finished or undone by the next writing command, or ``migrate --resume``, once
the journal proves it is regcred's own (:mod:`regcred._tools.migrate_journal`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from regcred import _config
from regcred._address import normalize
from regcred._tools.migrate_journal import MigrateLock, pending
from regcred._tools.migrate_plan import (
    Plan,
    Source,
    canonical,
    check_helper,
    describe_config,
    make_plan,
)
from regcred.credentials import TOKEN_USERNAME, Credentials
from regcred.errors import (
    ConfigError,
    CredentialsNotFoundError,
    CredentialStoreError,
    RegcredError,
    UsageError,
)
from regcred.stores._router import helper_store
from regcred.stores.file import set_entry
from regcred.stores.native import helper_credentials

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from types import FrameType

    from regcred._tools.migrate_journal import Journal
    from regcred.credentials import CredentialStore

__all__ = ["Interrupted", "Plan", "migrate", "resume_migrate"]

FILE = "file"


def migrate(
    to: str,
    servers: Sequence[str] = (),
    *,
    dry_run: bool = False,
    config_dir: str | os.PathLike[str] | None = None,
    say: Callable[[str], None] = lambda _line: None,
) -> Plan:
    """Move credentials to ``to`` (``"file"`` or a helper name); see the module docstring."""
    target = "" if to == FILE else to
    if to != FILE:
        from regcred.stores.helper import valid_helper_name

        if not valid_helper_name(to):  # the caller's mistake ("" too), not the config's
            raise UsageError(f"invalid store {to!r}: use 'file' or a credential helper name")
        check_helper(target)
    path = _config.config_path(config_dir)
    # A FIFO or a device: refused (as _config.update does) before a lock file is made beside it.
    _config._is_regular(path)  # noqa: SLF001
    with _Interruptible() as signals, _migrate_lock(path) as lock:
        if dry_run and pending(path):
            from regcred._tools.migrate_journal import inspect

            say(inspect(path) or "an interrupted migrate is pending; 'regcred migrate --resume' settles it")
        elif not dry_run:
            _settle_pending(path, lock, say)  # a journal regcred cannot trust stops the migrate here
        return _migrate(target, servers, path, config_dir, dry_run, say, signals, lock)


def resume_migrate(
    *, config_dir: str | os.PathLike[str] | None = None, say: Callable[[str], None] = lambda _line: None
) -> bool:
    """Settle an interrupted migrate (``regcred migrate --resume``); False when none was pending."""
    path = _config.config_path(config_dir)
    with _Interruptible(), _migrate_lock(path) as lock:
        return _settle_pending(path, lock, say)


def _settle_pending(path: Path, lock: MigrateLock, say: Callable[[str], None]) -> bool:
    from regcred._tools.migrate_journal import Journal, settle

    journal = Journal.read(path, lock)
    if journal is None:
        return False
    settle(journal, say)
    return True


def _migrate(
    target: str,
    servers: Sequence[str],
    path: Path,
    config_dir: str | os.PathLike[str] | None,
    dry_run: bool,
    say: Callable[[str], None],
    signals: _Interruptible,
    lock: MigrateLock,
) -> Plan:
    config = _config.load(path)
    plan = make_plan(config, target, [normalize(s) for s in servers])
    there = _where(target, path)
    for move in plan.moves:
        verb = "would move" if dry_run else "moving"
        say(f"{verb} {move.key} ({_who(move.source.username)}) from "
            f"{_where(move.source.store, path)} to {there}")  # fmt: skip
    for key in plan.already:
        say(f"{key} is already in {there}")
    for key, why in plan.skipped.items():
        say(f"leaving {key}: {why}")
    for note in plan.notes:
        say(note)
    changes = describe_config(plan)
    if dry_run:
        say(f"would update {path}: {'; '.join(changes)}" if changes else f"{path}: no change")
        return plan
    if not plan.moves and not changes:
        say("nothing to migrate")
        return plan
    run = _Run(plan, path, config, config_dir, lock)
    run.execute(signals)
    for source in run.left:
        say(f"left {source.key} in {_where(source.store, path)}: it holds other credentials "
            f"than the {canonical(source.key)} that was moved; 'regcred logout' removes it")  # fmt: skip
    if changes:
        say(f"updated {path}: {'; '.join(changes)}")
    say(f"migrated {len(plan.moves)} credential(s) to {there}")
    return plan


# -- signals and the migrate lock -----------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP during a migrate: handled as Ctrl-C is (undo, then exit 128+N)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.note = ""

    def __str__(self) -> str:
        import signal

        name = signal.Signals(self.signum).name
        return f"interrupted by {name}; {self.note}" if self.note else f"interrupted by {name}"


class _Interruptible:
    """For the duration of a migrate, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`.

    Python's defaults let SIGTERM and SIGHUP kill the process without running
    any ``except``/``finally``, so the rollback never ran.  The old handlers
    are put back on exit.  :meth:`deferred` holds signals back (remembering
    them) while a rollback runs.  Outside the main thread, where Python
    cannot install handlers, nothing is changed.
    """

    def __init__(self) -> None:
        self.old: dict[int, object] = {}
        self.holding = False
        self.pending = 0

    def __enter__(self) -> _Interruptible:  # noqa: PYI034 - Self needs typing at run time
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                self.old[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for signum, old in self.old.items():
            signal.signal(signum, old)  # type: ignore[arg-type]
        self.old.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.holding:
            self.pending = self.pending or signum
            return
        raise Interrupted(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False


@contextlib.contextmanager
def _migrate_lock(path: Path) -> Iterator[MigrateLock]:
    """One migrate (or resume) at a time per config.json; see :mod:`regcred._tools.migrate_journal`."""
    lock = MigrateLock(path, wait=True)
    if not lock.acquire():
        raise ConfigError(f"timed out waiting for another regcred migrate of {path} to finish")
    try:
        yield lock
    finally:
        lock.release()


# -- execution -----------------------------------------------------------------


class _Run:
    """One migration: every step registers its undo *before* it changes anything.

    An undo must be harmless when its step never ran (restoring what is
    already there), so that an interrupt landing anywhere, even between a
    change and the line after it, is undone.  The journal
    (:mod:`regcred._tools.migrate_journal`) is written before the first change,
    for the case where no undo can run at all (SIGKILL).
    """

    def __init__(
        self,
        plan: Plan,
        path: Path,
        config: _config.Config,
        config_dir: str | os.PathLike[str] | None,
        lock: MigrateLock,
    ) -> None:
        self.plan, self.path, self.config, self.config_dir = plan, path, config, config_dir
        self.lock = lock  # held: the journal's run id is recorded in it
        self.undo: list[tuple[str, Callable[[], None]]] = []
        self.creds: dict[str, Credentials] = {}  # canonical key -> what must arrive
        self.erase: list[tuple[Source, Credentials]] = []  # sources to remove
        self.left: list[Source] = []  # other spellings holding other credentials
        self.priors: dict[str, Credentials | None] = {}  # what the target held before
        self.journal: Journal | None = None

    def execute(self, signals: _Interruptible) -> None:
        try:
            self._read_sources()
            self._start_journal()
            if self.plan.target:
                self._copy_to_helper()
            self._update_config()
            self._erase_sources()
        except BaseException as exc:  # Ctrl-C, SIGTERM, SIGHUP too: never leave a half-done migration
            with signals.deferred():  # a second signal must not cut the rollback short
                self._rollback(exc)
                if isinstance(exc, Interrupted):
                    exc.note = "the migration was undone"
            raise
        self._end_journal()

    def _start_journal(self) -> None:
        from regcred._tools.migrate_journal import Journal

        if self.plan.target:
            store = helper_store(self.plan.target)
            listed = store.list()
            self.priors = {key: _get_or_none(store, key) if key in listed else None for key in self.creds}
        moves = []
        for move in self.plan.moves:
            erase = [[s.store, s.key] for s, _ in self.erase if s.store and canonical(s.key) == move.key]
            moves.append({"key": move.key, "prior": self.priors.get(move.key) is not None, "erase": erase})
        self.journal = Journal.start(self.path, self.plan.target, moves, self.lock)
        self.journal.write("copying" if self.plan.target else "switching")

    def _end_journal(self) -> None:
        if self.journal is not None:
            self.journal.remove()

    def _read_sources(self) -> None:
        for move in self.plan.moves:
            creds = self._read(move.source)
            moved = Credentials(move.key, creds.username, creds.secret, creds.identity_token)
            self.creds[move.key] = helper_credentials(moved) if self.plan.target else moved
            self.erase.append((move.source, creds))
            for dup in move.duplicates:
                try:
                    other = self._read(dup)
                except _VanishedError:
                    continue  # another spelling, logged out meanwhile: nothing of it to move or erase
                if (other.username, other.secret) == (creds.username, creds.secret):
                    self.erase.append((dup, other))
                else:
                    self.left.append(dup)

    def _read(self, source: Source) -> Credentials:
        if source.store:
            try:
                return helper_store(source.store).get(source.key)
            except CredentialsNotFoundError:  # a logout since the plan was made: nothing is changed yet
                raise _VanishedError(
                    f"{_where(source.store, self.path)} changed while migrating: it no longer holds "
                    f"{source.key} (logged out meanwhile?); nothing was moved, run regcred migrate again"
                ) from None
        entry = self.config.entry(source.key)
        found = entry.credentials() if entry is not None else None
        if found is None:  # pragma: no cover - planned from this config
            raise CredentialsNotFoundError(f"no credentials stored for {source.key}")
        return found

    def _copy_to_helper(self) -> None:
        store = helper_store(self.plan.target)
        for key, creds in self.creds.items():
            self.undo.append((f"restore {key} in {self._there}", _restorer(store, key, self.priors[key])))
            store.store(creds)
            _compare(creds, store.get(key), self._there)

    def _update_config(self) -> None:
        original = self.config.raw

        def change(c: _config.Config) -> None:
            if c.raw != original:
                raise ConfigError(f"{self.path} changed while migrating; run regcred migrate again")
            for source, _ in self.erase:
                if not source.store and source.key not in self.creds:  # other spellings
                    c.remove_auth(source.key)
            for key, creds in self.creds.items():
                if self.plan.target:
                    c.set_marker(key)
                else:
                    set_entry(c, creds)
            _apply_routes(c, self.plan)
            written = c.render()
            # Registered before _config.update writes: an interrupt between the
            # replace and the next line must still put the original back.
            self.undo.append((f"restore {self.path}", lambda: _restore(self.path, original, written)))

        if self.journal is not None:
            self.journal.write("switching")
        _config.update(self.path, change)
        self._verify()

    def _erase_sources(self) -> None:
        if self.journal is not None:
            self.journal.write("erasing")
        for source, creds in self.erase:
            # Erasing the key just written through another name of the same backend
            # would erase the copy too.
            same_item = source.key in self.creds and _same_backend(source.store, self.plan.target)
            if source.store and not same_item:
                where = _where(source.store, self.path)
                self.undo.append((f"put {source.key} back in {where}", _restorer(
                    helper_store(source.store), source.key, creds)))  # fmt: skip
                helper_store(source.store).erase(source.key)
        if self.plan.target:
            store = helper_store(self.plan.target)
            for key, creds in self.creds.items():  # two names for one backend?
                try:
                    _compare(creds, store.get(key), self._there)
                except CredentialStoreError:
                    store.store(creds)
        self._verify()

    def _verify(self) -> None:
        """Read every moved credential back the way docker and regcred will."""
        from regcred._lookup import get_credentials

        for key, creds in self.creds.items():
            if not self.plan.target:
                entry = _config.load(self.path).entry(key)
                back = entry.credentials() if entry is not None else None
                _compare(creds, back or Credentials(key, "", ""), str(self.path))
            found = get_credentials(key, config_dir=self.config_dir, podman=False)
            if found is None:
                raise CredentialStoreError(f"{key} cannot be found after the move")
            _compare(creds, found, "the lookup")

    def _rollback(self, cause: BaseException) -> None:
        failed = []
        for what, step in reversed(self.undo):
            try:
                step()
            except (RegcredError, OSError) as exc:
                failed.append(f"{what}: {exc}")
                if what == self._config_undo:
                    # config.json was changed by someone else after our switch, and
                    # is left as it is: the copies made before it may be what it
                    # routes to now.  Settle each key by what config.json says.
                    self._settle_by_journal(failed)
                    break
        if not failed and self.journal is not None:
            try:
                self.journal.remove()
            except ConfigError as exc:
                failed.append(str(exc))
        if failed:
            raise CredentialStoreError(
                f"migration failed ({str(cause) or type(cause).__name__}) and could not be fully undone: "
                + "; ".join(failed)
                + "; run 'regcred doctor' to see where each credential is"
            ) from cause

    def _settle_by_journal(self, failed: list[str]) -> None:
        from regcred._tools.migrate_journal import settle

        if self.journal is None:  # pragma: no cover - written before the first change
            return
        try:
            failed.append(settle(self.journal, lambda _line: None))
        except (RegcredError, OSError) as exc:
            failed.append(str(exc))

    @property
    def _config_undo(self) -> str:
        return f"restore {self.path}"

    @property
    def _there(self) -> str:
        return _where(self.plan.target, self.path)


def _apply_routes(c: _config.Config, plan: Plan) -> None:
    if plan.creds_store == "":
        for name in [k for k in c.data if k.lower() == "credsstore"]:
            del c.data[name]
    elif plan.creds_store is not None:
        c.set_creds_store(plan.creds_store)
    if not plan.routes:
        return
    name = next((k for k in c.data if k.lower() == "credhelpers"), "credHelpers")
    helpers = c.data.setdefault(name, {})
    for key, route in plan.routes.items():
        if route is None:
            helpers.pop(key, None)
        else:
            helpers[key] = route
    if not helpers:
        del c.data[name]


def _restore(path: Path, original: bytes | None, written: bytes | None) -> None:
    """Put config.json's original bytes back, unless someone changed it since we wrote it.

    The same lock and atomic replace as every config writer
    (:mod:`regcred._files`): the file's mode and owner are kept, and a
    config.json that is a mount point is rewritten in place.
    """
    from regcred._files import Locked, atomic_write

    target = Path(os.path.realpath(path))
    with Locked(target):
        current = _config.read_raw(target)
        if current == original:
            return  # the write never landed (or was undone already)
        if current != written:
            raise ConfigError(f"{path} was changed by someone else meanwhile; left as it is now")
        if original is None:
            try:
                target.unlink(missing_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot restore {path}: {exc.strerror}") from None
            return
        atomic_write(target, original)


def _restorer(store: CredentialStore, key: str, prior: Credentials | None) -> Callable[[], None]:
    if prior is None:
        return lambda: store.erase(key)
    return lambda: store.store(prior)


def _compare(expected: Credentials, got: Credentials, where: str) -> None:
    if (got.username, got.secret, got.identity_token) != (
        expected.username,
        expected.secret,
        expected.identity_token,
    ):
        # Never say how they differ: that would leak part of a secret.
        raise CredentialStoreError(
            f"{where} returned different credentials for {expected.server} when read back; nothing was moved"
        )


def _same_backend(a: str, b: str) -> bool:
    """Two helper names that keep credentials in the same place (erasing one erases both)."""
    from regcred.stores._catalog import same_backend

    return same_backend(a, b)


class _VanishedError(ConfigError):
    """A credential the plan found is gone from its helper before it was read (a racing logout)."""


def _get_or_none(store: CredentialStore, key: str) -> Credentials | None:
    """``store.get(key)``, None when it is not there (listed a moment ago, logged out since)."""
    try:
        return store.get(key)
    except CredentialsNotFoundError:
        return None


def _where(store: str, path: Path) -> str:
    return f"docker-credential-{store}" if store else str(path)


def _who(username: str) -> str:
    return "identity token" if username == TOKEN_USERNAME else username
