"""The ``regcred`` command: a thin shell over the library, built from one table.

``_COMMANDS`` lists every subcommand: its name, its one-line help, the
function adding its arguments, the typed namespace they are parsed into and
the function that runs it.  The commands live with what they own:
``_read`` (get, list), ``_login`` (login, logout), ``_tools`` (doctor,
migrate, export), ``_exec`` (exec).  Those modules import their work lazily, so ``regcred get``
and ``regcred list`` never load the login network stack.

Exit codes: 0 success; 1 an error regcred explains in one line on stderr
(``--debug`` adds the traceback); 2 bad usage (argparse's own errors, and
every :class:`~regcred.errors.UsageError`); 130 interrupted (129 and 143 for
SIGHUP and SIGTERM during ``migrate``, which handles them as Ctrl-C).
``regcred exec`` exits with its command's status (127 not found, 126 not runnable).

A journal left by an interrupted ``migrate`` (see
:mod:`regcred._tools.migrate_journal`) is settled before ``login`` and
``logout`` run, once it proves it is regcred's own; the read-only commands only
report it.  Checking for one costs a single ``lstat``.
"""

from __future__ import annotations

import argparse
import os
import sys

from regcred.cli import _completion, _exec, _login, _read, _status, _tools, _version
from regcred.cli._args import Command, CommonArgs
from regcred.errors import RegcredError, UsageError

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

__all__ = ["build_parser", "main", "subparsers_of"]

_COMMANDS = (
    Command(
        "get",
        "print the credentials for SERVER as credential-helper JSON",
        _read.add_get_arguments,
        _read.GetArgs,
        _read.run_get,
    ),
    Command(
        "list",
        "list the registries you are logged in to (never secrets)",
        _read.add_list_arguments,
        _read.ListArgs,
        _read.run_list,
    ),
    Command(
        "login",
        "log in to a registry (default: Docker Hub)",
        _login.add_login_arguments,
        _login.LoginArgs,
        _login.run_login,
    ),
    Command(
        "logout",
        "log out of a registry (default: Docker Hub)",
        _login.add_logout_arguments,
        _login.LogoutArgs,
        _login.run_logout,
    ),
    Command(
        "status",
        "show which stored credentials still work (--check verifies them against their registries)",
        _status.add_status_arguments,
        _status.StatusArgs,
        _status.run_status,
    ),
    Command(
        "doctor",
        "show where every credential lives and what is broken or unsafe",
        _tools.add_doctor_arguments,
        _tools.DoctorArgs,
        _tools.run_doctor,
    ),
    Command(
        "migrate",
        "move credentials into another store (a helper, or the config file)",
        _tools.add_migrate_arguments,
        _tools.MigrateArgs,
        _tools.run_migrate,
    ),
    Command(
        "export",
        "write credentials as a Kubernetes pull secret or a standalone config.json",
        _tools.add_export_arguments,
        _tools.ExportArgs,
        _tools.run_export,
    ),
    Command(
        "exec",
        "run a command with a temporary config holding only the named registries' credentials",
        _exec.add_exec_arguments,
        _exec.ExecArgs,
        _exec.run_exec,
    ),
    Command(
        "completion",
        "print a shell completion script (bash, zsh or fish)",
        _completion.add_completion_arguments,
        _completion.CompletionArgs,
        _completion.run_completion,
    ),
)


class _Parser(argparse.ArgumentParser):
    """argparse, plus "did you mean" for a mistyped subcommand (difflib, loaded only then)."""

    def error(self, message: str) -> NoReturn:
        if "invalid choice" in message and message.startswith("argument COMMAND"):
            import difflib
            import re

            typed = re.search(r"invalid choice: '([^']*)'", message)
            names = [c.name for c in _COMMANDS]
            close = difflib.get_close_matches(typed.group(1), names, n=1) if typed else []
            if typed:
                message = f"unknown command '{typed.group(1)}'"
                message += f": did you mean '{close[0]}'?" if close else f" (commands: {', '.join(names)})"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, built from ``_COMMANDS`` (completion and man pages read it too)."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="location of the docker config directory (default: $DOCKER_CONFIG or ~/.docker)",
    )
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    parser = _Parser(
        prog="regcred",
        description="Log in to container registries and keep the credentials safe (Docker-compatible).",
        parents=[common],
    )
    parser.add_argument(
        "--version",
        action=_version.VersionAction,
        help="print regcred's version, Python, the platform and the stores that work here, then exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.add_arguments(sub.add_parser(command.name, parents=[common], help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parsed, extra = parser.parse_known_args(argv)
    if extra:  # the subcommand's own usage, not the top level's
        subparsers_of(parser)[parsed.command].error(f"unrecognized arguments: {' '.join(extra)}")
    [command] = [c for c in _COMMANDS if c.name == parsed.command]
    # --config and --debug may come before or after the command (SUPPRESS keeps
    # the subparser from overwriting the first with its default).
    args: CommonArgs = command.args(**{"config": None, "debug": False, **vars(parsed)})
    try:
        _settle_interrupted_migrate(args)
        return command.run(args)
    except UsageError as exc:
        _error(args, f"{exc} (see 'regcred {command.name} --help')")
        return 2
    except RegcredError as exc:
        _error(args, str(exc))
        return 1
    except KeyboardInterrupt as exc:  # migrate's Interrupted carries the signal and what was undone
        print(f"regcred: {exc}" if str(exc) else "regcred: interrupted", file=sys.stderr)
        return 128 + getattr(exc, "signum", 2)
    except BrokenPipeError:
        return 1


def subparsers_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's own parser, by name (for its usage on its errors, and for completion)."""
    for action in parser._actions:  # noqa: SLF001 - argparse keeps them nowhere public
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


#: The commands that change stores, and so may settle an interrupted migrate's journal.
_WRITING = frozenset({"login", "logout"})


def _settle_interrupted_migrate(args: CommonArgs) -> None:
    """Finish or undo a migrate that was killed, before a writing command (``migrate`` does its own).

    A read-only command (get, list, doctor, export, exec, completion) never acts
    on a journal: it says in one line that one is pending, or that the file there
    is not a journal regcred can trust (issue 17 #10).
    """
    if args.command == "migrate":
        return
    from regcred import _config

    path = _config.config_path(args.config)
    if not os.path.lexists(str(path) + ".migrate-journal"):
        return
    from regcred._tools.migrate_journal import inspect, resume

    if args.command not in _WRITING:
        line = inspect(path)
        if line:
            _error(args, f"warning: {line}")
        return
    try:
        resume(path, wait=False, say=lambda line: print(f"regcred: {line}", file=sys.stderr))
    except RegcredError as exc:  # the command itself still runs; doctor reports the journal
        _error(args, f"warning: {exc}")


def _error(args: CommonArgs, message: str) -> None:
    """One line on stderr, its control characters escaped (messages may quote config.json)."""
    from regcred._text import printable

    if args.debug:
        import traceback

        traceback.print_exc()
    print(f"regcred: {printable(message)}", file=sys.stderr)
