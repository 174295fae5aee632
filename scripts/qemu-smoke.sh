#!/usr/bin/env bash
# Runs the static aarch64 and armv7 builds under Debian's qemu-user.
#
#   scripts/qemu-smoke.sh [--sim] [--no-build]
#
# Default: for each of arm64 (qemu-aarch64) and arm/v7 (qemu-arm), `mtm-agent --help` and
# `--version` must succeed and name the program, then `mtm-agent check --config FILE` must pass
# against a routeros-sim running natively on 127.0.0.1 and a private Mosquitto on a free port,
# and must fail with a wrong router password.
# `--sim`: instead run the cross-built routeros-sim under qemu (`--help`, then a real API login
# and print over loopback): the toolchain proof used before the agent existed.
# `--no-build`: use the binaries already in the dist dir.
# Binaries come from scripts/cross-build.sh (dist dir $MTM_CROSS_TARGET_DIR/dist).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'qemu-smoke: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf '== %s\n' "$*"; }

bin=mtm-agent
build=1
sim_flag=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sim) bin=routeros-sim; sim_flag=(--sim) ;;
    --no-build) build=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done

target_dir="${MTM_CROSS_TARGET_DIR:-/var/tmp/mtm-target-cross}"
dist="$target_dir/dist"
# shellcheck source=scripts/lib/provision.sh
. scripts/lib/provision.sh
provision_tools qemu-aarch64 qemu-arm mosquitto python3

if [ "$build" = 1 ]; then
  scripts/cross-build.sh "${sim_flag[@]}" aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Wait until FILE contains a line matching REGEX (at most 30 s); print the first match.
await_line() {
  local file="$1" regex="$2" _
  for _ in $(seq 1 300); do
    if grep -Eo "$regex" "$file" 2>/dev/null | head -n1 | grep .; then return 0; fi
    sleep 0.1
  done
  return 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Native simulator and broker for `check`, started once for both architectures.
start_services() {
  local sim="${MTM_SIM_BIN:-}"
  if [ -z "$sim" ]; then
    if [ "$build" = 1 ] || [ ! -x "$dist/amd64/routeros-sim" ]; then
      scripts/cross-build.sh --sim x86_64-unknown-linux-musl >/dev/null
    fi
    sim="$dist/amd64/routeros-sim"
  fi
  "$sim" --listen 127.0.0.1:0 --login api:pass >"$work/sim.log" 2>&1 &
  pids+=($!)
  router_addr="$(await_line "$work/sim.log" 'listening on [0-9.]+:[0-9]+' | awk '{print $3}')" \
    || die "routeros-sim did not print 'listening on ADDR': $(cat "$work/sim.log")"
  say "routeros-sim listening on $router_addr"

  mqtt_port="$(free_port)"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" >"$work/mosquitto.conf"
  mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
  pids+=($!)
  local _
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null || die "private mosquitto did not start: $(cat "$work/mosquitto.log")"
  say "mosquitto listening on 127.0.0.1:$mqtt_port"
}

# Agent config for `check`. The control-plane key is RFC 8032's first test public key: any valid
# ed25519 point will do, `check` only pins it.
write_config() {
  local file="$1" arch="$2" password="$3"
  cat >"$file" <<EOF
agent_id = "qemu-smoke-${arch//\//-}"
data_dir = "$work/data-${arch//\//-}"
control_plane_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

[mqtt]
host = "127.0.0.1"
port = $mqtt_port

[router]
addr = "$router_addr"
username = "api"
password = "$password"
EOF
}

if [ "$bin" = mtm-agent ]; then
  start_services
fi

# Log in to a RouterOS API server at ADDR as api:pass and print the router's version.
api_probe() {
  python3 - "$1" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=20)
def enc(w):
    b = w.encode()
    n = len(b)
    return (bytes([n]) if n < 0x80 else (n | 0x8000).to_bytes(2, "big")) + b
def send(*words):
    s.sendall(b"".join(enc(w) for w in words) + b"\0")
buf = b""
def read_word():
    global buf
    def need(k):
        global buf
        while len(buf) < k:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("connection closed")
            buf += chunk
    need(1)
    n = buf[0]
    if n >= 0x80:
        need(2)
        n, hdr = int.from_bytes(buf[:2], "big") & 0x3FFF, 2
    else:
        hdr = 1
    need(hdr + n)
    w, buf = buf[hdr:hdr + n].decode(), buf[hdr + n:]
    return w
def sentences():
    while True:
        words = []
        while (w := read_word()) != "":
            words.append(w)
        yield words
replies = sentences()
send("/login", "=name=api", "=password=pass")
r = next(replies)
if r[0] != "!done":
    sys.exit(f"login refused: {r}")
send("/system/resource/print")
r = next(replies)
if r[0] != "!re":
    sys.exit(f"no resource row: {r}")
print(next(w for w in r if w.startswith("=version=")))
PY
}

for arch in arm64 arm/v7; do
  case "$arch" in arm64) qemu="qemu-aarch64" ;; arm/v7) qemu="qemu-arm" ;; esac
  exe="$dist/$arch/$bin"
  [ -x "$exe" ] || die "$exe missing (run scripts/cross-build.sh ${sim_flag[*]})"
  say "$bin ($arch) under $qemu"
  out="$("$qemu" "$exe" --help 2>&1)" || die "$arch: --help failed: $out"
  grep -qi 'usage' <<<"$out" || die "$arch: --help shows no usage: '$out'"
  echo "   --help: ok"

  if [ "$bin" = routeros-sim ]; then
    # routeros-sim's --version takes the RouterOS version to emulate, so it is not probed here;
    # instead the emulated binary serves a real API login over loopback.
    log="$work/sim-${arch//\//-}.log"
    "$qemu" "$exe" --listen 127.0.0.1:0 --login api:pass >"$log" 2>&1 &
    pids+=($!)
    addr="$(await_line "$log" 'listening on [0-9.]+:[0-9]+' | awk '{print $3}')" \
      || die "$arch: routeros-sim did not start: $(cat "$log")"
    out="$(api_probe "$addr")" || die "$arch: API login to routeros-sim failed: $out"
    echo "   API login and /system/resource/print: $out"
    continue
  fi

  out="$("$qemu" "$exe" --version 2>&1)" || die "$arch: --version failed: $out"
  grep -q "$bin" <<<"$out" || die "$arch: --version does not name $bin: '$out'"
  echo "   --version: $out"
  write_config "$work/good.toml" "$arch" pass
  if ! out="$(timeout 120 "$qemu" "$exe" check --config "$work/good.toml" 2>&1)"; then
    die "$arch: check against the simulator failed: $out"
  fi
  grep -q '^router: ok' <<<"$out" || die "$arch: check did not report the router login: $out"
  grep -q '^broker: ok' <<<"$out" || die "$arch: check did not report the broker: $out"
  echo "   check (good credentials): $(grep '^router: ok' <<<"$out")"
  write_config "$work/bad.toml" "$arch" wrong-password
  if out="$(timeout 120 "$qemu" "$exe" check --config "$work/bad.toml" 2>&1)"; then
    die "$arch: check passed with a wrong router password: $out"
  fi
  grep -q '^router: FAILED' <<<"$out" || die "$arch: check failed, but not on the router login: $out"
  echo "   check (wrong router password): refused, as it should be"
done

if [ "$bin" = mtm-agent ]; then
  # The RouterOS container contract: the image's base config (deploy/agent-container.toml) plus the
  # env list firmware-config/container.rsc sets, plus the identity enrollment provides, must be a
  # config the real agent accepts and works with. Test-only overrides: the router and data dir.
  say "container config (agent-container.toml + container.rsc env list) under qemu-aarch64"
  base=deploy/agent-container.toml
  [ -s "$base" ] || die "no base agent config in $base"
  env_args=()
  while IFS=$'\t' read -r k v; do
    v="${v//\{\{api_user\}\}/api}"
    v="${v//\{\{api_password\}\}/pass}"
    env_args+=("$k=$v")
  done < <(sed -n 's/^\/container\/envs\/add name="mtm-agent" key="\([A-Z_]*\)" value="\(.*\)"$/\1\t\2/p' firmware-config/container.rsc)
  [ ${#env_args[@]} -ge 4 ] || die "container.rsc's env list not found"
  env_args+=(
    "MTM_ROUTER_ADDR=$router_addr" "MTM_DATA_DIR=$work/data-container"
    "MTM_AGENT_ID=qemu-container" "MTM_CONTROL_PLANE_KEY=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    "MTM_MQTT_HOST=127.0.0.1" "MTM_MQTT_PORT=$mqtt_port"
  )
  out="$(env -i "${env_args[@]}" timeout 120 qemu-aarch64 "$dist/arm64/mtm-agent" check --config "$base" 2>&1)" \
    || die "container config: check failed: $out"
  grep -q '^router: ok' <<<"$out" || die "container config: no router login: $out"
  echo "   $(grep '^router: ok' <<<"$out")"
fi
say "qemu smoke passed ($bin: arm64, arm/v7)"
