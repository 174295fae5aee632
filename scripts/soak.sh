#!/usr/bin/env bash
# The messy-day soak, long form (control-plane/tests/soak.rs; its bounded form runs in the test
# command with 5 sites and 80 s of selling).
#
#   scripts/soak.sh [SITES] [DAY_SECONDS] [SEED]
#
# Runs the clean day (SQLite, embedded broker) and the day with frauds (a private PostgreSQL
# cluster and a private Mosquitto, both started by the test) one after the other with the real
# server and real agents, SITES sites (at least 5) selling for DAY_SECONDS (at least 40) each,
# and prints the figures: faults injected by kind, vouchers, usage rows, shifts, alerts, and how
# long routers and ledger took to agree after the last fault. Every kind of fault strikes the
# first five sites and every seventh site after them. A minute here is half an hour of a real
# day (the silent threshold, 10 s, stands for 5 min), so from 300 s on the uplink outage lasts
# 60 s: half an hour. MTM_SOAK_DB=sqlite|postgres and MTM_SOAK_BROKER=embedded|mosquitto put
# both days on one backend. SEED replays a day exactly (the run prints the seed it used).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/mtm-target}"
# shellcheck source=scripts/lib/provision.sh
. scripts/lib/provision.sh
provision_tools cargo faketime mosquitto initdb pg_ctl

export MTM_SOAK_SITES="${1:-45}"
export MTM_SOAK_DAY_S="${2:-360}"
[ -n "${3:-}" ] && export MTM_SOAK_SEED="$3"

cargo build -p mtm-control-plane -p mtm-agent --bins
cargo test -p mtm-control-plane --test soak -- --nocapture --test-threads 1
