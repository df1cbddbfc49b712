"""Every shell and Python example in README.md and docs/*.md runs, as written.

Each fenced block whose language is ``sh``, ``bash``, ``shell``, ``console`` or
``python`` is one test.  A block that needs set-up says so in an HTML comment
on the line before its fence (GitHub does not render it)::

    <!-- example: needs=registry,login,secretservice -->
    <!-- example: skip="why it cannot run here" -->

What each ``needs`` word sets up (``NEEDS`` below; every block also gets a
fresh ``HOME``, so ``~/.docker/config.json`` is a throwaway one, and runs in
an empty directory):

* ``registry``: a real ``docker-registry`` (htpasswd, user ``alice``) on
  127.0.0.1 for each of the hosts in ``HOSTS`` that the block names; the
  block's text has each host replaced by its registry's ``127.0.0.1:PORT``
  (``https://host`` by ``http://127.0.0.1:PORT``), and the output of a
  ``console`` block has them mapped back.  ``$TOKEN`` is alice's password.
  Each registry holds the images ``org/app:v1``, ``org/app:v2`` and
  ``acme/app:1``; containers tools see them as insecure registries
  (``~/.config/containers/registries.conf``): ghcr.io's TLS is plain HTTP here.
  A GET the registry refuses (4xx other than the 401 challenge, or 5xx, in
  its access log) fails the block, even if the example printed it and went on.
* ``login``: ``regcred login`` to each of those registries first, as the
  README's Quick start leaves a user.
* ``secretservice``: gnome-keyring on a private D-Bus session;
  ``pass``: an initialised pass store with a throwaway GnuPG key;
  ``aws``: moto's AWS server, with the AWS variables pointing at it.
* ``docker``, ``skopeo``, ``man``: the real program must be on PATH.
* ``kubectl``: a FAKE ``kubectl apply -f -`` (tests/fixtures/fake_kubectl.py),
  since no cluster can run here.
* ``checkout``: run in the repository checkout instead of an empty directory.
* ``venv``: a fresh virtual environment first on PATH (for ``pip install``).

A ``skip`` block is still checked: ``bash -n`` for shell, ``compile()`` for
Python.  ``sh`` blocks run under ``bash -euo pipefail``; ``python`` blocks with
the test interpreter, and also type-check under ``mypy --strict``.  A
``console`` block is a session: ``$ command`` lines, each followed by the
output it must print (compared line by line, runs of spaces as one); a
command whose output starts with ``Password:`` runs on a pseudo-terminal and
is typed ``$TOKEN``.  Under ``CI=true`` a missing component fails the test.
"""

from __future__ import annotations

import base64
import contextlib
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import VENV_BIN, missing, require_program
from tests.fixtures.registry import start_registry
from tests.test_registry_auth import MANIFEST_V2, Image, digest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell"}
LANGUAGES = SHELL | {"console", "python"}
NEEDS = {
    "registry", "login", "secretservice", "pass", "aws", "docker", "skopeo", "man",
    "kubectl", "checkout", "venv",
}  # fmt: skip
#: The hosts a ``registry`` block may name, each served by a local registry.
HOSTS = ("ghcr.io", "localhost:5000", "quay.io")
USERNAME = "alice"
PASSWORD = "doc-example-password"  # not a secret: a throwaway registry's
#: What no example may print: the password, and its base64 spelling in config.json.
SECRETS = (PASSWORD, base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode())
IMAGES = (("org/app", "v1"), ("org/app", "v2"), ("acme/app", "1"))
TIMEOUT = 180
HINT = 'a block that needs set-up: <!-- example: needs=... -->; one that cannot run here: skip="why"'
#: Blocks that fail for a reason another branch fixes: a substring of the block -> the reason.
#: Text of a block that is known not to work yet, and why (the test is a strict xfail).
PENDING: dict[str, str] = {}

TAG = re.compile(r"^<!-- example: (.*) -->$")
#: How a line of commands starts: a block holding one must have a language the runner runs.
COMMANDS = ("$ ", "regcred ", "docker-credential-", "pip ", "python ", "import regcred")
#: A line of the registry's access log: method, path, status.
ACCESS = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" ([0-9]{3}) ')


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: str  # relative to the checkout
    line: int  # of the opening fence
    language: str
    text: str
    needs: frozenset[str] = frozenset()
    skip: str | None = None

    @property
    def id(self) -> str:
        """The test id: file and line."""
        return f"{self.path}:{self.line}"


def parse_tag(text: str, where: str) -> tuple[frozenset[str], str | None]:
    """``needs`` and ``skip`` of an ``<!-- example: … -->`` comment; ValueError if malformed."""
    needs: frozenset[str] = frozenset()
    skip = None
    for item in shlex.split(text):
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise ValueError(f"{where}: {item!r} is not key=value")
        if key == "needs":
            needs = frozenset(value.split(","))
            if unknown := needs - NEEDS:
                raise ValueError(f"{where}: unknown needs {sorted(unknown)}")
            if "login" in needs and "registry" not in needs:
                raise ValueError(f"{where}: needs=login logs in to the block's registries: add registry")
        elif key == "skip":
            skip = value
        else:
            raise ValueError(f"{where}: unknown key {key!r}")
    return needs, skip


def blocks(path: Path) -> list[Block]:
    """The example blocks of one Markdown file, with the tag on the line before each fence."""
    lines = path.read_text().splitlines()
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    found = []
    index = 0
    while index < len(lines):
        fence = re.match(r"^( *)(`{3,})(\S*)", lines[index])
        if not fence:
            index += 1
            continue
        indent, ticks, language = fence.groups()
        end = next(i for i in range(index + 1, len(lines)) if lines[i].strip().startswith(ticks))
        tag = TAG.match(lines[index - 1].strip()) if index else None
        where = f"{rel}:{index + 1}"
        needs, skip = parse_tag(tag.group(1), where) if tag else (frozenset(), None)
        body = [line.removeprefix(indent) for line in lines[index + 1 : end]]
        if language in LANGUAGES:
            found.append(Block(rel, index + 1, language, "\n".join(body) + "\n", needs, skip))
        elif tag:
            raise ValueError(f"{where}: a tag on a {language or 'plain'} block, which never runs")
        elif any(line.startswith(COMMANDS) for line in body):
            raise ValueError(f"{where}: commands in a {language or 'plain'} block: give it a language")
        index = end + 1
    return found


ALL = [block for path in DOCS for block in blocks(path)]


# --------------------------------------------------------------------------- the environment


@dataclass
class Env:
    """Where a block runs: its directory, its environment, the host -> registry map."""

    cwd: Path
    env: dict[str, str]
    hosts: dict[str, str] = field(default_factory=dict)  # "ghcr.io" -> "127.0.0.1:PORT"
    registries: list[Registry] = field(default_factory=list)
    log_start: dict[str, int] = field(default_factory=dict)  # address -> log length after set-up

    def refusals(self) -> list[str]:
        """GETs the registries refused (4xx but the 401 challenge, 5xx) since the set-up."""
        found = []
        for registry in self.registries:
            for method, path, status in ACCESS.findall(registry.log[self.log_start[registry.address] :]):
                if method == "GET" and status != "401" and status >= "400":
                    found.append(f"{method} {self.unsubstitute(registry.address)}{path}: {status}")
        return found

    def substitute(self, text: str) -> str:
        """The block as it runs here: each named host is its local registry."""
        for host, address in self.hosts.items():
            text = text.replace(f"https://{host}", f"http://{address}").replace(host, address)
        return text

    def unsubstitute(self, text: str) -> str:
        """Output as the README shows it: each local registry is the host it stands for."""
        for host, address in self.hosts.items():
            text = text.replace(address, host)
        return text


def _seed(registry: Registry) -> None:
    """Push the images the examples name, with plain Basic auth."""
    image = Image()
    with httpx.Client(base_url=registry.url, auth=(registry.username, registry.password)) as client:
        for name, tag in IMAGES:
            for blob in (image.config, image.layer):
                started = client.post(f"/v2/{name}/blobs/uploads/")
                assert started.status_code == 202, started.text
                location = httpx.URL(registry.url).join(started.headers["location"])
                done = client.put(location.copy_merge_params({"digest": digest(blob)}), content=blob)
                assert done.status_code == 201, done.text
            put = client.put(
                f"/v2/{name}/manifests/{tag}", content=image.manifest, headers={"Content-Type": MANIFEST_V2}
            )
            assert put.status_code == 201, put.text


def _regcred(env: Env, *args: str, stdin: str = "") -> None:
    done = subprocess.run(
        [str(VENV_BIN / "regcred"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env.env,
        cwd=env.cwd,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"set-up `regcred {shlex.join(args)}` failed: {done.stderr}"


@contextlib.contextmanager
def environment(
    block: Block, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    """Set up what ``block.needs`` names (see the module docstring)."""
    bin_dir = tmp_path / "doc-bin"
    bin_dir.mkdir()
    path = [str(bin_dir), str(VENV_BIN), os.environ.get("PATH", "/usr/bin:/bin")]
    for program, package in (("docker", "docker-ce-cli"), ("skopeo", "skopeo"), ("man", "man-db")):
        if program in block.needs:
            require_program(program, package)
    if "secretservice" in block.needs:
        request.getfixturevalue("keyring")
    if "pass" in block.needs:
        request.getfixturevalue("pass_env")
    if "aws" in block.needs:
        request.getfixturevalue("aws_env")
    if "kubectl" in block.needs:
        fake = bin_dir / "kubectl"
        fake.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
            "from tests.fixtures.fake_kubectl import main\nsys.exit(main())\n"
        )
        fake.chmod(0o755)
    if "venv" in block.needs:
        venv = tmp_path / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=TIMEOUT)
        path.insert(0, str(venv / "bin"))
        monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    monkeypatch.setenv("TOKEN", PASSWORD)
    work = tmp_path / "work"
    work.mkdir()
    env = Env(ROOT if "checkout" in block.needs else work, {})
    with contextlib.ExitStack() as stack:
        if "registry" in block.needs:
            named = sorted(host for host in HOSTS if host in block.text)
            assert named, f"{block.id} needs a registry but names none of {HOSTS}"
            registries = [
                stack.enter_context(
                    start_registry(tmp_path / f"registry-{i}", username=USERNAME, password=PASSWORD)
                )
                for i in range(len(named))
            ]
            # Sorted hosts get sorted addresses, so `regcred list` keeps the README's order.
            addresses = sorted(r.address for r in registries)
            env.hosts = dict(zip(named, addresses, strict=True))
            for registry in registries:
                _seed(registry)
            # skopeo reads no $CONTAINERS_REGISTRIES_CONF: the user's file (under the test's HOME).
            conf = Path(os.environ["HOME"], ".config", "containers", "registries.conf")
            conf.parent.mkdir(parents=True, exist_ok=True)
            conf.write_text("".join(f'[[registry]]\nlocation = "{a}"\ninsecure = true\n' for a in addresses))
            env.registries = registries
        env.env = dict(os.environ)
        if "login" in block.needs:
            for address in env.hosts.values():
                _regcred(env, "login", address, "-u", USERNAME, "--password-stdin", stdin=PASSWORD)
        env.log_start = {r.address: len(r.log) for r in env.registries}
        yield env


# --------------------------------------------------------------------------- running a block


def _run(argv: list[str], env: Env, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        env=env.env,
        cwd=env.cwd,
        timeout=TIMEOUT,
        check=False,
    )


def _on_terminal(command: str, env: Env, typed: str) -> str:
    """Run ``command`` on a pseudo-terminal, type ``typed`` at its prompt; its output."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader whose controlling terminal is the pty
        try:
            os.chdir(env.cwd)
            os.execve("/bin/bash", ["bash", "-c", command], env.env)  # noqa: S606 (the block's own command)
        finally:
            os._exit(127)
    output = b""
    typed_yet = False
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not typed_yet and b"Password:" in output:
                os.write(fd, typed.encode() + b"\n")
                typed_yet = True
        else:
            os.kill(pid, 9)
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    text = output.decode(errors="replace").replace("\r\n", "\n")
    assert code == 0, f"`{command}` exited {code}:\n{text}"
    return text


def _normal(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def run_console(block: Block, env: Env) -> None:
    """Each ``$ command`` prints what the block shows after it."""
    session: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            session.append((line[2:], []))
        else:
            assert session, f"{block.id}: output before the first `$ ` command"
            session[-1][1].append(line)
    for command, expected in session:
        real = env.substitute(command)
        if expected and expected[0].startswith("Password:"):
            shown = _on_terminal(real, env, PASSWORD)
        else:
            done = _run(["bash", "-c", real], env)
            assert done.returncode == 0, (
                f"`{command}` exited {done.returncode} ({HINT}):\n{done.stdout}{done.stderr}"
            )
            shown = done.stdout + done.stderr
        assert not [secret for secret in SECRETS if secret in shown], f"`{command}` printed a secret"
        assert _normal(env.unsubstitute(shown)) == _normal("\n".join(expected)), f"{command} ({HINT})"
    assert env.refusals() == [], f"{block.id}: the registry refused requests"


def run_block(block: Block, env: Env) -> None:
    """Run one shell, console or Python block; it must succeed."""
    if block.language == "console":
        run_console(block, env)
        return
    text = env.substitute(block.text)
    if block.language in SHELL:
        argv = ["bash", "-euo", "pipefail", "-c", text]
    else:
        argv = [sys.executable, "-c", text]
    done = _run(argv, env)
    report = f"--- block as run:\n{text}\n--- stdout:\n{done.stdout}\n--- stderr:\n{done.stderr}"
    assert done.returncode == 0, f"{block.id} exited {done.returncode} ({HINT})\n{report}"
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr, f"{block.id} printed a secret\n{report}"
    refused = env.refusals()
    assert refused == [], f"{block.id}: the registry refused {refused}\n{report}"


def check_syntax(block: Block) -> None:
    """What can be checked of a block that cannot run here."""
    if block.language == "python":
        compile(block.text, block.id, "exec")
        return
    commands = block.text
    if block.language == "console":
        commands = "\n".join(line[2:] for line in block.text.splitlines() if line.startswith("$ "))
    done = subprocess.run(["bash", "-n"], input=commands, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------- the tests


def test_the_runner_finds_the_examples() -> None:
    """The README's examples are all found, tagged well, and the runner knows every kind."""
    readme = [b for b in ALL if b.path == "README.md"]
    assert len(readme) >= 15
    assert {b.language for b in readme} == {"sh", "console", "python"}
    with pytest.raises(ValueError, match="unknown needs"):
        parse_tag("needs=registry,cloud", "x")
    with pytest.raises(ValueError, match="unknown key"):
        parse_tag('reason="x"', "x")
    with pytest.raises(ValueError, match="add registry"):
        parse_tag("needs=login", "x")
    assert [b.language for b in blocks(ROOT / "docs" / "architecture.md")] == []  # its tree is no example


def _marks(block: Block) -> list[pytest.MarkDecorator]:
    """xfail for a PENDING block; slow for one that installs into a fresh venv."""
    marks = [pytest.mark.xfail(strict=True, reason=r) for s, r in PENDING.items() if s in block.text]
    return marks + ([pytest.mark.slow] if "venv" in block.needs else [])


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id, marks=_marks(b)) for b in ALL])
def test_example_runs(
    block: Block, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block runs as written (with its tag's set-up); a skipped one is syntax-checked."""
    check_syntax(block)
    if block.skip:
        return
    with environment(block, request, tmp_path, monkeypatch) as env:
        run_block(block, env)


def test_python_examples_type_check(tmp_path: Path) -> None:
    """Every Python example passes ``mypy --strict``, as user code would run it."""
    python = [b for b in ALL if b.language == "python"]
    assert python
    files = []
    for block in python:
        name = re.sub(r"\W", "_", block.id)
        path = tmp_path / f"example_{name}.py"
        path.write_text(block.text)
        files.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version", "3.11", *files],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    if "No module named mypy" in done.stderr:
        missing("mypy", "install the dev dependencies (scripts/setup)")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_the_readme_demo_runs(tmp_path: Path) -> None:
    """`bash scripts/demo`, the README's first command, runs to its end (scripts/test is this suite)."""
    first = ALL[0]
    assert (first.path, first.skip is not None) == ("README.md", True)
    command = first.text.splitlines()[0].split("#")[0].strip()
    assert command == "bash scripts/demo"
    require_program("dbus-run-session", "dbus")
    done = subprocess.run(  # HOME is the test's own (conftest); the demo makes its own keyring
        ["bash", "-c", command],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "Traceback" not in out
    for step in ("Login Succeeded", "Removing login credentials for 127.0.0.1:", "nothing was stored"):
        assert step in out, out[-3000:]


def test_blocks_are_read_as_github_shows_them(tmp_path: Path) -> None:
    """Tags on the line before, fences indented in a list, and no example hiding without a language."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "* a step:\n\n  <!-- example: needs=registry,login -->\n  ```sh\n  regcred list\n  ```\n\n"
        '<!-- example: skip="macOS only" -->\n```python\nprint(1)\n```\n\n```yaml\nkind: Secret\n```\n'
    )
    assert blocks(doc) == [
        Block("doc.md", 4, "sh", "regcred list\n", frozenset({"registry", "login"})),
        Block("doc.md", 9, "python", "print(1)\n", skip="macOS only"),
    ]
    doc.write_text("```\n$ regcred list\n```\n")
    with pytest.raises(ValueError, match="give it a language"):
        blocks(doc)
    doc.write_text("<!-- example: needs=registry -->\n```yaml\nkind: Secret\n```\n")
    with pytest.raises(ValueError, match="never runs"):
        blocks(doc)


def test_the_fake_kubectl_refuses_what_a_cluster_would(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The double accepts regcred's pull secret and refuses a Secret without credentials."""
    import io

    from tests.fixtures.fake_kubectl import main as kubectl

    good = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pull\ntype: kubernetes.io/dockerconfigjson\n"
    auths = b'{"auths":{"r.example":{"auth":"YTpi"}}}'
    data = f"data:\n  .dockerconfigjson: {base64.b64encode(auths).decode()}\n"
    empty = "data:\n  .dockerconfigjson: e30=\n"  # {}
    for text, code in ((good + data, 0), (good + empty, 1), ("kind: ConfigMap\n", 1), ("", 1)):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        assert kubectl(["apply", "-f", "-"]) == code, text
    assert kubectl(["get", "secrets"]) == 2
    assert capsys.readouterr().out == "secret/pull created\n"


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {heading}\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert match, heading
    return match.group(1)


def test_speed_claims_are_what_the_benchmarks_measured() -> None:
    """The README claims speed only in its Speed section, with docs/benchmarks.md's numbers and machine."""
    readme = (ROOT / "README.md").read_text()
    bench = (ROOT / "docs" / "benchmarks.md").read_text()
    speed = _section(readme, "Speed")
    elsewhere = readme.replace(speed, "")
    claims = re.findall(r"[^.]*\b(?:faster|slower|quicker|cheap)\b[^.]*", elsewhere, re.IGNORECASE)
    assert [c for c in claims if "(#speed)" not in c] == []
    numbers = re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)(?=x\b| ms\b| s\b)", speed)
    assert len(numbers) > 10
    assert [n for n in numbers if not re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", bench)] == []
    machine = dict(re.findall(r"^- \*\*(.+?)\*\*: (.+)$", bench, re.MULTILINE))
    where = [
        machine["date"].split()[0],
        machine["CPU"].split(",")[0],
        machine["Python"],
        machine["docker CLI"].split(",")[0].removeprefix("Docker version "),
        machine["skopeo"].removeprefix("skopeo version "),
        machine["Go helpers"].split()[1].split("+")[0],
    ]
    assert [w for w in where if w not in " ".join(speed.split())] == []
