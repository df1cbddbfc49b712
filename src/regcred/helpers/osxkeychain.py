"""``docker-credential-regcred-osxkeychain``: credentials in the macOS keychain.

Reads and writes the same internet-password items as docker's
``docker-credential-osxkeychain`` (see :mod:`regcred.stores.osxkeychain`), so
either helper can read what the other stored.
"""

from __future__ import annotations

from regcred.helpers._protocol import run

__all__ = ["main"]


def main() -> int:
    """Entry point of the console script."""
    from regcred.stores.osxkeychain import OsxKeychainStore

    return run(OsxKeychainStore, "docker-credential-regcred-osxkeychain")


if __name__ == "__main__":
    raise SystemExit(main())
