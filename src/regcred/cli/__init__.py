"""The ``regcred`` command: a thin shell over the library.

Exit codes: 0 success; 1 an error regcred explains in one line on stderr
(``--debug`` adds the traceback); 2 bad usage; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from regcred.errors import RegcredError

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


class _CliArgs(argparse.Namespace):
    command: str
    config: str | None
    debug: bool
    server: str | None
    json: bool


def _parser() -> argparse.ArgumentParser:
    from regcred._version import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="location of the docker config directory (default: $DOCKER_CONFIG or ~/.docker)",
    )
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    parser = argparse.ArgumentParser(
        prog="regcred",
        description="Log in to container registries and keep the credentials safe (Docker-compatible).",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"regcred {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    get = sub.add_parser(
        "get",
        parents=[common],
        help="print the credentials for SERVER as credential-helper JSON",
        description='Print {"ServerURL","Username","Secret"} for SERVER, as a credential '
        "helper's get does. Exit 1 if there are none.",
    )
    get.add_argument("server", metavar="SERVER", nargs="?", help="registry (default: Docker Hub)")

    lst = sub.add_parser(
        "list",
        parents=[common],
        help="list the registries you are logged in to (never secrets)",
        description="Print every stored registry key and its username. Never prints a secret.",
    )
    lst.add_argument("--json", action="store_true", help="print a JSON object {key: username}")

    from regcred.cli import _login as _commands

    _commands.add_subcommands(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv, namespace=_CliArgs())
    args.config = getattr(args, "config", None)
    args.debug = getattr(args, "debug", False)
    try:
        return _dispatch(args)
    except RegcredError as exc:
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"regcred: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("regcred: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


def _dispatch(args: _CliArgs) -> int:
    if args.command == "get":
        return _get(args)
    if args.command == "list":
        return _list(args)
    from regcred.cli import _login as _commands

    return _commands.run(args)


def _get(args: _CliArgs) -> int:
    from regcred._address import normalize
    from regcred._gojson import dumps_compact
    from regcred._lookup import get_credentials

    server = args.server
    creds = get_credentials(server, config_dir=args.config)
    if creds is None:
        print(f"regcred: no credentials stored for {normalize(server)}", file=sys.stderr)
        return 1
    doc = {"ServerURL": creds.server, "Username": creds.username, "Secret": creds.secret}
    sys.stdout.write(dumps_compact(doc))
    return 0


def _list(args: _CliArgs) -> int:
    from regcred._lookup import list_credentials

    entries = list_credentials(config_dir=args.config)
    if args.json:
        from regcred._gojson import dumps_compact

        sys.stdout.write(dumps_compact(entries, sort_keys=True))
        return 0
    if not entries:
        print("no stored credentials", file=sys.stderr)
        return 0
    width = max(len(k) for k in entries)
    for key, username in entries.items():
        print(f"{key:<{width}}  {username}")
    return 0
