"""The four fuzz targets' checks, shared by the atheris entry points.

Each ``check_*`` takes the fuzzer's bytes and raises ``AssertionError`` (or
lets an unexpected exception escape) when regcred misbehaves.  The first runs
found four bugs (RecursionError from deep JSON in the config loader, NaN and
Infinity accepted as JSON, and an IPv6 zone ID holding ``]`` that broke
``normalize``); they are fixed, and these checks now hold them fixed.
"""

# ruff: noqa: INP001, S101  -- imported by the fuzz scripts, not a package; fuzz checks assert
from __future__ import annotations

import io
import json
import math
from pathlib import Path

from regcred import _config
from regcred._address import DOCKER_HUB, is_hub, logout_aliases, normalize, split_repository, to_hostname
from regcred._net.www_authenticate import parse_headers, parse_www_authenticate
from regcred.credentials import Credentials, CredentialStore
from regcred.errors import AddressError, ConfigError, CredentialsNotFoundError
from regcred.helpers._protocol import NOT_FOUND, serve

_PATH = Path("/fuzz/config.json")
_TOKEN_CHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


# --------------------------------------------------------------------------- WWW-Authenticate


def check_www_authenticate(data: bytes) -> None:
    """The parser never raises; schemes and names are lower-case tokens; several headers add up."""
    text = _text(data)
    challenges = parse_www_authenticate(text)
    for challenge in challenges:
        assert challenge.scheme, "empty scheme"
        assert challenge.scheme == challenge.scheme.lower()
        assert set(challenge.scheme) <= _TOKEN_CHARS, challenge.scheme
        for name in challenge.params:
            assert name == name.lower()
            assert set(name) <= _TOKEN_CHARS, name
        assert not (challenge.params and challenge.token68), "both params and token68"
    half = len(text) // 2
    parse_headers([text[:half], text[half:]])
    assert parse_headers([text]) == challenges


# --------------------------------------------------------------------------- config loader


def check_config(data: bytes) -> None:
    """parse → dict or ConfigError (one line); what regcred renders, it reads back unchanged."""
    try:
        parsed = _config.parse(_PATH, data)
    except ConfigError as exc:
        assert "\n" not in str(exc), str(exc)
        return
    assert isinstance(parsed, dict)
    assert not _nonfinite(parsed), "NaN or Infinity accepted: not JSON"
    config = _config.Config(_PATH, parsed, data)
    list(config.entries())
    config.contains_auth()
    rendered = config.render()
    reparsed = _config.parse(_PATH, rendered)
    if not any(k.lower() == "auths" for k in parsed):
        assert reparsed.pop("auths") == {}  # render adds docker's empty "auths"
    assert reparsed == parsed, "render does not round-trip"
    config.set_auth("fuzz.example:5000", "fuzz-user", "fuzz-password")
    again = _config.Config(_PATH, _config.parse(_PATH, config.render()), None)
    entry = again.entry("fuzz.example:5000")
    assert entry is not None
    assert (entry.username, entry.password) == ("fuzz-user", "fuzz-password")


def _nonfinite(value: object) -> bool:
    """Whether a parsed JSON value holds NaN or an infinity anywhere."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# --------------------------------------------------------------------------- addresses


def check_address(data: bytes) -> None:
    """normalize/split_repository raise only AddressError; keys are fixed points; aliases map back."""
    text = _text(data)
    to_hostname(text)
    hub = is_hub(text)
    try:
        key = normalize(text)
    except AddressError as exc:
        assert "\n" not in str(exc)
        key = ""
    if key:
        assert normalize(key) == key, (text, key)
        assert (key == DOCKER_HUB) == hub or text == "", (text, key)
        for alias in logout_aliases(key):
            assert normalize(alias) == key, (text, key, alias)
        assert not any(c.isspace() for c in key)
    try:
        repo_key, repo = split_repository(text)
    except AddressError:
        return
    assert normalize(repo_key) == repo_key
    assert not repo.startswith("/")


# --------------------------------------------------------------------------- helper protocol


class MemoryStore(CredentialStore):
    """A dict-backed store."""

    name = "memory"

    def __init__(self) -> None:
        self.data: dict[str, Credentials] = {}

    def store(self, creds: Credentials) -> None:
        self.data[creds.server] = creds

    def get(self, server: str) -> Credentials:
        try:
            return self.data[server]
        except KeyError:
            raise CredentialsNotFoundError(server) from None

    def erase(self, server: str) -> None:
        self.data.pop(server, None)

    def list(self) -> dict[str, str]:
        return {server: creds.username for server, creds in self.data.items()}


_ACTIONS = ("store", "get", "erase", "list", "version", "-h", "bogus")
_KNOWN_CREDS = Credentials("known.example:5000", "known-user", "known-secret")


def check_protocol(data: bytes) -> None:
    """serve(): exit 0/1, one UTF-8 line or nothing on stdout, no traceback, the store intact."""
    if not data:
        return
    action, stdin = _ACTIONS[data[0] % len(_ACTIONS)], data[1:]
    store = MemoryStore()
    store.store(_KNOWN_CREDS)
    out, err = io.BytesIO(), io.StringIO()
    code = serve(lambda: store, [action], io.BytesIO(stdin), out, err, program="docker-credential-fuzz")
    stdout = out.getvalue()
    assert code in {0, 1}, code
    assert "Traceback" not in err.getvalue()
    stdout.decode("utf-8")  # strict: always valid UTF-8
    assert stdout == b"" or (stdout.endswith(b"\n") and stdout.count(b"\n") == 1), stdout
    if code == 1:
        assert stdout
    if action in {"get", "list"} and code == 0:
        assert isinstance(json.loads(stdout), dict)
    if action == "get" and code == 1:
        assert stdout == (NOT_FOUND + "\n").encode() or b"server URL" in stdout, stdout
    # Intact: the known entry is gone only after an erase of it, replaced only by a store of it.
    known = store.data.get(_KNOWN_CREDS.server)
    if action not in {"store", "erase"}:
        assert known == _KNOWN_CREDS
    if action == "erase" and code == 0 and known is None:
        assert b"known.example:5000" in stdin
    if action == "store" and code == 0:
        assert len(store.data) <= 2
