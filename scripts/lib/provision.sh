# shellcheck shell=bash
# Shared set-up for the test scripts: installs what a fresh machine of this kind lacks and starts
# the services the tests talk to, from the one table in scripts/tools.txt. Sourced, not run.
#
#   provision_tools NAME...    make each named tool/module usable (install its package if missing)
#   ensure_service NAME        start the named service if it does not answer; fail loudly if it
#                              still does not
#
# Each check tests the thing really used (dockerd, not the docker client a machine may ship
# without an engine; the python3 the scripts run, not Debian's python), so a tool that a developer
# installed by hand elsewhere on PATH cannot make a check pass by accident.

_provision_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_provision_table="$_provision_root/scripts/tools.txt"
_provision_apt_updated=0

_provision_die() { printf 'provision: FAIL: %s\n' "$*" >&2; exit 1; }

# The table row for NAME: "kind name check package by" (comments and blank lines skipped).
_provision_row() {
  awk -v n="$1" '$1 !~ /^#/ && NF >= 5 && $2 == n { print; found = 1; exit } END { exit !found }' \
    "$_provision_table"
}

# True when the row's `check` holds.
_provision_ok() {
  local kind="$1" check="$2"
  case "$kind" in
    tool)
      case "$check" in
        /*) [ -e "$check" ] ;;
        *) command -v "$check" >/dev/null 2>&1 ;;
      esac ;;
    pymod) python3 -c "import $check" >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

_provision_apt() {
  if [ "$_provision_apt_updated" = 0 ]; then
    apt-get update -q >/dev/null || _provision_die "apt-get update failed"
    _provision_apt_updated=1
  fi
  echo "installing Debian packages: $*"
  # needrestart (pulled in by some recommends) must only list, never restart, the shared services.
  NEEDRESTART_MODE=l DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" \
    || _provision_die "apt-get install $* failed"
}

provision_tools() {
  local name row kind check pkg apt_pkgs=() pip_pkgs=() missing=()
  for name in "$@"; do
    row="$(_provision_row "$name")" || _provision_die "$name is not in scripts/tools.txt"
    read -r kind _ check pkg _ <<<"$row"
    _provision_ok "$kind" "$check" && continue
    missing+=("$name")
    [ "$pkg" = - ] && _provision_die "$name ($check) is missing; it comes with a machine of this kind (see scripts/fresh-check.sh), not from a package"
    case "$kind" in
      tool) apt_pkgs+=("$pkg") ;;
      pymod) pip_pkgs+=("$pkg") ;;
    esac
  done
  if [ ${#apt_pkgs[@]} -gt 0 ]; then
    mapfile -t apt_pkgs < <(printf '%s\n' "${apt_pkgs[@]}" | sort -u)
    _provision_apt "${apt_pkgs[@]}"
  fi
  if [ ${#pip_pkgs[@]} -gt 0 ]; then
    echo "installing Python packages (PyPI): ${pip_pkgs[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${pip_pkgs[@]}" \
      || _provision_die "pip install ${pip_pkgs[*]} failed"
  fi
  for name in "${missing[@]}"; do
    row="$(_provision_row "$name")"
    read -r kind _ check pkg _ <<<"$row"
    _provision_ok "$kind" "$check" || _provision_die "$name: $check still missing after installing $pkg"
  done
}

_provision_tcp() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

_provision_up() {
  case "$1" in
    postgresql) pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null ;;
    mosquitto) _provision_tcp 127.0.0.1 1883 ;;
    dockerd) docker info >/dev/null 2>&1 ;;
    *) _provision_die "unknown service $1" ;;
  esac
}

ensure_service() {
  local name="$1" log _
  _provision_row "$name" >/dev/null || _provision_die "service $name is not in scripts/tools.txt"
  _provision_up "$name" && return 0
  case "$name" in
    postgresql)
      provision_tools pg_ctlcluster pg_isready
      echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
      pg_ctlcluster --skip-systemctl-redirect "$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tail -n1)" main start ;;
    mosquitto)
      provision_tools mosquitto
      echo "Mosquitto is not answering on 127.0.0.1:1883; starting it"
      mosquitto -d -c /etc/mosquitto/mosquitto.conf ;;
    dockerd)
      # No init system on this kind of machine: start the engine by hand and leave it running.
      provision_tools dockerd containerd runc docker
      log=/var/log/mtm-dockerd.log
      echo "dockerd is not answering; starting it (log: $log)"
      setsid dockerd >"$log" 2>&1 </dev/null &
      ;;
  esac
  for _ in $(seq 1 60); do _provision_up "$name" && return 0; sleep 1; done
  case "$name" in
    dockerd) _provision_die "dockerd did not start: $(tail -n 20 /var/log/mtm-dockerd.log 2>/dev/null)" ;;
    *) _provision_die "$name did not start" ;;
  esac
}
