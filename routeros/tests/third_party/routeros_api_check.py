"""RouterOS-api (socialwifi, unmodified, from PyPI) against routeros-sim: login, add a hotspot user,
query it back, trap on a duplicate, remove it.
Usage: routeros_api_check.py HOST PORT USER PASSWORD (plain|challenge|ssl)
"plain" uses plaintext_login=True; "challenge" the library default (MD5 challenge, needs
routeros-sim --legacy-auth); "ssl" plain login over API-SSL with verification off."""
import sys

import routeros_api
from routeros_api.exceptions import RouterOsApiCommunicationError

host, port, user, password, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
kwargs = {"plaintext_login": mode != "challenge"}
if mode == "ssl":
    kwargs.update(use_ssl=True, ssl_verify=False, ssl_verify_hostname=False)
pool = routeros_api.RouterOsApiPool(host, username=user, password=password, port=port, **kwargs)
api = pool.get_api()
users = api.get_resource("/ip/hotspot/user")

users.add(name="RAV0UCH3R", password="4821", comment="mtm:routeros-api", limit_uptime="1h")
rows = users.get(name="RAV0UCH3R")
assert len(rows) == 1, rows
assert rows[0]["comment"] == "mtm:routeros-api" and rows[0]["limit-uptime"] == "1h", rows
uid = rows[0]["id"]

try:
    users.add(name="RAV0UCH3R", password="x")
    raise SystemExit("duplicate add did not trap")
except RouterOsApiCommunicationError as e:
    assert e.original_message == b"failure: already have user with this name for this server", e.original_message

users.remove(id=uid)
assert users.get(name="RAV0UCH3R") == [], "not removed"
pool.disconnect()
print("RouterOS-api ok", mode)
