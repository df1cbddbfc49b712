"""JSON bytes exactly as Go's encoding/json writes them.

Go escapes ``<``, ``>``, ``&``, U+2028 and U+2029, writes other non-ASCII
as raw UTF-8, and uses lowercase ``\\u00xx`` for C0 controls (Python does
the same).  Since those five characters can only occur inside JSON
strings, replacing them in the encoded text is exact.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def dumps_compact(obj: Any, *, sort_keys: bool = False) -> str:
    """``json.Encoder.Encode`` output: compact, HTML-safe, trailing newline."""
    if type(obj) is dict and all(type(k) is str and type(v) is str for k, v in obj.items()):
        # The helper protocol's only shapes: {"ServerURL","Username","Secret"} and list's
        # {url: user}.  Encoded without the json module, so that a helper's get and list
        # never import it (~2 ms; ~9 ms with re and enum where nothing else loaded them).
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
    # Imported here, not at the top, because helpers import this module and only
    # their ``store`` needs json.  Every caller of this function (config writers,
    # export, doctor --json) has imported json already, so it costs nothing here.
    # encode_basestring is json's C string encoder, many times faster than quote().
    from json.encoder import encode_basestring

    parts: list[str] = []
    _indent(obj, "", parts, encode_basestring)
    text = "".join(parts)
    if any(c in text for c in "<>&\u2028\u2029"):
        text = text.translate(_GO_ESCAPES)
    return text


def _indent(obj: Any, pad: str, out: list[str], encode: Callable[[str], str]) -> None:
    if isinstance(obj, str):
        out.append(encode(obj))
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
            out.append(encode(key) + ": ")
            if isinstance(value, str):
                out.append(encode(value))
            elif type(value) is dict and len(value) == 1:
                # the usual auths entry, {"auth": "..."}: written without recursion
                ((k, v),) = value.items()
                if type(v) is str:
                    out.append(f"{{\n{inner}\t{encode(k)}: {encode(v)}\n{inner}}}")
                else:
                    _indent(value, inner, out, encode)
            else:
                _indent(value, inner, out, encode)
        out.append("\n" + pad + "}")
    elif isinstance(obj, list):
        if not obj:
            out.append("[]")
            return
        inner = pad + "\t"
        out.append("[")
        for i, value in enumerate(obj):
            out.append(("\n" if i == 0 else ",\n") + inner)
            _indent(value, inner, out, encode)
        out.append("\n" + pad + "]")
    else:
        literal = getattr(obj, "literal", None)  # a number kept as its original text
        if isinstance(literal, str):
            out.append(literal)
            return
        import json

        out.append(json.dumps(obj))


def go_decode(data: bytes) -> str:
    """Decode UTF-8 as Go does: every byte of an invalid sequence becomes U+FFFD."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        import re  # only for invalid UTF-8: see regcred.helpers._godecode on what ``re`` costs

        # Bytes of invalid UTF-8 come back surrogate-escaped, U+DC80..U+DCFF.
        return re.sub("[\udc80-\udcff]", "\ufffd", data.decode("utf-8", "surrogateescape"))


def encode_utf8(text: str) -> bytes:
    """UTF-8 bytes; lone surrogates become U+FFFD, as Go does for invalid UTF-8."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode()
