"""``docker-credential-regcred-pass``: credentials in the ``pass`` password store.

Reads and writes the same files as docker's ``docker-credential-pass``
(see :mod:`regcred.stores.pass_`), so either helper can read what the
other stored.
"""

from __future__ import annotations

import io
import sys

from regcred.helpers._protocol import serve

__all__ = ["main"]

PROGRAM = "docker-credential-regcred-pass"


def main() -> int:
    """Entry point of the console script."""
    from regcred.stores.pass_ import PassStore

    # Installed under another docker-credential-* name (a symlink), say that name.
    name = sys.argv[0].rpartition("/")[2] if sys.argv else ""
    program = name if name.startswith("docker-credential-") else PROGRAM
    stdin = sys.stdin.buffer if sys.stdin is not None else io.BytesIO()
    return serve(PassStore, sys.argv[1:], stdin, sys.stdout.buffer, sys.stderr, program=program)


if __name__ == "__main__":
    raise SystemExit(main())
