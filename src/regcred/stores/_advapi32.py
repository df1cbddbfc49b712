"""The :class:`~regcred.stores.wincred.CredentialManager` seam on advapi32, through ``ctypes``.

Windows only.  Importing this module loads nothing; ``advapi32.dll`` is
opened when :class:`Advapi32` is created.  The structures are ``CREDENTIALW``
and ``CREDENTIAL_ATTRIBUTEW`` as danieljoos/wincred (the Go helper's library)
declares them; strings are UTF-16 (``LPWSTR``), the blob and attribute values
raw bytes; every buffer Windows hands back is freed with ``CredFree``.

This code cannot run on the Linux machine the suite runs on: the Windows CI
workflow exercises it against the real Credential Manager and the Go helper.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, byref, c_uint32, c_void_p, c_wchar_p

from regcred.stores.wincred import CRED_TYPE_GENERIC, CredentialManager, WinCredential, WinError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Advapi32"]

_BYTES = POINTER(ctypes.c_ubyte)


class _Attribute(Structure):
    _fields_ = (("Keyword", c_wchar_p), ("Flags", c_uint32), ("ValueSize", c_uint32), ("Value", _BYTES))


class _FileTime(Structure):
    _fields_ = (("dwLowDateTime", c_uint32), ("dwHighDateTime", c_uint32))


class _Credential(Structure):
    _fields_ = (
        ("Flags", c_uint32),
        ("Type", c_uint32),
        ("TargetName", c_wchar_p),
        ("Comment", c_wchar_p),
        ("LastWritten", _FileTime),
        ("CredentialBlobSize", c_uint32),
        ("CredentialBlob", _BYTES),
        ("Persist", c_uint32),
        ("AttributeCount", c_uint32),
        ("Attributes", POINTER(_Attribute)),
        ("TargetAlias", c_wchar_p),
        ("UserName", c_wchar_p),
    )


def _bytes(pointer: Any, size: int) -> bytes:
    return ctypes.string_at(pointer, size) if size else b""


def _convert(raw: _Credential) -> WinCredential:
    attributes = tuple(
        (raw.Attributes[i].Keyword or "", _bytes(raw.Attributes[i].Value, raw.Attributes[i].ValueSize))
        for i in range(raw.AttributeCount)
    )
    return WinCredential(
        raw.TargetName or "",
        raw.UserName or "",
        _bytes(raw.CredentialBlob, raw.CredentialBlobSize),
        type=raw.Type,
        persist=raw.Persist,
        attributes=attributes,
    )


class Advapi32(CredentialManager):
    """advapi32's Cred* functions (``use_last_error`` for the error codes)."""

    def __init__(self) -> None:
        dll = ctypes.WinDLL("advapi32.dll", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
        self._write = dll.CredWriteW
        self._write.argtypes, self._write.restype = [POINTER(_Credential), c_uint32], ctypes.c_bool
        self._read = dll.CredReadW
        self._read.argtypes = [c_wchar_p, c_uint32, c_uint32, POINTER(POINTER(_Credential))]
        self._read.restype = ctypes.c_bool
        self._enumerate = dll.CredEnumerateW
        self._enumerate.argtypes = [
            c_wchar_p,
            c_uint32,
            POINTER(c_uint32),
            POINTER(POINTER(POINTER(_Credential))),
        ]
        self._enumerate.restype = ctypes.c_bool
        self._delete = dll.CredDeleteW
        self._delete.argtypes, self._delete.restype = [c_wchar_p, c_uint32, c_uint32], ctypes.c_bool
        self._free = dll.CredFree
        self._free.argtypes, self._free.restype = [c_void_p], None

    @staticmethod
    def _fail() -> WinError:
        code = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
        return WinError(code, ctypes.FormatError(code).strip())  # type: ignore[attr-defined,unused-ignore]

    def write(self, credential: WinCredential) -> None:
        values = [ctypes.create_string_buffer(value, len(value) or 1) for _, value in credential.attributes]
        attributes = (_Attribute * max(len(values), 1))()
        for i, ((keyword, value), buffer) in enumerate(zip(credential.attributes, values, strict=True)):
            attributes[i] = _Attribute(keyword, 0, len(value), ctypes.cast(buffer, _BYTES))
        blob = ctypes.create_string_buffer(credential.blob, len(credential.blob) or 1)
        raw = _Credential()
        raw.Type = credential.type
        raw.TargetName = credential.target_name
        raw.UserName = credential.user_name
        raw.CredentialBlobSize = len(credential.blob)
        raw.CredentialBlob = ctypes.cast(blob, _BYTES)
        raw.Persist = credential.persist
        raw.AttributeCount = len(values)
        raw.Attributes = ctypes.cast(attributes, POINTER(_Attribute))
        if not self._write(byref(raw), 0):
            raise self._fail()

    def read(self, target_name: str) -> WinCredential:
        found = POINTER(_Credential)()
        if not self._read(target_name, CRED_TYPE_GENERIC, 0, byref(found)):
            raise self._fail()
        try:
            return _convert(found.contents)
        finally:
            self._free(found)

    def enumerate(self) -> list[WinCredential]:
        count = c_uint32()
        found = POINTER(POINTER(_Credential))()
        if not self._enumerate(None, 0, byref(count), byref(found)):
            raise self._fail()
        try:
            return [_convert(found[i].contents) for i in range(count.value)]
        finally:
            self._free(found)

    def delete(self, target_name: str) -> None:
        if not self._delete(target_name, CRED_TYPE_GENERIC, 0):
            raise self._fail()
