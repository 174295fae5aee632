#!/usr/bin/env bash
# The one test command (README "Run all tests", and what .ci/run calls).
# It prepares a fresh machine of this kind: Debian packages, the services the tests talk to,
# the third-party RouterOS clients (PyPI, npm), Rust targets; then runs format, lint and every
# test. Anything missing is installed or the script fails loudly: nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

export CARGO_TERM_COLOR=never
# Builds are shared between development and CI (see .cargo/config.toml).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/mtm-target}"

# shellcheck source=scripts/lib/provision.sh
. scripts/lib/provision.sh

say "Where each tool and service comes from on a fresh machine (scripts/fresh-check.sh)"
scripts/fresh-check.sh

say "Tools (scripts/tools.txt)"
provision_tools cargo rustup python3 node npm pg_isready pg_ctlcluster initdb pg_ctl \
  mosquitto mosquitto-dynsec faketime chromium chromedriver

say "Services"
ensure_service postgresql
ensure_service mosquitto

say "Third-party RouterOS clients (PyPI, npm)"
routeros/tests/third_party/setup.sh

say "Rust targets for the agent's cross builds"
rustup target add aarch64-unknown-linux-musl x86_64-unknown-linux-musl armv7-unknown-linux-gnueabihf >/dev/null

say "Router scripts, Raspberry Pi kit, deploy files"
firmware-config/check.sh

say "Format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

say "Build binaries used by end-to-end tests"
cargo build --workspace --bins
# The field-operations proof updates the agent to a second, really different build: the same
# source stamped with another version, in its own target dir (tests/support next_agent_bin).
MTM_AGENT_VERSION=0.1.1 cargo build -p mtm-agent --bin mtm-agent --target-dir "$CARGO_TARGET_DIR/agent-next"

say "Tests"
cargo test --workspace --no-fail-fast 2>&1 | tee /var/tmp/mtm-test.log

say "Static agent builds for the devices, run under qemu-user against the simulator"
scripts/qemu-smoke.sh

say "Container images: build, inspect and run them (buildah, docker)"
scripts/image-smoke.sh
