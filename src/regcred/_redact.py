"""Remove secrets we sent from text that comes back (a helper's or a server's).

A program we hand a secret to may echo it in whatever form it had it in:
raw, inside JSON (ours is Go's HTML-escaping form, others use Python's
ascii or non-ascii form), URL-encoded, base64 (alone, or as the
``username:secret`` of a Basic ``auth``), or as a Python ``repr``.
:func:`redact` replaces every one of those spellings, longest first.

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

__all__ = ["MARKER", "redact", "spellings"]

#: What a secret is replaced with.
MARKER = "<redacted>"

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
    names = tuple(usernames)
    every: set[str] = set()
    for secret in secrets:
        every |= spellings(secret, names)
    for spelling in sorted(every, key=len, reverse=True):
        text = text.replace(spelling, marker)
    return text


def _base64(raw: bytes) -> set[str]:
    """Standard and URL-safe base64 of ``raw``, padded and unpadded."""
    standard = binascii.b2a_base64(raw, newline=False).decode("ascii")
    urlsafe = standard.replace("+", "-").replace("/", "_")
    return {standard, urlsafe, standard.rstrip("="), urlsafe.rstrip("=")}
