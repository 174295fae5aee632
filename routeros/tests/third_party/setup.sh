#!/usr/bin/env bash
# Installs the third-party RouterOS clients used by routeros/tests/third_party.rs:
# librouteros and RouterOS-api (PyPI) into a venv at /var/tmp/mtm-py, node-routeros (npm) into
# ./node_modules. Exact versions: requirements.txt, package-lock.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${MTM_PY_VENV:-/var/tmp/mtm-py}"
# shellcheck source=scripts/lib/provision.sh
. "$here/../../../scripts/lib/provision.sh"
provision_tools python3 venv node npm
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
cd "$here"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --silent
else
  npm install --no-audit --no-fund --silent
fi
echo "third-party clients ready: $("$venv/bin/python" -c 'import librouteros,importlib.metadata as m; print("librouteros", m.version("librouteros") + ", RouterOS-api", m.version("RouterOS-api"))'), node-routeros $(node -p 'require("node-routeros/package.json").version')"
