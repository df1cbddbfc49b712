"""atheris target: address normalisation (regcred._address)."""

# ruff: noqa: INP001  -- a script run by path, not a package
import sys

import atheris

with atheris.instrument_imports():
    from _targets import check_address

if __name__ == "__main__":
    atheris.Setup(sys.argv, check_address)
    atheris.Fuzz()
