"""Throughput of librouteros (sync API, one command at a time) against routeros-sim.
Usage: librouteros_bench.py HOST PORT N  -> prints one JSON line."""
import json
import sys
import time

from librouteros import connect
from librouteros.query import Key

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
api = connect(host=host, port=port, username="admin", password="", timeout=30)
users = api.path("ip", "hotspot", "user")
t = time.perf_counter()
for i in range(n):
    users.add(name=f"LR{i}", password="4821", comment=f"mtm:lr{i}", **{"limit-uptime": "1h"})
adds = n / (time.perf_counter() - t)
name, uid = Key("name"), Key(".id")
t = time.perf_counter()
for i in range(n):
    rows = list(users.select(uid, name).where(name == f"LR{i}"))
    assert len(rows) == 1
queries = n / (time.perf_counter() - t)
api.close()
print(json.dumps({"adds_per_sec": adds, "queries_per_sec": queries}))
