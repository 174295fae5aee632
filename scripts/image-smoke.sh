#!/usr/bin/env bash
# Builds the container images and runs them.
#
#   scripts/image-smoke.sh [--no-build]
#
# Two steps, as in docs/deploy.md: scripts/cross-build.sh makes the static binaries and the build
# context, then the images are packaged from it. No registry is reachable here, so nothing is pulled:
# - agent: buildah builds deploy/Containerfile.agent for linux/amd64, linux/arm64 and linux/arm/v7
#   (docker 20.10's legacy builder cannot label a FROM scratch image for another platform, and
#   buildx is not packaged), gathers them in a real manifest list mtm-agent:VERSION, writes it as
#   an OCI archive, and copies each image into docker as mtm-agent:VERSION-{amd64,arm64,armv7}
#   (plus a `docker save` tar per platform, the file a RouterOS router imports);
# - server: `docker build` (legacy builder) of deploy/Containerfile.server as mtm-server:VERSION.
# Then it checks each image's platform with `docker image inspect`, runs the server image (host
# network, free ports, a fresh named volume) until /healthz and /readyz answer 200, creates an admin
# inside the container and logs in over the API, and runs the amd64 agent image's `--version` and
# `check` against a routeros-sim and a private Mosquitto on the host. Missing tools are installed
# (docker.io with its engine, buildah, mosquitto: scripts/tools.txt) and dockerd is started if it does
# not answer; anything that still fails stops the script. `--no-build`: use the binaries already in the dist dir.
# Images and archives stay (sizes are printed; archives in $MTM_CROSS_TARGET_DIR/images); the
# containers, the volume and the helper processes are removed.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'image-smoke: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf '== %s\n' "$*"; }

build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done

target_dir="${MTM_CROSS_TARGET_DIR:-/var/tmp/mtm-target-cross}"
dist="$target_dir/dist"
images="$target_dir/images"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
[ -n "$version" ] || die "no workspace version in Cargo.toml"

say "tools"
# shellcheck source=scripts/lib/provision.sh
. scripts/lib/provision.sh
# The engine (dockerd) is what must be checked: a machine may ship only the docker client.
provision_tools dockerd containerd runc docker buildah mosquitto curl python3
ensure_service dockerd
echo "docker $(docker version --format '{{.Server.Version}}'), $(buildah --version)"

if [ "$build" = 1 ]; then
  say "static binaries and build context (scripts/cross-build.sh)"
  scripts/cross-build.sh
  scripts/cross-build.sh --server
  scripts/cross-build.sh --sim x86_64-unknown-linux-musl
fi
for f in amd64/mtm-agent arm64/mtm-agent arm/v7/mtm-agent amd64/mtm-server amd64/routeros-sim \
  ca-certificates.crt agent-container.toml server-rootfs/tmp server-data; do
  [ -e "$dist/$f" ] || die "$dist/$f missing (run scripts/cross-build.sh, --server and --sim)"
done

work="$(mktemp -d)"
tag="mtm-smoke-$$"
pids=()
cleanup() {
  docker rm -f "$tag-server" >/dev/null 2>&1 || true
  docker volume rm "$tag-data" >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Docker's name for a platform's architecture and variant, and the tag suffix used here.
plat_arch() { case "$1" in amd64) echo amd64 ;; arm64) echo arm64 ;; arm/v7) echo arm ;; esac; }
plat_variant() { case "$1" in arm/v7) echo v7 ;; *) echo "" ;; esac; }
plat_suffix() { echo "${1//\//}"; }

# Image IDs the tags held before this run: removed at the end once the tags point to the new ones,
# so repeated runs do not pile up untagged images (only these, never other people's).
old_ids=()
for image in "mtm-agent:$version-amd64" "mtm-agent:$version-arm64" "mtm-agent:$version-armv7" \
  "mtm-server:$version"; do
  id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null)" && old_ids+=("$id")
done

say "agent images (buildah, FROM scratch)"
mkdir -p "$images"
list="localhost/mtm-agent:$version"
buildah manifest rm "$list" >/dev/null 2>&1 || true
buildah manifest create "$list" >/dev/null
for p in amd64 arm64 arm/v7; do
  s="$(plat_suffix "$p")"
  buildah rmi -f "localhost/mtm-agent:$version-$s" >/dev/null 2>&1 || true
  buildah build --quiet --platform "linux/$p" -f deploy/Containerfile.agent \
    -t "localhost/mtm-agent:$version-$s" "$dist" >/dev/null \
    || die "buildah build of the agent for linux/$p failed"
  buildah manifest add "$list" "containers-storage:localhost/mtm-agent:$version-$s" >/dev/null
  buildah push --quiet "localhost/mtm-agent:$version-$s" "docker-daemon:mtm-agent:$version-$s" \
    || die "copying mtm-agent:$version-$s into docker failed"
  got="$(docker image inspect --format '{{.Os}}/{{.Architecture}}/{{.Variant}}' "mtm-agent:$version-$s")"
  want="linux/$(plat_arch "$p")/$(plat_variant "$p")"
  [ "$got" = "$want" ] || die "mtm-agent:$version-$s is $got, want $want"
  # RouterOS does not restart a container whose process exits: after an update the agent must
  # exec the new binary in place.
  cmd="$(docker image inspect --format '{{json .Config.Cmd}}' "mtm-agent:$version-$s")"
  [ "$cmd" = '["run","--config","/etc/mtm-agent/agent.toml","--exec-on-update"]' ] \
    || die "mtm-agent:$version-$s runs $cmd"
  docker save -o "$images/mtm-agent-$version-$s.tar" "mtm-agent:$version-$s"
  echo "   mtm-agent:$version-$s: $got"
done
platforms="$(buildah manifest inspect "$list" | python3 -c '
import json, sys
plats = [m["platform"] for m in json.load(sys.stdin)["manifests"]]
print(" ".join(sorted("/".join(filter(None, (p["os"], p["architecture"], p.get("variant")))) for p in plats)))
')"
[ "$platforms" = "linux/amd64 linux/arm/v7 linux/arm64" ] || die "manifest list $list holds: $platforms"
rm -f "$images/mtm-agent-$version.oci.tar"
buildah manifest push --quiet --all "$list" "oci-archive:$images/mtm-agent-$version.oci.tar" \
  || die "writing the multi-arch OCI archive failed"
echo "   manifest list $list: $platforms -> $images/mtm-agent-$version.oci.tar"

say "server image (docker build, legacy builder, FROM scratch)"
DOCKER_BUILDKIT=0 docker build -q -f deploy/Containerfile.server \
  -t "mtm-server:$version" "$dist" >/dev/null || die "docker build of the server image failed"
fmt='{{.Os}}/{{.Architecture}} user={{.Config.User}} cmd={{json .Config.Cmd}}'
fmt+=' volumes={{json .Config.Volumes}}'
got="$(docker image inspect --format "$fmt" "mtm-server:$version")"
[ "$got" = 'linux/amd64 user=65532:65532 cmd=["serve"] volumes={"/var/lib/mtm":{}}' ] \
  || die "mtm-server:$version has an unexpected config: $got"
echo "   mtm-server:$version: $got"
# The directories the non-root server writes to: /tmp (SQLite temp files) and its data dir.
id="$(docker create "mtm-server:$version")"
dirs="$(docker export "$id" | tar tv | awk '$6 == "tmp/" || $6 == "var/lib/mtm/" { print $1, $2, $6 }')"
docker rm "$id" >/dev/null
[ "$dirs" = "$(printf 'drwxrwxrwt root/root tmp/\ndrwxr-xr-x 65532/65532 var/lib/mtm/')" ] \
  || die "mtm-server:$version: unexpected /tmp or /var/lib/mtm: $dirs"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until URL answers 200 (at most 60 s) while the server container runs.
await_200() {
  local url="$1" _
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$tag-server" 2>/dev/null)" = true ] || break
    sleep 0.1
  done
  die "$url did not answer 200; server log: $(docker logs "$tag-server" 2>&1 | tail -n 30)"
}

say "run the server image"
http_port="$(free_port)"
mqtt_port="$(free_port)"
docker volume create "$tag-data" >/dev/null
# A new named volume takes /var/lib/mtm's owner from the image: this also proves uid 65532 can
# write its data dir (the SQLite file and the server key).
docker run -d --name "$tag-server" --network host \
  -e "MTM_HTTP_BIND=127.0.0.1:$http_port" -e "MTM_MQTT_BIND=127.0.0.1:$mqtt_port" \
  -v "$tag-data:/var/lib/mtm" "mtm-server:$version" >/dev/null
base="http://127.0.0.1:$http_port"
await_200 "$base/healthz"
await_200 "$base/readyz"
echo "   /healthz and /readyz: 200 on $base (embedded broker on 127.0.0.1:$mqtt_port)"
password="smoke-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
out="$(printf '%s\n' "$password" | docker exec -i "$tag-server" mtm-server create-admin --username smoke-admin --password-stdin 2>&1)" \
  || die "create-admin in the container failed: $out"
echo "   create-admin: $out"
token="$(curl -sf -H 'content-type: application/json' \
  -d "{\"username\": \"smoke-admin\", \"password\": \"$password\"}" "$base/api/auth/login" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')" \
  || die "API login as smoke-admin failed"
me="$(curl -sf -H "authorization: Bearer $token" "$base/api/auth/me")" || die "/api/auth/me with the token failed"
grep -q '"smoke-admin"' <<<"$me" || die "/api/auth/me does not name smoke-admin: $me"
echo "   API login and /api/auth/me: ok"
docker stop -t 20 "$tag-server" >/dev/null
code="$(docker inspect -f '{{.State.ExitCode}}' "$tag-server")"
[ "$code" = 0 ] || die "server did not stop cleanly on docker stop (exit $code): $(docker logs "$tag-server" 2>&1 | tail -n 10)"
echo "   docker stop: clean exit"

say "run the amd64 agent image"
"$dist/amd64/routeros-sim" --listen 127.0.0.1:0 --login api:pass >"$work/sim.log" 2>&1 &
pids+=($!)
router_addr=""
for _ in $(seq 1 300); do
  router_addr="$(grep -Eo 'listening on [0-9.]+:[0-9]+' "$work/sim.log" 2>/dev/null | head -n1 | awk '{print $3}')"
  [ -n "$router_addr" ] && break
  sleep 0.1
done
[ -n "$router_addr" ] || die "routeros-sim did not print 'listening on ADDR': $(cat "$work/sim.log")"
broker_port="$(free_port)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$broker_port" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null || die "private mosquitto did not start: $(cat "$work/mosquitto.log")"

agent="mtm-agent:$version-amd64"
out="$(docker run --rm --network host "$agent" --version 2>&1)" || die "agent --version failed: $out"
if ! grep -q "mtm-agent" <<<"$out" || ! grep -qF "$version" <<<"$out"; then
  die "agent --version: '$out'"
fi
echo "   --version: $out"
# The image's base config plus the environment a RouterOS container gets (container.rsc); the key
# is RFC 8032's first test public key: `check` only pins it.
agent_run() {
  timeout 120 docker run --rm --network host \
    -e MTM_AGENT_ID=image-smoke -e MTM_ROUTER_ADDR="$router_addr" \
    -e MTM_ROUTER_USERNAME=api -e MTM_ROUTER_PASSWORD="$1" \
    -e MTM_CONTROL_PLANE_KEY=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a \
    -e MTM_MQTT_HOST=127.0.0.1 -e MTM_MQTT_PORT="$broker_port" \
    "$agent" check --config /etc/mtm-agent/agent.toml 2>&1
}
out="$(agent_run pass)" || die "agent check against the simulator failed: $out"
grep -q '^router: ok' <<<"$out" || die "agent check did not report the router login: $out"
grep -q '^broker: ok' <<<"$out" || die "agent check did not report the broker: $out"
echo "   check (good credentials): $(grep '^router: ok' <<<"$out")"
if out="$(agent_run wrong-password)"; then
  die "agent check passed with a wrong router password: $out"
fi
grep -q '^router: FAILED' <<<"$out" || die "agent check failed, but not on the router login: $out"
echo "   check (wrong router password): refused, as it should be"

in_use="$(docker image ls -q --no-trunc --filter dangling=false)"
for id in "${old_ids[@]}"; do
  grep -qx "$id" <<<"$in_use" || docker rmi "$id" >/dev/null 2>&1 || true
done

say "image sizes"
docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^mtm-(agent|server):$version" | sort \
  | while read -r image; do
    size="$(docker image inspect --format '{{.Size}}' "$image")"
    printf '%-28s %10d bytes  %6.2f MiB\n' "$image" "$size" "$(awk -v s="$size" 'BEGIN { print s / 1048576 }')"
  done
ls -l "$images"
say "image smoke passed (mtm-agent: amd64, arm64, arm/v7; mtm-server: amd64)"
