"""The ``login`` and ``logout`` subcommands: flags, prompts and messages (docker's).

Everything that decides anything lives in ``regcred._write``; this module
only turns flags, stdin and the terminal into arguments, and outcomes into
messages.  Flags that contradict each other are a :class:`UsageError` (exit 2);
values that are wrong (an empty or non-UTF-8 password) are a ``LoginError``
(exit 1), as are the registry's refusals.
"""

from __future__ import annotations

import argparse
import sys

from regcred.cli._args import CommonArgs, seconds
from regcred.errors import LoginError, UsageError

TYPE_CHECKING = False  # typing costs start-up time
if TYPE_CHECKING:
    from typing import Any

PLAINTEXT_WARNING = """
WARNING! Your credentials are stored unencrypted in '{path}'.
Configure a credential helper to remove this warning ('regcred doctor' shows
which stores work here, 'regcred migrate' moves credentials into one). See
https://docs.docker.com/go/credential-store/
"""


class LoginArgs(CommonArgs):
    server: str | None
    username: str | None
    password: str | None
    password_stdin: bool
    cert_dir: list[str]
    #: True: --insecure / --tls-verify=false; False: --tls-verify (https only); None: neither (the last wins)
    insecure: bool | None
    timeout: float | None
    verbose: bool
    json: bool
    authfile: str | None
    get_login: bool
    web: bool | None


def add_login_arguments(login: argparse.ArgumentParser) -> None:
    login.description = (
        'Log in to a registry. If no server is given, "https://index.docker.io/v1/" '
        "(Docker Hub) is the default. The credentials are checked against the registry before "
        "they are stored."
    )
    login.add_argument("server", metavar="SERVER", nargs="?", help="registry, e.g. localhost:8080")
    login.add_argument("-u", "--username", help="username")
    login.add_argument("-p", "--password", help="password (insecure: prefer --password-stdin)")
    login.add_argument("--password-stdin", action="store_true", help="take the password from stdin")
    login.add_argument(
        "--cert-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory with *.crt CA files and *.cert/*.key client certificates (repeatable)",
    )
    login.add_argument(
        "--insecure",
        action="store_const",
        const=True,
        default=None,
        help="allow plain HTTP and unverified TLS for this registry",
    )
    login.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="give up on each network step (connect, TLS, answer) after this long "
        "(default: $REGCRED_HTTP_TIMEOUT, else 15)",
    )
    login.add_argument("-v", "--verbose", action="store_true", help="explain every step (no secrets)")
    login.add_argument(
        "--web",
        dest="web",
        action="store_const",
        const=True,
        default=None,
        help="sign in to Docker Hub in a browser (the default for Hub on a terminal without -u)",
    )
    login.add_argument(
        "--no-web",
        dest="web",
        action="store_const",
        const=False,
        help="ask for a password, never the web sign-in",
    )
    _add_podman_arguments(login)
    login.add_argument(
        "--tls-verify=false",
        dest="insecure",
        action="store_const",
        const=True,
        help="podman's spelling of --insecure",
    )
    login.add_argument(
        "--tls-verify",
        "--tls-verify=true",
        dest="insecure",
        action="store_const",
        const=False,
        help="verified https only, never plain HTTP, even on loopback (podman's meaning)",
    )
    login.add_argument(
        "--get-login",
        action="store_true",
        help="print the username stored for SERVER and exit (1 if none); contacts no registry",
    )
    login.add_argument(
        "--json",
        action="store_true",
        help='print the result as JSON {"key","username","store","verified",…} (never a secret)',
    )


def _add_podman_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--authfile",
        metavar="FILE",
        help="use this auth file (podman's auth.json, same shape) instead of docker's config.json "
        "(default: $REGISTRY_AUTH_FILE if set)",
    )


def _auth_file(args: LoginArgs | LogoutArgs) -> str | None:
    """``--authfile``, else ``$REGISTRY_AUTH_FILE`` as podman reads it (said on stderr: docker ignores it)."""
    if args.authfile is not None:
        if not args.authfile:
            raise UsageError("--authfile needs a file name")
        return args.authfile
    import os

    from_env = os.environ.get("REGISTRY_AUTH_FILE")
    if from_env:
        print(
            f"regcred: using REGISTRY_AUTH_FILE={from_env} (podman's auth file; docker does not read it)",
            file=sys.stderr,
        )
        return from_env
    return None


class LogoutArgs(CommonArgs):
    server: str | None
    all: bool
    verbose: bool
    json: bool
    authfile: str | None


def add_logout_arguments(logout: argparse.ArgumentParser) -> None:
    logout.description = (
        "Remove the credentials for SERVER, under every spelling of its address, "
        "from config.json and from the credential helper that holds them."
    )
    logout.add_argument("server", metavar="SERVER", nargs="?", help="registry")
    logout.add_argument("-a", "--all", action="store_true", help="log out of every registry")
    logout.add_argument("-v", "--verbose", action="store_true", help="explain every step")
    _add_podman_arguments(logout)
    logout.add_argument(
        "--json",
        action="store_true",
        help='print {"keys": [...], "removed": {store: [keys]}} (empty when nothing was stored)',
    )


def _log(args: LoginArgs | LogoutArgs) -> Any:
    if not args.verbose:
        return None

    def log(line: str) -> None:
        print(f"regcred: {line}", file=sys.stderr)

    return log


_ENV_WARNING = (
    "WARNING: DOCKER_AUTH_CONFIG is set and takes precedence over what is stored here.\n"
    "Unset DOCKER_AUTH_CONFIG to use the stored credentials."
)


def _warn_env_auth_config() -> None:
    import os

    if os.environ.get("DOCKER_AUTH_CONFIG"):
        print(_ENV_WARNING, file=sys.stderr)


def run_login(args: LoginArgs) -> int:
    from regcred import _write as _api
    from regcred._address import login_key

    auth_file = _auth_file(args)
    if args.get_login:
        return _get_login(args, auth_file)
    _warn_env_auth_config()

    username, password = _flag_credentials(args)
    log = _log(args)
    key = login_key(args.server)  # HOST/ns/repo stays a per-repository key, as podman keeps it
    common = {
        "config_dir": args.config,
        "insecure": args.insecure is True,
        "require_tls": args.insecure is False,  # the last of --insecure / --tls-verify[=…] wins, as in podman
        "cert_dirs": args.cert_dir,
        "timeout": args.timeout,
        "log": log,
        "auth_file": auth_file,
    }
    from regcred.cli import _login_web

    web = _login_web.wanted(args, key, username, password)
    if username is None and password is None:
        stored = _api.stored_credentials(key, config_dir=args.config, auth_file=auth_file)
        if stored is not None and stored.username and stored.secret and args.web is not True:
            shown = "" if stored.is_identity_token else f" [Username: {stored.username}]"
            print(f"Authenticating with existing credentials...{shown}", file=sys.stderr)
            try:
                outcome = _api.check_login(key, username=stored.username, secret=stored.secret, **common)
            except LoginError as exc:
                from regcred._net.http import TransportError

                if isinstance(exc, TransportError):  # no answer, or TLS: not the credentials' fault
                    print(f"Login did not succeed, error: {exc}", file=sys.stderr)
                else:
                    print(f"Stored credentials invalid or expired ({exc})", file=sys.stderr)
            else:
                return _succeeded(outcome, args, reused=True)
        if web and (done := _login_web.run_web_login(args, auth_file, log)) is not None:
            return done
        default_user = stored.username if stored is not None and not stored.is_identity_token else None
        username, password = _prompt(key, default_user)
    elif username is None or password is None:
        username, password = _prompt(key, username, ask_username=username is None)
    outcome = _api.login(key, username=username, secret=password, **common)
    if outcome.notes:
        from regcred._text import printable

        for note in outcome.notes:
            print(f"regcred: {printable(note)}", file=sys.stderr)
    if outcome.plaintext:
        path = _api.config_file(args.config, auth_file)
        print(PLAINTEXT_WARNING.format(path=path), file=sys.stderr)
        warn_if_readable(path)
    elif log:
        log(f"stored in {outcome.store}")
    _warn_if_host_wins(outcome.key, args.config, auth_file)
    return _succeeded(outcome, args)


def _warn_if_host_wins(key: str, config_dir: str | None, auth_file: str | None) -> None:
    """What docker will do with a per-repository login, which podman and skopeo read as its namespace's.

    Beside the registry's own key, docker (and so regcred) use the host's for every
    repository there.  Alone, docker falls back to it for every repository on the host
    (its fileStore matches any key by hostname), where podman, skopeo and regcred
    keep it to its namespace.
    """
    from regcred import _write as _api
    from regcred._address import registry_of

    registry, repo = registry_of(key)
    if not repo:
        return
    from regcred._text import printable

    if _api.stored_credentials(registry, config_dir=config_dir, auth_file=auth_file) is None:
        if auth_file is None:  # docker reads config.json, not podman's auth file
            print(
                f"note: while {printable(registry)} has no credentials of its own, docker sends these for "
                f"every repository on {printable(registry)}; podman, skopeo and regcred only for "
                f"{printable(key)}",
                file=sys.stderr,
            )
        return

    print(
        f"WARNING! {printable(registry)} has credentials of its own, which docker and regcred use for "
        f"every repository there, {printable(key)} included (podman and skopeo use {printable(key)}); "
        f"'regcred logout {printable(registry)}' leaves only the per-repository one",
        file=sys.stderr,
    )


def _get_login(args: LoginArgs, auth_file: str | None) -> int:
    """podman's ``login --get-login``: the username login would reuse for SERVER; no network."""
    from regcred import _write as _api
    from regcred._address import login_key
    from regcred._text import printable

    key = login_key(args.server)
    stored = _api.stored_credentials(key, config_dir=args.config, auth_file=auth_file)
    if stored is None or not stored.username:
        print(f"regcred: not logged in to {printable(key)}", file=sys.stderr)
        return 1
    print(printable(stored.username))
    return 0


def warn_if_readable(path: Any) -> None:
    """S13: a password just went into a file that others may read: say so, loudly.

    Only where the system has modes: Windows' ``st_mode`` says nothing about its ACL.
    """
    import os
    import stat

    from regcred import _system

    if not _system.has_modes():
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if mode & 0o077:
        print(
            f"WARNING! {path} has mode {mode:04o}: other users may read the password "
            f"stored in it. Run: chmod 600 {path}",
            file=sys.stderr,
        )


def _succeeded(outcome: Any, args: LoginArgs, *, reused: bool = False) -> int:
    if not outcome.verified:
        print(
            f"WARNING! {outcome.endpoint} did not ask for credentials, so they could not be "
            "verified. They were stored anyway.",
            file=sys.stderr,
        )
    if args.json:
        from regcred._gojson import dumps_compact

        doc = {
            "key": outcome.key,
            "username": outcome.username,
            "store": outcome.store,
            "verified": outcome.verified,
            "plaintext": outcome.plaintext,
            "identity_token": outcome.used_identity_token,
            "reused": reused,  # True: the stored credentials were checked, nothing was written
        }
        sys.stdout.write(dumps_compact(doc))
        return 0
    print("Login Succeeded" if outcome.verified else "Login Succeeded (credentials not verified)")
    return 0


def _flag_credentials(args: LoginArgs) -> tuple[str | None, str | None]:
    """Docker's flag rules: -p warns, --password-stdin needs -u, one trailing EOL stripped."""
    username: str | None = args.username
    password: str | None = args.password
    from_stdin = args.password_stdin or password == "-"
    if args.password_stdin and password not in (None, "-"):
        raise UsageError("conflicting options: cannot specify both --password and --password-stdin")
    if from_stdin and not username:
        raise UsageError("the --password-stdin option requires --username to be set")
    if username is not None and not username.strip():
        raise LoginError("username is empty")
    if username is not None:
        _require_utf8(username, "the username")
    if from_stdin:
        raw = sys.stdin.buffer.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise LoginError("the password on stdin is not valid UTF-8") from None
        for eol in ("\r\n", "\n", "\r"):
            if text.endswith(eol):
                text = text[: -len(eol)]
                break
        if not text.strip():
            raise LoginError("password is empty")
        password = text
    elif password is not None:
        if not password:
            raise LoginError("password is empty")
        _require_utf8(password, "the password")
        print(
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
            file=sys.stderr,
        )
    return username, password


def _require_utf8(text: str, what: str) -> None:
    """argv arrives with undecodable bytes as surrogates; they cannot go on the wire."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise LoginError(f"{what} is not valid UTF-8") from None


def _prompt(key: str, default_user: str | None, *, ask_username: bool = True) -> tuple[str, str]:
    """Username and no-echo password from the terminal; never hang on a non-TTY."""
    if not sys.stdin.isatty():
        raise LoginError("cannot perform an interactive login from a non-TTY device")
    import getpass

    username = default_user or ""
    if ask_username:
        label = f"Username ({default_user}): " if default_user else "Username: "
        sys.stdout.write(label)
        sys.stdout.flush()
        answer = sys.stdin.readline().strip()
        username = answer or username
        if not username:
            raise LoginError("username is required")
    password = getpass.getpass("Password: ").strip()
    if not password:
        raise LoginError("password is required")
    _ = key
    return username, password


def run_logout(args: LogoutArgs) -> int:
    from regcred import _write as _api
    from regcred._address import login_key
    from regcred.errors import CredentialsNotFoundError

    auth_file = _auth_file(args)
    _warn_env_auth_config()
    try:
        outcome = _api.logout(
            args.server,
            all=args.all,
            config_dir=args.config,
            log=_log(args),
            auth_file=auth_file,
            revoke=True,
        )
    except CredentialsNotFoundError as exc:
        # docker exits 0 here, so `set -e` clean-up scripts keep going: say so, on stderr only.
        from regcred._text import printable

        print(f"regcred: {printable(str(exc))}: nothing was stored, nothing removed", file=sys.stderr)
        outcome = _api.LogoutResult()
    if outcome.podman:  # podman's files still answer: say so, as for a registry never logged in to
        from regcred._text import printable

        print(f"regcred: {printable(outcome.podman)}", file=sys.stderr)
    keys = sorted({k for ks in outcome.removed.values() for k in ks})
    if outcome.revoke_error:
        from regcred._text import printable

        print(
            "WARNING: Docker Hub's web sign-in tokens were erased, but the refresh token was not "
            f"revoked at the tenant ({printable(outcome.revoke_error)}). It stays valid until it "
            "expires: end the session in Docker Hub's account settings.",
            file=sys.stderr,
        )
    if args.json:
        from regcred._gojson import dumps_compact

        revoked = {"revoked": outcome.revoked, "revoke_error": outcome.revoke_error}  # never a token
        sys.stdout.write(dumps_compact({"keys": keys, "removed": outcome.removed, **revoked}))
        return 0
    if args.all:
        for key in keys:
            print(f"Removing login credentials for {key}")
        return 0
    if outcome.removed:
        print(f"Removing login credentials for {login_key(args.server)}")
    return 0
