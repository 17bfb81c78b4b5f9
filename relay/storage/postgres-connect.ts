/**
 * Connecting the PostgreSQL store (DESIGN §4): the node-postgres (`pg`) settings shared by
 * the pool (postgres-pool.ts) and the LISTEN connection (postgres-notify.ts). The URL and
 * its `?schema=`: postgres-url.ts. Which failures are a 503: postgres-errors.ts.
 *
 * Every session is set up by its startup packet, before any query can run on it: the
 * `search_path` is the store's schema alone, and lock, statement and idle-in-transaction
 * timeouts are set server-side, so nothing waits without end and a transaction that a
 * bug left open is ended by the server rather than run unrelated queries.
 */
import pg from "pg";
import { checkSchema, parseDatabaseUrl } from "./postgres-url.js";

export interface PostgresOptions {
  /** Schema holding the relay's tables (default: the URL's `?schema=`, else `public`). */
  schema?: string;
  /** Connections in the pool (default 10), plus one that LISTENs. */
  poolSize?: number;
  /** How long a statement waits for a lock (the log's append lock) before failing (default 5000). */
  lockTimeoutMs?: number;
  /** How long opening a connection, or waiting for a free one, may take (default 5000). */
  connectTimeoutMs?: number;
  /** How long one statement may run before the server cancels it (default 30000). */
  statementTimeoutMs?: number;
}

/** What the pool and the LISTEN connection are opened with. */
export interface ConnectionSettings {
  schema: string;
  poolSize: number;
  connectTimeoutMs: number;
  client: pg.ClientConfig;
}

/** A session idle inside a transaction this long is ended by the server (ms). */
const IDLE_IN_TRANSACTION_MS = 60_000;
/** The client gives up on an answer this long after the server should have cancelled (ms). */
const QUERY_TIMEOUT_MARGIN_MS = 5000;
/** For statements exempt from the statement timeout (migrations, re-signing): a day. */
const LONG_QUERY_TIMEOUT_MS = 86_400_000;

/**
 * A statement that may run longer than the statement timeout (over every message, as in
 * migrations and re-signing): for a transaction that `PostgresPool.tx` runs `unbounded`.
 * pg reads a query's own `query_timeout`, which its types do not declare.
 */
export function long(text: string, values?: unknown[]): pg.QueryConfig {
  const q: pg.QueryConfig & { query_timeout: number } = {
    text,
    query_timeout: LONG_QUERY_TIMEOUT_MS,
  };
  if (values) q.values = values;
  return q;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer`);
  return value;
}

/**
 * bigint columns hold ms timestamps, log indexes and counts, all below 2^53 (checked on
 * write): read them as numbers, not strings. The other types keep pg's parsers.
 */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (x: string) => Number(x)
      : pg.types.getTypeParser(oid, format ?? "text")) as pg.CustomTypesConfig["getTypeParser"],
};

/** Checks the options and the URL; connects to nothing. */
export function settings(url: string, options: PostgresOptions = {}): ConnectionSettings {
  const parsed = parseDatabaseUrl(url);
  const schema = checkSchema(options.schema ?? parsed.schema ?? "public");
  const lockTimeoutMs = positiveInt(options.lockTimeoutMs ?? 5000, "lockTimeoutMs");
  const connectTimeoutMs = positiveInt(options.connectTimeoutMs ?? 5000, "connectTimeoutMs");
  const statementTimeoutMs = positiveInt(
    options.statementTimeoutMs ?? 30_000,
    "statementTimeoutMs",
  );
  const poolSize = positiveInt(options.poolSize ?? 10, "poolSize");
  return {
    schema,
    poolSize,
    connectTimeoutMs,
    client: {
      connectionString: parsed.url,
      connectionTimeoutMillis: connectTimeoutMs,
      // A peer that vanished without closing (a crashed host, a dropped route) is noticed.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: "secure-msg-relay",
      // The schema name is checked (postgres-url.ts): nothing in it needs quoting.
      options: `-c search_path=${schema}`,
      lock_timeout: lockTimeoutMs,
      statement_timeout: statementTimeoutMs,
      // The server cancels a slow statement itself; this is for a server that stopped
      // answering without closing the connection (a half-open TCP connection).
      query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
      types,
    },
  };
}
