#!/usr/bin/env bash
# CI check for firmware-config/, deploy/ and the cross/field scripts; needs no agent binary,
# no router and no Docker. See firmware-config/README.md ("The check").
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }
die() { printf 'firmware-config/check: FAIL: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/lib/provision.sh
. scripts/lib/provision.sh
provision_tools shellcheck python3 yaml systemd-analyze

say "RouterOS scripts (menus, arguments, placeholders, quoting)"
python3 firmware-config/check_rsc.py

say "container.rsc and container-7.20.rsc differ only in the 7.20 list syntax"
python3 - <<'EOF'
import sys
def commands(path):
    return [l for l in open(path) if l.strip() and not l.startswith("#")]
old, new = commands("firmware-config/container.rsc"), commands("firmware-config/container-7.20.rsc")
subst = [
    ('[find where name="mtm-agent"]', '[find where list="mtm-agent"]'),
    ('/container/envs/add name=', '/container/envs/add list='),
    ('[/container/mounts/find where name=', '[/container/mounts/find where list='),
    ('/container/mounts/add name=', '/container/mounts/add list='),
    (' envlist="mtm-agent" mounts=', ' envlists="mtm-agent" mountlists='),
]
converted = []
for line in old:
    for a, b in subst:
        line = line.replace(a, b)
    converted.append(line)
if converted != new:
    for a, b in zip(converted, new):
        if a != b:
            sys.exit(f"container-7.20.rsc drifted from container.rsc:\n  expected {a.strip()}\n  found    {b.strip()}")
    sys.exit("container-7.20.rsc and container.rsc have different numbers of commands")
print("in step")
EOF

say "shellcheck"
shellcheck -x firmware-config/check.sh firmware-config/raspberry-pi/firstboot.sh \
  scripts/cross-build.sh scripts/qemu-smoke.sh scripts/image-smoke.sh scripts/test.sh \
  scripts/fresh-check.sh scripts/lib/provision.sh routeros/tests/third_party/setup.sh

say "firstboot.sh dry run (twice, into a temporary root)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
boot="$tmp/boot/mtm"
mkdir -p "$boot"
printf '#!/bin/sh\necho "mtm-agent 0.0.0-test"\n' >"$boot/mtm-agent"
cp firmware-config/raspberry-pi/mtm-agent.service firmware-config/raspberry-pi/README.md "$boot/"
cp firmware-config/raspberry-pi/agent.toml.example "$boot/agent.toml"
printf 'MTM_ENROLL_SERVER=https://mtm.example.com\nMTM_ENROLL_CODE=TEST-CODE\n' >"$boot/enroll.env"
for run in 1 2; do
  MTM_ROOT="$tmp/root" MTM_BOOT_DIR="$boot" bash firmware-config/raspberry-pi/firstboot.sh >"$tmp/run$run.log" 2>&1 \
    || die "firstboot run $run failed: $(cat "$tmp/run$run.log")"
done
for f in usr/local/bin/mtm-agent etc/mtm-agent/agent.toml etc/systemd/system/mtm-agent.service \
  usr/local/share/doc/mtm-agent/README.md; do
  [ -f "$tmp/root/$f" ] || die "firstboot did not install /$f"
done
[ "$(stat -c %a "$tmp/root/etc/mtm-agent/agent.toml")" = 640 ] || die "config is not mode 0640"
[ "$(stat -c %a "$tmp/root/var/lib/mtm-agent")" = 700 ] || die "state dir is not mode 0700"
[ ! -e "$boot/agent.toml" ] || die "firstboot left the config (with passwords) on the boot partition"
grep -q "binary unchanged" "$tmp/run2.log" || die "second run reinstalled an unchanged binary"
grep -q "would enroll" "$tmp/run1.log" || die "firstboot did not reach enrollment"

say "systemd units"
for u in firmware-config/raspberry-pi/mtm-agent.service deploy/systemd/mtm-server.service; do
  # Only the unit's own syntax: the binaries are not installed on the CI machine.
  out="$(systemd-analyze verify "$u" 2>&1 | grep -v 'is not executable' || true)"
  [ -z "$out" ] || die "systemd-analyze verify $u: $out"
done

say "deploy/compose.yaml and Mosquitto files"
python3 - <<'EOF'
import re, sys, yaml
doc = yaml.safe_load(open("deploy/compose.yaml"))
services = doc.get("services") or {}
for name in ("mtm-server", "postgres", "mosquitto"):
    if name not in services:
        sys.exit(f"compose.yaml: service {name} missing")
import os
for name, svc in services.items():
    if "image" not in svc and "build" not in svc:
        sys.exit(f"compose.yaml: service {name} has neither image nor build")
    build = svc.get("build")
    if build:
        ctx = build["context"]
        m = re.fullmatch(r"\$\{(\w+):-([^}]*)\}", ctx)
        if m:
            ctx = os.environ.get(m[1]) or m[2]
        # An absolute context is scripts/cross-build.sh's output (maybe not built yet), which gets
        # copies of deploy/'s Containerfiles: check the source instead.
        ctx = "deploy" if os.path.isabs(ctx) else os.path.normpath(os.path.join("deploy", ctx))
        if not os.path.isfile(os.path.join(ctx, build["dockerfile"])):
            sys.exit(f"compose.yaml: {name}: {build['dockerfile']} not found in context {ctx}")
    for vol in svc.get("volumes", []):
        src = vol.split(":", 1)[0]
        if src.startswith(".") and not os.path.exists(os.path.join("deploy", src)):
            sys.exit(f"compose.yaml: {name}: bind mount {src} does not exist")
    for dep in svc.get("depends_on", {}):
        if dep not in services:
            sys.exit(f"compose.yaml: {name} depends on unknown service {dep}")
# ACL: only the directives Mosquitto knows, and every agent pattern confined to its own topics.
for no, line in enumerate(open("deploy/mosquitto/acl"), 1):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    if not re.fullmatch(r"(user \S+|pattern (read|write|readwrite|deny) \S+|topic (read|write|readwrite|deny) \S+)", line):
        sys.exit(f"acl:{no}: not a Mosquitto ACL line: {line}")
    if line.startswith("pattern") and "%u" not in line and "%c" not in line and not line.startswith("pattern read "):
        sys.exit(f"acl:{no}: a writable pattern without %u/%c lets every agent write there: {line}")
for no, line in enumerate(open("deploy/mosquitto/mosquitto.conf"), 1):
    line = line.strip()
    if line and not line.startswith("#") and not re.fullmatch(r"[a-z_]+( .*)?", line):
        sys.exit(f"mosquitto.conf:{no}: not a config line: {line}")
print("compose.yaml, acl, mosquitto.conf ok")
EOF

say "firmware-config check passed"
