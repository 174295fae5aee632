# mtm: baseline hotspot user profiles (RouterOS 7).
#
# Every voucher the server issues uses one of these `mtm-<package>` profiles. The agent keeps them
# in step with the signed package catalog afterwards,
# so this baseline only makes sure a freshly set-up router can take vouchers before the first
# catalog arrives. Safe to run again: a profile that exists is updated, not duplicated.
#
# Placeholders (filled by `mtm-agent router-script`):
#   {{rate_limit}}    default rate limit of the baseline packages, RouterOS syntax, e.g. "2M/5M"
#
# `comment` is not set on purpose: this menu reportedly rejects it (API-NOTES.md section 5.3).

:if ([:len [/ip/hotspot/user/profile/find where name="mtm-1h"]] = 0) do={ /ip/hotspot/user/profile/add name="mtm-1h" }
/ip/hotspot/user/profile/set [find where name="mtm-1h"] rate-limit="{{rate_limit}}" shared-users="1" idle-timeout="none" keepalive-timeout="2m" status-autorefresh="1m" add-mac-cookie="yes" mac-cookie-timeout="1h" open-status-page="always"

:if ([:len [/ip/hotspot/user/profile/find where name="mtm-3h"]] = 0) do={ /ip/hotspot/user/profile/add name="mtm-3h" }
/ip/hotspot/user/profile/set [find where name="mtm-3h"] rate-limit="{{rate_limit}}" shared-users="1" idle-timeout="none" keepalive-timeout="2m" status-autorefresh="1m" add-mac-cookie="yes" mac-cookie-timeout="3h" open-status-page="always"

:if ([:len [/ip/hotspot/user/profile/find where name="mtm-1d"]] = 0) do={ /ip/hotspot/user/profile/add name="mtm-1d" }
/ip/hotspot/user/profile/set [find where name="mtm-1d"] rate-limit="{{rate_limit}}" shared-users="1" idle-timeout="none" keepalive-timeout="2m" status-autorefresh="1m" add-mac-cookie="yes" mac-cookie-timeout="1d" open-status-page="always"

:if ([:len [/ip/hotspot/user/profile/find where name="mtm-7d"]] = 0) do={ /ip/hotspot/user/profile/add name="mtm-7d" }
/ip/hotspot/user/profile/set [find where name="mtm-7d"] rate-limit="{{rate_limit}}" shared-users="1" idle-timeout="none" keepalive-timeout="2m" status-autorefresh="1m" add-mac-cookie="yes" mac-cookie-timeout="3d" open-status-page="always"

/ip/hotspot/user/profile/print where name~"^mtm-"
