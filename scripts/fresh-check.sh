#!/usr/bin/env bash
# Where each tool and service the test command uses comes from, checked against a fresh machine.
#
#   scripts/fresh-check.sh
#
# For every row of scripts/tools.txt it prints what is checked (the real thing: dockerd, not the
# docker client), where it is on this machine now, and where it comes from on a freshly booted
# machine of this kind: shipped (its package is in scripts/fresh-machine-packages.txt, or it is
# part of the machine's toolchain), or installed/started by a named script. It fails when
# - something neither ships with a fresh machine nor is installed by a script (it would only work
#   where a developer installed it by hand),
# - the script named as its installer does not ask for it (provision_tools / ensure_service),
# - a test script installs packages or looks tools up on its own, outside scripts/lib/provision.sh.
# It changes nothing; scripts/test.sh runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

table=scripts/tools.txt
fresh=scripts/fresh-machine-packages.txt
scripts=(scripts/test.sh scripts/image-smoke.sh scripts/qemu-smoke.sh scripts/cross-build.sh
  firmware-config/check.sh routeros/tests/third_party/setup.sh)
fail=0
bad() { printf 'fresh-check: %s\n' "$*" >&2; fail=1; }

in_fresh() { grep -qx "$1 $2" "$fresh"; }

# Does SCRIPT ask for NAME through the shared set-up (a provision_tools or ensure_service line,
# possibly continued with backslashes, or a need+=(...) list handed to provision_tools)?
asks_for() {
  local script="$1" fn="$2" name="$3"
  awk -v fn="$fn" '
    $0 ~ fn || cont || /need(\+)?=\(/ { print; cont = ($0 ~ /\\$/); next }
  ' "$script" | grep -qw -- "$name"
}

printf '%-24s %-52s %-44s %s\n' NAME "NEEDS" "HERE NOW" "ON A FRESH MACHINE"
while read -r kind name check pkg by; do
  case "$kind" in ''|'#'*) continue ;; esac
  here="missing"
  case "$kind" in
    tool)
      case "$check" in
        /*) [ -e "$check" ] && here="$check" ;;
        *) here="$(command -v "$check" 2>/dev/null || echo missing)" ;;
      esac
      if [ "$here" != missing ] && owner="$(dpkg -S "$(readlink -f "$here")" 2>/dev/null | head -n1 | cut -d: -f1)"; then
        here="$here ($owner)"
      fi ;;
    pymod) python3 -c "import $check" 2>/dev/null && here="python3: import $check" ;;
    service)
      case "$name" in
        postgresql) pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && here="answering on $check" ;;
        mosquitto) (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && here="answering on $check" ;;
        dockerd) docker info >/dev/null 2>&1 && here="answering on $check" ;;
      esac ;;
    *) bad "$table: unknown kind $kind for $name"; continue ;;
  esac

  source=apt
  [ "$kind" = pymod ] && source=pip
  if [ "$by" = machine ]; then
    from="shipped: the machine's toolchain (no package)"
    [ "$here" = missing ] && bad "$name is missing here but should ship with every machine of this kind"
  elif [ "$pkg" != - ] && in_fresh "$source" "$pkg" && [ "$kind" != service ]; then
    from="shipped ($source $pkg); $by installs it if absent"
  elif [ "$kind" = service ]; then
    if in_fresh apt "$pkg"; then from="shipped and started before the session; $by starts it if down"
    else from="installed and started by $by ($pkg)"; fi
  else
    from="installed by $by ($source $pkg)"
  fi

  # The named installer must really ask for it, whatever the machine has today.
  if [ "$by" != machine ]; then
    if [ ! -f "$by" ]; then
      bad "$name: installer $by does not exist"
    elif [ "$kind" = service ]; then
      asks_for "$by" ensure_service "$name" || bad "$name: $by never calls ensure_service $name"
    else
      asks_for "$by" provision_tools "$name" || bad "$name: $by never asks for it (provision_tools $name)"
    fi
  fi
  printf '%-24s %-52s %-44s %s\n' "$name" "$kind $check" "$here" "$from"
done <"$table"

# No test script may install or look up tools on its own: that is how a check ends up passing
# because of something a developer installed by hand.
for s in "${scripts[@]}"; do
  if grep -nE 'apt-get install|command -v [a-z]' "$s" | grep -v '^\s*#' >/dev/null; then
    bad "$s installs or looks up tools itself; use scripts/lib/provision.sh and scripts/tools.txt: $(grep -nE 'apt-get install|command -v [a-z]' "$s" | head -n3 | tr '\n' ' ')"
  fi
done

if [ "$fail" = 0 ]; then
  echo "fresh-check: every tool and service comes from the machine or from a script that installs it"
else
  exit 1
fi
