"""Running gpg (and the other programs of the pass store) for :mod:`regcred.stores.pass_`.

This module knows gpg, not the pass store's layout: how to find and start
gpg, its command line and environment, its timeout, and how to read its
status lines (``--status-fd``) into one-line errors.  Which recipients to
encrypt to, and where entries live, is :mod:`regcred.stores.pass_`'s business.

Programs are run by :func:`regcred._process.run` (``os.posix_spawn``, no
:mod:`subprocess`, which a helper would otherwise pay for on every start).
"""

from __future__ import annotations

import os

from regcred import _process
from regcred._settings import gpg_program, gpg_timeout, password_store_gpg_opts
from regcred.errors import CredentialStoreError, StoreUnavailableError

NO_GPG = "gpg is not installed (Debian/Ubuntu: apt install gnupg)"

# gpg's output is a ciphertext or a plaintext secret; far beyond any real one.
_OUTPUT_CAP = 64 * 1024 * 1024
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
    command, env, no_pinentry = _gpg_argv()
    timeout = gpg_timeout()
    try:
        done = _process.run([*command, *args], stdin=data, env=env, timeout=timeout, output_cap=_OUTPUT_CAP)
    except _process.ProgramNotFoundError:
        raise StoreUnavailableError(NO_GPG) from None
    except _process.ProcessTimeoutError:
        raise StoreUnavailableError(
            f"gpg did not finish within {timeout:g} s (waiting for a passphrase?);"
            " unlock the key first or raise REGCRED_GPG_TIMEOUT"
        ) from None
    except _process.ProcessError as exc:
        raise CredentialStoreError(str(exc)) from None
    if done.returncode != 0:
        raise _gpg_error(done.stderr, os.path.relpath(path, root), no_pinentry)
    return done.stdout


def signers(signature: str, path: str) -> set[str]:
    """Fingerprints that validly signed ``path`` in the detached ``signature``.

    Both the signing subkey's and the primary key's fingerprint (gpg's
    ``VALIDSIG`` line); empty when gpg finds no valid signature.
    """
    argv, env, _ = _gpg_argv()
    try:
        done = _process.run([*argv, "--verify", signature, path], env=env, timeout=gpg_timeout())
    except _process.ProgramNotFoundError:
        raise StoreUnavailableError(NO_GPG) from None
    except _process.ProcessTimeoutError:
        raise CredentialStoreError(f"gpg did not verify {path} in time") from None
    except _process.ProcessError as exc:
        raise CredentialStoreError(str(exc)) from None
    found: set[str] = set()
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        words = line.split()
        if done.returncode == 0 and words[:2] == ["[GNUPG:]", "VALIDSIG"] and len(words) > 3:
            found |= {words[2], words[-1]}
    return found


def _gpg_argv() -> tuple[list[str], dict[str, str], str]:
    """gpg's command prefix and environment (batch, status on stderr, no blind prompts).

    The third item says why no pinentry could ask for a passphrase here ("" when
    one could); gpg then runs with ``--pinentry-mode error``, so a locked key
    fails at once instead of waiting for a prompt nobody can answer.
    """
    command = [gpg_program(), "--batch", "--quiet", "--yes", "--status-fd", "2"]
    env = dict(os.environ)
    if not env.get("GPG_TTY") and os.isatty(2):
        env["GPG_TTY"] = os.ttyname(2)  # lets a curses pinentry ask on the user's terminal
    no_pinentry = _why_no_pinentry(env)
    if no_pinentry:
        command += ["--pinentry-mode", "error"]
    command += password_store_gpg_opts()
    return command, env, no_pinentry


def _why_no_pinentry(env: dict[str, str]) -> str:
    """Why no pinentry could ask for a passphrase with ``env`` ("" when one could).

    A pinentry asks on the terminal ``GPG_TTY`` names or on the display of
    ``DISPLAY``/``WAYLAND_DISPLAY``.  A GPG_TTY we cannot open as a terminal
    (``/dev/null``, a closed pts, ``/dev/tty`` without a controlling terminal)
    and a display with no server behind it make gpg-agent wait for its own
    pinentry timeout (30 s or more) and then fail anyway.
    """
    reasons = []
    tty = env.get("GPG_TTY")
    if tty:
        if _opens_as_terminal(tty):
            return ""
        reasons.append(f"GPG_TTY {tty!r} is not a terminal that can be opened")
    display = env.get("DISPLAY")
    if display:
        if _x_server_at(display):
            return ""
        reasons.append(f"no X server answers DISPLAY {display!r}")
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland:
        runtime = env.get("XDG_RUNTIME_DIR", "")
        socket = wayland if os.path.isabs(wayland) else os.path.join(runtime, wayland) if runtime else ""
        if socket and _is_socket(socket):
            return ""
        reasons.append(f"no Wayland compositor answers WAYLAND_DISPLAY {wayland!r}")
    return "; ".join(reasons) or "no terminal (GPG_TTY) and no display"


def _opens_as_terminal(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return os.isatty(fd)
    finally:
        os.close(fd)


def _x_server_at(display: str) -> bool:
    """Whether an X server listens for ``display`` (a TCP display is assumed to)."""
    host, sep, screen = display.rpartition(":")
    number = screen.partition(".")[0]
    if not sep or not number.isdigit():
        return False
    if host.startswith("/"):  # macOS launchd: DISPLAY=/private/tmp/…/org.xquartz:0
        return _is_socket(host)
    if host not in {"", "unix"}:
        return True  # TCP (ssh -X forwards localhost:10): not probed
    path = f"/tmp/.X11-unix/X{number}"  # noqa: S108 - X11's fixed socket directory
    if _is_socket(path):
        return True
    try:  # Linux X servers may listen only on the abstract socket "@/tmp/.X11-unix/XN"
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as table:
            return any(line.rstrip().endswith(" @" + path) for line in table)
    except OSError:
        return False


def _is_socket(path: str) -> bool:
    import stat  # already loaded by os

    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _gpg_error(stderr: bytes, entry: str, no_pinentry: str = "") -> CredentialStoreError:
    """One-line error from gpg's status lines (``--status-fd``) and messages."""
    text = stderr.decode("utf-8", "replace")
    status = [line[9:].split() for line in text.splitlines() if line.startswith("[GNUPG:] ")]
    keywords = {words[0] for words in status if words}
    messages = [line for line in text.splitlines() if line.startswith("gpg: ")]
    last = messages[-1][5:] if messages else "gpg failed"
    if "DECRYPTION_FAILED" in keywords or "NO_SECKEY" in keywords:
        if "KEY_CONSIDERED" in keywords and no_pinentry:
            return StoreUnavailableError(
                f"cannot decrypt {entry}: the key is locked and no pinentry can ask here"
                f" ({no_pinentry}); unlock it first (for example `pass show` it in a"
                " terminal) or set GPG_TTY to your terminal"
            )
        if "KEY_CONSIDERED" in keywords:
            return StoreUnavailableError(
                f"cannot decrypt {entry}: the key is locked and its pinentry gave no passphrase"
                " (cancelled, or it could not show itself); unlock it first (for example"
                " `pass show` it in a terminal)"
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


def has_key(listing: str, key_id: str) -> bool:
    """Whether GnuPG has a public (``--list-keys``) or secret (``--list-secret-keys``) key ``key_id``.

    False when it has not, and when gpg cannot be run at all.
    """
    if listing not in {"--list-keys", "--list-secret-keys"}:
        raise ValueError(f"not a gpg key listing: {listing!r}")
    argv = [gpg_program(), "--batch", "--with-colons", listing, "--", key_id]
    try:
        return _process.run(argv, timeout=gpg_timeout()).returncode == 0
    except _process.ProcessError:
        return False


def git(root: str, *args: str) -> bytes | None:
    """``git -C root args…``: its stdout, or None when git fails, is missing or is slow.

    For the pass store's best-effort commits (a failing git never fails a store).
    """
    try:
        done = _process.run(["git", "-C", root, *args], timeout=gpg_timeout())
    except (_process.ProcessError, OSError):
        return None
    return done.stdout if done.returncode == 0 else None
