#!/usr/bin/env bash
# tests/postgres-server.sh start|stop|restart DIR
# A private PostgreSQL server for the tests: its own data directory in DIR, listening on
# 127.0.0.1 on a free port, run as an unprivileged user (postgres when started by root, since
# PostgreSQL refuses to run as root), password authentication. `start` writes the server's URL
# (postgres://kvdesk:...@127.0.0.1:PORT/kvdesk) to DIR/url.
set -euo pipefail

action=${1:?start, stop or restart}
dir=${2:?the directory of the server}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/postgres" ] || { echo "PostgreSQL is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

server_stop() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

server_start() {
  local port
  port=$(cat "$dir/port")
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" start >/dev/null
}

case $action in
start)
  server_stop
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  random=$(od -An -N8 -tx8 /dev/urandom)
  password="kvdesk-${random// /}"
  printf '%s\n' "$password" >"$dir/password"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/password"
  as_owner "$bin/initdb" -D "$dir/data" -U kvdesk --pwfile="$dir/password" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  # A free port: one nothing answers on.
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  echo "$port" >"$dir/port"
  server_start
  PGPASSWORD=$password "$bin/psql" -h 127.0.0.1 -p "$port" -U kvdesk -d postgres -qAt \
    -c "CREATE DATABASE kvdesk" >/dev/null
  echo "postgres://kvdesk:$password@127.0.0.1:$port/kvdesk" >"$dir/url"
  ;;
stop) server_stop ;;
restart)
  server_stop
  server_start
  ;;
*) echo "usage: $0 start|stop|restart DIR" >&2; exit 2 ;;
esac
