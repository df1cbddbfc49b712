"""Text from config files, made safe to print on a terminal.

A config.json is data anyone may have written (a CI secret, a copied
home directory): its keys and usernames can hold terminal escape sequences
(``"\\u001b[2J"`` clears the screen, OSC 52 writes the clipboard) or bidi
overrides that make a line read as something else.  :func:`printable`
shows each such character as an escape, so what reaches the terminal is
exactly what it looks like.  JSON output needs none of this: the encoder
already escapes what JSON must.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls, DEL, C1 controls; the bidi marks, embeddings, overrides and
# isolates (U+061C, U+200E-F, U+202A-E, U+2066-9); the line and paragraph
# separators (U+2028-9), which some terminals take for a newline; and lone
# surrogates, which no terminal encoding can write at all.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control, bidi-control and lone-surrogate character escaped.

    ``"\\x1b[2Jevil"`` becomes ``"\\\\x1b[2Jevil"``; ``"\\u202e"`` becomes
    ``"\\\\u202e"``.  Everything else, backslashes included (``DOMAIN\\user``
    is a common username), is left as it is: this is for showing, not a
    reversible encoding.
    """
    return _UNSAFE.sub(_escape, text)
