"""``docker-credential-regcred-wincred``: credentials in the Windows Credential Manager.

Reads and writes the same generic credentials as docker's
``docker-credential-wincred`` (see :mod:`regcred.stores.wincred`), so either
helper can read what the other stored.
"""

from __future__ import annotations

from regcred.helpers._protocol import run

__all__ = ["main"]


def main() -> int:
    """Entry point of the console script."""
    from regcred.stores.wincred import WincredStore

    return run(WincredStore, "docker-credential-regcred-wincred")


if __name__ == "__main__":
    raise SystemExit(main())
