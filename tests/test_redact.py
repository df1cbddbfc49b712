"""One redaction of every spelling of a secret we sent (regcred._redact).

Each spelling is produced here with the real encoder (json, urllib.parse,
base64, repr, regcred._gojson as helpers receive it), never with the
module under test.
"""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regcred._gojson import dumps_compact
from regcred._net import token_client
from regcred._redact import MARKER, WITHHELD, redact, shown_line, spellings

pytestmark = pytest.mark.portable  # needs no Linux component: .github/workflows/portable.yml runs it

SECRETS = ["p<w>&", 'tricky "quote" \\ back/slash+plus=eq?q#h', "naïve ☃ \U0001f511\n\t\x00\x7f", "~-_.09"]


def _encodings(secret: str, user: str) -> list[str]:
    raw = secret.encode("utf-8", "surrogatepass")
    pair = f"{user}:{secret}".encode("utf-8", "surrogatepass")
    return [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        dumps_compact({"Secret": secret})[len('{"Secret":"') : -3],
        urllib.parse.quote(secret),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.b64encode(pair).decode(),
        base64.urlsafe_b64encode(pair).decode().rstrip("="),
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        repr(raw)[2:-1],
    ]


@pytest.mark.parametrize("secret", SECRETS)
def test_every_encoding_is_a_spelling(secret: str) -> None:
    """Raw, JSON (Python's two forms and Go's), URL-encoded, base64 and repr spellings are all known."""
    known = spellings(secret, ["alice"])
    for form in _encodings(secret, "alice"):
        assert form in known


@pytest.mark.parametrize("secret", SECRETS)
def test_redact_leaves_no_spelling(secret: str) -> None:
    """Text holding every spelling comes back with markers only."""
    forms = _encodings(secret, "alice")
    text = " | ".join(forms)
    assert redact(text, [secret], usernames=["alice"]) == " | ".join([MARKER] * len(forms))


_NO_MARKER_CHARS = st.characters(blacklist_characters="<>\x02")


@given(st.text(_NO_MARKER_CHARS, min_size=1), st.text(_NO_MARKER_CHARS, max_size=8))
def test_redact_any_secret(secret: str, user: str) -> None:
    """For any secret, no encoding of it survives inside surrounding text."""
    for form in _encodings(secret, user):
        out = redact(f"\x02{form}\x02", [secret], usernames=[user])
        assert form not in out.replace(MARKER, "\x02")


def test_nothing_to_redact() -> None:
    """Empty secrets and empty text change nothing; other text is left alone."""
    assert redact("keep this", []) == "keep this"
    assert redact("keep this", [""]) == "keep this"
    assert redact("", ["secret"]) == ""
    assert spellings("") == set()


def test_login_scrubber_uses_every_spelling() -> None:
    """The login flow's scrubber removes an echoed URL-encoded or base64 secret too."""
    secret = "hunter2/+?"
    scrub = token_client.Secrets(secret).scrub
    text = f"got {urllib.parse.quote(secret, safe='')} and {base64.b64encode(secret.encode()).decode()}"
    assert scrub(text) == "got REDACTED and REDACTED"


@pytest.mark.parametrize("secret", SECRETS)
def test_redact_ignores_case(secret: str) -> None:
    """An upper-cased or case-swapped echo is redacted too (#17.18)."""
    for echo in (secret.upper(), secret.swapcase(), base64.b64encode(secret.encode()).decode().lower()):
        if echo.casefold() == echo.upper().casefold():  # the case change kept the characters
            assert redact(f"[{echo}]", [secret]) == f"[{MARKER}]"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("", ""),
        ("\n  \n", ""),
        ("first line\nsecond line\n", "first line"),
        ("bad s3cretvalue here\nmore", f"bad {MARKER} here"),
        ("BAD S3CRETVALUE HERE", f"BAD {MARKER} HERE"),
        ("s3cret\nvalue", WITHHELD),  # split across lines
        ("error: s3cr\n  etva lue", WITHHELD),
        ("S 3 C R E T V A L U E", WITHHELD),
        ("esc \x1b[2J here", "esc \\x1b[2J here"),
        ("y" * 500, "y" * 199 + "…"),
    ],
)
def test_shown_line_is_one_bounded_redacted_line(text: str, shown: str) -> None:
    """What of a program's output may be shown: one line, bounded, redacted, or withheld (#17.18)."""
    assert shown_line(text, ["s3cretvalue"]) == shown


def test_shown_line_catches_a_case_folded_echo() -> None:
    """ß upper-cases to SS, which no case-insensitive match of ß finds: the squashed check does."""
    assert shown_line("echo: STRASSE-KEY", ["straße-key"]) == WITHHELD
    assert shown_line("nothing of it", ["straße-key"]) == "nothing of it"
