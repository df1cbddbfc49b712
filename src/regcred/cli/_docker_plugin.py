"""``docker-regcred``: regcred as a docker CLI plugin (``docker regcred doctor``).

docker runs ``docker-regcred docker-cli-plugin-metadata`` to learn about the
plugin, then passes on its whole command line: ``docker-regcred regcred ARGS...``
for ``docker regcred ARGS...``, and ``docker-regcred --config DIR -D regcred
ARGS...`` for ``docker --config DIR -D regcred ARGS...`` (docker's own global
flags first; docker does not put ``--config`` into the environment).  Those flags
are read as docker reads them: ``--config`` names regcred's config directory too,
the rest (debug, log level, context, daemon host, TLS) mean nothing here.  It is
installed with one symlink where docker looks, ``$DOCKER_CONFIG/cli-plugins/``
(default ``~/.docker/cli-plugins/``), as the README shows: a command that
writes into docker's directory for the user would be one more thing to undo,
and a symlink follows the venv's upgrades.
"""

from __future__ import annotations

import sys

NAME = "regcred"

# docker's global flags (docker 28 ``docker --help``), as pflag spells them.
_VALUED = {
    "--config",
    "-c",
    "--context",
    "-H",
    "--host",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
}
_SWITCHES = {"-D", "--debug", "--tls", "--tlsverify"}
_ATTACHED = {"-c", "-H", "-l"}


def _after_docker_flags(args: list[str]) -> tuple[str | None, list[str]] | None:
    """``(--config value, regcred's args)`` when ``args`` is docker's flags then NAME; else None."""
    config, i = None, 0
    while i < len(args):
        arg = args[i]
        if arg == NAME:
            return config, args[i + 1 :]
        flag, eq, value = arg.partition("=")
        if flag in _VALUED and not eq:  # --config DIR
            if i + 1 == len(args):
                return None
            value, i = args[i + 1], i + 1
        elif flag not in _VALUED | _SWITCHES and arg[:2] not in _ATTACHED:  # -linfo: a short flag's value
            return None  # not docker's command line: run as ``regcred ARGS...``
        if flag == "--config":
            config = value
        i += 1
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["docker-cli-plugin-metadata"]:
        from regcred._gojson import dumps_compact
        from regcred._version import __version__

        sys.stdout.write(
            dumps_compact(
                {
                    "SchemaVersion": "0.1.0",
                    "Vendor": "regcred",
                    "Version": __version__,
                    "ShortDescription": "Log in to registries and keep the credentials safe",
                    "URL": "https://pypi.org/project/regcred/",
                }
            )
        )
        return 0
    from regcred.cli import main as regcred_main

    split = _after_docker_flags(args)
    if split is not None:
        config, args = split
        if config is not None:
            args = ["--config", config, *args]
    return regcred_main(args)
