/**
 * The PostgreSQL store (issue 5): the shared RelayStore suite, then what only a shared
 * database has: migrations from several processes at once, appends from several
 * connection pools into one log, fan-out by LISTEN/NOTIFY, and outages as StoreUnavailable
 * with recovery. Every store works in a fresh schema of this run (tests/pg.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { sha256 } from "../../protocol/kdf.js";
import * as merkle from "../../protocol/merkle.js";
import { checkpointBody, entryBody, receiptBody } from "../../protocol/relay-api.js";
import { checkRelayKey } from "../../relay/rekey.js";
import { RelaySigner } from "../../relay/signer.js";
import { StoreUnavailable } from "../../relay/storage/errors.js";
import { PostgresStore } from "../../relay/storage/postgres.js";
import { MIGRATIONS } from "../../relay/storage/postgres-migrations.js";
import { parseDatabaseUrl } from "../../relay/storage/postgres-url.js";
import type { DepositNotice, RelayStore } from "../../relay/storage/types.js";
import {
  closeAdmin,
  dropSchemas,
  pgAdmin,
  pgMissing,
  pgProxy,
  schemaName,
  schemaUrl,
} from "../pg.js";
import { relaySigner } from "./helpers.js";
import { entry, expectLog, leaf, message, NOW, randomBytes, storeSuite } from "./store-suite.js";

const skip = await pgMissing();

const stores: RelayStore[] = [];
async function open(url = schemaUrl(), options = {}): Promise<PostgresStore> {
  const s = await PostgresStore.open(url, options);
  stores.push(s);
  return s;
}

afterAll(async () => {
  if (skip) return;
  for (const s of stores) await s.close();
  await dropSchemas();
  await closeAdmin();
});

/** Expects `p` to reject with StoreUnavailable; returns it. */
async function unavailable(p: Promise<unknown>): Promise<StoreUnavailable> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(StoreUnavailable);
  return e as StoreUnavailable;
}

/** Waits until `check()` is true (or fails after `ms`). */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(skip)("PostgreSQL", () => {
  storeSuite("PostgresStore", () => open());

  describe("PostgresStore", () => {
    it("takes its schema from ?schema= and keeps the rest of the URL for the driver", () => {
      expect(parseDatabaseUrl("postgres://u:secret@h:5/db?schema=abc&sslmode=require")).toEqual({
        url: "postgres://u:secret@h:5/db?sslmode=require",
        schema: "abc",
      });
      expect(parseDatabaseUrl("postgresql://h/db")).toEqual({ url: "postgresql://h/db" });
      expect(() => parseDatabaseUrl("mysql://h/db")).toThrow(TypeError);
      expect(() => parseDatabaseUrl("not a url")).toThrow(TypeError);
      expect(() => parseDatabaseUrl("postgres://h/db?search_path=x")).toThrow(/schema=/);
    });

    it("refuses a schema name that is not a plain lower-case identifier", async () => {
      for (const bad of ["Abc", "a-b", "1abc", "a;drop", "x".repeat(49), ""])
        await expect(PostgresStore.open(schemaUrl(bad))).rejects.toThrow(RangeError);
    });

    it("migrates once when several processes' stores open one new schema at once", async () => {
      const schema = schemaName();
      const opened = await Promise.all(Array.from({ length: 6 }, () => open(schemaUrl(schema))));
      const sql = pgAdmin();
      const [v] = await sql`SELECT version FROM ${sql(schema)}.schema_version`;
      expect(v?.version).toBe(MIGRATIONS.length);
      const meta = await sql`SELECT size FROM ${sql(schema)}.log_meta`;
      expect(meta.map((r) => Number(r.size))).toEqual([0]);
      // They share one log.
      const l = leaf();
      await opened[0]!.deposit(message("bob"), l, 10);
      for (const s of opened) expect(await s.logSize()).toBe(1);
    });

    it("refuses a schema written by newer code, and leaves it untouched", async () => {
      const schema = schemaName();
      await (await open(schemaUrl(schema))).close();
      const sql = pgAdmin();
      await sql`UPDATE ${sql(schema)}.schema_version SET version = ${MIGRATIONS.length + 1}`;
      await expect(PostgresStore.open(schemaUrl(schema))).rejects.toThrow(
        /newer than this relay knows/,
      );
      const [v] = await sql`SELECT version FROM ${sql(schema)}.schema_version`;
      expect(v?.version).toBe(MIGRATIONS.length + 1);
    });

    it("keeps one log when two connection pools append at once", async () => {
      const url = schemaUrl();
      const a = await open(url, { poolSize: 4 });
      const b = await open(url, { poolSize: 4 });
      const leaves: Uint8Array[] = [];
      const jobs = Array.from({ length: 120 }, (_, i) => async () => {
        const s = i % 2 ? a : b;
        const l = leaf();
        const r =
          i % 5 === 0
            ? await s.putEntry(entry(`user${i}`, randomBytes(32), NOW), l)
            : await s.deposit(message(`box${i % 3}`), l, 1000);
        if (r.status !== "stored") throw new Error(r.status);
        leaves[r.status === "stored" && "entry" in r ? r.entry.index : r.message.index] = l;
      });
      await Promise.all(jobs.map((j) => j()));
      expect(leaves.filter(Boolean)).toHaveLength(120);
      await expectLog(a, leaves);
      expect(await b.logSize()).toBe(120);
      expect(await merkle.root(b, 120)).toEqual(await merkle.root(a, 120));
      const sql = pgAdmin();
      const schema = a.schema;
      const [dups] = await sql`
        SELECT count(*) AS n FROM (SELECT log_index FROM ${sql(schema)}.messages
          UNION ALL SELECT log_index FROM ${sql(schema)}.directory) x`;
      expect(Number(dups?.n)).toBe(120);
    });

    it("holds a mailbox quota and a repeated id across pools", async () => {
      const url = schemaUrl();
      const [a, b] = [await open(url), await open(url)];
      const m = message("bob");
      const same = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).deposit(m, leaf(), 100)),
      );
      expect(same.filter((r) => r.status === "stored")).toHaveLength(1);
      const quota = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).deposit(message("carol"), leaf(), 4)),
      );
      expect(quota.filter((r) => r.status === "stored")).toHaveLength(4);
      expect(await a.logSize()).toBe(5);
    });

    it("notifies the other stores of a deposit once it is committed, not itself", async () => {
      const url = schemaUrl();
      const [a, b] = [await open(url), await open(url)];
      const atA: DepositNotice[] = [];
      const atB: DepositNotice[] = [];
      const errors: unknown[] = [];
      await a.subscribe(
        (n) => atA.push(n),
        (e) => errors.push(e),
      );
      const stopB = await b.subscribe(
        (n) => atB.push(n),
        (e) => errors.push(e),
      );
      const m = message("bob");
      const r = await a.deposit(m, leaf(), 10);
      await until(() => atB.length === 1, "the notice at B");
      expect(atB[0]).toEqual({ to: "bob", id: m.id, index: 0 });
      expect(r.status === "stored" && (await b.fetch("bob", 10, NOW))).toHaveLength(1);
      // A duplicate, a quota refusal and a directory entry announce nothing.
      await a.deposit(m, leaf(), 10);
      await a.putEntry(entry("alice", randomBytes(32), NOW), leaf());
      await b.deposit(message("bob"), leaf(), 10);
      await until(() => atA.length === 1, "the notice at A");
      expect(atA[0]?.index).toBe(2);
      await stopB();
      await a.deposit(message("bob"), leaf(), 10);
      await b.deposit(message("bob"), leaf(), 10);
      await until(() => atA.length === 2, "the second notice at A");
      expect(atB).toHaveLength(1);
      expect(errors).toEqual([]);
    });

    it("does not hear another schema's deposits", async () => {
      const a = await open();
      const b = await open();
      const heard: DepositNotice[] = [];
      await b.subscribe(
        (n) => heard.push(n),
        () => undefined,
      );
      await a.deposit(message("bob"), leaf(), 10);
      await new Promise((r) => setTimeout(r, 200));
      expect(heard).toEqual([]);
    });
  });

  describe("PostgresStore and the relay key", () => {
    it("refuses data signed by another key, and re-signs it all for every process", async () => {
      const url = schemaUrl();
      const store = await open(url);
      const old = await relaySigner();
      const leaves: Uint8Array[] = [];
      const e = entry("alice", randomBytes(32), NOW);
      const eLeaf = entryBody({ name: e.name, bundleHash: sha256(e.bundle), at: e.at });
      await store.putEntry({ ...e, signature: await old.signEntry(eLeaf) }, eLeaf);
      leaves.push(eLeaf);
      for (const to of ["alice", "bob"]) {
        const m = message(to);
        const mLeaf = receiptBody({ id: m.id, to, envelopeHash: sha256(m.envelope), at: m.at });
        await store.deposit({ ...m, receipt: await old.signReceipt(mLeaf) }, mLeaf, 10);
        leaves.push(mLeaf);
      }
      const root = await merkle.root(store, 3);
      const body = checkpointBody({ size: 3, root, at: NOW });
      await store.putCheckpoint({
        size: 3,
        root,
        at: NOW,
        signature: await old.signCheckpoint(body),
      });

      expect(await checkRelayKey(store, old, false)).toBe(false);
      const next = await RelaySigner.generate();
      await expect(checkRelayKey(store, next, false)).rejects.toThrow(/another relay key/);
      expect(await checkRelayKey(store, next, true)).toBe(true);
      expect(await store.latestCheckpoint()).toBeUndefined();
      await expectLog(store, leaves);
      // Another process on the same database sees the data signed by the new key only.
      const other = await open(url);
      expect(await checkRelayKey(other, next, false)).toBe(false);
      await expect(checkRelayKey(other, old, false)).rejects.toThrow(/another relay key/);
      expect((await other.allMessages()).map((m) => m.index)).toEqual([1, 2]);
      expect((await other.allEntries()).map((x) => x.name)).toEqual(["alice"]);
    });
  });

  describe("PostgresStore when the database fails", () => {
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

    it("fails a deposit whose log lock is held too long, then appends on", async () => {
      const url = schemaUrl();
      const store = await open(url, { lockTimeoutMs: 100 });
      const l0 = leaf();
      await store.deposit(message("bob"), l0, 10);
      const sql = pgAdmin();
      const schema = store.schema;
      let release!: () => void;
      const released = new Promise<void>((r) => {
        release = r;
      });
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => {
        locked = r;
      });
      const holder = sql.begin(async (tx) => {
        await tx`SELECT size FROM ${tx(schema)}.log_meta WHERE id = 0 FOR UPDATE`;
        locked();
        await released;
      });
      await isLocked;
      const e = await unavailable(store.deposit(message("bob"), leaf(), 10));
      expect((e.cause as { code: string }).code).toBe("55P03");
      // Readers are not blocked by the lock.
      expect(await store.fetch("bob", 10, NOW)).toHaveLength(1);
      release();
      await holder;
      const l1 = leaf();
      expect((await store.deposit(message("bob"), l1, 10)).status).toBe("stored");
      await expectLog(store, [l0, l1]);
    });

    it("keeps programming errors apart from unavailability", async () => {
      const store = await open();
      await expect(store.deposit(message("bob", { at: 1.5 }), leaf(), 10)).rejects.toThrow(
        TypeError,
      );
      await expect(store.rateLimit("k", 0, 1, NOW)).rejects.toThrow(RangeError);
      const missing = await store.node(0, 0).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(Error);
      expect(missing).not.toBeInstanceOf(StoreUnavailable);
      await store.close();
      await unavailable(store.health());
      await unavailable(store.deposit(message("bob"), leaf(), 10));
    });
  });
});
