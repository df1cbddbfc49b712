"""regcred's version (hatch reads it from here), and the runtime line every ``--version`` prints."""

__version__ = "0.1.0"


def runtime() -> str:
    """Python (implementation, interpreter) and the platform, on one line, for a bug report."""
    import platform
    import sys

    python = f"Python {platform.python_version()} ({platform.python_implementation()}, {sys.executable})"
    return f"{python} on {platform.platform()}"
