#!/usr/bin/env bash
# Creates (once) the project's Python venvs and prints nothing else on success.
#   tools/venv.sh          ./.venv          moto server, boto3, cfn-lint, pytest
#   tools/venv.sh checkov  ./.venv-checkov  checkov, kept apart for its own boto3 pin
#   tools/venv.sh ci       ./.venv-ci       zizmor and check-jsonschema, for examples/ci
# A venv is rebuilt when its requirements file changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-main}" in
  main) venv="$root/.venv" req="$root/tools/requirements.txt" ;;
  checkov) venv="$root/.venv-checkov" req="$root/tools/requirements-checkov.txt" ;;
  ci) venv="$root/.venv-ci" req="$root/tools/requirements-ci.txt" ;;
  *) echo "usage: tools/venv.sh [main|checkov|ci]" >&2; exit 2 ;;
esac
stamp="$venv/.requirements"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi
echo "setting up $venv (first use; about a minute)" >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
cp "$req" "$stamp"
