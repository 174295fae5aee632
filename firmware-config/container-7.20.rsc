# mtm: run mtm-agent in a RouterOS 7.20+ container (API-NOTES.md section 8.1).
#
# For arm64, arm (32-bit ARMv7) and x86_64 RouterOS devices only; MIPS, PPC and TILE boards cannot
# run containers (use a Raspberry Pi there, see raspberry-pi/README.md). The image is multi-arch
# (deploy/Containerfile.agent): the router pulls the variant matching its architecture.
#
# Before this script, once per router (needs a person at the router):
#   1. Install the `container` package from the "extra packages" archive of the router's exact
#      RouterOS version and architecture, then reboot.
#   2. /system/device-mode/update container=yes   then press the reset/mode button (or cold
#      power-cycle) within the activation timeout. Check /system/device-mode/print afterwards:
#      device-mode can also block hotspot on some models.
#   3. Plug in external storage ({{disk}}, e.g. usb1): the agent's redb buffer and key live there.
# Then run api-user.rsc and api-service.rsc with agent_address=172.17.0.2, then this script.
#
# Network: the container gets 172.17.0.2 on a veth in the `containers` bridge; the router is
# 172.17.0.1 there, so the agent reaches the API at 172.17.0.1:8728 without leaving the router.
#
# Placeholders (filled by `mtm-agent router-script --container`):
#   {{disk}}            router storage for the image, temp files and agent data, e.g. "usb1"
#   {{registry_url}}    registry of the agent image, e.g. "https://ghcr.io"
#   {{image}}           agent image, e.g. "example/mtm-agent:0.1.0"
#   {{api_user}}        the API account made by api-user.rsc
#   {{api_password}}    its password
#   {{server_url}}      the control plane's URL, e.g. "https://mtm.example.com"
#   {{enroll_code}}     one-time enrollment code an admin issued for this router
#
# RouterOS 7.20+ variant of container.rsc (use that one on 7.4-7.19). 7.20 made env and mount
# entries members of named lists, `list=` instead of `name=`, and /container/add takes
# `envlists=`/`mountlists=`. This syntax is taken from published 7.20+ container scripts, not from
# API-NOTES.md (which marks the 7.20 change unverified): confirm with `/container/envs/add ?`.
# firmware-config/check.sh keeps the commands of both files identical apart from these names.
# Env values are readable by every router user with `read` policy: the API password below is only
# as secret as the router's read-only accounts are trusted; the agent's own key never leaves
# {{disk}}/mtm-data.
#
# Enrollment: on first start the agent finds no identity in /data and the
# MTM_ENROLL_SERVER/MTM_ENROLL_CODE variables set, enrolls (its key is made inside the container),
# stores what the server returned in /data/enrollment.toml and starts. After that the code is spent
# and ignored; remove the two variables when convenient. A refused code stops the container with
# the reason in /log: set a new code with /container/envs/set and start it again.
#
# Without enrollment (identity from an admin by hand): add one env line each for MTM_AGENT_ID,
# MTM_CONTROL_PLANE_KEY, MTM_MQTT_HOST, MTM_MQTT_PORT, MTM_MQTT_USERNAME and MTM_MQTT_PASSWORD
# instead of the two MTM_ENROLL_* lines; `cmd="keygen --data-dir /data"` once prints the public key
# for the admin, then set cmd back to "run --config /etc/mtm-agent/agent.toml --exec-on-update" (or
# empty, the image's default). The key stays in /data.

:if ([:len [/interface/veth/find where name="veth-mtm"]] = 0) do={ /interface/veth/add name="veth-mtm" address="172.17.0.2/24" gateway="172.17.0.1" }
:if ([:len [/interface/bridge/find where name="containers"]] = 0) do={ /interface/bridge/add name="containers" }
:if ([:len [/ip/address/find where address="172.17.0.1/24" interface="containers"]] = 0) do={ /ip/address/add address="172.17.0.1/24" interface="containers" }
:if ([:len [/interface/bridge/port/find where bridge="containers" interface="veth-mtm"]] = 0) do={ /interface/bridge/port/add bridge="containers" interface="veth-mtm" }
:if ([:len [/ip/firewall/nat/find where chain="srcnat" src-address="172.17.0.0/24" action="masquerade"]] = 0) do={ /ip/firewall/nat/add chain="srcnat" src-address="172.17.0.0/24" action="masquerade" }

/container/config/set registry-url="{{registry_url}}" tmpdir="{{disk}}/tmp"

/container/envs/remove [find where list="mtm-agent"]
/container/envs/add list="mtm-agent" key="MTM_DATA_DIR" value="/data"
/container/envs/add list="mtm-agent" key="MTM_ROUTER_ADDR" value="172.17.0.1:8728"
/container/envs/add list="mtm-agent" key="MTM_ROUTER_USERNAME" value="{{api_user}}"
/container/envs/add list="mtm-agent" key="MTM_ROUTER_PASSWORD" value="{{api_password}}"
/container/envs/add list="mtm-agent" key="MTM_ENROLL_SERVER" value="{{server_url}}"
/container/envs/add list="mtm-agent" key="MTM_ENROLL_CODE" value="{{enroll_code}}"

:if ([:len [/container/mounts/find where list="mtm-data"]] = 0) do={ /container/mounts/add list="mtm-data" src="{{disk}}/mtm-data" dst="/data" }

# Offline install instead of a registry: upload mtm-agent-<arch>.tar to {{disk}} and replace
# remote-image="..." with file="{{disk}}/mtm-agent-<arch>.tar".
:if ([:len [/container/find where interface="veth-mtm"]] = 0) do={ /container/add remote-image="{{image}}" interface="veth-mtm" root-dir="{{disk}}/mtm-agent" envlists="mtm-agent" mountlists="mtm-data" logging="yes" start-on-boot="yes" }

# Wait (at most 10 minutes) for the image to be pulled and extracted, then start it.
{ :local waited 0; :do { :delay 5s; :set waited ($waited + 5) } while=(([/container/get [find where interface="veth-mtm"] status] != "stopped") && ([/container/get [find where interface="veth-mtm"] status] != "running") && ($waited < 600)) }
:if ([/container/get [find where interface="veth-mtm"] status] = "stopped") do={ /container/start [find where interface="veth-mtm"] }
/container/print where interface="veth-mtm"
