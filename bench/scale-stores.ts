/**
 * The scale suite's stores: one per size (10k, 100k, 1M stored messages), all filled
 * before any is measured, so that measurements can alternate between sizes and neither
 * the fill's disk writeback nor drift in the machine's load favours one size.
 * SQLite: one file each. PostgreSQL: one schema each in the `test` database, dropped after.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { SqliteStore } from "../relay/storage/sqlite.js";
import type { RelayStore } from "../relay/storage/types.js";
import { fill } from "./scale-fill.js";
import { fillPostgres } from "./scale-fill-pg.js";

const POSTGRES = fileURLToPath(new URL("../relay/storage/postgres.ts", import.meta.url));
/** DESIGN §6: PostgreSQL on the development machines, trust auth, database `test`. */
export const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface Filled {
  size: number;
  store: RelayStore;
}

export interface Backend {
  name: string;
  /** A store holding `size` messages. */
  filled(size: number, envelope: Uint8Array): Promise<Filled>;
  /** Closes every store and deletes what was made. */
  dispose(): Promise<void>;
}

export async function sqliteBackend(): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), "secure-msg-bench-scale-"));
  const stores: RelayStore[] = [];
  return {
    name: "SQLite",
    async filled(size, envelope) {
      const path = join(dir, `relay-${size}.db`);
      await SqliteStore.open(path).close(); // the schema
      fill(path, size, envelope, Date.now());
      const store = SqliteStore.open(path);
      stores.push(store);
      return { size, store };
    },
    async dispose() {
      for (const s of stores) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Opener = {
  open(url: string, o?: { schema?: string; poolSize?: number }): Promise<RelayStore>;
};

/** Undefined (after a log line) when the store is not built yet or the database is down. */
export async function postgresBackend(log: (s: string) => void): Promise<Backend | undefined> {
  if (!existsSync(POSTGRES)) {
    log("scale: relay/storage/postgres.ts does not exist: PostgreSQL skipped");
    return undefined;
  }
  const { PostgresStore } = (await import(pathToFileURL(POSTGRES).href)) as {
    PostgresStore: Opener;
  };
  const prefix = `bench_scale_${process.pid}`;
  const schemas: string[] = [];
  const stores: RelayStore[] = [];
  const admin = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  admin.on("error", () => undefined);
  try {
    await admin.connect();
    await admin.query("SELECT 1");
  } catch (e) {
    log(`scale: PostgreSQL unavailable (${(e as Error).message}): skipped`);
    await admin.end().catch(() => undefined);
    return undefined;
  }
  return {
    name: "PostgreSQL",
    async filled(size, envelope) {
      const schema = `${prefix}_${size}`;
      schemas.push(schema);
      const store = await PostgresStore.open(DATABASE_URL, { schema });
      stores.push(store);
      const client = new pg.Client({ connectionString: DATABASE_URL });
      client.on("error", () => undefined);
      await client.connect();
      try {
        await client.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
        await fillPostgres(client, size, envelope, Date.now());
      } finally {
        await client.end().catch(() => undefined);
      }
      return { size, store };
    },
    async dispose() {
      for (const s of stores) await s.close();
      for (const s of schemas)
        await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(s)} CASCADE`);
      await admin.end();
    },
  };
}
