"""Credentials in the Windows Credential Manager, as docker-credential-wincred v0.9 keeps them.

Each credential is one **generic credential** (``CRED_TYPE_GENERIC``) with the
Go helper's fields, so either helper reads, lists and erases what the other
wrote:

* ``TargetName`` = the server URL exactly as given (not normalised);
  ``UserName`` = the username; ``CredentialBlob`` = the secret's **UTF-8**
  bytes; ``Persist`` = ``CRED_PERSIST_LOCAL_MACHINE``;
* one attribute, keyword ``label``, value ``Docker Credentials``.  Credentials
  without it are not docker's: ``get`` and ``list`` skip them, as the Go
  helper does.

``get`` finds the target as the Go helper does (:func:`find_target`): among
the labelled credentials, the first whose URL (``registryurl.Parse``) equals
the query's, else the first that equals it once the query borrows the
target's scheme, port and path where it has none (``host`` finds
``https://host:5000/v1/``).  A query that does not parse is used as the
target as it is.

Differences from the Go helper, on purpose:

* a secret over 2,560 UTF-8 bytes (``CRED_MAX_CREDENTIAL_BLOB_SIZE``; some
  cloud registries' tokens are longer) is refused with a line that says so,
  before Windows answers "The stub received bad data";
* ``erase`` deletes only a credential that carries the label: the Go helper
  deletes any generic credential of that name, even one another program
  wrote.

The calls into advapi32 are behind :class:`CredentialManager`, a seam of four
methods; :mod:`regcred.stores._advapi32` implements it with ``ctypes`` on
Windows.  Tests drive the store through ``tests/fixtures/fake_credman.py``, a
model of Credential Manager's rules (a fake, named as one).
"""

from __future__ import annotations

import sys

from regcred._gojson import encode_utf8, go_decode
from regcred._record import Record
from regcred.credentials import Credentials, CredentialStore, StoreStatus
from regcred.errors import CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores import _registryurl

__all__ = [
    "LABEL",
    "MAX_BLOB",
    "CredentialManager",
    "WinCredential",
    "WinError",
    "WincredStore",
    "find_target",
    "has_label",
]

LABEL = b"Docker Credentials"
LABEL_KEYWORD = "label"
#: CRED_MAX_CREDENTIAL_BLOB_SIZE (5 * 512 bytes).
MAX_BLOB = 2560
CRED_TYPE_GENERIC = 1
CRED_PERSIST_LOCAL_MACHINE = 2
ERROR_NOT_FOUND = 1168
ERROR_NO_SUCH_LOGON_SESSION = 1312


class WinError(Exception):
    """A Win32 error code from advapi32; ``str()`` is the system's message, as Go prints it."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message or f"Windows error {code}")
        self.code = code


class WinCredential(Record):
    """The fields of a ``CREDENTIALW`` the helpers read and write."""

    __slots__ = ("attributes", "blob", "persist", "target_name", "type", "user_name")
    _hidden = frozenset({"blob"})
    target_name: str
    type: int
    user_name: str
    blob: bytes
    persist: int
    attributes: tuple[tuple[str, bytes], ...]

    def __init__(
        self,
        target_name: str,
        user_name: str = "",
        blob: bytes = b"",
        *,
        type: int = CRED_TYPE_GENERIC,  # noqa: A002 - the Win32 field's name
        persist: int = CRED_PERSIST_LOCAL_MACHINE,
        attributes: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        self._set(
            target_name=target_name,
            type=type,
            user_name=user_name,
            blob=blob,
            persist=persist,
            attributes=attributes,
        )


class CredentialManager:
    """The seam to advapi32: ``CredWriteW``, ``CredReadW``, ``CredEnumerateW``,
    ``CredDeleteW`` (generic credentials).  Each raises :class:`WinError`.
    """

    def write(self, credential: WinCredential) -> None:
        raise NotImplementedError

    def read(self, target_name: str) -> WinCredential:
        """The generic credential of that name (``ERROR_NOT_FOUND`` when none)."""
        raise NotImplementedError

    def enumerate(self) -> list[WinCredential]:
        """Every credential of the user, all types (``ERROR_NOT_FOUND`` when none)."""
        raise NotImplementedError

    def delete(self, target_name: str) -> None:
        raise NotImplementedError


#: (a module-level name: inside the store class, ``list`` is the method)
_CredentialList = list[WinCredential]


def has_label(credential: WinCredential) -> bool:
    """The Go helper's test: an attribute ``label`` whose value is ``Docker Credentials``."""
    return any(k == LABEL_KEYWORD and v == LABEL for k, v in credential.attributes)


def _approximate(query: _registryurl.GoURL, target: _registryurl.GoURL) -> bool:
    """The Go helper's ``approximateMatch``: borrow what the query lacks from the target."""
    query = query.copy()
    if not query.scheme:
        query.scheme = target.scheme
    if not query.port() and target.port():
        query.host = query.host + ":" + target.port()
    if not query.path:
        query.path = target.path
    return query.string() == target.string()


def find_target(server: str, targets: list[str]) -> str:
    """The target the Go helper's ``getTarget`` picks for ``server`` among ``targets``, or ``""``.

    ``targets`` are the names of the labelled credentials, in enumeration
    order.  A ``server`` that does not parse is its own target.
    """
    try:
        query = _registryurl.parse(server)
    except _registryurl.URLError:
        return server
    parsed = []
    for target in targets:
        try:
            parsed.append((target, _registryurl.parse(target)))
        except _registryurl.URLError:
            continue
    wanted = query.string()
    for target, url in parsed:
        if url.string() == wanted:
            return target
    for target, url in parsed:
        if _approximate(query, url):
            return target
    return ""


def _text(value: str, what: str) -> str:
    """``value`` as a Win32 string: no NUL (Go's ``UTF16PtrFromString`` refuses it)."""
    if "\0" in value:
        raise CredentialStoreError(f"the {what} contains a NUL character, which Windows cannot store")
    return value


def _store_error(exc: WinError) -> CredentialStoreError:
    if exc.code == ERROR_NO_SUCH_LOGON_SESSION:
        return StoreUnavailableError(
            f"{exc} (this logon session has no Credential Manager: a service or network logon)"
        )
    return CredentialStoreError(str(exc))


class WincredStore(CredentialStore):
    """docker-credential-wincred's credentials, through a :class:`CredentialManager` (advapi32 by default)."""

    name = "wincred"

    def __init__(self, manager: CredentialManager | None = None) -> None:
        self._manager = manager

    @property
    def manager(self) -> CredentialManager:
        if self._manager is None:
            self.check()
            from regcred.stores._advapi32 import Advapi32

            self._manager = Advapi32()
        return self._manager

    @classmethod
    def check(cls) -> None:
        """Raise StoreUnavailableError anywhere but Windows."""
        if sys.platform != "win32":
            raise StoreUnavailableError("the Windows Credential Manager exists only on Windows")

    def status(self) -> StoreStatus:
        """ok when Credential Manager answers an enumeration (no secret is used), else why not."""
        try:
            self._labelled()
        except StoreUnavailableError as exc:
            return StoreStatus("unavailable", str(exc))
        except CredentialStoreError as exc:
            return StoreStatus("failing", str(exc))
        return StoreStatus("ok", "Credential Manager answers")

    def store(self, creds: Credentials) -> None:
        """Write the generic credential for ``creds.server`` (replacing one of that name)."""
        if not creds.username:
            raise CredentialStoreError("no credentials username")
        blob = encode_utf8(creds.secret)
        if len(blob) > MAX_BLOB:
            raise CredentialStoreError(
                f"the secret is {len(blob):,} bytes; the Windows Credential Manager keeps at most "
                f"{MAX_BLOB:,} (CRED_MAX_CREDENTIAL_BLOB_SIZE): use another store for this registry"
            )
        credential = WinCredential(
            _text(creds.server, "server URL"),
            _text(creds.username, "username"),
            blob,
            attributes=((LABEL_KEYWORD, LABEL),),
        )
        try:
            self.manager.write(credential)
        except WinError as exc:
            raise _store_error(exc) from None

    def get(self, server: str) -> Credentials:
        """The labelled credential :func:`find_target` picks (see the module docstring)."""
        target = find_target(server, [c.target_name for c in self._labelled()])
        if not target or "\0" in target:
            raise CredentialsNotFoundError(f"no credentials for {server}")
        credential = self._read(target)
        if credential is None or not has_label(credential):
            raise CredentialsNotFoundError(f"no credentials for {server}")
        return Credentials(server, credential.user_name, go_decode(credential.blob))

    def erase(self, server: str) -> None:
        """Delete the labelled credential named exactly ``server``; none is fine."""
        if "\0" in server:
            return
        credential = self._read(server)
        if credential is None or not has_label(credential):
            return
        try:
            self.manager.delete(server)
        except WinError as exc:
            if exc.code != ERROR_NOT_FOUND:
                raise _store_error(exc) from None

    def list(self) -> dict[str, str]:
        """``{TargetName: UserName}`` of every labelled credential; reads no secret."""
        return {c.target_name: c.user_name for c in self._labelled()}

    def _labelled(self) -> _CredentialList:
        try:
            found = self.manager.enumerate()
        except WinError as exc:
            if exc.code == ERROR_NOT_FOUND:
                return []
            raise _store_error(exc) from None
        return [c for c in found if has_label(c)]

    def _read(self, target: str) -> WinCredential | None:
        try:
            return self.manager.read(target)
        except WinError as exc:
            if exc.code == ERROR_NOT_FOUND:
                return None
            raise _store_error(exc) from None
