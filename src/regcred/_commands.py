"""Subcommands beyond get/list: login, logout (and later doctor, migrate, export)."""

from __future__ import annotations

import argparse
from typing import Any


def add_subcommands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the subcommands on ``sub`` (an argparse subparsers action)."""


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError(args.command)
