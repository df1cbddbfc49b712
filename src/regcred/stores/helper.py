"""Run ``docker-credential-<name>`` programs, as the Docker CLI does, but safely.

* The name must match ``[A-Za-z0-9._-]+`` and is looked up on ``PATH``
  only (absolute entries; never the current directory).
* Secrets travel on stdin only, with the exact bytes the Docker CLI sends.
* ``get`` recognises not-found exactly as docker does: the trimmed stdout
  equals ``credentials not found in native keychain``.
* A timeout (``REGCRED_HELPER_TIMEOUT``, default 30 s) kills the helper's
  whole process group, and stdout/stderr are capped, so a hung or chatty
  helper cannot hang or flood regcred.
* Every error carries the helper's output with the secret we sent redacted,
  and the helper's stderr is passed on redacted too.
"""

from __future__ import annotations

import json
import os
import re
import sys

from regcred._gojson import dumps_compact, encode_utf8
from regcred._settings import helper_timeout
from regcred.credentials import Credentials, CredentialStore
from regcred.errors import CredentialsNotFoundError, HelperError, StoreUnavailableError

__all__ = ["HelperStore", "find_helper", "valid_helper_name"]

NOT_FOUND = "credentials not found in native keychain"
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_OUTPUT_CAP = 4 * 1024 * 1024
_REDACTED = "<redacted>"


def valid_helper_name(name: str) -> bool:
    return bool(_NAME_RE.fullmatch(name)) and name not in {".", ".."}


def find_helper(name: str) -> str | None:
    """Absolute path of ``docker-credential-<name>`` on PATH, or None."""
    if not valid_helper_name(name):
        return None
    program = f"docker-credential-{name}"
    for entry in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            continue  # never resolve through "." or a relative PATH entry
        candidate = os.path.join(entry, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class _Result:
    __slots__ = ("returncode", "stderr", "stdout")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


class HelperStore(CredentialStore):
    """A credential store behind an external ``docker-credential-<name>`` program."""

    def __init__(self, name: str, *, timeout: float | None = None) -> None:
        if not valid_helper_name(name):
            raise HelperError(
                f"invalid credential helper name {name!r}: only letters, digits, '.', '_' and '-' are allowed"
            )
        self.name = name
        self.program = f"docker-credential-{name}"
        self.timeout = timeout if timeout is not None else helper_timeout()

    # -- protocol ----------------------------------------------------------

    def store(self, creds: Credentials) -> None:
        _check_server(creds.server)
        payload = dumps_compact(
            {"ServerURL": creds.server, "Username": creds.username, "Secret": creds.secret}
        )
        self._run("store", encode_utf8(payload), secrets=(creds.secret,))

    def get(self, server: str) -> Credentials:
        _check_server(server)
        out = self._run("get", encode_utf8(server), not_found_ok=True)
        if out is None:
            raise CredentialsNotFoundError(f"{self.program} has no credentials for {server}")
        data = _decode_object(out, self.program, "get")
        fields = {k.lower(): v for k, v in data.items()}
        username = fields.get("username") or ""
        secret = fields.get("secret") or ""
        if not isinstance(username, str) or not isinstance(secret, str):
            raise HelperError(f"{self.program} get: Username and Secret must be strings")
        if not username and not secret:
            # docker-credential-pass 0.6.4 answers a miss with exit 0 and empty fields.
            raise CredentialsNotFoundError(f"{self.program} has no credentials for {server}")
        return Credentials(server, username, secret)

    def erase(self, server: str) -> None:
        _check_server(server)
        self._run("erase", encode_utf8(server))

    def list(self) -> dict[str, str]:
        out = self._run("list", b"unused")
        data = _decode_object(out or b"", self.program, "list")
        listed = {k: v for k, v in data.items() if isinstance(v, str)}
        if len(listed) != len(data):
            raise HelperError(f"{self.program} list: expected a JSON object of strings")
        return listed

    # -- process handling --------------------------------------------------

    def _run(
        self,
        action: str,
        payload: bytes,
        *,
        secrets: tuple[str, ...] = (),
        not_found_ok: bool = False,
    ) -> bytes | None:
        path = find_helper(self.name)
        if path is None:
            raise StoreUnavailableError(
                f"{self.program} not found on PATH; install it or change the credential "
                "store in config.json (credsStore / credHelpers)"
            )
        result = _run_capped(path, action, payload, self.timeout, self.program)
        stderr = _redact(result.stderr.decode("utf-8", "replace"), secrets)
        if stderr.strip():
            sys.stderr.write(stderr if stderr.endswith("\n") else stderr + "\n")
        if result.returncode == 0:
            return result.stdout
        text = _redact(result.stdout.decode("utf-8", "replace"), secrets).strip()
        if not_found_ok and text == NOT_FOUND:
            return None
        detail = f": {text}" if text else f" (exit status {result.returncode})"
        verb = {"store": "storing", "get": "getting", "erase": "erasing", "list": "listing"}[action]
        raise HelperError(f"error {verb} credentials with {self.program}{detail}")


def _run_capped(path: str, action: str, payload: bytes, timeout: float, program: str) -> _Result:
    """Run the helper with stdin ``payload``; kill its process group on timeout or overflow."""
    import selectors
    import signal
    import subprocess
    import time

    try:
        proc = subprocess.Popen(
            [path, action],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise HelperError(f"cannot run {program}: {exc.strerror}") from None
    if proc.stdin is None or proc.stdout is None or proc.stderr is None:  # pragma: no cover
        raise HelperError(f"cannot talk to {program}: no pipes")
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    out: dict[int, bytearray] = {out_fd: bytearray(), err_fd: bytearray()}
    pending = memoryview(payload)
    deadline = time.monotonic() + timeout
    failure = ""
    with selectors.DefaultSelector() as sel:
        if pending:
            os.set_blocking(proc.stdin.fileno(), False)
            sel.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                failure = f"{program} {action} timed out after {timeout:g} s and was stopped"
                break
            for key, _ in sel.select(remaining):
                if key.fileobj is proc.stdin:
                    try:
                        pending = pending[os.write(key.fd, pending) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                out[key.fd] += chunk
                if len(out[key.fd]) > _OUTPUT_CAP:
                    failure = f"{program} {action} wrote more than {_OUTPUT_CAP} bytes and was stopped"
                    break
            if failure:
                break
    if failure:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        returncode = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        returncode = proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if not stream.closed:
            stream.close()
    if failure:
        raise HelperError(failure)
    return _Result(returncode, bytes(out[out_fd]), bytes(out[err_fd]))


def _decode_object(out: bytes, program: str, action: str) -> dict[str, object]:
    try:
        data = json.loads(out.decode("utf-8", "replace"))
    except (ValueError, RecursionError):  # garbage, or JSON nested deeper than Python recurses
        what = "nothing" if not out.strip() else "invalid JSON"
        raise HelperError(f"{program} {action} printed {what} (exit status 0)") from None
    if not isinstance(data, dict):
        raise HelperError(f"{program} {action}: expected a JSON object")
    return data


def _check_server(server: str) -> None:
    if not server or any(c in server for c in "\r\n\x00"):
        # Helpers join stdin lines: a newline would change which key they act on.
        raise HelperError("refusing to pass a server URL that is empty or has line breaks to a helper")


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    """Replace each secret, raw or in any JSON spelling a helper might echo."""
    for secret in secrets:
        if not secret:
            continue
        spellings = {
            secret,
            json.dumps(secret, ensure_ascii=False)[1:-1],
            json.dumps(secret)[1:-1],
            dumps_compact(secret)[1:-2],
        }
        for spelling in sorted(spellings, key=len, reverse=True):
            text = text.replace(spelling, _REDACTED)
    return text
