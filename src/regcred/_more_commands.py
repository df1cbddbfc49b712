"""The doctor, migrate and export subcommands (CLI wiring only)."""

from __future__ import annotations

import argparse
from typing import Any

from regcred.errors import RegcredError


def add_subcommands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register doctor, migrate and export on ``sub`` (an argparse subparsers action)."""


def run(args: argparse.Namespace) -> int:
    raise RegcredError(f"unknown command {args.command!r}")
