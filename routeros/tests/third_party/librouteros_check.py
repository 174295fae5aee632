"""librouteros (unmodified, from PyPI) against routeros-sim: login, add a hotspot user, query it
back, trap on a duplicate, remove it. Usage: librouteros_check.py HOST PORT [USER PASSWORD [ssl]]
"ssl": API-SSL with certificate verification off (the simulator's CA is not trusted)."""
import ssl
import sys

from librouteros import connect
from librouteros.exceptions import TrapError
from librouteros.query import Key

host, port = sys.argv[1], int(sys.argv[2])
user = sys.argv[3] if len(sys.argv) > 3 else "admin"
password = sys.argv[4] if len(sys.argv) > 4 else ""

wrapper = None
if len(sys.argv) > 5 and sys.argv[5] == "ssl":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    wrapper = ctx.wrap_socket
api = connect(host=host, port=port, username=user, password=password, timeout=10, ssl_wrapper=wrapper)
users = api.path("ip", "hotspot", "user")

new_id = users.add(name="PYV0UCH3R", password="4821", comment="mtm:librouteros", **{"limit-uptime": "1h"})
assert new_id.startswith("*"), new_id

name, uid, comment = Key("name"), Key(".id"), Key("comment")
rows = list(users.select(uid, name, comment, Key("limit-uptime")).where(name == "PYV0UCH3R"))
assert len(rows) == 1, rows
assert rows[0][".id"] == new_id and rows[0]["comment"] == "mtm:librouteros", rows
assert rows[0]["limit-uptime"] == "1h", rows

try:
    users.add(name="PYV0UCH3R", password="x")
    raise SystemExit("duplicate add did not trap")
except TrapError as e:
    assert e.message == "failure: already have user with this name for this server", e.message

users.remove(new_id)
left = list(users.select(uid).where(name == "PYV0UCH3R"))
assert left == [], left
res = tuple(api.path("system", "resource"))
assert res and "version" in res[0], res
api.close()
print("librouteros ok")
