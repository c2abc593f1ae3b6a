#!/usr/bin/env bash
# tests/postgres-server.sh start|stop|restart DIR
# A private PostgreSQL server for the tests: its own data directory in DIR, listening on
# 127.0.0.1 on a free port, run as an unprivileged user (postgres when started by root, since
# PostgreSQL refuses to run as root), password authentication.
# `start` writes the server's URL
# (postgres://kvdesk:...@127.0.0.1:PORT/kvdesk) to DIR/url.
set -euo pipefail

action=${1:?start, stop or restart}
dir=${2:?the directory of the server}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/postgres" ] || { echo "PostgreSQL is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }

# The server's own files: DIR/server; when root starts it for the postgres user and that user
# cannot reach DIR (a checkout under /root, say), a folder of /tmp named after DIR. `start`
# records which in DIR/datadir.
if [ -f "$dir/datadir" ]; then
  data=$(cat "$dir/datadir")
elif [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$dir"
  if runuser -u postgres -- test -x "$dir"; then
    data="$dir/server"
  else
    hash=$(printf '%s' "$dir" | md5sum)
    data="/tmp/kvdesk-postgres-${hash:0:12}"
  fi
else
  data="$dir/server"
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

server_stop() {
  if [ -f "$data/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$data/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

server_start() {
  local port
  port=$(cat "$dir/port")
  as_owner "$bin/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 30 \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" start >/dev/null
}

case $action in
start)
  server_stop
  rm -rf "$data" "$dir"
  mkdir -p "$dir" "$data"
  echo "$data" >"$dir/datadir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$data" && chmod 700 "$data"
  random=$(od -An -N8 -tx8 /dev/urandom)
  password="kvdesk-${random// /}"
  printf '%s\n' "$password" >"$data/password"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$data/password"
  as_owner "$bin/initdb" -D "$data/data" -U kvdesk --pwfile="$data/password" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  # A free port, below Linux's ephemeral range (where clients' own ports come from); another
  # one if something took it meanwhile.
  started=no
  for _ in $(seq 20); do
    port=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    echo "$port" >"$dir/port"
    if server_start 2>/dev/null; then started=yes; break; fi
  done
  [ "$started" = yes ] || { echo "PostgreSQL did not start:" >&2; tail -5 "$data/server.log" >&2; exit 1; }
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
