"""Docker Hub's web-login entries (docker 27.2+): never exported, erased by a logout, labelled (#8).

``docker login`` with the device flow stores ``https://index.docker.io/v1/access-token``
and ``…/refresh-token`` beside the Hub key (extra ``auths`` entries with the file store).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.fixtures.config_files import write_config
from tests.fixtures.processes import regcred

HUB = "https://index.docker.io/v1/"
ACCESS, REFRESH = HUB + "access-token", HUB + "refresh-token"


def _seed(docker_config: Path) -> None:
    auths = {
        HUB: ("alice", "dckr_pat_x"),
        ACCESS: ("alice", "eyJhbGciOi.access.jwt"),
        REFRESH: ("alice", "long-lived-refresh..client-id"),
        "ghcr.io": ("bob", "ghp_y"),
    }
    write_config(docker_config, auths)


def test_export_never_ships_the_web_login_tokens(docker_config: Path) -> None:
    """Neither the k8s secret nor the CI config carries the refresh (or access) token."""
    _seed(docker_config)
    for fmt in ("k8s", "config"):
        done = regcred("export", "--format", fmt)
        assert done.returncode == 0, done.stderr
        assert "refresh" not in done.stdout
        text = done.stdout
        if fmt == "k8s":
            data = next(line for line in text.splitlines() if ".dockerconfigjson:" in line).split(": ", 1)[1]
            text = base64.b64decode(data).decode()
        assert ACCESS not in text
        assert REFRESH not in text
        assert "long-lived-refresh" not in text
        assert HUB in text  # the Hub credential itself is exported
    named = regcred("export", REFRESH)
    assert named.returncode == 1
    assert "never exported" in named.stderr


def test_hub_logout_erases_the_web_login_tokens(docker_config: Path) -> None:
    """logout of Hub leaves neither token behind (docker erases both)."""
    _seed(docker_config)
    done = regcred("logout")
    assert done.returncode == 0, done.stderr
    assert set(json.loads(docker_config.read_text())["auths"]) == {"ghcr.io"}


def test_list_labels_them(docker_config: Path) -> None:
    """list shows what the two extra keys are."""
    _seed(docker_config)
    done = regcred("list")
    assert "Docker Hub web-login refresh token" in done.stdout
    assert "Docker Hub web-login access token" in done.stdout
