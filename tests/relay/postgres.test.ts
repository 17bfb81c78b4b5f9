/**
 * The PostgreSQL store (issue 5): the shared RelayStore suite, then what only a shared
 * database has: migrations from several processes at once, appends from several
 * connection pools into one log, fan-out by LISTEN/NOTIFY, and the relay key check.
 * Outages: postgres-failures.test.ts. Every store works in a fresh schema of this run.
 */
import { afterAll, describe, expect, it } from "vitest";
import { sha256 } from "../../protocol/kdf.js";
import * as merkle from "../../protocol/merkle.js";
import { checkpointBody, entryBody, receiptBody } from "../../protocol/relay-api.js";
import { checkRelayKey } from "../../relay/rekey.js";
import { RelaySigner } from "../../relay/signer.js";
import { PostgresStore } from "../../relay/storage/postgres.js";
import { MIGRATIONS } from "../../relay/storage/postgres-migrations.js";
import { parseDatabaseUrl } from "../../relay/storage/postgres-url.js";
import type { DepositNotice } from "../../relay/storage/types.js";
import { ident, pgAdmin, pgMissing, schemaName, schemaUrl } from "../pg.js";
import { relaySigner } from "./helpers.js";
import { cleanUp, open, until } from "./pg-store.js";
import { batchSuite } from "./store-batch-suite.js";
import {
  checkpoint,
  entry,
  expectLog,
  leaf,
  message,
  NOW,
  randomBytes,
  storeSuite,
} from "./store-suite.js";

const skip = await pgMissing();

afterAll(async () => {
  if (!skip) await cleanUp();
});

describe.skipIf(skip)("PostgreSQL", () => {
  storeSuite("PostgresStore", () => open());
  batchSuite("PostgresStore", () => open());

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
      const { rows: v } = await sql.query(`SELECT version FROM ${ident(schema)}.schema_version`);
      expect(v).toEqual([{ version: MIGRATIONS.length }]);
      const { rows: meta } = await sql.query(`SELECT size FROM ${ident(schema)}.log_meta`);
      expect(meta.map((r) => Number(r.size))).toEqual([0]);
      // They share one log.
      const l = leaf();
      await opened[0]!.deposit(message("bob"), l, 10);
      for (const s of opened) expect(await s.logSize()).toBe(1);
    });

    it("keeps only the latest checkpoint", async () => {
      const schema = schemaName();
      const store = await open(schemaUrl(schema));

      for (const size of [1, 2, 5, 3, 8]) await store.putCheckpoint(checkpoint(size));
      const { rows } = await pgAdmin().query(`SELECT size FROM ${ident(schema)}.checkpoints`);
      expect(rows.map((r) => Number(r.size))).toEqual([8]);
    });

    it("refuses a schema written by newer code, and leaves it untouched", async () => {
      const schema = schemaName();
      await (await open(schemaUrl(schema))).close();
      const sql = pgAdmin();
      await sql.query(`UPDATE ${ident(schema)}.schema_version SET version = $1`, [
        MIGRATIONS.length + 1,
      ]);
      await expect(PostgresStore.open(schemaUrl(schema))).rejects.toThrow(
        /newer than this relay knows/,
      );
      const { rows: v } = await sql.query(`SELECT version FROM ${ident(schema)}.schema_version`);
      expect(v).toEqual([{ version: MIGRATIONS.length + 1 }]);
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
      const schema = ident(a.schema);
      const { rows: dups } = await pgAdmin().query(`
        SELECT count(*) AS n FROM (SELECT log_index FROM ${schema}.messages
          UNION ALL SELECT log_index FROM ${schema}.directory) x`);
      expect(Number(dups[0]?.n)).toBe(120);
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

    it("notifies on a schema with the longest name allowed", async () => {
      const url = schemaUrl(schemaName(48));
      const [a, b] = [await open(url), await open(url)];
      const heard: DepositNotice[] = [];
      await b.subscribe(
        (n) => heard.push(n),
        () => undefined,
      );
      expect((await a.deposit(message("bob"), leaf(), 10)).status).toBe("stored");
      await until(() => heard.length === 1, "the notice");
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
        const [receipt] = await old.signReceipts([mLeaf]);
        await store.deposit({ ...m, receipt: receipt! }, mLeaf, 10);
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
});
