#!/usr/bin/env bash
# The manager pages at scale (docs/benchmarks.md, "Control plane at scale: pages, figures and
# exports"). One command:
#
#   scripts/bench-pages.sh                                  # 1,000,000 vouchers, 20,000,000 usage rows
#   VOUCHERS=100000 USAGE=2000000 scripts/bench-pages.sh    # smaller
#   PAGES_DBS=sqlite KEEP=/var/tmp/pages scripts/bench-pages.sh   # one database, kept for reruns
#
# For each database: `mtm-fleet fill-db` makes a chain's history (45 locations with a router
# and three staff each, 50 managers, shifts, vouchers with their revenue records, usage rows,
# alerts) in a new database, then a release `mtm-server` serves it and `mtm-fleet page-load`
# runs $MANAGERS managers at once (once per pause in $THINK_MS) against the overview, a location
# page, the alerts, the vouchers list and their CSV exports for $LOAD_S seconds, printing
# p50/p95/p99 per page. The
# PostgreSQL server is never stopped; only the `mtm_pages` database is dropped and made again.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${CARGO_TARGET_DIR:=target}"
export CARGO_TARGET_DIR
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PAGES_DBS=${PAGES_DBS:-sqlite postgres}
VOUCHERS=${VOUCHERS:-1000000}
USAGE=${USAGE:-20000000}
ALERTS=${ALERTS:-20000}
LOCATIONS=${LOCATIONS:-45}
DAYS=${DAYS:-365}
MANAGERS=${MANAGERS:-50}
LOAD_S=${LOAD_S:-30}
# Pauses between a manager's answer and next request, one load each: 0 asks again at once (what
# the server can serve), 2000 is a busy manager clicking every two seconds.
THINK_MS=${THINK_MS:-0 2000}
# KEEP=DIR keeps the SQLite file (and the PostgreSQL database) and reuses them when present.
KEEP=${KEEP:-}

if [ "${BENCH_BUILD:-1}" != 0 ]; then
    cargo build --release --locked -p mtm-control-plane -p mtm-fleet --bins >&2
fi
BIN=$CARGO_TARGET_DIR/release
WORK=$(mktemp -d /tmp/mtm-pages.XXXXXX)
DATA=${KEEP:-$WORK}
mkdir -p "$DATA"
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ) release build, $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
for db in $PAGES_DBS; do
    if [ "$db" = sqlite ]; then
        url="sqlite://$DATA/pages.db"
        fresh=$([ -n "$KEEP" ] && [ -f "$DATA/pages.db" ] && echo 0 || echo 1)
    else
        url="$BENCH_PG/mtm_pages"
        fresh=1
        if [ -n "$KEEP" ] && psql "$BENCH_PG/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'mtm_pages'" | grep -q 1; then
            fresh=0
        fi
        if [ "$fresh" = 1 ]; then
            psql "$BENCH_PG/postgres" -q -c "DROP DATABASE IF EXISTS mtm_pages" -c "CREATE DATABASE mtm_pages" >&2
        fi
    fi
    if [ "$fresh" = 1 ]; then
        echo "## fill $db: $VOUCHERS vouchers, $USAGE usage rows, $ALERTS alerts, $DAYS days"
        "$BIN/mtm-fleet" fill-db --database-url "$url" --vouchers "$VOUCHERS" --usage "$USAGE" \
            --alerts "$ALERTS" --days "$DAYS" --locations "$LOCATIONS" --managers "$MANAGERS"
    fi
    dir=$WORK/server-$db
    mkdir -p "$dir"
    cat >"$dir/server.toml" <<CONF
data_dir = "$dir"
database_url = "$url"
http_bind = "127.0.0.1:0"
[mqtt]
mode = "embedded"
bind = "127.0.0.1:0"
CONF
    RUST_LOG=warn,mtm_control_plane::reports=info "$BIN/mtm-server" serve --config "$dir/server.toml" >"$dir/stdout" 2>"$dir/stderr" &
    SERVER_PID=$!
    HTTP=
    for _ in $(seq 1 600); do
        HTTP=$(sed -n 's/^http on //p' "$dir/stdout" | head -n1)
        [ -n "$HTTP" ] && break
        sleep 0.1
    done
    [ -n "$HTTP" ] || { cat "$dir/stderr" >&2; echo "server did not start" >&2; exit 1; }
    HTTP=${HTTP%/}
    case $HTTP in http*) ;; *) HTTP=http://$HTTP ;; esac
    # At start the server stores yesterday's daily report of every location: timed, and let
    # finish before the pages are measured. A kept database has them from its first run, and
    # the server says nothing of reports already stored, so there is nothing to wait for.
    if [ "$fresh" = 1 ]; then
        started=$(date +%s.%N)
        for _ in $(seq 1 3000); do
            [ "$(grep -c 'daily report stored\|daily report failed' "$dir/stdout" "$dir/stderr" | awk -F: '{s+=$2} END {print s}')" -ge "$LOCATIONS" ] && break
            sleep 0.2
        done
        echo "## daily reports of yesterday at start: $(grep -c 'daily report stored' "$dir/stdout" "$dir/stderr" | awk -F: '{s+=$2} END {print s}') stored in $(echo "$(date +%s.%N) - $started" | bc) s"
    fi
    # The server's CPU time over the load (user + system, clock ticks): work per request, which
    # the 2-core machine's scheduling noise moves far less than the latencies.
    cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
    for think in $THINK_MS; do
        echo "## $MANAGERS managers for $LOAD_S s on $db, ${think} ms between a manager's answer and next request"
        ticks0=$(cpu_ticks)
        "$BIN/mtm-fleet" page-load --server "$HTTP" --managers "$MANAGERS" --seconds "$LOAD_S" \
            --think-ms "$think" | tee "$dir/load-$think.json"
        ticks1=$(cpu_ticks)
        python3 - "$dir/load-$think.json" "$((ticks1 - ticks0))" "$(getconf CLK_TCK)" "$LOAD_S" <<'PY'
import json, sys
pages = json.load(open(sys.argv[1]))["pages"]
requests = sum(p["n"] for p in pages.values())
cpu_s = int(sys.argv[2]) / int(sys.argv[3])
print(json.dumps({"requests": requests, "requests_per_s": round(requests / int(sys.argv[4]), 1),
                  "server_cpu_s": cpu_s,
                  "server_cpu_ms_per_request": round(1000 * cpu_s / max(requests, 1), 2)}))
PY
    done
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
done
