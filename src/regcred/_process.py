"""The one way regcred runs a child program (credential helpers, gpg, git).

* **Absolute paths only.**  A bare name is resolved by :func:`which`, the one
  PATH lookup: it looks only in absolute ``PATH`` entries, never in an empty
  entry, ``.``, a relative entry or the current directory.  A name with a
  slash is the caller's explicit choice (``REGCRED_GPG=./gpg``) and is made
  absolute.
* **Bytes in, bytes out.**  ``stdin`` is written while stdout and stderr are
  read (no deadlock on big payloads); a child that exits without reading its
  input is fine.  Each of stdout and stderr is capped.
* **Bounded.**  The child starts in a new session, so in its own process
  group and with no controlling terminal.  On timeout, on output over the
  cap, and on any exception while it runs (Ctrl-C included) the whole group
  is killed with SIGKILL and the child is reaped before the error
  propagates, so nothing is left running or as a zombie.  On Linux so is
  every process below the child, in whatever group or session it started
  for itself (the pass helper's gpg, which this runner started in a session
  of its own from inside the helper): a hung gpg does not outlive the
  helper that ``regcred get`` stopped.  The group is stopped (SIGSTOP)
  while ``/proc`` is read, so it cannot start more meanwhile.
* **Cheap.**  ``os.posix_spawn`` and ``poll`` do what :mod:`subprocess` would,
  without importing it (subprocess, with threading, selectors, signal and
  locale, costs a helper about 5 ms of start-up).  Systems without
  ``posix_spawn`` (Windows) get a :mod:`subprocess` fallback.

Errors are :class:`ProcessError` subclasses (:class:`CannotStartError`,
:class:`ProgramNotFoundError`, :class:`ProcessTimeoutError`,
:class:`OutputTooLargeError`); each caller turns them into its own one-line
message.  None of them carries the child's input or output.
"""

from __future__ import annotations

import os
import time

from regcred.errors import RegcredError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "DEFAULT_OUTPUT_CAP",
    "CannotStartError",
    "OutputTooLargeError",
    "ProcessError",
    "ProcessTimeoutError",
    "ProgramNotFoundError",
    "Result",
    "run",
    "which",
]

#: Bytes of stdout (and, separately, of stderr) a child may write by default.
DEFAULT_OUTPUT_CAP = 4 * 1024 * 1024
_CHUNK = 65536
_SIGPIPE = 13  # signal.SIGPIPE on Linux and macOS; importing signal costs ~1 ms
_SIGKILL = 9
_SIGSTOP = 19  # Linux's number; sent only on Linux (see _kill_below)


class ProcessError(RegcredError):
    """A child program could not be run to completion."""


class CannotStartError(ProcessError):
    """The program could not be started (``reason`` is the OS's, e.g. "Permission denied")."""

    def __init__(self, program: str, reason: str) -> None:
        super().__init__(f"cannot run {program}: {reason}")
        self.program = program
        self.reason = reason


class ProgramNotFoundError(CannotStartError):
    """No such program (on the absolute ``PATH`` entries, or at the path given)."""

    def __init__(self, program: str) -> None:
        super().__init__(program, "not found" if os.sep in program else "not found on PATH")


class ProcessTimeoutError(ProcessError, TimeoutError):
    """The program did not finish within ``timeout`` seconds; its process group was killed."""

    def __init__(self, program: str, timeout: float) -> None:
        super().__init__(f"{program} did not finish within {timeout:g} s and was stopped")
        self.program = program
        self.timeout = timeout


class OutputTooLargeError(ProcessError):
    """The program wrote more than ``cap`` bytes on one stream; its process group was killed."""

    def __init__(self, program: str, cap: int) -> None:
        super().__init__(f"{program} wrote more than {cap} bytes and was stopped")
        self.program = program
        self.cap = cap


class Result:
    """How a child program ended: its exit code (``-N`` for signal N) and its output."""

    __slots__ = ("returncode", "stderr", "stdout")
    returncode: int
    stdout: bytes
    stderr: bytes

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    def __repr__(self) -> str:  # the output may hold a secret: show only its size
        sizes = f"stdout=<{len(self.stdout)} bytes>, stderr=<{len(self.stderr)} bytes>"
        return f"Result(returncode={self.returncode}, {sizes})"


def which(program: str, path: str | None = None) -> str | None:
    """Absolute path of the executable ``program``, or None.

    A bare name is looked up in the absolute entries of ``path`` (default:
    ``$PATH``); empty, ``.`` and relative entries are skipped, so the current
    directory is never searched.  A name with a slash is taken as given.
    """
    if not program:
        return None
    names = _with_extensions(program)
    if os.sep in program or (os.altsep and os.altsep in program):
        return next((f for f in map(os.path.abspath, names) if _executable(f)), None)
    search = os.environ.get("PATH", os.defpath) if path is None else path
    for entry in search.split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            continue  # never resolve through "", "." or a relative PATH entry
        for name in names:
            candidate = os.path.join(entry, name)
            if _executable(candidate):
                return candidate
    return None


def _with_extensions(program: str) -> list[str]:
    """The file names ``program`` may have: on Windows, as Go's ``exec.LookPath``, with ``%PATHEXT%``.

    A name that already ends in one of the extensions is tried as it is
    first; an extensionless file is never a Windows program.
    """
    from regcred import _system

    if not _system.is_windows():
        return [program]
    exts = [
        e if e.startswith(".") else f".{e}"
        for e in os.environ.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").split(";")
        if e
    ]
    names = [program] if os.path.splitext(program)[1].lower() in {e.lower() for e in exts} else []
    return names + [program + ext for ext in exts]  # Windows' file names ignore case


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def run(
    argv: Sequence[str],
    *,
    stdin: bytes = b"",
    env: Mapping[str, str] | None = None,
    timeout: float,
    output_cap: int = DEFAULT_OUTPUT_CAP,
) -> Result:
    """Run ``argv`` (``argv[0]`` resolved by :func:`which`) with ``stdin``; see the module docstring.

    Raises :class:`ProgramNotFoundError`, :class:`CannotStartError`, :class:`ProcessTimeoutError`
    or :class:`OutputTooLargeError`.  ``env`` defaults to ``os.environ``.
    """
    if not argv:
        raise ValueError("run() needs a program")
    name = argv[0]
    program = which(name)
    if program is None:
        raise ProgramNotFoundError(name)
    environ = dict(os.environ if env is None else env)
    if not hasattr(os, "posix_spawn"):  # pragma: no cover - not a POSIX system
        return _run_portable(program, [name, *argv[1:]], stdin, environ, timeout, output_cap)
    return _run_posix(program, [name, *argv[1:]], stdin, environ, timeout, output_cap)


def _run_posix(
    program: str, argv: list[str], data: bytes, env: dict[str, str], timeout: float, cap: int
) -> Result:
    name = argv[0]
    deadline = time.monotonic() + timeout
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        try:
            pid = _spawn(program, argv, env, in_r, out_w, err_w)
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
    except BaseException as exc:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        if isinstance(exc, FileNotFoundError):
            raise ProgramNotFoundError(name) from None
        if isinstance(exc, OSError):
            raise CannotStartError(name, exc.strerror or type(exc).__name__) from None
        raise
    open_fds = [in_w, out_r, err_r]
    try:
        out, err = _communicate(name, in_w, out_r, err_r, data, deadline, timeout, cap, open_fds)
        returncode = _wait(pid, name, deadline, timeout)
    except BaseException:
        _kill_group(pid)
        raise
    finally:
        for fd in open_fds:
            os.close(fd)
    return Result(returncode, out, err)


def _spawn(program: str, argv: list[str], env: dict[str, str], stdin: int, stdout: int, stderr: int) -> int:
    """Start ``program`` as the leader of a new session (so of a new process group).

    A new session, not only a new group: a child in a background group of our
    terminal that touched it would be stopped (SIGTTIN) and sit there until
    the timeout; without a controlling terminal it gets an error at once.
    That is what ``subprocess``'s ``start_new_session`` gave the helper
    client before.  Where ``posix_spawn`` cannot start a session, a new
    process group is the fallback.
    """
    global _SETSID  # noqa: PLW0603 - learnt once per process
    actions = [
        (os.POSIX_SPAWN_DUP2, stdin, 0),
        (os.POSIX_SPAWN_DUP2, stdout, 1),
        (os.POSIX_SPAWN_DUP2, stderr, 2),
    ]
    if _SETSID:
        try:
            return os.posix_spawn(
                program, argv, env, file_actions=actions, setsid=True, setsigdef=(_SIGPIPE,)
            )
        except NotImplementedError:  # no POSIX_SPAWN_SETSID (older libc or macOS)
            _SETSID = False
    # setsigdef: Python ignores SIGPIPE; the child should not.
    return os.posix_spawn(program, argv, env, file_actions=actions, setpgroup=0, setsigdef=(_SIGPIPE,))


_SETSID = True


def _communicate(
    name: str,
    in_w: int,
    out_r: int,
    err_r: int,
    data: bytes,
    deadline: float,
    timeout: float,
    cap: int,
    open_fds: list[int],
) -> tuple[bytes, bytes]:
    """Feed ``data`` and read both pipes to their end; fds closed here leave ``open_fds``."""
    import select

    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    sizes = {out_r: 0, err_r: 0}
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    view = memoryview(data)
    if view:
        os.set_blocking(in_w, False)
        poller.register(in_w, select.POLLOUT)
    else:
        os.close(in_w)
        open_fds.remove(in_w)
    reading = 2
    while reading or in_w in open_fds:
        for fd, _event in poller.poll(_milliseconds_left(deadline, name, timeout)):
            if fd == in_w:
                try:
                    view = view[os.write(in_w, view[:_CHUNK]) :]
                except BrokenPipeError:  # it exited without reading everything: fine
                    view = view[:0]
                if not view:
                    poller.unregister(in_w)
                    os.close(in_w)
                    open_fds.remove(in_w)
                continue
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                poller.unregister(fd)
                reading -= 1
                continue
            sizes[fd] += len(chunk)
            if sizes[fd] > cap:
                raise OutputTooLargeError(name, cap)
            chunks[fd].append(chunk)
    return b"".join(chunks[out_r]), b"".join(chunks[err_r])


def _wait(pid: int, name: str, deadline: float, timeout: float) -> int:
    """Reap ``pid`` (its pipes are closed) before ``deadline``: its exit code."""
    pidfd = -1
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # an older kernel
            pidfd = -1
    try:
        delay = 0.001
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            left = _milliseconds_left(deadline, name, timeout)
            if pidfd >= 0:
                import select

                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                poller.poll(left)
            else:
                time.sleep(min(delay, left / 1000))
                delay = min(delay * 2, 0.05)
    finally:
        if pidfd >= 0:
            os.close(pidfd)


def _kill_group(pid: int) -> None:
    """SIGKILL the process group of ``pid`` (it is the leader) and reap ``pid``.

    Called only while ``pid`` is not yet reaped, so its group id cannot have
    been reused.
    """
    _kill_below(pid)
    try:
        os.killpg(pid, _SIGKILL)
    except OSError:  # the group is gone already (or it was reaped)
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _kill_below(pid: int) -> None:
    """SIGKILL every descendant of ``pid`` and its process group (Linux ``/proc``; elsewhere nothing).

    ``pid``'s own group is stopped first, so nothing in it forks while the
    table is read; our own group is never signalled.
    """
    from regcred._system import is_linux

    if not is_linux():
        return
    try:
        os.killpg(pid, _SIGSTOP)
    except OSError:
        return  # the group is gone, or not ours to signal
    table = _process_table()
    children: dict[int, list[int]] = {}
    for child, (ppid, _pgid) in table.items():
        children.setdefault(ppid, []).append(child)
    below: list[int] = []
    todo = [pid]
    while todo:
        for child in children.pop(todo.pop(), []):
            below.append(child)
            todo.append(child)
    ours = os.getpgrp()
    for child in below:
        pgid = table[child][1]
        try:
            if pgid not in {ours, pid}:
                os.killpg(pgid, _SIGKILL)
            os.kill(child, _SIGKILL)
        except OSError:  # gone meanwhile
            pass


def _process_table() -> dict[int, tuple[int, int]]:
    """``{pid: (parent pid, process group)}`` of every process ``/proc`` shows; {} without ``/proc``."""
    table: dict[int, tuple[int, int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            table[int(name)] = (int(fields[1]), int(fields[2]))
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not a process entry
    return table


def _milliseconds_left(deadline: float, name: str, timeout: float) -> int:
    """Time to ``deadline`` for poll(); ProcessTimeoutError once it has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ProcessTimeoutError(name, timeout)
    return max(1, int(remaining * 1000))


def _run_portable(  # pragma: no cover - not a POSIX system
    program: str, argv: list[str], data: bytes, env: dict[str, str], timeout: float, cap: int
) -> Result:
    """The same contract through :mod:`subprocess` (the cap is checked after the fact)."""
    import subprocess

    flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    try:
        proc = subprocess.Popen(
            [program, *argv[1:]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            creationflags=flags,
        )
    except FileNotFoundError:
        raise ProgramNotFoundError(argv[0]) from None
    except OSError as exc:
        raise CannotStartError(argv[0], exc.strerror or type(exc).__name__) from None
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ProcessTimeoutError(argv[0], timeout) from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if len(out) > cap or len(err) > cap:
        raise OutputTooLargeError(argv[0], cap)
    return Result(proc.returncode, out, err)
