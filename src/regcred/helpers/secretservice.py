"""``docker-credential-regcred-secretservice``: credentials in the Secret Service (D-Bus).

Reads and writes the same items as docker's ``docker-credential-secretservice``
(see :mod:`regcred.stores.secretservice`), so either helper can read what the
other stored.  With no session bus or no keyring it answers ``get`` with
"not found" (plus a hint on stderr) instead of breaking anonymous pulls.
"""

from __future__ import annotations

from regcred.helpers._protocol import run

__all__ = ["main"]


def main() -> int:
    """Entry point of the console script."""
    from regcred.stores.secretservice import SecretServiceStore

    return run(SecretServiceStore, "docker-credential-regcred-secretservice")


if __name__ == "__main__":
    raise SystemExit(main())
