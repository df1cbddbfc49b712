"""Running gpg (and the other programs of the pass store) for :mod:`regcred.stores.pass_`.

This module knows gpg, not the pass store's layout: how to find and start
gpg, its command line and environment, its timeout, and how to read its
status lines (``--status-fd``) into one-line errors.  Which recipients to
encrypt to, and where entries live, is :mod:`regcred.stores.pass_`'s business.

:func:`run` starts a program with ``os.posix_spawn`` instead of
:mod:`subprocess`, which a helper would otherwise pay for on every start.
"""

from __future__ import annotations

import os
import time

from regcred._settings import gpg_program, gpg_timeout, password_store_gpg_opts
from regcred.errors import CredentialStoreError, StoreUnavailableError

NO_GPG = "gpg is not installed (Debian/Ubuntu: apt install gnupg)"

_SIGPIPE = 13  # signal.SIGPIPE on Linux and macOS; importing signal costs ~1 ms
_SIGKILL = 9
# gpg's INV_RECP reason codes (doc/DETAILS).
_INV_RECP = {
    "1": "no public key",
    "4": "key revoked",
    "5": "key expired",
    "8": "key not usable for encryption",
    "10": "key not trusted",
}


def call(args: tuple[str, ...], data: bytes, path: str, root: str) -> bytes:
    """Run gpg on ``data``; translate failures into one-line errors (never the data).

    ``path`` is the entry (or directory) concerned; errors name it relative
    to the store ``root``.
    """
    command, env = _gpg_argv()
    timeout = gpg_timeout()
    try:
        code, out, err = run([*command, *args], data, env, timeout)
    except FileNotFoundError:
        raise StoreUnavailableError(NO_GPG) from None
    except TimeoutError:
        raise StoreUnavailableError(
            f"gpg did not finish within {timeout:g} s (waiting for a passphrase?);"
            " unlock the key first or raise REGCRED_GPG_TIMEOUT"
        ) from None
    if code != 0:
        raise _gpg_error(err, os.path.relpath(path, root))
    return out


def signers(signature: str, path: str) -> set[str]:
    """Fingerprints that validly signed ``path`` in the detached ``signature``.

    Both the signing subkey's and the primary key's fingerprint (gpg's
    ``VALIDSIG`` line); empty when gpg finds no valid signature.
    """
    argv, env = _gpg_argv()
    try:
        code, _, err = run([*argv, "--verify", signature, path], b"", env, gpg_timeout())
    except FileNotFoundError:
        raise StoreUnavailableError(NO_GPG) from None
    except TimeoutError:
        raise CredentialStoreError(f"gpg did not verify {path} in time") from None
    found: set[str] = set()
    for line in err.decode("utf-8", "replace").splitlines():
        words = line.split()
        if code == 0 and words[:2] == ["[GNUPG:]", "VALIDSIG"] and len(words) > 3:
            found |= {words[2], words[-1]}
    return found


def run(argv: list[str], data: bytes, env: dict[str, str], timeout: float) -> tuple[int, bytes, bytes]:
    """Run ``argv`` with ``data`` on stdin: (exit code, stdout, stderr); TimeoutError if slow.

    ``os.posix_spawnp`` and ``poll`` do what ``subprocess.run`` would, without
    importing subprocess (threading, selectors, locale, signal): about 5 ms of
    a helper's start-up, which is most of what it spends outside gpg.
    """
    if not hasattr(os, "posix_spawnp"):  # pragma: no cover - not a POSIX system
        import subprocess

        try:
            done = subprocess.run(
                argv, input=data, capture_output=True, env=env, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise TimeoutError from None
        return done.returncode, done.stdout, done.stderr
    import select

    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    program = which(argv[0])
    if program is None:
        for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
            os.close(fd)
        raise FileNotFoundError(argv[0])
    try:
        pid = os.posix_spawn(
            program,
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, in_r, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
            ],
            setsigdef=(_SIGPIPE,),  # Python ignores SIGPIPE; the child should not
        )
    except BaseException:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    os.set_blocking(in_w, False)
    poller.register(in_w, select.POLLOUT)
    view = memoryview(data)
    reading = {out_r, err_r}
    deadline = time.monotonic() + timeout
    try:
        while reading or in_w >= 0:
            for fd, _event in poller.poll(_milliseconds_left(deadline)):
                if fd == in_w:
                    try:
                        view = view[os.write(in_w, view[:65536]) :]
                    except BrokenPipeError:
                        view = view[:0]
                    if not view:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = -1
                    continue
                chunk = os.read(fd, 65536)
                if chunk:
                    chunks[fd].append(chunk)
                else:
                    poller.unregister(fd)
                    reading.discard(fd)
    except BaseException:
        try:  # not contextlib.suppress: importing contextlib costs ~1 ms per helper start
            os.kill(pid, _SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        raise
    finally:
        for fd in (in_w, out_r, err_r):
            if fd >= 0:
                os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]), b"".join(chunks[err_r])


def _milliseconds_left(deadline: float) -> int:
    """Time to ``deadline`` for poll(); TimeoutError once it has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return max(1, int(remaining * 1000))


def _gpg_argv() -> tuple[list[str], dict[str, str]]:
    """gpg's command prefix and environment: batch, status on stderr, no blind prompts."""
    command = [gpg_program(), "--batch", "--quiet", "--yes", "--status-fd", "2"]
    env = dict(os.environ)
    if not env.get("GPG_TTY") and os.isatty(2):
        env["GPG_TTY"] = os.ttyname(2)  # lets a curses pinentry ask on the user's terminal
    if not (env.get("GPG_TTY") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        command += ["--pinentry-mode", "error"]  # nobody could answer a prompt
    command += password_store_gpg_opts()
    return command, env


def _gpg_error(stderr: bytes, entry: str) -> CredentialStoreError:
    """One-line error from gpg's status lines (``--status-fd``) and messages."""
    text = stderr.decode("utf-8", "replace")
    status = [line[9:].split() for line in text.splitlines() if line.startswith("[GNUPG:] ")]
    keywords = {words[0] for words in status if words}
    messages = [line for line in text.splitlines() if line.startswith("gpg: ")]
    last = messages[-1][5:] if messages else "gpg failed"
    if "DECRYPTION_FAILED" in keywords or "NO_SECKEY" in keywords:
        if "KEY_CONSIDERED" in keywords:
            return StoreUnavailableError(
                f"cannot decrypt {entry}: the secret key is locked and no passphrase prompt"
                " can be shown here; unlock it first (for example `pass show` it in a"
                " terminal) or set GPG_TTY"
            )
        return StoreUnavailableError(
            f"cannot decrypt {entry}: no secret key for it in this GnuPG home"
            " (import the key it was encrypted to, or log in again)"
        )
    for words in status:
        if words[0] == "INV_RECP" and len(words) >= 3:
            why = _INV_RECP.get(words[1], "unusable key")
            return CredentialStoreError(
                f"cannot encrypt to {words[2]} (from .gpg-id): {why}; check `gpg --list-keys`"
            )
    return CredentialStoreError(f"gpg failed on {entry}: {last}")


def which(program: str) -> str | None:
    """Full path of ``program`` (as ``PATH`` lookup finds it), or None; never a relative one."""
    if os.sep in program:
        return program if os.access(program, os.X_OK) else None
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not os.path.isabs(directory):
            continue  # never run a gpg found through "." or a relative PATH entry
        path = os.path.join(directory, program)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def has_key(listing: str, key_id: str) -> bool:
    """Does GnuPG know ``key_id`` (``listing``: ``--list-keys`` or ``--list-secret-keys``)?"""
    argv, env = _gpg_argv()
    try:
        code, _, _ = run(
            [argv[0], "--batch", "--with-colons", listing, "--", key_id], b"", env, gpg_timeout()
        )
    except (OSError, TimeoutError):
        return False
    return code == 0
