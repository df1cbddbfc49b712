"""Issue 17, "one truth at every seam": commands that answer the same question agree.

Each test names the defect of issue 17 it covers and failed before its fix.
Every program here is the real one (the installed ``regcred`` console script,
real config files, our real helpers on real stores); docker and podman
referee the rows in ``tests/test_differential.py``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

import regcred
from tests.conftest import VENV_BIN

REGCRED = str(VENV_BIN / "regcred")
SECRET = "seam-secret-\u00fc"


def _auth(username: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``regcred`` with the test's environment (plus ``env``)."""
    return subprocess.run(
        [REGCRED, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


# -- defect 5: [::1] and [fe80::1] without a port --------------------------------------------


@pytest.mark.parametrize("address", ["[::1]", "[fe80::1]"])
def test_bracketed_ipv6_without_port_is_a_registry_for_every_reader(
    docker_config: Path, address: str
) -> None:
    """Defect 5: login/logout accepted ``[::1]``; get, export, exec and get_credentials said "bad tag"."""
    regcred.store_credentials(address, "v6user", SECRET)
    assert json.loads(docker_config.read_text())["auths"][address]  # login's key: the literal itself
    creds = regcred.get_credentials(address)
    assert creds is not None
    assert (creds.server, creds.username, creds.secret) == (address, "v6user", SECRET)
    got = run("get", address)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Username"] == "v6user"
    exported = run("export", "--format", "config", address)
    assert exported.returncode == 0, exported.stderr
    assert list(json.loads(exported.stdout)["auths"]) == [address]
    job = run("exec", "--registry", address, "--", "sh", "-c", 'cat "$DOCKER_CONFIG/config.json"')
    assert job.returncode == 0, job.stderr
    assert list(json.loads(job.stdout)["auths"]) == [address]
    assert regcred.get_credentials(f"{address}/ns/app:1.0") == creds  # an image on it, too
