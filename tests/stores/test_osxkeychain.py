"""OsxKeychainStore against FakeKeychain, a FAKE of Security.framework (the real one is macOS-only).

What runs here: the system-independent part (URL to attributes, list keys,
errors) as unit tests, and the full StoreContract plus cross-compatibility
with items exactly as docker-credential-osxkeychain v0.9 writes them, all
through the model at the ctypes seam.  The ctypes layer itself
(regcred.stores._security) runs only in the macOS CI workflow.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcred.credentials import Credentials
from regcred.errors import CredentialsNotFoundError, CredentialStoreError
from regcred.stores.osxkeychain import (
    INTERACTION_NOT_ALLOWED,
    OsxKeychainStore,
    item_attributes,
    listed_key,
)
from regcred.testing import StoreContract
from tests.fixtures.fake_keychain import FakeKeychain, go_item

IP = "kSecClassInternetPassword"


@pytest.fixture
def keychain() -> FakeKeychain:
    return FakeKeychain()


class TestOsxKeychainStore(StoreContract):
    """The full contract, through the FAKE keychain."""

    exact_keys = False  # get("host") finds https://host/v1/: path and port left out match any (Go's query)

    def listed(self, server: str) -> str:
        return {"reg.example": "https://reg.example", "reg.example:5000": "https://reg.example:5000"}.get(
            server, server
        )

    @pytest.fixture
    def store(self, keychain: FakeKeychain) -> OsxKeychainStore:
        return OsxKeychainStore(keychain)


# -- the system-independent part -------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "attributes"),
    [
        (
            "https://index.docker.io/v1/",
            {"kSecAttrProtocol": "htps", "kSecAttrServer": "index.docker.io", "kSecAttrPath": "/v1/"},
        ),
        (
            "reg.example:5000",
            {"kSecAttrProtocol": "htps", "kSecAttrServer": "reg.example", "kSecAttrPort": 5000},
        ),
        (
            "http://reg.example:80/x",
            {
                "kSecAttrProtocol": "http",
                "kSecAttrServer": "reg.example",
                "kSecAttrPort": 80,
                "kSecAttrPath": "/x",
            },
        ),
        ("reg.example", {"kSecAttrProtocol": "htps", "kSecAttrServer": "reg.example"}),
        ("[::1]:5000", {"kSecAttrProtocol": "htps", "kSecAttrServer": "::1", "kSecAttrPort": 5000}),
        (
            "reg.example/a%2Fb?q=1",
            {"kSecAttrProtocol": "htps", "kSecAttrServer": "reg.example", "kSecAttrPath": "/a/b"},
        ),
        (
            "reg.example:4294967297",
            {"kSecAttrProtocol": "htps", "kSecAttrServer": "reg.example", "kSecAttrPort": 1},
        ),
    ],
)
def test_item_attributes_as_split_server(server: str, attributes: dict[str, object]) -> None:
    """Go's splitServer: empty attributes are left out; the port is int32(port), wrapping as Go does."""
    assert item_attributes(server) == {"kSecClass": IP, **attributes}


@pytest.mark.parametrize(
    ("server", "message"),
    [("ftp://reg.example", "unsupported scheme: ftp"), ("/reg.example", "no hostname in URL")],
)
def test_unparsable_server_is_gos_error(keychain: FakeKeychain, server: str, message: str) -> None:
    store = OsxKeychainStore(keychain)
    for call in (
        lambda: store.get(server),
        lambda: store.erase(server),
        lambda: store.store(Credentials(server, "u", "s")),
    ):
        with pytest.raises(CredentialStoreError) as caught:
            call()
        assert str(caught.value) == message
    assert keychain.calls == []


@pytest.mark.parametrize(
    ("item", "key"),
    [
        (
            {"kSecAttrProtocol": "htps", "kSecAttrServer": "reg.example", "kSecAttrPort": 5000},
            "https://reg.example:5000",
        ),
        (
            {"kSecAttrProtocol": "http", "kSecAttrServer": "reg.example", "kSecAttrPath": "/v1/"},
            "http://reg.example/v1/",
        ),
        ({"kSecAttrProtocol": "htps", "kSecAttrServer": "::1", "kSecAttrPort": 5000}, "https://[::1]:5000"),
        ({"kSecAttrProtocol": "htps", "kSecAttrServer": "::1"}, "https://[::1]"),  # Go: https://::1
        (
            {"kSecAttrProtocol": "ftp ", "kSecAttrServer": "reg.example", "kSecAttrPort": 0},
            "http://reg.example",
        ),
        (
            {"kSecAttrProtocol": "htps", "kSecAttrServer": "reg.example", "kSecAttrPath": "/a b"},
            "https://reg.example/a%20b",
        ),
    ],
)
def test_listed_key_as_go(item: dict[str, object], key: str) -> None:
    """scheme://host[:port]/path, https only for htps, no port 0 (Go's List)."""
    assert listed_key(item) == key


# -- matching, as the Go helper's queries match ----------------------------------------


def test_get_leaves_out_what_the_url_lacks(keychain: FakeKeychain) -> None:
    store = OsxKeychainStore(keychain)
    store.store(Credentials("https://reg.example:5000/v2", "alice", "pw"))
    assert store.get("reg.example").username == "alice"  # no port, no path: any
    for other in ("http://reg.example", "reg.example:5001", "reg.example/v3", "other.example"):
        with pytest.raises(CredentialsNotFoundError):
            store.get(other)


def test_erase_and_store_remove_every_match_as_go(keychain: FakeKeychain) -> None:
    """SecItemDelete deletes all matches: erase("host") removes host:5000 too, exactly as the Go helper."""
    store = OsxKeychainStore(keychain)
    store.store(Credentials("reg.example:5000", "a", "1"))
    store.store(Credentials("reg.example/ns", "b", "2"))
    store.store(Credentials("http://reg.example", "c", "3"))
    store.erase("reg.example")
    assert store.list() == {"http://reg.example": "c"}


def test_list_reads_no_secret(keychain: FakeKeychain) -> None:
    store = OsxKeychainStore(keychain)
    store.store(Credentials("reg.example", "alice", "pw"))
    keychain.calls.clear()
    store.list()
    assert keychain.calls == [
        ("copy_matching", frozenset({"kSecClass", "kSecMatchLimit", "kSecReturnAttributes", "kSecAttrLabel"}))
    ]


def test_list_skips_items_that_are_not_dockers(keychain: FakeKeychain) -> None:
    """An internet password of Safari's (labelled with its server) is not listed."""
    keychain.add(
        {
            "kSecClass": IP,
            "kSecAttrServer": "web.example",
            "kSecAttrAccount": "me",
            "kSecAttrProtocol": "htps",
        }
    )
    assert OsxKeychainStore(keychain).list() == {}


# -- errors -------------------------------------------------------------------------------


def test_interaction_not_allowed_gives_gos_message(keychain: FakeKeychain) -> None:
    """-25308 (locked, no dialog possible: ssh, CI) becomes the Go helper's instruction, for every action."""
    store = OsxKeychainStore(keychain)
    store.store(Credentials("reg.example", "alice", "pw"))
    keychain.locked, keychain.interactive = True, False
    for call in (
        lambda: store.get("reg.example"),
        store.list,
        lambda: store.erase("reg.example"),
        lambda: store.store(Credentials("reg.example", "bob", "pw2")),
    ):
        with pytest.raises(CredentialStoreError) as caught:
            call()
        assert str(caught.value) == INTERACTION_NOT_ALLOWED
        assert not isinstance(caught.value, CredentialsNotFoundError)
    assert [i["kSecAttrAccount"] for i in keychain.items] == ["alice"]  # nothing lost


def test_other_errors_keep_gos_text() -> None:
    class Refusing(FakeKeychain):
        def copy_matching(self, query: dict[str, object]) -> list[dict[str, object]]:
            from regcred.stores.osxkeychain import KeychainError

            raise KeychainError(-25293, "The user name or passphrase you entered is not correct.")

    with pytest.raises(CredentialStoreError) as caught:
        OsxKeychainStore(Refusing()).get("reg.example")
    assert str(caught.value) == "The user name or passphrase you entered is not correct. (-25293)"


def test_status(keychain: FakeKeychain) -> None:
    store = OsxKeychainStore(keychain)
    assert store.status().state == "ok"
    keychain.locked = True
    assert store.status().state == "locked"
    keychain.interactive = False
    assert (store.status().state, store.status().detail) == ("not-interactive", INTERACTION_NOT_ALLOWED)


@pytest.mark.skipif(sys.platform == "darwin", reason="the real keychain is there")
def test_unavailable_off_macos() -> None:
    status = OsxKeychainStore().status()
    assert (status.state, status.detail) == ("unavailable", "the macOS keychain exists only on macOS")


# -- cross-compatibility with the Go helper, at the model --------------------------------


GO_WRITTEN = [
    ("https://index.docker.io/v1/", go_item("index.docker.io", "alice", b"pw1", path="/v1/")),
    ("reg.example:5000", go_item("reg.example", "<token>", b"eyJ.tok", port=5000)),
    (
        "http://plain.example/ns",
        go_item("plain.example", "bob", "p\u00e4ss".encode(), protocol="http", path="/ns"),
    ),
]


@pytest.mark.parametrize(("server", "item"), GO_WRITTEN)
def test_ours_reads_lists_erases_what_go_wrote(
    keychain: FakeKeychain, server: str, item: dict[str, object]
) -> None:
    keychain.add(item)
    store = OsxKeychainStore(keychain)
    got = store.get(server)
    assert (got.username, got.secret.encode()) == (item["kSecAttrAccount"], item["kSecValueData"])
    assert list(store.list().values()) == [item["kSecAttrAccount"]]
    store.erase(server)
    assert keychain.items == []


@pytest.mark.parametrize(("server", "item"), GO_WRITTEN)
def test_go_reads_what_ours_wrote(keychain: FakeKeychain, server: str, item: dict[str, object]) -> None:
    """Ours writes exactly the Go helper's item; the Go helper's own query (literal attributes) finds it."""
    store = OsxKeychainStore(keychain)
    secret = item["kSecValueData"]
    assert isinstance(secret, bytes)
    store.store(Credentials(server, str(item["kSecAttrAccount"]), secret.decode()))
    assert keychain.items == [item]
    go_query = {
        k: v
        for k, v in item.items()
        if k in ("kSecClass", "kSecAttrProtocol", "kSecAttrServer", "kSecAttrPort", "kSecAttrPath")
    }
    found = keychain.copy_matching(
        go_query
        | {"kSecMatchLimit": "kSecMatchLimitOne", "kSecReturnAttributes": True, "kSecReturnData": True}
    )
    assert (found[0]["kSecAttrAccount"], found[0]["kSecValueData"]) == (
        item["kSecAttrAccount"],
        item["kSecValueData"],
    )
    go_list = keychain.copy_matching(
        {
            "kSecClass": IP,
            "kSecAttrLabel": "Docker Credentials",
            "kSecMatchLimit": "kSecMatchLimitAll",
            "kSecReturnAttributes": True,
        }
    )
    assert [r["kSecAttrAccount"] for r in go_list] == [item["kSecAttrAccount"]]


def test_store_over_an_item_of_an_older_go_helper(keychain: FakeKeychain) -> None:
    """Go v0.9.0-0.9.2 items had no authentication type: ours replaces them (no duplicate-item error)."""
    old = go_item("reg.example", "alice", b"old")
    del old["kSecAttrAuthenticationType"]
    keychain.add(old)
    store = OsxKeychainStore(keychain)
    store.store(Credentials("reg.example", "bob", "new"))
    assert [(i["kSecAttrAccount"], i["kSecValueData"]) for i in keychain.items] == [("bob", b"new")]


_SERVERS = st.builds(
    lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
    st.sampled_from(["", "https://", "http://", "//"]),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,5}){0,2}", fullmatch=True)
    | st.just("[::1]"),
    st.sampled_from(["", ":5000", ":443"]),
    st.sampled_from(["", "/", "/v1/", "/ns/app", "/a%2Fb", "/a b", "/\u00fc"]),
)


@settings(max_examples=200, deadline=None)
@given(server=_SERVERS, secret=st.text(max_size=50))
def test_the_listed_key_finds_the_item(server: str, secret: str) -> None:
    """For any key: get by it and by the key list shows answers the same item; erase by either removes it."""
    keychain = FakeKeychain()
    store = OsxKeychainStore(keychain)
    store.store(Credentials(server, "alice", secret))
    [(key, username)] = store.list().items()
    assert username == "alice"
    for name in (server, key):
        assert store.get(name).secret == secret.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    store.erase(key)
    assert keychain.items == []
