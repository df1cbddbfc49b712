"""``Record``: the base of regcred's small immutable value classes.

``@dataclass(frozen=True, slots=True)`` is the house default, but importing
``dataclasses`` costs ~8 ms (it pulls in ``inspect`` and generates code),
paid by every credential helper run and every login.  The few value classes
(:class:`~regcred.credentials.Credentials`, :class:`~regcred._config.read.AuthEntry`,
:class:`~regcred._net.auth.Verification`, and ``_api``'s store choice and login and
logout outcomes) derive from this instead.
"""

from __future__ import annotations

__all__ = ["Record"]

_FIELDS: dict[type, tuple[str, ...]] = {}


class Record:  # noqa: PLW1641 - unhashable unless a subclass says so (docstring)
    """An immutable record whose fields are the ``__slots__`` of its classes.

    Subclasses list their fields in ``__slots__`` (a subclass of a record
    adds to its base's fields), set them in ``__init__``
    with :meth:`_set`, and name the fields that hold secrets in ``_hidden``:
    ``repr()`` leaves those out.  Equality compares every field of records
    of the same type.  Records are unhashable unless a subclass defines
    ``__hash__`` (their fields may be unhashable dicts).
    """

    __slots__: tuple[str, ...] = ()
    _hidden: frozenset[str] = frozenset()

    def _set(self, **fields: object) -> None:
        """Set fields once, from ``__init__``."""
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (cannot delete {name!r})")

    def _fields(self) -> tuple[str, ...]:
        """Every field, base classes' first (computed once per class)."""
        cls = type(self)
        fields = _FIELDS.get(cls)
        if fields is None:
            fields = tuple(
                name for klass in reversed(cls.__mro__) for name in klass.__dict__.get("__slots__", ())
            )
            _FIELDS[cls] = fields
        return fields

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields())

    # Defining __eq__ sets __hash__ to None here, and subclasses inherit that.

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self._fields() if name not in self._hidden
        )
        return f"{type(self).__name__}({fields})"
