"""The client on Linux, macOS and Windows (issue 12): what can be shown here, labelled honestly.

* Tests marked ``portable`` need no Linux component: the GitHub workflow
  ``.github/workflows/portable.yml`` runs them (``pytest -m portable``) on real
  macOS and Windows runners.
* Here on Linux the Windows and macOS branches run by setting
  ``regcred._system.PLATFORM`` (the one place regcred asks), with
  ``msvcrt`` and ``os.replace`` replaced by the named fakes of
  :mod:`tests.fixtures.windows_model`.
* ``TestSimulatedWindows`` runs the CLI and the library in a child Python
  that is a **simulation** of Windows: ``fcntl``, ``termios``, ``pwd`` and
  ``grp`` cannot be imported, the POSIX-only ``os`` functions and flags are
  gone, ``msvcrt`` is the fake and every rename meets a sharing violation.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _config, _files, _process, _system
from regcred._files import Locked, atomic_write, write_private
from regcred._tools import doctor
from regcred.credentials import Credentials, CredentialStore, StoreStatus
from regcred.errors import ConfigError, CredentialsNotFoundError, StoreUnavailableError
from regcred.stores import _catalog
from regcred.stores._catalog import KnownStore
from regcred.stores._router import Router
from tests import cross_helpers
from tests.conftest import installed_helper, require_program
from tests.fixtures.programs import fake_helper, helper_script
from tests.fixtures.windows_model import SIMULATION, FakeMsvcrt, SharingViolations

if TYPE_CHECKING:
    from tests.fixtures.keyring import Keyring
    from tests.fixtures.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-PORTABLE-canary"


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> FakeMsvcrt:
    """regcred's Windows branches, with the FAKE ``msvcrt`` of tests/fixtures/windows_model.py."""
    fake = FakeMsvcrt()
    monkeypatch.setattr(_system, "PLATFORM", "win32")
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    return fake


# -- where config.json is ----------------------------------------------------------


@pytest.mark.portable
@pytest.mark.parametrize(
    ("platform", "environ", "home"),
    [
        ("win32", {"USERPROFILE": r"C:\Users\ann", "HOME": "/ignored"}, r"C:\Users\ann"),
        ("win32", {"HOMEDRIVE": "D:", "HOMEPATH": r"\Users\bob"}, r"D:\Users\bob"),
        ("darwin", {"HOME": "/Users/carol", "USERPROFILE": "ignored"}, "/Users/carol"),
        ("linux", {"HOME": "/home/dan"}, "/home/dan"),
    ],
)
def test_home_per_system(
    monkeypatch: pytest.MonkeyPatch, platform: str, environ: dict[str, str], home: str
) -> None:
    """Docker's os.UserHomeDir: %USERPROFILE% on Windows, $HOME elsewhere."""
    monkeypatch.setattr(_system, "PLATFORM", platform)
    assert _config.home_dir(environ) == home


@pytest.mark.portable
def test_no_home_on_windows_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_system, "PLATFORM", "win32")
    with pytest.raises(
        ConfigError, match=r"^cannot find the home directory: set USERPROFILE, or DOCKER_CONFIG$"
    ):
        _config.home_dir({"HOME": "/not/used/on/windows"})


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="the account database is POSIX")
def test_empty_home_is_the_account_home_not_the_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty $HOME is unset for Go (nss fallback); Path.home() made it /.docker."""
    import pwd

    monkeypatch.setenv("HOME", "")
    expected = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".docker"
    assert _config.config_dir() == expected
    assert _config.config_dir().is_absolute()


@pytest.mark.portable
@pytest.mark.parametrize("platform", ["win32", "darwin", "linux"])
def test_config_flag_and_docker_config_win_everywhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, platform: str
) -> None:
    monkeypatch.setattr(_system, "PLATFORM", platform)
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "profile"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home = tmp_path / ("profile" if platform == "win32" else "home")
    assert _config.config_path() == home / ".docker" / "config.json"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "env"))
    assert _config.config_path() == tmp_path / "env" / "config.json"
    assert _config.config_path(tmp_path / "flag") == tmp_path / "flag" / "config.json"


# -- the lock and the replace on Windows (FAKE msvcrt, FAKE sharing violations) -------


def test_windows_lock_excludes_another_writer(
    windows: FakeMsvcrt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers contend on the sidecar; the second times out, then gets it once released."""
    target = tmp_path / "docker" / "config.json"
    monkeypatch.setenv("REGCRED_LOCK_TIMEOUT", "0.1")
    first = Locked(target)
    with first:
        assert len(first.fds) == 1, "Windows cannot lock a directory: only the sidecar"
        assert os.path.samefile(f"/proc/self/fd/{first.fds[0]}", f"{target}.lock")
        with (
            pytest.raises(ConfigError, match=r"^timed out waiting for .*config\.json\.lock; is another"),
            Locked(target),
        ):
            pass
    assert windows.held == {}, "released explicitly (Windows wants LK_UNLCK)"
    with Locked(target):
        assert windows.held
    modes = {mode for _, mode, _ in windows.calls}
    assert modes == {FakeMsvcrt.LK_NBLCK, FakeMsvcrt.LK_UNLCK}


def test_windows_sidecar_that_cannot_be_opened_is_an_error(windows: FakeMsvcrt, tmp_path: Path) -> None:
    """Without a directory lock, skipping the sidecar would leave writers on no common object."""
    target = tmp_path / "config.json"
    (tmp_path / "config.json.lock").mkdir()
    with (
        pytest.raises(ConfigError, match=r"^cannot lock .*config\.json: .*config\.json\.lock"),
        Locked(target),
    ):
        pass


def test_windows_update_under_the_fake(
    windows: FakeMsvcrt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """config.json's read-change-write, with no fchmod/fchown (Windows has neither)."""
    monkeypatch.delattr(os, "fchmod")
    monkeypatch.delattr(os, "fchown")
    path = tmp_path / "d" / "config.json"
    _config.update(path, lambda c: c.set_auth("reg.example", "ann", SECRET))
    _config.update(path, lambda c: c.set_auth("two.example", "bob", SECRET))
    assert sorted(_config.load(path).auth_keys()) == ["reg.example", "two.example"]
    assert b"\r\n" not in path.read_bytes()
    assert windows.held == {}


def test_replace_is_retried_over_sharing_violations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Replace over an open file fails with winerror 32 a few times, then succeeds."""
    tmp_path = tmp_path / "d"
    tmp_path.mkdir()
    target = tmp_path / "config.json"
    target.write_bytes(b"old")
    violations = SharingViolations(3)
    monkeypatch.setattr(_files, "_rename", violations)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert violations.attempts == 4
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


@pytest.mark.parametrize("winerror", [5, 32])
def test_a_lasting_sharing_violation_is_one_line_and_leaves_the_old_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, winerror: int
) -> None:
    tmp_path = tmp_path / "d"
    tmp_path.mkdir()
    target = tmp_path / "config.json"
    target.write_bytes(b"old")
    violations = SharingViolations(10**9, winerror)
    monkeypatch.setattr(_files, "_rename", violations)
    monkeypatch.setattr(_files, "REPLACE_RETRY_SECONDS", 0.05)
    with pytest.raises(ConfigError) as caught:
        atomic_write(target, SECRET.encode())
    message = str(caught.value)
    assert message.startswith(f"cannot replace {target}: ")
    assert "\n" not in message
    assert SECRET not in message
    assert violations.attempts > 1
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"], "the temp file is removed"


def test_other_rename_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []

    def refuse(source: str, target: str) -> None:
        calls.append(target)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_files, "_rename", refuse)
    with pytest.raises(ConfigError, match="Permission denied"):
        atomic_write(tmp_path / "config.json", b"x")
    assert len(calls) == 1


def test_write_private_without_modes(
    windows: FakeMsvcrt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """export -o on Windows: no fchmod (the file inherits the directory's ACL)."""
    monkeypatch.delattr(os, "fchmod")
    out = tmp_path / "secret.json"
    write_private(out, b"{}")
    assert out.read_bytes() == b"{}"


# -- PATHEXT ------------------------------------------------------------------------


def test_which_uses_pathext_on_windows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Go's exec.LookPath on Windows: name + each %PATHEXT% extension, never the bare name."""
    bare = tmp_path / "docker-credential-wincred"
    exe = tmp_path / "docker-credential-wincred.EXE"
    for f in (bare, exe):
        f.write_text("")
        f.chmod(0o755)
    monkeypatch.setenv("PATHEXT", ".COM;.EXE;.BAT")
    monkeypatch.setattr(_system, "PLATFORM", "win32")
    assert _process.which("docker-credential-wincred", str(tmp_path)) == str(exe)
    assert _process.which("docker-credential-wincred.EXE", str(tmp_path)) == str(exe)
    exe.unlink()
    assert _process.which("docker-credential-wincred", str(tmp_path)) is None
    monkeypatch.setattr(_system, "PLATFORM", "linux")
    assert _process.which("docker-credential-wincred", str(tmp_path)) == str(bare)


# -- the default store, as docker's DetectDefaultStore --------------------------------


class WorkingModelStore(CredentialStore):
    """A FAKE native store that says it works (stands in for W's keychain / wincred stores).

    Only its ``check()``/``status()`` are asked here; it holds nothing.
    """

    def status(self) -> StoreStatus:
        return StoreStatus("ok", "reachable (test model)")

    def get(self, server: str) -> Credentials:
        raise CredentialsNotFoundError(server)

    def store(self, creds: Credentials) -> None:
        raise StoreUnavailableError("a test model holds nothing")

    def erase(self, server: str) -> None:
        raise CredentialsNotFoundError(server)

    def list(self) -> dict[str, str]:
        return {}


class BrokenModelStore(WorkingModelStore):
    """A FAKE native store that says it cannot work here."""

    @classmethod
    def check(cls) -> None:
        raise StoreUnavailableError("the keychain cannot be reached (test model)")


def _with_row(row: KnownStore) -> tuple[KnownStore, ...]:
    """The catalogue with ``row`` (a model store) in place of the real row of its backend."""
    return (*(k for k in _catalog.KNOWN if k.backend != row.backend), row)


def _row(backend: str, cls: type[CredentialStore]) -> KnownStore:
    """A model row for ``backend``, on the systems its real row names (the catalogue decides where)."""
    return KnownStore(
        f"regcred-{backend}",
        others=(backend,),
        module=__name__,
        class_name=cls.__name__,
        backend=backend,
        title=f"{backend} (test model)",
        auto=True,
        platforms=tuple(_catalog.by_backend(backend).platforms),
    )


def _programs(bin_dir: Path, *names: str, suffix: str = "") -> None:
    for name in names:
        helper_script(bin_dir, name, "exit 1\n", sh=True, suffix=suffix)


def _where_new(tmp_path: Path, data: dict[str, object] | None = None) -> str:
    path = tmp_path / "cfg" / "config.json"
    path.parent.mkdir(exist_ok=True)
    if data is not None:
        path.write_text(json.dumps(data))
    return Router(_config.load(path)).where_new("reg.example").helper


@pytest.mark.parametrize(("platform", "backend"), [("darwin", "osxkeychain"), ("win32", "wincred")])
def test_default_store_is_the_systems(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, platform: str, backend: str
) -> None:
    """The Go helper when only it is installed; ours when it is installed and works; else the Go one."""
    bin_dir = tmp_path / "bin"
    suffix = ".EXE" if platform == "win32" else ""
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("PATHEXT", ".COM;.EXE")
    monkeypatch.setattr(_system, "PLATFORM", platform)
    assert _where_new(tmp_path) == ""
    _programs(bin_dir, backend, "regcred-secretservice", "regcred-pass", suffix=suffix)
    assert _where_new(tmp_path) == backend, "docker's DetectDefaultStore takes it if it is on PATH"
    _programs(bin_dir, f"regcred-{backend}", suffix=suffix)
    monkeypatch.setattr(_catalog, "KNOWN", _with_row(_row(backend, WorkingModelStore)))
    assert _where_new(tmp_path) == f"regcred-{backend}", "ours, as a drop-in, when installed"
    monkeypatch.setattr(_catalog, "KNOWN", _with_row(_row(backend, BrokenModelStore)))
    assert _where_new(tmp_path) == backend


def test_macos_and_windows_never_pick_the_linux_stores(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    _programs(bin_dir, "regcred-secretservice", "regcred-pass", "secretservice", "pass")
    monkeypatch.setenv("PATH", str(bin_dir))
    for platform in ("darwin", "win32"):
        monkeypatch.setattr(_system, "PLATFORM", platform)
        assert _where_new(tmp_path) == ""


def test_linux_never_picks_a_keychain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _programs(bin_dir, "osxkeychain", "wincred", "regcred-osxkeychain", "regcred-wincred")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(_system, "PLATFORM", "linux")
    monkeypatch.setattr(_catalog, "KNOWN", _with_row(_row("wincred", WorkingModelStore)))
    assert _where_new(tmp_path) == ""


@pytest.mark.portable
@pytest.mark.parametrize("platform", ["darwin", "win32", "linux"])
def test_docker_desktop_store_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, platform: str) -> None:
    """A config Docker Desktop wrote (credsStore desktop) keeps it, whatever is installed."""
    monkeypatch.setattr(_system, "PLATFORM", platform)
    assert _where_new(tmp_path, {"auths": {}, "credsStore": "desktop"}) == "desktop"


# -- the catalogue decides (issue 20 #1) ----------------------------------------------


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", ["secretservice", "pass"]),
        ("freebsd14", ["secretservice", "pass"]),
        ("darwin", ["osxkeychain"]),  # pass works there, but login picks the keychain, as docker
        ("win32", ["wincred"]),
    ],
)
def test_the_catalogue_answers_which_stores_run_here(
    monkeypatch: pytest.MonkeyPatch, platform: str, expected: list[str]
) -> None:
    """default_backends() is the catalogue's auto rows that run here; the OS stores ask their row."""
    from regcred.stores.osxkeychain import OsxKeychainStore
    from regcred.stores.wincred import WincredStore

    monkeypatch.setattr(_system, "PLATFORM", platform)
    assert [k.backend for k in _catalog.default_backends()] == expected
    assert _catalog.by_backend("pass").runs_here() == (platform != "win32")
    assert _catalog.by_backend("osxkeychain").runs_here() == (platform == "darwin")
    for store, ours in ((OsxKeychainStore, "darwin"), (WincredStore, "win32")):
        if platform == ours:
            store.check()  # its row runs here: no raw sys.platform says otherwise
        else:
            with pytest.raises(StoreUnavailableError):
                store.check()


def test_an_auto_row_is_what_login_and_doctor_pick(
    registry_http: Registry, docker_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A toy row added to the catalogue (first, auto) is login's choice and doctor's, from that row alone."""
    import regcred

    bin_dir = tmp_path / "bin"
    state = fake_helper(bin_dir, "regcred-toy")  # a FAKE helper: the toy store's executable
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")

    def toy(**changes: object) -> KnownStore:
        row: dict[str, object] = {
            "others": (),
            "module": __name__,
            "class_name": WorkingModelStore.__name__,
            "backend": "toy",
            "title": "toy store (test model)",
            "auto": True,
        }
        return KnownStore("regcred-toy", **{**row, **changes})  # type: ignore[arg-type]

    for passed_over in (toy(auto=False), toy(platforms=("plan9",))):
        monkeypatch.setattr(_catalog, "KNOWN", (passed_over, *_catalog.KNOWN))
        assert doctor.diagnose().login_store != "helper regcred-toy"
    monkeypatch.setattr(_catalog, "KNOWN", (toy(), *_catalog.KNOWN))
    report = doctor.diagnose()
    assert report.login_store == "helper regcred-toy"
    shown = next(b for b in report.backends if b.name == "toy")
    assert (shown.state, shown.used_by) == ("ok", ["regcred login"])
    assert not docker_config.exists(), "doctor wrote nothing"
    result = regcred.login(
        registry_http.address, username=registry_http.username, secret=registry_http.password
    )
    assert result.store == "credential helper docker-credential-regcred-toy"
    assert json.loads(state.read_text()) == {
        registry_http.address: [registry_http.username, registry_http.password]
    }
    assert json.loads(docker_config.read_text())["credsStore"] == "regcred-toy"


# -- doctor ---------------------------------------------------------------------------


def test_doctor_on_windows_checks_no_modes_and_shows_the_native_store(
    windows: FakeMsvcrt, monkeypatch: pytest.MonkeyPatch, docker_config: Path
) -> None:
    """Modes mean nothing there: an honest 'not checked'; the native store's status() is shown."""
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {}, "credsStore": "wincred"}))
    docker_config.chmod(0o666)  # what Windows reports for any writable file
    monkeypatch.setattr(_catalog, "KNOWN", _with_row(_row("wincred", WorkingModelStore)))
    report = doctor.diagnose()
    text = doctor.render_text(report)
    assert "permissions not checked on this system" in text
    assert not [p for p in report.problems if "mode" in p.message or "others" in p.message]
    names = [b.name for b in report.backends]
    assert "wincred" in names
    assert "secretservice" not in names
    assert "pass" not in names
    assert "wincred (test model): ok [used by wincred" in text or "wincred (test model): ok" in text
    assert report.to_json()["files"][0]["permissions"] == "permissions not checked on this system"


def test_doctor_still_checks_modes_where_they_exist(docker_config: Path) -> None:
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {}}))
    docker_config.chmod(0o666)
    report = doctor.diagnose()
    assert any("writable by others" in p.message for p in report.problems)


# -- the CLI and the library: natively here, and in the Windows simulation --------------


class Client:
    """``regcred`` (or Python code) in a child interpreter: native, or the Windows simulation."""

    def __init__(self, simulate: bool, env: dict[str, str]) -> None:
        self.simulate = simulate
        self.env = env

    def _run(self, argv: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=self.env,
            cwd=ROOT,
        )
        assert "Traceback" not in done.stderr, done.stderr
        assert SECRET not in done.stderr
        return done

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        if not self.simulate:
            return self._run([sys.executable, "-m", "regcred", *args], stdin)
        code = SIMULATION + "from regcred.cli import main\nsys.exit(main(sys.argv[1:]))\n"
        return self._run([sys.executable, "-c", code, *args], stdin)

    def python(self, code: str) -> str:
        prefix = SIMULATION if self.simulate else "import sys\n"
        done = self._run([sys.executable, "-c", prefix + code], "")
        assert done.returncode == 0, done.stderr
        return done.stdout


def _client(tmp_path: Path, simulate: bool) -> tuple[Client, Path, Path]:
    """A client whose home is ``tmp_path/profile`` (USERPROFILE simulated, HOME native); no DOCKER_CONFIG."""
    profile = tmp_path / "profile"
    profile.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"DOCKER_CONFIG", "HOME", "USERPROFILE"}}
    env["PATH"] = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    env["PYTHONPATH"] = str(ROOT)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")  # no podman file of the developer's
    if simulate:
        env["USERPROFILE"] = str(profile)
        env["PATHEXT"] = ".COM;.EXE"
    else:
        env["HOME" if os.name != "nt" else "USERPROFILE"] = str(profile)
    return Client(simulate, env), profile / ".docker" / "config.json", bin_dir


def _walk_through_the_client(client: Client, config: Path, bin_dir: Path, suffix: str) -> None:
    """get / list / migrate / export / doctor / logout and get_credentials, without the network."""
    _config.update(config, lambda c: c.set_auth("reg.example:5000", "ann", SECRET))
    got = client.cli("get", "reg.example:5000")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == {"ServerURL": "reg.example:5000", "Username": "ann", "Secret": SECRET}
    listed = client.cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "reg.example:5000" in listed.stdout
    assert SECRET not in listed.stdout
    state = fake_helper(bin_dir, "vault", suffix=suffix)
    moved = client.cli("migrate", "--to", "vault")
    assert moved.returncode == 0, moved.stderr
    assert json.loads(config.read_text())["credsStore"] == "vault"
    assert json.loads(state.read_text())["reg.example:5000"] == ["ann", SECRET]
    found = client.python(
        "import regcred\nc = regcred.get_credentials('reg.example:5000')\nprint(c.username, c.secret)"
    )
    assert found.split() == ["ann", SECRET]
    out = config.parent / "exported.json"
    exported = client.cli("export", "--format", "config", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "reg.example:5000" in json.loads(out.read_text())["auths"]
    checked = client.cli("doctor")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "reg.example:5000" in checked.stdout
    gone = client.cli("logout", "reg.example:5000")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(state.read_text()) == {}
    assert client.cli("get", "reg.example:5000").returncode == 1


@pytest.mark.portable
def test_the_client_natively(tmp_path: Path) -> None:
    """On this system as it is (Linux here; macOS and Windows in the workflow)."""
    client, config, bin_dir = _client(tmp_path, simulate=False)
    _walk_through_the_client(client, config, bin_dir, suffix="")
    if _system.has_modes():
        assert stat.S_IMODE(config.stat().st_mode) == 0o600


@pytest.mark.skipif(sys.platform != "linux", reason="the simulation drives Linux's own os module")
class TestSimulatedWindows:
    """SIMULATION of Windows on Linux (tests/fixtures/windows_model.py), not Windows."""

    def test_the_client_starts_and_works_without_fcntl(self, tmp_path: Path) -> None:
        client, config, bin_dir = _client(tmp_path, simulate=True)
        probe = client.python(
            "import regcred.cli, regcred._files, regcred._config, regcred.stores._router\n"
            "import importlib.util\n"
            "print(sorted(m for m in ('fcntl', 'termios', 'pwd', 'grp') if m in sys.modules))\n"
            "print(regcred._config.config_path())"
        )
        assert probe.splitlines() == ["[]", str(config)], "%USERPROFILE%\\.docker\\config.json"
        elsewhere = tmp_path / "probe" / "config.json"
        locks = client.python(
            "from regcred import _config, _files\n"
            f"path = _config.Path({str(elsewhere)!r})\n"
            "_config.update(path, lambda c: c.set_auth('p.example', 'u', 'p'))\n"
            "modes = sorted({mode for _, mode, _ in sys.modules['msvcrt'].calls})\n"
            "print(modes, _files._rename.attempts)"
        )
        assert locks.split("] ") == ["[0, 2", "2\n"], (
            "LK_NBLCK then LK_UNLCK; one sharing violation, one retry"
        )
        assert (tmp_path / "probe" / "config.json.lock").exists()
        _walk_through_the_client(client, config, bin_dir, suffix=".EXE")

    def test_login_and_logout_against_a_real_registry(self, tmp_path: Path, registry_http: Registry) -> None:
        client, config, _ = _client(tmp_path, simulate=True)
        done = client.cli(
            "login", registry_http.address, "-u", registry_http.username, "--password-stdin",
            stdin=registry_http.password + "\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Login Succeeded" in done.stdout
        assert "mode" not in done.stderr, "no chmod advice where modes mean nothing"
        assert registry_http.address in json.loads(config.read_text())["auths"]
        assert client.cli("logout", registry_http.address).returncode == 0
        assert json.loads(config.read_text())["auths"] == {}

    def test_login_records_wincred_as_docker_does(self, tmp_path: Path, registry_http: Registry) -> None:
        """DetectDefaultStore on Windows: docker-credential-wincred on PATH becomes credsStore."""
        client, config, bin_dir = _client(tmp_path, simulate=True)
        state = fake_helper(bin_dir, "wincred", suffix=".EXE")
        done = client.cli(
            "login", registry_http.address, "-u", registry_http.username, "--password-stdin",
            stdin=registry_http.password + "\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        data = json.loads(config.read_text())
        assert data["credsStore"] == "wincred"
        assert data["auths"] == {registry_http.address: {}}
        assert json.loads(state.read_text())[registry_http.address][0] == registry_http.username

    def test_docker_desktop_config_is_never_changed(self, tmp_path: Path, registry_http: Registry) -> None:
        client, config, bin_dir = _client(tmp_path, simulate=True)
        fake_helper(bin_dir, "wincred", suffix=".EXE")
        fake_helper(bin_dir, "desktop", suffix=".EXE")
        config.parent.mkdir()
        config.write_text(json.dumps({"auths": {}, "credsStore": "desktop"}))
        done = client.cli(
            "login", registry_http.address, "-u", registry_http.username, "--password-stdin",
            stdin=registry_http.password + "\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(config.read_text())["credsStore"] == "desktop"


# -- the workflow's cross test script, run here on the Secret Service pair ---------------


def test_cross_helpers_script_on_the_secret_service_pair(keyring: Keyring, tmp_path: Path) -> None:
    """tests/cross_helpers.py (the workflow's cross test) passes on a pair that agrees."""
    ours = installed_helper("secretservice")
    go = require_program("docker-credential-secretservice", "golang-docker-credential-helpers")
    done = subprocess.run(
        [sys.executable, "-m", "tests.cross_helpers", ours, go],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok: ") == 2 * len(cross_helpers.SERVERS)


def test_cross_helpers_script_fails_on_a_pair_that_disagrees(tmp_path: Path) -> None:
    """Two unrelated fake helpers keep separate files: the script must say so (exit 1)."""
    a = fake_helper(tmp_path / "a", "left").parent / "docker-credential-left"
    b = fake_helper(tmp_path / "b", "right").parent / "docker-credential-right"
    done = subprocess.run(
        [sys.executable, "-m", "tests.cross_helpers", str(a), str(b)],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1
    assert "FAILED: " in done.stderr


# -- the workflow file ------------------------------------------------------------------


@pytest.mark.portable
def test_portable_workflow_has_its_jobs_and_steps() -> None:
    """.github/workflows/portable.yml: portable tests and the Go-helper cross test on macOS and Windows."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "portable.yml").read_text())
    assert set(workflow[True if True in workflow else "on"]) >= {"push", "pull_request"}
    jobs = workflow["jobs"]
    assert set(jobs) == {"portable", "cross"}
    for job in jobs.values():
        assert set(job["strategy"]["matrix"]["os"]) == {"macos-latest", "windows-latest"}
        uses = [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]
        assert "actions/checkout" in uses
        assert "actions/setup-python" in uses
        python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
        wanted = str(python["with"]["python-version"])
        versions = job["strategy"]["matrix"]["python"] if wanted == "${{ matrix.python }}" else [wanted]
        assert all(tuple(map(int, str(v).split("."))) >= (3, 11) for v in versions), versions
    portable = " ".join(s.get("run", "") for s in jobs["portable"]["steps"])
    assert "--group test" in portable
    assert "-m portable" in portable
    cross = " ".join(s.get("run", "") for s in jobs["cross"]["steps"])
    for needle in (
        "https://github.com/docker/docker-credential-helpers/releases/download/$HELPERS_VERSION/",
        "shasum -a 256",
        "python -m tests.cross_helpers docker-credential-regcred-osxkeychain",
        "python -m tests.cross_helpers docker-credential-regcred-wincred",
    ):
        assert needle in cross, needle
    assert jobs["cross"]["env"]["HELPERS_VERSION"].startswith("v0.9.")
    includes = jobs["cross"]["strategy"]["matrix"]["include"]
    assert {i["os"]: i["helper"] for i in includes} == {
        "macos-latest": "osxkeychain",
        "windows-latest": "wincred",
    }
    version = jobs["cross"]["env"]["HELPERS_VERSION"]
    assets = {i["asset"] for i in includes}
    assert assets == {
        f"docker-credential-osxkeychain-{version}.darwin-arm64",
        f"docker-credential-wincred-{version}.windows-amd64.exe",
    }
    assert all(len(i["sha256"]) == 64 for i in includes)
