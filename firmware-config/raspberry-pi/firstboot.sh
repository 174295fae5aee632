#!/usr/bin/env bash
# First-boot installer for mtm-agent on Raspberry Pi OS (see README.md next to this file).
#
#   sudo bash /boot/firmware/mtm/firstboot.sh
#
# Reads the `mtm/` folder on the boot partition (/boot/firmware on Bookworm, /boot before):
#   mtm-agent-arm64 / mtm-agent-armv7 (or just mtm-agent)  the static agent binary
#   agent.toml        the agent's config (router address and API account, broker, ...)
#   enroll.env        optional: MTM_ENROLL_SERVER=https://... and MTM_ENROLL_CODE=...
#   mtm-agent.service the systemd unit
# and installs the binary to /usr/local/bin, the config to /etc/mtm-agent/agent.toml (root:mtm-agent
# 0640), the unit, a system user `mtm-agent`, enrolls the agent when enroll.env is there and the
# binary has the `enroll` subcommand, and enables the service.
#
# Idempotent: run it again at any time. The binary is reinstalled only when the boot-partition
# copy changed since the last install (so a signed self-update, which replaces the service's
# copy under /var/lib/mtm-agent/bin, is not reverted by the old file);
# a config or enrollment code is removed from the FAT boot partition once installed/used, because
# anyone holding the SD card could read it there.
# Environment: MTM_BOOT_DIR overrides the folder (also used by tests); MTM_ROOT prefixes every
# installed path and skips systemctl/useradd/chown (dry runs and tests only).
set -euo pipefail

log() { printf 'mtm-firstboot: %s\n' "$*"; }
die() { printf 'mtm-firstboot: ERROR: %s\n' "$*" >&2; exit 1; }

root="${MTM_ROOT:-}"
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo bash $0)"
fi

boot_dir="${MTM_BOOT_DIR:-}"
if [ -z "$boot_dir" ]; then
  for d in /boot/firmware/mtm /boot/mtm; do
    if [ -d "$d" ]; then boot_dir="$d"; break; fi
  done
fi
{ [ -n "$boot_dir" ] && [ -d "$boot_dir" ]; } || die "no mtm/ folder on the boot partition (/boot/firmware/mtm or /boot/mtm)"

bin_dst="$root/usr/local/bin/mtm-agent"
conf_dir="$root/etc/mtm-agent"
conf_dst="$conf_dir/agent.toml"
unit_dst="$root/etc/systemd/system/mtm-agent.service"
doc_dst="$root/usr/local/share/doc/mtm-agent"
state_dir="$root/var/lib/mtm-agent"
marker_dir="$root/var/lib/mtm-firstboot"

# Run a command only on a real install (not under MTM_ROOT).
real() { if [ -z "$root" ]; then "$@"; else log "(dry run) $*"; fi; }

# 1. The binary for this CPU. armv6 boards (Pi 1, Zero 1) cannot run the armv7 build.
case "$(uname -m)" in
  aarch64|arm64) arch=arm64 ;;
  armv7l|armv8l) arch=armv7 ;;
  x86_64) arch=amd64 ;;
  *) die "unsupported CPU $(uname -m): use a Pi 2 or newer (armv7/arm64)" ;;
esac
src=""
for f in "$boot_dir/mtm-agent-$arch" "$boot_dir/mtm-agent"; do
  if [ -f "$f" ]; then src="$f"; break; fi
done

mkdir -p "$marker_dir"
if [ -n "$src" ]; then
  sum="$(sha256sum "$src" | cut -d' ' -f1)"
  if [ ! -x "$bin_dst" ] || [ "$(cat "$marker_dir/binary.sha256" 2>/dev/null || true)" != "$sum" ]; then
    tmp="$(mktemp)"
    cp "$src" "$tmp"
    chmod 0755 "$tmp"
    if [ -z "$root" ]; then
      "$tmp" --version >/dev/null 2>&1 || { rm -f "$tmp"; die "$src does not run on this $(uname -m) board"; }
    fi
    mkdir -p "$(dirname "$bin_dst")"
    mv -f "$tmp" "$bin_dst"
    printf '%s\n' "$sum" >"$marker_dir/binary.sha256"
    # The service runs a copy in the state directory (self-updates replace it); a binary the
    # technician brings wins, so drop that copy and the unit seeds it again from this one.
    rm -f "$root/var/lib/mtm-agent/bin/mtm-agent" "$root/var/lib/mtm-agent/bin/mtm-agent.prev" \
      "$root/var/lib/mtm-agent/update-pending.json"
    log "installed $src as $bin_dst"
  else
    log "binary unchanged since the last install"
  fi
elif [ ! -x "$bin_dst" ]; then
  die "no agent binary in $boot_dir (mtm-agent-$arch or mtm-agent) and none installed"
fi

# 2. A system user for the service.
if [ -z "$root" ] && ! id -u mtm-agent >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/mtm-agent --no-create-home --shell /usr/sbin/nologin mtm-agent
  log "created system user mtm-agent"
fi

# 3. The config: readable by the service's group only, then removed from the boot partition.
mkdir -p "$conf_dir"
if [ -f "$boot_dir/agent.toml" ]; then
  install -m 0640 "$boot_dir/agent.toml" "$conf_dst"
  real chown root:mtm-agent "$conf_dst"
  rm -f "$boot_dir/agent.toml"
  log "installed the config as $conf_dst (and removed it from the boot partition)"
elif [ ! -f "$conf_dst" ]; then
  die "no agent.toml in $boot_dir and none installed at $conf_dst"
fi

# 4. State directory (systemd's StateDirectory= would make it too; enrollment needs it first).
mkdir -p "$state_dir"
chmod 0700 "$state_dir"
real chown mtm-agent:mtm-agent "$state_dir"

# 5. The unit and the guide.
if [ -f "$boot_dir/mtm-agent.service" ]; then
  mkdir -p "$(dirname "$unit_dst")"
  install -m 0644 "$boot_dir/mtm-agent.service" "$unit_dst"
fi
[ -f "$unit_dst" ] || die "no mtm-agent.service in $boot_dir and none installed"
if [ -f "$boot_dir/README.md" ]; then
  mkdir -p "$doc_dst"
  install -m 0644 "$boot_dir/README.md" "$doc_dst/README.md"
fi

# 6. Enrollment: once, with the one-time code. It runs as root because it writes the
# enrolled identity into the config under /etc; the state directory (with the key it made) is
# handed to the service user afterwards. enroll.env stays on failure (no network yet?) so the next
# run retries.
if [ -f "$boot_dir/enroll.env" ] && [ ! -f "$marker_dir/enrolled" ]; then
  server="$(sed -n 's/^MTM_ENROLL_SERVER=//p' "$boot_dir/enroll.env" | tr -d '\r"' | head -n1)"
  code="$(sed -n 's/^MTM_ENROLL_CODE=//p' "$boot_dir/enroll.env" | tr -d '\r"' | head -n1)"
  { [ -n "$server" ] && [ -n "$code" ]; } || die "enroll.env needs MTM_ENROLL_SERVER= and MTM_ENROLL_CODE= lines"
  if [ -n "$root" ]; then
    log "(dry run) would enroll with $server"
  elif ! "$bin_dst" enroll --help >/dev/null 2>&1; then
    log "this mtm-agent has no 'enroll' subcommand yet: the config must already hold agent_id, control_plane_key and [mqtt]"
  else
    # Pass the config and data dir in whichever form this agent's `enroll` takes.
    enroll_help="$("$bin_dst" enroll --help 2>&1 || true)"
    args=(enroll --server "$server" --code "$code")
    if grep -q -- '--config' <<<"$enroll_help"; then args+=(--config "$conf_dst"); fi
    if grep -q -- '--data-dir' <<<"$enroll_help"; then args+=(--data-dir /var/lib/mtm-agent); fi
    if MTM_DATA_DIR=/var/lib/mtm-agent "$bin_dst" "${args[@]}"; then
      # enroll rewrote the config as root, mode 0600: give the service's group its read back.
      chmod 0640 "$conf_dst"
      chown root:mtm-agent "$conf_dst"
      chown -R mtm-agent:mtm-agent "$state_dir"
      touch "$marker_dir/enrolled"
      rm -f "$boot_dir/enroll.env"
      log "enrolled with $server"
    else
      die "enrollment failed (network? expired code?); fix it and run this script again"
    fi
  fi
fi

# 7. A config check the technician can read, then start.
if [ -z "$root" ]; then
  if runuser -u mtm-agent -- env MTM_DATA_DIR=/var/lib/mtm-agent "$bin_dst" check --config "$conf_dst"; then
    log "check passed"
  else
    log "check reported problems (see above); the service starts anyway and keeps retrying"
  fi
fi
real systemctl daemon-reload
real systemctl enable mtm-agent.service
# restart, not start: a re-run with a new binary or config must take effect.
real systemctl restart mtm-agent.service
log "done: follow the agent with 'journalctl -u mtm-agent -f'"
