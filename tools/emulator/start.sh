#!/usr/bin/env bash
# Starts the patched moto server on a free loopback port and prints its URL once it answers.
# The launcher binds the port itself (port 0) and says which; the server runs in the background
# and its pid is written to $1 (default: .emulator.pid), its log beside it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/tools/venv.sh"
pidfile=${1:-"$root/.emulator.pid"}
shift || true
log=${pidfile%.pid}.log
out=${pidfile%.pid}.out
"$root/.venv/bin/python" "$root/tools/emulator/launcher.py" -H 127.0.0.1 -p 0 "$@" >"$out" 2>"$log" &
pid=$!
echo "$pid" >"$pidfile"
for _ in $(seq 1 300); do
  url=$(sed -n 's/^plinth-emulator listening on //p' "$out" 2>/dev/null | head -n 1)
  if [ -n "$url" ] && "$root/.venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$url/moto-api/', timeout=1)" 2>/dev/null; then
    echo "$url"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
echo "the emulator did not start; see $log" >&2
exit 1
