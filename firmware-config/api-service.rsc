# mtm: API service and firewall limited to the agent (RouterOS 7; API-NOTES.md section 8.3).
#
# Only the agent's address may reach the API (8728) or API-SSL (8729): the service itself accepts
# only that address, and two input rules accept the agent and drop everyone else. The rules go to
# the top of the input chain, above the default-config "drop all not coming from LAN" rule: the
# `containers` bridge is not in the LAN interface list, so without the accept rule a container
# agent would be dropped. The drop rule is added first so that the accept rule, added second at
# position 0, ends up above it.
# Safe to run again: the rules are found by their comments and not added twice. Check the order
# afterwards with the print at the end (accept above drop, both above any other input drop).
#
# Placeholders (filled by `mtm-agent router-script`):
#   {{agent_address}}   IPv4 address the agent connects from (172.17.0.2 for a RouterOS container)
#
# API-SSL stays enabled for the agent; a router without a certificate offers only anonymous-DH
# TLS (API-NOTES.md section 7), so either assign a certificate
# (/ip/service/set api-ssl certificate="...") or use plain API over the container bridge, which
# never leaves the router.

/ip/service/set api address="{{agent_address}}/32" disabled="no"
/ip/service/set api-ssl address="{{agent_address}}/32"

:if ([:len [/ip/firewall/address-list/find where list="mtm-api-allowed" address="{{agent_address}}"]] = 0) do={ /ip/firewall/address-list/add list="mtm-api-allowed" address="{{agent_address}}" }

:if ([:len [/ip/firewall/filter/find where comment="mtm: API from others"]] = 0) do={ /ip/firewall/filter/add chain="input" protocol="tcp" dst-port="8728,8729" action="drop" comment="mtm: API from others" place-before="0" }
:if ([:len [/ip/firewall/filter/find where comment="mtm: API from agent"]] = 0) do={ /ip/firewall/filter/add chain="input" protocol="tcp" dst-port="8728,8729" src-address-list="mtm-api-allowed" action="accept" comment="mtm: API from agent" place-before="0" }

/ip/service/print where name~"^api"
/ip/firewall/filter/print where chain="input"
