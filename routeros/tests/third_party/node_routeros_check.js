// node-routeros (unmodified, from npm) against routeros-sim: login, add a hotspot user, query it
// back, trap on a duplicate, remove it. Usage: node node_routeros_check.js HOST PORT [USER PASSWORD]
const { RouterOSAPI } = require("node-routeros");
const assert = require("assert");

const [host, port, user = "admin", password = ""] = process.argv.slice(2);

async function main() {
  const conn = new RouterOSAPI({ host, port: Number(port), user, password, timeout: 10 });
  await conn.connect();
  const added = await conn.write("/ip/hotspot/user/add", [
    "=name=NODEV0UCH3R", "=password=4821", "=comment=mtm:node", "=limit-uptime=1h",
  ]);
  const id = added[0].ret;
  assert.ok(id && id.startsWith("*"), JSON.stringify(added));

  const rows = await conn.write("/ip/hotspot/user/print", ["?name=NODEV0UCH3R", "=.proplist=.id,name,comment"]);
  assert.strictEqual(rows.length, 1, JSON.stringify(rows));
  assert.strictEqual(rows[0][".id"], id);
  assert.strictEqual(rows[0].comment, "mtm:node");

  let trapped = false;
  try {
    await conn.write("/ip/hotspot/user/add", ["=name=NODEV0UCH3R", "=password=x"]);
  } catch (e) {
    trapped = true;
    assert.strictEqual(e.message, "failure: already have user with this name for this server");
  }
  assert.ok(trapped, "duplicate add did not trap");

  await conn.write("/ip/hotspot/user/remove", ["=.id=" + id]);
  const left = await conn.write("/ip/hotspot/user/print", ["?name=NODEV0UCH3R"]);
  assert.strictEqual(left.length, 0, JSON.stringify(left));
  await conn.close();
  console.log("node-routeros ok");
}

main().then(() => process.exit(0), (e) => { console.error("node-routeros FAILED:", e); process.exit(1); });
