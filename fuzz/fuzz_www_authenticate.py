"""atheris target: the WWW-Authenticate parser (regcred._net.www_authenticate)."""

# ruff: noqa: INP001  -- a script run by path, not a package
import sys

import atheris

with atheris.instrument_imports():
    from _targets import check_www_authenticate

if __name__ == "__main__":
    atheris.Setup(sys.argv, check_www_authenticate)
    atheris.Fuzz()
