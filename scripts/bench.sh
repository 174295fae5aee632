#!/usr/bin/env bash
# The control plane measured with a fleet of simulated agents (docs/benchmarks.md, "Control
# plane at scale"). One command:
#
#   scripts/bench.sh            # every figure (about 15 minutes on 2 cores, after the build)
#   BENCH_ONLY="ingest" scripts/bench.sh    # some of: verify ingest dispense45 fleet1000
#   INGEST_S=60 FLEET=10000 scripts/bench.sh   # the issue's full lengths and sizes
#
# Builds release binaries, then for each figure starts a fresh `mtm-server` (embedded broker,
# SQLite in a temp dir, or a fresh `mtm_bench` database on the PostgreSQL at $BENCH_PG) and
# drives it with `mtm-fleet run`, which enrolls every agent through the API and prints one JSON
# object of figures. The PostgreSQL server itself is never stopped; only the bench database is
# dropped and made again.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${CARGO_TARGET_DIR:=target}"
export CARGO_TARGET_DIR
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
BENCH_ONLY=${BENCH_ONLY:-verify ingest dispense45 fleet1000}
# Ingest: agents x hotspot users each, all reporting every second (offered entries per second).
INGEST_AGENTS=${INGEST_AGENTS:-250}
INGEST_USERS=${INGEST_USERS:-100}
INGEST_S=${INGEST_S:-20}
# How long to wait after the window for every outbox to empty (a saturated server never does).
INGEST_DRAIN_S=${INGEST_DRAIN_S:-600}
# INGEST_DBS="sqlite" measures one database only.
INGEST_DBS=${INGEST_DBS:-sqlite postgres}
# Seconds each dispensing figure sells for.
SELL_S=${SELL_S:-30}
# Vouchers in the batch figure (at most 5,000, the server's bounds::MAX_BATCH).
BATCH=${BATCH:-5000}
FLEET=${FLEET:-1000}

# BENCH_PROFILE=dev runs the same steps on the debug build (a quick check of the script only:
# its figures are not the product's).
BENCH_PROFILE=${BENCH_PROFILE:-release}
# BENCH_BUILD=0 measures the binaries already built.
if [ "${BENCH_BUILD:-1}" != 0 ]; then
    cargo build --profile "$BENCH_PROFILE" --locked -p mtm-control-plane -p mtm-fleet --bins >&2
fi
case $BENCH_PROFILE in dev) BIN=$CARGO_TARGET_DIR/debug ;; *) BIN=$CARGO_TARGET_DIR/$BENCH_PROFILE ;; esac
# BENCH_BIN=DIR measures the binaries in DIR instead (e.g. a copy of an older build, for a
# before/after pair measured side by side).
BIN=${BENCH_BIN:-$BIN}
WORK=$(mktemp -d /tmp/mtm-bench.XXXXXX)
SERVER_PID=
ulimit -n 20000 2>/dev/null || true
export MTM_FLEET_ADMIN_PASSWORD=bench-pass-123

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

wants() { case " $BENCH_ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# start_server NAME DATABASE_URL: a fresh server; sets SERVER_PID and HTTP.
start_server() {
    local dir=$WORK/$1
    mkdir -p "$dir"
    cat >"$dir/server.toml" <<EOF
data_dir = "$dir"
database_url = "$2"
http_bind = "127.0.0.1:0"
[mqtt]
mode = "embedded"
bind = "127.0.0.1:0"
EOF
    printf '%s\n' "$MTM_FLEET_ADMIN_PASSWORD" | "$BIN/mtm-server" create-admin \
        --config "$dir/server.toml" --username root --password-stdin >/dev/null
    RUST_LOG=warn "$BIN/mtm-server" serve --config "$dir/server.toml" >"$dir/stdout" 2>"$dir/stderr" &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        HTTP=$(sed -n 's/^http on //p' "$dir/stdout" | head -n1)
        [ -n "$HTTP" ] && break
        sleep 0.1
    done
    [ -n "$HTTP" ] || { cat "$dir/stderr" >&2; echo "server did not start" >&2; exit 1; }
    HTTP=${HTTP%/}
    case $HTTP in http*) ;; *) HTTP=http://$HTTP ;; esac
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

fresh_pg() {
    psql "$BENCH_PG/postgres" -q -c "DROP DATABASE IF EXISTS mtm_bench" -c "CREATE DATABASE mtm_bench" >&2
}

fleet() { "$BIN/mtm-fleet" run --server "$HTTP" --server-pid "$SERVER_PID" "$@"; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $BENCH_PROFILE build, $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, $(rustc --version)"

if wants verify; then
    echo "## ed25519 verify, one core"
    "$BIN/mtm-fleet" verify-rate --seconds 3
fi

if wants ingest; then
    for db in $INGEST_DBS; do
        echo "## ingest on $db: $INGEST_AGENTS agents x $INGEST_USERS users, every 1 s, ${INGEST_S} s"
        if [ "$db" = sqlite ]; then url="sqlite://$WORK/ingest-$db/mtm.db"; else fresh_pg; url="$BENCH_PG/mtm_bench"; fi
        start_server "ingest-$db" "$url"
        fleet --agents "$INGEST_AGENTS" --extra-users "$INGEST_USERS" --usage-s 1 --health-s 60 \
            --inventory-s 3600 --login-chance 0 --warmup-s 5 --duration-s "$INGEST_S" \
            --drain-s "$INGEST_DRAIN_S" --enroll-parallel 16 || true
        stop_server
        echo "## raw insert of the same rows on $db: one row per INSERT, then a report's 100 per INSERT as ingest writes them"
        "$BIN/mtm-fleet" raw-insert --database-url "$url" --rows 200000 --batch 256
        "$BIN/mtm-fleet" raw-insert --database-url "$url" --rows 200000 --batch 300 --per-statement 100
    done
fi

if wants dispense45; then
    echo "## 45 agents reporting every 30 s: one clerk selling every 500 ms; then a batch of $BATCH"
    start_server dispense45 ""
    fleet --agents 45 --usage-s 30 --health-s 60 --staff 1 --sell-every-ms 500 --duration-s "$SELL_S" \
        --batch "$BATCH"
    stop_server
    echo "## 45 agents reporting every 30 s: 45 clerks each selling every 2 s"
    start_server dispense45x45 ""
    fleet --agents 45 --usage-s 30 --health-s 60 --staff 45 --sell-every-ms 2000 --duration-s "$SELL_S"
    stop_server
fi

if wants fleet1000; then
    echo "## $FLEET agents reporting every 30 s: one clerk every 500 ms; catalog; storm"
    start_server "fleet$FLEET" ""
    fleet --agents "$FLEET" --usage-s 30 --health-s 60 --staff 1 --sell-every-ms 500 \
        --duration-s "$SELL_S" --catalog-edit --storm --enroll-parallel 16
    stop_server
    echo "## $FLEET agents reporting every 30 s: 45 clerks each selling every 2 s"
    start_server "fleet$FLEET-45" ""
    fleet --agents "$FLEET" --usage-s 30 --health-s 60 --staff 45 --sell-every-ms 2000 \
        --duration-s "$SELL_S" --enroll-parallel 16
    stop_server
fi
