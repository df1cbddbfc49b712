"""JSON bytes exactly as Go's encoding/json writes them.

Go escapes ``<``, ``>``, ``&``, U+2028 and U+2029, writes other non-ASCII
as raw UTF-8, and uses lowercase ``\\u00xx`` for C0 controls (Python does
the same).  Since those five characters can only occur inside JSON
strings, replacing them in the encoded text is exact.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs helpers start-up time at run time
    from typing import Any

_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def dumps_compact(obj: Any, *, sort_keys: bool = False) -> str:
    """``json.Encoder.Encode`` output: compact, HTML-safe, trailing newline."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    return text.translate(_GO_ESCAPES) + "\n"


def dumps_indent(obj: Any) -> str:
    """``json.MarshalIndent(v, "", "\\t")`` output: no trailing newline."""
    text = json.dumps(obj, ensure_ascii=False, indent="\t", separators=(",", ": "))
    return text.translate(_GO_ESCAPES)


def encode_utf8(text: str) -> bytes:
    """UTF-8 bytes; lone surrogates become U+FFFD, as Go does for invalid UTF-8."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode()
