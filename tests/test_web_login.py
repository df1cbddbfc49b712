"""Docker Hub's web sign-in (issue 19): the device flow on a real terminal, logout's revoke.

regcred runs as a real process on a pseudo-terminal (``pty.fork``: it is the
session leader, so ^C is the kernel's SIGINT) against the named FAKE tenant
and Hub API of ``tests/fixtures/hub_fake.py`` (the real ``login.docker.com``
and ``hub.docker.com`` cannot be reached here).  The real docker CLI 28
referees the stored form: ``docker logout`` erases the token entries only
when the refresh token has docker's ``..<client ID>`` suffix.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import pty
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import VENV_BIN, installed_helper, missing
from tests.fixtures.config_files import write_config
from tests.fixtures.hub_fake import AUDIENCE, CLIENT_ID, HubFake

if TYPE_CHECKING:
    from tests.fixtures.passstore import PassEnv

REGCRED = str(VENV_BIN / "regcred")
HUB = "https://index.docker.io/v1/"
ACCESS, REFRESH = HUB + "access-token", HUB + "refresh-token"
_WAIT = 30.0


class Tty:
    """regcred on a pseudo-terminal: everything it writes is collected in :attr:`output`."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, master = pty.fork()
        if pid == 0:  # pragma: no cover - the forked child: regcred on the pty
            try:
                os.execve(argv[0], argv, env)  # noqa: S606 - the program itself, no shell
            finally:
                os._exit(127)
        self.pid, self.master = pid, master
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.status: int | None = None

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self._chunks.append(data)

    @property
    def output(self) -> str:
        return b"".join(self._chunks).decode(errors="replace")

    def expect(self, text: str, timeout: float = _WAIT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert time.monotonic() < deadline, f"never saw {text!r} in:\n{self.output}"
            time.sleep(0.02)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = _WAIT) -> int:
        deadline = time.monotonic() + timeout
        while True:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = os.waitstatus_to_exitcode(status)
                self._reader.join(timeout=2)
                return self.status
            assert time.monotonic() < deadline, f"regcred did not finish:\n{self.output}"
            time.sleep(0.02)

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.master)


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


def _env(hub: HubFake, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    env |= hub.env()
    env["PATH"] = "/usr/bin:/bin"  # no regcred helper: the file store, as the seeded config says
    env |= extra
    return env


def _seed(docker_config: Path) -> bytes:
    """A config that already keeps a plaintext credential: new ones go to the file too."""
    return write_config(docker_config, {"other.example": ("ann", "other-pw")})


def _login(hub: HubFake, *args: str, **env: str) -> Tty:
    return Tty([REGCRED, "login", *args], _env(hub, **env))


def _assert_no_secret(hub: HubFake, *texts: str) -> None:
    for secret in hub.secrets_issued():
        for text in texts:
            assert secret not in text
            assert secret[:16] not in text


def test_device_flow_stores_the_three_entries_as_docker_does(hub_fake: HubFake, docker_config: Path) -> None:
    """Code and URL shown, polls every `interval`, PAT minted, three `auths` entries in docker's form."""
    _seed(docker_config)
    hub_fake.script = ["authorization_pending", "authorization_pending"]
    tty = _login(hub_fake)
    try:
        tty.expect("Your one-time device confirmation code is: WDJB-MJHT")
        tty.expect("submit your device code here: https://login.docker.com/activate\r\n")
        tty.send(b"\n")  # ENTER: no desktop here, so it says where to go instead
        tty.expect("No browser can be opened here")
        assert tty.wait() == 0, tty.output
    finally:
        tty.close()
    assert "Login Succeeded" in tty.output
    _assert_no_secret(hub_fake, tty.output, tty.output.replace("\r\n", ""))
    device = next(r for r in hub_fake.requests if r["path"] == "/oauth/device/code")
    assert device["form"] == {"client_id": CLIENT_ID, "audience": AUDIENCE, "scope": "openid offline_access"}
    polls = hub_fake.polls()
    assert len(polls) == 3
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(polls)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # interval=1
    assert [r["path"] for r in hub_fake.requests][-1] == "/v2/access-tokens/desktop-generate"
    auths = json.loads(docker_config.read_text())["auths"]
    assert set(auths) == {"other.example", HUB, ACCESS, REFRESH}
    assert all(set(auths[k]) == {"auth"} for k in (HUB, ACCESS, REFRESH))  # docker's file form
    [pat] = hub_fake.issued_pats
    [access] = hub_fake.issued_access
    [refresh] = hub_fake.issued_refresh
    assert _unb64(auths[HUB]["auth"]) == f"hubuser:{pat}"
    assert _unb64(auths[ACCESS]["auth"]) == f"hubuser:{access}"
    assert _unb64(auths[REFRESH]["auth"]) == f"hubuser:{refresh}..{CLIENT_ID}"


def test_slow_down_adds_five_seconds(hub_fake: HubFake, docker_config: Path) -> None:
    """RFC 8628 §3.5: after slow_down the interval grows by 5 s (docker would stop with an error)."""
    _seed(docker_config)
    hub_fake.script = ["slow_down"]
    tty = _login(hub_fake, "-v")
    try:
        assert tty.wait() == 0, tty.output
    finally:
        tty.close()
    first, second = hub_fake.polls()
    assert second["time"] - first["time"] >= 5.9
    assert "regcred: " in tty.output  # -v explained the steps, without a secret
    _assert_no_secret(hub_fake, tty.output)


def test_a_tenant_echoing_the_device_code_is_scrubbed(hub_fake: HubFake, docker_config: Path) -> None:
    """A hostile tenant's error_description carrying the device code: shown without it (item 3)."""
    before = _seed(docker_config)
    hub_fake.script = ["server_error"]
    hub_fake.error_description = "bad device code {device_code}\x1b[2J"
    tty = _login(hub_fake, "-v")
    try:
        assert tty.wait() == 1
    finally:
        tty.close()
    assert "bad device code" in tty.output
    assert "\x1b[2J" not in tty.output
    _assert_no_secret(hub_fake, tty.output)
    assert docker_config.read_bytes() == before


@pytest.mark.parametrize(
    ("answer", "message"),
    [("access_denied", "denied in the browser"), ("expired_token", "device code expired")],
)
def test_refusals_store_nothing(hub_fake: HubFake, docker_config: Path, answer: str, message: str) -> None:
    """access_denied and expired_token stop the poll: one line, exit 1, config.json untouched."""
    before = _seed(docker_config)
    hub_fake.script = ["authorization_pending", answer]
    tty = _login(hub_fake)
    try:
        assert tty.wait() == 1
    finally:
        tty.close()
    assert message in tty.output
    assert "Traceback" not in tty.output
    assert docker_config.read_bytes() == before
    assert len(hub_fake.polls()) == 2


def test_gives_up_when_the_code_expires(hub_fake: HubFake, docker_config: Path) -> None:
    """A user who never signs in: the poll stops at `expires_in`, nothing stored."""
    before = _seed(docker_config)
    hub_fake.expires_in, hub_fake.then = 2, "authorization_pending"
    started = time.monotonic()
    tty = _login(hub_fake)
    try:
        assert tty.wait() == 1
    finally:
        tty.close()
    assert time.monotonic() - started < 10
    assert "device code expired" in tty.output
    assert docker_config.read_bytes() == before


def test_ctrl_c_stops_cleanly(hub_fake: HubFake, docker_config: Path) -> None:
    """^C on the terminal while waiting: exit 130, one line, no traceback, nothing stored."""
    before = _seed(docker_config)
    hub_fake.then = "authorization_pending"
    tty = _login(hub_fake)
    try:
        tty.expect("Waiting for authentication")
        tty.send(b"\x03")
        assert tty.wait() == 130
    finally:
        tty.close()
    assert "login canceled: nothing was stored" in tty.output
    assert "Traceback" not in tty.output
    assert docker_config.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "env", "prompt"),
    [
        ((), {"DOCKER_CLI_DISABLE_OAUTH_LOGIN": "true"}, "Username: "),
        (("--no-web",), {}, "Username: "),
        (("-u", "ann"), {}, "Password: "),
        (("other.example",), {}, "Username (ann): "),
    ],
)
def test_password_flow_where_docker_keeps_it(
    hub_fake: HubFake, docker_config: Path, args: tuple[str, ...], env: dict[str, str], prompt: str
) -> None:
    """The escape hatch, --no-web, -u and another registry: the prompt, and no request to the tenant."""
    _seed(docker_config)
    tty = _login(hub_fake, *args, **env)
    try:
        tty.expect(prompt)
        tty.send(b"\x03")
        tty.wait()
    finally:
        tty.close()
    assert hub_fake.requests == []


def test_no_terminal_keeps_the_password_flow(hub_fake: HubFake, docker_config: Path) -> None:
    """Without a terminal (CI), no web sign-in starts: docker's non-TTY error."""
    _seed(docker_config)
    done = subprocess.run(
        [REGCRED, "login"],
        env=_env(hub_fake),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "non-TTY" in done.stderr
    assert hub_fake.requests == []


def test_tenant_down_falls_back_unless_web_is_forced(hub_fake: HubFake, docker_config: Path) -> None:
    """docker falls back to the prompt when the device flow cannot start; --web makes it an error."""
    before = _seed(docker_config)
    hub_fake.fail_device_code = True
    tty = _login(hub_fake)
    try:
        tty.expect("falling back to command line login")
        tty.expect("Username: ")
        tty.send(b"\x03")
        tty.wait()
    finally:
        tty.close()
    forced = _login(hub_fake, "--web")
    try:
        assert forced.wait() == 1
    finally:
        forced.close()
    assert "failed to start the web sign-in" in forced.output
    assert docker_config.read_bytes() == before


def test_pat_failure_stores_nothing(hub_fake: HubFake, docker_config: Path) -> None:
    """desktop-generate failing after the sign-in: exit 1, nothing stored (docker keeps the tokens)."""
    before = _seed(docker_config)
    hub_fake.fail_pat = True
    tty = _login(hub_fake)
    try:
        assert tty.wait() == 1
    finally:
        tty.close()
    assert "unexpected response from Hub: 500" in tty.output
    assert docker_config.read_bytes() == before
    _assert_no_secret(hub_fake, tty.output)


def _signed_in(hub: HubFake, docker_config: Path) -> None:
    _seed(docker_config)
    tty = _login(hub)
    try:
        assert tty.wait() == 0, tty.output
    finally:
        tty.close()


def test_logout_erases_and_revokes(hub_fake: HubFake, docker_config: Path) -> None:
    """regcred logout: all three entries gone, the raw refresh token revoked at the tenant."""
    _signed_in(hub_fake, docker_config)
    done = subprocess.run(
        [REGCRED, "logout"], env=_env(hub_fake), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(docker_config.read_text())["auths"]) == {"other.example"}
    assert hub_fake.revoked == hub_fake.issued_refresh
    revoke = next(r for r in hub_fake.requests if r["path"] == "/oauth/revoke")
    assert revoke["form"]["client_id"] == CLIENT_ID
    _assert_no_secret(hub_fake, done.stdout, done.stderr)


def test_logout_offline_says_the_token_was_not_revoked(hub_fake: HubFake, docker_config: Path) -> None:
    """The tenant unreachable: the entries are erased anyway, exit 0, and a WARNING says so."""
    _signed_in(hub_fake, docker_config)
    env = _env(hub_fake, REGCRED_HUB_TENANT="http://127.0.0.1:9")
    done = subprocess.run([REGCRED, "logout"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(docker_config.read_text())["auths"]) == {"other.example"}
    assert "not revoked" in done.stderr
    assert hub_fake.revoked == []
    _assert_no_secret(hub_fake, done.stdout, done.stderr)


@pytest.mark.parametrize("offline", [False, True])
def test_logout_json_says_whether_the_refresh_token_was_revoked(
    hub_fake: HubFake, docker_config: Path, offline: bool
) -> None:
    """``logout --json`` carries ``revoked`` and ``revoke_error`` (what the WARNING says), never a token."""
    _signed_in(hub_fake, docker_config)
    env = _env(hub_fake, REGCRED_HUB_TENANT="http://127.0.0.1:9") if offline else _env(hub_fake)
    done = subprocess.run([REGCRED, "logout", "--json"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["revoked"] is (not offline)
    assert (out["revoke_error"] != "") is offline
    assert (hub_fake.revoked == hub_fake.issued_refresh) is (not offline)
    assert HUB in out["keys"]
    _assert_no_secret(hub_fake, done.stdout, done.stderr)


@pytest.mark.parametrize("stored", ["no-suffix-refresh", "a..b..c"])
def test_logout_revokes_only_what_the_cli_stored(hub_fake: HubFake, docker_config: Path, stored: str) -> None:
    """docker's rule: a refresh token that does not split at `..` in two is erased, never revoked."""
    write_config(docker_config, {HUB: ("u", "dckr_pat_x"), REFRESH: ("u", stored)})
    done = subprocess.run(
        [REGCRED, "logout"], env=_env(hub_fake), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(docker_config.read_text())["auths"] == {}
    assert hub_fake.requests == []


def test_docker_logout_erases_what_regcred_stored(hub_fake: HubFake, docker_config: Path) -> None:
    """The real docker 28 reads regcred's entries as its own: login reuses them, logout erases all three.

    docker erases the token entries only after its manager found a refresh token in its own
    `<token>..<client ID>` form, so their absence afterwards referees that form.  docker's revoke
    goes to the real login.docker.com, which is unreachable here: it warns, as regcred does.
    """
    docker = shutil.which("docker")
    if docker is None:
        missing("docker", "install the docker CLI 28 (scripts/setup does)")
    _signed_in(hub_fake, docker_config)
    env = _env(hub_fake, DOCKER_CONFIG=str(docker_config.parent))
    reuse = subprocess.run(
        [docker, "login"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert "Authenticating with existing credentials... [Username: hubuser]" in reuse.stderr  # docker read it
    done = subprocess.run(
        [docker, "logout"], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(docker_config.read_text())["auths"]) == {"other.example"}


def test_with_a_helper_the_tokens_go_to_the_hubs_store(
    hub_fake: HubFake, docker_config: Path, pass_env: PassEnv
) -> None:
    """credsStore: all three secrets in the helper (real pass), `{}` markers in config.json, as docker.

    docker then reads them through the same helper: its logout finds the refresh token there, in
    its own form, and erases all three from pass.
    """
    helper = installed_helper("pass")
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"credsStore": "regcred-pass"}))
    path = f"{VENV_BIN}:/usr/bin:/bin"
    tty = Tty([REGCRED, "login"], _env(hub_fake, PATH=path))
    try:
        assert tty.wait() == 0, tty.output
    finally:
        tty.close()
    config = json.loads(docker_config.read_text())
    assert config["auths"] == {HUB: {}, ACCESS: {}, REFRESH: {}}
    [refresh] = hub_fake.issued_refresh
    env = _env(hub_fake, PATH=path)
    got = subprocess.run(
        [helper, "get"], input=REFRESH, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert json.loads(got.stdout) == {
        "ServerURL": REFRESH,
        "Username": "hubuser",
        "Secret": f"{refresh}..{CLIENT_ID}",
    }
    docker = shutil.which("docker")
    if docker is None:
        missing("docker", "install the docker CLI 28 (scripts/setup does)")
    env["DOCKER_CONFIG"] = str(docker_config.parent)
    done = subprocess.run(
        [docker, "logout"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [helper, "list"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert json.loads(listed.stdout) == {}


def test_regcred_logout_with_a_helper(hub_fake: HubFake, docker_config: Path, pass_env: PassEnv) -> None:
    """regcred logout reads the refresh token from the Hub's helper, erases all three there, revokes."""
    helper = installed_helper("pass")
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"credsStore": "regcred-pass"}))
    env = _env(hub_fake, PATH=f"{VENV_BIN}:/usr/bin:/bin")
    tty = Tty([REGCRED, "login"], env)
    try:
        assert tty.wait() == 0, tty.output
    finally:
        tty.close()
    done = subprocess.run(
        [REGCRED, "logout"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert hub_fake.revoked == hub_fake.issued_refresh
    listed = subprocess.run(
        [helper, "list"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert json.loads(listed.stdout) == {}
    assert json.loads(docker_config.read_text()).get("auths", {}) == {}


def test_enter_opens_the_browser_on_a_desktop(hub_fake: HubFake, docker_config: Path, tmp_path: Path) -> None:
    """With $DISPLAY, ENTER hands the complete verification URL to xdg-open.

    xdg-open here is a FAKE (a shell script recording its argument): no desktop exists on CI.
    """
    _seed(docker_config)
    bin_dir, opened = tmp_path / "fake-desktop", tmp_path / "opened"
    bin_dir.mkdir()
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    opener.chmod(0o755)
    hub_fake.script = ["authorization_pending"] * 3
    tty = _login(hub_fake, DISPLAY=":99", PATH=f"{bin_dir}:/usr/bin:/bin")
    try:
        tty.expect("Waiting for authentication")
        tty.send(b"\n")
        assert tty.wait() == 0, tty.output
    finally:
        tty.close()
    deadline = time.monotonic() + 10
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert opened.read_text() == "https://login.docker.com/activate?user_code=WDJB-MJHT"
    assert "No browser can be opened" not in tty.output


def test_logout_revokes_what_docker_stored(hub_fake: HubFake, docker_config: Path) -> None:
    """Entries exactly as docker 28.2.2 writes them (file store): regcred's logout revokes the raw token."""
    auths = {
        HUB: ("u", "dckr_pat_from_docker"),
        ACCESS: ("u", "eyJhbGciOiJSUzI1NiJ9.e30.sig"),
        REFRESH: ("u", f"v1.raw-refresh-from-docker..{CLIENT_ID}"),
    }
    write_config(docker_config, auths)
    done = subprocess.run(
        [REGCRED, "logout", "--all"],
        env=_env(hub_fake),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert hub_fake.revoked == ["v1.raw-refresh-from-docker"]
    assert json.loads(docker_config.read_text())["auths"] == {}
    assert "raw-refresh" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--web", "ghcr.io"), {}),
        (("--web", "-u", "ann"), {}),
    ],
)
def test_web_where_it_cannot_be_is_usage(
    hub_fake: HubFake, docker_config: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    """--web signs in to the Hub only, and takes no username: exit 2, one line."""
    _seed(docker_config)
    done = subprocess.run(
        [REGCRED, "login", *args], env=_env(hub_fake, **env), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert hub_fake.requests == []


@pytest.mark.parametrize("tenant", ["http://login.example.com", "ftp://127.0.0.1", "https://h/?q=1"])
def test_a_tenant_that_is_not_https_is_refused(hub_fake: HubFake, docker_config: Path, tenant: str) -> None:
    """Tokens go only over https (or http on loopback, the tests' fake): anything else is one line, exit 1."""
    before = _seed(docker_config)
    tty = _login(hub_fake, REGCRED_HUB_TENANT=tenant)
    try:
        assert tty.wait() == 1
    finally:
        tty.close()
    assert "REGCRED_HUB_TENANT must be an https:// URL" in tty.output
    assert "Traceback" not in tty.output
    assert docker_config.read_bytes() == before


def test_hub_helper_only_keeps_the_tokens_and_logout_erases_them(
    hub_fake: HubFake, docker_config: Path, pass_env: PassEnv
) -> None:
    """credHelpers for the Hub key alone: the tokens go to that helper, as docker; logout finds them."""
    helper = installed_helper("pass")
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"credHelpers": {HUB: "regcred-pass"}}))
    env = _env(hub_fake, PATH=f"{VENV_BIN}:/usr/bin:/bin")
    tty = Tty([REGCRED, "login"], env)
    try:
        assert tty.wait() == 0, tty.output
    finally:
        tty.close()
    listed = subprocess.run(
        [helper, "list"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert set(json.loads(listed.stdout)) == {HUB, ACCESS, REFRESH}
    done = subprocess.run(
        [REGCRED, "logout"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert hub_fake.revoked == hub_fake.issued_refresh
    listed = subprocess.run(
        [helper, "list"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert json.loads(listed.stdout) == {}


def test_login_timeout_bounds_the_web_sign_in_too(hub_fake: HubFake, docker_config: Path) -> None:
    """``login --web --timeout 1``: a tenant that accepts and never answers (a named fake) is given up on."""
    import socket

    before = _seed(docker_config)
    with socket.socket() as silent:  # the fake hostile tenant: the TLS handshake is never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        tenant = f"https://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        forced = _login(
            hub_fake, "--web", "--timeout", "1", REGCRED_HUB_TENANT=tenant, REGCRED_HTTP_TIMEOUT="60"
        )
        try:
            assert forced.wait() == 1
        finally:
            forced.close()
        took = time.monotonic() - start
    assert took < 20, took
    assert "failed to start the web sign-in" in forced.output
    assert "timeout awaiting response" in forced.output
    assert docker_config.read_bytes() == before
