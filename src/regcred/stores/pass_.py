"""Credentials in the ``pass`` password store, in docker-credential-pass's layout.

Layout (the Go helper's, so either helper reads what the other wrote)::

    $PASSWORD_STORE_DIR/                  (default ~/.password-store)
      .gpg-id                             recipients, one per line (pass init)
      docker-credential-helpers/
        <base64url(ServerURL), padded>/
          <username>.gpg                  the secret, encrypted to the recipients

Differences from the Go helper, all readable by it:

* **gpg is called directly** (no ``pass`` shell script): ``get`` is one
  ``gpg --decrypt``; ``list`` runs nothing, it only reads directory names.
  Recipients come from the nearest ``.gpg-id`` (server directory, then
  ``docker-credential-helpers/``, then the store root, as pass walks) or from
  ``PASSWORD_STORE_KEY``; ``PASSWORD_STORE_GPG_OPTS`` is passed to gpg, and with
  ``PASSWORD_STORE_SIGNING_KEY`` the ``.gpg-id`` signature is checked before
  encrypting, as pass does.  If the store is a git repository, each store and
  erase is committed with pass's messages.
* **Trailing newlines.**  The file holds ``secret + "\\n"`` (what ``pass insert``
  writes), and reading drops exactly one trailing ``"\\n"``.  So every secret,
  including one that ends in newlines, round-trips through regcred; the Go
  helper, which strips all trailing ``\\r``/``\\n``, and ``pass show`` read
  ordinary secrets unchanged; files the Go helper wrote (the raw secret) read
  back exactly unless the secret itself ended in a newline (which the Go
  helper loses too); and ``pass insert``/``pass edit`` files lose their
  editor newline, as with the Go helper.
* **Usernames with "/"** would make the Go helper create nested directories.
  regcred percent-encodes ``%`` → ``%25``, ``/`` → ``%2F`` and NUL → ``%00``,
  but only for usernames that need it (one with ``/`` or NUL, or one that
  contains one of those three escapes); every other username, ``50%off``
  included, is the plain file name, exactly as the Go helper writes it.
  Reads decode those three escapes and also accept the Go helper's nested
  ``a/b.gpg`` layout.
* **store replaces** the other usernames of the same server (the new file is
  written and renamed into place first, then the others are removed), under
  an ``flock`` on ``docker-credential-helpers/`` so concurrent stores of one
  server cannot lose both entries.
* **erase** of a missing entry succeeds; ``list`` skips directory names that
  are not base64 instead of failing.
* gpg runs with a timeout (``REGCRED_GPG_TIMEOUT``, default 30 s).  When no
  pinentry could ask for a passphrase (``GPG_TTY`` unset or not a terminal we
  can open, and no X server or Wayland compositor behind ``DISPLAY`` /
  ``WAYLAND_DISPLAY``), it runs with ``--pinentry-mode error``, so a locked
  key fails at once with a message saying why, instead of waiting for
  gpg-agent's own pinentry timeout (the Go helper fails in about 1 s).

This module holds the layout and :class:`PassStore`; starting gpg (and git)
and reading gpg's answers is :mod:`regcred.stores._gpg`'s job.
"""

from __future__ import annotations

import binascii
import os
import re

from regcred import _process, _settings
from regcred._gojson import encode_utf8
from regcred.credentials import Credentials, CredentialStore, StoreStatus
from regcred.errors import CredentialsNotFoundError, CredentialStoreError, StoreUnavailableError
from regcred.stores import _gpg

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from regcred._files import DirectoryLock

__all__ = ["FOLDER", "PassStore", "decode_server", "decode_username", "encode_server", "encode_username"]

#: The folder inside the password store that holds the entries (the Go helper's).
FOLDER = "docker-credential-helpers"
_SUFFIX = ".gpg"
_NAME_MAX = 255
_ESCAPE = re.compile("%(25|2[fF]|00)")
_UNESCAPED = {"25": "%", "2f": "/", "2F": "/", "00": "\0"}
_B64 = re.compile("[A-Za-z0-9_-]*={0,2}")
_TO_STD = str.maketrans("-_", "+/")
_TO_URL = bytes.maketrans(b"+/", b"-_")


def encode_server(server: str) -> str:
    """Directory name of ``server``: Go's ``base64.URLEncoding`` (padded)."""
    raw = binascii.b2a_base64(encode_utf8(server), newline=False)
    return raw.translate(_TO_URL).decode("ascii")


def decode_server(name: str) -> str | None:
    """Inverse of :func:`encode_server`; None for a name that is not padded base64url."""
    if len(name) % 4 or not _B64.fullmatch(name):
        return None
    try:
        raw = binascii.a2b_base64(name.translate(_TO_STD))
    except binascii.Error:
        return None
    return raw.decode("utf-8", "replace")


def encode_username(username: str) -> str:
    """File name (without ``.gpg``) of ``username``; see the module docstring."""
    if "/" not in username and "\0" not in username and not _ESCAPE.search(username):
        return username
    return username.replace("%", "%25").replace("/", "%2F").replace("\0", "%00")


def decode_username(name: str) -> str:
    """Inverse of :func:`encode_username`."""
    if "%" not in name:
        return name
    return _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], name)


class PassStore(CredentialStore):
    """docker-credential-pass's store, with gpg called directly."""

    name = "pass"

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = os.path.normpath(os.fspath(root) if root is not None else _default_root())
        self.folder = os.path.join(self.root, FOLDER)

    @classmethod
    def check(cls) -> None:
        """Raise StoreUnavailableError unless gpg is installed and the store initialized."""
        if _process.which(_settings.gpg_program()) is None:
            raise StoreUnavailableError(_gpg.NO_GPG)
        store = cls()
        store._recipients(store.folder)

    def status(self) -> StoreStatus:
        """no-gpg, not-initialized, key-missing, or ok (what doctor shows); decrypts nothing."""
        try:
            self.check()
        except StoreUnavailableError as exc:
            text = str(exc)
            return StoreStatus("no-gpg" if text == _gpg.NO_GPG else "not-initialized", text)
        recipients = self._recipients(self.folder)
        for key_id in recipients:
            for listing, what in (("--list-keys", "public"), ("--list-secret-keys", "secret")):
                if not _gpg.has_key(listing, key_id):
                    home = os.environ.get("GNUPGHOME") or "~/.gnupg"
                    return StoreStatus(
                        "key-missing",
                        f"the gpg key {key_id} that {self.root}/.gpg-id names has no {what} key in "
                        f"the GnuPG home {home}; import it, or re-run 'pass init' with your key",
                    )
        return StoreStatus("ok", f"{self.root} encrypts to {', '.join(recipients)}")

    # --- CredentialStore ---------------------------------------------------

    def get(self, server: str) -> Credentials:
        """Decrypt the entry for exactly ``server`` (the username the Go helper would pick)."""
        server_dir = os.path.join(self.folder, encode_server(server))
        for _ in range(5):
            entry = next(iter(self._entries(server_dir)), None)
            if entry is None:
                self._recipients(server_dir)  # not initialized: say so, not "not found"
                raise CredentialsNotFoundError(f"no credentials for {server}")
            username, path = entry
            try:
                with open(path, "rb") as file:
                    ciphertext = file.read()
            except FileNotFoundError:
                continue  # replaced by a concurrent store: look again
            plain = _gpg.call(("--decrypt",), ciphertext, path, self.root)
            secret = plain[:-1] if plain.endswith(b"\n") else plain
            return Credentials(server, username, secret.decode("utf-8", "replace"))
        raise CredentialStoreError(f"the pass entry for {server} kept changing; try again")

    def store(self, creds: Credentials) -> None:
        """Encrypt ``creds`` to the recipients; the server's other usernames are removed after."""
        if not creds.username:
            raise CredentialStoreError("no credentials username")
        server_dir = os.path.join(self.folder, encode_server(creds.server))
        file_name = encode_username(creds.username) + _SUFFIX
        if len(os.fsencode(os.path.basename(server_dir))) > _NAME_MAX:
            raise CredentialStoreError("server URL too long for the pass store (189 bytes max)")
        if len(os.fsencode(file_name)) > _NAME_MAX:
            raise CredentialStoreError("username cannot be a file name in the pass store")
        args: tuple[str, ...] = ("--encrypt", "--no-encrypt-to", "--compress-algo=none")
        for recipient in self._recipients(server_dir, verify=True):
            args += ("--recipient", recipient)
        ciphertext = _gpg.call(args, encode_utf8(creds.secret) + b"\n", server_dir, self.root)
        target = os.path.join(server_dir, file_name)
        from regcred._files import atomic_write, make_private_dir  # writers only: not at helper start-up

        make_private_dir(self.root, CredentialStoreError)  # PASSWORD_STORE_KEY needs no pass init
        make_private_dir(self.folder, CredentialStoreError, parents=False)
        with self._locked():
            make_private_dir(server_dir, CredentialStoreError, parents=False)
            # The temp file goes in the folder, not beside the entry: a killed store
            # must not leave a file the Go helper would take for a username.
            atomic_write(target, ciphertext, temp_dir=self.folder, error=CredentialStoreError)
            _remove_entries(server_dir, keep=target)
            entry = os.path.relpath(target, self.root)[: -len(_SUFFIX)]
            self._git_commit(server_dir, f"Add given password for {entry} to store.")

    def erase(self, server: str) -> None:
        """Remove every entry for ``server``; nothing to remove is fine."""
        server_dir = os.path.join(self.folder, encode_server(server))
        if not os.path.isdir(server_dir):
            return
        with self._locked():
            _remove_entries(server_dir, keep=None)
            _rmdir(server_dir)
            self._git_commit(server_dir, f"Remove {os.path.relpath(server_dir, self.root)} from store.")

    def list(self) -> dict[str, str]:
        """``{server: username}`` from directory and file names; runs no gpg."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            self._recipients(self.folder)
            return {}
        except NotADirectoryError:
            return {}
        result: dict[str, str] = {}
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):  # as Go: lstat, dirs only
                continue
            server = decode_server(entry.name)
            if server is None:
                continue
            username = self._first_username(entry.path)
            if username is not None:
                result[server] = username
        return result

    def _first_username(self, server_dir: str) -> str | None:
        """The username ``get`` would pick, cheaply (``list`` calls this per server)."""
        try:
            names = os.listdir(server_dir)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if len(names) == 1 and names[0].endswith(_SUFFIX) and names[0] != _SUFFIX:
            return decode_username(names[0][: -len(_SUFFIX)])  # the usual case: one entry
        first = next(iter(self._entries(server_dir)), None)
        return None if first is None else first[0]

    # --- internals -----------------------------------------------------------

    def _entries(self, server_dir: str, prefix: str = "") -> Iterator[tuple[str, str]]:
        """(username, path) of each ``.gpg`` file, in the order the Go helper picks."""
        try:
            with os.scandir(server_dir) as it:
                found = sorted(it, key=lambda e: os.fsencode(e.name))  # Go sorts bytes
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in found:
            if entry.is_dir(follow_symlinks=False):  # the Go helper's "a/b" layout
                yield from self._entries(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(_SUFFIX) and entry.name != _SUFFIX:
                yield prefix + decode_username(entry.name[: -len(_SUFFIX)]), entry.path

    def _recipients(self, start: str, *, verify: bool = False) -> tuple[str, ...]:
        """Recipients for entries under ``start``, as ``pass`` finds them.

        With ``verify`` and ``PASSWORD_STORE_SIGNING_KEY`` set, the ``.gpg-id``
        must carry a valid signature by one of those keys (pass's check).
        """
        override = _settings.password_store_key()
        if override:
            return override
        current = start
        while True:
            path = os.path.join(current, ".gpg-id")
            try:
                with open(path, encoding="utf-8") as file:
                    lines = file.read().splitlines()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                pass
            else:
                ids = [line.partition("#")[0].strip() for line in lines]
                if not any(ids):
                    raise StoreUnavailableError(f"{path} lists no gpg key: run `pass init <gpg-id>`")
                if verify and _settings.password_store_signing_key() is not None:
                    self._verify_signature(path)
                return tuple(key for key in ids if key)
            if current == self.root or len(current) <= len(self.root):
                break
            current = os.path.dirname(current)
        raise StoreUnavailableError(
            f"the pass store {self.root} is not initialized: run `pass init <gpg-id>`"
        )

    def _verify_signature(self, path: str) -> None:
        """pass's ``verify_file``: ``path.sig`` must be a valid signature by a signing key."""
        wanted = {
            key
            for key in _settings.password_store_signing_key() or ()
            if len(key) == 40 and all(c in "0123456789ABCDEF" for c in key)
        }
        if not os.path.isfile(path + ".sig"):
            raise CredentialStoreError(f"signature for {path} does not exist")
        if not _gpg.signers(path + ".sig", path) & wanted:
            raise CredentialStoreError(f"signature for {path} is invalid")

    def _git_commit(self, path: str, message: str) -> None:
        """Commit the change under ``path`` if the store is a git repository, as pass does.

        Best effort, like pass: a failing git never fails the store or erase.
        Only ``path`` is committed, never other changes the user has staged.
        """
        if not os.path.exists(os.path.join(self.root, ".git")):
            return
        relative = os.path.relpath(path, self.root)
        _gpg.git(self.root, "add", "-A", "--", relative)
        if not _gpg.git(self.root, "status", "--porcelain", "--", relative):
            return
        sign = _gpg.git(self.root, "config", "--bool", "--get", "pass.signcommits") or b""
        flags = ["-S"] if sign.strip() == b"true" else []
        _gpg.git(self.root, "commit", *flags, "-q", "-m", message, "--", relative)

    def _locked(self) -> DirectoryLock:
        """The lock that serialises changes to the store's entries: an ``flock`` on the folder itself.

        Locking the directory leaves no lock file in the password store.
        """
        from regcred._files import DirectoryLock

        return DirectoryLock(self.folder, error=CredentialStoreError)


def _default_root() -> str:
    """The store directory: ``PASSWORD_STORE_DIR``, else ``~/.password-store`` (as pass)."""
    return _settings.password_store_dir()


def _rmdir(path: str) -> None:
    """Remove the directory ``path`` if it is empty; never fail."""
    try:
        os.rmdir(path)
    except OSError:  # gone already, or holds files that are not ours
        pass


def _unlink(path: str) -> None:
    """Remove the file ``path``; one already gone is fine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_entries(directory: str, keep: str | None) -> None:
    """Remove the ``.gpg`` files (and emptied sub-directories) under ``directory``."""
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.path == keep:
            continue
        if entry.is_dir(follow_symlinks=False):
            _remove_entries(entry.path, keep=None)
            _rmdir(entry.path)
        elif entry.name.endswith(_SUFFIX):
            _unlink(entry.path)
