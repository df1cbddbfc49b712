"""``registryurl.Parse`` of docker-credential-helpers, on Go's ``net/url`` rules.

The macOS keychain and Windows Credential Manager helpers key their items by
a parsed server URL, so a helper that reads what the Go helpers wrote must
parse exactly as they do:

* no ``://`` and no leading ``//``: ``//`` is prefixed, so ``host:5000/path``
  has a host and a path;
* only ``https``, ``http`` or no scheme (``unsupported scheme: X``);
* an empty hostname is ``no hostname in URL``;
* the query string is dropped (a lone trailing ``?`` is kept, as Go keeps
  ``ForceQuery``).

:class:`GoURL` keeps the fields of Go's ``url.URL`` that these helpers use
(scheme, userinfo, host, path and its raw form, fragment, force-query) and
:meth:`GoURL.string` is ``url.String()``.  Errors carry Go's texts
(``parse "//a b": invalid character " " in host name``).  Pure Python, no
imports: both helpers load it at start-up.
"""

from __future__ import annotations

__all__ = ["GoURL", "URLError", "parse"]

_HEX = "0123456789ABCDEF"
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_HOST_OK = frozenset("!$&'()*;=:[]<>\"+,")
_VALID_ENCODED = frozenset("!$&'()*+,;=:@[]%")
_USERINFO_OK = frozenset("-._:~!$&'()*+,;=%@") | _ALNUM

_HOST, _PATH, _USER, _FRAGMENT = "host", "path", "user", "fragment"


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


class URLError(ValueError):
    """A server URL that ``registryurl.Parse`` rejects; the text is Go's."""


def _go_quote(text: str) -> str:
    """``%q`` of a Go string, for the texts that quote input (ASCII-safe enough for one line)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _should_escape(c: str, mode: str) -> bool:
    """Go's ``shouldEscape`` for one byte (``c`` is a one-character string < U+0100)."""
    if c in _ALNUM:
        return False
    if mode == _HOST and c in _HOST_OK:
        return False
    if c in "-_.~":
        return False
    if c in "$&+,/:;=?@":
        if mode == _USER:
            return c in "@/?:"
        if mode == _FRAGMENT:
            return False
        if mode == _PATH:
            return c == "?"
        return True  # host: '/', '?', '@'
    return not (mode == _FRAGMENT and c in "!()*")


def _escape(text: str, mode: str) -> str:
    """Go's ``escape``: each byte that must be escaped becomes ``%XX``."""
    out = []
    for byte in text.encode("utf-8", "surrogateescape"):
        c = chr(byte)
        if byte < 0x80 and not _should_escape(c, mode):
            out.append(c)
        else:
            out.append("%" + _HEX[byte >> 4] + _HEX[byte & 15])
    return "".join(out)


def _unescape(text: str, mode: str) -> str:
    """Go's ``unescape`` (host rules included); raises URLError with Go's text."""
    raw = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%":
            code = text[i + 1 : i + 3]
            if len(code) < 2 or not all(h in "0123456789abcdefABCDEF" for h in code):
                raise URLError(f"invalid URL escape {_go_quote(text[i : i + 3])}")
            if mode == _HOST and int(code[0], 16) < 8 and code != "25":
                raise URLError(f"invalid URL escape {_go_quote(text[i : i + 3])}")
            raw.append(int(code, 16))
            i += 3
            continue
        if mode == _HOST and c < "\x80" and _should_escape(c, mode):
            raise URLError(f"invalid character {_go_quote(c)} in host name")
        raw += c.encode("utf-8", "surrogateescape")
        i += 1
    return raw.decode("utf-8", "surrogateescape")


def _valid_encoded(text: str, mode: str) -> bool:
    return all(c in _VALID_ENCODED or (c < "\x80" and not _should_escape(c, mode)) for c in text)


def _valid_optional_port(port: str) -> bool:
    if not port:
        return True
    return port[0] == ":" and all("0" <= c <= "9" for c in port[1:])


def _split_host_port(host: str) -> tuple[str, str]:
    port = ""
    colon = host.rfind(":")
    if colon != -1 and _valid_optional_port(host[colon:]):
        host, port = host[:colon], host[colon + 1 :]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


class GoURL:
    """The fields of Go's ``url.URL`` that the helpers read (see the module docstring)."""

    __slots__ = ("force_query", "fragment", "host", "path", "raw_fragment", "raw_path", "scheme", "user")

    def __init__(self) -> None:
        self.scheme = ""
        self.user: tuple[str, str | None] | None = None
        self.host = ""
        self.path = ""
        self.raw_path = ""
        self.fragment = ""
        self.raw_fragment = ""
        self.force_query = False

    def copy(self) -> GoURL:
        other = GoURL()
        for name in self.__slots__:
            setattr(other, name, getattr(self, name))
        return other

    def hostname(self) -> str:
        """``url.Hostname()``: the host without port or IPv6 brackets."""
        return _split_host_port(self.host)[0]

    def port(self) -> str:
        """``url.Port()``: the digits after the host, or ``""``."""
        return _split_host_port(self.host)[1]

    def escaped_path(self) -> str:
        if self.raw_path and _valid_encoded(self.raw_path, _PATH):
            try:
                if _unescape(self.raw_path, _PATH) == self.path:
                    return self.raw_path
            except URLError:
                pass
        if self.path == "*":
            return "*"
        return _escape(self.path, _PATH)

    def escaped_fragment(self) -> str:
        if self.raw_fragment and _valid_encoded(self.raw_fragment, _FRAGMENT):
            try:
                if _unescape(self.raw_fragment, _FRAGMENT) == self.fragment:
                    return self.raw_fragment
            except URLError:
                pass
        return _escape(self.fragment, _FRAGMENT)

    def string(self) -> str:
        """``url.String()``."""
        out = ""
        if self.scheme:
            out += self.scheme + ":"
        if self.scheme or self.host or self.user is not None:
            if self.host or self.path or self.user is not None:
                out += "//"
            if self.user is not None:
                name, password = self.user
                out += _escape(name, _USER)
                if password is not None:
                    out += ":" + _escape(password, _USER)
                out += "@"
            if self.host:
                out += _escape(self.host, _HOST)
        path = self.escaped_path()
        if path and path[0] != "/" and self.host:
            out += "/"
        if not out and ":" in path.partition("/")[0]:
            out += "./"
        out += path
        if self.force_query:
            out += "?"
        if self.fragment:
            out += "#" + self.escaped_fragment()
        return out


def _parse_host(host: str) -> str:
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise URLError("missing ']' in host")
        colon_port = host[end + 1 :]
        if not _valid_optional_port(colon_port):
            raise URLError(f"invalid port {_go_quote(colon_port)} after host")
    else:
        colon = host.rfind(":")
        if colon != -1 and not _valid_optional_port(host[colon:]):
            raise URLError(f"invalid port {_go_quote(host[colon:])} after host")
    return _unescape(host, _HOST)


def _go_parse(raw: str) -> GoURL:
    """Go's ``url.Parse`` for a URL with ``//`` or a scheme (what registryurl hands it)."""
    text, _, fragment = raw.partition("#")
    try:
        url = _parse(text)
        if fragment:
            url.fragment = _unescape(fragment, _FRAGMENT)
            url.raw_fragment = fragment
    except URLError as exc:
        raise URLError(f"parse {_go_quote(text)}: {exc}") from None
    return url


def _parse(text: str) -> GoURL:
    if any(c < " " or c == "\x7f" for c in text):
        raise URLError("net/url: invalid control character in URL")
    url = GoURL()
    rest = text
    for i, c in enumerate(text):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                raise URLError("missing protocol scheme")
            url.scheme, rest = text[:i].lower(), text[i + 1 :]
        break
    if rest.endswith("?") and rest.count("?") == 1:
        url.force_query = True
        rest = rest[:-1]
    else:
        rest = rest.partition("?")[0]
    if not rest.startswith("/"):
        if url.scheme:
            return url  # opaque: it has no host, which Parse rejects
        if ":" in rest.partition("/")[0]:
            raise URLError("first path segment in URL cannot contain colon")
    if (url.scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        user, at, host = authority.rpartition("@")
        url.host = _parse_host(host)
        if at:
            if not all(c in _USERINFO_OK for c in user):
                raise URLError("net/url: invalid userinfo")
            name, colon, password = user.partition(":")
            url.user = (_unescape(name, _USER), _unescape(password, _USER) if colon else None)
    url.path = _unescape(rest, _PATH)
    url.raw_path = "" if _escape(url.path, _PATH) == rest else rest
    return url


def parse(server_url: str) -> GoURL:
    """``registryurl.Parse``: the URL the Go helpers key an item by, or URLError."""
    if "://" not in server_url and not server_url.startswith("//"):
        server_url = "//" + server_url
    url = _go_parse(server_url)
    if url.scheme not in ("", "https", "http"):
        raise URLError(f"unsupported scheme: {url.scheme}")
    if not url.hostname():
        raise URLError("no hostname in URL")
    return url
