"""Server-address normalisation (regcred._address)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regcred._address import (
    DOCKER_HUB,
    is_hub,
    logout_aliases,
    normalize,
    split_repository,
    to_hostname,
)
from regcred.errors import AddressError

pytestmark = pytest.mark.portable  # needs no Linux component: .github/workflows/portable.yml runs it


@pytest.mark.parametrize(
    ("arg", "key"),
    [
        (None, DOCKER_HUB),
        ("", DOCKER_HUB),
        ("docker.io", DOCKER_HUB),
        ("index.docker.io", DOCKER_HUB),
        ("https://index.docker.io/v1/", DOCKER_HUB),
        ("https://index.docker.io/v1", DOCKER_HUB),
        ("registry-1.docker.io", DOCKER_HUB),
        ("https://registry-1.docker.io/v2/", DOCKER_HUB),
        ("docker.io/library/alpine", DOCKER_HUB),
        ("reg.example.com", "reg.example.com"),
        ("https://reg.example.com/", "reg.example.com"),
        ("http://reg.example.com/v2/", "reg.example.com"),
        ("reg.example.com/foo/bar", "reg.example.com"),
        ("reg.example.com:5000", "reg.example.com:5000"),
        ("https://reg.example.com:5000/v2/", "reg.example.com:5000"),
        ("127.0.0.1:6556", "127.0.0.1:6556"),
        ("localhost:8080", "localhost:8080"),
        ("[::1]:6556", "[::1]:6556"),
        ("::1:6556", "[::1]:6556"),
        ("https://::1:6555/v2/", "[::1]:6555"),
        ("fe80::1", "[fe80::1]"),
        ("Reg.Example.COM", "Reg.Example.COM"),
    ],
)
def test_normalize(arg: str | None, key: str) -> None:
    """Docker's keys, with every Docker Hub alias mapped to the Hub key."""
    assert normalize(arg) == key


@pytest.mark.parametrize(
    ("arg", "reason"),
    [
        ("user:secret@reg.example", "user information"),
        ("https://user:secret@reg.example/", "user information"),
        ("reg.example/repo:tag", "tag"),
        ("reg.example/repo@sha256:abcd", "digest"),
        ("reg example", "whitespace"),
        ("reg.example\n", "control"),
        ("reg\x00.example", "control"),
        ("ftp://reg.example", "scheme"),
        ("https://", "no host"),
        ("reg.example:0", "port"),
        ("reg.example:99999", "port"),
        ("reg.example:abc", "port"),
        ("[::1", "unclosed"),
        ("-bad.example", "host name"),
        ("reg.example/UPPER", "path component"),
    ],
)
def test_normalize_rejects(arg: str, reason: str) -> None:
    """Bad addresses give one clear AddressError (a ValueError)."""
    with pytest.raises(AddressError, match=reason) as info:
        normalize(arg)
    assert isinstance(info.value, ValueError)


def test_userinfo_password_never_in_error() -> None:
    """A password in userinfo is not echoed back in the error."""
    with pytest.raises(AddressError) as info:
        normalize("https://bob:CANARY-pw@reg.example/")
    assert "CANARY" not in str(info.value)


def test_split_repository() -> None:
    """Namespaced references keep their path for podman-style lookups."""
    assert split_repository("quay.io/org/repo") == ("quay.io", "org/repo")
    assert split_repository("docker.io/library/alpine") == (DOCKER_HUB, "library/alpine")
    assert split_repository("reg:5000") == ("reg:5000", "")


def test_to_hostname_matches_docker() -> None:
    """Docker's ConvertToHostname on stored keys."""
    assert to_hostname("https://reg.example/v1/") == "reg.example"
    assert to_hostname("http://reg.example:5000") == "reg.example:5000"
    assert to_hostname("ftp://x") == "x"
    assert to_hostname("https://::1:6555/v2/") == "[::1]:6555"
    assert to_hostname("reg.example") == "reg.example"


def test_logout_aliases() -> None:
    """Logout erases host, http://host and https://host; Hub erases every Hub alias."""
    assert logout_aliases("reg:5000") == ["reg:5000", "https://reg:5000", "http://reg:5000"]
    hub = logout_aliases(DOCKER_HUB)
    assert hub[0] == DOCKER_HUB
    assert {"docker.io", "index.docker.io", "registry-1.docker.io"} <= set(hub)
    assert all(is_hub(k) for k in hub)


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_host = st.lists(_label, min_size=1, max_size=4).map(".".join)
_port = st.integers(1, 65535)


@given(
    host=_host,
    port=st.none() | _port,
    scheme=st.sampled_from(["", "http://", "https://"]),
    path=st.sampled_from(["", "/", "/v2/", "/v1/", "/a/b"]),
)
def test_normalize_strips_scheme_and_path(host: str, port: int | None, scheme: str, path: str) -> None:
    """Any scheme/path spelling of host[:port] gives the same key, and the key is a fixed point."""
    hostport = f"{host}:{port}" if port else host
    key = normalize(f"{scheme}{hostport}{path}")
    if host in {"docker.io", "index.docker.io", "registry-1.docker.io"}:
        assert key == DOCKER_HUB
    else:
        assert key == hostport
    assert normalize(key) == key
    assert to_hostname(f"https://{hostport}/v2/") == hostport


@given(st.text(max_size=60))
def test_normalize_never_crashes(text: str) -> None:
    """Arbitrary input either normalises to a clean key or raises AddressError."""
    try:
        key = normalize(text)
    except AddressError as exc:
        assert "\n" not in str(exc)
        return
    assert key == DOCKER_HUB or not any(c.isspace() or c in "/@" for c in key)
    assert normalize(key) == key
