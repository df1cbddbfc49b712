"""AwsSecretsManagerStore with the real boto3 against a real moto server on 127.0.0.1.

What moto cannot produce is said where it matters: throttling comes from a
fake endpoint (:class:`ThrottlingEndpoint`, named as one), because moto never
throttles.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from regcred.credentials import Credentials
from regcred.errors import CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores import _catalog
from regcred.stores.aws import (
    USERNAME_TAG,
    AwsSecretsManagerStore,
    _budget,
    _plan,
    decode_key,
    decode_username,
    encode_key,
    encode_username,
)
from regcred.testing import StoreContract
from tests.conftest import installed_helper
from tests.fixtures.aws import REGION, free_port, point_at

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.aws import AwsEnv, IamServer

SECRET = "aws-secret-\u00fc<&>"


class TestAwsSecretsManagerStore(StoreContract):
    """The full store contract, through boto3, on moto."""

    @pytest.fixture
    def store(self, aws_env: AwsEnv) -> AwsSecretsManagerStore:
        return AwsSecretsManagerStore()


def describe(aws_env: AwsEnv, name: str) -> dict[str, Any]:
    """DescribeSecret through a plain boto3 client."""
    result: dict[str, Any] = aws_env.client().describe_secret(SecretId=name)  # type: ignore[attr-defined]
    return result


def test_layout_one_secret_per_registry(aws_env: AwsEnv) -> None:
    """Plain keys stay readable, others are =base64; the value is JSON; the username is a tag."""
    store = AwsSecretsManagerStore()
    store.store(Credentials("ghcr.io", "alice", SECRET))
    store.store(Credentials("reg.example:5000", "<token>", "refresh"))
    client: Any = aws_env.client()
    plain = aws_env.prefix + "ghcr.io"
    encoded = aws_env.prefix + "=cmVnLmV4YW1wbGU6NTAwMA=="
    assert json.loads(client.get_secret_value(SecretId=plain)["SecretString"]) == {
        "Username": "alice",
        "Secret": SECRET,
    }
    assert {"Key": USERNAME_TAG, "Value": "alice"} in describe(aws_env, plain)["Tags"]
    assert {"Key": USERNAME_TAG, "Value": "=PHRva2VuPg=="} in describe(aws_env, encoded)["Tags"]
    assert store.list() == {"ghcr.io": "alice", "reg.example:5000": "<token>"}


@pytest.mark.parametrize(
    "key",
    [
        "ghcr.io",
        "https://index.docker.io/v1/",
        "reg.example:5000",
        "=starts-with-escape",
        "my-regist",  # ends in "-" + six characters: the shape of an ARN suffix
        "ünïcode.example",
        "a" * 300,
    ],
)
def test_key_encoding_is_reversible(key: str) -> None:
    """Every key decodes back exactly; an encoded name has no '-' and only allowed characters."""
    name = encode_key(key)
    assert decode_key(name) == key
    assert all(c.isascii() and (c.isalnum() or c in "/_+=.@-") for c in name)
    if name.startswith("="):
        assert "-" not in name
    assert name[-7:-6] != "-"


@pytest.mark.parametrize("username", ["alice", "<token>", "ünï/cøde", "=x", "a b.c:d/e=f+g@h-i", ""])
def test_username_tag_is_reversible(username: str) -> None:
    """Usernames outside AWS's tag characters are escaped, and come back exactly."""
    value = encode_username(username)
    assert decode_username(value) == username
    assert all(c.isascii() and (c.isalnum() or c in " _.:/=+@-") for c in value)


def test_list_skips_secrets_regcred_did_not_write(aws_env: AwsEnv) -> None:
    """Under the prefix, a name that is not a key regcred encodes is ignored, not an error."""
    client: Any = aws_env.client()
    client.create_secret(Name=aws_env.prefix + "=not*base64", SecretString="x")
    client.create_secret(Name="other/ghcr.io", SecretString="x")
    store = AwsSecretsManagerStore()
    store.store(Credentials("ghcr.io", "alice", SECRET))
    assert store.list() == {"ghcr.io": "alice"}


def test_list_pages_through_many_secrets(aws_env: AwsEnv) -> None:
    """More secrets than one ListSecrets page (100) are all listed."""
    store = AwsSecretsManagerStore()
    for i in range(105):
        store.store(Credentials(f"r{i}.example", f"u{i}", "pw"))
    assert store.list() == {f"r{i}.example": f"u{i}" for i in range(105)}


def test_erase_keeps_a_recovery_window_and_store_restores(aws_env: AwsEnv) -> None:
    """Erase schedules deletion (7 days by default); a later store restores the secret."""
    store = AwsSecretsManagerStore()
    store.store(Credentials("ghcr.io", "alice", "one"))
    store.erase("ghcr.io")
    name = aws_env.prefix + "ghcr.io"
    assert "DeletedDate" in describe(aws_env, name)
    with pytest.raises(CredentialsNotFoundError):
        store.get("ghcr.io")
    assert store.list() == {}
    store.erase("ghcr.io")  # already scheduled: still success
    store.store(Credentials("ghcr.io", "bob", "two"))
    got = store.get("ghcr.io")
    assert (got.username, got.secret) == ("bob", "two")
    assert "DeletedDate" not in describe(aws_env, name)
    assert store.list() == {"ghcr.io": "bob"}


def test_recovery_days_zero_deletes_at_once(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """REGCRED_AWS_RECOVERY_DAYS=0 deletes without recovery."""
    monkeypatch.setenv("REGCRED_AWS_RECOVERY_DAYS", "0")
    store = AwsSecretsManagerStore()
    store.store(Credentials("ghcr.io", "alice", "one"))
    store.erase("ghcr.io")
    client: Any = aws_env.client()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_secret(SecretId=aws_env.prefix + "ghcr.io")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("REGCRED_AWS_RECOVERY_DAYS", "3", "7 to 30, or 0"),
        ("REGCRED_AWS_RECOVERY_DAYS", "forever", "7 to 30, or 0"),
        ("REGCRED_AWS_PREFIX", "bad prefix!", "REGCRED_AWS_PREFIX"),
        ("REGCRED_AWS_PREFIX", " ", "REGCRED_AWS_PREFIX"),
    ],
)
def test_bad_settings_are_one_clear_error(
    aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    """A bad setting fails before any AWS call, saying which setting and what it may be."""
    monkeypatch.setenv(name, value)
    store = AwsSecretsManagerStore()
    with pytest.raises(StoreUnavailableError, match=words):
        store.store(Credentials("ghcr.io", "alice", "pw"))
    with pytest.raises(StoreUnavailableError, match=words):
        store.erase("ghcr.io")
    assert store.status().state == "unavailable"


@pytest.mark.slow
def test_forty_parallel_stores_lose_nothing(aws_env: AwsEnv) -> None:
    """40 threads, each with its own store, store 40 registries at once; all are there."""

    def one(i: int) -> None:
        AwsSecretsManagerStore().store(Credentials(f"reg{i}.example:{5000 + i}", f"user{i}", f"pw{i}"))

    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(one, range(40)))
    store = AwsSecretsManagerStore()
    assert store.list() == {f"reg{i}.example:{5000 + i}": f"user{i}" for i in range(40)}
    for i in range(40):
        got = store.get(f"reg{i}.example:{5000 + i}")
        assert (got.username, got.secret) == (f"user{i}", f"pw{i}")


def test_concurrent_stores_of_one_registry_keep_one_secret(aws_env: AwsEnv) -> None:
    """Racing creates of the same registry end as one secret holding one of the values."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda i: AwsSecretsManagerStore().store(Credentials("ghcr.io", f"u{i}", f"p{i}")), range(8)
            )
        )
    store = AwsSecretsManagerStore()
    got = store.get("ghcr.io")
    assert got.secret == f"p{got.username[1:]}"
    assert list(store.list()) == ["ghcr.io"]


# -- errors ------------------------------------------------------------------------


def assert_one_clean_line(exc: BaseException) -> None:
    """One line, and none of the secrets of these tests."""
    text = str(exc)
    assert "\n" not in text
    assert text
    for secret in (SECRET, "pw", "testing"):
        assert secret not in text.split(), text


def test_endpoint_down_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed port: one line naming the endpoint; nothing falls back anywhere."""
    port = free_port()
    point_at(monkeypatch, f"http://127.0.0.1:{port}", "regcred/")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = AwsSecretsManagerStore()
    for action in (
        lambda: store.get("ghcr.io"),
        store.list,
        lambda: store.store(Credentials("ghcr.io", "a", SECRET)),
    ):
        with pytest.raises(
            CredentialStoreError, match=f"cannot reach AWS Secrets Manager at http://127.0.0.1:{port}"
        ) as info:
            action()
        assert not isinstance(info.value, CredentialsNotFoundError)
        assert_one_clean_line(info.value)
    assert store.status().state == "error"


def test_no_aws_credentials_is_unavailable(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """No keys, no credentials file, no instance metadata: StoreUnavailableError saying what to set."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = AwsSecretsManagerStore()
    with pytest.raises(StoreUnavailableError, match="no AWS credentials: set AWS_PROFILE") as info:
        store.list()
    assert_one_clean_line(info.value)
    assert store.status() == store.status()
    assert store.status().state == "unavailable"


def test_no_region_is_unavailable(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a region the store says so, before any request."""
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(StoreUnavailableError, match="no AWS region: set AWS_REGION"):
        AwsSecretsManagerStore().get("ghcr.io")


def test_unknown_profile_is_unavailable(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_PROFILE naming no profile is one line naming it."""
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(StoreUnavailableError, match="AWS profile not found: no-such-profile"):
        AwsSecretsManagerStore().list()


def test_unknown_keys_are_refused(moto_iam_server: IamServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys AWS does not know: 'refused … not valid'; never 'not found', never a fallback."""
    point_at(monkeypatch, moto_iam_server.server.url, "regcred/")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNUNKNOWN00")
    store = AwsSecretsManagerStore()
    for action in (
        lambda: store.get("ghcr.io"),
        store.list,
        lambda: store.store(Credentials("ghcr.io", "a", SECRET)),
    ):
        with pytest.raises(CredentialStoreError, match="AWS Secrets Manager refused") as info:
            action()
        assert not isinstance(info.value, (CredentialsNotFoundError, StoreUnavailableError))
        assert_one_clean_line(info.value)


def test_access_denied_and_list_needs_no_read(
    moto_iam_server: IamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user allowed only ListSecrets can list (list reads no value); get and store are denied."""
    point_at(monkeypatch, moto_iam_server.server.url, "regcred/")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_iam_server.lister[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_iam_server.lister[1])
    store = AwsSecretsManagerStore()
    assert store.list() == {}
    assert store.status().state == "ok"
    for operation, action in (
        ("GetSecretValue", lambda: store.get("ghcr.io")),
        ("DescribeSecret", lambda: store.store(Credentials("ghcr.io", "a", SECRET))),
        ("DeleteSecret", lambda: store.erase("ghcr.io")),
    ):
        with pytest.raises(CredentialStoreError, match=f"refused {operation}: access denied") as info:
            action()
        assert_one_clean_line(info.value)


class ThrottlingEndpoint(ThreadingHTTPServer):
    """A FAKE Secrets Manager endpoint that answers every request with ThrottlingException.

    moto never throttles, so this is the only way to see botocore's throttling error here.
    """

    requests = 0


class _Throttle(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        assert isinstance(self.server, ThrottlingEndpoint)
        self.server.requests += 1
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def throttling_endpoint() -> Iterator[ThrottlingEndpoint]:
    server = ThrottlingEndpoint(("127.0.0.1", 0), _Throttle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_throttling_is_one_clear_error(
    throttling_endpoint: ThrottlingEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttling that outlasts the retries (AWS_MAX_ATTEMPTS) is one line saying so."""
    point_at(monkeypatch, f"http://127.0.0.1:{throttling_endpoint.server_address[1]}", "regcred/")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    with pytest.raises(
        CredentialStoreError, match="throttling GetSecretValue \\(ThrottlingException\\)"
    ) as info:
        AwsSecretsManagerStore().get("ghcr.io")
    assert_one_clean_line(info.value)
    assert throttling_endpoint.requests == 2  # botocore retried once, as AWS_MAX_ATTEMPTS says


# -- the catalogue and doctor ------------------------------------------------------------


def test_catalog_row_is_never_auto_selected() -> None:
    """The AWS store is known (doctor, migrate) but login never picks it by itself."""
    known = _catalog.for_helper("regcred-aws")
    assert known is not None
    assert known.load() is AwsSecretsManagerStore
    assert known.auto is False


def test_status_for_doctor(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """status() is ok with a reachable endpoint (naming prefix and region), unavailable without a region."""
    status = _catalog.by_backend("aws").status()
    assert status.state == "ok", status.detail
    assert aws_env.prefix in status.detail
    assert REGION in status.detail
    monkeypatch.delenv("AWS_REGION")
    assert AwsSecretsManagerStore().status().state == "unavailable"


# -- the bound: REGCRED_HELPER_TIMEOUT (#17.17) ------------------------------------------------


@pytest.fixture
def frozen_endpoint() -> Iterator[str]:
    """A named fake: an endpoint that accepts TCP connections and never answers (a frozen AWS).

    Nothing real behaves like this on demand; a listener that holds every
    connection open without a byte is what a hung proxy or load balancer is.
    """
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.parametrize(("cap", "attempts"), [(30.0, 3), (8.0, 3), (5.0, 10), (1.0, 3)])
def test_the_plan_fits_the_helper_cap(cap: float, attempts: int) -> None:
    """Every attempt's connect + read, plus the backoffs, fit in the budget, and the budget in the cap."""
    budget = _budget(cap)
    assert budget < cap
    n, connect, read = _plan(budget, attempts)
    assert 1 <= n <= attempts
    worst = n * (connect + read) + sum(0.05 * 2**i for i in range(n - 1))
    assert worst <= budget + 1e-6


def test_a_frozen_endpoint_fails_within_the_helper_timeout(
    frozen_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store gives up on its own, well inside REGCRED_HELPER_TIMEOUT (it took 60.6 s before)."""
    point_at(monkeypatch, frozen_endpoint, "regcred/")
    monkeypatch.setenv("REGCRED_HELPER_TIMEOUT", "4")
    started = time.monotonic()
    with pytest.raises(CredentialStoreError, match="did not answer") as info:
        AwsSecretsManagerStore().get("ghcr.io")
    assert time.monotonic() - started < 4
    assert "REGCRED_HELPER_TIMEOUT" in str(info.value)
    assert_one_clean_line(info.value)


def test_regcred_get_through_the_helper_gets_its_own_error_not_the_kill(
    frozen_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`regcred get` over the real helper and a frozen endpoint: the helper's line, before regcred's cap."""
    point_at(monkeypatch, frozen_endpoint, "regcred/")
    helper = Path(installed_helper("aws"))
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text('{"auths": {"ghcr.io": {}}, "credsStore": "regcred-aws"}')
    env = {**os.environ, "REGCRED_HELPER_TIMEOUT": "8", "PATH": f"{helper.parent}:{os.environ['PATH']}"}
    started = time.monotonic()
    done = subprocess.run(
        [str(helper.parent / "regcred"), "--config", str(config), "get", "ghcr.io"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert "did not answer" in done.stderr, done.stderr
    assert "timed out after" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert elapsed < 8
