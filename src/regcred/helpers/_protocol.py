"""The credential-helper protocol server, byte-compatible with docker's ``Serve``.

``serve()`` is what every ``docker-credential-regcred-*`` executable runs.
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

import os
import sys

from regcred._gojson import dumps_compact, encode_utf8
from regcred.credentials import Credentials
from regcred.errors import CredentialsNotFoundError, RegcredError, StoreUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
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
# Patterns used only on unusual input are compiled on first use (re caches them):
# compiling the two surrogate classes costs ~0.7 ms of every helper start.
_BAD_BYTE = "[\udc80-\udcff]"
_SURROGATE = "[\ud800-\udfff]"


class _ProtocolError(Exception):
    """An error whose message is printed verbatim (Go's error text)."""


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
        from regcred._version import __version__

        return f"{program} (regcred) v{__version__}\n", 0
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
    if isinstance(exc, (_ProtocolError, RegcredError)):
        # Go's texts and our own errors never contain a secret (errors.py contract).
        return _one_line(str(exc) or type(exc).__name__), 1
    if os.environ.get("REGCRED_DEBUG") == "1":
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


def go_decode(data: bytes) -> str:
    """Decode UTF-8 as Go does: every byte of an invalid sequence becomes U+FFFD."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        import re

        return re.sub(_BAD_BYTE, "\ufffd", data.decode("utf-8", "surrogateescape"))


# --- Go encoding/json, just enough for a Credentials struct ----------------

# Compiled on first use: only ``store`` parses JSON, and importing ``re`` costs
# every ``get``/``list`` several milliseconds of start-up.
_PATTERNS: dict[str, re.Pattern[bytes]] = {}


def _pattern(name: str) -> re.Pattern[bytes]:
    if not _PATTERNS:
        import re

        _PATTERNS["ws"] = re.compile(rb"[ \t\r\n]*")
        _PATTERNS["str_run"] = re.compile(rb'[^"\\\x00-\x1f]*')
    return _PATTERNS[name]


_MAX_DEPTH = 10000  # Go's maxNestingDepth
_FIELDS = {"SERVERURL": 0, "USERNAME": 1, "SECRET": 2}
_FIELD_NAMES = ("ServerURL", "Username", "Secret")
# Non-ASCII runes r with unicode.ToUpper(unicode.ToLower(r)) ASCII (Go's foldName).
_FOLD = str.maketrans({"\u017f": "S", "\u0130": "I", "\u0131": "I", "\u212a": "K"})
_KINDS = {ord("{"): "object", ord("["): "array", ord('"'): "string", ord("t"): "bool"}
_KINDS |= {ord("f"): "bool", ord("n"): "null"}


def decode_credentials(data: bytes) -> tuple[str, str, str]:
    """(ServerURL, Username, Secret) from the first JSON value, with Go's errors."""
    scanner = _Scanner(data)
    members = scanner.first_value()
    start = scanner.value_start
    kind = _KINDS.get(data[start], "number")
    if kind == "null":
        return "", "", ""
    if kind != "object":
        raise _ProtocolError(f"json: cannot unmarshal {kind} into Go value of type credentials.Credentials")
    fields = ["", "", ""]
    type_error = ""
    for key_span, (vstart, vend) in members:
        key = _unquote(data[key_span[0] : key_span[1]])
        folded = key.translate(_FOLD)
        index = _FIELDS.get(folded.upper()) if folded.isascii() else None
        if index is None:
            continue
        vkind = _KINDS.get(data[vstart], "number")
        if vkind == "string":
            fields[index] = _unquote(data[vstart:vend])
        elif vkind != "null" and not type_error:
            type_error = (
                f"json: cannot unmarshal {vkind} into Go struct field"
                f" Credentials.{_FIELD_NAMES[index]} of type string"
            )
    if type_error:
        raise _ProtocolError(type_error)
    return fields[0], fields[1], fields[2]


def _unquote(raw: bytes) -> str:
    """A scanned JSON string literal as Go's unquote returns it."""
    import json

    text = json.loads(go_decode(raw))
    if not isinstance(text, str):  # pragma: no cover - the scanner only passes strings
        raise TypeError(type(text).__name__)
    if text.isascii():
        return text
    import re

    return re.sub(_SURROGATE, "\ufffd", text)


def _quote_char(c: int) -> str:
    """Go's ``quoteChar``: how the scanner names an offending byte."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    char = chr(c)
    short = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    short |= {"\v": "\\v", "\\": "\\\\"}
    if char in short:
        return f"'{short[char]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    if not char.isprintable():
        return f"'\\u{c:04x}'"
    return f"'{char}'"


class _Scanner:
    """Finds the first JSON value in bytes, failing exactly where Go's scanner does.

    Iterative (an explicit stack, no recursion), so 10,000 nested arrays are
    fine.  It records the top-level object's members as byte spans; values
    are never built, except the few strings the caller asks for.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.value_start = 0
        self.stack = bytearray()  # one b"{" or b"[" per open container
        self.key = (0, 0)
        self.member_start = 0
        self.members: list[tuple[tuple[int, int], tuple[int, int]]] = []

    def first_value(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        self._skip_ws()
        if self.pos >= len(self.data):
            raise _ProtocolError("EOF")
        self.value_start = self.pos
        while True:
            if self._start_value():
                continue  # a container opened: scan its first element
            if self._end_value():
                return self.members

    def _start_value(self) -> bool:
        """Scan a value at ``pos``; True if it opened a non-empty container."""
        c = self._peek()
        if c in b"{[":
            if len(self.stack) >= _MAX_DEPTH:
                raise self._fail("exceeded max depth")
            self.stack.append(c)
            self.pos += 1
            self._skip_ws()
            if self._peek() == (0x7D if c == 0x7B else 0x5D):
                self.pos += 1
                self.stack.pop()
                return False
            if c == 0x7B:
                self._key()
            return True
        if c == 0x22:
            self._string()
        elif c in b"-0123456789":
            self._number()
        elif c in b"tfn":
            self._literal({0x74: b"true", 0x66: b"false", 0x6E: b"null"}[c])
        else:
            raise self._fail("looking for beginning of value")
        return False

    def _end_value(self) -> bool:
        """After a complete value: close containers; True once the top value is done."""
        while self.stack:
            if self.stack == b"{":
                self.members.append((self.key, (self.member_start, self.pos)))
            self._skip_ws()
            c = self._peek()
            is_object = self.stack[-1] == 0x7B
            if c == 0x2C:  # ,
                self.pos += 1
                self._skip_ws()
                if is_object:
                    self._key()
                return False
            if c != (0x7D if is_object else 0x5D):
                raise self._fail("after object key:value pair" if is_object else "after array element")
            self.pos += 1
            self.stack.pop()
        return True

    def _key(self) -> None:
        """Scan ``"key" :`` and the space after it, noting top-level key spans."""
        self._skip_ws()
        if self._peek() != 0x22:
            raise self._fail("looking for beginning of object key string")
        start = self.pos
        self._string()
        key = (start, self.pos)
        self._skip_ws()
        if self._peek() != 0x3A:  # :
            raise self._fail("after object key")
        self.pos += 1
        self._skip_ws()
        if len(self.stack) == 1:
            self.key, self.member_start = key, self.pos

    def _skip_ws(self) -> None:
        match = _pattern("ws").match(self.data, self.pos)
        self.pos = match.end() if match else self.pos

    def _peek(self) -> int:
        if self.pos >= len(self.data):
            raise _ProtocolError("unexpected EOF")
        return self.data[self.pos]

    def _fail(self, context: str) -> _ProtocolError:
        return _ProtocolError(f"invalid character {_quote_char(self._peek())} {context}")

    def _string(self) -> None:
        data = self.data
        self.pos += 1
        while True:
            run = _pattern("str_run").match(data, self.pos)
            self.pos = run.end() if run else self.pos
            c = self._peek()
            if c == 0x22:
                self.pos += 1
                return
            if c < 0x20:
                raise self._fail("in string literal")
            self.pos += 1  # past the backslash
            c = self._peek()
            if c in b'"\\/bfnrt':
                self.pos += 1
            elif c == 0x75:  # u
                self.pos += 1
                for _ in range(4):
                    if self._peek() not in b"0123456789abcdefABCDEF":
                        raise self._fail("in \\u hexadecimal character escape")
                    self.pos += 1
            else:
                raise self._fail("in string escape code")

    def _number(self) -> None:
        data = self.data
        if data[self.pos] == 0x2D:  # -
            self.pos += 1
            if self._peek() not in b"0123456789":
                raise self._fail("in numeric literal")
        if data[self.pos] == 0x30:
            self.pos += 1
        else:
            self._digits()
        if self.pos < len(data) and data[self.pos] == 0x2E:  # .
            self.pos += 1
            if self._peek() not in b"0123456789":
                raise self._fail("after decimal point in numeric literal")
            self._digits()
        if self.pos < len(data) and data[self.pos] in b"eE":
            self.pos += 1
            if self._peek() in b"+-":
                self.pos += 1
            if self._peek() not in b"0123456789":
                raise self._fail("in exponent of numeric literal")
            self._digits()

    def _digits(self) -> None:
        end = self.pos
        while end < len(self.data) and 0x30 <= self.data[end] <= 0x39:
            end += 1
        self.pos = end

    def _literal(self, word: bytes) -> None:
        for expected in word:
            if self._peek() != expected:
                raise self._fail(f"in literal {word.decode()} (expecting {_quote_char(expected)})")
            self.pos += 1


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
