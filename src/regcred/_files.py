"""Writing one file safely: a sidecar lock, then an atomic, private replace.

Nothing here knows Docker's schema; :func:`regcred._config.update` is the
caller, and holds :class:`Locked` around its re-read, change and
:func:`atomic_write`.

* **Locked**: ``flock`` on a sidecar ``<target>.lock``, polled for
  ``REGCRED_LOCK_TIMEOUT`` seconds (default 30), so a read-modify-write
  under it never loses a parallel writer's change.
* **Atomic**: a temp file in the target's directory, created ``0600`` with
  ``O_EXCL`` before any byte is written, then ``fsync``, ``rename`` and an
  ``fsync`` of the directory.  A SIGKILL at any point leaves the old file or
  the new one.  Temp files left by a killed writer are removed by the next
  write.
* **Keeping** the target's mode (and its owner when root rewrites a user's
  file).  Callers pass the real path, so a symlink to it stays a symlink.
  A target that is itself a mount point (``EBUSY``/``EXDEV`` on rename) is
  rewritten in place instead, still under the lock.

Errors are :class:`~regcred.errors.ConfigError`: ``config.json`` is the one
file written this way.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from regcred._settings import lock_timeout
from regcred.errors import ConfigError

__all__ = ["Locked", "atomic_write"]


class Locked:
    """``flock`` on ``<target>.lock``, polled so a stuck holder cannot hang us forever."""

    def __init__(self, target: Path) -> None:
        self.lock_path = target.with_name(target.name + ".lock")
        self.fd = -1

    def __enter__(self) -> None:
        """Take the lock, creating the directory (``0700``) and the lock file if missing."""
        import fcntl

        timeout = lock_timeout()  # a bad REGCRED_LOCK_TIMEOUT fails before anything is created
        _make_dir(self.lock_path.parent)
        try:
            self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ConfigError(f"cannot create lock file {self.lock_path}: {exc.strerror}") from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    raise ConfigError(
                        f"timed out waiting for {self.lock_path}; is another regcred still running?"
                    ) from None
                time.sleep(0.005)
            else:
                return

    def __exit__(self, *exc: object) -> None:
        """Release the lock."""
        os.close(self.fd)  # closing releases the flock


def _make_dir(directory: Path) -> None:
    """Create ``directory`` and any missing parent, each ``0700`` whatever the umask."""
    if directory.is_dir():
        return
    missing = []
    for parent in (directory, *directory.parents):
        if parent.is_dir():
            break
        missing.append(parent)
    try:
        for new in reversed(missing):
            new.mkdir(mode=0o700, exist_ok=True)
            os.chmod(new, 0o700)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise ConfigError(f"cannot create {directory}: {exc.strerror}") from None


def _temp_prefix(target: Path) -> str:
    """The name every temp file for ``target`` starts with (``.config.json.regcred-``)."""
    return f".{target.name}.regcred-"


def atomic_write(target: Path, data: bytes) -> None:
    """Replace ``target`` (a real path, not a symlink) with ``data``; see the module docstring."""
    directory = target.parent
    _remove_stale_temps(target)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
    tmp = directory / f"{_temp_prefix(target)}{os.getpid()}-{time.monotonic_ns()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
    try:
        if st is not None:
            _copy_owner_and_mode(fd, st)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        _unlink_quietly(tmp)
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
    os.close(fd)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        if exc.errno in {errno.EBUSY, errno.EXDEV}:
            # config.json is itself a mount point (k8s subPath, docker -v file):
            # rename cannot work, so write in place, still under our lock.
            _write_in_place(target, data)
            return
        raise ConfigError(f"cannot replace {target}: {exc.strerror}") from None
    _fsync_dir(directory)


def _copy_owner_and_mode(fd: int, st: os.stat_result) -> None:
    """Give the temp file behind ``fd`` the mode (and, for root, the owner) of the old file."""
    import stat

    if not stat.S_ISREG(st.st_mode):
        return
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    # As docker does: give a user's file back to that user when root rewrites it.
    if os.geteuid() == 0 and st.st_uid > 0 and st.st_gid > 0:
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except OSError:
            pass


def _write_in_place(target: Path, data: bytes) -> None:
    """Truncate and rewrite ``target`` itself: for a target that cannot be renamed over."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None


def _remove_stale_temps(target: Path) -> None:
    """Temp files of ours can only be left by a writer that died holding the lock we hold now."""
    prefix = _temp_prefix(target)
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            _unlink_quietly(target.parent / name)


def _unlink_quietly(path: Path) -> None:
    """Remove ``path`` if possible; a failure leaves it for the next write to clean up."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable; best effort (not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
