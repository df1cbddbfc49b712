"""``docker-credential-regcred-secretservice``: credentials in the Secret Service (D-Bus).

Reads and writes the same items as docker's ``docker-credential-secretservice``
(see :mod:`regcred.stores.secretservice`), so either helper can read what the
other stored.  With no session bus or no keyring it answers ``get`` with
"not found" (plus a hint on stderr) instead of breaking anonymous pulls.
"""

from __future__ import annotations

import io
import sys

from regcred.helpers._protocol import serve

__all__ = ["main"]

PROGRAM = "docker-credential-regcred-secretservice"


def main() -> int:
    """Entry point of the console script."""
    from regcred.stores.secretservice import SecretServiceStore

    # Installed under another docker-credential-* name (a symlink), say that name.
    name = sys.argv[0].rpartition("/")[2] if sys.argv else ""
    program = name if name.startswith("docker-credential-") else PROGRAM
    stdin = sys.stdin.buffer if sys.stdin is not None else io.BytesIO()
    return serve(SecretServiceStore, sys.argv[1:], stdin, sys.stdout.buffer, sys.stderr, program=program)


if __name__ == "__main__":
    raise SystemExit(main())
