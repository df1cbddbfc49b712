"""The credential-helper client against explicit fake helpers (regcred.stores.helper).

The fakes stand in for what cannot be made to misbehave on demand: a helper
that hangs, crashes, floods, prints garbage or echoes the secret back.  The
real Go helpers are exercised in tests/test_helper_client_real.py.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from regcred.credentials import Credentials
from regcred.errors import CredentialsNotFoundError, HelperError, StoreUnavailableError
from regcred.stores.helper import HelperStore, find_helper
from tests.fixtures.programs import helper_script

CANARY = "CANARY-s3cret-<&>"


def _fake(bin_dir: Path, name: str, body: str) -> None:
    helper_script(bin_dir, name, f"import sys, os, json, time\n{body}\n")


_RECORDER = """
log = os.environ["FAKE_LOG"]
data = sys.stdin.buffer.read()
with open(log, "ab") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "stdin": data.decode()}).encode() + b"\\n")
action = sys.argv[1]
if action == "get":
    if data == b"reg.example":
        sys.stdout.write('{"ServerURL":"reg.example","Username":"alice","Secret":"pw"}\\n')
    else:
        sys.stdout.write("credentials not found in native keychain\\n"); sys.exit(1)
elif action == "list":
    sys.stdout.write('{"reg.example":"alice"}\\n')
"""


def test_exact_bytes_on_stdin(bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """store/get/erase/list send the Docker CLI's exact bytes, secrets only on stdin."""
    log = tmp_path / "log"
    monkeypatch.setenv("FAKE_LOG", str(log))
    _fake(bin_dir, "rec", _RECORDER)
    store = HelperStore("rec")
    store.store(Credentials("reg.example", "alice", "p<w>&"))
    assert store.get("reg.example").secret == "pw"
    with pytest.raises(CredentialsNotFoundError):
        store.get("other.example")
    store.erase("reg.example")
    assert store.list() == {"reg.example": "alice"}
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls == [
        {
            "argv": ["store"],
            "stdin": '{"ServerURL":"reg.example","Username":"alice","Secret":"p\\u003cw\\u003e\\u0026"}\n',
        },
        {"argv": ["get"], "stdin": "reg.example"},
        {"argv": ["get"], "stdin": "other.example"},
        {"argv": ["erase"], "stdin": "reg.example"},
        {"argv": ["list"], "stdin": "unused"},
    ]


@pytest.mark.parametrize("name", ["../../tmp/x", "a/b", "x;rm", "", ".", "..", "a b"])
def test_bad_helper_names_rejected(name: str) -> None:
    """Only [A-Za-z0-9._-]+ names are run (S25)."""
    with pytest.raises(HelperError, match="invalid credential helper name"):
        HelperStore(name)


def test_no_lookup_in_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper in the CWD or a relative PATH entry is never found (S26)."""
    (tmp_path / "docker-credential-cwd").write_text("#!/bin/sh\n")
    (tmp_path / "docker-credential-cwd").chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f".{os.pathsep}{os.pathsep}/usr/bin")
    assert find_helper("cwd") is None
    with pytest.raises(StoreUnavailableError, match="not found on PATH"):
        HelperStore("cwd").get("reg.example")


def test_hanging_helper_times_out(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper that never answers is killed, with its children, after the timeout (S27)."""
    _fake(bin_dir, "hang", "import subprocess; subprocess.Popen(['sleep', '600']); time.sleep(600)")
    monkeypatch.setenv("REGCRED_HELPER_TIMEOUT", "1")
    start = time.monotonic()
    with pytest.raises(HelperError, match="timed out after 1 s"):
        HelperStore("hang").get("reg.example")
    assert time.monotonic() - start < 10


def test_helper_that_does_not_read_stdin(bin_dir: Path) -> None:
    """A huge payload to a helper that exits without reading does not hang or crash."""
    _fake(bin_dir, "deaf", "sys.exit(3)")
    with pytest.raises(HelperError, match="exit status 3"):
        HelperStore("deaf").store(Credentials("reg.example", "u", "x" * 1_000_000))


def test_flooding_helper_is_capped(bin_dir: Path) -> None:
    """Endless output is cut off with an error, not read into memory forever (S28)."""
    _fake(bin_dir, "flood", "chunk = b'x' * 65536\nwhile True: sys.stdout.buffer.write(chunk)")
    with pytest.raises(HelperError, match="more than"):
        HelperStore("flood").get("reg.example")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("print('garbage{'); sys.exit(0)", "invalid JSON"),
        ("sys.exit(0)", "printed nothing"),
        ("print('[1,2]')", "expected a JSON object"),
        ("print('Cannot autolaunch D-Bus without X11 $DISPLAY'); sys.exit(1)", "Cannot autolaunch"),
        ("os.kill(os.getpid(), 9)", "exit status -9"),
    ],
)
def test_broken_helpers_fail_closed(bin_dir: Path, body: str, message: str) -> None:
    """Garbage, crashes and errors are errors, never "not found" and never a crash (S28)."""
    _fake(bin_dir, "broken", body)
    with pytest.raises(HelperError, match=message):
        HelperStore("broken").get("reg.example")


def test_echoing_helper_is_redacted(bin_dir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A helper that echoes its stdin (the secret) on stdout and stderr: the canary is redacted (S29).

    Of a failing helper only the error's one line is shown; its stderr is not passed on (#17.18).
    """
    _fake(
        bin_dir,
        "echo",
        "data = sys.stdin.read(); print('failed on ' + data)\n"
        "print('err ' + data, file=sys.stderr); sys.exit(1)",
    )
    with pytest.raises(HelperError) as info:
        HelperStore("echo").store(Credentials("reg.example", "alice", CANARY))
    out, err = capfd.readouterr()
    assert "CANARY" not in str(info.value)
    assert "<redacted>" in str(info.value)
    assert "CANARY" not in out + err
    assert (out, err) == ("", "")
    assert str(info.value).startswith("error storing credentials with docker-credential-echo: failed on ")


_ECHO_FORMS = {
    "upper": "print(secret.upper())",
    "swapcase": "print('rejected ' + secret.swapcase() + ' for you')",
    "split": "print(secret[:8]); print(secret[8:])",
    "split-stderr": "print('bad'); print(secret[:5] + '\\n  ' + secret[5:], file=sys.stderr)",
    "spaced": "print(' '.join(secret))",
    "upper-split": "print(secret.upper()[:6], secret.upper()[6:], sep='\\r\\n')",
}


@pytest.mark.parametrize("form", sorted(_ECHO_FORMS))
@pytest.mark.parametrize("exit_code", [1, 0])
def test_echo_upper_cased_or_split_never_shows_the_secret(
    bin_dir: Path, capfd: pytest.CaptureFixture[str], form: str, exit_code: int
) -> None:
    """An echo upper-cased or split across lines (#17.18): nothing of the secret, at most one line.

    The helper is a named test double; with exit 0 its stdout is the (bad)
    answer and what it wrote on stderr is what is passed on.
    """
    body = "secret = json.loads(sys.stdin.read())['Secret']\n"
    if exit_code == 0:
        body += "sys.stdout = sys.stderr\n"  # a successful store's stdout is not read: echo on stderr
    body += _ECHO_FORMS[form]
    _fake(bin_dir, "echocase", body + f"\nsys.exit({exit_code})")
    secret = "CANARYsecretvalue"
    shown = ""
    try:
        HelperStore("echocase").store(Credentials("reg.example", "alice", secret))
    except HelperError as exc:
        shown = str(exc)
    out, err = capfd.readouterr()
    everything = (shown + out + err).casefold()
    for piece in ("canary", "secretvalue", "c a n a r y"):
        assert piece not in everything, (shown, err)
    assert (shown + "\n" + err).strip().count("\n") == 0  # one line in all
    assert out == ""
    if exit_code:
        assert shown.startswith("error storing credentials with docker-credential-echocase")
    else:
        assert shown == ""


def test_a_long_or_many_lined_failure_is_one_bounded_line(
    bin_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Pages of output from a failing helper: its first line, cut at 200 characters (#17.18)."""
    _fake(bin_dir, "chatty", "print('x' * 5000); [print('line', n) for n in range(100)]; sys.exit(1)")
    with pytest.raises(HelperError) as info:
        HelperStore("chatty").get("reg.example")
    out, err = capfd.readouterr()
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("x…")
    assert message.count("x") <= 200
    assert (out, err) == ("", "")


@pytest.mark.parametrize("server", ["reg.example\nevil.example", "a\rb", "a\x00b", ""])
def test_line_breaks_never_reach_a_helper(bin_dir: Path, server: str) -> None:
    """A key with a line break or NUL is refused before any helper runs (S30)."""
    _fake(bin_dir, "never", "open(os.environ['HOME'] + '/ran', 'w').close()")
    with pytest.raises(HelperError, match="line breaks"):
        HelperStore("never").get(server)
    assert not (Path.home() / "ran").exists()


def test_pass_064_empty_answer_is_not_found(bin_dir: Path) -> None:
    """docker-credential-pass 0.6.4's exit-0 empty answer for a miss counts as not found."""
    _fake(bin_dir, "old", 'print(\'{"ServerURL":"x","Username":"","Secret":""}\')')
    with pytest.raises(CredentialsNotFoundError):
        HelperStore("old").get("x")


def test_case_insensitive_answer(bin_dir: Path) -> None:
    """Helper answers are decoded like Go does: field names case-insensitive, extras ignored."""
    _fake(bin_dir, "ci", 'print(\'{"username":"u","SECRET":"s","Extra":1}\')')
    creds = HelperStore("ci").get("reg.example")
    assert (creds.server, creds.username, creds.secret) == ("reg.example", "u", "s")


# The hostile helper's spellings, computed with the real encoders (not with regcred._redact).
_EVERY_SPELLING = r"""
import base64, json, re, urllib.parse
go_html = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
payload = json.loads(sys.stdin.read())
secret, user = payload["Secret"], payload["Username"]
raw = secret.encode()
forms = [
    secret,
    json.dumps(secret), json.dumps(secret, ensure_ascii=False), json.dumps({"Secret": secret}),
    json.dumps(secret, ensure_ascii=False).translate(str.maketrans(go_html)),
    urllib.parse.quote(secret), urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
    re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), urllib.parse.quote(secret)),
    base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
    base64.b64encode(raw).decode().rstrip("="),
    base64.b64encode(f"{user}:{secret}".encode()).decode(),
    base64.urlsafe_b64encode(f"{user}:{secret}".encode()).decode(),
    repr(secret), ascii(secret), repr(raw),
]
form = forms[int(os.environ["FORM"])]
print("echo: " + form)
print("echo: " + form, file=sys.stderr)
sys.exit(1)
"""


@pytest.mark.parametrize("secret", [CANARY, 'CANARY pässwörd/+?=\U0001f511 "q" \\ \t end', "CANARY~-_.0"])
def test_echoing_helper_every_spelling_is_redacted(
    bin_dir: Path, capfd: pytest.CaptureFixture[str], secret: str
) -> None:
    """A hostile helper (a test double) echoes the secret in every encoding: none survives (S29)."""
    _fake(bin_dir, "echoall", _EVERY_SPELLING)
    for form in range(17):
        os.environ["FORM"] = str(form)
        try:
            with pytest.raises(HelperError) as info:
                HelperStore("echoall").store(Credentials("reg.example", "alice", secret))
        finally:
            del os.environ["FORM"]
        out, err = capfd.readouterr()
        message = str(info.value)
        assert (out, err) == ("", "")  # a failing helper's stderr is not passed on (#17.18)
        assert "CANARY" not in message
        prefix = "error storing credentials with docker-credential-echoall: echo: "
        assert message.partition(prefix)[2] in {
            "<redacted>",
            '"<redacted>"',
            "'<redacted>'",
            "b'<redacted>'",
            '{"Secret": "<redacted>"}',
        }, (form, message)


def test_a_not_found_answer_passes_on_the_first_line_of_its_hint(
    bin_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """ "Not found" with a hint on stderr (as our helpers explain why): the hint's first line is shown."""
    _fake(
        bin_dir,
        "hinting",
        "print('docker-credential-hinting: no session bus (answering not found)', file=sys.stderr)\n"
        "print('second line', file=sys.stderr)\n"
        "print('credentials not found in native keychain'); sys.exit(1)",
    )
    with pytest.raises(CredentialsNotFoundError):
        HelperStore("hinting").get("reg.example")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "docker-credential-hinting: no session bus (answering not found)\n")
