"""Which operating system this is, asked in one place.

Every branch regcred takes on the system (the config directory, the lock,
file modes, the default credential store, doctor's mode check, the PATH
lookup's ``PATHEXT``) asks this module, never ``sys.platform`` or
``os.name`` directly.  That keeps the branches few and lets the tests run the
Windows and macOS branches on Linux (tests/test_portable.py): they set
:data:`PLATFORM`, which nothing else in the interpreter reads, where patching
``os.name`` would break :mod:`pathlib` itself.

Imports only ``sys``: the helpers import it.
"""

from __future__ import annotations

import sys

__all__ = ["PLATFORM", "default_backends", "has_modes", "is_macos", "is_windows"]

#: ``sys.platform`` unless a test (named as a simulation) set another value.
PLATFORM: str = sys.platform


def is_windows() -> bool:
    """Windows: ``%USERPROFILE%``, ``msvcrt`` locks, ACLs instead of modes, ``wincred``."""
    return PLATFORM == "win32"


def is_macos() -> bool:
    """macOS: the login keychain (``osxkeychain``)."""
    return PLATFORM == "darwin"


def has_modes() -> bool:
    """Whether permission bits mean anything here (Windows has ACLs; its ``st_mode`` is invented)."""
    return not is_windows()


def default_backends() -> tuple[str, ...]:
    """The backends docker's ``DetectDefaultStore`` picks from here, in regcred's order.

    macOS ``osxkeychain``, Windows ``wincred``; elsewhere the Secret Service,
    then pass (regcred prefers the Secret Service where docker tries pass first).
    """
    if is_macos():
        return ("osxkeychain",)
    if is_windows():
        return ("wincred",)
    return ("secretservice", "pass")
