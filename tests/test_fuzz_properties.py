"""Property tests (hypothesis) the other suites do not have yet.

* The config loader on arbitrary JSON *structures* (tests/test_config.py
  already throws arbitrary bytes at it): they load or raise ConfigError,
  nothing else; error messages never quote a value; and a successful
  update keeps every key it does not own.
* The helper protocol's input handling through the *installed* helper
  executables, in subprocesses, on real stores (tests/helpers/test_protocol.py
  does the in-process ``serve``): any stdin bytes give exit 0 or 1, one line,
  no traceback, and the store is intact.
* Address normalisation beyond tests/test_registry.py: ``split_repository``,
  ``to_hostname``, ``is_hub`` and ``logout_aliases`` on arbitrary input,
  and IPv6 literals.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from regcred import _config
from regcred._address import DOCKER_HUB, is_hub, logout_aliases, normalize, split_repository, to_hostname
from regcred.errors import AddressError, ConfigError
from tests.conftest import installed_helper

if TYPE_CHECKING:
    from tests.fixtures.passstore import PassEnv

_FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

# --------------------------------------------------------------------------- config loader

#: Values a secret could have: marked, so that a message quoting one is caught.
_SECRETISH = st.text(max_size=12).map(lambda s: "SECRETVALUE" + s)
_SCALAR: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), _SECRETISH
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_ENTRY_FIELD = st.sampled_from(
    ["auth", "Auth", "AUTH", "username", "password", "identitytoken", "registrytoken", "email",
     "serveraddress", "unknownField"]
)  # fmt: skip
_AUTH_VALUE = st.one_of(
    st.sampled_from(["dXNlcjpwYXNz", "dXNlcg==", "OnBhc3M=", "!!!", "", "dTpw\n"]),  # user:pass, user, :pass
    _SECRETISH,
    _JSON,
)
_ENTRY = st.dictionaries(_ENTRY_FIELD, _AUTH_VALUE, max_size=4) | _JSON
_TOP_KEY = st.sampled_from(
    ["auths", "Auths", "AUTHS", "credsStore", "CredsStore", "credHelpers", "credhelpers", "psFormat",
     "proxies", "x-unknown", "currentContext"]
)  # fmt: skip
_CONFIG = st.dictionaries(
    _TOP_KEY,
    st.dictionaries(st.text(max_size=12), _ENTRY, max_size=4) | _JSON,
    max_size=5,
)


def _load(tmp_path: Path, value: Any) -> dict[str, Any] | ConfigError:
    raw = json.dumps(value).encode()
    try:
        return _config.parse(tmp_path / "config.json", raw)
    except ConfigError as exc:
        return exc


@_FIXTURE_OK
@given(_JSON | _CONFIG)
def test_any_json_structure_loads_or_is_a_config_error(tmp_path: Path, value: Any) -> None:
    """Arbitrary JSON (config-shaped or not): a dict or ConfigError, one line, no value quoted."""
    result = _load(tmp_path, value)
    if isinstance(result, ConfigError):
        message = str(result)
        assert "\n" not in message
        assert "SECRETVALUE" not in message
        assert str(tmp_path / "config.json") in message  # names the file
    else:
        assert isinstance(value, dict)
        assert result == value


def _unchanged(before: Any, after: Any) -> bool:
    """JSON equality, with ints and floats compared as JSON numbers."""
    return json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)


@_FIXTURE_OK
@given(_CONFIG, st.sampled_from(["set", "remove", "marker"]))
def test_update_keeps_what_it_does_not_own(tmp_path: Path, value: dict[str, Any], action: str) -> None:
    """After a successful update, every unknown key and every other entry is as it was."""
    assume(not isinstance(_load(tmp_path, value), ConfigError))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(value))
    key = "fuzz-new.example:5000"

    def change(config: _config.Config) -> None:
        if action == "set":
            config.set_auth(key, "fuzz-user", "fuzz-password")
        elif action == "marker":
            config.set_marker(key)
        else:
            config.remove_auth(key)

    _config.update(path, change)
    after = json.loads(path.read_text())
    auths_key = next((k for k in ("auths", *value) if k.lower() == "auths" and k in value), "auths")
    for name, old in value.items():
        if name.lower() == "credhelpers" and old == {}:
            assert name not in after  # docker drops an empty credHelpers, and so does regcred
        elif name != auths_key:
            assert _unchanged(old, after[name]), name
    for server, entry in value.get(auths_key, {}).items():
        if server != key:
            assert _unchanged(entry, after[auths_key][server]), server
    reloaded = _config.load(path)
    entry = reloaded.entry(key)
    if action == "remove":
        assert entry is None
    else:
        assert entry is not None
        assert (entry.username, entry.password) == (
            ("fuzz-user", "fuzz-password") if action == "set" else ("", "")
        )


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 100_000])
def test_deeply_nested_json_is_a_config_error(tmp_path: Path, raw: bytes) -> None:
    """A config nested 100,000 deep is refused with ConfigError, not a RecursionError traceback."""
    with pytest.raises(ConfigError):
        _config.parse(tmp_path / "config.json", raw)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(tmp_path: Path, constant: str) -> None:
    """NaN and Infinity are not JSON: the file is refused, as docker refuses it."""
    with pytest.raises(ConfigError):
        _config.parse(tmp_path / "config.json", f'{{"x-unknown": {constant}}}'.encode())


def test_an_overflowing_number_survives_an_update(tmp_path: Path) -> None:
    """A number too big for a double, in a key docker ignores, is written back as valid JSON."""
    path = tmp_path / "config.json"
    path.write_bytes(b'{"auths": {}, "x-unknown": [1e999, -2E512]}')
    _config.update(path, lambda c: c.set_auth("fuzz.example", "u", "p"))
    text = path.read_text()
    assert "Infinity" not in text
    assert _config.load(path).entry("fuzz.example") is not None  # regcred reads what it wrote


_DEEP = b"[" * 100_000


@pytest.mark.parametrize("status", [200, 401])
def test_deeply_nested_token_response_is_a_login_error(status: int) -> None:
    """A token server answering 100,000 nested arrays gets a LoginError, not a traceback."""
    from regcred._net import token_client
    from regcred._net.http import Response
    from regcred.errors import LoginError

    response = Response(status, "x", (), _DEEP, "http://127.0.0.1:1/token")
    if status == 200:
        with pytest.raises(LoginError):
            token_client.parse_token(response, token_client.Secrets("pw"))
    else:
        assert token_client.token_error(response, token_client.Secrets("pw")).startswith("unauthorized")


def test_deeply_nested_helper_output_is_a_helper_error() -> None:
    """A helper printing 100,000 nested arrays is a HelperError, not a RecursionError."""
    from regcred.errors import HelperError
    from regcred.stores import helper as _helper_client

    with pytest.raises(HelperError):
        _helper_client._decode_object(_DEEP, "docker-credential-x", "get")


# --------------------------------------------------------------------------- helper executables


_KNOWN = {"ServerURL": "known.example:5000", "Username": "known-user", "Secret": "known-secret"}
_STDIN = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=60).map(str.encode),
    st.sampled_from([b"", b"\n", b"\r\n", b"\xff\xfe", b"known.example:5000", b"{}", b"null", b"[" * 20000]),
    st.builds(
        lambda d: json.dumps(d).encode(),
        st.dictionaries(
            st.sampled_from(["ServerURL", "serverurl", "Username", "Secret", "x"]),
            st.none() | st.text(max_size=12) | st.integers() | st.booleans(),
        ),
    ),
)


def _check_helper(helper: str, action: str, stdin: bytes, env: dict[str, str] | None) -> None:
    done = subprocess.run(
        [helper, action], input=stdin, capture_output=True, timeout=60, check=False, env=env
    )
    assert done.returncode in {0, 1}, done
    assert b"Traceback" not in done.stdout + done.stderr
    assert done.stdout == b"" or (done.stdout.endswith(b"\n") and done.stdout.count(b"\n") == 1)
    done.stdout.decode()  # valid UTF-8
    if done.returncode == 1:
        assert done.stdout  # the error is on stdout, where docker reads it
    if done.returncode == 0 and action in {"get", "list"}:
        assert isinstance(json.loads(done.stdout), dict)
    # The entry stored before the fuzzing is intact (unless this very call replaced or erased it).
    changed_known = stdin.strip() == _KNOWN["ServerURL"].encode() or b"known.example" in stdin
    if not changed_known:
        got = subprocess.run(
            [helper, "get"],
            input=_KNOWN["ServerURL"].encode(),
            capture_output=True,
            timeout=60,
            check=False,
            env=env,
        )
        assert (got.returncode, json.loads(got.stdout)) == (0, _KNOWN)
    listed = subprocess.run([helper, "list"], capture_output=True, timeout=60, check=False, env=env)
    assert listed.returncode == 0
    assert isinstance(json.loads(listed.stdout), dict)


def _prime(helper: str, env: dict[str, str] | None) -> None:
    done = subprocess.run(
        [helper, "store"],
        input=json.dumps(_KNOWN).encode(),
        capture_output=True,
        timeout=60,
        check=True,
        env=env,
    )
    assert done.stdout == b""


_HELPER_RUNS = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=40
)


@pytest.mark.slow
@_HELPER_RUNS
@given(action=st.sampled_from(["store", "get", "erase", "list"]), stdin=_STDIN)
def test_installed_pass_helper_any_stdin(pass_env: PassEnv, action: str, stdin: bytes) -> None:
    """docker-credential-regcred-pass: any stdin gives exit 0/1, one line, no traceback; store intact."""
    helper = installed_helper("pass")
    _prime(helper, pass_env.env())
    _check_helper(helper, action, stdin, pass_env.env())


@pytest.mark.slow
@pytest.mark.usefixtures("keyring")
@_HELPER_RUNS
@given(action=st.sampled_from(["store", "get", "erase", "list"]), stdin=_STDIN)
def test_installed_secretservice_helper_any_stdin(action: str, stdin: bytes) -> None:
    """docker-credential-regcred-secretservice: the same, on a real gnome-keyring."""
    helper = installed_helper("secretservice")
    _prime(helper, None)
    _check_helper(helper, action, stdin, None)


@pytest.mark.parametrize("name", ["pass", "secretservice"])
@pytest.mark.parametrize("args", [[], ["get", "extra"], ["--bogus"], ["STORE"], ["\udcff"]])
def test_installed_helper_bad_arguments(name: str, args: list[str]) -> None:
    """Bad arguments: usage or unknown-action on stdout, exit 1, no store touched, no traceback."""
    argv: list[bytes] = [
        installed_helper(name).encode(),
        *(a.encode("utf-8", "surrogateescape") for a in args),
    ]
    done = subprocess.run(argv, input=b"", capture_output=True, timeout=60, check=False)
    assert done.returncode == 1
    assert b"Traceback" not in done.stdout + done.stderr
    assert done.stdout.count(b"\n") == 1


# --------------------------------------------------------------------------- addresses

_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_HOST = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)
_PORT = st.integers(1, 65535)
_IPV6 = st.ip_addresses(v=6).map(str)
_REPO = st.lists(st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+)?", fullmatch=True), min_size=1, max_size=3).map(
    "/".join
)
_ANY_TEXT = st.text(max_size=60) | st.text(alphabet=":/[]@.-_?#%0123456789abcdefxyzHTPS", max_size=40)


@given(_ANY_TEXT)
@example("0:A")  # a Hub image with a tag: once a random CI failure (issue 20)
@example("alpine:3.19")
@example("localhost:5000")
@example("a.b:x")
def test_address_functions_never_crash(text: str) -> None:
    """split_repository/normalize raise only AddressError; to_hostname and is_hub never raise."""
    to_hostname(text)
    hub = is_hub(text)
    try:
        key, repo = split_repository(text)
    except AddressError as exc:
        assert "\n" not in str(exc)
    else:
        assert normalize(key) == key
        # A reference whose first component is no host (``alpine``, ``user/app``)
        # is a Docker Hub image, by docker's reference grammar (issue 10 #10).
        hub_image = "://" not in text and not _host_like(*_first_component(text))
        assert (key == DOCKER_HUB) == (hub or hub_image) or text == ""
        assert not repo.startswith("/")
        assert not repo.endswith("/")


@given(host=_HOST, port=st.none() | _PORT)
def test_every_logout_alias_normalises_back(host: str, port: int | None) -> None:
    """Each alias logout erases is a spelling of the same key, the key first."""
    key = normalize(f"{host}:{port}" if port else host)
    aliases = logout_aliases(key)
    assert aliases[0] == key
    assert len(set(aliases)) == len(aliases)
    for alias in aliases:
        assert normalize(alias) == key
        assert is_hub(alias) == (key == DOCKER_HUB)


@given(address=_IPV6, port=st.none() | _PORT, scheme=st.sampled_from(["", "https://", "http://"]))
def test_ipv6_literals(address: str, port: int | None, scheme: str) -> None:
    """Bracketed IPv6 literals keep their spelling; the key is bracketed and a fixed point."""
    bracketed = f"[{address}]" + (f":{port}" if port else "")
    key = normalize(f"{scheme}{bracketed}/v2/")
    assert key == bracketed
    assert normalize(key) == key
    assert ipaddress.IPv6Address(key[1 : key.index("]")]) == ipaddress.IPv6Address(address)
    assert to_hostname(f"{scheme}{bracketed}/v2/") == bracketed


@pytest.mark.parametrize("text", ["::1%]", "::1%x]:5000", "0::1%et]30o:e8ttp:/"])
def test_ipv6_zone_id_cannot_break_the_brackets(text: str) -> None:
    """A zone ID holding ']' is refused, or the key it gives is a fixed point."""
    try:
        key = normalize(text)
    except AddressError:
        return
    assert normalize(key) == key


def _first_component(text: str) -> tuple[str, str]:
    """The name and the first component docker's grammar tests for host-likeness.

    In a lone component (no ``/``) a ``:tag`` is the image's tag (``alpine:3.19``,
    and ``0:A`` is the Hub image ``library/0``), except that a numeric one is a
    port (``localhost:5000``): the tag is dropped before the test.
    """
    first = text.split("/", 1)[0]
    if "/" not in text:
        first = first.split("@", 1)[0]
        name, colon, tag = first.rpartition(":")
        if colon and not tag.isdigit():
            first = name
    return first.rsplit("@", 1)[0].split(":", 1)[0], first


def _host_like(name: str, component: str) -> bool:
    """docker's test for a reference's first component: a registry, not a Hub user."""
    return "." in component or ":" in component or component.startswith("[") or name == "localhost"


@given(host=_HOST, port=st.none() | _PORT, repo=_REPO)
def test_split_repository_names_the_registry(host: str, port: int | None, repo: str) -> None:
    """``host[:port]/ns/repo`` splits into the registry key and the repository path.

    A first component with no dot, no port and not ``localhost`` is a Docker Hub
    user by docker's reference grammar (``user/app``), not a registry.
    """
    hostport = f"{host}:{port}" if port else host
    if not _host_like(host, hostport):
        key, path = split_repository(f"{hostport}/{repo}")
        assert (key, path) == (DOCKER_HUB, f"{hostport}/{repo}")
        return
    key, path = split_repository(f"{hostport}/{repo}")
    assert path == repo
    assert key == normalize(hostport)
