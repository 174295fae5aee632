#!/usr/bin/env bash
# The one test command (README "Run all tests", and what .ci/run calls).
# It prepares a fresh machine of this kind: Debian packages, the services the tests talk to,
# the third-party RouterOS clients (PyPI, npm), Rust targets; then runs format, lint and every
# test. Anything missing is installed or the script fails loudly: nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
die() { printf 'FATAL: %s\n' "$*" >&2; exit 1; }

export CARGO_TERM_COLOR=never
# Builds are shared between development and CI (see .cargo/config.toml).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/mtm-target}"

say "Debian packages"
need_pkgs=()
command -v chromium >/dev/null || need_pkgs+=(chromium)
command -v chromedriver >/dev/null || need_pkgs+=(chromium-driver)
command -v qemu-aarch64 >/dev/null || need_pkgs+=(qemu-user)
command -v arm-linux-gnueabihf-gcc >/dev/null || need_pkgs+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
command -v mosquitto >/dev/null || need_pkgs+=(mosquitto)
command -v node >/dev/null || need_pkgs+=(nodejs npm)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing: ${need_pkgs[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}"
fi

say "Services"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432 -q || die "PostgreSQL on 127.0.0.1:5432 is not reachable"
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break; sleep 1; done
(exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null || die "Mosquitto on 127.0.0.1:1883 is not reachable"

say "Third-party RouterOS clients (PyPI, npm)"
if [ -x routeros/tests/third_party/setup.sh ]; then
  routeros/tests/third_party/setup.sh
fi

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
