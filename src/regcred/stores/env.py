"""``DOCKER_AUTH_CONFIG`` as a store: read-only, exact keys, first in every lookup.

Docker 28.3+ reads a JSON ``{"auths": {key: {"auth": "<base64 user:pass>"}}}``
from this variable and puts it in front of the configured store: reads check
it first, by exact key.  Only ``auths`` is allowed, and every entry needs
``auth`` (docker's own error text is kept).  regcred never writes it:
``store`` and ``erase`` raise, and login/logout warn that it is set.
"""

from __future__ import annotations

import os
from pathlib import Path

from regcred import _config
from regcred.credentials import Credentials, CredentialStore
from regcred.errors import ConfigError, CredentialsNotFoundError, CredentialStoreError

__all__ = ["VARIABLE", "EnvStore"]

VARIABLE = "DOCKER_AUTH_CONFIG"


class EnvStore(CredentialStore):
    """The credentials in ``$DOCKER_AUTH_CONFIG`` (parsed once, when constructed)."""

    name = "env"

    def __init__(self, raw: str) -> None:
        where = Path(f"${VARIABLE}")
        data_bytes = raw.encode("utf-8", "surrogateescape")  # undecodable bytes: "not UTF-8", below
        try:
            data = _config.parse(where, data_bytes)
        except ConfigError as exc:
            raise ConfigError(_about_variable(str(exc), where)) from None
        unknown = set(data) - {"auths"}
        if unknown:
            raise ConfigError(f"{VARIABLE}: unknown field {min(unknown)!r} (only auths is allowed)")
        self.config = _config.Config(where, data, data_bytes)
        for key in self.config.auth_keys():
            entry = self.config.entry(key)
            if entry is None or not entry.password:
                raise ConfigError(f"{VARIABLE} environment variable is missing key `auth` for {key}")

    @classmethod
    def from_environ(cls) -> EnvStore | None:
        """The store for the current environment, or None when the variable is unset or empty."""
        raw = os.environ.get(VARIABLE)
        return cls(raw) if raw else None

    def get(self, server: str) -> Credentials:
        entry = self.config.entry(server)
        found = entry.credentials(server) if entry is not None else None
        if found is None:
            raise CredentialsNotFoundError(f"{VARIABLE} holds no credentials for {server}")
        return found

    def list(self) -> dict[str, str]:
        return {e.key: e.shown_username for e in self.config.entries() if e.has_secret}

    def store(self, creds: Credentials) -> None:  # noqa: ARG002 - read-only by design
        raise CredentialStoreError(f"{VARIABLE} is read-only: unset it to store credentials")

    def erase(self, server: str) -> None:
        raise CredentialStoreError(f"{VARIABLE} is read-only: unset it (or edit it) to remove {server}")


def _about_variable(message: str, where: Path) -> str:
    """A config-file error about the variable, in the variable's words (it is no file to move)."""
    prefix = f"{where}: "
    text = message.removeprefix(prefix)
    text = text.replace("; fix or move the file (regcred will not overwrite it)", "")
    return f"the {VARIABLE} environment variable is not valid: {text}; fix it or unset it"
