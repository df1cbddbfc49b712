"""The ``get`` and ``list`` subcommands: the read side, which never loads the login stack.

Both run inside other tools' scripts on every pull, so they import only
the lookup code (no HTTP, no TLS).  ``list`` prints keys and usernames from
a file anyone may have written: the text output escapes terminal controls
(:func:`regcred._text.printable`); ``--json`` is exact JSON.
"""

from __future__ import annotations

import sys

from regcred.cli._args import CommonArgs

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    import argparse


class GetArgs(CommonArgs):
    server: str | None


def add_get_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        'Print {"ServerURL","Username","Secret"} for SERVER, as a credential '
        "helper's get does. Exit 1 if there are none."
    )
    parser.add_argument("server", metavar="SERVER", nargs="?", help="registry (default: Docker Hub)")


def run_get(args: GetArgs) -> int:
    from regcred._address import DOCKER_HUB, split_repository
    from regcred._gojson import dumps_compact
    from regcred._lookup import get_credentials

    server = args.server
    creds = get_credentials(server, config_dir=args.config)
    if creds is None:
        key, _ = split_repository(server) if server else (DOCKER_HUB, "")
        print(f"regcred: no credentials stored for {key}", file=sys.stderr)
        return 1
    doc = {"ServerURL": creds.server, "Username": creds.username, "Secret": creds.secret}
    sys.stdout.write(dumps_compact(doc))
    return 0


class ListArgs(CommonArgs):
    json: bool


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Print every stored registry key and its username. Never prints a secret."
    parser.add_argument("--json", action="store_true", help="print a JSON object {key: username}")


def run_list(args: ListArgs) -> int:
    from regcred._lookup import list_credentials

    entries = list_credentials(config_dir=args.config)
    if args.json:
        from regcred._gojson import dumps_compact

        sys.stdout.write(dumps_compact(entries, sort_keys=True))
        return 0
    if not entries:
        print("no stored credentials", file=sys.stderr)
        return 0
    from regcred._address import HUB_TOKEN_KEYS
    from regcred._text import printable

    rows = [
        (printable(key), printable(username), HUB_TOKEN_KEYS.get(key, ""))
        for key, username in entries.items()
    ]
    width = max(len(key) for key, _, _ in rows)
    for key, username, label in rows:
        print(f"{key:<{width}}  {username}" + (f"  ({label})" if label else ""))
    return 0
