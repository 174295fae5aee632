# mtm: restricted RouterOS account for the agent (RouterOS 7; API-NOTES.md section 8.2).
#
# The agent logs in to the router's API with this account only. Policy `api,read,write` lets it log
# in through the API, print, and add/set/remove hotspot users and sessions; nothing else (no
# `policy`, `reboot`, `ftp`, `ssh`, `winbox`, `web`, `rest-api`, `password`, `sensitive`). Do not
# paste old negation lists (`!dude`, `!tikapp`): RouterOS 7 refuses unknown policy names.
# The user may log in only from the agent's own address.
# Safe to run again: an existing group or user is updated (including a new password).
#
# Placeholders (filled by `mtm-agent router-script`):
#   {{api_user}}        account and group name, e.g. "mtm-agent" (the agent's [router] username)
#   {{api_password}}    long random password (the agent's [router] password); never reuse it
#   {{agent_address}}   IPv4 address the agent connects from: 172.17.0.2 for a RouterOS container
#                       set up by container.rsc, the Raspberry Pi's LAN address otherwise

:if ([:len [/user/group/find where name="{{api_user}}"]] = 0) do={ /user/group/add name="{{api_user}}" policy="api,read,write" }
/user/group/set [find where name="{{api_user}}"] policy="api,read,write"

:if ([:len [/user/find where name="{{api_user}}"]] = 0) do={ /user/add name="{{api_user}}" group="{{api_user}}" password="{{api_password}}" address="{{agent_address}}/32" }
/user/set [find where name="{{api_user}}"] group="{{api_user}}" password="{{api_password}}" address="{{agent_address}}/32"

/user/print where name="{{api_user}}"
