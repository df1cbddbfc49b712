"""docker-credential-regcred-osxkeychain and -wincred: the helper protocol, through the real serve().

On this Linux machine the stores run on the FAKE OS models
(tests/fixtures/fake_keychain.py, fake_credman.py), plugged in at the ctypes
seam; the real executables are also run, and answer as a helper whose
backend cannot exist here does.  The real keychain and Credential Manager,
and the Go helpers' binaries, are exercised by the macOS and Windows CI
workflow.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from regcred.helpers._protocol import NOT_FOUND, serve
from regcred.stores.osxkeychain import INTERACTION_NOT_ALLOWED, OsxKeychainStore
from regcred.stores.wincred import WincredStore
from tests.conftest import installed_helper
from tests.fixtures.fake_credman import FakeCredentialManager, go_credential
from tests.fixtures.fake_keychain import FakeKeychain, go_item

if TYPE_CHECKING:
    from regcred.credentials import CredentialStore

HUB = "https://index.docker.io/v1/"


def run(store: CredentialStore, action: str, stdin: bytes = b"") -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    code = serve(lambda: store, [action], io.BytesIO(stdin), out, err, program="docker-credential-test")
    return code, out.getvalue(), err.getvalue()


def body(server: str, username: str, secret: str) -> bytes:
    return json.dumps({"ServerURL": server, "Username": username, "Secret": secret}).encode() + b"\n"


@pytest.fixture(params=["osxkeychain", "wincred"])
def store(request: pytest.FixtureRequest) -> CredentialStore:
    if request.param == "osxkeychain":
        return OsxKeychainStore(FakeKeychain())
    return WincredStore(FakeCredentialManager())


def test_store_get_list_erase(store: CredentialStore) -> None:
    assert run(store, "store", body(HUB, "alice", "s3cr<&>t")) == (0, b"", "")
    code, out, _ = run(store, "get", HUB.encode() + b"\n")
    assert (code, out) == (
        0,
        b'{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"s3cr\\u003c\\u0026\\u003et"}\n',
    )
    assert run(store, "list") == (0, b'{"https://index.docker.io/v1/":"alice"}\n', "")
    assert run(store, "erase", HUB.encode()) == (0, b"", "")
    assert run(store, "get", HUB.encode())[:2] == (1, NOT_FOUND.encode() + b"\n")
    assert run(store, "erase", HUB.encode())[:2] == (0, b"")  # docker treats a missing entry as erased
    assert run(store, "list")[:2] == (0, b"{}\n")


def test_get_answers_for_the_request_as_typed(store: CredentialStore) -> None:
    """Both Go helpers match ``host`` to ``https://host/v1/``; ServerURL echoes the request."""
    run(store, "store", body(HUB, "alice", "pw"))
    assert (
        run(store, "get", b"index.docker.io")[1]
        == b'{"ServerURL":"index.docker.io","Username":"alice","Secret":"pw"}\n'
    )


def test_unparsable_server() -> None:
    """osxkeychain parses on every action (Go's error, one line); wincred stores the raw name, as Go."""
    mac = OsxKeychainStore(FakeKeychain())
    assert run(mac, "store", body("ftp://reg.example", "alice", "topsecret"))[:2] == (
        1,
        b"unsupported scheme: ftp\n",
    )
    win = WincredStore(FakeCredentialManager())
    assert run(win, "store", body("ftp://reg.example", "alice", "pw"))[:2] == (0, b"")
    assert json.loads(run(win, "get", b"ftp://reg.example")[1])["Username"] == "alice"


def test_locked_keychain_over_ssh() -> None:
    """-25308 reaches docker as the Go helper's instruction on stdout, exit 1, one line."""
    keychain = FakeKeychain()
    keychain.add(go_item("reg.example", "alice", b"topsecret"))
    keychain.locked, keychain.interactive = True, False
    store = OsxKeychainStore(keychain)
    for action in ("get", "list", "erase", "store"):
        stdin = body("reg.example", "bob", "pw") if action == "store" else b"reg.example"
        code, out, err = run(store, action, stdin)
        assert (code, out) == (1, INTERACTION_NOT_ALLOWED.encode() + b"\n")
        assert b"topsecret" not in out
        assert "topsecret" not in err


def test_long_token_refused_in_one_line() -> None:
    manager = FakeCredentialManager()
    secret = "t" * 3000
    code, out, err = run(WincredStore(manager), "store", body("reg.example", "u", secret))
    assert code == 1
    assert out.count(b"\n") == 1
    assert out.startswith(b"the secret is 3,000 bytes; the Windows Credential Manager keeps at most 2,560")
    assert secret.encode() not in out
    assert secret not in err
    assert manager.vault == {}


def test_go_written_credentials_through_the_protocol() -> None:
    manager = FakeCredentialManager()
    manager.write(go_credential("reg.example:5000", "<token>", b"eyJ.refresh"))
    store = WincredStore(manager)
    assert run(store, "list")[1] == b'{"reg.example:5000":"\\u003ctoken\\u003e"}\n'
    assert json.loads(run(store, "get", b"reg.example:5000")[1])["Secret"] == "eyJ.refresh"
    keychain = FakeKeychain()
    keychain.add(go_item("reg.example", "<token>", b"eyJ.refresh", port=5000))
    store_mac = OsxKeychainStore(keychain)
    assert run(store_mac, "list")[1] == b'{"https://reg.example:5000":"\\u003ctoken\\u003e"}\n'
    assert json.loads(run(store_mac, "get", b"reg.example:5000")[1])["Secret"] == "eyJ.refresh"


# -- the installed executables, on a system without their backend -------------------------


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the backend exists there (CI workflow)")
@pytest.mark.parametrize(("name", "why"), [("osxkeychain", "only on macOS"), ("wincred", "only on Windows")])
def test_executable_without_its_backend(name: str, why: str) -> None:
    """get answers "not found" with a hint (anonymous pulls keep working); list fails; version works."""
    helper = installed_helper(name)
    got = subprocess.run([helper, "get"], input=b"reg.example", capture_output=True, timeout=60, check=False)
    assert (got.returncode, got.stdout) == (1, NOT_FOUND.encode() + b"\n")
    assert why in got.stderr.decode()
    listed = subprocess.run([helper, "list"], capture_output=True, timeout=60, check=False)
    assert listed.returncode == 1
    assert why in listed.stdout.decode()
    assert listed.stdout.count(b"\n") == 1
    version = subprocess.run([helper, "version"], capture_output=True, timeout=60, check=False)
    assert (
        version.returncode,
        version.stdout.startswith(f"docker-credential-regcred-{name} (regcred) v".encode()),
    ) == (0, True)
