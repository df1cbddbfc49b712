"""``regcred login``'s web sign-in to Docker Hub: when it runs, what it prints, where it stores.

Called from one place, :func:`regcred.cli._login.run_login`.  The network
side is :mod:`regcred._net.hub_oauth`; the storing is
:func:`regcred._write.store_web_login`.

When (docker 28.2.2's ``loginUser``): the server is Docker Hub, no
``-u``/``-p``/``--password-stdin`` was given, stdin is a terminal and
``DOCKER_CLI_DISABLE_OAUTH_LOGIN`` is not true.  ``--web`` forces it (and then
it needs no terminal: it only prints a code), ``--no-web`` forces the password
prompt.  If the tenant cannot start a device flow, the password prompt
follows, as in docker, except with ``--web``, where it is an error.

What is printed goes to stderr, as docker's: the one-time code and the
verification URL.  ENTER opens that URL in a browser where one can be opened
(a desktop session: ``$DISPLAY``/``$WAYLAND_DISPLAY`` on Linux, macOS,
Windows); otherwise it says to open it on any device.  Nothing is stored
until the sign-in, the PAT and every write have succeeded; Ctrl-C stops the
poll and stores nothing.
"""

from __future__ import annotations

import os
import sys

from regcred.errors import LoginError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from regcred.cli._login import LoginArgs

__all__ = ["oauth_login_disabled", "run_web_login", "wanted"]

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def oauth_login_disabled() -> bool:
    """docker's ``isOauthLoginDisabled``: ``DOCKER_CLI_DISABLE_OAUTH_LOGIN`` is true to Go's ParseBool."""
    return os.environ.get("DOCKER_CLI_DISABLE_OAUTH_LOGIN", "") in _TRUE


def wanted(args: LoginArgs, key: str, username: str | None, password: str | None) -> bool:
    """Whether this login is the web sign-in (raises UsageError for ``--web`` where it cannot be)."""
    from regcred._address import DOCKER_HUB

    web = getattr(args, "web", None)
    if web is True:
        if key != DOCKER_HUB:
            raise UsageError("--web signs in to Docker Hub only")
        if username is not None or password is not None:
            raise UsageError("--web takes no username or password")
        return True
    if web is False or key != DOCKER_HUB or username is not None or password is not None:
        return False
    return sys.stdin.isatty() and not oauth_login_disabled()


def run_web_login(args: LoginArgs, auth_file: str | None, log: Callable[[str], None] | None) -> int | None:
    """The whole web sign-in; None when the tenant could not start one (then prompt, as docker)."""
    from regcred import _write
    from regcred._net import hub_oauth
    from regcred._net.http import Client

    forced = getattr(args, "web", None) is True
    tenant, api = hub_oauth.tenant_url(), hub_oauth.api_url()
    client = Client(timeout=getattr(args, "timeout", None))  # login --timeout bounds each step here too
    try:
        code = hub_oauth.start(client, tenant)
        _instructions(code)
        _on_enter(code.verification_uri)
        access, refresh = hub_oauth.wait_for_tokens(client, tenant, code, log=log)
        username = hub_oauth.username_of(access)
        pat = hub_oauth.mint_pat(client, api, access)
    except hub_oauth.DeviceFlowUnavailableError as exc:
        if forced:
            raise LoginError(f"failed to start the web sign-in: {exc}") from None
        if log:
            log(f"web sign-in unavailable: {exc}")
        print("Failed to start web-based login - falling back to command line login...\n", file=sys.stderr)
        return None
    except KeyboardInterrupt:  # ^C anywhere before the first write: nothing stored
        raise KeyboardInterrupt("login canceled: nothing was stored") from None
    finally:
        client.close()
    tokens = [(hub_oauth.ACCESS_TOKEN_KEY, access)]
    if refresh:
        tokens.append((hub_oauth.REFRESH_TOKEN_KEY, hub_oauth.refresh_for_storage(refresh)))
    outcome = _write.store_web_login(
        username, pat, tokens, config_dir=args.config, auth_file=auth_file, log=log
    )
    if outcome.plaintext:
        from regcred.cli._login import PLAINTEXT_WARNING, warn_if_readable

        path = _write.config_file(args.config, auth_file)
        print(PLAINTEXT_WARNING.format(path=path), file=sys.stderr)
        warn_if_readable(path)
    if args.json:
        from regcred._gojson import dumps_compact

        doc = {
            "key": outcome.key,
            "username": outcome.username,
            "store": outcome.store,
            "verified": True,  # Hub itself issued the PAT to this signed-in account
            "plaintext": outcome.plaintext,
            "identity_token": False,
            "reused": False,
            "web": True,
        }
        sys.stdout.write(dumps_compact(doc))
        return 0
    print("Login Succeeded")
    return 0


def _instructions(code: object) -> None:
    from regcred._text import printable

    user_code = printable(getattr(code, "user_code", ""))
    shown = printable(getattr(code, "shown_uri", ""))
    err = sys.stderr
    print("\nUSING WEB-BASED LOGIN", file=err)
    print("To sign in with credentials on the command line, use 'regcred login -u <username>'", file=err)
    print(f"\nYour one-time device confirmation code is: {user_code}", file=err)
    print(f"Press ENTER to open your browser or submit your device code here: {shown}", file=err)
    print("\nWaiting for authentication in the browser…", file=err, flush=True)


def _on_enter(uri: str) -> None:
    """On ENTER (read from the terminal by a daemon thread), open ``uri`` in a browser, if any."""
    if not sys.stdin.isatty():
        return
    import threading

    def wait_for_enter() -> None:
        try:
            while b"\n" not in os.read(0, 1024):  # raw fd: no buffered-stdin lock held at exit
                pass
        except OSError:
            return
        if not _open_browser(uri):
            from regcred._text import printable

            print(
                f"No browser can be opened here: open {printable(uri)} on any device.",
                file=sys.stderr,
                flush=True,
            )

    threading.Thread(target=wait_for_enter, daemon=True).start()


def _open_browser(uri: str) -> bool:
    """Hand ``uri`` to the desktop's opener; False where there is none (never a text browser)."""
    import shutil
    import subprocess

    from regcred._system import is_macos, is_windows

    if is_windows():
        try:
            os.startfile(uri)  # type: ignore[attr-defined]  # noqa: S606 - the desktop's opener
        except (OSError, AttributeError):  # AttributeError: a simulated Windows (tests/test_portable.py)
            return False
        return True
    if is_macos():
        opener = "open"
    elif os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        opener = "xdg-open"
    else:
        return False
    program = shutil.which(opener)
    if program is None:
        return False
    try:
        subprocess.Popen(
            [program, uri],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return False
    return True
