// Throughput of node-routeros against routeros-sim, CONC commands in flight (tagged, as the
// library does). Usage: node node_routeros_bench.js HOST PORT N CONC [nodelay] -> one JSON line.
// "nodelay" turns Nagle off on the library's socket after connect (the library leaves it on and
// writes every word separately, so each command otherwise waits for delayed ACKs).
const { RouterOSAPI } = require("node-routeros");

const [host, port, n, conc] = process.argv.slice(2, 6).map((v, i) => (i === 0 ? v : Number(v)));
const nodelay = process.argv[6] === "nodelay";

async function batched(count, f) {
  for (let i = 0; i < count; i += conc) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + conc); j++) batch.push(f(j));
    await Promise.all(batch);
  }
}

async function main() {
  const conn = new RouterOSAPI({ host, port, user: "admin", password: "", timeout: 30 });
  await conn.connect();
  if (nodelay) conn.connector.socket.setNoDelay(true);
  const tag = `N${conc}${nodelay ? "d" : ""}_`;
  let t = process.hrtime.bigint();
  await batched(n, (i) =>
    conn.write("/ip/hotspot/user/add", [`=name=${tag}${i}`, "=password=4821", `=comment=mtm:${tag}${i}`, "=limit-uptime=1h"]));
  const adds = n / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  await batched(n, async (i) => {
    const rows = await conn.write("/ip/hotspot/user/print", [`?name=${tag}${i}`, "=.proplist=.id,name"]);
    if (rows.length !== 1) throw new Error("query returned " + rows.length);
  });
  const queries = n / (Number(process.hrtime.bigint() - t) / 1e9);
  await conn.close();
  console.log(JSON.stringify({ adds_per_sec: adds, queries_per_sec: queries }));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
