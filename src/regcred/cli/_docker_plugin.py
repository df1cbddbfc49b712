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
_LONG_VALUED = {"--config", "--context", "--host", "--log-level", "--tlscacert", "--tlscert", "--tlskey"}
_LONG_SWITCHES = {"--debug", "--tls", "--tlsverify"}
_SHORT_VALUED = {"c": "--context", "H": "--host", "l": "--log-level"}
_SHORT_SWITCHES = {"D"}


def _after_docker_flags(args: list[str]) -> tuple[str | None, list[str]] | None:
    """``(--config value, regcred's args)`` when ``args`` is docker's flags then NAME; else None.

    pflag's forms: ``--config DIR``, ``--config=DIR``, switches with ``=true``,
    and short bundles (``-D``, ``-linfo``, ``-l info``, ``-Dl info``).
    """
    config, i = None, 0
    while i < len(args):
        arg = args[i]
        if arg == NAME:
            return config, args[i + 1 :]
        if arg.startswith("--"):
            flag, eq, value = arg.partition("=")
            if flag in _LONG_VALUED and not eq:
                if i + 1 == len(args):
                    return None
                value, i = args[i + 1], i + 1
            elif flag not in _LONG_VALUED and flag not in _LONG_SWITCHES:
                return None  # not docker's command line: run as ``regcred ARGS...``
            if flag == "--config":
                config = value
        elif arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            while letters[:1] in _SHORT_SWITCHES and letters:
                letters = letters[1:]
            if letters:
                if letters[0] not in _SHORT_VALUED:
                    return None
                if len(letters) == 1:  # -l info: the value is the next word
                    if i + 1 == len(args):
                        return None
                    i += 1
        else:
            return None
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
            args = [f"--config={config}", *args]  # one word: a directory named "-x" stays a value
    return regcred_main(args)
