"""``regcred --version``: what a bug report needs.

regcred's version, Python and the platform (:func:`regcred._version.runtime`,
the line every helper's ``--version`` prints too), then the stores that work
here: the catalog rows ``regcred doctor`` shows (:func:`regcred.stores._catalog.reported`),
each with its ``status()``, and where a first ``regcred login`` would store
(:meth:`regcred.stores._router.Router.where_new` on a config that names no
store yet).  It reads no config file and no secret; a cloud store is never
probed (its probe is a network call).
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["VersionAction", "version_text"]

_PROBE_KEY = "registry.invalid"  # a key no credHelpers entry names: "any new registry"


def version_text() -> str:
    from regcred import _config
    from regcred._text import printable
    from regcred._version import __version__, runtime
    from regcred.credentials import StoreStatus
    from regcred.errors import RegcredError
    from regcred.stores import _catalog
    from regcred.stores._router import Router

    lines = [f"regcred {__version__}", runtime(), "Stores here (as 'regcred doctor' shows them):"]
    shown = _catalog.reported()
    for known in shown:
        try:
            status = known.status()
        except RegcredError as exc:  # a bad setting (REGCRED_GPG_TIMEOUT=x): say so, as doctor does
            status = StoreStatus("error", str(exc))
        lines.append(f"  {known.title}: {status.state}: {status.detail}")
    by_name = [k for k in _catalog.KNOWN if k not in shown and not k.auto and k.runs_here()]
    if by_name:
        lines.append("  only when a config names it: " + ", ".join(k.title for k in by_name))
    try:
        empty = _config.Config(_config.config_path(None), {}, None)
        choice = Router(empty).where_new(_PROBE_KEY)
    except RegcredError as exc:
        where = f"unknown ({exc})"
    else:
        where = f"docker-credential-{choice.helper}" if choice.helper else f"the config file ({choice.why})"
    lines.append(f"A first 'regcred login' would store in: {where}")
    return "\n".join(printable(line) for line in lines) + "\n"


class VersionAction(argparse.Action):
    """``--version``: print :func:`version_text` on stdout and exit 0 (argparse's own prints one line)."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str = argparse.SUPPRESS,
        help: str | None = None,  # noqa: A002 - argparse passes it by this name
    ) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,  # noqa: ARG002 - argparse's signature
        values: str | Sequence[object] | None,  # noqa: ARG002
        option_string: str | None = None,  # noqa: ARG002
    ) -> None:
        sys.stdout.write(version_text())
        sys.stdout.flush()
        parser.exit(0)
