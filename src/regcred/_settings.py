"""Settings read from the environment (no imports beyond ``os``: helpers use this)."""

from __future__ import annotations

import os


def seconds(name: str, default: float) -> float:
    """``$name`` as a positive, finite number of seconds; anything else means ``default``."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if 0 < value < float("inf") else default
