"""Credentials in the macOS keychain, as docker-credential-osxkeychain v0.9 keeps them.

Each credential is one **internet password** item (``kSecClassInternetPassword``)
with the Go helper's attributes, so either helper reads, lists and erases
what the other wrote:

* ``kSecAttrLabel`` = ``Docker Credentials``; ``kSecAttrAccount`` = the
  username; ``kSecValueData`` = the secret's UTF-8 bytes;
  ``kSecAttrAuthenticationType`` = ``dflt`` (what helpers before v0.9 search by);
* from the server URL, parsed as ``registryurl.Parse`` does
  (:mod:`regcred.stores._registryurl`): ``kSecAttrProtocol`` = ``htps`` (https
  or no scheme) or ``http``, ``kSecAttrServer`` = the host name,
  ``kSecAttrPort`` = the port when the URL has one, ``kSecAttrPath`` = the
  path when it has one.  An empty attribute is left out, as go-keychain does,
  and a query without it matches any value: ``get("host")`` finds an item
  stored for ``https://host/v1/`` or ``host:5000``, exactly as the Go helper.

``store`` deletes whatever those attributes match, then adds the item;
``get`` asks for one match with attributes and data; ``erase`` deletes every
match; ``list`` asks for every item with the label, attributes only (no
secret is read, no prompt shown), and rebuilds each key as
``scheme://host[:port]/path`` (``https`` for ``htps``), so ``reg.example:5000``
lists as ``https://reg.example:5000``, as with the Go helper (one deliberate
difference: an IPv6 literal without a port lists in brackets, ``https://[::1]``,
where the Go helper's ``https://::1`` does not read back).

Keychain errors keep Go's texts (``<message> (<OSStatus>)``), except
``-25308`` (the keychain is locked and this session cannot show the unlock
dialog), which becomes the Go helper's instruction to run ``security
unlock-keychain`` for every action (the Go helper's ``store`` prints the raw
``User interaction is not allowed. (-25308)``), and ``-25300``, which is
"not found" (``erase`` of nothing succeeds).

The calls into Security.framework are behind :class:`Keychain`, a seam of four
methods; :mod:`regcred.stores._security` implements it with ``ctypes`` on
macOS.  Tests drive the store through ``tests/fixtures/fake_keychain.py``, a
model of the keychain's rules (a fake, named as one).
"""

from __future__ import annotations

import sys

from regcred._gojson import encode_utf8, go_decode
from regcred.credentials import Credentials, CredentialStore, StoreStatus
from regcred.errors import CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores import _registryurl

__all__ = [
    "INTERACTION_NOT_ALLOWED",
    "LABEL",
    "Keychain",
    "KeychainError",
    "OsxKeychainStore",
    "item_attributes",
    "listed_key",
]

#: ``credentials.CredsLabel`` of docker-credential-helpers.
LABEL = "Docker Credentials"
#: The Go helper's text for ``errSecInteractionNotAllowed``.
INTERACTION_NOT_ALLOWED = (
    "keychain cannot be accessed because the current session does not allow user interaction. "
    'The keychain may be locked; unlock it by running "security -v unlock-keychain '
    '~/Library/Keychains/login.keychain-db" and try again'
)
ERR_ITEM_NOT_FOUND = -25300
ERR_INTERACTION_NOT_ALLOWED = -25308
ERR_NO_DEFAULT_KEYCHAIN = -25307
PROTOCOL_HTTPS = "htps"  # kSecAttrProtocolHTTPS: four characters, not a typo
PROTOCOL_HTTP = "http"

# Attribute names are the Security.framework constants' names; values are
# str, int (kSecAttrPort), bytes (kSecValueData) or True.
CLASS = "kSecClass"
INTERNET_PASSWORD = "kSecClassInternetPassword"
ATTR_LABEL = "kSecAttrLabel"
ATTR_ACCOUNT = "kSecAttrAccount"
ATTR_AUTH_TYPE = "kSecAttrAuthenticationType"
ATTR_PROTOCOL = "kSecAttrProtocol"
ATTR_SERVER = "kSecAttrServer"
ATTR_PORT = "kSecAttrPort"
ATTR_PATH = "kSecAttrPath"
VALUE_DATA = "kSecValueData"
MATCH_LIMIT = "kSecMatchLimit"
MATCH_ONE = "kSecMatchLimitOne"
MATCH_ALL = "kSecMatchLimitAll"
RETURN_ATTRIBUTES = "kSecReturnAttributes"
RETURN_DATA = "kSecReturnData"

Item = dict[str, object]


class KeychainError(Exception):
    """An OSStatus from Security.framework; ``str()`` is Go's ``<message> (<code>)``."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"{message or 'Security.framework error'} ({code})")
        self.code = code


class Keychain:
    """The seam to Security.framework: ``SecItemAdd``, ``SecItemCopyMatching``,
    ``SecItemDelete`` and the default keychain's state.  Each raises
    :class:`KeychainError` with the OSStatus it got.
    """

    def add(self, attributes: Item) -> None:
        raise NotImplementedError

    def copy_matching(self, query: Item) -> list[Item]:
        """The matching items (``-25300`` when there are none)."""
        raise NotImplementedError

    def delete(self, query: Item) -> None:
        """Delete every matching item (``-25300`` when there are none)."""
        raise NotImplementedError

    def state(self) -> tuple[bool, bool]:
        """(the default keychain is unlocked, this session may show the unlock dialog)."""
        raise NotImplementedError


def _int32(value: int) -> int:
    """Go's ``int32(port)``: wraps around."""
    return (value + 2**31) % 2**32 - 2**31


def item_attributes(server: str) -> Item:
    """The Go helper's ``splitServer``: class, protocol, server, port and path of ``server``.

    Raises :class:`~regcred.errors.CredentialStoreError` with Go's text for a
    URL ``registryurl.Parse`` rejects.
    """
    try:
        url = _registryurl.parse(server)
    except _registryurl.URLError as exc:
        raise CredentialStoreError(str(exc)) from None
    item: Item = {
        CLASS: INTERNET_PASSWORD,
        ATTR_PROTOCOL: PROTOCOL_HTTP if url.scheme == "http" else PROTOCOL_HTTPS,
        ATTR_SERVER: url.hostname(),
    }
    port = url.port()
    if port:
        number = int(port)
        if number >= 2**63:
            raise CredentialStoreError(f'strconv.Atoi: parsing "{port}": value out of range')
        item[ATTR_PORT] = _int32(number)
    if url.path:
        item[ATTR_PATH] = url.path
    return item


def listed_key(item: Item) -> str:
    """The key ``list`` shows for an item: ``scheme://host[:port]/path`` as the Go helper builds it."""
    url = _registryurl.GoURL()
    url.scheme = "https" if item.get(ATTR_PROTOCOL) == PROTOCOL_HTTPS else "http"
    host = str(item.get(ATTR_SERVER) or "")
    port = item.get(ATTR_PORT)
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal; Go leaves it bare without a port (https://::1 reads back wrong)
    if isinstance(port, int) and port != 0:
        host = f"{host}:{port}"  # net.JoinHostPort
    url.host = host
    url.path = str(item.get(ATTR_PATH) or "")
    return url.string()


def _text(value: str, what: str) -> str:
    """``value`` if it can be a CFString (valid UTF-8), else CredentialStoreError."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CredentialStoreError(f"the {what} is not valid UTF-8") from None
    return value


def _store_error(exc: KeychainError) -> CredentialStoreError:
    if exc.code == ERR_INTERACTION_NOT_ALLOWED:
        return CredentialStoreError(INTERACTION_NOT_ALLOWED)
    if exc.code == ERR_ITEM_NOT_FOUND:
        return CredentialsNotFoundError("credentials not found in native keychain")
    return CredentialStoreError(str(exc))


class OsxKeychainStore(CredentialStore):
    """docker-credential-osxkeychain's items, through a :class:`Keychain` (Security.framework by default)."""

    name = "osxkeychain"

    def __init__(self, keychain: Keychain | None = None) -> None:
        self._keychain = keychain

    @property
    def keychain(self) -> Keychain:
        if self._keychain is None:
            self.check()
            from regcred.stores._security import SecurityFramework

            self._keychain = SecurityFramework()
        return self._keychain

    @classmethod
    def check(cls) -> None:
        """Raise StoreUnavailableError anywhere but macOS."""
        if sys.platform != "darwin":
            raise StoreUnavailableError("the macOS keychain exists only on macOS")

    def status(self) -> StoreStatus:
        """ok (unlocked), locked (macOS will ask), not-interactive (-25308 ahead), or unavailable."""
        try:
            unlocked, interactive = self.keychain.state()
        except StoreUnavailableError as exc:
            return StoreStatus("unavailable", str(exc))
        except KeychainError as exc:
            if exc.code == ERR_NO_DEFAULT_KEYCHAIN:
                return StoreStatus("no-keychain", f"no default keychain: {exc}")
            return StoreStatus("failing", str(exc))
        if unlocked:
            return StoreStatus("ok", "the default keychain is unlocked")
        if interactive:
            return StoreStatus("locked", "the default keychain is locked; macOS will ask to unlock it")
        return StoreStatus("not-interactive", INTERACTION_NOT_ALLOWED)

    def store(self, creds: Credentials) -> None:
        """Delete what the URL's attributes match, then add the item (the Go helper's ``Add``)."""
        if not creds.username:
            raise CredentialStoreError("no credentials username")
        item = item_attributes(creds.server)
        try:
            self.keychain.delete(item)
        except KeychainError as exc:
            if exc.code != ERR_ITEM_NOT_FOUND:
                raise _store_error(exc) from None
        item |= {
            ATTR_LABEL: LABEL,
            ATTR_ACCOUNT: _text(creds.username, "username"),
            VALUE_DATA: encode_utf8(creds.secret),
            ATTR_AUTH_TYPE: "dflt",
        }
        try:
            self.keychain.add(item)
        except KeychainError as exc:
            raise _store_error(exc) from None

    def get(self, server: str) -> Credentials:
        """The first item the URL's attributes match (no label filter, as Go)."""
        query = item_attributes(server) | {MATCH_LIMIT: MATCH_ONE, RETURN_ATTRIBUTES: True, RETURN_DATA: True}
        try:
            found = self.keychain.copy_matching(query)
        except KeychainError as exc:
            raise _store_error(exc) from None
        if not found:
            raise CredentialsNotFoundError(f"no credentials for {server}")
        data = found[0].get(VALUE_DATA)
        secret = go_decode(data) if isinstance(data, bytes) else ""
        return Credentials(server, str(found[0].get(ATTR_ACCOUNT) or ""), secret)

    def erase(self, server: str) -> None:
        """Delete every item the URL's attributes match; none is fine."""
        try:
            self.keychain.delete(item_attributes(server))
        except KeychainError as exc:
            if exc.code != ERR_ITEM_NOT_FOUND:
                raise _store_error(exc) from None

    def list(self) -> dict[str, str]:
        """``{key: account}`` of every item labelled ``Docker Credentials``; reads no secret."""
        query: Item = {
            CLASS: INTERNET_PASSWORD,
            MATCH_LIMIT: MATCH_ALL,
            RETURN_ATTRIBUTES: True,
            ATTR_LABEL: LABEL,
        }
        try:
            found = self.keychain.copy_matching(query)
        except KeychainError as exc:
            if exc.code == ERR_ITEM_NOT_FOUND:
                return {}
            raise _store_error(exc) from None
        return {listed_key(item): str(item.get(ATTR_ACCOUNT) or "") for item in found}
