#!/usr/bin/env bash
# make bench: the ceiling (bare QHttpServer) and kvdesk --no-gui measured with wrk in one run,
# each figure also as a ratio to the ceiling of the same run. Loopback only.
set -euo pipefail
BUILD="${BUILD:-build}"
DURATION="${DURATION:-10}"
KVDESK="$BUILD/bin/kvdesk"
CEILING="$BUILD/tests/bench/kvdesk_ceiling"
TOOL="$BUILD/tests/bench/kvdesk_benchtool"
LUA="$(dirname "$0")/kv.lua"
CORES="$(nproc)"
API_KEY="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PORT=18931
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi

TICKS="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# Resident now, split into anonymous memory and file pages (libraries, the database's map).
rss_split() { awk '/RssAnon/ {a = $2} /RssFile/ {f = $2} END {printf "anonymous %.1f MiB + files %.1f MiB", a / 1024, f / 1024}' "/proc/$1/status"; }
live_keys() { "$TOOL" count "$1" 2>/dev/null || echo "?"; }
to_ms() { # 1.23ms | 456.00us | 1.20s
  local v="$1"
  case "$v" in
    *us) awk -v x="${v%us}" 'BEGIN {printf "%.2f", x / 1000}' ;;
    *ms) awk -v x="${v%ms}" 'BEGIN {printf "%.2f", x}' ;;
    *s) awk -v x="${v%s}" 'BEGIN {printf "%.2f", x * 1000}' ;;
  esac
}
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2; exit 1
}

ROWS=()
CEIL1=0; CEILN=0
# run_wrk PID PORT MODE EXPECT CONNECTIONS KEYS SECONDS: one wrk run against the server PID on
# PORT. Sets R_N (requests), R_SECS (wrk's own count of seconds), R_RPS, R_P50 and R_P99 (ms),
# R_TICKS (the server's CPU ticks meanwhile), R_STATUS and R_BODY (the script's failed checks)
# and R_SOCKET (wrk's socket errors, if any).
run_wrk() {
  local pid="$1" port="$2" mode="$3" expect="$4" conns="$5" keys="$6" secs="$7" before out threads=2
  [ "$conns" -lt 2 ] && threads=1
  before="$(cpu_ticks "$pid")"
  out="$(MODE="$mode" EXPECT="$expect" KEYS="$keys" API_KEY="$API_KEY" \
        wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$LUA" "http://127.0.0.1:$port" 2>&1)"
  R_TICKS=$(( $(cpu_ticks "$pid") - before ))
  R_N="$(awk '/ requests in / {print $1}' <<<"$out")"
  R_SECS="$(awk -v ms="$(to_ms "$(awk '/ requests in / {sub(",", "", $4); print $4}' <<<"$out")")" 'BEGIN {printf "%.3f", ms / 1000}')"
  R_RPS="$(awk -v n="${R_N:-0}" -v t="$R_SECS" 'BEGIN {if (t > 0) printf "%.0f", n / t; else print 0}')"
  R_P50="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  R_P99="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  R_STATUS="$(grep -o 'status_errors=[0-9]*' <<<"$out" | cut -d= -f2 || true)"
  R_BODY="$(grep -o 'body_errors=[0-9]*' <<<"$out" | cut -d= -f2 || true)"
  R_SOCKET="$(grep 'Socket errors' <<<"$out" | sed 's/^ */ /' || true)"
}
# add_row NAME CONNECTIONS: a row of the table from the R_ figures of the last run
add_row() {
  local cpu check
  cpu="$(awk -v a="$R_TICKS" -v t="$TICKS" -v d="$R_SECS" 'BEGIN {printf "%.2f", (d > 0 ? a / t / d : 0)}')"
  check="status_errors=${R_STATUS:-?} body_errors=${R_BODY:-?}${R_SOCKET:-}"
  ROWS+=("$1|$2|$R_RPS|$R_P50|$R_P99|$cpu|$check")
  printf '  %-34s %8s req/s  p50 %6s ms  p99 %6s ms  cpu %s  %s\n' "$1" "$R_RPS" "$R_P50" "$R_P99" "$cpu" "$check" >&2
  LAST_RPS="$R_RPS"
}
# measure NAME PID MODE EXPECT CONNECTIONS [KEYS]: a run of DURATION seconds, a row of the table
measure() {
  local name="$1" pid="$2" mode="$3" expect="$4" conns="$5" keys="${6:-10000}"
  run_wrk "$pid" "$PORT" "$mode" "$expect" "$conns" "$keys" "$DURATION"
  add_row "$name" "$conns"
}

# measure_pair NAME PID1 PID2 MODE EXPECT CONNECTIONS KEYS: the same run against two servers at
# once (PID1 on PORT, PID2 on PORT + 1), CONNECTIONS each, a row of the table: requests/s and CPU
# summed, the higher p50 and p99, both servers' checks.
measure_pair() {
  local name="$1" mode="$4" expect="$5" conns="$6" keys="$7" i waits=()
  for i in 0 1; do
    (
      [ "$i" = 0 ] && pid="$2" || pid="$3"
      SEED="$i" run_wrk "$pid" "$((PORT + i))" "$mode" "$expect" "$conns" "$keys" "$DURATION"
      echo "$R_RPS $R_P50 $R_P99 $R_TICKS $R_SECS ${R_STATUS:-?} ${R_BODY:-?}" >"$WORK/pair$i"
    ) &
    waits+=("$!")
  done
  wait "${waits[@]}"
  read -r R_RPS R_P50 R_P99 R_TICKS R_SECS R_STATUS R_BODY < <(cat "$WORK/pair0" "$WORK/pair1" | awk '
    {rps += $1; if ($2 > p50) p50 = $2; if ($3 > p99) p99 = $3; ticks += $4; secs = $5; s = s (s == "" ? "" : "+") $6; b = b (b == "" ? "" : "+") $7}
    END {print rps, p50, p99, ticks, secs, s, b}')
  R_SOCKET=""
  add_row "$name" "$((2 * conns))"
}

echo "Benchmark on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), ${DURATION}s per run" >&2

# The ceiling, single-threaded and one thread per core.
for threads in 1 "$CORES"; do
  "$CEILING" "$PORT" "$threads" >/dev/null & pid=$!; PIDS+=("$pid"); wait_port "$PORT"
  measure "ceiling, $threads thread(s)" "$pid" ceiling 200 64
  [ "$threads" = 1 ] && CEIL1="$LAST_RPS" || CEILN="$LAST_RPS"
  [ "$threads" = 1 ] && measure "ceiling, $threads thread(s)" "$pid" ceiling 200 1
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
[ "$CORES" = 1 ] && CEILN="$CEIL1"

# Start-up: from exec to the first answered request, on an empty database.
# Five starts, each on a new empty database; the median is reported (one start is at the mercy
# of whatever else the machine does at that moment).
STARTS=()
for i in 1 2 3 4 5; do
  STARTS+=("$("$TOOL" startup "$PORT" "$KVDESK" --no-gui --port "$PORT" --db "$WORK/empty$i.sqlite" 2>/dev/null)")
done
STARTUP="$(printf '%s\n' "${STARTS[@]}" | sort -n | sed -n 3p)"
echo "  start to first answered request: $STARTUP ms (median of ${STARTS[*]})" >&2

# The read cache alone, without HTTP or threads: what a hit costs over 10,000 and 1,000,000 keys,
# one lookup at a time (memory latency, which is what separates the two random-key runs), and 16
# at a time, their misses overlapped (as a server thread answers the reads of a turn of its loop).
LOOKUP10K="$("$TOOL" cachelookups 10000)"
LOOKUP1M="$("$TOOL" cachelookups 1000000)"
LOOKUP10KG="$("$TOOL" cachelookups 10000 16)"
LOOKUP1MG="$("$TOOL" cachelookups 1000000 16)"
echo "  read cache hits: $LOOKUP10K ns over 10,000 keys, $LOOKUP1M ns over 1,000,000 (16 at a time: $LOOKUP10KG and $LOOKUP1MG ns)" >&2

# kvdesk with 10,000 keys (and a hot key, and a 1 MiB value), and with 1,000,000 keys. Both
# databases are written, and on disk, before anything is measured.
"$TOOL" preload "$WORK/kv10k.sqlite" 10000 100
"$TOOL" preload "$WORK/kv10k.sqlite" 1 100 hot
"$TOOL" preload "$WORK/kv10k.sqlite" 1 1048576 big
"$TOOL" preload "$WORK/kv1m.sqlite" 1000000 100
"$TOOL" preload "$WORK/kv1m.sqlite" 1 100 hot
cp "$WORK/kv10k.sqlite" "$WORK/kvidle.sqlite" # for the runs with idle connections, below
sync
KV_API_KEY="$API_KEY" "$KVDESK" --no-gui --port "$PORT" --db "$WORK/kv10k.sqlite" >/dev/null & pid=$!; PIDS+=("$pid"); wait_port "$PORT"
measure "GET hot key" "$pid" get_hot 200 64
measure "GET hot key" "$pid" get_hot 200 1

# The 1,000,000-key server next, while the 10,000-key server waits, idle, on its own port. It goes
# through the same sequence: its hot key first (its read cache warms from the database meanwhile,
# as the other's did), then random keys.
PORT10K="$PORT"; PORT1M=$((PORT + 1))
KV_API_KEY="$API_KEY" "$KVDESK" --no-gui --port "$PORT1M" --db "$WORK/kv1m.sqlite" >/dev/null 2>"$WORK/kv1m.log" & pid1m=$!; PIDS+=("$pid1m"); wait_port "$PORT1M"
PORT="$PORT1M"
measure "GET hot key of 1,000,000 keys" "$pid1m" get_hot 200 64
PORT="$PORT10K"

# Runs that a target compares are interleaved, ABBA: half of the first, all of the second, then
# the other half of the first, so that a drift of the machine's speed over those seconds (it
# drifts by 10-20% within a minute) weighs on both alike. A row of such runs sums its two halves:
# requests over seconds, CPU over seconds; its p50 and p99 are the higher of its two halves'.
declare -A W_REQ W_SECS W_TICKS W_P50 W_P99 W_STATUS W_BODY W_SOCK W_LIST
HALF=$(( DURATION / 2 > 0 ? DURATION / 2 : 1 ))
window() { # NAME ID PID PORT MODE KEYS: one half, counted under ID
  local name="$1" id="$2" pid="$3" port="$4" mode="$5" keys="$6"
  run_wrk "$pid" "$port" "$mode" 200 64 "$keys" "$HALF"
  W_REQ[$id]=$(( ${W_REQ[$id]:-0} + ${R_N:-0} ))
  W_SECS[$id]="$(awk -v a="${W_SECS[$id]:-0}" -v b="$R_SECS" 'BEGIN {printf "%.3f", a + b}')"
  W_TICKS[$id]=$(( ${W_TICKS[$id]:-0} + R_TICKS ))
  W_P50[$id]="$(awk -v a="${W_P50[$id]:-0}" -v b="$R_P50" 'BEGIN {printf "%.2f", (b > a ? b : a)}')"
  W_P99[$id]="$(awk -v a="${W_P99[$id]:-0}" -v b="$R_P99" 'BEGIN {printf "%.2f", (b > a ? b : a)}')"
  # A half whose checks did not print counts as failing them all.
  W_STATUS[$id]=$(( ${W_STATUS[$id]:-0} + ${R_STATUS:-${R_N:-1}} ))
  W_BODY[$id]=$(( ${W_BODY[$id]:-0} + ${R_BODY:-${R_N:-1}} ))
  W_SOCK[$id]="${W_SOCK[$id]:-}$R_SOCKET"
  W_LIST[$id]="${W_LIST[$id]:+${W_LIST[$id]} and }$R_RPS"
  printf '  %-34s %8s req/s  p50 %6s ms  p99 %6s ms  (one half, %s s)\n' "$name" "$R_RPS" "$R_P50" "$R_P99" "$HALF" >&2
}
window_row() { # NAME ID: the row of ID's two halves, as measure() adds one
  local name="$1" id="$2" rps cpu
  rps="$(awk -v n="${W_REQ[$id]}" -v t="${W_SECS[$id]}" 'BEGIN {printf "%.0f", (t > 0 ? n / t : 0)}')"
  cpu="$(awk -v a="${W_TICKS[$id]}" -v t="$TICKS" -v d="${W_SECS[$id]}" 'BEGIN {printf "%.2f", (d > 0 ? a / t / d : 0)}')"
  ROWS+=("$name|64|$rps|${W_P50[$id]}|${W_P99[$id]}|$cpu|status_errors=${W_STATUS[$id]} body_errors=${W_BODY[$id]}${W_SOCK[$id]}")
  LAST_RPS="$rps"
}

# The two random-key runs that the 1,000,000 / 10,000 target compares.
G10K="GET random of 10,000 keys"; G1M="GET random of 1,000,000 keys"
window "$G10K" g10k "$pid" "$PORT10K" get_random 10000
window "$G1M" g1m "$pid1m" "$PORT1M" get_random 1000000
window "$G1M" g1m "$pid1m" "$PORT1M" get_random 1000000
window "$G10K" g10k "$pid" "$PORT10K" get_random 10000
window_row "$G10K" g10k
GET10K="$LAST_RPS"
window_row "$G1M" g1m
GET1M="$LAST_RPS"
RSS10K="$(hwm_mib "$pid")"; RSS10K_SPLIT="$(rss_split "$pid")"
RSS1M="$(hwm_mib "$pid1m")"
kill "$pid1m"; wait "$pid1m" 2>/dev/null || true
WARM1M="$(grep -o 'read cache warmed: .*' "$WORK/kv1m.log" || echo "read cache not warmed")"

# Durable PUTs between two halves of the ceiling (2 threads, on a port of its own, idle
# meanwhile): the target compares them with the ceiling, and the one measured at the start of the
# run may be minutes and a drift of the machine away. The PUTs run in one go, as before, since a
# pause lets the writer start its log anew (see Storage in the README), which a continuous load
# does not.
PORTCEIL=$((PORT + 2))
"$CEILING" "$PORTCEIL" "$CORES" >/dev/null & pidceil=$!; PIDS+=("$pidceil"); wait_port "$PORTCEIL"
CEILA="ceiling, $CORES thread(s), around the PUTs"
window "$CEILA" ceil "$pidceil" "$PORTCEIL" ceiling 0
measure "PUT random keys (100 B, durable)" "$pid" put_random 200 64
PUTRPS="$LAST_RPS"
window "$CEILA" ceil "$pidceil" "$PORTCEIL" ceiling 0
kill "$pidceil"; wait "$pidceil" 2>/dev/null || true
window_row "$CEILA" ceil
CEILPUT="$LAST_RPS"
measure "PUT random keys (100 B, durable)" "$pid" put_random 200 1
measure "90/10 GET/PUT mix" "$pid" mix 200 64 10000
measure "wrong API key (401)" "$pid" wrong_key 401 64
RSSPUT="$(hwm_mib "$pid")"; RSSPUT_SPLIT="$(rss_split "$pid")"

# Clients that keep their connections open between requests (connection pools): the same random
# GETs and PUTs with 900 more connections open and idle meanwhile (kvdesk's default cap is 1,024 in
# all), on a server of their own started on the same 10,000 keys (the PUTs above grew the first
# one's database); then the ceiling with as many. An event loop that looks at every connection at
# each turn pays for the idle ones too.
IDLE=900
idle_open() { # PORT: IDLE idle connections to PORT, held by IDLEPID
  "$TOOL" idle "$1" "$IDLE" >"$WORK/idle.out" & IDLEPID=$!; PIDS+=("$IDLEPID")
  for _ in $(seq 1 400); do grep -q open "$WORK/idle.out" && break; sleep 0.05; done
  grep -q open "$WORK/idle.out" || { echo "the idle connections did not open" >&2; exit 1; }
  sleep 0.5
}
idle_close() { # how many the server held open to the end
  kill -TERM "$IDLEPID"; wait "$IDLEPID" || true
  IDLEHELD="${IDLEHELD:+$IDLEHELD, }$(grep -o '[0-9]* of [0-9]* still open' "$WORK/idle.out" || echo "not counted")"
}
PORTIDLE=$((PORT + 3))
KV_API_KEY="$API_KEY" "$KVDESK" --no-gui --port "$PORTIDLE" --db "$WORK/kvidle.sqlite" >/dev/null & pididle=$!; PIDS+=("$pididle"); wait_port "$PORTIDLE"
idle_open "$PORTIDLE"
PORT="$PORTIDLE"
measure "GET random of 10,000 keys, $IDLE idle connections open" "$pididle" get_random 200 64 10000
GETIDLE="$LAST_RPS"
measure "PUT random keys (100 B, durable), $IDLE idle connections open" "$pididle" put_random 200 64
PUTIDLE="$LAST_RPS"
idle_close
kill "$pididle"; wait "$pididle" 2>/dev/null || true
"$CEILING" "$PORTCEIL" "$CORES" >/dev/null & pidceil=$!; PIDS+=("$pidceil"); wait_port "$PORTCEIL"
idle_open "$PORTCEIL"
PORT="$PORTCEIL"
measure "ceiling, $CORES thread(s), $IDLE idle connections open" "$pidceil" ceiling 200 64
CEILIDLE="$LAST_RPS"
PORT="$PORT10K"
idle_close
kill "$pidceil"; wait "$pidceil" 2>/dev/null || true
measure "GET 1 MiB value" "$pid" get_big 200 64
measure "PUT 1 MiB value" "$pid" put_big 200 64
RSSBIG="$(hwm_mib "$pid")"
kill "$pid"; wait "$pid" 2>/dev/null || true
KEYSAFTER="$(live_keys "$WORK/kv10k.sqlite")" # the server's lock is gone now

# kvdesk on PostgreSQL: a private server on loopback (tests/postgres-server.sh), 10,000 keys.
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  PGSCRIPT="$(dirname "$0")/../postgres-server.sh"
  "$PGSCRIPT" start "$WORK/pg"
  PGURL="$(cat "$WORK/pg/url")"
  "$TOOL" preload "$PGURL" 10000 100
  KV_API_KEY="$API_KEY" "$KVDESK" --no-gui --port "$PORT" --db "$PGURL" >/dev/null & pid=$!; PIDS+=("$pid"); wait_port "$PORT"
  measure "PostgreSQL: GET random of 10,000 keys" "$pid" get_random 200 64 10000
  measure "PostgreSQL: PUT random keys (durable)" "$pid" put_random 200 64
  measure "PostgreSQL: 90/10 GET/PUT mix" "$pid" mix 200 64 10000
  # A second node on the same database: the clients of both write the same 50 keys (their
  # transactions wait for one another on those keys, and must not deadlock).
  KV_API_KEY="$API_KEY" "$KVDESK" --no-gui --port "$((PORT + 1))" --db "$PGURL" >/dev/null & pid2=$!; PIDS+=("$pid2"); wait_port "$((PORT + 1))"
  measure_pair "PostgreSQL, 2 nodes: PUTs of 50 keys" "$pid" "$pid2" put_shared 200 32 50
  kill "$pid" "$pid2"; wait "$pid" "$pid2" 2>/dev/null || true
  "$PGSCRIPT" stop "$WORK/pg"
fi

# The ceiling once more: how far the machine itself drifted over the run (this machine is shared;
# every ratio above is to the first measure).
"$CEILING" "$PORT" "$CORES" >/dev/null & pid=$!; PIDS+=("$pid"); wait_port "$PORT"
measure "ceiling, $CORES thread(s), again at the end" "$pid" ceiling 200 64
CEILN_END="$LAST_RPS"
kill "$pid"; wait "$pid" 2>/dev/null || true

echo
echo "| run | conns | req/s | p50 ms | p99 ms | server CPU | server µs/req | × ceiling 1 thread | × ceiling $CORES threads | checks |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name conns rps p50 p99 cpu check <<<"$row"
  r1="$(awk -v a="$rps" -v b="$CEIL1" 'BEGIN {printf "%.2f", a / b}')"
  rn="$(awk -v a="$rps" -v b="$CEILN" 'BEGIN {printf "%.2f", a / b}')"
  # CPU time per answer: what the server costs when wrk, on the same cores, limits the rate.
  us="$(awk -v c="$cpu" -v r="$rps" 'BEGIN {if (r > 0) printf "%.1f", c / r * 1e6; else print "-"}')"
  echo "| $name | $conns | $rps | $p50 | $p99 | $cpu | $us | $r1 | $rn | $check |"
done
echo
echo "- the ceiling ($CORES threads) at the start and at the end of the run: $CEILN and $CEILN_END req/s ($(awk -v a="$CEILN_END" -v b="$CEILN" 'BEGIN {printf "%.2f", a / b}')×): how much the machine drifted meanwhile"
echo "- GET random of 1,000,000 keys ÷ GET random of 10,000 keys: $(awk -v a="$GET1M" -v b="$GET10K" 'BEGIN {printf "%.2f", a / b}') (interleaved halves of $HALF s: ${W_LIST[g10k]} req/s over 10,000 keys, ${W_LIST[g1m]} over 1,000,000)"
echo "- the read cache alone (benchtool cachelookups: one hit at a time, the best of three rounds of 2,000,000): $LOOKUP10K ns per hit over 10,000 keys, $LOOKUP1M ns over 1,000,000; 16 keys at a time in one getAll, as a server thread looks up the reads of an event loop turn: $LOOKUP10KG and $LOOKUP1MG ns per hit"
echo "- durable PUTs ÷ the ceiling ($CORES threads) measured around them: $(awk -v a="$PUTRPS" -v b="$CEILPUT" 'BEGIN {printf "%.2f", a / b}') ($PUTRPS PUTs/s; the ceiling ${W_LIST[ceil]} req/s in the halves of $HALF s before and after)"
echo "- with $IDLE idle connections open ($IDLEHELD at the end: kvdesk's, the ceiling's): GET random of 10,000 keys $GETIDLE req/s ($(awk -v a="$GETIDLE" -v b="$GET10K" 'BEGIN {printf "%.2f", a / b}')× those without), durable PUTs $PUTIDLE ($(awk -v a="$PUTIDLE" -v b="$PUTRPS" 'BEGIN {printf "%.2f", a / b}')×), the ceiling $CEILIDLE ($(awk -v a="$CEILIDLE" -v b="$CEILPUT" 'BEGIN {printf "%.2f", a / b}')× the ceiling around the PUTs)"
echo "- peak RSS (VmHWM), kvdesk with 10,000 keys, after the GET runs: $RSS10K MiB ($RSS10K_SPLIT resident then)"
echo "- peak RSS after the PUT, mix and 401 runs too (the PUTs add keys: $KEYSAFTER at the end): $RSSPUT MiB ($RSSPUT_SPLIT resident then); after the 1 MiB runs: $RSSBIG MiB"
echo "- peak RSS with 1,000,000 keys: $RSS1M MiB; that server's log: $WARM1M"
echo "- start to first answered request, empty database: $STARTUP ms (median of five: ${STARTS[*]})"
