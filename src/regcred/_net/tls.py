"""TLS for registry connections: the system trust store and docker's ``certs.d``.

* :func:`trust_context` is ``ssl.create_default_context()`` (the system
  trust store), loaded lazily where the layout allows it.
* :func:`registry_cert_dirs` finds docker's certificate directories for one
  ``host[:port]``: ``/etc/docker/certs.d``, ``certs.d`` in the config
  directory, then an explicit ``--cert-dir``.
* :func:`client_context` builds the context a connection uses: TLS 1.2 or
  newer, the system store (or no verification at all, for ``--insecure``),
  plus the ``certs.d`` material: ``*.crt`` are extra CA bundles, ``*.cert``
  + ``*.key`` are client certificate pairs.

Connections, and which host gets which directories, are
:mod:`regcred._net.http`'s business.
"""

from __future__ import annotations

import os
import ssl

from regcred.errors import LoginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["client_context", "registry_cert_dirs", "trust_context"]


def registry_cert_dirs(
    host_port: str, *, config_dir: str | None = None, cert_dir: str | None = None
) -> list[str]:
    """docker's certificate directories for ``host[:port]``, in load order.

    ``/etc/docker/certs.d/<host[:port]>/``, then ``<config_dir>/certs.d/<host[:port]>/``,
    then an explicit ``--cert-dir`` (used as is).  Missing ones are left out.
    """
    dirs = [os.path.join("/etc/docker/certs.d", host_port)]
    if config_dir:
        dirs.append(os.path.join(config_dir, "certs.d", host_port))
    if cert_dir:
        dirs.append(cert_dir)
    return [d for d in dirs if os.path.isdir(d)]


def trust_context() -> ssl.SSLContext:
    """``ssl.create_default_context()`` (the system trust store), loaded lazily where possible.

    Parsing the whole CA bundle costs about 30 ms, more than the rest of a
    login.  On Debian and Ubuntu the bundle (``SSL_CERT_FILE`` or OpenSSL's
    default) is ``<certs dir>/ca-certificates.crt``, written by the same
    ``update-ca-certificates`` run as the hashed links in that directory, so
    the directory alone is the same trust store and OpenSSL reads only the one
    issuer it needs.  Any other layout gets the full default load.
    """
    paths = ssl.get_default_verify_paths()
    if paths.cafile and paths.capath:
        bundle = os.path.realpath(paths.cafile)
        capath = os.path.realpath(paths.capath)
        if bundle == os.path.join(capath, "ca-certificates.crt"):
            return ssl.create_default_context(capath=capath)
    return ssl.create_default_context()


def client_context(dirs: Sequence[str], verify: bool) -> ssl.SSLContext:
    """A new TLS 1.2+ client context: the system store, or none at all without ``verify``, plus ``dirs``."""
    if verify:
        context = trust_context()
    else:  # nothing to verify against: skip loading any CA at all
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_cert_dirs(context, dirs)
    return context


def _load_cert_dirs(context: ssl.SSLContext, dirs: Sequence[str]) -> None:
    """Add docker ``certs.d`` material: ``*.crt`` CAs, ``*.cert``/``*.key`` client pairs."""
    for directory in dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            try:
                if name.endswith(".crt"):
                    context.load_verify_locations(cafile=path)
                elif name.endswith(".cert"):
                    key = name[: -len(".cert")] + ".key"
                    if key not in names:
                        raise LoginError(
                            f"missing key {key} for client certificate {name}. "
                            "CA certificates must use the extension .crt"
                        )
                    # An encrypted key fails instead of prompting on the terminal.
                    key_path = os.path.join(directory, key)
                    context.load_cert_chain(path, key_path, password=b"")
                elif name.endswith(".key") and name[: -len(".key")] + ".cert" not in names:
                    cert = name[: -len(".key")] + ".cert"
                    raise LoginError(f"missing client certificate {cert} for key {name}")
            except (ssl.SSLError, OSError) as exc:
                raise LoginError(f"cannot load {path}: {exc}") from exc
