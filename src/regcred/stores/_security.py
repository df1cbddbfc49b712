"""The :class:`~regcred.stores.osxkeychain.Keychain` seam on Security.framework, through ``ctypes``.

macOS only.  Importing this module loads nothing; the frameworks are opened
when :class:`SecurityFramework` is created.  Every dictionary key and class
value is the framework's own constant (``kSecAttrServer`` …), looked up by
name; strings go in as UTF-8 ``CFString``, the port as a ``CFNumber``
(SInt32), the secret as ``CFData``, flags as ``kCFBooleanTrue``, as
go-keychain passes them.  What comes back is converted back to the same
Python types the seam promises (str, int, bytes), and every CF object this
module creates or is handed is released.

This code cannot run on the Linux machine the suite runs on: the macOS CI
workflow exercises it against the real keychain and the Go helper.
"""

from __future__ import annotations

import ctypes

from regcred.stores.osxkeychain import (
    ATTR_ACCOUNT,
    ATTR_AUTH_TYPE,
    ATTR_LABEL,
    ATTR_PATH,
    ATTR_PORT,
    ATTR_PROTOCOL,
    ATTR_SERVER,
    ERR_ITEM_NOT_FOUND,
    VALUE_DATA,
    Item,
    Keychain,
    KeychainError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["SecurityFramework"]

_SECURITY = "/System/Library/Frameworks/Security.framework/Security"
_CORE_FOUNDATION = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
_UTF8 = 0x08000100  # kCFStringEncodingUTF8
_SINT32 = 3  # kCFNumberSInt32Type
_SINT64 = 4  # kCFNumberSInt64Type
_UNLOCKED = 1  # kSecUnlockStateStatus
#: The attributes read back from a result dictionary.
_RESULT_KEYS = (ATTR_ACCOUNT, ATTR_AUTH_TYPE, ATTR_LABEL, ATTR_PATH, ATTR_PORT, ATTR_PROTOCOL, ATTR_SERVER)
_VALUE_CONSTANTS = frozenset({"kSecClassInternetPassword", "kSecMatchLimitOne", "kSecMatchLimitAll"})

c_void_p = ctypes.c_void_p


class SecurityFramework(Keychain):
    """Security.framework and CoreFoundation, loaded once per instance."""

    def __init__(self) -> None:
        self.cf = cf = ctypes.CDLL(_CORE_FOUNDATION)
        self.sec = sec = ctypes.CDLL(_SECURITY)
        for name, restype, argtypes in (
            ("CFRelease", None, [c_void_p]),
            ("CFGetTypeID", ctypes.c_ulong, [c_void_p]),
            ("CFArrayGetTypeID", ctypes.c_ulong, []),
            ("CFDictionaryGetTypeID", ctypes.c_ulong, []),
            ("CFStringGetTypeID", ctypes.c_ulong, []),
            ("CFDataGetTypeID", ctypes.c_ulong, []),
            ("CFNumberGetTypeID", ctypes.c_ulong, []),
            ("CFArrayGetCount", ctypes.c_long, [c_void_p]),
            ("CFArrayGetValueAtIndex", c_void_p, [c_void_p, ctypes.c_long]),
            ("CFDictionaryCreateMutable", c_void_p, [c_void_p, ctypes.c_long, c_void_p, c_void_p]),
            ("CFDictionarySetValue", None, [c_void_p, c_void_p, c_void_p]),
            ("CFDictionaryGetValue", c_void_p, [c_void_p, c_void_p]),
            (
                "CFStringCreateWithBytes",
                c_void_p,
                [c_void_p, ctypes.c_char_p, ctypes.c_long, ctypes.c_uint32, ctypes.c_bool],
            ),
            ("CFStringGetLength", ctypes.c_long, [c_void_p]),
            ("CFStringGetMaximumSizeForEncoding", ctypes.c_long, [ctypes.c_long, ctypes.c_uint32]),
            (
                "CFStringGetCString",
                ctypes.c_bool,
                [c_void_p, ctypes.c_char_p, ctypes.c_long, ctypes.c_uint32],
            ),
            ("CFDataCreate", c_void_p, [c_void_p, ctypes.c_char_p, ctypes.c_long]),
            ("CFDataGetLength", ctypes.c_long, [c_void_p]),
            ("CFDataGetBytePtr", c_void_p, [c_void_p]),
            ("CFNumberCreate", c_void_p, [c_void_p, ctypes.c_long, c_void_p]),
            ("CFNumberGetValue", ctypes.c_bool, [c_void_p, ctypes.c_long, c_void_p]),
        ):
            function = getattr(cf, name)
            function.restype, function.argtypes = restype, argtypes
        sec_functions: tuple[tuple[str, list[Any]], ...] = (
            ("SecItemAdd", [c_void_p, c_void_p]),
            ("SecItemCopyMatching", [c_void_p, ctypes.POINTER(c_void_p)]),
            ("SecItemDelete", [c_void_p]),
            ("SecKeychainCopyDefault", [ctypes.POINTER(c_void_p)]),
            ("SecKeychainGetStatus", [c_void_p, ctypes.POINTER(ctypes.c_uint32)]),
            ("SecKeychainGetUserInteractionAllowed", [ctypes.POINTER(ctypes.c_ubyte)]),
        )
        for name, argtypes in sec_functions:
            function = getattr(sec, name)
            function.restype, function.argtypes = ctypes.c_int32, argtypes
        sec.SecCopyErrorMessageString.restype = c_void_p
        sec.SecCopyErrorMessageString.argtypes = [ctypes.c_int32, c_void_p]
        self._true = c_void_p.in_dll(cf, "kCFBooleanTrue").value
        self._key_callbacks = ctypes.addressof(ctypes.c_char.in_dll(cf, "kCFTypeDictionaryKeyCallBacks"))
        self._value_callbacks = ctypes.addressof(ctypes.c_char.in_dll(cf, "kCFTypeDictionaryValueCallBacks"))

    # -- the seam -----------------------------------------------------------------

    def add(self, attributes: Item) -> None:
        with _Owned(self) as owned:
            self._check(self.sec.SecItemAdd(self._dictionary(attributes, owned), None))

    def copy_matching(self, query: Item) -> list[Item]:
        with _Owned(self) as owned:
            result = c_void_p()
            self._check(self.sec.SecItemCopyMatching(self._dictionary(query, owned), ctypes.byref(result)))
            if not result.value:
                return []
            owned.append(result.value)
            if self.cf.CFGetTypeID(result) == self.cf.CFArrayGetTypeID():
                count = self.cf.CFArrayGetCount(result)
                return [self._item(self.cf.CFArrayGetValueAtIndex(result, i)) for i in range(count)]
            if self.cf.CFGetTypeID(result) == self.cf.CFDictionaryGetTypeID():
                return [self._item(result.value)]
            return []

    def delete(self, query: Item) -> None:
        with _Owned(self) as owned:
            self._check(self.sec.SecItemDelete(self._dictionary(query, owned)))

    def state(self) -> tuple[bool, bool]:
        keychain = c_void_p()
        self._check(self.sec.SecKeychainCopyDefault(ctypes.byref(keychain)))
        try:
            status = ctypes.c_uint32()
            self._check(self.sec.SecKeychainGetStatus(keychain, ctypes.byref(status)))
        finally:
            self.cf.CFRelease(keychain)
        allowed = ctypes.c_ubyte()
        self._check(self.sec.SecKeychainGetUserInteractionAllowed(ctypes.byref(allowed)))
        return bool(status.value & _UNLOCKED), bool(allowed.value)

    # -- conversions --------------------------------------------------------------

    def _constant(self, name: str) -> int:
        value: int | None = c_void_p.in_dll(self.sec, name).value
        if not value:
            raise KeychainError(-50, f"Security.framework has no {name}")
        return value

    def _check(self, status: int) -> None:
        if status == 0:
            return
        message = ""
        text = self.sec.SecCopyErrorMessageString(status, None)
        if text:
            try:
                message = self._string(text)
            finally:
                self.cf.CFRelease(text)
        if status == ERR_ITEM_NOT_FOUND and not message:
            message = "The specified item could not be found in the keychain."
        raise KeychainError(status, message)

    def _dictionary(self, item: Item, owned: list[int]) -> int:
        cf = self.cf
        result: int = cf.CFDictionaryCreateMutable(
            None, len(item), self._key_callbacks, self._value_callbacks
        )
        owned.append(result)
        for key, value in item.items():
            if value is True:
                ref = self._true
            elif isinstance(value, str) and value in _VALUE_CONSTANTS:
                ref = self._constant(value)
            elif isinstance(value, str):
                raw = value.encode("utf-8")
                ref = cf.CFStringCreateWithBytes(None, raw, len(raw), _UTF8, False)  # noqa: FBT003
                owned.append(ref)
            elif isinstance(value, bytes):
                ref = cf.CFDataCreate(None, value, len(value))
                owned.append(ref)
            elif isinstance(value, int):
                number = ctypes.c_int32(value)
                ref = cf.CFNumberCreate(None, _SINT32, ctypes.byref(number))
                owned.append(ref)
            else:
                raise TypeError(f"cannot pass {type(value).__name__} for {key}")
            cf.CFDictionarySetValue(result, self._constant(key), ref)
        return result

    def _item(self, dictionary: int | None) -> Item:
        item: Item = {}
        if not dictionary:
            return item
        cf = self.cf
        for key in (*_RESULT_KEYS, VALUE_DATA):
            ref = cf.CFDictionaryGetValue(dictionary, self._constant(key))
            if not ref:
                continue
            kind = cf.CFGetTypeID(ref)
            if kind == cf.CFStringGetTypeID():
                item[key] = self._string(ref)
            elif kind == cf.CFDataGetTypeID():
                item[key] = ctypes.string_at(cf.CFDataGetBytePtr(ref), cf.CFDataGetLength(ref))
            elif kind == cf.CFNumberGetTypeID():
                number = ctypes.c_int64()
                cf.CFNumberGetValue(ref, _SINT64, ctypes.byref(number))
                item[key] = number.value
        return item

    def _string(self, ref: int) -> str:
        cf = self.cf
        size = cf.CFStringGetMaximumSizeForEncoding(cf.CFStringGetLength(ref), _UTF8) + 1
        buffer = ctypes.create_string_buffer(size)
        if not cf.CFStringGetCString(ref, buffer, size, _UTF8):
            return ""
        return buffer.value.decode("utf-8", "replace")


class _Owned(list[int]):
    """CF objects to release when the block ends."""

    def __init__(self, framework: SecurityFramework) -> None:
        super().__init__()
        self._release = framework.cf.CFRelease

    def __enter__(self) -> _Owned:  # noqa: PYI034 - a final private class
        return self

    def __exit__(self, *exc: object) -> None:
        for ref in reversed(self):
            if ref:
                self._release(ref)
