"""Run ``docker-credential-<name>`` programs, as the Docker CLI does, but safely.

* The name must match ``[A-Za-z0-9._-]+`` and is looked up on ``PATH``
  only (absolute entries; never the current directory).
* Secrets travel on stdin only, with the exact bytes the Docker CLI sends.
* ``get`` recognises not-found exactly as docker does: the trimmed stdout
  equals ``credentials not found in native keychain``.
* A timeout (``REGCRED_HELPER_TIMEOUT``, default 30 s) kills the helper's
  whole process group, and stdout/stderr are capped, so a hung or chatty
  helper cannot hang or flood regcred.
* Of a helper's output, at most one bounded line is ever shown
  (:func:`regcred._redact.shown_line`): the error of a failing helper
  carries the first line of its stdout (else of its stderr), and a helper
  that succeeds (or answers "not found") gets the first line of its stderr
  passed on.  The secret we
  sent is redacted in every spelling and case, and output that still holds
  it once line breaks are removed (an echo split across lines) is withheld.
* The process handling (absolute path, timeout, cap, process-group kill) is
  :mod:`regcred._process`, shared with gpg and git.
"""

from __future__ import annotations

import json
import re
import sys

from regcred import _process
from regcred._gojson import dumps_compact, encode_utf8
from regcred._redact import shown_line
from regcred._settings import helper_timeout
from regcred.credentials import Credentials, CredentialStore
from regcred.errors import CredentialsNotFoundError, HelperError, StoreUnavailableError

__all__ = ["HelperStore", "find_helper", "valid_helper_name"]

NOT_FOUND = "credentials not found in native keychain"
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_OUTPUT_CAP = _process.DEFAULT_OUTPUT_CAP


def valid_helper_name(name: str) -> bool:
    return bool(_NAME_RE.fullmatch(name)) and name not in {".", ".."}


def find_helper(name: str) -> str | None:
    """Absolute path of ``docker-credential-<name>`` on PATH, or None (:func:`regcred._process.which`)."""
    if not valid_helper_name(name):
        return None
    return _process.which(f"docker-credential-{name}")


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
        self._run("store", encode_utf8(payload), secrets=(creds.secret,), usernames=(creds.username,))

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
        usernames: tuple[str, ...] = (),
        not_found_ok: bool = False,
    ) -> bytes | None:
        path = find_helper(self.name)
        if path is None:
            raise StoreUnavailableError(
                f"{self.program} not found on PATH; install it or change the credential "
                "store in config.json (credsStore / credHelpers)"
            )
        try:
            result = _process.run([path, action], stdin=payload, timeout=self.timeout, output_cap=_OUTPUT_CAP)
        except _process.ProcessTimeoutError:
            raise HelperError(
                f"{self.program} {action} timed out after {self.timeout:g} s and was stopped"
            ) from None
        except _process.OutputTooLargeError:
            raise HelperError(
                f"{self.program} {action} wrote more than {_OUTPUT_CAP} bytes and was stopped"
            ) from None
        except _process.CannotStartError as exc:
            raise HelperError(f"cannot run {self.program}: {exc.reason}") from None
        stderr = shown_line(result.stderr.decode("utf-8", "replace"), secrets, usernames=usernames)
        stdout = result.stdout.decode("utf-8", "replace")
        found_nothing = not_found_ok and result.returncode != 0 and stdout.strip() == NOT_FOUND
        if result.returncode == 0 or found_nothing:
            if stderr:  # a hint (our helpers: why they answer "not found"), its first line only
                sys.stderr.write(stderr + "\n")
            return None if found_nothing else result.stdout
        text = shown_line(stdout, secrets, usernames=usernames) or stderr
        detail = f": {text}" if text else f" (exit status {result.returncode})"
        verb = {"store": "storing", "get": "getting", "erase": "erasing", "list": "listing"}[action]
        raise HelperError(f"error {verb} credentials with {self.program}{detail}")


def _decode_object(out: bytes, program: str, action: str) -> dict[str, object]:
    text = out.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # garbage, or JSON nested deeper than Python recurses
        what = "nothing" if not out.strip() else "invalid JSON"
        raise HelperError(f"{program} {action} printed {what} (exit status 0)") from None
    if not isinstance(data, dict):
        raise HelperError(f"{program} {action}: expected a JSON object")
    if "\\ud" in text or "\\uD" in text:  # maybe a lone surrogate escape: read it as Go does
        data = {_go_string(k): _go_string(v) if isinstance(v, str) else v for k, v in data.items()}
    return data


def _go_string(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate replaced by U+FFFD, as Go's encoding/json decodes it.

    Python keeps a ``"\\ud800"`` escape as a character no encoder can write;
    docker reads it as U+FFFD, and so does regcred (issue 11 #6).
    """
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _check_server(server: str) -> None:
    if not server or any(c in server for c in "\r\n\x00"):
        # Helpers join stdin lines: a newline would change which key they act on.
        raise HelperError("refusing to pass a server URL that is empty or has line breaks to a helper")
