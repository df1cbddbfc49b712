"""WWW-Authenticate parsing: RFC 7235 examples, real registry headers, properties, junk."""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from regcred._net.www_authenticate import Challenge, parse_headers, parse_www_authenticate

pytestmark = pytest.mark.portable  # needs no Linux component: .github/workflows/portable.yml runs it

TCHARS = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
TOKEN68_CHARS = "-._~+/" + string.ascii_letters + string.digits


def test_docker_hub_bearer() -> None:
    """Docker Hub's challenge gives a bearer scheme with realm and service."""
    header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'
    assert parse_www_authenticate(header) == [
        Challenge("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io"})
    ]


def test_distribution_basic() -> None:
    """distribution's htpasswd challenge parses as Basic with its realm."""
    assert parse_www_authenticate('Basic realm="Registry Realm"') == [
        Challenge("basic", {"realm": "Registry Realm"})
    ]


def test_rfc7235_two_challenges_in_one_header() -> None:
    """The RFC 7235 §4.1 example: two challenges, escapes and a token value."""
    header = 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'
    assert parse_www_authenticate(header) == [
        Challenge("newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
        Challenge("basic", {"realm": "simple"}),
    ]


def test_challenges_across_headers() -> None:
    """Several header values give all their challenges, in order."""
    values = ['Basic realm="a"', 'Bearer realm="https://t/x", service=s, Negotiate']
    assert [c.scheme for c in parse_headers(values)] == ["basic", "bearer", "negotiate"]


def test_case_insensitive_names_keep_value_case() -> None:
    """Scheme and parameter names are lower-cased; values keep their case."""
    [challenge] = parse_www_authenticate('BEARER REALM="HTTPS://Auth/Token", Service=Reg')
    assert challenge.scheme == "bearer"
    assert challenge.params == {"realm": "HTTPS://Auth/Token", "service": "Reg"}
    assert challenge.get("SERVICE") == "Reg"


def test_token68() -> None:
    """A token68 credential (with = padding) is kept apart from params."""
    assert parse_www_authenticate("Negotiate YIIB+/w==, Basic realm=x") == [
        Challenge("negotiate", token68="YIIB+/w=="),
        Challenge("basic", {"realm": "x"}),
    ]


def test_bws_around_equals() -> None:
    """Whitespace around ``=`` is allowed (BWS)."""
    [challenge] = parse_www_authenticate('Bearer realm = "r" ,  service\t=\ts')
    assert challenge.params == {"realm": "r", "service": "s"}


def test_first_duplicate_param_wins() -> None:
    """A repeated parameter does not override the first one."""
    [challenge] = parse_www_authenticate('Bearer realm="https://good/", realm="https://evil/"')
    assert challenge.get("realm") == "https://good/"


def test_scheme_without_params() -> None:
    """A bare scheme is a challenge with no parameters."""
    assert parse_www_authenticate("Basic") == [Challenge("basic")]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", []),
        (",,, ,", []),
        ('"""', []),
        ("=", []),
        ("realm=x", []),
        ('Basic realm="unterminated', [Challenge("basic")]),
        # "realm=" is a valid token68 by the grammar, so it is one
        (
            "Basic realm=, Bearer r=r",
            [Challenge("basic", token68="realm="), Challenge("bearer", {"r": "r"})],
        ),
        (
            'Basic realm="", Bearer r=r',
            [Challenge("basic", {"realm": ""}), Challenge("bearer", {"r": "r"})],
        ),
        ("B@d realm=x, Basic realm=y", [Challenge("basic", {"realm": "y"})]),
        ('Bearer realm="r" junk, service=s', [Challenge("bearer", {"service": "s"})]),
        ("Basic realm=a=b", [Challenge("basic")]),
        ("Basic\x00realm=x", []),
    ],
)
def test_junk_is_skipped(header: str, expected: list[Challenge]) -> None:
    """Malformed parts are dropped; the well-formed rest is kept."""
    assert parse_www_authenticate(header) == expected


# --------------------------------------------------------------------------- properties

tokens = st.text(TCHARS, min_size=1, max_size=12)
values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
ows = st.sampled_from(["", " ", "  ", "\t"])


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def challenges(draw: st.DrawFn) -> tuple[str, Challenge]:
    """A rendered challenge and what parsing it must give."""
    scheme = draw(tokens)
    if draw(st.booleans()):
        t68 = draw(st.text(TOKEN68_CHARS, min_size=1, max_size=16)) + "=" * draw(st.integers(0, 2))
        return f"{scheme} {t68}", Challenge(scheme.lower(), token68=t68)
    names = draw(st.lists(tokens, max_size=4, unique_by=str.lower))
    params: dict[str, str] = {}
    parts = []
    for name in names:
        value = draw(values)
        as_token = value and all(c in TCHARS for c in value) and draw(st.booleans())
        rendered = value if as_token else _quote(value)
        parts.append(f"{name}{draw(ows)}={draw(ows)}{rendered}")
        params[name.lower()] = value
    text = scheme + (" " + ",".join(f"{draw(ows)}{p}" for p in parts) if parts else "")
    return text, Challenge(scheme.lower(), params)


@given(st.lists(challenges(), min_size=1, max_size=4), ows)
def test_round_trip(items: list[tuple[str, Challenge]], space: str) -> None:
    """Any well-formed list of challenges parses back to exactly what was rendered."""
    header = f"{space},{space}".join(text for text, _ in items)
    assert parse_www_authenticate(header) == [challenge for _, challenge in items]


@given(st.lists(challenges(), min_size=1, max_size=4))
def test_split_across_headers_is_the_same(items: list[tuple[str, Challenge]]) -> None:
    """One challenge per header gives the same list as all in one header."""
    joined = parse_www_authenticate(", ".join(text for text, _ in items))
    assert parse_headers([text for text, _ in items]) == joined


@given(st.text())
@example('Bearer realm="\\')
@example('a b="\\\\\\"", c d=e,,,=,')
def test_never_raises_on_any_text(text: str) -> None:
    """Arbitrary input never raises and yields well-typed challenges."""
    for challenge in parse_www_authenticate(text):
        assert challenge.scheme
        assert challenge.scheme == challenge.scheme.lower()
        assert all(k == k.lower() and isinstance(v, str) for k, v in challenge.params.items())


SOUP = [*' ,="\\=\t', "Basic", "realm", "x", "Bearer", "\u00e9", "\x00"]


@given(st.lists(st.sampled_from(SOUP), max_size=60).map("".join))
def test_never_raises_on_punctuation_soup(text: str) -> None:
    """A fuzz-ish mix of the grammar's own words and punctuation never raises."""
    for challenge in parse_www_authenticate(text):
        assert set(challenge.scheme) <= set("basicrealmxbearer")


def test_long_input_is_linear_enough() -> None:
    """A 200 kB header parses quickly (no quadratic backtracking)."""
    header = ", ".join(f'Bearer realm="https://r{i}/",service=s{i}' for i in range(5000))
    assert len(parse_www_authenticate(header)) == 5000
