"""``docker-regcred`` as a docker CLI plugin, refereed by the real Docker CLI 28 (no daemon needed)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, require_program


@pytest.fixture
def plugin_config(tmp_path: Path) -> Path:
    """A DOCKER_CONFIG with one plaintext login and cli-plugins/docker-regcred linked to the venv's script."""
    config_dir = tmp_path / "docker"
    (config_dir / "cli-plugins").mkdir(parents=True)
    (config_dir / "cli-plugins" / "docker-regcred").symlink_to(VENV_BIN / "docker-regcred")
    auth = base64.b64encode(b"alice:pw-CANARY-plugin").decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {"reg.example": {"auth": auth}}}))
    return config_dir


def _docker(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    docker = require_program("docker", "docker-ce-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = str(config_dir)
    return subprocess.run([docker, *args], capture_output=True, text=True, timeout=60, env=env, check=False)


def test_metadata_is_what_docker_expects() -> None:
    """The plugin answers docker-cli-plugin-metadata with schema 0.1.0 JSON."""
    done = subprocess.run(
        [str(VENV_BIN / "docker-regcred"), "docker-cli-plugin-metadata"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)
    assert meta["SchemaVersion"] == "0.1.0"
    assert meta["Vendor"] == "regcred"
    assert meta["Version"]
    assert meta["ShortDescription"]


def test_docker_lists_and_runs_the_plugin(plugin_config: Path) -> None:
    """The real docker shows `regcred` among its commands and runs `docker regcred list/--help/doctor`."""
    top = _docker(plugin_config, "--help")
    assert top.returncode == 0, top.stderr
    assert any(line.split()[:1] == ["regcred*"] for line in top.stdout.splitlines()), top.stdout
    listed = _docker(plugin_config, "regcred", "list")
    assert listed.returncode == 0, listed.stderr
    assert "reg.example" in listed.stdout
    assert "alice" in listed.stdout
    assert "CANARY" not in listed.stdout + listed.stderr
    helped = _docker(plugin_config, "regcred", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "usage: regcred" in helped.stdout
    doctor = _docker(plugin_config, "regcred", "doctor", "--json")
    assert doctor.returncode in (0, 1), doctor.stderr  # 1: doctor found the plaintext entry to fix
    json.loads(doctor.stdout)
    assert "CANARY" not in doctor.stdout + doctor.stderr


def test_docker_plugin_errors_are_regcreds(plugin_config: Path) -> None:
    """A typo through docker gets regcred's suggestion and exit 2."""
    done = _docker(plugin_config, "regcred", "logn")
    assert done.returncode == 2
    assert "did you mean 'login'?" in done.stderr


def test_dockers_global_flags_come_first_and_config_is_followed(plugin_config: Path, tmp_path: Path) -> None:
    """docker passes its own flags before the plugin's name; ``--config DIR`` is regcred's config too.

    docker puts ``--config`` into no environment variable, so the plugin reads it
    from the command line, as the real docker 28 passes it.
    """
    elsewhere = tmp_path / "other-docker"
    elsewhere.mkdir()
    auth = base64.b64encode(b"bob:pw-CANARY-other").decode()
    (elsewhere / "config.json").write_text(json.dumps({"auths": {"other.example": {"auth": auth}}}))
    (elsewhere / "cli-plugins").mkdir()
    (elsewhere / "cli-plugins" / "docker-regcred").symlink_to(VENV_BIN / "docker-regcred")
    for flags in (["--config", str(elsewhere)], [f"--config={elsewhere}", "--debug", "-l", "info"],
                  ["-D", "--config", str(elsewhere), "--log-level=warn"]):  # fmt: skip
        listed = _docker(plugin_config, *flags, "regcred", "list")
        assert listed.returncode == 0, (flags, listed.stderr)
        assert "other.example" in listed.stdout, (flags, listed.stdout)
        assert "reg.example" not in listed.stdout, (flags, listed.stdout)
        assert "CANARY" not in listed.stdout + listed.stderr
    plain = _docker(plugin_config, "--debug", "regcred", "list")  # no --config: DOCKER_CONFIG's
    assert plain.returncode == 0, plain.stderr
    assert "reg.example" in plain.stdout
    got = _docker(plugin_config, "--config", str(elsewhere), "regcred", "get", "other.example")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Username"] == "bob"


def test_the_plugin_run_by_hand_is_regcred(plugin_config: Path) -> None:
    """``docker-regcred list`` and ``docker-regcred --config DIR list`` are ``regcred`` itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    for argv in (["list"], ["--config", str(plugin_config), "list"]):
        done = subprocess.run(
            [str(VENV_BIN / "docker-regcred"), *argv],
            capture_output=True, text=True, timeout=60, check=False,
            env={**env, "DOCKER_CONFIG": str(plugin_config)},
        )  # fmt: skip
        assert done.returncode == 0, (argv, done.stderr)
        assert "reg.example" in done.stdout


@pytest.mark.parametrize(
    "flags",
    [["-Dl", "info"], ["-Dlinfo"], ["-l=info", "-D"], ["--tlsverify=false", "-H", "unix:///nowhere.sock"]],
)
def test_short_bundles_and_switch_values_are_dockers_flags_too(plugin_config: Path, flags: list[str]) -> None:
    """pflag's short bundles and ``=value`` switches, before the plugin's name (argv as docker passes it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    done = subprocess.run(
        [str(VENV_BIN / "docker-regcred"), *flags, "regcred", "list"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**env, "DOCKER_CONFIG": str(plugin_config)},
    )  # fmt: skip
    assert done.returncode == 0, (flags, done.stderr)
    assert "reg.example" in done.stdout


def test_a_config_directory_named_like_a_flag(plugin_config: Path, tmp_path: Path) -> None:
    """``docker --config -odd regcred list``: pflag takes ``-odd`` as the value, and so does the plugin."""
    odd = tmp_path / "-odd"
    odd.mkdir()
    auth = base64.b64encode(b"olga:pw-CANARY-odd").decode()
    (odd / "config.json").write_text(json.dumps({"auths": {"odd.example": {"auth": auth}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    done = subprocess.run(
        [str(VENV_BIN / "docker-regcred"), "--config", "-odd", "regcred", "list"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        env={**env, "DOCKER_CONFIG": str(plugin_config)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "odd.example" in done.stdout
    assert "CANARY" not in done.stdout + done.stderr
