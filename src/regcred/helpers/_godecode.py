"""Go's ``encoding/json``, just enough to decode a ``Credentials`` struct with Go's errors.

``store`` input is decoded as the Go helpers decode it: the first JSON value
only (trailing bytes ignored), field names matched case-insensitively with
Go's folding, unknown fields ignored, ``null`` leaving a field alone, and
Go's exact error texts ("invalid character 'x' looking for beginning of
value", "unexpected EOF", "json: cannot unmarshal ...").  Invalid UTF-8
becomes U+FFFD, one per bad byte, as in Go.  The error texts are checked
byte for byte against Debian's Go ``docker-credential-pass`` (what a caller
sees on stdout): tests/helpers/test_pass_helper.py::
test_store_errors_are_the_go_helpers_byte_for_byte.
"""

from __future__ import annotations

from regcred._gojson import go_decode

__all__ = ["GoError", "decode_credentials"]

# ``re`` is imported where it is used, not at the top.  ``store`` loads it anyway
# (``json`` imports it), and so do the pass store and jeepney, but the Secret
# Service helper with no session bus answers ``get`` (an anonymous pull on a
# headless box) without it, and ``re`` with ``enum`` is about 7 ms of that
# helper's ~12 ms of imports.  tests/test_import_budget.py pins this.
#: Replaced by U+FFFD: lone surrogates.
_SURROGATE = "[\ud800-\udfff]"


class GoError(Exception):
    """An error whose message is printed verbatim (Go's error text)."""


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
        raise GoError(f"json: cannot unmarshal {kind} into Go value of type credentials.Credentials")
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
        raise GoError(type_error)
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
        import re  # only ``store`` scans JSON (see the top of this module)

        self._match_ws = re.compile(rb"[ \t\r\n]*").match
        self._match_str_run = re.compile(rb'[^"\\\x00-\x1f]*').match
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
            raise GoError("EOF")
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
        match = self._match_ws(self.data, self.pos)
        self.pos = match.end() if match else self.pos

    def _peek(self) -> int:
        if self.pos >= len(self.data):
            raise GoError("unexpected EOF")
        return self.data[self.pos]

    def _fail(self, context: str) -> GoError:
        return GoError(f"invalid character {_quote_char(self._peek())} {context}")

    def _string(self) -> None:
        data = self.data
        self.pos += 1
        while True:
            run = self._match_str_run(data, self.pos)
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
