"""``docker-regcred``: regcred as a docker CLI plugin (``docker regcred doctor``).

docker runs ``docker-regcred docker-cli-plugin-metadata`` to learn about the
plugin, then ``docker-regcred regcred ARGS...`` for ``docker regcred ARGS...``
(the plugin's own name first, as the plugin protocol passes it).  It is
installed with one symlink where docker looks, ``$DOCKER_CONFIG/cli-plugins/``
(default ``~/.docker/cli-plugins/``), as the README shows: a command that
writes into docker's directory for the user would be one more thing to undo,
and a symlink follows the venv's upgrades.
"""

from __future__ import annotations

import sys

NAME = "regcred"


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
    if args[:1] == [NAME]:
        args = args[1:]
    from regcred.cli import main as regcred_main

    return regcred_main(args)
