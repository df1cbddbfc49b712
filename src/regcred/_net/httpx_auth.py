"""``regcred.RegistryAuth``: the registry token flow as an ``httpx.Auth``.

The flow itself is :class:`regcred._net.flow.TokenFlow` (shared with
``regcred.RequestsAuth``).  Here it is one generator, :meth:`RegistryAuth._steps`,
that turns its steps into httpx requests; :meth:`~RegistryAuth.auth_flow` runs
token fetches inline (sync clients), :meth:`~RegistryAuth.async_auth_flow` in a
worker thread, so an ``httpx.AsyncClient`` never blocks its event loop.
"""

from __future__ import annotations

import httpx

from regcred._net.flow import FlowOwner, Seen, Send, TokenJob, token_answer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Generator


__all__ = ["RegistryAuth"]


class RegistryAuth(FlowOwner, httpx.Auth):
    """Registry authentication for httpx, as docker does it: credentials, challenges, tokens.

    ``RegistryAuth()`` finds each registry's credentials as docker would
    (``config.json``, its helpers, ``DOCKER_AUTH_CONFIG``, podman's auth
    files; see :func:`regcred.get_credentials`); ``config_dir=`` names another
    docker config directory, and ``credentials=`` uses those credentials for
    their own registry (``credentials.server``) only.  With none, requests go
    anonymously (Bearer registries hand out anonymous pull tokens).

    It answers Basic and Bearer challenges, caches tokens per (realm,
    service, scope) until they expire, and follows login's policy: nothing is
    sent before a challenge, credentials go only to the origin the request
    was addressed to and to a realm that passes the realm checks, plain http
    only to a loopback registry unless ``insecure=True`` (docker's
    ``insecure-registries``, which also skips TLS checks of token requests
    to the registry's host).  One instance may be shared by many clients,
    threads and tasks.  ``log`` gets one line per exchange, secret-free.

    Raises :class:`~regcred.errors.LoginError` (or
    :class:`~regcred.errors.InsecureRedirectError`) when a challenge cannot
    be answered safely or the token server refuses; a 401 that survives the
    answers is returned as is.  A request body must be replayable (bytes,
    not a generator) for the retry after a 401.
    """

    def _steps(self, request: httpx.Request) -> Generator[httpx.Request | TokenJob, object, None]:
        """The one flow: the request (re)sent with each Authorization, and the token jobs between."""
        flow = self._flow.flow(request.method, str(request.url))
        step = next(flow)
        while True:
            if isinstance(step, Send):
                request.headers.pop("Authorization", None)
                if step.authorization is not None:
                    request.headers["Authorization"] = step.authorization
                response = yield request
                if not isinstance(response, httpx.Response):
                    raise TypeError("expected the response to the request")
                seen = Seen(
                    response.status_code, str(response.url), response.headers.get_list("www-authenticate")
                )
                answer: Seen | str = seen
            else:
                answer = token_answer((yield step))
            try:
                step = flow.send(answer)
            except StopIteration:
                return

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """httpx's flow for sync clients: token requests are made inline."""
        steps = self._steps(request)
        step = next(steps)
        while True:
            if isinstance(step, TokenJob):
                answer: object = step()
            else:
                answer = yield step
            try:
                step = steps.send(answer)
            except StopIteration:
                return

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """httpx's flow for async clients: token requests run in a worker thread."""
        import anyio.to_thread

        steps = self._steps(request)
        step = next(steps)
        while True:
            if isinstance(step, TokenJob):
                cached = self._flow.cache.get(step.key)
                answer: object = cached if cached is not None else await anyio.to_thread.run_sync(step)
            else:
                answer = yield step
            try:
                step = steps.send(answer)
            except StopIteration:
                return
