"""serve() in-process: the exact bytes and exit codes of docker's credentials.Serve."""

from __future__ import annotations

import io
import json
import platform
import sys
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcred._version import __version__
from regcred.credentials import Credentials, CredentialStore
from regcred.errors import CredentialStoreError, StoreUnavailableError
from regcred.helpers._protocol import (
    MAX_INPUT_BYTES,
    MISSING_SERVER_URL,
    MISSING_USERNAME,
    NOT_FOUND,
    serve,
)
from regcred.testing import MemoryStore

pytestmark = pytest.mark.portable  # needs no Linux component: .github/workflows/portable.yml runs it

PROG = "docker-credential-test"
HUB = "https://index.docker.io/v1/"


class Unavailable(CredentialStore):
    """A backend that cannot run here."""

    def store(self, creds: Credentials) -> None:
        raise StoreUnavailableError("no pass store here: run `pass init`")

    def get(self, server: str) -> Credentials:
        raise StoreUnavailableError("no pass store here: run `pass init`")

    def erase(self, server: str) -> None:
        raise StoreUnavailableError("no pass store here: run `pass init`")

    def list(self) -> dict[str, str]:
        raise StoreUnavailableError("no pass store here: run `pass init`")


class Exploding(CredentialStore):
    """A backend with a bug whose message quotes the secret."""

    def store(self, creds: Credentials) -> None:
        raise ValueError(f"bad secret {creds.secret}")

    def get(self, server: str) -> Credentials:
        raise KeyError("topsecret")

    def erase(self, server: str) -> None:
        raise CredentialStoreError("erase failed:\nline two")

    def list(self) -> dict[str, str]:
        raise OSError(13, "Permission denied", "/store/dir")


@dataclass
class Run:
    """The result of one serve() call."""

    code: int
    out: bytes
    err: str
    stdin_left: bytes = field(repr=False, default=b"")


def run(args: list[str], stdin: bytes = b"", store: CredentialStore | None = None, **kw: str) -> Run:
    """serve() with BytesIO/StringIO streams; returns exit code, stdout, stderr."""
    target = store if store is not None else MemoryStore()
    stdin_io = io.BytesIO(stdin)
    out = io.BytesIO()
    err = io.StringIO()
    code = serve(lambda: target, args, stdin_io, out, err, program=kw.get("program", PROG))
    return Run(code, out.getvalue(), err.getvalue(), stdin_io.read())


def filled(*creds: Credentials) -> MemoryStore:
    """A MemoryStore holding ``creds``."""
    store = MemoryStore()
    for item in creds:
        store.data[item.server] = item
    return store


# --- §1.3: exact bytes per action ---------------------------------------------------


def test_store_as_docker_sends_it() -> None:
    """store: compact JSON + newline in, nothing out, exit 0."""
    store = MemoryStore()
    body = b'{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"s3cr"}\n'
    result = run(["store"], body, store)
    assert (result.code, result.out, result.err) == (0, b"", "")
    assert store.data[HUB] == Credentials(HUB, "alice", "s3cr")


def test_get_exact_bytes() -> None:
    """get: struct-order compact JSON with Go's HTML-safe escaping, newline, exit 0."""
    store = filled(Credentials(HUB, "alice", 's3cr<&>t\u2028\u2029\n\t"\\\x01\u00e9'))
    result = run(["get"], HUB.encode(), store)
    assert result.code == 0
    assert result.out == (
        b'{"ServerURL":"https://index.docker.io/v1/","Username":"alice",'
        b'"Secret":"s3cr\\u003c\\u0026\\u003et\\u2028\\u2029\\n\\t\\"\\\\\\u0001\xc3\xa9"}\n'
    )


def test_get_echoes_the_trimmed_request() -> None:
    """get: ServerURL is the trimmed request; a trailing newline is tolerated."""
    store = filled(Credentials("reg.example", "bob", "pw"))
    result = run(["get"], b" \t reg.example\r\n", store)
    assert result.out == b'{"ServerURL":"reg.example","Username":"bob","Secret":"pw"}\n'


def test_erase() -> None:
    """erase: nothing out, exit 0, entry gone; erasing a missing entry also succeeds."""
    store = filled(Credentials("reg.example", "bob", "pw"))
    assert (run(["erase"], b"reg.example", store).code, store.data) == (0, {})
    result = run(["erase"], b"reg.example", store)
    assert (result.code, result.out) == (0, b"")


def test_list_sorted_and_never_reads_stdin() -> None:
    """list: sorted compact map + newline; stdin is left untouched."""
    store = filled(Credentials("reg.example", "bob", "x"), Credentials(HUB, "alice", "y"))
    result = run(["list"], b"unused", store)
    assert result.code == 0
    assert result.out == b'{"https://index.docker.io/v1/":"alice","reg.example":"bob"}\n'
    assert result.stdin_left == b"unused"


def test_list_empty() -> None:
    """list of an empty store is `{}` and a newline."""
    assert run(["list"]).out == b"{}\n"


def test_version() -> None:
    """The protocol's ``version``: the Go helpers' one line, `<program> (regcred) v<version>`, exit 0."""
    result = run(["version"], b"never read")
    assert (result.code, result.out) == (0, f"{PROG} (regcred) v{__version__}\n".encode())
    assert result.stdin_left == b"never read"


@pytest.mark.parametrize("flag", ["-v", "--version"])
def test_version_flag_adds_what_a_bug_report_needs(flag: str) -> None:
    """-v and --version: that line, then Python (version, implementation, interpreter) and the platform."""
    result = run([flag], b"never read")
    first, second = result.out.decode().splitlines()
    assert result.code == 0
    assert first == f"{PROG} (regcred) v{__version__}"
    assert second == (
        f"Python {platform.python_version()} ({platform.python_implementation()}, {sys.executable})"
        f" on {platform.platform()}"
    )
    assert result.stdin_left == b"never read"


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help(flag: str) -> None:
    """-h and --help print the usage on stdout, exit 0."""
    result = run([flag])
    assert (result.code, result.out) == (
        0,
        f"Usage: {PROG} <store|get|erase|list|version>\n".encode(),
    )


# --- §1.4: errors ----------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["get", "extra"], ["store", "get", "erase"]])
def test_wrong_argument_count_prints_usage(args: list[str]) -> None:
    """Not exactly one argument: usage on stdout, exit 1."""
    result = run(args)
    assert (result.code, result.out) == (
        1,
        f"Usage: {PROG} <store|get|erase|list|version>\n".encode(),
    )


def test_unknown_action_never_reads_stdin() -> None:
    """An unknown action prints v0.9's message, exit 1, and leaves stdin alone."""
    result = run(["foo"], b"payload")
    assert (result.code, result.out) == (1, f"{PROG}: unknown action: foo\n".encode())
    assert result.stdin_left == b"payload"


def test_get_missing_is_the_magic_string() -> None:
    """A missing credential: exactly the not-found message on stdout, exit 1."""
    result = run(["get"], b"nothing.example")
    assert (result.code, result.out, result.err) == (1, NOT_FOUND.encode() + b"\n", "")


@pytest.mark.parametrize("action", ["get", "erase"])
@pytest.mark.parametrize("stdin", [b"", b"   ", b"  \r\n", b"\n\n", "\u3000\u2028\xa0".encode()])
def test_blank_server_url(action: str, stdin: bytes) -> None:
    """get/erase with blank input (Unicode whitespace too): no credentials server URL."""
    result = run([action], stdin)
    assert (result.code, result.out) == (1, MISSING_SERVER_URL.encode() + b"\n")


def test_trim_is_gos_not_pythons() -> None:
    """TrimSpace keeps U+001C..U+001F (Python's str.strip() would drop them)."""
    store = filled(Credentials("\x1creg\x1f", "u", "p"))
    assert run(["get"], b"\x1creg\x1f\n", store).code == 0


#: store inputs that fail, and the line Go's helpers print for each (tests/helpers/test_pass_helper.py
#: runs Debian's Go docker-credential-pass on every one and compares byte for byte).
GO_STORE_ERRORS = [
    (b'{"ServerURL":"","Username":"u","Secret":"s"}', MISSING_SERVER_URL),
    (b'{"Username":"u"}', MISSING_SERVER_URL),
    (b'{"ServerURL":"reg","Secret":"s"}', MISSING_USERNAME),
    (b'{"ServerURL":"reg","Username":null}', MISSING_USERNAME),
    (b"null", MISSING_SERVER_URL),
    (b"", "EOF"),
    (b"  \r\n\t ", "EOF"),
    (b'{"ServerURL":"reg"', "unexpected EOF"),
    (b'{"ServerURL":"re', "unexpected EOF"),
    (b"tru", "unexpected EOF"),
    (b"x", "invalid character 'x' looking for beginning of value"),
    (b"NaN", "invalid character 'N' looking for beginning of value"),
    (b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value"),
    (b"{x", "invalid character 'x' looking for beginning of object key string"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a":1 "b"}', "invalid character '\"' after object key:value pair"),
    (b'{"a":[1 2]}', "invalid character '2' after array element"),
    (b'{"a":"\\q"}', "invalid character 'q' in string escape code"),
    (b'{"a":"\\u12x4"}', "invalid character 'x' in \\u hexadecimal character escape"),
    (b'{"a":"\x01"}', "invalid character '\\x01' in string literal"),
    (b'{"a":"\t"}', "invalid character '\\t' in string literal"),
    (b'{"a":-x}', "invalid character 'x' in numeric literal"),
    (b'{"a":1.e}', "invalid character 'e' after decimal point in numeric literal"),
    (b'{"a":1e+}', "invalid character '}' in exponent of numeric literal"),
    (b'{"a":trux}', "invalid character 'x' in literal true (expecting 'e')"),
    (b'{"a":nul}', "invalid character '}' in literal null (expecting 'l')"),
    (b"{'a':1}", "invalid character '\\'' looking for beginning of object key string"),
    (
        b'{"ServerURL":1}',
        ("json: cannot unmarshal number into Go struct field Credentials.ServerURL of type string"),
    ),
    (
        b'{"username":true,"ServerURL":"r"}',
        "json: cannot unmarshal bool into Go struct field Credentials.Username of type string",
    ),
    (
        b'{"Secret":{"a":1},"Username":[1]}',
        "json: cannot unmarshal object into Go struct field Credentials.Secret of type string",
    ),
    (b"[1]", "json: cannot unmarshal array into Go value of type credentials.Credentials"),
    (b'"s"', "json: cannot unmarshal string into Go value of type credentials.Credentials"),
    (b"12", "json: cannot unmarshal number into Go value of type credentials.Credentials"),
    (b"false", "json: cannot unmarshal bool into Go value of type credentials.Credentials"),
    (b"[" * 10001, "invalid character '[' exceeded max depth"),
]


@pytest.mark.parametrize(("stdin", "message"), GO_STORE_ERRORS)
def test_store_errors_are_gos(stdin: bytes, message: str) -> None:
    """store reports Go's encoding/json and validation texts on stdout, exit 1."""
    store = MemoryStore()
    result = run(["store"], stdin, store)
    assert (result.code, result.out.decode()) == (1, message + "\n")
    assert store.data == {}


# --- Go decoding semantics ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (b'{"serverurl":"r","USERNAME":"u","secret":"s"}', ("r", "u", "s")),
        (b'{"\xc5\xbfERVERURL":"r","Username":"u"}', ("r", "u", "")),  # U+017F folds to S
        (b'{"ServerURL":"a","serverurl":"b","Username":"u"}', ("b", "u", "")),  # last wins
        (b'{"ServerURL":"r","Username":"u","Secret":null}', ("r", "u", "")),
        (b'{"ServerURL":"r","Username":"u","Secret":"s","Secret":null}', ("r", "u", "s")),
        (b'{"ServerURL":"r","Username":"u","Extra":{"x":[1,{"y":null}]}}', ("r", "u", "")),
        (b'{"ServerURL":"r","Username":"u"} trailing garbage', ("r", "u", "")),
        (b'{"ServerURL":"r","Username":"u"}{"ServerURL":"other"}', ("r", "u", "")),
        (b'{"ServerURL"\n:\n"r",\r\n"Username":"u"}', ("r", "u", "")),
        (
            b'{"ServerURL":"r\\u00e9\\ud83d\\ude00","Username":"\\ud800x"}',
            ("r\u00e9😀", "\ufffdx", ""),
        ),
        (b'{"ServerURL":"r\xff\xe2\x82","Username":"u"}', ("r\ufffd\ufffd\ufffd", "u", "")),
        (b'{"ServerURL":" spaced ","Username":"u"}', (" spaced ", "u", "")),
    ],
)
def test_store_decodes_like_go(stdin: bytes, expected: tuple[str, str, str]) -> None:
    """Case-insensitive fields, null = unchanged, first value only, U+FFFD per bad byte."""
    store = MemoryStore()
    result = run(["store"], stdin, store)
    assert (result.code, result.out) == (0, b"")
    [creds] = store.data.values()
    assert (creds.server, creds.username, creds.secret) == expected


def test_lines_are_joined_without_separator() -> None:
    """Each line loses `\\n` and one `\\r`, then lines are joined: 'a\\nb' looks up 'ab'."""
    store = filled(Credentials("ab", "u", "p"), Credentials("a\rb", "v", "q"))
    assert b'"Username":"u"' in run(["get"], b"a\nb\n", store).out
    assert b'"Username":"u"' in run(["get"], b"a\r\nb\r\n", store).out
    assert b'"Username":"v"' in run(["get"], b"a\r\r\nb", store).out


def test_store_json_split_over_lines() -> None:
    """A secret split by newlines is joined back (Go's Scanner drops the newlines)."""
    store = MemoryStore()
    assert run(["store"], b'{"ServerURL":"r","Username":"u","Secret":"ab\r\ncd"}', store).code == 0
    assert store.data["r"].secret == "abcd"


def test_70000_byte_inputs() -> None:
    """Lines over Go's 64 KiB token limit work for store and get."""
    secret = "s" * 70_000
    server = "r" * 70_000
    store = MemoryStore()
    body = json.dumps({"ServerURL": server, "Username": "u", "Secret": secret}).encode()
    assert run(["store"], body, store).code == 0
    result = run(["get"], server.encode(), store)
    assert result.code == 0
    assert json.loads(result.out)["Secret"] == secret


def test_input_cap() -> None:
    """More than 16 MiB of stdin is refused with a clear one-line error."""
    store = MemoryStore()
    result = run(["store"], b" " * (MAX_INPUT_BYTES + 1), store)
    assert (result.code, result.out) == (1, b"input too large: more than 16 MiB\n")
    assert store.calls == []


def test_get_invalid_utf8_is_replaced() -> None:
    """Invalid UTF-8 in a get request becomes U+FFFD, one per bad byte (as Go)."""
    store = filled(Credentials("r\ufffd\ufffd", "u", "p"))
    result = run(["get"], b"r\xe2\x82", store)
    assert result.code == 0
    assert json.loads(result.out)["ServerURL"] == "r\ufffd\ufffd"


# --- laziness and unavailable backends ------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["-v"], ["--help"], ["version"], ["bogus"]])
def test_store_not_constructed_without_need(args: list[str]) -> None:
    """usage/help/version/unknown never construct the store."""
    built: list[int] = []

    def factory() -> CredentialStore:
        built.append(1)
        return MemoryStore()

    serve(factory, args, io.BytesIO(), io.BytesIO(), io.StringIO(), program=PROG)
    assert built == []


def test_validation_before_construction() -> None:
    """A bad store request fails before the backend is even built."""
    built: list[int] = []

    def factory() -> CredentialStore:
        built.append(1)
        return MemoryStore()

    out = io.BytesIO()
    code = serve(factory, ["store"], io.BytesIO(b"{}"), out, io.StringIO(), program=PROG)
    assert (code, out.getvalue(), built) == (1, MISSING_SERVER_URL.encode() + b"\n", [])


def test_unavailable_get_is_not_found_with_a_hint() -> None:
    """Unavailable backend on get: not-found on stdout (exit 1) and one stderr hint line."""
    result = run(["get"], b"reg.example", Unavailable())
    assert (result.code, result.out) == (1, NOT_FOUND.encode() + b"\n")
    assert result.err.count("\n") == 1
    assert "run `pass init`" in result.err
    assert result.err.startswith(PROG)


def test_unavailable_list_is_an_error() -> None:
    """Unavailable backend on list: exit 1 with the reason, never an empty `{}` that hides entries."""
    result = run(["list"], b"", Unavailable())
    assert result.code == 1
    assert b"pass init" in result.out
    assert result.out != b"{}\n"


@pytest.mark.parametrize(
    ("action", "stdin"),
    [("store", b'{"ServerURL":"r","Username":"u","Secret":"s"}'), ("erase", b"r")],
)
def test_unavailable_store_and_erase_fail_loudly(action: str, stdin: bytes) -> None:
    """Unavailable backend on store/erase: the reason on stdout, exit 1."""
    result = run([action], stdin, Unavailable())
    assert (result.code, result.out) == (1, b"no pass store here: run `pass init`\n")


def test_factory_raising_unavailable() -> None:
    """A factory that raises StoreUnavailableError gets the same policy."""

    def factory() -> CredentialStore:
        raise StoreUnavailableError("no bus")

    out = io.BytesIO()
    err = io.StringIO()
    code = serve(factory, ["get"], io.BytesIO(b"r"), out, err, program=PROG)
    assert (code, out.getvalue()) == (1, NOT_FOUND.encode() + b"\n")
    assert "no bus" in err.getvalue()


def test_unexpected_errors_never_show_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug's message (which may quote input) is not printed; one line, exit 1."""
    monkeypatch.delenv("REGCRED_DEBUG", raising=False)
    body = b'{"ServerURL":"r","Username":"u","Secret":"hunter2"}'
    result = run(["store"], body, Exploding())
    assert (result.code, result.out) == (1, f"{PROG}: unexpected error: ValueError\n".encode())
    assert "hunter2" not in result.err
    assert run(["get"], b"r", Exploding()).out == f"{PROG}: unexpected error: KeyError\n".encode()


def test_store_errors_are_one_line() -> None:
    """A multi-line store error is printed on one line."""
    assert run(["erase"], b"r", Exploding()).out == b"erase failed: line two\n"


def test_os_errors_keep_their_text() -> None:
    """OSError texts (file names, never secrets) are shown."""
    result = run(["list"], b"", Exploding())
    assert result.out == f"{PROG}: unexpected error: [Errno 13] Permission denied: '/store/dir'\n".encode()


def test_debug_traceback_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """REGCRED_DEBUG=1 adds the traceback on stderr; stdout stays one line."""
    monkeypatch.setenv("REGCRED_DEBUG", "1")
    result = run(["get"], b"r", Exploding())
    assert "Traceback" in result.err
    assert result.out.count(b"\n") == 1


def test_bad_debug_setting_is_its_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """REGCRED_DEBUG that is neither on nor off: the setting's one line, no traceback."""
    monkeypatch.setenv("REGCRED_DEBUG", "maybe")
    result = run(["get"], b"r", Exploding())
    assert result.code == 1
    assert result.out.startswith(b"REGCRED_DEBUG is neither on nor off: ")
    assert result.out.count(b"\n") == 1
    assert "Traceback" not in result.err


def test_terminal_stdin_gets_a_prompt_on_stderr() -> None:
    """Run by hand at a terminal, get says what it waits for (stderr only)."""

    class Terminal(io.BytesIO):
        def isatty(self) -> bool:
            return True

    out = io.BytesIO()
    err = io.StringIO()
    code = serve(MemoryStore, ["get"], Terminal(b"nothing.example\n"), out, err, program=PROG)
    assert (code, out.getvalue()) == (1, NOT_FOUND.encode() + b"\n")
    assert err.getvalue() == f"{PROG}: reading the server URL from stdin; end it with Ctrl-D\n"
    assert run(["get"], b"nothing.example").err == ""


def test_broken_stdout_is_exit_1() -> None:
    """A reader that went away (broken pipe) is exit 1, no exception."""

    class Broken(io.BytesIO):
        def write(self, data: object) -> int:
            raise BrokenPipeError

    code = serve(MemoryStore, ["list"], io.BytesIO(), Broken(), io.StringIO(), program=PROG)
    assert code == 1


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from(["store", "get", "erase", "list"]),
    stdin=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=100).map(str.encode),
        st.builds(
            lambda d: json.dumps(d).encode(),
            st.dictionaries(
                st.sampled_from(["ServerURL", "serverurl", "Username", "Secret", "x"]),
                st.one_of(st.none(), st.text(max_size=20), st.integers(), st.booleans()),
            ),
        ),
    ),
)
def test_any_stdin_gives_one_line_and_exit_0_or_1(action: str, stdin: bytes) -> None:
    """Whatever the bytes: exit 0/1, no traceback, stdout empty or exactly one line."""
    result = run([action], stdin, filled(Credentials("r", "u", "p")))
    assert result.code in {0, 1}
    assert "Traceback" not in result.err
    assert result.out == b"" or (result.out.endswith(b"\n") and result.out.count(b"\n") == 1)
    if result.code == 1:
        assert result.out
    if result.code == 0 and action in {"get", "list"}:
        assert isinstance(json.loads(result.out), dict)
    result.out.decode()  # always valid UTF-8


_TEXT = st.text(alphabet=st.characters(codec="utf-8"))
_SERVER = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1).filter(
    lambda s: not s[0].isspace() and not s[-1].isspace()
)


@settings(max_examples=200, deadline=None)
@given(server=_SERVER, username=_TEXT.filter(bool), secret=_TEXT)
def test_store_get_round_trip(server: str, username: str, secret: str) -> None:
    """Whatever docker stores, get returns exactly, as JSON that decodes back."""
    store = MemoryStore()
    body = json.dumps({"ServerURL": server, "Username": username, "Secret": secret}).encode()
    assert run(["store"], body + b"\n", store).code == 0
    result = run(["get"], server.encode(), store)
    assert result.code == 0
    assert json.loads(result.out) == {"ServerURL": server, "Username": username, "Secret": secret}
