"""The closed list of the native stores regcred knows, in auto-selection order.

One row per backend: the helper name regcred installs for it, the other
helper names that keep credentials in the same place (the Go helper of the
same backend: erasing through one erases through the other), the store
class, the title doctor shows, and whether ``regcred login`` may pick it by
itself.  Which rows login may pick, and in which order, is the system's
(:func:`regcred._system.default_backends`: the Secret Service then pass on
Linux, ``osxkeychain`` on macOS, ``wincred`` on Windows); doctor shows those
rows, the non-automatic ones and any the config names.
Each row also names the systems (``sys.platform`` values) it can work on
(:meth:`KnownStore.runs_here`).

Adding a store: its module in ``regcred/stores/`` (a
:class:`~regcred.credentials.CredentialStore` whose ``status()`` says what
doctor should show), one row here, its console script in
``pyproject.toml`` (``regcred/helpers/<name>.py``), and a test class that
subclasses :class:`regcred.testing.StoreContract`.  Nothing else changes:
login's store choice, doctor's backend report and migrate's same-backend
check all read this list.
"""

from __future__ import annotations

from regcred._record import Record
from regcred.credentials import StoreStatus

TYPE_CHECKING = False
if TYPE_CHECKING:
    from regcred.credentials import CredentialStore

__all__ = ["KNOWN", "KnownStore", "by_backend", "for_helper", "reported", "same_backend"]


class KnownStore(Record):
    """One native backend (see the module docstring)."""

    __slots__ = ("auto", "backend", "class_name", "helper", "module", "others", "platforms", "title")
    helper: str
    others: frozenset[str]
    module: str
    class_name: str
    backend: str
    title: str
    auto: bool
    #: ``sys.platform`` values the backend can work on; empty: any system.
    platforms: frozenset[str]

    def __init__(
        self,
        helper: str,
        *,
        others: tuple[str, ...],
        module: str,
        class_name: str,
        backend: str,
        title: str,
        auto: bool,
        platforms: tuple[str, ...] = (),
    ) -> None:
        self._set(
            helper=helper,
            others=frozenset(others),
            module=module,
            class_name=class_name,
            backend=backend,
            title=title,
            auto=auto,
            platforms=frozenset(platforms),
        )

    @property
    def helpers(self) -> frozenset[str]:
        """Every helper name that keeps credentials in this backend."""
        return self.others | {self.helper}

    def runs_here(self, platform: str | None = None) -> bool:
        """Whether the backend can work on ``platform`` (default: this system)."""
        if not self.platforms:
            return True
        if platform is None:
            import sys

            platform = sys.platform
        return platform in self.platforms or any(platform.startswith(p) for p in self.platforms)

    def load(self) -> type[CredentialStore]:
        """The store class (imports its module, which may need an optional dependency)."""
        from importlib import import_module

        cls: type[CredentialStore] = getattr(import_module(self.module), self.class_name)
        return cls

    def status(self) -> StoreStatus:
        """The backend's state, as doctor shows it; never reads a secret."""
        try:
            cls = self.load()
        except ImportError as exc:
            return StoreStatus("unavailable", f"{exc.name} is not installed")
        return cls().status()


KNOWN: tuple[KnownStore, ...] = (
    KnownStore(
        "regcred-secretservice",
        others=("secretservice",),
        module="regcred.stores.secretservice",
        class_name="SecretServiceStore",
        backend="secretservice",
        title="Secret Service",
        auto=True,
        platforms=("linux", "freebsd", "openbsd", "netbsd"),
    ),
    KnownStore(
        "regcred-pass",
        others=("pass",),
        module="regcred.stores.pass_",
        class_name="PassStore",
        backend="pass",
        title="pass store",
        auto=True,
        platforms=("linux", "darwin", "freebsd", "openbsd", "netbsd"),
    ),
    KnownStore(
        "regcred-osxkeychain",
        others=("osxkeychain",),
        module="regcred.stores.osxkeychain",
        class_name="OsxKeychainStore",
        backend="osxkeychain",
        title="macOS keychain",
        auto=True,
        platforms=("darwin",),
    ),
    KnownStore(
        "regcred-wincred",
        others=("wincred",),
        module="regcred.stores.wincred",
        class_name="WincredStore",
        backend="wincred",
        title="Windows Credential Manager",
        auto=True,
        platforms=("win32",),
    ),
    # A cloud store is a fleet's deliberate choice: never picked by login itself.
    KnownStore(
        "regcred-aws",
        others=(),
        module="regcred.stores.aws",
        class_name="AwsSecretsManagerStore",
        backend="aws",
        title="AWS Secrets Manager",
        auto=False,
    ),
)


def for_helper(name: str) -> KnownStore | None:
    """The backend behind helper ``name`` (ours or the Go helper of the same backend), or None."""
    return next((k for k in KNOWN if name in k.helpers), None)


def by_backend(backend: str) -> KnownStore:
    """The row for ``backend`` (``"secretservice"``, ``"pass"``, ``"osxkeychain"``, ``"wincred"``, …)."""
    return next(k for k in KNOWN if k.backend == backend)


def same_backend(a: str, b: str) -> bool:
    """Two helper names that keep credentials in the same place (erasing one erases both)."""
    if a == b:
        return True
    known = for_helper(a)
    return known is not None and b in known.helpers


def reported(named: frozenset[str] | set[str] = frozenset()) -> list[KnownStore]:
    """The rows whose state ``regcred doctor`` and ``regcred --version`` show, in catalog order.

    The stores login may pick by itself on this system (``auto`` rows among
    :func:`regcred._system.default_backends`), and any row whose helpers are
    ``named`` (by a config).  Not the others: a cloud store is probed only
    when a config uses it (its probe is a network call), and another system's
    stores (pass and the Secret Service on Windows, a keychain on Linux) say
    nothing about this one.
    """
    from regcred import _system

    defaults = _system.default_backends()
    return [k for k in KNOWN if named & k.helpers or (k.auto and k.backend in defaults)]
