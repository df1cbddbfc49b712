"""regcred migrate: real keyring and pass, our helpers and the Go ones, and helpers that fail."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from regcred import _config
from regcred._lookup import get_credentials
from regcred.cli import main
from tests.conftest import VENV_BIN, missing, require_program
from tests.fixtures.programs import fake_helper

if TYPE_CHECKING:
    from tests.fixtures.differential import Referee
    from tests.fixtures.keyring import Keyring
    from tests.fixtures.passstore import PassEnv
    from tests.fixtures.registry import Registry

HUB = "https://index.docker.io/v1/"
SECRET_A = "migrate-secret-a-\u00fc&<x>"
SECRET_B = "migrate-secret-b"
TOKEN = "refresh-token-c"
SECRETS = (SECRET_A, SECRET_B, TOKEN)


def seed(path: Path) -> bytes:
    """config.json with two plaintext logins, an identity token and keys regcred does not know."""

    def fill(c: _config.Config) -> None:
        c.set_auth("a.example", "alice", SECRET_A)
        c.set_auth("b.example:5000", "bob", SECRET_B)
        c.set_auth(HUB, "", "", identitytoken=TOKEN)
        c.data["auths"]["a.example"]["email"] = "alice@example.com"
        c.data["psFormat"] = "table {{.ID}}"
        c.data["x-unknown"] = {"keep": [1, 2]}

    _config.update(path, fill)
    return path.read_bytes()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; assert no secret reached stdout or stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out + err
    return code, out, err


def config(path: Path) -> dict[str, Any]:
    """config.json as parsed JSON."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def creds(key: str) -> tuple[str, str] | None:
    """(username, secret) as regcred's lookup finds them through config.json."""
    found = get_credentials(key, podman=False)
    return None if found is None else (found.username, found.secret)


def all_readable() -> None:
    """Every seeded credential is readable through config.json, unchanged."""
    assert creds("a.example") == ("alice", SECRET_A)
    assert creds("b.example:5000") == ("bob", SECRET_B)
    assert creds("docker.io") == ("<token>", TOKEN)


def go_get(helper: str, key: str) -> dict[str, str]:
    """Ask Debian's Go helper for ``key``."""
    program = require_program(f"docker-credential-{helper}", "golang-github-docker-docker-credential-helpers")
    done = subprocess.run([program, "get"], input=key, capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, str] = json.loads(done.stdout)
    return result


def test_file_to_secret_service_and_back(
    docker_config: Path, keyring: Keyring, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All plaintext credentials go into gnome-keyring and come back; unknown keys survive."""
    seed(docker_config)
    code, out, err = run(capsys, "migrate", "--to", "regcred-secretservice")
    assert code == 0, err
    assert "migrated 3 credential(s)" in out
    data = config(docker_config)
    assert data["credsStore"] == "regcred-secretservice"
    assert data["auths"] == {"a.example": {"email": "alice@example.com"}, "b.example:5000": {}, HUB: {}}
    assert data["credHelpers"] == dict.fromkeys(("a.example", "b.example:5000", HUB), "regcred-secretservice")
    assert data["psFormat"] == "table {{.ID}}"
    assert data["x-unknown"] == {"keep": [1, 2]}
    all_readable()
    servers = sorted(attrs["server"] for _, attrs in keyring.items())
    assert servers == sorted(["a.example", "b.example:5000", HUB])
    # The Go helper reads what was migrated (same keyring layout).
    assert go_get("secretservice", "a.example") == {
        "ServerURL": "a.example",
        "Username": "alice",
        "Secret": SECRET_A,
    }
    assert go_get("secretservice", HUB)["Username"] == "<token>"

    code, _, err = run(capsys, "migrate", "--to", "file")
    assert code == 0, err
    data = config(docker_config)
    assert "credsStore" not in data
    assert data["auths"]["a.example"]["email"] == "alice@example.com"
    assert base64.b64decode(data["auths"]["a.example"]["auth"]).decode() == f"alice:{SECRET_A}"
    assert data["auths"][HUB] == {"identitytoken": TOKEN}
    assert data["x-unknown"] == {"keep": [1, 2]}
    assert keyring.items() == []  # moving back removed the helper's copies
    all_readable()


def test_go_pass_and_shared_backend(
    docker_config: Path, pass_env: PassEnv, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """file → Go pass → regcred-pass (one store, two names): nothing is lost on the way."""
    seed(docker_config)
    code, _, err = run(capsys, "migrate", "--to", "pass")
    assert code == 0, err
    assert config(docker_config)["credsStore"] == "pass"
    assert go_get("pass", "b.example:5000")["Secret"] == SECRET_B
    all_readable()
    code, _, err = run(capsys, "migrate", "--to", "regcred-pass")
    assert code == 0, err
    assert config(docker_config)["credsStore"] == "regcred-pass"
    all_readable()
    assert len([p for p in pass_env.folder.iterdir() if p.is_dir()]) == 3
    assert go_get("pass", "a.example")["Secret"] == SECRET_A


def test_named_server_gets_a_cred_helper(
    docker_config: Path, keyring: Keyring, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Moving one named server routes just that key with credHelpers; the rest stay."""
    seed(docker_config)
    code, out, err = run(capsys, "migrate", "--to", "regcred-secretservice", "https://a.example/v2/")
    assert code == 0, err
    data = config(docker_config)
    assert data["credHelpers"] == {"a.example": "regcred-secretservice"}
    assert "credsStore" not in data
    assert data["auths"]["a.example"] == {"email": "alice@example.com"}
    assert "auth" in data["auths"]["b.example:5000"]
    assert [attrs["server"] for _, attrs in keyring.items()] == ["a.example"]
    all_readable()
    assert 'set credHelpers["a.example"] to "regcred-secretservice"' in out


def test_named_server_to_file_beside_a_creds_store_drops_it(
    docker_config: Path, keyring: Keyring, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One key out of credsStore into the file: credsStore goes, every other key keeps its route.

    The only exemption docker knows, credHelpers[key] = "", makes podman, skopeo and
    buildah run "docker-credential-" and fail every request to that registry (issue
    10 #2), so it is never written; docker would go on asking credsStore's helper for
    the key, so credsStore goes, and the keys it still holds get credHelpers routes.
    """
    seed(docker_config)
    assert run(capsys, "migrate", "--to", "regcred-secretservice")[0] == 0
    # As an older migrate or docker login left it: credsStore alone routes everything.
    _config.update(docker_config, lambda c: c.data.pop("credHelpers"))
    code, out, err = run(capsys, "migrate", "--to", "file", "b.example:5000")
    assert code == 0, err
    data = config(docker_config)
    assert "credsStore" not in data
    assert data["credHelpers"] == {"a.example": "regcred-secretservice", HUB: "regcred-secretservice"}
    assert base64.b64decode(data["auths"]["b.example:5000"]["auth"]).decode() == f"bob:{SECRET_B}"
    assert sorted(attrs["server"] for _, attrs in keyring.items()) == sorted(["a.example", HUB])
    assert "credsStore goes, or docker would keep asking docker-credential-regcred-secretservice" in out
    all_readable()
    # With credsStore gone, those routes are per-registry choices: moved when named.
    assert run(capsys, "migrate", "--to", "file")[0] == 0
    assert config(docker_config)["credHelpers"] == data["credHelpers"]
    assert run(capsys, "migrate", "--to", "file", "a.example", "docker.io")[0] == 0
    data = config(docker_config)
    assert "credsStore" not in data
    assert "credHelpers" not in data
    assert keyring.items() == []
    all_readable()


def _skopeo_login(authfile: Path, key: str, root: Path) -> str:
    """The username ``skopeo login --get-login`` finds for ``key`` in ``authfile`` ("" for none)."""
    from tests.fixtures.differential import containers_env

    skopeo = require_program("skopeo", "skopeo")
    done = subprocess.run(
        [skopeo, "login", "--get-login", "--authfile", str(authfile), key],
        capture_output=True, text=True, timeout=60, check=False, env=containers_env(root, authfile),
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else ""


def test_podman_sees_what_migrate_moved_and_doctor_says_what_it_cannot(
    docker_config: Path, keyring: Keyring, bin_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """migrate --to HELPER writes login's credHelpers routes; doctor names keys podman cannot see (#17.1).

    Referee: the real skopeo (containers/image ignores credsStore).  Before the
    fix, migrate wrote credsStore alone: skopeo said "not logged into", and doctor
    said Healthy.
    """
    seed(docker_config)
    root = tmp_path / "containers"
    assert _skopeo_login(docker_config, "a.example", root) == "alice"
    assert run(capsys, "migrate", "--to", "regcred-secretservice")[0] == 0
    data = config(docker_config)
    routes = {"a.example": "regcred-secretservice", "b.example:5000": "regcred-secretservice"}
    assert data["credHelpers"] == {**routes, HUB: "regcred-secretservice"}
    assert _skopeo_login(docker_config, "a.example", root) == "alice"
    assert _skopeo_login(docker_config, "b.example:5000", root) == "bob"
    # Docker Hub: containers/image asks for docker.io, a key docker never routes; doctor says so.
    assert _skopeo_login(docker_config, "docker.io", root) == ""
    hub_warning = (
        "warning: podman, skopeo and buildah cannot see the Docker Hub credentials in "
        "docker-credential-regcred-secretservice: they look Docker Hub up as docker.io"
    )
    code, out, _ = run(capsys, "doctor")
    assert out.count("cannot see") == 1
    assert hub_warning in out
    assert code == 0, out

    # credsStore alone (docker login, or an older migrate): doctor warns and names the fix.
    _config.update(docker_config, lambda c: c.data.pop("credHelpers"))
    assert _skopeo_login(docker_config, "a.example", root) == ""
    code, out, _ = run(capsys, "doctor")
    warning = (
        "podman, skopeo and buildah cannot see the credentials for a.example, b.example:5000: "
        f"{docker_config} sends them to docker-credential-regcred-secretservice through "
        "credsStore, which they ignore; 'regcred migrate --to regcred-secretservice a.example "
        "b.example:5000' adds the credHelpers routes they read"
    )
    assert f"warning: {warning}" in out
    assert code == 0  # docker and regcred still work: a warning, not broken
    fix = warning.split("'")[1].split()[1:]
    code, out, err = run(capsys, *fix)
    assert code == 0, err
    assert config(docker_config)["credHelpers"] == routes
    assert _skopeo_login(docker_config, "a.example", root) == "alice"
    assert _skopeo_login(docker_config, "b.example:5000", root) == "bob"
    assert run(capsys, "doctor")[1].count("cannot see") == 1  # Docker Hub's, as above
    all_readable()

    # Back to the file: the routes go with credsStore.
    assert run(capsys, "migrate", "--to", "file")[0] == 0
    assert "credHelpers" not in config(docker_config)
    assert _skopeo_login(docker_config, "b.example:5000", root) == "bob"
    all_readable()


def test_the_readme_example_one_registry_back_to_the_file_after_a_first_login(
    docker_config: Path,
    keyring: Keyring,
    bin_dir: Path,
    registry_http: Registry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """README: `regcred migrate --to file R` in the state regcred's own first login creates (#18).

    It used to be refused ("breaks podman, skopeo and buildah").  Now R is in the
    file and read there by docker and skopeo; another registry stays in the keyring.
    """
    docker = require_program("docker", "docker-ce-cli")
    address, user = registry_http.address, registry_http.username
    code = main(["login", address, "-u", user, "-p", registry_http.password])
    capsys.readouterr()
    assert code == 0
    assert config(docker_config)["credsStore"] == "regcred-secretservice"  # the first login's choice
    from regcred import store_credentials

    store_credentials("other.example", "olga", "o-secret")  # one more, where login would put it
    code, out, err = run(capsys, "migrate", "--to", "file", address)
    assert code == 0, err
    assert registry_http.password not in out + err
    data = config(docker_config)
    assert "credsStore" not in data
    assert data["credHelpers"] == {"other.example": "regcred-secretservice"}
    assert base64.b64decode(data["auths"][address]["auth"]).decode() == f"{user}:{registry_http.password}"
    assert [attrs["server"] for _, attrs in keyring.items()] == ["other.example"]
    assert creds("other.example") == ("olga", "o-secret")
    assert creds(address) == (user, registry_http.password)
    done = subprocess.run(
        [docker, "--config", str(docker_config.parent), "login", address],
        input="", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.stderr.startswith(f"Authenticating with existing credentials... [Username: {user}]")
    assert _skopeo_login(docker_config, address, tmp_path / "containers") == user
    assert _skopeo_login(docker_config, "other.example", tmp_path / "containers") == "olga"


def test_dry_run_changes_nothing(
    docker_config: Path, keyring: Keyring, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run prints the plan and leaves config.json and the keyring untouched."""
    before = seed(docker_config)
    code, out, _ = run(capsys, "migrate", "--to", "regcred-secretservice", "--dry-run")
    assert code == 0
    assert "would move a.example (alice)" in out
    assert "would move https://index.docker.io/v1/ (identity token)" in out
    assert 'set credsStore to "regcred-secretservice"' in out
    assert docker_config.read_bytes() == before
    assert keyring.items() == []


def test_store_failure_loses_nothing(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A helper that fails to store: exit 1, one line, config.json byte-identical."""
    before = seed(docker_config)
    state = fake_helper(bin_dir, "sealed", mode="fail-store")
    code, _, err = run(capsys, "migrate", "--to", "sealed")
    assert code == 1
    assert "the vault is sealed" in err
    assert len(err.strip().splitlines()) == 1
    assert docker_config.read_bytes() == before
    assert json.loads(state.read_text()) == {}
    all_readable()


def test_read_back_mismatch_loses_nothing(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A helper that returns another secret on read-back: copies removed, config.json byte-identical."""
    before = seed(docker_config)
    state = fake_helper(bin_dir, "liar", mode="lie")
    code, _, err = run(capsys, "migrate", "--to", "liar")
    assert code == 1
    assert "returned different credentials" in err
    assert "tampered" not in err
    assert docker_config.read_bytes() == before
    assert json.loads(state.read_text()) == {}  # the copy it took was erased again
    all_readable()


def test_prior_target_entry_is_restored_on_failure(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A target that already held the key gets its old entry back when the migration fails."""
    before = seed(docker_config)
    state = fake_helper(bin_dir, "target", db={"b.example:5000": ["old-bob", "old-secret"]})
    fake_helper(bin_dir, "src", mode="fail-erase", db={"c.example": ["carol", "c-secret"]})
    # c.example lives in a credHelpers helper that refuses to erase: the last step fails.
    _config.update(docker_config, lambda c: c.data.update(credHelpers={"c.example": "src"}))
    before = docker_config.read_bytes()
    code, _, err = run(capsys, "migrate", "--to", "target", "b.example:5000", "c.example")
    assert code == 1
    assert "erase refused" in err
    assert docker_config.read_bytes() == before
    assert json.loads(state.read_text()) == {"b.example:5000": ["old-bob", "old-secret"]}
    assert creds("c.example") == ("carol", "c-secret")
    all_readable()


def test_rollback_on_a_bind_mounted_config_loses_nothing(
    docker_config: Path, bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """config.json is a mount point (docker -v, k8s subPath): the rollback rewrites it in place.

    Renaming over a mount point fails with EBUSY; the rollback used to give up
    on config.json and then still erase the target's copies, so the
    credentials config.json routed to the target were gone.  Run as root in a
    private mount namespace, so the bind mount never leaks out of the test.
    """
    if os.geteuid() != 0:
        missing("a private mount namespace", "the test must run as root (unshare -m, mount --bind)")
    unshare = require_program("unshare", "util-linux")
    host = tmp_path / "host"  # what the "container" sees as config.json lives here
    host.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(host))
    seed(host / "config.json")
    state = fake_helper(bin_dir, "target", db={"b.example:5000": ["old-bob", "old-secret"]})
    fake_helper(bin_dir, "src", mode="fail-erase", db={"c.example": ["carol", "c-secret"]})
    # c.example lives in a credHelpers helper that refuses to erase: the last step fails,
    # after config.json was rewritten.
    _config.update(host / "config.json", lambda c: c.data.update(credHelpers={"c.example": "src"}))
    before = (host / "config.json").read_bytes()
    docker_config.parent.mkdir()
    docker_config.write_text("{}")  # the mount point, hidden under the bind mount
    script = 'mount --bind "$1" "$2" && exec "$3" migrate --to target b.example:5000 c.example'
    done = subprocess.run(
        [unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh",
         str(host / "config.json"), str(docker_config), str(VENV_BIN / "regcred")],
        env={**os.environ, "DOCKER_CONFIG": str(docker_config.parent)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "erase refused" in done.stderr
    assert "could not be fully undone" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    for secret in (*SECRETS, "c-secret", "old-secret"):
        assert secret not in done.stdout + done.stderr
    assert (host / "config.json").read_bytes() == before  # restored through the mount
    assert json.loads(state.read_text()) == {"b.example:5000": ["old-bob", "old-secret"]}
    assert creds("c.example") == ("carol", "c-secret")
    all_readable()


def test_erase_failure_when_moving_to_file(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Back to file with a helper that refuses to erase: config.json and the helper as they were."""
    state = fake_helper(bin_dir, "sticky", mode="fail-erase", db={"s.example": ["sam", "s-secret"]})
    docker_config.parent.mkdir()
    docker_config.write_text('{\n  "auths": {"s.example": {}},\n  "credsStore": "sticky"\n}\n')
    before = docker_config.read_bytes()
    code, _, err = run(capsys, "migrate", "--to", "file")
    assert code == 1
    assert "s-secret" not in err
    assert docker_config.read_bytes() == before  # not even reformatted
    assert json.loads(state.read_text()) == {"s.example": ["sam", "s-secret"]}
    assert creds("s.example") == ("sam", "s-secret")


def test_legacy_spellings_are_canonicalised(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """https://host/v1/ becomes the key docker asks a helper for; a different duplicate is left."""
    state = fake_helper(bin_dir, "vault")

    def fill(c: _config.Config) -> None:
        c.set_auth("https://reg.example/v1/", "rita", "r-secret")
        c.set_auth("http://reg.example", "rita", "r-secret")  # same: merged
        c.set_auth("https://other.example", "otto", "o-secret")
        c.set_auth("other.example", "otto", "o-newer")  # in use: moved; the https one differs

    _config.update(docker_config, fill)
    code, out, err = run(capsys, "migrate", "--to", "vault")
    assert code == 0, err
    assert json.loads(state.read_text()) == {
        "reg.example": ["rita", "r-secret"],
        "other.example": ["otto", "o-newer"],
    }
    auths = config(docker_config)["auths"]
    assert auths == {
        "reg.example": {},
        "other.example": {},
        "https://other.example": auths["https://other.example"],
    }
    assert "left https://other.example" in out
    assert creds("reg.example") == ("rita", "r-secret")
    assert creds("other.example") == ("otto", "o-newer")


@pytest.mark.parametrize(
    ("argv", "message", "exit_code"),
    [
        (["--to", "not-installed"], "docker-credential-not-installed not found on PATH", 1),
        (["--to", "../evil"], "invalid store", 2),
        (["--to", "file", "nothing.example"], "no credentials stored for nothing.example", 1),
    ],
)
def test_usage_errors(
    docker_config: Path,
    bin_dir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    exit_code: int,
) -> None:
    """Unknown stores and servers fail in one line before anything changes (an invalid name: exit 2)."""
    before = seed(docker_config)
    code, _, err = run(capsys, "migrate", *argv)
    assert code == exit_code
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert docker_config.read_bytes() == before


def test_rekey_inside_one_helper(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A helper entry under https://host is moved to the key docker asks for, in the same helper."""
    state = fake_helper(
        bin_dir, "vault", db={"https://reg.example": ["rita", "r-secret"], "ok.example": ["o", "s"]}
    )
    docker_config.parent.mkdir()
    docker_config.write_text('{"auths": {}, "credsStore": "vault"}')
    code, out, err = run(capsys, "migrate", "--to", "vault")
    assert code == 0, err
    assert "ok.example is already in docker-credential-vault" in out
    assert json.loads(state.read_text()) == {"ok.example": ["o", "s"], "reg.example": ["rita", "r-secret"]}
    assert config(docker_config) == {
        "auths": {"reg.example": {}},
        "credHelpers": {"ok.example": "vault", "reg.example": "vault"},  # podman reads these, not credsStore
        "credsStore": "vault",
    }
    assert creds("reg.example") == ("rita", "r-secret")


def test_docker_cli_logs_in_with_migrated_credentials(
    docker_config: Path,
    keyring: Keyring,
    bin_dir: Path,
    registry_http: Registry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The real docker CLI finds migrated credentials: in the keyring, then back in the file."""
    docker = require_program("docker", "docker-ce-cli")
    address = registry_http.address
    _config.update(
        docker_config, lambda c: c.set_auth(address, registry_http.username, registry_http.password)
    )

    def docker_login() -> str:
        """What docker found: "[Username: …]" needs a username *and* a password (no daemon here)."""
        done = subprocess.run(
            [docker, "--config", str(docker_config.parent), "login", address],
            input="", capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        first = done.stderr.splitlines()[0] if done.stderr else ""
        return first.removeprefix("Authenticating with existing credentials... ")

    assert run(capsys, "migrate", "--to", "regcred-secretservice")[0] == 0
    assert docker_login() == f"[Username: {registry_http.username}]"
    assert [attrs["server"] for _, attrs in keyring.items()] == [address]

    _config.update(docker_config, lambda c: c.set_auth("other.example", "o", "o-secret"))
    assert run(capsys, "migrate", "--to", "regcred-secretservice", "other.example")[0] == 0
    assert run(capsys, "migrate", "--to", "file")[0] == 0
    assert "credHelpers" not in config(docker_config)
    assert "credsStore" not in config(docker_config)
    assert [attrs["server"] for _, attrs in keyring.items()] == []
    assert docker_login() == f"[Username: {registry_http.username}]"


#: Test instrument: once config.json routes to the helper, its read-back acts out a
#: concurrent 'regcred logout b.example:5000' (erase from here, drop the entry).
_RACING_LOGOUT = """\
with open({config!r}) as f:
    config = json.load(f)
if data == "b.example:5000" and "credsStore" in config:
    db.pop(data, None); save()
    del config["auths"][data]
    with open({config!r}, "w") as f:
        json.dump(config, f)
"""


def test_a_logout_racing_the_switch_loses_no_other_credential(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """config.json changed by someone else after the switch: the rollback keeps what it routes to.

    The rollback cannot put config.json back (that would undo the other
    change), and used to erase the target's copies anyway: a.example was
    then routed to a store that no longer held it.
    """
    seed(docker_config)
    state = fake_helper(bin_dir, "racy", before_get=_RACING_LOGOUT.format(config=str(docker_config)))
    code, _, err = run(capsys, "migrate", "--to", "racy")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    data = config(docker_config)
    assert data["credsStore"] == "racy"
    assert "b.example:5000" not in data["auths"]  # the logout stands
    assert creds("a.example") == ("alice", SECRET_A)  # was: None, erased by the rollback
    assert creds("docker.io") == ("<token>", TOKEN)
    assert sorted(json.loads(state.read_text())) == sorted(["a.example", HUB])  # nothing orphaned
    assert not docker_config.with_name("config.json.migrate-journal").exists()


def test_per_repository_keys_stay_in_the_file_and_docker_still_reads_them(
    docker_config: Path,
    pass_env: PassEnv,
    bin_dir: Path,
    referee: Referee,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``migrate --to HELPER`` leaves ``HOST/ns/repo`` (and HOST's key) in the file, and says so.

    A helper is only ever asked for a host, so a moved repository key would
    serve nobody; ``credsStore`` is left unset (docker would ask it for HOST
    and ignore the file).  The real docker referees; doctor's plaintext line
    is one migrate cannot fix, so it is a warning, not "unsafe".
    """
    from regcred._tools.doctor import diagnose
    from tests.fixtures.differential import docker_authenticates

    repository = f"{referee.host}/diff/img"
    _config.update(docker_config, lambda c: c.set_auth(repository, *referee.valid))
    _config.update(docker_config, lambda c: c.set_auth("a.example", "alice", SECRET_A))
    assert docker_authenticates(referee, docker_config.parent, "diff/img")
    code, out, err = run(capsys, "migrate", "--dry-run", "--to", "regcred-pass")
    assert code == 0, err
    assert f"leaving {repository}: a per-repository key stays in the file" in out
    code, out, err = run(capsys, "migrate", "--to", "regcred-pass")
    assert code == 0, err
    assert f"leaving {repository}: a per-repository key stays in the file" in out
    assert "migrated 1 credential(s)" in out
    data = config(docker_config)
    assert "credsStore" not in data
    assert data["credHelpers"] == {"a.example": "regcred-pass"}
    assert "auth" in data["auths"][repository]
    assert creds("a.example") == ("alice", SECRET_A)
    assert docker_authenticates(referee, docker_config.parent, "diff/img")  # the key still works
    report = diagnose()
    assert not [p for p in report.problems if p.severity == "unsafe"], report.problems
    assert any(repository in p.message and "stay there" in p.message for p in report.problems)


def test_a_registrys_key_beside_its_repository_keys_stays_too(
    docker_config: Path, pass_env: PassEnv, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Routing HOST to a helper would hide HOST/ns/repo from docker and podman: HOST stays, said why.

    Named or not; other registries move.  doctor flags only what migrate moves as "unsafe".
    """
    from regcred._tools.doctor import diagnose

    def fill(c: _config.Config) -> None:
        c.set_auth("a.example", "alice", SECRET_A)
        c.set_auth("a.example/team/app", "alice", SECRET_A)
        c.set_auth("b.example:5000", "bob", SECRET_B)

    _config.update(docker_config, fill)
    before = docker_config.read_bytes()
    unsafe = [p.message for p in diagnose().problems if p.severity == "unsafe"]
    assert any("plaintext credentials for b.example:5000 in" in m for m in unsafe), unsafe
    assert not any("a.example" in m for m in unsafe), unsafe
    code, out, err = run(capsys, "migrate", "--dry-run", "--to", "regcred-pass")
    assert code == 0, err
    assert "leaving a.example: per-repository keys of a.example stay in the file" in out
    assert "leaving a.example/team/app: a per-repository key stays in the file" in out
    assert "would move b.example:5000" in out
    assert "credsStore is left unset" in out
    assert docker_config.read_bytes() == before
    code, out, err = run(capsys, "migrate", "--to", "regcred-pass", "a.example")
    assert code == 0, err
    assert "leaving a.example: per-repository keys" in out
    assert docker_config.read_bytes() == before  # nothing to move: the file is not rewritten


def test_a_credential_logged_out_before_it_is_read_is_a_race_not_a_loss(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key the plan routes to a helper that no longer holds it (a logout in between): one line, no change.

    The FAKE helper lists ``gone.example`` but answers its ``get`` with "not found",
    the state a ``regcred logout`` racing the migrate leaves (seen in
    tests/test_stress.py): the migrate stops before changing anything and says
    that the helper changed while migrating, not that it lost a credential.
    """
    fake_helper(bin_dir, "vanishing", {"s.example": ("sam", "s-secret")}, listed={"gone.example": "gus"})
    docker_config.parent.mkdir()
    docker_config.write_text(
        '{\n  "auths": {"gone.example": {}, "s.example": {}},\n  "credsStore": "vanishing"\n}\n'
    )
    before = docker_config.read_bytes()
    code, _, err = run(capsys, "migrate", "--to", "file")
    assert code == 1
    assert "changed while migrating" in err, err
    assert "gone.example" in err
    assert len(err.strip().splitlines()) == 1, err
    assert "s-secret" not in err
    assert docker_config.read_bytes() == before


def test_a_target_listing_a_key_it_no_longer_holds_has_no_prior(
    docker_config: Path, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The target helper lists ``r.example`` but no longer holds it (a logout in between): no prior, moved.

    A FAKE helper whose ``list`` always names the key and whose ``get`` finds it
    only once it has been stored.
    """
    state = fake_helper(bin_dir, "late", listed={"r.example": "ray"})
    auth = base64.b64encode(b"ray:r-secret").decode()
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {"r.example": {"auth": auth}}}))
    code, _, err = run(capsys, "migrate", "--to", "late")
    assert code == 0, err
    assert json.loads(state.read_text()) == {"r.example": ["ray", "r-secret"]}
    assert creds("r.example") == ("ray", "r-secret")
