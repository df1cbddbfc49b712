"""Which operating system this is, asked in one place.

Every branch regcred takes on the system (the config directory, the lock,
file modes, which stores run here (the catalogue's rows ask it), doctor's mode check, the PATH
lookup's ``PATHEXT``) asks this module, never ``sys.platform`` or
``os.name`` directly.  That keeps the branches few and lets the tests run the
Windows and macOS branches on Linux (tests/test_portable.py): they set
:data:`PLATFORM`, which nothing else in the interpreter reads, where patching
``os.name`` would break :mod:`pathlib` itself.

Imports only ``sys``: the helpers import it.
"""

from __future__ import annotations

import sys

__all__ = ["PLATFORM", "has_modes", "is_linux", "is_macos", "is_windows"]

#: ``sys.platform`` unless a test (named as a simulation) set another value.
PLATFORM: str = sys.platform


def is_windows() -> bool:
    """Windows: ``%USERPROFILE%``, ``msvcrt`` locks, ACLs instead of modes, ``wincred``."""
    return PLATFORM == "win32"


def is_linux() -> bool:
    """Linux: ``/proc`` (a stopped helper's descendants are found and killed there)."""
    return PLATFORM.startswith("linux")


def is_macos() -> bool:
    """macOS: the login keychain (``osxkeychain``)."""
    return PLATFORM == "darwin"


def has_modes() -> bool:
    """Whether permission bits mean anything here (Windows has ACLs; its ``st_mode`` is invented)."""
    return not is_windows()
