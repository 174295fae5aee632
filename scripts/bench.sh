#!/usr/bin/env bash
# The control plane measured with a fleet of simulated agents (docs/benchmarks.md, "Control
# plane at scale"). One command:
#
#   scripts/bench.sh            # every figure (about 15 minutes on 2 cores, after the build, and
#                               # up to INGEST_DRAIN_S more for each ingest run that never drains)
#   BENCH_ONLY="ingest" scripts/bench.sh    # some of: verify ingest replicas dispense45 fleet1000
#   INGEST_S=60 FLEET=10000 scripts/bench.sh   # the issue's full lengths and sizes
#   FLEET=10000 FLEET_BROKER=mosquitto BENCH_ONLY=fleet1000 scripts/bench.sh   # where the
#                               # open-file limit is below 3 per agent (see fleet1000 below)
#   FLEET_DB=postgres BENCH_ONLY=fleet1000 scripts/bench.sh   # the fleet's server on PostgreSQL
#
# Builds release binaries, then for each figure starts a fresh `mtm-server` (embedded broker,
# SQLite in a temp dir, or a fresh `mtm_bench` database on the PostgreSQL at $BENCH_PG) and
# drives it with `mtm-fleet run`, which enrolls every agent through the API and prints one JSON
# object of figures. The PostgreSQL server itself is never stopped; only the bench database is
# dropped and made again. `replicas` runs the ingest load on PostgreSQL through a private
# Mosquitto (Dynamic Security, a free loopback port, never the machine's shared broker) against
# one server, then against two sharing it (`$share/mtm/...`), and prints each replica's CPU and
# memory beside the fleet's figures.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${CARGO_TARGET_DIR:=target}"
export CARGO_TARGET_DIR
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
BENCH_ONLY=${BENCH_ONLY:-verify ingest replicas dispense45 fleet1000}
# Ingest: agents x hotspot users each, all reporting every second (offered entries per second).
INGEST_AGENTS=${INGEST_AGENTS:-250}
INGEST_USERS=${INGEST_USERS:-100}
INGEST_S=${INGEST_S:-20}
# INGEST_VOUCHERS=N: before the window a clerk at every location sells N vouchers, all in use on
# the router, so each report also moves vouchers mtm issued (their counters, state and ledger)
# rather than only users made on the router (INGEST_USERS of them besides).
INGEST_VOUCHERS=${INGEST_VOUCHERS:-0}
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
# The second replica and the private Mosquitto of the `replicas` step.
REPLICA_PID=
BROKER_PID=
# Each agent costs the fleet one socket and the server up to three (its connection, and the
# embedded broker's filter relaying it): 10,000 agents need more than the usual 1,024 or 20,000.
# 65,536 as in deploy/systemd/mtm-server.service; as much as the hard limit allows otherwise.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export MTM_FLEET_ADMIN_PASSWORD=bench-pass-123

cleanup() {
    local pid
    for pid in "$SERVER_PID" "$REPLICA_PID" "$BROKER_PID"; do
        if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    done
    # BENCH_KEEP_LOGS=DIR keeps each server's log (its stderr), e.g. with
    # BENCH_LOG=warn,mtm_control_plane::broker=debug to see why the broker ended connections.
    if [ -n "${BENCH_KEEP_LOGS:-}" ]; then
        mkdir -p "$BENCH_KEEP_LOGS"
        for log in "$WORK"/*/stderr; do
            [ -f "$log" ] && cp "$log" "$BENCH_KEEP_LOGS/$(basename "$(dirname "$log")").log"
        done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

wants() { case " $BENCH_ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# The [mqtt] table start_server writes unless given another.
EMBEDDED_MQTT='[mqtt]
mode = "embedded"
bind = "127.0.0.1:0"'

# write_server NAME DATABASE_URL [MQTT]: NAME's data folder and server.toml, with MQTT (top-level
# keys, then the [mqtt] table; the embedded broker if not given).
write_server() {
    local dir=$WORK/$1
    mkdir -p "$dir"
    cat >"$dir/server.toml" <<EOF
data_dir = "$dir"
database_url = "$2"
http_bind = "127.0.0.1:0"
${3:-$EMBEDDED_MQTT}
EOF
}

# serve NAME: `mtm-server serve` on NAME's server.toml; sets SERVER_PID and HTTP.
serve() {
    local dir=$WORK/$1
    # Made here, so the polling below never races the shell opening it for the server.
    : >"$dir/stdout"
    RUST_LOG=${BENCH_LOG:-warn} "$BIN/mtm-server" serve --config "$dir/server.toml" >"$dir/stdout" 2>"$dir/stderr" &
    SERVER_PID=$!
    HTTP=
    for _ in $(seq 1 300); do
        HTTP=$(sed -n 's/^http on //p' "$dir/stdout" | head -n1)
        [ -n "$HTTP" ] && break
        sleep 0.1
    done
    [ -n "$HTTP" ] || { cat "$dir/stderr" >&2; echo "server did not start" >&2; exit 1; }
    HTTP=${HTTP%/}
    case $HTTP in http*) ;; *) HTTP=http://$HTTP ;; esac
}

# start_server NAME DATABASE_URL [MQTT]: a fresh server with the fleet's admin account; sets
# SERVER_PID and HTTP.
start_server() {
    write_server "$@"
    printf '%s\n' "$MTM_FLEET_ADMIN_PASSWORD" | "$BIN/mtm-server" create-admin \
        --config "$WORK/$1/server.toml" --username root --password-stdin >/dev/null
    serve "$1"
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

# The ingest load: every agent reporting its hotspot users every second (`|| true`: a saturated
# server never drains the outboxes, and the fleet says so after printing its figures).
ingest_fleet() {
    local login=0
    [ "$INGEST_VOUCHERS" = 0 ] || login=1
    fleet --agents "$INGEST_AGENTS" --extra-users "$INGEST_USERS" --usage-s 1 --health-s 60 \
        --inventory-s 3600 --login-chance "$login" --vouchers-each "$INGEST_VOUCHERS" --warmup-s 5 --duration-s "$INGEST_S" \
        --drain-s "$INGEST_DRAIN_S" --enroll-parallel 16 || true
}

# A loopback port free now: the kernel's pick for port 0 (a port merely not listening may still
# be held by a connection's local end, and then the broker cannot bind it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_broker NAME: a private Mosquitto with Dynamic Security on a free loopback port, its admin
# the servers' MQTT account `mtm-server`; sets BROKER_PID, BROKER_PORT and BROKER_PASSWORD. Never
# the machine's shared broker: other replicas there would take this run's messages from the
# shared subscription.
start_broker() {
    local dir=$WORK/$1 plugin='' p
    mkdir -p "$dir"
    for p in /usr/lib/*-linux-gnu/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so \
        /usr/local/lib/mosquitto_dynamic_security.so; do
        if [ -e "$p" ]; then plugin=$p; break; fi
    done
    [ -n "$plugin" ] || { echo "mosquitto_dynamic_security.so not found: install mosquitto" >&2; exit 1; }
    BROKER_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    PATH=$PATH:/usr/sbin:/usr/local/sbin mosquitto_ctrl dynsec init "$dir/dynamic-security.json" \
        mtm-server "$BROKER_PASSWORD" >/dev/null
    BROKER_PORT=$(free_port)
    # `user root` keeps a broker started by root from dropping to `mosquitto`, which could not
    # write the dynsec file in this folder; in-flight and TCP_NODELAY as
    # deploy/mosquitto/mosquitto.conf sets them.
    cat >"$dir/mosquitto.conf" <<EOF
user root
set_tcp_nodelay true
listener $BROKER_PORT 127.0.0.1
allow_anonymous false
plugin $plugin
plugin_opt_config_file $dir/dynamic-security.json
persistence false
max_queued_messages 100000
max_inflight_messages 1000
log_dest stderr
log_type error
EOF
    PATH=$PATH:/usr/sbin:/usr/local/sbin mosquitto -c "$dir/mosquitto.conf" >/dev/null 2>"$dir/stderr" &
    BROKER_PID=$!
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$BROKER_PORT") 2>/dev/null && return
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$dir/stderr" >&2
    echo "mosquitto did not start on port $BROKER_PORT" >&2
    exit 1
}

stop_broker() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
}

# replica_mqtt ID: the MQTT settings of replica ID on the private broker (dynsec, and its own
# client id for a persistent session, as docs/deploy.md "Several replicas" sets them).
replica_mqtt() {
    cat <<EOF
mqtt_dynsec = true
mqtt_client_id = "mtm-replica-$1"
[mqtt]
mode = "external"
host = "127.0.0.1"
port = $BROKER_PORT
username = "mtm-server"
password = "$BROKER_PASSWORD"
EOF
}

# cpu_s PID: the CPU seconds (user + system) PID has used so far.
cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# replica_usage ID PID CPU_BEFORE STARTED: PID's CPU since CPU_BEFORE (seconds, and as a share of
# one core over the time since STARTED, an epoch time) and its resident memory now, as JSON.
replica_usage() {
    local cpu now rss
    if ! cpu=$(cpu_s "$2" 2>/dev/null); then echo "{\"replica\":\"$1\",\"gone\":true}"; return; fi
    now=$(date +%s.%N)
    rss=$(ps -o rss= -p "$2" | tr -d ' ')
    awk -v id="$1" -v c0="$3" -v c1="$cpu" -v t0="$4" -v t1="$now" -v rss="$rss" 'BEGIN {
        printf "{\"replica\":\"%s\",\"cpu_s\":%.1f,\"cpu_percent_over_fleet_run\":%.1f,\"fleet_run_s\":%.1f,\"rss_mib\":%.0f}\n",
            id, c1 - c0, 100 * (c1 - c0) / (t1 - t0), t1 - t0, rss / 1024 }'
}

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
        ingest_fleet
        stop_server
        echo "## raw insert of the same rows on $db: one row per INSERT, then a report's 100 per INSERT as ingest writes them"
        "$BIN/mtm-fleet" raw-insert --database-url "$url" --rows 200000 --batch 256
        "$BIN/mtm-fleet" raw-insert --database-url "$url" --rows 200000 --batch 300 --per-statement 100
    done
fi

if wants replicas; then
    # The ingest load on PostgreSQL through a private Mosquitto: one server, then two sharing the
    # broker's `$share/mtm/...` subscription and the database. The fleet enrolls through the first
    # (its `server_cpu_percent` and `server_rss_mib` are that replica's over the window); each
    # replica's CPU over the whole fleet run (enrollment, warm-up, window, drain) follows it.
    url="$BENCH_PG/mtm_bench"
    for n in 1 2; do
        echo "## ingest on postgres through Mosquitto with dynsec, $n replica(s): $INGEST_AGENTS agents x $INGEST_USERS users, every 1 s, ${INGEST_S} s"
        fresh_pg
        start_broker "broker$n"
        start_server "replicas$n-a" "$url" "$(replica_mqtt a)"
        if [ "$n" = 2 ]; then
            # Replicas share the control-plane key and the JWT secret (docs/deploy.md).
            write_server replicas2-b "$url" "$(replica_mqtt b)"
            cp "$WORK/replicas2-a/cp.key" "$WORK/replicas2-a/jwt.secret" "$WORK/replicas2-b/"
            a_http=$HTTP
            REPLICA_PID=$SERVER_PID
            SERVER_PID=
            serve replicas2-b
            # The fleet's server is the first replica; REPLICA_PID is the second.
            b_pid=$SERVER_PID
            SERVER_PID=$REPLICA_PID
            REPLICA_PID=$b_pid
            HTTP=$a_http
        fi
        started=$(date +%s.%N)
        a_cpu=$(cpu_s "$SERVER_PID")
        if [ -n "$REPLICA_PID" ]; then b_cpu=$(cpu_s "$REPLICA_PID"); fi
        ingest_fleet
        replica_usage a "$SERVER_PID" "$a_cpu" "$started"
        if [ -n "$REPLICA_PID" ]; then
            replica_usage b "$REPLICA_PID" "$b_cpu" "$started"
            kill "$REPLICA_PID" 2>/dev/null || true
            wait "$REPLICA_PID" 2>/dev/null || true
            REPLICA_PID=
        fi
        stop_server
        stop_broker
    done
    echo "## raw insert of the same rows on postgres: one row per INSERT, then a report's 100 per INSERT as ingest writes them"
    "$BIN/mtm-fleet" raw-insert --database-url "$url" --rows 200000 --batch 256
    "$BIN/mtm-fleet" raw-insert --database-url "$url" --rows 200000 --batch 300 --per-statement 100
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
    # FLEET_BROKER=mosquitto puts the agents on a private Mosquitto (the server keeps one MQTT
    # connection) instead of the embedded broker, whose login filter holds about three sockets
    # per agent in the server: 10,000 agents need it where the open-file limit is 20,000.
    # fleet_mqtt NAME: the private broker started if asked for; sets MQTT (empty: embedded).
    fleet_mqtt() {
        MQTT=
        if [ "${FLEET_BROKER:-embedded}" = mosquitto ]; then
            start_broker "broker-$1"
            MQTT=$(replica_mqtt a)
        fi
    }
    # FLEET_DB=postgres keeps the fleet's server on a fresh `mtm_bench` database at $BENCH_PG
    # instead of SQLite in its data folder; fleet_db sets DB_URL (empty: SQLite).
    fleet_db() {
        DB_URL=
        if [ "${FLEET_DB:-sqlite}" = postgres ]; then fresh_pg; DB_URL=$BENCH_PG/mtm_bench; fi
    }
    echo "## $FLEET agents reporting every 30 s (${FLEET_BROKER:-embedded} broker, ${FLEET_DB:-sqlite}): one clerk every 500 ms; catalog; storm"
    fleet_mqtt "$FLEET"
    fleet_db
    start_server "fleet$FLEET" "$DB_URL" "$MQTT"
    fleet --agents "$FLEET" --usage-s 30 --health-s 60 --staff 1 --sell-every-ms 500 \
        --duration-s "$SELL_S" --catalog-edit --storm --enroll-parallel 16
    stop_server
    stop_broker
    echo "## $FLEET agents reporting every 30 s (${FLEET_BROKER:-embedded} broker, ${FLEET_DB:-sqlite}): 45 clerks each selling every 2 s"
    fleet_mqtt "$FLEET-45"
    fleet_db
    start_server "fleet$FLEET-45" "$DB_URL" "$MQTT"
    fleet --agents "$FLEET" --usage-s 30 --health-s 60 --staff 45 --sell-every-ms 2000 \
        --duration-s "$SELL_S" --enroll-parallel 16
    stop_server
    stop_broker
fi
