"""``regcred completion SHELL``: the real bash, zsh and fish completion machinery over the real command.

Each shell loads the script ``regcred completion`` prints (shtab, from the
command table) and is asked what it would complete, exactly as it asks when
a user presses Tab: bash through the bash-completion package's function with
``COMP_WORDS``/``COMP_CWORD``, zsh through ``compinit`` in a pseudo-terminal
(``zpty``, the candidates read back from ``compadd``), fish through
``complete -C``.  Registry arguments complete the keys stored in
config.json, read through ``regcred list --keys``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, require_program

KEYS = ["ghcr.io", "reg.example", "localhost:5000"]
SECRET = "pw-CANARY-completion"


@pytest.fixture
def stored(docker_config: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config.json holding three plaintext logins, and the venv's regcred first on PATH."""
    docker_config.parent.mkdir()
    auth = base64.b64encode(f"u:{SECRET}".encode()).decode()
    docker_config.write_text(json.dumps({"auths": {key: {"auth": auth} for key in KEYS}}))
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    return docker_config


def _script(shell: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "regcred"), "completion", shell],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


_BASH = r"""
source /usr/share/bash-completion/bash_completion
source "$1"; shift
fn=$(complete -p regcred | sed -E 's/.*-F ([^ ]+).*/\1/')
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
"$fn" regcred "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def bash_complete(script: Path, *words: str) -> set[str]:
    """What bash's programmable completion offers for the command line ``words`` (the last is being typed)."""
    require_program("bash", "bash")
    if not Path("/usr/share/bash-completion/bash_completion").exists():
        require_program("bash-completion-missing", "bash-completion")
    done = subprocess.run(
        ["bash", "-c", _BASH, "bash", str(script), *words],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


#: zsh in a pseudo-terminal: compinit, the script on $fpath, one Tab; compadd reports what it adds.
_ZSH = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT=''; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() { local -a _got; builtin compadd -O _got "$@"; \
  print -rn -- "<<${(j:|:)_got}>>" >/dev/tty; builtin compadd "$@" }'
zpty -w z "zstyle ':completion:*' list-prompt ''"
zpty -n -w z "$2"$'\t'
out=''
for i in {1..100}; do
  if zpty -r -t z line; then out+="$line"; else sleep 0.1; fi
  [[ $out == *'>>'* && $i -gt 30 ]] && break
done
print -r -- "$out"
zpty -d z
"""


def zsh_complete(function_dir: Path, line: str) -> set[str]:
    zsh = require_program("zsh", "zsh")
    done = subprocess.run(
        [zsh, "-f", "-c", _ZSH, "zsh", str(function_dir), line],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found: set[str] = set()
    for group in re.findall(r"<<([^$>]*)>>", done.stdout.replace("\r", "")):
        found.update(word for word in group.split("|") if word)
    return found


def fish_complete(script: Path, line: str) -> set[str]:
    fish = require_program("fish", "fish")
    done = subprocess.run(
        [fish, "--no-config", "-c", f"source {script}; complete -C {line!r}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {row.split("\t")[0] for row in done.stdout.splitlines() if row}


def test_bash_completes_commands_flags_and_stored_keys(stored: Path, tmp_path: Path) -> None:
    """bash: subcommands, a subcommand's own flags, and the stored keys for logout, get, export, exec -r."""
    script = tmp_path / "regcred.bash"
    script.write_text(_script("bash"))
    assert bash_complete(script, "regcred", "lo") == {"login", "logout"}
    assert bash_complete(script, "regcred", "") >= {"get", "list", "login", "logout", "completion", "exec"}
    login_flags = bash_complete(script, "regcred", "login", "--")
    assert {
        "--username",
        "--password-stdin",
        "--authfile",
        "--get-login",
        "--json",
        "--tls-verify=false",
    } <= login_flags
    assert "--all" not in login_flags  # logout's, not login's
    for words in (
        ["logout", ""],
        ["get", ""],
        ["export", ""],
        ["exec", "--registry", ""],
        ["exec", "-r", ""],
    ):
        assert bash_complete(script, "regcred", *words) == set(KEYS), words
    assert bash_complete(script, "regcred", "logout", "gh") == {"ghcr.io"}


@pytest.mark.slow
def test_zsh_completes_through_compinit(stored: Path, tmp_path: Path) -> None:
    """zsh's own completion system, loading ``_regcred`` from $fpath as a user installs it."""
    functions = tmp_path / "zfunc"
    functions.mkdir()
    (functions / "_regcred").write_text(_script("zsh"))
    assert {"login", "logout"} <= zsh_complete(functions, "regcred lo")
    assert set(KEYS) <= zsh_complete(functions, "regcred logout ")
    assert set(KEYS) <= zsh_complete(functions, "regcred get ")


def test_fish_completes(stored: Path, tmp_path: Path) -> None:
    """fish: ``complete -C`` answers as it does for Tab."""
    script = tmp_path / "regcred.fish"
    script.write_text(_script("fish"))
    assert fish_complete(script, "regcred lo") == {"login", "logout"}
    assert fish_complete(script, "regcred logout ") == set(KEYS)
    assert fish_complete(script, "regcred exec --registry ") == set(KEYS)
    assert "--get-login" in fish_complete(script, "regcred login --get")


def test_list_keys_prints_keys_only(stored: Path) -> None:
    """The hidden-free key source: one key per line, from list's own rows, never a secret."""
    done = subprocess.run(
        [str(VENV_BIN / "regcred"), "list", "--keys"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == sorted(KEYS)
    assert SECRET not in done.stdout + done.stderr


def test_unknown_shell_is_usage(stored: Path) -> None:
    """An unsupported shell: exit 2, completion's own usage."""
    done = subprocess.run(
        [str(VENV_BIN / "regcred"), "completion", "tcsh"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "usage: regcred completion" in done.stderr
    assert "Traceback" not in done.stderr


def test_completion_is_the_only_command_loading_shtab(stored: Path) -> None:
    """shtab is imported by ``completion`` alone: ``regcred list`` does not load it."""
    code = "import sys; from regcred.cli import main; main(['list', '--keys']); print('shtab' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
