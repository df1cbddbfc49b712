"""``docker-credential-regcred-pass``: credentials in the ``pass`` password store.

Reads and writes the same files as docker's ``docker-credential-pass``
(see :mod:`regcred.stores.pass_`), so either helper can read what the
other stored.
"""

from __future__ import annotations

from regcred.helpers._protocol import run

__all__ = ["main"]


def main() -> int:
    """Entry point of the console script."""
    from regcred.stores.pass_ import PassStore

    return run(PassStore, "docker-credential-regcred-pass")


if __name__ == "__main__":
    raise SystemExit(main())
