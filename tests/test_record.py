"""Record, the base of the value classes: fields, equality, immutability, discreet repr."""

from __future__ import annotations

import pytest

from regcred._config.read import AuthEntry
from regcred._record import Record
from regcred.credentials import Credentials

pytestmark = pytest.mark.portable  # needs no Linux component: .github/workflows/portable.yml runs it


class _Tagged(Credentials):
    """A subclass adds a field; the base's fields still count."""

    __slots__ = ("tag",)
    tag: str

    def __init__(self, server: str, username: str, secret: str, tag: str) -> None:
        super().__init__(server, username, secret)
        self._set(tag=tag)


def test_a_subclass_compares_its_bases_fields_too() -> None:
    assert _Tagged("s", "u", "one", "t") != _Tagged("s", "u", "two", "t")
    assert _Tagged("s", "u", "one", "t") == _Tagged("s", "u", "one", "t")
    assert _Tagged("s", "u", "one", "t") != Credentials("s", "u", "one")


def test_hidden_fields_stay_out_of_repr_in_subclasses() -> None:
    text = repr(_Tagged("reg.example", "alice", "hunter2-secret", "t"))
    assert "hunter2-secret" not in text
    assert text == "_Tagged(server='reg.example', username='alice', tag='t')"
    entry = AuthEntry("reg.example", "alice", "pw-secret", "token-secret", has_secret=True)
    assert "secret" not in repr(entry).replace("has_secret", "")


def test_records_are_immutable_and_unhashable_unless_said() -> None:
    entry = AuthEntry("k", "u", "p", "", has_secret=True)
    with pytest.raises(AttributeError, match="immutable"):
        entry.username = "other"
    with pytest.raises(TypeError):
        hash(entry)
    assert hash(Credentials("s", "u", "p")) == hash(Credentials("s", "u", "p"))
    assert issubclass(Credentials, Record)
