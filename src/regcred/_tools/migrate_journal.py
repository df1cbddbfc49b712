"""The journal of a ``regcred migrate`` in progress, and finishing an interrupted one.

Before changing anything, migrate writes ``config.json.migrate-journal``
beside config.json (``0600``, through :func:`regcred._files.atomic_write`):
the target store, and per moved registry the canonical key, whether the
target already held that key, and the helper-held sources (store, key) to
erase once config.json routes the key to the target.  **It holds no secret**:
until the last step every source still holds its credential, so nothing has
to be kept to finish or undo the move.  The journal is updated with the
current step and removed when the migration is complete or undone.

While it runs, migrate holds ``flock`` on ``config.json.migrate-journal.lock``
(not the config lock: login and logout may still run, as they always could).
A journal whose lock is free was left by a migrate that died (SIGKILL, a
power cut, a rollback that failed).  :func:`resume` settles it one registry at
a time by what config.json says *now*, so a concurrent change is never undone:

* config.json routes the key to the target (the switch landed): the move is
  completed: each recorded source that config.json no longer routes to is
  erased (``not found`` counts as erased);
* it does not (the switch never landed, or was rolled back): the move is
  undone: the target's copy is erased unless the target held that key before
  (then it is left: its old value cannot be put back without keeping a
  secret here) or config.json routes the key to the target after all.

Either way every credential stays readable where config.json says it is, and
no copy is left that config.json does not route to.  Two helper names of one
backend (``regcred-secretservice`` and ``secretservice``) are one store here:
a copy config.json reads through either name is never erased.

**Trust** (issue 17 #10, #11).  A journal is acted on only when it proves it
was written by a regcred migrate that held the migrate lock:

* it is a regular file (a FIFO, device or socket is refused without being
  opened, so nothing hangs), owned by the user running regcred (or root),
  with no permission for group or others (regcred writes it ``0600``);
* it has this format version and well-formed moves, whose sources are
  spellings of the move's own key;
* its run id, 128 random bits, equals the record the run wrote into the lock
  file ``config.json.migrate-journal.lock`` while holding its ``flock``, and
  the lock file (same owner and mode rules) is the very file, by inode, that
  the run held.  A journal planted or copied beside config.json (a restored
  backup, an unpacked archive, a CI cache) names another run or another lock
  file, and forging one needs the user's own rights, which could erase the
  credentials directly.

A journal that fails a check is reported (``regcred doctor``, and one line on
stderr) and never executed; ``migrate`` refuses to run beside it.  Only a
writing command settles a journal: ``regcred migrate`` (``--resume``
explicitly), ``login`` and ``logout``.  The read-only ones (``get``, ``list``,
``doctor``, ``export``, ``exec``, the kubelet provider,
:func:`regcred.get_credentials`) only say that one is pending.
"""

from __future__ import annotations

import contextlib
import json
import os

from regcred import _config
from regcred.errors import ConfigError, CredentialsNotFoundError, CredentialStoreError, RegcredError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

__all__ = [
    "Journal",
    "MigrateLock",
    "UntrustedJournalError",
    "inspect",
    "journal_path",
    "pending",
    "resume",
    "settle",
]

#: Not ``.regcred-…``: config.json's own writers remove ``.config.json.regcred-*.tmp``
#: (their stale temp files), which would then include the journal's temp files.
SUFFIX = ".migrate-journal"
_VERSION = 2
#: What a run writes into the lock file while it holds the lock: a fixed-size record.
_RECORD = b"regcred-migrate-run %s\n"
_RUN_ID_BYTES = 16
_RECORD_SIZE = len(_RECORD % (b"0" * 2 * _RUN_ID_BYTES))


class UntrustedJournalError(ConfigError):
    """A file at the journal's path that regcred cannot prove a migrate of its own wrote."""


def journal_path(config_path: Path) -> str:
    """``<dir>/config.json.migrate-journal``: beside ``config_path`` (not beside a symlink's target)."""
    return os.fspath(config_path) + SUFFIX


def pending(config_path: Path) -> bool:
    """Whether a journal exists (cheap: one ``lstat``)."""
    return os.path.lexists(journal_path(config_path))


class MigrateLock:
    """``flock`` on ``config.json.migrate-journal.lock``, held for a whole migrate or resume."""

    def __init__(self, config_path: Path, *, wait: bool) -> None:
        self.path = journal_path(config_path) + ".lock"
        self.wait = wait
        self.fd = -1

    def acquire(self) -> bool:
        """True when held; False when another migrate holds it and ``wait`` is off (or it timed out)."""
        import time

        from regcred._files import flock, lock_timeout, make_private_dir, open_lock_file

        deadline = time.monotonic() + (lock_timeout() if self.wait else 0.0)
        make_private_dir(os.path.dirname(self.path) or ".", ConfigError)
        try:
            fd = open_lock_file(self.path)
        except OSError as exc:
            raise ConfigError(f"cannot lock {self.path}: {exc.strerror}") from None
        try:
            held = flock(fd, deadline)
        except OSError as exc:
            os.close(fd)
            raise ConfigError(f"cannot lock {self.path}: {exc.strerror}") from None
        if not held:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the flock
            self.fd = -1

    def stamp(self, run: str) -> int:
        """Record ``run`` in the held lock file (``""`` clears it); returns the lock file's inode."""
        if self.fd < 0:  # pragma: no cover - every journal is written under the lock
            raise ConfigError(f"{self.path} is not held")
        record = _RECORD % run.encode() if run else b" " * _RECORD_SIZE
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(self.fd, 0o600)  # a journal is trusted only beside a private lock file
            os.lseek(self.fd, 0, os.SEEK_SET)
            os.write(self.fd, record)
            os.ftruncate(self.fd, _RECORD_SIZE)
            os.fsync(self.fd)
            return os.fstat(self.fd).st_ino
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror}") from None


class Journal:
    """What one migration is doing, as written to the journal file."""

    def __init__(
        self,
        config_path: Path,
        target: str,
        moves: list[dict[str, Any]],
        *,
        run: str = "",
        lock_inode: int = 0,
        lock: MigrateLock | None = None,
    ) -> None:
        self.config_path = config_path
        self.path = journal_path(config_path)
        self.target = target  # "" = config.json
        self.moves = moves  # {"key": K, "prior": bool, "erase": [[store, key], ...]}
        self.step = ""
        self.run = run  # the run id, also recorded in the lock file
        self.lock_inode = lock_inode  # the lock file the run held
        self.lock = lock  # held by this process: remove() clears the record

    @classmethod
    def start(cls, config_path: Path, target: str, moves: list[dict[str, Any]], lock: MigrateLock) -> Journal:
        """A new run's journal: a fresh run id, recorded in the held ``lock`` before any journal exists."""
        import secrets

        run = secrets.token_hex(_RUN_ID_BYTES)
        return cls(config_path, target, moves, run=run, lock_inode=lock.stamp(run), lock=lock)

    def write(self, step: str) -> None:
        """Record ``step`` (replacing the file atomically, ``0600``, fsynced)."""
        from regcred._files import atomic_write

        self.step = step
        data = {
            "regcredMigrate": _VERSION,
            "run": self.run,
            "lock": self.lock_inode,
            "to": self.target,
            "step": step,
            "moves": self.moves,
        }
        body = json.dumps(data, indent=1, ensure_ascii=True).encode() + b"\n"
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror}") from None
        else:
            import stat

            if not stat.S_ISREG(st.st_mode):
                raise ConfigError(f"{self.path} is not a regular file; remove it and run migrate again")
        atomic_write(self.path, body)
        os.chmod(self.path, 0o600)  # a new file is 0600 already; an old one keeps no other mode

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ConfigError(f"cannot remove {self.path}: {exc.strerror}") from None
        if self.lock is not None and self.lock.fd >= 0:
            with contextlib.suppress(ConfigError):  # tidiness only: no journal names this run now
                self.lock.stamp("")

    @classmethod
    def read(cls, config_path: Path, lock: MigrateLock | None = None) -> Journal | None:
        """The journal beside ``config_path``, or None; raises :class:`UntrustedJournalError`.

        ``lock``, when this process holds it, is where the run id is checked;
        otherwise the lock file is read (never created, never locked).
        """
        path = journal_path(config_path)
        raw = _read_private(path, 1024 * 1024)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        version = data.get("regcredMigrate") if isinstance(data, dict) else None
        if isinstance(version, int) and version != _VERSION:
            raise _untrusted(path, f"was written by a regcred with another journal format ({version})")
        try:
            journal = cls._parse(config_path, data) if isinstance(data, dict) else None
        except (ValueError, KeyError, TypeError, AttributeError):
            journal = None
        if journal is None:
            raise _untrusted(path, "is not a regcred migrate journal")
        journal.step = str(data.get("step", ""))
        record = _lock_record(journal_path(config_path) + ".lock", lock)
        if record is None or record != (journal.lock_inode, _RECORD % journal.run.encode()):
            raise _untrusted(path, "names a run that the migrate lock file does not record")
        journal.lock = lock
        return journal

    @classmethod
    def _parse(cls, config_path: Path, data: dict[str, Any]) -> Journal | None:
        from regcred._tools.migrate_plan import canonical
        from regcred.stores.helper import valid_helper_name

        target, moves, run, inode = data["to"], data["moves"], data["run"], data["lock"]
        ok = (
            data.get("regcredMigrate") == _VERSION
            and isinstance(target, str)
            and (target == "" or valid_helper_name(target))
            and isinstance(moves, list)
            and isinstance(run, str)
            and len(run) == 2 * _RUN_ID_BYTES
            and all(c in "0123456789abcdef" for c in run)
            and isinstance(inode, int)
            and inode > 0
        )
        for move in moves if ok else ():
            key = move.get("key")
            ok = ok and isinstance(key, str) and isinstance(move.get("prior"), bool)
            for store, source in move.get("erase", []) if ok else ():
                # Only other spellings of the move's own key, in a helper (never "the file").
                ok = ok and isinstance(store, str) and valid_helper_name(store)
                ok = ok and isinstance(source, str) and canonical(source) == key
        return cls(config_path, target, moves, run=run, lock_inode=inode) if ok else None


def inspect(config_path: Path) -> str | None:
    """What a read-only command says about a journal (one line), or None when there is none.

    Reads the journal and the lock file; never writes, erases, locks or creates anything.
    """
    path = journal_path(config_path)
    for _attempt in range(3):
        before = _identity(path)
        if before is None:
            return None
        try:
            Journal.read(config_path)
        except ConfigError as exc:
            if _identity(path) != before:
                continue  # rewritten or removed meanwhile by a migrate at work: look again
            return str(exc)
        break
    return (
        f"an interrupted migrate is pending ({journal_path(config_path)}): credentials may sit in two "
        "stores; 'regcred migrate --resume' finishes or undoes it"
    )


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _untrusted(path: str, why: str) -> UntrustedJournalError:
    return UntrustedJournalError(
        f"{path} {why}: regcred did not act on it; move it away "
        "('regcred doctor' shows where each credential is)"
    )


def _read_private(path: str, limit: int) -> bytes | None:
    """The bytes of ``path`` if it is a private regular file of ours; None when it does not exist.

    Checked with ``lstat`` before opening, so a FIFO, device or socket is never
    opened (nothing blocks, no device is touched), and again on the descriptor.
    """
    import stat

    from regcred._files import describe_mode

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _untrusted(path, f"cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise _untrusted(path, f"is {describe_mode(st.st_mode)}, not a regular file")
    _check_owner(path, st)
    flags = os.O_RDONLY
    for name in ("O_NOFOLLOW", "O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, name, 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _untrusted(path, f"cannot be read ({exc.strerror})") from None
    with open(fd, "rb") as f:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(now.st_mode):
            raise _untrusted(path, "was replaced while it was read")
        return f.read(limit)


def _check_owner(path: str, st: os.stat_result) -> None:
    """Owned by us (or root), no access for group or others: where the system has modes."""
    from regcred._system import has_modes

    if not has_modes() or not hasattr(os, "geteuid"):
        return
    if st.st_uid not in {os.geteuid(), 0}:
        raise _untrusted(path, f"is owned by uid {st.st_uid}, not by you")
    if st.st_mode & 0o077:
        raise _untrusted(path, f"has mode {st.st_mode & 0o7777:04o} (regcred writes it 0600)")


def _lock_record(path: str, lock: MigrateLock | None) -> tuple[int, bytes] | None:
    """(inode, record) of the lock file: through the held ``lock``, else read-only; None if absent."""
    if lock is not None and lock.fd >= 0:
        try:
            st = os.fstat(lock.fd)
            _check_owner(path, st)  # the same rules as when it is read without the lock
            os.lseek(lock.fd, 0, os.SEEK_SET)
            return st.st_ino, os.read(lock.fd, _RECORD_SIZE)
        except UntrustedJournalError:
            return None
        except OSError as exc:
            raise _untrusted(path, f"cannot be checked ({exc.strerror})") from None
    try:
        raw = _read_private(path, _RECORD_SIZE)
        inode = os.lstat(path).st_ino
    except (FileNotFoundError, UntrustedJournalError):
        return None  # no lock file, or one that is not ours: it records no run
    return None if raw is None else (inode, raw)


def resume(config_path: Path, *, wait: bool, say: Callable[[str], None] = lambda _line: None) -> str | None:
    """Settle a journal left by an interrupted migrate (see the module docstring).

    Returns what was done (one phrase) or None when there was nothing to
    resume, or when ``wait`` is off and a migrate is running right now.
    Raises :class:`~regcred.errors.CredentialStoreError` when a step fails;
    the journal is then kept for the next try.
    """
    lock = MigrateLock(config_path, wait=wait)
    if not lock.acquire():
        if wait:
            raise ConfigError(f"another regcred migrate is still running on {config_path}")
        return None
    try:
        journal = Journal.read(config_path, lock)
        if journal is None:
            return None
        return settle(journal, say)
    finally:
        lock.release()


def settle(journal: Journal, say: Callable[[str], None]) -> str:
    from regcred.stores._catalog import same_backend
    from regcred.stores._router import helper_for, helper_store

    config = _config.load(journal.config_path)
    target = journal.target
    there = f"docker-credential-{target}" if target else str(journal.config_path)
    failed: list[str] = []
    completed = undone = 0

    def erase(store: str, key: str) -> None:
        try:
            helper_store(store).erase(key)
        except CredentialsNotFoundError:
            pass
        except RegcredError as exc:
            failed.append(f"erase {key} from docker-credential-{store}: {exc}")

    for move in journal.moves:
        key = move["key"]
        if _routed_to(config, key, target, helper_for):
            completed += 1
            for store, source_key in move.get("erase", []):
                live = helper_for(config, source_key)
                if live and same_backend(live, store):
                    continue  # config.json (still, or again) reads it there, under this name or another
                if source_key == key and target and same_backend(store, target):
                    continue  # the same item as the copy just made
                erase(store, key=source_key)
        else:
            undone += 1
            if target and not move["prior"] and not _shares_item(move, target, same_backend):
                erase(target, key)
    if failed:
        raise CredentialStoreError(
            "could not finish the interrupted migrate: " + "; ".join(failed)
            + "; fix that and run 'regcred migrate --resume'"
        )  # fmt: skip
    journal.remove()
    if completed and not undone:
        done = f"completed the interrupted migrate of {completed} credential(s) to {there}"
    elif undone and not completed:
        done = f"undid the interrupted migrate to {there} ({undone} credential(s) left where they were)"
    else:
        done = f"settled the interrupted migrate to {there}: {completed} moved, {undone} left where they were"
    say(done)
    return done


def _routed_to(config: _config.Config, key: str, target: str, helper_for: Callable[..., str]) -> bool:
    """Whether config.json sends ``key`` to ``target``'s store (for the file: and holds it there).

    Two helper names of one backend are one store: config.json reading ``key``
    through ``regcred-secretservice`` reads the item a migrate ``to secretservice``
    made, so that copy is live, never an undone move's leftover.
    """
    from regcred.stores._catalog import same_backend

    routed = helper_for(config, key)
    if target:
        return bool(routed) and same_backend(routed, target)
    if routed:
        return False
    entry = config.entry(key)
    return entry is not None and entry.has_secret


def _shares_item(move: dict[str, Any], target: str, same_backend: Callable[[str, str], bool]) -> bool:
    """The target copy is the source itself (two names for one backend, same key)."""
    return any(k == move["key"] and same_backend(s, target) for s, k in move.get("erase", []))
