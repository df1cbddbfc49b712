"""The one lock and the one atomic replace (regcred._files), as root and as a user.

Real processes, real users (``setpriv`` to ``nobody``), real FIFOs and
devices, and private mount namespaces wherever a regression could damage
the machine's own ``/dev``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _config
from regcred.cli import main
from regcred.errors import ConfigError
from tests.conftest import missing, require_program
from tests.fixtures.processes import REGCRED, run

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = "files-secret-\u00fc&<x>"
KINDS = {"config.json": "a FIFO", "elsewhere.fifo": "a FIFO", "null": "a character device"}


def _need_root() -> None:
    if os.geteuid() != 0:
        missing("root", "this test changes users and ownership")


def _seed(path: Path, *keys: str) -> None:
    def fill(c: _config.Config) -> None:
        for key in keys:
            c.set_auth(key, "alice", SECRET)

    _config.update(path, fill)


def _run(*argv: str, env: dict[str, str] | None = None, user: str = "") -> subprocess.CompletedProcess[str]:
    """Run the installed regcred (as ``user`` if given); no secret may reach its stderr."""
    prefix = [require_program("setpriv", "util-linux"), f"--reuid={user}", "--regid=nogroup",
              "--clear-groups"] if user else []  # fmt: skip
    done = run([*prefix, REGCRED, *argv], env=env, timeout=60)
    assert SECRET not in done.stderr
    assert "Traceback" not in done.stderr
    return done


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A config directory owned by ``nobody`` that ``nobody`` can reach (tmp_path's parents are 0700)."""
    _need_root()
    directory = Path(tempfile.mkdtemp(prefix="regcred-nobody-", dir="/tmp"))
    try:
        os.chmod(directory, 0o755)  # noqa: S103 - nobody must reach the config directory
        config_dir = directory / "docker"
        config_dir.mkdir(mode=0o700)
        os.chown(config_dir, 65534, 65534)
        yield config_dir
    finally:
        shutil.rmtree(directory)


def test_root_then_user_can_still_log_out(nobody_dir: Path) -> None:
    """After root wrote a user's config.json (sudo -E), the user's own logout still works.

    Root's lock file is given to the directory's owner, and a root-owned
    0600 lock left by an older regcred does not lock the user out either.
    """
    config = nobody_dir / "config.json"
    config.write_text("{}")
    os.chown(config, 65534, 65534)
    _seed(config, "root.example", "old.example", "third.example")  # as root: creates the lock
    lock = nobody_dir / "config.json.lock"
    assert (lock.stat().st_uid, config.stat().st_uid) == (65534, 65534)
    env = {"PATH": os.environ["PATH"], "HOME": str(nobody_dir), "DOCKER_CONFIG": str(nobody_dir)}
    done = _run("logout", "root.example", env=env, user="nobody")
    assert done.returncode == 0, done.stderr

    lock.unlink()  # what an older regcred left: root's, 0600
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    done = _run("logout", "old.example", env=env, user="nobody")
    assert done.returncode == 0, done.stderr
    assert list(json.loads(config.read_text())["auths"]) == ["third.example"]
    assert config.stat().st_uid == 65534
    assert lock.stat().st_uid == 0  # never chowned: it was not ours to give away


def test_a_symlink_planted_as_the_lock_is_never_followed(docker_config: Path, tmp_path: Path) -> None:
    """config.json.lock -> elsewhere: the target is neither created nor touched, and the write succeeds.

    The write goes ahead under the lock on the directory itself, which every
    writer takes (see regcred._files).
    """
    docker_config.parent.mkdir()
    victim = tmp_path / "victim"
    existing = tmp_path / "existing"
    existing.write_text("keep me\n")
    existing.chmod(0o644)
    lock = docker_config.parent / "config.json.lock"
    for target in (victim, existing):
        lock.unlink(missing_ok=True)
        lock.symlink_to(target)
        _seed(docker_config, f"{target.name}.example")
        assert lock.is_symlink()
        assert os.readlink(lock) == str(target)
    assert not victim.exists()
    assert not victim.is_symlink()
    assert existing.read_text() == "keep me\n"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644
    assert existing.stat().st_uid == os.geteuid()
    assert sorted(json.loads(docker_config.read_text())["auths"]) == ["existing.example", "victim.example"]


def test_writers_contend_on_the_directory(docker_config: Path) -> None:
    """A writer that cannot use the sidecar still waits for one holding the directory lock."""
    import fcntl

    _seed(docker_config, "first.example")
    lock = docker_config.parent / "config.json.lock"
    lock.unlink()
    lock.symlink_to("/nonexistent/elsewhere")  # this writer cannot use the sidecar
    fd = os.open(docker_config.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        worker = threading.Thread(target=_seed, args=(docker_config, "second.example"))
        worker.start()
        worker.join(1.5)
        assert worker.is_alive()
        assert list(json.loads(docker_config.read_text())["auths"]) == ["first.example"]
    finally:
        os.close(fd)
    worker.join(30)
    assert list(json.loads(docker_config.read_text())["auths"]) == ["first.example", "second.example"]


# -- export -o into FIFOs, pipes and /dev/stdout --------------------------------------


def _expected_export(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["export"]) == 0
    out, _ = capsys.readouterr()
    data = json.loads(base64.b64decode(out.split(".dockerconfigjson: ")[1].split()[0]))
    assert data["auths"]["reg.example"]["password"] == SECRET
    return out


def test_export_to_a_fifo_writes_into_it(
    docker_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o FIFO: a reader gets exactly the document, and the FIFO is still a FIFO."""
    _seed(docker_config, "reg.example")
    expected = _expected_export(capsys)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo, 0o644)
    spare = tmp_path / "pipe-link"
    os.link(fifo, spare)  # to release the reader if the FIFO were renamed over
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        code = main(["export", "-o", str(fifo)])
        _, err = capsys.readouterr()
    finally:
        reader.join(30)
        if reader.is_alive():
            os.close(os.open(spare, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(30)
    assert code == 0, err
    assert SECRET not in err
    assert got == [expected.encode()]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert stat.S_IMODE(os.lstat(fifo).st_mode) == 0o644  # never chmodded
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_to_a_dev_fd_pipe(docker_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-o /dev/fd/N (the shell's >(…)): the bytes arrive on the pipe."""
    _seed(docker_config, "reg.example")
    expected = _expected_export(capsys)
    read_end, write_end = os.pipe()
    try:
        code = main(["export", "-o", f"/dev/fd/{write_end}"])
        _, err = capsys.readouterr()
        os.close(write_end)
        write_end = -1
        with open(read_end, "rb", closefd=False) as f:
            got = f.read()
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    assert code == 0, err
    assert got == expected.encode()


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1", "link-to-stdout"])
def test_export_to_stdout_opened_for_append_appends(
    docker_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """stdout a regular file opened for appending (``>>``): -o /dev/stdout appends to it (#17.16).

    The descriptor regcred was given is written; the file is neither
    truncated nor replaced nor chmodded.  The real regcred, run with the real
    stdout redirection a shell makes.
    """
    _seed(docker_config, "reg.example")
    expected = _expected_export(capsys)
    out = tmp_path / "out.log"
    out.write_text("earlier line\n")
    out.chmod(0o644)
    before = os.stat(out)
    if name == "link-to-stdout":
        (tmp_path / name).symlink_to("/dev/stdout")
        name = str(tmp_path / name)
    with open(out, "ab") as sink:
        done = subprocess.run(
            [REGCRED, "export", "-o", name],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert out.read_text() == "earlier line\n" + expected
    after = os.stat(out)
    assert (after.st_ino, stat.S_IMODE(after.st_mode)) == (before.st_ino, 0o644)
    assert SECRET not in done.stderr


# /dev/stdout as root: run in a private mount namespace with a private /dev, so
# that a regression replaces only that copy, never the machine's /dev/stdout.
_PRIVATE_DEV = """
set -e
mkdir -p "$1/dev"
mount --bind /dev "$1/dev"
mount -t tmpfs -o mode=0755 regcred-test-dev /dev
for node in null zero urandom random; do touch "/dev/$node"; mount --bind "$1/dev/$node" "/dev/$node"; done
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
set +e
"$2" export -o /dev/stdout
code=$?
if [ -L /dev/stdout ]; then echo "dev-stdout: $(readlink /dev/stdout)" >&2; fi
exit $code
"""


def test_export_to_dev_stdout_as_root(
    docker_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As root, -o /dev/stdout writes to the pipe that is stdout; /dev/stdout stays a symlink."""
    _need_root()
    unshare = require_program("unshare", "util-linux")
    _seed(docker_config, "reg.example")
    expected = _expected_export(capsys)
    done = subprocess.run(
        [unshare, "-m", "--propagation", "private", "sh", "-c", _PRIVATE_DEV, "sh", str(tmp_path), REGCRED],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
    assert "dev-stdout: /proc/self/fd/1" in done.stderr.splitlines()
    assert SECRET not in done.stderr


# -- config.json that is not a regular file ---------------------------------------------


@pytest.fixture(params=["fifo", "symlink-to-fifo", "symlink-to-char-device"])
def odd_config(request: pytest.FixtureRequest, docker_config: Path, tmp_path: Path) -> Iterator[Path]:
    """config.json as a FIFO, a symlink to one, or a symlink to a character device.

    The device is a private node with /dev/null's numbers (made as root), so
    a regression can only replace that node, never the machine's /dev/null.
    """
    docker_config.parent.mkdir()
    kind = str(request.param)
    if kind == "fifo":
        os.mkfifo(docker_config, 0o600)
        yield docker_config
        return
    if kind == "symlink-to-fifo":
        target = tmp_path / "elsewhere.fifo"
        os.mkfifo(target, 0o600)
    else:
        _need_root()
        target = tmp_path / "null"
        try:
            os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            missing("a private character device", "mknod in the test's tmp directory was refused")
    docker_config.symlink_to(target)
    yield target


@pytest.mark.parametrize(
    "argv",
    [
        ["get", "reg.example"],
        ["list"],
        ["logout", "reg.example"],
        ["logout", "--all"],
        ["doctor"],
        ["migrate", "--to", "file"],
    ],
)
def test_a_config_that_is_not_a_regular_file_is_refused(
    odd_config: Path, docker_config: Path, argv: list[str]
) -> None:
    """Every command fails at once (no hang) with one line, and never replaces the FIFO or device."""
    before = os.lstat(odd_config)
    done = _run(*argv, env=dict(os.environ))
    assert done.returncode == 1, done.stderr
    kind = KINDS[odd_config.name]
    message = f"{docker_config}: is {kind}, not a regular file; regcred neither reads nor writes it"
    if argv == ["doctor"]:  # a report on stdout, with the problem as one of its findings
        assert done.stderr == ""
        assert [line for line in done.stdout.splitlines() if "regular file" in line] == [
            f"  broken: {message}"
        ]
    else:
        assert done.stderr.strip().splitlines() == [f"regcred: {message}"]
    after = os.lstat(odd_config)
    assert (stat.S_IFMT(after.st_mode), after.st_ino, after.st_rdev) == (
        stat.S_IFMT(before.st_mode), before.st_ino, before.st_rdev
    )  # fmt: skip
    if odd_config != docker_config:
        assert docker_config.is_symlink()
    leftovers = [
        p.name for p in odd_config.parent.iterdir() if p.name.startswith(".") or p.name.endswith(".lock")
    ]
    assert leftovers == []  # no lock file or temp file made beside it


def test_update_never_writes_a_fifo(docker_config: Path) -> None:
    """_config.update refuses a FIFO before taking any lock or writing anything."""
    docker_config.parent.mkdir()
    os.mkfifo(docker_config)
    with pytest.raises(ConfigError, match="is a FIFO, not a regular file"):
        _config.update(docker_config, lambda c: c.set_auth("reg.example", "alice", SECRET))
    assert stat.S_ISFIFO(os.lstat(docker_config).st_mode)
    assert sorted(p.name for p in docker_config.parent.iterdir()) == ["config.json"]


def test_files_module_is_import_light() -> None:
    """regcred._files loads nothing beyond os, errno, stat and time: the helpers' stores use it."""
    from tests.test_import_budget import imported_modules

    baseline = imported_modules("import regcred.errors, regcred._settings")
    added = imported_modules("import regcred._files") - baseline
    assert added - {"errno", "stat", "time"} == {"regcred._files"}
    assert imported_modules("import regcred._files") & {"pathlib", "fcntl", "socket", "typing"} == set()


def test_make_private_dir_is_the_one_way(tmp_path: Path) -> None:
    """New: 0700 under umask 000, True; existing: left alone, False; dir_fd: one name in that directory."""
    from regcred._files import make_private_dir

    existing = tmp_path / "open"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    old = os.umask(0)
    try:
        assert make_private_dir(tmp_path / "x" / "y") is True
        assert make_private_dir(existing) is False
        fd = os.open(existing, os.O_RDONLY | os.O_DIRECTORY)
        try:
            assert make_private_dir("job", parents=False, dir_fd=fd) is True
            assert make_private_dir("job", parents=False, dir_fd=fd) is False
        finally:
            os.close(fd)
    finally:
        os.umask(old)
    modes = {
        p: stat.S_IMODE(p.stat().st_mode)
        for p in (tmp_path / "x", tmp_path / "x" / "y", existing, existing / "job")
    }
    assert modes == {
        tmp_path / "x": 0o700,
        tmp_path / "x" / "y": 0o700,
        existing: 0o755,
        existing / "job": 0o700,
    }
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"^cannot create .*file/sub: Not a directory$"):
        make_private_dir(tmp_path / "file" / "sub")
