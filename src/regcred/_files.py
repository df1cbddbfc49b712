"""Writing files safely: one lock, one atomic replace, one private output file.

Every file regcred writes goes through here: ``config.json``
(:func:`regcred._config.update` and migrate's rollback), pass's ``.gpg``
files, the Secret Service store's lock and ``export -o``.  Only ``os``,
``errno``, ``stat`` and ``time`` are imported (``fcntl``, ``msvcrt`` and
``socket`` when used), so the helpers can afford it.  Nothing here needs
``fcntl`` at import time: the module, and every client command, works on
Windows, where it does not exist.

**The lock** (:class:`Locked`, around a re-read, change and
:func:`atomic_write` of ``<dir>/<name>``).  Every writer takes, in this order
and polling both for ``REGCRED_LOCK_TIMEOUT`` seconds (default 30):

1. ``flock`` on the directory ``<dir>`` itself.  It is the one object every
   process that may replace ``<name>`` can open, and it needs no file of its
   own: nobody can plant it, own it, or point it elsewhere.  Because every
   writer locks it, two writers always contend on the same object, whatever
   they could or could not open besides.
2. ``flock`` on the sidecar ``<name>.lock``, for older regcred versions (which
   locks only the sidecar) and for file systems that cannot ``flock`` a
   directory (NFS).  It is opened with ``O_NOFOLLOW | O_NONBLOCK`` and must be
   a regular file, so a symlink planted there is never followed (its target
   is neither created nor touched) and a FIFO never blocks us.  When root
   creates it in a directory owned by another user (``sudo -E regcred
   login``), it is given to that user, who can then open it later.  An
   existing sidecar we cannot open (a root-owned ``0600`` one left by an
   older version, a symlink, a FIFO) is skipped: the directory lock alone
   already excludes every current writer, so the write goes ahead.

Only when neither can be locked is it an error.  Older versions take only
the sidecar, we take the directory and then the sidecar: no cycle, no deadlock.

**On Windows** a directory cannot be opened as a file, so there is no
directory lock: every writer locks the sidecar ``<name>.lock`` with
``msvcrt.locking`` (a byte-range lock on its first byte, polled with
``LK_NBLCK`` until the same deadline).  The rule is the same on every
system: every writer contends on one object, here the sidecar, so an
unopenable sidecar is an error instead of being skipped.  Windows
byte-range locks belong to the handle, so two writers in one process
exclude each other too, as ``flock`` on two descriptors does.  The standard
library is enough: ``portalocker`` or ``filelock`` wrap these same two calls
(``flock`` / ``msvcrt.locking``) and would add a dependency and start-up cost
to every helper for nothing; neither retries ``os.replace``.

**The atomic replace** (:func:`atomic_write`): a temp file in the target's
directory, created ``0600`` with ``O_EXCL`` before any byte is written, then
``fsync``, ``rename`` and an ``fsync`` of the directory.  A SIGKILL at any
point leaves the old file or the new one; temp files left by a killed writer
are removed by the next write under the lock.  The target's mode is kept (and
its owner when root rewrites a user's file).  Callers pass the real path, so
a symlink to it stays a symlink.  A target that is itself a mount point
(``EBUSY``/``EXDEV`` on rename: ``docker run -v ~/.docker/config.json:…``, a
Kubernetes ``subPath``) is rewritten in place instead, still under the lock.
A target that exists and is not a regular file (a FIFO, a device, a socket)
is never written.  On Windows an open ``config.json`` (an editor, a virus
scanner, docker reading it) makes the rename fail with a sharing violation
(``winerror`` 5 or 32); it is retried for up to :data:`REPLACE_RETRY_SECONDS`
before it is an error.  File modes and owners are set only where the system
has them (not on Windows, whose ACLs the new file inherits from the directory).

**A private output file** (:func:`write_private`, for ``export -o``): a
regular file or a new path gets the atomic replace, ``0600`` whatever the
umask (a new path's missing directories are created ``0700``, as for the
config directory); a FIFO, a character device, ``/dev/stdout``, ``/dev/fd/N`` or a socket
is opened and written into, never renamed over and never ``chmod``\\ ed.

**A private directory** (:func:`make_private_dir`, the one way regcred
creates a directory): ``0700`` whatever the umask, missing parents too;
an existing one is left as it is.

Errors are :class:`~regcred.errors.ConfigError` unless the caller names
another class: one line, naming the file, never its content.
"""

from __future__ import annotations

import errno
import os
import stat
import time

from regcred._settings import lock_timeout
from regcred.errors import ConfigError, RegcredError

__all__ = [
    "DirectoryLock",
    "Locked",
    "atomic_write",
    "describe_mode",
    "flock",
    "has_modes",
    "lock_timeout",
    "make_private_dir",
    "open_lock_file",
    "unlock",
    "write_private",
]

TYPE_CHECKING = False  # typing costs start-up time; annotations are strings here
if TYPE_CHECKING:
    from typing import TypeAlias

    StrPath: TypeAlias = "str | os.PathLike[str]"
    ErrorClass: TypeAlias = "type[RegcredError]"

# The flags each system has (Windows has none of the POSIX ones, and needs O_BINARY
# or os.write turns "\n" into "\r\n").
_CLOEXEC = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0) | getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_LOCK_FLAGS = os.O_RDWR | _CLOEXEC | _NOFOLLOW | _NONBLOCK
_TEMP_MARK = ".regcred-"
#: How long a rename refused by a Windows sharing violation is retried.
REPLACE_RETRY_SECONDS = 2.0
_SHARING_VIOLATIONS = frozenset({5, 32})  # ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION
_rename = os.replace  # the seam tests/test_portable.py replaces with a model of Windows


def flock(fd: int, deadline: float) -> bool:
    """An exclusive ``flock`` on ``fd``, polled until ``deadline`` (monotonic); False on timeout.

    On Windows, ``msvcrt.locking`` of the file's first byte instead
    (:func:`_lock_region`).  Any other failure (a file system that cannot
    lock this object) is the ``OSError`` it is.
    """
    from regcred import _system

    if _system.is_windows():
        return _lock_region(fd, deadline)
    import fcntl

    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        else:
            return True


def _lock_region(fd: int, deadline: float) -> bool:
    """Windows: lock byte 0 of ``fd`` (``LK_NBLCK``), polled until ``deadline``; False on timeout.

    ``msvcrt.locking`` fails with ``EACCES`` (or ``EDEADLOCK``) while another
    handle holds the byte; the lock is released by :func:`unlock` or when
    ``fd`` is closed.
    """
    import msvcrt

    busy = {errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK), errno.EDEADLK}
    while True:
        os.lseek(fd, 0, os.SEEK_SET)  # msvcrt.locking locks from the current position
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError as exc:
            if exc.errno not in busy:
                raise
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        else:
            return True


def unlock(fd: int) -> None:
    """Release the lock :func:`flock` took on ``fd`` before closing it (Windows wants it explicit)."""
    from regcred import _system

    if not _system.is_windows():
        return  # closing releases a flock
    import msvcrt

    try:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]
    except OSError:
        pass  # closing the handle releases it as well


def open_lock_file(path: StrPath, owner: tuple[int, int] | None = None) -> int:
    """Open the lock file ``path``, creating it ``0600`` (then owned by ``owner``) if missing.

    Never through a symlink, never anything but a regular file, never a
    blocking open; an existing file is never ``chown``\\ ed.  Raises ``OSError``.
    """
    try:
        fd = os.open(path, _LOCK_FLAGS)
    except FileNotFoundError:
        try:
            fd = os.open(path, _LOCK_FLAGS | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another writer created it just now
            fd = os.open(path, _LOCK_FLAGS)
        else:
            if owner is not None and hasattr(os, "fchown"):
                try:
                    os.fchown(fd, *owner)
                except OSError:
                    pass
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(errno.EINVAL, f"{describe_mode(mode)}, not a regular file")
    return fd


class DirectoryLock:
    """``flock`` on a directory itself, held while entries in it change; leaves no file behind."""

    def __init__(self, directory: StrPath, *, error: ErrorClass = ConfigError) -> None:
        self.directory = os.fspath(directory)
        self.error = error
        self.fd = -1

    def __enter__(self) -> None:
        """Take the lock, or raise ``error`` after :func:`lock_timeout` seconds."""
        try:
            self.fd = os.open(self.directory, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
            locked = flock(self.fd, time.monotonic() + lock_timeout())
        except OSError as exc:
            self._close()
            raise self.error(f"cannot lock {self.directory}: {exc.strerror}") from None
        if not locked:
            self._close()
            raise self.error(
                f"timed out waiting for the lock on {self.directory}; is another regcred still running?"
            )

    def __exit__(self, *exc: object) -> None:
        """Release the lock."""
        self._close()

    def _close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the flock
            self.fd = -1


class Locked:
    """The lock every writer of ``target`` takes: its directory, then ``<target>.lock``.

    See the module docstring for why both, and what happens when one of
    them cannot be opened; on Windows only ``<target>.lock``, which must then
    be locked.
    """

    def __init__(self, target: StrPath, *, error: ErrorClass = ConfigError) -> None:
        self.target = os.fspath(target)
        self.lock_path = self.target + ".lock"
        self.directory = os.path.dirname(self.target) or "."
        self.error = error
        self.fds: list[int] = []

    def __enter__(self) -> None:
        """Take both locks (creating the directory ``0700`` if missing), or raise ``error``."""
        timeout = lock_timeout()  # a bad REGCRED_LOCK_TIMEOUT fails before anything is created
        make_private_dir(self.directory, self.error)
        deadline = time.monotonic() + timeout
        from regcred import _system

        # Windows cannot open (so cannot lock) a directory: the sidecar is the one object.
        steps = (self._take_sidecar,) if _system.is_windows() else (self._take_directory, self._take_sidecar)
        try:
            problems = [p for p in (step(deadline) for step in steps) if p]
        except BaseException:
            self._release()
            raise
        if not self.fds:
            raise self.error(f"cannot lock {self.target}: {'; '.join(problems)}")

    def __exit__(self, *exc: object) -> None:
        """Release the locks."""
        self._release()

    def _take_directory(self, deadline: float) -> str:
        """Lock the directory; the reason if it cannot be locked here."""
        try:
            fd = os.open(self.directory, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except OSError as exc:
            return f"{self.directory}: {exc.strerror}"
        return self._hold(fd, deadline, self.directory)

    def _take_sidecar(self, deadline: float) -> str:
        """Lock ``<target>.lock`` if we can open it; the reason if not."""
        try:
            fd = open_lock_file(self.lock_path, _owner_for(self.target, self.directory))
        except OSError as exc:
            return f"{self.lock_path}: {exc.strerror}"
        return self._hold(fd, deadline, self.lock_path)

    def _hold(self, fd: int, deadline: float, what: str) -> str:
        try:
            locked = flock(fd, deadline)
        except OSError as exc:  # e.g. NFS cannot flock a directory
            os.close(fd)
            return f"{what}: {exc.strerror}"
        self.fds.append(fd)
        if not locked:
            raise self.error(f"timed out waiting for {what}; is another regcred still running?")
        return ""

    def _release(self) -> None:
        while self.fds:
            fd = self.fds.pop()
            unlock(fd)
            os.close(fd)  # closing releases the flock


def _owner_for(target: str, directory: str) -> tuple[int, int] | None:
    """Who a lock file root creates should belong to: the directory's (or file's) owner."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    for path in (directory, target):
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_uid != 0:
            return st.st_uid, st.st_gid
    return None


def make_private_dir(
    path: StrPath,
    error: ErrorClass = ConfigError,
    *,
    parents: bool = True,
    dir_fd: int | None = None,
    shown: str = "",
) -> bool:
    """Create the directory ``path``, ``0700`` whatever the umask; whether ``path`` itself was new.

    The one way regcred makes a directory: the config directory, ``export
    -o``'s missing directories, the migrate journal's, the pass store's
    folders and ``exec``'s directories.  An existing directory (or a symlink
    to one) is left as it is, mode included.  With ``parents`` each missing
    parent is created the same way (``0700``, as ``os.makedirs`` does not).
    With ``dir_fd``, ``path`` is one name in that open directory and no
    parent is created: ``exec`` makes its job directories so, inside the
    directory it opened ``O_NOFOLLOW`` and checked, so that no path is looked
    up again between the check and the ``mkdir``.  Errors are one line of
    ``error`` naming ``shown`` (default: ``path``).
    """
    name = os.fspath(path)
    if dir_fd is not None and parents:
        raise ValueError("make_private_dir: dir_fd creates one name; pass parents=False")
    missing = [name]
    if parents:
        missing = []
        parent = name
        while parent and not os.path.isdir(parent):
            missing.append(parent)
            up = os.path.dirname(parent)
            if up == parent:
                break
            parent = up
    created = False
    try:
        for new in reversed(missing):
            try:
                os.mkdir(new, 0o700, dir_fd=dir_fd)
            except FileExistsError:
                created = False
                continue
            created = True
            if has_modes():
                os.chmod(new, 0o700, dir_fd=dir_fd)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise error(f"cannot create {shown or name}: {exc.strerror or exc}") from None
    return created


# -- atomic replace ---------------------------------------------------------------


def describe_mode(mode: int) -> str:
    """``"a FIFO"``, ``"a character device"``…: what a non-regular file is, for messages."""
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symlink"),
    ):
        if test(mode):
            return kind
    return "a regular file" if stat.S_ISREG(mode) else "not a file"


def atomic_write(
    target: StrPath, data: bytes, *, temp_dir: StrPath | None = None, error: ErrorClass = ConfigError
) -> None:
    """Replace ``target`` (a real path, not a symlink) with ``data``, under a lock.

    Keeps the mode and owner, cleans stale temps; see the module docstring.
    The temp file is made in ``temp_dir`` (same file system) if given, else
    beside ``target``.
    """
    name = os.fspath(target)
    directory = os.fspath(temp_dir) if temp_dir is not None else os.path.dirname(name) or "."
    _replace(name, data, directory, keep=True, clean=True, error=error)


def _replace(target: str, data: bytes, temp_dir: str, *, keep: bool, clean: bool, error: ErrorClass) -> None:
    """The one atomic replace: ``keep`` the old mode and owner (else ``0600``), ``clean`` stale temps."""
    directory = os.path.dirname(target) or "."
    if clean:
        _remove_stale_temps(target, temp_dir)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise error(f"cannot write {target}: {exc.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise error(f"{target} is {describe_mode(st.st_mode)}, not a regular file; not writing it")
    tmp = os.path.join(temp_dir, f"{_temp_prefix(target)}{os.getpid()}-{time.monotonic_ns()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC | _NOFOLLOW, 0o600)
    except OSError as exc:
        raise error(f"cannot write {target}: {exc.strerror}") from None
    try:
        if not has_modes():
            pass  # Windows: the new file inherits the directory's ACL
        elif keep and st is not None:
            _copy_owner_and_mode(fd, st)
        else:
            os.fchmod(fd, 0o600)  # whatever the umask
        _write_all(fd, data)
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        _unlink_quietly(tmp)
        raise error(f"cannot write {target}: {exc.strerror}") from None
    os.close(fd)
    try:
        _replace_retrying(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        if exc.errno in {errno.EBUSY, errno.EXDEV}:
            # The target is itself a mount point (k8s subPath, docker -v file):
            # rename cannot work, so write in place, still under our lock.
            _write_in_place(target, data, error)
            return
        raise error(f"cannot replace {target}: {exc.strerror}") from None
    _fsync_dir(directory)


def _replace_retrying(source: str, target: str) -> None:
    """``os.replace``, retried while Windows refuses it for a sharing violation (module docstring)."""
    deadline = time.monotonic() + REPLACE_RETRY_SECONDS
    delay = 0.005
    while True:
        try:
            _rename(source, target)
        except OSError as exc:
            if getattr(exc, "winerror", None) not in _SHARING_VIOLATIONS or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        else:
            return


def has_modes() -> bool:
    """Whether this system has file modes to set (not Windows)."""
    from regcred import _system

    return _system.has_modes()


def _temp_prefix(target: str) -> str:
    """The name every temp file for ``target`` starts with (``.config.json.regcred-``)."""
    return f".{os.path.basename(target)}{_TEMP_MARK}"


def _copy_owner_and_mode(fd: int, st: os.stat_result) -> None:
    """Give the temp file behind ``fd`` the mode (and, for root, the owner) of the old file."""
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    # As docker does: give a user's file back to that user when root rewrites it.
    if hasattr(os, "geteuid") and os.geteuid() == 0 and st.st_uid > 0 and st.st_gid > 0:
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except OSError:
            pass


def _write_in_place(target: str, data: bytes, error: ErrorClass) -> None:
    """Truncate and rewrite ``target`` itself: for a target that cannot be renamed over."""
    try:
        fd = os.open(target, os.O_WRONLY | _CLOEXEC | _NOFOLLOW | _NONBLOCK)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise error(f"{target} is {describe_mode(mode)}, not a regular file; not writing it")
            os.ftruncate(fd, 0)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise error(f"cannot write {target}: {exc.strerror}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _remove_stale_temps(target: str, directory: str) -> None:
    """Temp files of ours can only be left by a writer that died holding the lock we hold now."""
    prefix = _temp_prefix(target)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            _unlink_quietly(os.path.join(directory, name))


def _unlink_quietly(path: str) -> None:
    """Remove ``path`` if possible; a failure leaves it for the next write to clean up."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable; best effort (not every file system allows it)."""
    if not has_modes():
        return  # Windows cannot open a directory; NTFS journals the rename itself
    try:
        fd = os.open(directory, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- private output ----------------------------------------------------------------

_STD_STREAMS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def write_private(path: StrPath, data: bytes, *, error: ErrorClass = RegcredError) -> None:
    """Write a secret to ``path`` as ``export -o`` does; see the module docstring.

    A regular file (through a symlink, the symlink stays) or a new path:
    the atomic replace, ``0600``.  ``/dev/stdout``, ``/dev/fd/N`` and the
    like: written into that descriptor.  A FIFO, character device or
    socket: opened and written into.  Nothing else (a directory, a block
    device) is written.
    """
    name = os.fspath(path)
    fd = _own_descriptor(name)
    try:
        if fd is not None:
            _write_all(fd, data)
            return
        try:
            st: os.stat_result | None = os.stat(name)
        except FileNotFoundError:
            st = None
        if st is None or stat.S_ISREG(st.st_mode):
            target = os.path.realpath(name) if st is not None else name
            if st is None:
                make_private_dir(os.path.dirname(target) or ".", error)
            _replace(target, data, os.path.dirname(target) or ".", keep=False, clean=False, error=error)
        elif stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
            _write_into(name, data, error)
        elif stat.S_ISSOCK(st.st_mode):
            _send_to_socket(name, data)
        else:
            raise error(f"cannot write {name}: it is {describe_mode(st.st_mode)}")
    except OSError as exc:
        raise error(f"cannot write {name}: {exc.strerror or exc}") from None


def _own_descriptor(name: str) -> int | None:
    """The descriptor ``name`` stands for (``/dev/stdout``, ``/dev/fd/3``, a link to one), or None."""
    path = os.path.abspath(name)
    for _ in range(40):  # the kernel's own limit on symlink hops
        fd = _STD_STREAMS.get(path)
        if fd is not None:
            return fd
        for prefix in ("/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", f"/proc/{os.getpid()}/fd/"):
            if path.startswith(prefix) and path[len(prefix) :].isdigit():
                return int(path[len(prefix) :])
        try:
            link = os.readlink(path)
        except OSError:  # not a symlink (or not there): an ordinary path
            return None
        path = os.path.normpath(os.path.join(os.path.dirname(path), link))
    return None


def _write_into(name: str, data: bytes, error: ErrorClass) -> None:
    """Open an existing FIFO or character device and write into it; never create or truncate."""
    fd = os.open(name, os.O_WRONLY | _CLOEXEC | getattr(os, "O_NOCTTY", 0))  # a FIFO waits for its reader
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):  # replaced by a regular file since we looked
            raise error(f"cannot write {name}: it changed while being opened; try again")
        _write_all(fd, data)
    finally:
        os.close(fd)


def _send_to_socket(name: str, data: bytes) -> None:
    """A Unix socket cannot be opened like a file: connect and send."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(name)
        sock.sendall(data)
