"""The ``status`` subcommand: which stored credentials still work (``gh auth status`` for registries).

The work is :func:`regcred._tools.status.status`; this module prints it.
Exit 0 when nothing failed; 1 when a credential is rejected or expired (or
its store cannot be read), or a SERVER has nothing stored.  Never prints a
secret; writes nothing.
"""

from __future__ import annotations

import sys

from regcred.cli._args import CommonArgs, seconds

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    import argparse


class StatusArgs(CommonArgs):
    servers: list[str]
    check: bool
    json: bool
    timeout: float


def add_status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "For every stored credential (or those for SERVER…): its store, username, kind "
        "(password, personal access token, identity token, Hub access/refresh token) and, where "
        "a JWT says, its expiry. --check verifies each against its registry as login does. "
        "Exit 1 if any is rejected or expired. Never prints a secret; writes nothing."
    )
    parser.add_argument("servers", metavar="SERVER", nargs="*", help="only these registries")
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify each against its registry, in parallel: valid, rejected, expired, unreachable",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=20.0,
        metavar="SECONDS",
        help="with --check: give up on one registry after this long (default 20)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print [{"key","username","store","kind","expires","state","detail"}…]',
    )


def _when(expires: float | None) -> str:
    if expires is None:
        return "-"
    import datetime as dt

    return dt.datetime.fromtimestamp(expires, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_status(args: StatusArgs) -> int:
    from regcred._tools.status import status

    rows = status(args.servers, check=args.check, timeout=args.timeout, config_dir=args.config)
    failed = any(row.failed for row in rows)
    if args.json:
        from regcred._gojson import dumps_compact

        doc = [
            {
                "key": r.key,
                "username": r.username,
                "store": r.store,
                "kind": r.kind,
                "expires": _when(r.expires) if r.expires is not None else None,
                "state": r.state,
                "detail": r.detail,
            }
            for r in rows
        ]
        sys.stdout.write(dumps_compact(doc))
        return 1 if failed else 0
    if not rows:
        print("no stored credentials", file=sys.stderr)
        return 0
    from regcred._text import printable

    table = [("REGISTRY", "USERNAME", "KIND", "EXPIRES", "STATE", "STORE")]
    table += [
        (printable(r.key), printable(r.username), r.kind, _when(r.expires), r.state, printable(r.store))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row, r in zip(table, [None, *rows], strict=True):
        line = (
            "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)) + "  " + row[5]
        )
        print(line.rstrip())
        if r is not None and r.detail:
            print(f"    {printable(r.detail)}")
    return 1 if failed else 0
