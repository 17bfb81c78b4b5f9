/**
 * The PostgreSQL store when the database fails (issue 5): an unreachable database, an
 * outage mid-run (played by a TCP proxy, so the shared server is never touched), and a
 * lock held too long are StoreUnavailable (the relay's 503), never a hang or a 500, and
 * the store serves again by itself. Programming errors stay apart.
 */
import { afterAll, describe, expect, it } from "vitest";
import { StoreUnavailable } from "../../relay/storage/errors.js";
import { PostgresStore } from "../../relay/storage/postgres.js";
import type { DepositNotice } from "../../relay/storage/types.js";
import { ident, pgAdmin, pgMissing, pgProxy, schemaName, schemaUrl } from "../pg.js";
import { cleanUp, open, unavailable, until } from "./pg-store.js";
import { expectLog, leaf, message, NOW } from "./store-suite.js";

const skip = await pgMissing();

/** Waits until the store serves again (or fails after 10 s). */
async function recovered(store: PostgresStore): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (
    !(await store.health().then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error("the store did not recover");
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(async () => {
  if (!skip) await cleanUp();
});

describe.skipIf(skip)("PostgresStore when the database fails", () => {
  it("cannot open an unreachable database: StoreUnavailable, without the password", async () => {
    const e = await unavailable(
      PostgresStore.open("postgres://postgres:hunter2@127.0.0.1:1/test?schema=x", {
        connectTimeoutMs: 1000,
      }),
    );
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(e.message).not.toContain("hunter2");
  });

  it("answers StoreUnavailable during an outage, and serves again by itself after", async () => {
    const proxy = await pgProxy();
    try {
      const schema = schemaName();
      const store = await open(proxy.url(schema), { connectTimeoutMs: 1000 });
      const direct = await open(schemaUrl(schema));
      const heard: DepositNotice[] = [];
      await store.subscribe(
        (n) => heard.push(n),
        () => undefined,
      );
      const leaves = [leaf()];
      await store.deposit(message("bob"), leaves[0]!, 10);

      proxy.down();
      // Every call fails, and soon: none waits for the database to come back.
      const t0 = Date.now();
      await unavailable(store.health());
      await unavailable(store.deposit(message("bob"), leaf(), 10));
      await unavailable(store.fetch("bob", 10, NOW));
      await unavailable(store.useNonce("n", NOW + 10, NOW));
      for (let i = 0; i < 20; i++) await unavailable(store.health());
      expect(Date.now() - t0).toBeLessThan(8000);
      // The lost listener retries with backoff, not in a tight loop.
      const before = proxy.attempts();
      await new Promise((r) => setTimeout(r, 3000));
      expect(proxy.attempts() - before).toBeLessThan(15);
      // Another process deposits while this one's listening connection is down.
      leaves.push(leaf());
      const missed = await direct.deposit(message("carol"), leaves[1]!, 10);

      proxy.up();
      await until(() => heard.some((n) => n.to === "carol"), "the catch-up notice", 20_000);
      expect(missed.status === "stored" && missed.message.index).toBe(1);
      await store.health();
      leaves.push(leaf());
      expect((await store.deposit(message("bob"), leaves[2]!, 10)).status).toBe("stored");
      await expectLog(store, leaves);
      // And the listener is live again for new deposits.
      await direct.deposit(message("dave"), leaf(), 10);
      await until(() => heard.some((n) => n.to === "dave"), "a live notice again");
    } finally {
      await proxy.close();
    }
  });

  it("fails fast during an outage without a storm of connection attempts", async () => {
    const proxy = await pgProxy();
    try {
      const store = await open(proxy.url(schemaName()), { connectTimeoutMs: 1000 });
      await store.health();
      proxy.down();
      const before = proxy.attempts();
      const t0 = Date.now();
      // 200 requests at once, then more for 2 s: all 503s, few connection attempts.
      await Promise.all(Array.from({ length: 200 }, () => unavailable(store.health())));
      expect(Date.now() - t0).toBeLessThan(2000);
      while (Date.now() - t0 < 2000) {
        await unavailable(store.fetch("bob", 10, NOW));
        await new Promise((r) => setTimeout(r, 10));
      }
      // About one attempt per backoff (50 ms doubling to 1 s): well under one per call.
      expect(proxy.attempts() - before).toBeLessThan(15);
      proxy.up();
      await recovered(store);
    } finally {
      await proxy.close();
    }
  });

  it("closes a connection cut inside a transaction, and keeps nothing of it", async () => {
    const proxy = await pgProxy();
    const holder = await pgAdmin().connect();
    try {
      const schema = schemaName();
      const store = await open(proxy.url(schema), { connectTimeoutMs: 1000 });
      const l0 = leaf();
      await store.deposit(message("bob"), l0, 10);
      await holder.query("BEGIN");
      await holder.query(`SELECT size FROM ${ident(schema)}.log_meta WHERE id = 0 FOR UPDATE`);
      // The deposit waits for the log lock inside its transaction when the link breaks.
      const cut = unavailable(store.deposit(message("bob"), leaf(), 10));
      await new Promise((r) => setTimeout(r, 200));
      proxy.down();
      await cut;
      await holder.query("COMMIT");
      proxy.up();
      await recovered(store);
      const l1 = leaf();
      expect((await store.deposit(message("bob"), l1, 10)).status).toBe("stored");
      await expectLog(store, [l0, l1]);
    } finally {
      holder.release();
      await proxy.close();
    }
  });

  it("fails a deposit whose log lock is held too long, then appends on", async () => {
    const url = schemaUrl();
    const store = await open(url, { lockTimeoutMs: 100 });
    const l0 = leaf();
    await store.deposit(message("bob"), l0, 10);
    const holder = await pgAdmin().connect();
    try {
      await holder.query("BEGIN");
      await holder.query(
        `SELECT size FROM ${ident(store.schema)}.log_meta WHERE id = 0 FOR UPDATE`,
      );
      const e = await unavailable(store.deposit(message("bob"), leaf(), 10));
      expect((e.cause as { code: string }).code).toBe("55P03");
      // Readers are not blocked by the lock.
      expect(await store.fetch("bob", 10, NOW)).toHaveLength(1);
      await holder.query("COMMIT");
    } finally {
      holder.release();
    }
    const l1 = leaf();
    expect((await store.deposit(message("bob"), l1, 10)).status).toBe("stored");
    await expectLog(store, [l0, l1]);
  });

  it("keeps programming errors apart from unavailability", async () => {
    const store = await open();
    await expect(store.deposit(message("bob", { at: 1.5 }), leaf(), 10)).rejects.toThrow(TypeError);
    await expect(store.addHits([{ key: "k", windowMs: 0, add: 1 }], NOW)).rejects.toThrow(
      RangeError,
    );
    const missing = await store.node(0, 0).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Error);
    expect(missing).not.toBeInstanceOf(StoreUnavailable);
    await store.close();
    await unavailable(store.health());
    await unavailable(store.deposit(message("bob"), leaf(), 10));
  });
});
