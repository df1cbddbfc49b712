"""regcred exec: one command, a private temporary DOCKER_CONFIG, nothing left behind (S35).

The commands run are the real docker CLI and skopeo, against the real
htpasswd registry of the differential suite (``referee``: one image pushed
with umoci + skopeo copy), with the credentials in the real gnome-keyring
(our secretservice helper) or a real pass store.  Waiting for a child to be
ready polls a file it writes; no assertion depends on timing.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred._tools import exec_
from tests.conftest import VENV_BIN, installed_helper, require_program
from tests.fixtures.differential import VALID_USER, containers_env

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.fixtures.differential import Referee
    from tests.fixtures.keyring import Keyring
    from tests.fixtures.passstore import PassEnv

REGCRED = str(VENV_BIN / "regcred")
OTHER = "other.example"
OTHER_SECRET = "other-secret-must-not-leak"
SECRET = "s3cr3t-of-ann"
_WAIT = 30.0


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _config(directory: Path, document: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(document))
    return directory


def _env(runtime: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = dict(os.environ if base is None else base)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def _exec(config: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REGCRED, "--config", str(config), "exec", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _jobs(runtime: Path) -> list[str]:
    parent = runtime / "regcred-exec"
    return sorted(os.listdir(parent)) if parent.exists() else []


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail(f"the child never wrote {path}")


def _two_registries(tmp_path: Path, host: str, helper: str) -> Path:
    """host's credentials in ``helper``; OTHER's in the file, where exec must not copy them from."""
    return _config(
        tmp_path / "docker",
        {
            "auths": {host: {}, OTHER: {"auth": _b64(f"olivia:{OTHER_SECRET}")}},
            "credsStore": helper,  # answers "not found" for OTHER: read from auths
        },
    )


def _store(helper: str, server: str, user: str, secret: str, env: dict[str, str] | None = None) -> None:
    payload = json.dumps({"ServerURL": server, "Username": user, "Secret": secret})
    done = subprocess.run(
        [installed_helper(helper), "store"],
        input=payload,
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- real programs as CMD ----------------------------------------------------------


def test_docker_manifest_inspect_under_exec_with_keyring_credentials(
    referee: Referee, keyring: Keyring, tmp_path: Path
) -> None:
    """docker reads the keyring's credential from the temp config; no secret on regcred's output."""
    docker = require_program("docker", "docker-ce-cli")
    _store("secretservice", referee.host, VALID_USER, referee.password)
    config = _two_registries(tmp_path, referee.host, "regcred-secretservice")
    runtime = tmp_path / "run"
    argv = ["--registry", referee.host, "--", docker, "manifest", "inspect", "--insecure"]
    done = _exec(config, _env(runtime), *argv, f"{referee.host}/diff/img:latest")
    assert done.returncode == 0, done.stderr
    assert '"schemaVersion"' in done.stdout
    assert done.stderr == ""
    for secret in (referee.password, OTHER_SECRET, _b64(f"{VALID_USER}:{referee.password}")):
        assert secret not in done.stdout + done.stderr
    assert _jobs(runtime) == []  # wiped on exit


def test_skopeo_inspect_under_exec_with_pass_credentials(
    referee: Referee, pass_env: PassEnv, tmp_path: Path
) -> None:
    """skopeo finds the pass store's credential via REGISTRY_AUTH_FILE; another registry's cannot help."""
    skopeo = require_program("skopeo", "skopeo")
    _store("pass", referee.host, VALID_USER, referee.password, pass_env.env())
    config = _two_registries(tmp_path, referee.host, "regcred-pass")
    base = containers_env(tmp_path / "containers", tmp_path / "unused-auth.json")
    del base["REGISTRY_AUTH_FILE"]  # regcred exec sets it
    env = _env(tmp_path / "run", base)
    image = f"docker://{referee.host}/diff/img:latest"
    done = _exec(config, env, "-r", referee.host, "--", skopeo, "inspect", "--tls-verify=false", image)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Name"] == f"{referee.host}/diff/img"
    assert referee.password not in done.stdout + done.stderr
    # The control: with only the other registry's credentials, skopeo is refused.
    refused = _exec(config, env, "-r", OTHER, "--", skopeo, "inspect", "--tls-verify=false", image)
    assert refused.returncode != 0
    assert OTHER_SECRET not in refused.stdout + refused.stderr
    assert _jobs(tmp_path / "run") == []


def test_the_callers_docker_auth_config_does_not_reach_the_command(tmp_path: Path) -> None:
    """The job sees only the named registries: a DOCKER_AUTH_CONFIG of ours is withheld (#17.12).

    The referee is a credential reader that honours the variable as docker
    28.3+ does: regcred itself (the docker CLI here is 28.2, which predates
    it).  The control: outside ``regcred exec`` the same reader finds the
    variable's credential.
    """
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    env = _env(tmp_path / "run")
    env["DOCKER_AUTH_CONFIG"] = json.dumps({"auths": {OTHER: {"auth": _b64(f"olivia:{OTHER_SECRET}")}}})
    control = subprocess.run(
        [REGCRED, "--config", str(config), "get", OTHER],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert json.loads(control.stdout)["Secret"] == OTHER_SECRET  # the variable is honoured
    script = f'echo "${{DOCKER_AUTH_CONFIG-unset}}"; {REGCRED} get {OTHER}; {REGCRED} get a.example'
    done = _exec(config, env, "-r", "a.example", "--", "sh", "-c", script)
    first, *rest = done.stdout.splitlines()
    assert first == "unset"
    assert [json.loads(line)["Username"] for line in rest] == ["ann"]  # OTHER: not found
    assert OTHER_SECRET not in done.stdout + done.stderr


# -- the temporary config --------------------------------------------------------------


def test_temp_config_holds_only_the_named_registries_and_is_private(tmp_path: Path) -> None:
    """The child's config.json has exactly the named keys (identity token kept), 0600 in a 0700 dir (S35)."""
    config = _config(
        tmp_path / "docker",
        {
            "auths": {
                "a.example": {"auth": _b64(f"ann:{SECRET}")},
                "b.example": {"identitytoken": "tok-b"},
                "c.example": {"auth": _b64("cid:sc")},
                "https://index.docker.io/v1/": {"auth": _b64("hub:sh")},
            }
        },
    )
    runtime = tmp_path / "run"
    script = 'cat "$REGISTRY_AUTH_FILE"; stat -c "%a %u" "$DOCKER_CONFIG" "$DOCKER_CONFIG/config.json"'
    script += '; [ "$REGISTRY_AUTH_FILE" = "$DOCKER_CONFIG/config.json" ] && echo same'
    done = _exec(config, _env(runtime), "-r", "a.example", "-r", "b.example", "--", "sh", "-c", script)
    assert done.returncode == 0, done.stderr
    text, modes = done.stdout.split("\n}\n")
    assert json.loads(text + "}") == {
        "auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}, "b.example": {"identitytoken": "tok-b"}}
    }
    assert modes.split() == ["700", str(os.geteuid()), "600", str(os.geteuid()), "same"]
    assert done.stderr == ""
    assert _jobs(runtime) == []


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_new_parent_and_job_directories_are_0700_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """The regcred-exec parent regcred creates and the job directory in it are 0700 (issue 20)."""
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    runtime = tmp_path / "run"
    env = _env(runtime)
    old = os.umask(umask)  # the child inherits it
    try:
        done = _exec(config, env, "-r", "a.example", "--", "sh", "-c", 'stat -c %a "$DOCKER_CONFIG"')
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["700"]
    assert os.stat(runtime / "regcred-exec").st_mode & 0o777 == 0o700


def test_all_gives_every_credential(tmp_path: Path) -> None:
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    done = _exec(
        config, _env(tmp_path / "run"), "--all", "--", "sh", "-c", 'cat "$DOCKER_CONFIG/config.json"'
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}}


def test_without_xdg_runtime_dir_the_job_goes_under_the_temp_dir(tmp_path: Path) -> None:
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    env = _env(tmp_path / "run")
    del env["XDG_RUNTIME_DIR"]
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    done = _exec(config, env, "-r", "a.example", "--", "sh", "-c", 'echo "$DOCKER_CONFIG"')
    assert done.returncode == 0, done.stderr
    parent = tmp_path / "tmp" / f"regcred-exec-{os.geteuid()}"
    assert Path(done.stdout.strip()).parent == parent
    assert os.stat(parent).st_mode & 0o777 == 0o700
    assert os.listdir(parent) == []


# -- exit status -----------------------------------------------------------------------


@pytest.mark.parametrize(("script", "code"), [("exit 7", 7), ("exit 0", 0), ("kill -KILL $$", 128 + 9)])
def test_exit_status_passes_through(tmp_path: Path, script: str, code: int) -> None:
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    done = _exec(config, _env(tmp_path / "run"), "-r", "a.example", "--", "sh", "-c", script)
    assert (done.returncode, done.stdout, done.stderr) == (code, "", "")
    assert _jobs(tmp_path / "run") == []


def test_command_not_found_is_127_and_not_runnable_is_126(tmp_path: Path) -> None:
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    env = _env(tmp_path / "run")
    done = _exec(config, env, "-r", "a.example", "--", "no-such-command-xyz", "arg")
    assert (done.returncode, done.stdout) == (127, "")
    assert done.stderr == "regcred: no-such-command-xyz: command not found\n"
    plain = tmp_path / "plain"
    plain.write_text("echo hi\n")
    done = _exec(config, env, "-r", "a.example", "--", str(plain))
    assert (done.returncode, done.stderr.count("\n")) == (126, 1)
    assert _jobs(tmp_path / "run") == []


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--", "true"], 2, "name the registries the command may use"),
        (["--all", "-r", "a.example", "--", "true"], 2, "--all and --registry exclude each other"),
        (["-r", "a.example"], 2, "no command given"),
        (["-r", "missing.example", "--", "true"], 1, "no credentials stored for missing.example"),
    ],
)
def test_bad_arguments_are_one_line_and_run_nothing(
    tmp_path: Path, argv: list[str], code: int, message: str
) -> None:
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    done = _exec(config, _env(tmp_path / "run"), *argv)
    assert (done.returncode, done.stdout) == (code, "")
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
    assert SECRET not in done.stderr
    assert _jobs(tmp_path / "run") == []


# -- signals -------------------------------------------------------------------------------


def _start(
    config: Path, env: dict[str, str], script: str, *, own_group: bool = False
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [REGCRED, "--config", str(config), "exec", "-r", "a.example", "--", "sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        process_group=0 if own_group else None,
    )


def test_sigterm_is_forwarded_then_the_dir_is_wiped_and_143_returned(tmp_path: Path) -> None:
    """SIGTERM to regcred exec reaches the child, which is waited for; the dir goes; exit 143 (S35)."""
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    runtime, ready, got = tmp_path / "run", tmp_path / "ready", tmp_path / "got"
    script = (
        f"trap 'kill $!; test -f \"$DOCKER_CONFIG/config.json\" && echo TERM > {got}; exit 143' TERM; "
        f'sleep 60 & echo "$DOCKER_CONFIG" > {ready}; wait'
    )
    proc = _start(config, _env(runtime), script)
    try:
        job = Path(_wait_for(ready, proc).strip())
        assert job.is_dir()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=_WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out, err) == (143, "", "")
    assert got.read_text() == "TERM\n"  # the child got it while its config was still there
    assert not job.exists()
    assert _jobs(runtime) == []


_ENDING = [
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGTERM,
    signal.SIGQUIT,  # #17.13: these used to end regcred and leave the directory
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGALRM,
    signal.SIGRTMIN + 2,
]


@pytest.mark.parametrize(
    "signum",
    _ENDING,
    ids=[
        signal.Signals(n).name if n < signal.SIGRTMIN else f"SIGRTMIN+{n - signal.SIGRTMIN}" for n in _ENDING
    ],
)
def test_signal_kills_the_child_and_exit_is_128_plus_n(tmp_path: Path, signum: int) -> None:
    """Each signal that could end regcred reaches the child; once it has died of it the directory goes."""
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    runtime, ready = tmp_path / "run", tmp_path / "ready"
    proc = _start(config, _env(runtime), f'echo "$DOCKER_CONFIG" > {ready}; exec sleep 60')
    try:
        job = Path(_wait_for(ready, proc).strip())
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=_WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out, err) == (128 + signum, "", "")
    assert not job.exists()
    assert _jobs(runtime) == []


def _state(pid: int) -> str:
    """The process's state letter from /proc (``T``: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _WAIT
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_sigtstp_stops_the_child_and_regcred_and_sigcont_resumes_both(tmp_path: Path) -> None:
    """SIGTSTP is forwarded; regcred stops with its child, as a shell expects of a job (#17.13).

    regcred runs in a process group of its own, as a shell starts a job: the kernel
    discards SIGTSTP sent to a process of an orphaned group, which pytest's own group
    is when whatever started it has exited (a run left in the background).
    """
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    runtime, ready = tmp_path / "run", tmp_path / "ready"
    proc = _start(config, _env(runtime), f'echo "$$" > {ready}; exec sleep 60', own_group=True)
    try:
        child = int(_wait_for(ready, proc))
        proc.send_signal(signal.SIGTSTP)
        _until(lambda: _state(child) == "T" and _state(proc.pid) == "T", "child and regcred never stopped")
        proc.send_signal(signal.SIGCONT)
        _until(lambda: _state(child) != "T" and _state(proc.pid) != "T", "child and regcred never resumed")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=_WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out, err) == (128 + signal.SIGTERM, "", "")
    assert _jobs(runtime) == []


def test_sigkill_leaves_the_dir_for_the_live_command_and_a_later_run_removes_it(tmp_path: Path) -> None:
    """regcred exec killed with SIGKILL cannot clean up (S35).

    While its command still runs, another regcred exec keeps the directory
    (the command still needs its credentials, #17.14); once the command has
    ended, the next regcred exec removes it.
    """
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    runtime, ready = tmp_path / "run", tmp_path / "ready"
    env = _env(runtime)
    proc = _start(config, env, f'echo "$$ $DOCKER_CONFIG" > {ready}; exec sleep 60')
    child = 0
    try:
        child_text, job_text = _wait_for(ready, proc).split()
        child, job = int(child_text), Path(job_text)
        _until((job / "child").exists, "the command was never recorded")
        proc.kill()
        proc.wait(timeout=_WAIT)  # the orphaned child lives on (and holds the pipes)
        assert (job / "config.json").is_file()  # left behind, as nothing could run
        done = _exec(config, env, "-r", "a.example", "--", "true")
        assert done.returncode == 0, done.stderr
        assert (job / "config.json").is_file()  # its command still runs: kept
        os.kill(child, signal.SIGKILL)
        _until(lambda: not Path(f"/proc/{child}").exists() or _state(child) == "Z", "the command never died")
        done = _exec(config, env, "-r", "a.example", "--", "true")
        assert done.returncode == 0, done.stderr
        assert not job.exists()
        assert _jobs(runtime) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        if child:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.communicate(timeout=_WAIT)


# -- the sweep and the parent directory ----------------------------------------------------


def _dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_sweep_removes_dead_and_reused_pids_and_never_follows_links(tmp_path: Path) -> None:
    """Dead pid or reused pid (start time differs): removed; a symlink is unlinked, not followed (S35)."""
    parent = tmp_path / "regcred-exec"
    parent.mkdir(mode=0o700)
    me, dead = os.getpid(), _dead_pid()
    started = exec_._start_time(me)
    assert started != "0"  # Linux: /proc/<pid>/stat
    names = {
        "live": f"{me}-{started}-{'a' * 16}",
        "reused": f"{me}-{int(started) + 1}-{'b' * 16}",
        "dead": f"{dead}-1-{'c' * 16}",
        "link": f"{dead}-2-{'d' * 16}",
        "other": "notes",
    }
    for key, name in names.items():
        if key != "link":
            (parent / name).mkdir()
            (parent / name / "config.json").write_text("{}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    (parent / names["link"]).symlink_to(outside)
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        removed = exec_.sweep(fd, print)
    finally:
        os.close(fd)
    assert sorted(removed) == sorted([names["reused"], names["dead"], names["link"]])
    assert sorted(os.listdir(parent)) == sorted([names["live"], "notes"])
    assert (outside / "keep").read_text() == "keep"


def test_sweep_keeps_a_job_whose_command_is_alive(tmp_path: Path) -> None:
    """regcred's pid dead: the directory stays while its recorded command (pid, start time) lives (#17.14)."""
    parent = tmp_path / "regcred-exec"
    parent.mkdir(mode=0o700)
    me, dead = os.getpid(), _dead_pid()
    started = exec_._start_time(me)
    records = {
        "alive": f"{me} {started}\n",  # kept
        "reused": f"{me} {int(started) + 1}\n",  # another process has the pid now: removed
        "gone": f"{dead} 1\n",
        "garbage": "not a pid\n",
        "link": None,  # the record a symlink: not trusted
    }
    names = {}
    for index, (key, record) in enumerate(records.items()):
        name = names[key] = f"{dead}-1-{index:016x}"
        (parent / name).mkdir()
        (parent / name / "config.json").write_text("{}")
        if record is None:
            (tmp_path / "elsewhere").write_text(f"{me} {started}\n")
            (parent / name / "child").symlink_to(tmp_path / "elsewhere")
        else:
            (parent / name / "child").write_text(record)
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        removed = exec_.sweep(fd, print)
    finally:
        os.close(fd)
    assert sorted(removed) == sorted(name for key, name in names.items() if key != "alive")
    assert os.listdir(parent) == [names["alive"]]


@pytest.mark.parametrize("problem", ["symlink", "loose", "file", "closed"])
def test_an_unsafe_parent_is_refused_in_one_line(tmp_path: Path, problem: str) -> None:
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    runtime = tmp_path / "run"
    env = _env(runtime)
    parent = runtime / "regcred-exec"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    if problem == "symlink":
        parent.symlink_to(elsewhere)
    elif problem == "loose":
        parent.mkdir()
        parent.chmod(0o755)
    elif problem == "closed":
        parent.mkdir(mode=0o500)
    else:
        parent.write_text("")
    done = _exec(config, env, "-r", "a.example", "--", "sh", "-c", "echo ran")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"regcred: cannot use {parent}: ")
    assert done.stderr.count("\n") == 1
    assert os.listdir(elsewhere) == []


def test_ctrl_c_on_the_terminal_reaches_the_child_once(tmp_path: Path) -> None:
    """Ctrl-C on a real terminal: the child gets it, and regcred waits on while the child lives.

    regcred runs as the session leader of a real pseudo-terminal, so ^C is
    SIGINT from the kernel to the whole foreground group.  The child's trap
    keeps it running; regcred must neither die nor wipe the directory then.
    The SIGTERM sent to regcred afterwards is forwarded and ends the child.
    (That regcred does not send the terminal's SIGINT a second time cannot be
    observed: two SIGINTs pending at once are one.)
    """
    config = _config(tmp_path / "docker", {"auths": {"a.example": {"auth": _b64(f"ann:{SECRET}")}}})
    ready, seen = tmp_path / "ready", tmp_path / "seen"
    script = (
        f"trap 'test -f \"$DOCKER_CONFIG/config.json\" && echo INT >> {seen}' INT; "
        f"trap 'echo TERM >> {seen}; exit 3' TERM; "
        f"echo ready > {ready}; while :; do sleep 0.05; done"
    )
    env = _env(tmp_path / "run")
    argv = [REGCRED, "--config", str(config), "exec", "-r", "a.example", "--", "sh", "-c", script]
    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - the forked child: regcred on the pty
        try:
            os.execve(REGCRED, argv, env)  # noqa: S606 - the program itself, no shell
        finally:
            os._exit(127)
    try:
        deadline = time.monotonic() + _WAIT
        while not ready.exists():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        os.write(master, b"\x03")  # ^C: the terminal sends SIGINT to the foreground group
        while not (seen.exists() and seen.read_text() == "INT\n"):
            assert time.monotonic() < deadline, "the child never saw SIGINT"
            time.sleep(0.05)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(master)
    assert os.waitstatus_to_exitcode(status) == 3
    assert seen.read_text() == "INT\nTERM\n"
    assert _jobs(tmp_path / "run") == []
