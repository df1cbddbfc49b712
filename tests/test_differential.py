"""The differential suite (issue 10): docker, skopeo and podman are the referee.

Each row writes one configuration in which the VALID credentials (alice and
the registry's password) sit in exactly one place and INVALID ones
(mallory / wrong) sit in the others.  Against a real htpasswd registry, "docker
authenticated" then means "docker picked the place with the valid
credentials", and likewise for skopeo.  regcred "authenticates" when
``regcred get`` (the installed console script) and
``regcred.get_credentials()`` both return exactly alice and her password.

* Rows about docker's ``config.json``: docker is the referee.  skopeo and
  ``podman login --get-login`` are asked too (what containers/image reads of
  docker's file) and shown in the table, but regcred follows docker there.
* Rows about podman's own auth file: skopeo is the referee for the image
  (most specific namespace first), and ``podman login --get-login HOST`` for a
  host lookup (``regcred get HOST`` must report the same username).

A row where regcred disagrees with the referee today is a strict xfail naming
the defect of issue 10; fixing the defect makes it pass, the strict xfail then
fails, and the mark goes.  A referee is right by definition: where one does
something unexpected, the row's note says what it really does.

``scripts/differential`` runs this module and regenerates docs/differential.md.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import regcred
from regcred.errors import RegcredError
from tests.conftest import VENV_BIN, installed_helper, require_program
from tests.fixtures.differential import (
    INVALID,
    RESULTS,
    RowResult,
    basic,
    docker_authenticates,
    podman_login,
    skopeo_authenticates,
)

if TYPE_CHECKING:
    from tests.fixtures.differential import Referee

HELPER = "regcred-pass"  # our real helper on a real pass store, on PATH for docker and skopeo


@dataclass
class Ctx:
    """What a row's ``write`` needs: the registry and the places to write to."""

    ref: Referee
    config_dir: Path  # docker's DOCKER_CONFIG directory
    podman_file: Path  # podman's auth file (REGISTRY_AUTH_FILE / --authfile)
    helper_env: dict[str, str] | None = None

    @property
    def host(self) -> str:
        return self.ref.host

    @property
    def good(self) -> dict[str, str]:
        return {"auth": basic(*self.ref.valid)}

    @property
    def bad(self) -> dict[str, str]:
        return {"auth": basic(*INVALID)}

    def docker(self, doc: dict[str, Any] | str) -> None:
        """Write docker's config.json (a dict as JSON, a str as it is)."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        text = doc if isinstance(doc, str) else json.dumps(doc)
        (self.config_dir / "config.json").write_text(text)

    def podman(self, doc: dict[str, Any]) -> None:
        """Write podman's auth file."""
        self.podman_file.parent.mkdir(parents=True, exist_ok=True)
        self.podman_file.write_text(json.dumps(doc))

    def helper_store(self, server: str, username: str, secret: str) -> None:
        """``docker-credential-regcred-pass store`` on the row's pass store."""
        assert self.helper_env is not None, "the row must name helper_valid or helper_invalid keys"
        done = subprocess.run(
            [installed_helper("pass"), "store"],
            input=json.dumps({"ServerURL": server, "Username": username, "Secret": secret}),
            capture_output=True,
            text=True,
            env=self.helper_env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def j(self, value: object) -> str:
        """JSON text of ``value``, for rows that write raw text."""
        return json.dumps(value)


@dataclass(frozen=True)
class Row:
    id: str
    write: Callable[[Ctx], None]
    note: str = ""
    podman_file: bool = False  # the row is about podman's own auth file (referee: skopeo)
    repository: str = "diff/img"
    #: keys ("{host}" is replaced) stored in our pass helper before ``write`` runs
    helper_valid: tuple[str, ...] = ()
    helper_invalid: tuple[str, ...] = ()
    #: ``$DOCKER_AUTH_CONFIG`` for docker and regcred (skopeo and podman do not read it)
    env: Callable[[Ctx], str] | None = None
    #: ``docker logout`` and ``regcred logout`` of this ("{host}" replaced), each on its own copy
    #: of the file, before anyone looks (docker's copy is the one docker and skopeo then read)
    logout: str = ""
    #: the registry on ``[::1]`` port 80 (key ``[::1]``, no port) instead of 127.0.0.1:PORT
    ipv6: bool = False
    #: ``regcred get HOST`` (the registry's own key) must answer as docker does for the image
    host_lookup: bool = False

    @property
    def helper(self) -> bool:
        return bool(self.helper_valid or self.helper_invalid)


def _dup(ctx: Ctx, first: dict[str, str], second: dict[str, str]) -> str:
    host = ctx.j(ctx.host)
    return f'{{"auths": {{{host}: {ctx.j(first)}, {host}: {ctx.j(second)}}}}}'


def _nul_padded(ctx: Ctx) -> dict[str, str]:
    user, password = ctx.ref.valid
    return {"auth": basic(user, password + "\x00\x00")}


def _folded(ctx: Ctx) -> dict[str, str]:
    value = ctx.good["auth"]
    return {"auth": value[:8] + "\n" + value[8:]}


_ROWS: list[Row] = [
    # ------------------------------------------------------------------ docker's config.json, file store
    Row("exact-key", lambda c: c.docker({"auths": {c.host: c.good}})),
    Row(
        "exact-key-invalid",
        lambda c: c.docker({"auths": {c.host: c.bad}}),
        "control: only invalid credentials, nobody authenticates",
    ),
    Row("legacy-https", lambda c: c.docker({"auths": {f"https://{c.host}": c.good}})),
    Row("legacy-http-v1", lambda c: c.docker({"auths": {f"http://{c.host}/v1/": c.good}})),
    Row("legacy-https-v2", lambda c: c.docker({"auths": {f"https://{c.host}/v2/": c.good}})),
    Row(
        "legacy-ftp-scheme",
        lambda c: c.docker({"auths": {f"ftp://{c.host}": c.good}}),
        "docker's ConvertToHostname strips any scheme (file_store_test.go); containers/image does not",
    ),
    Row(
        "legacy-uppercase-scheme",
        lambda c: c.docker({"auths": {f"HTTPS://{c.host}/": c.good}}),
        "Go's url.Parse lower-cases the scheme",
    ),
    Row(
        "legacy-userinfo",
        lambda c: c.docker({"auths": {f"https://someone@{c.host}/v2/": c.good}}),
        "ConvertToHostname drops the userinfo",
    ),
    Row(
        "exact-beats-legacy",
        lambda c: c.docker({"auths": {c.host: c.good, f"https://{c.host}": c.bad}}),
    ),
    Row(
        "exact-empty-marker-beside-legacy",
        lambda c: c.docker({"auths": {c.host: {}, f"https://{c.host}": c.good}}),
    ),
    Row(
        "path-key-repo",
        lambda c: c.docker({"auths": {f"{c.host}/diff/img": c.good}}),
        "fileStore.Get falls back to ConvertToHostname(key) == host",
    ),
    Row(
        "path-key-foo",
        lambda c: c.docker({"auths": {f"{c.host}/foo": c.good}}),
        "as docker's own fixture example.com/foo (file_test.go)",
    ),
    Row(
        "path-key-trailing-slash",
        lambda c: c.docker({"auths": {f"{c.host}/": c.good}}),
    ),
    Row(
        "exact-beats-path-key",
        lambda c: c.docker({"auths": {c.host: c.bad, f"{c.host}/diff/img": c.good}}),
        "docker: the exact host key wins even for the repository the path key names; "
        "skopeo, reading docker's file, takes the most specific key",
    ),
    Row(
        "plain-username-password",
        lambda c: c.docker({"auths": {c.host: {"username": c.ref.valid[0], "password": c.ref.valid[1]}}}),
        "file_test.go TestLoadFromReaderWithUsernamePassword; containers/image reads only auth",
    ),
    Row(
        "auth-overrides-username-password",
        lambda c: c.docker({"auths": {c.host: {**c.good, "username": INVALID[0], "password": INVALID[1]}}}),
    ),
    Row(
        "auth-and-identitytoken",
        lambda c: c.docker({"auths": {c.host: {**c.good, "identitytoken": "idt-not-for-basic"}}}),
    ),
    Row(
        "password-nul-padded",
        lambda c: c.docker({"auths": {c.host: _nul_padded(c)}}),
        "docker trims NUL bytes around the password",
    ),
    Row(
        "auth-base64-with-newline",
        lambda c: c.docker({"auths": {c.host: _folded(c)}}),
        "Go's base64 skips \\n inside the value",
    ),
    Row(
        "auth-unpadded-base64",
        lambda c: c.docker({"auths": {c.host: {"auth": c.good["auth"].rstrip("=")}}}),
        "docker decodes auth with strict, padded base64",
    ),
    Row(
        "trailing-data",
        lambda c: c.docker(c.j({"auths": {c.host: c.good}}) + "\ngarbage"),
        "Go's json.Decoder reads one value and ignores the rest",
    ),
    Row(
        "second-json-value",
        lambda c: c.docker(c.j({"auths": {c.host: c.good}}) + c.j({"auths": {c.host: c.bad}})),
        "Go's json.Decoder reads one value and ignores the rest",
    ),
    Row("duplicate-key-last-valid", lambda c: c.docker(_dup(c, c.bad, c.good)), "Go: the last one wins (#6)"),
    Row(
        "duplicate-key-first-valid",
        lambda c: c.docker(_dup(c, c.good, c.bad)),
        "Go: the last one wins (#6); regcred refuses the file today, which sends nothing either",
    ),
    Row(
        "duplicate-auths-objects-merge",
        lambda c: c.docker(f'{{"auths": {c.j({c.host: c.good})}, "auths": {c.j({"other.invalid": c.bad})}}}'),
        "Go decodes the second auths object into the same map: the entries merge (#6)",
    ),
    Row(
        "field-case-Auths",
        lambda c: c.docker({"Auths": {c.host: c.good}}),
        "Go matches fields case-insensitively",
    ),
    Row("field-case-AUTH", lambda c: c.docker({"auths": {c.host: {"AUTH": c.good["auth"]}}})),
    Row(
        "field-case-both-spellings",
        lambda c: c.docker(f'{{"auths": {c.j({c.host: c.bad})}, "Auths": {c.j({c.host: c.good})}}}'),
        "auths and Auths are one field for Go: the later entry wins",
    ),
    # ------------------------------------------------------------------ docker's config.json, helpers
    Row(
        "credsStore-valid",
        lambda c: c.docker({"auths": {c.host: {}}, "credsStore": HELPER}),
        "skopeo ignores credsStore (#5)",
        helper_valid=("{host}",),
    ),
    Row(
        "credsStore-valid-no-marker",
        lambda c: c.docker({"auths": {}, "credsStore": HELPER}),
        "no auths entry needed: docker asks the helper anyway; skopeo ignores credsStore (#5)",
        helper_valid=("{host}",),
    ),
    Row(
        "credsStore-empty-file-plaintext",
        lambda c: c.docker({"auths": {c.host: c.good}, "credsStore": HELPER}),
        "the helper has no entry for the host: docker sends no credentials, the file's are not used",
        helper_invalid=("other.invalid",),
    ),
    Row(
        "credHelpers-valid",
        lambda c: c.docker({"auths": {}, "credHelpers": {c.host: HELPER}}),
        "credHelpers naming our helper works for docker and containers/image",
        helper_valid=("{host}",),
    ),
    Row(
        "credHelpers-beats-file",
        lambda c: c.docker({"auths": {c.host: c.bad}, "credHelpers": {c.host: HELPER}}),
        helper_valid=("{host}",),
    ),
    Row(
        "credHelpers-beats-credsStore",
        lambda c: c.docker(
            {
                "auths": {c.host: c.bad},
                "credsStore": "regcred-no-such-helper",
                "credHelpers": {c.host: HELPER},
            }
        ),
        "file_test.go TestGetAllCredentialsCredHelperOverridesDefaultStore",
        helper_valid=("{host}",),
    ),
    Row(
        "credHelpers-missing-helper",
        lambda c: c.docker({"auths": {c.host: c.good}, "credHelpers": {c.host: "regcred-no-such-helper"}}),
        "nativeStore.Get returns the file entry beside the exec error, and docker uses it",
    ),
    Row(
        "credsStore-missing-helper",
        lambda c: c.docker({"auths": {c.host: c.good}, "credsStore": "regcred-no-such-helper"}),
        "as with credHelpers; compare credsStore-empty-file-plaintext, where the helper runs",
    ),
    Row(
        "credHelpers-https-v2-key",
        lambda c: c.docker({"auths": {c.host: c.good}, "credHelpers": {f"https://{c.host}/v2": HELPER}}),
        helper_invalid=("{host}", "https://{host}/v2"),
    ),
    Row(
        "credHelpers-empty-pins-file",
        lambda c: c.docker({"auths": {c.host: c.good}, "credsStore": HELPER, "credHelpers": {c.host: ""}}),
        'docker reads "" as "use the file"; containers/image runs docker-credential- and fails (#2)',
        helper_invalid=("{host}",),
    ),
    # ------------------------------------------------------------------ podman's own auth file
    Row("podman-exact", lambda c: c.podman({"auths": {c.host: c.good}}), podman_file=True),
    Row(
        "podman-ns-most-specific",
        lambda c: c.podman({"auths": {f"{c.host}/diff": c.good, c.host: c.bad}}),
        "the namespace beats the host for the image; the host lookup uses the host key",
        podman_file=True,
    ),
    Row(
        "podman-ns-deeper",
        lambda c: c.podman({"auths": {f"{c.host}/diff/img": c.good, f"{c.host}/diff": c.bad, c.host: c.bad}}),
        podman_file=True,
    ),
    Row(
        "podman-ns-nested-repo",
        lambda c: c.podman({"auths": {f"{c.host}/diff/ns": c.good, f"{c.host}/diff": c.bad}}),
        podman_file=True,
        repository="diff/ns/img",
    ),
    Row(
        "podman-ns-other-namespace",
        lambda c: c.podman({"auths": {f"{c.host}/other": c.good, c.host: c.bad}}),
        "a namespace that does not contain the image is not used (docker would use it)",
        podman_file=True,
    ),
    Row(
        "podman-ns-only",
        lambda c: c.podman({"auths": {f"{c.host}/diff": c.good}}),
        "a host lookup does not use namespaced keys",
        podman_file=True,
    ),
    Row(
        "podman-credHelpers",
        lambda c: c.podman({"auths": {c.host: c.bad}, "credHelpers": {c.host: HELPER}}),
        "containers/image honours credHelpers in its own file, before auths",
        podman_file=True,
        helper_valid=("{host}",),
    ),
    Row(
        "podman-legacy-https",
        lambda c: c.podman({"auths": {f"https://{c.host}": c.good}}),
        podman_file=True,
    ),
    # ------------------------------------------------------------------ issue 17: the seams
    Row(
        "env-exact-key",
        lambda c: c.docker({"auths": {c.host: c.bad}}),
        "DOCKER_AUTH_CONFIG holds the valid credentials; list and doctor name its user, as get does (#17.3)",
        env=lambda c: c.j({"auths": {c.host: c.good}}),
    ),
    Row(
        "env-other-spelling",
        lambda c: c.docker({"auths": {c.host: c.good}}),
        "DOCKER_AUTH_CONFIG is read by exact key only: https://HOST there does not answer for HOST",
        env=lambda c: c.j({"auths": {f"https://{c.host}": c.bad}}),
    ),
    Row(
        "env-invalid-json",
        lambda c: c.docker({"auths": {c.host: c.good}}),
        "the error names the variable (#17.3)",
        env=lambda _: '{"auths": ',
    ),
    Row(
        "logout-path-key",
        lambda c: c.docker({"auths": {f"{c.host}/diff/img": c.good}}),
        "docker logout HOST/diff/img removes the namespaced key, and so does regcred (#17.4)",
        logout="{host}/diff/img",
    ),
    Row(
        "logout-path-key-beside-host",
        lambda c: c.docker({"auths": {c.host: c.good, f"{c.host}/diff/img": c.bad}}),
        "docker logout HOST/diff/img also removes HOST's key; podman's logout keeps it",
        logout="{host}/diff/img",
    ),
    Row(
        "logout-host-keeps-path-key",
        lambda c: c.docker(
            {"auths": {c.host: c.bad, f"https://{c.host}": c.bad, f"{c.host}/diff/img": c.good}}
        ),
        "logout HOST removes the host's spellings, not a repository's key (docker: the same)",
        logout="{host}",
    ),
    Row(
        "ipv6-no-port",
        lambda c: c.docker({"auths": {c.host: c.good}}),
        "the registry on [::1] port 443: the key [::1], and regcred get [::1] answers too (#17.5)",
        ipv6=True,
        host_lookup=True,
    ),
    Row(
        "ipv6-no-port-legacy-https",
        lambda c: c.docker({"auths": {f"https://{c.host}/v1/": c.good}}),
        "a legacy spelling of [::1] (#17.5)",
        ipv6=True,
        host_lookup=True,
    ),
]

#: Rows where regcred disagrees with the referee today: row id -> the defect.
_KNOWN: dict[str, str] = {}

#: Rows where regcred differs from the referee on purpose: row id -> why.  The row
#: asserts the difference, so a change in either program shows up here.
_DELIBERATE: dict[str, str] = {
    "path-key-foo": (
        "on purpose (S11, ggcr#1510): docker uses a key with a path for every image on its host; "
        "regcred uses HOST/foo only for HOST/foo/..., never for another namespace"
    ),
    "credHelpers-missing-helper": (
        "on purpose: a helper config.json names is not installed, so regcred fails closed with "
        "'docker-credential-… not found on PATH' (doctor: broken) instead of sending the plaintext "
        "docker falls back to"
    ),
    "credsStore-missing-helper": (
        "on purpose, as credHelpers-missing-helper: a missing helper is an error, never a silent "
        "fallback to other credentials"
    ),
    "env-exact-key": (
        "docker 28.3+ reads DOCKER_AUTH_CONFIG first (docker/cli#6008), as regcred does; the docker "
        "here is older and ignores the variable (docs/differential.md names the version)"
    ),
    "env-invalid-json": (
        "on purpose: docker prints 'Failed to create credential store from DOCKER_AUTH_CONFIG' (28.3+; "
        "older ignores it) and carries on with the stores; regcred fails closed with one line naming "
        "the variable, as for a config.json it cannot read"
    ),
    "ipv6-no-port-legacy-https": (
        "on purpose: docker's ConvertToHostname takes url.Hostname(), which drops the brackets, so "
        "https://[::1]/v1/ never matches the key [::1] (nor https://[::1]:5000 the key [::1]:5000); regcred "
        "reads the spelling as the same registry, as podman --get-login does"
    ),
    "logout-path-key-beside-host": (
        "on purpose: regcred logout of a repository removes that repository's key only, as podman "
        "logout does (its per-repository logins are podman's); docker's also logs out of the host"
    ),
}


def _param(row: Row) -> Any:
    marks = []
    if row.id in _KNOWN:
        marks.append(pytest.mark.xfail(strict=True, reason=_KNOWN[row.id]))
    return pytest.param(row, id=row.id, marks=marks)


ROWS = [_param(row) for row in _ROWS]


@dataclass
class RegcredAnswer:
    ok: bool
    detail: str  # the username found, "none" or the error class; never a secret
    username: str = field(default="")


def _judge(found: tuple[str, str] | None, valid: tuple[str, str], error: str = "") -> RegcredAnswer:
    if error:
        return RegcredAnswer(ok=False, detail=f"error: {error}")
    if found is None:
        return RegcredAnswer(ok=False, detail="none")
    user, secret = found
    if found == valid:
        return RegcredAnswer(ok=True, detail=user, username=user)
    return RegcredAnswer(
        ok=False, detail=user if secret == INVALID[1] else f"{user} (other secret)", username=user
    )


def _regcred_cli(server: str, config_dir: Path, valid: tuple[str, str]) -> RegcredAnswer:
    done = subprocess.run(
        [str(VENV_BIN / "regcred"), "--config", str(config_dir), "get", server],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        return _judge(None, valid, "" if "no credentials" in done.stderr else f"exit {done.returncode}")
    doc = json.loads(done.stdout)
    return _judge((doc["Username"], doc["Secret"]), valid)


def _regcred_lib(server: str, config_dir: Path, valid: tuple[str, str]) -> RegcredAnswer:
    try:
        creds = regcred.get_credentials(server, config_dir=config_dir)
    except RegcredError as exc:
        return _judge(None, valid, type(exc).__name__)
    return _judge(None if creds is None else (creds.username, creds.secret), valid)


def _regcred(server: str, config_dir: Path, valid: tuple[str, str]) -> RegcredAnswer:
    """CLI and library must agree; an answer where they differ counts as wrong."""
    cli = _regcred_cli(server, config_dir, valid)
    lib = _regcred_lib(server, config_dir, valid)
    if cli == lib:
        return cli
    return RegcredAnswer(ok=False, detail=f"cli {cli.detail} / library {lib.detail}")


@pytest.mark.parametrize("row", ROWS)
def test_row(
    row: Row,
    referee: Referee,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if row.ipv6:
        referee = request.getfixturevalue("referee_v6")
    ctx = Ctx(referee, tmp_path / "docker-config", tmp_path / "podman" / "auth.json")
    # regcred must read only what the row wrote: no podman file of the host's.
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    # our helpers on PATH, for docker, skopeo, the regcred CLI and get_credentials() alike
    monkeypatch.setenv("PATH", f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    if row.helper:
        request.getfixturevalue("pass_env")  # GNUPGHOME / PASSWORD_STORE_DIR for every program
        installed_helper("pass")
        ctx.helper_env = dict(os.environ)
        for key in row.helper_valid:
            ctx.helper_store(key.format(host=referee.host), *referee.valid)
        for key in row.helper_invalid:
            ctx.helper_store(key.format(host=referee.host), *INVALID)
    if row.podman_file:
        monkeypatch.setenv("REGISTRY_AUTH_FILE", str(ctx.podman_file))
    row.write(ctx)
    docker_env = {}
    if row.env is not None:
        docker_env["DOCKER_AUTH_CONFIG"] = row.env(ctx)
        monkeypatch.setenv("DOCKER_AUTH_CONFIG", docker_env["DOCKER_AUTH_CONFIG"])
    docker_dir = ctx.config_dir
    if row.logout:
        docker_dir = _logout_both(
            row.logout.format(host=referee.host), ctx.config_dir, tmp_path / "docker-copy"
        )

    authfile = ctx.podman_file if row.podman_file else docker_dir / "config.json"
    containers_root = tmp_path / "containers"
    docker = (
        None if row.podman_file else docker_authenticates(referee, docker_dir, row.repository, docker_env)
    )
    skopeo = skopeo_authenticates(referee, authfile, row.repository, containers_root)
    podman = podman_login(referee, authfile, containers_root)
    answer = _regcred(f"{referee.host}/{row.repository}", ctx.config_dir, referee.valid)
    result = RowResult(
        row=row.id,
        referee="skopeo" if row.podman_file else "docker",
        docker=docker,
        skopeo=skopeo,
        podman=podman,
        regcred=answer.ok,
        regcred_detail=answer.detail,
        note="; ".join(
            text for text in (_KNOWN.get(row.id, ""), _DELIBERATE.get(row.id, ""), row.note) if text
        ),
        deliberate=row.id in _DELIBERATE,
    )
    if row.podman_file:
        # podman's host lookup is a referee too: `regcred get HOST` reports its username.
        host = _regcred(referee.host, ctx.config_dir, referee.valid)
        result.host_agrees = host.username == podman
        if not result.host_agrees:
            result.regcred_detail += f"; get HOST: {host.detail}"
    elif row.host_lookup:
        # docker's key for every image on the registry is the registry's: `regcred get HOST` answers the same.
        host = _regcred(referee.host, ctx.config_dir, referee.valid)
        result.host_agrees = host.ok == docker
        if not result.host_agrees:
            result.regcred_detail += f"; get HOST: {host.detail}"
    if row.env is not None:
        _assert_list_agrees_with_get(referee.host, ctx.config_dir, referee.valid)
    RESULTS.append(result)
    if result.deliberate:
        assert not result.agree, f"{row.id} was a deliberate difference, and now agrees: update _DELIBERATE"
        return
    assert result.agree, (
        f"regcred {'authenticates' if answer.ok else 'does not authenticate'} ({result.regcred_detail}), "
        f"{result.referee} {'does' if result.expected else 'does not'}"
    )


def _logout_both(server: str, config_dir: Path, docker_dir: Path) -> Path:
    """``docker logout`` on a copy of the row's file (returned) and ``regcred logout`` on the file itself."""
    docker_dir.mkdir(parents=True)
    (docker_dir / "config.json").write_bytes((config_dir / "config.json").read_bytes())
    docker = require_program("docker", "docker-ce-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    for argv, env_used in (
        ([docker, "--config", str(docker_dir), "logout", server], env),
        ([str(VENV_BIN / "regcred"), "--config", str(config_dir), "logout", server], None),
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env_used)
        assert done.returncode == 0, f"{argv[0]} logout: {done.stderr}"
    return docker_dir


def _assert_list_agrees_with_get(host: str, config_dir: Path, valid: tuple[str, str]) -> None:
    """The seam of #17.3: ``regcred list --json`` names the user ``regcred get`` returns, or both fail."""
    got = _regcred(host, config_dir, valid)
    listed = subprocess.run(
        [str(VENV_BIN / "regcred"), "--config", str(config_dir), "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if not got.ok and "error" in got.detail:
        assert listed.returncode == 1, listed.stdout
        assert "DOCKER_AUTH_CONFIG environment variable" in listed.stderr
        return
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout).get(host, "") == got.username


def test_docs_table_is_current() -> None:
    """docs/differential.md has every row, in order, and its disagreements are exactly the xfails.

    Regenerate it with ``scripts/differential`` after adding a row or removing an xfail.
    """
    doc = (Path(__file__).resolve().parent.parent / "docs" / "differential.md").read_text()
    lines = [line for line in doc.splitlines() if line.startswith("| ")][2:]  # after header and rule
    cells = [[cell.strip() for cell in line.split(" | ")] for line in lines]
    assert [row[0].removeprefix("| ") for row in cells] == [row.id for row in _ROWS]
    disagreeing = {row[0].removeprefix("| ") for row in cells if row[4].startswith("NO")}
    on_purpose = {row[0].removeprefix("| ") for row in cells if row[4].startswith("no, on purpose")}
    assert disagreeing == set(_KNOWN)
    assert on_purpose == set(_DELIBERATE)
