#!/usr/bin/env bash
# Static cross builds of mtm-agent for the field devices, and of
# mtm-server for its container image.
#
#   scripts/cross-build.sh [--sim | --server] [--out DIR] [TARGET...]
#
# TARGET defaults to all three: aarch64-unknown-linux-musl (64-bit Pi OS, RouterOS arm64
# containers), armv7-unknown-linux-gnueabihf (older Pis, RouterOS arm containers; glibc with a
# static C runtime because the armv7 musl std cannot be fetched here) and x86_64-unknown-linux-musl
# (RouterOS x86 / CHR containers, PCs). `--sim` builds routeros-sim instead of the agent: same heavy
# dependencies (tokio, rustls/ring), used to prove the toolchain before the agent existed.
# `--server` builds mtm-server (release profile, symbols stripped, without the `demo` feature, so
# it links neither the agent, redb nor the router simulator) instead; TARGET defaults to
# x86_64-unknown-linux-musl, aarch64-unknown-linux-musl also works. sqlx's bundled SQLite and ring
# are compiled by the same C compilers as the agent's ring.
#
# Builds go to their own target dir (MTM_CROSS_TARGET_DIR, default /var/tmp/mtm-target-cross) so a
# long LTO build never holds the lock on the shared dev target dir. Each result must be statically
# linked (checked with `file`); it is copied to OUT/<TARGETARCH>[/<variant>]/<bin> (the layout that
# deploy/Containerfile.agent expects) and its stripped size is printed.
# OUT is also the image build context (docs/deploy.md, scripts/image-smoke.sh): every run puts the
# host's CA bundle, the agent image's base config, the server image's empty writable directories
# and the Containerfiles next to the binaries, so the images need no base image and no registry.
# Linkers per target are in .cargo/config.toml; the C compilers for ring are set here.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'cross-build: %s\n' "$*" >&2; exit 1; }

all_targets=(aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf x86_64-unknown-linux-musl)
package=mtm-agent
bin=mtm-agent
profile=agent
features=()
target_dir="${MTM_CROSS_TARGET_DIR:-/var/tmp/mtm-target-cross}"
out=""
targets=()

while [ $# -gt 0 ]; do
  case "$1" in
    --sim) package=mtm-routeros; bin=routeros-sim ;;
    --server) package=mtm-control-plane; bin=mtm-server; profile=release; features=(--no-default-features) ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) targets+=("$1") ;;
  esac
  shift
done
if [ ${#targets[@]} -eq 0 ]; then
  if [ "$bin" = mtm-server ]; then targets=(x86_64-unknown-linux-musl); else targets=("${all_targets[@]}"); fi
fi
if [ "$bin" = mtm-server ]; then
  for t in "${targets[@]}"; do
    case "$t" in
      x86_64-unknown-linux-musl|aarch64-unknown-linux-musl) ;;
      *) die "--server supports x86_64-unknown-linux-musl and aarch64-unknown-linux-musl, not $t" ;;
    esac
  done
  # The release profile keeps symbols for the dev builds' backtraces; the image wants them out.
  # Set here, not in Cargo.toml, so it only applies in this script's own target dir.
  export CARGO_PROFILE_RELEASE_STRIP=symbols
fi
out="${out:-$target_dir/dist}"

# Debian packages: cross compilers for ring's C/asm, musl-gcc, `file` for the static check
# (scripts/tools.txt).
# shellcheck source=scripts/lib/provision.sh
. scripts/lib/provision.sh
need=(file ca-certificates)
for t in "${targets[@]}"; do
  case "$t" in
    x86_64-unknown-linux-musl) need+=(musl-gcc) ;;
    aarch64-unknown-linux-musl) need+=(aarch64-linux-gnu-gcc) ;;
    armv7-unknown-linux-gnueabihf) need+=(arm-linux-gnueabihf-gcc armhf-libc) ;;
    *) die "unsupported target $t (supported: ${all_targets[*]})" ;;
  esac
done
provision_tools "${need[@]}"
rustup target add "${targets[@]}" >/dev/null

# Container platform directory for a target (TARGETARCH[/TARGETVARIANT] in buildx terms).
platform_dir() {
  case "$1" in
    x86_64-*) echo amd64 ;;
    aarch64-*) echo arm64 ;;
    armv7-*) echo arm/v7 ;;
  esac
}

export CARGO_TERM_COLOR=never
summary=()
for t in "${targets[@]}"; do
  case "$t" in
    x86_64-unknown-linux-musl) cc="musl-gcc"; ar="ar" ;;
    aarch64-unknown-linux-musl) cc=aarch64-linux-gnu-gcc; ar=aarch64-linux-gnu-ar ;;
    armv7-unknown-linux-gnueabihf) cc=arm-linux-gnueabihf-gcc; ar=arm-linux-gnueabihf-ar ;;
  esac
  tu="${t//-/_}"
  echo "== $package ($bin) for $t (CC=$cc)"
  env "CC_$tu=$cc" "AR_$tu=$ar" CARGO_TARGET_DIR="$target_dir" \
    cargo build --locked --profile "$profile" -p "$package" --bin "$bin" --target "$t" "${features[@]}"

  exe="$target_dir/$t/$profile/$bin"
  [ -x "$exe" ] || die "$exe was not produced"
  desc="$(file -b "$exe")"
  case "$desc" in
    *"statically linked"*|*"static-pie linked"*) ;;
    *) die "$exe is not statically linked: $desc" ;;
  esac
  case "$desc" in
    *", stripped"*) ;;
    *) die "$exe is not stripped (profile $profile should strip it): $desc" ;;
  esac
  dest="$out/$(platform_dir "$t")"
  mkdir -p "$dest"
  cp "$exe" "$dest/$bin"
  size=$(stat -c %s "$exe")
  summary+=("$(printf '%-32s %10d bytes  %6.2f MiB  %s' "$t" "$size" "$(awk -v s="$size" 'BEGIN { print s / 1048576 }')" "$dest/$bin")")
done

# The rest of the image build context (see the header). Modes are set here because the builders
# copy them from the context (`COPY server-rootfs/ /` keeps /tmp's 1777; the data dir's owner is
# set by COPY --chown).
rm -rf "$out/server-rootfs" "$out/server-data"
mkdir -p "$out/server-rootfs/tmp" "$out/server-data"
chmod 0755 "$out" "$out/server-rootfs" "$out/server-data"
chmod 1777 "$out/server-rootfs/tmp"
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$out/ca-certificates.crt"
install -m 0644 deploy/agent-container.toml "$out/agent-container.toml"
# Copies of the Containerfiles, so the directory alone is a complete context (deploy/compose.yaml).
install -m 0644 deploy/Containerfile.agent deploy/Containerfile.server "$out/"

echo
echo "== stripped sizes ($bin, profile $profile)"
printf '%s\n' "${summary[@]}"
