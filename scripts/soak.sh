#!/usr/bin/env bash
# The messy-day soak, long form (control-plane/tests/soak.rs; its bounded form runs in the test
# command with 5 sites and 80 s of selling).
#
#   scripts/soak.sh [SITES] [DAY_SECONDS] [SEED]
#
# Runs the clean day and the day with frauds with the real server (SQLite, embedded broker) and
# real agents, SITES sites (at least 5) selling for DAY_SECONDS (at least 40) each, and prints
# the figures: vouchers, usage rows, shifts, alerts, and how long routers and ledger took to agree
# after the last fault. SEED replays a day exactly (the run prints the seed it used).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/mtm-target}"
# shellcheck source=scripts/lib/provision.sh
. scripts/lib/provision.sh
provision_tools cargo faketime

export MTM_SOAK_SITES="${1:-10}"
export MTM_SOAK_DAY_S="${2:-600}"
[ -n "${3:-}" ] && export MTM_SOAK_SEED="$3"

cargo build -p mtm-control-plane -p mtm-agent --bins
cargo test -p mtm-control-plane --test soak -- --nocapture --test-threads 1
