"""The installed docker-credential-regcred-aws, and regcred migrate, against moto's server.

Real processes, the real boto3 in them, moto in server mode on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from regcred import _config
from regcred._lookup import get_credentials
from regcred.cli import main
from regcred.stores.aws import AwsSecretsManagerStore
from tests.conftest import VENV_BIN, installed_helper
from tests.fixtures.aws import free_port
from tests.fixtures.processes import run

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fixtures.aws import AwsEnv

HUB = "https://index.docker.io/v1/"
NOT_FOUND = b"credentials not found in native keychain\n"
SECRET = "aws-helper-secret-\u00fc<&>"
TOKEN = "aws-refresh-token"


@pytest.fixture(scope="module")
def helper() -> str:
    return installed_helper("aws")


def call(helper: str, action: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``helper action`` with this test's AWS environment (plus ``env``)."""
    import os

    full = {**os.environ, **env}
    for name, value in env.items():
        if value == "":
            full.pop(name)
    return run([helper, action], stdin=stdin, env=full, binary=True)


def no_secret(done: subprocess.CompletedProcess[bytes]) -> None:
    """Neither stream of a failed or listing call holds a secret of these tests."""
    for secret in (SECRET, TOKEN, "testing"):
        assert secret.encode() not in done.stdout + done.stderr


def test_protocol_round_trip(aws_env: AwsEnv, helper: str) -> None:
    """store, get, list and erase through the real executable, with docker's exact bytes."""
    for server, user, secret in ((HUB, "alice", SECRET), ("reg.example:5000", "<token>", TOKEN)):
        body = json.dumps({"ServerURL": server, "Username": user, "Secret": secret}).encode()
        done = call(helper, "store", body)
        assert (done.returncode, done.stdout) == (0, b""), done.stdout + done.stderr
    done = call(helper, "get", HUB.encode())
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout) == {"ServerURL": HUB, "Username": "alice", "Secret": SECRET}
    done = call(helper, "list")
    assert done.returncode == 0
    assert json.loads(done.stdout) == {HUB: "alice", "reg.example:5000": "<token>"}
    no_secret(done)
    assert call(helper, "erase", b"reg.example:5000").returncode == 0
    done = call(helper, "get", b"reg.example:5000")
    assert (done.returncode, done.stdout) == (1, NOT_FOUND)
    assert json.loads(call(helper, "list").stdout) == {HUB: "alice"}


def test_not_found_is_docker_s_message(aws_env: AwsEnv, helper: str) -> None:
    """A registry never stored: exactly the magic not-found line, exit 1."""
    done = call(helper, "get", b"never.example")
    assert (done.returncode, done.stdout) == (1, NOT_FOUND)


def test_no_credentials(aws_env: AwsEnv, helper: str) -> None:
    """No AWS credentials: get says not found (with a hint); list and store fail with one line."""
    unset = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }
    done = call(helper, "get", b"ghcr.io", **unset)
    assert (done.returncode, done.stdout) == (1, NOT_FOUND)
    assert b"no AWS credentials" in done.stderr
    for action, stdin in (
        ("list", b""),
        ("store", b'{"ServerURL":"ghcr.io","Username":"a","Secret":"' + SECRET.encode() + b'"}'),
    ):
        done = call(helper, action, stdin, **unset)
        assert done.returncode == 1
        assert done.stdout.startswith(b"no AWS credentials: set AWS_PROFILE")
        assert done.stdout.count(b"\n") == 1
        no_secret(done)
    assert AwsSecretsManagerStore().list() == {}  # nothing stored anywhere else either


def test_endpoint_down(aws_env: AwsEnv, helper: str) -> None:
    """A closed port: every action fails with one line naming the endpoint (get too: not 'not found')."""
    url = f"http://127.0.0.1:{free_port()}"
    for action, stdin in (("get", b"ghcr.io"), ("list", b""), ("erase", b"ghcr.io")):
        done = call(helper, action, stdin, AWS_ENDPOINT_URL=url, AWS_MAX_ATTEMPTS="1")
        assert done.returncode == 1
        expected = (
            f"cannot reach AWS Secrets Manager at {url}: check the network, AWS_REGION and AWS_ENDPOINT_URL"
        )
        assert done.stdout == expected.encode() + b"\n"
        assert b"Traceback" not in done.stderr


# -- migrate ----------------------------------------------------------------------------


def seed(path: Path) -> None:
    def fill(c: _config.Config) -> None:
        c.set_auth("a.example", "alice", SECRET)
        c.set_auth("b.example:5000", "bob", "second-" + SECRET)
        c.set_auth(HUB, "", "", identitytoken=TOKEN)
        c.data["x-unknown"] = {"keep": [1, 2]}

    _config.update(path, fill)


def readable() -> dict[str, tuple[str, str] | None]:
    found = {}
    for key in ("a.example", "b.example:5000", "docker.io"):
        creds = get_credentials(key, podman=False)
        found[key] = None if creds is None else (creds.username, creds.secret)
    return found


EXPECTED = {
    "a.example": ("alice", SECRET),
    "b.example:5000": ("bob", "second-" + SECRET),
    "docker.io": ("<token>", TOKEN),
}


@pytest.mark.slow
def test_migrate_to_aws_and_back(
    aws_env: AwsEnv, docker_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """regcred migrate --to regcred-aws moves every credential there; --to file brings each back."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/bin:/bin")
    seed(docker_config)
    code = main(["migrate", "--to", "regcred-aws"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "migrated 3 credential(s)" in out
    data: dict[str, Any] = json.loads(docker_config.read_text())
    assert data["credsStore"] == "regcred-aws"
    assert data["auths"] == {"a.example": {}, "b.example:5000": {}, HUB: {}}
    assert data["x-unknown"] == {"keep": [1, 2]}
    assert AwsSecretsManagerStore().list() == {"a.example": "alice", "b.example:5000": "bob", HUB: "<token>"}
    assert readable() == EXPECTED

    code = main(["migrate", "--to", "file"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(docker_config.read_text())
    assert "credsStore" not in data
    assert base64.b64decode(data["auths"]["a.example"]["auth"]).decode() == f"alice:{SECRET}"
    assert data["auths"][HUB] == {"identitytoken": TOKEN}
    assert AwsSecretsManagerStore().list() == {}  # erased (scheduled for deletion, recoverable)
    assert readable() == EXPECTED
    for text in (out, err):
        assert SECRET not in text
        assert TOKEN not in text

    # And to AWS again: the secrets scheduled for deletion are restored with the values.
    assert main(["migrate", "--to", "regcred-aws"]) == 0
    capsys.readouterr()
    assert readable() == EXPECTED


def test_doctor_shows_the_aws_store(
    aws_env: AwsEnv, docker_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """doctor shows AWS Secrets Manager's state once config.json uses it; login never picks it.

    A cloud store is probed (one ListSecrets call) only when config.json names it.
    """
    main(["doctor"])
    out, _ = capsys.readouterr()
    assert "AWS Secrets Manager" not in out
    docker_config.parent.mkdir(exist_ok=True)
    docker_config.write_text('{"auths": {}, "credHelpers": {"fleet.example": "regcred-aws"}}')
    main(["doctor"])
    out, _ = capsys.readouterr()
    assert "AWS Secrets Manager: ok" in out
    assert "regcred-aws" not in out.split("regcred login would store new credentials in:")[1].splitlines()[0]
