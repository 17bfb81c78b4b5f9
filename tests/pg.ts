/**
 * PostgreSQL for the tests (DESIGN §6): the server at 127.0.0.1:5432 (trust auth, database
 * `test`), or TEST_DATABASE_URL. Every test run works in schemas of its own, created fresh
 * and dropped at the end, so parallel runs on one database never collide.
 *
 * Without a reachable server, `pgMissing()` lets a developer's `npm test` skip these tests
 * with a notice; in CI (CI set) nothing is skipped, so the tests fail (.ci/run starts or
 * installs the server first).
 */
import { randomBytes } from "node:crypto";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import pg from "pg";

export const PG_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** True (after printing a notice) when these tests should be skipped on this machine. */
export async function pgMissing(): Promise<boolean> {
  if (process.env.CI) return false;
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return false;
  } catch (e) {
    console.warn(
      `\n  NOTICE: PostgreSQL tests skipped, no server at ${new URL(PG_URL).host} (${(e as Error).message}).` +
        "\n  Start one (trust auth for 127.0.0.1, database `test`) or set TEST_DATABASE_URL to run them.\n",
    );
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let admin: pg.Pool | undefined;
function adminPool(): pg.Pool {
  if (!admin) {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
    admin.on("error", () => undefined);
  }
  return admin;
}

/** A schema or other identifier, quoted for SQL text. */
export function ident(name: string): string {
  return pg.escapeIdentifier(name);
}

const created = new Set<string>();

/**
 * A schema name no other run uses (padded to `length` characters): created by the store
 * that first opens it, dropped by `dropSchemas`.
 */
export function schemaName(length = 0): string {
  const name = `t_${process.pid}_${randomBytes(5).toString("hex")}`.padEnd(length, "x");
  created.add(name);
  return name;
}

/** `base` (PG_URL by default) with `?schema=` set to a fresh schema name. */
export function schemaUrl(schema = schemaName(), base = PG_URL): string {
  const u = new URL(base);
  u.searchParams.set("schema", schema);
  return u.href;
}

/** Runs SQL as the test's administrator (outside any store). */
export function pgAdmin(): pg.Pool {
  return adminPool();
}

/** Drops every schema this run created; call in afterAll. */
export async function dropSchemas(): Promise<void> {
  const pool = adminPool();
  for (const s of created) await pool.query(`DROP SCHEMA IF EXISTS ${ident(s)} CASCADE`);
  created.clear();
}

export async function closeAdmin(): Promise<void> {
  const pool = admin;
  admin = undefined;
  await pool?.end();
}

/**
 * A TCP proxy in front of the database, to play a database outage without touching the
 * shared server: `down()` cuts every connection and refuses new ones, `up()` lets them in.
 */
export interface PgProxy {
  /** PG_URL (with `?schema=` if given) through the proxy. */
  url(schema?: string): string;
  down(): void;
  up(): void;
  /** Connections accepted so far, refused ones included. */
  attempts(): number;
  close(): Promise<void>;
}

export async function pgProxy(): Promise<PgProxy> {
  const target = new URL(PG_URL);
  const sockets = new Set<Socket>();
  let refusing = false;
  let attempts = 0;
  const server: Server = createServer((client) => {
    attempts++;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = netConnect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url(schema) {
      const u = new URL(PG_URL);
      u.host = `127.0.0.1:${port}`;
      if (schema) u.searchParams.set("schema", schema);
      return u.href;
    },
    down() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    up() {
      refusing = false;
    },
    attempts: () => attempts,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
