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
no copy is left that config.json does not route to.  ``regcred migrate``
(``--resume`` explicitly), ``login``, ``logout``, ``doctor``, ``list``,
``get`` and ``export`` resume a pending journal before doing their own work.
"""

from __future__ import annotations

import json
import os

from regcred import _config
from regcred.errors import ConfigError, CredentialsNotFoundError, CredentialStoreError, RegcredError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

__all__ = ["Journal", "MigrateLock", "journal_path", "pending", "resume"]

#: Not ``.regcred-…``: config.json's own writers remove ``.config.json.regcred-*.tmp``
#: (their stale temp files), which would then include the journal's temp files.
SUFFIX = ".migrate-journal"
_VERSION = 1


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

        from regcred._files import _make_dir, flock, lock_timeout, open_lock_file

        deadline = time.monotonic() + (lock_timeout() if self.wait else 0.0)
        _make_dir(os.path.dirname(self.path) or ".", ConfigError)
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


class Journal:
    """What one migration is doing, as written to the journal file."""

    def __init__(self, config_path: Path, target: str, moves: list[dict[str, Any]]) -> None:
        self.config_path = config_path
        self.path = journal_path(config_path)
        self.target = target  # "" = config.json
        self.moves = moves  # {"key": K, "prior": bool, "erase": [[store, key], ...]}
        self.step = ""

    def write(self, step: str) -> None:
        """Record ``step`` (replacing the file atomically, ``0600``, fsynced)."""
        from regcred._files import atomic_write

        self.step = step
        data = {"regcredMigrate": _VERSION, "to": self.target, "step": step, "moves": self.moves}
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

    @classmethod
    def read(cls, config_path: Path) -> Journal | None:
        path = journal_path(config_path)
        try:
            with open(path, "rb") as f:
                raw = f.read(16 * 1024 * 1024)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw)
            target = data["to"]
            moves = data["moves"]
            ok = (
                data.get("regcredMigrate") == _VERSION and isinstance(target, str) and isinstance(moves, list)
            )
            for move in moves if ok else ():
                ok = ok and isinstance(move.get("key"), str) and isinstance(move.get("prior"), bool)
                ok = ok and all(isinstance(s, str) and isinstance(k, str) for s, k in move.get("erase", []))
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            raise ConfigError(
                f"{path} is not a regcred migrate journal; move it away and run 'regcred doctor'"
            )
        journal = cls(config_path, target, moves)
        journal.step = str(data.get("step", ""))
        return journal


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
        journal = Journal.read(config_path)
        if journal is None:
            return None
        return _settle(journal, say)
    finally:
        lock.release()


def _settle(journal: Journal, say: Callable[[str], None]) -> str:
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
                if helper_for(config, source_key) == store:
                    continue  # config.json (still, or again) reads it there
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
    """Whether config.json sends ``key`` to ``target`` (for the file: and holds it there)."""
    if helper_for(config, key) != target:
        return False
    if target:
        return True
    entry = config.entry(key)
    return entry is not None and entry.has_secret


def _shares_item(move: dict[str, Any], target: str, same_backend: Callable[[str, str], bool]) -> bool:
    """The target copy is the source itself (two names for one backend, same key)."""
    return any(k == move["key"] and same_backend(s, target) for s, k in move.get("erase", []))
