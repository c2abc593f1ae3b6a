#!/usr/bin/env bash
# `make run`: starts kvdesk. Until the desktop window exists this is always the headless server.
# With no credentials in the environment it uses a development API key, generated once and kept
# (readable by this user only) next to the default database, so the printed curl works at once.
set -euo pipefail
binary="$1"; shift

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
exec "$binary" --no-gui "$@"
