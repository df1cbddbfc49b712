"""registryurl.Parse on Go's net/url rules: docker-credential-helpers' own table, and Go's error texts."""

from __future__ import annotations

import pytest

from regcred.stores._registryurl import URLError, parse

# (input, url.String() after registryurl.Parse): registryurl/parse_test.go, then Go net/url behaviour.
PARSED = [
    ("foobar.example.com", "//foobar.example.com"),
    ("foobar.example.com:2376", "//foobar.example.com:2376"),
    ("//foobar.example.com:2376", "//foobar.example.com:2376"),
    ("http://foobar.example.com:2376", "http://foobar.example.com:2376"),
    ("https://foobar.example.com:2376", "https://foobar.example.com:2376"),
    ("https://foobar.example.com:2376/some/path", "https://foobar.example.com:2376/some/path"),
    (
        "https://foobar.example.com:2376/some/other/path?foo=bar",
        "https://foobar.example.com:2376/some/other/path",
    ),
    ("HTTPS://Reg.Example", "https://Reg.Example"),  # the scheme is lowered, the host kept
    ("reg.example/a b", "//reg.example/a%20b"),
    ("reg.example/a%2Fb", "//reg.example/a%2Fb"),  # RawPath kept
    ("reg.example/%E2%9C%93", "//reg.example/%E2%9C%93"),
    ("[::1]:5000", "//[::1]:5000"),
    ("user:p%40w@reg.example/x", "//user:p%40w@reg.example/x"),
    ("reg.example?", "//reg.example?"),  # ForceQuery survives: only RawQuery is cleared
    ("reg.example#frag", "//reg.example#frag"),
]

ERRORS = [
    ("/foobar.example.com", "no hostname in URL"),
    ("ftp://foobar.example.com:2376", "unsupported scheme: ftp"),
    ("", "no hostname in URL"),
    ("reg.example:abc", 'parse "//reg.example:abc": invalid port ":abc" after host'),
    ("a b.example", 'parse "//a b.example": invalid character " " in host name'),
    ("reg.example/a%zz", 'parse "//reg.example/a%zz": invalid URL escape "%zz"'),
    ("reg.example\n", 'parse "//reg.example\\n": net/url: invalid control character in URL'),
    ("a b://reg.example", 'parse "a b://reg.example": first path segment in URL cannot contain colon'),
    ("https:x://reg.example", "no hostname in URL"),  # opaque
]


@pytest.mark.parametrize(("raw", "expected"), PARSED)
def test_parse_as_go(raw: str, expected: str) -> None:
    assert parse(raw).string() == expected


@pytest.mark.parametrize(("raw", "message"), ERRORS)
def test_errors_are_gos(raw: str, message: str) -> None:
    with pytest.raises(URLError) as caught:
        parse(raw)
    assert str(caught.value) == message


def test_host_port_path() -> None:
    url = parse("[::1]:5000/v2/x%2Fy")
    assert (url.hostname(), url.port(), url.path, url.escaped_path()) == (
        "::1",
        "5000",
        "/v2/x/y",
        "/v2/x%2Fy",
    )
    assert (parse("reg.example").port(), parse("reg.example").path) == ("", "")
