"""JSON bytes exactly as Go's encoding/json writes them.

Go escapes ``<``, ``>``, ``&``, U+2028 and U+2029, writes other non-ASCII
as raw UTF-8, and uses lowercase ``\\u00xx`` for C0 controls (Python does
the same).  Since those five characters can only occur inside JSON
strings, replacing them in the encoded text is exact.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs helpers start-up time at run time
    from typing import Any

_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def dumps_compact(obj: Any, *, sort_keys: bool = False) -> str:
    """``json.Encoder.Encode`` output: compact, HTML-safe, trailing newline."""
    if type(obj) is dict and all(type(k) is str and type(v) is str for k, v in obj.items()):
        # The helper protocol's only shapes: {"ServerURL","Username","Secret"} and list's
        # {url: user}.  Encoded without the json module, which costs each helper run
        # several milliseconds of imports (json -> re -> enum).
        items = sorted(obj.items()) if sort_keys else obj.items()
        return "{" + ",".join(f"{quote(k)}:{quote(v)}" for k, v in items) + "}\n"
    import json

    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    return text.translate(_GO_ESCAPES) + "\n"


_QUOTE = {c: f"\\u{c:04x}" for c in range(0x20)}
_QUOTE.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"})
_QUOTE.update({ord('"'): '\\"', ord("\\"): "\\\\"})
_QUOTE.update({ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"})
_QUOTE.update({0x2028: "\\u2028", 0x2029: "\\u2029"})


def quote(text: str) -> str:
    """A JSON string literal exactly as Go's encoding/json writes it."""
    return '"' + text.translate(_QUOTE) + '"'


def dumps_indent(obj: Any) -> str:
    """``json.MarshalIndent(v, "", "\t")`` output: no trailing newline.

    Same text as ``json.dumps(obj, ensure_ascii=False, indent="\t")`` but
    several times faster on big configs: with ``indent`` the stdlib falls back
    to its pure-Python encoder, while strings here go through the C one.
    """
    global _encode_str  # noqa: PLW0603 - swapped once for the C encoder, see below
    if _encode_str is quote:
        # Config writers may pay for json's C string encoder (5x faster than
        # str.translate on big files); helpers never get here.
        import json.encoder

        _encode_str = getattr(json.encoder, "c_encode_basestring", None) or quote
    parts: list[str] = []
    _indent(obj, "", parts)
    text = "".join(parts)
    if any(c in text for c in "<>&\u2028\u2029"):
        text = text.translate(_GO_ESCAPES)
    return text


def _indent(obj: Any, pad: str, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(_encode_str(obj))
    elif isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        inner = pad + "\t"
        out.append("{")
        first = True
        for key, value in obj.items():
            out.append("\n" + inner if first else ",\n" + inner)
            first = False
            out.append(_encode_str(key) + ": ")
            if isinstance(value, str):
                out.append(_encode_str(value))
            elif type(value) is dict and len(value) == 1:
                # the usual auths entry, {"auth": "..."}: written without recursion
                ((k, v),) = value.items()
                if type(v) is str:
                    out.append(f"{{\n{inner}\t{_encode_str(k)}: {_encode_str(v)}\n{inner}}}")
                else:
                    _indent(value, inner, out)
            else:
                _indent(value, inner, out)
        out.append("\n" + pad + "}")
    elif isinstance(obj, list):
        if not obj:
            out.append("[]")
            return
        inner = pad + "\t"
        out.append("[")
        for i, value in enumerate(obj):
            out.append(("\n" if i == 0 else ",\n") + inner)
            _indent(value, inner, out)
        out.append("\n" + pad + "]")
    else:
        literal = getattr(obj, "literal", None)  # a number kept as its original text
        if isinstance(literal, str):
            out.append(literal)
            return
        import json

        out.append(json.dumps(obj))


_encode_str = quote


def encode_utf8(text: str) -> bytes:
    """UTF-8 bytes; lone surrogates become U+FFFD, as Go does for invalid UTF-8."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode()
