"""The credential-helper protocol server, byte-compatible with docker's ``Serve``.

``serve()`` is what every ``docker-credential-regcred-*`` executable runs
(``store`` input is decoded by :mod:`regcred.helpers._godecode`).
It behaves like ``credentials.Serve`` from docker-credential-helpers v0.9:

* exactly one argument (``store``, ``get``, ``erase``, ``list``, ``version``,
  ``-v``/``--version``, ``-h``/``--help``); anything else prints the usage;
* errors go to **stdout** as one line and exit 1, because docker reads
  stdout; stderr only carries hints (and a traceback with ``REGCRED_DEBUG=1``);
* stdin is read as bytes, split into lines that lose their ``\\n`` and one
  ``\\r``, and joined without separator (Go's ``bufio.Scanner``), but with no
  64 KiB line limit; invalid UTF-8 becomes U+FFFD, one per bad byte, as in Go;
* ``store`` decodes the first JSON value with Go ``encoding/json`` rules
  (case-insensitive field names, unknown fields ignored, ``null`` leaves a
  field alone, trailing bytes ignored) and reports Go's error texts.

Differences from Go, on purpose: inputs over 64 KiB work; total input is
capped at 16 MiB; a backend that cannot run here (``StoreUnavailableError``)
answers ``get`` with "not found" plus a stderr hint, so anonymous pulls keep
working, while ``list`` fails (an empty answer would let ``logout`` and
``migrate`` take a store they cannot reach for an empty one).
"""

from __future__ import annotations

import sys

from regcred import _settings
from regcred._gojson import dumps_compact, encode_utf8, go_decode
from regcred.credentials import Credentials
from regcred.errors import ConfigError, CredentialsNotFoundError, RegcredError, StoreUnavailableError
from regcred.helpers._godecode import GoError, decode_credentials

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import BinaryIO, TextIO

    from regcred.credentials import CredentialStore

__all__ = [
    "MAX_INPUT_BYTES",
    "MISSING_SERVER_URL",
    "MISSING_USERNAME",
    "NOT_FOUND",
    "run",
    "serve",
]

#: The "magic string" clients compare stdout against (``client.Get``).
NOT_FOUND = "credentials not found in native keychain"
MISSING_SERVER_URL = "no credentials server URL"
MISSING_USERNAME = "no credentials username"
#: Go limits one line to 64 KiB; we accept far more but not unbounded input.
MAX_INPUT_BYTES = 16 * 1024 * 1024
ACTIONS = "store|get|erase|list|version"

# Go's unicode.IsSpace, which strings.TrimSpace uses (str.strip() would also
# strip U+001C..U+001F, which Go keeps).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # noqa: E501


class _ProtocolError(GoError):
    """A protocol error of ours, printed verbatim like Go's texts."""


def run(store_factory: Callable[[], CredentialStore], program: str) -> int:
    """A helper executable's ``main()``: one action from argv, on the process's own streams.

    Installed under another ``docker-credential-*`` name (a symlink), the
    helper calls itself by that name in its messages.
    """
    name = sys.argv[0].rpartition("/")[2] if sys.argv else ""
    if name.startswith("docker-credential-"):
        program = name
    if sys.stdin is not None:
        stdin = sys.stdin.buffer
    else:  # started with stdin closed
        import io

        stdin = io.BytesIO()
    return serve(store_factory, sys.argv[1:], stdin, sys.stdout.buffer, sys.stderr, program=program)


def serve(
    store_factory: Callable[[], CredentialStore],
    argv: Sequence[str],
    stdin: BinaryIO,
    stdout: BinaryIO,
    stderr: TextIO,
    *,
    program: str,
) -> int:
    """Run one helper action as docker's ``credentials.Serve`` does; return the exit code."""
    if len(argv) != 1 or argv[0] not in {"store", "get", "erase", "list"}:
        output, code = _meta(argv, program)
        return _write(stdout, output, code)
    action = argv[0]
    if action != "list" and _isatty(stdin):
        # docker pipes the request in; a person at a terminal gets told what to type (#185).
        what = "the credentials JSON" if action == "store" else "the server URL"
        _hint(stderr, f"{program}: reading {what} from stdin; end it with Ctrl-D")
    try:
        output = _run(action, store_factory, stdin)
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return _write(stdout, "interrupted\n", 130)
    except Exception as exc:
        output, code = _failure(action, exc, stderr, program)
        return _write(stdout, output, code)
    return _write(stdout, output, 0)


def _meta(argv: Sequence[str], program: str) -> tuple[str, int]:
    """Answers that need no store and no stdin: usage, help, version, unknown action."""
    usage = f"Usage: {program} <{ACTIONS}>\n"
    if len(argv) != 1:
        return usage, 1
    if argv[0] in {"-v", "--version", "version"}:
        from regcred._version import __version__, runtime

        # The protocol's ``version`` is the Go helpers' one line; a person's --version
        # gets the runtime too (what a bug report needs; no store is probed here).
        more = "" if argv[0] == "version" else f"{runtime()}\n"
        return f"{program} (regcred) v{__version__}\n{more}", 0
    if argv[0] in {"-h", "--help"}:
        return usage, 0
    return f"{program}: unknown action: {argv[0]}\n", 1


def _run(action: str, factory: Callable[[], CredentialStore], stdin: BinaryIO) -> str:
    """Perform ``action``; return what goes to stdout on success."""
    if action == "list":  # never reads stdin
        return dumps_compact(factory().list(), sort_keys=True)
    if action == "store":
        server, username, secret = decode_credentials(_read_joined(stdin))
        if not server:
            raise _ProtocolError(MISSING_SERVER_URL)
        if not username:
            raise _ProtocolError(MISSING_USERNAME)
        factory().store(Credentials(server, username, secret))
        return ""
    server = go_decode(_read_joined(stdin)).strip(_GO_SPACE)
    if not server:
        raise _ProtocolError(MISSING_SERVER_URL)
    if action == "erase":
        factory().erase(server)
        return ""
    creds = factory().get(server)
    # Go echoes the trimmed request, not the stored key.
    return dumps_compact({"ServerURL": server, "Username": creds.username, "Secret": creds.secret})


def _failure(action: str, exc: Exception, stderr: TextIO, program: str) -> tuple[str, int]:
    """(stdout text, exit code) for an error; hints go to stderr."""
    if isinstance(exc, CredentialsNotFoundError) and action == "get":
        return NOT_FOUND + "\n", 1
    if isinstance(exc, StoreUnavailableError) and action == "get":
        _hint(stderr, f"{program}: {exc} (answering 'not found')")
        return NOT_FOUND + "\n", 1
    # ``list`` fails loudly instead: an empty answer would let logout and migrate
    # believe the store is empty while it still holds credentials (docker's build
    # path ignores list errors, so builds are not hurt).
    if isinstance(exc, (GoError, RegcredError)):
        # Go's texts and our own errors never contain a secret (errors.py contract).
        return _one_line(str(exc) or type(exc).__name__), 1
    try:
        debug = _settings.debug()
    except ConfigError as bad:  # the setting's own one-line error, the policy for bad values
        return _one_line(str(bad)), 1
    if debug:
        import traceback

        traceback.print_exception(exc, file=stderr)
    # OSError texts name files, never secrets; other messages might quote input.
    detail = str(exc) if isinstance(exc, OSError) else type(exc).__name__
    return _one_line(f"{program}: unexpected error: {detail}"), 1


# --- input ----------------------------------------------------------------


def _read_joined(stdin: BinaryIO) -> bytes:
    """All of stdin with each line's ``\\n`` and one trailing ``\\r`` removed."""
    data = stdin.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise _ProtocolError(f"input too large: more than {MAX_INPUT_BYTES // 1048576} MiB")
    lines = data.split(b"\n")
    return b"".join(line[:-1] if line.endswith(b"\r") else line for line in lines)


# --- output ---------------------------------------------------------------


def _write(stdout: BinaryIO, text: str, code: int) -> int:
    try:
        stdout.write(encode_utf8(text))
        stdout.flush()
    except BrokenPipeError:
        return 1
    return code


def _isatty(stream: BinaryIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def _one_line(message: str) -> str:
    """``message`` on one line, newline-terminated (Go's Fprintln of an error)."""
    return " ".join(message.split("\n")).strip() + "\n"


def _hint(stderr: TextIO, message: str) -> None:
    try:
        stderr.write(_one_line(message))
        stderr.flush()
    except (OSError, ValueError):  # a closed stderr must not turn a hint into a failure
        pass
