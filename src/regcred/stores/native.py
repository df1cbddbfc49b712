"""A credential helper beside config.json: docker's ``nativeStore``.

The secret lives in the helper; config.json keeps docker's ``"key": {}``
marker, so docker (and regcred) know the registry is logged in.

* ``store``: the helper first, then the marker; a helper that fails leaves
  config.json untouched (never a plaintext fallback);
* ``get``: the helper, by exact key, and nothing else: when it answers "not
  found", docker sends no credentials, even if the file still holds a
  plaintext entry for the key from before the helper was configured (doctor
  reports such shadowed entries);
* ``erase``: the helper, then the file entry; a helper that fails stops
  before config.json changes (docker's order);
* ``list``: the helper's list (which keys it answers for is the router's
  business: ``credHelpers`` may send some of them elsewhere).
"""

from __future__ import annotations

from regcred.credentials import TOKEN_USERNAME, Credentials, CredentialStore, StoreStatus

TYPE_CHECKING = False
if TYPE_CHECKING:
    from regcred.stores.file import FileStore

__all__ = ["NativeStore", "helper_credentials"]


def helper_credentials(creds: Credentials) -> Credentials:
    """What a helper keeps of ``creds``: the identity token when there is one (docker's rule).

    A helper holds one username and secret; docker's ``nativeStore.Store`` sends
    ``<token>`` and the identity token when the credentials carry one.
    """
    if creds.identity_token and not creds.is_identity_token:
        return Credentials(creds.server, TOKEN_USERNAME, creds.identity_token)
    return creds


class NativeStore(CredentialStore):
    """``helper`` holds the secrets, ``file`` the markers."""

    def __init__(self, helper: CredentialStore, file: FileStore) -> None:
        self.helper = helper
        self.file = file
        self.name = helper.name

    def status(self) -> StoreStatus:
        return self.helper.status()

    def store(self, creds: Credentials) -> None:
        self.helper.store(helper_credentials(creds))
        self.file.mark(creds.server)

    def get(self, server: str) -> Credentials:
        return self.helper.get(server)

    def erase(self, server: str) -> None:
        self.helper.erase(server)
        self.file.erase(server)

    def list(self) -> dict[str, str]:
        return self.helper.list()
