"""The exec subcommand (CLI wiring only; the work is in ``regcred._tools.exec_``)."""

from __future__ import annotations

import argparse
import sys

from regcred.cli._args import CommonArgs


class ExecArgs(CommonArgs):
    registries: list[str]
    all: bool
    argv: list[str]


def add_exec_arguments(exec_: argparse.ArgumentParser) -> None:
    exec_.description = (
        "Run CMD with a temporary DOCKER_CONFIG (and REGISTRY_AUTH_FILE, for podman and skopeo) "
        "holding only the credentials of the registries named with --registry (or every stored "
        "one with --all), read from whatever store holds them. The directory is private (0700) "
        "and wiped when CMD ends, when regcred gets SIGINT, SIGTERM or SIGHUP (forwarded to "
        "CMD), and by the next run if regcred was killed. Exit status: CMD's (128+N if signal N "
        "killed it); 127 if CMD is not found."
    )
    exec_.add_argument(
        "-r",
        "--registry",
        dest="registries",
        action="append",
        default=[],
        metavar="R",
        help="a registry (or image) whose credentials CMD gets; repeatable",
    )
    exec_.add_argument("--all", action="store_true", help="give CMD every stored credential")
    exec_.add_argument("argv", metavar="-- CMD ARGS", nargs=argparse.REMAINDER, help="the command to run")


def run_exec(args: ExecArgs) -> int:
    from regcred._tools import exec_

    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv

    def say(line: str) -> None:
        print(f"regcred: {line}", file=sys.stderr)

    return exec_.run(argv, args.registries, all_registries=args.all, config_dir=args.config, say=say)
