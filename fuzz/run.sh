#!/usr/bin/env bash
# Coverage-guided fuzzing (atheris/libFuzzer) of regcred's four untrusted inputs:
#   www_authenticate  the WWW-Authenticate parser (a registry's 401 header)
#   config            the config.json loader and writer (docker, podman, users edit it)
#   address           server-address normalisation (command line, config keys)
#   protocol          the credential-helper protocol server (stdin from docker)
# Not part of CI.  Usage:  bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
# Installs atheris into .venv if missing.  Corpora grow in fuzz/corpus/<target>/,
# crashes land in fuzz/crashes/ (both git-ignored).
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(www_authenticate config address protocol)
PY=.venv/bin/python
[ -x "$PY" ] || { echo "fuzz: no .venv; run scripts/setup first" >&2; exit 2; }
"$PY" -c "import atheris" 2>/dev/null || "$PY" -m pip install -q --disable-pip-version-check atheris || exit 2

seed() {  # seed <target> <name> <content>
  mkdir -p "fuzz/corpus/$1"
  [ -e "fuzz/corpus/$1/$2" ] || printf '%b' "$3" >"fuzz/corpus/$1/$2"
}
seed www_authenticate bearer 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'
seed www_authenticate multi 'Basic realm="x", Bearer realm="y\\\\"z", error=invalid_token, Negotiate abc=='
seed config docker '{\n\t"auths": {\n\t\t"reg.example:5000": {\n\t\t\t"auth": "dXNlcjpwYXNz"\n\t\t},\n\t\t"https://index.docker.io/v1/": {}\n\t},\n\t"credsStore": "pass",\n\t"credHelpers": {"gcr.io": "gcloud"},\n\t"psFormat": "x"\n}'
seed config token '{"Auths": {"r": {"Username": "u", "IdentityToken": "t", "email": null}}, "x": [1, 2.5, true]}'
seed address hub 'https://registry-1.docker.io/v2/'
seed address ipv6 'http://[fe80::1%eth0]:5000/v2/'
seed address repo 'quay.io:443/org/team/app'
seed protocol store '\x00{"ServerURL":"known.example:5000","Username":"u","Secret":"s<&>"}\n'
seed protocol get '\x01  known.example:5000 \r\n'
seed protocol erase '\x02known.example:5000'

mkdir -p fuzz/crashes
status=0
for target in "${TARGETS[@]}"; do
  echo "== fuzz $target for ${SECONDS_PER_TARGET}s"
  env -u PYTHONDONTWRITEBYTECODE "$PY" "fuzz/fuzz_$target.py" "fuzz/corpus/$target" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="fuzz/crashes/$target-" -print_final_stats=1 2>"fuzz/crashes/$target.log"
  code=$?
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)" "fuzz/crashes/$target.log" || true
  if [ "$code" -ne 0 ]; then
    status=1
    echo "!! $target: crash (exit $code); see fuzz/crashes/$target.log and fuzz/crashes/$target-*"
    grep -E -A30 "^(=== Uncaught Python exception|Traceback)" "fuzz/crashes/$target.log" | head -40
  fi
done
exit "$status"
