"""``regcred.RequestsAuth``: the registry token flow for ``requests``.

The same flow as ``regcred.RegistryAuth`` (:class:`regcred._net.flow.TokenFlow`):
``__call__`` sets the first ``Authorization`` (only once the registry has
challenged before) and registers a response hook that answers a 401 by
re-sending through the same connection adapter, as ``requests``'
``HTTPDigestAuth`` does.  A redirect that ``requests`` follows afterwards
reaches the hook again, and is never answered.
"""

from __future__ import annotations

import functools

import requests
import requests.auth

from regcred._net.flow import FlowOwner, Seen, Send, TokenJob

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Generator
    from typing import Any


__all__ = ["RequestsAuth"]


def _until_send(flow: Generator[Send | TokenJob, Seen | str, None], step: Send | TokenJob) -> Send:
    """Run the flow's token jobs (inline: requests is synchronous) up to its next Send."""
    while isinstance(step, TokenJob):
        step = flow.send(step())
    return step


def _apply(request: requests.PreparedRequest, step: Send) -> None:
    request.headers.pop("Authorization", None)
    if step.authorization is not None:
        request.headers["Authorization"] = step.authorization


class _Pending:
    """One request's flow, shared by its response hook (and the redirects requests follows)."""

    __slots__ = ("body_position", "flow")

    def __init__(
        self, flow: Generator[Send | TokenJob, Seen | str, None] | None, position: int | None
    ) -> None:
        self.flow = flow
        self.body_position = position


class RequestsAuth(FlowOwner, requests.auth.AuthBase):
    """Registry authentication for ``requests``, as docker does it: credentials, challenges, tokens.

    ``session.auth = RequestsAuth()`` (or ``auth=`` per request).  The same
    options and behaviour as :class:`regcred.RegistryAuth`: credentials found
    as docker would (or ``credentials=`` for their own registry only),
    Basic or Bearer, tokens cached per (realm, service, scope) until they
    expire, login's realm and redirect policy, plain http only to a loopback
    registry unless ``insecure=True``, nothing secret in ``log`` lines or
    errors.  Thread-safe: one instance may serve many sessions and threads.
    """

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        flow = self._flow.flow(r.method or "GET", r.url or "")
        _apply(r, _until_send(flow, next(flow)))
        tell = getattr(r.body, "tell", None)
        position: int | None = None
        if callable(tell):
            try:
                position = int(tell())
            except (OSError, ValueError):
                position = None
        hook = functools.partial(self._on_response, _Pending(flow, position))
        r.register_hook("response", hook)  # type: ignore[no-untyped-call]  # untyped in types-requests
        return r

    def _on_response(
        self, pending: _Pending, response: requests.Response, **kwargs: Any
    ) -> requests.Response:
        """Answer a 401 as the flow says; every later response (a redirect's) is returned as is."""
        flow = pending.flow
        if flow is None:
            return response
        while True:
            seen = Seen(response.status_code, response.url, _challenges(response))
            try:
                step = _until_send(flow, flow.send(seen))
            except StopIteration:
                pending.flow = None
                return response
            except BaseException:
                pending.flow = None
                response.close()
                raise
            response.content  # noqa: B018  # read the 401 so its connection can be reused
            response.close()
            retry = response.request.copy()
            _apply(retry, step)
            seek = getattr(retry.body, "seek", None)
            if pending.body_position is not None and callable(seek):
                seek(pending.body_position)
            again = response.connection.send(retry, **kwargs)
            again.history.append(response)
            again.request = retry
            response = again


def _challenges(response: requests.Response) -> list[str]:
    """Every WWW-Authenticate value (requests joins repeated headers with commas; so does HTTP)."""
    value = response.headers.get("www-authenticate")
    return [value] if value else []
