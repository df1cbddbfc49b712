"""config.json under real concurrent processes: no lost writes, no torn files."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from regcred import _config

_WRITER = """
import sys
from regcred import _config
from pathlib import Path
path, key, action = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
if action == "set":
    _config.update(path, lambda c: c.set_auth(key, "user-" + key.split(":")[0], "pw-" + key))
else:
    _config.update(path, lambda c: c.remove_auth(key))
"""


def _spawn(path: Path, key: str, action: str = "set") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(path), key, action])


@pytest.mark.slow
def test_parallel_writers_lose_nothing(docker_config: Path) -> None:
    """24 processes adding distinct keys and 8 removing pre-existing ones: exact final state (S15)."""
    docker_config.parent.mkdir()
    doomed = [f"old{i}.example" for i in range(8)]

    def seed(config: _config.Config) -> None:
        for key in doomed:
            config.set_auth(key, "u", "p")

    _config.update(docker_config, seed)
    procs = [_spawn(docker_config, f"reg{i}.example:5000") for i in range(24)]
    procs += [_spawn(docker_config, k, "remove") for k in doomed]
    assert [p.wait(timeout=120) for p in procs] == [0] * len(procs)
    config = _config.load(docker_config)
    assert sorted(config.auth_keys()) == sorted(f"reg{i}.example:5000" for i in range(24))
    for i in range(24):
        entry = config.entry(f"reg{i}.example:5000")
        assert entry is not None
        assert entry.password == f"pw-reg{i}.example:5000"


_SAVER = """
import sys
from regcred import _config
from pathlib import Path
path = Path(sys.argv[1])
n = 0
while True:
    n += 1
    _config.update(path, lambda c: c.set_auth("counter.example", "u", "x" * (n % 5000)))
"""


@pytest.mark.slow
def test_sigkill_during_saves_never_tears_the_file(docker_config: Path) -> None:
    """SIGKILL a saving process many times: the file always parses, as old or new (S14)."""
    docker_config.parent.mkdir()
    docker_config.write_text(json.dumps({"auths": {}, "psFormat": "keep-me"}))
    rng = random.Random(1234)
    seen_lengths = set()
    for _ in range(40):
        before = docker_config.read_bytes()
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(docker_config)])
        # Start the clock once the saver is saving: on a loaded machine its start-up
        # alone can outlast the kill delay, and then the kill would test nothing.
        started = time.monotonic() + 60
        while docker_config.read_bytes() == before and time.monotonic() < started:
            time.sleep(0.005)
        deadline = time.monotonic() + rng.uniform(0.05, 0.5)
        while time.monotonic() < deadline:
            raw = docker_config.read_bytes()
            assert raw, "reader saw an empty file"
            data = json.loads(raw)  # never a torn file
            assert data["psFormat"] == "keep-me"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        config = _config.load(docker_config)
        entry = config.entry("counter.example")
        if entry is not None:
            seen_lengths.add(len(entry.password))
    assert len(seen_lengths) > 1, "the saver never got to write; the test proved nothing"
    # the next save cleans whatever temp files the kills left behind
    _config.update(docker_config, lambda c: c.remove_auth("counter.example"))
    leftovers = [n for n in os.listdir(docker_config.parent) if n.endswith(".tmp")]
    assert leftovers == []
    assert json.loads(docker_config.read_text()) == {"auths": {}, "psFormat": "keep-me"}
