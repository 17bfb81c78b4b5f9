import { it } from "vitest";
import { PostgresStore } from "../../relay/storage/postgres.js";
import { pgProxy, schemaName, dropSchemas } from "../pg.js";

it("exp pool", async () => {
  const proxy = await pgProxy();
  const store = await PostgresStore.open(proxy.url(schemaName()), { connectTimeoutMs: 1000 });
  await store.health();
  proxy.down();
  for (let i = 0; i < 3; i++) {
    const a0 = proxy.attempts(); const t = Date.now();
    const e = await store.health().catch((e) => e);
    console.log("health", Date.now() - t, "ms attempts", proxy.attempts() - a0, String(e?.message));
  }
  const a1 = proxy.attempts();
  await new Promise((r) => setTimeout(r, 2000));
  console.log("idle attempts", proxy.attempts() - a1);
  proxy.up();
  await store.health();
  await store.close(); await proxy.close(); await dropSchemas();
}, 90000);
