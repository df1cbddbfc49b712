"""The one child-process runner and PATH lookup (regcred._process), with real programs.

The children are real programs (``/bin/sh``, ``cat``, ``sleep``) and small
scripts written by the test; nothing is mocked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regcred import _process
from tests.conftest import require_program

if TYPE_CHECKING:
    from collections.abc import Iterator


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def _gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (gone, or a zombie its new parent has yet to reap)."""
    deadline = time.monotonic() + 30  # a bound on a busy machine, not a measurement
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in {"Z", "X"}:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("path", ["", ":", "::/nowhere", ".:bin", "bin::", "/nowhere:"])
def test_which_never_searches_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Empty, "." and relative PATH entries are skipped: a program in the cwd is never found (S26)."""
    _script(tmp_path / "planted", "exit 0")
    (tmp_path / "bin").mkdir()
    _script(tmp_path / "bin" / "planted", "exit 0")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", path)
    assert _process.which("planted") is None
    with pytest.raises(_process.ProgramNotFoundError, match="not found on PATH"):
        _process.run(["planted"], timeout=30)


def test_which_finds_absolute_entries_in_order(tmp_path: Path) -> None:
    """The first absolute entry holding an executable file wins; directories and non-executables do not."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "tool").write_text("not executable")
    (first / "dir").mkdir()
    _script(second / "tool", "exit 0")
    _script(second / "dir", "exit 0")
    search = f":{first}:.:{second}"
    assert _process.which("tool", search) == str(second / "tool")
    assert _process.which("dir", search) == str(second / "dir")
    assert _process.which("", search) is None


def test_explicit_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name with a slash is the caller's choice: made absolute, run only if executable."""
    _script(tmp_path / "tool", "exit 0")
    (tmp_path / "plain").write_text("")
    monkeypatch.chdir(tmp_path)
    assert _process.which("./tool") == str(tmp_path / "tool")
    assert _process.which("./plain") is None
    assert _process.which("./missing") is None


def test_stdin_stdout_stderr_and_exit_code(tmp_path: Path) -> None:
    """Bytes go in on stdin and come back exactly, far beyond a pipe buffer; the exit code is kept."""
    data = bytes(range(256)) * 8192  # 2 MiB, every byte value
    tool = _script(tmp_path / "echo", 'cat; printf "to stderr" >&2; exit 7')
    result = _process.run([str(tool)], stdin=data, timeout=60)
    assert result.returncode == 7
    assert result.stdout == data
    assert result.stderr == b"to stderr"
    assert "to stderr" not in repr(result)
    assert str(len(data)) in repr(result)


def test_argv_and_env_reach_the_child(tmp_path: Path) -> None:
    """argv[0] is kept as given, the rest passed unchanged; env replaces the environment."""
    tool = _script(tmp_path / "show", 'printf "%s|%s|%s|%s" "$0" "$1" "$2" "${ONLY-unset}"')
    result = _process.run(
        ["sh", "-c", 'printf "%s|%s|%s" "$0" "$1" "${ONLY-unset}"', "zero", "a b"],
        env={"ONLY": "x", "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert result.stdout == b"zero|a b|x"
    assert _process.run([str(tool), "", "*"], timeout=30).stdout == f"{tool}||*|unset".encode()


def test_child_leads_its_own_session(tmp_path: Path) -> None:
    """The child leads a new session and process group: no terminal to stop it, one group to kill."""
    tool = _script(tmp_path / "ids", "echo $$; cat /proc/self/stat")
    pid, stat = _process.run([str(tool)], timeout=30).stdout.decode().split("\n", 1)
    fields = stat.rpartition(")")[2].split()  # state ppid pgrp session tty_nr ...
    assert fields[2] == pid  # process group
    assert fields[3] == pid  # session
    assert fields[4] == "0"  # no controlling terminal
    assert os.getpgrp() != int(pid)


def test_child_that_does_not_read_stdin(tmp_path: Path) -> None:
    """A child that exits without reading a big payload is no error and no hang."""
    tool = _script(tmp_path / "deaf", "exit 3")
    assert _process.run([str(tool)], stdin=b"x" * 5_000_000, timeout=60).returncode == 3


def test_killed_by_a_signal(tmp_path: Path) -> None:
    """A child killed by signal N reports -N, as subprocess does."""
    tool = _script(tmp_path / "die", "kill -TERM $$")
    assert _process.run([str(tool)], timeout=30).returncode == -signal.SIGTERM


@pytest.fixture
def pids(tmp_path: Path) -> Iterator[Path]:
    """A file the test's children write their pids to; leftovers are killed at the end."""
    path = tmp_path / "pids"
    yield path
    if path.exists():
        for line in path.read_text().split():
            try:
                os.kill(int(line), signal.SIGKILL)
            except ProcessLookupError:
                pass


def _family(tmp_path: Path, pids: Path, then: str, quiet: str = "") -> Path:
    """A script that starts a grandchild (sleep) in its group, records both pids, then ``then``.

    With ``quiet``, the grandchild's standard streams are redirected there.
    """
    grandchild = f"sleep 600 {quiet}" if quiet else "sleep 600"
    return _script(tmp_path / "family", f"{grandchild} & echo $! >> {pids}; echo $$ >> {pids}; {then}")


def _wait_for_pids(pids: Path) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if pids.exists() and len(pids.read_text().split()) == 2:
            return [int(p) for p in pids.read_text().split()]
        time.sleep(0.02)
    pytest.fail("the child did not start")


def test_timeout_kills_the_whole_group(tmp_path: Path, pids: Path) -> None:
    """On timeout the child and its children are killed and the child reaped (S27)."""
    tool = _family(tmp_path, pids, "exec sleep 600")
    with pytest.raises(_process.ProcessTimeoutError, match=r"did not finish within 1 s") as info:
        _process.run([str(tool)], timeout=1)
    assert isinstance(info.value, TimeoutError)
    grandchild, child = _wait_for_pids(pids)
    assert _gone(grandchild)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # reaped by the runner: no zombie left


def test_timeout_after_the_pipes_close(tmp_path: Path, pids: Path) -> None:
    """A child that closes its output but never exits is still bounded by the timeout."""
    quiet = ">/dev/null 2>&1 </dev/null"
    tool = _family(tmp_path, pids, f"exec sleep 600 {quiet}", quiet)
    with pytest.raises(_process.ProcessTimeoutError):
        _process.run([str(tool)], timeout=1)
    grandchild, child = _wait_for_pids(pids)
    assert _gone(grandchild)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


@pytest.mark.parametrize("stream", ["", ">&2"])
def test_output_cap_kills_the_group(tmp_path: Path, pids: Path, stream: str) -> None:
    """Endless output on stdout or stderr stops at the cap with an error (S28)."""
    tool = _family(tmp_path, pids, f"exec yes flood {stream}")
    with pytest.raises(_process.OutputTooLargeError, match="more than 100000 bytes"):
        _process.run([str(tool)], timeout=60, output_cap=100_000)
    grandchild, child = _wait_for_pids(pids)
    assert _gone(grandchild)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_interrupt_kills_the_group(tmp_path: Path, pids: Path) -> None:
    """Ctrl-C (KeyboardInterrupt) while a child runs kills its group and reaps it, then propagates."""
    tool = _family(tmp_path, pids, "exec sleep 600")

    def interrupt(signum: int, frame: object) -> None:
        if pids.exists() and len(pids.read_text().split()) == 2:
            raise KeyboardInterrupt
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # not started yet: look again soon

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(KeyboardInterrupt):
            _process.run([str(tool)], timeout=120)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    grandchild, child = _wait_for_pids(pids)
    assert _gone(grandchild)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_cannot_start_says_why(tmp_path: Path) -> None:
    """An executable the OS refuses to run is CannotStartError with the OS's reason, no traceback text."""
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x7fELF\x00\x00 not really")
    garbage.chmod(0o755)
    with pytest.raises(_process.CannotStartError, match="Exec format error") as info:
        _process.run([str(garbage)], timeout=30)
    assert not isinstance(info.value, _process.ProgramNotFoundError)
    with pytest.raises(_process.ProgramNotFoundError, match="not found"):
        _process.run([str(tmp_path / "missing")], timeout=30)
    with pytest.raises(ValueError, match="needs a program"):
        _process.run([], timeout=30)


def test_runner_imports_no_subprocess() -> None:
    """Running a program loads neither subprocess nor the modules it drags in (helper start-up)."""
    code = (
        "import sys\n"
        "from regcred import _process\n"
        "assert _process.run(['true'], timeout=30).returncode == 0\n"
        "print(sorted({'subprocess', 'selectors', 'threading', 'signal'} & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60)
    assert done.stdout.decode().strip() == "[]"


def test_timeout_kills_a_descendant_in_a_session_of_its_own(tmp_path: Path) -> None:
    """A grandchild that started its own session (as a helper's gpg does) dies with the child (#17.15)."""
    setsid = require_program("setsid", "util-linux")
    pids = tmp_path / "pids"
    tool = _script(tmp_path / "tool", f"{setsid} sleep 600 & echo $! > {pids}; exec sleep 600")
    with pytest.raises(_process.ProcessTimeoutError):
        _process.run([str(tool)], timeout=1)
    grandchild = int(pids.read_text())
    try:
        assert _gone(grandchild)
    finally:
        try:
            os.kill(grandchild, signal.SIGKILL)
        except ProcessLookupError:
            pass
