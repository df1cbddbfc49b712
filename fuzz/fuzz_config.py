"""atheris target: the config loader (regcred._config.parse, render)."""

# ruff: noqa: INP001  -- a script run by path, not a package
import sys

import atheris

with atheris.instrument_imports():
    from _targets import check_config

if __name__ == "__main__":
    atheris.Setup(sys.argv, check_config)
    atheris.Fuzz()
