"""One store model: every store passes StoreContract, and the router answers for all of them.

Real components where they exist: our helper executables are driven through
HelperStore against the real pass store and the real gnome-keyring.
``MemoryStore`` is a test double (a dict), used where the store is not the
point (the native store's marker handling).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _config
from regcred._lookup import get_credentials as regcred_lookup
from regcred.credentials import Credentials
from regcred.errors import ConfigError, CredentialsNotFoundError, CredentialStoreError
from regcred.stores import _catalog
from regcred.stores._router import Router
from regcred.stores.env import EnvStore
from regcred.stores.file import FileStore
from regcred.stores.helper import HelperStore
from regcred.stores.native import NativeStore
from regcred.testing import MemoryStore, StoreContract
from tests.conftest import VENV_BIN, installed_helper

if TYPE_CHECKING:
    from tests.fixtures.keyring import Keyring
    from tests.fixtures.passstore import PassEnv


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _our_helpers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}")


class TestMemoryStore(StoreContract):
    """The test double keeps the contract it stands in for."""

    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


class TestFileStore(StoreContract):
    """config.json's auths, through locked atomic writes."""

    exact_keys = False

    @pytest.fixture
    def store(self, tmp_path: Path) -> FileStore:
        return FileStore(tmp_path / "docker" / "config.json")


class TestNativeStore(StoreContract):
    """A helper beside the file's markers (docker's nativeStore)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> NativeStore:
        return NativeStore(MemoryStore(), FileStore(tmp_path / "config.json"))


class TestHelperStoreOverOurPassHelper(StoreContract):
    """HelperStore driving docker-credential-regcred-pass on a real pass store."""

    @pytest.fixture
    def store(self, pass_env: PassEnv, monkeypatch: pytest.MonkeyPatch) -> HelperStore:
        installed_helper("pass")
        _our_helpers_on_path(monkeypatch)
        return HelperStore("regcred-pass")


class TestHelperStoreOverOurSecretServiceHelper(StoreContract):
    """HelperStore driving docker-credential-regcred-secretservice on a real gnome-keyring."""

    @pytest.fixture
    def store(self, keyring: Keyring, monkeypatch: pytest.MonkeyPatch) -> HelperStore:
        installed_helper("secretservice")
        _our_helpers_on_path(monkeypatch)
        return HelperStore("regcred-secretservice")


# -- the native store's markers --------------------------------------------------


def test_native_store_leaves_a_marker_and_erase_removes_it(tmp_path: Path) -> None:
    """store: the secret in the helper, docker's {} in the file; erase: both gone."""
    path = tmp_path / "config.json"
    helper = MemoryStore()
    native = NativeStore(helper, FileStore(path))
    native.store(Credentials("reg.example", "alice", "pw"))
    assert json.loads(path.read_text())["auths"] == {"reg.example": {}}
    assert helper.data["reg.example"].secret == "pw"
    native.erase("reg.example")
    assert json.loads(path.read_text())["auths"] == {}
    assert helper.data == {}


def test_native_store_failing_helper_leaves_the_file_untouched(tmp_path: Path) -> None:
    """A helper that fails to store stops before config.json is written (no plaintext fallback)."""

    class Failing(MemoryStore):
        def store(self, creds: Credentials) -> None:
            raise CredentialStoreError("the keyring said no")

    path = tmp_path / "config.json"
    path.write_text('{"auths": {}, "psFormat": "x"}')
    before = path.read_bytes()
    with pytest.raises(CredentialStoreError):
        NativeStore(Failing(), FileStore(path)).store(Credentials("reg.example", "alice", "pw"))
    assert path.read_bytes() == before


# -- DOCKER_AUTH_CONFIG ------------------------------------------------------------


def test_env_store_is_read_only_and_exact() -> None:
    """Exact keys only; store and erase are refused with a one-line error."""
    env = EnvStore(json.dumps({"auths": {"reg.example": {"auth": _b64("u:p")}}}))
    assert env.get("reg.example") == Credentials("reg.example", "u", "p")
    assert env.list() == {"reg.example": "u"}
    with pytest.raises(CredentialsNotFoundError):
        env.get("https://reg.example")
    with pytest.raises(CredentialStoreError, match="read-only"):
        env.store(Credentials("reg.example", "u", "p"))
    with pytest.raises(CredentialStoreError, match="read-only"):
        env.erase("reg.example")
    with pytest.raises(ConfigError, match="missing key `auth`"):
        EnvStore(json.dumps({"auths": {"reg.example": {}}}))


# -- one rule for an entry, so list, get and doctor agree ------------------------


def test_auth_and_identitytoken_entry_reads_the_same_everywhere(tmp_path: Path) -> None:
    """An entry with both auth and identitytoken: list, get and doctor agree (issue 9).

    Before the store model, list said "alice" while get and doctor said "<token>".
    docker keeps both and authenticates a Basic registry with the password
    (issue 10 #7), so the username and password are what comes back, and the
    library carries the identity token beside them.
    """
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    entry = {"auth": _b64("alice:pw"), "identitytoken": "refresh-tok"}
    (config_dir / "config.json").write_text(json.dumps({"auths": {"reg.example": entry}}))

    def regcred(*args: str) -> str:
        done = subprocess.run(
            [str(VENV_BIN / "regcred"), "--config", str(config_dir), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done.stdout

    listed = json.loads(regcred("list", "--json"))
    got = json.loads(regcred("get", "reg.example"))
    doctor = json.loads(regcred("doctor", "--json"))
    in_doctor = {c["key"]: c["username"] for c in doctor["credentials"]}
    assert listed == {"reg.example": "alice"}
    assert (got["Username"], got["Secret"]) == ("alice", "pw")
    assert in_doctor == {"reg.example": "alice"}
    found = regcred_lookup("reg.example", config_dir=config_dir)
    assert found is not None
    assert (found.username, found.secret, found.identity_token) == ("alice", "pw", "refresh-tok")


def test_every_key_list_shows_get_fetches(tmp_path: Path) -> None:
    """list and get agree by construction: file entries, legacy keys, helper keys, pinned keys."""
    path = tmp_path / "config.json"
    helper = MemoryStore()
    helper.store(Credentials("ghcr.io", "bob", "b"))
    helper.store(Credentials("pinned.example", "carol", "c"))  # not routed to the helper
    data = {
        "auths": {
            "reg.example": {"auth": _b64("alice:a")},
            "https://legacy.example": {"auth": _b64("dave:d")},
            "ghcr.io": {},
            "pinned.example": {"auth": _b64("erin:e")},
        },
        "credsStore": "memory",
        "credHelpers": {"pinned.example": ""},
    }
    path.write_text(json.dumps(data))
    router = Router(_config.load(path))
    router._helpers["memory"] = helper  # the test double stands in for docker-credential-memory
    listed = router.list()
    # reg.example's and legacy.example's plaintext is routed to the helper, which has none:
    # docker sends nothing for them, so they are not listed (doctor reports them as shadowed).
    assert listed == {"ghcr.io": "bob", "pinned.example": "erin"}
    assert router.get("reg.example") is None
    for key, username in listed.items():
        found = router.get(key)
        assert found is not None, key
        assert found.username == username


def test_the_catalogue_is_the_one_list_of_native_stores() -> None:
    """Every known store names a console script we ship and a class that loads."""
    import tomllib

    scripts = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["scripts"]
    for known in _catalog.KNOWN:
        assert f"docker-credential-{known.helper}" in scripts
        assert known.load().__name__ == known.class_name
        assert _catalog.for_helper(known.helper) is known
        assert all(_catalog.same_backend(known.helper, other) for other in known.others)
    assert _catalog.for_helper("ecr-login") is None


def test_catalogue_rows_say_where_they_work() -> None:
    """Each native store names its systems; the cloud store works anywhere."""
    by_backend = {known.backend: known for known in _catalog.KNOWN}
    assert by_backend["osxkeychain"].runs_here("darwin")
    assert not by_backend["osxkeychain"].runs_here("linux")
    assert by_backend["wincred"].runs_here("win32")
    assert not by_backend["wincred"].runs_here("darwin")
    assert by_backend["secretservice"].runs_here("linux")
    assert not by_backend["secretservice"].runs_here("win32")
    assert by_backend["pass"].runs_here("darwin")
    assert by_backend["aws"].runs_here("win32")
    assert _catalog.for_helper("osxkeychain") is by_backend["osxkeychain"]
    assert _catalog.same_backend("wincred", "regcred-wincred")


def test_jeepney_is_required_where_the_secret_service_row_runs() -> None:
    """pyproject's jeepney marker names the systems the catalogue's Secret Service row claims, no fewer."""
    import tomllib

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    jeepney = next(Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("jeepney"))
    assert jeepney.marker is not None
    row = _catalog.by_backend("secretservice")
    for platform in ("linux", "freebsd14", "openbsd7", "netbsd10", "darwin", "win32", "cygwin"):
        wanted = jeepney.marker.evaluate({"sys_platform": platform})
        assert wanted == row.runs_here(platform), platform


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="there the native store is this system's")
def test_login_never_tries_another_systems_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every helper of ours on PATH, login's choice does not try the keychain or wincred on Linux."""
    _our_helpers_on_path(monkeypatch)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(tmp_path / "no-store"))
    path = tmp_path / "config.json"
    path.write_text("{}")
    choice = Router(_config.load(path)).where_new("reg.example")
    assert choice.helper == ""
    assert "regcred-secretservice" in choice.why
    assert "osxkeychain" not in choice.why
    assert "wincred" not in choice.why
