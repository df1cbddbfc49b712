"""``regcred exec``: run one command with a private, temporary ``DOCKER_CONFIG``.

For CI jobs on shared runners: the command (``docker push``, ``skopeo copy``,
``buildah``…) sees a config.json holding only the credentials it was given,
and nothing of them outlives it.

* **What goes in.**  The credentials of every ``--registry`` named (at least
  one is required, or ``--all``): least privilege is the point, so there is no
  default that hands a command every stored login, and none that hands it
  nothing and lets it fail later with "unauthorized".  They are read through
  whatever store holds them (:func:`regcred._lookup.get_credentials`) and
  written in ``regcred export --format config``'s format (one builder:
  :func:`regcred._tools.export.export`), identity tokens as ``identitytoken``.
  A named registry with no credentials is an error before anything runs.
* **Where.**  A job directory ``<pid>-<start time>-<random>`` (``0700``) in
  the parent ``$XDG_RUNTIME_DIR/regcred-exec`` when ``XDG_RUNTIME_DIR`` is set
  (a tmpfs that only its user can enter, gone at logout), else
  ``<temp dir>/regcred-exec-<uid>``.  The parent is created ``0700`` and must
  be a real directory (opened ``O_NOFOLLOW``), owned by us, with no access for
  anyone else; otherwise regcred refuses to use it.  ``config.json`` is created
  ``0600`` before any byte is written (:func:`regcred._files.write_private`).
* **The child** gets ``DOCKER_CONFIG`` (docker) and ``REGISTRY_AUTH_FILE``
  (podman, skopeo, buildah: containers/image reads docker's format) pointing
  there, and the rest of our environment except what would hand it other
  registries' credentials (:data:`WITHHELD`: ``DOCKER_AUTH_CONFIG``, which
  docker 28.3+ reads before any config.json).  It runs in our process group
  with our stdin, stdout and stderr; its exit status is ours (``128 + N``
  when signal N killed it).  A command not found exits 127, one that cannot
  be run 126, with one line, as a shell does.  The command is looked up as
  every program regcred runs is (:func:`regcred._process.which`: absolute
  ``PATH`` entries only).
* **Signals.**  Every signal that could end regcred (SIGINT, SIGTERM,
  SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, the real-time signals…) and
  SIGWINCH and SIGCONT are forwarded to the child, which is waited for; then
  the directory is wiped and its status returned.  SIGTSTP is forwarded too,
  and when the child stops (SIGTSTP, SIGTTIN…) regcred stops itself, so the
  shell sees the job stopped; once continued it continues the child.  A
  signal the terminal already sent to our whole process group (Ctrl-C,
  Ctrl-Z, a resize) is not sent a second time.  On Linux every signal but
  SIGKILL and SIGSTOP is blocked and taken with ``sigtimedwait`` from before
  the directory exists until after it is wiped, so none can end regcred
  between the two; elsewhere handlers forward the ones a shell sends.
* **SIGKILL.**  Nothing can run then, so every ``regcred exec`` first sweeps
  the parent: a job directory whose regcred is gone (its pid dead, or reused
  by a process that started at another time) is removed, unless the job's
  command still runs: its pid and start time are recorded in the directory
  (``child``) as soon as it is started, and a directory whose command is
  alive stays until that command has ended.  (A SIGKILL in the microseconds
  between the start and the record leaves a directory that the next sweep
  removes even if the command still runs.)  Entries are never followed: a
  symlink is unlinked, a directory removed with :func:`shutil.rmtree`'s
  descriptor-based walk; other names are left alone.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import sys

from regcred.errors import RegcredError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["CANNOT_RUN", "COMMAND_NOT_FOUND", "WITHHELD", "jobs_parent", "run", "sweep"]

COMMAND_NOT_FOUND = 127
CANNOT_RUN = 126
_JOB_NAME = re.compile(r"([0-9]+)-([0-9]+)-[0-9a-f]{16}")
#: Variables of our environment the child does not get: they carry other registries' credentials.
WITHHELD = ("DOCKER_AUTH_CONFIG",)
_CHILD_RECORD = "child"  # in the job directory: "<pid> <start time>" of the job's command
# Never forwarded: ours (SIGCHLD), unblockable, or about regcred's own I/O (which it does not do
# while it waits, and which Python ignores or would not end it).
_KEPT = {
    signal.SIGCHLD,
    signal.SIGKILL,
    signal.SIGSTOP,
    signal.SIGPIPE,
    signal.SIGXFSZ,
    signal.SIGURG,
    signal.SIGTTIN,
    signal.SIGTTOU,
}
# What a shell passes on: the set the handler fallback (no sigtimedwait) forwards.  Not SIGTSTP
# there: with its default action regcred stops with its child, as a shell expects of a job.
_SHELL = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGALRM,
    signal.SIGWINCH,
)
_SI_KERNEL = 0x80  # si_code of a signal the kernel sent: the terminal's Ctrl-C, a hangup


def run(
    argv: Sequence[str],
    registries: Sequence[str] = (),
    *,
    all_registries: bool = False,
    config_dir: str | os.PathLike[str] | None = None,
    say: Callable[[str], None] | None = None,
) -> int:
    """Run ``argv`` with a temporary config holding ``registries``' credentials; its exit status.

    ``say`` receives one-line notices for stderr (a credential skipped by
    ``--all``, a stale directory that could not be removed, a command not
    found).  Raises :class:`UsageError` for bad arguments and
    :class:`RegcredError` when a credential cannot be read or the directory
    cannot be made.
    """
    from regcred._process import which
    from regcred._text import printable

    notice = say or _quiet
    if not argv:
        raise UsageError("no command given: regcred exec --registry R -- CMD ARGS…")
    if all_registries and registries:
        raise UsageError("--all and --registry exclude each other")
    if not all_registries and not registries:
        raise UsageError("name the registries the command may use (--registry R, repeatable), or pass --all")
    program = which(argv[0])
    if program is None:
        if os.sep in argv[0] and os.path.exists(argv[0]):  # as a shell: there, but not runnable
            notice(f"{printable(argv[0])}: cannot run: Permission denied")
            return CANNOT_RUN
        notice(f"{printable(argv[0])}: command not found")
        return COMMAND_NOT_FOUND
    text = _config_text(registries, config_dir, notice)
    parent = jobs_parent()
    parent_fd = _open_parent(parent)
    try:
        sweep(parent_fd, notice)
        return _run_in_job(program, list(argv), text.encode(), parent, parent_fd, notice)
    finally:
        os.close(parent_fd)


def jobs_parent() -> str:
    """The directory holding the job directories (see the module docstring)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, "regcred-exec")
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"regcred-exec-{os.geteuid()}")


def sweep(parent_fd: int, say: Callable[[str], None]) -> list[str]:
    """Remove the job directories in ``parent_fd`` whose regcred and command are gone; their names."""
    removed = []
    for name in sorted(os.listdir(parent_fd)):
        match = _JOB_NAME.fullmatch(name)
        if match is None or not _stale(int(match[1]), match[2]) or _command_alive(name, parent_fd):
            continue
        try:
            _remove(name, parent_fd)
        except OSError as exc:
            say(f"warning: cannot remove the stale job directory {name}: {exc.strerror or exc}")
            continue
        removed.append(name)
    return removed


# -- internals -----------------------------------------------------------------


def _quiet(_line: str) -> None:
    pass


def _config_text(
    registries: Sequence[str], config_dir: str | os.PathLike[str] | None, say: Callable[[str], None]
) -> str:
    from regcred._tools.export import export

    result = export(registries, fmt="config", config_dir=config_dir)
    for key, why in result.skipped.items():
        say(f"skipped {key}: {why}")
    return result.text


def _open_parent(parent: str) -> int:
    from regcred._files import make_private_dir

    make_private_dir(parent, RegcredError, parents=False)  # an existing one is checked below
    try:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        why = "it is a symlink" if os.path.islink(parent) else (exc.strerror or str(exc))
        raise RegcredError(f"cannot use {parent}: {why}; remove it") from None
    st = os.fstat(fd)
    problem = ""
    if st.st_uid != os.geteuid():
        problem = f"it belongs to uid {st.st_uid}, not to you"
    elif stat.S_IMODE(st.st_mode) & 0o077:
        problem = f"others may enter it (mode {stat.S_IMODE(st.st_mode):04o})"
    elif stat.S_IMODE(st.st_mode) & 0o700 != 0o700:
        problem = f"you cannot write to it (mode {stat.S_IMODE(st.st_mode):04o})"
    if problem:
        os.close(fd)
        raise RegcredError(f"cannot use {parent}: {problem}; remove it")
    return fd


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "0" where unknown."""
    return _proc_stat(pid)[1]


def _proc_stat(pid: int) -> tuple[str, str]:
    """The process's state letter and start time from ``/proc/<pid>/stat``; ("", "0") where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return "", "0"
    return fields[0].decode(), fields[19].decode() if len(fields) > 19 else "0"


def _stale(pid: int, started: str) -> bool:
    """Whether process ``pid`` that started at ``started`` is gone (dead, a zombie, or its pid reused)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's: a reused pid unless the start time says otherwise
    state, now = _proc_stat(pid)
    return state == "Z" or (started != "0" and now not in {started, "0"})


def _command_alive(name: str, parent_fd: int) -> bool:
    """Whether the command recorded in job directory ``name`` (its ``child`` file) still runs."""
    try:
        job_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError:
        return False  # a symlink, a file, gone: nothing of a live job
    try:
        fd = os.open(_CHILD_RECORD, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=job_fd)
    except OSError:
        return False
    finally:
        os.close(job_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        words = os.read(fd, 64).split()
    except OSError:
        return False
    finally:
        os.close(fd)
    if len(words) != 2 or not all(word.isdigit() for word in words):
        return False
    return not _stale(int(words[0]), words[1].decode())


def _remove(name: str, parent_fd: int) -> None:
    import shutil

    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        try:
            shutil.rmtree(name, dir_fd=parent_fd)
        except FileNotFoundError:
            pass  # a racing sweep removed it first
    else:
        try:
            os.unlink(name, dir_fd=parent_fd)
        except FileNotFoundError:
            pass


def _run_in_job(
    program: str, argv: list[str], data: bytes, parent: str, parent_fd: int, say: Callable[[str], None]
) -> int:
    import secrets

    from regcred._files import make_private_dir, write_private

    pid = os.getpid()
    name = f"{pid}-{_start_time(pid)}-{secrets.token_hex(8)}"
    job = os.path.join(parent, name)
    waiter = _Waiter()
    try:
        # Made in the checked parent_fd, not by path: nobody else can enter it (see _open_parent).
        if not make_private_dir(name, RegcredError, parents=False, dir_fd=parent_fd, shown=job):
            raise RegcredError(f"cannot create {job}: it exists")
        config = os.path.join(job, "config.json")
        write_private(config, data)
        env = {key: value for key, value in os.environ.items() if key not in WITHHELD}
        env.update(DOCKER_CONFIG=job, REGISTRY_AUTH_FILE=config)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        try:
            child = waiter.spawn(program, argv, env)
        except OSError as exc:
            from regcred._text import printable

            say(f"{printable(argv[0])}: cannot run: {exc.strerror or exc}")
            return COMMAND_NOT_FOUND if isinstance(exc, FileNotFoundError) else CANNOT_RUN
        try:  # for the sweep of a later run, should regcred be killed while the command runs
            write_private(os.path.join(job, _CHILD_RECORD), f"{child} {_start_time(child)}\n".encode())
        except (OSError, RegcredError) as exc:  # the job runs on; only a later sweep could err
            say(f"warning: cannot record the command's pid in {job}: {getattr(exc, 'strerror', None) or exc}")
        status = waiter.wait(child)
    finally:
        try:
            _remove(name, parent_fd)
        finally:
            waiter.close()
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


class _Waiter:
    """Spawns the child and waits for it, forwarding signals (see the module docstring).

    Where ``sigtimedwait`` exists (Linux) every blockable signal is blocked
    from the moment this is made until :meth:`close`, which drains what came
    after the child ended (the child's status is the answer) and restores
    the mask.  Elsewhere handlers forward what a shell sends.
    """

    def __init__(self) -> None:
        self._child = 0
        self._waited = hasattr(signal, "sigtimedwait")
        self._pending: list[int] = []
        self._old_handlers: dict[int, object] = {}
        if self._waited:
            self._mask = set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
            self._old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, self._mask)
        else:  # pragma: no cover - not Linux (macOS has no sigtimedwait)
            for signum in _SHELL:
                self._old_handlers[signum] = signal.signal(signum, self._forward_handler)

    def spawn(self, program: str, argv: list[str], env: dict[str, str]) -> int:
        if not hasattr(os, "posix_spawn"):  # pragma: no cover - Windows
            raise RegcredError("regcred exec needs a POSIX system")
        reset = [signal.SIGPIPE, signal.SIGXFSZ]  # Python ignores them; the child should not
        mask = self._old_mask if self._waited else signal.pthread_sigmask(signal.SIG_BLOCK, [])
        self._child = os.posix_spawn(program, argv, env, setsigmask=mask, setsigdef=reset)
        for signum in self._pending:  # pragma: no cover - handler path only
            os.kill(self._child, signum)
        return self._child

    def wait(self, child: int) -> int:
        if not self._waited:  # pragma: no cover - not Linux
            return os.waitpid(child, 0)[1]
        while True:
            info = signal.sigtimedwait(self._mask, 1.0)
            done, status = os.waitpid(child, os.WNOHANG | os.WUNTRACED)
            if done and os.WIFSTOPPED(status):
                self._stop_with_child()
                continue
            if done:
                return status
            if info is not None and info.si_signo not in _KEPT:
                self._forward(info.si_signo, from_terminal=info.si_code == _SI_KERNEL)

    def close(self) -> None:
        if self._waited:
            while signal.sigtimedwait(self._mask, 0) is not None:
                pass
            signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)
        else:  # pragma: no cover - not Linux
            for signum, handler in self._old_handlers.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]

    def _stop_with_child(self) -> None:
        """The child stopped (Ctrl-Z, SIGTSTP, a background read): so do we; then continue it."""
        os.kill(os.getpid(), signal.SIGSTOP)  # returns once the shell continues us (fg, bg)
        try:
            os.kill(self._child, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def _forward(self, signum: int, *, from_terminal: bool) -> None:
        try:
            if from_terminal and os.getpgid(self._child) == os.getpgrp():
                return  # the terminal sent it to the whole group: the child has it already
            os.kill(self._child, signum)
        except ProcessLookupError:
            pass  # it has just exited; wait() reaps it

    def _forward_handler(self, signum: int, _frame: object) -> None:  # pragma: no cover - not Linux
        if self._child:
            self._forward(signum, from_terminal=False)
        else:
            self._pending.append(signum)
