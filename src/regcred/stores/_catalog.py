"""The closed list of the native stores regcred knows, in auto-selection order.

One row per backend: the helper name regcred installs for it, the other
helper names that keep credentials in the same place (the Go helper of the
same backend: erasing through one erases through the other), the store
class, the title doctor shows, whether ``regcred login`` may pick it by
itself (``auto``), and the systems (``sys.platform`` prefixes, as
:data:`regcred._system.PLATFORM` says) it works on.

This list is the one answer to "which stores run here" and "which may login
pick by itself": :func:`default_backends` is the rows with ``auto`` that
:meth:`KnownStore.runs_here`, in row order (the Secret Service then pass on
Linux and the BSDs, ``osxkeychain`` on macOS, ``wincred`` on Windows).
Login's automatic choice (:meth:`regcred.stores._router.Router.where_new`)
tries them in that order; doctor shows them, the non-automatic ones and any
the config names; the macOS and Windows stores ask their own row whether
they can work here.

Adding a store: its module in ``regcred/stores/`` (a
:class:`~regcred.credentials.CredentialStore` whose ``status()`` says what
doctor should show), one row here, its console script in
``pyproject.toml`` (``regcred/helpers/<name>.py``), and a test class that
subclasses :class:`regcred.testing.StoreContract`.  Nothing else changes:
login's store choice, doctor's backend report and migrate's same-backend
check all read this list.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from regcred import _system
from regcred._record import Record
from regcred.credentials import StoreStatus

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from regcred.credentials import CredentialStore

__all__ = [
    "KNOWN",
    "KnownStore",
    "by_backend",
    "default_backends",
    "for_helper",
    "one_probe_each",
    "probed",
    "reported",
    "same_backend",
]

_PROBES: ContextVar[dict[str, StoreStatus] | None] = ContextVar("regcred_probes", default=None)


@contextlib.contextmanager
def one_probe_each() -> Iterator[None]:
    """Within: a backend that probes through :func:`probed` is probed once, and answers from that.

    doctor's backend rows and its "would store in" line (login's automatic
    choice, which asks the store's ``check()``) ask one question twice; a
    stalled Secret Service then costs its probe's bound once, and both
    answers agree (one truth, one cost).
    """
    token = _PROBES.set({})
    try:
        yield
    finally:
        _PROBES.reset(token)


def probed(backend: str, probe: Callable[[], StoreStatus]) -> StoreStatus:
    """``probe()``, or inside :func:`one_probe_each` the first answer it gave for ``backend``."""
    memo = _PROBES.get()
    if memo is None:
        return probe()
    if backend not in memo:
        memo[backend] = probe()
    return memo[backend]


class KnownStore(Record):
    """One native backend (see the module docstring)."""

    __slots__ = (
        "auto",
        "auto_platforms",
        "backend",
        "class_name",
        "helper",
        "module",
        "others",
        "platforms",
        "title",
    )
    helper: str
    others: frozenset[str]
    module: str
    class_name: str
    backend: str
    title: str
    #: whether login may pick it by itself (False for anything that costs money or needs an account)
    auto: bool
    #: ``sys.platform`` prefixes the backend can work on; empty: any system.
    platforms: frozenset[str]
    #: where login may pick it by itself, when that is fewer systems than ``platforms``
    #: (pass works on macOS, but there the keychain is the system's store, as for docker)
    auto_platforms: frozenset[str]

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
        auto_platforms: tuple[str, ...] = (),
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
            auto_platforms=frozenset(auto_platforms),
        )

    @property
    def helpers(self) -> frozenset[str]:
        """Every helper name that keeps credentials in this backend."""
        return self.others | {self.helper}

    def runs_here(self, platform: str | None = None) -> bool:
        """Whether the backend can work on ``platform`` (default: this system, :data:`_system.PLATFORM`)."""
        return _on(self.platforms, platform)

    def auto_here(self, platform: str | None = None) -> bool:
        """Whether login may pick the backend by itself on ``platform`` (default: this system)."""
        return self.auto and self.runs_here(platform) and _on(self.auto_platforms, platform)

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
        auto_platforms=("linux", "freebsd", "openbsd", "netbsd"),
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


def _on(platforms: frozenset[str], platform: str | None) -> bool:
    """Whether ``platform`` (default: :data:`_system.PLATFORM`) is one of ``platforms`` (empty: any)."""
    if not platforms:
        return True
    if platform is None:
        platform = _system.PLATFORM
    return any(platform.startswith(p) for p in platforms)


def default_backends() -> tuple[KnownStore, ...]:
    """The rows login may pick by itself here, in row order (see the module docstring).

    What docker's ``DetectDefaultStore`` picks from, in regcred's order:
    regcred prefers the Secret Service where docker tries pass first.
    """
    return tuple(known for known in KNOWN if known.auto_here())


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
    :func:`default_backends`), and any row whose helpers are
    ``named`` (by a config).  Not the others: a cloud store is probed only
    when a config uses it (its probe is a network call), and another system's
    stores (pass and the Secret Service on Windows, a keychain on Linux) say
    nothing about this one.
    """
    defaults = default_backends()
    return [k for k in KNOWN if named & k.helpers or k in defaults]
