"""Where the time goes: start-up and import costs, TLS set-up, gpg, and config.json work.

Each row is a whole process (interleaved with the others, medians), so the
rows can be compared with the helper and login timings: a helper's time is
roughly "interpreter" + "its imports" + its own work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from _common import GO_PASS, OUR_PASS
from _timing import BenchError, Timing, interleave, process

if TYPE_CHECKING:
    from _common import Sandbox

_BASE_PYTHON = os.path.realpath(sys.executable)  # the interpreter behind the venv


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def startup(box: Sandbox, runs: int) -> dict[str, list[Timing]]:
    """Process-level costs, interleaved; {row: samples in ms}."""
    hub = "https://index.docker.io/v1/"
    body = json.dumps({"ServerURL": hub, "Username": "profile", "Secret": "profile-secret"}).encode()
    subprocess.run([GO_PASS, "store"], input=body, env=box.env, check=True, capture_output=True)
    entry = next(box.path("password-store", "docker-credential-helpers").rglob("profile.gpg"))
    name = f"docker-credential-helpers/{entry.parent.name}/profile"
    programs = {
        "python -c pass (the venv's interpreter, with site)": process(_py("pass"), box.env),
        "python -I -S -c pass (bare interpreter, no site)": process(
            [_BASE_PYTHON, "-I", "-S", "-c", "pass"], box.env
        ),
        "python -c 'import json' (pulls re, enum)": process(_py("import json"), box.env),
        "import the pass helper + PassStore": process(
            _py("import regcred.helpers.pass_, regcred.stores.pass_"), box.env
        ),
        "import the secretservice helper + store + jeepney": process(
            _py("import regcred.helpers.secretservice, regcred.stores.secretservice, jeepney.io.blocking"),
            box.env,
        ),
        "import jeepney.io.blocking alone": process(_py("import jeepney.io.blocking"), box.env),
        "import what login needs (cli, its login commands, _write, _net)": process(
            _py(
                "import regcred.cli, regcred.cli._login, regcred._write, regcred._net.auth, regcred._net.http"
            ),
            box.env,
        ),
        "regcred --version (imports + the whole argparse tree)": process(
            [str(Path(sys.executable).parent / "regcred"), "--version"], box.env
        ),
        "import ssl": process(_py("import ssl"), box.env),
        "import ssl + create_default_context() (loads the CA bundle)": process(
            _py("import ssl; ssl.create_default_context()"), box.env
        ),
        "import ssl + a context with capath=/etc/ssl/certs only (lazy)": process(
            _py(
                "import ssl; c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); "
                "c.load_verify_locations(capath='/etc/ssl/certs')"
            ),
            box.env,
        ),
        "gpg --decrypt of one entry": process(
            ["gpg", "--batch", "--quiet", "--decrypt", str(entry)], box.env
        ),
        "pass show of one entry (what the Go pass helper runs)": process(["pass", "show", name], box.env),
        "our pass helper: get": process([OUR_PASS, "get"], box.env, hub.encode()),
        "Go pass helper: get": process([GO_PASS, "get"], box.env, hub.encode()),
    }
    return interleave(programs, runs=runs)


def config_costs(box: Sandbox) -> dict[str, float]:
    """In-process costs of _config on a 10,000-entry config.json (bench_library.py --config-costs)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("bench_library.py")), str(box.root), "--config-costs"],
        capture_output=True,
        env=box.env,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise BenchError(f"config costs failed: {done.stderr.decode(errors='replace')[-500:]}")
    result: dict[str, float] = json.loads(done.stdout)
    return result
