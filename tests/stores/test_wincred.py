"""WincredStore against FakeCredentialManager, a FAKE of advapi32 (the real one is Windows-only).

What runs here: the system-independent part (Go's target matching, the
label, the blob limit, errors) as unit tests, and the full StoreContract
plus cross-compatibility with credentials exactly as
docker-credential-wincred v0.9 writes them, through the model at the ctypes
seam.  The ctypes layer itself (regcred.stores._advapi32) runs only in the
Windows CI workflow.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcred.credentials import Credentials
from regcred.errors import CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores._registryurl import parse
from regcred.stores.wincred import MAX_BLOB, WinCredential, WincredStore, find_target
from regcred.testing import StoreContract
from tests.fixtures.fake_credman import FakeCredentialManager, go_credential


@pytest.fixture
def manager() -> FakeCredentialManager:
    return FakeCredentialManager()


class TestWincredStore(StoreContract):
    """The full contract, through the FAKE Credential Manager."""

    exact_keys = False  # get("host") finds https://host/v1/: Go's approximate match

    @pytest.fixture
    def store(self, manager: FakeCredentialManager) -> WincredStore:
        return WincredStore(manager)


def put(manager: FakeCredentialManager, server: str) -> WincredStore:
    store = WincredStore(manager)
    store.store(Credentials(server, "hello", "world"))
    return store


# -- matching: the Go helper's own test tables (wincred_test.go) --------------------------


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("https://foobar.docker.io:2376", "https://foobar.docker.io"),  # stored with port, read without
        ("https://foobar.docker.io", "foobar.docker.io"),  # stored as https, read without scheme
        ("https://foobar.docker.io/one/two", "https://foobar.docker.io"),  # stored with path, read without
    ],
)
def test_aliases_match(manager: FakeCredentialManager, stored: str, read: str) -> None:
    assert put(manager, stored).get(read).username == "hello"


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("https://foobar.docker.io:2376", "http://foobar.docker.io:2376"),
        ("http://foobar.docker.io:2376", "https://foobar.docker.io:2376"),
        ("http://foobar.docker.io", "foobar.docker.io:5678"),
        ("https://foobar.docker.io:1234", "https://foobar.docker.io:5678"),
        ("https://foobar.docker.io", "https://foobar.docker.io:5678"),  # Go's TODO: not the other way round
        ("https://foobar.docker.io:1234/one/two", "https://foobar.docker.io:1234/five/six"),
    ],
)
def test_strict_mismatches(manager: FakeCredentialManager, stored: str, read: str) -> None:
    with pytest.raises(CredentialsNotFoundError):
        put(manager, stored).get(read)


def test_store_retrieve_without_deleting(manager: FakeCredentialManager) -> None:
    """Go's TestWinCredHelperStoreRetrieve: later stores do not shadow earlier URLs.

    Two of Go's rows are left out: ``//foobar.docker.io:2376`` and
    ``…/path?foo=bar`` parse to the same URL as an earlier row, so which
    credential answers depends on the order ``CredEnumerateW`` returns, which
    Windows does not document (the model enumerates in write order).
    """
    urls = [
        "foobar.docker.io",
        "foobar.docker.io:2376",
        "https://foobar.docker.io:2376",
        "http://foobar.docker.io:2376",
        "https://foobar.docker.io:2376/some/path",
        "https://foobar.docker.io:2376/some/other/path",
    ]
    store = WincredStore(manager)
    for i, url in enumerate(urls):
        store.store(Credentials(url, f"user-{i}", f"secret-{i}"))
        got = store.get(url)
        assert (got.username, got.secret) == (f"user-{i}", f"secret-{i}")


def test_exact_match_wins_over_an_earlier_approximate_one() -> None:
    targets = ["https://reg.example:5000", "https://reg.example"]
    assert find_target("https://reg.example", targets) == "https://reg.example"
    assert find_target("reg.example", targets) == "https://reg.example:5000"  # first approximate, as Go


def test_unparsable_query_is_its_own_target() -> None:
    assert (
        find_target("ftp://reg.example", ["ftp://reg.example", "https://reg.example"]) == "ftp://reg.example"
    )
    assert find_target("reg.example", ["ftp://reg.example"]) == ""  # unparsable targets are skipped


def test_missing_credentials(manager: FakeCredentialManager) -> None:
    with pytest.raises(CredentialsNotFoundError):
        WincredStore(manager).get("https://adsfasdf.wrewerwer.com/asdfsdddd")


# -- the label, the blob limit, errors --------------------------------------------------------


def keyring_style(target: str) -> WinCredential:
    """What the keyring library's Windows backend writes: UTF-16 blob, enterprise persist, no attributes."""
    return WinCredential(target, "alice", "pw".encode("utf-16-le"), persist=3)


def test_credentials_without_the_label_are_not_dockers(manager: FakeCredentialManager) -> None:
    manager.write(keyring_style("reg.example"))
    store = WincredStore(manager)
    with pytest.raises(CredentialsNotFoundError):
        store.get("reg.example")
    assert store.list() == {}
    store.erase("reg.example")  # not ours: left alone (the Go helper would delete it)
    assert [c.target_name for c in manager.vault.values()] == ["reg.example"]


def test_blob_limit(manager: FakeCredentialManager) -> None:
    """2,560 UTF-8 bytes fit; one more is refused clearly before Windows' "stub received bad data"."""
    store = WincredStore(manager)
    store.store(Credentials("reg.example", "u", "x" * MAX_BLOB))
    assert len(store.get("reg.example").secret) == MAX_BLOB
    long_token = "\u00e9" * 1281  # 1,281 characters, 2,562 bytes
    with pytest.raises(CredentialStoreError) as caught:
        store.store(Credentials("other.example", "u", long_token))
    assert str(caught.value).startswith(
        "the secret is 2,562 bytes; the Windows Credential Manager keeps at most 2,560"
    )
    assert "\u00e9" not in str(caught.value)
    assert manager.calls.count("write") == 1  # never sent
    assert store.list() == {"reg.example": "u"}


def test_the_model_refuses_big_blobs_as_windows() -> None:
    """The model itself: what Go sends for a long token fails as on Windows (docker/cli#4323)."""
    from regcred.stores.wincred import WinError

    with pytest.raises(WinError) as caught:
        FakeCredentialManager().write(go_credential("reg.example", "u", b"x" * (MAX_BLOB + 1)))
    assert (caught.value.code, str(caught.value)) == (1783, "The stub received bad data.")


def test_nul_is_refused(manager: FakeCredentialManager) -> None:
    with pytest.raises(CredentialStoreError, match="NUL"):
        WincredStore(manager).store(Credentials("reg.example", "a\0b", "pw"))
    assert manager.vault == {}


def test_no_logon_session(manager: FakeCredentialManager) -> None:
    """A service or network logon has no credential set: unavailable (helpers answer get with 'not found')."""
    manager.no_session = True
    store = WincredStore(manager)
    with pytest.raises(StoreUnavailableError, match="logon session"):
        store.get("reg.example")
    status = store.status()
    assert status.state == "unavailable"
    assert "logon session" in status.detail


def test_status_ok(manager: FakeCredentialManager) -> None:
    assert WincredStore(manager).status().state == "ok"  # an empty vault (ERROR_NOT_FOUND) is fine


@pytest.mark.skipif(sys.platform == "win32", reason="the real Credential Manager is there")
def test_unavailable_off_windows() -> None:
    status = WincredStore().status()
    assert (status.state, status.detail) == (
        "unavailable",
        "the Windows Credential Manager exists only on Windows",
    )


# -- cross-compatibility with the Go helper, at the model ----------------------------------


GO_WRITTEN = [
    go_credential("https://index.docker.io/v1/", "alice", b"pw1"),
    go_credential("reg.example:5000", "<token>", b"eyJ.tok"),
    go_credential("http://plain.example/ns", "bob", "p\u00e4ss".encode()),
]


@pytest.mark.parametrize("credential", GO_WRITTEN, ids=lambda c: c.target_name)
def test_ours_reads_lists_erases_what_go_wrote(
    manager: FakeCredentialManager, credential: WinCredential
) -> None:
    manager.write(credential)
    store = WincredStore(manager)
    got = store.get(credential.target_name)
    assert (got.username, got.secret.encode()) == (credential.user_name, credential.blob)
    assert store.list() == {credential.target_name: credential.user_name}
    store.erase(credential.target_name)
    assert manager.vault == {}


@pytest.mark.parametrize("credential", GO_WRITTEN, ids=lambda c: c.target_name)
def test_go_reads_what_ours_wrote(manager: FakeCredentialManager, credential: WinCredential) -> None:
    """Ours writes exactly the Go helper's credential: type, raw target, UTF-8 blob, persist, the label."""
    WincredStore(manager).store(
        Credentials(credential.target_name, credential.user_name, credential.blob.decode())
    )
    assert list(manager.vault.values()) == [credential]
    # The Go helper's Get: CredReadW of the target, then the label check.
    read = manager.read(credential.target_name)
    assert ("label", b"Docker Credentials") in read.attributes
    assert (read.user_name, read.blob) == (credential.user_name, credential.blob)


def test_store_replaces_whatever_the_name(manager: FakeCredentialManager) -> None:
    """TargetName is case-insensitive in Windows: a write replaces, as with the Go helper."""
    manager.write(go_credential("https://Reg.Example", "old", b"1"))
    WincredStore(manager).store(Credentials("https://reg.example", "new", "2"))
    assert [(c.target_name, c.user_name) for c in manager.vault.values()] == [("https://reg.example", "new")]


_HOSTS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,5}){0,2}", fullmatch=True)
_SERVERS = st.builds(
    lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
    st.sampled_from(["", "https://", "http://", "//"]),
    _HOSTS,
    st.sampled_from(["", ":5000", ":443"]),
    st.sampled_from(["", "/", "/v1/", "/ns/app", "/a%2Fb", "/a b"]),
)


@settings(max_examples=200, deadline=None)
@given(servers=st.lists(_SERVERS, min_size=1, max_size=5, unique=True))
def test_every_stored_key_reads_back_and_lists(servers: list[str]) -> None:
    """Whatever was stored under a key is found by that key, listed under it, and erased by it."""
    manager = FakeCredentialManager()
    store = WincredStore(manager)
    for i, server in enumerate(servers):
        store.store(Credentials(server, f"u{i}", f"s{i}"))
    assert set(store.list()) == set(servers)
    same_url: dict[str, list[str]] = {}
    for i, server in enumerate(servers):
        same_url.setdefault(parse(server).string(), []).append(f"u{i}")
    for server in servers:
        # Spellings of one URL (``host`` and ``//host``) answer with the first written, as Go.
        assert store.get(server).username == same_url[parse(server).string()][0]
    for server in servers:
        store.erase(server)
    assert store.list() == {}
