"""The claims of a JWT, read without verifying it: only for a username and an expiry.

docker reads its Hub access token the same way (``oauth.GetClaims``:
``UnsafeClaimsWithoutVerification``).  Nothing here trusts a claim for a
security decision: ``login`` takes the Hub username from it, ``status``
shows when a token says it expires.  No claim is ever printed but those two.
"""

from __future__ import annotations

import base64
import binascii
import json

__all__ = ["claims", "expiry"]


def claims(token: str) -> dict[str, object] | None:
    """The payload of a compact JWS (``header.payload.signature``), or None if ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def expiry(token: str) -> float | None:
    """The ``exp`` claim (seconds since the epoch) of a JWT, or None."""
    found = claims(token)
    exp = found.get("exp") if found else None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)
