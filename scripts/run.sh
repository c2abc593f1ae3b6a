#!/usr/bin/env bash
# `make run`: starts kvdesk: the desktop window when there is a display, the headless server
# (--no-gui) otherwise.
set -euo pipefail
binary="$1"; shift

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  # The window keeps its credentials in the OS keychain, and makes an API key on first launch.
  echo "Opening the KV Desk window (its server panel shows the URL and copies the API key)."
  exec "$binary" "$@"
fi

# Headless with no credentials in the environment: a development API key, generated once and
# kept (readable by this user only) next to the default database, so the printed curl works.
if [ -z "${KV_API_KEY:-}${KV_USERNAME:-}${KV_JWT_SECRET:-}${KV_JWKS_URL:-}" ]; then
  dir="${XDG_DATA_HOME:-$HOME/.local/share}/kvdesk"
  keyfile="$dir/dev-api-key"
  mkdir -p "$dir"
  if [ ! -s "$keyfile" ]; then
    (umask 077; head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$keyfile")
  fi
  KV_API_KEY="$(cat "$keyfile")"
  export KV_API_KEY
  echo "Development API key (kept in $keyfile):"
  echo "  export KV_API_KEY=$KV_API_KEY"
  echo
fi
echo "No display: starting the headless server (kvdesk --no-gui)."
exec "$binary" --no-gui "$@"
