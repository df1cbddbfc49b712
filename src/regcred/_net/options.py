"""``LoginOptions``: how login reaches a registry, as one record.

The CLI (or a caller of :func:`regcred.login`) fills it once; it travels
unchanged through ``_write`` to :func:`regcred._net.auth.verify_login`, the
connections :mod:`regcred._net.preconnect` opens ahead, and each
:class:`~regcred._net.http.Client`.  A new setting of the login path is a new
field here, not a new parameter of every function on the way.
"""

from __future__ import annotations

from regcred._record import Record
from regcred._settings import http_timeout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["LoginOptions"]


class LoginOptions(Record):
    """Login's network settings: TLS (``insecure``, ``require_tls``, ``cert_dirs``) and the timeout."""

    __slots__ = ("cert_dirs", "insecure", "require_tls", "timeout")
    #: allow plain http and unverified TLS for the registry's own host (``--insecure``)
    insecure: bool
    #: verified https only, never plain http, even for a loopback registry (podman's ``--tls-verify=true``)
    require_tls: bool
    #: extra ``certs.d``-style directories for the registry's host (``--cert-dir``)
    cert_dirs: tuple[str, ...]
    #: seconds for each network step (``--timeout``); None: ``REGCRED_HTTP_TIMEOUT``
    timeout: float | None

    def __init__(
        self,
        *,
        insecure: bool = False,
        require_tls: bool = False,
        cert_dirs: Sequence[str] = (),
        timeout: float | None = None,
    ) -> None:
        if insecure and require_tls:
            from regcred.errors import UsageError

            raise UsageError("insecure and require_tls exclude each other (--insecure, --tls-verify)")
        self._set(insecure=insecure, require_tls=require_tls, cert_dirs=tuple(cert_dirs), timeout=timeout)

    def seconds(self) -> float:
        """The bound on each connect, TLS handshake and answer: ``timeout``, else the setting."""
        return self.timeout if self.timeout is not None else http_timeout()

    def with_cert_dirs(self, cert_dirs: Sequence[str]) -> LoginOptions:
        """These options with ``cert_dirs`` instead."""
        return LoginOptions(
            insecure=self.insecure, require_tls=self.require_tls, cert_dirs=cert_dirs, timeout=self.timeout
        )
