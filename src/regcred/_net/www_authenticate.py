"""Parse ``WWW-Authenticate`` header values (RFC 7235 §4.1, RFC 9110 §11.6.1).

Grammar::

    WWW-Authenticate = 1#challenge
    challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param       = token BWS "=" BWS ( token / quoted-string )
    token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="

One header value may hold several challenges, and a response may carry
several headers (:func:`parse_headers`).  Scheme and parameter names are
case-insensitive and come back lower-cased; parameter values keep their case,
with quoted-pair escapes (``\\x``) undone.  When a name repeats inside one
challenge the first value wins.

The parser is tolerant: it never raises on any ``str``.  A malformed part is
skipped up to the next comma and parsing goes on, so the caller gets every
challenge that could be read.  The Docker CLI stops at the first malformed
part instead; keeping the well-formed rest is the more useful choice and
never widens what a server can make us do, because each challenge is still
checked by the login flow's own policy.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Challenge", "parse_headers", "parse_www_authenticate"]

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68 = frozenset("-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WS = " \t"


class Challenge:
    """One authentication challenge: a scheme plus its parameters or token68."""

    __slots__ = ("params", "scheme", "token68")

    def __init__(self, scheme: str, params: dict[str, str] | None = None, token68: str | None = None) -> None:
        self.scheme = scheme
        self.params = params if params is not None else {}
        self.token68 = token68

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Challenge):
            return NotImplemented
        return (self.scheme, self.params, self.token68) == (other.scheme, other.params, other.token68)

    __hash__ = None  # type: ignore[assignment]  # mutable params: not hashable

    def __repr__(self) -> str:
        return f"Challenge({self.scheme!r}, {self.params!r}, token68={self.token68!r})"

    def get(self, name: str) -> str | None:
        """The value of parameter ``name`` (case-insensitive), or None."""
        return self.params.get(name.lower())


class _Parser:
    """A cursor over one header value; every method returns None on a mismatch."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> bool:
        start = self.pos
        while self.peek() and self.peek() in _WS:
            self.pos += 1
        return self.pos > start

    def skip_separators(self) -> None:
        while self.peek() and self.peek() in " \t,":
            self.pos += 1

    def skip_to_comma(self) -> None:
        """Junk recovery: jump past the next comma that is not inside quotes."""
        while self.peek() and self.peek() != ",":
            if self.peek() == '"':
                self.quoted()
            else:
                self.pos += 1

    def at_item_end(self) -> bool:
        """True at end of input or at a comma (after optional whitespace)."""
        save = self.pos
        self.skip_ws()
        end = self.peek() in {"", ","}
        self.pos = save
        return end

    def token(self) -> str | None:
        start = self.pos
        while self.peek() and self.peek() in _TCHAR:
            self.pos += 1
        return self.text[start : self.pos] or None

    def quoted(self) -> str | None:
        """A quoted-string, unescaped; None (cursor at end) if unterminated."""
        if self.peek() != '"':
            return None
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
                char = self.text[self.pos]
            out.append(char)
            self.pos += 1
        return None

    def param(self) -> tuple[str, str] | None:
        """``token BWS "=" BWS (token / quoted-string)``, ending the item or a param."""
        save = self.pos
        name = self.token()
        if name is not None:
            self.skip_ws()
            if self.peek() == "=":
                self.pos += 1
                self.skip_ws()
                value = self.quoted() if self.peek() == '"' else self.token()
                if value is not None and self.at_item_end():
                    return name.lower(), value
        self.pos = save
        return None

    def token68(self) -> str | None:
        save = self.pos
        start = self.pos
        while self.peek() and self.peek() in _TOKEN68:
            self.pos += 1
        if self.pos == start:
            return None
        while self.peek() == "=":
            self.pos += 1
        if self.at_item_end():
            return self.text[start : self.pos]
        self.pos = save
        return None


def parse_www_authenticate(value: str) -> list[Challenge]:
    """Every challenge that can be read from one header value; never raises."""
    parser = _Parser(value)
    challenges: list[Challenge] = []
    current: Challenge | None = None
    while True:
        parser.skip_separators()
        if not parser.peek():
            return challenges
        # A bare "name=value" item continues the current challenge.
        param = parser.param()
        if param is not None:
            if current is not None and current.token68 is None:
                current.params.setdefault(*param)
            continue
        scheme = parser.token()
        if scheme is None or not (parser.at_item_end() or parser.peek() in _WS):
            current = None  # junk: do not attach what follows to an older challenge
            parser.skip_to_comma()
            continue
        current = Challenge(scheme.lower())
        challenges.append(current)
        if not parser.skip_ws() or parser.at_item_end():
            continue
        param = parser.param()
        if param is not None:
            current.params[param[0]] = param[1]
            continue
        token68 = parser.token68()
        if token68 is not None:
            challenges[-1] = current = Challenge(current.scheme, token68=token68)
            continue
        parser.skip_to_comma()


def parse_headers(values: Iterable[str]) -> list[Challenge]:
    """The challenges of all ``WWW-Authenticate`` header values, in order."""
    return [challenge for value in values for challenge in parse_www_authenticate(value)]
