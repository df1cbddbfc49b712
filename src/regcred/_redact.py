"""Remove secrets we sent from text that comes back (a helper's or a server's).

A program we hand a secret to may echo it in whatever form it had it in:
raw, inside JSON (ours is Go's HTML-escaping form, others use Python's
ascii or non-ascii form), URL-encoded, base64 (alone, or as the
``username:secret`` of a Basic ``auth``), or as a Python ``repr``.
:func:`redact` replaces every one of those spellings, longest first and
whatever their case (a program may upper-case what it echoes).

:func:`shown_line` is what of a failing program's output may be shown at
all: one line, bounded, redacted, and nothing when the secret is still in
there once line breaks and spaces are taken out (an echo split across lines).

This is not :func:`regcred._net.http.redact_url`: that one removes the
userinfo and query values of a URL without knowing any secret, which is a
different job (a URL a server sends may carry a secret we never saw).

Importing this module costs nothing a helper client has not loaded already
(``binascii``, ``re``); ``json`` and ``urllib.parse`` are imported only when
there is a secret to look for.
"""

from __future__ import annotations

import binascii
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["LINE_LIMIT", "MARKER", "WITHHELD", "redact", "shown_line", "spellings"]

#: What a secret is replaced with.
MARKER = "<redacted>"
#: What :func:`shown_line` shows for output that still holds a secret after :func:`redact`.
WITHHELD = "<output withheld: it held the secret>"
#: The most characters of a program's output that :func:`shown_line` keeps.
LINE_LIMIT = 200

_HEX_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")
_PERCENT = re.compile("%[0-9A-F]{2}")


def spellings(secret: str, usernames: Iterable[str] = ()) -> set[str]:
    """Every spelling of ``secret`` that :func:`redact` removes (empty for an empty secret).

    ``usernames`` adds the base64 of ``username:secret`` for each (the empty
    username always counts).
    """
    if not secret:
        return set()
    import json
    from urllib.parse import quote, quote_plus

    from regcred._gojson import quote as go_quote

    raw = secret.encode("utf-8", "surrogatepass")
    ascii_json = json.dumps(secret)[1:-1]
    percent = {quote(raw), quote(raw, safe=""), quote_plus(raw), quote_plus(raw, safe="/")}
    found = {
        secret,
        go_quote(secret)[1:-1],  # Go's encoding/json, as _gojson.dumps_compact writes it
        json.dumps(secret, ensure_ascii=False)[1:-1],
        ascii_json,
        _HEX_ESCAPE.sub(lambda m: "\\u" + m.group()[2:].upper(), ascii_json),  # \u00E9 writers
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        repr(raw)[2:-1],
        *percent,
        *(_PERCENT.sub(lambda m: m.group().lower(), text) for text in percent),
    }
    for payload in (raw, *(f"{user}:".encode("utf-8", "surrogatepass") + raw for user in {"", *usernames})):
        found.update(_base64(payload))
    found.discard("")
    return found


def redact(text: str, secrets: Iterable[str], *, usernames: Iterable[str] = (), marker: str = MARKER) -> str:
    """``text`` with every spelling of each of ``secrets`` replaced by ``marker``."""
    if not text:
        return text
    every = _every(secrets, tuple(usernames))
    if not every:
        return text
    pattern = "|".join(re.escape(spelling) for spelling in sorted(every, key=len, reverse=True))
    return re.sub(pattern, lambda _match: marker, text, flags=re.IGNORECASE)


def shown_line(
    text: str, secrets: Iterable[str], *, usernames: Iterable[str] = (), limit: int = LINE_LIMIT
) -> str:
    """The one line of a program's output that may be shown ("" for none).

    ``text`` redacted (:func:`redact`); :data:`WITHHELD` instead when a
    spelling of a secret is still there once whitespace and control
    characters are removed and case is ignored (an echo split across lines,
    or upper-cased as ``ß`` to ``SS``); else its first non-blank line, with
    controls escaped (:func:`regcred._text.printable`), cut to ``limit``
    characters (``…`` marks the cut).
    """
    names = tuple(usernames)
    every = _every(secrets, names)
    redacted = redact(text, secrets, usernames=names)
    if every:
        squashed = _squash(redacted)
        if any(_squash(spelling) in squashed for spelling in every if _squash(spelling)):
            return WITHHELD
    line = next((line.strip() for line in redacted.splitlines() if line.strip()), "")
    if not line:
        return ""
    from regcred._text import printable

    line = printable(line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _every(secrets: Iterable[str], usernames: tuple[str, ...]) -> set[str]:
    every: set[str] = set()
    for secret in secrets:
        every |= spellings(secret, usernames)
    return every


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def _squash(text: str) -> str:
    """``text`` without whitespace or controls, case-folded: what a split or upper-cased echo leaves."""
    return _SPACE_OR_CONTROL.sub("", text).casefold()


def _base64(raw: bytes) -> set[str]:
    """Standard and URL-safe base64 of ``raw``, padded and unpadded."""
    standard = binascii.b2a_base64(raw, newline=False).decode("ascii")
    urlsafe = standard.replace("+", "-").replace("/", "_")
    return {standard, urlsafe, standard.rstrip("="), urlsafe.rstrip("=")}
