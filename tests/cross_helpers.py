"""Cross test of two credential helpers that share a backend: what one stores, the other reads.

``python -m tests.cross_helpers OURS GO`` stores with each helper and then
reads (``get``), lists and erases with the other, both ways, for a few
server spellings (scheme, port, path, none) and a non-ASCII secret; the
exit status says whether every step agreed.  It runs the programs as docker
does (the protocol of /work/shared/reference/credential-helper-protocol.md:
the server URL, or a JSON object, on stdin).

.github/workflows/portable.yml runs it on macOS (``regcred-osxkeychain``
against the Go ``osxkeychain`` release binary) and on Windows
(``regcred-wincred`` against ``wincred.exe``); tests/test_portable.py runs it
here on the Secret Service pair, so the script itself is tested where it is
written.  Standard library only.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys

SERVERS = (
    "https://cross-{tag}.regcred.test:5000/v2/",
    "cross-{tag}.regcred.test",
    "http://cross-{tag}.regcred.test/path",
)
NOT_FOUND = "credentials not found in native keychain"


class DisagreementError(Exception):
    """One step disagreed."""


def run(program: str, action: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [program, action],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def step(program: str, action: str, stdin: str) -> str:
    done = run(program, action, stdin)
    if done.returncode != 0:
        raise DisagreementError(
            f"{program} {action} failed ({done.returncode}): {done.stdout.strip()} {done.stderr.strip()}"
        )
    return done.stdout


def cross(writer: str, reader: str, tag: str) -> None:
    """``writer`` stores; ``reader`` gets, lists and erases; ``writer`` then finds nothing."""
    for n, template in enumerate(SERVERS):
        server = template.format(tag=f"{tag}-{n}")
        user, secret = f"user-{n}", f"s3cr\u00e9t-{secrets.token_hex(8)}"
        step(writer, "store", json.dumps({"ServerURL": server, "Username": user, "Secret": secret}))
        got = json.loads(step(reader, "get", server))
        if (got.get("Username"), got.get("Secret")) != (user, secret):
            raise DisagreementError(f"{reader} get {server} gave {got.get('Username')!r} and another secret")
        listed = json.loads(step(reader, "list", ""))
        # osxkeychain lists a key stored without a scheme as https:// (it keeps the protocol htps).
        keys = {server, server if "://" in server else f"https://{server}"}
        if user not in {listed.get(k) for k in keys}:
            raise DisagreementError(f"{reader} list has no {server} -> {user} (has {sorted(listed)})")
        step(reader, "erase", server)
        after = run(writer, "get", server)
        if after.returncode == 0 or NOT_FOUND not in after.stdout:
            raise DisagreementError(
                f"{writer} still finds {server} after {reader} erased it: {after.stdout.strip()}"
            )
        print(f"ok: {writer} store -> {reader} get/list/erase: {server}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.cross_helpers OURS GO (programs on PATH or paths)", file=sys.stderr)
        return 2
    programs = []
    for name in argv:
        path = shutil.which(name)
        if path is None:
            print(f"{name}: not found", file=sys.stderr)
            return 2
        programs.append(path)
    ours, go = programs
    tag = secrets.token_hex(4)
    try:
        cross(ours, go, f"{tag}-a")
        cross(go, ours, f"{tag}-b")
    except DisagreementError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
