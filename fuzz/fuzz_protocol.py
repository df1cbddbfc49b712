"""atheris target: the helper protocol (regcred.helpers._protocol.serve, in-memory store)."""

# ruff: noqa: INP001  -- a script run by path, not a package
import sys

import atheris

with atheris.instrument_imports():
    from _targets import check_protocol

if __name__ == "__main__":
    atheris.Setup(sys.argv, check_protocol)
    atheris.Fuzz()
