"""The ``get`` and ``list`` subcommands: the read side, which never loads the login stack.

Both run inside other tools' scripts on every pull, so they import only
the lookup code (no HTTP, no TLS).  ``list`` prints keys and usernames from
a file anyone may have written: the text output escapes terminal controls
(:func:`regcred._text.printable`); ``--json`` is exact JSON.  The text output
covers docker's and podman's stores, one row per credential with its source
(``docker:/path/config.json``, ``podman:/run/containers/0/auth.json``,
``…:docker-credential-NAME``); ``--json`` stays docker's ``{key: username}``
for scripts that parse it, and ``--json --sources`` gives every row.
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
    sources: bool
    keys: bool


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print every stored registry key, its username and where it is stored (docker's "
        "config.json or helper, then podman's auth files and registries.conf helpers). "
        "Never prints a secret."
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON object {key: username} of docker's stores"
    )
    parser.add_argument(
        "--sources",
        action="store_true",
        help='with --json: print [{"key","username","source"}…] for docker\'s and podman\'s stores',
    )
    parser.add_argument(
        "--keys", action="store_true", help="print only the keys, one per line (shell completion uses it)"
    )


def run_list(args: ListArgs) -> int:
    if args.json and not args.sources:
        from regcred._gojson import dumps_compact
        from regcred._lookup import list_credentials

        sys.stdout.write(dumps_compact(list_credentials(config_dir=args.config), sort_keys=True))
        return 0
    from regcred._lookup import list_sources

    rows = list_sources(config_dir=args.config)
    if args.keys:  # the same rows as the table, keys only (completion reads them)
        from regcred._text import printable

        sys.stdout.write("".join(f"{printable(key)}\n" for key in sorted({key for key, _, _ in rows})))
        return 0
    if args.json:
        from regcred._gojson import dumps_compact

        doc = [{"key": key, "username": user, "source": source} for key, user, source in rows]
        sys.stdout.write(dumps_compact(doc))
        return 0
    if not rows:
        print("no stored credentials", file=sys.stderr)
        return 0
    from regcred._address import HUB_TOKEN_KEYS
    from regcred._text import printable

    shown = [(printable(key), printable(user), printable(source)) for key, user, source in rows]
    shown.sort(key=lambda row: row[0])  # stable: a key's first row is the one `get` returns
    key_width = max(len(key) for key, _, _ in shown)
    user_width = max(len(user) for _, user, _ in shown)
    for key, user, source in shown:
        label = HUB_TOKEN_KEYS.get(key, "")
        print(f"{key:<{key_width}}  {user:<{user_width}}  {source}" + (f"  ({label})" if label else ""))
    return 0
