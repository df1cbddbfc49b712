"""What a row of the command table is, and the options every command shares.

Each command module (``_read``, ``_login``, ``_tools``) defines, per
command, a function adding its arguments, a typed namespace its arguments
are parsed into, and the function that runs it; ``regcred.cli`` lists them
in one table.
"""

from __future__ import annotations

import argparse

from regcred._record import Record

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    _Args = TypeVar("_Args", bound="CommonArgs")


def seconds(text: str) -> float:
    """An argparse ``type`` for a ``--timeout SECONDS``: a positive number below an hour."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give a positive number of seconds") from None
    if not 0 < value < 3600:
        raise argparse.ArgumentTypeError("give a positive number of seconds (below 3600)")
    return value


class CommonArgs(argparse.Namespace):
    """The options of every command (``--config``, ``--debug``) and the command's name."""

    command: str
    config: str | None
    debug: bool


class Command(Record):
    """One subcommand: its name, its one-line help, its arguments, and what runs it.

    ``add_arguments`` receives the subcommand's parser (already carrying the
    common options) and sets its description and arguments; ``main()``
    parses into ``args`` and calls ``run`` with it.
    """

    __slots__ = ("add_arguments", "args", "help", "name", "run")
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    args: type[CommonArgs]
    run: Callable[[Any], int]

    def __init__(
        self,
        name: str,
        help: str,  # noqa: A002 - argparse's own name for it
        add_arguments: Callable[[argparse.ArgumentParser], None],
        args: type[_Args],
        run: Callable[[_Args], int],
    ) -> None:
        self._set(name=name, help=help, add_arguments=add_arguments, args=args, run=run)
