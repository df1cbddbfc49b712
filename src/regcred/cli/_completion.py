"""The ``completion`` subcommand: bash, zsh and fish scripts generated from the command table.

The scripts come from ``shtab`` walking the same parser ``main()`` parses
with, so a new flag or subcommand completes without anyone editing a script.
``shtab`` is imported here only: no other command, and no helper, pays for it.

Registry arguments (``logout``, ``get``, ``export``, ``migrate`` and ``exec
--registry``) complete the stored keys through ``regcred list --keys``, which
is ``list``'s own code path (keys and usernames from the stores, never a
secret); directory and file options complete paths.
"""

from __future__ import annotations

import sys

from regcred.cli._args import CommonArgs

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    import argparse

SHELLS = ("bash", "zsh", "fish")
#: (subcommand, argument dest) -> what it completes.
KEYS = "keys"
DIRECTORY = "directory"
FILE = "file"
COMPLETES = {
    ("logout", "server"): KEYS,
    ("get", "server"): KEYS,
    ("export", "servers"): KEYS,
    ("migrate", "servers"): KEYS,
    ("status", "servers"): KEYS,
    ("exec", "registries"): KEYS,
    ("login", "cert_dir"): DIRECTORY,
    ("login", "authfile"): FILE,
    ("logout", "authfile"): FILE,
    ("export", "output"): FILE,
    ("", "config"): DIRECTORY,
}
#: The command that prints the stored keys, one per line (``regcred list --keys``).
KEYS_COMMAND = "regcred list --keys 2>/dev/null"


class CompletionArgs(CommonArgs):
    shell: str


def add_completion_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print a completion script for SHELL on stdout. It completes subcommands, flags and "
        "the registries you are logged in to. Load it with: "
        'bash: eval "$(regcred completion bash)" (or save it in '
        "~/.local/share/bash-completion/completions/regcred); "
        "zsh: regcred completion zsh > ~/.zfunc/_regcred (a directory on $fpath); "
        "fish: regcred completion fish > ~/.config/fish/completions/regcred.fish"
    )
    parser.add_argument("shell", metavar="SHELL", choices=SHELLS, help="bash, zsh or fish")


def run_completion(args: CompletionArgs) -> int:
    try:
        import shtab
    except ImportError:
        from regcred.errors import RegcredError

        raise RegcredError("shell completion needs the shtab package: pip install shtab") from None
    from regcred.cli import build_parser, subparsers_of

    parser = build_parser()
    kinds = {KEYS: shtab.cmd(KEYS_COMMAND), DIRECTORY: shtab.DIRECTORY, FILE: shtab.FILE}
    for name, sub in [("", parser), *subparsers_of(parser).items()]:
        for action in sub._actions:  # noqa: SLF001 - shtab reads the same attribute
            kind = COMPLETES.get((name, action.dest)) or COMPLETES.get(("", action.dest))
            if kind:
                action.complete = kinds[kind]  # type: ignore[attr-defined]
    sys.stdout.write(shtab.complete(parser, shell=args.shell))
    return 0
