"""What regcred stores is visible to docker, podman and skopeo alike (issue 10 #5).

containers/image reads ``auths`` and ``credHelpers`` from docker's config.json
but ignores ``credsStore``; a login that stored into a helper through
``credsStore`` alone was invisible to podman and skopeo.  The referees are the
real programs against the differential suite's registry (a pushed image), the
keyring the real gnome-keyring, the helper our real
docker-credential-regcred-secretservice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import VENV_BIN, installed_helper
from tests.fixtures.differential import docker_authenticates, podman_login, skopeo_authenticates

if TYPE_CHECKING:
    import pytest

    from tests.fixtures.differential import Referee
    from tests.fixtures.keyring import Keyring


def test_after_an_automatic_login_docker_podman_and_skopeo_authenticate(
    referee: Referee, keyring: Keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """regcred login picks the keyring by itself; all three programs then use what it stored."""
    installed_helper("secretservice")
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    config_dir = tmp_path / "docker"
    user, password = referee.valid
    done = subprocess.run(
        [sys.executable, "-m", "regcred", "--config", str(config_dir), "login", referee.host,
         "-u", user, "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads((config_dir / "config.json").read_text())
    assert data["credsStore"] == "regcred-secretservice"
    assert data["auths"] == {referee.host: {}}  # no plaintext
    authfile = config_dir / "config.json"
    assert docker_authenticates(referee, config_dir, "diff/img")
    assert skopeo_authenticates(referee, authfile, "diff/img", tmp_path / "containers")
    assert podman_login(referee, authfile, tmp_path / "containers") == user
