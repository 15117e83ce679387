#!/usr/bin/env bash
# Starts the patched moto server on a free loopback port and prints its URL once it answers.
# The server runs in the background; its pid is written to $1 (default: .emulator.pid).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/tools/venv.sh"
pidfile=${1:-"$root/.emulator.pid"}
port=$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$root/.venv/bin/python" "$root/tools/emulator/launcher.py" -H 127.0.0.1 -p "$port" >"${pidfile%.pid}.log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 300); do
  if "$root/.venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    echo "http://127.0.0.1:$port"
    exit 0
  fi
  sleep 0.2
done
echo "the emulator did not start; see ${pidfile%.pid}.log" >&2
exit 1
